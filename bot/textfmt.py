"""Plain-text forms of alerts and story views: the console's output and every platform's fallback."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.models import Alert, AlertKind, Notice, StoryView, TimelineEntry
from bot.summarize import cut

TIMELINE_SHORT = 5
TIMELINE_CHARS = 140
CATCH_UP_SHOWN = 10  # updates a catch-up lists; earlier ones are counted


def _short(summary: str) -> str:
    return summary if len(summary) <= TIMELINE_CHARS else cut(summary, TIMELINE_CHARS)


def format_time(ts: datetime | None) -> str:
    """'Nov 11, 2022 7:36 AM CST' in the publisher's own zone."""
    if ts is None:
        return "time not given"
    hour = ts.strftime("%I").lstrip("0")
    return (
        f"{ts.strftime('%b')} {ts.day}, {ts.year} {hour}:{ts.strftime('%M %p')} {ts.tzname() or ''}".strip()
    )


def entry_moment(entry: TimelineEntry) -> datetime:
    """When an entry happened: the publisher's time, else when storybot first saw it."""
    return entry.timestamp or entry.seen_at


def entry_time(entry: TimelineEntry) -> str:
    return format_time(entry.timestamp) if entry.timestamp else f"seen {format_time(entry.seen_at)}"


def timeline_lines(entries: tuple[TimelineEntry, ...], limit: int | None = TIMELINE_SHORT) -> list[str]:
    """Newest first; with a limit, the rest is counted rather than shown."""
    newest_first = list(reversed(entries))
    shown = newest_first if limit is None else newest_first[:limit]
    lines = [f"- {entry_time(e)}: {e.label}. {_short(e.summary)}" for e in shown]
    if len(newest_first) > len(shown):
        lines.append(f"- ... and {len(newest_first) - len(shown)} earlier")
    return lines


def render_view(view: StoryView, *, full: bool = False) -> str:
    """The /story answer as text; `full` gives the whole timeline rather than the latest few."""
    lines = [view.title]
    if view.latest is not None:
        lines.append(f"Latest: {view.latest.label}, {entry_time(view.latest)}")
        lines.append(view.latest.summary)
    else:
        lines.append("Tracked, but not fetched yet.")
    if view.timeline:
        lines.append("Timeline:")
        lines += timeline_lines(view.timeline, None if full else TIMELINE_SHORT)
    if view.url:
        lines.append(view.url)
    return "\n".join(lines)


# What each kind of alert is called, on every platform.
ALERT_LEADS = {
    AlertKind.NEW_UPDATE: "New update",
    AlertKind.SECTION_EDITED: "Revised",
    AlertKind.HEADLINE_CHANGED: "Headline changed",
    AlertKind.TRACKING: "Now tracking",
    AlertKind.CATCH_UP: "The story so far",
    AlertKind.DIGEST: "Digest",
    AlertKind.STORY_PAUSED: "Story paused",
}


# Section labels that name an alert themselves: a Correction is a Correction on every platform.
OWN_NAMES = frozenset({"Correction", "Editor's note"})


def alert_label(alert: Alert) -> str:
    """What the alert is called on every platform: 'New update', 'Correction', 'Revised', ...
    An edit, or a note about one, is a 'Correction' when the section is one, else 'Revised'."""
    if alert.note or alert.kind is AlertKind.SECTION_EDITED:
        return "Correction" if alert.label == "Correction" else "Revised"
    if alert.kind is AlertKind.NEW_UPDATE and alert.label in OWN_NAMES:
        return alert.label
    return ALERT_LEADS[alert.kind]


def alert_time(alert: Alert) -> datetime:
    """The time an alert (or a note) shows: for an edit, when it was made (when storybot saw
    it: publishers rarely stamp edits), not when the section was first published; else the
    publisher's time (a Correction's own stamp), or first sight."""
    if alert.kind is AlertKind.SECTION_EDITED:
        return alert.seen_at
    return alert.timestamp or alert.seen_at


@dataclass(frozen=True, slots=True)
class StorySoFar:
    """What a catch-up shows: the original, the latest updates oldest first, and how many
    earlier ones were left out. One rule for every platform."""

    original: TimelineEntry | None
    updates: tuple[TimelineEntry, ...]
    earlier: int


def story_so_far(alert: Alert, limit: int = CATCH_UP_SHOWN) -> StorySoFar:
    entries = alert.timeline
    original = next((e for e in entries if e.label == "Original"), None)
    updates = tuple(e for e in entries if e is not original)
    shown = updates[-limit:] if limit else ()
    return StorySoFar(original, shown, len(updates) - len(shown))


def earlier_note(count: int) -> str:
    """'and 3 earlier updates': what a catch-up says of the updates it leaves out."""
    return f"and {count} earlier update{'' if count == 1 else 's'}"


def digest_title(alert: Alert) -> str:
    """'3 updates to <story title>'."""
    count = len(alert.updates)
    return f"{count} update{'' if count == 1 else 's'} to {alert.story_title}"


def catch_up_lines(alert: Alert) -> list[str]:
    """A catch-up as plain text: the original's summary, then each update in order."""
    so_far = story_so_far(alert)
    lines = []
    if so_far.original is not None:
        lines.append(f"Original, {entry_time(so_far.original)}: {so_far.original.summary}")
    if so_far.earlier:
        lines.append(f"... {earlier_note(so_far.earlier)}")
    lines += [f"- {entry_time(e)}: {e.label}. {_short(e.summary)}" for e in so_far.updates]
    return lines or ["Nothing stored yet."]


def digest_lines(alert: Alert) -> list[str]:
    """A digest as plain text: each update's headline and summary, oldest first. A member's
    headline names what it is ('Correction', 'Update edited (20% changed)'); an edit shows
    when it was revised, as its own alert would."""
    return [f"- {u.headline}, {alert_when(u)}: {u.summary}" for u in alert.updates]


def alert_when(update: Alert) -> str:
    """An alert's time as text: the publisher's, else 'seen <first sight>'; an edit's, 'revised <when>'.
    What a digest member and the console's alert both show."""
    if update.kind is AlertKind.SECTION_EDITED:
        return f"revised {format_time(alert_time(update))}"
    return format_time(update.timestamp) if update.timestamp else f"seen {format_time(update.seen_at)}"


def alert_lead(alert: Alert) -> str:
    """'New update: <story title>'; a digest says how many: '3 updates to <story title>'."""
    if alert.kind is AlertKind.DIGEST:
        return digest_title(alert)
    return f"{alert_label(alert)}: {alert.story_title}"


def notice_text(notice: Notice) -> str:
    """A notice as plain lines: what happened to which story, why, and how to undo it."""
    return (
        f"{ALERT_LEADS[notice.kind]}: {notice.story_title} ({notice.story_id})\n"
        f"{notice.headline}; last error: {notice.reason}\n"
        f"No more polls until an admin runs {notice.resume_command} or its entry in config.toml changes."
    )
