"""`storybot worker` as real processes sharing one PostgreSQL queue and one store.

The store and the queue share the test's PostgreSQL schema, as workers on many machines
share one database. (A SQLite store refuses a second process, so it is no worker store.)
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import psycopg
import pytest

from bot.jobs.queue import build_app
from bot.jobs.schema import ensure_schema
from bot.jobs.tasks import defer_poll
from tests.helpers import NOV9
from tests.origin import Origin, Response

pytestmark = pytest.mark.timeout(90)

STORIES = [f"s{n}" for n in range(8)]
PAGE = NOV9.read_text(encoding="utf-8")


def write_config(tmp_path: Path, origin: Origin, queue: str, **storybot: object) -> Path:
    settings = {
        "database": queue,
        "queue_database": queue,
        "tick_cron": "0 0 1 1 *",  # no tick during the test: it defers the cycle itself
        "allow_hosts": ["127.0.0.1"],
        **storybot,
    }
    lines = ["[storybot]", *(f"{key} = {toml(value)}" for key, value in settings.items())]
    for story in STORIES:
        lines += ["[[stories]]", f'id = "{story}"', f'url = "{origin.url("/" + story)}"', "interval = 3600"]
    lines += ["[[routes]]", 'stories = ["*"]', 'channels = ["console:news"]']
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def toml(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return f'"{value}"' if isinstance(value, str) else str(value)


@asynccontextmanager
async def worker(
    config: Path, name: str, env: Mapping[str, str] | None = None, args: Sequence[str] = ()
) -> AsyncIterator[subprocess.Popen[bytes]]:
    """`storybot worker` in its own process (with `env` added to ours, `args` added to its
    command line), stopped (SIGTERM) at the end if still running."""
    log = (config.parent / f"{name}.log").open("wb")
    env = {**os.environ, "COLUMNS": "200", **(env or {})}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "-c",
            str(config),
            "worker",
            "--name",
            name,
            "--concurrency",
            "3",
            *args,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            await asyncio.to_thread(proc.wait, 30)
        log.close()


async def until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Wait for another process's effect, checking every 50 ms, failing after `seconds`."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def versions(database: str) -> dict[str, int]:
    """Good versions per story, read from the shared PostgreSQL store."""
    with psycopg.connect(database) as db:
        rows = db.execute("SELECT story_id, count(*) FROM versions WHERE ok GROUP BY story_id").fetchall()
    return dict(rows)


async def defer_cycle(queue: str, stories: list[str]) -> None:
    """What the tick does when every story is due: one poll job each."""
    await ensure_schema(queue)
    app = build_app(queue)
    async with app.open_async():
        for story in stories:
            assert await defer_poll(app, story)


async def test_two_workers_poll_each_story_of_a_cycle_once(
    tmp_path: Path, origin: Origin, postgres_url: str
) -> None:
    for story in STORIES:
        origin.set(f"/{story}", Response(body=PAGE, content_type="text/plain", delay=0.2))
    config = write_config(tmp_path, origin, postgres_url)
    await ensure_schema(postgres_url)
    async with worker(config, "w1") as one, worker(config, "w2") as two:
        await defer_cycle(postgres_url, STORIES)
        await until(lambda: len(origin.requests) >= len(STORIES), 60, "every story polled")
        await until(lambda: sum(versions(postgres_url).values()) >= len(STORIES), 10, "every poll stored")
        one.send_signal(signal.SIGHUP)  # a service manager's reload: noted, not fatal
        await until(lambda: "SIGHUP: a worker" in (tmp_path / "w1.log").read_text(), 10, "SIGHUP noted")
        for proc in (one, two):  # a graceful stop: SIGTERM, the worker finishes and exits 0
            proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(one.wait, 30) == 0
        assert await asyncio.to_thread(two.wait, 30) == 0
    assert sorted(r.path for r in origin.requests) == sorted(f"/{s}" for s in STORIES)
    assert versions(postgres_url) == dict.fromkeys(STORIES, 1)
    logs = [(tmp_path / f"{name}.log").read_text() for name in ("w1", "w2")]
    assert all("storybot worker w" in text for text in logs), logs


async def test_a_killed_workers_poll_is_recovered_by_another(
    tmp_path: Path, origin: Origin, postgres_url: str
) -> None:
    origin.queue("/s0", Response(body=PAGE, content_type="text/plain", delay=60))  # hangs the first poll
    origin.set("/s0", Response(body=PAGE, content_type="text/plain"))
    config = write_config(tmp_path, origin, postgres_url, stalled_after=2)
    await ensure_schema(postgres_url)
    async with worker(config, "doomed") as doomed:
        await defer_cycle(postgres_url, ["s0"])
        await until(lambda: len(origin.requests_for("/s0")) == 1, 30, "the first worker to take the poll")
        doomed.send_signal(signal.SIGKILL)  # mid-job: the poll stays 'doing' under its lock
        doomed.wait(10)
    assert versions(postgres_url) == {}
    async with worker(config, "rescuer"):
        # the stalled-job sweep (every 10 s) retries the job once the dead worker's heartbeat is 2 s old
        await until(lambda: versions(postgres_url) == {"s0": 1}, 45, "the poll retried on the rescuer")
    assert len(origin.requests_for("/s0")) == 2


async def test_each_worker_on_a_host_serves_its_own_metrics_and_health(
    tmp_path: Path, origin: Origin, postgres_url: str
) -> None:
    """`--metrics` overrides `[storybot] metrics`: two workers on one host, port 0 each, each
    count the polls they ran. A worker whose address is taken says so and exits 3."""
    for story in STORIES:
        origin.set(f"/{story}", Response(body=PAGE, content_type="text/plain"))
    await ensure_schema(postgres_url)
    with socket.socket() as taken:  # the config's address, held by another process on this host
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config = write_config(tmp_path, origin, postgres_url, metrics=f"127.0.0.1:{taken.getsockname()[1]}")
        async with worker(config, "w0") as clash:
            assert await asyncio.to_thread(clash.wait, 30) == 3
        assert "metrics: cannot listen on 127.0.0.1:" in (tmp_path / "w0.log").read_text()
        own = ["--metrics", "127.0.0.1:0"]
        async with (
            worker(config, "w1", args=own),
            worker(config, "w2", args=own),
            httpx.AsyncClient() as http,
        ):
            urls = [await served_at(tmp_path / f"{name}.log") for name in ("w1", "w2")]
            assert len(set(urls)) == 2
            await defer_cycle(postgres_url, STORIES)
            counted: list[float] = []
            for _ in range(600):  # each poll is counted just after it is stored
                counted = [polls_counted((await http.get(f"{url}/metrics")).text) for url in urls]
                if sum(counted) >= len(STORIES):
                    break
                await asyncio.sleep(0.05)
            assert sum(counted) == len(STORIES), counted
            for url in urls:
                health = await http.get(f"{url}/healthz")
                assert (health.status_code, health.text) == (200, "ok\n")


SERVED = re.compile(r"metrics on (http://\S+)/metrics")
POLLS = re.compile(r"^storybot_polls_total\{[^}]*\} (\S+)$", re.M)


async def served_at(log: Path) -> str:
    """The base URL a worker logged for its /metrics."""
    await until(lambda: SERVED.search(log.read_text()) is not None, 30, f"{log.name}: metrics served")
    found = SERVED.search(log.read_text())
    assert found is not None
    return found[1]


def polls_counted(exposition: str) -> float:
    """storybot_polls_total summed over its outcomes."""
    return sum(float(value) for value in POLLS.findall(exposition))


def test_a_worker_whose_queue_database_is_down_exits_at_once_saying_so(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[storybot]\ndatabase = "s.db"\nqueue_database = "postgresql://bot:hunter2@127.0.0.1:9/q"\n'
        '[[stories]]\nid = "a"\nurl = "https://example.com/a"\n',
        encoding="utf-8",
    )
    run = subprocess.run(
        [sys.executable, "-m", "bot", "-c", str(config), "worker"], capture_output=True, text=True, timeout=20
    )
    assert run.returncode == 3
    assert "cannot reach the queue database postgresql://bot:***@127.0.0.1:9/q" in run.stderr
    assert "hunter2" not in run.stderr + run.stdout


def test_a_queue_database_that_is_not_postgresql_is_refused_without_echoing_it(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[storybot]\nqueue_database = "mysql://bot:hunter2@db/q"\n[[stories]]\nid = "a"\nurl = "https://example.com/a"\n',
        encoding="utf-8",
    )
    run = subprocess.run(
        [sys.executable, "-m", "bot", "-c", str(config), "check"], capture_output=True, text=True
    )
    assert run.returncode == 2
    assert "storybot.queue_database: must be a postgresql:// URL" in run.stderr
    assert "hunter2" not in run.stderr
