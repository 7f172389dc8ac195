"""The storage contract: what any backend (SQLite, PostgreSQL) promises, one Protocol per concern.

Each docstring is a guarantee the contract suite (tests/test_storage_contract.py) checks on
every backend. Callers type against these, never against a backend class.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

from bot.models import Alert, Notice, Story, StoryBrief, StoryView
from bot.storage.rows import (
    DeliveryRow,
    EventRecord,
    EventRow,
    FailedDelivery,
    FetchMeta,
    HeldState,
    HeldStory,
    LastVersion,
    Mute,
    PendingDelivery,
    SectionRecord,
    SectionSeen,
    SentMessage,
    StoryEntry,
    StoryHealth,
    StoryRecord,
    Subscription,
    Validators,
)


class StoryCatalog(Protocol):
    """The tracked stories, their routes and the full-text index over them."""

    async def sync_stories(
        self,
        entries: Sequence[StoryEntry],
        routes: Sequence[tuple[str, str]],
        catch_up: Collection[tuple[str, str]] | None = None,
    ) -> list[tuple[str, str]]:
        """Make the catalog match `entries` and the (story id, channel) `routes`, in one
        transaction: a story left out goes inactive (its history stays), and no reader ever
        sees the catalog half-synced. Entries whose `digest` is unchanged are not rewritten
        (nor re-indexed), so a sync costs what changed, not what is tracked. An entry that did
        change (its source, title or aliases were edited) is un-paused, its failures zeroed; one
        whose source changed, or that comes back after it was left out, starts anew: its
        versions so far stay but are no diff base (`last_version`, `last_validators` and
        catch-ups see only later ones; bot.storage.baseline), so its next good fetch is a baseline.

        A route added to a story that already has a good version (and is in `catch_up`, when
        given: the routes that name their story) queues, in the same transaction, one catch-up
        for that channel: an event of kind `catch_up` (as of the latest good version) with a
        single delivery, to that channel. A channel that has had any delivery of the story gets
        none, so a catch-up goes to each (story, channel) at most once, across restarts and
        processes; routes in place before the story's first version (they see it live) get
        none. Returns the routes that got one, sorted."""
        ...

    async def stories(self) -> list[StoryBrief]:
        """Active stories by id, each with the time of its last good fetch and any suspect reason."""
        ...

    async def last_checks(self) -> dict[str, datetime | None]:
        """Active story id -> when it was last fetched (any outcome), None when never: what
        makes a story due for a poll."""
        ...

    async def search(self, query: str, limit: int = 10) -> list[str]:
        """Ids of stories whose id, title, aliases or text hold every word of `query` (a word of
        three letters or more also matches as a stemmed prefix), best first: a hit in the title
        or aliases outranks one only in the text. Query syntax is never interpreted: any text
        is safe and at worst finds nothing."""
        ...


class VersionHistory(Protocol):
    """What each story said. Only good versions are diff bases."""

    async def last_version(self, story_id: str) -> LastVersion | None:
        """The newest good version (never a failed or suspect fetch), or None before the first
        (since the story was re-tracked or its source changed: see `sync_stories`)."""
        ...

    async def known_titles(self, story_id: str) -> set[str]:
        """Every headline a good version of the story has had, kept through pruning."""
        ...

    async def known_fingerprints(self, story_id: str) -> set[str]:
        """Every section fingerprint the story has ever shown."""
        ...

    async def last_validators(self, story_id: str) -> Validators | None:
        """The newest good version's validators and content hash, as `last_version` would give
        them, without loading its story: the cheap start of every poll."""
        ...

    async def record_checked(self, story_id: str, at: datetime) -> None:
        """A fetch that found nothing new: only the check time moves, fault marks clear, and
        the failure count goes back to 0 (the story worked at `at`)."""
        ...

    async def record_checks(self, checks: Sequence[tuple[str, datetime]]) -> None:
        """Many `record_checked`s (story id, when) in one transaction, in order. Callers batch
        them (bot.pollcache.CheckBatch, flushed every second), so a crash may lose at most the
        last second's check times, never a version, a failure or an event: those are recorded
        one transaction each, at once."""
        ...

    async def record_failure(self, story_id: str, at: datetime, error: str, http_status: int | None) -> int:
        """A failed fetch or an empty parse: kept for the record, never a diff base. Returns
        the story's failures in a row, this one included: a good version or a check resets it."""
        ...

    async def record_version(
        self,
        story_id: str,
        base_id: int | None,
        at: datetime,
        meta: FetchMeta,
        story: Story,
        sections: Sequence[SectionRecord],
        events: Sequence[EventRecord],
    ) -> list[int]:
        """Store a good version with its new sections, its events and one pending delivery per
        (event, channel), all in one transaction. A `held` channel gets no delivery of its own:
        the event joins the story's open digest for that channel (an event of kind `digest`
        with one delivery, due `period` seconds after the digest was opened), or opens one. A
        digest stays open until its delivery is first claimed; from then on what it holds is
        fixed, and the next held event opens a new one. `base_id` is the id of the version the poll
        diffed against (None: there was none); if it is no longer the story's latest good
        version, raises StaleBase and records nothing, so two pollers never record one update
        twice. The failure count goes back to 0. Returns the new event ids in the order given.

        An event that `corrects` a fingerprint an earlier event showed targets that earlier
        alert (the first of a chain: a second correction targets the same alert). In each
        channel where the target has a post that did not fail, the event is an EDIT of it
        followed by a NOTE, not a post; elsewhere (a section never alerted, a channel routed
        since) it is a POST, as any event.

        A channel with a mute of the story running at `at` (the store's mutes, whatever the
        poller's config said: a worker's may be a tick old) gets no delivery and no digest
        entry of a story event; an admin notice goes regardless.

        A channel's catch-up not yet sent stays ahead of the story's later events in that
        channel, even one stamped earlier than the moment the catch-up shows (a page served
        stale, a stamp without a time): the channel gets the story so far, then the news."""
        ...

    async def prune(self, failures_before: datetime) -> int:
        """Drop history nobody reads: good versions that introduced no section, carry no event
        and are not the latest good one, and failed or suspect fetches from before
        `failures_before`. A diff base, a version an event or section points to, and every
        known title survive. Returns how many versions went."""
        ...


