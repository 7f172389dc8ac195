"""Issue 14's "done when", end to end: a new operator, from chat alone and with a config.toml
that routes nothing to the story, tracks a page on the loopback origin, subscribes a channel,
sees exactly one alert for an update, mutes the story and hears nothing of the next one, and,
when the page keeps failing, the admins' channel is told exactly once and `/story status` shows
the pause with its last error. The same journey through real slack-bolt against the fake Slack
and through real discord.py against the fake Discord; every assertion is on what the fake
platform received. Time moves by the app's own poll and delivery calls, never by sleeping."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import adapters.discord as discord_platform
from bot.app import StoryBot
from bot.config import Config, parse_config
from bot.models import ReplyKind
from bot.pipeline import PollStatus
from tests.fakes.discord import CHANNEL_IDS, USER_ID, FakeDiscord
from tests.fakes.slack import FakeSlack
from tests.helpers import NOV9, NOV11
from tests.origin import Origin, Response
from tests.test_manage import Desk, desk, later, page
from tests.test_slack import block_text, make_adapter, response_count

__all__ = ["desk"]  # the fixture, shared with tests/test_manage.py

PAUSE_AFTER = 3
STORY = "kherson-retreat"  # what `as Kherson retreat` names it
TITLE = "Russia Says It Will Retreat From Kherson"  # the Nov 9 page's headline


@dataclass
class Platform:
    """One chat platform as the operator sees it: type a /story line, read what was posted."""

    ask: Callable[[str], Awaitable[str]]  # typed by the admin in the subscribed channel
    posts: Callable[[str], list[str]]  # the text of each message the bot posted in a channel
    channel: str  # the subscribed channel, as routes write it ("slack:C9")
    channel_key: str  # ... and as the fake names it
    admin_key: str  # the admins' channel, as the fake names it


def operator_config(tmp_path: Path, admin: str, admin_channel: str) -> Config:
    """A config.toml a new operator might start from: one story of its own, no routes at all."""
    (tmp_path / "budget.txt").write_text(NOV9.read_text(encoding="utf-8"), encoding="utf-8")
    data = {
        "storybot": {
            "database": str(tmp_path / "bot.db"),
            "files_dir": ".",
            "allow_hosts": ["127.0.0.1"],
            "fetch_deadline": 1,
            "jitter": 0,
            "pause_after": PAUSE_AFTER,
            "admins": [admin],
            "admin_channels": [admin_channel],
        },
        "stories": [{"id": "budget", "path": "budget.txt"}],
    }
    config = parse_config(data, "test", tmp_path)
    assert config.routes == ()
    return config


async def operator_journey(bot: StoryBot, origin: Origin, chat: Platform) -> None:
    origin.set("/kherson", page(NOV9.read_text(encoding="utf-8")))
    url = origin.url("/kherson")

    # track: the preview of what storybot reads, and the baseline rule
    tracked = await chat.ask(f"track {url} as Kherson retreat")
    assert f"Now tracking “{TITLE}” as `{STORY}`" in tracked, tracked
    assert "nothing already on the page is news" in tracked
    assert "1 dated section" in tracked and "Original (Nov 9, 2022" in tracked, tracked
    assert bot.config.story(STORY) is not None

    # the scheduler's first poll of a new story: the baseline, nothing alerted anywhere
    baseline = await bot.poll(STORY)
    assert baseline is not None and baseline.status is PollStatus.BASELINE, baseline
    await bot.deliver()
    assert chat.posts(chat.channel_key) == []

    # subscribe: a story already read gives the channel one "story so far", never a burst
    assert f"({chat.channel}) now gets alerts of `{STORY}`" in await chat.ask(f"subscribe {STORY}")
    await bot.deliver()
    await bot.deliver()
    caught_up = chat.posts(chat.channel_key)
    (so_far,) = caught_up
    assert "story so far" in so_far.casefold() and "labeled a blow for Vladimir Putin" in so_far, so_far
    assert "0 updates" not in so_far, so_far  # the original alone: "no updates yet"

    # the page gains an update: exactly one alert in the channel, and nowhere else
    origin.set("/kherson", page(NOV11.read_text(encoding="utf-8")))
    found = await bot.poll(STORY)
    assert found is not None and len(found.event_ids) == 1, found
    await bot.deliver()
    await bot.deliver()  # a second pass sends nothing again
    alerts = chat.posts(chat.channel_key)[len(caught_up) :]
    assert len(alerts) == 1, alerts
    assert "Withdrawal From Kherson Is Complete" in alerts[0], alerts[0]
    assert chat.posts(chat.admin_key) == []

    # mute for 2h: the next update is found, and not posted here
    assert "is muted here until" in await chat.ask(f"mute {STORY} for 2h")
    origin.set("/kherson", page(later(12, "Ukrainian troops entered the centre of the city on Saturday.")))
    muted = await bot.poll(STORY)
    assert muted is not None and len(muted.event_ids) == 1, muted
    await bot.deliver()
    assert len(chat.posts(chat.channel_key)) == len(caught_up) + 1

    # the page breaks: failing polls, then the pause, one notice, and the status says why
    origin.set("/kherson", Response(status=500, body="down"))
    for n in range(1, PAUSE_AFTER + 3):
        outcome = await bot.poll(STORY)
        assert outcome is not None
        assert outcome.status is (PollStatus.FAILED if n <= PAUSE_AFTER else PollStatus.PAUSED), (n, outcome)
        await bot.deliver()
    fetches = len(origin.requests_for("/kherson"))
    await bot.poll(STORY)
    assert len(origin.requests_for("/kherson")) == fetches  # a paused story is not fetched
    (notice,) = chat.posts(chat.admin_key)
    assert "Story paused" in notice and STORY in notice and "HTTP 500" in notice, notice
    assert len(chat.posts(chat.channel_key)) == len(caught_up) + 1  # the channel hears nothing of it

    status = await chat.ask("status")
    line = next((ln for ln in status.splitlines() if ln.lstrip("-• ").startswith(f"{STORY}:")), "")
    assert "PAUSED" in line, status
    assert f"{PAUSE_AFTER} in a row" in status and "HTTP 500" in status, status
    assert f"Paused for failing: {STORY}" in status, status

    # the page is back: `/story resume` polls it again; what it holds was seen, so nothing is news
    origin.set("/kherson", page(later(12, "Ukrainian troops entered the centre of the city on Saturday.")))
    assert f"Resumed {STORY}: polled again" in await chat.ask(f"resume {STORY}")
    assert STORY not in bot.paused
    back = await bot.poll(STORY)
    assert back is not None and back.status not in (PollStatus.FAILED, PollStatus.PAUSED), back
    assert not back.event_ids, back
    await bot.deliver()
    assert len(chat.posts(chat.admin_key)) == 1 and len(chat.posts(chat.channel_key)) == len(caught_up) + 1


# --- Slack ----------------------------------------------------------------------------------


def slack_text(message: Any) -> str:
    return f"{message.text or ''}\n{block_text(message)}".replace("\u200b", "")


async def test_slack_operator_journey(tmp_path: Path, origin: Origin) -> None:
    config = operator_config(tmp_path, "slack:UOPS", "slack:CADMIN")
    async with FakeSlack() as slack, await StoryBot.create(config) as bot:
        await bot.attach([make_adapter(slack, bot.commands)])

        async def ask(text: str) -> str:
            seen = len(slack.responses)
            form = slack.slash_command(text, user_id="UOPS", channel_id="C9")
            await slack.send_envelope("slash_commands", form)
            response = (await response_count(slack, seen + 1))[seen]
            return f"{response.body.get('text', '')}\n{block_text(response)}".replace("\u200b", "")

        def posts(channel: str) -> list[str]:
            return [slack_text(m) for m in slack.messages.get(channel, [])]

        await operator_journey(bot, origin, Platform(ask, posts, "slack:C9", "C9", "CADMIN"))


# --- Discord --------------------------------------------------------------------------------


def discord_text(message: dict[str, Any]) -> str:
    parts = [str(message.get("content") or "")]
    for embed in message.get("embeds") or []:
        parts += [str(embed.get(k) or "") for k in ("title", "description")]
        parts += [str((embed.get("author") or {}).get("name") or "")]
        parts += [f"{f.get('name')}\n{f.get('value')}" for f in embed.get("fields") or []]
    return "\n".join(parts).replace("\\", "")  # Markdown escapes, as a reader sees past them


async def test_discord_operator_journey(tmp_path: Path, origin: Origin) -> None:
    admin_channel, channel = CHANNEL_IDS
    config = operator_config(tmp_path, f"discord:{USER_ID}", f"discord:{admin_channel}")
    async with FakeDiscord() as fake, await StoryBot.create(config) as bot:
        table = {**fake.settings, "guild_ready_timeout": 0.05}
        adapter = discord_platform.build(table, bot.commands, {"DISCORD_TOKEN": fake.token})
        assert adapter is not None
        await bot.attach([adapter])

        async def ask(text: str) -> str:
            callback = await fake.slash(text, channel_id=channel)
            return "\n".join(discord_text(e) for e in [callback["data"]])

        def posts(key: str) -> list[str]:
            return [discord_text(m) for m in fake.messages.get(int(key), [])]

        await operator_journey(
            bot, origin, Platform(ask, posts, f"discord:{channel}", str(channel), str(admin_channel))
        )


# --- tracked again ----------------------------------------------------------------------------


async def test_a_story_tracked_again_starts_with_a_baseline(desk: Desk) -> None:
    """Untracked, then tracked again under its name once the page has moved on: the preview
    shows the update and promises nothing already there is news, so the first poll must not
    diff against the version stored before it was untracked (a "*" route would hear of it)."""
    url = desk.origin.url("/kherson")
    assert (await desk.ask(f"/story track {url} as retreat")).kind is ReplyKind.ADMIN
    await desk.bot.poll("retreat")  # the baseline: Nov 9
    assert "Stopped tracking" in (await desk.ask("/story untrack retreat")).text
    desk.origin.set("/kherson", page(NOV11.read_text(encoding="utf-8")))
    again = await desk.ask(f"/story track {url} as retreat")
    assert "2 dated sections" in again.text and "nothing already on the page is news" in again.text
    assert "This channel" in (await desk.ask("/story subscribe retreat")).text
    first = await desk.bot.poll("retreat")
    assert first is not None and first.status is PollStatus.BASELINE and not first.event_ids, first
    await desk.bot.deliver()
    assert await desk.bot.store.deliveries() == []  # neither the "*" route nor this channel hears

    desk.origin.set(
        "/kherson", page(later(12, "Ukrainian troops entered the centre of the city on Saturday."))
    )
    news = await desk.bot.poll("retreat")
    assert news is not None and len(news.event_ids) == 1  # what comes after it is news again
