"""The scheduler keeps one job per story in step with the config."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from bot.app import StoryBot
from bot.config import parse_config
from bot.scheduler import PollScheduler
from tests.helpers import LOCAL_SOURCES, NOV9
from tests.origin import Origin, Response


def config_with(tmp_path: Path, stories: dict[str, float]):  # type: ignore[no-untyped-def]
    return parse_config(
        {"stories": [{"id": k, "path": f"{k}.txt", "interval": v} for k, v in stories.items()]}, "t", tmp_path
    )


async def test_apply_adds_removes_and_reschedules(tmp_path: Path) -> None:
    calls: list[str] = []

    async def poll(story_id: str) -> None:
        calls.append(story_id)

    scheduler = PollScheduler(poll)
    scheduler.start()
    try:
        scheduler.apply(config_with(tmp_path, {"a": 60, "b": 120}))
        assert scheduler.jobs() == {"a": 60, "b": 120}
        job = scheduler.scheduler.get_job("poll:a")
        assert job.max_instances == 1 and job.coalesce is True
        assert job.trigger.jitter is not None
        scheduler.apply(config_with(tmp_path, {"a": 30, "c": 300}))
        assert scheduler.jobs() == {"a": 30, "c": 300}
    finally:
        scheduler.shutdown()


async def _next_poll_in(bot: StoryBot, story_id: str) -> float:
    """Poll once as the job does; seconds until the job's next run."""
    before = datetime.now(UTC)
    await bot.scheduler.run_poll(story_id)
    job = bot.scheduler.scheduler.get_job("poll:" + story_id)
    return round((job.next_run_time - before).total_seconds())


def failing_story(tmp_path: Path, origin: Origin):  # type: ignore[no-untyped-def]
    """Story "s", polled every 60 s from an origin answering 500."""
    origin.set("/story", Response(status=500, body="down"))
    return parse_config(
        {
            "storybot": {"database": str(tmp_path / "s.db"), "fetch_deadline": 1, **LOCAL_SOURCES},
            "stories": [{"id": "s", "url": origin.url("/story"), "interval": 60}],
        },
        "t",
        tmp_path,
    )


async def test_failures_back_off_exponentially_until_a_success(tmp_path: Path, origin: Origin) -> None:
    config = failing_story(tmp_path, origin)
    async with await StoryBot.create(config) as bot:
        bot.scheduler.apply(config)  # jobs wait, unstarted: the test runs them
        delays = [await _next_poll_in(bot, "s") for _ in range(8)]
        origin.set("/story", Response(body=NOV9.read_bytes(), content_type="text/plain"))
        await bot.scheduler.run_poll("s")
        assert await bot.store.story_health() == []  # a success resets the count

    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600]  # doubling, capped at an hour


async def test_the_failure_count_survives_a_restart(tmp_path: Path, origin: Origin) -> None:
    """The count lives in the store: a restarted bot (or another worker) goes on doubling."""
    config = failing_story(tmp_path, origin)
    async with await StoryBot.create(config) as bot:
        bot.scheduler.apply(config)
        before = [await _next_poll_in(bot, "s") for _ in range(3)]
    async with await StoryBot.create(config) as bot:
        bot.scheduler.apply(config)
        after = await _next_poll_in(bot, "s")
        (health,) = await bot.store.story_health()
    assert before == [60, 120, 240] and after == 480
    assert health.failures == 4 and "HTTP 500" in (health.last_error or "") and health.worked_at is None


async def test_a_long_retry_after_reschedules_the_story_instead_of_holding_a_slot(
    tmp_path: Path, origin: Origin
) -> None:
    origin.set("/story", Response(status=429, body="slow down", headers={"Retry-After": "3600"}))
    config = parse_config(
        {
            "storybot": {"database": str(tmp_path / "s.db"), **LOCAL_SOURCES},
            "stories": [{"id": "s", "url": origin.url("/story"), "interval": 60}],
        },
        "t",
        tmp_path,
    )
    async with await StoryBot.create(config) as bot:
        bot.scheduler.apply(config)
        started = time.monotonic()
        delay = await _next_poll_in(bot, "s")
        held = time.monotonic() - started

    assert delay == 3600 and held < 2 and len(origin.requests) == 1


async def test_a_graceful_stop_lets_polls_under_way_finish_and_starts_none(tmp_path: Path) -> None:
    import asyncio

    started: list[str] = []
    finished: list[str] = []
    gate = asyncio.Event()

    async def poll(story_id: str) -> None:
        started.append(story_id)
        await gate.wait()
        finished.append(story_id)

    scheduler = PollScheduler(poll)
    scheduler.start()
    scheduler.apply(config_with(tmp_path, {"a": 60}))
    async with asyncio.timeout(10):
        while not started:
            await asyncio.sleep(0.01)
    stopping = asyncio.create_task(scheduler.stop(grace=10))
    await asyncio.sleep(0.1)
    assert not stopping.done()  # waiting for the poll, not cancelling it
    gate.set()
    await stopping
    assert finished == ["a"] and not scheduler.scheduler.running


async def test_a_stop_cancels_a_poll_that_outlasts_the_grace(tmp_path: Path) -> None:
    import asyncio

    cancelled: list[str] = []

    async def poll(story_id: str) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(story_id)
            raise

    scheduler = PollScheduler(poll)
    scheduler.start()
    scheduler.apply(config_with(tmp_path, {"a": 60}))
    async with asyncio.timeout(10):
        while not scheduler._running:
            await asyncio.sleep(0.01)
        await scheduler.stop(grace=0.2)
        while not cancelled:
            await asyncio.sleep(0.01)
    assert cancelled == ["a"]
