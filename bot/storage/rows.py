"""Typed rows that cross the storage contract: what callers hand a store and what it hands back.

Plain frozen dataclasses, no I/O, the same for every backend, so a caller never learns which
database it talks to and SQL never leaks past `bot.storage`.
The readers at the end build rows back from what a backend fetched, where both read the same
columns the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from bot.models import AlertKind, Story


def now_utc() -> datetime:
    return datetime.now(UTC)


class Row(Protocol):
    """A fetched row read by column name: sqlite3.Row and psycopg's dict rows both are one."""

    def __getitem__(self, key: str, /) -> Any: ...


Moment = Callable[[Any], datetime | None]  # a backend's reader of one stored time column


@dataclass(frozen=True, slots=True)
class StoryEntry:
    """One tracked story as the catalog needs it: built from config by the app, so the store
    never reads config itself."""

    id: str
    source: str
    title: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def digest(self) -> str:
        """A hash of what the catalog keeps of the entry: a sync rewrites only entries whose
        digest changed, so a start or reload of 10,000 unchanged stories writes nothing."""
        text = "\x1f".join((self.source, self.title, *self.aliases))
        return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


@dataclass(frozen=True, slots=True)
class StoryRecord:
    """A story's identity as stored: what a view shows above its timeline."""

    id: str
    source: str
    title: str
    subtitle: str


@dataclass(frozen=True, slots=True)
class LastVersion:
    """The newest successful version of a story: the diff base and the conditional-GET keys.
    `id` is what `record_version` is handed back, to prove the base is still current."""

    id: int
    story: Story
    content_hash: str | None
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True, slots=True)
class Validators:
    """What a poll needs before fetching: the conditional-GET keys and content hash of the
    newest good version, without loading the stored story (a 304 needs none of it)."""

    content_hash: str | None
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True, slots=True)
class SectionRecord:
    """A section as first seen; its fingerprint is unique per story."""

    fingerprint: str
    kind: str
    label: str
    header: str
    published_at: datetime | None
    body: str
    summary: str


@dataclass(frozen=True, slots=True)
class SectionSeen:
    """A section of the current version with when it was first seen: a timeline line to be."""

    fingerprint: str
    label: str
    published_at: datetime | None
    first_seen_at: datetime
    summary: str


@dataclass(frozen=True, slots=True)
class EventRecord:
    """An event as the pipeline hands it to the store, summary and routed channels included:
    `channels` get it at once, `held` (channel, period in seconds) in their next digest."""

    kind: AlertKind
    headline: str
    summary: str
    published_at: datetime | None = None
    fingerprint: str | None = None
    change: float | None = None
    channels: tuple[str, ...] = ()
    label: str = ""  # the section's name (Update, Correction, ...): how every platform labels it
    # A correction of a section alerted before: the fingerprint that alert showed, and the one
    # the section has now. The store finds the earlier alert by the first (bot.deliver edits it
    # in place where it was posted) and shows the second's text in it.
    corrects: str | None = None
    revised: str | None = None
    held: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class EventRow:
    """A stored event."""

    id: int
    story_id: str
    version_id: int
    kind: AlertKind
    headline: str
    summary: str
    published_at: datetime | None
    seen_at: datetime
    fingerprint: str | None = None
    change: float | None = None
    label: str = ""
    target_event_id: int | None = None  # the earlier alert this event corrects, if it was alerted
    revised_fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class FetchMeta:
    content_hash: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    http_status: int | None = None


class DeliveryAction(StrEnum):
    """What a delivery does on its platform. A correction of an alert already posted is two
    deliveries per channel: the edit of that alert, and a note in the story's thread."""

    POST = "post"  # post the event's alert
    EDIT = "edit"  # edit the earlier alert (the target event's post in this channel) in place
    NOTE = "note"  # post a short note saying what the correction changed


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its time (next_attempt_at)
    CLAIMED = "claimed"  # a sender took it and may have reached the platform: reconcile before resending
    SENT = "sent"
    FAILED = "failed"  # for good


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    """A delivery a sender may take: one event for one channel."""

    id: int
    event_id: int
    story_id: str
    channel: str  # "platform:channel_id"
    attempts: int
    claimed_at: datetime | None = None  # first claimed (a send began) and not recorded since
    action: DeliveryAction = DeliveryAction.POST
    target_event_id: int | None = None  # EDIT, NOTE: the event whose earlier alert is corrected

    @property
    def platform(self) -> str:
        return self.channel.partition(":")[0]

    @property
    def channel_id(self) -> str:
        return self.channel.partition(":")[2]


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """A delivery as stored, for status output and tests."""

    id: int
    event_id: int
    channel: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None = None
    message_id: str | None = None
    thread_id: str | None = None
    sent_at: datetime | None = None
    claimed_at: datetime | None = None
    action: DeliveryAction = DeliveryAction.POST


