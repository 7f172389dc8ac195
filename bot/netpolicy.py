"""Which addresses storybot may fetch from: public ones, unless the admin allows more.

A story URL comes from a config file and redirects come from the web, so either could point
the bot at the machine it runs on, the office network or a cloud metadata service. The
policy is applied to the *resolved* address of every connection (see `bot.netguard`), so
`localhost`, `http://2130706433/` and a name that re-resolves to 10.0.0.1 are all caught.
Pure: no I/O here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

CARRIER_GRADE_NAT = ipaddress.ip_network("100.64.0.0/10")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
HOW_TO_ALLOW = "allow it with [storybot] allow_hosts or allow_private"


def address_kind(ip: IPAddress) -> str | None:
    """Why `ip` is not a public address ("loopback", "private", ...), or None when it is."""
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        return address_kind(embedded)
    checks = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip in CARRIER_GRADE_NAT, "carrier-grade NAT"),
        (ip.is_private, "private"),
        (ip.is_reserved or not ip.is_global, "reserved"),
    )
    return next((kind for matched, kind in checks if matched), None)


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, compatible, NAT64, 6to4), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in IPV4_COMPATIBLE and int(ip) > 1 or ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


@dataclass(frozen=True, slots=True)
class Allowance:
    """One `allow_hosts` entry: a host name, an address or a network, maybe with a port."""

    host: str | None = None
    network: IPNetwork | None = None
    port: int | None = None

    def covers(self, host: str, port: int, ip: IPAddress) -> bool:
        if self.port is not None and port != self.port:
            return False
        if self.network is not None:
            return ip in self.network
        return host.rstrip(".").casefold() == self.host


def parse_allowance(entry: str) -> Allowance:
    """'10.0.0.0/8', '127.0.0.1', '[::1]:8080', 'localhost', 'localhost:8080' -> Allowance.
    Raises ValueError saying what a good entry looks like."""
    text = entry.strip()
    name, port = _split_port(text)
    try:
        return Allowance(network=ipaddress.ip_network(name.strip("[]"), strict=False), port=port)
    except ValueError:
        pass
    if not name or any(c in name for c in "/[]@ ") or name.startswith("."):
        raise ValueError(
            f"{entry!r} is not a host, address or network "
            "(e.g. 'localhost:8080', '127.0.0.1', '[::1]', '10.0.0.0/8')"
        )
    return Allowance(host=name.rstrip(".").casefold(), port=port)


def _split_port(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket:
            raise ValueError(f"{text!r}: an IPv6 address in brackets needs its closing ']'")
        port = rest.removeprefix(":")
        return host, _port(port, text) if port else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, _port(port, text)
    return text, None


def _port(text: str, entry: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{entry!r}: the port must be a number from 1 to 65535")
    return int(text)


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Public addresses always; others only when `allow_private`, or an allowance covers them."""

    allow_private: bool = False
    allowances: tuple[Allowance, ...] = ()

    @classmethod
    def build(cls, *, allow_private: bool = False, allow_hosts: Iterable[str] = ()) -> AddressPolicy:
        return cls(allow_private, tuple(parse_allowance(e) for e in allow_hosts))

    def refusal(self, host: str, port: int, addresses: Sequence[str]) -> str | None:
        """Why connecting to `host:port` at any of `addresses` is refused, or None when allowed.
        Every address must pass: a name that also resolves to a private address is refused."""
        for text in addresses:
            ip = ipaddress.ip_address(text.partition("%")[0])
            kind = address_kind(ip)
            if kind is None or self.allow_private or any(a.covers(host, port, ip) for a in self.allowances):
                continue
            named = str(ip) if _written_as(host, ip) else f"{host} resolves to {ip}, which"
            article = "an" if kind[0] in "aeiou" else "a"
            return f"refused: {named} is {article} {kind} address ({HOW_TO_ALLOW})"
        return None


def _written_as(host: str, ip: IPAddress) -> bool:
    """Whether `host` is `ip` in its usual notation (so the message need not say both)."""
    try:
        return ipaddress.ip_address(host.strip("[]")) == ip
    except ValueError:
        return False


#: What the tests and the demo use: their origins listen on loopback.
LOOPBACK_ONLY = AddressPolicy.build(allow_hosts=["127.0.0.0/8", "::1", "localhost"])
