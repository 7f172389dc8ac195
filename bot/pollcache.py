"""What the cheap path of a poll keeps between polls: validators per story, batched check times.

A 304 (or a 200 with the same bytes) is most polls. It should cost the fetch and nothing
else: no stored story loaded (`ValidatorCache` keeps each story's ETag, Last-Modified and
content hash; the story is loaded only on a 200 with new bytes) and no transaction of its own
(`CheckBatch` writes check times together, at most a second late). Only bookkeeping is
deferred: versions, failures and events are recorded at once, one transaction each.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from bot.storage import Store, StoreError, Validators

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
FLUSH_SIZE = 1000


class ValidatorCache:
    """Story id -> the validators of its newest good version, read from the store on a miss.

    `remember=False` asks the store every time: for processes that share a store (workers),
    where another process may record a version this one has not seen."""

    def __init__(self, *, remember: bool = True):
        self._remember = remember
        self._known: dict[str, Validators | None] = {}

    async def get(self, story_id: str, store: Store) -> Validators | None:
        if story_id in self._known:
            return self._known[story_id]
        found = await store.last_validators(story_id)
        if self._remember:
            self._known[story_id] = found
        return found

    def put(self, story_id: str, validators: Validators) -> None:
        """The story's newest good version, just recorded by this process."""
        if self._remember:
            self._known[story_id] = validators

    def forget(self, story_id: str) -> None:
        """The story has a new version (or may have): read it from the store next time."""
        self._known.pop(story_id, None)

    def forget_all(self) -> None:
        """The catalog changed (a story re-tracked or pointed at another page has no diff base
        any more, bot.storage.baseline): read every story's from the store next time."""
        self._known.clear()


class CheckBatch:
    """`record_checked` calls gathered and written with `Store.record_checks`, FLUSH_SIZE at a
    time or FLUSH_SECONDS after the first waiting one, whichever comes first. A crash loses
    at most those check times (the contract says so); `close` writes what is waiting."""

    def __init__(self, store: Store, *, seconds: float = FLUSH_SECONDS, size: int = FLUSH_SIZE):
        self._store = store
        self._seconds = seconds
        self._size = size
        self._waiting: dict[str, datetime] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()

    def add(self, story_id: str, at: datetime) -> None:
        self._waiting[story_id] = at
        if len(self._waiting) >= self._size:
            self._start_flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._seconds, self._start_flush)

    def drop(self, story_id: str) -> None:
        """A later outcome is being recorded for the story: its waiting check must not follow
        it and clear the fault marks that outcome sets."""
        self._waiting.pop(story_id, None)

    def _start_flush(self) -> None:
        task = asyncio.get_running_loop().create_task(self.flush())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._waiting = list(self._waiting.items()), {}
        if not batch:
            return
        try:
            await self._store.record_checks(batch)
        except StoreError as err:  # bookkeeping only: the next poll records the story again
            log.warning("could not record %d check time(s): %s", len(batch), err)

    async def close(self) -> None:
        """Write what is waiting, after any flush under way."""
        await asyncio.gather(*self._flushes, return_exceptions=True)
        await self.flush()
