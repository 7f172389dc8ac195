"""Following a feed: fetch it, read it, and hold each new item within its window as a story.

The feed goes through the same Fetcher as a story (address policy, size cap, deadline,
conditional GET: an unchanged feed is a 304 and no parsing; its ETag and Last-Modified are kept
in the store, so a restart or another worker reads conditionally too). What it lists becomes store-held
stories (`bot.storage.contract.HeldRoutes`, origin "feed:<id>", expiring `window` after the
item's publication) that `bot.overlay.effective_config` merges into the config; from there
they are polled like any story, so an item's first fetch is its silent baseline and only
later updates alert. A failed fetch or a body that is no feed changes nothing: it is logged,
and the stories already held stay.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.config import FEED_ORIGIN, Config, FeedConfig
from bot.feeds import FeedError, FeedItem, canonical_url, followed, item_story_id, read_feed
from bot.fetch import Fetcher
from bot.redact import display_url
from bot.storage import HeldState, HeldStory, Store, now_utc

log = logging.getLogger(__name__)

# A sitemap may list thousands of pages at once: each read starts following at most this many,
# in the feed's order, and the next read (a full one, not a conditional one) takes the rest, so
# one read never floods the polls.
MAX_NEW_PER_READ = 200


class FeedStatus(StrEnum):
    READ = "read"  # fetched and read; `added` says which items became stories
    NOT_MODIFIED = "not_modified"  # the origin answered 304: nothing read
    FAILED = "failed"  # the fetch failed or the body was no feed: nothing changed


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    feed_id: str
    status: FeedStatus
    added: tuple[str, ...] = ()  # ids of the stories this read began to track
    error: str | None = None


async def poll_feed(
    feed: FeedConfig,
    *,
    config: Config,
    fetcher: Fetcher,
    store: Store,
    now: datetime | None = None,
    max_new: int = MAX_NEW_PER_READ,
) -> FeedOutcome:
    """Read `feed` once and hold its new items (at most `max_new`) as stories. Never raises for
    bad fetches or feeds. `config` is the file's config (its stories' links are not tracked twice)."""
    at = now or now_utc()
    held_keys = await store.feed_validators(feed.url)  # kept in the store: a restart reads conditionally
    etag, last_modified = (held_keys.etag, held_keys.last_modified) if held_keys else (None, None)
    result = await fetcher.fetch(feed.url, etag=etag, last_modified=last_modified)
    if result.not_modified:
        return FeedOutcome(feed.id, FeedStatus.NOT_MODIFIED)
    if result.failed or result.text is None:
        error = result.error or "fetch failed"  # the fetcher has logged it
        log.error("feed %s: %s; its stories stay as they are", feed.id, error)
        return FeedOutcome(feed.id, FeedStatus.FAILED, error=error)
    try:
        # off the event loop: feedparser is pure Python, about 0.7 ms an item (140 ms for 200)
        items = await asyncio.to_thread(read_feed, result.text, feed.url)
    except FeedError as err:
        log.error("feed %s: %s at %s; its stories stay as they are", feed.id, err, display_url(feed.url))
        return FeedOutcome(feed.id, FeedStatus.FAILED, error=str(err))
    window = timedelta(seconds=feed.window_seconds)
    wanted = feed.keyword_matcher.any_in if feed.keywords else None
    chosen = followed(items, now=at, window=window, wanted=wanted)
    added = []
    fresh = new_stories(feed, chosen, config, await store.held(), at)
    if len(fresh) > max_new:
        log.warning(
            "feed %s: %d new items; following the first %d now, the rest from the next read",
            feed.id,
            len(fresh),
            max_new,
        )
    else:  # all taken: the next read may be a 304 (a capped one must read the feed again)
        await store.set_feed_validators(feed.url, result.etag, result.last_modified)
    for story in fresh[:max_new]:
        if await store.add_held_story(story):
            added.append(story.id)
    if added:
        log.info("feed %s: now tracking %d new item(s): %s", feed.id, len(added), ", ".join(added))
    return FeedOutcome(feed.id, FeedStatus.READ, tuple(added))


def new_stories(
    feed: FeedConfig, items: list[FeedItem], config: Config, held: HeldState, at: datetime
) -> list[HeldStory]:
    """The held stories to add for `items`: one per item not tracked yet, by id or by link
    (config.toml's stories and every held story, expired ones included, so an undated item is
    not followed again when its window ends). An item is followed for `window` from its
    publication, or from `at` when it is undated or dated ahead. Pure."""
    known_ids = {s.id for s in config.stories} | {s.id for s in held.stories}
    links = [s.url for s in config.stories] + [s.url for s in held.stories]
    known_urls = {canonical_url(url) for url in links if url}
    window = timedelta(seconds=feed.window_seconds)
    stories = []
    for item in items:
        story_id = item_story_id(feed.id, item.url)
        if story_id in known_ids or item.url in known_urls:
            continue
        known_ids.add(story_id)
        known_urls.add(item.url)
        stories.append(
            HeldStory(
                id=story_id,
                url=item.url,
                title=item.title or "",
                origin=FEED_ORIGIN + feed.id,
                added_by=FEED_ORIGIN + feed.id,
                expires_at=min(item.published or at, at) + window,  # a date ahead counts as now
                interval=feed.item_interval or feed.interval,
            )
        )
    return stories
