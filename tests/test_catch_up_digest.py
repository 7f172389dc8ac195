"""Catch-up and digest alerts end to end: the real pipeline, store and Dispatcher, through the
fake Slack (real slack-bolt), the fake Discord (real discord.py) and the console.

A channel routed to a story mid-story gets one "the story so far" message, once, restarts
included; a digest route gets one message for three updates when its period is up. Time is
the pipeline's `now` and the Dispatcher's clock, never a sleep.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import adapters.discord as discord_platform
from adapters.console import ConsoleAdapter
from adapters.slack import build as build_slack
from bot.app import StoryBot
from bot.catalog import sync_catalog
from bot.commands import Commands
from bot.config import Config
from bot.deliver import Dispatcher, delivery_key
from bot.fetch import Fetcher, make_client
from bot.models import AlertKind
from bot.netpolicy import LOOPBACK_ONLY
from bot.pipeline import poll_story
from bot.ports import AlertSender
from bot.storage import Mute, Store, now_utc, open_store
from tests.fakes.discord import CHANNEL_IDS, FakeDiscord, embed_problems
from tests.fakes.slack import FakeSlack
from tests.helpers import LATER, NOV9, NOV11, SEED_SUMMARY_START, kherson_config, page, routed
from tests.recording import RecordingSender

pytestmark = pytest.mark.timeout(60)

D1, D2 = CHANNEL_IDS
ORIGINAL_START = "In what is widely being labeled a blow for Vladimir Putin"


async def poll(config: Config, store: Store, content: str, now: datetime) -> int:
    """Write the story's file and poll it once at `now`; returns the events it recorded."""
    config.resolve_path("kherson.txt").write_text(content, encoding="utf-8")
    story = config.story("kherson")
    assert story is not None
    async with make_client(policy=LOOPBACK_ONLY) as client:
        fetcher = Fetcher(client, base_dir=config.base_dir)
        outcome = await poll_story(story, config=config, fetcher=fetcher, store=store, now=now)
    return len(outcome.event_ids)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


async def mid_story(tmp_path: Path, channel: str) -> tuple[Store, Config]:
    """Kherson routed to `channel` from the start, polled on Nov 9 and Nov 11: that channel
    has its one live alert pending."""
    config = kherson_config(tmp_path, [channel])
    store = await open_store(config.database({}))
    assert await sync_catalog(store, config) == []  # a fresh database: nothing to catch up on
    await poll(config, store, NOV9.read_text(encoding="utf-8"), now_utc())
    assert await poll(config, store, NOV11.read_text(encoding="utf-8"), now_utc()) == 1
    return store, config


async def catch_up_then_restart(
    tmp_path: Path, first: str, added: str, sender: AlertSender
) -> tuple[int, int]:
    """Route `added` mid-story, deliver; restart (reopen, resync) and deliver again. Returns
    what the two passes sent."""
    store, config = await mid_story(tmp_path, first)
    try:
        wider = kherson_config(tmp_path, [first, added])
        assert await sync_catalog(store, wider) == [("kherson", added)]
        assert await sync_catalog(store, wider) == []  # a second sync queues nothing
        sent = (await Dispatcher(store, {sender.platform: sender}).deliver_pending()).sent
    finally:
        await store.close()
    async with await open_store(config.database({})) as store:  # a restart
        assert await sync_catalog(store, wider) == []
        again = (await Dispatcher(store, {sender.platform: sender}).deliver_pending()).sent
        kinds = [e.kind for e in await store.events()]
        assert kinds.count(AlertKind.CATCH_UP) == 1
    return sent, again


def live_and_digest(tmp_path: Path, live: str, digest: str) -> Config:
    """Kherson routed to `live` at once and to `digest` every 30 minutes."""
    return routed(tmp_path, {"stories": ["kherson"], "channels": [live]},
                  {"stories": ["kherson"], "channels": [digest], "digest": "30m"})  # fmt: skip


