"""Benchmark 3: polling scale. One full cycle over N stories, 90% of them unchanged (304).

Three processes: the origin (bench.origin), the bot (this module run as `python -m
bench.polling`), and the parent that starts both and reads the bot's figures. The bot side is
the real thing: `bot.pipeline.poll_story` for every story, a real `Fetcher` on the client
`bot.fetch.make_client` builds, a real `Store` on a temp SQLite file, at most `concurrency`
polls at once (config per_host at its maximum, 64). Cycle 1 is the baseline (every page new);
then, `cycles` times, 10% of stories gain an update and one full cycle is measured: wall
time, CPU seconds of the bot process (its threads included: aiosqlite's), and peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from bench.measure import Figure, Target, median, peak_rss_mb, read_json_line, reset_peak_rss, spawn, stop

BENCH = "3 polling"
FULL_N = 10_000
TARGETS = {"wall": Target(60), "cpu": Target(30), "rss": Target(200)}
UNITS = {"wall": "s", "cpu": "CPU-s", "rss": "MB"}
LINEAR = Target(10.0)  # 10x the stories may cost at most 10x


def run(quick: bool) -> list[Figure]:
    if quick:
        return measure((100, 1_000), cycles=1)
    return measure((1_000, FULL_N), cycles=3)


def measure(
    sizes: tuple[int, int], *, cycles: int, concurrency: int = 64, page_bytes: int = 50_000
) -> list[Figure]:
    small, large = (
        poll_cycles(n, cycles=cycles, concurrency=concurrency, page_bytes=page_bytes) for n in sizes
    )
    figures = []
    for n, result in zip(sizes, (small, large), strict=True):
        note = _sanity(n, result)
        for key in ("wall", "cpu", "rss"):
            figures.append(
                Figure(
                    BENCH,
                    f"N={n:,}: one cycle, {key}",
                    result[key],
                    UNITS[key],
                    target=TARGETS[key] if n == FULL_N else None,
                    note=note if key == "wall" else "",
                )
            )
    scale = sizes[1] / sizes[0]
    for key in ("wall", "cpu", "rss"):
        growth = large[key] / small[key]
        figures.append(
            Figure(
                BENCH,
                f"{key} growth N={sizes[0]:,} -> {sizes[1]:,}",
                growth,
                "×",
                target=Target(scale) if key != "rss" else None,
                note=f"linear would be {scale:g}×",
            )
        )
    return figures


def _sanity(n: int, result: dict[str, Any]) -> str:
    statuses = result["statuses"]
    changed, unchanged = statuses.get("changed", 0), statuses.get("not_modified", 0)
    note = (
        f"per cycle: {changed} changed, {unchanged} 304s; baseline cycle {result['baseline_wall']:.1f}s; "
        f"{result['cycles']} cycles, median"
    )
    if changed != n // 10 or unchanged != n - n // 10:
        note = (
            f"WRONG: expected {n // 10} changed and {n - n // 10} not modified, got {dict(statuses)}; " + note
        )
    return note


def poll_cycles(stories: int, *, cycles: int, concurrency: int, page_bytes: int) -> dict[str, Any]:
    """Start an origin and a bot process; return the bot's median figures over `cycles`."""
    origin = spawn("bench.origin", "--stories", str(stories), "--size", str(page_bytes))
    try:
        return bot_cycles(read_json_line(origin)["url"], stories, cycles=cycles, concurrency=concurrency)
    finally:
        stop(origin)


def bot_cycles(url: str, stories: int, *, cycles: int, concurrency: int) -> dict[str, Any]:
    """Run the bot process against a running origin at `url` (other benchmarks share one)."""
    bot = spawn(
        "bench.polling",
        "--url", url,
        "--stories", str(stories),
        "--cycles", str(cycles),
        "--concurrency", str(concurrency),
    )  # fmt: skip
    try:
        return read_json_line(bot)
    finally:
        stop(bot, timeout=60)