class SuspectFetches(Protocol):
    """Pages that parsed but were not recognisably the story (bot.sanity)."""

    async def record_suspect(self, story_id: str, at: datetime, reason: str, meta: FetchMeta) -> str | None:
        """Keep the fetch with its reason, never as a diff base; the story carries the reason
        until a good fetch clears it. Returns the story's previous reason."""
        ...

    async def suspect_fetches(self, story_id: str) -> list[str]:
        """The reasons of every suspect fetch still kept, oldest first."""
        ...

    async def failed_fetches(self, story_id: str) -> int:
        """How many failed (not suspect) fetches of the story are still kept."""
        ...


class SiteLines(Protocol):
    """Short lines each story of a site holds, from which the site's boilerplate is learned."""

    async def site_boilerplate(self, site: str, min_stories: int) -> frozenset[str]:
        """Keys of the lines at least `min_stories` different stories of `site` hold."""
        ...

    async def record_site_lines(self, site: str, story_id: str, keys: frozenset[str]) -> None:
        """The line keys of a story's latest version, replacing what it held before."""
        ...


class EventLog(Protocol):
    """What changed, as stored events."""

    async def events(self, story_id: str | None = None) -> list[EventRow]:
        """Events (of one story, or all) in the order they were recorded."""
        ...

    async def alert(self, event_id: int) -> Alert:
        """The event ready to post, with its story's current timeline. KeyError if unknown.
        A catch-up's timeline holds only what was first seen by its version; a digest's
        `updates` are the events it holds, in alert order."""
        ...

    async def corrected_alert(self, event_id: int) -> Alert:
        """The alert event `event_id` corrects, as it reads once corrected: the target's alert
        with the revised section's summary, `corrected_at` the correcting event's time and
        `correction` what it said. KeyError if the event is unknown or corrects nothing."""
        ...

    async def message(self, event_id: int) -> Alert | Notice:
        """What the event posts as: a Notice for an admin notice (a paused story), else the
        Alert `alert` gives. KeyError if unknown."""
        ...


