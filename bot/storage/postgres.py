"""The shared backend: PostgreSQL through psycopg 3 and its connection pool.

Several processes may use one database. A poll's writes are one transaction that first locks
the story's row (SELECT ... FOR UPDATE), so of two pollers that diffed against the same base
only the first records; the second gets StaleBase. A delivery is claimed by a conditional
UPDATE, so only one sender moves it. Reads that must agree with each other (a story view, an
alert) come from one REPEATABLE READ snapshot.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from bot.codec import in_zone, story_from_data, story_to_data, zone_of
from bot.models import Alert, AlertKind, Notice, Story, StoryBrief, StoryView
from bot.redact import display_url
from bot.storage.baseline import AFTER_BASE, REBASE_ON_SYNC
from bot.storage.errors import StaleBase, StoreError
from bot.storage.heldcodec import aliases_text, held_state, keywords_key
from bot.storage.postgres_schema import BOOKKEEPING, MIGRATE_LOCK, MIGRATIONS
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
    pending_of,
)
from bot.timeline import alert_for, corrected_alert, joined_view, message_for

CONNECT_TIMEOUT = 5  # seconds: a server that does not answer is an error, not a hang
POOL_MAX = 10

Conn = AsyncConnection[DictRow]
Cursor = AsyncCursor[DictRow]


class PostgresStore:
    """The `bot.storage.Store` contract on PostgreSQL. Open with `PostgresStore.open(url)`."""

    def __init__(self, pool: AsyncConnectionPool[Conn]):
        self._pool = pool

    @classmethod
    async def open(cls, url: str, *, pool_size: int = POOL_MAX) -> PostgresStore:
        """Connect (within CONNECT_TIMEOUT), migrate forward, then open the pool. StoreError
        names the database without its password."""
        shown = display_url(url)
        try:
            conn = await asyncio.wait_for(_connect(url), CONNECT_TIMEOUT + 1)
        except (psycopg.Error, OSError, TimeoutError) as err:
            raise StoreError(f"cannot open database {shown}: {_reason(err, url)}") from None
        try:
            async with conn:
                await _migrate(conn)
        except psycopg.Error as err:
            raise StoreError(f"cannot migrate database {shown}: {_reason(err, url)}") from None
        pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=False,
            timeout=CONNECT_TIMEOUT * 2,
            kwargs={"autocommit": True, "row_factory": dict_row, "connect_timeout": CONNECT_TIMEOUT},
            configure=_configure,
            name="storybot",
        )
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT * 2)
        except PoolTimeout:
            await pool.close()
            raise StoreError(
                f"cannot open database {shown}: no connection within {CONNECT_TIMEOUT * 2}s"
            ) from None
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    async def __aenter__(self) -> PostgresStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def transaction(self, *, snapshot: bool = False) -> AsyncIterator[Conn]:
        """One transaction on a pooled connection; `snapshot`: read-only, REPEATABLE READ. A
        server that refuses (gone, read-only, full) raises StoreError with its words."""
        try:
            async with self._pool.connection() as conn, conn.transaction():
                if snapshot:
                    await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as err:
            raise StoreError(str(err)) from err

    async def _all(self, sql: str, args: Sequence[Any] = ()) -> list[DictRow]:
        try:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(sql, args)
                return await cursor.fetchall()
        except (psycopg.OperationalError, PoolTimeout) as err:
            raise StoreError(str(err)) from err

    async def schema_version(self) -> int:
        rows = await self._all("SELECT coalesce(max(version), 0) AS v FROM schema_migrations")
        return int(rows[0]["v"])

    # --- catalog -------------------------------------------------------------------------

    async def sync_stories(
        self,
        entries: Sequence[StoryEntry],
        routes: Sequence[tuple[str, str]],
        catch_up: Collection[tuple[str, str]] | None = None,
    ) -> list[tuple[str, str]]:
        async with self.transaction() as conn, conn.cursor() as cur:
            await cur.execute("SELECT id, config_hash, active FROM stories FOR UPDATE")
            stored = {r["id"]: (r["config_hash"], r["active"]) for r in await cur.fetchall()}
            wanted = {e.id for e in entries}
            await cur.executemany(
                "UPDATE stories SET active = false WHERE id = %s",
                [(i,) for i, (_, active) in stored.items() if active and i not in wanted],
            )
            await cur.executemany(
                f"""INSERT INTO stories (id, source, title, aliases, active, added_at, config_hash)
                   VALUES (%s, %s, %s, %s, true, now(), %s)
                   ON CONFLICT (id) DO UPDATE SET {REBASE_ON_SYNC}, source = excluded.source,
                       aliases = excluded.aliases, active = true, config_hash = excluded.config_hash,
                       failures = 0, paused_at = NULL,
                       title = CASE WHEN excluded.title != '' THEN excluded.title ELSE stories.title END""",
                [
                    (e.id, e.source, e.title, " ".join(e.aliases), e.digest)
                    for e in entries
                    if stored.get(e.id) != (e.digest, True)
                ],
            )
            await cur.execute("SELECT story_id, channel FROM routes")
            old_routes = {(r["story_id"], r["channel"]) for r in await cur.fetchall()}
            new_routes = set(routes)
            await cur.executemany(
                "DELETE FROM routes WHERE story_id = %s AND channel = %s", sorted(old_routes - new_routes)
            )
            added = sorted(new_routes - old_routes)
            await cur.executemany(
                "INSERT INTO routes (story_id, channel) VALUES (%s, %s) ON CONFLICT DO NOTHING", added
            )
            eligible = catch_up_routes(added, catch_up)
            return [route for route in eligible if await _queue_catch_up(cur, *route)]

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
                _aware(r["updated"]),
                r["suspect"],
            )
            for r in rows
        ]

    async def last_checks(self) -> dict[str, datetime | None]:
        rows = await self._all("SELECT id, checked_at FROM stories WHERE active")
        return {row["id"]: _aware(row["checked_at"]) for row in rows}

    async def search(self, query: str, limit: int = 10) -> list[str]:
        words = [w for w in re.findall(r"\w+", query.casefold())[:12]]
        if not words:
            return []
        # each word quoted as a tsquery lexeme: nothing a user types is read as an operator
        text = " & ".join(f"'{w}':*" if len(w) > 2 else f"'{w}'" for w in words)
        rows = await self._all(
            """SELECT id FROM stories, to_tsquery('english', %s) AS q WHERE search @@ q
               ORDER BY ts_rank(search, q) DESC, id LIMIT %s""",
            (text, limit),
        )
        return [r["id"] for r in rows]

    # --- versions ------------------------------------------------------------------------

    async def last_version(self, story_id: str) -> LastVersion | None:
        rows = await self._all(
            f"""SELECT id, parsed, content_hash, etag, last_modified FROM versions
               WHERE story_id = %s AND ok {AFTER_BASE} ORDER BY id DESC LIMIT 1""",
            (story_id,),
        )
        if not rows:
            return None
        r = rows[0]
        return LastVersion(
            r["id"], story_from_data(r["parsed"]), r["content_hash"], r["etag"], r["last_modified"]
        )

    async def known_titles(self, story_id: str) -> set[str]:
        rows = await self._all("SELECT title FROM story_titles WHERE story_id = %s", (story_id,))
        return {r["title"] for r in rows}

    async def known_fingerprints(self, story_id: str) -> set[str]:
        rows = await self._all("SELECT fingerprint FROM sections WHERE story_id = %s", (story_id,))
        return {r["fingerprint"] for r in rows}

    async def last_validators(self, story_id: str) -> Validators | None:
        rows = await self._all(
            f"""SELECT content_hash, etag, last_modified FROM versions
               WHERE story_id = %s AND ok {AFTER_BASE} ORDER BY id DESC LIMIT 1""",
            (story_id,),
        )
        return (
            Validators(rows[0]["content_hash"], rows[0]["etag"], rows[0]["last_modified"]) if rows else None
        )

    async def record_checked(self, story_id: str, at: datetime) -> None:
        await self.record_checks([(story_id, at)])

    async def record_checks(self, checks: Sequence[tuple[str, datetime]]) -> None:
        async with self.transaction() as conn, conn.cursor() as cur:
            await cur.executemany(
                """UPDATE stories SET checked_at = %s, worked_at = %s, last_error = NULL, suspect = NULL,
                       failures = 0 WHERE id = %s""",
                [(at, at, story_id) for story_id, at in checks],
            )

    async def record_failure(self, story_id: str, at: datetime, error: str, http_status: int | None) -> int:
        async with self.transaction() as conn:
            await conn.execute(
                """INSERT INTO versions (story_id, fetched_at, ok, http_status, error)
                   VALUES (%s, %s, false, %s, %s)""",
                (story_id, at, http_status, error),
            )
            cursor = await conn.execute(
                """UPDATE stories SET checked_at = %s, last_error = %s, suspect = NULL,
                       failures = failures + 1 WHERE id = %s RETURNING failures""",
                (at, error, story_id),
            )
            row = await cursor.fetchone()
            return int(row["failures"]) if row else 0

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
        async with self.transaction() as conn, conn.cursor() as cur:
            # the story's row lock orders concurrent polls of it: the second waits, then sees
            # the first one's version as the latest (READ COMMITTED reads anew per statement)
            await cur.execute("SELECT id FROM stories WHERE id = %s FOR UPDATE", (story_id,))
            await cur.execute(
                f"SELECT max(id) AS id FROM versions WHERE story_id = %s AND ok {AFTER_BASE}", (story_id,)
            )
            row = await cur.fetchone()
            latest = row["id"] if row else None
            if latest != base_id:
                raise StaleBase(story_id, base_id, latest)
            await cur.execute(
                """INSERT INTO versions (story_id, fetched_at, ok, content_hash, etag, last_modified,
                       http_status, parsed) VALUES (%s, %s, true, %s, %s, %s, %s, %s) RETURNING id""",
                (story_id, at, meta.content_hash, meta.etag, meta.last_modified, meta.http_status,
                 Jsonb(story_to_data(story))),
            )  # fmt: skip
            version = await cur.fetchone()
            assert version is not None
            version_id = version["id"]
            await cur.executemany(
                """INSERT INTO sections (story_id, fingerprint, kind, label, header, published_at,
                       published_zone, body, summary, first_version_id, first_seen_at)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING""",
                [
                    (story_id, s.fingerprint, s.kind, s.label, s.header, s.published_at,
                     zone_of(s.published_at), s.body, s.summary, version_id, at)
                    for s in sections
                ],
            )  # fmt: skip
            await cur.execute(
                """UPDATE stories SET title = %s, subtitle = %s, checked_at = %s, worked_at = %s,
                       last_error = NULL, suspect = NULL, failures = 0, search_body = %s WHERE id = %s""",
                (
                    story.title,
                    story.subtitle,
                    at,
                    at,
                    " ".join(s.body for s in story.sections)[:20_000],
                    story_id,
                ),
            )
            if story.title:
                await cur.execute(
                    "INSERT INTO story_titles (story_id, title) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                    (story_id, story.title),
                )
            return [await _insert_event(cur, story_id, version_id, event, at) for event in events]

    async def prune(self, failures_before: datetime) -> int:
        async with self.transaction() as conn:
            cursor = await conn.execute(
                """DELETE FROM versions v
                   WHERE CASE WHEN v.ok
                             THEN v.id < (SELECT max(w.id) FROM versions w
                                          WHERE w.story_id = v.story_id AND w.ok)
                             ELSE v.fetched_at < %s END
                     AND NOT EXISTS (SELECT 1 FROM events e WHERE e.version_id = v.id)
                     AND NOT EXISTS (SELECT 1 FROM sections s WHERE s.first_version_id = v.id)""",
                (failures_before,),
            )
            return cursor.rowcount

    # --- suspect fetches -----------------------------------------------------------------

    async def record_suspect(self, story_id: str, at: datetime, reason: str, meta: FetchMeta) -> str | None:
        async with self.transaction() as conn:
            cursor = await conn.execute("SELECT suspect FROM stories WHERE id = %s FOR UPDATE", (story_id,))
            row = await cursor.fetchone()
            await conn.execute(
                """INSERT INTO versions (story_id, fetched_at, ok, content_hash, http_status, suspect)
                   VALUES (%s, %s, false, %s, %s, %s)""",
                (story_id, at, meta.content_hash, meta.http_status, reason),
            )
            await conn.execute(
                "UPDATE stories SET checked_at = %s, suspect = %s WHERE id = %s", (at, reason, story_id)
            )
            return row["suspect"] if row else None

    async def suspect_fetches(self, story_id: str) -> list[str]:
        rows = await self._all(
            "SELECT suspect FROM versions WHERE story_id = %s AND suspect IS NOT NULL ORDER BY id",
            (story_id,),
        )
        return [r["suspect"] for r in rows]

    async def failed_fetches(self, story_id: str) -> int:
        rows = await self._all(
            "SELECT count(*) AS n FROM versions WHERE story_id = %s AND NOT ok AND suspect IS NULL",
            (story_id,),
        )
        return int(rows[0]["n"])

    # --- site lines ----------------------------------------------------------------------

    async def site_boilerplate(self, site: str, min_stories: int) -> frozenset[str]:
        rows = await self._all(
            "SELECT line_key FROM site_lines WHERE site = %s GROUP BY line_key HAVING count(*) >= %s",
            (site, min_stories),
        )
        return frozenset(r["line_key"] for r in rows)

    async def record_site_lines(self, site: str, story_id: str, keys: frozenset[str]) -> None:
        async with self.transaction() as conn, conn.cursor() as cur:
            await cur.execute("DELETE FROM site_lines WHERE site = %s AND story_id = %s", (site, story_id))
            await cur.executemany(
                "INSERT INTO site_lines (site, line_key, story_id) VALUES (%s, %s, %s)",
                [(site, key, story_id) for key in keys],
            )

    # --- what users read -----------------------------------------------------------------

    async def story_record(self, story_id: str) -> StoryRecord | None:
        async with self.transaction(snapshot=True) as conn:
            return await _story_record(conn, story_id)

    async def current_sections(self, story_id: str) -> list[SectionSeen]:
        async with self.transaction(snapshot=True) as conn:
            return await _current_sections(conn, story_id)

    async def story_view(self, story_id: str) -> StoryView | None:
        """One statement (one snapshot, one round trip): the record, joined to the sections
        the latest good version holds."""
        rows = await self._all(
            """SELECT st.id, st.source, st.title, st.subtitle, s.fingerprint, s.label,
                      s.published_at, s.published_zone, s.first_seen_at, s.summary
               FROM stories st LEFT JOIN sections s ON s.story_id = st.id AND s.fingerprint IN (
                   SELECT jsonb_array_elements(v.parsed -> 'sections') ->> 'fingerprint' FROM versions v
                   WHERE v.id = (SELECT max(id) FROM versions WHERE story_id = st.id AND ok))
               WHERE st.id = %s""",
            (story_id,),
        )
        return joined_view(rows, _section_seen)

    # --- events --------------------------------------------------------------------------

    async def events(self, story_id: str | None = None) -> list[EventRow]:
        where, args = ("WHERE story_id = %s", (story_id,)) if story_id else ("", ())
        rows = await self._all(f"SELECT * FROM events {where} ORDER BY id", args)
        return [_event(r) for r in rows]

    async def alert(self, event_id: int) -> Alert:
        async with self.transaction(snapshot=True) as conn:
            return alert_for(*await _event_context(conn, event_id))

    async def corrected_alert(self, event_id: int) -> Alert:
        async with self.transaction(snapshot=True) as conn:
            cursor = await conn.execute("SELECT * FROM events WHERE id = %s", (event_id,))
            row = await cursor.fetchone()
            if row is None or row["target_event_id"] is None:
                raise KeyError(event_id)
            cursor = await conn.execute(
                "SELECT summary FROM sections WHERE story_id = %s AND fingerprint = %s",
                (row["story_id"], row["revised_fingerprint"]),
            )
            revised = await cursor.fetchone()
            target = alert_for(*await _event_context(conn, row["target_event_id"]))
            return corrected_alert(target, _event(row), revised["summary"] if revised else None)

    async def message(self, event_id: int) -> Alert | Notice:
        async with self.transaction(snapshot=True) as conn:
            return message_for(*await _event_context(conn, event_id))

    # --- health --------------------------------------------------------------------------

    async def story_health(self) -> list[StoryHealth]:
        rows = await self._all(
            """SELECT id, failures, last_error, worked_at, paused_at, suspect FROM stories
               WHERE active AND (failures > 0 OR paused_at IS NOT NULL OR suspect IS NOT NULL)
               ORDER BY id"""
        )
        return [health_of(r, _aware) for r in rows]

    async def pause_story(self, story_id: str, at: datetime, notice: EventRecord) -> int | None:
        async with self.transaction() as conn, conn.cursor() as cur:
            await cur.execute("SELECT max(id) AS id FROM versions WHERE story_id = %s", (story_id,))
            row = await cur.fetchone()
            if row is None or row["id"] is None:
                return None
            # the conditional UPDATE is the one pause: a second caller's waits, then finds it paused
            await cur.execute(
                "UPDATE stories SET paused_at = %s WHERE id = %s AND paused_at IS NULL RETURNING id",
                (at, story_id),
            )
            if await cur.fetchone() is None:
                return None
            return await _insert_event(cur, story_id, row["id"], notice, at)

    async def resume_story(self, story_id: str) -> bool:
        async with self.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE stories SET paused_at = NULL, failures = 0 WHERE id = %s AND paused_at IS NOT NULL",
                (story_id,),
            )
            return cursor.rowcount == 1

    async def failed_deliveries(self, limit: int = 20) -> list[FailedDelivery]:
        rows = await self._all(
            """SELECT d.id, e.story_id, d.channel, e.kind, e.headline, d.last_error, d.attempts
               FROM deliveries d JOIN events e ON e.id = d.event_id
               WHERE d.status = 'failed' ORDER BY d.id DESC LIMIT %s""",
            (limit,),
        )
        return [failed_of(r) for r in rows]

    # --- deliveries ----------------------------------------------------------------------

    async def due_deliveries(
        self, at: datetime, platforms: Sequence[str] = (), limit: int = 5000
    ) -> list[PendingDelivery]:
        rows = await self._all(
            """SELECT d.id, d.event_id, e.story_id, d.channel, d.attempts, d.status, d.claimed_at,
                      d.action, e.target_event_id, d.next_attempt_at <= %s AS due
               FROM deliveries d JOIN events e ON e.id = d.event_id
               WHERE d.status IN ('pending', 'claimed') AND d.platform = ANY(%s)
               ORDER BY e.order_at, e.id, d.id""",
            (at, list(platforms)),
        )
        return due_in_order(
            ((pending_of(r, _aware), r["status"] == "claimed", r["due"]) for r in rows), limit
        )

    async def next_due_at(self, platforms: Sequence[str] = ()) -> datetime | None:
        rows = await self._all(
            """SELECT min(next_attempt_at) AS at FROM deliveries
               WHERE status = 'pending' AND platform = ANY(%s)""",
            (list(platforms),),
        )
        return _aware(rows[0]["at"])

    async def pending_count(self) -> int:
        rows = await self._all(
            "SELECT count(*) AS n FROM deliveries WHERE status IN ('pending', 'claimed')", ()
        )
        return int(rows[0]["n"])

    async def claim(self, delivery_id: int, at: datetime) -> bool:
        async with self.transaction() as conn:
            cursor = await conn.execute(
                """UPDATE deliveries SET status = 'claimed', claimed_at = coalesce(claimed_at, %s)
                   WHERE id = %s AND status = 'pending'""",
                (at, delivery_id),
            )
            return cursor.rowcount == 1

    async def claimed_unrecorded(
        self, platforms: Sequence[str], older_than: datetime
    ) -> list[PendingDelivery]:
        rows = await self._all(
            """SELECT d.id, d.event_id, e.story_id, d.channel, d.attempts, d.claimed_at, d.action,
                      e.target_event_id
               FROM deliveries d JOIN events e ON e.id = d.event_id
               WHERE d.status = 'claimed' AND d.claimed_at < %s AND d.platform = ANY(%s)
               ORDER BY e.order_at, e.id, d.id""",
            (older_than, list(platforms)),
        )
        return [pending_of(r, _aware) for r in rows]

    async def thread_for(self, story_id: str, channel: str) -> str | None:
        rows = await self._all(
            """SELECT d.thread_id FROM deliveries d JOIN events e ON e.id = d.event_id
               WHERE e.story_id = %s AND d.channel = %s AND d.thread_id IS NOT NULL
               ORDER BY d.id DESC LIMIT 1""",
            (story_id, channel),
        )
        return rows[0]["thread_id"] if rows else None

    async def sent_message(self, event_id: int, channel: str) -> SentMessage | None:
        rows = await self._all(
            """SELECT message_id, thread_id FROM deliveries
               WHERE event_id = %s AND channel = %s AND action = 'post' AND status = 'sent'""",
            (event_id, channel),
        )
        return SentMessage(rows[0]["message_id"], rows[0]["thread_id"]) if rows else None

    async def mark_sent(self, delivery_id: int, message_id: str, thread_id: str | None, at: datetime) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                """UPDATE deliveries SET status = 'sent', attempts = attempts + 1, message_id = %s,
                       thread_id = %s, sent_at = %s, last_error = NULL WHERE id = %s""",
                (message_id, thread_id, at, delivery_id),
            )

    async def mark_retry(
        self, delivery_id: int, error: str, retry_at: datetime, count: bool = True, unclaim: bool = False
    ) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                """UPDATE deliveries SET status = 'pending', attempts = attempts + %s,
                       last_error = %s, next_attempt_at = %s,
                       claimed_at = CASE WHEN %s THEN NULL ELSE claimed_at END WHERE id = %s""",
                (int(count), error[:500], retry_at, unclaim, delivery_id),
            )

    async def mark_failed(self, delivery_id: int, error: str) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                """UPDATE deliveries SET status = 'failed', attempts = attempts + 1, last_error = %s
                   WHERE id = %s""",
                (error[:500], delivery_id),
            )

    async def deliveries(self, event_id: int | None = None) -> list[DeliveryRow]:
        where, args = ("WHERE event_id = %s", (event_id,)) if event_id is not None else ("", ())
        rows = await self._all(f"SELECT * FROM deliveries {where} ORDER BY id", args)
        return [
            DeliveryRow(
                id=r["id"],
                event_id=r["event_id"],
                channel=r["channel"],
                status=DeliveryStatus(r["status"]),
                attempts=r["attempts"],
                next_attempt_at=r["next_attempt_at"],
                last_error=r["last_error"],
                message_id=r["message_id"],
                thread_id=r["thread_id"],
                sent_at=_aware(r["sent_at"]),
                claimed_at=_aware(r["claimed_at"]),
                action=DeliveryAction(r["action"]),
            )
            for r in rows
        ]

    # --- held stories and routes ---------------------------------------------------------

    async def add_held_story(self, story: HeldStory) -> bool:
        async with self.transaction() as conn:
            cursor = await conn.execute(
                """INSERT INTO held_stories (id, url, path, title, aliases, origin, added_by, added_at,
                       expires_at, interval) VALUES (%s, %s, %s, %s, %s, %s, %s, coalesce(%s, now()), %s, %s)
                   ON CONFLICT (id) DO NOTHING""",
                (
                    story.id, story.url, story.path, story.title, aliases_text(story.aliases),
                    story.origin, story.added_by, story.added_at, story.expires_at, story.interval,
                ),
            )  # fmt: skip
            return await _held_changed(conn, cursor.rowcount == 1)

    async def remove_held_story(self, story_id: str) -> bool:
        async with self.transaction() as conn:
            return bool(await _drop_held(conn, [story_id]))

    async def remove_expired_stories(self, at: datetime) -> list[str]:
        async with self.transaction() as conn:
            cursor = await conn.execute(
                "SELECT id FROM held_stories WHERE expires_at <= %s ORDER BY id FOR UPDATE", (at,)
            )
            ids = [r["id"] for r in await cursor.fetchall()]
            await _drop_held(conn, ids)
            return sorted(ids)

    async def add_subscription(self, subscription: Subscription) -> bool:
        sub = subscription
        async with self.transaction() as conn:
            cursor = await conn.execute(
                """INSERT INTO subscriptions (channel, story_id, keywords, added_by, added_at, digest)
                   VALUES (%s, %s, %s, %s, coalesce(%s, now()), %s) ON CONFLICT (channel, story_id, keywords)
                   DO UPDATE SET digest = excluded.digest WHERE subscriptions.digest <> excluded.digest""",
                (sub.channel, sub.story_id, keywords_key(sub.keywords), sub.added_by, sub.added_at,
                 sub.digest),
            )  # fmt: skip
            return await _held_changed(conn, cursor.rowcount == 1)

    async def remove_subscription(
        self, channel: str, story_id: str = "", keywords: Sequence[str] = ()
    ) -> bool:
        async with self.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM subscriptions WHERE channel = %s AND story_id = %s AND keywords = %s",
                (channel, story_id, keywords_key(keywords)),
            )
            return await _held_changed(conn, cursor.rowcount > 0)

    async def set_mute(self, mute: Mute) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                """INSERT INTO mutes (story_id, channel, until, added_by) VALUES (%s, %s, %s, %s)
                   ON CONFLICT (story_id, channel) DO UPDATE SET until = excluded.until,
                       added_by = excluded.added_by""",
                (mute.story_id, mute.channel, mute.until, mute.added_by),
            )
            await _drop_queued(conn, mute.story_id, mute.channel)
            await _held_changed(conn, True)

    async def drop_queued(self, story_id: str, channel: str) -> int:
        async with self.transaction() as conn:
            return await _drop_queued(conn, story_id, channel)

    async def remove_mute(self, story_id: str, channel: str) -> bool:
        async with self.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM mutes WHERE story_id = %s AND channel = %s", (story_id, channel)
            )
            return await _held_changed(conn, cursor.rowcount > 0)

    async def held_revision(self) -> int:
        (row,) = await self._all("SELECT revision FROM held_revision")
        return int(row["revision"])

    async def held(self, at: datetime | None = None) -> HeldState:
        async with self.transaction(snapshot=True) as conn:
            cursor = await conn.execute(
                """SELECT * FROM held_stories
                   WHERE %(at)s::timestamptz IS NULL OR expires_at IS NULL OR expires_at > %(at)s
                   ORDER BY added_at, id""",
                {"at": at},
            )
            stories = await cursor.fetchall()
            subs = await _fetch(conn, "SELECT * FROM subscriptions ORDER BY added_at, channel")
            mutes = await _fetch(conn, "SELECT * FROM mutes ORDER BY story_id, channel")
        return held_state(stories, subs, mutes, _aware)

    async def feed_validators(self, url: str) -> Validators | None:
        rows = await self._all("SELECT etag, last_modified FROM feed_validators WHERE url = %s", (url,))
        return Validators(None, rows[0]["etag"], rows[0]["last_modified"]) if rows else None

    async def set_feed_validators(self, url: str, etag: str | None, last_modified: str | None) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                """INSERT INTO feed_validators (url, etag, last_modified) VALUES (%s, %s, %s)
                   ON CONFLICT (url) DO UPDATE SET etag = excluded.etag,
                       last_modified = excluded.last_modified""",
                (url, etag, last_modified),
            )


async def _fetch(conn: Conn, sql: str) -> list[DictRow]:
    return await (await conn.execute(sql)).fetchall()  # type: ignore[arg-type]  # a literal query


async def _drop_held(conn: Conn, ids: Sequence[str]) -> int:
    """Remove held stories with their subscriptions and mutes; returns how many stories went."""
    if not ids:
        return 0
    subs = await conn.execute("DELETE FROM subscriptions WHERE story_id = ANY(%s)", (list(ids),))
    mutes = await conn.execute("DELETE FROM mutes WHERE story_id = ANY(%s)", (list(ids),))
    cursor = await conn.execute("DELETE FROM held_stories WHERE id = ANY(%s)", (list(ids),))
    await _held_changed(conn, subs.rowcount + mutes.rowcount + cursor.rowcount > 0)
    return cursor.rowcount


async def _held_changed(conn: Conn, changed: bool) -> bool:
    """Move the held revision (`held_revision`) when a held story, subscription or mute
    `changed`, in the change's transaction (its row lock held to commit: the change's last
    statement); returns `changed`."""
    if changed:
        await conn.execute("UPDATE held_revision SET revision = revision + 1")
    return changed


async def _connect(url: str) -> Conn:
    return await AsyncConnection.connect(
        url, autocommit=True, row_factory=dict_row, connect_timeout=CONNECT_TIMEOUT
    )


async def _configure(conn: Conn) -> None:
    """Every pooled connection reads times in UTC (zones are kept in their own columns)."""
    await conn.execute("SET TIME ZONE 'UTC'")


async def _migrate(conn: Conn) -> None:
    """Apply what is missing, once, whoever else is starting: the advisory lock makes a second
    worker wait and then find nothing to do."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
        await conn.execute(BOOKKEEPING)
        cursor = await conn.execute("SELECT coalesce(max(version), 0) AS v FROM schema_migrations")
        row = await cursor.fetchone()
        current = int(row["v"]) if row else 0
        for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
            await conn.execute(script)  # type: ignore[arg-type]  # a literal from postgres_schema
            await conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (number,))


