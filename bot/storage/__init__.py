"""Storage: the contract every backend keeps, and `open_store` to get one.

SQLite (a file path) is the embedded default, for one process; PostgreSQL (a
`postgresql://` URL) lets several processes share one database.
"""

from __future__ import annotations

from pathlib import Path

from bot.storage.contract import (
    DeliveryQueue,
    EventLog,
    FeedReads,
    HeldRoutes,
    SiteLines,
    Store,
    StoryCatalog,
    StoryHealthLog,
    StoryViews,
    SuspectFetches,
    VersionHistory,
)
from bot.storage.errors import StaleBase, StoreError
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
    now_utc,
)

POSTGRES_SCHEMES = ("postgresql://", "postgres://")

__all__ = [
    "DeliveryAction", "DeliveryQueue", "DeliveryRow", "DeliveryStatus", "EventLog", "EventRecord",
    "EventRow", "FailedDelivery", "FeedReads", "FetchMeta", "HeldRoutes", "HeldState", "HeldStory",
    "LastVersion", "Mute", "PendingDelivery", "SectionRecord", "SectionSeen", "SentMessage", "SiteLines",
    "StaleBase", "Store", "StoreError", "StoryCatalog", "StoryEntry", "StoryHealth", "StoryHealthLog",
    "StoryRecord", "StoryViews", "Subscription",
    "SuspectFetches", "Validators", "VersionHistory", "is_postgres", "now_utc", "open_store",
]  # fmt: skip


def is_postgres(database: str) -> bool:
    return database.lower().startswith(POSTGRES_SCHEMES)


async def open_store(database: str | Path) -> Store:
    """`postgresql://...` or `postgres://...`: PostgreSQL; anything else is a SQLite file path.
    Raises StoreError, naming the database without its password, when it cannot be opened."""
    text = str(database)
    if is_postgres(text):
        from bot.storage.postgres import PostgresStore  # psycopg is loaded only when used

        return await PostgresStore.open(text)
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise StoreError(
            f"cannot open database {scheme}://...: unknown scheme (use a file path or postgresql://)"
        )
    from bot.storage.sqlite import SqliteStore

    return await SqliteStore.open(Path(text))
