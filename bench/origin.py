"""A lean loopback origin for the polling benchmark: N generated story pages with ETags.

Run as its own process (`python -m bench.origin --stories N`) so its CPU is not counted as
the bot's. It prints `{"url": ...}` on stdout once listening and exits when stdin closes.
Story i at version v is an HTML page of 2 + v sections; its ETag is `"i-v"`, and a request
carrying that ETag in If-None-Match gets a 304. `GET /_stats` also counts the TCP connections
opened since the last `/_stats?reset=1` (distinct client address and port: one per accept).
`POST /_bump?every=10&offset=k` moves every story with i % every == k to its next
version (a new update on top), as a newsroom would.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from aiohttp import web

from bench.stories import html_page, sections, story_title


class StoryOrigin:
    """Serves /s/{i}; the page is rebuilt per 200 (cheap), nothing big is kept per story."""

    def __init__(self, stories: int, size: int):
        self.versions = [0] * stories
        self.size = size
        self.served = {200: 0, 304: 0, 404: 0}
        self.peers: set[object] = set()  # (host, port) of each client connection: accepts

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/s/{i}", self.story)
        app.router.add_post("/_bump", self.bump)
        app.router.add_get("/_stats", self.stats)
        return app

    async def story(self, request: web.Request) -> web.Response:
        if request.transport is not None:
            self.peers.add(request.transport.get_extra_info("peername"))
        raw = request.match_info["i"]
        if not raw.isdigit() or int(raw) >= len(self.versions):
            self.served[404] += 1
            return web.Response(status=404)
        i = int(raw)
        version = self.versions[i]
        etag = f'"{i}-{version}"'
        if request.headers.get("If-None-Match") == etag:
            self.served[304] += 1
            return web.Response(status=304, headers={"ETag": etag})
        self.served[200] += 1
        page = html_page(story_title(i), sections(2 + version, i), target_bytes=self.size, seed=i)
        return web.Response(text=page, content_type="text/html", charset="utf-8", headers={"ETag": etag})

    async def bump(self, request: web.Request) -> web.Response:
        every, offset = int(request.query.get("every", 10)), int(request.query.get("offset", 0))
        changed = 0
        for i in range(offset % every, len(self.versions), every):
            self.versions[i] += 1
            changed += 1
        return web.json_response({"changed": changed})

    async def stats(self, request: web.Request) -> web.Response:
        figures = {str(k): v for k, v in self.served.items()} | {"connections": len(self.peers)}
        if request.query.get("reset"):
            self.served = dict.fromkeys(self.served, 0)
            self.peers.clear()
        return web.json_response(figures)


async def serve(stories: int, size: int) -> None:
    runner = web.AppRunner(StoryOrigin(stories, size).app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    host, port = runner.addresses[0][:2]
    print(json.dumps({"url": f"http://{host}:{port}"}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.origin")
    parser.add_argument("--stories", type=int, required=True)
    parser.add_argument("--size", type=int, default=50_000, help="page size in bytes")
    args = parser.parse_args()
    asyncio.run(serve(args.stories, args.size))


if __name__ == "__main__":
    main()
