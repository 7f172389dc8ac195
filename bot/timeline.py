"""How a story's history reads: timeline order, which entry is "latest", the view and the alert.

Pure presentation rules, kept out of SQL so every storage backend shows a story the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.models import Alert, AlertKind, Notice, StoryView, TimelineEntry
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


def joined_view(rows: Sequence[Any], section: Callable[[Any], SectionSeen]) -> StoryView | None:
    """The view from one statement's rows: the story's `id`, `source`, `title`, `subtitle` on
    each, and one row per current section (`fingerprint` NULL when it has none); None for no
    rows (no such story). `section` reads a section from a row, as its backend stores it."""
    if not rows:
        return None
    first = rows[0]
    record = StoryRecord(first["id"], first["source"], first["title"], first["subtitle"])
    return story_view(record, (section(r) for r in rows if r["fingerprint"] is not None))


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, ..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def short_date(moment: datetime, reference: datetime | None = None) -> str:
    """'Nov 9' in the moment's own zone (the publisher's); with the year when it is not
    `reference`'s year."""
    text = f"{moment:%b} {moment.day}"
    return text if reference is not None and reference.year == moment.year else f"{text}, {moment.year}"


def progress(event: EventRow, sections: Sequence[SectionSeen]) -> str:
    """The timeline as one line: '3rd update since Nov 9' for a new update (its place among
    the story's updates, counted from the original's date), '3 updates since Nov 9' for
    other events. Empty when there is no update to count."""
    ordered = sorted(sections, key=lambda s: (s.published_at or s.first_seen_at).timestamp())
    updates = [s for s in ordered if s.label != "Original"]
    if not ordered or not updates:
        return ""
    start = next((s for s in ordered if s.label == "Original"), ordered[0])
    since = short_date(start.published_at or start.first_seen_at, event.published_at or event.seen_at)
    if event.kind is AlertKind.NEW_UPDATE:
        places = [n for n, s in enumerate(updates, 1) if s.fingerprint == event.fingerprint]
        moment = (event.published_at or event.seen_at).timestamp()
        earlier = sum((s.published_at or s.first_seen_at).timestamp() < moment for s in updates)
        place = places[0] if places else earlier + 1  # its section gone from the page: by time
        return f"{ordinal(place)} update since {since}"
    return f"{len(updates)} update{'' if len(updates) == 1 else 's'} since {since}"


def alert_for(
    event: EventRow, record: StoryRecord, sections: Iterable[SectionSeen], members: Iterable[EventRow] = ()
) -> Alert:
    """The event as an alert. A catch-up shows the story as it stood when the channel was
    routed (a later update reaches that channel as its own alert); a digest carries its
    `members`, the updates it groups, oldest first."""
    sections = tuple(sections)
    if event.kind is AlertKind.CATCH_UP:
        sections = tuple(s for s in sections if s.first_seen_at <= event.seen_at)
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
        label=event.label,
        progress=progress(event, sections),
        updates=updates,
    )


def corrected_alert(target: Alert, correction: EventRow, revised_summary: str | None) -> Alert:
    """The earlier alert `target` as it reads once `correction` is applied: the revised
    section's summary (the target's own when the section's text did not change, as when a
    Correction section is added under it), marked with when it was corrected (a Correction's
    own stamp, else when storybot saw the edit) and what the correction said."""
    stamped = correction.kind is AlertKind.NEW_UPDATE and correction.published_at is not None
    return replace(
        target,
        summary=revised_summary or target.summary,
        corrected_at=correction.published_at if stamped else correction.seen_at,
        correction=correction.summary,
    )


def message_for(
    event: EventRow, record: StoryRecord, sections: Iterable[SectionSeen], members: Iterable[EventRow] = ()
) -> Alert | Notice:
    """What a stored event posts as: a Notice for the admins' kinds, else an Alert."""
    if event.kind is AlertKind.STORY_PAUSED:
        return Notice(
            event_id=event.id,
            story_id=event.story_id,
            story_title=record.title or record.id,
            kind=event.kind,
            headline=event.headline,
            reason=event.summary,
            seen_at=event.seen_at,
        )
    return alert_for(event, record, sections, members)
