"""The fetcher against a real HTTP origin on loopback, and against real files in tmp_path.

Waits between retries go through a recording `sleep`, so no test waits on the wall clock
except the timeout test, which needs a real (0.2 s) client timeout to expire.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.fetch import Fetcher, FetchStatus, decode_body, make_client
from bot.netpolicy import LOOPBACK_ONLY
from tests.origin import Origin, Response

PAGE = "<html><body><p>Kherson: Russia says it will retreat.</p></body></html>"
LAST_MODIFIED = "Wed, 09 Nov 2022 18:10:00 GMT"


class RecordedSleep:
    """Stands in for asyncio.sleep: remembers each wait and returns at once."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(timeout=5, max_redirects=5, policy=LOOPBACK_ONLY) as c:
        yield c


@pytest.fixture
def sleep() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def fetcher(client: httpx.AsyncClient, sleep: RecordedSleep, tmp_path: Path) -> Fetcher:
    return Fetcher(client, base_dir=tmp_path, max_bytes=10_000, retries=3, backoff=1.0, sleep=sleep)


# --- conditional GET -----------------------------------------------------------------------


async def test_a_cycle_over_one_host_reuses_as_many_connections_as_it_runs_at_once(origin: Origin) -> None:
    """Keep-alive works, 304s included: 80 requests to one host open at most `per_host`
    connections (a new TCP connection per poll was most of a 304's cost)."""
    for i in range(40):
        origin.set(f"/s/{i}", Response(body=PAGE))
    async with make_client(timeout=2, policy=LOOPBACK_ONLY, per_host=4) as client:
        fetcher = Fetcher(client, per_host=4, retries=0)
        first = await asyncio.gather(*(fetcher.fetch(origin.url(f"/s/{i}")) for i in range(40)))
        again = await asyncio.gather(
            *(fetcher.fetch(origin.url(f"/s/{i}"), etag=r.etag) for i, r in enumerate(first))
        )
    assert all(r.ok for r in first) and all(r.not_modified for r in again)
    assert len(origin.requests) == 80
    assert 1 <= len({r.peer for r in origin.requests}) <= 4


async def test_waiting_behind_the_hosts_other_fetches_is_not_counted_against_the_deadline(
    origin: Origin,
) -> None:
    """Six fetches of 0.2 s each through one slot: the last waits 1 s, twice its deadline, and
    still gets its page (a cycle over thousands of stories of one host queues that way)."""
    origin.set("/story", Response(body=PAGE, delay=0.2))
    async with make_client(timeout=2, policy=LOOPBACK_ONLY, per_host=1) as client:
        fetcher = Fetcher(client, per_host=1, retries=0, deadline=0.5)
        results = await asyncio.gather(*(fetcher.fetch(origin.url("/story")) for _ in range(6)))
    assert [r.ok for r in results] == [True] * 6
    assert origin.max_in_flight["/story"] == 1


async def test_etag_then_304_on_refetch(origin: Origin, fetcher: Fetcher) -> None:
    served = origin.set("/story", Response(body=PAGE))

    first = await fetcher.fetch(origin.url("/story"))
    assert first.ok and first.text == PAGE and first.http_status == 200
    assert first.etag == served.etag_value
    assert first.content_type == "text/html; charset=utf-8"
    assert first.content_hash

    again = await fetcher.fetch(origin.url("/story"), etag=first.etag)
    assert again.status is FetchStatus.NOT_MODIFIED and again.not_modified
    assert again.etag == first.etag and again.text is None and again.content_hash is None
    second = origin.requests_for("/story")[1]
    assert second.headers["If-None-Match"] == first.etag
    assert second.status == 304 and second.sent == 0  # the 304 did no work


async def test_changed_page_comes_back_ok_with_new_hash(origin: Origin, fetcher: Fetcher) -> None:
    origin.set("/story", Response(body=PAGE))
    first = await fetcher.fetch(origin.url("/story"))
    origin.set("/story", Response(body=PAGE.replace("retreat", "withdraw")))

    second = await fetcher.fetch(origin.url("/story"), etag=first.etag)

    assert second.ok and "withdraw" in (second.text or "")
    assert second.etag != first.etag and second.content_hash != first.content_hash


