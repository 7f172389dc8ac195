"""Issue 12's acceptance test: three `storybot worker` processes on PostgreSQL, one SIGKILLed
mid-cycle while it sends; every routed channel still gets each alert exactly once.

The fake Slack runs in the test process (posts slowed so the kill lands mid-fan-out); the
workers' Slack adapters point at it through `[slack] api_url`.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path

import psycopg
import pytest

from bot.jobs.schema import ensure_schema
from bot.jobs.tasks import DELIVER
from tests.fakes.slack import FakeSlack
from tests.helpers import NOV9, NOV11
from tests.origin import Origin, Response
from tests.test_workers import defer_cycle, toml, until, versions, worker

pytestmark = pytest.mark.timeout(120)

STORIES = [f"s{n}" for n in range(6)]
CHANNELS = [f"C{n:02d}" for n in range(1, 6)]
ALERTS = len(STORIES) * len(CHANNELS)


def write_config(tmp_path: Path, origin: Origin, slack: FakeSlack, database: str) -> Path:
    settings = {
        "database": database,
        "tick_cron": "0 0 1 1 *",  # no tick: the test defers each cycle itself
        "allow_hosts": ["127.0.0.1"],
        "stalled_after": 2,
    }
    lines = ["[storybot]", *(f"{key} = {toml(value)}" for key, value in settings.items())]
    lines += ["[slack]", 'mode = "http"', "port = 0", f'api_url = "{slack.api_url}"']
    for story in STORIES:
        lines += ["[[stories]]", f'id = "{story}"', f'url = "{origin.url("/" + story)}"', "interval = 3600"]
    lines += ["[[routes]]", 'stories = ["*"]', f"channels = {toml([f'slack:{c}' for c in CHANNELS])}"]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def serve(origin: Origin, page: Path) -> None:
    for story in STORIES:
        origin.set(f"/{story}", Response(body=page.read_text(encoding="utf-8"), content_type="text/plain"))


def query(database: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(database) as db:
        return db.execute(sql).fetchall()


def worker_ids(database: str) -> list[int]:
    return [row[0] for row in query(database, "SELECT id FROM procrastinate_workers ORDER BY id")]


def delivering(database: str) -> list[int]:
    """Ids of the workers running a delivery job now."""
    rows = query(
        database,
        f"SELECT worker_id FROM procrastinate_jobs WHERE status = 'doing' AND task_name = '{DELIVER}'",
    )
    return [row[0] for row in rows if row[0] is not None]


def state(database: str) -> str:
    """The deliveries and unfinished jobs, for a failure message."""
    deliveries = query(database, "SELECT channel, status, count(*) FROM deliveries GROUP BY 1, 2")
    jobs = query(
        database,
        "SELECT id, task_name, status, lock, queueing_lock, worker_id FROM procrastinate_jobs"
        " WHERE status <> 'succeeded' ORDER BY id",
    )
    return f"deliveries {deliveries}; jobs {jobs}"


def delivery_id(message_metadata: dict[str, object] | None) -> int:
    """The store's delivery id from the key a post carries ('sb<id>-<hash>')."""
    assert message_metadata is not None
    payload = message_metadata["event_payload"]
    assert isinstance(payload, dict)
    return int(str(payload["delivery"]).removeprefix("sb").split("-")[0])


async def test_three_workers_one_killed_mid_cycle_every_channel_gets_each_alert_once(
    tmp_path: Path, origin: Origin, postgres_url: str
) -> None:
    async with FakeSlack() as slack, AsyncExitStack() as stack:
        slack.slow_posts(0.08)
        serve(origin, NOV9)
        config = write_config(tmp_path, origin, slack, postgres_url)
        env = {"SLACK_BOT_TOKEN": slack.bot_token, "SLACK_SIGNING_SECRET": slack.signing_secret}
        await ensure_schema(postgres_url)
        procs: dict[int, subprocess.Popen[bytes]] = {}
        for n in range(1, 4):  # one at a time, so each queue worker id names its process
            proc = await stack.enter_async_context(worker(config, f"w{n}", env))
            await until(lambda n=n: len(worker_ids(postgres_url)) == n, 60, f"worker w{n} to register")
            procs[worker_ids(postgres_url)[-1]] = proc

        await defer_cycle(postgres_url, STORIES)  # the baseline: no alerts
        await until(lambda: versions(postgres_url) == dict.fromkeys(STORIES, 1), 30, "the baseline")
        assert slack.all_messages() == []

        serve(origin, NOV11)  # each story gains one update
        await defer_cycle(postgres_url, STORIES)
        await until(
            lambda: len(slack.all_messages()) >= 3 and bool(delivering(postgres_url)), 30, "a fan-out"
        )
        victim = delivering(postgres_url)[0]
        procs[victim].send_signal(signal.SIGKILL)
        await asyncio.to_thread(procs[victim].wait, 10)
        sent_at_kill = len(slack.all_messages())
        assert sent_at_kill < ALERTS, "the kill came after the fan-out"

        def settled() -> bool:
            rows = query(postgres_url, "SELECT count(*) FROM deliveries WHERE status = 'sent'")
            return len(slack.all_messages()) >= ALERTS and rows[0][0] >= ALERTS

        try:
            await until(settled, 60, "the two survivors to finish the cycle")
        except AssertionError as err:
            posted = len(slack.all_messages())
            raise AssertionError(f"{err}: {posted} posted; {state(postgres_url)}") from None
        await asyncio.sleep(1)  # room for a late duplicate to show

    logs = "\n".join(p.read_text() for p in sorted(tmp_path.glob("w*.log")))
    assert versions(postgres_url) == dict.fromkeys(STORIES, 2), logs[-3000:]
    events = query(postgres_url, "SELECT story_id, count(*) FROM events GROUP BY story_id")
    assert dict(events) == dict.fromkeys(STORIES, 1)
    deliveries = query(postgres_url, "SELECT id, channel, status, message_id FROM deliveries")
    assert len(deliveries) == ALERTS and {row[2] for row in deliveries} == {"sent"}, deliveries
    posted = Counter((m.channel, delivery_id(m.metadata)) for m in slack.all_messages())
    assert [key for key, n in posted.items() if n > 1] == [], "an alert posted twice"
    expected = {(str(channel).removeprefix("slack:"), did) for did, channel, _, _ in deliveries}
    assert set(posted) == expected, "an alert lost or misplaced"
    ts = {(m.channel, delivery_id(m.metadata)): m.ts for m in slack.all_messages()}
    assert {did: mid for did, _, _, mid in deliveries} == {did: ts[(c, did)] for c, did in ts}
    print(f"killed worker {victim} with {sent_at_kill}/{ALERTS} alerts posted")
