"""Polls on a timer: one APScheduler interval job per story, kept in step with the config.

Jobs never overlap for one story (max_instances=1), missed runs collapse into one
(coalesce), and jitter spreads stories that share an interval so one origin is not hit
by all of them at once. A new story is polled at once, which makes its baseline. A failed
poll moves the story's next run out (`FailureBackoff`, or the origin's Retry-After), so a
failing origin costs less and less until it works again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.backoff import FailureBackoff
from bot.config import Config
from bot.pipeline import PollOutcome, PollStatus

log = logging.getLogger(__name__)

JOB_PREFIX = "poll:"


class PollScheduler:
    """Owns the AsyncIOScheduler; `apply(config)` adds, removes and reschedules story jobs."""

    def __init__(self, poll: Callable[[str], Awaitable[PollOutcome | None]]):
        self._poll = poll
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.backoff = FailureBackoff()
        self._intervals: dict[str, tuple[float, float]] = {}
        self._running: set[asyncio.Task[object]] = set()  # polls under way

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
        wanted = {s.id: (config.interval_for(s), config.storybot.jitter) for s in config.stories}
        for story_id in set(self._intervals) - set(wanted):
            self.scheduler.remove_job(JOB_PREFIX + story_id)
            log.info("stopped polling %s", story_id)
        for story_id, timing in wanted.items():
            interval, jitter = timing
            trigger = IntervalTrigger(
                seconds=interval, jitter=min(jitter, interval / 2) or None, timezone=UTC
            )
            if story_id not in self._intervals:
                self.scheduler.add_job(
                    self.run_poll,
                    trigger,
                    args=[story_id],
                    id=JOB_PREFIX + story_id,
                    name=f"poll {story_id}",
                    max_instances=1,
                    coalesce=True,
                    misfire_grace_time=max(30, int(interval)),
                    next_run_time=datetime.now(UTC),
                )
                log.info("polling %s every %ss", story_id, f"{interval:g}")
            elif self._intervals[story_id] != timing:
                self.scheduler.reschedule_job(JOB_PREFIX + story_id, trigger=trigger)
                log.info("polling %s every %ss now", story_id, f"{interval:g}")
        self._intervals = wanted

    async def run_poll(self, story_id: str) -> PollOutcome | None:
        """The job: poll, then back off after a failure (or come back when the origin asked)."""
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        outcome = await self._poll(story_id)
        timing = self._intervals.get(story_id)
        if outcome is None or timing is None:
            return outcome
        delay = self.backoff.after_poll(
            story_id,
            failed=outcome.status is PollStatus.FAILED,
            interval=timing[0],
            retry_after=outcome.retry_after,
        )
        job = self.scheduler.get_job(JOB_PREFIX + story_id)
        if delay is not None and job is not None:
            job.modify(next_run_time=datetime.now(UTC) + timedelta(seconds=delay))
            log.info(
                "story %s: %d failure(s) in a row; next poll in %ss",
                story_id,
                self.backoff.failures(story_id),
                f"{delay:g}",
            )
        return outcome

    def jobs(self) -> dict[str, float]:
        """Story id -> interval in seconds, as scheduled."""
        return {
            job.id.removeprefix(JOB_PREFIX): job.trigger.interval.total_seconds()
            for job in self.scheduler.get_jobs()
            if job.id.startswith(JOB_PREFIX)
        }
