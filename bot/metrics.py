"""The seam the pipeline and the dispatcher report through: what happened, never how it is exported.

The core calls a `Metrics`; by default one that keeps nothing. `storybot run` with
`[storybot] metrics` set hands in bot.observe's Prometheus one instead, so no core module
imports prometheus-client, and a poll or a send costs nothing extra when metrics are off.
"""

from __future__ import annotations


class Metrics:
    """What the core reports. The base keeps nothing; a subclass exports it."""

    def fetched(self, seconds: float, *, ok: bool) -> None:
        """A fetch (retries included) ended after `seconds`; `ok`: a page or a 304 came back."""

    def polled(self, story_id: str, outcome: str) -> None:
        """A poll of `story_id` ended as `outcome` (a bot.pipeline.PollStatus value)."""

    def alert_sent(self, platform: str, kind: str) -> None:
        """A delivery of `kind` (alert, notice, edit, note, catch_up, digest) reached a channel
        of `platform` (or was found there after a crash)."""

    def alert_failed(self, platform: str, kind: str) -> None:
        """A delivery of `kind` to a channel of `platform` failed for good (no retry will be made)."""

    def forget(self, story_ids: set[str]) -> None:
        """Only these stories are tracked now: drop what is kept about any other."""


NO_METRICS = Metrics()


LOOPBACK = "127.0.0.1"


def listen_address(text: str) -> tuple[str, int]:
    """`[storybot] metrics` as (host, port): "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464",
    or a bare port ("9464", ":9464"), served on loopback. ValueError says what is wrong."""
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        host, port = "", text.strip()
    host = host.strip("[]") or LOOPBACK
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r} is not 'host:port' (e.g. '127.0.0.1:9464'); the port must be 0-65535")
    if any(c.isspace() or c in "/@?#" for c in host):
        raise ValueError(f"{text!r}: the host must be an address or a name, e.g. '127.0.0.1'")
    return host, int(port)