async def test_last_modified_and_if_modified_since(origin: Origin, fetcher: Fetcher) -> None:
    origin.set("/story", Response(body=PAGE, etag=False, last_modified=LAST_MODIFIED))

    first = await fetcher.fetch(origin.url("/story"))
    assert first.ok and first.last_modified == LAST_MODIFIED and first.etag is None

    again = await fetcher.fetch(origin.url("/story"), last_modified=first.last_modified)
    assert again.not_modified and again.last_modified == LAST_MODIFIED
    assert origin.requests[-1].headers["If-Modified-Since"] == LAST_MODIFIED
    assert origin.requests[-1].status == 304


# --- timeouts and retries ------------------------------------------------------------------


async def test_read_timeout_fails_with_clear_reason(origin: Origin, sleep: RecordedSleep) -> None:
    origin.set("/slow", Response(body=PAGE, delay=1.0))
    async with make_client(timeout=0.2, policy=LOOPBACK_ONLY) as quick:
        fetcher = Fetcher(quick, retries=1, sleep=sleep)
        result = await fetcher.fetch(origin.url("/slow"))

    assert result.failed and result.attempts == 2
    assert result.error == f"timed out after 0.2s reading {origin.url('/slow')}"
    assert len(sleep.calls) == 1


async def test_a_whole_attempt_has_a_deadline(origin: Origin, sleep: RecordedSleep) -> None:
    origin.set("/drip", Response(body=PAGE, delay=1.0))
    # each read would wait; the attempt may not
    async with make_client(timeout=5, policy=LOOPBACK_ONLY) as patient:
        fetcher = Fetcher(patient, retries=0, deadline=0.2, sleep=sleep)
        result = await fetcher.fetch(origin.url("/drip"))

    assert result.failed and result.error == "no complete answer from 127.0.0.1 within 0.2s"


async def test_500_then_success_on_retry(origin: Origin, fetcher: Fetcher, sleep: RecordedSleep) -> None:
    origin.queue("/story", Response(status=500, body="oops"))
    origin.set("/story", Response(body=PAGE))

    result = await fetcher.fetch(origin.url("/story"))

    assert result.ok and result.text == PAGE and result.attempts == 2
    assert [r.status for r in origin.requests_for("/story")] == [500, 200]
    assert len(sleep.calls) == 1 and 1.0 <= sleep.calls[0] <= 1.1  # backoff plus a little jitter


async def test_persistent_500_fails_after_all_attempts(
    origin: Origin, fetcher: Fetcher, sleep: RecordedSleep, caplog: pytest.LogCaptureFixture
) -> None:
    origin.set("/story", Response(status=500, body="oops"))

    with caplog.at_level(logging.WARNING, logger="bot.fetch"):
        result = await fetcher.fetch(origin.url("/story?token=s3cret"))

    assert result.failed and result.attempts == 4 and result.http_status == 500
    assert result.error == "HTTP 500 from 127.0.0.1"
    assert len(origin.requests_for("/story")) == 4
    assert len(sleep.calls) == 3  # no wait after the last attempt
    assert [int(s) for s in sleep.calls] == [1, 2, 4]  # exponential: 1, 2, 4 s (+ jitter < 10%)
    assert any(s != int(s) for s in sleep.calls)  # jittered, so many bots do not retry in step
    failures = [r for r in caplog.records if r.name == "bot.fetch"]
    assert len(failures) == 1 and "HTTP 500" in failures[0].getMessage()
    assert "s3cret" not in caplog.text


async def test_429_retry_after_seconds_goes_through_sleep(
    origin: Origin, fetcher: Fetcher, sleep: RecordedSleep
) -> None:
    origin.queue("/story", Response(status=429, body="slow down", headers={"Retry-After": "7"}))
    origin.set("/story", Response(body=PAGE))

    result = await fetcher.fetch(origin.url("/story"))

    assert result.ok and result.attempts == 2
    assert sleep.calls == [7]


async def test_429_retry_after_http_date(origin: Origin, fetcher: Fetcher, sleep: RecordedSleep) -> None:
    now = 1_700_000_000
    headers = {"Date": formatdate(now, usegmt=True), "Retry-After": formatdate(now + 8, usegmt=True)}
    origin.queue("/story", Response(status=429, body="slow down", headers=headers))
    origin.set("/story", Response(body=PAGE))

    result = await fetcher.fetch(origin.url("/story"))

    assert result.ok and sleep.calls == [8]  # measured from the server's Date, not our clock


