"""Benchmark 6: alert latency. From the origin changing a story to the alert arriving at the
platform, through the real app: `bot.app.StoryBot.run()` with its scheduler (one story,
5-second interval, no jitter), the real Dispatcher and the real Slack adapter posting to the
fake Slack. The change lands at a random moment of the poll cycle, so a sample's latency is
the wait for the next poll plus the work; the worst case is one interval plus the work.
The same over thousands of stories, most answering 304: bench/alert_scale.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import tempfile
import time
from pathlib import Path

from bench.measure import Figure, Target, median
from bench.stories import sections, story_title, text_story
from bot.app import StoryBot
from bot.config import parse_config
from tests.fakes.slack import FakeSlack
from tests.origin import Origin, Response

BENCH = "6 alert latency"
INTERVAL = 5.0


def run(quick: bool) -> list[Figure]:
    from bench import alert_scale

    return asyncio.run(measure(1 if quick else 8)) + alert_scale.run(quick)


def page(updates: int) -> Response:
    """The story with `updates` updates above its original, as plain text."""
    return Response(body=text_story(story_title(3), sections(updates + 1, 3)), content_type="text/plain")


async def measure(samples: int, *, interval: float = INTERVAL, seed: int = 11) -> list[Figure]:
    from adapters.slack.app import SlackAdapter
    from adapters.slack.settings import SlackSecrets, SlackSettings

    rng = random.Random(seed)
    latencies: list[float] = []
    arrived: list[float] = []
    async with Origin() as origin, FakeSlack() as fake:
        fake.on_record = lambda kind, item: arrived.append(time.perf_counter()) if kind == "message" else None
        origin.set("/story", page(1))
        with tempfile.TemporaryDirectory(prefix="storybot-bench-") as tmp:
            config = parse_config(
                {
                    "storybot": {
                        "database": str(Path(tmp) / "bench.db"),
                        "interval": interval,
                        "jitter": 0,
                        "allow_hosts": ["127.0.0.1"],  # the bench origin is on loopback
                    },
                    "stories": [{"id": "story", "url": origin.url("/story")}],
                    "routes": [{"stories": ["story"], "channels": ["slack:C1"]}],
                },
                "bench",
            )
            settings = SlackSettings(mode="http", port=0, api_url=fake.api_url)
            async with await StoryBot.create(config) as bot:
                adapter = SlackAdapter(bot.commands, settings, SlackSecrets(bot_token=fake.bot_token))
                await bot.attach([adapter])
                stop = asyncio.Event()
                running = asyncio.create_task(bot.run(stop))
                try:
                    while await bot.store.last_version("story") is None:  # the baseline poll
                        await asyncio.sleep(0.05)
                    for n in range(samples):
                        await asyncio.sleep(rng.uniform(0, interval))  # a random phase of the cycle
                        origin.set("/story", page(n + 2))
                        changed = time.perf_counter()
                        while len(arrived) < n + 1 and time.perf_counter() - changed < 3 * interval + 10:
                            await asyncio.sleep(0.005)
                        latencies.append(arrived[n] - changed if len(arrived) > n else float("nan"))
                finally:
                    stop.set()
                    with contextlib.suppress(asyncio.CancelledError):
                        await running
        messages = len(fake.all_messages())
    worst = max(latencies)
    note = f"{samples} sample(s), p50 {median(latencies):.2f} s; {messages} alert(s) for {samples} update(s)"
    if messages != samples:
        note = "WRONG: " + note
    return [
        Figure(
            BENCH,
            f"change -> alert, worst of {samples}, {interval:g} s interval",
            worst,
            "s",
            target=Target(interval + 1),
            ratio=worst / interval,
            baseline="poll interval",
            note=note,
        )
    ]
