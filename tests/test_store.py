"""The store: WAL, versioned schema, atomic polls, FTS lookup."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest

from bot.models import AlertKind, Section, SectionKind, Story
from bot.store import MIGRATIONS, EventRecord, FetchMeta, Store
from tests.helpers import kherson_config


async def test_opens_in_wal_mode_at_the_latest_schema(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        assert await store.schema_version() == len(MIGRATIONS)
    async with aiosqlite.connect(tmp_path / "s.db") as db, db.execute("PRAGMA journal_mode") as cursor:
        assert (await cursor.fetchone())[0] == "wal"  # type: ignore[index]
    async with await Store.open(tmp_path / "s.db") as store:  # reopening migrates nothing twice
        assert await store.schema_version() == len(MIGRATIONS)


async def test_a_poll_that_fails_midway_writes_nothing(tmp_path: Path) -> None:
    config = kherson_config(tmp_path, ["rec:A"])
    async with await Store.open(config.database_path) as store:
        await store.sync_config(config)
        story = Story(title="t", sections=(Section(SectionKind.ORIGINAL, "", None, ("Body text.",)),))
        bad_event = EventRecord(AlertKind.NEW_UPDATE, "h", "s", channels=("rec:A",))
        with pytest.raises(AttributeError):
            await store.record_version(
                "kherson",
                datetime.now(UTC),
                FetchMeta(),
                story,
                [],
                [bad_event, "not an event"],  # type: ignore[list-item]
            )
        assert await store.last_version("kherson") is None
        assert await store.events() == [] and await store.deliveries() == []
        # and the store still works after the rollback
        await store.record_version("kherson", datetime.now(UTC), FetchMeta(), story, [], [bad_event])
        assert len(await store.deliveries()) == 1


async def test_delivery_rows_are_unique_per_event_and_channel(tmp_path: Path) -> None:
    config = kherson_config(tmp_path, [])
    async with await Store.open(config.database_path) as store:
        await store.sync_config(config)
        story = Story(title="t", sections=(Section(SectionKind.ORIGINAL, "", None, ("Body.",)),))
        event = EventRecord(AlertKind.NEW_UPDATE, "h", "s", channels=("rec:A", "rec:A", "rec:B"))
        await store.record_version("kherson", datetime.now(UTC), FetchMeta(), story, [], [event])
        assert [d["channel"] for d in await store.deliveries()] == ["rec:A", "rec:B"]


async def test_full_text_search(tmp_path: Path) -> None:
    config = kherson_config(tmp_path, [])
    async with await Store.open(config.database_path) as store:
        await store.sync_config(config)
        story = Story(
            title="Bridge closes",
            sections=(Section(SectionKind.ORIGINAL, "", None, ("Engineers found cracks.",)),),
        )
        await store.record_version("kherson", datetime.now(UTC), FetchMeta(), story, [], [])
        assert await store.search("cracks") == ["kherson"]
        assert await store.search("engineer") == ["kherson"]  # stemmed prefix
        assert await store.search("bridge ukraine") == ["kherson"]  # alias + title
        assert await store.search("weather") == []
        assert await store.search('" OR * NEAR(') == []


async def test_an_older_database_is_migrated_forward_keeping_its_rows(tmp_path: Path) -> None:
    import sqlite3
    from contextlib import closing

    from bot.store import _statements

    path = tmp_path / "old.db"
    with closing(sqlite3.connect(path)) as db, db:  # a database as the first release left it
        for statement in _statements(MIGRATIONS[0]):
            db.execute(statement)
        db.execute("INSERT INTO stories (id, source, added_at) VALUES ('kept', 'x.txt', '2025-01-01')")
        db.execute(
            "INSERT INTO story_search (story_id, title, aliases, body) VALUES ('kept', 'kept', '', 'cracks')"
        )
        db.execute("PRAGMA user_version = 1")
    async with await Store.open(path) as store:
        assert await store.schema_version() == len(MIGRATIONS) > 1
        assert [b.id for b in await store.stories()] == ["kept"]
        assert await store.search("cracks") == ["kept"]  # the index came along
    with closing(sqlite3.connect(path)) as db:
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "deliveries_by_channel" in names


async def test_a_claim_is_shown_on_the_pending_delivery_and_keeps_its_first_time(tmp_path: Path) -> None:
    from tests.helpers import kherson_store

    store, _ = await kherson_store(tmp_path, ["rec:A"])
    (due,) = await store.due_deliveries(datetime.now(UTC), platforms=("rec",))
    assert due.claimed_at is None
    first = datetime(2022, 11, 11, 14, 0, tzinfo=UTC)
    await store.claim(due.id, first)
    await store.claim(due.id, datetime(2022, 11, 11, 15, 0, tzinfo=UTC))  # a retry's claim
    (due,) = await store.due_deliveries(datetime.now(UTC), platforms=("rec",))
    assert due.claimed_at == first
    await store.close()
