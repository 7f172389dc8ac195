"""Fetch a story's source (an http(s) URL or a local file) as text, politely and safely.

The fetcher is the pipeline's only network boundary. It takes an injected `httpx.AsyncClient`
(see `make_client`) so tests can point it at a loopback origin, and it never raises for
network, HTTP or file problems: every outcome is a `FetchResult` whose `error` says, in one
line, what went wrong. Conditional requests (ETag / Last-Modified) make an unchanged page
cost a 304 and no parsing; local files follow the same rules so demos behave like the web.
"""

from __future__ import annotations

import asyncio
import codecs
import hashlib
import logging
import mimetypes
import os
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from email.utils import formatdate, parsedate_to_datetime
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bot.inflate import ACCEPT_ENCODING, Decoder, UnsupportedEncoding
from bot.localfiles import PathRefused, confined, open_confined, story_path
from bot.netguard import AddressRefused, guarded_transport
from bot.netpolicy import AddressPolicy
from bot.redact import display_url

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))
RETRY_AFTER_STATUSES = frozenset({429, 503})
RETRY_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
META_SNIFF_BYTES = 2048
EMPTY_BODY = "empty body"  # the error of a fetch that worked but brought nothing to read


class FetchStatus(StrEnum):
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One fetch's outcome. `text` and `content_hash` are set only when `ok`; on
    NOT_MODIFIED the validators are the ones the caller sent, so it can keep them."""

    status: FetchStatus
    source: str
    text: str | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    http_status: int | None = None
    error: str | None = None
    attempts: int = 1
    retry_after: float | None = None  # the origin asked for a pause longer than we wait inline

    @property
    def ok(self) -> bool:
        return self.status is FetchStatus.OK

    @property
    def not_modified(self) -> bool:
        return self.status is FetchStatus.NOT_MODIFIED

    @property
    def failed(self) -> bool:
        return self.status is FetchStatus.FAILED


def make_client(
    *,
    timeout: float = 20,
    user_agent: str = "storybot/0.1",
    max_redirects: int = 5,
    policy: AddressPolicy | None = None,
    per_host: int = 4,
) -> httpx.AsyncClient:
    """The one shared client: per-operation timeouts, capped redirects, a bounded pool that
    keeps up to `per_host` connections per host alive (the fetcher's per-host limit, so a
    cycle reuses them), and every connection (each redirect hop's too) checked against
    `policy` (default: public addresses only)."""
    limits = httpx.Limits(max_connections=256, keepalive_expiry=30)
    return httpx.AsyncClient(
        transport=guarded_transport(policy or AddressPolicy(), limits, per_host),
        timeout=httpx.Timeout(timeout),
        follow_redirects=True,
        max_redirects=max_redirects,
        headers={
            "User-Agent": user_agent,
            "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5",
            "Accept-Encoding": ACCEPT_ENCODING,
        },
    )


class _Retry(Exception):
    """An attempt that failed in a way a later attempt may not: say why and how long to wait."""

    def __init__(self, reason: str, *, http_status: int | None = None, wait: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.http_status = http_status
        self.wait = wait


class Fetcher:
    """Fetches sources with conditional GETs, retries, size caps and a per-host concurrency cap.

    `retries` is the number of extra attempts after the first. Waits between attempts go
    through `sleep`, so tests can record them instead of waiting. `deadline` bounds a whole
    fetch (connects, redirects, bodies, retries and waits): the client's timeouts bound each
    read only, so a server dripping a byte a second needs it. A `Retry-After` longer than
    `max_retry_after` is not waited for: the result carries it for the scheduler instead.
    Local files are read only from inside `files_dir` (default: `base_dir`).
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_dir: Path = Path("."),
        files_dir: Path | None = None,
        max_bytes: int = 5_000_000,
        per_host: int = 4,
        retries: int = 3,
        backoff: float = 1.0,
        max_retry_after: float = 10,
        deadline: float = 30,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self._client = client
        self._base_dir = base_dir
        self._files_dir = files_dir or base_dir
        self._max_bytes = max_bytes
        self._per_host = per_host
        self._retries = retries
        self._backoff = backoff
        self._max_retry_after = max_retry_after
        self._deadline = deadline
        self._sleep = sleep
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def fetch(
        self, source: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """Fetch `source`. Never raises for network, HTTP or I/O problems: see `error`."""
        if source.startswith(("http://", "https://")):
            result = await self._fetch_url(source, etag, last_modified)
        else:
            result = await self._fetch_file(source, etag, last_modified)
        if result.failed:
            log.warning(
                "fetch failed: %s: %s (%d attempts)", display_url(source), result.error, result.attempts
            )
        return result

    # --- http --------------------------------------------------------------------------

    async def _fetch_url(self, url: str, etag: str | None, last_modified: str | None) -> FetchResult:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        host = urlsplit(url).netloc.rpartition("@")[2].lower()
        gate = self._hosts.setdefault(host, asyncio.Semaphore(self._per_host))
        attempts = 0
        loop = asyncio.get_running_loop()
        # the deadline bounds the fetch, not its wait behind the host's other fetches: with
        # thousands of stories on one host a cycle queues far longer than one fetch may take
        await gate.acquire()
        held = True
        give_up_at = loop.time() + self._deadline
        try:
            async with asyncio.timeout_at(give_up_at):
                while True:
                    attempts += 1
                    try:
                        if not held:
                            await gate.acquire()
                            held = True
                        try:
                            result = await self._attempt(url, headers, etag, last_modified)
                        finally:
                            gate.release()
                            held = False
                        return replace(result, attempts=attempts)
                    except _Retry as retry:
                        if retry.wait is not None and retry.wait > self._max_retry_after:
                            return _failed(
                                url,
                                f"{retry.reason}: asked to come back in {retry.wait:g}s",
                                retry.http_status,
                                attempts=attempts,
                                retry_after=retry.wait,
                            )
                        delay = self._delay(attempts, retry.wait)
                        if attempts > self._retries or loop.time() + delay >= give_up_at:
                            return _failed(url, retry.reason, retry.http_status, attempts=attempts)
                        log.debug("retrying %s in %.1fs: %s", display_url(url), delay, retry.reason)
                        await self._sleep(delay)
        except TimeoutError:
            where = urlsplit(url).hostname
            return _failed(
                url, f"no complete answer from {where} within {self._deadline:g}s", None, attempts=attempts
            )
        except AddressRefused as err:
            return _failed(url, str(err), None, attempts=attempts)
        except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as err:
            return _failed(url, _describe(err, url, self._client), None, attempts=attempts)
        finally:
            if held:
                gate.release()

    def _delay(self, attempt: int, asked: float | None) -> float:
        """The server's Retry-After when it gave one (capped), else exponential backoff + jitter."""
        if asked is not None:
            return max(asked, 0.0)
        base = self._backoff * 2 ** (attempt - 1)
        return base + random.uniform(0, base / 10)

    async def _attempt(
        self, url: str, headers: dict[str, str], etag: str | None, last_modified: str | None
    ) -> FetchResult:
        """One GET. Returns a final result, or raises `_Retry` when another attempt may help."""
        try:
            async with self._client.stream("GET", url, headers=headers) as response:
                return await self._read(url, response, etag, last_modified)
        except RETRY_ERRORS as err:
            raise _Retry(_describe(err, url, self._client)) from None

    async def _read(
        self, url: str, response: httpx.Response, etag: str | None, last_modified: str | None
    ) -> FetchResult:
        status, host = response.status_code, response.url.host
        if status == 304 and (etag or last_modified):
            return FetchResult(
                FetchStatus.NOT_MODIFIED, url, etag=etag, last_modified=last_modified, http_status=304
            )
        if status in RETRY_STATUSES:
            wait = _retry_after(response) if status in RETRY_AFTER_STATUSES else None
            raise _Retry(f"HTTP {status} from {host}", http_status=status, wait=wait)
        if not 200 <= status < 300:
            return _failed(url, f"HTTP {status} from {host}", status)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            return _failed(
                url, f"body larger than {self._max_bytes} bytes (Content-Length {declared})", status
            )
        try:
            body = await self._body(response)
        except UnsupportedEncoding as err:
            return _failed(url, f"{err} from {host}", status)
        except ValueError as err:  # corrupt compressed data: the same bytes will not get better
            return _failed(url, f"{err} from {host}", status)
        if body is None:
            return _failed(url, f"body larger than {self._max_bytes} bytes", status)
        content_type = response.headers.get("Content-Type")
        return _decoded(
            url,
            bytes(body),
            content_type,
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            http_status=status,
        )

    async def _body(self, response: httpx.Response) -> bytes | None:
        """The decoded body, or None past `max_bytes` (counted after decompression, and
        decompressed a bounded piece at a time, so a compression bomb stops at the cap)."""
        decoder = Decoder(response.headers.get("Content-Encoding", ""))
        body = bytearray()
        received = 0
        async for chunk in response.aiter_raw():
            received += len(chunk)
            for piece in decoder.feed(chunk):
                body += piece
                if len(body) > self._max_bytes:
                    return None
            if received > self._max_bytes:
                return None
        return bytes(body)

    # --- local files -------------------------------------------------------------------

    async def _fetch_file(self, source: str, etag: str | None, last_modified: str | None) -> FetchResult:
        """Read a local file with HTTP's conditional semantics: content hash as ETag, mtime as
        Last-Modified, so an unchanged file comes back NOT_MODIFIED."""
        try:
            path = confined(story_path(source, self._base_dir), self._files_dir)
        except PathRefused as err:
            return _failed(source, str(err), None)
        try:
            data, mtime = await asyncio.to_thread(_read_file, path, self._max_bytes)
        except _TooLarge:
            return _failed(source, f"body larger than {self._max_bytes} bytes", None)
        except OSError as err:
            return _failed(source, f"cannot read {path}: {err.strerror or err}", None)
        tag = f'"{_hash(data)}"'
        modified = formatdate(mtime, usegmt=True)
        if _file_not_modified(tag, mtime, etag, last_modified):
            return FetchResult(
                FetchStatus.NOT_MODIFIED, source, etag=etag or tag, last_modified=last_modified or modified
            )
        content_type = mimetypes.guess_type(path.name)[0] or "text/plain"
        return _decoded(source, data, content_type, etag=tag, last_modified=modified, http_status=None)


class _TooLarge(Exception):
    pass


def _read_file(path: Path, max_bytes: int) -> tuple[bytes, float]:
    with open(open_confined(path), "rb") as f:
        mtime = os.fstat(f.fileno()).st_mtime  # the stat of the file we read, not of a later replacement
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _TooLarge
    return data, mtime


def _file_not_modified(tag: str, mtime: float, etag: str | None, last_modified: str | None) -> bool:
    if etag:
        return etag == tag
    if last_modified:
        since = _http_date(last_modified)
        return since is not None and int(mtime) <= since
    return False


# --- results and decoding --------------------------------------------------------------


def _decoded(
    source: str,
    body: bytes,
    content_type: str | None,
    *,
    etag: str | None,
    last_modified: str | None,
    http_status: int | None,
) -> FetchResult:
    text = decode_body(body, content_type)
    if not text.strip():
        return _failed(source, EMPTY_BODY, http_status)
    return FetchResult(
        FetchStatus.OK,
        source,
        text=text,
        content_type=content_type,
        etag=etag,
        last_modified=last_modified,
        content_hash=_hash(text.encode()),
        http_status=http_status,
    )


def _failed(
    source: str, error: str, http_status: int | None, *, attempts: int = 1, retry_after: float | None = None
) -> FetchResult:
    return FetchResult(
        FetchStatus.FAILED,
        source,
        error=error,
        http_status=http_status,
        attempts=attempts,
        retry_after=retry_after,
    )


def _hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]*?\sencoding\s*=\s*["']([\w.:-]+)["']""")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
# Browsers read these labels as windows-1252 (WHATWG Encoding); pages that say latin-1 mean it.
_AS_CP1252 = {"iso8859-1", "latin-1", "ascii"}
_UNTYPED = {"application/octet-stream", "text/plain", "binary/octet-stream"}


def decode_body(body: bytes, content_type: str | None) -> str:
    """Bytes -> text, never raising: BOM, then the header's charset, then an XML declaration's
    encoding (feeds, XHTML) or an HTML <meta> in the first 2 KB, then UTF-8 if it decodes,
    else windows-1252."""
    for bom, bom_codec in _BOMS:
        if body.startswith(bom):
            return body.decode(bom_codec, errors="replace")
    declared = _HEADER_CHARSET.search(content_type or "")
    encoding = _codec(declared.group(1)) if declared else None
    if encoding is None and (xml := _XML_ENCODING.match(body.lstrip()[:META_SNIFF_BYTES])):
        encoding = _codec(xml.group(1).decode("ascii"))
    if encoding is None and _looks_html(body, content_type):
        meta = _META_CHARSET.search(body[:META_SNIFF_BYTES])
        encoding = _codec(meta.group(1).decode("ascii")) if meta else None
    if encoding is not None:
        try:
            return body.decode(encoding, errors="replace")
        except (UnicodeError, LookupError):  # base64, rot13...: not text; idna: no "replace"
            pass
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace")


def _codec(label: str) -> str | None:
    """A text codec's canonical name for a charset label, or None when Python has none."""
    try:
        info = codecs.lookup(label)
    except LookupError:
        return None
    return "cp1252" if info.name in _AS_CP1252 else info.name


def _looks_html(body: bytes, content_type: str | None) -> bool:
    """HTML by its type, or by its first byte when the type says nothing useful."""
    media = (content_type or "").partition(";")[0].strip().lower()
    if media and media not in _UNTYPED:
        return "html" in media
    return body.lstrip()[:1] == b"<"


# --- retry timing and error text -------------------------------------------------------


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header: a number, or an HTTP-date measured from the
    response's own Date (so our clock's skew does not matter) or else from our clock."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    until = _http_date(value)
    if until is None:
        return None
    now = _http_date(response.headers.get("Date", "")) or time.time()
    return max(0.0, until - now)


def _http_date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def _describe(err: Exception, url: str, client: httpx.AsyncClient) -> str:
    """One line a person can act on, with no credentials or query string in it."""
    where = display_url(url)
    timeout = client.timeout
    if isinstance(err, httpx.ConnectTimeout):
        return f"timed out after {timeout.connect:g}s connecting to {where}"
    if isinstance(err, httpx.ReadTimeout):
        return f"timed out after {timeout.read:g}s reading {where}"
    if isinstance(err, httpx.TimeoutException):
        return f"timed out fetching {where}"
    if isinstance(err, httpx.TooManyRedirects):
        return f"too many redirects from {where}"
    if isinstance(err, httpx.RemoteProtocolError):
        return f"incomplete response from {where}: {_one_line(err)}"
    if isinstance(err, httpx.ConnectError):
        return f"cannot connect to {where}: {_one_line(err)}"
    return f"{type(err).__name__} fetching {where}: {_one_line(err)}"


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())[:200] or type(err).__name__
