"""The scheduler keeps one job per story in step with the config."""

from __future__ import annotations

from pathlib import Path

from bot.config import parse_config
from bot.scheduler import PollScheduler


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
