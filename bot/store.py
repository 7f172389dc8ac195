"""The store is the truth: what each story said, what changed, and what was delivered where.

Guarantees:
- One poll's writes (version, sections, events, deliveries) commit together or not at all,
  so an event never exists without its deliveries, and a crash never half-records a poll.
- Only successful versions are diff bases; failed fetches are recorded beside them.
- A delivery row is (event, channel) unique: an alert is queued for a channel once.
- A delivery is claimed (`claim`, committed with a full sync) before each send, so after any
  stop, power loss included, a pending row with `claimed_at` set may already be on the platform.
- The schema is versioned (PRAGMA user_version) and migrated forward on open.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from bot.codec import decode_time, encode_time, story_from_json, story_to_json, utc_key
from bot.config import Config
from bot.models import Alert, AlertKind, Story, StoryBrief, StoryView, TimelineEntry
from bot.redact import display_url

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE stories (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        subtitle TEXT NOT NULL DEFAULT '',
        aliases TEXT NOT NULL DEFAULT '',
        active INTEGER NOT NULL DEFAULT 1,
        added_at TEXT NOT NULL,
        checked_at TEXT,
        last_error TEXT
    );
    CREATE TABLE versions (
        id INTEGER PRIMARY KEY,
        story_id TEXT NOT NULL REFERENCES stories(id),
        fetched_at TEXT NOT NULL,
        ok INTEGER NOT NULL,
        content_hash TEXT,
        etag TEXT,
        last_modified TEXT,
        http_status INTEGER,
        error TEXT,
        parsed TEXT
    );
    CREATE INDEX versions_by_story ON versions(story_id, ok, id);
    CREATE TABLE sections (
        id INTEGER PRIMARY KEY,
        story_id TEXT NOT NULL REFERENCES stories(id),
        fingerprint TEXT NOT NULL,
        kind TEXT NOT NULL,
        label TEXT NOT NULL,
        header TEXT NOT NULL,
        published_at TEXT,
        body TEXT NOT NULL,
        summary TEXT NOT NULL,
        first_version_id INTEGER NOT NULL REFERENCES versions(id),
        first_seen_at TEXT NOT NULL,
        UNIQUE (story_id, fingerprint)
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        story_id TEXT NOT NULL REFERENCES stories(id),
        version_id INTEGER NOT NULL REFERENCES versions(id),
        kind TEXT NOT NULL,
        fingerprint TEXT,
        headline TEXT NOT NULL,
        summary TEXT NOT NULL,
        published_at TEXT,
        order_key TEXT NOT NULL,
        seen_at TEXT NOT NULL,
        change REAL
    );
    CREATE INDEX events_by_story ON events(story_id, id);
    CREATE TABLE routes (
        story_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        PRIMARY KEY (story_id, channel)
    );
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        event_id INTEGER NOT NULL REFERENCES events(id),
        channel TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        message_id TEXT,
        thread_id TEXT,
        sent_at TEXT,
        UNIQUE (event_id, channel)
    );
    CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
    CREATE VIRTUAL TABLE story_search USING fts5(
        story_id UNINDEXED, title, aliases, body, tokenize = 'porter unicode61 remove_diacritics 2'
    );
    """,
    # 2: finding the thread a story opened in a channel stays cheap as deliveries pile up
    """
    CREATE INDEX deliveries_by_channel ON deliveries(channel, id);
    """,
    # 3: index rows keyed by the story's rowid, so refreshing one is a lookup, not a scan
    """
    CREATE VIRTUAL TABLE story_search_by_rowid USING fts5(
        story_id UNINDEXED, title, aliases, body, tokenize = 'porter unicode61 remove_diacritics 2'
    );
    INSERT INTO story_search_by_rowid (rowid, story_id, title, aliases, body)
        SELECT s.rowid, f.story_id, f.title, f.aliases, f.body
        FROM story_search f JOIN stories s ON s.id = f.story_id;
    DROP TABLE story_search;
    ALTER TABLE story_search_by_rowid RENAME TO story_search;
    """,
    # 4: the short lines each story of a site holds, to learn the site's boilerplate
    """
    CREATE TABLE site_lines (
        site TEXT NOT NULL,
        line_key TEXT NOT NULL,
        story_id TEXT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
        PRIMARY KEY (site, line_key, story_id)
    ) WITHOUT ROWID;
    """,
    # 5: when a send of the delivery was first started, so a crash between the send and its
    # record leaves a trace that the dispatcher reconciles with the platform before resending
    """
    ALTER TABLE deliveries ADD COLUMN claimed_at TEXT;
    """,
)


