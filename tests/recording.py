"""An in-process AlertSender that records what it is asked to post (the core's test platform).

Like Slack and Discord it keeps each post's delivery key and `find_sent` reads them back;
`keeps_keys=False` makes it a platform with nothing to look in, like the console.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from bot.models import Alert
from bot.ports import DeliveryError, Posted


@dataclass
class RecordingSender:
    """Posts into lists. `failures` maps a channel to errors raised on its next sends, in turn."""

    platform: str = "rec"
    threads: bool = False
    posted: list[tuple[str, Alert, str | None]] = field(default_factory=list)
    failures: dict[str, list[DeliveryError]] = field(default_factory=dict)
    keys: dict[str, Posted] = field(default_factory=dict)  # delivery key -> where its post landed
    keeps_keys: bool = True
    lookups: list[str] = field(default_factory=list)  # keys find_sent was asked about
    edits: list[tuple[str, str, Alert]] = field(default_factory=list)  # (channel, message id, alert)
    gone: set[str] = field(default_factory=set)  # message ids deleted: editing them fails for good
    lookup_failures: list[DeliveryError] = field(default_factory=list)  # raised by the next lookups
    gate: asyncio.Event | None = None  # when set, each send waits for it
    started: bool = False
    closed: bool = False

    async def start(self) -> None:
        self.started = True

    async def close(self) -> None:
        self.closed = True

    async def send_alert(
        self, channel: str, alert: Alert, thread_id: str | None, *, key: str | None = None
    ) -> Posted:
        if self.gate is not None:
            await self.gate.wait()
        pending = self.failures.get(channel)
        if pending:
            raise pending.pop(0)
        self.posted.append((channel, alert, thread_id))
        message_id = f"{channel}-{len(self.posted)}"
        posted = Posted(message_id, (thread_id or message_id) if self.threads else None)
        if key is not None and self.keeps_keys:
            self.keys[key] = posted
        return posted

    async def find_sent(
        self, channel: str, key: str, thread_id: str | None, since: datetime
    ) -> Posted | None:
        self.lookups.append(key)
        if self.lookup_failures:
            raise self.lookup_failures.pop(0)
        return self.keys.get(key)

    async def edit_alert(
        self, channel: str, message_id: str, alert: Alert, *, thread_id: str | None = None
    ) -> None:
        if message_id in self.gone:
            raise DeliveryError(f"{channel}: message {message_id} not found", permanent=True)
        self.edits.append((channel, message_id, alert))

    def channels(self) -> list[str]:
        return [channel for channel, _, _ in self.posted]