async def first_update(config: Config, store: Store, t0: datetime) -> None:
    """Sync, the Nov 9 baseline at `t0`, and the Nov 11 update a minute on."""
    await sync_catalog(store, config)
    await poll(config, store, NOV9.read_text(encoding="utf-8"), t0)
    assert await poll(config, store, NOV11.read_text(encoding="utf-8"), t0 + timedelta(minutes=1)) == 1


async def three_updates_for_a_digest(tmp_path: Path, live: str, digest: str, sender: AlertSender) -> None:
    """Kherson routed to `live` at once and to `digest` every 30 minutes; three updates in three
    polls. Asserts the digest channel gets nothing before its time and one message after."""
    config = live_and_digest(tmp_path, live, digest)
    t0 = now_utc()
    async with await open_store(config.database({})) as store:
        await first_update(config, store, t0)
        assert await poll(config, store, page(12), t0 + timedelta(minutes=2)) == 1
        assert await poll(config, store, page(12, 13), t0 + timedelta(minutes=3)) == 1
        clock = Clock(t0 + timedelta(minutes=5))
        dispatcher = Dispatcher(store, {sender.platform: sender}, clock=clock)
        early = await dispatcher.deliver_pending()
        assert early.sent == 3  # the live channel's three alerts; the digest waits
        assert await store.next_due_at((sender.platform,)) == t0 + timedelta(minutes=31)
        clock.at = t0 + timedelta(minutes=31)
        assert (await dispatcher.deliver_pending()).sent == 1
        clock.at = t0 + timedelta(days=1)
        assert (await dispatcher.deliver_pending()).sent == 0


@asynccontextmanager
async def started(adapter: Any) -> AsyncIterator[Any]:
    await adapter.start()
    try:
        yield adapter
    finally:
        await adapter.close()


# --- Slack -------------------------------------------------------------------------------


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


def slack_adapter(slack: FakeSlack, store: Store | None = None) -> Any:
    env = {"SLACK_BOT_TOKEN": slack.bot_token, "SLACK_APP_TOKEN": slack.app_token}
    adapter = build_slack({"api_url": slack.api_url}, Commands(store, lambda: None), env)  # type: ignore[arg-type]
    assert adapter is not None
    return adapter


def slack_text(message: Any) -> str:
    return str(message.args.get("blocks")) + (message.text or "")


async def test_slack_a_channel_routed_mid_story_gets_one_catch_up_also_after_a_restart(
    slack: FakeSlack, tmp_path: Path
) -> None:
    async with started(slack_adapter(slack)) as adapter:
        sent, again = await catch_up_then_restart(tmp_path, "slack:C1", "slack:C2", adapter)
    assert (sent, again) == (2, 0)  # C1's live alert and C2's catch-up; nothing after the restart
    (catch_up,) = slack.messages["C2"]
    text = slack_text(catch_up)
    assert "The story so far" in text and ORIGINAL_START in text and SEED_SUMMARY_START in text
    assert text.index(ORIGINAL_START) < text.index(SEED_SUMMARY_START)  # the original first
    assert len(slack.messages["C1"]) == 1 and "story so far" not in slack_text(slack.messages["C1"][0])


async def test_slack_a_digest_route_gets_one_message_for_three_updates(
    slack: FakeSlack, tmp_path: Path
) -> None:
    async with started(slack_adapter(slack)) as adapter:
        await three_updates_for_a_digest(tmp_path, "slack:C1", "slack:C2", adapter)
    assert len(slack.messages["C1"]) == 3
    (digest,) = slack.messages["C2"]
    text = slack_text(digest)
    assert digest.text.startswith("3 updates to Russia: Withdrawal From Kherson Is Complete")
    for summary in (SEED_SUMMARY_START, LATER[12], LATER[13]):
        assert summary[:60] in text
    assert text.index(SEED_SUMMARY_START) < text.index(LATER[12][:60]) < text.index(LATER[13][:60])


# --- Discord -----------------------------------------------------------------------------


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