@dataclass(frozen=True, slots=True)
class LastVersion:
    """The newest successful version of a story: the diff base and the conditional-GET keys."""

    id: int
    story: Story
    content_hash: str | None
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True, slots=True)
class SectionRecord:
    fingerprint: str
    kind: str
    label: str
    header: str
    published_at: datetime | None
    body: str
    summary: str


@dataclass(frozen=True, slots=True)
class EventRecord:
    """An event as the pipeline hands it to the store, summary included."""

    kind: AlertKind
    headline: str
    summary: str
    published_at: datetime | None = None
    fingerprint: str | None = None
    change: float | None = None
    channels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FetchMeta:
    content_hash: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    http_status: int | None = None


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    id: int
    event_id: int
    story_id: str
    channel: str  # "platform:channel_id"
    attempts: int
    claimed_at: datetime | None = None  # set: a send began and may have reached the platform

    @property
    def platform(self) -> str:
        return self.channel.partition(":")[0]

    @property
    def channel_id(self) -> str:
        return self.channel.partition(":")[2]


def now_utc() -> datetime:
    return datetime.now(UTC)


class Store:
    """aiosqlite in WAL mode. Writers take one lock, so one poll is one transaction."""

    def __init__(self, db: aiosqlite.Connection):
        self._db = db
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path) -> Store:
        db = await aiosqlite.connect(str(path), isolation_level=None)
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute("PRAGMA foreign_keys = ON")
        await db.execute("PRAGMA busy_timeout = 5000")
        store = cls(db)
        await store._migrate()
        return store

    async def close(self) -> None:
        await self._db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def transaction(self, *, durable: bool = False) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction. `durable`: the commit is synced to disk before it returns
        (WAL with synchronous=NORMAL survives a killed process but may lose the last commits
        to a power loss)."""
        async with self._write_lock:
            if durable:
                await self._db.execute("PRAGMA synchronous = FULL")
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    await self._db.execute("ROLLBACK")
                    raise
                await self._db.execute("COMMIT")
            finally:
                if durable:
                    await self._db.execute("PRAGMA synchronous = NORMAL")

    async def _migrate(self) -> None:
        (version,) = await self._one("PRAGMA user_version")
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            async with self.transaction() as db:
                for statement in _statements(script):
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {number}")

    async def schema_version(self) -> int:
        (version,) = await self._one("PRAGMA user_version")
        return int(version)

    # --- stories and routes ------------------------------------------------------------

    async def sync_config(self, config: Config, at: datetime | None = None) -> None:
        """Make the stories and routes tables match the config; a removed story goes inactive."""
        at_text = encode_time(at or now_utc())
        async with self.transaction() as db:
            await db.execute("UPDATE stories SET active = 0")
            for story in config.stories:
                aliases = " ".join(story.aliases)
                await db.execute(
                    """INSERT INTO stories (id, source, title, aliases, active, added_at)
                       VALUES (?, ?, ?, ?, 1, ?)
                       ON CONFLICT (id) DO UPDATE SET source = excluded.source, aliases = excluded.aliases,
                           active = 1,
                           title = CASE WHEN excluded.title != '' THEN excluded.title ELSE title END""",
                    (story.id, story.source, story.title or "", aliases, at_text),
                )
                await self._index_story(db, story.id)
            await db.execute("DELETE FROM routes")
            await db.executemany(
                "INSERT INTO routes (story_id, channel) VALUES (?, ?)",
                [(s.id, channel) for s in config.stories for channel in config.channels_for(s)],
            )

    async def stories(self) -> list[StoryBrief]:
        rows = await self._all(
            """SELECT s.id, s.title, s.aliases,
                      (SELECT max(fetched_at) FROM versions v WHERE v.story_id = s.id AND v.ok) AS updated
               FROM stories s WHERE s.active ORDER BY s.id"""
        )
        return [
            StoryBrief(r["id"], r["title"] or r["id"], tuple(r["aliases"].split()), decode_time(r["updated"]))
            for r in rows
        ]

    async def search(self, query: str, limit: int = 10) -> list[str]:
        """Story ids whose title, aliases or text hold every word of `query`, best first."""
        words = re.findall(r"\w+", query.casefold())[:12]
        if not words:
            return []
        match = " ".join(f'"{w}"*' if len(w) > 2 else f'"{w}"' for w in words)
        rows = await self._all(
            """SELECT story_id FROM story_search WHERE story_search MATCH ?
               ORDER BY bm25(story_search, 0, 10.0, 10.0, 1.0) LIMIT ?""",
            (match, limit),
        )
        return [r["story_id"] for r in rows]

    # --- versions ------------------------------------------------------------------------

    async def last_version(self, story_id: str) -> LastVersion | None:
        row = await self._row(
            """SELECT id, parsed, content_hash, etag, last_modified FROM versions
               WHERE story_id = ? AND ok ORDER BY id DESC LIMIT 1""",
            (story_id,),
        )
        if row is None:
            return None
        return LastVersion(
            row["id"], story_from_json(row["parsed"]), row["content_hash"], row["etag"], row["last_modified"]
        )

    async def known_titles(self, story_id: str) -> set[str]:
        """Every headline a good version of the story has had (A/B headline tests flip back)."""
        rows = await self._all(
            """SELECT DISTINCT json_extract(parsed, '$.title') AS title FROM versions
               WHERE story_id = ? AND ok""",
            (story_id,),
        )
        return {r["title"] for r in rows if r["title"]}

    async def known_fingerprints(self, story_id: str) -> set[str]:
        rows = await self._all("SELECT fingerprint FROM sections WHERE story_id = ?", (story_id,))
        return {r["fingerprint"] for r in rows}

    async def site_boilerplate(self, site: str, min_stories: int) -> frozenset[str]:
        """Keys of the lines at least `min_stories` different stories of `site` hold."""
        rows = await self._all(
            "SELECT line_key FROM site_lines WHERE site = ? GROUP BY line_key HAVING COUNT(*) >= ?",
            (site, min_stories),
        )
        return frozenset(row[0] for row in rows)

    async def record_site_lines(self, site: str, story_id: str, keys: frozenset[str]) -> None:
        """The line keys of a story's latest version, replacing what it held before."""
        async with self.transaction() as db:
            await db.execute("DELETE FROM site_lines WHERE site = ? AND story_id = ?", (site, story_id))
            await db.executemany(
                "INSERT INTO site_lines (site, line_key, story_id) VALUES (?, ?, ?)",
                [(site, key, story_id) for key in keys],
            )

    async def record_checked(self, story_id: str, at: datetime) -> None:
        """A fetch that found nothing new (304, or the same bytes): only the check time moves."""
        async with self.transaction() as db:
            await db.execute(
                "UPDATE stories SET checked_at = ?, last_error = NULL WHERE id = ?",
                (encode_time(at), story_id),
            )

    async def record_failure(self, story_id: str, at: datetime, error: str, http_status: int | None) -> None:
        """A failed fetch or an empty parse: kept for the record, never a diff base."""
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO versions (story_id, fetched_at, ok, http_status, error) VALUES (?, ?, 0, ?, ?)",
                (story_id, encode_time(at), http_status, error),
            )
            await db.execute(
                "UPDATE stories SET checked_at = ?, last_error = ? WHERE id = ?",
                (encode_time(at), error, story_id),
            )

    async def record_version(
        self,
        story_id: str,
        at: datetime,
        meta: FetchMeta,
        story: Story,
        sections: Sequence[SectionRecord],
        events: Sequence[EventRecord],
    ) -> list[int]:
        """Store a good version with its sections, events and their deliveries, atomically.

        Returns the new event ids in the order given (the pipeline orders them)."""
        at_text = encode_time(at)
        async with self.transaction() as db:
            cursor = await db.execute(
                """INSERT INTO versions (story_id, fetched_at, ok, content_hash, etag, last_modified,
                       http_status, parsed) VALUES (?, ?, 1, ?, ?, ?, ?, ?)""",
                (
                    story_id,
                    at_text,
                    meta.content_hash,
                    meta.etag,
                    meta.last_modified,
                    meta.http_status,
                    story_to_json(story),
                ),
            )
            version_id = cursor.lastrowid
            await db.executemany(
                """INSERT OR IGNORE INTO sections (story_id, fingerprint, kind, label, header, published_at,
                       body, summary, first_version_id, first_seen_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    (
                        story_id,
                        s.fingerprint,
                        s.kind,
                        s.label,
                        s.header,
                        encode_time(s.published_at),
                        s.body,
                        s.summary,
                        version_id,
                        at_text,
                    )
                    for s in sections
                ],
            )
            await db.execute(
                """UPDATE stories SET title = ?, subtitle = ?, checked_at = ?, last_error = NULL
                   WHERE id = ?""",
                (story.title, story.subtitle, at_text, story_id),
            )
            await self._index_story(db, story_id, story)
            event_ids: list[int] = []
            for event in events:
                cursor = await db.execute(
                    """INSERT INTO events (story_id, version_id, kind, fingerprint, headline, summary,
                           published_at, order_key, seen_at, change)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    (
                        story_id,
                        version_id,
                        event.kind.value,
                        event.fingerprint,
                        event.headline,
                        event.summary,
                        encode_time(event.published_at),
                        utc_key(event.published_at or at),
                        at_text,
                        event.change,
                    ),
                )
                event_id = cursor.lastrowid
                assert event_id is not None
                event_ids.append(event_id)
                await db.executemany(
                    "INSERT OR IGNORE INTO deliveries (event_id, channel, next_attempt_at) VALUES (?, ?, ?)",
                    [(event_id, channel, utc_key(at)) for channel in event.channels],
                )
            return event_ids

    async def _index_story(self, db: aiosqlite.Connection, story_id: str, story: Story | None = None) -> None:
        """Refresh a story's row in the full-text index. Rows share the stories table's rowid:
        story_id is an unindexed FTS column, so looking rows up by it would scan the index."""
        row = await self._row("SELECT rowid, title, aliases FROM stories WHERE id = ?", (story_id,))
        if row is None:
            return
        if story is None:
            existing = await self._row("SELECT body FROM story_search WHERE rowid = ?", (row["rowid"],))
            body = existing["body"] if existing else ""
        else:
            body = " ".join(s.body for s in story.sections)[:20_000]
        await db.execute("DELETE FROM story_search WHERE rowid = ?", (row["rowid"],))
        await db.execute(
            "INSERT INTO story_search (rowid, story_id, title, aliases, body) VALUES (?, ?, ?, ?, ?)",
            (row["rowid"], story_id, f"{story_id} {row['title']}", row["aliases"], body),
        )

    # --- what users read -----------------------------------------------------------------

    async def timeline(self, story_id: str) -> tuple[TimelineEntry, ...]:
        """Sections of the current version, oldest first by publisher time, else first sight."""
        last = await self.last_version(story_id)
        if last is None:
            return ()
        prints = [s.fingerprint for s in last.story.sections]
        marks = ",".join("?" * len(prints))
        rows = await self._all(
            f"""SELECT fingerprint, label, published_at, first_seen_at, summary FROM sections
                WHERE story_id = ? AND fingerprint IN ({marks})""",
            (story_id, *prints),
        )
        entries = [
            TimelineEntry(
                timestamp=decode_time(r["published_at"]),
                seen_at=decode_time(r["first_seen_at"]) or now_utc(),
                label=r["label"],
                summary=r["summary"],
            )
            for r in rows
        ]
        entries.sort(key=lambda e: (e.timestamp or e.seen_at).timestamp())
        return tuple(entries)

    async def story_view(self, story_id: str) -> StoryView | None:
        row = await self._row("SELECT id, source, title, subtitle FROM stories WHERE id = ?", (story_id,))
        if row is None:
            return None
        timeline = await self.timeline(story_id)
        updates = [e for e in timeline if e.label != "Original"]
        latest = updates[-1] if updates else (timeline[-1] if timeline else None)
        source = row["source"]
        url = display_url(source) if source.startswith(("http://", "https://")) else None
        return StoryView(row["id"], row["title"] or row["id"], url, latest, timeline, row["subtitle"])

    # --- deliveries ----------------------------------------------------------------------

    async def due_deliveries(
        self, at: datetime, platforms: Sequence[str] = (), limit: int = 5000
    ) -> list[PendingDelivery]:
        """Pending deliveries for `platforms` whose time has come, in alert order (publisher
        time, else first sight). A channel waiting on a retry gets none of its later alerts,
        so each channel sees its alerts in order."""
        marks = ",".join("?" * len(platforms))
        rows = await self._all(
            f"""SELECT d.id, d.event_id, e.story_id, d.channel, d.attempts, d.claimed_at,
                      d.next_attempt_at <= ? AS due
               FROM deliveries d JOIN events e ON e.id = d.event_id
               WHERE d.status = 'pending' AND substr(d.channel, 1, instr(d.channel, ':') - 1) IN ({marks})
               ORDER BY e.order_key, e.id, d.id""",
            (utc_key(at), *platforms),
        )
        blocked: set[str] = set()
        due: list[PendingDelivery] = []
        for r in rows:
            if r["channel"] in blocked:
                continue
            if not r["due"]:
                blocked.add(r["channel"])
                continue
            due.append(
                PendingDelivery(
                    r["id"],
                    r["event_id"],
                    r["story_id"],
                    r["channel"],
                    r["attempts"],
                    decode_time(r["claimed_at"]),
                )
            )
            if len(due) >= limit:
                break
        return due

    async def next_due_at(self, platforms: Sequence[str] = ()) -> datetime | None:
        marks = ",".join("?" * len(platforms))
        row = await self._row(
            f"""SELECT min(next_attempt_at) FROM deliveries WHERE status = 'pending'
                AND substr(channel, 1, instr(channel, ':') - 1) IN ({marks})""",
            tuple(platforms),
        )
        value = row[0] if row else None
        return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None

    async def alert(self, event_id: int) -> Alert:
        row = await self._row(
            """SELECT e.*, s.title AS story_title, s.source FROM events e JOIN stories s ON s.id = e.story_id
               WHERE e.id = ?""",
            (event_id,),
        )
        if row is None:
            raise KeyError(event_id)
        source = row["source"]
        return Alert(
            event_id=row["id"],
            story_id=row["story_id"],
            story_title=row["story_title"] or row["story_id"],
            story_url=display_url(source) if source.startswith(("http://", "https://")) else None,
            kind=AlertKind(row["kind"]),
            headline=row["headline"],
            summary=row["summary"],
            timestamp=decode_time(row["published_at"]),
            seen_at=decode_time(row["seen_at"]) or now_utc(),
            timeline=await self.timeline(row["story_id"]),
        )

    async def thread_for(self, story_id: str, channel: str) -> str | None:
        row = await self._row(
            """SELECT d.thread_id FROM deliveries d JOIN events e ON e.id = d.event_id
               WHERE e.story_id = ? AND d.channel = ? AND d.thread_id IS NOT NULL
               ORDER BY d.id DESC LIMIT 1""",
            (story_id, channel),
        )
        return row["thread_id"] if row else None

    async def claim(self, delivery_id: int, at: datetime) -> None:
        """A send of this delivery is about to start: committed, synced, before the platform
        call. The first claim's time stays (a reconcile searches from the earliest send)."""
        async with self.transaction(durable=True) as db:
            await db.execute(
                "UPDATE deliveries SET claimed_at = coalesce(claimed_at, ?) WHERE id = ?",
                (encode_time(at), delivery_id),
            )

    async def mark_sent(self, delivery_id: int, message_id: str, thread_id: str | None, at: datetime) -> None:
        async with self.transaction() as db:
            await db.execute(
                """UPDATE deliveries SET status = 'sent', attempts = attempts + 1, message_id = ?,
                       thread_id = ?, sent_at = ?, last_error = NULL WHERE id = ?""",
                (message_id, thread_id, encode_time(at), delivery_id),
            )

    async def mark_retry(self, delivery_id: int, error: str, retry_at: datetime, count: bool = True) -> None:
        """Try again at `retry_at`; a rate limit (count=False) does not use up an attempt."""
        async with self.transaction() as db:
            await db.execute(
                """UPDATE deliveries SET attempts = attempts + ?, last_error = ?, next_attempt_at = ?
                   WHERE id = ?""",
                (int(count), error[:500], utc_key(retry_at), delivery_id),
            )

    async def mark_failed(self, delivery_id: int, error: str) -> None:
        async with self.transaction() as db:
            await db.execute(
                """UPDATE deliveries SET status = 'failed', attempts = attempts + 1, last_error = ?
                   WHERE id = ?""",
                (error[:500], delivery_id),
            )

    async def deliveries(self, event_id: int | None = None) -> list[dict[str, object]]:
        """Delivery rows as dicts, for status output and tests."""
        where, args = ("WHERE event_id = ?", (event_id,)) if event_id is not None else ("", ())
        rows = await self._all(f"SELECT * FROM deliveries {where} ORDER BY id", args)
        return [dict(r) for r in rows]

    async def events(self, story_id: str | None = None) -> list[dict[str, object]]:
        where, args = ("WHERE story_id = ?", (story_id,)) if story_id else ("", ())
        rows = await self._all(f"SELECT * FROM events {where} ORDER BY id", args)
        return [dict(r) for r in rows]

    async def failed_fetches(self, story_id: str) -> int:
        (count,) = await self._one("SELECT count(*) FROM versions WHERE story_id = ? AND NOT ok", (story_id,))
        return int(count)

    # --- plumbing ------------------------------------------------------------------------

    async def _all(self, sql: str, args: Iterable[object] = ()) -> list[aiosqlite.Row]:
        async with self._db.execute(sql, tuple(args)) as cursor:
            return list(await cursor.fetchall())

    async def _row(self, sql: str, args: Iterable[object] = ()) -> aiosqlite.Row | None:
        async with self._db.execute(sql, tuple(args)) as cursor:
            return await cursor.fetchone()

    async def _one(self, sql: str, args: Iterable[object] = ()) -> aiosqlite.Row:
        row = await self._row(sql, args)
        assert row is not None
        return row


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
