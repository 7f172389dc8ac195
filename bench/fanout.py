"""Benchmark 5: fan-out. One update routed to N channels, delivered by the real Dispatcher
through the real adapters into fake Slack and fake Discord servers that rate-limit as the
real ones do.

- Discord: 50 requests a second per bot, global (FakeDiscord's `global_limit`), so the bound
  is N / 50 seconds.
- Slack: about 1 message a second per channel, 429 with Retry-After beyond (the fake below).
  One message per channel never meets that limit, so what bounds the time is the
  Dispatcher's concurrency (StoryBot's default, 8 channels at once) times the time of one
  send: the bound is ceil(N / 8) x the median single send, measured in the same run.

Each platform gets N channels of its own. Delivered means the fake holds the message: every
channel must hold exactly one (none dropped, none duplicated).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.measure import Figure, Target, median, read_json_line, spawn, stop
from bot.commands import Commands
from bot.deliver import Dispatcher
from bot.storage import Store
from tests.fakes.discord import GUILD_ID, FakeDiscord
from tests.fakes.slack import FakeSlack
from tests.helpers import kherson_store

BENCH = "5 fan-out"
CONCURRENCY = 8  # bot.app.StoryBot builds its Dispatcher with the default
DISCORD_GLOBAL = 50
WITHIN = Target(1.10)  # within 10% of the bound
FIRST_DISCORD_CHANNEL = 1_300_000_000_000_100_000


class RateLimitedSlack(FakeSlack):
    """The fake Slack with chat.postMessage's per-channel limit: about one message a second."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.last_post: dict[str, float] = {}
        self.limited = 0

    async def _post_message(self, args: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        channel = str(args.get("channel") or "")
        now = time.monotonic()
        if now - self.last_post.get(channel, -math.inf) < 1.0:
            self.limited += 1
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}
        self.last_post[channel] = now
        return await super()._post_message(args)

    async def _control_messages(self, request: web.Request) -> web.Response:
        """The fake's dump of messages, plus how many posts it refused with a 429."""
        dump = json.loads((await super()._control_messages(request)).text or "{}")
        return web.json_response({**dump, "limited": self.limited})


def run(quick: bool) -> list[Figure]:
    return asyncio.run(measure(100 if quick else 1_000))


async def measure(channels: int) -> list[Figure]:
    return [*(await slack_fanout(channels)), *(await discord_fanout(channels))]


async def slack_fanout(channels: int) -> list[Figure]:
    from adapters.slack.app import SlackAdapter
    from adapters.slack.settings import SlackSecrets, SlackSettings

    ids = [f"C{n:06d}" for n in range(channels)]
    server = spawn("bench.fanout")  # Slack runs elsewhere: its CPU is not ours
    try:
        fake = await asyncio.to_thread(read_json_line, server)
        with tempfile.TemporaryDirectory(prefix="storybot-bench-") as tmp:
            store, config = await kherson_store(Path(tmp), [f"slack:{c}" for c in ids])
            settings = SlackSettings(mode="http", port=0, api_url=fake["api_url"])
            secrets = SlackSecrets(bot_token=fake["bot_token"])
            adapter = SlackAdapter(Commands(store, lambda: config), settings, secrets)
            await adapter.start()
            try:
                alert = await store.alert((await store.events())[0].id)
                singles = []
                for n in range(20):  # the baseline: one send, nothing else going on
                    started = time.perf_counter()
                    await adapter.send_alert(f"CBASE{n}", alert, None)
                    singles.append(time.perf_counter() - started)
                single = median(singles)
                seconds = await _deliver(store, {"slack": adapter})
            finally:
                await adapter.close()
                await store.close()
        held = await asyncio.to_thread(_slack_messages, fake["base_url"])
    finally:
        await asyncio.to_thread(stop, server)
    counts = [held.get(c, 0) for c in ids]
    bound = math.ceil(channels / CONCURRENCY) * single
    return [
        _figure(
            f"Slack, {channels:,} channels",
            seconds,
            bound,
            counts,
            f"bound: ceil(N/{CONCURRENCY}) × {single * 1000:.1f} ms, one send alone (Dispatcher "
            f"concurrency {CONCURRENCY}); {held.get('429s', 0)} 429s",
        )
    ]


