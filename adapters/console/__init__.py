"""The console platform: alerts and replies in the terminal. Needs no tokens."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.console.adapter import ConsoleAdapter
    from bot.commands import Commands

PLATFORM = "console"


def __getattr__(name: str) -> Any:
    """The adapter (rich, the core's commands) loads when used: `storybot check` needs only `validate`."""
    if name == "ConsoleAdapter":
        from adapters.console.adapter import ConsoleAdapter

        return ConsoleAdapter
    raise AttributeError(name)


def validate(table: dict[str, Any]) -> list[str]:
    unknown = sorted(set(table) - {"width"})
    problems = [f"console.{key}: unknown key" for key in unknown]
    width = table.get("width")
    if width is not None and (not isinstance(width, int) or not 40 <= width <= 400):
        problems.append(f"console.width: must be a whole number from 40 to 400 (got {width!r})")
    return problems


def channel_problem(channel_id: str) -> str | None:
    return None  # a console channel is any name: the terminal shows it above each alert


def role_problem(role_id: str) -> str | None:
    """console callers carry no roles: a role here can never match."""
    return "console has no roles; list its users in managers"


def unset_secrets(table: dict[str, Any], env: Mapping[str, str]) -> list[str]:
    return []  # the console needs none


def build(
    table: dict[str, Any], commands: Commands, env: Mapping[str, str], *, listen: bool = True
) -> ConsoleAdapter:
    from adapters.console.adapter import ConsoleAdapter

    return ConsoleAdapter(commands, width=table.get("width"))


__all__ = [
    "PLATFORM",
    "ConsoleAdapter",
    "build",
    "channel_problem",
    "role_problem",
    "unset_secrets",
    "validate",
]
