"""The embedded backend: one SQLite file in WAL mode, owned by one process.

Writes go through one connection, one transaction at a time (BEGIN IMMEDIATE), so a poll is
one transaction and a stale diff base is caught before anything is written. Reads go through
a second connection: in WAL mode it sees only committed transactions, so `/story` never sees a
config sync or a poll half-applied. A sidecar lock (bot.storage.filelock) refuses a second
process on the same file.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite

from bot.codec import decode_time, encode_time, story_from_json, story_to_json, utc_key
from bot.models import Alert, AlertKind, Notice, Story, StoryBrief, StoryView
from bot.storage.baseline import AFTER_BASE, REBASE_ON_SYNC
from bot.storage.errors import StaleBase, StoreError
from bot.storage.filelock import ProcessLock
from bot.storage.heldcodec import aliases_text, held_state, keywords_key
from bot.storage.queueing import MUTED_DROP, catch_up_routes, deliveries_for, due_in_order
from bot.storage.rows import (
    DeliveryAction,
    DeliveryRow,
    DeliveryStatus,
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
    failed_of,
    health_of,
    now_utc,
    pending_of,
)
from bot.storage.sqlite_schema import MIGRATIONS, statements
from bot.timeline import alert_for, corrected_alert, joined_view, message_for

_PLATFORM = "substr(d.channel, 1, instr(d.channel, ':') - 1)"


def _utc(text: str | None) -> datetime | None:
    """A `utc_key` column back to an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC) if text else None


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


