"""PostgreSQL only: pollers racing on one story record its update once, workers starting
together migrate once, and a server that cannot be reached is a clear error within seconds."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.catalog import sync_catalog
from bot.fetch import Fetcher, make_client
from bot.models import AlertKind
from bot.netpolicy import LOOPBACK_ONLY
from bot.pipeline import PollStatus, poll_story
from bot.storage import Store, StoreError, now_utc, open_store
from bot.storage.postgres import CONNECT_TIMEOUT
from bot.storage.postgres_schema import MIGRATIONS
from tests.helpers import NOV9, NOV11, kherson_config, page, poll_file, routed

pytestmark = pytest.mark.timeout(60)


class MeetBeforeRecording:
    """A store whose pollers all wait for each other just before recording, so both have read
    the same diff base: the race, every time."""

    def __init__(self, store: Store, barrier: asyncio.Barrier):
        self._store, self._barrier = store, barrier

    async def record_version(self, *args: Any) -> list[int]:
        await self._barrier.wait()
        return await self._store.record_version(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


async def test_two_pollers_racing_record_one_update_once(tmp_path: Path, postgres_url: str) -> None:
    config = kherson_config(tmp_path, ["rec:A", "rec:B"])
    first, second = (
        await open_store(postgres_url),
        await open_store(postgres_url),
    )  # two pools, as two workers
    try:
        await sync_catalog(first, config)
        assert (await poll_file(config, first, NOV9)).status is PollStatus.BASELINE
        config.resolve_path("kherson.txt").write_text(NOV11.read_text(encoding="utf-8"), encoding="utf-8")
        barrier = asyncio.Barrier(2)
        story = config.story("kherson")
        assert story is not None
        async with make_client(policy=LOOPBACK_ONLY) as client:
            fetcher = Fetcher(client, base_dir=config.base_dir)
            outcomes = await asyncio.gather(
                *(
                    poll_story(story, config=config, fetcher=fetcher, store=MeetBeforeRecording(s, barrier))  # type: ignore[arg-type]
                    for s in (first, second)
                )
            )
        assert sorted(o.status for o in outcomes) == sorted([PollStatus.CHANGED, PollStatus.DISCARDED])
        assert len(await first.events()) == 1
        assert sorted(d.channel for d in await second.deliveries()) == ["rec:A", "rec:B"]
        again = await poll_file(config, second, NOV11)  # and the next poll builds on the winner
        assert (
            again.status in {PollStatus.UNCHANGED, PollStatus.NOT_MODIFIED} and len(await first.events()) == 1
        )
    finally:
        await first.close()
        await second.close()


async def test_workers_starting_together_migrate_once(postgres_url: str) -> None:
    stores = await asyncio.gather(*(open_store(postgres_url) for _ in range(4)))
    try:
        assert {await s.schema_version() for s in stores} == {len(MIGRATIONS)}
    finally:
        for s in stores:
            await s.close()
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    assert [r[0] for r in rows] == list(range(1, len(MIGRATIONS) + 1))


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres:s3cret-pw@127.0.0.1:1/test",  # nothing listens: refused
        "postgresql://postgres:s3cret-pw@no-such-host.invalid/test",  # unknown host
        "postgres://postgres:s3cret-pw@127.0.0.1:5432/no_such_database_here",  # the server says no
    ],
    ids=["refused", "unknown-host", "no-database"],
)
async def test_an_unreachable_database_is_a_clear_error_within_seconds(url: str) -> None:
    began = time.monotonic()
    with pytest.raises(StoreError) as failed:
        await open_store(url)
    assert time.monotonic() - began < CONNECT_TIMEOUT + 2
    text = str(failed.value)
    assert "cannot open database postgres" in text and "s3cret-pw" not in text


async def test_two_processes_syncing_a_new_route_queue_one_catch_up(
    tmp_path: Path, postgres_url: str
) -> None:
    config = kherson_config(tmp_path, ["rec:A"])
    stores = [await open_store(postgres_url) for _ in range(3)]  # three pools, as three processes
    try:
        await sync_catalog(stores[0], config)
        await poll_file(config, stores[0], NOV9)
        wider = kherson_config(tmp_path, ["rec:A", "rec:B"])
        results = await asyncio.gather(*(sync_catalog(s, wider) for s in stores))
        assert sorted(results) == [[], [], [("kherson", "rec:B")]]
        assert [d.channel for d in await stores[1].deliveries()] == ["rec:B"]
    finally:
        for store in stores:
            await store.close()


async def test_an_update_held_while_its_digest_is_claimed_is_in_exactly_one_digest(
    tmp_path: Path, postgres_url: str
) -> None:
    config = routed(tmp_path, {"stories": ["kherson"], "channels": ["rec:D"], "digest": "30m"})
    sender, poller = await open_store(postgres_url), await open_store(postgres_url)
    try:
        await sync_catalog(sender, config)
        await poll_file(config, poller, NOV9)
        await poll_file(config, poller, NOV11)
        (due,) = await sender.due_deliveries(now_utc() + timedelta(hours=1), platforms=("rec",))
        claimed, _ = await asyncio.gather(
            sender.claim(due.id, now_utc()), poll_file(config, poller, page(12))
        )
        assert claimed
        sent = await sender.alert(due.event_id)  # what the dispatcher reads after its claim
        updates = [e.id for e in await poller.events() if e.kind is AlertKind.NEW_UPDATE]
        digests = [e.id for e in await poller.events() if e.kind is AlertKind.DIGEST]
        held = [u.event_id for d in digests for u in (await poller.alert(d)).updates]
        assert sorted(held) == sorted(updates) and len(updates) == 2  # each in one digest, none lost
        assert [u.event_id for u in (await poller.alert(due.event_id)).updates] == [
            u.event_id for u in sent.updates
        ]  # fixed from its claim on
    finally:
        await sender.close()
        await poller.close()
