"""Kill a real bot process at a named point of a send, restart it, and count what arrived.

The fakes run in the test's event loop; the bot runs as `python -m tests.crash.child` with
the real store and adapter. A hold in the fake (tests/fakes/holds.py) stops the bot at the
point, `SIGKILL` ends it there, the holds are let go, and a second process delivers the rest.
`crash_then_restart` does this for a fan-out of one alert; `killed_at` and `deliver_in_child`
are the two halves, for tests that set up other deliveries (corrections, catch-ups, digests)
or change the store while the bot is down.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.storage import open_store
from tests.fakes.discord import GUILD_ID, FakeDiscord
from tests.fakes.holds import Hold, HoldingFake
from tests.fakes.slack import FakeSlack
from tests.helpers import kherson_store

ROOT = Path(__file__).resolve().parents[2]
FANOUT = 20
WAIT = 30.0


Fake = HoldingFake  # either platform's fake, as a crash point holds it


# Where the first process dies, as the hold in the fake that stops it there.
POINTS: dict[str, Callable[[Fake], Hold]] = {
    "before_first_claim": lambda fake: fake.hold_login(),
    "after_claim_before_send": lambda fake: fake.hold_post(1, "received"),
    "after_send_before_record": lambda fake: fake.hold_post(1, "answered"),
    "midway": lambda fake: fake.hold_post(FANOUT // 2, "answered"),
    "after_last_send": lambda fake: fake.hold_post(FANOUT, "answered"),
}


@dataclass
class Seen:
    """A message as the platform holds it: id, everything it shows, what it replies to, edits."""

    id: str
    text: str
    reply_to: str | None
    edits: int


@dataclass
class Rig:
    """One platform's fake, the channels routed to it, and how the child reaches it."""

    platform: str
    fake: Any
    channels: list[str]  # platform channel ids
    table: dict[str, Any]
    env: dict[str, str]

    @property
    def routes(self) -> list[str]:
        return [f"{self.platform}:{c}" for c in self.channels]

    def posts(self, channel: str) -> list[str]:
        """Ids of the messages the platform holds in `channel`."""
        if self.platform == "slack":
            return [m.ts for m in self.fake.messages.get(channel, [])]
        return [str(m["id"]) for m in self.fake.messages.get(int(channel), [])]

    def messages(self, channel: str) -> list[Seen]:
        """What `channel` shows, oldest first (Slack thread replies included)."""
        if self.platform == "slack":
            return [
                Seen(m.ts, json.dumps([m.text, m.blocks]), m.thread_ts, len(m.updates))
                for m in self.fake.messages.get(channel, [])
            ]
        return [
            Seen(
                m["id"],
                json.dumps(m["embeds"]),
                (m.get("message_reference") or {}).get("message_id"),
                sum(1 for e in self.fake.edits if e["message_id"] == m["id"]),
            )
            for m in self.fake.messages.get(int(channel), [])
        ]

    def edit_bodies(self, message_id: str) -> list[str]:
        """What each edit of the message set, in order."""
        if self.platform == "slack":
            return [
                json.dumps([u.get("text"), u.get("blocks")])
                for m in self.fake.all_messages()
                if m.ts == message_id
                for u in m.updates
            ]
        return [json.dumps(e["body"]["embeds"]) for e in self.fake.edits if e["message_id"] == message_id]

    def delete(self, channel: str, message_id: str) -> None:
        if self.platform == "slack":
            self.fake.delete_message(channel, message_id)
        else:
            self.fake.delete_message(int(channel), message_id)


@asynccontextmanager
async def platform_rig(platform: str, count: int = FANOUT) -> AsyncIterator[Rig]:
    """The fake of `platform` running, with `count` channels to route to."""
    if platform == "slack":
        async with FakeSlack() as slack:
            yield slack_rig(slack, count)
    else:
        async with FakeDiscord() as discord:
            yield discord_rig(discord, count)