@dataclass(frozen=True, slots=True)
class SentMessage:
    """Where an alert was posted in one channel: what an edit of it needs."""

    message_id: str
    thread_id: str | None = None


# --- store-held stories and routes: what chat, the CLI and feeds add beside config.toml ---------


@dataclass(frozen=True, slots=True)
class HeldStory:
    """A story added at runtime and kept in the store, not in config.toml. `origin` says who
    holds it: "chat" or "cli" (a person), "feed:<feed id>" (a followed feed). A story past its
    `expires_at` is no longer tracked (bot.overlay leaves it out)."""

    id: str
    url: str | None = None
    path: str | None = None
    title: str = ""
    aliases: tuple[str, ...] = ()
    origin: str = "chat"
    added_by: str = ""
    added_at: datetime | None = None  # None: the store stamps the time it is added
    expires_at: datetime | None = None
    interval: float | None = None


@dataclass(frozen=True, slots=True)
class Subscription:
    """A channel ('platform:id') that gets one story's alerts (`story_id`) or the alerts of
    every story whose title or update mentions one of `keywords` (casefolded), at once or
    (`digest`, a route's period such as "1h") grouped into one message per story per period."""

    channel: str
    story_id: str = ""
    keywords: tuple[str, ...] = ()
    added_by: str = ""
    added_at: datetime | None = None  # None: the store stamps the time it is added
    digest: str = "immediate"  # as a route's `digest` (bot.config.RouteConfig)


@dataclass(frozen=True, slots=True)
class Mute:
    """A channel that gets none of a story's alerts until `until` (None: until unmuted)."""

    story_id: str
    channel: str
    until: datetime | None = None
    added_by: str = ""


@dataclass(frozen=True, slots=True)
class HeldState:
    """Everything the store holds beside config.toml, read in one snapshot: what
    `bot.overlay.effective_config` merges into the config the app runs on."""

    stories: tuple[HeldStory, ...] = ()
    subscriptions: tuple[Subscription, ...] = ()
    mutes: tuple[Mute, ...] = ()


@dataclass(frozen=True, slots=True)
class StoryHealth:
    """How a story's polls are going: what `/story status` lists and what keeps a paused
    story from being polled. `failures` counts failed polls in a row, kept in the store so a
    restart or another worker continues the count."""

    id: str
    failures: int
    last_error: str | None
    worked_at: datetime | None  # the last poll that read the story (a good fetch, a 304, same bytes)
    paused_at: datetime | None = None
    suspect: str | None = None

    @property
    def paused(self) -> bool:
        return self.paused_at is not None


@dataclass(frozen=True, slots=True)
class FailedDelivery:
    """A delivery that failed for good, with what it was and why: for `/story status`."""

    id: int
    story_id: str
    channel: str
    kind: AlertKind
    headline: str
    error: str | None
    attempts: int


# --- rows read back: the same columns decode the same way on every backend -----------------


def pending_of(r: Row, moment: Moment) -> PendingDelivery:
    return PendingDelivery(
        r["id"], r["event_id"], r["story_id"], r["channel"], r["attempts"], moment(r["claimed_at"]),
        DeliveryAction(r["action"]), r["target_event_id"],
    )  # fmt: skip


def health_of(r: Row, moment: Moment) -> StoryHealth:
    return StoryHealth(
        r["id"], r["failures"], r["last_error"], moment(r["worked_at"]), moment(r["paused_at"]), r["suspect"]
    )


def failed_of(r: Row) -> FailedDelivery:
    return FailedDelivery(
        r["id"],
        r["story_id"],
        r["channel"],
        AlertKind(r["kind"]),
        r["headline"],
        r["last_error"],
        r["attempts"],
    )
