"""Benchmark 6, at scale: alert latency while the bot tracks many stories.

A real `StoryBot` as `storybot run` builds it (config, SQLite store, the per-host limit and
`max_polls` at their defaults, the real scheduler with its interval and jitter, the dispatcher
running) with the real Slack adapter, tracks N stories on the benchmark origin (bench.origin,
its own process); the fake Slack runs in a third process (no limit needed: each changed story
alerts its own channel once). After the baseline cycle, one steady cycle is timed at the
origin (first to last request: the cycle time). Then, at a random moment of the interval, the
origin gives every `every`-th story an update (the known time of the change); the others keep
answering 304. Per updated story: the time from the change to its alert arriving at the fake
Slack (the message's `ts`, which the fake stamps with the wall clock as it keeps the message).

A poll falls due at most interval + jitter after the story's last one, and waits for the polls
due before it (the cycle time), so the bound is interval + jitter + cycle time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.measure import Figure, Target, median, percentile, read_json_line, spawn, stop

BENCH = "6 alert latency"


def run(quick: bool) -> list[Figure]:
    if quick:
        return asyncio.run(measure(200, interval=5.0, jitter=0.5, every=20))
    figures = []
    for stories in (1_000, 5_000):
        figures += asyncio.run(measure(stories, interval=60.0, jitter=10.0, every=100))
    return figures


async def measure(
    stories: int, *, interval: float, jitter: float, every: int, page_bytes: int = 20_000, seed: int = 13
) -> list[Figure]:
    """Track `stories`, change every `every`-th at a random moment, time each alert."""
    from adapters.slack.app import SlackAdapter
    from adapters.slack.settings import SlackSecrets, SlackSettings
    from bot.app import StoryBot

    changed = list(range(0, stories, every))
    origin = spawn("bench.origin", "--stories", str(stories), "--size", str(page_bytes))
    slack = spawn("bench.fanout", "--rate", "0")  # the fake Slack, unlimited: one post a channel
    try:
        url = str((await asyncio.to_thread(read_json_line, origin))["url"])
        fake = await asyncio.to_thread(read_json_line, slack)
        with tempfile.TemporaryDirectory(prefix="storybot-bench-") as tmp:
            config = _config(url, stories, changed, Path(tmp) / "bench.db", interval, jitter)
            settings = SlackSettings(mode="http", port=0, api_url=fake["api_url"])
            async with await StoryBot.create(config) as bot:
                adapter = SlackAdapter(bot.commands, settings, SlackSecrets(bot_token=fake["bot_token"]))
                await bot.attach([adapter])
                halt = asyncio.Event()
                running = asyncio.create_task(bot.run(halt))
                try:
                    served = await _cycle(url, stories, timeout=interval * 3 + stories / 20)  # baseline
                    cycle = await _cycle(url, stories, timeout=interval * 3 + stories / 50)  # steady
                    await asyncio.sleep(random.Random(seed).uniform(0, interval))
                    at = time.time()
                    await asyncio.to_thread(_post, f"{url}/_bump?every={every}&offset=0")
                    arrived = await _alerts(fake["base_url"], len(changed), 2 * interval + jitter + 30)
                finally:
                    halt.set()
                    with contextlib.suppress(asyncio.CancelledError):
                        await running
    finally:
        await asyncio.to_thread(stop, slack)
        await asyncio.to_thread(stop, origin)
    return _figures(stories, changed, arrived, at, interval, jitter, cycle, served)


def _config(url: str, stories: int, changed: list[int], db: Path, interval: float, jitter: float) -> Any:
    from bot.config import parse_config

    core = {"database": str(db), "allow_private": True, "interval": interval, "jitter": jitter}
    entries = [{"id": f"s{i}", "url": f"{url}/s/{i}"} for i in range(stories)]
    routes = [{"stories": [f"s{i}"], "channels": [f"slack:C{i}"]} for i in changed]
    return parse_config({"storybot": core, "stories": entries, "routes": routes}, "bench")


async def _cycle(url: str, stories: int, *, timeout: float) -> float:
    """Wait for the origin to have served one request per story (from a stats reset); the
    seconds from the first of them to the last, to 0.05 s."""
    await asyncio.to_thread(_get, f"{url}/_stats?reset=1")
    first = last = None
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        stats = await asyncio.to_thread(_get, f"{url}/_stats")
        served = sum(int(stats.get(k, 0)) for k in ("200", "304"))
        now = time.monotonic()
        if served and first is None:
            first = now
        if served >= stories:
            last = now
            break
        await asyncio.sleep(0.05)
    if first is None or last is None:
        raise RuntimeError(f"the bot did not poll all {stories} stories within {timeout:.0f}s")
    return last - first


async def _alerts(base_url: str, expected: int, timeout: float) -> dict[str, list[float]]:
    """Channel -> the wall-clock arrival times of its messages, once `expected` arrived (or at the
    timeout)."""
    give_up = time.monotonic() + timeout
    while True:
        dump = await asyncio.to_thread(_get, f"{base_url}/_fake/messages")
        arrived: dict[str, list[float]] = {}
        for message in dump["messages"]:
            arrived.setdefault(message["channel"], []).append(float(message["ts"]))
        if sum(len(v) for v in arrived.values()) >= expected or time.monotonic() > give_up:
            return arrived
        await asyncio.sleep(0.1)


def _figures(
    stories: int,
    changed: list[int],
    arrived: dict[str, list[float]],
    at: float,
    interval: float,
    jitter: float,
    cycle: float,
    baseline: float,
) -> list[Figure]:
    latencies = [min(arrived[f"C{i}"]) - at for i in changed if arrived.get(f"C{i}")]
    missing = len(changed) - len(latencies)
    doubled = sum(len(v) - 1 for v in arrived.values() if len(v) > 1)
    bound = interval + jitter + cycle
    note = (
        f"{len(changed)} stories changed, {stories - len(changed)} answer 304; interval {interval:g} s, "
        f"jitter {jitter:g} s, cycle {cycle:.1f} s (baseline cycle {baseline:.1f} s); "
        f"bound = interval + jitter + cycle = {bound:.1f} s"
    )
    if missing or doubled:
        note = f"WRONG: {missing} alert(s) missing, {doubled} doubled; " + note
    name = f"N={stories:,}: change -> alert"
    figures = [
        Figure(BENCH, f"{name}, p50", median(latencies), "s", ratio=median(latencies) / interval,
               baseline="poll interval", note=note),
        Figure(BENCH, f"{name}, p90", percentile(latencies, 90), "s"),
        Figure(BENCH, f"{name}, p99", percentile(latencies, 99), "s"),
        Figure(BENCH, f"{name}, max", max(latencies, default=float("nan")), "s",
               target=Target(bound), ratio=max(latencies, default=float("nan")) / interval,
               baseline="poll interval"),
    ]  # fmt: skip
    return figures


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return dict(json.loads(response.read()))


def _post(url: str) -> dict[str, Any]:
    request = urllib.request.Request(url, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(json.loads(response.read()))
