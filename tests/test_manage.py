"""Stories and subscriptions from chat: `/story track`, `subscribe`, `mute`, `untrack` typed at
the console adapter, on a real store, with pages from the loopback origin; and the same verbs
on the CLI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from adapters.console import ConsoleAdapter
from bot.__main__ import main
from bot.app import HELD_CHECK_SECONDS, StoryBot
from bot.config import parse_config
from bot.manage import slug
from bot.models import Reply, ReplyKind
from bot.pipeline import PollOutcome
from bot.storage import DeliveryStatus, Mute, Subscription, now_utc
from tests.helpers import NOV9, NOV11
from tests.origin import Origin, Response
from tests.recording import RecordingSender

TERMINAL = "console:terminal"  # the channel the console adapter's user types in
TITLE = "Russia Says It Will Retreat From Kherson"


def config_data(tmp_path: Path, **storybot: Any) -> dict[str, Any]:
    return {
        "storybot": {
            "database": str(tmp_path / "bot.db"),
            "files_dir": ".",
            "allow_hosts": ["127.0.0.1"],
            "jitter": 0,
            "admins": ["console:boss"],
            "managers": ["console:ed"],
            **storybot,
        },
        "stories": [{"id": "budget", "path": "budget.txt", "title": "The budget"}],
        "routes": [
            {"stories": ["*"], "channels": ["rec:all"]},
            {"stories": ["budget"], "channels": [TERMINAL]},
        ],
    }


def page(text: str) -> Response:
    return Response(body=text, content_type="text/plain; charset=utf-8")


def later(day: int, paragraph: str) -> str:
    """The Nov 11 page with a hand-written update dated Nov `day` on top."""
    stamp = f"Nov {day}, 2022 9:00 AM CST"
    text = NOV11.read_text(encoding="utf-8").replace("Updated Nov 11, 2022 7:36 AM CST", f"Updated {stamp}")
    return text.replace("UPDATE Nov 11", f"UPDATE {stamp}\n\n{paragraph}\n\nUPDATE Nov 11", 1)


@dataclass
class Desk:
    bot: StoryBot
    console: ConsoleAdapter
    out: StringIO
    origin: Origin

    async def ask(self, line: str, user: str = "ed") -> Reply:
        return await self.console.ask(line, user)

    async def sent_to(self, channel: str) -> int:
        rows = await self.bot.store.deliveries()
        return sum(r.channel == channel and r.status is DeliveryStatus.SENT for r in rows)


@pytest.fixture
async def desk(tmp_path: Path, origin: Origin) -> AsyncIterator[Desk]:
    """A storybot whose console user 'ed' is a manager, with the Nov 9 page at /kherson."""
    (tmp_path / "budget.txt").write_text(NOV9.read_text(encoding="utf-8"), encoding="utf-8")
    origin.set("/kherson", page(NOV9.read_text(encoding="utf-8")))
    config = parse_config(config_data(tmp_path), "test", tmp_path)
    out = StringIO()
    async with await StoryBot.create(config) as bot:
        console = ConsoleAdapter(bot.commands, console=Console(file=out, width=200))
        await bot.attach([console, RecordingSender()])
        yield Desk(bot, console, out, origin)


def channels_of(outcome: PollOutcome | None) -> set[str]:
    assert outcome is not None and outcome.error is None, outcome
    return {channel for event in outcome.events for channel in event.channels}


async def test_track_subscribe_alert_mute_and_untrack_from_the_console(desk: Desk) -> None:
    url = desk.origin.url("/kherson")
    reply = await desk.ask(f"/story track {url} as Kherson retreat")
    assert reply.kind is ReplyKind.ADMIN, reply.text
    assert "as `kherson-retreat`" in reply.text and f"title: {TITLE}" in reply.text  # the preview
    assert "1 dated section" in reply.text and "nothing already on the page is news" in reply.text
    story = desk.bot.config.story("kherson-retreat")
    assert story is not None and (story.origin, story.url, story.aliases) == (
        "chat",
        url,
        ("kherson retreat",),
    )
    assert [s.added_by for s in (await desk.bot.store.held()).stories] == ["console:ed"]

    listing = await desk.ask("/story list")
    assert f"- {TITLE} (kherson-retreat) [chat]" in listing.text
    assert "- The budget (budget) [config.toml]" in listing.text

    reply = await desk.ask("/story subscribe kherson retreat")  # its alias
    assert (
        reply.kind is ReplyKind.ADMIN and f"({TERMINAL}) now gets alerts of `kherson-retreat`" in reply.text
    )
    subscriptions = await desk.ask("/story subscriptions")
    assert "- `kherson-retreat` (chat, by console:ed)" in subscriptions.text
    assert "- `budget` (config.toml)" in subscriptions.text

    assert channels_of(await desk.bot.poll("kherson-retreat")) == set()  # the baseline: nothing is news
    desk.origin.set("/kherson", page(NOV11.read_text(encoding="utf-8")))
    assert TERMINAL in channels_of(await desk.bot.poll("kherson-retreat"))
    await desk.bot.deliver()
    assert await desk.sent_to(TERMINAL) >= 1 and "Kherson" in desk.out.getvalue()

    reply = await desk.ask("/story mute kherson-retreat for 2h")
    assert reply.kind is ReplyKind.ADMIN and "is muted here until" in reply.text
    assert "- muted: `kherson-retreat` until" in (await desk.ask("/story subscriptions")).text
    desk.origin.set(
        "/kherson", page(later(12, "Ukrainian troops entered the centre of the city on Saturday."))
    )
    assert channels_of(await desk.bot.poll("kherson-retreat")) == {"rec:all"}  # the alert, not here

    # two hours on: the mute has ended (its end moved into the past, as the clock would)
    await desk.bot.store.set_mute(Mute("kherson-retreat", TERMINAL, now_utc() - timedelta(seconds=1)))
    assert await desk.bot.refresh_held() is True
    desk.origin.set("/kherson", page(later(13, "Power and water came back to most of the city on Sunday.")))
    assert channels_of(await desk.bot.poll("kherson-retreat")) == {"rec:all", TERMINAL}

    reply = await desk.ask("/story untrack kherson-retreat")
    assert reply.kind is ReplyKind.ADMIN, reply.text
    assert desk.bot.config.story("kherson-retreat") is None
    held = await desk.bot.store.held()
    assert (held.stories, held.subscriptions, held.mutes) == ((), (), ())
    assert [b.id for b in await desk.bot.store.stories()] == ["budget"]
    assert (await desk.ask("/story kherson-retreat")).kind is not ReplyKind.STORY


async def test_a_keyword_subscription_alerts_on_any_story_that_mentions_it(desk: Desk) -> None:
    reply = await desk.ask("/story subscribe Withdrawal, kherson offensive")
    assert reply.kind is ReplyKind.ADMIN
    assert "stories mentioning “withdrawal” or “kherson offensive”" in reply.text
    assert (await desk.ask("/story subscribe kherson offensive, withdrawal")).text.startswith(
        "This channel is already subscribed"
    )
    await desk.ask(f"/story track {desk.origin.url('/kherson')}")
    story_id = "russia-says-it-will-retreat-from-kherson"  # from the page's title
    assert desk.bot.config.story(story_id) is not None
    await desk.bot.poll(story_id)
    desk.origin.set("/kherson", page(NOV11.read_text(encoding="utf-8")))  # its new title: "...Withdrawal..."
    assert TERMINAL in channels_of(await desk.bot.poll(story_id))
    reply = await desk.ask("/story unsubscribe KHERSON OFFENSIVE, withdrawal")
    assert reply.kind is ReplyKind.ADMIN and (await desk.bot.store.held()).subscriptions == ()
    assert (await desk.ask("/story unsubscribe withdrawal")).kind is ReplyKind.ERROR


async def test_mute_until_unmuted_and_unmute(desk: Desk) -> None:
    assert "muted here until `/story unmute`" in (await desk.ask("/story mute budget")).text
    budget = desk.bot.config.story("budget")
    assert budget is not None and desk.bot.config.channels_for(budget) == ("rec:all",)
    assert (await desk.ask("/story unmute budget")).kind is ReplyKind.ADMIN
    assert desk.bot.config.channels_for(budget) == ("rec:all", TERMINAL)
    assert (await desk.ask("/story unmute budget")).kind is ReplyKind.ERROR
    bad = await desk.ask("/story mute budget for ever")
    assert bad.kind is ReplyKind.ERROR and "for 2h" in bad.text and (await desk.bot.store.held()).mutes == ()


@pytest.mark.parametrize(
    "line",
    [
        "track {url}",
        "untrack budget",
        "subscribe budget",
        "unsubscribe budget",
        "mute budget",
        "unmute budget",
    ],
)
async def test_only_admins_and_managers_may_change_anything(desk: Desk, line: str) -> None:
    reply = await desk.ask("/story " + line.format(url=desk.origin.url("/kherson")), user="intern")
    assert reply.kind is ReplyKind.ERROR
    assert "for the admins and managers config.toml lists" in reply.text
    held = await desk.bot.store.held()
    assert (held.stories, held.subscriptions, held.mutes) == ((), (), ())
    assert desk.origin.requests_for("/kherson") == []  # not even previewed


async def test_help_shows_the_changes_only_to_who_may_make_them(desk: Desk) -> None:
    assert "/story track <url>" not in (await desk.ask("/story help", user="intern")).text
    assert "/story subscriptions" in (await desk.ask("/story help", user="intern")).text
    assert "/story track <url>" in (await desk.ask("/story help", user="ed")).text
    boss = await desk.ask("/story subscribe kherson offensive", user="boss")  # admins may too
    assert boss.kind is ReplyKind.ADMIN
    anyone = await desk.ask("/story subscriptions", user="intern")
    assert anyone.kind is ReplyKind.LIST and "(chat, by console:boss)" in anyone.text


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://10.1.2.3/story", "10.1.2.3 is a private address"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[::1]:8080/story", "loopback"),
        ("http://localhost/story", "refused"),
        ("ftp://news.example/story", "http(s) address"),
        ("kherson", "http(s) address"),
    ],
)
async def test_unsafe_or_bad_addresses_are_refused_before_any_fetch(desk: Desk, url: str, why: str) -> None:
    reply = await desk.ask(f"/story track {url}")
    assert reply.kind is ReplyKind.ERROR and why in reply.text, reply.text
    assert (await desk.bot.store.held()).stories == ()


async def test_the_loopback_origin_is_refused_without_allow_hosts(tmp_path: Path, origin: Origin) -> None:
    origin.set("/kherson", page(NOV9.read_text(encoding="utf-8")))
    config = parse_config(config_data(tmp_path, allow_hosts=[]), "test", tmp_path)
    async with await StoryBot.create(config) as bot:
        reply = await ConsoleAdapter(bot.commands, console=Console(file=StringIO())).ask(
            f"/story track {origin.url('/kherson')}", "ed"
        )
    assert reply.kind is ReplyKind.ERROR and "127.0.0.1 is a loopback address" in reply.text
    assert origin.requests_for("/kherson") == []


async def test_pages_that_cannot_be_followed_are_not_tracked(desk: Desk) -> None:
    desk.origin.set("/gone", Response(status=404, body="not here"))
    desk.origin.set("/empty", Response(body="<html><body></body></html>"))
    gone = await desk.ask(f"/story track {desk.origin.url('/gone')}")
    assert gone.kind is ReplyKind.ERROR and "the fetch failed" in gone.text and "404" in gone.text
    empty = await desk.ask(f"/story track {desk.origin.url('/empty')}")
    assert empty.kind is ReplyKind.ERROR and "no dated sections" in empty.text
    assert (await desk.bot.store.held()).stories == ()


async def test_names_are_unique_and_config_toml_wins(desk: Desk) -> None:
    url = desk.origin.url("/kherson")
    taken = await desk.ask(f"/story track {url} as Budget")
    assert taken.kind is ReplyKind.ERROR and "config.toml declares a story `budget`" in taken.text
    assert (await desk.ask(f"/story track {url}")).kind is ReplyKind.ADMIN
    again = await desk.ask(f"/story track {url} as other")
    assert (
        again.kind is ReplyKind.ERROR
        and "Already tracked as `russia-says-it-will-retreat-from-kherson`" in again.text
    )
    desk.origin.set("/copy", page(NOV9.read_text(encoding="utf-8")))
    assert (await desk.ask(f"/story track {desk.origin.url('/copy')}")).kind is ReplyKind.ADMIN
    assert [s.id for s in desk.bot.config.stories] == [
        "budget", "russia-says-it-will-retreat-from-kherson", "russia-says-it-will-retreat-from-kherson-2",
    ]  # fmt: skip
    refused = await desk.ask("/story untrack budget")
    assert refused.kind is ReplyKind.ERROR and "declared in config.toml" in refused.text
    routed = await desk.ask("/story subscribe budget")
    assert "config.toml routes it" in routed.text and (await desk.bot.store.held()).subscriptions == ()
    assert "edit it there" in (await desk.ask("/story unsubscribe budget")).text


async def test_what_another_process_adds_is_followed(desk: Desk) -> None:
    """A CLI or a front on the same database writes to the store; the running bot re-reads it."""
    assert await desk.bot.refresh_held() is False  # nothing changed
    await desk.bot.store.add_subscription(Subscription("rec:late", story_id="budget", added_by="cli:ops"))
    assert await desk.bot.refresh_held() is True
    budget = desk.bot.config.story("budget")
    assert budget is not None and "rec:late" in desk.bot.config.channels_for(budget)
    stop = asyncio.Event()
    runner = asyncio.create_task(desk.bot.run(stop, poll=False))
    await asyncio.sleep(0)
    job = desk.bot.scheduler.scheduler.get_job("held")
    assert job is not None and job.trigger.interval.total_seconds() == HELD_CHECK_SECONDS
    stop.set()
    await runner


# --- the CLI -----------------------------------------------------------------------------------


def write_config(tmp_path: Path) -> Path:
    (tmp_path / "budget.txt").write_text(NOV9.read_text(encoding="utf-8"), encoding="utf-8")
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[storybot]
database = "{tmp_path / "bot.db"}"
files_dir = "."
allow_hosts = ["127.0.0.1"]

[[stories]]
id = "budget"
path = "budget.txt"
""",
        encoding="utf-8",
    )
    return path


