"""A correction fixes what it corrects: the earlier alert is edited in place and one note goes
in its thread, once per channel, across restarts. End to end through the real store, the real
dispatcher and the real Slack and Discord adapters against the loopback fakes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from adapters.console import ConsoleAdapter
from adapters.registry import platform_module
from bot.app import StoryBot
from bot.catalog import sync_catalog
from bot.config import Config
from bot.corrections import Corrects, link_corrections
from bot.deliver import Dispatcher
from bot.diff import diff
from bot.models import NewUpdate, Section, SectionEdited, SectionKind, Story
from bot.ports import DeliveryError, Platform
from bot.storage import DeliveryAction, DeliveryStatus, now_utc, open_store
from tests.crash.harness import Rig as CrashRig
from tests.crash.harness import Seen
from tests.fakes.discord import CHANNEL_IDS, FakeDiscord
from tests.fakes.slack import FakeSlack
from tests.helpers import NOV9, NOV11, kherson_config, kherson_store, poll_file, routed
from tests.recording import RecordingSender

pytestmark = pytest.mark.timeout(60)

LEAD = "Russia now says it has completely withdrawn its forces from the southern Ukrainian city of Kherson."
FIXED_LEAD = LEAD[:-1] + ", a retreat Ukraine's army says it forced at great cost."
EDITED = NOV11.read_text(encoding="utf-8").replace(LEAD, FIXED_LEAD)
CORRECTION = "An earlier version of this update misstated the river's name. It is the Dnipro."
CORRECTED = NOV11.read_text(encoding="utf-8").replace(
    "which it illegally annexed in September.",
    f"which it illegally annexed in September.\n\nCorrection, Nov 12, 2022 9:00 AM CST: {CORRECTION}",
)
ORIGINAL_LEAD = (
    "In what is widely being labeled a blow for Vladimir Putin, Russia on Wednesday announced it was "
    "pulling its troops from Kherson—the sole regional Ukrainian capital it had managed to take since "
    "its February invasion."
)
ORIGINAL_EDITED = NOV11.read_text(encoding="utf-8").replace(
    ORIGINAL_LEAD,
    "In a move analysts called the largest setback of the war for the Kremlin, Russia on Wednesday "
    "ordered every one of its units out of Kherson, the one regional capital it ever captured.",
)
assert NOV11.read_text(encoding="utf-8") != ORIGINAL_EDITED


# --- which section an event corrects (pure) -------------------------------------------------


def upd(text: str, header: str = "UPDATE") -> Section:
    return Section(SectionKind.UPDATE, header, None, (text,))


ORIG = Section(SectionKind.ORIGINAL, "", None, ("The original text of the story, long enough.",))
FIRST = upd("Troops crossed the river on Friday morning, officials said.")
FIXED = upd("Troops crossed the river on Thursday morning, officials said.")
NOTE = upd("An earlier version of this update gave the wrong day.", "Correction:")


def test_an_edit_corrects_its_own_section() -> None:
    old, new = Story(sections=(FIRST, ORIG)), Story(sections=(FIXED, ORIG))
    events, links = link_corrections(diff(old, new), new, {FIRST.fingerprint, ORIG.fingerprint})
    assert [type(e) for e in events] == [SectionEdited]
    assert links == {FIXED.fingerprint: Corrects(FIRST.fingerprint, FIXED.fingerprint)}


def test_a_correction_corrects_the_known_section_above_it() -> None:
    old, new = Story(sections=(FIRST, ORIG)), Story(sections=(FIRST, NOTE, ORIG))
    events, links = link_corrections(diff(old, new), new, {FIRST.fingerprint, ORIG.fingerprint})
    assert [type(e) for e in events] == [NewUpdate]
    assert links == {NOTE.fingerprint: Corrects(FIRST.fingerprint, FIRST.fingerprint)}


def test_a_correction_with_an_edit_of_its_section_is_one_correction() -> None:
    old, new = Story(sections=(FIRST, ORIG)), Story(sections=(FIXED, NOTE, ORIG))
    events, links = link_corrections(diff(old, new), new, {FIRST.fingerprint, ORIG.fingerprint})
    assert [type(e) for e in events] == [NewUpdate]  # the edit is folded into the correction
    assert links == {NOTE.fingerprint: Corrects(FIRST.fingerprint, FIXED.fingerprint)}


def test_a_correction_under_a_section_new_in_the_same_fetch_corrects_nothing() -> None:
    old, new = Story(sections=(ORIG,)), Story(sections=(FIRST, NOTE, ORIG))
    events, links = link_corrections(diff(old, new), new, {ORIG.fingerprint})
    assert len(events) == 2 and links == {}
    first_section = Story(sections=(NOTE, ORIG))  # nothing above it: corrects nothing either
    assert (
        link_corrections(diff(Story(sections=(ORIG,)), first_section), first_section, {ORIG.fingerprint})[1]
        == {}
    )


# --- one view of what each fake holds ----------------------------------------------------


class Rig(CrashRig):
    """A platform's fake and the channels routed to it, read back as what each channel shows
    (tests/crash/harness.py)."""

    def hold_note(self, stage: str) -> Any:
        """Hold the next post (the note) at `stage`."""
        return self.fake.hold_post(1, stage)


@pytest.fixture(params=["slack", "discord"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    if request.param == "slack":
        async with FakeSlack() as slack:
            yield Rig(
                "slack",
                slack,
                ["C1", "C2"],
                {"api_url": slack.api_url, "mode": "http", "port": 0},
                {"SLACK_BOT_TOKEN": slack.bot_token, "SLACK_SIGNING_SECRET": slack.signing_secret},
            )
    else:
        async with FakeDiscord() as discord:
            yield Rig(
                "discord",
                discord,
                [str(c) for c in CHANNEL_IDS],
                {**discord.settings, "guild_ready_timeout": 0.05},
                {"DISCORD_TOKEN": discord.token},
            )


async def started_bot(rig: Rig, config: Config) -> StoryBot:
    """A StoryBot on the config's SQLite file with the platform attached (REST only)."""
    bot = await StoryBot.create(config)
    try:
        adapter = platform_module(rig.platform).build(rig.table, bot.commands, rig.env, listen=False)
        assert isinstance(adapter, Platform)
        await bot.attach([adapter])
    except BaseException:
        await bot.close()
        raise
    return bot


