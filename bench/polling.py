"""Benchmark 3: polling scale. Full cycles over N stories, 90% of them unchanged (304).

Three processes: the origin (bench.origin), the bot (this module run as `python -m
bench.polling`), and the parent that starts both and drives the bot one command a line. The
bot side is `storybot run`'s own machinery at its real settings: `StoryBot.create` (config
parsed, store opened, catalog synced: the startup figure), the per-host limit at the config
default, a platform attached and the dispatcher running (delivery on), every story polled
through `StoryBot.poll`. Cycle 1 is the baseline (every page new); then, each cycle, 10% of
stories gain an update and one full cycle is measured, until every alert is delivered: wall
time, CPU seconds of the bot process (its threads included: aiosqlite's), peak RSS, and TCP
connections the origin accepted. A reload (one story's aliases edited) is timed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
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
UNITS = {"wall": "s", "cpu": "CPU-s", "rss": "MB", "connections": "", "startup": "s", "reload": "s"}


def run(quick: bool) -> list[Figure]:
    if quick:
        return measure((100, 1_000), cycles=1)
    return measure((1_000, FULL_N), cycles=3)


def measure(sizes: tuple[int, int], *, cycles: int, page_bytes: int = 50_000) -> list[Figure]:
    small, large = (poll_cycles(n, cycles=cycles, page_bytes=page_bytes) for n in sizes)
    figures = []
    for n, result in zip(sizes, (small, large), strict=True):
        note = _sanity(n, result)
        for key in ("wall", "cpu", "rss", "connections", "startup", "reload"):
            figures.append(
                Figure(
                    BENCH,
                    f"N={n:,}: " + _FIGURE_NAMES.get(key, f"one cycle, {key}"),
                    result[key],
                    UNITS[key],
                    target=TARGETS.get(key) if n == FULL_N else None,
                    note=note if key == "wall" else _NOTES.get(key, "").format(**result),
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


_FIGURE_NAMES = {
    "connections": "TCP connections opened in one cycle",
    "startup": "startup (config, store, catalog sync)",
    "reload": "config reload (one story edited)",
}
_NOTES = {
    "connections": "accepts counted at the origin; per-host limit {per_host}",
    "startup": "{startup_cpu:.2f} CPU-s",
    "reload": "{reload_cpu:.2f} CPU-s",
}


def _sanity(n: int, result: dict[str, Any]) -> str:
    statuses = result["statuses"]
    changed, unchanged = statuses.get("changed", 0), statuses.get("not_modified", 0)
    note = (
        f"per cycle: {changed} changed, {unchanged} 304s, {result['delivered']} alerts delivered; "
        f"baseline cycle {result['baseline_wall']:.1f}s; {result['cycles']} cycles, median"
    )
    if changed != n // 10 or unchanged != n - n // 10 or result["delivered"] != result["events"]:
        note = (
            f"WRONG: expected {n // 10} changed, {n - n // 10} not modified, every event delivered once, "
            f"got {dict(statuses)}, {result['delivered']} of {result['events']}; " + note
        )
    return note


class Origin:
    """The origin process: its URL, its counters, and the bump that makes 10% of stories news."""

    def __init__(self, stories: int, page_bytes: int):
        self.proc = spawn("bench.origin", "--stories", str(stories), "--size", str(page_bytes))
        self.url = str(read_json_line(self.proc)["url"])

    def stats(self, reset: bool = False) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.url}/_stats{'?reset=1' if reset else ''}", timeout=30) as r:
            return dict(json.loads(r.read()))

    def bump(self, offset: int) -> None:
        request = urllib.request.Request(f"{self.url}/_bump?every=10&offset={offset}", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()

    def close(self) -> None:
        stop(self.proc)


class BotProcess:
    """`python -m bench.polling` driven a command a line: `cycle`, `reload`; EOF ends it."""

    def __init__(
        self,
        url: str,
        stories: int,
        per_host: int | None = None,
        profile: str | None = None,
        max_polls: int | None = None,
    ):
        args = ["--url", url, "--stories", str(stories)]
        args += ["--per-host", str(per_host)] if per_host else []
        args += ["--max-polls", str(max_polls)] if max_polls else []
        args += ["--profile", profile] if profile else []
        self.proc = spawn("bench.polling", *args)
        self.started = read_json_line(self.proc)

    def ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return read_json_line(self.proc)

    def close(self) -> None:
        stop(self.proc, timeout=60)


def poll_cycles(
    stories: int, *, cycles: int, page_bytes: int, per_host: int | None = None, profile: str | None = None
) -> dict[str, Any]:
    """Start an origin and a bot process; the bot's median figures over `cycles` measured cycles."""
    origin = Origin(stories, page_bytes)
    try:
        bot = BotProcess(origin.url, stories, per_host, profile)
        try:
            origin.stats(reset=True)
            baseline = bot.ask("cycle")
            runs = []
            for n in range(cycles):
                origin.bump(n)
                origin.stats(reset=True)
                figures = bot.ask("cycle")
                figures["connections"] = origin.stats()["connections"]
                runs.append(figures)
            reload = bot.ask("reload")
        finally:
            bot.close()
    finally:
        origin.close()
    return {
        "stories": stories,
        "cycles": cycles,
        "per_host": bot.started["per_host"],
        "wall": median([r["wall"] for r in runs]),
        "cpu": median([r["cpu"] for r in runs]),
        "rss": max(r["rss"] for r in runs),
        "connections": median([r["connections"] for r in runs]),
        "delivered": runs[-1]["delivered"],
        "events": runs[-1]["events"],
        "runs": runs,
        "statuses": runs[-1]["statuses"],
        "baseline_wall": baseline["wall"],
        "baseline_statuses": baseline["statuses"],
        "startup": bot.started["startup"],
        "startup_cpu": bot.started["startup_cpu"],
        "reload": reload["wall"],
        "reload_cpu": reload["cpu"],
    }


