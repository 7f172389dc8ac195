"""Faults that recur every poll (a full disk, a read-only database) told once, not per poll.

A scheduler that logs each failed job prints a traceback per story per interval: hundreds of
lines that bury the one thing an operator needs, which is what broke and since when. This
remembers each story's current fault and logs only when it starts, changes or clears.
"""

from __future__ import annotations

import logging


class FaultLog:
    """One error line when a story's fault begins or changes, one info line when it clears."""

    def __init__(self, logger: logging.Logger):
        self._log = logger
        self._current: dict[str, str] = {}

    def failed(self, story_id: str, error: str) -> None:
        if self._current.get(story_id) != error:
            self._log.error(
                "story %s: cannot store its polls (%s); polling goes on, nothing is recorded or "
                "alerted until this is fixed",
                story_id,
                error,
            )
            self._current[story_id] = error

    def recovered(self, story_id: str) -> None:
        if self._current.pop(story_id, None) is not None:
            self._log.info("story %s: storing polls again", story_id)
