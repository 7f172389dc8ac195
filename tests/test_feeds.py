"""Reading feeds (bot/feeds.py): RSS, Atom and news sitemaps into items; junk into FeedError;
links canonical, story ids stable and unique; the window and keywords choose what is followed."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import ConfigError, StoryConfig, parse_config
from bot.feeds import FeedError, FeedItem, canonical_url, followed, item_story_id, read_feed
from bot.feedwatch import new_stories
from bot.fetch import decode_body
from bot.overlay import effective_config
from bot.sources import source_problems
from bot.storage import HeldState, HeldStory

FEEDS = Path(__file__).parent / "fixtures" / "feeds"


def fixture(name: str, content_type: str = "application/xml") -> str:
    """A fixture as the fetcher hands it over: bytes decoded by the one body decoder."""
    return decode_body((FEEDS / name).read_bytes(), content_type)


def test_rss_items_are_canonical_deduplicated_and_dated_in_utc() -> None:
    items = read_feed(fixture("world.rss"), "https://news.example/feeds/world.rss")
    assert items == [
        FeedItem(
            "https://news.example/world/port-strike.html?ref=w",
            "Port strike enters third day",
            datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
        ),
        FeedItem(
            "https://news.example/world/cafe-rents",  # relative link, resolved against the feed
            "Café owners protest rents",  # ISO-8859-1 bytes read right
            datetime(2026, 11, 29, 18, 30, tzinfo=UTC),
        ),
        FeedItem("https://news.example/world/undated", "Undated note", None),
    ]


def test_atom_entries_take_published_before_updated() -> None:
    items = read_feed(fixture("science.atom"), "https://science.example/atom.xml")
    assert items == [
        FeedItem(
            "https://science.example/2026/comet-brightens",
            "Comet <b>brightens</b>",  # title text as given; renderers escape what they post
            datetime(2026, 11, 30, 3, 0, tzinfo=UTC),
        ),
        FeedItem(
            "https://science.example/reef-survey", "Reef survey", datetime(2026, 11, 28, 12, tzinfo=UTC)
        ),
    ]


def test_google_news_sitemap_and_plain_sitemap_entries() -> None:
    items = read_feed(fixture("news-sitemap.xml"), "https://daily.example/sitemap-news.xml")
    assert items == [
        FeedItem(
            "https://daily.example/politics/budget-talks-stall",
            "Budget talks stall",
            datetime(2026, 11, 30, 6, 15, tzinfo=UTC),
        ),
        FeedItem("https://daily.example/city/bridge-reopens", None, datetime(2026, 11, 29, tzinfo=UTC)),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "<html><head><title>Oops</title></head><body><p>Server error</p></body></html>",
            "not an RSS or Atom",
        ),
        ("garbage, not XML at all", "not an RSS or Atom"),
        ('{"items": []}', "not an RSS or Atom"),
        ((FEEDS / "index-sitemap.xml").read_text(), "a sitemap index"),
        ('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>x', "not an RSS or Atom"),
    ],
)
def test_junk_is_a_feed_error_in_one_line(text: str, message: str) -> None:
    with pytest.raises(FeedError) as caught:
        read_feed(text, "https://news.example/feed")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_feed_never_reads_a_file_or_url_its_text_names(tmp_path: Path) -> None:
    """feedparser opens a string that looks like a path or URL itself; the reader never lets it."""
    secret = tmp_path / "feed.xml"
    secret.write_text((FEEDS / "science.atom").read_text(encoding="utf-8"), encoding="utf-8")
    for text in (str(secret), "http://127.0.0.1:9/feed"):
        with pytest.raises(FeedError):
            read_feed(text, "https://news.example/feed")


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://News.Example/a?utm_source=x&id=2&UTM_Medium=y#top", "https://news.example/a?id=2"),
        ("http://news.example:80", "http://news.example/"),
        ("https://news.example:8443/a", "https://news.example:8443/a"),
        ("https://news.example/a?b=1&a=2", "https://news.example/a?b=1&a=2"),  # order kept
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def test_story_ids_are_stable_unique_and_valid() -> None:
    first = item_story_id("world", "https://news.example/world/port-strike.html?utm_source=rss")
    assert first == item_story_id("world", "https://NEWS.example/world/port-strike.html#x")
    assert first.startswith("world-port-strike-") and len(first) == len("world-port-strike-") + 8
    other = item_story_id("world", "https://news.example/europe/port-strike.html")
    assert other != first and other.startswith("world-port-strike-")
    longest = item_story_id("f" * 32, "https://news.example/" + "very-long-slug-" * 20)
    config = parse_config({"stories": [{"id": i, "url": "https://x.example/"} for i in (first, longest)]})
    assert [s.id for s in config.stories] == [first, longest] and len(longest) <= 64
    assert re.fullmatch(r"world-[0-9a-f]{8}", item_story_id("world", "https://news.example/"))


def test_the_window_and_keywords_choose_the_items() -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    fresh = FeedItem("https://n.example/a", "Port strike", now - timedelta(hours=5))
    old = FeedItem("https://n.example/b", "Port strike ends", now - timedelta(days=4))
    undated = FeedItem("https://n.example/strike-c", None, None)
    other = FeedItem("https://n.example/d", "Weather", now - timedelta(hours=1))
    items = [fresh, old, undated, other]
    assert followed(items, now=now, window=timedelta(days=3)) == [fresh, undated, other]
    strike = parse_config({"feeds": [{**FEED, "keywords": ["Strike", " "]}]}).feeds[0]
    assert strike.keywords == ("Strike",)
    chosen = followed(items, now=now, window=timedelta(days=5), wanted=strike.keyword_matcher.any_in)
    assert chosen == [fresh, old, undated]
    strikes = FeedItem("https://n.example/e", "Strikes spread", now)  # whole words, as routes match
    assert followed([strikes], now=now, window=timedelta(days=1), wanted=strike.keyword_matcher.any_in) == []


FEED = {"id": "world", "url": "https://news.example/world.rss"}


def test_feeds_config_with_routes_naming_feeds() -> None:
    config = parse_config(
        {
            "feeds": [{**FEED, "window": "36h", "keywords": ["Strike"], "channels": ["slack:C1"]}],
            "routes": [
                {"feeds": ["world"], "channels": ["discord:9"]},
                {"stories": ["*"], "channels": ["console:all"]},
            ],
        }
    )
    (feed,) = config.feeds
    assert feed.window_seconds == 36 * 3600 and feed.keyword_matcher.any_in("A STRIKE at dawn")
    assert config.interval_for(feed) == config.storybot.interval
    story = StoryConfig(id="world-a-1234abcd", url="https://news.example/a", origin="feed:world")
    loose = StoryConfig(id="other", url="https://news.example/b")
    assert config.channels_for(story) == ("slack:C1", "discord:9", "console:all")
    assert config.channels_for(loose) == ("console:all",)


def test_a_route_naming_a_feed_keeps_its_excludes_and_kinds() -> None:
    config = parse_config(
        {
            "feeds": [FEED],
            "routes": [
                {"feeds": ["world"], "exclude": ["weather"], "channels": ["slack:C1"]},
                {"feeds": ["world"], "kinds": ["correction"], "channels": ["slack:C2"]},
            ],
        }
    )
    story = StoryConfig(id="world-a-1234abcd", url="https://news.example/a", origin="feed:world")
    assert config.channels_for(story, "Port strike", "update") == ("slack:C1",)
    assert config.channels_for(story, "Weather warning", "update") == ()
    assert config.channels_for(story, "Port strike", "correction") == ("slack:C1", "slack:C2")


@pytest.mark.parametrize(
    ("data", "key", "message"),
    [
        ({"feeds": [{**FEED, "window": "3 days"}]}, "feeds[0].window", "such as"),
        ({"feeds": [{**FEED, "window": "10m"}]}, "feeds[0].window", "between 1h and 90d"),
        ({"feeds": [{"id": "world", "url": "feed://x"}]}, "feeds[0].url", "http"),
        ({"feeds": [{"id": "w" * 33, "url": "https://x.example/"}]}, "feeds[0].id", "pattern"),
        ({"feeds": [{**FEED, "channels": ["C1"]}]}, "feeds[0].channels", "platform:channel_id"),
        ({"feeds": [{**FEED, "interval": 1}]}, "feeds[0].interval", "greater than or equal to 5"),
        ({"feeds": [{**FEED, "colour": "red"}]}, "feeds[0].colour", "unknown key"),
        ({"feeds": [{"url": "https://x.example/"}]}, "feeds[0].id", "required key"),
        ({"feeds": [FEED, FEED]}, "feeds", "duplicate id world"),
        (
            {"feeds": [FEED], "routes": [{"feeds": ["nope"], "channels": ["slack:C1"]}]},
            "routes[0].feeds",
            "nope",
        ),
        ({"routes": [{"channels": ["slack:C1"]}]}, "routes[0]", "'feeds' (feed ids)"),
        (
            {"stories": [{"id": "a", "url": "https://x.example/", "feed": "world"}]},
            "stories[0].feed",
            "unknown",
        ),
    ],
)
def test_bad_feed_config_names_the_key(data: dict[str, object], key: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "config.toml")
    assert any(p.startswith(key) and message in p for p in caught.value.problems), caught.value.problems


NOON = datetime(2026, 11, 30, 12, tzinfo=UTC)


def test_new_stories_are_held_once_by_link_with_their_window() -> None:
    config = parse_config(
        {
            "stories": [{"id": "strike", "url": "https://news.example/world/port-strike.html?ref=w&utm_x=1"}],
            "feeds": [{**FEED, "window": "2d", "item_interval": 60}],
        }
    )
    (feed,) = config.feeds
    held = HeldState(stories=(HeldStory(id="x", url="https://news.example/held#top", origin="chat"),))
    items = [
        FeedItem("https://news.example/world/port-strike.html?ref=w", "Declared in config.toml", None),
        FeedItem("https://news.example/held", "Held already", None),
        FeedItem("https://news.example/new", "New", NOON - timedelta(hours=1)),
        FeedItem("https://news.example/undated", None, None),
        FeedItem("https://news.example/ahead", "Dated 2099", datetime(2099, 1, 1, tzinfo=UTC)),
    ]
    added = new_stories(feed, items, config, held, NOON)
    assert [(s.url, s.title, s.origin, s.expires_at, s.interval) for s in added] == [
        ("https://news.example/new", "New", "feed:world", NOON + timedelta(days=2, hours=-1), 60),
        ("https://news.example/undated", "", "feed:world", NOON + timedelta(days=2), 60),
        ("https://news.example/ahead", "Dated 2099", "feed:world", NOON + timedelta(days=2), 60),
    ]
    assert [s.id for s in added] == [item_story_id("world", s.url) for s in added]
    again = HeldState(stories=(*held.stories, *added))  # expired or not, never added twice
    assert new_stories(feed, items, config, again, NOON + timedelta(days=5)) == []


def test_a_feeds_stories_are_followed_while_it_is_configured_and_in_their_window() -> None:
    held = HeldState(
        stories=(
            HeldStory(id="world-a-1", url="https://n.example/a", origin="feed:world", expires_at=NOON),
            HeldStory(id="gone-b-2", url="https://n.example/b", origin="feed:gone", expires_at=NOON),
            HeldStory(id="mine", url="https://n.example/c", origin="chat"),
        )
    )
    config = parse_config({"feeds": [FEED]})
    before = effective_config(config, held, NOON - timedelta(seconds=1))
    assert [(s.id, s.feed_id) for s in before.stories] == [("world-a-1", "world"), ("mine", None)]
    assert before.feeds == config.feeds
    assert [s.id for s in effective_config(config, held, NOON).stories] == ["mine"]


def test_check_names_a_refused_feed_url_by_its_key() -> None:
    config = parse_config({"feeds": [FEED, {"id": "local", "url": "http://127.0.0.1:8080/feed"}]})
    assert [p.split(":")[0] for p in source_problems(config)] == ["feeds[1].url"]


def test_the_documented_feed_examples_are_valid() -> None:
    """README's [[feeds]] example, and config.example.toml's once uncommented, load as written."""
    root = Path(__file__).parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    block = readme.split("# Following a feed\n", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    config = parse_config(tomllib.loads(block))
    assert config.feeds[0].id == "reuters-world" and config.routes[0].feeds == ("reuters-world",)
    example = (root / "config.example.toml").read_text(encoding="utf-8")
    lines = example.split("# [[feeds]]\n", 1)[1].split("\n\n", 1)[0].splitlines()
    uncommented = "[[feeds]]\n" + "\n".join(line.removeprefix("# ") for line in lines)
    (feed,) = parse_config(tomllib.loads(uncommented)).feeds
    assert feed.window_seconds == 3 * 86400 and feed.channels == ("console:newsroom",)


def test_a_feed_charset_given_only_in_its_xml_declaration_is_honoured() -> None:
    (item,) = read_feed(fixture("city-1251.rss", "application/rss+xml"), "https://novosti.example/rss")
    assert item.title == "Мост снова открыт" and item.published == datetime(2026, 11, 30, 3, tzinfo=UTC)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.text(max_size=400), st.sampled_from(sorted(p.name for p in FEEDS.iterdir())).map(fixture))
)
def test_any_text_is_items_or_a_feed_error(text: str) -> None:
    """Whatever a server sends, the reader answers with items or FeedError, never another
    exception (cut fixtures included)."""
    for body in (text, text[: len(text) // 2]):
        try:
            items = read_feed(body, "https://news.example/feed")
        except FeedError:
            continue
        assert all(i.url.startswith(("http://", "https://")) for i in items)