# --- the bot process ---------------------------------------------------------------------------


async def bot_side(
    url: str, stories: int, cycles: int, concurrency: int, profile: str | None = None
) -> dict[str, Any]:
    # Imported here: the parent process needs none of the bot.
    from bot.catalog import sync_catalog
    from bot.config import parse_config
    from bot.fetch import Fetcher, make_client
    from bot.pipeline import poll_story
    from bot.storage import open_store

    with tempfile.TemporaryDirectory(prefix="storybot-bench-") as tmp:
        began = time.perf_counter()
        config = parse_config(
            {
                "storybot": {"database": str(Path(tmp) / "bench.db"), "per_host": 64, "allow_private": True},
                "stories": [{"id": f"s{i}", "url": f"{url}/s/{i}"} for i in range(stories)],
                "routes": [{"stories": ["*"], "channels": ["rec:newsroom"]}],
            },
            "bench",
        )
        config_seconds = time.perf_counter() - began
        store = await open_store(config.database({}))
        await sync_catalog(store, config)
        client = make_client(
            timeout=config.storybot.timeout,
            user_agent=config.storybot.user_agent,
            policy=config.address_policy,
        )
        fetcher = Fetcher(client, base_dir=config.base_dir, max_bytes=config.storybot.max_bytes, per_host=64)
        gate = asyncio.Semaphore(concurrency)

        async def one(story: Any) -> str:
            async with gate:
                outcome = await poll_story(story, config=config, fetcher=fetcher, store=store)
                return outcome.status.value

        async def cycle() -> tuple[dict[str, float], Counter[str]]:
            reset_peak_rss()
            wall, cpu = time.perf_counter(), time.process_time()
            statuses = Counter(await asyncio.gather(*(one(s) for s in config.stories)))
            figures = {
                "wall": time.perf_counter() - wall,
                "cpu": time.process_time() - cpu,
                "rss": peak_rss_mb(),
            }
            return figures, statuses

        try:
            baseline, base_statuses = await cycle()
            runs: list[dict[str, float]] = []
            statuses: Counter[str] = Counter()
            for n in range(cycles):
                await asyncio.to_thread(_bump, url, n)
                profiler = _profiler(profile if n == cycles - 1 else None)
                figures, statuses = await cycle()
                if profiler is not None:
                    profiler.stop()
                    Path(profile or "").write_text(profiler.output_text(color=False, show_all=False))
                runs.append(figures)
        finally:
            await client.aclose()
            await store.close()
    return {
        "stories": stories,
        "cycles": cycles,
        "wall": median([r["wall"] for r in runs]),
        "cpu": median([r["cpu"] for r in runs]),
        "rss": max(r["rss"] for r in runs),
        "runs": runs,
        "statuses": dict(statuses),
        "baseline_wall": baseline["wall"],
        "baseline_statuses": dict(base_statuses),
        "config_seconds": config_seconds,
    }


def _profiler(path: str | None) -> Any:
    """A started pyinstrument profiler when `path` is given (for finding a miss's cause)."""
    if path is None:
        return None
    from pyinstrument import Profiler

    profiler = Profiler(async_mode="disabled")
    profiler.start()
    return profiler


def _bump(url: str, offset: int) -> None:
    request = urllib.request.Request(f"{url}/_bump?every=10&offset={offset}", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.polling", description="the bot side of benchmark 3"
    )
    parser.add_argument("--url", required=True)
    parser.add_argument("--stories", type=int, required=True)
    parser.add_argument("--cycles", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--profile", metavar="FILE", help="pyinstrument report of the last cycle")
    args = parser.parse_args()
    result = asyncio.run(bot_side(args.url, args.stories, args.cycles, args.concurrency, args.profile))
    print(json.dumps(result), flush=True)
    sys.stdin.read()  # the parent closes stdin when it has read us


if __name__ == "__main__":
    main()