def _reason(err: BaseException, url: str) -> str:
    """The driver's words, with the password cut out should they ever hold it."""
    text = str(err).strip() or type(err).__name__
    if isinstance(err, TimeoutError):
        text = f"no answer within {CONNECT_TIMEOUT}s"
    try:
        password = psycopg.conninfo.conninfo_to_dict(url).get("password")
    except psycopg.Error:
        password = None
    return text.replace(str(password), "***") if password else text


def _aware(ts: datetime | None) -> datetime | None:
    return ts.astimezone(UTC) if ts is not None else None


async def _correction_target(
    cur: psycopg.AsyncCursor[DictRow], story_id: str, corrects: str | None
) -> tuple[int | None, set[str]]:
    """The alert an event correcting the fingerprint `corrects` targets (the first of its
    chain), and the channels where that alert's post did not fail."""
    if corrects is None:
        return None, set()
    await cur.execute(
        """SELECT coalesce(target_event_id, id) AS target FROM events
           WHERE story_id = %s AND fingerprint = %s ORDER BY id DESC LIMIT 1""",
        (story_id, corrects),
    )
    row = await cur.fetchone()
    if row is None:
        return None, set()
    await cur.execute(
        """SELECT channel FROM deliveries
           WHERE event_id = %s AND action = 'post' AND status != 'failed'""",
        (row["target"],),
    )
    return row["target"], {r["channel"] for r in await cur.fetchall()}


