"""Store-held stories and routes -> the one Config the whole app runs on.

config.toml declares stories and routes; chat, the CLI and feeds add more at runtime, kept in
the store (`bot.storage.contract.HeldRoutes`). `effective_config` merges the two, purely, so
the pipeline, the catalog sync, the scheduler and the workers' tick see one Config and need
no special case: held stories become `StoryConfig`s with their `origin`, subscriptions become
`RouteConfig`s, mutes become `MuteConfig`s that `Config.channels_for` honours.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pydantic import ValidationError

from bot.config import FEED_ORIGIN, Config, MuteConfig, RouteConfig, StoryConfig
from bot.storage import HeldState, HeldStory, Subscription, now_utc

log = logging.getLogger(__name__)

CHAT = "chat"


def effective_config(config: Config, held: HeldState, now: datetime | None = None) -> Config:
    """`config` plus what the store holds. A config.toml story wins over a held one with its id
    (the held one is left out, with a warning); held stories past `expires_at` (at `now`), those
    of a feed config.toml no longer lists, and rows that no longer validate are left out.
    Pure: same inputs, same Config."""
    if not (held.stories or held.subscriptions or held.mutes):
        return config
    at = now or now_utc()
    declared = {s.id for s in config.stories}
    stories = list(config.stories)
    feeds = {FEED_ORIGIN + f.id for f in config.feeds}
    for row in held.stories:
        if row.id in declared:
            log.warning("held story %s is left out: config.toml declares a story with that id", row.id)
        elif row.origin.startswith(FEED_ORIGIN) and row.origin not in feeds:
            continue  # its feed was taken out of config.toml: its stories are no longer followed
        elif row.expires_at is None or row.expires_at > at:
            story = _story(row)
            if story is not None:
                stories.append(story)
    routes = [*config.routes, *(r for r in map(_route, held.subscriptions) if r is not None)]
    mutes = tuple(MuteConfig(story_id=m.story_id, channel=m.channel, until=m.until, added_by=m.added_by)
                  for m in held.mutes)  # fmt: skip
    fields = {name: getattr(config, name) for name in Config.model_fields}  # every table, as given
    return Config(**(fields | {"stories": tuple(stories), "routes": tuple(routes), "mutes": mutes}))


def _story(row: HeldStory) -> StoryConfig | None:
    try:
        return StoryConfig(
            id=row.id,
            url=row.url,
            path=row.path,
            title=row.title or None,
            aliases=row.aliases,
            interval=row.interval,
            origin=row.origin,
        )
    except ValidationError as err:
        log.warning("held story %s is left out: %s", row.id, err.errors()[0]["msg"])
        return None


def _route(sub: Subscription) -> RouteConfig | None:
    try:
        return RouteConfig(
            stories=(sub.story_id,) if sub.story_id else (),
            keywords=sub.keywords,
            channels=(sub.channel,),
            origin=CHAT,
            added_by=sub.added_by,
            digest=sub.digest,
        )
    except ValidationError as err:
        log.warning("subscription of %s is left out: %s", sub.channel, err.errors()[0]["msg"])
        return None