async def poll(bot: StoryBot, config: Config, text: str) -> None:
    config.resolve_path("kherson.txt").write_text(text, encoding="utf-8")
    outcome = await bot.poll("kherson")
    assert outcome is not None and outcome.status.value in ("baseline", "changed"), outcome


async def alerted(rig: Rig, tmp_path: Path) -> tuple[Config, StoryBot, dict[str, str]]:
    """Kherson baselined on Nov 9, its Nov 11 update alerted to every channel: the bot, and
    the alert's message id per channel."""
    config = kherson_config(tmp_path, rig.routes)
    bot = await started_bot(rig, config)
    await poll(bot, config, NOV9.read_text(encoding="utf-8"))
    await poll(bot, config, NOV11.read_text(encoding="utf-8"))
    assert (await bot.deliver()).sent == len(rig.channels)
    return config, bot, {c: rig.messages(c)[0].id for c in rig.channels}


async def test_a_correction_edits_the_alert_it_corrects_and_notes_it_once(rig: Rig, tmp_path: Path) -> None:
    config, bot, first = await alerted(rig, tmp_path)
    try:
        await poll(bot, config, EDITED)
        report = await bot.deliver()
        assert (report.sent, report.failed) == (2 * len(rig.channels), 0)
        assert (await bot.deliver()).sent == 0
    finally:
        await bot.close()
    for channel in rig.channels:
        alert, note = rig.messages(channel)
        assert alert.id == first[channel] and alert.edits == 1  # that message, and only it
        assert "forced at great cost" in alert.text and "Corrected" in alert.text
        assert note.reply_to == alert.id and note.edits == 0
        assert "Revised" in note.text and "forced at great cost" in note.text
        assert "New update" not in note.text


async def test_a_correction_section_is_a_correction_everywhere(rig: Rig, tmp_path: Path) -> None:
    config, bot, first = await alerted(rig, tmp_path)
    try:
        await poll(bot, config, CORRECTED)
        assert (await bot.deliver()).sent == 2 * len(rig.channels)
    finally:
        await bot.close()
    for channel in rig.channels:
        alert, note = rig.messages(channel)
        assert alert.id == first[channel] and alert.edits == 1
        assert "Corrected" in alert.text and "misstated the river" in alert.text
        assert "New update" in alert.text  # the corrected alert is still the update it was
        assert note.reply_to == alert.id and "Correction" in note.text and "misstated the river" in note.text
        assert "New update" not in note.text and "Revised" not in note.text


async def edit_then_die(bot: StoryBot) -> None:
    """What a process killed right after its edits reached the platform leaves: each edit
    claimed and made, none recorded, no note sent."""
    platform = bot.platforms[0]
    for delivery in await bot.store.due_deliveries(now_utc(), platforms=(platform.platform,)):
        if delivery.action is DeliveryAction.EDIT:
            assert delivery.target_event_id is not None
            assert await bot.store.claim(delivery.id, now_utc())
            earlier = await bot.store.sent_message(delivery.target_event_id, delivery.channel)
            assert earlier is not None
            alert = await bot.store.corrected_alert(delivery.event_id)
            await platform.edit_alert(
                delivery.channel_id, earlier.message_id, alert, thread_id=earlier.thread_id
            )


