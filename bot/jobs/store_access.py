"""The one place bot/jobs meets the store: the store a worker opens, and what makes a story due."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime

from bot.config import Config
from bot.storage import Store
from bot.storage import open_store as open_database

__all__ = ["Store", "last_checks", "open_store"]


async def open_store(config: Config, environ: Mapping[str, str] = os.environ) -> Store:
    """The store `[storybot] database` names: on PostgreSQL, the one every worker shares."""
    return await open_database(config.database(environ))


async def last_checks(store: Store) -> dict[str, datetime | None]:
    """Story id -> when it was last fetched (any outcome), None when never."""
    return await store.last_checks()