def discord_adapter(fake: FakeDiscord) -> Any:
    table = {**fake.settings, "guild_ready_timeout": 0.05}
    adapter = discord_platform.build(table, Commands(None, lambda: None), {"DISCORD_TOKEN": fake.token})  # type: ignore[arg-type]
    assert adapter is not None
    return adapter


def embeds(fake: FakeDiscord, channel: int) -> list[dict[str, Any]]:
    return [e for m in fake.messages[channel] for e in m["embeds"]]


async def test_discord_a_channel_routed_mid_story_gets_one_catch_up_also_after_a_restart(
    discord_fake: FakeDiscord, tmp_path: Path
) -> None:
    async with started(discord_adapter(discord_fake)) as adapter:
        sent, again = await catch_up_then_restart(tmp_path, f"discord:{D1}", f"discord:{D2}", adapter)
    assert (sent, again) == (2, 0)
    (embed,) = embeds(discord_fake, D2)
    assert embed["author"]["name"].startswith("The story so far")
    assert embed["description"].index(ORIGINAL_START) < embed["description"].index(SEED_SUMMARY_START)
    assert embed_problems([embed]) == {} and len(embeds(discord_fake, D1)) == 1


async def test_discord_a_digest_route_gets_one_message_for_three_updates(
    discord_fake: FakeDiscord, tmp_path: Path
) -> None:
    async with started(discord_adapter(discord_fake)) as adapter:
        await three_updates_for_a_digest(tmp_path, f"discord:{D1}", f"discord:{D2}", adapter)
    assert len(embeds(discord_fake, D1)) == 3
    (embed,) = embeds(discord_fake, D2)
    assert embed["title"] == "3 updates to Russia: Withdrawal From Kherson Is Complete"
    description = embed["description"]
    assert description.index(SEED_SUMMARY_START[:50]) < description.index(LATER[12][:50])
    assert description.index(LATER[12][:50]) < description.index(LATER[13][:50])
    assert embed_problems([embed]) == {}


# --- the console -------------------------------------------------------------------------


def console_adapter() -> tuple[ConsoleAdapter, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, width=200, highlight=False, color_system=None)
    return ConsoleAdapter(Commands(None, lambda: None), console=console), out  # type: ignore[arg-type]


async def test_console_prints_one_catch_up_and_one_digest(tmp_path: Path) -> None:
    adapter, out = console_adapter()
    sent, again = await catch_up_then_restart(tmp_path / "a", "console:live", "console:late", adapter)
    assert (sent, again) == (2, 0)
    printed = out.getvalue()
    assert printed.count("The story so far") == 1 and printed.count("#late") == 1
    assert printed.index(ORIGINAL_START[:40]) < printed.rindex(SEED_SUMMARY_START[:40])

    adapter, out = console_adapter()
    await three_updates_for_a_digest(tmp_path / "b", "console:live", "console:digest", adapter)
    printed = out.getvalue()
    assert printed.count("3 updates to Russia") == 1 and printed.count("#digest") == 1


# --- exactly once, through a crash -------------------------------------------------------


async def test_a_digest_cut_short_by_a_crash_is_found_not_resent_and_later_updates_wait(
    tmp_path: Path,
) -> None:
    config = routed(tmp_path, {"stories": ["kherson"], "channels": ["rec:D"], "digest": "30m"})
    t0, minute = now_utc(), timedelta(minutes=1)
    sender = RecordingSender()
    async with await open_store(config.database({})) as store:
        await sync_catalog(store, config)
        await poll(config, store, NOV9.read_text(encoding="utf-8"), t0)
        await poll(config, store, NOV11.read_text(encoding="utf-8"), t0 + minute)
        await poll(config, store, page(12), t0 + 2 * minute)
        # a process claims the due digest, posts it and is killed before recording the send
        (due,) = await store.due_deliveries(t0 + 31 * minute, platforms=("rec",))
        assert await store.claim(due.id, t0 + 31 * minute)
        alert = await store.alert(due.event_id)
        await sender.send_alert("D", alert, None, key=delivery_key(due, alert))
        # meanwhile an update arrives: the claimed digest is closed, so it opens the next one
        await poll(config, store, page(12, 13), t0 + 32 * minute)
    async with await open_store(config.database({})) as store:  # the restart
        clock = Clock(t0 + 33 * minute)
        dispatcher = Dispatcher(store, {"rec": sender}, clock=clock)
        report = await dispatcher.deliver_pending()
        assert (report.sent, report.found) == (1, 1)  # found on the platform by its key, not resent
        clock.at = t0 + 63 * minute
        assert (await dispatcher.deliver_pending()).sent == 1
        assert (await dispatcher.deliver_pending()).sent == 0
    first, second = (a for _, a, _ in sender.posted)
    assert [len(first.updates), len(second.updates)] == [2, 1]
    assert second.updates[0].summary.startswith(LATER[13][:40])  # nothing lost, nothing twice