def _slack_messages(base_url: str) -> dict[str, int]:
    """Messages per channel as the fake Slack holds them, and its 429 count."""
    with urllib.request.urlopen(f"{base_url}/_fake/messages", timeout=30) as response:
        dump = json.loads(response.read())
    held = Counter(m["channel"] for m in dump["messages"])
    held["429s"] = int(dump["limited"])
    return dict(held)


async def discord_fanout(channels: int, *, settle: float = 1.0) -> list[Figure]:
    import adapters.discord as discord_platform

    ids = [FIRST_DISCORD_CHANNEL + n for n in range(channels)]
    async with FakeDiscord(guilds={GUILD_ID: ids}, global_limit=DISCORD_GLOBAL) as fake:
        with tempfile.TemporaryDirectory(prefix="storybot-bench-") as tmp:
            store, config = await kherson_store(Path(tmp), [f"discord:{c}" for c in ids])
            table = {**fake.settings, "guild_ready_timeout": 0.05}
            adapter = discord_platform.build(
                table, Commands(store, lambda: config), {"DISCORD_TOKEN": fake.token}
            )
            assert adapter is not None
            await adapter.start()
            try:
                await asyncio.sleep(settle)  # login's requests leave the global window first
                seconds = await _deliver(store, {"discord": adapter})
            finally:
                await adapter.close()
                await store.close()
        counts = [len(fake.messages.get(c, [])) for c in ids]
        limited = fake.rate_limited
    bound = math.ceil(channels / DISCORD_GLOBAL) - 1.0  # when the last window of 50 opens
    note = f"bound: ceil(N / {DISCORD_GLOBAL}) - 1 s, a global window of 50 a second; {limited} 429s"
    return [_figure(f"Discord, {channels:,} channels", seconds, bound, counts, note)]


async def _deliver(store: Store, senders: dict[str, Any]) -> float:
    """Run the real Dispatcher until no delivery is pending (or a generous timeout); the
    seconds from its start to the last delivery it recorded as sent."""
    pending = sum(1 for d in await store.deliveries() if d.status == "pending")
    dispatcher = Dispatcher(store, senders, concurrency=CONCURRENCY)
    started = datetime.now(UTC)
    task = asyncio.create_task(dispatcher.run())
    deadline = time.monotonic() + 60 + pending / 10
    try:
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            rows = await store.deliveries()
            if not any(d.status == "pending" for d in rows):
                break
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await dispatcher.drain()
    sent = [d.sent_at for d in rows if d.sent_at]
    return (max(t for t in sent if t) - started).total_seconds() if sent else math.nan


async def serve_slack() -> None:
    """`python -m bench.fanout`: the rate-limited fake Slack, until stdin closes."""
    async with RateLimitedSlack() as fake:
        facts = {"api_url": fake.api_url, "base_url": fake.base_url, "bot_token": fake.bot_token}
        print(json.dumps(facts), flush=True)
        await asyncio.to_thread(sys.stdin.read)


def _figure(name: str, seconds: float, bound: float, counts: list[int], note: str) -> Figure:
    dropped = sum(1 for c in counts if c == 0)
    duplicated = sum(c - 1 for c in counts if c > 1)
    return Figure(
        BENCH,
        f"{name}: all delivered in",
        seconds,
        "s",
        target=Target(0) if dropped or duplicated else None,  # a drop or a duplicate is a miss
        ratio=seconds / bound if bound > 0 else None,
        baseline=f"bound {bound:.2f}s",
        ratio_target=WITHIN,
        note=f"{dropped} dropped, {duplicated} duplicated; {note}",
    )


if __name__ == "__main__":
    asyncio.run(serve_slack())
