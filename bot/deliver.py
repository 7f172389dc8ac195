"""Pending deliveries -> adapters, with retries and bookkeeping in the store.

Each channel gets its alerts in order, one at a time (a later update can join the thread
the first one opened); channels are served concurrently. A send and its record form one
unit that cancellation does not split, so stopping the dispatcher mid fan-out neither loses
an alert nor, on restart, repeats one.

A hard kill can still land between a send and its record, so each send is claimed in the
store first and carries a key derived from the delivery. A claimed delivery that was never
recorded is looked up on its platform (`find_sent`) before it is sent again: found, it is
recorded as sent; not there, it is sent. Which platforms can answer is theirs to say (see
bot/ports.py); where one cannot, the resend is logged as one that may repeat. Admin notices
(a story paused for failing: bot.models.Notice) take this same path to `admin_channels`.

A correction of an alert already posted is two deliveries in that channel, in this order:
an EDIT of the earlier message, which needs no key (editing it again to the same content
changes nothing, so a claimed edit with no record is simply made again), and a NOTE in the
story's thread, a post like any other: keyed, claimed, looked up after a crash. An edit whose
message is gone fails alone; the note still goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.metrics import NO_METRICS, Metrics
from bot.models import Alert, AlertKind, Notice
from bot.ports import AlertSender, DeliveryError, Posted
from bot.storage import DeliveryAction, PendingDelivery, Store, now_utc

log = logging.getLogger(__name__)

# How far before its first claim a send is looked for: the platform's clock is not ours.
RECONCILE_MARGIN = timedelta(minutes=10)
INLINE_RETRIES = 5  # rate-limited sends of one delivery retried within a pass, at most
KEY_MAX = 25  # Discord's nonce limit, the tightest place a key goes


EDIT = "edit"


def sent_kind(delivery: PendingDelivery, alert: Alert | Notice) -> str:
    """What a delivery is, for metrics: an `alert`, an admin `notice`, the `edit` of an
    earlier alert, a correction's `note`, a `catch_up` or a `digest`."""
    if delivery.action is DeliveryAction.EDIT:
        return EDIT
    if delivery.action is DeliveryAction.NOTE:
        return "note"
    if isinstance(alert, Notice):
        return "notice"
    if alert.kind is AlertKind.CATCH_UP:
        return "catch_up"
    if alert.kind is AlertKind.DIGEST:
        return "digest"
    return "alert"


def delivery_key(delivery: PendingDelivery, alert: Alert | Notice) -> str:
    """The key a delivery's posts carry: 'sb', the row id, and a hash of what the row is
    (event, channel, when the event was seen), so a fresh database reusing row ids never
    mistakes an old post for its own. Deterministic: every attempt carries the same key."""
    head = f"sb{delivery.id}-"
    identity = (
        f"{delivery.id}|{delivery.event_id}|{delivery.channel}|{alert.story_id}|{alert.seen_at.isoformat()}"
    )
    if isinstance(alert, Alert) and alert.updates:  # a digest: its key covers the events it holds
        identity += "|" + ",".join(str(update.event_id) for update in alert.updates)
    digest = hashlib.sha256(identity.encode()).hexdigest()
    return head + digest[: max(8, KEY_MAX - len(head))]