async def cli(*args: str) -> int:
    """`storybot ...` in a thread (its own event loop), while the origin serves on this one."""
    return await asyncio.to_thread(main, list(args))


async def test_the_cli_tracks_subscribes_mutes_and_untracks(
    tmp_path: Path, origin: Origin, capsys: pytest.CaptureFixture[str]
) -> None:
    origin.set("/kherson", page(NOV9.read_text(encoding="utf-8")))
    config = str(write_config(tmp_path))
    assert await cli("-c", config, "track", origin.url("/kherson"), "--as", "retreat") == 0
    assert "Now tracking" in capsys.readouterr().out
    assert await cli("-c", config, "subscribe", "--channel", "slack:C1", "retreat") == 0
    capsys.readouterr()
    assert await cli("-c", config, "poll") == 0  # chat's stories are polled with config.toml's
    assert {line.split(":")[0] for line in capsys.readouterr().out.splitlines()} >= {"budget", "retreat"}
    assert await cli("-c", config, "mute", "--channel", "slack:C1", "retreat", "--for", "2h") == 0
    capsys.readouterr()
    assert await cli("-c", config, "subscriptions", "--channel", "slack:C1") == 0
    out = capsys.readouterr().out
    assert "- `retreat` (chat, by cli:" in out and "- muted: `retreat` until" in out
    assert await cli("-c", config, "untrack", "budget") == 1
    assert "declared in config.toml" in capsys.readouterr().err
    assert await cli("-c", config, "untrack", "retreat") == 0
    assert await cli("-c", config, "subscriptions", "--channel", "slack:C1") == 0
    assert "gets no alerts" in capsys.readouterr().out


