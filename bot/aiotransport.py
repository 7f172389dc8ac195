"""An httpx transport on aiohttp's client: httpx's API above, aiohttp's connection pool below.

The fetcher keeps speaking httpx (requests, responses, redirects, timeouts, errors); only the
wire work moves to aiohttp, whose keep-alive pool reuses a connection per host with little
bookkeeping per request, where httpcore's pool cost about half a polling cycle's CPU
(bench/README.md, benchmark 3). aiohttp errors come back as the httpx errors the fetcher
already handles. The connector is handed in, so its owner decides how connections are made
(bot.netguard checks each one's address).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager

import aiohttp
import httpx
import yarl

CHUNK = 64 * 1024

# most specific first: the first match wins
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.InvalidUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.ClientError, httpx.NetworkError),
    (TimeoutError, httpx.TimeoutException),
)


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except httpx.HTTPError:
        raise
    except (TimeoutError, aiohttp.ClientError) as err:
        for theirs, ours in _ERRORS:
            if isinstance(err, theirs):
                raise ours(str(err) or type(err).__name__) from err
        raise


class _Body(httpx.AsyncByteStream):
    """The response body as aiohttp reads it; closing releases the connection to the pool
    (kept alive when the body was read to its end, as a 304's empty one always is)."""

    def __init__(self, response: aiohttp.ClientResponse):
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            async for chunk in self._response.content.iter_chunked(CHUNK):
                yield chunk

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends each httpx request through one aiohttp session made (in the running loop, on first
    use) over the connector `connector()` builds. Redirects are left to httpx, so every hop is
    a request of its own, and bodies come back undecoded (the fetcher inflates them, capped)."""

    def __init__(self, connector: Callable[[], aiohttp.BaseConnector]):
        self._connector = connector
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=self._connector(),
                cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps the cookies
                auto_decompress=False,
                trust_env=False,  # no proxy from the environment: the real destination is checked
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        session = self._open()
        with _as_httpx_errors():
            response = await session.request(
                request.method,
                # as httpx encoded it; credentials travel in the Authorization header httpx set
                yarl.URL(str(request.url.copy_with(userinfo=b"")), encoded=True),
                headers=request.headers.multi_items(),
                data=await request.aread() or None,
                allow_redirects=False,
                compress=None,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeout.get("pool"),
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            )
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Body(response),
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode()},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
