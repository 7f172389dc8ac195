"""The procrastinate App storybot's workers share, built from config.

Every guarantee is procrastinate's, named here once:
- a poll job holds lock `poll:<story>` (at most one poll of a story runs) and queueing lock
  `poll:<story>` (at most one waits), so a story is never polled twice at once;
- a delivery job holds lock `channel:<channel>` (one sender per channel at a time, which keeps
  the channel's order) and queueing lock `deliver:<channel>` (one waits; it serves whatever
  is due when it runs, so nothing deferred while it waited is missed);
- a feed job holds lock and queueing lock `feed:<feed>` and queues its own next read;
- a queueing lock covers a waiting job only, so the tick also skips a story or feed whose
  job is running (tasks.running_locks): that job queues what comes next itself;
- failed jobs are retried with exponential backoff (RetryStrategy); the jobs of a worker
  that died are retried by the stalled-job sweep (tasks.recover_stalled).
"""

from __future__ import annotations

from collections.abc import Mapping

from procrastinate import App, PsycopgConnector, RetryStrategy

from bot.config import Config, ConfigError, is_postgresql_url
from bot.jobs import tasks

POLL_QUEUE = "poll"
DELIVER_QUEUE = "deliver"
QUEUES = (POLL_QUEUE, DELIVER_QUEUE)

# every 10 s (a 6th cron field is seconds): a dead worker's jobs wait at most this past `stalled_after`
STALLED_CRON = "* * * * * */10"
MAINTENANCE_PRIORITY = 10  # the tick and the sweep go ahead of a backlog of polls


def queue_url(config: Config, env: Mapping[str, str]) -> str:
    """The queue's PostgreSQL URL: `queue_database_env`'s variable, else `queue_database`, else
    the store's `database` when that is PostgreSQL. Raises ConfigError saying what to set."""
    settings = config.storybot
    if settings.queue_database_env:
        url = env.get(settings.queue_database_env, "").strip()
        if not url:
            raise ConfigError(
                "[storybot]", [f"queue_database_env: the variable {settings.queue_database_env} is not set"]
            )
        if not is_postgresql_url(url):
            raise ConfigError(
                "[storybot]",
                [f"queue_database_env: {settings.queue_database_env} must hold a postgresql:// URL"],
            )
        return url
    if settings.queue_database:
        return settings.queue_database
    if is_postgresql_url(settings.database):
        return settings.database
    raise ConfigError(
        "[storybot]",
        [
            "queue_database: storybot worker needs a PostgreSQL queue; set queue_database = "
            '"postgresql://..." or queue_database_env (or make database a postgresql:// URL)'
        ],
    )


def build_app(url: str, tick_cron: str = "* * * * *") -> App:
    """A procrastinate App on `url` with storybot's tasks, the tick deferring due work on
    `tick_cron` (`[storybot] tick_cron`). Open it with `app.open_async()`."""
    app = App(connector=PsycopgConnector(conninfo=url, min_size=1, max_size=8))
    app.task(
        name=tasks.POLL,
        queue=POLL_QUEUE,
        pass_context=True,
        retry=RetryStrategy(max_attempts=3, exponential_wait=4),  # 4 s, 16 s, 64 s
    )(tasks.poll)
    app.task(
        name=tasks.DELIVER,
        queue=DELIVER_QUEUE,
        pass_context=True,
        retry=RetryStrategy(max_attempts=5, exponential_wait=2),  # 2 s .. 32 s
    )(tasks.deliver)
    app.task(name=tasks.FEED, queue=POLL_QUEUE, pass_context=True)(tasks.feed)
    tick = app.task(name=tasks.TICK, queue=POLL_QUEUE, pass_context=True)(tasks.tick)
    app.periodic(cron=tick_cron, queueing_lock=tasks.TICK, priority=MAINTENANCE_PRIORITY)(tick)
    sweep = app.task(name=tasks.RECOVER, queue=DELIVER_QUEUE, pass_context=True)(tasks.recover_stalled)
    app.periodic(cron=STALLED_CRON, queueing_lock=tasks.RECOVER, priority=MAINTENANCE_PRIORITY)(sweep)
    return app