async def _drop_queued(conn: AsyncConnection[DictRow], story_id: str, channel: str) -> int:
    """`HeldRoutes.drop_queued`, inside the caller's transaction."""
    cursor = await conn.execute(
        f"""DELETE FROM deliveries WHERE channel = %s AND {MUTED_DROP}
              AND event_id IN (SELECT id FROM events WHERE story_id = %s AND kind != %s)""",
        (channel, story_id, AlertKind.STORY_PAUSED.value),
    )
    return cursor.rowcount


async def _queue_catch_up(cur: Cursor, story_id: str, channel: str) -> bool:
    """A catch-up for a channel newly routed to a story (see `StoryCatalog.sync_stories`)."""
    await cur.execute(
        f"""SELECT id, fetched_at FROM versions WHERE story_id = %s AND ok {AFTER_BASE}
            ORDER BY id DESC LIMIT 1""",
        (story_id,),
    )
    latest = await cur.fetchone()
    if latest is None:
        return False
    await cur.execute(
        """SELECT 1 FROM deliveries d JOIN events e ON e.id = d.event_id
           WHERE d.channel = %s AND e.story_id = %s LIMIT 1""",
        (channel, story_id),
    )
    if await cur.fetchone() is not None:
        return False
    as_of = latest["fetched_at"]
    await cur.execute(
        """INSERT INTO events (story_id, version_id, kind, headline, summary, order_at, seen_at)
           VALUES (%s, %s, %s, '', '', %s, %s) RETURNING id""",
        (story_id, latest["id"], AlertKind.CATCH_UP.value, as_of, as_of),
    )
    event = await cur.fetchone()
    assert event is not None
    await cur.execute(
        "INSERT INTO deliveries (event_id, channel, next_attempt_at) VALUES (%s, %s, %s)",
        (event["id"], channel, as_of),
    )
    return True


