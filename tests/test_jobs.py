"""Polls and deliveries as procrastinate jobs, run in-process against a real PostgreSQL queue.

The multi-process guarantees (two workers, a killed worker) are in tests/test_workers.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from procrastinate import App
from procrastinate.jobs import Status

from bot.app import StoryBot
from bot.config import Config, parse_config
from bot.jobs.queue import QUEUES, build_app
from bot.jobs.schema import QueueUnreachable, display_dsn, ensure_schema
from bot.jobs.tasks import (
    DELIVER,
    FEED,
    POLL,
    RUNTIME,
    Runtime,
    defer_due_deliveries,
    defer_due_polls,
    defer_feed,
    defer_feeds,
    defer_poll,
)
from bot.models import AlertKind
from bot.ports import DeliveryError
from bot.storage import EventRecord, FetchMeta
from tests.helpers import LOCAL_SOURCES, NOV9, NOV11, kherson_config, poll_file
from tests.origin import Origin, Response
from tests.recording import RecordingSender

NEVER = "0 0 1 1 *"  # a tick cron that does not fire during a test: the test defers by hand


@asynccontextmanager
async def opened_queue(url: str) -> AsyncIterator[App]:
    await ensure_schema(url)
    app = build_app(url, NEVER)
    async with app.open_async():
        yield app


async def run_jobs(app: App, bot: StoryBot) -> None:
    """Run queued jobs, and the jobs they queue, until none is due, as one worker would (in
    this process). A worker that does not wait stops when it finds the queue empty, so it is
    started again while jobs it ran have queued more."""
    while await runnable(app):
        await app.run_worker_async(
            queues=list(QUEUES),
            wait=False,
            concurrency=4,
            install_signal_handlers=False,
            listen_notify=False,
            additional_context={RUNTIME: Runtime(bot, 30)},
        )


async def runnable(app: App) -> bool:
    now = datetime.now(UTC)
    jobs = await app.job_manager.list_jobs_async(status="todo")
    return any(job.scheduled_at is None or job.scheduled_at <= now for job in jobs)


async def queued(app: App, task: str) -> list[str]:
    return sorted(
        job.queueing_lock or "" for job in await app.job_manager.list_jobs_async(task=task, status="todo")
    )


def three_stories(tmp_path: Path, origin: Origin) -> Config:
    data = {
        "storybot": {"database": str(tmp_path / "storybot.db"), **LOCAL_SOURCES},
        "stories": [{"id": name, "url": origin.url(f"/{name}"), "interval": 600} for name in ("a", "b", "c")],
        "routes": [{"stories": ["*"], "channels": ["rec:news"]}],
    }
    return parse_config(data, "test", tmp_path)


async def test_the_tick_queues_one_poll_per_due_story_and_nothing_twice(
    tmp_path: Path, origin: Origin, postgres_url: str
) -> None:
    config = three_stories(tmp_path, origin)
    async with opened_queue(postgres_url) as app, await StoryBot.create(config) as bot:
        now = datetime.now(UTC)
        await bot.store.record_checked("b", now - timedelta(seconds=60))  # b is not due for 9 minutes

        assert await defer_due_polls(app, bot, now) == ["a", "c"]
        assert await queued(app, POLL) == ["poll:a", "poll:c"]
        assert await defer_due_polls(app, bot, now) == []  # queued already: the queueing lock holds
        assert await queued(app, POLL) == ["poll:a", "poll:c"]

        assert await defer_due_polls(app, bot, now + timedelta(minutes=10)) == ["b"]
        assert await queued(app, POLL) == ["poll:a", "poll:b", "poll:c"]


async def test_a_poll_job_runs_the_pipeline_and_queues_the_delivery(
    tmp_path: Path, origin: Origin, postgres_url: str
) -> None:
    config = kherson_config(tmp_path, ["rec:news"], stories=[{"id": "kherson", "url": origin.url("/k")}])
    origin.set("/k", Response(body=NOV9.read_text(encoding="utf-8"), content_type="text/plain"))
    sender = RecordingSender()
    async with opened_queue(postgres_url) as app, await StoryBot.create(config) as bot:
        await bot.attach([sender])
        assert await defer_poll(app, "kherson")
        await run_jobs(app, bot)
        assert len(await bot.store.events("kherson")) == 0  # the baseline: nothing to tell

        origin.set("/k", Response(body=NOV11.read_text(encoding="utf-8"), content_type="text/plain"))
        assert await defer_poll(app, "kherson")
        await run_jobs(app, bot)  # the poll, then the delivery job it queued
    assert len(origin.requests_for("/k")) == 2
    assert [channel for channel, _, _ in sender.posted] == ["news"]
    assert sender.posted[0][1].kind is AlertKind.NEW_UPDATE


async def test_a_failed_poll_queues_the_next_after_its_backoff(
    tmp_path: Path, origin: Origin, postgres_url: str
) -> None:
    config = kherson_config(
        tmp_path, [], stories=[{"id": "kherson", "url": origin.url("/k"), "interval": 60}]
    )
    origin.set("/k", Response(status=404))
    async with opened_queue(postgres_url) as app, await StoryBot.create(config) as bot:
        await defer_poll(app, "kherson")
        await run_jobs(app, bot)  # fails; the next poll waits in the queue, 60 s out
        (job,) = await app.job_manager.list_jobs_async(task=POLL, status="todo")
        assert job.task_kwargs == {"story_id": "kherson", "failures": 1}
        assert job.scheduled_at is not None and job.scheduled_at > datetime.now(UTC) + timedelta(seconds=50)
        # the tick cannot undercut the backoff: the story's poll is already queued
        assert await defer_due_polls(app, bot, datetime.now(UTC) + timedelta(seconds=61)) == []


async def test_a_worker_pauses_a_failing_story_tells_the_admins_once_and_polls_it_no_more(
    tmp_path: Path, origin: Origin, postgres_url: str
) -> None:
    """The count comes from the store, so the pause_after-th failure pauses the story whatever
    job (or worker) ran the ones before; the notice is a delivery job like an alert's."""
    config = kherson_config(
        tmp_path,
        [],
        stories=[{"id": "kherson", "url": origin.url("/k"), "interval": 60}],
        storybot={
            "database": str(tmp_path / "s.db"),
            "pause_after": 2,
            "admin_channels": ["rec:admins"],
            **LOCAL_SOURCES,
        },
    )
    origin.set("/k", Response(status=404))  # not retried within the fetch: one poll, one request
    sender = RecordingSender()
    async with opened_queue(postgres_url) as app, await StoryBot.create(config) as bot:
        await bot.attach([sender])
        await bot.store.record_failure("kherson", datetime.now(UTC), "HTTP 500", 500)  # an earlier worker's
        await defer_poll(app, "kherson")
        await run_jobs(app, bot)  # the 2nd failure in a row: paused, the notice sent, no poll queued
        assert await queued(app, POLL) == []
        assert (
            await defer_due_polls(app, bot, datetime.now(UTC) + timedelta(hours=1)) == []
        )  # not due: paused
    assert [(channel, type(post).__name__) for channel, post, _ in sender.posted] == [("admins", "Notice")]
    assert len(origin.requests_for("/k")) == 1


