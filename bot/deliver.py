"""Pending deliveries -> adapters, with retries and bookkeeping in the store.

Each channel gets its alerts in order, one at a time (a later update can join the thread
the first one opened); channels are served concurrently. A send and its record form one
unit that cancellation does not split, so stopping the dispatcher mid fan-out neither loses
an alert nor, on restart, repeats one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.models import Alert
from bot.ports import AlertSender, DeliveryError
from bot.storage import PendingDelivery, Store, now_utc

log = logging.getLogger(__name__)


@dataclass(slots=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    retrying: int = 0

    def add(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.retrying += other.retrying


class Dispatcher:
    """Sends what the store says is due through the sender registered for each platform."""

    def __init__(
        self,
        store: Store,
        senders: Mapping[str, AlertSender],
        *,
        concurrency: int = 8,
        max_attempts: int = 8,
        backoff: float = 2.0,
        max_backoff: float = 3600.0,
        idle: float = 30.0,
        clock: Callable[[], datetime] = now_utc,
    ):
        self.store = store
        self.senders = dict(senders)
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.idle = idle
        self.clock = clock
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[DeliveryReport]] = set()

    def notify(self) -> None:
        """New deliveries were queued: look now rather than at the next tick."""
        self._wake.set()

    async def deliver_pending(self, channels: Collection[str] | None = None) -> DeliveryReport:
        """One pass over every due delivery (of `channels` only, when given: a worker's job
        serves one channel). Returns what happened."""
        due = await self.store.due_deliveries(self.clock(), platforms=tuple(self.senders))
        if channels is not None:
            due = [d for d in due if d.channel in channels]
        by_channel: dict[str, list[PendingDelivery]] = {}
        for delivery in due:
            by_channel.setdefault(delivery.channel, []).append(delivery)
        alerts: dict[int, Alert] = {}
        reports = await asyncio.gather(*(self._serve_channel(items, alerts) for items in by_channel.values()))
        total = DeliveryReport()
        for report in reports:
            total.add(report)
        return total

    async def run(self) -> None:
        """Deliver forever: on notify(), when a retry falls due, or every `idle` seconds."""
        while True:
            try:
                await self.deliver_pending()
            except Exception:  # the store or a sender broke in a way we did not foresee
                log.exception("delivery pass failed; will retry")
            next_due = await self.store.next_due_at(platforms=tuple(self.senders))
            wait = self.idle
            if next_due is not None:
                wait = min(self.idle, max(0.05, (next_due - self.clock()).total_seconds()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
            self._wake.clear()

    async def drain(self) -> None:
        """Wait for sends already under way to finish and be recorded (before closing the store)."""
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _serve_channel(self, items: list[PendingDelivery], alerts: dict[int, Alert]) -> DeliveryReport:
        report = DeliveryReport()
        async with self._slots:
            for delivery in items:
                task = asyncio.ensure_future(self._deliver_one(delivery, alerts))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
                outcome = await asyncio.shield(task)
                report.add(outcome)
                if outcome.retrying:
                    break  # keep this channel's order: later alerts wait for this one
        return report

    async def _deliver_one(self, delivery: PendingDelivery, alerts: dict[int, Alert]) -> DeliveryReport:
        sender = self.senders[delivery.platform]
        if delivery.event_id not in alerts:
            alerts[delivery.event_id] = await self.store.alert(delivery.event_id)
        alert = alerts[delivery.event_id]
        thread_id = await self.store.thread_for(delivery.story_id, delivery.channel)
        try:
            posted = await sender.send_alert(delivery.channel_id, alert, thread_id)
        except DeliveryError as err:
            return await self._failed(delivery, err)
        except Exception as err:  # an adapter bug must not stop other channels
            log.exception("sending to %s raised", delivery.channel)
            return await self._failed(delivery, DeliveryError(f"{type(err).__name__}: {err}"))
        await self.store.mark_sent(
            delivery.id, posted.message_id, posted.thread_id or thread_id, self.clock()
        )
        return DeliveryReport(sent=1)

    async def _failed(self, delivery: PendingDelivery, err: DeliveryError) -> DeliveryReport:
        rate_limited = err.retry_after is not None
        attempts = delivery.attempts + 1
        if err.permanent or (not rate_limited and attempts >= self.max_attempts):
            log.warning("delivery to %s failed for good: %s", delivery.channel, err.reason)
            await self.store.mark_failed(delivery.id, err.reason)
            return DeliveryReport(failed=1)
        if rate_limited:
            delay = float(err.retry_after or 0)
        else:
            delay = min(self.max_backoff, self.backoff * 2 ** (attempts - 1))
        log.info("delivery to %s will retry in %.1fs: %s", delivery.channel, delay, err.reason)
        await self.store.mark_retry(
            delivery.id, err.reason, self.clock() + timedelta(seconds=delay), count=not rate_limited
        )
        return DeliveryReport(retrying=1)
