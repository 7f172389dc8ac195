"""The address policy enforced where it cannot be dodged: when a connection is opened.

The fetcher's transport (bot.aiotransport) asks its aiohttp connector for each new TCP
connection, for the first request and for every redirect hop alike; a kept-alive connection
is reused only for the host and port it was opened (and checked) for. `GuardedConnector`
resolves the host itself, checks every address against the `AddressPolicy` and connects to
the addresses it checked, so a name that resolves differently a moment later (DNS
rebinding) gains nothing. TLS still verifies the certificate against the URL's host name.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

import aiohttp
import httpx
from aiohttp.abc import ResolveResult

from bot.aiotransport import AiohttpTransport
from bot.netpolicy import AddressPolicy


class AddressRefused(httpx.TransportError):
    """The policy refused every address of a host. Not worth a retry: the answer will not change."""


class GuardedConnector(aiohttp.TCPConnector):
    """aiohttp's TCP connector with the address policy applied to each new connection.

    aiohttp sends every connection's host, a name or an address literal, through
    `_resolve_host`; it is the one hook that sees both, so it is overridden here (with no DNS
    cache: each connection is resolved and checked afresh). tests/test_fetch_safety.py fails
    loudly if a future aiohttp stops calling it."""

    def __init__(self, policy: AddressPolicy, **options: Any):
        super().__init__(use_dns_cache=False, **options)
        self._policy = policy

    async def _resolve_host(self, host: str, port: int, traces: Any = None) -> list[ResolveResult]:
        addresses = await _resolve(host.strip("[]"), port)
        refusal = self._policy.refusal(host, port, addresses)
        if refusal is not None:
            raise AddressRefused(refusal)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]


async def _resolve(host: str, port: int) -> list[str]:
    """Every address of `host`, in the resolver's order, without duplicates (an address
    literal is itself; OSError when the name does not resolve)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def guarded_transport(policy: AddressPolicy, limits: httpx.Limits, per_host: int) -> AiohttpTransport:
    """An httpx transport whose every connection passes `policy`, keeping at most `per_host`
    connections per host alive for reuse (sized to the fetcher's per-host concurrency, so a
    cycle over many stories of one host opens about that many connections). Proxies from the
    environment are never used, so the policy sees the real destination."""

    def connector() -> aiohttp.BaseConnector:
        return GuardedConnector(
            policy,
            limit=limits.max_connections or 0,
            limit_per_host=per_host,
            keepalive_timeout=limits.keepalive_expiry or 15,
            ssl=httpx.create_ssl_context(),
        )

    return AiohttpTransport(connector)