async def test_a_long_retry_after_ends_the_fetch_and_says_when_to_come_back(
    origin: Origin, fetcher: Fetcher, sleep: RecordedSleep
) -> None:
    origin.set("/story", Response(status=503, body="later", headers={"Retry-After": "3600"}))

    result = await fetcher.fetch(origin.url("/story"))

    assert result.failed and result.attempts == 1 and result.retry_after == 3600
    assert result.error == "HTTP 503 from 127.0.0.1: asked to come back in 3600s"
    assert sleep.calls == []  # no slot held waiting: the scheduler comes back at that time


async def test_retry_after_up_to_the_inline_cap_is_waited(
    origin: Origin, client: httpx.AsyncClient, sleep: RecordedSleep
) -> None:
    origin.queue("/story", Response(status=503, body="later", headers={"Retry-After": "60"}))
    origin.set("/story", Response(body=PAGE))
    fetcher = Fetcher(client, max_retry_after=60, deadline=120, sleep=sleep)

    result = await fetcher.fetch(origin.url("/story"))

    assert result.ok and sleep.calls == [60]


async def test_no_wait_outlasts_the_deadline(origin: Origin, client: httpx.AsyncClient) -> None:
    origin.set("/story", Response(status=500, body="oops"))
    fetcher = Fetcher(client, retries=3, backoff=5, deadline=2)  # the real asyncio.sleep

    result = await fetcher.fetch(origin.url("/story"))

    assert result.failed and result.attempts == 1 and result.error == "HTTP 500 from 127.0.0.1"


async def test_404_fails_without_retry(origin: Origin, fetcher: Fetcher, sleep: RecordedSleep) -> None:
    result = await fetcher.fetch(origin.url("/gone"))

    assert result.failed and result.http_status == 404 and result.attempts == 1
    assert result.error == "HTTP 404 from 127.0.0.1"
    assert len(origin.requests_for("/gone")) == 1 and sleep.calls == []


async def test_408_is_retried(origin: Origin, fetcher: Fetcher) -> None:
    origin.queue("/story", Response(status=408, body="timeout"))
    origin.set("/story", Response(body=PAGE))

    result = await fetcher.fetch(origin.url("/story"))

    assert result.ok and result.attempts == 2


async def test_truncated_body_is_retried_then_ok(origin: Origin, fetcher: Fetcher) -> None:
    origin.queue("/story", Response(body=PAGE, truncate_at=10))
    origin.set("/story", Response(body=PAGE))

    result = await fetcher.fetch(origin.url("/story"))

    assert result.ok and result.text == PAGE and result.attempts == 2


async def test_truncated_body_every_time_fails(
    origin: Origin, fetcher: Fetcher, sleep: RecordedSleep
) -> None:
    origin.set("/story", Response(body=PAGE, truncate_at=10))

    result = await fetcher.fetch(origin.url("/story"))

    assert result.failed and result.attempts == 4 and len(sleep.calls) == 3
    assert result.error is not None and result.error.startswith("incomplete response from http://127.0.0.1")
    assert "\n" not in result.error


async def test_connection_refused_fails(fetcher: Fetcher, sleep: RecordedSleep) -> None:
    async with Origin() as gone:
        url = gone.url("/story")

    result = await fetcher.fetch(url)

    assert result.failed and result.attempts == 4 and len(sleep.calls) == 3
    assert result.error is not None and result.error.startswith("cannot connect to")


# --- size, redirects, empty ----------------------------------------------------------------


async def test_oversized_body_by_content_length(origin: Origin, fetcher: Fetcher) -> None:
    origin.set("/big", Response(body=b"x" * 65536, repeat=1000, content_type="text/plain"))

    result = await fetcher.fetch(origin.url("/big"))

    assert result.failed and result.attempts == 1
    assert result.error == "body larger than 10000 bytes (Content-Length 65536000)"
    await _settled(origin, "/big")
    assert origin.requests_for("/big")[0].sent < 65536000 // 4  # we hung up, never read it all