async def die_at_a_note(bot: StoryBot, rig: Rig, stage: str) -> None:
    """Stop the bot as a kill would while a note is held at `stage` in the fake: whatever it
    had under way is cut off unrecorded."""
    hold = rig.hold_note(stage)
    task = asyncio.create_task(bot.deliver())
    await hold.wait_reached(10)
    for in_flight in list(bot.dispatcher._in_flight):
        in_flight.cancel()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@pytest.mark.parametrize("point", ["edit_unrecorded", "note_unsent", "note_unrecorded"])
async def test_a_restart_in_between_neither_edits_twice_nor_loses_the_edit(
    rig: Rig, tmp_path: Path, point: str
) -> None:
    config, bot, first = await alerted(rig, tmp_path)
    try:
        await poll(bot, config, EDITED)
        if point == "edit_unrecorded":
            await edit_then_die(bot)
        else:
            await die_at_a_note(bot, rig, "received" if point == "note_unsent" else "answered")
    finally:
        await bot.close()
    rig.fake.release_holds()
    bot = await started_bot(rig, config)  # a restart: a new StoryBot on the same SQLite file
    try:
        await bot.deliver()
        rows = await bot.store.deliveries()
        assert (await bot.deliver()).sent == 0
    finally:
        await bot.close()
    assert {r.status for r in rows} == {DeliveryStatus.SENT}, rows
    for channel in rig.channels:
        alert, note = rig.messages(channel)  # one note, no second alert
        assert alert.id == first[channel] and "forced at great cost" in alert.text
        bodies = rig.edit_bodies(alert.id)
        assert len(set(bodies)) == 1  # an edit made again is the same edit: it reads the same
        assert len(bodies) <= (2 if point == "edit_unrecorded" else 1)
        assert note.reply_to == alert.id and "Revised" in note.text


async def test_an_alert_deleted_since_gets_no_edit_but_still_its_note(rig: Rig, tmp_path: Path) -> None:
    config, bot, first = await alerted(rig, tmp_path)
    gone, kept = rig.channels
    rig.delete(gone, first[gone])
    try:
        await poll(bot, config, EDITED)
        report = await bot.deliver()
        rows = {(r.channel, r.action): r for r in await bot.store.deliveries()}
    finally:
        await bot.close()
    assert (report.sent, report.failed) == (3, 1)
    failed = rows[(f"{rig.platform}:{gone}", DeliveryAction.EDIT)]
    assert failed.status is DeliveryStatus.FAILED
    assert "message_not_found" in (failed.last_error or "") or "10008" in (failed.last_error or "")
    (note,) = rig.messages(gone)  # the note alone, posted to the channel
    assert note.reply_to is None and "Revised" in note.text
    alert, note = rig.messages(kept)
    assert alert.edits == 1 and note.reply_to == alert.id


async def test_a_section_never_alerted_is_not_edited_anywhere_its_edit_posts_as_before(
    rig: Rig, tmp_path: Path
) -> None:
    config, bot, first = await alerted(rig, tmp_path)
    try:
        await poll(bot, config, ORIGINAL_EDITED)  # the original was the baseline: never alerted
        assert (await bot.deliver()).sent == len(rig.channels)
        actions = {r.action for r in await bot.store.deliveries()}
    finally:
        await bot.close()
    assert actions == {DeliveryAction.POST}
    for channel in rig.channels:
        alert, revised = rig.messages(channel)
        assert alert.id == first[channel] and alert.edits == 0
        assert "Revised" in revised.text and "revised" in revised.text and revised.reply_to is None


async def test_the_console_prints_the_corrected_alert_and_its_note(tmp_path: Path) -> None:
    config = kherson_config(tmp_path, ["console:newsroom"])
    out = StringIO()
    async with await StoryBot.create(config) as bot:
        console = ConsoleAdapter(bot.commands, console=Console(file=out, width=200, highlight=False))
        await bot.attach([console])
        await poll(bot, config, NOV9.read_text(encoding="utf-8"))
        await poll(bot, config, NOV11.read_text(encoding="utf-8"))
        await bot.deliver()
        before = out.getvalue()
        await poll(bot, config, CORRECTED)
        assert (await bot.deliver()).sent == 2
    printed = out.getvalue()[len(before) :]
    assert "#newsroom corrected console-1:" in printed
    assert "Corrected " in printed  # the corrected alert's mark, with the time
    assert "Correction: Russia: Withdrawal From Kherson Is Complete" in printed  # the note's title
    assert "Corrected Nov 12, 2022 9:00 AM CST: An earlier version" in printed  # the Correction's stamp
    assert "(revised Nov 12, 2022 9:00 AM CST; the earlier alert is corrected)" in printed  # the note