def bot_cycles(url: str, stories: int, *, cycles: int, per_host: int | None = None) -> dict[str, Any]:
    """The bot process against a running origin at `url` (other benchmarks share one): a
    baseline cycle, then `cycles` steady cycles, each after 10% of the stories gained news.
    Returns the steady cycles' median wall and CPU seconds."""
    bot = BotProcess(url, stories, per_host)
    try:
        baseline = bot.ask("cycle")
        runs = []
        for _ in range(cycles):
            _bump(url)
            runs.append(bot.ask("cycle"))
    finally:
        bot.close()
    return {
        **runs[-1],
        "cycles": cycles,
        "wall": median([r["wall"] for r in runs]),
        "cpu": median([r["cpu"] for r in runs]),
        "baseline_wall": baseline["wall"],
    }


_bumps = iter(range(1, 1 << 30))  # each steady cycle updates a different tenth


def _bump(origin: str) -> None:
    request = urllib.request.Request(f"{origin}/_bump?every=10&offset={next(_bumps)}", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


# --- the bot process ---------------------------------------------------------------------------


class Sink:
    """A platform that takes every alert at once: delivery is on, and costs the bot its own work."""

    platform = "bench"

    def __init__(self) -> None:
        self.sent = 0

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def send_alert(
        self, channel: str, alert: Any, thread_id: str | None, *, key: str | None = None
    ) -> Any:
        from bot.ports import Posted

        self.sent += 1
        return Posted(f"m{self.sent}")

    async def find_sent(self, channel: str, key: str, thread_id: str | None, since: Any) -> None:
        return None  # keeps nothing: a bench run is never interrupted and resumed

    async def edit_alert(self, channel: str, message_id: str, alert: Any, *, thread_id: Any = None) -> None:
        self.sent += 1


def bench_config(
    url: str, stories: int, db: Path, per_host: int | None, edited: bool = False, max_polls: int | None = None
) -> Any:
    from bot.config import parse_config

    core: dict[str, Any] = {"database": str(db), "allow_private": True}
    if per_host:
        core["per_host"] = per_host
    if max_polls:
        core["max_polls"] = max_polls
    entries: list[dict[str, Any]] = [{"id": f"s{i}", "url": f"{url}/s/{i}"} for i in range(stories)]
    if edited:
        entries[0]["aliases"] = ["edited"]
    routes = [{"stories": ["*"], "channels": ["bench:newsroom"]}]
    return parse_config({"storybot": core, "stories": entries, "routes": routes}, "bench")


async def bot_side(
    url: str, stories: int, per_host: int | None, profile: str | None = None, max_polls: int | None = None
) -> None:
    """Start the bot, then answer `cycle` and `reload` lines from stdin with JSON figures."""
    from bot.app import StoryBot

    with tempfile.TemporaryDirectory(prefix="storybot-bench-") as tmp:
        db = Path(tmp) / "bench.db"
        wall, cpu = time.perf_counter(), time.process_time()
        config = bench_config(url, stories, db, per_host, max_polls=max_polls)
        bot = await StoryBot.create(config)
        _say({
            "startup": time.perf_counter() - wall,
            "startup_cpu": time.process_time() - cpu,
            "per_host": config.storybot.per_host,
        })  # fmt: skip
        sink = Sink()
        await bot.attach([sink])
        dispatcher = asyncio.create_task(bot.dispatcher.run())
        loop = asyncio.get_running_loop()
        try:
            while command := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
                if command == "cycle":
                    profiler = cProfile.Profile() if profile else None
                    _say(await _cycle(bot, config, sink, profiler))
                    if profiler is not None and profile:
                        _write_profile(profiler, profile)
                elif command == "reload":
                    wall, cpu = time.perf_counter(), time.process_time()
                    await bot.apply_config(bench_config(url, stories, db, per_host, True, max_polls))
                    _say({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu})
        finally:
            dispatcher.cancel()
            await asyncio.gather(dispatcher, return_exceptions=True)
            await bot.close()


async def _cycle(bot: Any, config: Any, sink: Sink, profiler: cProfile.Profile | None) -> dict[str, Any]:
    """Every story polled once (as the scheduler fires them), then every alert delivered by the
    dispatcher task `storybot run` runs (woken by each poll that queued something)."""
    reset_peak_rss()
    sent = sink.sent
    wall, cpu = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    outcomes = await asyncio.gather(*(_poll(bot, s.id) for s in config.stories))
    events = sum(n for _, n in outcomes)
    give_up = time.monotonic() + 60
    while sink.sent - sent < events and time.monotonic() < give_up:
        await asyncio.sleep(0.005)  # the running dispatcher sends (a second sender would duplicate)
    if profiler is not None:
        profiler.disable()
    return {
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "rss": peak_rss_mb(),
        "statuses": dict(Counter(status for status, _ in outcomes if status)),
        "delivered": sink.sent - sent,
        "events": events,
    }


async def _poll(bot: Any, story_id: str) -> tuple[str, int]:
    """One poll as the scheduler runs it: its outcome is looked at, then dropped (holding every
    outcome's parsed Story until the cycle ends would be the benchmark's memory, not the bot's)."""
    outcome = await bot.poll(story_id)
    return (outcome.status.value, len(outcome.event_ids)) if outcome is not None else ("", 0)


def _write_profile(profiler: cProfile.Profile, path: str) -> None:
    with open(path, "w", encoding="utf-8") as out:
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(45)


def _say(figures: dict[str, Any]) -> None:
    print(json.dumps(figures), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.polling", description="benchmark 3, bot side")
    parser.add_argument("--url", required=True)
    parser.add_argument("--stories", type=int, required=True)
    parser.add_argument("--per-host", type=int, help="default: the config default")
    parser.add_argument("--profile", metavar="FILE", help="cProfile report (by own time) of the last cycle")
    parser.add_argument("--max-polls", type=int, help="default: the config default (polls in flight)")
    args = parser.parse_args()
    asyncio.run(bot_side(args.url, args.stories, args.per_host, args.profile, args.max_polls))


if __name__ == "__main__":
    main()