async def test_a_wildcard_route_follows_from_now_on_without_catching_up_every_story(tmp_path: Path) -> None:
    store, config = await mid_story(tmp_path, "rec:A")
    try:
        everything = routed(
            tmp_path,
            {"stories": ["kherson"], "channels": ["rec:A"]},
            {"stories": ["*"], "channels": ["rec:all"]},
            {"keywords": ["kherson"], "channels": ["rec:kw"]},
        )
        assert await sync_catalog(store, everything) == []
        named = routed(tmp_path, {"stories": ["*"], "channels": ["rec:all"]},
                       {"stories": ["kherson"], "channels": ["rec:A", "rec:all", "rec:new"]})  # fmt: skip
        assert await sync_catalog(store, named) == [("kherson", "rec:new")]  # rec:all was routed already
    finally:
        await store.close()


async def test_a_route_that_takes_no_updates_gets_no_catch_up_of_them(tmp_path: Path) -> None:
    """A catch-up is the story's updates so far: a channel newly routed for its corrections or
    headline changes only gets none (its route's `kinds` say so), one routed for updates does."""
    store, _ = await mid_story(tmp_path, "rec:A")
    try:
        wider = routed(tmp_path, {"stories": ["kherson"], "channels": ["rec:A"]},
                       {"stories": ["kherson"], "channels": ["rec:fixes"], "kinds": ["correction", "edit"]},
                       {"stories": ["kherson"], "channels": ["rec:titles"], "kinds": ["headline"]},
                       {"stories": ["kherson"], "channels": ["rec:news"], "kinds": ["update"]})  # fmt: skip
        assert await sync_catalog(store, wider) == [("kherson", "rec:news")]
        queued = {d.channel for d in await store.deliveries()}
        assert not queued & {"rec:fixes", "rec:titles"}
    finally:
        await store.close()


async def test_a_channel_that_mutes_a_story_gets_none_of_the_updates_its_open_digest_holds(
    tmp_path: Path,
) -> None:
    """A mute says the channel gets none of the story's alerts until it ends: the updates a
    digest was already holding for that channel go with it (and anything queued there and never
    tried); the channel routed at once, which did not mute, is unaffected. After the mute, a new
    update opens a new digest as before."""

    sender = RecordingSender()
    config = live_and_digest(tmp_path, "rec:live", "rec:digest")
    t0 = now_utc()
    async with await open_store(config.database({})) as store:
        await first_update(config, store, t0)
        assert await poll(config, store, page(12), t0 + timedelta(minutes=2)) == 1
        await store.set_mute(Mute("kherson", "rec:digest", until=t0 + timedelta(hours=2), added_by="rec:U1"))
        clock = Clock(t0 + timedelta(minutes=31))
        report = await Dispatcher(store, {sender.platform: sender}, clock=clock).deliver_pending()
        assert sorted(channel for channel, _, _ in sender.posted) == ["live", "live"]
        assert report.sent == 2 and report.failed == 0
        await store.remove_mute("kherson", "rec:digest")
        assert await poll(config, store, page(12, 13), t0 + timedelta(hours=3)) == 1
        clock.at = t0 + timedelta(hours=4)
        await Dispatcher(store, {sender.platform: sender}, clock=clock).deliver_pending()
        digests = [alert for channel, alert, _ in sender.posted if channel == "digest"]
        assert [a.kind for a in digests] == [AlertKind.DIGEST]
        assert len(digests[0].updates) == 1  # the one update after the mute, not the three


