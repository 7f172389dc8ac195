"""A polling load for benchmark 4: the bot's own polls running in the same process (and on the
same store) while /story commands are answered, as in `storybot run`.

Stories are polled in turn at a fixed rate through the real `bot.pipeline.poll_story`, a
real `Fetcher` and the loopback origin (bench.origin, its own process); every tenth story has
gained an update, so one poll in ten is a 200 that is read, diffed and stored, the rest 304s.
A poll that sees a title tells `Commands.note_title`, as `StoryBot.poll` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.request
from collections import Counter
from typing import Any

from bot.commands import Commands
from bot.config import Config
from bot.fetch import Fetcher, make_client
from bot.pipeline import poll_story
from bot.storage import Store


def bump(url: str) -> None:
    """Every tenth story (0, 10, 20, ...) gains an update at the origin."""
    request = urllib.request.Request(f"{url}/_bump?every=10&offset=0", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


async def poll_at(
    rate: float,
    ready: asyncio.Event,
    stop: asyncio.Event,
    *,
    store: Store,
    config: Config,
    commands: Commands,
) -> Counter[str]:
    """Poll config's stories in turn, `rate` a second, until `stop`; the outcomes by status.
    The first two (a changed story and a 304) are polled alone, untimed, before `ready` is
    set: what a long-running bot did long ago (imports, the first connection)."""
    client = make_client(
        timeout=config.storybot.timeout, user_agent=config.storybot.user_agent, policy=config.address_policy
    )
    fetcher = Fetcher(client, base_dir=config.base_dir, per_host=config.storybot.per_host)
    statuses: Counter[str] = Counter()
    tasks: set[asyncio.Task[Any]] = set()

    async def one(story: Any) -> None:
        outcome = await poll_story(story, config=config, fetcher=fetcher, store=store)
        statuses[outcome.status.value] += 1
        if outcome.story is not None:
            commands.note_title(story.id, outcome.story.title)

    try:
        for story in config.stories[:2]:
            await one(story)
        ready.set()
        began = time.perf_counter()
        for n, story in enumerate(config.stories[2:]):
            delay = began + n / rate - time.perf_counter()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                break
            task = asyncio.create_task(one(story))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
    finally:
        await client.aclose()
    return statuses
