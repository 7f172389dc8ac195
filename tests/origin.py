"""A scriptable HTTP origin on 127.0.0.1 for tests and demos: a real server, never a mock.

    async with Origin() as origin:
        origin.set("/story", Response(body=b"<p>hi</p>"))          # served until changed
        origin.queue("/story", Response(status=500), Response())   # served once each, first
        url = origin.url("/story")
        ...
        assert [r.status for r in origin.requests_for("/story")] == [500, 200]

Each response gets an ETag from its body hash (and honours If-None-Match with a 304) and,
when given a `last_modified`, honours If-Modified-Since the same way. A response may wait
before its headers (`delay`), stream in chunks without a length (`chunked`), or break off
after `truncate_at` bytes while its Content-Length promised more, or trickle its body a
byte at a time (`trickle`: seconds between bytes), as a slowloris origin does.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import defaultdict, deque
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from types import TracebackType

from aiohttp import web

CHUNK = 64 * 1024


@dataclass(slots=True)
class Response:
    """What the origin answers for a path. `body` may be str (sent as UTF-8)."""

    body: bytes | str = b"<html><body><p>Hello</p></body></html>"
    status: int = 200
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before sending headers
    repeat: int = 1  # send `body` this many times (large bodies without large test data)
    chunked: bool = False  # no Content-Length: chunked transfer encoding
    truncate_at: int | None = None  # send this many bytes, then drop the connection
    etag: bool = True  # an automatic ETag from the body hash (200 only)
    last_modified: str | None = None  # HTTP-date; enables If-Modified-Since -> 304
    trickle: float = 0.0  # seconds between single bytes of the body (a slowloris origin)

    @property
    def data(self) -> bytes:
        return self.body.encode() if isinstance(self.body, str) else self.body

    @property
    def length(self) -> int:
        return len(self.data) * self.repeat

    @property
    def etag_value(self) -> str:
        digest = hashlib.blake2b(self.data, digest_size=8)
        digest.update(self.repeat.to_bytes(8, "big"))
        return f'"{digest.hexdigest()}"'


@dataclass(slots=True)
class Request:
    """One request as the origin saw it. `sent` counts body bytes written to the socket."""

    method: str
    path: str
    headers: dict[str, str]
    status: int | None = None
    sent: int = 0
    peer: object = None  # the client's (address, port): one per TCP connection


class Origin:
    """A loopback HTTP server whose answers are scripted per path. Use `async with`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, shutdown_timeout: float = 0.5):
        self._host, self._port = host, port
        self._shutdown_timeout = shutdown_timeout
        self._current: dict[str, Response] = {}
        self._queued: dict[str, deque[Response]] = defaultdict(deque)
        self._runner: web.AppRunner | None = None
        self.requests: list[Request] = []
        self.in_flight: dict[str, int] = defaultdict(int)
        self.max_in_flight: dict[str, int] = defaultdict(int)
        self.base_url = ""

    # --- scripting ---------------------------------------------------------------------

    def set(self, path: str, response: Response | None = None, **fields: object) -> Response:
        """Serve `response` (or `Response(**fields)`) for `path` from now on."""
        response = response or Response(**fields)  # type: ignore[arg-type]
        self._current[path] = response
        return response

    def queue(self, path: str, *responses: Response) -> None:
        """Serve these once each, in order, before falling back to the `set` response."""
        self._queued[path].extend(responses)

    def url(self, path: str = "/") -> str:
        return f"{self.base_url}{path}"

    def requests_for(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    # --- lifetime ----------------------------------------------------------------------

    async def start(self) -> Origin:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=self._shutdown_timeout, access_log=None
        )
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Origin:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # --- serving -----------------------------------------------------------------------

    def _next(self, path: str) -> Response | None:
        queued = self._queued.get(path)
        return queued.popleft() if queued else self._current.get(path)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        seen = Request(request.method, request.path, dict(request.headers), peer=peer)
        self.requests.append(seen)
        path = request.path
        self.in_flight[path] += 1
        self.max_in_flight[path] = max(self.max_in_flight[path], self.in_flight[path])
        try:
            return await self._answer(request, seen)
        finally:
            self.in_flight[path] -= 1

    async def _answer(self, request: web.Request, seen: Request) -> web.StreamResponse:
        scripted = self._next(request.path)
        if scripted is None:
            seen.status = 404
            return web.Response(status=404, text="no response scripted")
        if scripted.delay:
            await asyncio.sleep(scripted.delay)
        headers = dict(scripted.headers)
        if scripted.status == 200 and scripted.etag:
            headers.setdefault("ETag", scripted.etag_value)
        if scripted.last_modified:
            headers.setdefault("Last-Modified", scripted.last_modified)
        if scripted.status == 200 and _not_modified(request, headers):
            seen.status = 304
            return web.Response(status=304, headers=headers)
        if scripted.content_type:
            headers["Content-Type"] = scripted.content_type
        seen.status = scripted.status
        return await self._stream(request, scripted, headers, seen)

    async def _stream(
        self, request: web.Request, scripted: Response, headers: dict[str, str], seen: Request
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=scripted.status, headers=headers)
        if scripted.chunked:
            response.enable_chunked_encoding()
        else:
            response.content_length = scripted.length
        await response.prepare(request)
        limit = scripted.length if scripted.truncate_at is None else scripted.truncate_at
        if scripted.trickle:
            for byte in scripted.data[:limit]:
                await response.write(bytes([byte]))
                seen.sent += 1
                await asyncio.sleep(scripted.trickle)
            await response.write_eof()
            return response
        data = scripted.data
        for _ in range(scripted.repeat):
            for start in range(0, len(data), CHUNK):
                chunk = data[start : start + CHUNK][: limit - seen.sent]
                if not chunk:
                    break
                await response.write(chunk)
                seen.sent += len(chunk)
        if scripted.truncate_at is not None and request.transport is not None:
            request.transport.close()  # the client sees a body shorter than promised
            return response
        await response.write_eof()
        return response


def _not_modified(request: web.Request, headers: dict[str, str]) -> bool:
    """RFC 9110 conditional GET: If-None-Match decides when present, else If-Modified-Since."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or headers.get("ETag", "").removeprefix("W/") in tags
    since, modified = request.headers.get("If-Modified-Since"), headers.get("Last-Modified")
    if not since or not modified:
        return False
    try:
        return parsedate_to_datetime(modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
