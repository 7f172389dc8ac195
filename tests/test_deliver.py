"""Delivery: each routed channel gets each alert exactly once, across failures and restarts."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite

from bot.deliver import Dispatcher, delivery_key
from bot.models import AlertKind
from bot.ports import DeliveryError, Posted
from bot.storage import EventRecord, FetchMeta, Store, open_store
from tests.helpers import kherson_store
from tests.recording import RecordingSender

CHANNELS = [f"rec:C{n}" for n in range(12)]


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_fan_out_reaches_every_channel_once(tmp_path: Path) -> None:
    store, _ = await kherson_store(tmp_path, CHANNELS)
    sender = RecordingSender()
    report = await Dispatcher(store, {"rec": sender}).deliver_pending()
    assert report.sent == len(CHANNELS)
    assert sorted(sender.channels()) == sorted(c.split(":")[1] for c in CHANNELS)
    assert all(d.status == "sent" and d.message_id for d in await store.deliveries())
    assert (await Dispatcher(store, {"rec": sender}).deliver_pending()).sent == 0
    await store.close()


async def test_stopping_mid_fan_out_then_restarting_delivers_each_once(tmp_path: Path) -> None:
    store, config = await kherson_store(tmp_path, CHANNELS)
    sender = RecordingSender()
    sent_five = asyncio.Event()
    original = sender.send_alert

    async def send_then_maybe_stop(channel, alert, thread_id, *, key=None):  # type: ignore[no-untyped-def]
        posted = await original(channel, alert, thread_id, key=key)
        if len(sender.posted) == 5:
            sent_five.set()
        await asyncio.sleep(0)  # let the stop land mid-send: the record must still happen
        return posted

    sender.send_alert = send_then_maybe_stop  # type: ignore[method-assign]
    dispatcher = Dispatcher(store, {"rec": sender}, concurrency=1)
    task = asyncio.create_task(dispatcher.deliver_pending())
    await sent_five.wait()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await dispatcher.drain()
    await store.close()
    first_run = len(sender.posted)
    assert 5 <= first_run < len(CHANNELS)

    store = await open_store(config.database({}))  # a restart: a new process would do the same
    restarted = RecordingSender()
    await Dispatcher(store, {"rec": restarted}).deliver_pending()
    everyone = sender.channels() + restarted.channels()
    assert sorted(everyone) == sorted(c.split(":")[1] for c in CHANNELS)
    await store.close()


async def test_a_bad_channel_fails_alone_and_others_get_theirs(tmp_path: Path) -> None:
    store, _ = await kherson_store(tmp_path, ["rec:good1", "rec:gone", "rec:good2"])
    sender = RecordingSender(failures={"gone": [DeliveryError("channel_not_found", permanent=True)]})
    report = await Dispatcher(store, {"rec": sender}).deliver_pending()
    assert (report.sent, report.failed) == (2, 1)
    rows = {d.channel: d for d in await store.deliveries()}
    assert rows["rec:gone"].status == "failed" and rows["rec:gone"].last_error == "channel_not_found"
    await store.close()


async def test_rate_limit_and_transient_errors_are_retried_later(tmp_path: Path) -> None:
    store, _ = await kherson_store(tmp_path, ["rec:A", "rec:B"])
    clock = Clock()
    sender = RecordingSender(
        failures={
            "A": [DeliveryError("ratelimited", retry_after=30)] * 3,
            "B": [DeliveryError("HTTP 502")],
        }
    )
    dispatcher = Dispatcher(store, {"rec": sender}, backoff=10, clock=clock)
    for _ in range(5):
        await dispatcher.deliver_pending()
        clock.now += timedelta(seconds=31)
    assert sorted(sender.channels()) == ["A", "B"]
    rows = {d.channel: d for d in await store.deliveries()}
    assert rows["rec:A"].attempts == 1  # rate limits do not use up attempts
    assert rows["rec:B"].attempts == 2
    await store.close()


async def test_retry_waits_for_its_time(tmp_path: Path) -> None:
    store, _ = await kherson_store(tmp_path, ["rec:A"])
    clock = Clock()
    sender = RecordingSender(failures={"A": [DeliveryError("ratelimited", retry_after=60)]})
    dispatcher = Dispatcher(store, {"rec": sender}, clock=clock)
    await dispatcher.deliver_pending()
    clock.now += timedelta(seconds=59)
    assert (await dispatcher.deliver_pending()).sent == 0
    clock.now += timedelta(seconds=2)
    assert (await dispatcher.deliver_pending()).sent == 1
    await store.close()


async def test_gives_up_after_max_attempts(tmp_path: Path) -> None:
    store, _ = await kherson_store(tmp_path, ["rec:A"])
    clock = Clock()
    sender = RecordingSender(failures={"A": [DeliveryError("HTTP 500")] * 10})
    dispatcher = Dispatcher(store, {"rec": sender}, max_attempts=3, backoff=1, clock=clock)
    for _ in range(5):
        await dispatcher.deliver_pending()
        clock.now += timedelta(hours=1)
    (row,) = await store.deliveries()
    assert row.status == "failed" and row.attempts == 3 and sender.posted == []
    await store.close()


async def test_later_updates_join_the_first_alerts_thread(tmp_path: Path) -> None:
    from tests.helpers import NOV11, poll_file

    store, config = await kherson_store(tmp_path, ["rec:A"])
    sender = RecordingSender(threads=True)
    await Dispatcher(store, {"rec": sender}).deliver_pending()
    text = NOV11.read_text(encoding="utf-8").replace(
        "UPDATE Nov 11, 2022 7:36 AM CST",
        "UPDATE Nov 12, 2022 9:00 AM CST\n\nUkraine's president visited the city on Saturday.\n\n"
        "UPDATE Nov 11, 2022 7:36 AM CST",
    )
    outcome = await poll_file(config, store, text)
    assert len(outcome.event_ids) == 1
    await Dispatcher(store, {"rec": sender}).deliver_pending()
    (_, first, first_thread), (_, second, second_thread) = sender.posted
    assert first_thread is None and second_thread == "A-1"
    await store.close()


async def test_platform_without_sender_waits(tmp_path: Path) -> None:
    store, _ = await kherson_store(tmp_path, ["rec:A", "other:B"])
    sender = RecordingSender()
    report = await Dispatcher(store, {"rec": sender}).deliver_pending()
    assert report.sent == 1
    rows = {d.channel: d.status for d in await store.deliveries()}
    assert rows == {"rec:A": "sent", "other:B": "pending"}
    await store.close()


async def test_a_channel_waiting_on_a_retry_keeps_its_order(tmp_path: Path) -> None:
    from tests.helpers import NOV11, poll_file

    store, config = await kherson_store(tmp_path, ["rec:A", "rec:B"])
    text = NOV11.read_text(encoding="utf-8").replace(
        "UPDATE Nov 11, 2022 7:36 AM CST",
        "UPDATE Nov 12, 2022 9:00 AM CST\n\nUkraine's president visited the city on Saturday.\n\n"
        "UPDATE Nov 11, 2022 7:36 AM CST",
    )
    await poll_file(config, store, text)  # two alerts now wait for each channel
    clock = Clock()
    sender = RecordingSender(failures={"A": [DeliveryError("ratelimited", retry_after=60)]})
    dispatcher = Dispatcher(store, {"rec": sender}, clock=clock)
    await dispatcher.deliver_pending()
    assert sender.channels() == ["B", "B"]  # A's second alert did not jump its first
    clock.now += timedelta(seconds=61)
    await dispatcher.deliver_pending()
    a_alerts = [
        alert.headline + str(alert.timestamp) for channel, alert, _ in sender.posted if channel == "A"
    ]
    b_alerts = [
        alert.headline + str(alert.timestamp) for channel, alert, _ in sender.posted if channel == "B"
    ]
    assert a_alerts == b_alerts and len(a_alerts) == 2
    b_times = [alert.timestamp for channel, alert, _ in sender.posted if channel == "B"]
    assert b_times == sorted(b_times)  # publisher order: Nov 11 before Nov 12
    await store.close()


# --- claimed before each send, reconciled after a crash ----------------------------------


async def interrupted(store: Store, sender: RecordingSender) -> str:
    """The state a hard kill leaves: rec:A's delivery claimed and maybe posted, never recorded.
    Returns the delivery key that send carried."""
    (due,) = await store.due_deliveries(datetime.now(UTC), platforms=("rec",))
    key = delivery_key(due, await store.alert(due.event_id))
    await store.claim(due.id, datetime.now(UTC))
    return key


async def test_each_send_is_claimed_in_the_store_before_the_platform_sees_it(tmp_path: Path) -> None:
    store, config = await kherson_store(tmp_path, ["rec:A"])
    sender = RecordingSender()
    seen_by_another_process: list[tuple[str, str | None]] = []
    original = sender.send_alert

    async def look_then_send(channel, alert, thread_id, *, key=None):  # type: ignore[no-untyped-def]
        async with (
            aiosqlite.connect(config.database({})) as other,
            other.execute("SELECT status, claimed_at FROM deliveries") as cursor,
        ):
            seen_by_another_process.extend(tuple(row) for row in await cursor.fetchall())
        return await original(channel, alert, thread_id, key=key)

    sender.send_alert = look_then_send  # type: ignore[method-assign]
    assert (await Dispatcher(store, {"rec": sender}).deliver_pending()).sent == 1
    ((status, claimed_at),) = seen_by_another_process
    assert status == "claimed" and claimed_at is not None
    await store.close()


async def test_a_claimed_send_the_platform_holds_is_recorded_not_resent(tmp_path: Path) -> None:
    store, _ = await kherson_store(tmp_path, ["rec:A"])
    sender = RecordingSender()
    key = await interrupted(store, sender)
    sender.keys[key] = Posted("A-earlier")  # the killed process's post did land
    report = await Dispatcher(store, {"rec": sender}).deliver_pending()
    assert (report.sent, report.found, sender.posted) == (1, 1, [])
    (row,) = await store.deliveries()
    assert (row.status, row.message_id) == ("sent", "A-earlier")
    await store.close()


async def test_a_claimed_send_the_platform_lacks_is_sent_once_with_the_same_key(tmp_path: Path) -> None:
    store, _ = await kherson_store(tmp_path, ["rec:A"])
    sender = RecordingSender()
    key = await interrupted(store, sender)
    report = await Dispatcher(store, {"rec": sender}).deliver_pending()
    assert (report.sent, report.found, sender.lookups, list(sender.keys)) == (1, 0, [key], [key])
    await store.close()


async def test_a_settled_stranded_send_lets_its_channels_later_alerts_go_in_the_same_pass(
    tmp_path: Path,
) -> None:
    """A worker's delivery job runs one pass: the alerts queued behind a killed send go in it."""
    store, _ = await kherson_store(tmp_path, ["rec:A"])
    sender = RecordingSender()
    key = await interrupted(store, sender)
    sender.keys[key] = Posted("A-earlier")
    last = await store.last_version("kherson")
    assert last is not None
    later = EventRecord(AlertKind.NEW_UPDATE, "later", "s", channels=("rec:A",))
    await store.record_version("kherson", last.id, datetime.now(UTC), FetchMeta(), last.story, [], [later])
    report = await Dispatcher(store, {"rec": sender}).deliver_pending()
    assert (report.sent, report.found) == (2, 1)
    assert [alert.headline for _, alert, _ in sender.posted] == ["later"]
    await store.close()


