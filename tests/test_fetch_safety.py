"""Issue 11, safe by default: what the fetcher refuses and how much one poll may cost.

Each test goes through the real fetcher and a real HTTP origin on 127.0.0.1. The origin is
on loopback, which the default policy refuses: that refusal is what most tests here check,
and the rest allow loopback explicitly.
"""

from __future__ import annotations

import gzip
import ipaddress
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.fetch import Fetcher, make_client
from bot.netpolicy import LOOPBACK_ONLY, AddressPolicy, address_kind, parse_allowance
from tests.origin import Origin, Response

PAGE = "<html><body><p>Kherson: Russia says it will retreat.</p></body></html>"


@pytest.fixture
async def public_only() -> AsyncIterator[Fetcher]:
    """The fetcher as storybot builds it with no allowances: public addresses only."""
    async with make_client(timeout=2) as client:
        yield Fetcher(client, retries=0)


async def _fetcher_with(policy: AddressPolicy) -> tuple[httpx.AsyncClient, Fetcher]:
    client = make_client(timeout=2, policy=policy)
    return client, Fetcher(client, retries=0)


# --- address policy ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("localhost", "loopback"),  # a name: refused for what it resolves to
        ("2130706433", "loopback"),  # 127.0.0.1 as one decimal number
        ("0x7f.1", "loopback"),  # hex, short form
        ("127.1", "loopback"),
        ("[::ffff:127.0.0.1]", "loopback"),  # IPv4-mapped IPv6
        ("0.0.0.0", "unspecified"),
    ],
)
async def test_forms_that_reach_this_machine_are_refused_before_connecting(
    origin: Origin, public_only: Fetcher, host: str, kind: str
) -> None:
    origin.set("/story", Response(body=PAGE))
    port = origin.base_url.rsplit(":", 1)[1]

    result = await public_only.fetch(f"http://{host}:{port}/story")

    assert result.failed and result.attempts == 1
    assert result.error is not None and result.error.startswith("refused: ")
    assert f" {kind} address" in result.error and "allow_hosts" in result.error
    assert origin.requests == []  # never reached


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("[fd00:ec2::254]", "private"),  # cloud metadata, IPv6
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("224.0.0.1", "multicast"),
        ("[fe80::1]", "link-local"),
        ("[::]", "unspecified"),
        ("[::1]", "loopback"),
    ],
)
async def test_private_link_local_and_metadata_addresses_are_refused(
    public_only: Fetcher, host: str, kind: str
) -> None:
    started = time.monotonic()

    result = await public_only.fetch(f"http://{host}/latest/meta-data/")

    assert result.failed and result.error is not None
    article = "an" if kind == "unspecified" else "a"
    assert result.error.startswith(f"refused: {host.strip('[]')} is {article} {kind} address")
    assert time.monotonic() - started < 1  # refused, not a connect attempt timing out


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("::ffff:10.0.0.1", "private"),
        ("::7f00:1", "loopback"),  # IPv4-compatible
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("8.8.8.8", None),
        ("2606:4700::1", None),
    ],
)
def test_address_kinds_see_through_ipv6_wrappers(address: str, kind: str | None) -> None:
    assert address_kind(ipaddress.ip_address(address)) == kind


async def test_allow_hosts_lets_one_host_and_port_through(origin: Origin) -> None:
    origin.set("/story", Response(body=PAGE))
    port = int(origin.base_url.rsplit(":", 1)[1])
    for policy, allowed in [
        (AddressPolicy.build(allow_hosts=[f"localhost:{port}"]), True),
        (AddressPolicy.build(allow_hosts=[f"localhost:{port + 1}"]), False),
        (AddressPolicy.build(allow_hosts=["127.0.0.0/8"]), True),
        (AddressPolicy.build(allow_private=True), True),
    ]:
        client, fetcher = await _fetcher_with(policy)
        async with client:
            result = await fetcher.fetch(f"http://localhost:{port}/story")
        assert result.ok is allowed, (policy, result.error)


async def test_every_redirect_hop_is_checked(origin: Origin) -> None:
    """The first hop is allowed; a redirect to another loopback port is not."""
    async with Origin() as inside:
        inside.set("/secret", Response(body="internal"))
        origin.set("/story", Response(status=302, body="", headers={"Location": inside.url("/secret")}))
        port = origin.base_url.rsplit(":", 1)[1]
        client, fetcher = await _fetcher_with(AddressPolicy.build(allow_hosts=[f"127.0.0.1:{port}"]))
        async with client:
            result = await fetcher.fetch(origin.url("/story"))

        assert result.failed and result.error is not None
        assert result.error.startswith("refused: 127.0.0.1 is a loopback address")
        assert len(origin.requests_for("/story")) == 1 and inside.requests == []


