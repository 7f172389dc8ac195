"""What chat adds on the front reaches the workers: their tick re-reads the store-held stories
and subscriptions, so a story tracked from chat is polled, and its alert delivered, by a worker
(real PostgreSQL store and queue)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.app import StoryBot
from bot.config import parse_config
from bot.jobs.tasks import TICK, defer_poll
from bot.models import AlertKind, Caller, ReplyKind
from bot.storage import open_store
from tests.helpers import LOCAL_SOURCES, NOV9, NOV11
from tests.origin import Origin
from tests.recording import RecordingSender
from tests.test_jobs import opened_queue, run_jobs
from tests.test_manage import page

EDITOR = Caller("rec", "ed", "news")  # a manager, typing in the channel rec:news


async def test_a_worker_tick_follows_what_chat_added_on_the_front(
    tmp_path: Path, origin: Origin, postgres_url: str
) -> None:
    origin.set("/budget", page(NOV9.read_text(encoding="utf-8")))
    origin.set("/k", page(NOV9.read_text(encoding="utf-8")))
    data = {
        "storybot": {"database": postgres_url, **LOCAL_SOURCES, "managers": ["rec:ed"]},
        "stories": [{"id": "budget", "url": origin.url("/budget"), "interval": 600}],
    }
    config = parse_config(data, "test", tmp_path)
    sender = RecordingSender()
    async with (
        opened_queue(postgres_url) as app,
        await StoryBot.create(config) as front,
        await StoryBot.create(config, store=await open_store(postgres_url)) as worker,
    ):
        await worker.attach([sender])
        tracked = await front.commands.handle(f"track {origin.url('/k')} as retreat", EDITOR)
        assert tracked.kind is ReplyKind.ADMIN, tracked.text
        assert (await front.commands.handle("subscribe retreat", EDITOR)).kind is ReplyKind.ADMIN
        assert worker.config.story("retreat") is None  # the worker has not looked yet

        tick = app.configure_task(TICK)
        await tick.defer_async(timestamp=int(datetime.now(UTC).timestamp()))
        await run_jobs(app, worker)  # the tick re-reads the store, then polls what is due
        assert worker.config.story("retreat") is not None
        assert len(origin.requests_for("/k")) == 2  # the front's preview, the worker's baseline

        origin.set("/k", page(NOV11.read_text(encoding="utf-8")))
        assert await defer_poll(app, "retreat")
        await run_jobs(app, worker)
    assert [channel for channel, _, _ in sender.posted] == ["news"]
    assert sender.posted[0][1].kind is AlertKind.NEW_UPDATE
