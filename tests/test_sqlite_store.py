"""SQLite only: WAL, migrating a file an older release made, one process per file, and files
that cannot be opened failing at once with a clear error."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import aiosqlite
import pytest

from bot.storage import StoreError, open_store
from bot.storage.sqlite_schema import MIGRATIONS, statements

pytestmark = pytest.mark.timeout(60)

HOLDER = """
import asyncio, sys
from bot.storage import open_store

async def main():
    store = await open_store(sys.argv[1])
    print("holding", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await store.close()

asyncio.run(main())
"""


async def test_opens_in_wal_mode(tmp_path: Path) -> None:
    async with await open_store(tmp_path / "s.db"):
        pass
    async with aiosqlite.connect(tmp_path / "s.db") as db, db.execute("PRAGMA journal_mode") as cursor:
        assert (await cursor.fetchone())[0] == "wal"  # type: ignore[index]


async def test_an_older_database_is_migrated_forward_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with closing(sqlite3.connect(path)) as db, db:  # a database as release 5 left it
        for script in MIGRATIONS[:5]:
            for statement in statements(script):
                db.execute(statement)
        db.execute("INSERT INTO stories (id, source, added_at) VALUES ('kept', 'x.txt', '2025-01-01')")
        db.execute(
            """INSERT INTO story_search (rowid, story_id, title, aliases, body)
               VALUES (1, 'kept', 'kept', '', 'cracks')"""
        )
        db.execute(
            """INSERT INTO versions (story_id, fetched_at, ok, parsed) VALUES ('kept', '2025-01-01', 1,
               '{"title": "Old headline", "subtitle": "", "byline": "", "posted": null, "updated": null,
                 "sections": []}')"""
        )
        db.execute(
            """INSERT INTO events (story_id, version_id, kind, headline, summary, order_key, seen_at)
               VALUES ('kept', 1, 'new_update', 'h', 's', '2025-01-01', '2025-01-01')"""
        )
        db.execute(
            """INSERT INTO deliveries (event_id, channel, status, next_attempt_at)
               VALUES (1, 'rec:A', 'sent', '2025-01-01T00:00:00.000000')"""
        )
        db.execute(  # failing when the database was left: its count starts at 1
            """INSERT INTO stories (id, source, added_at, checked_at, last_error)
               VALUES ('down', 'y.txt', '2025-01-01', '2025-03-01T00:00:00+00:00', 'HTTP 500')"""
        )
        db.execute(
            """INSERT INTO versions (story_id, fetched_at, ok, parsed)
               VALUES ('down', '2025-02-01T00:00:00+00:00', 1, '{"title": "", "sections": []}')"""
        )
        db.execute("PRAGMA user_version = 5")
    async with await open_store(path) as store:
        assert await store.schema_version() == len(MIGRATIONS) > 5
        assert [b.id for b in await store.stories()] == ["down", "kept"]
        (down,) = await store.story_health()  # the one failing: it worked when its last good fetch was
        assert (down.id, down.failures, down.last_error) == ("down", 1, "HTTP 500")
        assert down.worked_at is not None and down.worked_at.isoformat().startswith("2025-02-01")
        assert await store.search("cracks") == ["kept"]  # the index came along
        assert [(d.channel, d.status.value) for d in await store.deliveries()] == [("rec:A", "sent")]
        assert await store.known_titles("kept") == {"Old headline"}  # titles moved to their own table


async def test_a_second_process_on_the_same_file_is_refused_and_a_killed_one_frees_it(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
            with pytest.raises(StoreError) as refused:
                await open_store(path)
            assert f"in use by another storybot process (pid {holder.pid})" in str(refused.value)
            assert str(path) in str(refused.value)
        finally:
            holder.kill()  # SIGKILL: no clean-up runs, the kernel drops the lock
            holder.wait(10)
    async with await open_store(path) as store:
        assert await store.stories() == []


async def test_a_second_store_in_the_same_process_is_refused_too(tmp_path: Path) -> None:
    async with await open_store(tmp_path / "s.db"):
        with pytest.raises(StoreError, match="in use by another storybot process"):
            await open_store(tmp_path / "s.db")
    async with await open_store(tmp_path / "s.db"):  # closing released it
        pass


def _corrupt(tmp_path: Path) -> Path:
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is not a database, " * 400)
    return path


def _directory(tmp_path: Path) -> Path:
    (tmp_path / "adir.db").mkdir()
    return tmp_path / "adir.db"


def _under_a_file(tmp_path: Path) -> Path:
    (tmp_path / "plain").write_text("x")
    return tmp_path / "plain" / "s.db"


@pytest.mark.parametrize(
    ("make", "words"),
    [(_corrupt, "not a database"), (_directory, "is a directory"), (_under_a_file, "File exists")],
    ids=["corrupt-file", "directory", "parent-is-a-file"],
)
async def test_a_file_that_cannot_be_opened_is_a_clear_error_at_once(
    tmp_path: Path, make, words: str
) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    with pytest.raises(StoreError) as failed:
        await asyncio.wait_for(open_store(path), 10)
    assert str(path) in str(failed.value) and words in str(failed.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
async def test_an_unwritable_directory_is_a_clear_error(tmp_path: Path) -> None:
    locked = tmp_path / "ro"
    locked.mkdir(mode=0o500)
    with pytest.raises(StoreError, match="Permission denied"):
        await open_store(locked / "s.db")
