"""Undo HTTP content codings (gzip, deflate) a bounded piece at a time.

A 2 KB gzip-of-gzip body can inflate to a gibibyte, and a decoder asked for "everything this
chunk holds" allocates all of it at once. These decoders never return more than `PIECE`
bytes per step, so the fetcher can count what comes out and stop at its cap with memory
flat. Codings we do not ask for (br, zstd, ...) are refused rather than passed on undecoded.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

PIECE = 64 * 1024
ACCEPT_ENCODING = "gzip, deflate"


class UnsupportedEncoding(ValueError):
    """The response uses a content coding storybot does not decode."""


class _Inflater:
    """One zlib stream (gzip or deflate, with or without the zlib header), inflated in pieces."""

    def __init__(self, coding: str):
        self._gzip = coding in {"gzip", "x-gzip"}
        self._zlib: zlib._Decompress | None = zlib.decompressobj(16 + zlib.MAX_WBITS) if self._gzip else None

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._zlib is None:  # deflate: servers send it with and without the zlib header
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS if _has_zlib_header(data) else -zlib.MAX_WBITS)
        inflater = self._zlib
        while True:
            if inflater.eof and self._gzip and inflater.unused_data:  # concatenated gzip members
                data, inflater = inflater.unused_data + data, zlib.decompressobj(16 + zlib.MAX_WBITS)
                self._zlib = inflater
            try:
                out = inflater.decompress(data, PIECE)
            except zlib.error as err:
                raise ValueError(f"corrupt compressed body: {err}") from None
            data = inflater.unconsumed_tail
            if out:
                yield out
            if not data and len(out) < PIECE:  # a full piece may leave output inside zlib
                return


class Decoder:
    """The codings of one `Content-Encoding` header, undone in reverse order, piece by piece."""

    def __init__(self, content_encoding: str):
        codings = [c.strip().lower() for c in content_encoding.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        unknown = [c for c in codings if c not in {"gzip", "x-gzip", "deflate"}]
        if unknown:
            raise UnsupportedEncoding(f"unsupported content encoding {', '.join(unknown)}")
        self._stages = [_Inflater(c) for c in reversed(codings)]

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded bytes `data` yields, in pieces of at most PIECE bytes."""
        return self._through(0, data)

    def _through(self, stage: int, data: bytes) -> Iterator[bytes]:
        if stage == len(self._stages):
            if data:
                yield data
            return
        for piece in self._stages[stage].feed(data):
            yield from self._through(stage + 1, piece)


def _has_zlib_header(data: bytes) -> bool:
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
