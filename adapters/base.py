"""The contract every platform adapter keeps.

An adapter owns one platform connection. The app starts it, hands it the core's command
handler, lets the dispatcher call `send_alert`, and closes it. Rendering lives in pure
functions beside each adapter (`alert_to_blocks`, `alert_to_embed`, `alert_to_text`).
"""

from __future__ import annotations

import abc
from datetime import datetime

from bot.commands import Commands
from bot.models import Alert, Notice
from bot.ports import Posted


class ChatAdapter(abc.ABC):
    """One platform: connect, listen for /story, post alerts, disconnect."""

    platform: str

    def __init__(self, commands: Commands) -> None:
        self.commands = commands

    @abc.abstractmethod
    async def start(self) -> None:
        """Connect and begin answering commands. Returns once connected; raise on bad credentials."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Disconnect; safe to call twice."""

    @abc.abstractmethod
    async def send_alert(
        self, channel: str, alert: Alert | Notice, thread_id: str | None, *, key: str | None = None
    ) -> Posted:
        """Post an alert (or an admin notice) carrying `key` (see bot.ports.AlertSender). Raise
        bot.ports.DeliveryError."""

    @abc.abstractmethod
    async def edit_alert(
        self, channel: str, message_id: str, alert: Alert, *, thread_id: str | None = None
    ) -> None:
        """Rewrite a posted alert (see bot.ports.AlertSender). Raise bot.ports.DeliveryError."""

    @abc.abstractmethod
    async def find_sent(
        self, channel: str, key: str, thread_id: str | None, since: datetime
    ) -> Posted | None:
        """The post carrying `key`, if the platform has it (see bot.ports.AlertSender)."""