async def test_a_platform_that_keeps_nothing_gets_the_alert_again(tmp_path: Path) -> None:
    """The console's case: at least once, never lost."""
    store, _ = await kherson_store(tmp_path, ["rec:A"])
    sender = RecordingSender(keeps_keys=False)
    await interrupted(store, sender)
    assert (await Dispatcher(store, {"rec": sender}).deliver_pending()).sent == 1
    assert sender.channels() == ["A"]
    await store.close()


async def test_a_lookup_that_fails_for_now_waits_and_one_that_never_can_resends(tmp_path: Path) -> None:
    store, _ = await kherson_store(tmp_path, ["rec:A"])
    sender = RecordingSender(lookup_failures=[DeliveryError("HTTP 503")])
    await interrupted(store, sender)
    clock = Clock()  # after the interrupted run's claim: a pass looks at claims older than its start
    dispatcher = Dispatcher(store, {"rec": sender}, backoff=10, clock=clock)
    assert (await dispatcher.deliver_pending()).retrying == 1 and sender.posted == []
    sender.lookup_failures.append(DeliveryError("missing_scope", permanent=True))
    clock.now += timedelta(seconds=11)
    assert (await dispatcher.deliver_pending()).sent == 1 and sender.channels() == ["A"]
    await store.close()


async def test_the_delivery_key_is_stable_short_and_specific(tmp_path: Path) -> None:
    store, _ = await kherson_store(tmp_path, ["rec:A", "rec:B"])
    first, second = await store.due_deliveries(datetime.now(UTC), platforms=("rec",))
    alert = await store.alert(first.event_id)
    key = delivery_key(first, alert)
    assert key == delivery_key(first, alert) and key.startswith(f"sb{first.id}-") and len(key) <= 25
    assert delivery_key(second, alert) != key
    reborn = replace(alert, seen_at=alert.seen_at + timedelta(seconds=1))  # a new database's row 1
    assert delivery_key(first, reborn) != key
    assert len(delivery_key(replace(first, id=10**12), alert)) <= 25
    await store.close()