async def test_the_delivery_job_keeps_each_channels_order_across_a_retry(
    tmp_path: Path, postgres_url: str
) -> None:
    channels = ["rec:a", "rec:b"]
    config = kherson_config(tmp_path, channels)
    sender = RecordingSender()
    sender.failures["a"] = [DeliveryError("busy", retry_after=0)]  # a's first send fails once
    async with opened_queue(postgres_url) as app, await StoryBot.create(config) as bot:
        await bot.attach([sender])
        # the retry goes back to the queue, as a Retry-After longer than a pass waits out does
        bot.dispatcher.max_inline_wait = -1
        await poll_file(config, bot.store, NOV9)
        last = await bot.store.last_version("kherson")
        assert last is not None
        base = datetime(2022, 11, 11, 7, tzinfo=UTC)
        events = [  # recorded out of publisher order: alerts go out in publisher order
            EventRecord(
                AlertKind.NEW_UPDATE,
                f"update {hour}",
                "s",
                published_at=base.replace(hour=hour),
                channels=tuple(channels),
            )
            for hour in (9, 7, 8)
        ]
        await bot.store.record_version(
            "kherson", last.id, datetime.now(UTC), FetchMeta(), last.story, [], events
        )

        assert await defer_due_deliveries(app, bot.store, ["rec"], datetime.now(UTC)) == channels
        assert (
            await defer_due_deliveries(app, bot.store, ["rec"], datetime.now(UTC)) == []
        )  # one waits per channel
        await run_jobs(app, bot)
        assert [a.headline for c, a, _ in sender.posted if c == "a"] == []  # waits on its first alert
        # the retry falls due: the next tick queues the channel again
        assert await defer_due_deliveries(app, bot.store, ["rec"], datetime.now(UTC)) == ["rec:a"]
        await run_jobs(app, bot)
    for channel in ("a", "b"):
        assert [a.headline for c, a, _ in sender.posted if c == channel] == [
            "update 7",
            "update 8",
            "update 9",
        ]


async def test_an_unreachable_queue_database_is_a_clear_error_at_once() -> None:
    url = "postgresql://storybot:secret@127.0.0.1:9/storybot"  # port 9: nothing listens
    started = datetime.now(UTC)
    try:
        await ensure_schema(url)
    except QueueUnreachable as err:
        message = str(err)
    else:
        raise AssertionError("an unreachable database was accepted")
    assert (datetime.now(UTC) - started).total_seconds() < 10
    assert message.startswith(
        "cannot reach the queue database postgresql://storybot:***@127.0.0.1:9/storybot"
    )
    assert "secret" not in message


