"""Which stories are due for a poll: pure, so the periodic tick is a query and this."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from bot.config import Config


def due_stories(config: Config, checked: Mapping[str, datetime | None], now: datetime) -> list[str]:
    """Ids of configured stories never checked, or last checked an interval or more ago,
    in config order. A story's failure backoff is a scheduled job, not a rule here."""
    return [
        story.id
        for story in config.stories
        if (last := checked.get(story.id)) is None
        or now - last >= timedelta(seconds=config.interval_for(story))
    ]
