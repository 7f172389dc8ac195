"""What chat adds on the front reaches the workers: their tick re-reads the store-held stories
and subscriptions, so a story tracked from chat is polled, and its alert delivered, by a worker
(real PostgreSQL store and queue)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from procrastinate import App

from bot.app import StoryBot
from bot.config import Config, parse_config
from bot.jobs.tasks import TICK, defer_poll
from bot.models import AlertKind, Caller, ReplyKind
from bot.storage import open_store
from tests.helpers import LOCAL_SOURCES, NOV9, NOV11
from tests.origin import Origin
from tests.recording import RecordingSender
from tests.test_jobs import opened_queue, run_jobs
from tests.test_manage import page

EDITOR = Caller("rec", "ed", "news")  # a manager, typing in the channel rec:news
OPERATOR = Caller("rec", "boss", "news", operator=True)


@asynccontextmanager
async def front_and_worker(
    config: Config, postgres_url: str, sender: RecordingSender
) -> AsyncIterator[tuple[App, StoryBot, StoryBot]]:
    """A front (chat) and a worker (polls, sends through `sender`) on one PostgreSQL store and queue."""
    async with (
        opened_queue(postgres_url) as app,
        await StoryBot.create(config) as front,
        await StoryBot.create(config, store=await open_store(postgres_url)) as worker,
    ):
        await worker.attach([sender])
        yield app, front, worker


async def test_a_worker_tick_follows_what_chat_added_on_the_front(
    tmp_path: Path, origin: Origin, postgres_url: str
) -> None:
    origin.set("/budget", page(NOV9.read_text(encoding="utf-8")))
    origin.set("/k", page(NOV9.read_text(encoding="utf-8")))
    data = {
        "storybot": {"database": postgres_url, **LOCAL_SOURCES, "managers": ["rec:ed"]},
        "stories": [{"id": "budget", "url": origin.url("/budget"), "interval": 600}],
    }
    sender = RecordingSender()
    async with front_and_worker(parse_config(data, "test", tmp_path), postgres_url, sender) as (
        app,
        front,
        worker,
    ):
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


async def test_a_mute_on_the_front_holds_at_once_for_a_worker_a_tick_behind(
    tmp_path: Path, origin: Origin, postgres_url: str
) -> None:
    """A worker re-reads what chat holds on its tick; a poll it runs before then routes by a
    config in which the channel has not muted the story. The store's mutes decide, so the
    muted channel gets nothing all the same."""
    origin.set("/k", page(NOV9.read_text(encoding="utf-8")))
    data = {
        "storybot": {"database": postgres_url, **LOCAL_SOURCES},
        "stories": [{"id": "kherson", "url": origin.url("/k"), "interval": 600}],
        "routes": [{"stories": ["kherson"], "channels": ["rec:news", "rec:desk"]}],
        "platforms": {},
    }
    sender = RecordingSender()
    async with front_and_worker(parse_config(data, "test", tmp_path), postgres_url, sender) as (
        app,
        front,
        worker,
    ):
        assert await defer_poll(app, "kherson")
        await run_jobs(app, worker)  # the baseline
        muted = await front.commands.handle("mute kherson for 2h", OPERATOR)
        assert muted.kind is ReplyKind.ADMIN, muted.text
        assert worker.config.mutes == ()  # the worker has not looked yet
        origin.set("/k", page(NOV11.read_text(encoding="utf-8")))
        assert await defer_poll(app, "kherson")
        await run_jobs(app, worker)
    assert [channel for channel, _, _ in sender.posted] == ["desk"]


async def test_an_unsubscribe_on_the_front_holds_for_the_next_poll_a_worker_runs(
    tmp_path: Path, origin: Origin, postgres_url: str
) -> None:
    """A poll job re-reads what chat holds when the store's held revision moved, so a worker
    that ticked before an unsubscribe does not alert the channel on its next poll."""
    origin.set("/k", page(NOV9.read_text(encoding="utf-8")))
    data = {
        "storybot": {"database": postgres_url, **LOCAL_SOURCES, "managers": ["rec:ed"]},
        "stories": [{"id": "kherson", "url": origin.url("/k"), "interval": 600}],
        "routes": [{"stories": ["kherson"], "channels": ["rec:desk"]}],
    }
    sender = RecordingSender()
    async with front_and_worker(parse_config(data, "test", tmp_path), postgres_url, sender) as (
        app,
        front,
        worker,
    ):
        assert (await front.commands.handle("subscribe kherson", EDITOR)).kind is ReplyKind.ADMIN
        tick = app.configure_task(TICK)
        await tick.defer_async(timestamp=int(datetime.now(UTC).timestamp()))
        await run_jobs(app, worker)  # the tick reads the subscription, then the baseline poll
        story = worker.config.story("kherson")
        assert story is not None and worker.config.standing_channels(story) == ("rec:desk", "rec:news")

        gone = await front.commands.handle("unsubscribe kherson", EDITOR)
        assert gone.kind is ReplyKind.ADMIN, gone.text
        origin.set("/k", page(NOV11.read_text(encoding="utf-8")))
        assert await defer_poll(app, "kherson")  # no tick in between
        await run_jobs(app, worker)
    assert [channel for channel, _, _ in sender.posted] == ["desk"]
