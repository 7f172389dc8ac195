"""An in-process AlertSender that records what it is asked to post (the core's test platform)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.models import Alert
from bot.ports import DeliveryError, Posted


@dataclass
class RecordingSender:
    """Posts into lists. `failures` maps a channel to errors raised on its next sends, in turn."""

    platform: str = "rec"
    threads: bool = False
    posted: list[tuple[str, Alert, str | None]] = field(default_factory=list)
    failures: dict[str, list[DeliveryError]] = field(default_factory=dict)
    gate: asyncio.Event | None = None  # when set, each send waits for it
    started: bool = False
    closed: bool = False

    async def start(self) -> None:
        self.started = True

    async def close(self) -> None:
        self.closed = True

    async def send_alert(self, channel: str, alert: Alert, thread_id: str | None) -> Posted:
        if self.gate is not None:
            await self.gate.wait()
        pending = self.failures.get(channel)
        if pending:
            raise pending.pop(0)
        self.posted.append((channel, alert, thread_id))
        message_id = f"{channel}-{len(self.posted)}"
        return Posted(message_id, (thread_id or message_id) if self.threads else None)

    def channels(self) -> list[str]:
        return [channel for channel, _, _ in self.posted]
