"""The running app: scheduled polls reach channels; config edits apply, bad ones are refused."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from pathlib import Path

import pytest

from bot.app import StoryBot
from bot.config import Config, load_config
from tests.helpers import NOV9, NOV11
from tests.recording import RecordingSender

CONFIG = """
[storybot]
database = "bot.db"
jitter = 0
files_dir = "."

[[stories]]
id = "kherson"
path = "kherson.txt"
interval = 3600

[[routes]]
stories = ["kherson"]
channels = ["rec:A", "rec:B"]
"""


async def eventually(check, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    """Wait for background tasks to reach a state (no fixed sleeps)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def write_config(path: Path, text: str) -> None:
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 10**9, before + 10**9))


def kherson_on_nov9(tmp_path: Path) -> Path:
    """The story file as of Nov 9 and CONFIG beside it; returns the config's path."""
    (tmp_path / "kherson.txt").write_text(NOV9.read_text(encoding="utf-8"), encoding="utf-8")
    config_path = tmp_path / "config.toml"
    write_config(config_path, CONFIG)
    return config_path


async def test_running_bot_baselines_then_alerts_each_channel_once(tmp_path: Path) -> None:
    config_path = kherson_on_nov9(tmp_path)
    sender = RecordingSender()
    stop = asyncio.Event()
    async with await StoryBot.create(load_config(config_path), config_path) as bot:
        await bot.attach([sender])
        runner = asyncio.create_task(bot.run(stop))

        async def baselined() -> bool:
            return await bot.store.last_version("kherson") is not None

        await eventually(baselined)
        (tmp_path / "kherson.txt").write_text(NOV11.read_text(encoding="utf-8"), encoding="utf-8")
        await bot.poll("kherson")

        async def delivered() -> bool:
            return len(sender.posted) == 2

        await eventually(delivered)
        await bot.poll("kherson")
        prune = bot.scheduler.scheduler.get_job("prune")  # history is pruned daily while running
        assert prune is not None and prune.trigger.interval.total_seconds() == 24 * 3600
        stop.set()
        await runner
        assert await bot.prune() == 0  # both versions added sections: nothing to drop
        assert len(await bot.store.events()) == 1 and await bot.store.last_version("kherson") is not None
    assert sorted(sender.channels()) == ["A", "B"] and sender.closed


async def test_config_reload_applies_good_edits_and_refuses_bad_ones(tmp_path: Path) -> None:
    config_path = kherson_on_nov9(tmp_path)
    async with await StoryBot.create(load_config(config_path), config_path) as bot:
        bot.scheduler.start()
        bot.scheduler.apply(bot.config)
        assert await bot.check_config() is False  # unchanged file
        write_config(
            config_path,
            CONFIG + '\n[[stories]]\nid = "budget"\nurl = "http://127.0.0.1:9/b"\ninterval = 60\n',
        )
        assert await bot.check_config() is True
        assert bot.scheduler.jobs() == {"kherson": 3600, "budget": 60}
        assert [b.id for b in await bot.store.stories()] == ["budget", "kherson"]
        write_config(config_path, CONFIG.replace("interval = 3600", "interval = 1"))
        assert await bot.check_config() is False
        assert bot.scheduler.jobs() == {"kherson": 3600, "budget": 60}  # the last good config runs on


