"""The one place bot/jobs meets the store's API, so the storage split is a change to this file.

Today: the SQLite `Store` of bot/store.py. When bot/storage/ lands, `open_store` becomes its
`open_store(database)` (a postgresql:// URL gives the PostgreSQL store, which all workers
share) and `last_checks` the catalog's equivalent.
"""

from __future__ import annotations

from datetime import datetime

from bot.codec import decode_time
from bot.config import Config, is_postgresql_url
from bot.store import Store

__all__ = ["Store", "last_checks", "open_store"]


async def open_store(config: Config) -> Store:
    """The store `[storybot] database` names. Raises NotImplementedError for a PostgreSQL URL
    until the PostgreSQL store is merged (issue 12, part 3)."""
    database = config.storybot.database
    if is_postgresql_url(database):
        raise NotImplementedError(
            "[storybot] database: the PostgreSQL store is not in this build yet (issue 12, part 3); "
            "use a SQLite file for the store and a postgresql:// URL in queue_database for the queue"
        )
    config.database_path.parent.mkdir(parents=True, exist_ok=True)
    return await Store.open(config.database_path)


async def last_checks(store: Store) -> dict[str, datetime | None]:
    """Story id -> when it was last fetched (any outcome), None when never: what makes it due."""
    rows = await store._all("SELECT id, checked_at FROM stories WHERE active")
    return {row["id"]: decode_time(row["checked_at"]) for row in rows}