@dataclass(slots=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    found: int = 0  # of `sent`: posts an interrupted run made, found on the platform and recorded
    # of one send refused by a rate limit: the seconds the platform asked for (not summed)
    rate_limited_for: float | None = None

    def add(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.retrying += other.retrying
        self.found += other.found


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
        max_inline_wait: float = 5.0,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        metrics: Metrics = NO_METRICS,
        catch_up_view: Callable[[Alert, str], Alert] | None = None,
    ):
        self.store = store
        # what a channel's catch-up lists, chosen by its routes (bot.catalog.catch_up_for)
        self.catch_up_view = catch_up_view
        self.metrics = metrics
        self.senders = dict(senders)
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.idle = idle
        self.clock = clock
        self.max_inline_wait = max_inline_wait
        self.sleep = sleep
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[DeliveryReport]] = set()
        self._one_pass = asyncio.Lock()

    def notify(self) -> None:
        """New deliveries were queued: look now rather than at the next tick."""
        self._wake.set()

    async def deliver_pending(self, channels: Collection[str] | None = None) -> DeliveryReport:
        """One pass over every due delivery (of `channels` only, when given: a worker's job
        serves one channel). Returns what happened.

        Deliveries claimed but never recorded come first: the run that claimed them died
        mid-send (one process serves a channel at a time: this one, or under a worker's
        channel lock, the worker holding it), so each is looked up before it is sent again.
        Only then are the due ones read: a stranded delivery holds back its channel's later
        alerts until it is settled, and settled here, they go in this same pass. Passes in one
        process take turns: a second pass begun mid-send (an admin's poll) would take the first
        one's claims for stranded ones."""
        async with self._one_pass:
            return await self._pass(channels)

    async def _pass(self, channels: Collection[str] | None) -> DeliveryReport:
        now, platforms = self.clock(), tuple(self.senders)
        alerts: dict[int, Alert | Notice] = {}  # what each event posts as, read once per pass
        stranded = await self.store.claimed_unrecorded(platforms, older_than=now)
        total = await self._serve(stranded, channels, alerts)
        due = await self.store.due_deliveries(now, platforms=platforms)
        total.add(await self._serve(due, channels, alerts))
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

    async def _serve(
        self, due: list[PendingDelivery], channels: Collection[str] | None, alerts: dict[int, Alert | Notice]
    ) -> DeliveryReport:
        """Send `due` (of `channels` only, when given): channels at once, each in order."""
        by_channel: dict[str, list[PendingDelivery]] = {}
        for delivery in due:
            if channels is None or delivery.channel in channels:
                by_channel.setdefault(delivery.channel, []).append(delivery)
        reports = await asyncio.gather(*(self._serve_channel(items, alerts) for items in by_channel.values()))
        total = DeliveryReport()
        for report in reports:
            total.add(report)
        return total

    async def _serve_channel(
        self, items: list[PendingDelivery], alerts: dict[int, Alert | Notice]
    ) -> DeliveryReport:
        """One channel's alerts in order. A slot is held per send, not per channel: a channel
        waiting out its rate limit (a few seconds, as the platform asked) holds none, and
        sends again when allowed; a longer wait ends the channel's turn until a later pass."""
        report = DeliveryReport()
        for delivery in items:
            outcome = await self._send(delivery, alerts)
            for _ in range(INLINE_RETRIES):  # bounded: a platform answering 429 + Retry-After 0 forever
                wait = outcome.rate_limited_for
                if wait is None or wait > self.max_inline_wait:
                    break
                await self.sleep(wait)
                outcome = await self._send(delivery, alerts)  # recorded as due now, unclaimed if it was
            report.add(outcome)
            if outcome.retrying:
                break  # keep this channel's order: later alerts wait for this one
        return report

    async def _send(self, delivery: PendingDelivery, alerts: dict[int, Alert | Notice]) -> DeliveryReport:
        async with self._slots:
            task = asyncio.ensure_future(self._deliver_one(delivery, alerts))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
            return await asyncio.shield(task)

    async def _deliver_one(
        self, delivery: PendingDelivery, alerts: dict[int, Alert | Notice]
    ) -> DeliveryReport:
        sender = self.senders[delivery.platform]
        if delivery.action is DeliveryAction.EDIT:
            return await self._edit_one(sender, delivery)
        if delivery.event_id not in alerts:
            alerts[delivery.event_id] = await self.store.message(delivery.event_id)
        alert = alerts[delivery.event_id]
        if isinstance(alert, Alert) and alert.kind is AlertKind.CATCH_UP and self.catch_up_view:
            alert = self.catch_up_view(alert, delivery.channel)
        # a notice to the admins stands alone; a story's alerts follow the thread it opened
        story_thread = thread_id = (
            None
            if isinstance(alert, Notice)
            else await self.store.thread_for(delivery.story_id, delivery.channel)
        )
        if delivery.action is DeliveryAction.NOTE and isinstance(alert, Alert):
            alert = replace(alert, note=True)
            thread_id = story_thread or await self._reply_to(delivery)
        key = delivery_key(delivery, alert)
        kind = sent_kind(delivery, alert)
        if delivery.claimed_at is not None:
            earlier = await self._earlier_send(sender, delivery, key, thread_id, kind)
            if isinstance(earlier, DeliveryReport):
                return earlier
            if earlier is not None:
                log.info(
                    "delivery to %s was already made (message %s): recorded",
                    delivery.channel,
                    earlier.message_id,
                )
                await self.store.mark_sent(
                    delivery.id, earlier.message_id, _thread(alert, earlier, story_thread), self.clock()
                )
                self.metrics.alert_sent(delivery.platform, kind)
                return DeliveryReport(sent=1, found=1)
        if not await self.store.claim(delivery.id, self.clock()) and delivery.claimed_at is None:
            return DeliveryReport()  # another process claimed it first: it is theirs to send
        if isinstance(alert, Alert) and alert.kind is AlertKind.DIGEST and delivery.claimed_at is None:
            # a digest takes in updates until its delivery is first claimed: read what it holds now
            alert = alerts[delivery.event_id] = await self.store.message(delivery.event_id)
            key = delivery_key(delivery, alert)
        try:
            posted = await sender.send_alert(delivery.channel_id, alert, thread_id, key=key)
        except DeliveryError as err:
            return await self._failed(delivery, err, kind)
        except Exception as err:  # an adapter bug must not stop other channels
            log.exception("sending to %s raised", delivery.channel)
            return await self._failed(delivery, DeliveryError(f"{type(err).__name__}: {err}"), kind)
        await self.store.mark_sent(
            delivery.id, posted.message_id, _thread(alert, posted, story_thread), self.clock()
        )
        self.metrics.alert_sent(delivery.platform, kind)
        return DeliveryReport(sent=1)

    async def _reply_to(self, delivery: PendingDelivery) -> str | None:
        """Where a note goes when the story has no thread: in reply to the alert it corrects."""
        assert delivery.target_event_id is not None
        earlier = await self.store.sent_message(delivery.target_event_id, delivery.channel)
        return earlier.message_id if earlier else None

    async def _edit_one(self, sender: AlertSender, delivery: PendingDelivery) -> DeliveryReport:
        """Edit the alert `delivery` corrects where it was posted in this channel. A message
        that is gone (or was never posted) fails this edit alone."""
        assert delivery.target_event_id is not None
        earlier = await self.store.sent_message(delivery.target_event_id, delivery.channel)
        if earlier is None:
            await self.store.mark_failed(delivery.id, "the alert it corrects was never posted here")
            self.metrics.alert_failed(delivery.platform, EDIT)
            return DeliveryReport(failed=1)
        if not await self.store.claim(delivery.id, self.clock()) and delivery.claimed_at is None:
            return DeliveryReport()  # another process claimed it first
        try:
            alert = await self.store.corrected_alert(delivery.event_id)
            await sender.edit_alert(
                delivery.channel_id, earlier.message_id, alert, thread_id=earlier.thread_id
            )
        except DeliveryError as err:
            if err.permanent:
                log.info("cannot edit the alert in %s (%s); its note still goes", delivery.channel, err)
            return await self._failed(delivery, err, EDIT)
        except Exception as err:  # an adapter bug must not stop other channels
            log.exception("editing an alert in %s raised", delivery.channel)
            return await self._failed(delivery, DeliveryError(f"{type(err).__name__}: {err}"), EDIT)
        await self.store.mark_sent(delivery.id, earlier.message_id, None, self.clock())
        self.metrics.alert_sent(delivery.platform, EDIT)
        return DeliveryReport(sent=1)

    async def _earlier_send(
        self, sender: AlertSender, delivery: PendingDelivery, key: str, thread_id: str | None, kind: str
    ) -> Posted | DeliveryReport | None:
        """The post an interrupted send made, if the platform has it. A platform that cannot
        be asked now means try later (a DeliveryReport); one that never can means send again."""
        assert delivery.claimed_at is not None
        since = delivery.claimed_at - RECONCILE_MARGIN
        try:
            return await sender.find_sent(delivery.channel_id, key, thread_id, since)
        except DeliveryError as err:
            if not err.permanent:
                return await self._failed(delivery, err, kind)
            reason = err.reason
        except Exception as err:  # an adapter bug: do not guess, try again later
            log.exception("looking for an earlier send to %s raised", delivery.channel)
            return await self._failed(delivery, DeliveryError(f"{type(err).__name__}: {err}"), kind)
        log.warning(
            "cannot tell whether %s already got its alert (%s); sending it again, which may repeat it",
            delivery.channel,
            reason,
        )
        return None

    async def _failed(self, delivery: PendingDelivery, err: DeliveryError, kind: str) -> DeliveryReport:
        rate_limited = err.retry_after is not None
        attempts = delivery.attempts + 1
        if err.permanent or (not rate_limited and attempts >= self.max_attempts):
            log.warning("delivery to %s failed for good: %s", delivery.channel, err.reason)
            await self.store.mark_failed(delivery.id, err.reason)
            self.metrics.alert_failed(delivery.platform, kind)
            return DeliveryReport(failed=1)
        if rate_limited:
            delay = float(err.retry_after or 0)
        else:
            delay = min(self.max_backoff, self.backoff * 2 ** (attempts - 1))
        log.info("delivery to %s will retry in %.1fs: %s", delivery.channel, delay, err.reason)
        # a rate limit refused the send; on the delivery's first claim nothing can have landed, so
        # its retry need not ask the platform first (a history read per 429, itself rate-limited)
        await self.store.mark_retry(
            delivery.id,
            err.reason,
            self.clock() + timedelta(seconds=delay),
            count=not rate_limited,
            unclaim=rate_limited and delivery.claimed_at is None,
        )
        return DeliveryReport(retrying=1, rate_limited_for=delay if rate_limited else None)


def _thread(alert: Alert | Notice, posted: Posted, thread_id: str | None) -> str | None:
    """The thread to record for a post: a notice opens none, so a story's later alerts in an
    admin channel never take it for their thread."""
    return None if isinstance(alert, Notice) else posted.thread_id or thread_id