class SqliteStore:
    """The `bot.storage.Store` contract on one SQLite file. Open with `SqliteStore.open(path)`."""

    def __init__(
        self, path: Path, write: aiosqlite.Connection, read: aiosqlite.Connection, lock: ProcessLock
    ):
        self.path = path
        self._write = write
        self._read = read
        self._lock = lock
        self._write_lock = asyncio.Lock()
        self._read_lock = asyncio.Lock()
        self._closed = False

    @classmethod
    async def open(cls, path: str | Path) -> SqliteStore:
        """Lock the file for this process, open it, migrate it forward. StoreError if any step
        fails, with every connection opened so far closed (an open one would keep the
        process from exiting)."""
        path = Path(path)
        if path.is_dir():
            raise StoreError(f"cannot open database {path}: it is a directory, not a file")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(f"cannot open database {path}: {err.strerror} ({path.parent})") from None
        lock = ProcessLock.acquire(path)
        opened: list[aiosqlite.Connection] = []
        try:
            write = await _connect(path, opened)
            await write.execute("PRAGMA journal_mode = WAL")
            await write.execute("PRAGMA synchronous = NORMAL")
            store = cls(path, write, write, lock)
            await store._migrate()
            store._read = await _connect(path, opened)
            await store._read.execute("PRAGMA query_only = ON")
            return store
        except (sqlite3.Error, OSError, StoreError) as err:
            for db in opened:
                await db.close()
            lock.release()
            raise StoreError(f"cannot open database {path}: {err}") from None

    async def close(self) -> None:
        """Close both connections and free the file for another process; a second call is a no-op."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._read.close()
            await self._write.close()
        finally:
            self._lock.release()

    async def __aenter__(self) -> SqliteStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def transaction(self, *, durable: bool = False) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction. A database that refuses the write (full, read-only) raises
        StoreError carrying SQLite's own words. `durable`: synced to disk at commit (WAL's
        NORMAL survives a killed process, FULL a power loss too): for a claim before a send."""
        async with self._write_lock:
            db = self._write
            if durable:
                await db.execute("PRAGMA synchronous = FULL")
            try:
                await db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                except BaseException:
                    # SQLite has already rolled back after some errors (a full disk, an I/O
                    # error); a second ROLLBACK would fail and hide the error that matters
                    if db.in_transaction:
                        await db.execute("ROLLBACK")
                    raise
                await db.execute("COMMIT")
            except sqlite3.OperationalError as err:
                if db.in_transaction:
                    await db.execute("ROLLBACK")
                raise StoreError(str(err)) from err
            finally:
                if durable:
                    await db.execute("PRAGMA synchronous = NORMAL")

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[aiosqlite.Connection]:
        """Several reads from one committed state."""
        async with self._read_lock:
            await self._read.execute("BEGIN")
            try:
                yield self._read
            finally:
                await self._read.execute("COMMIT")

    async def _migrate(self) -> None:
        version = await self.schema_version()
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            async with self.transaction() as db:
                for statement in statements(script):
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {number}")

    async def schema_version(self) -> int:
        (version,) = await _one(self._write, "PRAGMA user_version")
        return int(version)

    # --- catalog -------------------------------------------------------------------------

    async def sync_stories(
        self,
        entries: Sequence[StoryEntry],
        routes: Sequence[tuple[str, str]],
        catch_up: Collection[tuple[str, str]] | None = None,
    ) -> list[tuple[str, str]]:
        at_text = encode_time(now_utc())
        async with self.transaction() as db:
            async with db.execute("SELECT id, config_hash, active FROM stories") as cursor:
                stored = {r["id"]: (r["config_hash"], bool(r["active"])) for r in await cursor.fetchall()}
            wanted = {e.id for e in entries}
            await db.executemany(
                "UPDATE stories SET active = 0 WHERE id = ?",
                [(i,) for i, (_, active) in stored.items() if active and i not in wanted],
            )
            for entry in entries:
                if stored.get(entry.id) == (entry.digest, True):
                    continue
                await db.execute(
                    f"""INSERT INTO stories (id, source, title, aliases, active, added_at, config_hash)
                       VALUES (?, ?, ?, ?, 1, ?, ?)
                       ON CONFLICT (id) DO UPDATE SET {REBASE_ON_SYNC}, source = excluded.source,
                           aliases = excluded.aliases, active = 1, config_hash = excluded.config_hash,
                           failures = 0, paused_at = NULL,
                           title = CASE WHEN excluded.title != '' THEN excluded.title ELSE title END""",
                    (entry.id, entry.source, entry.title, " ".join(entry.aliases), at_text, entry.digest),
                )
                await _index_story(db, entry.id)
            async with db.execute("SELECT story_id, channel FROM routes") as cursor:
                old_routes = {(r[0], r[1]) for r in await cursor.fetchall()}
            new_routes = set(routes)
            await db.executemany(
                "DELETE FROM routes WHERE story_id = ? AND channel = ?", sorted(old_routes - new_routes)
            )
            added = sorted(new_routes - old_routes)
            await db.executemany("INSERT OR IGNORE INTO routes (story_id, channel) VALUES (?, ?)", added)
            eligible = catch_up_routes(added, catch_up)
            return [route for route in eligible if await _queue_catch_up(db, *route)]

    async def stories(self) -> list[StoryBrief]:
        rows = await self._all(
            """SELECT s.id, s.title, s.aliases, s.suspect,
                      (SELECT max(fetched_at) FROM versions v WHERE v.story_id = s.id AND v.ok) AS updated
               FROM stories s WHERE s.active ORDER BY s.id"""
        )
        return [
            StoryBrief(
                r["id"],
                r["title"] or r["id"],
                tuple(r["aliases"].split()),
                decode_time(r["updated"]),
                r["suspect"],
            )
            for r in rows
        ]

    async def last_checks(self) -> dict[str, datetime | None]:
        rows = await self._all("SELECT id, checked_at FROM stories WHERE active")
        return {row["id"]: decode_time(row["checked_at"]) for row in rows}

    async def search(self, query: str, limit: int = 10) -> list[str]:
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
        return await _last_version(self._read, story_id, self._read_lock)

    async def known_titles(self, story_id: str) -> set[str]:
        rows = await self._all("SELECT title FROM story_titles WHERE story_id = ?", (story_id,))
        return {r["title"] for r in rows}

    async def known_fingerprints(self, story_id: str) -> set[str]:
        rows = await self._all("SELECT fingerprint FROM sections WHERE story_id = ?", (story_id,))
        return {r["fingerprint"] for r in rows}

    async def last_validators(self, story_id: str) -> Validators | None:
        async with self._read_lock:
            row = await _row(
                self._read,
                f"""SELECT content_hash, etag, last_modified FROM versions
                   WHERE story_id = ? AND ok {AFTER_BASE} ORDER BY id DESC LIMIT 1""",
                (story_id,),
            )
        return Validators(row[0], row[1], row[2]) if row else None

    async def record_checked(self, story_id: str, at: datetime) -> None:
        await self.record_checks([(story_id, at)])

    async def record_checks(self, checks: Sequence[tuple[str, datetime]]) -> None:
        async with self.transaction() as db:
            await db.executemany(
                """UPDATE stories SET checked_at = ?, worked_at = ?, last_error = NULL, suspect = NULL,
                       failures = 0 WHERE id = ?""",
                [(encode_time(at), encode_time(at), story_id) for story_id, at in checks],
            )

    async def record_failure(self, story_id: str, at: datetime, error: str, http_status: int | None) -> int:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO versions (story_id, fetched_at, ok, http_status, error) VALUES (?, ?, 0, ?, ?)",
                (story_id, encode_time(at), http_status, error),
            )
            row = await _row(
                db,
                """UPDATE stories SET checked_at = ?, last_error = ?, suspect = NULL, failures = failures + 1
                   WHERE id = ? RETURNING failures""",
                (encode_time(at), error, story_id),
            )
            return int(row[0]) if row else 0

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
        at_text = encode_time(at)
        async with self.transaction() as db:
            row = await _row(
                db, f"SELECT max(id) FROM versions WHERE story_id = ? AND ok {AFTER_BASE}", (story_id,)
            )
            latest = row[0] if row else None
            if latest != base_id:
                raise StaleBase(story_id, base_id, latest)
            cursor = await db.execute(
                """INSERT INTO versions (story_id, fetched_at, ok, content_hash, etag, last_modified,
                       http_status, parsed) VALUES (?, ?, 1, ?, ?, ?, ?, ?)""",
                (story_id, at_text, meta.content_hash, meta.etag, meta.last_modified, meta.http_status,
                 story_to_json(story)),
            )  # fmt: skip
            version_id = cursor.lastrowid
            assert version_id is not None
            await db.executemany(
                """INSERT OR IGNORE INTO sections (story_id, fingerprint, kind, label, header, published_at,
                       body, summary, first_version_id, first_seen_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    (story_id, s.fingerprint, s.kind, s.label, s.header, encode_time(s.published_at), s.body,
                     s.summary, version_id, at_text)
                    for s in sections
                ],
            )  # fmt: skip
            await db.execute(
                """UPDATE stories SET title = ?, subtitle = ?, checked_at = ?, worked_at = ?,
                       last_error = NULL, suspect = NULL, failures = 0 WHERE id = ?""",
                (story.title, story.subtitle, at_text, at_text, story_id),
            )
            if story.title:
                await db.execute(
                    "INSERT OR IGNORE INTO story_titles (story_id, title) VALUES (?, ?)",
                    (story_id, story.title),
                )
            await _index_story(db, story_id, story)
            return [await _insert_event(db, story_id, version_id, event, at) for event in events]

    async def prune(self, failures_before: datetime) -> int:
        async with self.transaction() as db:
            cursor = await db.execute(
                """DELETE FROM versions WHERE id IN (
                       SELECT v.id FROM versions v
                       WHERE CASE WHEN v.ok
                                 THEN v.id < (SELECT max(w.id) FROM versions w
                                              WHERE w.story_id = v.story_id AND w.ok)
                                 ELSE julianday(substr(v.fetched_at, 1, instr(v.fetched_at || ' ', ' ') - 1))
                                      < julianday(?) END
                         AND NOT EXISTS (SELECT 1 FROM events e WHERE e.version_id = v.id)
                         AND NOT EXISTS (SELECT 1 FROM sections s WHERE s.first_version_id = v.id))""",
                (utc_key(failures_before),),
            )
            return cursor.rowcount

    # --- suspect fetches -----------------------------------------------------------------

    async def record_suspect(self, story_id: str, at: datetime, reason: str, meta: FetchMeta) -> str | None:
        async with self.transaction() as db:
            row = await _row(db, "SELECT suspect FROM stories WHERE id = ?", (story_id,))
            await db.execute(
                """INSERT INTO versions (story_id, fetched_at, ok, content_hash, http_status, suspect)
                   VALUES (?, ?, 0, ?, ?, ?)""",
                (story_id, encode_time(at), meta.content_hash, meta.http_status, reason),
            )
            await db.execute(
                "UPDATE stories SET checked_at = ?, suspect = ? WHERE id = ?",
                (encode_time(at), reason, story_id),
            )
            return row["suspect"] if row else None

    async def suspect_fetches(self, story_id: str) -> list[str]:
        rows = await self._all(
            "SELECT suspect FROM versions WHERE story_id = ? AND suspect IS NOT NULL ORDER BY id", (story_id,)
        )
        return [r["suspect"] for r in rows]

    async def failed_fetches(self, story_id: str) -> int:
        rows = await self._all(
            "SELECT count(*) FROM versions WHERE story_id = ? AND NOT ok AND suspect IS NULL", (story_id,)
        )
        return int(rows[0][0])

    # --- site lines ----------------------------------------------------------------------

    async def site_boilerplate(self, site: str, min_stories: int) -> frozenset[str]:
        rows = await self._all(
            "SELECT line_key FROM site_lines WHERE site = ? GROUP BY line_key HAVING COUNT(*) >= ?",
            (site, min_stories),
        )
        return frozenset(row[0] for row in rows)

    async def record_site_lines(self, site: str, story_id: str, keys: frozenset[str]) -> None:
        async with self.transaction() as db:
            await db.execute("DELETE FROM site_lines WHERE site = ? AND story_id = ?", (site, story_id))
            await db.executemany(
                "INSERT INTO site_lines (site, line_key, story_id) VALUES (?, ?, ?)",
                [(site, key, story_id) for key in keys],
            )

    # --- what users read -----------------------------------------------------------------

    async def story_record(self, story_id: str) -> StoryRecord | None:
        async with self._read_lock:
            return await _story_record(self._read, story_id)

    async def current_sections(self, story_id: str) -> list[SectionSeen]:
        async with self.snapshot() as db:
            return await _current_sections(db, story_id)

    async def story_view(self, story_id: str) -> StoryView | None:
        """One statement, so one hand-off to the SQLite thread and one consistent read: the
        record, joined to the sections the latest good version holds (their fingerprints read
        from its stored JSON by SQLite, not decoded here)."""
        rows = await self._all(
            """SELECT st.id, st.source, st.title, st.subtitle,
                      s.fingerprint, s.label, s.published_at, s.first_seen_at, s.summary
               FROM stories st LEFT JOIN sections s ON s.story_id = st.id AND s.fingerprint IN (
                   SELECT json_extract(j.value, '$.fingerprint')
                   FROM versions v, json_each(v.parsed, '$.sections') j
                   WHERE v.id = (SELECT max(id) FROM versions WHERE story_id = st.id AND ok))
               WHERE st.id = ?""",
            (story_id,),
        )
        return joined_view(rows, _section_seen)

    # --- events --------------------------------------------------------------------------

    async def events(self, story_id: str | None = None) -> list[EventRow]:
        where, args = ("WHERE story_id = ?", (story_id,)) if story_id else ("", ())
        rows = await self._all(f"SELECT * FROM events {where} ORDER BY id", args)
        return [_event(r) for r in rows]

    async def alert(self, event_id: int) -> Alert:
        async with self.snapshot() as db:
            return alert_for(*await _event_context(db, event_id))

    async def corrected_alert(self, event_id: int) -> Alert:
        async with self.snapshot() as db:
            row = await _row(db, "SELECT * FROM events WHERE id = ?", (event_id,))
            if row is None or row["target_event_id"] is None:
                raise KeyError(event_id)
            revised = await _row(
                db,
                "SELECT summary FROM sections WHERE story_id = ? AND fingerprint = ?",
                (row["story_id"], row["revised_fingerprint"]),
            )
            target = alert_for(*await _event_context(db, row["target_event_id"]))
            return corrected_alert(target, _event(row), revised["summary"] if revised else None)

    async def message(self, event_id: int) -> Alert | Notice:
        async with self.snapshot() as db:
            return message_for(*await _event_context(db, event_id))

    # --- health --------------------------------------------------------------------------

    async def story_health(self) -> list[StoryHealth]:
        rows = await self._all(
            """SELECT id, failures, last_error, worked_at, paused_at, suspect FROM stories
               WHERE active AND (failures > 0 OR paused_at IS NOT NULL OR suspect IS NOT NULL)
               ORDER BY id"""
        )
        return [health_of(r, decode_time) for r in rows]

    async def pause_story(self, story_id: str, at: datetime, notice: EventRecord) -> int | None:
        async with self.transaction() as db:
            row = await _row(db, "SELECT max(id) FROM versions WHERE story_id = ?", (story_id,))
            version_id = row[0] if row else None
            if version_id is None:
                return None
            cursor = await db.execute(
                "UPDATE stories SET paused_at = ? WHERE id = ? AND paused_at IS NULL",
                (encode_time(at), story_id),
            )
            if cursor.rowcount != 1:
                return None
            return await _insert_event(db, story_id, version_id, notice, at)

    async def resume_story(self, story_id: str) -> bool:
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE stories SET paused_at = NULL, failures = 0 WHERE id = ? AND paused_at IS NOT NULL",
                (story_id,),
            )
            return cursor.rowcount == 1

    async def failed_deliveries(self, limit: int = 20) -> list[FailedDelivery]:
        rows = await self._all(
            """SELECT d.id, e.story_id, d.channel, e.kind, e.headline, d.last_error, d.attempts
               FROM deliveries d JOIN events e ON e.id = d.event_id
               WHERE d.status = 'failed' ORDER BY d.id DESC LIMIT ?""",
            (limit,),
        )
        return [failed_of(r) for r in rows]

    # --- deliveries ----------------------------------------------------------------------

    async def due_deliveries(
        self, at: datetime, platforms: Sequence[str] = (), limit: int = 5000
    ) -> list[PendingDelivery]:
        rows = await self._all(
            f"""SELECT d.id, d.event_id, e.story_id, d.channel, d.attempts, d.status, d.claimed_at,
                       d.action, e.target_event_id, d.next_attempt_at <= ? AS due
               FROM deliveries d JOIN events e ON e.id = d.event_id
               WHERE d.status IN ('pending', 'claimed') AND {_PLATFORM} IN ({_marks(platforms)})
               ORDER BY e.order_key, e.id, d.id""",
            (utc_key(at), *platforms),
        )
        return due_in_order(
            (
                (pending_of(r, _utc),
                 r["status"] == "claimed", bool(r["due"]))
                for r in rows
            ),
            limit,
        )  # fmt: skip

    async def next_due_at(self, platforms: Sequence[str] = ()) -> datetime | None:
        rows = await self._all(
            f"""SELECT min(d.next_attempt_at) FROM deliveries d
                WHERE d.status = 'pending' AND {_PLATFORM} IN ({_marks(platforms)})""",
            tuple(platforms),
        )
        return _utc(rows[0][0])

    async def pending_count(self) -> int:
        rows = await self._all("SELECT count(*) FROM deliveries WHERE status IN ('pending', 'claimed')", ())
        return int(rows[0][0])

    async def claim(self, delivery_id: int, at: datetime) -> bool:
        async with self.transaction(durable=True) as db:
            cursor = await db.execute(
                """UPDATE deliveries SET status = 'claimed', claimed_at = coalesce(claimed_at, ?)
                   WHERE id = ? AND status = 'pending'""",
                (utc_key(at), delivery_id),
            )
            return cursor.rowcount == 1

    async def claimed_unrecorded(
        self, platforms: Sequence[str], older_than: datetime
    ) -> list[PendingDelivery]:
        rows = await self._all(
            f"""SELECT d.id, d.event_id, e.story_id, d.channel, d.attempts, d.claimed_at, d.action,
                      e.target_event_id
               FROM deliveries d JOIN events e ON e.id = d.event_id
               WHERE d.status = 'claimed' AND d.claimed_at < ? AND {_PLATFORM} IN ({_marks(platforms)})
               ORDER BY e.order_key, e.id, d.id""",
            (utc_key(older_than), *platforms),
        )
        return [pending_of(r, _utc) for r in rows]

    async def thread_for(self, story_id: str, channel: str) -> str | None:
        rows = await self._all(
            """SELECT d.thread_id FROM deliveries d JOIN events e ON e.id = d.event_id
               WHERE e.story_id = ? AND d.channel = ? AND d.thread_id IS NOT NULL
               ORDER BY d.id DESC LIMIT 1""",
            (story_id, channel),
        )
        return rows[0]["thread_id"] if rows else None

    async def sent_message(self, event_id: int, channel: str) -> SentMessage | None:
        rows = await self._all(
            """SELECT message_id, thread_id FROM deliveries
               WHERE event_id = ? AND channel = ? AND action = 'post' AND status = 'sent'""",
            (event_id, channel),
        )
        return SentMessage(rows[0]["message_id"], rows[0]["thread_id"]) if rows else None

    async def mark_sent(self, delivery_id: int, message_id: str, thread_id: str | None, at: datetime) -> None:
        async with self.transaction() as db:
            await db.execute(
                """UPDATE deliveries SET status = 'sent', attempts = attempts + 1, message_id = ?,
                       thread_id = ?, sent_at = ?, last_error = NULL WHERE id = ?""",
                (message_id, thread_id, encode_time(at), delivery_id),
            )

    async def mark_retry(
        self, delivery_id: int, error: str, retry_at: datetime, count: bool = True, unclaim: bool = False
    ) -> None:
        async with self.transaction() as db:
            await db.execute(
                """UPDATE deliveries SET status = 'pending', attempts = attempts + ?,
                       last_error = ?, next_attempt_at = ?,
                       claimed_at = CASE WHEN ? THEN NULL ELSE claimed_at END WHERE id = ?""",
                (int(count), error[:500], utc_key(retry_at), int(unclaim), delivery_id),
            )

    async def mark_failed(self, delivery_id: int, error: str) -> None:
        async with self.transaction() as db:
            await db.execute(
                """UPDATE deliveries SET status = 'failed', attempts = attempts + 1, last_error = ?
                   WHERE id = ?""",
                (error[:500], delivery_id),
            )

    async def deliveries(self, event_id: int | None = None) -> list[DeliveryRow]:
        where, args = ("WHERE event_id = ?", (event_id,)) if event_id is not None else ("", ())
        rows = await self._all(f"SELECT * FROM deliveries {where} ORDER BY id", args)
        return [
            DeliveryRow(
                id=r["id"],
                event_id=r["event_id"],
                channel=r["channel"],
                status=DeliveryStatus(r["status"]),
                attempts=r["attempts"],
                next_attempt_at=_utc(r["next_attempt_at"]) or now_utc(),
                last_error=r["last_error"],
                message_id=r["message_id"],
                thread_id=r["thread_id"],
                sent_at=decode_time(r["sent_at"]),
                claimed_at=_utc(r["claimed_at"]),
                action=DeliveryAction(r["action"]),
            )
            for r in rows
        ]

    # --- plumbing ------------------------------------------------------------------------

    # --- held stories and routes ---------------------------------------------------------

    async def add_held_story(self, story: HeldStory) -> bool:
        async with self.transaction() as db:
            cursor = await db.execute(
                """INSERT INTO held_stories (id, url, path, title, aliases, origin, added_by, added_at,
                       expires_at, interval) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (id) DO NOTHING""",
                (
                    story.id, story.url, story.path, story.title, aliases_text(story.aliases),
                    story.origin, story.added_by, utc_key(story.added_at or now_utc()),
                    utc_key(story.expires_at), story.interval,
                ),
            )  # fmt: skip
            return await _held_changed(db, cursor.rowcount == 1)

    async def remove_held_story(self, story_id: str) -> bool:
        async with self.transaction() as db:
            return bool(await _drop_held(db, [story_id]))

    async def remove_expired_stories(self, at: datetime) -> list[str]:
        async with self.transaction() as db:
            async with db.execute(
                "SELECT id FROM held_stories WHERE expires_at IS NOT NULL AND expires_at <= ?", (utc_key(at),)
            ) as cursor:
                ids = sorted(r["id"] for r in await cursor.fetchall())
            await _drop_held(db, ids)
            return ids

    async def add_subscription(self, subscription: Subscription) -> bool:
        sub = subscription
        async with self.transaction() as db:
            cursor = await db.execute(
                """INSERT INTO subscriptions (channel, story_id, keywords, added_by, added_at, digest)
                   VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel, story_id, keywords)
                   DO UPDATE SET digest = excluded.digest WHERE subscriptions.digest <> excluded.digest""",
                (sub.channel, sub.story_id, keywords_key(sub.keywords), sub.added_by,
                 utc_key(sub.added_at or now_utc()), sub.digest),
            )  # fmt: skip
            return await _held_changed(db, cursor.rowcount == 1)

    async def remove_subscription(
        self, channel: str, story_id: str = "", keywords: Sequence[str] = ()
    ) -> bool:
        async with self.transaction() as db:
            cursor = await db.execute(
                "DELETE FROM subscriptions WHERE channel = ? AND story_id = ? AND keywords = ?",
                (channel, story_id, keywords_key(keywords)),
            )
            return await _held_changed(db, cursor.rowcount > 0)

    async def set_mute(self, mute: Mute) -> None:
        async with self.transaction() as db:
            await db.execute(
                """INSERT INTO mutes (story_id, channel, until, added_by) VALUES (?, ?, ?, ?)
                   ON CONFLICT (story_id, channel) DO UPDATE SET until = excluded.until,
                       added_by = excluded.added_by""",
                (mute.story_id, mute.channel, utc_key(mute.until), mute.added_by),
            )
            await _drop_queued(db, mute.story_id, mute.channel)
            await _held_changed(db, True)

    async def drop_queued(self, story_id: str, channel: str) -> int:
        async with self.transaction() as db:
            return await _drop_queued(db, story_id, channel)

    async def remove_mute(self, story_id: str, channel: str) -> bool:
        async with self.transaction() as db:
            cursor = await db.execute(
                "DELETE FROM mutes WHERE story_id = ? AND channel = ?", (story_id, channel)
            )
            return await _held_changed(db, cursor.rowcount > 0)

    async def held_revision(self) -> int:
        (row,) = await self._all("SELECT revision FROM held_revision")
        return int(row["revision"])

    async def held(self, at: datetime | None = None) -> HeldState:
        async with self.snapshot() as db:
            stories = await db.execute_fetchall(
                "SELECT * FROM held_stories WHERE ? IS NULL OR expires_at IS NULL OR expires_at > ?"
                " ORDER BY added_at, id",
                (utc_key(at), utc_key(at)),
            )
            subs = await db.execute_fetchall("SELECT * FROM subscriptions ORDER BY added_at, channel")
            mutes = await db.execute_fetchall("SELECT * FROM mutes ORDER BY story_id, channel")
        return held_state(stories, subs, mutes, _utc)

    async def feed_validators(self, url: str) -> Validators | None:
        async with self._read_lock:
            row = await _row(
                self._read, "SELECT etag, last_modified FROM feed_validators WHERE url = ?", (url,)
            )
        return Validators(None, row[0], row[1]) if row else None

    async def set_feed_validators(self, url: str, etag: str | None, last_modified: str | None) -> None:
        async with self.transaction() as db:
            await db.execute(
                """INSERT INTO feed_validators (url, etag, last_modified) VALUES (?, ?, ?)
                   ON CONFLICT (url) DO UPDATE SET etag = excluded.etag,
                       last_modified = excluded.last_modified""",
                (url, etag, last_modified),
            )

    async def _all(self, sql: str, args: Iterable[object] = ()) -> list[aiosqlite.Row]:
        async with self._read_lock:
            return list(await self._read.execute_fetchall(sql, tuple(args)))


async def _drop_held(db: aiosqlite.Connection, ids: Sequence[str]) -> int:
    """Remove held stories with their subscriptions and mutes; returns how many stories went."""
    args = [(i,) for i in ids]
    first = db.total_changes
    await db.executemany("DELETE FROM subscriptions WHERE story_id = ?", args)
    await db.executemany("DELETE FROM mutes WHERE story_id = ?", args)
    before = db.total_changes
    await db.executemany("DELETE FROM held_stories WHERE id = ?", args)
    await _held_changed(db, db.total_changes > first)
    return db.total_changes - before


async def _held_changed(db: aiosqlite.Connection, changed: bool) -> bool:
    """Move the held revision (`held_revision`) when a held story, subscription or mute
    `changed`, in the change's transaction; returns `changed`."""
    if changed:
        await db.execute("UPDATE held_revision SET revision = revision + 1")
    return changed


