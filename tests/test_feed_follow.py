"""Following a whole feed through the running app, over a real loopback origin and SQLite file:
its items are tracked silently, an item's later update alerts once, a new item alerts nothing,
an old item is never tracked, a broken feed changes nothing."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from rich.console import Console

from adapters.console import ConsoleAdapter
from bot.__main__ import main
from bot.app import StoryBot
from bot.config import Config, parse_config
from bot.deliver import DeliveryReport
from bot.feeds import item_story_id
from bot.feedwatch import FeedStatus, poll_feed
from bot.models import ReplyKind
from bot.pipeline import PollStatus
from tests.helpers import LOCAL_SOURCES
from tests.origin import Origin, Response
from tests.recording import RecordingSender
from tests.test_app import eventually
from tests.test_faults import shown

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
STRIKE = (FEEDS / "port-strike.html").read_bytes()
BUDGET = (FEEDS / "budget-vote.html").read_bytes()
BUDGET_UPDATE = (FEEDS / "budget-vote-update.html").read_bytes()


def rss(origin: Origin, *items: tuple[str, str, datetime]) -> Response:
    """An RSS 2.0 feed listing (path, title, published) items on `origin`."""
    entries = "".join(
        f"<item><title>{title}</title><link>{origin.url(path)}?utm_source=rss</link>"
        f"<pubDate>{format_datetime(published)}</pubDate></item>"
        for path, title, published in items
    )
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>City</title>{entries}</channel></rss>'
    return Response(body=body, content_type="application/rss+xml")


def feed_config(
    tmp_path: Path, url: str, storybot: dict[str, object] | None = None, **feed: object
) -> Config:
    return parse_config(
        {
            "storybot": {
                "database": str(tmp_path / "s.db"),
                "jitter": 0,
                **LOCAL_SOURCES,
                **(storybot or {}),
            },
            "feeds": [{"id": "city", "url": url, "window": "3d", **feed}],
            "routes": [{"feeds": ["city"], "channels": ["rec:news"]}],
        },
        "test",
        tmp_path,
    )


def story_id(origin: Origin, path: str) -> str:
    return item_story_id("city", origin.url(path))


NOW = datetime.now(UTC)
STRIKE_ITEM = ("/port-strike", "Dockworkers walk out", NOW - timedelta(hours=30))
BUDGET_ITEM = ("/budget-vote", "Council delays library vote", NOW - timedelta(hours=20))


async def deliver(bot: StoryBot) -> None:
    await bot.deliver()


async def poll_all(bot: StoryBot) -> dict[str, PollStatus]:
    outcomes = {s.id: await bot.poll(s.id) for s in bot.config.stories}
    return {story: outcome.status for story, outcome in outcomes.items() if outcome is not None}


async def test_feed_items_are_tracked_silently_then_an_update_alerts_once(
    tmp_path: Path, origin: Origin
) -> None:
    origin.set("/feed.xml", rss(origin, STRIKE_ITEM, BUDGET_ITEM))
    origin.set("/port-strike", body=STRIKE)
    origin.set("/budget-vote", body=BUDGET)
    sender = RecordingSender()
    strike, budget = story_id(origin, "/port-strike"), story_id(origin, "/budget-vote")
    async with await StoryBot.create(feed_config(tmp_path, origin.url("/feed.xml"))) as bot:
        await bot.attach([sender])
        first = await bot.read_feed("city")
        assert first is not None and first.status is FeedStatus.READ
        assert sorted(first.added) == sorted([strike, budget])
        assert await poll_all(bot) == {strike: PollStatus.BASELINE, budget: PollStatus.BASELINE}
        await deliver(bot)
        assert sender.posted == []  # what the items said when first seen is no news

        origin.set("/budget-vote", body=BUDGET_UPDATE)
        assert await poll_all(bot) == {strike: PollStatus.NOT_MODIFIED, budget: PollStatus.CHANGED}
        await deliver(bot)
        assert [(channel, alert.story_id) for channel, alert, _ in sender.posted] == [("news", budget)]
        assert "special session" in sender.posted[0][1].summary

        # the feed is unchanged: a 304, nothing read, nothing added
        again = await bot.read_feed("city")
        assert again is not None and again.status is FeedStatus.NOT_MODIFIED
        assert [r.status for r in origin.requests_for("/feed.xml")] == [200, 304]

        # a new item is tracked silently: its first version is its baseline
        origin.set("/later", body=STRIKE.replace(b"Eastport", b"Westport"))
        origin.set("/feed.xml", rss(origin, STRIKE_ITEM, BUDGET_ITEM, ("/later", "Later", NOW)))
        third = await bot.read_feed("city")
        later = story_id(origin, "/later")
        assert third is not None and third.added == (later,)
        assert (await poll_all(bot))[later] is PollStatus.BASELINE
        await deliver(bot)
        assert len(sender.posted) == 1


async def test_a_restart_reads_an_unchanged_feed_conditionally(tmp_path: Path, origin: Origin) -> None:
    origin.set("/feed.xml", rss(origin, STRIKE_ITEM, BUDGET_ITEM))
    config = feed_config(tmp_path, origin.url("/feed.xml"))
    async with await StoryBot.create(config) as bot:
        first = await bot.read_feed("city")
        assert first is not None and first.status is FeedStatus.READ and len(first.added) == 2
    async with await StoryBot.create(config) as bot:  # the feed's ETag came back from the store
        again = await bot.read_feed("city")
        assert again is not None and again.status is FeedStatus.NOT_MODIFIED
    assert [r.status for r in origin.requests_for("/feed.xml")] == [200, 304]


async def test_items_outside_the_window_or_keywords_are_not_tracked(tmp_path: Path, origin: Origin) -> None:
    old = ("/old-story", "Council budget archive", NOW - timedelta(days=4))
    origin.set("/feed.xml", rss(origin, STRIKE_ITEM, BUDGET_ITEM, old))
    config = feed_config(tmp_path, origin.url("/feed.xml"), keywords=["council"])
    async with await StoryBot.create(config) as bot:
        outcome = await bot.read_feed("city")
        assert outcome is not None and outcome.added == (story_id(origin, "/budget-vote"),)
        assert [s.id for s in bot.config.stories] == [story_id(origin, "/budget-vote")]
        (held,) = (await bot.store.held()).stories
        published = BUDGET_ITEM[2].replace(microsecond=0)
        assert held.origin == "feed:city" and held.expires_at == published + timedelta(days=3)
        assert held.url == origin.url("/budget-vote")  # canonical: no utm_source


async def test_items_past_their_window_stop_being_polled(tmp_path: Path, origin: Origin) -> None:
    nearly_old = (
        "/budget-vote",
        "Council delays library vote",
        datetime.now(UTC) - timedelta(days=3) + timedelta(seconds=3),  # its window ends in 3 s
    )
    origin.set("/feed.xml", rss(origin, STRIKE_ITEM, nearly_old))
    async with await StoryBot.create(feed_config(tmp_path, origin.url("/feed.xml"))) as bot:
        await bot.read_feed("city")
        assert len(bot.config.stories) == 2

        async def expired() -> bool:
            await bot.refresh_held()
            return [s.id for s in bot.config.stories] == [story_id(origin, "/port-strike")]

        await eventually(expired, timeout=10)


CUT = '<?xml version="1.0"?><rss version="2.0"><channel><item><title>Cut off'


@pytest.mark.parametrize(
    ("broken", "status"),
    [
        pytest.param(Response(status=500, body="oops"), FeedStatus.FAILED, id="500"),
        pytest.param(
            Response(body="<<<garbage>>> not xml", content_type="application/xml"),
            FeedStatus.FAILED,
            id="garbage",
        ),
        pytest.param(
            Response(body="<html><body><p>Down for maintenance</p></body></html>"),
            FeedStatus.FAILED,
            id="html",
        ),
        pytest.param(Response(body="x" * 4096, repeat=2), FeedStatus.FAILED, id="oversized"),
        # a feed cut short is read as far as it goes: here, one item without a link, so nothing
        pytest.param(Response(body=CUT, content_type="application/rss+xml"), FeedStatus.READ, id="cut"),
    ],
)
async def test_a_broken_feed_changes_nothing(
    tmp_path: Path, origin: Origin, broken: Response, status: FeedStatus, caplog: pytest.LogCaptureFixture
) -> None:
    origin.set("/feed.xml", rss(origin, STRIKE_ITEM, BUDGET_ITEM))
    # a deadline shorter than the first retry's wait: the 500 fails at once
    config = feed_config(tmp_path, origin.url("/feed.xml"), {"fetch_deadline": 1, "max_bytes": 4096})
    async with await StoryBot.create(config) as bot:
        await bot.read_feed("city")
        before = (await bot.store.held(), [s.id for s in bot.config.stories])
        assert len(before[1]) == 2
        origin.queue("/feed.xml", broken)
        outcome = await bot.read_feed("city")
        assert outcome is not None and outcome.status is status and outcome.added == ()
        if status is FeedStatus.FAILED:
            assert outcome.error
            assert any("feed city: " in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)
        assert (await bot.store.held(), [s.id for s in bot.config.stories]) == before


async def test_the_running_app_reads_the_feed_and_the_console_shows_one_alert(
    tmp_path: Path, origin: Origin
) -> None:
    """`storybot run`'s scheduler reads the feed and baselines its items on its own; the
    second item's update is printed by the console adapter, once."""
    origin.set("/feed.xml", rss(origin, STRIKE_ITEM, BUDGET_ITEM))
    origin.set("/port-strike", body=STRIKE)
    origin.set("/budget-vote", body=BUDGET)
    config = feed_config(tmp_path, origin.url("/feed.xml"), interval=3600, channels=["console:newsroom"])
    console = Console(file=io.StringIO(), width=200)
    stop = asyncio.Event()
    async with await StoryBot.create(config) as bot:
        await bot.attach([ConsoleAdapter(bot.commands, console=console)])
        runner = asyncio.create_task(bot.run(stop))
        ids = [story_id(origin, "/port-strike"), story_id(origin, "/budget-vote")]

        async def baselined() -> bool:
            return all([await bot.store.last_version(i) is not None for i in ids])

        await eventually(baselined)
        assert await bot.deliver() == DeliveryReport() and shown(console) == ""
        origin.set("/budget-vote", body=BUDGET_UPDATE)
        await bot.poll(ids[1])

        async def printed() -> bool:
            return "special session" in shown(console)

        await eventually(printed)
        await bot.poll(ids[1])
        await bot.deliver()
        stop.set()
        await runner
    out = shown(console)
    assert out.count("#newsroom") == 1 and out.count("New update: Council Delays Vote") == 1
    assert "special session for Tuesday" in out and "Dockworkers" not in out