async def test_a_catch_up_lists_only_the_updates_the_channels_routes_would_have_sent(
    tmp_path: Path,
) -> None:
    """A route added mid-story with `exclude` (or `kinds`) catches its channel up on the updates
    it would have been sent, the original always; the running app reads the routes it runs on."""
    first = {"stories": ["kherson"], "channels": ["rec:first"]}
    config = routed(tmp_path, first)
    async with await StoryBot.create(config) as bot:
        sender = RecordingSender()
        await bot.attach([sender])
        config.resolve_path("kherson.txt").write_text(NOV9.read_text(encoding="utf-8"), encoding="utf-8")
        await bot.poll("kherson")
        corrected = page(12, 13).replace(
            "which it illegally annexed in September.",
            "which it illegally annexed in September.\n\nCorrection, Nov 12, 2022 9:00 AM CST: "
            "An earlier version of this update misstated the river's name.",
        )
        config.resolve_path("kherson.txt").write_text(corrected, encoding="utf-8")
        await bot.poll("kherson")
        assert (await bot.deliver()).sent == 4
        excluding = {"stories": ["kherson"], "exclude": ["mines"], "channels": ["rec:nomines"]}
        updates = {"stories": ["kherson"], "kinds": ["update"], "channels": ["rec:quiet"]}
        await bot.apply_config(routed(tmp_path, first, excluding, updates))
        assert (await bot.deliver()).sent == 2
    catch_ups = {channel: alert for channel, alert, _ in sender.posted[4:]}
    assert {channel: alert.kind for channel, alert in catch_ups.items()} == {
        "nomines": AlertKind.CATCH_UP,
        "quiet": AlertKind.CATCH_UP,
    }
    listed = [entry.summary for entry in catch_ups["nomines"].timeline]
    assert listed[0].startswith(ORIGINAL_START) and any(LATER[12] in s for s in listed)
    assert not any("mines" in s for s in listed)
    assert [e.label for e in catch_ups["nomines"].timeline] == ["Original", "Update", "Correction", "Update"]
    assert [e.label for e in catch_ups["quiet"].timeline] == ["Original", "Update", "Update", "Update"]


async def test_the_end_of_a_mute_is_the_end_of_silence_not_a_catch_up(tmp_path: Path) -> None:
    """A channel routed all along, muted for an hour while an update came: when the mute is
    over, the next sync queues no catch-up, and the next update is alerted there."""
    config = kherson_config(tmp_path, ["rec:A"])
    async with await StoryBot.create(config) as bot:
        sender = RecordingSender()
        await bot.attach([sender])
        path = config.resolve_path("kherson.txt")
        path.write_text(NOV9.read_text(encoding="utf-8"), encoding="utf-8")
        await bot.poll("kherson")
        await bot.store.set_mute(Mute("kherson", "rec:A", until=now_utc() + timedelta(hours=1)))
        assert await bot.refresh_held()
        path.write_text(NOV11.read_text(encoding="utf-8"), encoding="utf-8")
        await bot.poll("kherson")  # the update during the mute: not for rec:A
        assert (await bot.deliver()).sent == 0
        # the hour is over: the held mute now reads as ended, as it would an hour on
        await bot.store.set_mute(Mute("kherson", "rec:A", until=now_utc() - timedelta(seconds=1)))
        assert await bot.refresh_held()  # the next sync
        assert (await bot.deliver()).sent == 0
        assert AlertKind.CATCH_UP not in [e.kind for e in await bot.store.events()]
        path.write_text(page(12), encoding="utf-8")
        await bot.poll("kherson")
        assert (await bot.deliver()).sent == 1
    ((channel, alert, _),) = sender.posted
    assert (channel, alert.kind, alert.summary) == ("A", AlertKind.NEW_UPDATE, LATER[12])