async def _connect(path: Path, opened: list[aiosqlite.Connection]) -> aiosqlite.Connection:
    db = await aiosqlite.connect(str(path), isolation_level=None)
    opened.append(db)
    db.row_factory = aiosqlite.Row
    await db.execute("PRAGMA foreign_keys = ON")
    await db.execute("PRAGMA busy_timeout = 5000")
    async with db.execute("SELECT count(*) FROM sqlite_master") as cursor:  # a file that is not a
        await cursor.fetchall()  # database fails here
    return db


async def _row(db: aiosqlite.Connection, sql: str, args: Iterable[object] = ()) -> aiosqlite.Row | None:
    """The first row of a one-row lookup, in one hand-off to the SQLite thread (execute,
    fetch and close as three would each wait their turn on a busy machine)."""
    rows = await db.execute_fetchall(sql, tuple(args))
    return next(iter(rows), None)


async def _one(db: aiosqlite.Connection, sql: str, args: Iterable[object] = ()) -> aiosqlite.Row:
    row = await _row(db, sql, args)
    assert row is not None
    return row


async def _last_version(db: aiosqlite.Connection, story_id: str, lock: asyncio.Lock) -> LastVersion | None:
    async with lock:
        row = await _row(
            db,
            f"""SELECT id, parsed, content_hash, etag, last_modified FROM versions
               WHERE story_id = ? AND ok {AFTER_BASE} ORDER BY id DESC LIMIT 1""",
            (story_id,),
        )
    if row is None:
        return None
    return LastVersion(
        row["id"], story_from_json(row["parsed"]), row["content_hash"], row["etag"], row["last_modified"]
    )