async def test_a_second_pass_begun_mid_send_does_not_send_again(tmp_path: Path) -> None:
    store, _ = await kherson_store(tmp_path, ["rec:A"])
    sender = RecordingSender()
    original, release = sender.send_alert, asyncio.Event()

    async def slow_send(channel, alert, thread_id, *, key=None):  # type: ignore[no-untyped-def]
        await release.wait()  # the first pass is mid-send, its claim committed
        return await original(channel, alert, thread_id, key=key)

    sender.send_alert = slow_send  # type: ignore[method-assign]
    dispatcher = Dispatcher(store, {"rec": sender})
    first = asyncio.create_task(dispatcher.deliver_pending())
    await asyncio.sleep(0.05)
    second = asyncio.create_task(dispatcher.deliver_pending())  # an admin's /story poll, say
    await asyncio.sleep(0.05)
    release.set()
    reports = await asyncio.gather(first, second)
    assert sum(r.sent for r in reports) == 1 and sender.channels() == ["A"]
    await store.close()


async def test_a_digests_key_covers_the_updates_it_holds(tmp_path: Path) -> None:
    store, _ = await kherson_store(tmp_path, ["rec:A"])
    (due,) = await store.due_deliveries(datetime.now(UTC), platforms=("rec",))
    alert = await store.alert(due.event_id)
    digest = replace(alert, kind=AlertKind.DIGEST, updates=(alert,))
    other = replace(digest, updates=(alert, replace(alert, event_id=alert.event_id + 1)))
    keys = {delivery_key(due, alert), delivery_key(due, digest), delivery_key(due, other)}
    assert len(keys) == 3 and delivery_key(due, other) == delivery_key(due, replace(other))
    await store.close()


async def test_a_pause_notice_is_sent_as_a_notice_outside_the_storys_thread(tmp_path: Path) -> None:
    """An admin channel that also gets the story's alerts: the notice goes to the channel, not
    the story's thread, and is no thread anchor for the story's later alerts."""
    store, _ = await kherson_store(tmp_path, ["rec:admins"])
    sender = RecordingSender(threads=True)
    dispatcher = Dispatcher(store, {"rec": sender})
    await dispatcher.deliver_pending()  # the update opens the story's thread in #admins
    await store.record_failure("kherson", datetime.now(UTC), "HTTP 500", 500)
    notice = EventRecord(
        AlertKind.STORY_PAUSED, "Paused after 1 failed polls in a row", "HTTP 500", channels=("rec:admins",)
    )
    assert await store.pause_story("kherson", datetime.now(UTC), notice) is not None
    assert (await dispatcher.deliver_pending()).sent == 1
    (_, update, update_thread), (_, told, told_thread) = sender.posted
    assert update_thread is None and type(told).__name__ == "Notice" and told_thread is None
    first, second = await store.deliveries()
    assert first.thread_id is not None and second.thread_id is None
    assert await store.thread_for("kherson", "rec:admins") == first.thread_id
    await store.close()
