"""Config -> the catalog a store keeps: story entries and routes. The store never reads config."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from bot.config import Config
from bot.models import Alert, AlertKind
from bot.routing import kind_name
from bot.storage import Store, StoryEntry


def story_entries(config: Config) -> list[StoryEntry]:
    return [StoryEntry(s.id, s.source, s.title or "", s.aliases) for s in config.stories]


def story_routes(config: Config) -> list[tuple[str, str]]:
    """(story id, channel) for every channel routed to a story by id ("*" included) or feed,
    muted or not: a mute is silence, not a route taken away, so its end adds no route (and queues
    no catch-up). Keyword routes are decided per event, by the pipeline, so no story is searched
    for them."""
    return [(s.id, channel) for s in config.stories for channel in config.routed_channels(s)]


def named_routes(config: Config) -> set[tuple[str, str]]:
    """(story id, channel) for routes that name the story: the ones a newly routed channel is
    caught up on. A "*" route follows every story from now on; catching its channel up on
    each tracked story would be the burst of old alerts a catch-up exists to avoid. A catch-up
    is the story's updates so far: a route whose `kinds` take no updates gets none, nor a
    channel routed while it has the story muted (the route is recorded, so the mute's end
    brings none either)."""
    return {
        (story_id, channel)
        for route in config.routes
        if "update" in route.kinds
        for story_id in route.stories
        if story_id != "*"
        for channel in route.channels
        if not config.muted(story_id, channel)
    }


async def sync_catalog(store: Store, config: Config) -> list[tuple[str, str]]:
    """Sync the store to `config`. Every way a channel becomes routed to a story (an edit of
    config.toml, a start, a route added in chat) ends here, so this is where a newly routed
    channel's catch-up is queued (by the store, in the sync's transaction) for each route that
    names its story. Returns the (story id, channel) routes that got one: wake the dispatcher.
    The routes are worked out in a thread: a route's `exclude` regexes are searched in each
    story's title, and thousands of stories must not hold up the event loop."""
    routes = await asyncio.to_thread(story_routes, config)
    return await store.sync_stories(story_entries(config), routes, named_routes(config))


def catch_up_for(config: Config, alert: Alert, channel: str) -> Alert:
    """A catch-up as `channel` gets it: the original, and of the updates only those its routes
    would have sent it (their `kinds`, their `exclude` words, their keywords where keywords
    chose it). The store builds the story so far; the routes, read when it is sent, choose."""
    story = config.story(alert.story_id)
    if alert.kind is not AlertKind.CATCH_UP or story is None:
        return alert
    kept = tuple(
        entry
        for entry in alert.timeline
        if entry.label == "Original"
        or config.sends_to(
            story,
            channel,
            f"{alert.story_title} {entry.summary}",
            kind_name(AlertKind.NEW_UPDATE, entry.label),
        )
    )
    return replace(alert, timeline=kept)