async def _correction_target(
    db: aiosqlite.Connection, story_id: str, corrects: str | None
) -> tuple[int | None, set[str]]:
    """The alert an event correcting the fingerprint `corrects` targets (the first of its
    chain), and the channels where that alert's post did not fail."""
    if corrects is None:
        return None, set()
    row = await _row(
        db,
        """SELECT coalesce(target_event_id, id) FROM events WHERE story_id = ? AND fingerprint = ?
           ORDER BY id DESC LIMIT 1""",
        (story_id, corrects),
    )
    if row is None:
        return None, set()
    rows = await db.execute_fetchall(
        "SELECT channel FROM deliveries WHERE event_id = ? AND action = 'post' AND status != 'failed'",
        (row[0],),
    )
    return row[0], {r[0] for r in rows}


async def _drop_queued(db: aiosqlite.Connection, story_id: str, channel: str) -> int:
    """`HeldRoutes.drop_queued`, inside the caller's transaction."""
    cursor = await db.execute(
        f"""DELETE FROM deliveries WHERE channel = ? AND {MUTED_DROP}
              AND event_id IN (SELECT id FROM events WHERE story_id = ? AND kind != ?)""",
        (channel, story_id, AlertKind.STORY_PAUSED.value),
    )
    return cursor.rowcount


