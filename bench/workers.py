"""Benchmark 7: scaling out. One poll cycle of N stories run by 1, 2 and 3 `storybot worker`
processes on PostgreSQL, against the single SQLite process of benchmark 3, in one run.

One origin (bench.origin, its own process) serves every measurement, 90% 304s in a steady
cycle. The SQLite figure is benchmark 3's bot process (`bot.pipeline.poll_story`, 64 polls at
once) against that origin. For each worker count: a fresh PostgreSQL schema holds the store and
procrastinate's queue (dropped after); the workers are real `python -m bot worker` processes
(no tick: this process defers the cycle as the tick does, one `defer_poll` per story with its
queueing lock, while the workers already run). A cycle is timed from the first deferral until
no poll or delivery job is left to do (procrastinate_jobs). A baseline cycle (every page new)
comes first; then each steady cycle: 10% of stories gain an update, the rest answer 304.

CPU is read from /proc: the worker processes' (children included), and the PostgreSQL
backends serving this run's connections (found by application_name in pg_stat_activity; the
server's shared WAL writer and checkpointer are not counted). Unreachable PostgreSQL: one
figure saying so, not a failure.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bench import polling
from bench.measure import REPO, Figure, helper_env, median, read_json_line, spawn, stop
from bot.redact import display_url

BENCH = "7 workers"
FULL_N = 10_000
QUICK_N = 300
WORKER_COUNTS = (1, 2, 3)
SQLITE_CONCURRENCY = 64  # benchmark 3's polls at once
WORKER_CONCURRENCY = 16  # jobs at a time per worker (storybot worker --concurrency)
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
JOB_TASKS = ("storybot.poll", "storybot.deliver")
CYCLE_DEADLINE = 300.0  # seconds: a cycle still running then is reported unfinished (WRONG), not waited for
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def run(quick: bool) -> list[Figure]:
    if quick:
        return measure(QUICK_N, cycles=1)
    return measure(FULL_N, cycles=1)


def server_url() -> str:
    """The PostgreSQL server the benchmark (and the test suite) uses."""
    return os.environ.get("STORYBOT_TEST_POSTGRES", DEFAULT_SERVER)


def measure(
    stories: int,
    *,
    cycles: int,
    counts: tuple[int, ...] = WORKER_COUNTS,
    concurrency: int = WORKER_CONCURRENCY,
    page_bytes: int = 50_000,
) -> list[Figure]:
    """The figures of one run: SQLite first, then each worker count, on one origin."""
    server = server_url()
    try:
        psycopg.connect(server, connect_timeout=3).close()
    except psycopg.OperationalError as err:
        reason = " ".join(str(err).split())
        where = display_url(server)
        note = f"skipped: PostgreSQL at {where} is unreachable (set STORYBOT_TEST_POSTGRES): {reason}"
        return [Figure(BENCH, "skipped", math.nan, "", note=note)]
    origin = spawn("bench.origin", "--stories", str(stories), "--size", str(page_bytes))
    try:
        url = read_json_line(origin)["url"]
        sqlite = polling.bot_cycles(url, stories, cycles=cycles, per_host=SQLITE_CONCURRENCY)
        results = {
            k: asyncio.run(
                workers_cycles(server, url, stories, workers=k, cycles=cycles, concurrency=concurrency)
            )
            for k in counts
        }
    finally:
        stop(origin)
    return figures(stories, sqlite, results, concurrency)


# --- figures -------------------------------------------------------------------------------------


def figures(
    n: int, sqlite: dict[str, Any], results: dict[int, dict[str, Any]], concurrency: int
) -> list[Figure]:
    base = f"N={n:,}"
    sqlite_note = polling._sanity(n, sqlite)
    wall, cpu = sqlite["wall"], sqlite["cpu"]
    out = [
        Figure(BENCH, f"{base}, SQLite, 1 process: cycle wall", wall, "s", note=sqlite_note),
        Figure(BENCH, f"{base}, SQLite, 1 process: stories/s", n / wall, "/s"),
        Figure(BENCH, f"{base}, SQLite, 1 process: CPU", cpu, "CPU-s", note="the bot process"),
    ]
    sqlite_name = "SQLite 1 process"
    for k, r in results.items():
        who = f"{base}, {k} worker{'s' if k > 1 else ''} on PostgreSQL"
        out += [
            Figure(
                BENCH, f"{who}: cycle wall", r["wall"], "s",
                ratio=r["wall"] / wall, baseline=sqlite_name, note=r["note"],
            ),
            Figure(
                BENCH, f"{who}: stories/s", n / r["wall"], "/s",
                ratio=(n / r["wall"]) / (n / wall), baseline=sqlite_name,
            ),
            Figure(
                BENCH, f"{who}: worker CPU", r["cpu"], "CPU-s",
                ratio=r["cpu"] / cpu, baseline=sqlite_name,
                note=f"sum over {k} process(es), --concurrency {concurrency} each",
            ),
            Figure(
                BENCH, f"{who}: PostgreSQL CPU", r["pg_cpu"], "CPU-s",
                note=f"{r['pg_backends']} backends of this run; deferral of {n:,} polls "
                f"took {r['defer']:.2f}s ({n / r['defer']:,.0f}/s, one defer_poll each, as the tick)",
            ),
        ]  # fmt: skip
    return out


# --- one worker count ----------------------------------------------------------------------------


@dataclass
class CpuProbe:
    """CPU seconds of the worker processes and of this run's PostgreSQL backends, from /proc."""

    workers: list[int]
    app_name: str
    start: dict[str, float] = field(default_factory=dict)

    async def sample(self, admin: psycopg.AsyncConnection[Any]) -> dict[str, float]:
        cursor = await admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (self.app_name,)
        )
        backends = [int(row[0]) for row in await cursor.fetchall()]
        seconds = {f"w{pid}": proc_cpu(pid) for pid in self.workers}
        seconds |= {f"b{pid}": proc_cpu(pid) for pid in backends}
        return {key: value for key, value in seconds.items() if not math.isnan(value)}

    async def begin(self, admin: psycopg.AsyncConnection[Any]) -> None:
        self.start = await self.sample(admin)

    async def end(self, admin: psycopg.AsyncConnection[Any]) -> tuple[float, float, int]:
        """(worker CPU-s, backend CPU-s, backends seen) since `begin`; a backend opened in
        between counts from zero."""
        now = await self.sample(admin)
        spent = {key: value - self.start.get(key, 0.0) for key, value in now.items()}
        workers = sum(v for k, v in spent.items() if k.startswith("w"))
        backends = [v for k, v in spent.items() if k.startswith("b")]
        return workers, sum(backends) if backends else math.nan, len(backends)


