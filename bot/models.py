"""Plain data that flows through the pipeline: no I/O, no platform knowledge.

fetch -> parse gives a `Story`; diff gives `Event`s; the store turns stored events into
`Alert`s for adapters; commands answer with a `Reply`. Adapters render these, nothing more.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class SectionKind(StrEnum):
    UPDATE = "update"
    ORIGINAL = "original"


def normalise_text(text: str) -> str:
    """Fold the differences a reader cannot see: Unicode forms, NBSP, runs of white space."""
    text = unicodedata.normalize("NFKC", text)
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text  # no white space but single inner spaces: folded already (parsed text is)
    return " ".join(text.split())  # the same white space as r"\s+", several times faster


def fingerprint(paragraphs: tuple[str, ...] | list[str]) -> str:
    """A stable id for a section body that survives reflowed paragraphs and white space."""
    body = normalise_text(" ".join(paragraphs)).casefold()
    return hashlib.blake2b(body.encode(), digest_size=12).hexdigest()


@dataclass(frozen=True, slots=True)
class Section:
    """One dated block of a story: an update, or the original text."""

    kind: SectionKind
    header: str
    timestamp: datetime | None
    paragraphs: tuple[str, ...]
    fingerprint: str = ""

    def __post_init__(self) -> None:
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", fingerprint(self.paragraphs))

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def label(self) -> str:
        """What a reader would call this section: Original, Update, Correction, Editor's note."""
        if self.kind is SectionKind.ORIGINAL:
            return "Original"
        header = self.header.casefold()
        if "correction" in header:
            return "Correction"
        if "editor" in header:
            return "Editor's note"
        return "Update"


@dataclass(frozen=True, slots=True)
class Story:
    """A parsed story. Empty `sections` means nothing usable; `problems` says why."""

    title: str = ""
    subtitle: str = ""
    byline: str = ""
    posted: datetime | None = None
    updated: datetime | None = None
    sections: tuple[Section, ...] = ()
    problems: tuple[str, ...] = ()
    revision: int = 0  # a wire headline's "UPDATE 2-" number: the story was updated in place
    reader: int = 0  # the version of the reader that made it (bot.read.READER); 0: unknown

    @property
    def is_empty(self) -> bool:
        return not self.sections

    @property
    def updates(self) -> tuple[Section, ...]:
        return tuple(s for s in self.sections if s.kind is SectionKind.UPDATE)


# --- diff events -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewUpdate:
    section: Section


@dataclass(frozen=True, slots=True)
class SectionEdited:
    old: Section
    new: Section
    change: float  # 0..1, share of the body that differs


@dataclass(frozen=True, slots=True)
class HeadlineChanged:
    old: str
    new: str


Event = NewUpdate | SectionEdited | HeadlineChanged


# --- what adapters render ----------------------------------------------------------------


class AlertKind(StrEnum):
    NEW_UPDATE = "new_update"
    SECTION_EDITED = "section_edited"
    HEADLINE_CHANGED = "headline_changed"
    TRACKING = "tracking"
    CATCH_UP = "catch_up"  # a channel newly routed to a story: the story so far, in one message
    DIGEST = "digest"  # a digest route's updates of one story over its period, in one message
    STORY_PAUSED = "story_paused"  # not news: a Notice to the admins (see Notice)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of a story's history: when, what kind, and its short summary."""

    timestamp: datetime | None  # the publisher's time, tz-aware, when the page gives one
    seen_at: datetime  # when storybot first saw it
    label: str  # "Update", "Original", "Correction", ...
    summary: str


@dataclass(frozen=True, slots=True)
class Alert:
    """One stored event, ready to post. Text here is raw story text: renderers escape it."""

    event_id: int
    story_id: str
    story_title: str
    story_url: str | None
    kind: AlertKind
    headline: str
    summary: str
    timestamp: datetime | None
    seen_at: datetime
    timeline: tuple[TimelineEntry, ...] = ()
    label: str = ""  # the section's own name: "Update", "Correction", "Editor's note", "Original"
    # Set on an alert already posted and now edited in place: when it was corrected, and what
    # the correction said. Renderers mark it "corrected <time>".
    corrected_at: datetime | None = None
    correction: str = ""
    # A short note, posted in the story's thread, saying what a correction changed in an
    # alert already posted (which is edited in place beside it).
    note: bool = False
    # the timeline in one line ("3rd update since Nov 9"), made by the core (bot.timeline) so
    # every platform says the same; empty when the story has no update to count
    progress: str = ""
    updates: tuple[Alert, ...] = ()  # a digest's member alerts, oldest first; empty otherwise


@dataclass(frozen=True, slots=True)
class Notice:
    """A word to the admins about storybot itself, not story news: a story kept failing and was
    paused. Stored as an event and delivered to `[storybot] admin_channels` exactly as an
    alert is (claimed, keyed, looked up before a resend), so it is told once, restarts included.
    Text here is raw: renderers escape it."""

    event_id: int
    story_id: str
    story_title: str
    kind: AlertKind
    headline: str  # "Paused after 10 failed polls in a row"
    reason: str  # the last error
    seen_at: datetime  # when it was paused

    @property
    def resume_command(self) -> str:
        return f"/story resume {self.story_id}"


@dataclass(frozen=True, slots=True)
class StoryBrief:
    """A tracked story as a list entry or a suggestion."""

    id: str
    title: str
    aliases: tuple[str, ...] = ()
    updated: datetime | None = None
    suspect: str | None = None  # why the last fetch was not taken as the story, if it was not
    origin: str = ""  # who added it, for lists: "config.toml", "chat", "feed <id>"; "" unsaid


@dataclass(frozen=True, slots=True)
class StoryView:
    """What `/story <query>` shows about one story."""

    id: str
    title: str
    url: str | None
    latest: TimelineEntry | None
    timeline: tuple[TimelineEntry, ...]
    subtitle: str = ""


class ReplyKind(StrEnum):
    STORY = "story"
    TIMELINE = "timeline"
    LIST = "list"
    HELP = "help"
    NOT_FOUND = "not_found"
    ERROR = "error"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Reply:
    """A command's answer. `text` is a complete plain-text answer; the rest lets adapters
    render richer forms. Text here is raw: renderers escape it."""

    kind: ReplyKind
    text: str
    story: StoryView | None = None
    stories: tuple[StoryBrief, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Caller:
    """Who typed a command, and where. `roles`: the caller's role ids on platforms that have
    them (Discord). `operator`: the person at the server's terminal (the CLI), who may do
    anything config.toml lets them do anyway."""

    platform: str
    user_id: str
    channel_id: str | None = None
    roles: tuple[str, ...] = ()
    operator: bool = False

    @property
    def ref(self) -> str:
        """Who, as stored beside what they added: 'slack:U0123', or 'cli:<login>'."""
        return f"cli:{self.user_id}" if self.operator else f"{self.platform}:{self.user_id}"

    @property
    def channel(self) -> str | None:
        return f"{self.platform}:{self.channel_id}" if self.channel_id else None