async def test_the_schema_is_applied_once(postgres_url: str) -> None:
    assert await ensure_schema(postgres_url) is True
    assert await ensure_schema(postgres_url) is False
    async with opened_queue(postgres_url) as app:
        assert await app.check_connection_async()
        assert DELIVER in app.tasks


async def test_a_feed_job_holds_its_items_polls_them_silently_and_queues_its_next_read(
    tmp_path: Path, origin: Origin, postgres_url: str
) -> None:
    published = format_datetime(datetime.now(UTC) - timedelta(hours=2))
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>K</title>'
        f"<item><title>Kherson</title><link>{origin.url('/k')}</link><pubDate>{published}</pubDate></item>"
        "</channel></rss>"
    )
    origin.set("/feed.xml", Response(body=feed, content_type="application/rss+xml"))
    origin.set("/k", Response(body=NOV9.read_text(encoding="utf-8"), content_type="text/plain"))
    config = parse_config(
        {
            "storybot": {"database": str(tmp_path / "storybot.db"), **LOCAL_SOURCES},
            "feeds": [{"id": "war", "url": origin.url("/feed.xml"), "interval": 900}],
            "routes": [{"feeds": ["war"], "channels": ["rec:news"]}],
        },
        "test",
        tmp_path,
    )
    sender = RecordingSender()
    async with opened_queue(postgres_url) as app, await StoryBot.create(config) as bot:
        await bot.attach([sender])
        assert await defer_feeds(app, bot) == ["war"]  # what the tick does
        assert await defer_feeds(app, bot) == [] and not await defer_feed(app, "war")  # one waits
        await run_jobs(app, bot)  # the feed read, then the item's baseline poll
        (story,) = bot.config.stories
        assert story.origin == "feed:war" and await bot.store.last_version(story.id) is not None
        (next_read,) = await app.job_manager.list_jobs_async(task=FEED, status="todo")
        assert next_read.scheduled_at is not None
        wait = (next_read.scheduled_at - datetime.now(UTC)).total_seconds()
        assert 890 < wait <= 900  # the feed's interval on
        assert await defer_feeds(app, bot) == []  # the tick leaves the waiting read alone

        origin.set("/k", Response(body=NOV11.read_text(encoding="utf-8"), content_type="text/plain"))
        assert await defer_poll(app, story.id)
        await run_jobs(app, bot)
    assert [channel for channel, _, _ in sender.posted] == ["news"]  # the update only, once


async def test_the_tick_queues_no_second_read_or_poll_while_one_runs(
    tmp_path: Path, origin: Origin, postgres_url: str
) -> None:
    # a queueing lock covers a waiting job only: while a feed read (or poll) runs, the tick
    # must not queue another, which would run straight after it and undercut the next read
    # (or backoff) the running job queues itself
    config = parse_config(
        {
            "storybot": {"database": str(tmp_path / "storybot.db"), **LOCAL_SOURCES},
            "stories": [{"id": "a", "url": origin.url("/a"), "interval": 600}],
            "feeds": [{"id": "war", "url": origin.url("/feed.xml"), "interval": 900}],
            "routes": [{"stories": ["*"], "channels": ["rec:news"]}],
        },
        "test",
        tmp_path,
    )
    async with opened_queue(postgres_url) as app, await StoryBot.create(config) as bot:
        now = datetime.now(UTC)
        assert await defer_feeds(app, bot) == ["war"] and await defer_due_polls(app, bot, now) == ["a"]
        worker = await app.job_manager.register_worker()
        taken = [await app.job_manager.fetch_job(None, worker) for _ in range(2)]  # as a worker does
        assert sorted(job.lock or "" for job in taken if job) == ["feed:war", "poll:a"]

        assert await defer_feeds(app, bot) == []  # the read in hand queues the next
        assert await defer_due_polls(app, bot, now) == []  # a is being polled
        assert await app.job_manager.list_jobs_async(status="todo") == []

        for job in taken:
            assert job is not None
            await app.job_manager.finish_job(job, Status.FAILED, delete_job=False)
        # a read or poll that ended without queueing its next: the tick starts the chain again
        assert await defer_feeds(app, bot) == ["war"] and await defer_due_polls(app, bot, now) == ["a"]


def test_the_queue_database_is_named_without_its_secrets() -> None:
    """The user name stays (which role connects); the password and secret query parameters go,
    as everywhere else storybot shows a URL."""
    shown = display_dsn("postgresql://bot:hunter2@db:5432/q?sslmode=require&password=hunter2")
    assert shown == "postgresql://bot:***@db:5432/q?sslmode=require"
    assert display_dsn("postgresql://bot@db/q") == "postgresql://bot@db/q"