async def _hold_for_digest(
    cur: Cursor, story_id: str, version_id: int, event_id: int, channel: str, at: datetime, period: float
) -> None:
    """Add an event to the story's open digest for `channel`, or open one due `period` seconds
    from now (see `VersionHistory.record_version`). The open digest's delivery row is locked,
    so a sender's claim waits for this transaction and then sends what it holds."""
    await cur.execute(
        """SELECT e.id FROM events e JOIN deliveries d ON d.event_id = e.id
           WHERE e.story_id = %s AND e.kind = %s AND d.channel = %s AND d.status = 'pending'
             AND d.claimed_at IS NULL
           ORDER BY e.id DESC LIMIT 1 FOR UPDATE OF d""",
        (story_id, AlertKind.DIGEST.value, channel),
    )
    row = await cur.fetchone()
    if row is not None:
        digest_id = row["id"]
    else:
        due = at + timedelta(seconds=period)
        await cur.execute(
            """INSERT INTO events (story_id, version_id, kind, headline, summary, order_at, seen_at)
               VALUES (%s, %s, %s, '', '', %s, %s) RETURNING id""",
            (story_id, version_id, AlertKind.DIGEST.value, due, at),
        )
        opened = await cur.fetchone()
        assert opened is not None
        digest_id = opened["id"]
        await cur.execute(
            "INSERT INTO deliveries (event_id, channel, next_attempt_at) VALUES (%s, %s, %s)",
            (digest_id, channel, due),
        )
    await cur.execute(
        "INSERT INTO digest_members (digest_event_id, event_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (digest_id, event_id),
    )