class StoryHealthLog(Protocol):
    """Which stories keep failing, which are paused, and which deliveries failed for good."""

    async def story_health(self) -> list[StoryHealth]:
        """Active stories with a failure in a row or more, a pause, or a suspect last fetch, by id."""
        ...

    async def pause_story(self, story_id: str, at: datetime, notice: EventRecord) -> int | None:
        """Pause the story and, in the same transaction, store `notice` as an event (on the
        story's newest fetch) with one pending delivery per channel it names. Only the call
        that pauses does this: for a story already paused, unknown, or never fetched it
        returns None and records nothing, so two pollers or a restart never tell twice.
        Returns the notice's event id."""
        ...

    async def resume_story(self, story_id: str) -> bool:
        """Un-pause the story and zero its failures; True when it was paused."""
        ...

    async def failed_deliveries(self, limit: int = 20) -> list[FailedDelivery]:
        """Deliveries that failed for good, newest first, each with its story and reason."""
        ...


class DeliveryQueue(Protocol):
    """Where each alert goes. A delivery is (event, channel) unique: queued for a channel once.

    States: pending -> claimed -> sent | failed, and claimed -> pending on a retry."""

    async def due_deliveries(
        self, at: datetime, platforms: Sequence[str] = (), limit: int = 5000
    ) -> list[PendingDelivery]:
        """Pending deliveries for `platforms` whose time has come, in alert order (publisher
        time, else first sight). A channel waiting on a retry or holding a claimed delivery
        gets none of its later alerts, so each channel sees its alerts in order."""
        ...

    async def next_due_at(self, platforms: Sequence[str] = ()) -> datetime | None:
        """When the earliest pending delivery for `platforms` falls due, if any."""
        ...

    async def pending_count(self) -> int:
        """Deliveries not yet settled (waiting, retrying or claimed mid-send), every platform:
        the queue depth an operator watches (`/metrics`)."""
        ...

    async def claim(self, delivery_id: int, at: datetime) -> bool:
        """Pending -> claimed, committed before the platform is called. True only for the one
        caller that moved it, so two senders never both send it."""
        ...

    async def claimed_unrecorded(
        self, platforms: Sequence[str], older_than: datetime
    ) -> list[PendingDelivery]:
        """Claimed deliveries for `platforms` claimed before `older_than` and never recorded as
        sent or failed: a sender died mid-send. Reconcile each with the platform before any
        resend."""
        ...

    async def thread_for(self, story_id: str, channel: str) -> str | None:
        """The thread the story's alerts opened in `channel`, the newest if several."""
        ...

    async def sent_message(self, event_id: int, channel: str) -> SentMessage | None:
        """Where the event's alert was posted in `channel` (its POST delivery, once sent), or
        None: not posted there (yet), or its post failed."""
        ...

    async def mark_sent(self, delivery_id: int, message_id: str, thread_id: str | None, at: datetime) -> None:
        """Recorded as sent with the platform's message id: never sent again."""
        ...

    async def mark_retry(
        self, delivery_id: int, error: str, retry_at: datetime, count: bool = True, unclaim: bool = False
    ) -> None:
        """Back to pending until `retry_at`; a rate limit (count=False) does not use an attempt.
        The claim is kept (a failed send may have landed: the next attempt looks for it first),
        unless `unclaim`: the platform refused the delivery's only send (a rate limit on its first
        claim), so nothing landed and the next attempt just sends."""
        ...

    async def mark_failed(self, delivery_id: int, error: str) -> None:
        """Failed for good: never sent again."""
        ...

    async def deliveries(self, event_id: int | None = None) -> list[DeliveryRow]:
        """Delivery rows (of one event, or all) by id, for status output and tests."""
        ...


class StoryViews(Protocol):
    """What `/story` reads. Read from committed state only: never a half-applied sync or poll."""

    async def story_record(self, story_id: str) -> StoryRecord | None:
        """The story's identity, active or not; None if never tracked."""
        ...

    async def current_sections(self, story_id: str) -> list[SectionSeen]:
        """The sections of the latest good version with when each was first seen, unordered:
        order and "latest" are presentation (bot.timeline)."""
        ...

    async def story_view(self, story_id: str) -> StoryView | None:
        """The story's record and current sections from one snapshot, shaped by bot.timeline."""
        ...


