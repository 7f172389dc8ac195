"""The address policy enforced where it cannot be dodged: when a connection is opened.

httpx's connection pool asks its network backend for each new TCP connection, for the first
request and for every redirect hop alike. `GuardedBackend` resolves the host itself, checks
every address against the `AddressPolicy` and connects to the address it checked, so a
name that resolves differently a moment later (DNS rebinding) gains nothing. TLS still
verifies the certificate against the URL's host name, because httpcore passes that on.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from bot.netpolicy import AddressPolicy


class AddressRefused(httpx.TransportError):
    """The policy refused every address of a host. Not worth a retry: the answer will not change."""


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's asyncio backend, with the address policy applied to each connection."""

    def __init__(self, policy: AddressPolicy, inner: httpcore.AsyncNetworkBackend | None = None):
        self._policy = policy
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await _resolve(host, port, timeout)
        refusal = self._policy.refusal(host, port, addresses)
        if refusal is not None:
            raise AddressRefused(refusal)
        failure: Exception = httpcore.ConnectError(f"no address for {host}")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as err:
                failure = err
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("refused: storybot fetches over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def _resolve(host: str, port: int, timeout: float | None) -> list[str]:
    """Every address of `host`, in the resolver's order, without duplicates."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise httpcore.ConnectTimeout(f"timed out resolving {host}") from None
    except OSError as err:
        raise httpcore.ConnectError(f"cannot resolve {host}: {err.strerror or err}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def guarded_transport(policy: AddressPolicy, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose every connection passes `policy`.

    httpx has no public hook for the network backend, so the transport's pool is replaced by
    one built with the same settings and `GuardedBackend`; tests/test_fetch.py's address
    tests fail loudly if a future httpx stops using it. A transport given to the client also
    turns off proxies from the environment, so the policy sees the real destination."""
    transport = httpx.AsyncHTTPTransport(limits=limits)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(policy),
    )
    return transport