async def test_oversized_chunked_body_stops_reading(origin: Origin, fetcher: Fetcher) -> None:
    origin.set("/big", Response(body=b"x" * 65536, repeat=1000, chunked=True, content_type="text/plain"))

    result = await fetcher.fetch(origin.url("/big"))

    assert result.failed and result.attempts == 1
    assert result.error == "body larger than 10000 bytes"
    await _settled(origin, "/big")
    assert origin.requests_for("/big")[0].sent < 65536000 // 4


async def test_redirect_loop_fails(origin: Origin, fetcher: Fetcher) -> None:
    origin.set("/a", Response(status=302, body="", headers={"Location": "/b"}))
    origin.set("/b", Response(status=302, body="", headers={"Location": "/a"}))

    result = await fetcher.fetch(origin.url("/a"))

    assert result.failed and result.attempts == 1
    assert result.error == f"too many redirects from {origin.url('/a')}"
    assert len(origin.requests) == 6  # the first request and five redirects, not retried


async def test_redirect_is_followed(origin: Origin, fetcher: Fetcher) -> None:
    origin.set("/old", Response(status=301, body="", headers={"Location": "/new"}))
    origin.set("/new", Response(body=PAGE))

    result = await fetcher.fetch(origin.url("/old"))

    assert result.ok and result.text == PAGE


@pytest.mark.parametrize("body", ["", "  \n\t "])
async def test_empty_body_fails(origin: Origin, fetcher: Fetcher, body: str) -> None:
    origin.set("/story", Response(body=body))

    result = await fetcher.fetch(origin.url("/story"))

    assert result.failed and result.error == "empty body" and result.attempts == 1


# --- charsets ------------------------------------------------------------------------------

CAFE = "Café “quoted” — naïve"
KHERSON = "Херсон"
HEAD = "<html><head>{}</head><body><p>{}</p>"


def _html(meta: str, text: str, encoding: str) -> bytes:
    return HEAD.format(meta, text).encode(encoding)


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (CAFE.encode("cp1252"), "text/plain; charset=windows-1252", CAFE),
        # WHATWG: a page that says latin-1 means windows-1252 (curly quotes, dashes)
        (CAFE.encode("cp1252"), "text/plain; charset=ISO-8859-1", CAFE),
        ("Ã© naïve".encode("latin-1"), 'text/html; charset="latin1"', "Ã© naïve"),  # valid UTF-8 too
        (KHERSON.encode("koi8_r"), "text/plain; charset=KOI8-R", KHERSON),
        (_html('<meta charset="windows-1252">', CAFE, "cp1252"), "text/html", CAFE),
        (_html("<meta charset='iso-8859-1'>", "Ã©", "latin-1"), "text/html", "Ã©"),
        (_html('<meta charset="koi8-r">', KHERSON, "koi8_r"), "text/html", KHERSON),
        (
            _html(
                '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">',
                KHERSON,
                "cp1251",
            ),
            "text/html",
            KHERSON,
        ),
        (_html('<meta charset="koi8-r">', KHERSON, "koi8_r"), None, KHERSON),  # no Content-Type
        (_html('<meta charset="koi8-r">', "é", "utf-8"), "text/html; charset=utf-8", "é"),  # header wins
        (CAFE.encode("cp1252"), "text/plain", CAFE),  # not UTF-8, nothing declared: cp1252
        (CAFE.encode("utf-8"), "text/plain", CAFE),  # nothing declared, valid UTF-8
        (b"\xef\xbb\xbf" + CAFE.encode("utf-8"), "text/plain; charset=windows-1252", CAFE),  # a BOM wins
        (CAFE.encode("utf-16"), None, CAFE),  # BOM, no Content-Type at all
    ],
)
async def test_charsets_decode(
    origin: Origin, fetcher: Fetcher, body: bytes, content_type: str | None, expected: str
) -> None:
    origin.set("/story", Response(body=body, content_type=content_type))

    result = await fetcher.fetch(origin.url("/story"))

    assert result.ok and result.text is not None
    assert result.text.removesuffix("</p>").endswith(expected)
    assert "\ufeff" not in result.text


def test_meta_charset_beyond_2kb_is_ignored() -> None:
    body = b"<html><head>" + b" " * 2100 + b'<meta charset="koi8-r">' + "é".encode()
    assert decode_body(body, "text/html").endswith("é")  # fell back to UTF-8, not koi8-r