async def _queue_catch_up(db: aiosqlite.Connection, story_id: str, channel: str) -> bool:
    """A catch-up for a channel newly routed to a story: one event of kind 'catch_up' as of the
    story's latest good version, with one delivery, to that channel only. None when the story
    has no version yet (nothing to catch up on) or the channel has had any of its alerts."""
    latest = await _row(
        db,
        f"""SELECT id, fetched_at FROM versions WHERE story_id = ? AND ok {AFTER_BASE}
            ORDER BY id DESC LIMIT 1""",
        (story_id,),
    )
    if latest is None:
        return False
    seen = await _row(
        db,
        """SELECT 1 FROM deliveries d JOIN events e ON e.id = d.event_id
           WHERE d.channel = ? AND e.story_id = ? LIMIT 1""",
        (channel, story_id),
    )
    if seen is not None:
        return False
    as_of = decode_time(latest["fetched_at"]) or now_utc()
    cursor = await db.execute(
        """INSERT INTO events (story_id, version_id, kind, headline, summary, order_key, seen_at)
           VALUES (?, ?, ?, '', '', ?, ?)""",
        (story_id, latest["id"], AlertKind.CATCH_UP.value, utc_key(as_of), encode_time(as_of)),
    )
    await db.execute(
        "INSERT INTO deliveries (event_id, channel, next_attempt_at) VALUES (?, ?, ?)",
        (cursor.lastrowid, channel, utc_key(as_of)),
    )
    return True


