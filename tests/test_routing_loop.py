"""Regex routes never hold up the event loop: a catalog sync over many stories and a poll with
many new updates, each text one a pathological route regex gives up on, leave a concurrent
coroutine scheduled (the 3 s a Slack ack has is the budget this protects)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.catalog import sync_catalog
from bot.config import parse_config
from bot.storage import open_store
from tests.helpers import LOCAL_SOURCES, NOV9, NOV11, poll_file

PATHOLOGICAL = r"(a|aa)+$"  # backtracks exponentially on a run of a's not at the end
RUN = "a" * 32
STORIES = 30  # x 50 ms regex timeout x 2 routes: 3 s on the loop if the sync ran there
UPDATES = 15  # x 50 ms x 2 routes x 2 decisions (channels, digests): 3 s likewise
LAG_BOUND = 1.0  # seconds: generous; a blocked loop shows several


def regex_routes() -> list[dict[str, Any]]:
    return [
        {"regex": True, "keywords": [PATHOLOGICAL], "channels": ["rec:keyword"]},
        {"regex": True, "stories": ["*"], "exclude": [PATHOLOGICAL], "channels": ["rec:all"]},
    ]


@asynccontextmanager
async def loop_lag() -> AsyncIterator[list[float]]:
    """Yields a list holding, after the block, the longest time the loop left a 10 ms ticker
    waiting beyond its sleep."""
    worst = [0.0]
    stop = asyncio.Event()

    async def tick() -> None:
        while not stop.is_set():
            started = time.monotonic()
            await asyncio.sleep(0.01)
            worst[0] = max(worst[0], time.monotonic() - started - 0.01)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    try:
        yield worst
    finally:
        stop.set()
        await ticker


async def timed(work: Awaitable[Any]) -> float:
    async with loop_lag() as worst:
        await work
    return worst[0]


async def test_a_catalog_sync_of_many_stories_leaves_the_loop_free(tmp_path: Path) -> None:
    stories = [
        {"id": f"s{i}", "path": f"s{i}.txt", "title": f"Story {i} {RUN} ends here"} for i in range(STORIES)
    ]
    data = {
        "storybot": {"database": str(tmp_path / "s.db"), **LOCAL_SOURCES},
        "stories": stories,
        "routes": regex_routes(),
    }
    config = parse_config(data, "test", tmp_path)
    async with await open_store(config.database({})) as store:
        lag = await timed(sync_catalog(store, config))
        assert lag < LAG_BOUND, f"the loop stalled {lag:.2f}s during a sync"
        assert await store.stories()  # the sync did its work


async def test_a_poll_with_many_updates_leaves_the_loop_free(tmp_path: Path) -> None:
    data = {
        "storybot": {"database": str(tmp_path / "s.db"), **LOCAL_SOURCES},
        "stories": [{"id": "kherson", "path": "kherson.txt"}],
        "routes": regex_routes(),
    }
    config = parse_config(data, "test", tmp_path)
    marker = "\nNov 9, 2022 12:10 PM CST\n"
    updates = "".join(
        f"\nUPDATE Nov 11, 2022 7:{i:02d} AM CST\n\nUpdate number {i}: officials said {RUN} then nothing.\n"
        for i in range(UPDATES, 0, -1)
    )
    page = NOV11.read_text(encoding="utf-8").replace(marker, updates + marker, 1)
    async with await open_store(config.database({})) as store:
        await sync_catalog(store, config)
        await poll_file(config, store, NOV9)
        async with loop_lag() as worst:
            outcome = await poll_file(config, store, page)
        numbered = [e for e in outcome.events if "Update number" in e.summary]
        assert len(numbered) == UPDATES  # each update is an event
        assert [e.channels for e in numbered] == [("rec:all",)] * UPDATES  # both regexes gave up
        assert worst[0] < LAG_BOUND, f"the loop stalled {worst[0]:.2f}s during a poll"