def proc_cpu(pid: int) -> float:
    """utime + stime of `pid` and its waited-for children, in seconds; NaN when unreadable
    (gone, or a server on another machine)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return math.nan
    fields = stat.rpartition(")")[2].split()  # fields[0] is the state, field 3 of proc(5)
    return sum(int(x) for x in fields[11:15]) / CLOCK_TICKS


def schema_url(server: str, schema: str, app_name: str) -> str:
    """`server` whose connections see `schema` first and carry `app_name` (to find their backends)."""
    separator = "&" if "?" in server else "?"
    return f"{server}{separator}options=-csearch_path%3D{schema}&application_name={app_name}"


def write_config(path: Path, database: str, origin: str, stories: int) -> None:
    """A worker config: store and queue on `database`, no tick (the benchmark defers the cycle)."""
    lines = [
        "[storybot]",
        f'database = "{database}"',
        f'queue_database = "{database}"',
        'tick_cron = "0 0 1 1 *"',
        "allow_private = true",
        "per_host = 64",
    ]
    for i in range(stories):
        lines += ["[[stories]]", f'id = "s{i}"', f'url = "{origin}/s/{i}"']
    # events are recorded for the channel, not sent: without a token Slack has no sender
    lines += ["[[routes]]", 'stories = ["*"]', 'channels = ["slack:CNEWSROOM"]']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


async def workers_cycles(
    server: str, origin: str, stories: int, *, workers: int, cycles: int, concurrency: int
) -> dict[str, Any]:
    """A fresh schema, `workers` worker processes, a baseline cycle and `cycles` steady ones
    (medians); the schema is dropped after."""
    tag = uuid.uuid4().hex[:10]
    schema, app_name = f"storybot_bench_{tag}", f"storybot-bench-{tag}"
    url = schema_url(server, schema, app_name)
    admin = await psycopg.AsyncConnection.connect(server, autocommit=True)
    async with admin:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        await admin.execute(f'SET search_path TO "{schema}"')
        try:
            with tempfile.TemporaryDirectory(prefix="storybot-workers-") as tmp:
                config = Path(tmp) / "config.toml"
                write_config(config, url, origin, stories)
                fleet = [start_worker(config, f"w{i}", concurrency) for i in range(workers)]
                try:
                    return await _cycles(admin, url, app_name, origin, stories, fleet, cycles)
                finally:
                    stop_workers(fleet)
        finally:
            await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


async def _cycles(
    admin: psycopg.AsyncConnection[Any],
    url: str,
    app_name: str,
    origin: str,
    stories: int,
    fleet: list[Worker],
    cycles: int,
) -> dict[str, Any]:
    from bot.jobs.queue import build_app
    from bot.jobs.schema import ensure_schema

    await ensure_schema(url)
    await _ready(admin, fleet)
    probe = CpuProbe([w.proc.pid for w in fleet], app_name)
    app = build_app(url)
    runs: list[dict[str, Any]] = []
    async with app.open_async():
        baseline = await _cycle(app, admin, probe, origin, stories, fleet)
        for _ in range(cycles if not baseline["unfinished"] else 0):
            await asyncio.to_thread(_bump, origin)
            runs.append(await _cycle(app, admin, probe, origin, stories, fleet))
    runs = runs or [baseline]  # the baseline did not finish: report it, do not wait for more
    wrong = [r["wrong"] for r in [baseline, *runs] if r["wrong"]]
    if baseline["served"].get("200") != stories:
        wrong.insert(0, f"baseline cycle: expected {stories} pages, origin served {baseline['served']}")
    note = (
        f"per cycle: {runs[-1]['served'].get('200', 0)} pages, {runs[-1]['served'].get('304', 0)} 304s; "
        f"baseline cycle {baseline['wall']:.1f}s; {cycles} cycle(s), median"
    )
    return {
        "wall": median([r["wall"] for r in runs]),
        "cpu": median([r["cpu"] for r in runs]),
        "pg_cpu": median([r["pg_cpu"] for r in runs]),
        "pg_backends": max(r["pg_backends"] for r in runs),
        "defer": median([r["defer"] for r in runs]),
        "baseline_wall": baseline["wall"],
        "runs": runs,
        "note": ("WRONG: " + "; ".join(wrong) + "; " if wrong else "") + note,
    }


async def _cycle(
    app: Any,
    admin: psycopg.AsyncConnection[Any],
    probe: CpuProbe,
    origin: str,
    stories: int,
    fleet: list[Worker],
) -> dict[str, Any]:
    """Defer one poll per story (as the tick does) and wait until every job is done."""
    from bot.jobs.tasks import defer_poll

    served = await asyncio.to_thread(_served, origin)
    await probe.begin(admin)
    began = time.perf_counter()
    refused = 0
    for i in range(stories):
        refused += not await defer_poll(app, f"s{i}")
    deferred = time.perf_counter() - began
    while unfinished := await _open_jobs(admin):
        _alive(fleet)
        if time.perf_counter() - began > CYCLE_DEADLINE:
            break
        await asyncio.sleep(0.05)
    wall = time.perf_counter() - began
    cpu, pg_cpu, backends = await probe.end(admin)
    after = await asyncio.to_thread(_served, origin)
    delta = {code: after[code] - served.get(code, 0) for code in after}
    cursor = await admin.execute("SELECT count(*) FROM procrastinate_jobs WHERE status = 'failed'")
    failed = (await cursor.fetchone() or (0,))[0]
    wrong = [f"not done after {wall:.0f}s: {unfinished} of {stories} jobs left"] if unfinished else []
    if refused or failed or delta.get("200", 0) + delta.get("304", 0) != stories:
        wrong.append(f"{refused} deferrals refused, {failed} failed jobs, origin served {delta}")
    return {
        "wall": wall,
        "defer": deferred,
        "cpu": cpu,
        "pg_cpu": pg_cpu,
        "pg_backends": backends,
        "served": delta,
        "unfinished": unfinished,
        "wrong": "; ".join(wrong),
    }


async def _open_jobs(admin: psycopg.AsyncConnection[Any]) -> int:
    cursor = await admin.execute(
        "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing') AND task_name = ANY(%s)",
        (list(JOB_TASKS),),
    )
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def _ready(admin: psycopg.AsyncConnection[Any], fleet: list[Worker]) -> None:
    """Wait until every worker has registered with procrastinate (its store open, catalog synced)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        _alive(fleet)
        cursor = await admin.execute("SELECT to_regclass('procrastinate_workers') IS NOT NULL")
        row = await cursor.fetchone()
        if row and row[0]:
            cursor = await admin.execute("SELECT count(*) FROM procrastinate_workers")
            count = await cursor.fetchone()
            if count and count[0] >= len(fleet):
                return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{len(fleet)} workers did not start within 300 s")


