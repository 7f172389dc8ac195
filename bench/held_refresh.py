"""`held`: what the app's held-story check costs every 10 s (StoryBot.refresh_held) when a feed
keeps thousands of expired stories for `retention_days` and nothing changed: it reads the
store's held revision, not the held rows. Baseline, timed alternately in the same run: the
full `Store.held()` read the check made every time before the revision existed.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.measure import Figure, Target, median

BENCH = "held"
LIVE = 20  # feed stories still followed, beside the expired ones


def run(quick: bool) -> list[Figure]:
    return asyncio.run(measure(1_000 if quick else 5_000, repeats=5 if quick else 15))


async def measure(expired: int, *, repeats: int = 5, calls: int = 20) -> list[Figure]:
    from bot.app import StoryBot
    from bot.config import parse_config
    from bot.storage import HeldStory

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = parse_config(
            {
                "storybot": {"database": str(folder / "held.db"), "files_dir": "."},
                "feeds": [{"id": "ap", "url": "http://127.0.0.1:9/feed.xml"}],
            },
            "bench",
            folder,
        )
        now = datetime.now(UTC)
        async with await StoryBot.create(config) as bot:
            for n in range(expired + LIVE):
                ends = now - timedelta(days=1) if n < expired else now + timedelta(days=1)
                url = f"http://127.0.0.1:9/{n}"
                await bot.store.add_held_story(HeldStory(f"s{n}", url=url, origin="feed:ap", expires_at=ends))
            await bot.refresh_held()
            ours: list[float] = []
            full: list[float] = []
            unchanged = True
            for _ in range(repeats):
                started = time.perf_counter()
                for _ in range(calls):
                    unchanged = unchanged and not await bot.refresh_held()
                ours.append((time.perf_counter() - started) / calls)
                started = time.perf_counter()
                for _ in range(calls):
                    await bot.store.held()
                full.append((time.perf_counter() - started) / calls)
            right = unchanged and len(bot.config.stories) == LIVE
    check, baseline = median(ours), median(full)
    note = f"{expired:,} expired + {LIVE} live feed stories, SQLite; nothing changed"
    return [
        Figure(
            BENCH,
            f"{expired:,} expired: check with nothing changed",
            check * 1000,
            "ms",
            ratio=check / baseline,
            baseline=f"full held() read: {baseline * 1000:.2f} ms",
            ratio_target=Target(0.1),
            note=note if right else f"WRONG: re-read or wrong stories; {note}",
        )
    ]