async def test_storybot_poll_reads_the_feed_then_baselines_its_items(
    tmp_path: Path, origin: Origin, capsys: pytest.CaptureFixture[str]
) -> None:
    origin.set("/feed.xml", rss(origin, STRIKE_ITEM, BUDGET_ITEM))
    origin.set("/port-strike", body=STRIKE)
    origin.set("/budget-vote", status=500, body="down")
    path = tmp_path / "config.toml"
    path.write_text(
        '[storybot]\nallow_hosts = ["127.0.0.1"]\nfetch_deadline = 1\n'
        f'[[feeds]]\nid = "city"\nurl = "{origin.url("/feed.xml")}"\n',
        encoding="utf-8",
    )
    # the CLI runs its own event loop: in a thread, while this loop serves the origin
    assert await asyncio.to_thread(main, ["-c", str(path), "poll"]) == 1  # one item's page fails
    strike, budget = story_id(origin, "/port-strike"), story_id(origin, "/budget-vote")
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == ["feed city: read", f"  now tracking {strike}", f"  now tracking {budget}"]
    assert out[3] == f"{strike}: baseline" and out[4].startswith(f"{budget}: failed (HTTP 500")


async def test_a_long_sitemap_is_followed_a_batch_per_read(tmp_path: Path, origin: Origin) -> None:
    stamp = (NOW - timedelta(hours=1)).isoformat()
    pages = (f"<url><loc>{origin.url(f'/p{n}')}</loc><lastmod>{stamp}</lastmod></url>" for n in range(5))
    sitemap = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{"".join(pages)}</urlset>'
    origin.set("/sitemap.xml", body=sitemap, content_type="application/xml")
    async with await StoryBot.create(feed_config(tmp_path, origin.url("/sitemap.xml"))) as bot:
        (feed,) = bot.config.feeds
        reads = []
        for _ in range(4):
            read = await poll_feed(feed, config=bot.config, fetcher=bot.fetcher, store=bot.store, max_new=2)
            reads.append(read)
        assert len((await bot.store.held()).stories) == 5
    assert [(r.status.value, len(r.added)) for r in reads] == [
        ("read", 2),
        ("read", 2),
        ("read", 1),
        ("not_modified", 0),  # all followed: the next read is conditional again
    ]
    assert [r.status for r in origin.requests_for("/sitemap.xml")] == [200, 200, 200, 304]


async def test_a_feeds_story_is_not_untracked_from_chat(tmp_path: Path, origin: Origin) -> None:
    origin.set("/feed.xml", rss(origin, STRIKE_ITEM))
    config = feed_config(tmp_path, origin.url("/feed.xml"), {"admins": ["console:boss"]})
    async with await StoryBot.create(config) as bot:
        console = ConsoleAdapter(bot.commands, console=Console(file=io.StringIO(), width=200))
        await bot.read_feed("city")
        strike = story_id(origin, "/port-strike")
        reply = await console.ask(f"/story untrack {strike}", "boss")
        assert reply.kind is ReplyKind.ERROR and "until its window ends" in reply.text
        assert [s.id for s in bot.config.stories] == [strike]