@pytest.mark.parametrize("entry", ["", "http://x", "a b", "[::1", "localhost:99999", "host:port"])
def test_bad_allow_hosts_entries_are_errors(entry: str) -> None:
    with pytest.raises(ValueError):
        parse_allowance(entry)


# --- local files ---------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> Path:
    inside = tmp_path / "stories"
    inside.mkdir()
    (inside / "story.txt").write_text("Kherson\n", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("password\n", encoding="utf-8")
    return inside


async def test_files_outside_files_dir_are_refused(tmp_path: Path, files: Path) -> None:
    (files / "escape.txt").symlink_to(tmp_path / "secret.txt")
    (files / "alias.txt").symlink_to(files / "story.txt")
    async with make_client() as client:
        fetcher = Fetcher(client, base_dir=tmp_path, files_dir=files)
        ok = await fetcher.fetch("stories/story.txt")
        linked_inside = await fetcher.fetch("stories/alias.txt")
        refused = [
            await fetcher.fetch(source)
            for source in (
                "stories/../secret.txt",
                str(tmp_path / "secret.txt"),
                (tmp_path / "secret.txt").as_uri(),
                "stories/escape.txt",
                "/etc/hostname",
            )
        ]

    assert ok.ok and linked_inside.ok
    for result in refused:
        assert result.failed and result.error is not None
        assert result.error.startswith("refused: ") and "outside files_dir" in result.error


# --- bounded work per fetch ----------------------------------------------------------------


async def test_a_slowloris_origin_frees_its_slot_at_the_deadline(origin: Origin) -> None:
    origin.set("/drip", Response(body="x" * 1000, trickle=0.2))  # 200 s to send it all
    origin.set("/story", Response(body=PAGE))
    async with make_client(timeout=5, policy=LOOPBACK_ONLY) as client:  # each byte is in time
        fetcher = Fetcher(client, per_host=1, retries=3, deadline=1.0)
        started = time.monotonic()
        dripped = await fetcher.fetch(origin.url("/drip"))
        held = time.monotonic() - started
        after = await fetcher.fetch(origin.url("/story"))  # the host's one slot is free again

    assert dripped.failed and dripped.error == "no complete answer from 127.0.0.1 within 1s"
    assert 0.9 < held < 1.8  # one deadline for the whole fetch, retries included
    assert after.ok


def _gzip_bomb(size: int) -> bytes:
    """gzip(gzip(`size` zero bytes)) in about 2 KB, built without compressing `size` bytes:
    with a full flush after each block, every block of zeros compresses to the same bytes."""
    block = bytes(1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    head = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    repeated = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    inner = head + repeated * (size // len(block) - 1) + packer.flush()
    return gzip.compress(inner, 9)


async def test_a_compression_bomb_stops_at_the_cap_without_memory_growing(origin: Origin) -> None:
    bomb = _gzip_bomb(1 << 30)
    assert len(bomb) < 4096
    origin.set("/bomb", Response(body=bomb, headers={"Content-Encoding": "gzip, gzip"}))
    async with make_client(policy=LOOPBACK_ONLY) as client:
        fetcher = Fetcher(client, max_bytes=1_000_000, retries=0)
        tracemalloc.start()
        try:
            result = await fetcher.fetch(origin.url("/bomb"))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert result.failed and result.error == "body larger than 1000000 bytes"
    assert peak < 16_000_000  # the cap and a few pieces, not the gibibyte


@pytest.mark.parametrize("coding", ["gzip", "deflate", "deflate-raw", "x-gzip"])
async def test_compressed_pages_are_read(origin: Origin, coding: str) -> None:
    data = PAGE.encode()
    body = {
        "gzip": gzip.compress(data),
        "x-gzip": gzip.compress(data),
        "deflate": zlib.compress(data),
        "deflate-raw": zlib.compress(data)[2:-4],  # some servers send deflate without its header
    }[coding]
    origin.set("/story", Response(body=body, headers={"Content-Encoding": coding.removesuffix("-raw")}))
    async with make_client(policy=LOOPBACK_ONLY) as client:
        result = await Fetcher(client).fetch(origin.url("/story"))

    assert result.ok and result.text == PAGE
    assert origin.requests[0].headers["Accept-Encoding"] == "gzip, deflate"


async def test_a_coding_we_did_not_ask_for_is_refused(origin: Origin) -> None:
    origin.set("/story", Response(body=b"\x1b\x00", headers={"Content-Encoding": "br"}))
    async with make_client(policy=LOOPBACK_ONLY) as client:
        result = await Fetcher(client).fetch(origin.url("/story"))

    assert result.failed and result.error == "unsupported content encoding br from 127.0.0.1"