async def _hold_for_digest(
    db: aiosqlite.Connection,
    story_id: str,
    version_id: int | None,
    event_id: int,
    channel: str,
    at: datetime,
    period: float,
) -> None:
    """Add an event to the story's open digest for `channel`, opening one due `period` seconds
    from now when there is none. A digest is open while its delivery was never attempted: once
    claimed, what it holds (and so its delivery key) is fixed."""
    row = await _row(
        db,
        """SELECT e.id FROM events e JOIN deliveries d ON d.event_id = e.id
           WHERE e.story_id = ? AND e.kind = ? AND d.channel = ? AND d.status = 'pending'
             AND d.claimed_at IS NULL
           ORDER BY e.id DESC LIMIT 1""",
        (story_id, AlertKind.DIGEST.value, channel),
    )
    if row is not None:
        digest_id = row["id"]
    else:
        due = utc_key(at + timedelta(seconds=period))
        cursor = await db.execute(
            """INSERT INTO events (story_id, version_id, kind, headline, summary, order_key, seen_at)
               VALUES (?, ?, ?, '', '', ?, ?)""",
            (story_id, version_id, AlertKind.DIGEST.value, due, encode_time(at)),
        )
        digest_id = cursor.lastrowid
        await db.execute(
            "INSERT INTO deliveries (event_id, channel, next_attempt_at) VALUES (?, ?, ?)",
            (digest_id, channel, due),
        )
    await db.execute(
        "INSERT OR IGNORE INTO digest_members (digest_event_id, event_id) VALUES (?, ?)",
        (digest_id, event_id),
    )