@dataclass
class Worker:
    """A `storybot worker` process and the file its log goes to."""

    name: str
    log: Path
    proc: subprocess.Popen[bytes]


def start_worker(config: Path, name: str, concurrency: int) -> Worker:
    """`storybot worker` in its own process; its log goes next to the config."""
    log = config.parent / f"{name}.log"
    command = [sys.executable, "-m", "bot", "-c", str(config), "worker", "--name", name]
    command += ["--concurrency", str(concurrency)]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=REPO, env=helper_env(), stdout=out, stderr=subprocess.STDOUT)
    return Worker(name, log, proc)


def _alive(workers: list[Worker]) -> None:
    """RuntimeError, with the end of its log, when a worker has ended."""
    for w in workers:
        if w.proc.poll() is not None:
            tail = w.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"worker {w.name} ended with code {w.proc.returncode}:\n{tail}")


def stop_workers(workers: list[Worker]) -> None:
    """SIGTERM (finish, then exit), then SIGKILL for any still there after 30 s."""
    for w in workers:
        if w.proc.poll() is None:
            w.proc.send_signal(signal.SIGTERM)
    for w in workers:
        try:
            w.proc.wait(30)
        except subprocess.TimeoutExpired:
            w.proc.kill()
            w.proc.wait()


_bumps = iter(range(1, 1 << 30))  # each steady cycle updates a different tenth


def _bump(origin: str) -> None:
    request = urllib.request.Request(f"{origin}/_bump?every=10&offset={next(_bumps)}", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def _served(origin: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{origin}/_stats", timeout=30) as response:
        return dict(json.loads(response.read()))
