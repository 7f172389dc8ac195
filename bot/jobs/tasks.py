"""The job bodies procrastinate runs. Plain async functions taking ids (and the job context,
which carries the worker's open `StoryBot`); bot/jobs/queue.py gives them queues, locks and
retries. A poll job calls `StoryBot.poll`, the pipeline `storybot run` calls in-process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from procrastinate import App, JobContext
from procrastinate.exceptions import AlreadyEnqueued, UniqueViolation
from procrastinate.jobs import Status
from procrastinate.manager import QUEUEING_LOCK_CONSTRAINT

from bot.backoff import failure_delay
from bot.jobs.due import due_stories
from bot.jobs.schema import ANALYZE_AFTER
from bot.jobs.store_access import last_checks
from bot.pipeline import PollStatus
from bot.storage import StoreError

if TYPE_CHECKING:
    from bot.app import StoryBot
    from bot.jobs.store_access import Store

log = logging.getLogger(__name__)

POLL = "storybot.poll"
DELIVER = "storybot.deliver"
FEED = "storybot.feed"
TICK = "storybot.tick"
RECOVER = "storybot.recover_stalled"
RUNTIME = "storybot"  # the key of the Runtime in a worker's additional_context


@dataclass(frozen=True, slots=True)
class Runtime:
    """What a worker's jobs use: its open bot (config, store, fetcher, dispatcher, senders)."""

    bot: StoryBot
    stalled_after: float  # seconds without a heartbeat after which a worker is dead


def runtime_of(context: JobContext) -> Runtime:
    runtime: Runtime = context.additional_context[RUNTIME]
    return runtime


# --- deferring --------------------------------------------------------------------------------


def poll_key(story_id: str) -> str:
    """A poll job's lock and queueing lock."""
    return f"poll:{story_id}"


def feed_key(feed_id: str) -> str:
    """A feed read's lock and queueing lock."""
    return f"feed:{feed_id}"


async def defer_poll(app: App, story_id: str, *, failures: int = 0, delay: float | None = None) -> bool:
    """Queue a poll of `story_id` (in `delay` seconds). False when one is already queued."""
    return await _defer_once(app, POLL, poll_key(story_id), delay, story_id=story_id, failures=failures)


async def defer_feed(app: App, feed_id: str, *, delay: float | None = None) -> bool:
    """Queue a read of feed `feed_id` (in `delay` seconds). False when one is already queued:
    a feed job queues its own next read an interval on, so the tick only starts a feed once."""
    return await _defer_once(app, FEED, feed_key(feed_id), delay, feed_id=feed_id)


async def _defer_once(
    app: App, task: str, key: str, delay: float | None, *, lock: str | None = None, **kwargs: str | int
) -> bool:
    """Queue `task` under queueing lock `key` and lock `lock` (default: `key`): one runs at a
    time, one waits. False when one already waits."""
    deferrer = app.configure_task(
        task, lock=lock or key, queueing_lock=key, schedule_in={"seconds": delay} if delay else None
    )
    try:
        await deferrer.defer_async(**kwargs)
    except AlreadyEnqueued:
        return False
    return True


async def defer_delivery(app: App, channel: str) -> bool:
    """Queue a delivery pass over `channel`. False when one is already queued: that one will
    send what is due when it runs, this alert included."""
    return await _defer_once(
        app, DELIVER, f"deliver:{channel}", None, lock=f"channel:{channel}", channel=channel
    )


async def running_locks(app: App) -> set[str]:
    """The locks of the jobs running now. A queueing lock only covers a job that waits: a poll
    or feed read deferred while its like runs would run again straight after it, and take the
    place of the next one that run queues itself (a feed's interval on, a failed poll's backoff)."""
    return {job.lock for job in await app.job_manager.list_jobs_async(status="doing") if job.lock}


async def defer_due_polls(app: App, bot: StoryBot, now: datetime) -> list[str]:
    """Defer a poll of every due story but the paused and those being polled now; returns the
    ids that were not already queued."""
    paused = await bot.refresh_paused()
    due = due_stories(bot.config, await last_checks(bot.store), now)
    running = await running_locks(app) if due else set()
    return [
        story_id
        for story_id in due
        if story_id not in paused and poll_key(story_id) not in running and await defer_poll(app, story_id)
    ]


async def defer_feeds(app: App, bot: StoryBot) -> list[str]:
    """Start each configured feed's chain of reads; returns the ids that were not already queued
    (a feed whose next read waits in the queue, or that is being read, is left as it is: the
    read in hand queues the next)."""
    feeds = bot.file_config.feeds
    running = await running_locks(app) if feeds else set()
    return [feed.id for feed in feeds if feed_key(feed.id) not in running and await defer_feed(app, feed.id)]


async def defer_due_deliveries(app: App, store: Store, platforms: Iterable[str], now: datetime) -> list[str]:
    """Defer a delivery pass for every channel with a delivery due (a retry whose time came, or
    one a failed job left); returns the channels that were not already queued."""
    due = await store.due_deliveries(now, platforms=tuple(platforms))
    channels = dict.fromkeys(d.channel for d in due)
    return [channel for channel in channels if await defer_delivery(app, channel)]


