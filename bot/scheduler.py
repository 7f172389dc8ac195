"""Polls on a timer: one APScheduler interval job per story, kept in step with the config.

Jobs never overlap for one story (max_instances=1), missed runs collapse into one
(coalesce), and jitter spreads stories that share an interval so one origin is not hit
by all of them at once. A new story is polled at once, which makes its baseline. A failed
poll moves the story's next run out (`failure_delay` of the failures in a row the store
counts, or the origin's Retry-After), so a failing origin costs less and less until it works
again; a story paused for failing keeps its job, which polls nothing until it is resumed.
Each [[feeds]] table gets its own interval job (`feed:<id>`), read at once when added, then
every `interval`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.backoff import failure_delay
from bot.config import Config
from bot.pipeline import PollOutcome, PollStatus

log = logging.getLogger(__name__)

JOB_PREFIX = "poll:"
FEED_PREFIX = "feed:"


class PollScheduler:
    """Owns the AsyncIOScheduler; `apply(config)` adds, removes and reschedules story jobs."""

    def __init__(
        self,
        poll: Callable[[str], Awaitable[PollOutcome | None]],
        read_feed: Callable[[str], Awaitable[object]] | None = None,
    ):
        self._poll = poll
        self._read_feed = read_feed
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._intervals: dict[str, tuple[float, float]] = {}
        self._feeds: dict[str, tuple[float, float]] = {}
        self._running: set[asyncio.Task[object]] = set()  # polls and feed reads under way

    def start(self) -> None:
        self.scheduler.start()

    def shutdown(self) -> None:
        """Stop at once: polls under way are cancelled (APScheduler's asyncio executor does so)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def stop(self, grace: float) -> None:
        """Start no poll, let the polls under way finish (up to `grace` seconds: each is
        bounded by its fetch deadline), then shut down. A graceful stop cancels nothing."""
        if not self.scheduler.running:
            return
        self.scheduler.pause()
        if self._running:
            log.info("waiting for %d poll(s) under way", len(self._running))
            await asyncio.wait(set(self._running), timeout=grace)
        self.shutdown()

    def apply(self, config: Config) -> None:
        jitter = config.storybot.jitter
        wanted = {s.id: (config.interval_for(s), jitter) for s in config.stories}
        self._intervals = self._sync_jobs(JOB_PREFIX, self.run_poll, wanted, self._intervals, "polling")
        if self._read_feed is not None:
            feeds = {f.id: (config.interval_for(f), jitter) for f in config.feeds}
            self._feeds = self._sync_jobs(FEED_PREFIX, self.run_feed, feeds, self._feeds, "reading feed")

    def _sync_jobs(
        self,
        prefix: str,
        job: Callable[[str], Awaitable[object]],
        wanted: dict[str, tuple[float, float]],
        current: dict[str, tuple[float, float]],
        doing: str,
    ) -> dict[str, tuple[float, float]]:
        """Add, remove and reschedule the `prefix` jobs so that each key of `wanted` runs `job`
        on its (interval, jitter); a new one runs at once. Returns `wanted`, the new current."""
        for key in set(current) - set(wanted):
            self.scheduler.remove_job(prefix + key)
            log.info("stopped %s %s", doing, key)
        for key, timing in wanted.items():
            interval, jitter = timing
            trigger = IntervalTrigger(
                seconds=interval, jitter=min(jitter, interval / 2) or None, timezone=UTC
            )
            if key not in current:
                self.scheduler.add_job(
                    job,
                    trigger,
                    args=[key],
                    id=prefix + key,
                    name=f"{doing} {key}",
                    max_instances=1,
                    coalesce=True,
                    misfire_grace_time=max(30, int(interval)),
                    next_run_time=datetime.now(UTC),
                )
                log.info("%s %s every %ss", doing, key, f"{interval:g}")
            elif current[key] != timing:
                self.scheduler.reschedule_job(prefix + key, trigger=trigger)
                log.info("%s %s every %ss now", doing, key, f"{interval:g}")
        return wanted

    def _track_current(self) -> None:
        """Count the running job among the work a graceful stop waits for."""
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def run_feed(self, feed_id: str) -> object:
        """The job of a feed: one read (a graceful stop lets it finish, as it does a poll)."""
        assert self._read_feed is not None
        self._track_current()
        return await self._read_feed(feed_id)

    async def run_poll(self, story_id: str) -> PollOutcome | None:
        """The job: poll, then back off after a failure (or come back when the origin asked)."""
        self._track_current()
        outcome = await self._poll(story_id)
        timing = self._intervals.get(story_id)
        if outcome is None or timing is None or outcome.status is not PollStatus.FAILED or outcome.paused:
            return outcome
        delay = failure_delay(outcome.failures, timing[0], outcome.retry_after)
        job = self.scheduler.get_job(JOB_PREFIX + story_id)
        if job is not None:
            job.modify(next_run_time=datetime.now(UTC) + timedelta(seconds=delay))
            count = outcome.failures
            log.info("story %s: %d failure(s) in a row; next poll in %ss", story_id, count, f"{delay:g}")
        return outcome

    def poll_soon(self, story_id: str) -> None:
        """Run the story's job now (a resumed story need not wait out its interval)."""
        job = self.scheduler.get_job(JOB_PREFIX + story_id)
        if job is not None and self.scheduler.running:
            job.modify(next_run_time=datetime.now(UTC))

    def jobs(self) -> dict[str, float]:
        """Story id -> interval in seconds, as scheduled."""
        return {
            job.id.removeprefix(JOB_PREFIX): job.trigger.interval.total_seconds()
            for job in self.scheduler.get_jobs()
            if job.id.startswith(JOB_PREFIX)
        }
