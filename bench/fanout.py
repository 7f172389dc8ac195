"""Benchmark 5: fan-out. Alerts routed to many channels, delivered by the real Dispatcher
through the real adapters into fake Slack and fake Discord servers that rate-limit as the
real ones do.

- Discord: one update to N channels; 50 requests a second per bot, global (FakeDiscord's
  `global_limit`), so the bound is N / 50 seconds.
- Slack: K updates of one story, each routed to M channels (K x M messages), into the fake
  Slack enforcing chat.postMessage's limit: about 1 message a second per channel, a short burst
  allowed (the fake's `post_rate` and `post_burst`; Slack does not publish its burst size, the
  benchmark uses BURST), 429 + Retry-After beyond. Channels do not share a limit, so the least
  time the limit allows is one channel's: its last message cannot be accepted before
  (K - burst) / rate seconds after its first, plus that send's own time (one send alone,
  measured in the same run). Every channel must hold its K messages, once each, in order, and
  the 429s count how often a send came before Retry-After allowed.

Delivered means the fake holds the message: none dropped, none duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import sys
import tempfile
import time
import urllib.request
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


SLACK_RATE = 1.0  # chat.postMessage: about one message a second per channel
BURST = 3  # a short burst: Slack's is unpublished, this is the fake's setting for the run


def run(quick: bool) -> list[Figure]:
    if quick:
        return asyncio.run(measure(100, slack_channels=16, alerts=4))
    return asyncio.run(measure(1_000, slack_channels=50, alerts=10))


async def measure(channels: int, *, slack_channels: int, alerts: int) -> list[Figure]:
    return [*(await slack_fanout(slack_channels, alerts)), *(await discord_fanout(channels))]


async def slack_fanout(channels: int, alerts: int = 2, *, burst: int = BURST) -> list[Figure]:
    """`alerts` updates of one story to each of `channels` Slack channels, under the limit."""
    from adapters.slack.app import SlackAdapter
    from adapters.slack.settings import SlackSecrets, SlackSettings

    ids = [f"C{n:06d}" for n in range(channels)]
    server = spawn("bench.fanout", "--rate", str(SLACK_RATE), "--burst", str(burst))  # its CPU is not ours
    try:
        fake = await asyncio.to_thread(read_json_line, server)
        with tempfile.TemporaryDirectory(prefix="storybot-bench-") as tmp:
            store, config = await kherson_store(Path(tmp), [f"slack:{c}" for c in ids])
            await _more_updates(store, config, alerts - 1)
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
                order = {d.id: d.channel for d in await store.deliveries()}
            finally:
                await adapter.close()
                await store.close()
        held = await asyncio.to_thread(_slack_messages, fake["base_url"])
    finally:
        await asyncio.to_thread(stop, server)
    counts = [len(held["posts"].get(c, [])) for c in ids]
    out_of_order = sum(1 for c in ids if held["posts"].get(c, []) != sorted(held["posts"].get(c, [])))
    least = max(0, alerts - burst) / SLACK_RATE
    bound = least + single
    note = (
        f"bound: ({alerts} - burst {burst}) / {SLACK_RATE:g} a s + one send alone ({single * 1000:.1f} ms); "
        f"{held['limited']} 429s, {out_of_order} channels out of order"
    )
    figure = _figure(f"Slack, {alerts} alerts x {channels:,} channels", seconds, bound, counts, note, alerts)
    if out_of_order or len(order) != alerts * channels:
        figure = replace(figure, note="WRONG: " + figure.note, target=Target(0))
    return [figure]


async def _more_updates(store: Store, config: Any, count: int) -> None:
    """`count` more updates of the story, each its own poll, newest on top: an alert per channel."""
    from tests.helpers import NOV11, poll_file

    head, marker, rest = NOV11.read_text(encoding="utf-8").partition("UPDATE Nov 11, 2022 7:36 AM CST")
    added = ""
    for n in range(count):
        stamp = f"Nov 12, 2022 {1 + n // 50}:{n % 50 + 1:02d} PM CST"
        block = (
            f"UPDATE {stamp}\n\nOfficials said convoy {n} crossed the river before dawn, and that "
            f"{n + 2} more were expected to follow it before the end of the day.\n\n"
        )
        added = block + added
        outcome = await poll_file(config, store, head + added + marker + rest)
        assert len(outcome.event_ids) == 1, (n, outcome)


def _slack_messages(base_url: str) -> dict[str, Any]:
    """Each channel's posts as the fake holds them (their delivery ids, in the order kept),
    and how many posts its limit refused."""
    with urllib.request.urlopen(f"{base_url}/_fake/messages", timeout=30) as response:
        dump = json.loads(response.read())
    posts: dict[str, list[int]] = {}
    for message in dump["messages"]:
        metadata = message.get("metadata") or {}
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        key = str((metadata.get("event_payload") or {}).get("delivery", "sb0-"))
        posts.setdefault(message["channel"], []).append(int(key[2:].partition("-")[0]))
    return {"posts": posts, "limited": int(dump["limited"])}


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
            if not any(d.status in ("pending", "claimed") for d in rows):  # claimed: a send under way
                break
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await dispatcher.drain()
    sent = [d.sent_at for d in rows if d.sent_at]
    return (max(t for t in sent if t) - started).total_seconds() if sent else math.nan


async def serve_slack(rate: float, burst: int) -> None:
    """`python -m bench.fanout --rate R --burst B`: the fake Slack with chat.postMessage's
    per-channel limit (`--rate 0`: none), until stdin closes."""
    async with FakeSlack(post_rate=rate or None, post_burst=burst) as fake:  # rate 0: no limit
        facts = {"api_url": fake.api_url, "base_url": fake.base_url, "bot_token": fake.bot_token}
        print(json.dumps(facts), flush=True)
        await asyncio.to_thread(sys.stdin.read)


def _figure(name: str, seconds: float, bound: float, counts: list[int], note: str, each: int = 1) -> Figure:
    """`counts`: messages each channel holds, `each` of them expected."""
    dropped = sum(max(0, each - c) for c in counts)
    duplicated = sum(max(0, c - each) for c in counts)
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
    cli = argparse.ArgumentParser(prog="python -m bench.fanout", description="the rate-limited fake Slack")
    cli.add_argument("--rate", type=float, default=SLACK_RATE)
    cli.add_argument("--burst", type=int, default=BURST)
    options = cli.parse_args()
    asyncio.run(serve_slack(options.rate, options.burst))