def test_the_cli_checks_the_channel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["-c", str(write_config(tmp_path)), "subscribe", "--channel", "#general", "budget"])
    assert exit_.value.code == 2 and "platform:channel_id" in capsys.readouterr().err


# --- names and durations -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "story_id"),
    [
        ("Kherson retreat", "kherson-retreat"),
        ("Ünïcode — Café déjà vu", "unicode-cafe-deja-vu"),
        ("  Budget: talks, day 3!  ", "budget-talks-day-3"),
        ("!!!", ""),
        ("word " * 30, "-".join(["word"] * 9)),  # cut at a word, under 48 characters
    ],
)
def test_names_become_story_ids(text: str, story_id: str) -> None:
    assert slug(text) == story_id


@pytest.mark.parametrize(
    ("words", "span"),
    [
        ("for 30m", timedelta(minutes=30)),
        ("for 90 minutes", timedelta(minutes=90)),
        ("for 2h", timedelta(hours=2)),
        ("for 3 days", timedelta(days=3)),
        ("for 1w", timedelta(weeks=1)),
    ],
)
async def test_mute_durations(desk: Desk, words: str, span: timedelta) -> None:
    before = now_utc()
    assert (await desk.ask(f"/story mute budget {words}")).kind is ReplyKind.ADMIN
    (mute,) = (await desk.bot.store.held()).mutes
    assert mute.until is not None and before + span <= mute.until <= now_utc() + span


