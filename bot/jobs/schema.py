"""Reach the queue database, and give it procrastinate's schema once.

A worker that cannot reach its database says so and exits within seconds (psycopg's own
pool would wait 30 s per attempt). Several workers starting at once take a PostgreSQL
advisory lock, so exactly one applies the schema and the others find it there.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

import psycopg
from procrastinate.schema import SchemaManager

from bot.ports import StartError
from bot.redact import display_url

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5  # seconds: how long an unreachable database may keep a worker starting
SCHEMA_LOCK = 0x5370_6F72_7962_6F74  # pg_advisory_lock key ("Storybot"): one schema install at a time


# procrastinate's job fetch skips every waiting job whose lock an earlier job holds; with
# thousands waiting, that check read a whole index per job (3.7 s a fetch at 9,222 waiting,
# bench/README.md benchmark 7). An index on (lock, id) over live jobs makes it a lookup.
FETCH_INDEX = """CREATE INDEX IF NOT EXISTS storybot_live_jobs_by_lock
    ON procrastinate_jobs (lock, id) WHERE status IN ('todo', 'doing')"""
ANALYZE_AFTER = 500  # jobs deferred at once before the planner's statistics are refreshed


class QueueUnreachable(StartError):
    """The queue database refused us, or did not answer in time."""


def display_dsn(url: str) -> str:
    """`url` as `display_url` shows it (no password, no secret query parameters), keeping the
    user name: which database role the queue connects as helps an operator read the error."""
    shown = display_url(url)
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return shown
    user = (parts.username or "") + (":***" if parts.password is not None else "")
    visible = urlsplit(shown)
    return urlunsplit(visible._replace(netloc=f"{user}@{visible.netloc}"))


async def ensure_schema(url: str) -> bool:
    """Apply procrastinate's schema unless it is there, on the connection that holds the lock.
    Returns whether this call applied it. Raises QueueUnreachable naming the database (without
    its password) and the reason; run it before opening the App, whose pool would wait 30 s."""
    try:
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
    except psycopg.Error as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise QueueUnreachable(f"cannot reach the queue database {display_dsn(url)}: {reason}") from None
    async with conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            cursor = await conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")
            row = await cursor.fetchone()
            applied = not (row is not None and row[0])
            if applied:
                async with conn.transaction():  # the schema procrastinate's apply_schema runs, all or nothing
                    await conn.execute(SchemaManager.get_schema())
                log.info("queue: procrastinate schema applied to %s", display_dsn(url))
            await conn.execute(FETCH_INDEX)
            return applied
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))