class HeldRoutes(Protocol):
    """Stories, subscriptions and mutes added at runtime (chat, the CLI, feeds), kept beside
    what config.toml declares. The store keeps them; `bot.overlay.effective_config` merges them
    into the config, so nothing downstream tells them apart. Ids are not checked against
    config.toml here: that is the caller's rule."""

    async def add_held_story(self, story: HeldStory) -> bool:
        """Hold a new story (its `added_at` stamped now when None). False, and nothing written,
        when a held story already has that id."""
        ...

    async def remove_held_story(self, story_id: str) -> bool:
        """Drop a held story with the subscriptions naming it and its mutes, in one
        transaction. Its history stays (the catalog sync makes it inactive). False if not held."""
        ...

    async def remove_expired_stories(self, at: datetime) -> list[str]:
        """Drop, as `remove_held_story` does, every held story whose `expires_at` is at or
        before `at`; returns their ids, sorted."""
        ...

    async def add_subscription(self, subscription: Subscription) -> bool:
        """Route alerts to a channel (`added_at` stamped now when None). The channel already
        subscribed to that story (or keywords): its `digest` takes the new one, the rest stays.
        False, and nothing written, when the channel already has that same subscription, digest
        included."""
        ...

    async def remove_subscription(
        self, channel: str, story_id: str = "", keywords: Sequence[str] = ()
    ) -> bool:
        """Drop the channel's subscription to that story (or those keywords, in any order).
        False if there was none."""
        ...

    async def set_mute(self, mute: Mute) -> None:
        """Mute a story in a channel, replacing any earlier mute of that pair. The channel gets
        none of the story's alerts from now on: what is already queued for it and was never
        tried (a post, a correction's note, the updates an open digest holds, a catch-up) is
        dropped with the mute, in its transaction. An edit of an alert already there, a send
        under way and an admin notice stay."""
        ...

    async def drop_queued(self, story_id: str, channel: str) -> int:
        """Drop what is queued for `channel` of the story's alerts and was never tried, as a
        mute does (`set_mute`): the channel stopped following the story (it unsubscribed).
        Returns how many deliveries went."""
        ...

    async def remove_mute(self, story_id: str, channel: str) -> bool:
        """Unmute; False if the pair was not muted."""
        ...

    async def held(self, at: datetime | None = None) -> HeldState:
        """Every held story (by added_at, then id), subscription (by added_at, then channel)
        and mute (by story, then channel), from one committed snapshot. Without `at`, expired
        stories and mutes are returned too (a feed knows its items by them); with it, stories
        whose `expires_at` is at or before `at` are left out (the config they would leave
        anyway; a feed keeps thousands for `retention_days`). Mutes are returned either way."""
        ...

    async def held_revision(self) -> int:
        """A number that moves, in the change's own transaction, whenever a held story,
        subscription or mute is added, changed or removed (a call that writes nothing leaves
        it), and never goes back: a reader re-reads `held()` only when it differs from the one
        read before its last `held()`. Cheap: one row."""
        ...


class FeedReads(Protocol):
    """Each feed URL's ETag and Last-Modified from its last complete read, kept so that the
    next read, after a restart or on another worker too, is a conditional GET."""

    async def feed_validators(self, url: str) -> Validators | None:
        """What `set_feed_validators` last stored for `url` (`content_hash` None); None when
        the feed was never read through."""
        ...

    async def set_feed_validators(self, url: str, etag: str | None, last_modified: str | None) -> None:
        """Remember `url`'s validators, replacing earlier ones (two None: the next read is a
        full one)."""
        ...


class Store(
    StoryCatalog,
    VersionHistory,
    SuspectFetches,
    SiteLines,
    EventLog,
    StoryHealthLog,
    DeliveryQueue,
    StoryViews,
    HeldRoutes,
    FeedReads,
    Protocol,
):
    """A whole store: every concern above, plus its lifetime. Open one with
    `bot.storage.open_store`; close it once (also via `async with`)."""

    async def schema_version(self) -> int:
        """The migration the database is at; opening migrates forward to the newest."""
        ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Store: ...

    async def __aexit__(self, *exc: object) -> None: ...