@pytest.mark.parametrize("words", ["for 0m", "for 400d", "for a while", "for 2 fortnights"])
async def test_bad_mute_durations_are_refused(desk: Desk, words: str) -> None:
    reply = await desk.ask(f"/story mute budget {words}")
    assert reply.kind is ReplyKind.ERROR and (await desk.bot.store.held()).mutes == ()


async def test_subscribing_mid_story_from_chat_posts_one_catch_up(desk: Desk) -> None:
    url = desk.origin.url("/kherson")
    assert (await desk.ask(f"/story track {url} as Kherson retreat")).kind is ReplyKind.ADMIN
    await desk.bot.poll("kherson-retreat")  # the baseline
    desk.origin.set("/kherson", page(NOV11.read_text(encoding="utf-8")))
    assert channels_of(await desk.bot.poll("kherson-retreat")) == {"rec:all"}
    await desk.bot.deliver()
    assert "The story so far" not in desk.out.getvalue()

    assert (await desk.ask("/story subscribe kherson-retreat")).kind is ReplyKind.ADMIN
    await desk.bot.deliver()
    printed = desk.out.getvalue()
    assert printed.count("The story so far: Russia: Withdrawal From Kherson Is Complete") == 1
    assert printed.index("Original, Nov 9, 2022") < printed.index("Nov 11, 2022 7:36 AM CST: Update")
    assert await desk.sent_to(TERMINAL) == 1

    # unsubscribing and subscribing again: the channel has had its catch-up
    assert (await desk.ask("/story unsubscribe kherson-retreat")).kind is ReplyKind.ADMIN
    assert (await desk.ask("/story subscribe kherson-retreat")).kind is ReplyKind.ADMIN
    await desk.bot.deliver()
    assert desk.out.getvalue().count("The story so far") == 1 and await desk.sent_to(TERMINAL) == 1


