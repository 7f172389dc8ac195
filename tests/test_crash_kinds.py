"""A bot process killed with SIGKILL in the middle of a correction, a catch-up or a digest,
then restarted: each channel ends with each message exactly once, showing what it should.

The kinds of delivery besides an alert's post: the EDIT of an earlier alert and its NOTE, a
newly routed channel's catch-up, and a digest whose members are fixed when it is claimed.
Real processes (tests/crash/harness.py), the real store and adapters, loopback fakes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.catalog import sync_catalog
from bot.storage import DeliveryAction, DeliveryStatus, now_utc, open_store
from tests.crash.harness import Fake, Rig, child_spec, deliver_in_child, killed_at, platform_rig
from tests.fakes.holds import Hold
from tests.helpers import (
    LATER,
    NOV9,
    NOV11,
    SEED_SUMMARY_START,
    kherson_config,
    kherson_store,
    page,
    poll_file,
    routed,
)
from tests.test_corrections import EDITED

pytestmark = pytest.mark.timeout(90)

CHANNELS = 3  # enough for a killed channel beside ones served before and after it
FIXED = "forced at great cost"  # what the correction (EDITED) adds to the alert
ORIGINAL_START = "In what is widely being labeled a blow for Vladimir Putin"
SENT = DeliveryStatus.SENT


@pytest.fixture(params=["slack", "discord"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    async with platform_rig(request.param, CHANNELS) as rig:
        yield rig


async def rows_of(tmp_path: Path) -> list[tuple[DeliveryAction, DeliveryStatus]]:
    async with await open_store(kherson_config(tmp_path, []).database({})) as store:
        return [(r.action, r.status) for r in await store.deliveries()]


# --- a correction: the edit of the alert, then its note --------------------------------

CORRECTION_POINTS: dict[str, Callable[[Fake], Hold]] = {
    # the first edit made on the platform, the bot killed before it heard back (unrecorded)
    "edit_made_unrecorded": lambda fake: fake.hold_edit(1, "answered"),
    # the first edit reached the platform and was dropped there: never made
    "edit_unmade": lambda fake: fake.hold_edit(1, "received"),
    # the first note posted, the bot killed before it heard back (unrecorded)
    "note_posted_unrecorded": lambda fake: fake.hold_post(1, "answered"),
}


@pytest.mark.parametrize(
    ("point", "threads"), [(point, False) for point in CORRECTION_POINTS] + [("note_posted_unrecorded", True)]
)
async def test_a_correction_killed_mid_send_leaves_the_corrected_alert_and_one_note(
    rig: Rig, tmp_path: Path, point: str, threads: bool
) -> None:
    rig.table = {**rig.table, "threads": threads}  # threads: the note goes in the story's thread
    store, config = await kherson_store(tmp_path, rig.routes)
    await store.close()
    spec = child_spec(rig, tmp_path)
    assert (await deliver_in_child(spec, tmp_path / "alert.log"))["sent"] == CHANNELS
    first = {c: rig.posts(c) for c in rig.channels}
    async with await open_store(config.database({})) as store:
        await poll_file(config, store, EDITED)  # an edit and a note queued per channel

    await killed_at(rig, CORRECTION_POINTS[point](rig.fake), spec, tmp_path / "first.log")
    report = await deliver_in_child(spec, tmp_path / "second.log")

    assert_corrected_once(rig, first, threads)
    everything_sent = [(action, SENT) for action in DeliveryAction for _ in range(CHANNELS)]
    assert sorted(await rows_of(tmp_path)) == sorted(everything_sent)
    assert report["found"] == (1 if point == "note_posted_unrecorded" else 0)  # looked up, not resent


@pytest.mark.parametrize("stage", ["received", "answered"])
async def test_an_alert_killed_mid_send_and_corrected_while_down_ends_corrected_with_one_note(
    rig: Rig, tmp_path: Path, stage: str
) -> None:
    """The correction comes before the alert's own send was recorded (or, in the last
    channel, made): the alert is settled first, then edited, then noted."""
    store, config = await kherson_store(tmp_path, rig.routes)
    await store.close()
    spec = child_spec(rig, tmp_path)
    await killed_at(rig, rig.fake.hold_post(2, stage), spec, tmp_path / "first.log")
    async with await open_store(config.database({})) as store:
        await poll_file(config, store, EDITED)
    await deliver_in_child(spec, tmp_path / "second.log")

    assert_corrected_once(rig, None, threads=False)
    everything_sent = [(action, SENT) for action in DeliveryAction for _ in range(CHANNELS)]
    assert sorted(await rows_of(tmp_path)) == sorted(everything_sent)


def assert_corrected_once(rig: Rig, first: dict[str, list[str]] | None, threads: bool) -> None:
    """Each channel holds one alert (the one in `first`, when given), corrected, and one
    note about it."""
    for channel in rig.channels:
        alert, *rest = rig.messages(channel)
        (note,) = rest + rig.messages(alert.id)  # one note (in a Discord thread: the thread's)
        assert first is None or [alert.id] == first[channel]  # and no new alert
        assert FIXED in alert.text and "Corrected" in alert.text  # it reads as corrected now
        bodies = rig.edit_bodies(alert.id)
        assert len(bodies) in (1, 2) and len(set(bodies)) == 1  # an edit made again is the same edit
        assert note.reply_to == alert.id or (threads and rig.platform == "discord")
        assert "Revised" in note.text and note.edits == 0


# --- a catch-up for newly routed channels ------------------------------------------------


@pytest.mark.parametrize("stage", ["received", "answered"])
async def test_a_catch_up_killed_mid_send_arrives_once_and_a_later_update_as_its_own_alert(
    rig: Rig, tmp_path: Path, stage: str
) -> None:
    store, _ = await kherson_store(tmp_path, [])  # followed, routed nowhere, mid-story
    config = kherson_config(tmp_path, rig.routes)  # then routed to every channel
    try:
        queued = await sync_catalog(store, config)
    finally:
        await store.close()
    assert sorted(queued) == [("kherson", route) for route in sorted(rig.routes)]
    spec = child_spec(rig, tmp_path)

    # killed at the second channel's catch-up: one channel already has its own, recorded
    await killed_at(rig, rig.fake.hold_post(2, stage), spec, tmp_path / "first.log")
    async with await open_store(config.database({})) as store:  # an update while the bot is down
        assert len((await poll_file(config, store, page(12))).event_ids) == 1
    report = await deliver_in_child(spec, tmp_path / "second.log")

    for channel in rig.channels:
        catch_up, update = rig.messages(channel)  # the story as it stood when routed, then the news
        assert "The story so far" in catch_up.text and LATER[12][:50] not in catch_up.text
        assert ORIGINAL_START in catch_up.text and SEED_SUMMARY_START[:50] in catch_up.text
        assert "The story so far" not in update.text and LATER[12][:50] in update.text
    assert await rows_of(tmp_path) == [(DeliveryAction.POST, SENT)] * (2 * CHANNELS)
    assert (report["sent"], report["found"]) == (2 * CHANNELS - 1, 1 if stage == "answered" else 0)


# --- a digest: its members fixed at its claim ----------------------------------------------


@pytest.mark.parametrize(("stage", "concurrency"), [("received", 1), ("answered", 1), ("answered", 8)])
async def test_a_digest_killed_mid_send_arrives_once_whole_and_a_later_update_waits_for_the_next(
    rig: Rig, tmp_path: Path, stage: str, concurrency: int
) -> None:
    """At concurrency 8 every channel's digest may be in flight when the kill comes."""
    config = routed(tmp_path, {"stories": ["kherson"], "channels": rig.routes, "digest": "30m"})
    t0, minute = now_utc() - timedelta(hours=3), timedelta(minutes=1)  # every digest due by now
    async with await open_store(config.database({})) as store:
        await sync_catalog(store, config)
        await poll_file(config, store, NOV9, now=t0)
        for n, text in enumerate((NOV11.read_text(encoding="utf-8"), page(12), page(12, 13)), 1):
            assert len((await poll_file(config, store, text, now=t0 + n * minute)).event_ids) == 1
    spec = child_spec(rig, tmp_path, concurrency=concurrency)

    await killed_at(rig, rig.fake.hold_post(1, stage), spec, tmp_path / "first.log")
    # while the bot is down an update arrives: where a digest was claimed, it opens the next
    # digest; where none was (served after the kill), that digest still takes it in
    async with await open_store(config.database({})) as store:
        await poll_file(config, store, page(12, 13, 14), now=t0 + 40 * minute)
    report = await deliver_in_child(spec, tmp_path / "second.log")

    three, fourth = (SEED_SUMMARY_START[:50], LATER[12][:50], LATER[13][:50]), LATER[14][:50]
    shown = {c: [m.text for m in rig.messages(c)] for c in rig.channels}
    claimed = [c for c, texts in shown.items() if len(texts) == 2]  # a digest claimed before the kill
    for channel, texts in shown.items():
        if channel in claimed:
            held, following = texts
            assert "3 updates to" in held and all(s in held for s in three) and fourth not in held
            assert fourth in following and not any(s in following for s in three)
        else:
            (digest,) = texts
            assert "4 updates to" in digest and all(s in digest for s in (*three, fourth))
    assert len(claimed) == 1 if concurrency == 1 else len(claimed) >= 1
    assert await rows_of(tmp_path) == [(DeliveryAction.POST, SENT)] * (CHANNELS + len(claimed))
    found = 1 if stage == "answered" else 0  # the held post; at concurrency 8, others in flight too
    assert report["found"] == found if concurrency == 1 else report["found"] >= found