async def _story_record(db: aiosqlite.Connection, story_id: str) -> StoryRecord | None:
    row = await _row(db, "SELECT id, source, title, subtitle FROM stories WHERE id = ?", (story_id,))
    return StoryRecord(row["id"], row["source"], row["title"], row["subtitle"]) if row else None


async def _current_sections(db: aiosqlite.Connection, story_id: str) -> list[SectionSeen]:
    row = await _row(
        db, "SELECT parsed FROM versions WHERE story_id = ? AND ok ORDER BY id DESC LIMIT 1", (story_id,)
    )
    if row is None:
        return []
    prints = [s.fingerprint for s in story_from_json(row["parsed"]).sections]
    rows = await db.execute_fetchall(
        f"""SELECT fingerprint, label, published_at, first_seen_at, summary FROM sections
            WHERE story_id = ? AND fingerprint IN ({_marks(prints)})""",
        (story_id, *prints),
    )
    return [_section_seen(r) for r in rows]


def _section_seen(r: aiosqlite.Row) -> SectionSeen:
    return SectionSeen(
        r["fingerprint"], r["label"], decode_time(r["published_at"]),
        decode_time(r["first_seen_at"]) or now_utc(), r["summary"],
    )  # fmt: skip


async def _index_story(db: aiosqlite.Connection, story_id: str, story: Story | None = None) -> None:
    """Refresh a story's row in the full-text index. Rows share the stories table's rowid:
    story_id is an unindexed FTS column, so looking rows up by it would scan the index."""
    row = await _row(db, "SELECT rowid, title, aliases FROM stories WHERE id = ?", (story_id,))
    if row is None:
        return
    if story is None:
        existing = await _row(db, "SELECT body FROM story_search WHERE rowid = ?", (row["rowid"],))
        body = existing["body"] if existing else ""
    else:
        body = " ".join(s.body for s in story.sections)[:20_000]
    await db.execute("DELETE FROM story_search WHERE rowid = ?", (row["rowid"],))
    await db.execute(
        "INSERT INTO story_search (rowid, story_id, title, aliases, body) VALUES (?, ?, ?, ?, ?)",
        (row["rowid"], story_id, f"{story_id} {row['title']}", row["aliases"], body),
    )


