"""How long to leave a failing story alone: exponential in its consecutive failures.

An origin that is down, refusing us or asking us to slow down should not be polled at full
rate, and a story that works again should be back on its interval at once. Pure: the
count of failures in a row lives in the store (so a restart or another worker continues it),
the poll reports it, and the scheduler or the worker's poll job applies the delay.
"""

from __future__ import annotations

MAX_BACKOFF = 3600.0  # seconds: a failing story is still tried at least hourly (or per its interval)
MAX_RETRY_AFTER = 24 * 3600.0  # an origin's "come back later" is honoured up to a day


def failure_delay(
    count: int, interval: float, retry_after: float | None = None, cap: float = MAX_BACKOFF
) -> float:
    """The wait after the `count`-th failure in a row: interval * 2**(count-1), at most
    max(interval, cap); an origin's Retry-After, when longer, wins (up to a day)."""
    delay = min(interval * 2 ** (count - 1), max(interval, cap))
    return max(delay, min(retry_after or 0.0, MAX_RETRY_AFTER))