async def test_reload_validates_as_check_does_and_logs_each_refusal_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A running bot reloads with `storybot check`'s loader, off the event loop; an empty file or
    a route to an unknown platform keeps the last good config, and is logged once."""
    from bot.__main__ import load_checked

    (tmp_path / "kherson.txt").write_text(NOV9.read_text(encoding="utf-8"), encoding="utf-8")
    config_path = tmp_path / "config.toml"
    checked = CONFIG.replace('["rec:A", "rec:B"]', '["console:main"]')  # platforms check knows
    write_config(config_path, checked)
    threads: list[str] = []

    def load(path: Path) -> Config:
        threads.append(threading.current_thread().name)
        return load_checked(path)

    async with await StoryBot.create(load_config(config_path), config_path, load=load) as bot:
        bot.scheduler.start()
        bot.scheduler.apply(bot.config)
        bad = [
            (checked + "\n[[routes]]\nstories = ['*']\nchannels = ['irc:x']\n", "'irc:x'"),
            ("", "stories: no story to track"),
            ("[storybot]\ninterval = 1\n", "storybot.interval"),
        ]
        for text, problem in bad:
            caplog.clear()
            for _ in range(3):  # saved again and again, the same mistake is logged once
                write_config(config_path, text)
                assert await bot.check_config() is False
            refusals = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
            assert len(refusals) == 1 and problem in refusals[0], text
            assert bot.scheduler.jobs() == {"kherson": 3600} and bot.config.stories[0].id == "kherson"
        write_config(config_path, checked.replace("interval = 3600", "interval = 600"))
        assert await bot.check_config() is True
        assert bot.scheduler.jobs() == {"kherson": 600}
    assert threads and threading.main_thread().name not in threads


async def test_a_route_added_by_a_config_edit_gets_one_catch_up_at_once(tmp_path: Path) -> None:
    config_path = kherson_on_nov9(tmp_path)
    sender, stop = RecordingSender(), asyncio.Event()
    async with await StoryBot.create(load_config(config_path), config_path) as bot:
        await bot.poll("kherson")
        (tmp_path / "kherson.txt").write_text(NOV11.read_text(encoding="utf-8"), encoding="utf-8")
        await bot.poll("kherson")
        await bot.attach([sender])
        runner = asyncio.create_task(bot.run(stop))

        async def live_alerts_sent() -> bool:  # then the dispatcher idles for 30 s
            return len(sender.posted) == 2

        await eventually(live_alerts_sent)
        write_config(config_path, CONFIG.replace('"rec:B"]', '"rec:B", "rec:C"]'))
        assert await bot.check_config() is True

        async def caught_up() -> bool:  # the reload woke the dispatcher
            return "C" in sender.channels()

        await eventually(caught_up)
        stop.set()
        await runner
    async with await StoryBot.create(load_config(config_path), config_path) as bot:  # a restart
        await bot.attach([sender])
        await bot.deliver()
        kinds = [e.kind.value for e in await bot.store.events()]
    assert sorted(sender.channels()) == ["A", "B", "C"]  # C: its catch-up only, once
    ((_, alert, _),) = [p for p in sender.posted if p[0] == "C"]
    assert alert.kind.value == "catch_up" and [e.label for e in alert.timeline] == ["Original", "Update"]
    assert kinds.count("catch_up") == 1


@pytest.mark.parametrize("max_polls", [1, 3])
async def test_polls_in_flight_stay_within_max_polls(tmp_path: Path, max_polls: int) -> None:
    """Every story due at once (start-up): at most `max_polls` are fetched at a time, the rest
    wait their turn and are all polled; the per-host limit (8 here) is not what bounds them."""
    from bot.config import parse_config
    from tests.origin import Origin, Response

    async with Origin() as origin:
        page = Response(body=NOV9.read_text(encoding="utf-8"), content_type="text/plain", delay=0.05)
        origin.set("/s", page)
        stories = [{"id": f"s{n}", "url": origin.url(f"/s?n={n}")} for n in range(8)]
        core = {"database": str(tmp_path / "bot.db"), "per_host": 8, "max_polls": max_polls}
        config = parse_config({"storybot": {**core, "allow_hosts": ["127.0.0.1"]}, "stories": stories}, "t")
        async with await StoryBot.create(config) as bot:
            outcomes = await asyncio.gather(*(bot.poll(s["id"]) for s in stories))
        assert all(o is not None and o.status.value == "baseline" for o in outcomes), outcomes
        assert len(origin.requests_for("/s")) == 8
        assert origin.max_in_flight["/s"] == max_polls
