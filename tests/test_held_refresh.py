"""How often the app re-reads what the store holds (StoryBot.refresh_held, every few seconds):
only when the store's held revision moved, or a held story merged in has expired."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import StoryBot
from bot.config import parse_config
from bot.storage import HeldStory, Subscription
from tests.helpers import LOCAL_SOURCES


def channels_routed(bot: StoryBot) -> list[str]:
    return sorted(c for route in bot.config.routes for c in route.channels)


async def test_held_rows_are_re_read_only_when_the_revision_moved(tmp_path: Path) -> None:
    database = tmp_path / "s.db"
    config = parse_config(
        {
            "storybot": {"database": str(database), **LOCAL_SOURCES},
            "stories": [{"id": "kherson", "path": "kherson.txt"}],
        },
        "test",
        tmp_path,
    )
    async with await StoryBot.create(config) as bot:
        assert await bot.refresh_held() is False  # nothing changed since the start
        # a row written behind the store's back (no revision move) shows the app does not read
        # the held rows while the revision stands still
        with sqlite3.connect(database) as raw:
            raw.execute(
                "INSERT INTO subscriptions (channel, story_id, keywords, added_by, added_at, digest)"
                " VALUES ('rec:quiet', 'kherson', '', '', '2026-11-30T12:00:00.000000Z', 'immediate')"
            )
        raw.close()
        assert await bot.refresh_held() is False and channels_routed(bot) == []

        assert await bot.store.add_subscription(Subscription("rec:loud", story_id="kherson"))
        assert await bot.refresh_held() is True  # the revision moved: everything is read again
        assert channels_routed(bot) == ["rec:loud", "rec:quiet"]
        assert await bot.refresh_held() is False


async def test_expired_feed_stories_are_not_loaded_and_a_new_one_is(tmp_path: Path) -> None:
    config = parse_config(
        {
            "storybot": {"database": str(tmp_path / "s.db"), **LOCAL_SOURCES},
            "feeds": [{"id": "ap", "url": "http://127.0.0.1:9/feed.xml"}],
        },
        "test",
        tmp_path,
    )
    now = datetime.now(UTC)
    async with await StoryBot.create(config) as bot:
        for n in range(50):  # kept for retention_days so the feed does not follow them again
            story = HeldStory(f"old{n}", url=f"http://127.0.0.1:9/{n}", origin="feed:ap", expires_at=now)
            assert await bot.store.add_held_story(story)
        assert await bot.refresh_held() is False  # the revision moved, but nothing live changed
        assert bot.config.stories == ()
        fresh = HeldStory(
            "new", url="http://127.0.0.1:9/new", origin="feed:ap", expires_at=now + timedelta(days=1)
        )
        assert await bot.store.add_held_story(fresh)
        assert await bot.refresh_held() is True
        assert [s.id for s in bot.config.stories] == ["new"]
