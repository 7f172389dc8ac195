"""Console adapter: prints alerts and answers /story typed at a prompt.

A terminal keeps nothing to look in, so `find_sent` never finds an earlier post: after a hard
kill between printing an alert and recording it, the alert is printed again (at least once).
Nor can it change what it printed: a correction prints a "corrected" line and the alert as it
now reads.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime

from rich.console import Console

from adapters.base import ChatAdapter
from adapters.console.render import alert_to_panel, notice_to_panel, reply_to_panel
from bot.commands import Caller, Commands
from bot.models import Alert, Notice, Reply
from bot.ports import Posted

PROMPT = "storybot> "


class ConsoleAdapter(ChatAdapter):
    """Every console channel is the terminal; the channel name is shown with each alert."""

    platform = "console"

    def __init__(self, commands: Commands, *, console: Console | None = None, width: int | None = None):
        super().__init__(commands)
        self.console = console or Console(width=width, highlight=False, soft_wrap=False)
        self._sent = 0

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def send_alert(
        self, channel: str, alert: Alert | Notice, thread_id: str | None, *, key: str | None = None
    ) -> Posted:
        self._sent += 1
        self.console.print(f"[dim]#{channel}[/dim]")
        self.console.print(notice_to_panel(alert) if isinstance(alert, Notice) else alert_to_panel(alert))
        return Posted(message_id=f"console-{self._sent}")

    async def edit_alert(
        self, channel: str, message_id: str, alert: Alert, *, thread_id: str | None = None
    ) -> None:
        """A terminal cannot change what it printed: say which alert is corrected, and print
        it as it now reads."""
        self.console.print(f"[dim]#{channel}[/dim] corrected {message_id}:")
        self.console.print(alert_to_panel(alert))

    async def find_sent(
        self, channel: str, key: str, thread_id: str | None, since: datetime
    ) -> Posted | None:
        return None  # nothing printed can be read back

    async def ask(self, line: str, user: str = "local") -> Reply:
        """Answer one typed line such as '/story kherson' (the '/story' is optional)."""
        text = line.strip()
        if text.casefold().startswith("/story"):
            text = text[len("/story") :]
        reply = await self.commands.handle(text, Caller(self.platform, user, "terminal"))
        self.console.print(reply_to_panel(reply))
        return reply

    async def chat(self) -> None:
        """A prompt loop until EOF, 'quit' or 'exit'."""
        loop = asyncio.get_running_loop()
        self.console.print("Type /story <name>, /story list, /story help; Ctrl-D to leave.")
        while True:
            try:
                line = await loop.run_in_executor(None, _read_line)
            except EOFError:
                return
            if line.strip().casefold() in {"quit", "exit"}:
                return
            if line.strip():
                await self.ask(line)


def _read_line() -> str:
    if sys.stdin.isatty():
        return input(PROMPT)
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line
