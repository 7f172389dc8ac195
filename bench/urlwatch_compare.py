"""Benchmark 7: a whole storybot process against urlwatch, polling the same N loopback URLs.

urlwatch is pip-installed into its own virtualenv under the user's cache dir (reused by later
runs); where it cannot be installed the benchmark says so and measures nothing. Both watch
the same origin (bench.origin), which answers 304 to a matching If-None-Match: urlwatch sends
its stored ETag as storybot does, so after each side's first pass every request is a 304.
Runs alternate: one storybot cycle (its bot process, bench.polling, at `storybot run`'s
settings), then one urlwatch run (a whole process: cron-style, as urlwatch is used), and so
on. The figure is urlwatch's median wall time over storybot's steady cycle's.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

from bench.measure import Figure, Target, median
from bench.polling import BotProcess, Origin

BENCH = "8 vs urlwatch"
SIZES = (1_000, 2_000, 5_000)
TARGET_N = 5_000
TARGET = Target(5.0, at_least=True)
VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "storybot-bench" / "urlwatch-venv"


def run(quick: bool) -> list[Figure]:
    urlwatch = install_urlwatch()
    if urlwatch is None:
        print("bench: urlwatch could not be installed; the comparison is skipped", file=sys.stderr)
        return []
    if quick:
        return compare(urlwatch, (200,), repeats=1)
    return compare(urlwatch, SIZES, repeats=3)


def install_urlwatch(where: Path = VENV) -> Path | None:
    """The urlwatch executable in its own virtualenv, installed on first use; None if pip fails."""
    exe = where / "bin" / "urlwatch"
    if exe.exists():
        return exe
    try:
        venv.create(where, with_pip=True, clear=True)
        subprocess.run(
            [str(where / "bin" / "python"), "-m", "pip", "install", "-q", "urlwatch"],
            check=True, timeout=600, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return exe if exe.exists() else None


class Urlwatch:
    """urlwatch with its jobs, config, hooks and cache in one temp dir (HOME too: nothing leaks)."""

    def __init__(self, exe: Path, home: Path, url: str, stories: int):
        self.exe, self.home = exe, home
        jobs = "---\n".join(f"name: s{i}\nurl: {url}/s/{i}\n" for i in range(stories))
        (home / "urls.yaml").write_text(jobs, encoding="utf-8")
        (home / "hooks.py").write_text("", encoding="utf-8")

    def run(self) -> tuple[float, float]:
        """One whole urlwatch process: wall seconds and CPU seconds (user + system)."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(
            [str(self.exe), "--urls", "urls.yaml", "--config", "urlwatch.yaml", "--hooks", "hooks.py",
             "--cache", "cache.db"],
            cwd=self.home, env=dict(os.environ, HOME=str(self.home)), check=True, timeout=1800,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def compare(exe: Path, sizes: tuple[int, ...], *, repeats: int, page_bytes: int = 50_000) -> list[Figure]:
    figures = []
    for n in sizes:
        ours, theirs, note = steady_cycles(exe, n, repeats=repeats, page_bytes=page_bytes)
        wall, cpu = median([w for w, _ in ours]), median([c for _, c in ours])
        their_wall, their_cpu = median([w for w, _ in theirs]), median([c for _, c in theirs])
        figures.append(
            Figure(
                BENCH,
                f"N={n:,}, all 304: storybot steady cycle, wall",
                wall,
                "s",
                ratio=their_wall / wall,
                baseline=f"faster than urlwatch ({their_wall:.2f} s)",
                ratio_target=TARGET if n == TARGET_N else None,
                note=note,
            )
        )
        figures.append(
            Figure(
                BENCH,
                f"N={n:,}, all 304: storybot steady cycle, CPU",
                cpu,
                "CPU-s",
                ratio=their_cpu / cpu,
                baseline=f"less CPU than urlwatch ({their_cpu:.2f} CPU-s)",
            )
        )
    return figures


def steady_cycles(
    exe: Path, stories: int, *, repeats: int, page_bytes: int
) -> tuple[list[tuple[float, float]], list[tuple[float, float]], str]:
    """(storybot cycles, urlwatch runs, note): each side's first pass is its baseline, then
    `repeats` of each, alternating; every measured request must have been answered 304."""
    origin = Origin(stories, page_bytes)
    ours: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    wrong: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="storybot-urlwatch-") as home:
            urlwatch = Urlwatch(exe, Path(home), origin.url, stories)
            bot = BotProcess(origin.url, stories)
            try:
                bot.ask("cycle")
                urlwatch.run()
                for _ in range(repeats):
                    for side in ("storybot", "urlwatch"):
                        origin.stats(reset=True)
                        if side == "storybot":
                            figures = bot.ask("cycle")
                            ours.append((figures["wall"], figures["cpu"]))
                        else:
                            theirs.append(urlwatch.run())
                        stats = origin.stats()
                        if stats["304"] != stories:
                            wrong.append(f"{side}: {stats['304']} of {stories} answered 304")
            finally:
                bot.close()
    finally:
        origin.close()
    note = f"alternating, {repeats} of each, median; urlwatch as a whole process (startup included)"
    return ours, theirs, ("WRONG: " + "; ".join(wrong) + "; " if wrong else "") + note