async def refresh_held(bot: StoryBot) -> None:
    """Take in what chat (on the front, on another worker) changed since this worker's tick
    before a job routes anything: one revision read when nothing did. A store that cannot
    answer leaves the config in hand; the job meets the store's trouble itself and reports it."""
    try:
        await bot.refresh_held()
    except StoreError as err:
        log.warning("cannot re-read what the store holds; running on the config in hand: %s", err)


# --- the jobs ----------------------------------------------------------------------------------


async def tick(context: JobContext, timestamp: int) -> dict[str, int]:
    """Periodic: defer what is due. It polls and sends nothing itself."""
    bot = runtime_of(context).bot
    now = datetime.fromtimestamp(timestamp, UTC)
    await bot.refresh_held()  # stories and subscriptions chat or feeds added since the last tick
    polls = await defer_due_polls(context.app, bot, now)
    channels = await defer_due_deliveries(context.app, bot.store, bot.dispatcher.senders, now)
    feeds = await defer_feeds(context.app, bot)
    if len(polls) + len(channels) >= ANALYZE_AFTER:
        # a table that was near empty at the last autovacuum plans its fetch for an empty table
        await context.app.connector.execute_query_async("ANALYZE procrastinate_jobs")
    return {"polls": len(polls), "deliveries": len(channels), "feeds": len(feeds)}


async def poll(context: JobContext, story_id: str, failures: int = 0) -> str:
    """Poll one story, then queue a delivery pass for each channel it gave an alert (or an admin
    notice) to. A failed fetch queues the story's next poll after its backoff, counted from the
    store's failures in a row (`failures` rides along in the job for the record only), which
    the tick cannot undercut: the queueing lock holds it. A paused story is not polled again.
    It routes by what the store holds now: a story tracked, or a channel unsubscribed, on the
    front since this worker's last tick counts from the next poll any worker runs."""
    bot = runtime_of(context).bot
    await refresh_held(bot)
    outcome = await bot.poll(story_id)
    if outcome is None:
        return "not tracked"
    channels = dict.fromkeys(channel for event in outcome.events for channel in event.channels)
    for channel in channels:
        await defer_delivery(context.app, channel)
    story = bot.config.story(story_id)
    if outcome.status is PollStatus.FAILED and not outcome.paused and story is not None:
        count = outcome.failures  # the store's count: a restart or another worker's failures included
        delay = failure_delay(count, bot.config.interval_for(story), outcome.retry_after)
        await defer_poll(context.app, story_id, failures=count, delay=delay)
        log.info("story %s: %d failure(s) in a row; next poll in %ss", story_id, count, f"{delay:g}")
    return outcome.status.value


async def feed(context: JobContext, feed_id: str) -> str:
    """Read one feed (`StoryBot.read_feed`), queue a poll of each item it began to track (its
    silent baseline), and queue the feed's next read an interval on."""
    bot = runtime_of(context).bot
    await refresh_held(bot)
    outcome = await bot.read_feed(feed_id)
    followed = bot.file_config.feed(feed_id)
    if outcome is None or followed is None:
        return "not followed"
    for story_id in outcome.added:
        await defer_poll(context.app, story_id)
    await defer_feed(context.app, feed_id, delay=bot.config.interval_for(followed))
    return outcome.status.value


async def deliver(context: JobContext, channel: str) -> dict[str, int]:
    """Send `channel`'s due alerts in order (its lock keeps any other sender off it)."""
    bot = runtime_of(context).bot
    report = await bot.dispatcher.deliver_pending(channels={channel})
    return {"sent": report.sent, "failed": report.failed, "retrying": report.retrying}


async def recover_stalled(context: JobContext, timestamp: int) -> int:
    """Periodic: retry the running jobs of workers whose heartbeat stopped (killed, frozen,
    cut off). Their locks pass to the retried job, so a story or channel is never served twice
    at once; a job whose work already waits in the queue (its queueing lock) is ended instead,
    since a second waiting copy is refused. Returns how many were recovered."""
    runtime = runtime_of(context)
    manager = context.app.job_manager
    stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=runtime.stalled_after))
    for job in stalled:
        try:
            await manager.retry_job(job)
        except UniqueViolation as err:
            if err.constraint_name != QUEUEING_LOCK_CONSTRAINT:
                raise
            # The same work already waits under the job's queueing lock (a delivery pass over
            # the channel, a poll of the story), held back by this job's lock: end this one,
            # and the waiting job runs it, stranded claims included.
            log.warning("job %s (%s) lost its worker; the one waiting takes over", job.id, job.call_string)
            await manager.finish_job(job, Status.FAILED, delete_job=False)
        else:
            log.warning("job %s (%s) lost its worker; retrying it", job.id, job.call_string)
    return len(stalled)
