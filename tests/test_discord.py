"""The Discord adapter end to end: the real discord.py client against the fake Discord on
127.0.0.1 (REST and gateway), the real store and dispatcher, the Kherson seed story."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import adapters.discord as discord_platform
from adapters.discord.cli import _sync, client_id_from_token, invite_url
from adapters.discord.client import DiscordAdapter, DiscordStartError
from adapters.discord.settings import settings_from
from bot.catalog import sync_catalog
from bot.commands import Commands
from bot.config import Config, ConfigError, parse_config
from bot.deliver import Dispatcher
from bot.models import Alert, AlertKind
from bot.ports import DeliveryError
from bot.storage import Store, now_utc
from bot.storage import open_store as open_store_at
from tests.fakes.discord import CHANNEL_IDS, GUILD_ID, FakeDiscord, embed_problems
from tests.helpers import NOV9, NOV11, SEED_SUMMARY_START, kherson_config, kherson_store

C1, C2 = CHANNEL_IDS
MENTION = re.compile(r"@(everyone|here)|<@[!&]?\d+>")
EPHEMERAL = 1 << 6
LATER_ALERT = Alert(
    event_id=99,
    story_id="kherson",
    story_title="Russia: Withdrawal From Kherson Is Complete",
    story_url=None,
    kind=AlertKind.NEW_UPDATE,
    headline="UPDATE Nov 12, 2022",
    summary="Ukrainian troops enter Kherson.",
    timestamp=None,
    seen_at=datetime(2022, 11, 12, 12, 0, tzinfo=UTC),
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


async def open_store(tmp_path: Path, channels: list[int | str], lead: str = "") -> tuple[Store, Config]:
    return await kherson_store(tmp_path, [f"discord:{c}" for c in channels], lead=lead)


@pytest.fixture
async def kherson(tmp_path: Path) -> AsyncIterator[tuple[Store, Config]]:
    store, config = await open_store(tmp_path, [C1, C2])
    yield store, config
    await store.close()


def table(fake: FakeDiscord, **extra: Any) -> dict[str, Any]:
    return {**fake.settings, "guild_ready_timeout": 0.05, **extra}


async def started(fake: FakeDiscord, store: Store, config: Config, **extra: Any) -> DiscordAdapter:
    adapter = discord_platform.build(
        table(fake, **extra), Commands(store, lambda: config), {"DISCORD_TOKEN": fake.token}
    )
    assert adapter is not None
    await adapter.start()
    return adapter


@pytest.fixture
async def bot(fake: FakeDiscord, kherson: tuple[Store, Config]) -> AsyncIterator[DiscordAdapter]:
    adapter = await started(fake, *kherson)
    yield adapter
    await adapter.close()


def seed_posts(fake: FakeDiscord, channel: int) -> list[dict[str, Any]]:
    """Messages in `channel` carrying the Nov 11 update."""
    return [
        m
        for m in fake.messages[channel]
        if any(e["description"].startswith(SEED_SUMMARY_START) for e in m["embeds"])
    ]


def no_duplicates(fake: FakeDiscord) -> bool:
    posted = [(c, json.dumps(m["embeds"], sort_keys=True)) for c, ms in fake.messages.items() for m in ms]
    return len(posted) == len(set(posted))


def embed_of(callback: dict[str, Any]) -> dict[str, Any]:
    embeds = callback["data"]["embeds"]
    assert len(embeds) == 1
    return embeds[0]


# --- /story ----------------------------------------------------------------------------


async def test_story_kherson_answers_with_the_nov_11_update(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    callback = await fake.slash("kherson")
    assert callback["type"] == 4  # CHANNEL_MESSAGE_WITH_SOURCE
    embed = embed_of(callback)
    assert SEED_SUMMARY_START in embed["description"]
    assert embed["title"] == "Russia: Withdrawal From Kherson Is Complete"
    assert re.search(r"<t:\d+:f>", embed["description"])
    assert callback["data"]["flags"] & EPHEMERAL  # only the asker sees it by default
    assert callback["data"]["allowed_mentions"] == {"parse": []}
    assert any(f["name"] == "Original" for f in embed["fields"])


async def test_public_option_posts_the_answer_for_everyone(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    callback = await fake.slash("kherson", public=True)
    assert not callback["data"].get("flags", 0) & EPHEMERAL
    assert SEED_SUMMARY_START in embed_of(callback)["description"]


async def test_timeline_list_and_help_answer(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    timeline = embed_of(await fake.slash("kherson", timeline=True))
    assert [f["name"] for f in timeline["fields"]] == ["Update", "Original"]
    assert embed_of(await fake.slash("timeline kherson"))["fields"] == timeline["fields"]
    listing = embed_of(await fake.slash("list"))
    assert "(`kherson`)" in listing["description"]
    assert "/story" in embed_of(await fake.slash("help"))["description"]


async def test_autocomplete_offers_kherson_for_khe(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    callback = await fake.autocomplete("khe")
    assert callback["type"] == 8  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
    assert callback["data"]["choices"][0] == {
        "name": "Russia: Withdrawal From Kherson Is Complete",
        "value": "kherson",
    }
    timeline = await fake.autocomplete("timeline khe")
    assert timeline["data"]["choices"][0]["value"] == "timeline kherson"
    verbs = await fake.autocomplete("li")
    assert {"name": "List the tracked stories", "value": "list"} in verbs["data"]["choices"]
    subscriptions = await fake.autocomplete("subs")
    assert {"name": "What this channel gets alerts of", "value": "subscriptions"} in subscriptions["data"][
        "choices"
    ]


async def test_story_is_synced_to_the_configured_guild_at_start(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    (story,) = fake.commands[GUILD_ID]
    assert story["name"] == "story"
    options = {o["name"]: o for o in story["options"]}
    assert options["query"]["autocomplete"] is True and options["query"]["required"] is True
    assert options["query"]["max_length"] == 2100  # room for `track <url> as <name>`
    assert set(options) == {"query", "timeline", "public"}
    assert None not in fake.commands  # nothing global when guilds are listed


@pytest.mark.parametrize(
    "query",
    [
        "x" * 6000,
        "@everyone",
        "<@123>",
        "@here <@&42> kherson",
        "@everyone " * 600,
        "[x](https://evil) <@!1>",
    ],
)
async def test_hostile_queries_get_a_reply_that_pings_nobody(
    fake: FakeDiscord, bot: DiscordAdapter, query: str
) -> None:
    callback = await fake.slash(query)
    data = callback["data"]
    assert data["allowed_mentions"] == {"parse": []}
    assert not data.get("content")
    assert not MENTION.search(json.dumps(data, ensure_ascii=False))
    assert embed_problems(data["embeds"]) == {}


async def test_slow_answers_are_deferred_then_followed_up(
    fake: FakeDiscord, kherson: tuple[Store, Config]
) -> None:
    store, config = kherson
    settings = settings_from(table(fake))
    adapter = DiscordAdapter(Commands(store, lambda: config), settings, fake.token, defer_after=0)
    await adapter.start()
    try:
        callback = await fake.slash("kherson")
        assert callback["type"] == 5  # DEFERRED: "storybot is thinking..."
        assert callback["data"]["flags"] & EPHEMERAL
        for _ in range(200):
            if fake.followups:
                break
            await asyncio.sleep(0.01)
        (followup,) = fake.followups
        assert SEED_SUMMARY_START in followup["data"]["embeds"][0]["description"]
        assert followup["data"]["allowed_mentions"] == {"parse": []}
        assert followup["data"]["flags"] & EPHEMERAL
    finally:
        await adapter.close()


# --- gateway -------------------------------------------------------------------------------


async def test_dropped_gateway_resumes_and_still_answers(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    await fake.drop_connection(code=4000)
    # sent while the bot is away: Discord replays it on RESUME
    pending = await fake.send_interaction(
        fake.interaction([{"name": "query", "type": 3, "value": "kherson"}])
    )
    await fake.wait_connected()
    replayed = await pending.callback
    assert SEED_SUMMARY_START in embed_of(replayed)["description"]
    assert SEED_SUMMARY_START in embed_of(await fake.slash("kherson"))["description"]
    assert (fake.identifies, fake.resumes) == (1, 1)


async def test_reconnect_request_resumes(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    await fake.send_reconnect()
    await fake.wait_connected()
    assert SEED_SUMMARY_START in embed_of(await fake.slash("kherson"))["description"]
    assert fake.resumes == 1


async def test_heartbeats_are_acknowledged_and_keep_the_session(
    kherson: tuple[Store, Config],
) -> None:
    async with FakeDiscord(heartbeat_interval_ms=20) as fake:
        adapter = await started(fake, *kherson)
        try:
            for _ in range(300):  # the client beats on its own timer: give it a few intervals
                if fake.heartbeats >= 4:
                    break
                await asyncio.sleep(0.01)
            assert fake.heartbeats >= 4
            assert (fake.identifies, fake.resumes) == (1, 0)  # acked: no zombie-connection reconnects
            assert SEED_SUMMARY_START in embed_of(await fake.slash("kherson"))["description"]
        finally:
            await adapter.close()


async def test_invalid_token_is_a_clear_error(fake: FakeDiscord, kherson: tuple[Store, Config]) -> None:
    store, config = kherson
    adapter = discord_platform.build(
        table(fake), Commands(store, lambda: config), {"DISCORD_TOKEN": "wrong-token"}
    )
    assert adapter is not None
    with pytest.raises(DiscordStartError, match="Discord rejected the token in DISCORD_TOKEN") as caught:
        await adapter.start()
    assert "wrong-token" not in str(caught.value)
    assert fake.identifies == 0
    await adapter.close()  # safe after a failed start


async def test_gateway_closing_with_4004_is_a_clear_error(
    fake: FakeDiscord, kherson: tuple[Store, Config]
) -> None:
    store, config = kherson
    fake.gateway_token = "revoked-meanwhile"  # REST accepts the token, the gateway does not
    with pytest.raises(DiscordStartError, match="rejected the token in DISCORD_TOKEN"):
        await started(fake, store, config)


# --- alerts ---------------------------------------------------------------------------


async def test_seed_update_reaches_every_routed_channel_exactly_once(
    fake: FakeDiscord, kherson: tuple[Store, Config], bot: DiscordAdapter
) -> None:
    store, _ = kherson
    dispatcher = Dispatcher(store, {"discord": bot})
    report = await dispatcher.deliver_pending()
    assert (report.failed, report.retrying) == (0, 0)
    assert report.sent == len(fake.messages[C1]) + len(fake.messages[C2])
    again = await dispatcher.deliver_pending()
    assert again.sent == 0
    for channel in (C1, C2):
        (message,) = seed_posts(fake, channel)
        (embed,) = message["embeds"]
        assert embed["author"]["name"] == "New update"
        assert embed["title"] == "Russia: Withdrawal From Kherson Is Complete"
        assert message["allowed_mentions"] == {"parse": []}
        assert not message["content"]
    assert no_duplicates(fake)


async def test_alert_escapes_story_markdown_shows_one_timeline_line_and_a_timeline_button(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    marked = "*bold* _italic_ ~~struck~~ `code` @everyone"
    store, config = await open_store(tmp_path, [C1], lead=marked)
    async with store:
        adapter = await started(fake, store, config)
        try:
            report = await Dispatcher(store, {"discord": adapter}).deliver_pending()
        finally:
            await adapter.close()
    assert report.sent == 1
    [message] = fake.messages[C1]
    [embed] = message["embeds"]
    description = embed["description"]
    assert description.startswith("\\*bold\\* \\_italic\\_ \\~\\~struck\\~\\~ \\`code\\` @\u200beveryone")
    assert message["allowed_mentions"] == {"parse": []}
    assert description.endswith(" · 1st update since Nov 9")
    assert not embed.get("fields")  # no timeline lines: the update is not repeated
    [row] = message["components"]
    [button] = row["components"]
    assert (button["custom_id"], button["label"]) == ("storybot:timeline:kherson", "Full timeline")


async def test_the_timeline_button_answers_the_clicker_alone_with_the_full_timeline(
    fake: FakeDiscord, kherson: tuple[Store, Config], bot: DiscordAdapter
) -> None:
    await Dispatcher(kherson[0], {"discord": bot}).deliver_pending()
    [alert] = seed_posts(fake, C1)
    callback = await fake.click(alert, "storybot:timeline:kherson")
    assert callback["type"] == 4 and callback["data"]["flags"] & EPHEMERAL
    assert callback["data"]["allowed_mentions"] == {"parse": []}
    embed = embed_of(callback)
    assert [f["name"] for f in embed["fields"]] == ["Update", "Original"]
    assert embed_of(await fake.slash("timeline kherson"))["fields"] == embed["fields"]  # the same answer


async def test_the_timeline_button_works_after_a_restart(
    fake: FakeDiscord, kherson: tuple[Store, Config]
) -> None:
    first = await started(fake, *kherson)
    await Dispatcher(kherson[0], {"discord": first}).deliver_pending()
    await first.close()
    [alert] = seed_posts(fake, C1)
    second = await started(fake, *kherson)  # a new process knows nothing of the message
    try:
        callback = await fake.click(alert, "storybot:timeline:kherson")
    finally:
        await second.close()
    assert SEED_SUMMARY_START in embed_of(callback)["fields"][0]["value"]


async def test_a_long_list_says_how_many_more_it_left_out(fake: FakeDiscord, tmp_path: Path) -> None:
    stories = [
        {"id": f"story-{n:03}", "url": f"https://news.example/{n}", "title": f"A story *{n}*"}
        for n in range(300)
    ]
    config = parse_config(
        {"storybot": {"database": str(tmp_path / "s.db")}, "stories": stories}, "test", tmp_path
    )
    async with await open_store_at(config.database({})) as store:
        await sync_catalog(store, config)
        adapter = await started(fake, store, config)
        try:
            listing = embed_of(await fake.slash("list"))
        finally:
            await adapter.close()
    lines = listing["description"].split("\n")
    shown = [line for line in lines if line.startswith("**A story")]
    assert 0 < len(shown) < 300 and lines[-1] == f"\N{HORIZONTAL ELLIPSIS} and {300 - len(shown)} more"
    assert "\\*1\\*" in listing["description"]  # markdown in titles escaped


async def test_a_429_burst_drops_nothing_and_duplicates_nothing(
    fake: FakeDiscord, kherson: tuple[Store, Config], bot: DiscordAdapter
) -> None:
    store, _ = kherson
    fake.rate_limit(3, retry_after=0.05)
    report = await Dispatcher(store, {"discord": bot}).deliver_pending()
    assert (report.failed, report.retrying) == (0, 0)
    assert fake.rate_limited == 3
    assert [len(seed_posts(fake, c)) for c in (C1, C2)] == [1, 1]
    assert no_duplicates(fake)


async def test_global_rate_limit_is_waited_out(
    fake: FakeDiscord, kherson: tuple[Store, Config], bot: DiscordAdapter
) -> None:
    store, _ = kherson
    fake.rate_limit(1, retry_after=0.05, is_global=True)
    report = await Dispatcher(store, {"discord": bot}).deliver_pending()
    assert (report.failed, report.retrying) == (0, 0) and fake.rate_limited == 1
    assert [len(seed_posts(fake, c)) for c in (C1, C2)] == [1, 1]
    assert no_duplicates(fake)


async def test_429s_beyond_discord_py_retries_are_retried_later_not_lost(
    fake: FakeDiscord, kherson: tuple[Store, Config], bot: DiscordAdapter
) -> None:
    store, _ = kherson
    now = now_utc()
    clock = [now]
    # max_inline_wait=0: the pass does not wait out even a short Retry-After (as for a long one)
    dispatcher = Dispatcher(store, {"discord": bot}, clock=lambda: clock[0], max_inline_wait=0)
    fake.rate_limit(5, retry_after=0.01, channel=C1)  # discord.py tries 5 times, then gives up
    first = await dispatcher.deliver_pending()
    assert (first.retrying, first.failed) == (1, 0)
    assert fake.messages[C1] == [] and len(seed_posts(fake, C2)) == 1
    clock[0] = now + timedelta(seconds=2)  # past the Retry-After Discord sent
    second = await dispatcher.deliver_pending()
    assert (second.retrying, second.failed) == (0, 0)
    assert [len(seed_posts(fake, c)) for c in (C1, C2)] == [1, 1]
    assert no_duplicates(fake)


async def test_missing_channel_or_permission_fails_that_delivery_only(
    fake: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gone, locked = 1_300_000_000_000_000_999, C2
    fake.deny(locked)
    store, config = await open_store(tmp_path, [C1, gone, locked])
    adapter = await started(fake, store, config)
    try:
        with caplog.at_level(logging.WARNING):
            report = await Dispatcher(store, {"discord": adapter}).deliver_pending()
        assert (report.retrying, report.sent) == (0, len(fake.messages[C1]))
        assert report.failed == report.sent * 2  # every alert to the two bad channels
        assert len(seed_posts(fake, C1)) == 1 and not fake.messages[gone] and not fake.messages[locked]
        logged = caplog.text
        assert f"channel {gone}" in logged and "Unknown Channel" in logged
        assert f"channel {locked}" in logged and "Missing Access" in logged
    finally:
        await adapter.close()
        await store.close()


async def test_server_errors_are_transient(
    fake: FakeDiscord, kherson: tuple[Store, Config], bot: DiscordAdapter
) -> None:
    store, _ = kherson
    fake.fail(1, status=503)
    report = await Dispatcher(store, {"discord": bot}).deliver_pending()
    assert (report.retrying, report.failed) == (1, 0)
    assert len(seed_posts(fake, C1) + seed_posts(fake, C2)) == 1


async def test_later_updates_go_to_the_thread_opened_on_the_first_alert(
    fake: FakeDiscord, kherson: tuple[Store, Config]
) -> None:
    store, config = kherson
    adapter = await started(fake, store, config, threads=True)
    try:
        report = await Dispatcher(store, {"discord": adapter}).deliver_pending()
        assert (report.failed, report.retrying) == (0, 0)
        first = fake.messages[C1][0]
        thread = fake.threads[int(first["id"])]  # a thread started from a message has its id
        assert thread["parent_id"] == str(C1)
        assert thread["name"] == "Russia: Withdrawal From Kherson Is Complete"
        assert await store.thread_for("kherson", f"discord:{C1}") == first["id"]
        in_channel = len(fake.messages[C1])  # the first alert, and any later ones in its thread
        assert in_channel == 1 and len(fake.messages[int(first["id"])]) == report.sent // 2 - 1
        posted = await adapter.send_alert(str(C1), LATER_ALERT, first["id"])
        assert posted.thread_id == first["id"]
        assert fake.messages[int(first["id"])][-1]["id"] == posted.message_id  # in the thread
        assert len(fake.messages[C1]) == in_channel  # not in the channel again
    finally:
        await adapter.close()


async def test_a_vanished_thread_falls_back_to_the_channel(
    fake: FakeDiscord, kherson: tuple[Store, Config]
) -> None:
    store, config = kherson
    adapter = await started(fake, store, config, threads=True)
    try:
        posted = await adapter.send_alert(str(C1), LATER_ALERT, "1300000000000000777")
        assert len(fake.messages[C1]) == 1
        assert posted.thread_id == posted.message_id  # a new thread on the new message
    finally:
        await adapter.close()


# --- config and CLI -------------------------------------------------------------------


async def test_a_front_identifies_as_its_shard(fake: FakeDiscord, kherson: tuple[Store, Config]) -> None:
    adapter = await started(fake, *kherson, shard_id=1, shard_count=2)
    try:
        assert fake.shards == [[1, 2]]
    finally:
        await adapter.close()


@pytest.mark.parametrize(
    ("shards", "problem"),
    [({"shard_id": 1}, "go together"), ({"shard_id": 2, "shard_count": 2}, "below shard_count")],
)
def test_shard_settings_are_checked(shards: dict[str, int], problem: str) -> None:
    assert any(problem in p for p in discord_platform.validate(shards))


def test_validate_names_each_bad_key() -> None:
    problems = discord_platform.validate({"guilds": ["abc"], "tokn_env": "X", "threads": "maybe"})
    assert any(p.startswith("discord.guilds[0]:") for p in problems)
    assert "discord.tokn_env: unknown key" in problems
    assert any(p.startswith("discord.threads:") for p in problems)
    assert discord_platform.validate({"guilds": [GUILD_ID], "ephemeral": False}) == []


def test_build_skips_discord_without_a_token_and_rejects_a_bad_table() -> None:
    assert discord_platform.build({}, None, {}) is None  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        discord_platform.build({"threads": "maybe"}, None, {"DISCORD_TOKEN": "t"})  # type: ignore[arg-type]


def test_invite_url_asks_for_the_minimal_permissions() -> None:
    view, send, embed, history = 1 << 10, 1 << 11, 1 << 14, 1 << 16
    create_threads, send_in_threads = 1 << 35, 1 << 38
    url = invite_url(1234, threads=False)
    assert url == (
        "https://discord.com/oauth2/authorize?client_id=1234&scope=bot+applications.commands"
        f"&permissions={view | send | embed | history}"
    )
    threaded = invite_url(1234, threads=True)
    assert threaded.endswith(
        f"permissions={view | send | embed | history | create_threads | send_in_threads}"
    )


def test_client_id_comes_from_the_token() -> None:
    assert client_id_from_token("MTEwMDAwMDAwMDAwMDAwMDAwMQ.GaBcDe.xyz") == 1100000000000000001
    assert client_id_from_token("not a token") is None


async def test_sync_command_registers_story_in_the_guild(fake: FakeDiscord) -> None:
    lines = await _sync(settings_from(table(fake)), fake.token, (GUILD_ID,))
    assert lines == [f"guild {GUILD_ID}: /story"]
    assert [c["name"] for c in fake.commands[GUILD_ID]] == ["story"]
    assert await _sync(settings_from(table(fake)), fake.token, ()) == ["globally: /story"]
    with pytest.raises(DiscordStartError, match="rejected the token"):
        await _sync(settings_from(table(fake)), "nope", ())


async def test_the_fake_answers_in_discords_own_shapes() -> None:
    """The details discord.py depends on: exact content type, 401 for a bad token, global 429s
    with `Via` and `retry_after` (interaction callbacks exempt)."""
    async with FakeDiscord(global_limit=2) as fake, aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bot {fake.token}"}
        async with http.get(f"{fake.api_base}/users/@me", headers=auth) as ok:
            assert ok.status == 200 and ok.headers["Content-Type"] == "application/json"
        async with http.get(f"{fake.api_base}/users/@me", headers={"Authorization": "Bot nope"}) as bad:
            assert bad.status == 401
        async with http.get(f"{fake.api_base}/gateway/bot", headers=auth) as second:
            assert second.status == 200 and (await second.json())["url"] == fake.gateway_url
        async with http.get(f"{fake.api_base}/gateway/bot", headers=auth) as limited:
            assert limited.status == 429
            assert limited.headers["X-RateLimit-Global"] == "true" and limited.headers["Via"]
            body = await limited.json()
            assert body["global"] is True and 0 < body["retry_after"] <= 1


def test_fake_runs_standalone_and_prints_its_urls() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.discord", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert proc.stdout is not None
        rest, gateway = proc.stdout.readline(), proc.stdout.readline()
        assert re.match(r"REST base:\s+http://127\.0\.0\.1:\d+/api/v10$", rest.strip())
        assert re.match(r"Gateway URL:\s+ws://127\.0\.0\.1:\d+/gateway$", gateway.strip())
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


# --- the whole bot ----------------------------------------------------------------------


async def test_storybot_with_discord_delivers_the_alert_and_answers(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    """What `storybot run` does, pointed at the fake: Discord built from config and env,
    the seed story polled twice, the update delivered, /story answered."""
    from adapters.registry import build_platforms
    from bot.app import StoryBot

    config = kherson_config(tmp_path, [f"discord:{C1}"], discord=table(fake))
    async with await StoryBot.create(config) as app:
        platforms = build_platforms(config, app.commands, {"DISCORD_TOKEN": fake.token})
        assert [p.platform for p in platforms] == ["discord"]
        await app.attach(platforms)
        for snapshot in (NOV9, NOV11):
            (tmp_path / "kherson.txt").write_text(snapshot.read_text(encoding="utf-8"), encoding="utf-8")
            await app.poll("kherson")
        report = await app.deliver()
        assert report.failed == 0 and len(seed_posts(fake, C1)) == 1
        assert SEED_SUMMARY_START in embed_of(await fake.slash("kherson"))["description"]


# --- the delivery key: nonce on each alert, footer read back from the channel -----------------


async def test_a_repeat_send_within_the_nonce_window_returns_the_first_message(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    first = await bot.send_alert(str(C1), LATER_ALERT, None, key="sb7-0123456789abcdef")
    again = await bot.send_alert(str(C1), LATER_ALERT, None, key="sb7-0123456789abcdef")
    assert again == first and len(fake.messages[C1]) == 1 and fake.nonce_repeats == 1
    (message,) = fake.messages[C1]
    assert message["embeds"][0]["footer"]["text"].endswith(" · ref sb7-0123456789abcdef")
    other = await bot.send_alert(str(C1), LATER_ALERT, None, key="sb8-0123456789abcdef")
    assert other.message_id != first.message_id and len(fake.messages[C1]) == 2


async def test_each_post_asks_discord_to_enforce_its_nonce(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    bodies: list[dict[str, Any]] = []
    original = fake._earlier_with_nonce

    def spy(channel_id: int, body: dict[str, Any]) -> dict[str, Any] | None:
        bodies.append(body)
        return original(channel_id, body)

    fake._earlier_with_nonce = spy  # type: ignore[method-assign]
    await bot.send_alert(str(C1), LATER_ALERT, None, key="sb7-0123456789abcdef")
    assert bodies[0]["nonce"] == "sb7-0123456789abcdef" and bodies[0]["enforce_nonce"] is True


async def test_after_the_nonce_window_the_channel_is_read_for_the_key(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    fake.nonce_window = 0
    fake.message_bucket = (500, 1.0)
    since = datetime.now(UTC) - timedelta(minutes=10)
    posted = await bot.send_alert(str(C1), LATER_ALERT, None, key="sb7-0123456789abcdef")
    for _ in range(150):  # others' chatter after it: the find pages forward past 100
        fake.messages[C1].append({**fake.messages[C1][0], "id": str(fake._ids()), "embeds": []})
    assert await bot.find_sent(str(C1), "sb7-0123456789abcdef", None, since) == posted
    assert await bot.find_sent(str(C1), "sb8-0123456789abcdef", None, since) is None
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert await bot.find_sent(str(C1), "sb7-0123456789abcdef", None, later) is None


async def test_without_read_message_history_a_lookup_fails_for_good(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    fake.deny_history(C1)
    with pytest.raises(DeliveryError) as failure:
        await bot.find_sent(str(C1), "sb7-0123456789abcdef", None, datetime.now(UTC))
    assert failure.value.permanent and "Read Message History" in failure.value.reason


async def test_a_threaded_alert_is_found_in_its_thread(
    fake: FakeDiscord, kherson: tuple[Store, Config]
) -> None:
    store, config = kherson
    adapter = await started(fake, store, config, threads=True)
    try:
        since = datetime.now(UTC) - timedelta(minutes=10)
        first = await adapter.send_alert(str(C1), LATER_ALERT, None, key="sb1-0123456789abcdef")
        second = await adapter.send_alert(str(C1), LATER_ALERT, first.thread_id, key="sb2-0123456789abcdef")
        assert await adapter.find_sent(str(C1), "sb2-0123456789abcdef", first.thread_id, since) == second
        assert await adapter.find_sent(str(C1), "sb1-0123456789abcdef", None, since) == first
    finally:
        await adapter.close()


async def test_a_pause_notice_goes_to_the_channel_keyed_and_opens_no_thread(
    fake: FakeDiscord, kherson: tuple[Store, Config]
) -> None:
    from bot.models import Notice

    notice = Notice(
        9, "kherson", "Kherson", AlertKind.STORY_PAUSED, "Paused after 10 failed polls in a row",
        "HTTP 500 from news.example", datetime.now(UTC),
    )  # fmt: skip
    adapter = await started(fake, *kherson, threads=True)
    try:
        since = datetime.now(UTC) - timedelta(minutes=10)
        posted = await adapter.send_alert(str(C1), notice, "1300000000000000777", key="sb9-0123456789abcdef")
        assert posted.thread_id is None  # a notice stands alone, threads on or off
        (message,) = fake.messages[C1]
        (embed,) = message["embeds"]
        assert embed["author"]["name"] == "Story paused" and "/story resume kherson" in embed["description"]
        found = await adapter.find_sent(str(C1), "sb9-0123456789abcdef", None, since)
        assert found is not None and found.message_id == posted.message_id  # looked up by its key
    finally:
        await adapter.close()
