"""What every benchmark shares: figures with their targets, medians and percentiles, timing,
CPU time and peak RSS, and a way to run a helper process that answers in JSON.

Machines are noisy, so a figure is a median over repeats, and a comparison is a ratio
against a baseline timed in the same run (interleaved with it, so drift hits both).
"""

from __future__ import annotations

import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Target:
    """A bound a figure must meet: at least (`at_least=True`) or at most `limit`."""

    limit: float
    at_least: bool = False

    def met(self, value: float) -> bool:
        return value >= self.limit if self.at_least else value <= self.limit

    def show(self, unit: str = "") -> str:
        return f"{'>=' if self.at_least else '<='} {number(self.limit)}{unit_suffix(unit)}"


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured number. `ratio` compares it with the baseline named in `baseline`
    (value / baseline figure, measured in the same run); either may carry a target."""

    benchmark: str
    name: str
    value: float
    unit: str
    target: Target | None = None
    ratio: float | None = None
    baseline: str = ""
    ratio_target: Target | None = None
    note: str = ""

    @property
    def passed(self) -> bool | None:
        """True or False when a target applies, None for figures reported for information."""
        checks = [t.met(v) for t, v in ((self.target, self.value), (self.ratio_target, self.ratio)) if t]
        if not checks or any(isinstance(v, float) and math.isnan(v) for v in (self.value, self.ratio)):
            return None if not checks else False
        return all(checks)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        return data


def number(value: float) -> str:
    """A figure as people read it: 5,000 / 48.2 / 3.17 / 0.0042."""
    if math.isnan(value):
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 1000 or value == int(value) and magnitude >= 10:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.1 or value == 0:
        return f"{value:.2f}"
    return f"{value:.2g}"


def unit_suffix(unit: str) -> str:
    return "" if not unit else unit if unit.startswith(("/", "%", "×")) else f" {unit}"


# --- statistics ------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100), linear between the nearest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# --- timing ----------------------------------------------------------------------------------


def calls_for(fn: Callable[[], object], min_seconds: float) -> int:
    """How many calls of `fn` take at least `min_seconds` (so timer resolution is noise)."""
    calls = 1
    while True:
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        if time.perf_counter() - started >= min_seconds or calls >= 1 << 20:
            return calls
        calls *= 2


def per_call(fn: Callable[[], object], calls: int) -> float:
    """Seconds per call of `fn`, over `calls` back-to-back calls."""
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls


def compare(
    subject: Callable[[], object], baseline: Callable[[], object], *, repeats: int, min_seconds: float
) -> tuple[float, float]:
    """Median seconds per call of `subject` and of `baseline`, timed alternately."""
    subject_calls = calls_for(subject, min_seconds)
    baseline_calls = calls_for(baseline, min_seconds)
    ours, theirs = [], []
    for _ in range(repeats):
        ours.append(per_call(subject, subject_calls))
        theirs.append(per_call(baseline, baseline_calls))
    return median(ours), median(theirs)


# --- memory ----------------------------------------------------------------------------------


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Start a new peak-RSS window (Linux: clear_refs 5). False where the OS cannot."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """The highest resident set size since the last reset (or since the process began)."""
    kb = _status_kb("VmHWM")
    if kb is None:
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux
    return kb / 1024


def rss_mb() -> float:
    kb = _status_kb("VmRSS")
    return kb / 1024 if kb is not None else peak_rss_mb()


# --- helper processes ------------------------------------------------------------------------


def helper_env() -> dict[str, str]:
    """The environment for a helper `python -m bench.<x>`: the repo importable (bench, the fakes)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def spawn(module: str, *args: str) -> subprocess.Popen[str]:
    """Start `python -m module args...` with pipes; it talks JSON, one object a line."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        env=helper_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def read_json_line(proc: subprocess.Popen[str]) -> dict[str, Any]:
    """The helper's next JSON line; RuntimeError if it ended instead."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"helper {proc.args!r} ended with code {proc.wait()}")
    return dict(json.loads(line))


def stop(proc: subprocess.Popen[str], timeout: float = 10.0) -> None:
    """Close the helper's stdin (its cue to exit) and wait; kill it if it does not go."""
    if proc.stdin is not None and not proc.stdin.closed:
        proc.stdin.close()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