@pytest.mark.parametrize("label", ["no-such-codec", "base64", "rot13", "idna", "zlib", "utf-7", ""])
def test_bad_declared_charset_never_raises(label: str) -> None:
    assert decode_body("é".encode(), f"text/plain; charset={label}") in {"é", "\ufffd\ufffd"}


@given(st.binary(max_size=300), st.one_of(st.none(), st.text(max_size=40)))
def test_decode_body_never_raises(body: bytes, content_type: str | None) -> None:
    assert isinstance(decode_body(body, content_type), str)


def test_invalid_utf8_is_replaced_not_raised() -> None:
    assert decode_body(b"\xff\xfe\xfa", "text/plain; charset=utf-8").count("\ufffd") >= 1


# --- local files ---------------------------------------------------------------------------


async def test_local_file_ok_then_not_modified(tmp_path: Path, fetcher: Fetcher) -> None:
    (tmp_path / "story.txt").write_text("Russia Says It Will Retreat From Kherson\n", encoding="utf-8")

    first = await fetcher.fetch("story.txt")  # relative to base_dir
    assert first.ok and first.text == "Russia Says It Will Retreat From Kherson\n"
    assert first.content_type == "text/plain" and first.etag and first.last_modified
    assert first.http_status is None

    again = await fetcher.fetch("story.txt", etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.etag == first.etag

    by_date = await fetcher.fetch("story.txt", last_modified=first.last_modified)
    assert by_date.not_modified


async def test_local_file_change_is_seen(tmp_path: Path, fetcher: Fetcher) -> None:
    path = tmp_path / "story.txt"
    path.write_text("first\n", encoding="utf-8")
    first = await fetcher.fetch(path.as_uri())  # file:// works too
    path.write_text("second\n", encoding="utf-8")
    os.utime(path, (1_700_000_000, 1_700_000_000))  # same or older mtime: the hash still decides

    second = await fetcher.fetch(path.as_uri(), etag=first.etag, last_modified=first.last_modified)

    assert second.ok and second.text == "second\n" and second.etag != first.etag


async def test_missing_file_fails(fetcher: Fetcher) -> None:
    result = await fetcher.fetch("nope/story.txt")

    assert result.failed and result.error is not None
    assert result.error.startswith("cannot read ") and "No such file" in result.error


async def test_oversized_and_empty_files_fail(tmp_path: Path, fetcher: Fetcher) -> None:
    (tmp_path / "big.txt").write_bytes(b"x" * 10_001)
    (tmp_path / "empty.txt").write_bytes(b"\n\n")

    assert (await fetcher.fetch("big.txt")).error == "body larger than 10000 bytes"
    assert (await fetcher.fetch("empty.txt")).error == "empty body"


async def test_seed_snapshot_reads(client: httpx.AsyncClient) -> None:
    seeds = Path(__file__).resolve().parent.parent / "seeds" / "kherson"
    fetcher = Fetcher(client, files_dir=seeds)
    result = await fetcher.fetch(str(seeds / "2022-11-11T0736.txt"))
    assert result.ok and result.text is not None and "Kherson" in result.text


# --- politeness ----------------------------------------------------------------------------


async def test_per_host_cap(origin: Origin, client: httpx.AsyncClient) -> None:
    origin.set("/slow", Response(body=PAGE, delay=0.05))
    fetcher = Fetcher(client, per_host=2)

    results = await asyncio.gather(*(fetcher.fetch(origin.url("/slow")) for _ in range(6)))

    assert all(r.ok for r in results)
    assert len(origin.requests_for("/slow")) == 6
    assert origin.max_in_flight["/slow"] == 2


async def test_user_agent_is_sent(origin: Origin, fetcher: Fetcher) -> None:
    origin.set("/story", Response(body=PAGE))
    await fetcher.fetch(origin.url("/story"))
    assert origin.requests[0].headers["User-Agent"] == "storybot/0.1"


async def _settled(origin: Origin, path: str) -> None:
    """Let the origin notice the hang-up: its handler is still writing when the fetch returns."""
    for _ in range(200):
        if origin.in_flight[path] == 0:
            return
        await asyncio.sleep(0.005)