async def _story_record(conn: Conn, story_id: str) -> StoryRecord | None:
    cursor = await conn.execute("SELECT id, source, title, subtitle FROM stories WHERE id = %s", (story_id,))
    row = await cursor.fetchone()
    return StoryRecord(row["id"], row["source"], row["title"], row["subtitle"]) if row else None


async def _current_sections(conn: Conn, story_id: str) -> list[SectionSeen]:
    cursor = await conn.execute(
        """SELECT s.fingerprint, s.label, s.published_at, s.published_zone, s.first_seen_at, s.summary
           FROM sections s
           WHERE s.story_id = %s AND s.fingerprint IN (
               SELECT jsonb_array_elements(v.parsed -> 'sections') ->> 'fingerprint' FROM versions v
               WHERE v.id = (SELECT max(id) FROM versions WHERE story_id = %s AND ok))""",
        (story_id, story_id),
    )
    return [_section_seen(r) for r in await cursor.fetchall()]


def _section_seen(r: DictRow) -> SectionSeen:
    return SectionSeen(
        r["fingerprint"], r["label"], in_zone(r["published_at"], r["published_zone"]), r["first_seen_at"],
        r["summary"],
    )  # fmt: skip


async def _insert_event(
    cur: psycopg.AsyncCursor[DictRow], story_id: str, version_id: int, event: EventRecord, at: datetime
) -> int:
    """One event on a version, with its deliveries: a pending post to each of its channels,
    or where it corrects an alert posted there, an edit of that alert and a note."""
    target, posted = await _correction_target(cur, story_id, event.corrects)
    await cur.execute(
        """INSERT INTO events (story_id, version_id, kind, fingerprint, headline, summary,
               published_at, published_zone, order_at, seen_at, change, label, target_event_id,
               revised_fingerprint)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (story_id, version_id, event.kind.value, event.fingerprint, event.headline, event.summary,
         event.published_at, zone_of(event.published_at), event.published_at or at, at, event.change,
         event.label, target, event.revised),
    )  # fmt: skip
    inserted = await cur.fetchone()
    assert inserted is not None
    muted: set[str] = set()
    if event.kind is not AlertKind.STORY_PAUSED:  # a notice to the admins is no story alert
        await cur.execute(
            "SELECT channel FROM mutes WHERE story_id = %s AND (until IS NULL OR until > %s)",
            (story_id, at),
        )
        muted = {r["channel"] for r in await cur.fetchall()}
    now, held = deliveries_for(event, posted, muted)
    await cur.executemany(
        """INSERT INTO deliveries (event_id, channel, action, next_attempt_at) VALUES (%s, %s, %s, %s)
           ON CONFLICT DO NOTHING""",
        [(inserted["id"], channel, action.value, at) for channel, action in now],
    )
    for channel, period in held:
        await _hold_for_digest(cur, story_id, version_id, inserted["id"], channel, at, period)
    await _keep_catch_ups_first(cur, story_id, event.channels, event.published_at or at)
    return int(inserted["id"])


async def _keep_catch_ups_first(
    cur: psycopg.AsyncCursor[DictRow], story_id: str, channels: Sequence[str], order_at: datetime
) -> None:
    """An unsent catch-up in these channels stays ahead of the new event (see the SQLite
    store's `_keep_catch_ups_first`)."""
    if not channels:
        return
    await cur.execute(
        """UPDATE events SET order_at = %s
           WHERE story_id = %s AND kind = %s AND order_at > %s AND EXISTS (
               SELECT 1 FROM deliveries d WHERE d.event_id = events.id
                 AND d.status IN ('pending', 'claimed') AND d.channel = ANY(%s))""",
        (order_at, story_id, AlertKind.CATCH_UP.value, order_at, list(channels)),
    )


async def _event_context(
    conn: Conn, event_id: int
) -> tuple[EventRow, StoryRecord, list[SectionSeen], list[EventRow]]:
    """An event with its story, current sections and (a digest's) member events in alert
    order (call inside a snapshot). KeyError if unknown."""
    cursor = await conn.execute("SELECT * FROM events WHERE id = %s", (event_id,))
    row = await cursor.fetchone()
    if row is None:
        raise KeyError(event_id)
    record = await _story_record(conn, row["story_id"])
    assert record is not None
    cursor = await conn.execute(
        """SELECT e.* FROM digest_members m JOIN events e ON e.id = m.event_id
           WHERE m.digest_event_id = %s ORDER BY e.order_at, e.id""",
        (event_id,),
    )
    members = [_event(m) for m in await cursor.fetchall()]
    return _event(row), record, await _current_sections(conn, row["story_id"]), members


def _event(r: DictRow) -> EventRow:
    return EventRow(
        id=r["id"],
        story_id=r["story_id"],
        version_id=r["version_id"],
        kind=AlertKind(r["kind"]),
        headline=r["headline"],
        summary=r["summary"],
        published_at=in_zone(r["published_at"], r["published_zone"]),
        seen_at=r["seen_at"],
        fingerprint=r["fingerprint"],
        change=r["change"],
        label=r["label"],
        target_event_id=r["target_event_id"],
        revised_fingerprint=r["revised_fingerprint"],
    )
