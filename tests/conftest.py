"""Shared fixtures. Keep each small; add yours below with a line saying what it is for."""

from __future__ import annotations

import inspect
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import Store, open_store
from tests.origin import Origin
from tests.postgres import postgres_url  # noqa: F401  (a fresh PostgreSQL schema per test)


@pytest.fixture
async def origin() -> AsyncIterator[Origin]:
    """A scriptable HTTP server on 127.0.0.1 (see tests/origin.py)."""
    async with Origin() as server:
        yield server


# --- storage backends: every contract test runs on each ------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a store lives, once per backend: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def store(database: str) -> AsyncIterator[Store]:
    """An open store on each backend, closed after the test whatever happens."""
    opened = await open_store(database)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def close_leftover_stores(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """Every store an async test opens is closed when it ends, even after a failed assertion
    (an open aiosqlite connection is a live thread: the run would hang at exit)."""
    from bot.storage.postgres import PostgresStore
    from bot.storage.sqlite import SqliteStore

    opened: list[SqliteStore | PostgresStore] = []
    for backend in (SqliteStore, PostgresStore):
        original = backend.open

        async def tracking(*args: object, _open=original, **kwargs: object):  # type: ignore[no-untyped-def]
            store = await _open(*args, **kwargs)
            opened.append(store)
            return store

        monkeypatch.setattr(backend, "open", tracking)
    yield
    for store in opened:
        await store.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if isinstance(item, pytest.Function) and inspect.iscoroutinefunction(item.obj):
            item.add_marker(pytest.mark.usefixtures("close_leftover_stores"))


@pytest.fixture(autouse=True)
def _fresh_reader_caches() -> None:
    """Under mutmut only: empty the reader's memo caches before each test, so a mutant's
    code runs instead of answers the unmutated code cached before the mutant was set."""
    if "MUTANT_UNDER_TEST" not in os.environ:
        return
    from bot.read.lenient import read_date
    from bot.read.parse import _authors
    from bot.read.timestamps import match_when

    for cached in (match_when, read_date, _authors):
        cached.cache_clear()
