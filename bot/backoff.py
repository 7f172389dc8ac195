"""How long to leave a failing story alone: exponential in its consecutive failures.

An origin that is down, refusing us or asking us to slow down should not be polled at full
rate, and a story that works again should be back on its interval at once. Pure: the
scheduler asks and applies the answer.
"""

from __future__ import annotations

MAX_BACKOFF = 3600.0  # seconds: a failing story is still tried at least hourly (or per its interval)
MAX_RETRY_AFTER = 24 * 3600.0  # an origin's "come back later" is honoured up to a day


class FailureBackoff:
    """Consecutive failures per story, and the pause they earn."""

    def __init__(self, cap: float = MAX_BACKOFF):
        self._cap = cap
        self._failures: dict[str, int] = {}

    def failures(self, story_id: str) -> int:
        return self._failures.get(story_id, 0)

    def after_poll(
        self, story_id: str, *, failed: bool, interval: float, retry_after: float | None = None
    ) -> float | None:
        """Seconds until the story's next poll, or None to keep its regular interval.

        The n-th failure in a row waits interval * 2**(n-1), at most max(interval, cap); an
        origin's Retry-After, when longer, wins. A success resets the count."""
        if not failed:
            self._failures.pop(story_id, None)
            return None
        count = self._failures[story_id] = self.failures(story_id) + 1
        return failure_delay(count, interval, retry_after, self._cap)


def failure_delay(
    count: int, interval: float, retry_after: float | None = None, cap: float = MAX_BACKOFF
) -> float:
    """The pause after the `count`-th failure in a row (see `FailureBackoff.after_poll`). Workers
    carry the count in the next poll job, since no process remembers it between jobs."""
    delay = min(interval * 2 ** (count - 1), max(interval, cap))
    return max(delay, min(retry_after or 0.0, MAX_RETRY_AFTER))
