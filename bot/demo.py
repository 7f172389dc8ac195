"""`storybot demo`: the seed story's life replayed from a local origin, end to end.

A loopback HTTP server serves the Kherson snapshots in time order with ETags; the real
pipeline polls it (baseline, a 304, the update), delivers to the given platforms, and the
caller then asks `/story kherson`. No network, no tokens, a throwaway database.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from bot.app import StoryBot
from bot.config import parse_config
from bot.pipeline import PollOutcome, PollStatus
from bot.ports import Platform

SEEDS = Path(__file__).resolve().parent / "data" / "seeds"  # package data: works from a wheel too


class DemoFailed(Exception):
    """The demo could not show what it is for: no seed snapshots, or no alert came out."""


class SnapshotOrigin:
    """Serves one page whose body the demo switches; answers If-None-Match with 304."""

    def __init__(self) -> None:
        self.body = b""
        self.requests: list[int] = []

    def serve(self, body: bytes) -> None:
        self.body = body

    async def _page(self, request: web.Request) -> web.Response:
        etag = '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'
        status = 304 if request.headers.get("If-None-Match") == etag else 200
        self.requests.append(status)
        body = None if status == 304 else self.body
        return web.Response(
            status=status, body=body, headers={"ETag": etag, "Content-Type": "text/plain; charset=utf-8"}
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        app = web.Application()
        app.router.add_get("/{name}", self._page)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            yield f"http://127.0.0.1:{port}/kherson"
        finally:
            await runner.cleanup()


async def run_demo(
    workdir: Path,
    make_platforms: Callable[[StoryBot], Sequence[Platform]],
    say: Callable[[str], None],
    snapshots: Sequence[Path] | None = None,
) -> StoryBot:
    """Replay the snapshots through the pipeline; returns the (closed) bot for inspection.
    DemoFailed when there is nothing to replay or nothing was alerted: an empty demo is a
    broken install, not a success."""
    pages = sorted(snapshots or (SEEDS / "kherson").glob("*.txt"))
    if len(pages) < 2:
        raise DemoFailed(f"the seed story is missing: {len(pages)} snapshot(s) in {SEEDS / 'kherson'}")
    sent = 0
    origin = SnapshotOrigin()
    async with origin.running() as url:
        config = parse_config(
            {
                # the demo's origin is on loopback, which storybot refuses unless allowed
                "storybot": {"database": str(workdir / "demo.db"), "jitter": 0, "allow_hosts": ["127.0.0.1"]},
                "stories": [{"id": "kherson", "url": url, "aliases": ["ukraine", "russia withdrawal"]}],
                "routes": [{"stories": ["kherson"], "channels": ["console:newsroom"]}],
            },
            "demo",
            workdir,
        )
        async with await StoryBot.create(config) as bot:
            await bot.attach(make_platforms(bot))
            for page in pages:
                origin.serve(page.read_bytes())
                say(f"The origin now serves {page.name}; polling.")
                say(_narrate(await bot.poll("kherson")))
                sent += (await bot.deliver()).sent
                say("Polling again: " + _narrate(await bot.poll("kherson")))
    if not sent:
        raise DemoFailed("the seed story's update was not alerted")
    return bot


def _narrate(outcome: PollOutcome | None) -> str:
    if outcome is None:
        return "the story is not tracked"
    return {
        PollStatus.BASELINE: "first sight: stored as the baseline, nothing alerted",
        PollStatus.CHANGED: f"{len(outcome.event_ids)} new event(s): alerting every routed channel",
        PollStatus.UNCHANGED: "a new version with nothing worth telling",
        PollStatus.NOT_MODIFIED: "304 Not Modified: no parse, no diff, nothing posted",
        PollStatus.FAILED: f"the fetch failed ({outcome.error}); nothing changes",
        PollStatus.SUSPECT: f"the page is not the story ({outcome.error}); nothing changes",
        PollStatus.DISCARDED: "another poll stored this change first; nothing more to do",
    }[outcome.status]