async def test_track_follows_the_address_as_typed_with_at_signs_and_queries(desk: Desk) -> None:
    """A page address keeps every character it was typed with: `@` (a profile path), `&`,
    `#`... never cut at one and the rest taken for a name, so storybot follows the page asked
    for, not the site's front page. Text after the address that is not `as <name>` is refused."""
    desk.origin.set("/@ed/kherson", page(NOV9.read_text(encoding="utf-8")))
    desk.origin.set("/", page(later(12, "The front page, not the story asked for.")))
    url = desk.origin.url("/@ed/kherson") + "?a=1&b=2"
    desk.origin.set("/@ed/kherson", page(NOV9.read_text(encoding="utf-8")))
    reply = await desk.ask(f"/story track {url} as retreat")
    assert reply.kind is ReplyKind.ADMIN, reply.text
    story = desk.bot.config.story("retreat")
    assert story is not None and story.url == url
    stray = await desk.ask(f"/story track {desk.origin.url('/')} retreat two")
    assert stray.kind is ReplyKind.ERROR and "as <name>" in stray.text
    assert [s.id for s in (await desk.bot.store.held()).stories] == ["retreat"]


async def test_a_link_slack_wrapped_is_tracked_by_its_address_whatever_its_label(desk: Desk) -> None:
    url = desk.origin.url("/kherson")
    reply = await desk.ask(f"/story track <{url}|the Kherson page> as retreat")
    assert reply.kind is ReplyKind.ADMIN, reply.text
    story = desk.bot.config.story("retreat")
    assert story is not None and story.url == url


async def test_unsubscribing_drops_what_was_waiting_for_the_channel(desk: Desk) -> None:
    """After an unsubscribe, the channel "no longer gets alerts" of the story, what was already
    queued included: the updates an open digest holds for it are not sent there later. Other
    channels keep theirs."""
    url = desk.origin.url("/kherson")
    assert (await desk.ask(f"/story track {url} as retreat")).kind is ReplyKind.ADMIN
    assert (await desk.ask("/story subscribe retreat digest 1h")).kind is ReplyKind.ADMIN
    await desk.bot.poll("retreat")  # the baseline
    desk.origin.set("/kherson", page(NOV11.read_text(encoding="utf-8")))
    assert channels_of(await desk.bot.poll("retreat")) == {"rec:all"}  # and a digest for here
    assert any(r.channel == TERMINAL for r in await desk.bot.store.deliveries())
    reply = await desk.ask("/story unsubscribe retreat")
    assert reply.kind is ReplyKind.ADMIN, reply.text
    left = await desk.bot.store.deliveries()
    assert [r.channel for r in left if r.status is DeliveryStatus.PENDING] == ["rec:all"]
