"""Pause points a fake can put on its own requests, so a test can kill the client at one.

The crash tests need a bot process stopped at an exact moment of a fan-out: before a post
reaches the platform, or after the platform kept it but before the bot heard back. Holding
the request inside the fake gives that moment without a hook in the bot's own code.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Literal

# received: the request arrived and is paused before the platform acts on it; once released
#           it is dropped, as if the connection had died on the way in.
# answered: the platform acted on it (the message exists) and the answer is paused.
Stage = Literal["received", "answered"]


@dataclass
class Hold:
    """Pause the `nth` matching request (counting from 1) at `stage` until `release()`."""

    nth: int
    stage: Stage
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self.released.set()

    async def wait_reached(self, timeout: float = 30.0) -> None:
        await asyncio.wait_for(self.reached.wait(), timeout)


class Holds:
    """The holds set on one kind of request, and how many of those requests have arrived."""

    def __init__(self) -> None:
        self.seen = 0
        self._holds: list[Hold] = []

    def add(self, nth: int, stage: Stage) -> Hold:
        hold = Hold(nth, stage)
        self._holds.append(hold)
        return hold

    def arrive(self) -> Hold | None:
        """Count one request; the hold set on it, if any."""
        self.seen += 1
        return next((h for h in self._holds if h.nth == self.seen), None)

    def release_all(self) -> None:
        for hold in self._holds:
            hold.release()


async def pause(hold: Hold | None, stage: Stage) -> bool:
    """Wait at `stage` if `hold` is set there. True when the request must be dropped."""
    if hold is None or hold.stage != stage:
        return False
    hold.reached.set()
    await hold.released.wait()
    return stage == "received"


class HoldingFake:
    """The hold points a fake offers the crash tests: its message posts, its message edits and
    the first call a client makes (its login). Each fake counts its own requests into the three
    `Holds` (`arrive()`) and pauses there (`pause()`); each `nth` counts from when it is set."""

    def __init__(self) -> None:
        self._post_holds = Holds()
        self._edit_holds = Holds()
        self._login_holds = Holds()

    def hold_post(self, nth: int, stage: Stage) -> Hold:
        """Pause the `nth` message post from now on."""
        return self._post_holds.add(self._post_holds.seen + nth, stage)

    def hold_edit(self, nth: int, stage: Stage) -> Hold:
        """Pause the `nth` message edit from now on."""
        return self._edit_holds.add(self._edit_holds.seen + nth, stage)

    def hold_login(self) -> Hold:
        """Pause the next login call, the first call a client makes, and drop it."""
        return self._login_holds.add(self._login_holds.seen + 1, "received")

    def release_holds(self) -> None:
        self._post_holds.release_all()
        self._edit_holds.release_all()
        self._login_holds.release_all()