def slack_rig(fake: FakeSlack, count: int = FANOUT) -> Rig:
    return Rig(
        "slack",
        fake,
        [f"C{n:02d}" for n in range(1, count + 1)],
        {"api_url": fake.api_url, "mode": "http", "port": 0},
        {"SLACK_BOT_TOKEN": fake.bot_token, "SLACK_SIGNING_SECRET": fake.signing_secret},
    )


def discord_rig(fake: FakeDiscord, count: int = FANOUT) -> Rig:
    channels = [1_300_000_000_000_000_100 + n for n in range(1, count + 1)]
    for channel in channels:
        fake.add_channel(channel, GUILD_ID)
    return Rig(
        "discord",
        fake,
        [str(c) for c in channels],
        {**fake.settings, "guild_ready_timeout": 0.05},
        {"DISCORD_TOKEN": fake.token},
    )


@dataclass
class Outcome:
    """What the platform holds per channel after the crash and the restart, and the store's rows."""

    posts: dict[str, list[str]]
    rows: list[dict[str, Any]]
    report: dict[str, int]

    @property
    def lost(self) -> list[str]:
        return [c for c, ids in self.posts.items() if not ids]

    @property
    def duplicated(self) -> list[str]:
        return [c for c, ids in self.posts.items() if len(ids) > 1]


async def crash_then_restart(rig: Rig, tmp_path: Path, point: str, *, concurrency: int = 1) -> Outcome:
    store, config = await kherson_store(tmp_path, rig.routes)
    await store.close()
    spec = child_spec(rig, tmp_path, concurrency=concurrency)
    await killed_at(rig, POINTS[point](rig.fake), spec, tmp_path / "first.log")
    report = await deliver_in_child(spec, tmp_path / "second.log")
    store = await open_store(config.database({}))
    rows = await store.deliveries()
    await store.close()
    return Outcome({c: rig.posts(c) for c in rig.channels}, rows, report)


def child_spec(rig: Rig, tmp_path: Path, *, concurrency: int = 1) -> str:
    """How a child process reaches the store in `tmp_path` and the rig's fake."""
    return json.dumps(
        {
            "dir": str(tmp_path),
            "channels": rig.routes,
            "platform": rig.platform,
            "table": rig.table,
            "env": rig.env,
            "concurrency": concurrency,
        }
    )


async def killed_at(rig: Rig, hold: Hold, spec: str, log: Path) -> None:
    """Start a bot process, SIGKILL it once the fake holds its request at `hold`, then let the
    fake's holds go (a held post or edit then completes, or is dropped, with no one to answer)."""
    child = await _spawn(spec, log)
    try:
        await _until_held(hold, child, log)
    finally:
        if child.returncode is None:
            os.kill(child.pid, signal.SIGKILL)
        await child.wait()
        rig.fake.release_holds()
    assert child.returncode == -signal.SIGKILL


async def deliver_in_child(spec: str, log: Path) -> dict[str, int]:
    """Run one bot process's delivery pass to its end; its report (sent, failed, retrying, found)."""
    child = await _spawn(spec, log)
    try:
        out, _ = await asyncio.wait_for(child.communicate(), WAIT)
    finally:
        if child.returncode is None:  # timed out: never leave it running
            os.kill(child.pid, signal.SIGKILL)
            await child.wait()
    assert child.returncode == 0, log.read_text()[-3000:]
    report: dict[str, int] = json.loads(out.decode().strip().splitlines()[-1])
    return report


async def _spawn(spec: str, log: Path) -> asyncio.subprocess.Process:
    with log.open("wb") as stderr:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.crash.child",
            spec,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )


async def _until_held(hold: Hold, child: asyncio.subprocess.Process, log: Path) -> None:
    """Return once the fake holds the child's request; fail at once if the child ends first."""
    held = asyncio.ensure_future(hold.reached.wait())
    ended = asyncio.ensure_future(child.wait())
    done, _ = await asyncio.wait({held, ended}, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
    held.cancel()
    ended.cancel()
    if held not in done:
        raise AssertionError(f"the child never reached the hold:\n{log.read_text()[-3000:]}")
