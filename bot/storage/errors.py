"""What a store raises, whichever database is behind it."""

from __future__ import annotations


class StoreError(Exception):
    """The database cannot be opened or written. The message names the database as shown to
    people (no password) and says what is wrong, so the CLI can print it and exit."""


class StaleBase(Exception):
    """The version a poll diffed against is no longer the story's latest good version: another
    poll recorded first. Nothing was recorded; the poll is dropped and a later one retries."""

    def __init__(self, story_id: str, base_id: int | None, latest_id: int | None):
        self.story_id, self.base_id, self.latest_id = story_id, base_id, latest_id
        super().__init__(f"story {story_id}: diffed against version {base_id}, but the latest is {latest_id}")
