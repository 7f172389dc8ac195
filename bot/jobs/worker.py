"""`storybot worker`: one procrastinate worker process over the shared queue and store.

Start as many as you like, on any machines, with the same config: they share the periodic
tick (procrastinate defers it once a minute for the whole fleet), take jobs from the `poll`
and `deliver` queues, and on SIGTERM or SIGINT finish the jobs they are running, then exit
(procrastinate's own signal handling).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Mapping, Sequence

from procrastinate import App

from bot.app import StoryBot, answers
from bot.commands import Commands
from bot.config import Config
from bot.jobs.queue import QUEUES, build_app, queue_url
from bot.jobs.schema import display_dsn, ensure_schema
from bot.jobs.store_access import open_store
from bot.jobs.tasks import RUNTIME, Runtime
from bot.metrics import listen_address
from bot.ports import Platform

log = logging.getLogger(__name__)

PlatformFactory = Callable[[Commands], Sequence[Platform]]
"""Builds the platforms alerts go out through (the CLI: adapters, without their listeners)."""


async def run_worker(
    config: Config,
    platforms: PlatformFactory,
    env: Mapping[str, str],
    *,
    concurrency: int = 4,
    name: str | None = None,
    metrics: str | None = None,
) -> None:
    """Run until a stop signal. Raises ConfigError (no queue database) or StartError (the queue
    database cannot be reached, a platform cannot start) before taking any job. `metrics`: the
    address of this worker's /metrics and /healthz, over `[storybot] metrics` (several workers
    on one host each need their own, or "127.0.0.1:0" for any free port)."""
    if metrics is not None:
        config = with_metrics(config, metrics)
    url = queue_url(config, env)
    await ensure_schema(url)  # also the quick check that the database answers
    app = build_app(url, config.storybot.tick_cron)
    stalled_after = config.storybot.stalled_after
    async with app.open_async():
        store = await open_store(config)
        async with await StoryBot.create(config, store=store) as bot:
            await bot.attach(platforms(bot.commands))
            log.info(
                "storybot worker%s: queue %s, %d job(s) at a time, sending via %s",
                f" {name}" if name else "",
                display_dsn(url),
                concurrency,
                ", ".join(bot.dispatcher.senders) or "nothing",
            )
            _ignore_sighup()
            async with bot.observed(lambda: worker_health(bot, app)):
                await _work(app, bot, concurrency, name, stalled_after)


async def _work(app: App, bot: StoryBot, concurrency: int, name: str | None, stalled_after: float) -> None:
    await app.run_worker_async(
        queues=list(QUEUES),  # psycopg sends a list as an array, a tuple as a record
        name=name or "worker",
        concurrency=concurrency,
        additional_context={RUNTIME: Runtime(bot, stalled_after)},
        update_heartbeat_interval=max(0.5, stalled_after / 4),
        stalled_worker_timeout=stalled_after,
        delete_jobs="successful",
    )


def with_metrics(config: Config, address: str) -> Config:
    """`config` serving /metrics on `address` (`--metrics`). ValueError if it is no address."""
    listen_address(address)
    return config.model_copy(update={"storybot": config.storybot.model_copy(update={"metrics": address})})


async def worker_health(bot: StoryBot, app: App) -> list[str]:
    """What is wrong with this worker (`/healthz`): the store and the queue must answer within
    seconds. (A worker that froze is the stalled-job sweep's: its heartbeat stops.)"""
    return await answers("store", bot.store.schema_version()) + await answers(
        "queue", app.connector.execute_query_async("SELECT 1")
    )


def _ignore_sighup() -> None:
    """A worker reads the config at start: SIGHUP (a service manager's reload) says so instead
    of ending the process, which is what SIGHUP does by default."""
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(
        signal.SIGHUP, log.info, "SIGHUP: a worker reads config.toml at start only; restart it to apply it"
    )
