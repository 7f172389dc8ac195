"""How a story's history reads: timeline order, which entry is "latest", the view and the alert.

Pure presentation rules, kept out of SQL so every storage backend shows a story the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.models import Alert, AlertKind, StoryView, TimelineEntry
from bot.redact import display_url
from bot.storage.rows import EventRow, SectionSeen, StoryRecord


def timeline(sections: Iterable[SectionSeen]) -> tuple[TimelineEntry, ...]:
    """Oldest first by publisher time, else by first sight (a section with no stamp sits
    where storybot first saw it)."""
    entries = [
        TimelineEntry(timestamp=s.published_at, seen_at=s.first_seen_at, label=s.label, summary=s.summary)
        for s in sections
    ]
    entries.sort(key=lambda e: (e.timestamp or e.seen_at).timestamp())
    return tuple(entries)


def latest(entries: tuple[TimelineEntry, ...]) -> TimelineEntry | None:
    """The newest update; the original only when the story has no update yet."""
    updates = [e for e in entries if e.label != "Original"]
    return updates[-1] if updates else (entries[-1] if entries else None)


def public_link(source: str) -> str | None:
    """The story's link as people may see it (no secrets); a local file has none."""
    return display_url(source) if source.startswith(("http://", "https://")) else None


def story_view(record: StoryRecord, sections: Iterable[SectionSeen]) -> StoryView:
    entries = timeline(sections)
    return StoryView(
        record.id,
        record.title or record.id,
        public_link(record.source),
        latest(entries),
        entries,
        record.subtitle,
    )


def alert_for(
    event: EventRow, record: StoryRecord, sections: Iterable[SectionSeen], members: Iterable[EventRow] = ()
) -> Alert:
    """The event as an alert. A catch-up shows the story as it stood when the channel was
    routed (a later update reaches that channel as its own alert); a digest carries its
    `members`, the updates it groups, oldest first."""
    if event.kind is AlertKind.CATCH_UP:
        sections = [s for s in sections if s.first_seen_at <= event.seen_at]
    updates = tuple(alert_for(m, record, ()) for m in members)
    return Alert(
        event_id=event.id,
        story_id=event.story_id,
        story_title=record.title or record.id,
        story_url=public_link(record.source),
        kind=event.kind,
        headline=event.headline,
        summary=event.summary,
        timestamp=event.published_at,
        seen_at=event.seen_at,
        timeline=timeline(sections),
        updates=updates,
    )