async def test_an_edit_of_an_alert_whose_post_failed_fails_alone_and_the_note_still_goes(
    tmp_path: Path,
) -> None:
    store, config = await kherson_store(tmp_path, ["rec:A"])
    try:
        await poll_file(config, store, EDITED)  # queued while the update's post is still pending
        sender = RecordingSender(failures={"A": [DeliveryError("channel_not_found", permanent=True)]})
        report = await Dispatcher(store, {"rec": sender}).deliver_pending()
        rows = [(r.action.value, r.status.value, r.last_error) for r in await store.deliveries()]
    finally:
        await store.close()
    assert (report.sent, report.failed) == (1, 2) and sender.edits == []
    assert rows == [
        ("post", "failed", "channel_not_found"),
        ("edit", "failed", "the alert it corrects was never posted here"),
        ("note", "sent", None),
    ]
    ((channel, note, reply_to),) = sender.posted
    assert (channel, note.note, reply_to) == ("A", True, None)


NOV12_UPDATE = (
    "UPDATE Nov 12, 2022 8:00 AM CST\n\n"
    "Ukrainian troops entered the center of Kherson on Saturday, and crowds gathered in the main square "
    "to greet them. Officials said demining teams would need weeks to clear the city."
)
WITH_NOV12 = NOV11.read_text(encoding="utf-8").replace(
    "UPDATE Nov 11, 2022 7:36 AM CST", NOV12_UPDATE + "\n\nUPDATE Nov 11, 2022 7:36 AM CST", 1
)
NOV12_FIXED = WITH_NOV12.replace("would need weeks", "would need at least two months")


def threaded_posts(rig: Rig, channel: str, anchor: str) -> list[Seen]:
    """The messages in the thread opened on `anchor` (Slack: replies to it; Discord: the
    thread channel, whose id is the anchor's)."""
    if rig.platform == "slack":
        return [m for m in rig.messages(channel) if m.reply_to == anchor]
    return rig.messages(anchor)


async def test_with_threads_a_later_alert_in_the_thread_is_edited_there_and_noted_there(
    rig: Rig, tmp_path: Path
) -> None:
    rig.table = {**rig.table, "threads": True}
    config, bot, first = await alerted(rig, tmp_path)
    try:
        await poll(bot, config, WITH_NOV12)
        assert (await bot.deliver()).sent == len(rig.channels)  # the Nov 12 update, in each thread
        await poll(bot, config, NOV12_FIXED)
        report = await bot.deliver()
        assert (report.sent, report.failed) == (2 * len(rig.channels), 0)
    finally:
        await bot.close()
    for channel in rig.channels:
        anchor = rig.messages(channel)[0]
        assert anchor.id == first[channel] and anchor.edits == 0  # the Nov 11 alert is not touched
        later, note = threaded_posts(rig, channel, anchor.id)
        assert later.edits == 1 and "at least two months" in rig.edit_bodies(later.id)[0]
        assert "Corrected" in later.text and "Revised" in note.text and note.edits == 0


async def test_the_alert_is_edited_wherever_it_was_posted_the_note_goes_where_routes_want_it(
    tmp_path: Path,
) -> None:
    """A channel whose route takes only updates, or excludes a word the correction holds,
    still has its alert edited (its message must read right), but gets no note."""
    config = routed(
        tmp_path,
        {"stories": ["kherson"], "channels": ["rec:all"]},
        {"stories": ["kherson"], "kinds": ["update"], "channels": ["rec:updates"]},
        {"stories": ["kherson"], "exclude": ["Dnipro"], "channels": ["rec:nodnipro"]},
    )
    store = await open_store(config.database({}))
    try:
        await sync_catalog(store, config)
        await poll_file(config, store, NOV9)
        await poll_file(config, store, NOV11)
        sender = RecordingSender()
        assert (await Dispatcher(store, {"rec": sender}).deliver_pending()).sent == 3
        await poll_file(config, store, CORRECTED)
        report = await Dispatcher(store, {"rec": sender}).deliver_pending()
    finally:
        await store.close()
    assert sorted(channel for channel, _, _ in sender.edits) == ["all", "nodnipro", "updates"]
    assert all(CORRECTION in alert.correction for _, _, alert in sender.edits)
    notes = [(channel, alert.note) for channel, alert, _ in sender.posted[3:]]
    assert notes == [("all", True)] and report.sent == 4