async def _insert_event(
    db: aiosqlite.Connection, story_id: str, version_id: int, event: EventRecord, at: datetime
) -> int:
    """One event on a version, with its deliveries: a pending post to each of its channels,
    or where it corrects an alert posted there, an edit of that alert and a note."""
    target, posted = await _correction_target(db, story_id, event.corrects)
    cursor = await db.execute(
        """INSERT INTO events (story_id, version_id, kind, fingerprint, headline, summary,
               published_at, order_key, seen_at, change, label, target_event_id, revised_fingerprint)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (story_id, version_id, event.kind.value, event.fingerprint, event.headline, event.summary,
         encode_time(event.published_at), utc_key(event.published_at or at), encode_time(at), event.change,
         event.label, target, event.revised),
    )  # fmt: skip
    event_id = cursor.lastrowid
    assert event_id is not None
    muted: set[str] = set()
    if event.kind is not AlertKind.STORY_PAUSED:  # a notice to the admins is no story alert
        rows = await db.execute_fetchall(
            "SELECT channel FROM mutes WHERE story_id = ? AND (until IS NULL OR until > ?)",
            (story_id, utc_key(at)),
        )
        muted = {r[0] for r in rows}
    now, held = deliveries_for(event, posted, muted)
    await db.executemany(
        "INSERT OR IGNORE INTO deliveries (event_id, channel, action, next_attempt_at) VALUES (?, ?, ?, ?)",
        [(event_id, channel, action.value, utc_key(at)) for channel, action in now],
    )
    for channel, period in held:
        await _hold_for_digest(db, story_id, version_id, event_id, channel, at, period)
    await _keep_catch_ups_first(db, story_id, event.channels, event.published_at or at)
    return event_id


async def _keep_catch_ups_first(
    db: aiosqlite.Connection, story_id: str, channels: Sequence[str], moment: datetime
) -> None:
    """The queue runs in `order_key` order, and a new event's key is its publisher's stamp:
    one stamped before an unsent catch-up's moment would overtake it in that channel. Such a
    catch-up takes the event's key (the tie goes to the older event, the catch-up)."""
    if not channels:
        return
    order_key = utc_key(moment)
    await db.execute(
        f"""UPDATE events SET order_key = ?
            WHERE story_id = ? AND kind = ? AND order_key > ? AND EXISTS (
                SELECT 1 FROM deliveries d WHERE d.event_id = events.id
                  AND d.status IN ('pending', 'claimed') AND d.channel IN ({_marks(channels)}))""",
        (order_key, story_id, AlertKind.CATCH_UP.value, order_key, *channels),
    )


async def _event_context(
    db: aiosqlite.Connection, event_id: int
) -> tuple[EventRow, StoryRecord, list[SectionSeen], list[EventRow]]:
    """An event with its story, current sections and (a digest's) member events in alert
    order, from one snapshot. KeyError if unknown."""
    row = await _row(db, "SELECT * FROM events WHERE id = ?", (event_id,))
    if row is None:
        raise KeyError(event_id)
    record = await _story_record(db, row["story_id"])
    assert record is not None
    members = await db.execute_fetchall(
        """SELECT e.* FROM digest_members m JOIN events e ON e.id = m.event_id
           WHERE m.digest_event_id = ? ORDER BY e.order_key, e.id""",
        (event_id,),
    )
    sections = await _current_sections(db, row["story_id"])
    return _event(row), record, sections, [_event(m) for m in members]


def _event(r: aiosqlite.Row) -> EventRow:
    return EventRow(
        id=r["id"],
        story_id=r["story_id"],
        version_id=r["version_id"],
        kind=AlertKind(r["kind"]),
        headline=r["headline"],
        summary=r["summary"],
        published_at=decode_time(r["published_at"]),
        seen_at=decode_time(r["seen_at"]) or now_utc(),
        fingerprint=r["fingerprint"],
        change=r["change"],
        label=r["label"],
        target_event_id=r["target_event_id"],
        revised_fingerprint=r["revised_fingerprint"],
    )
