"""The Discord platform: /story as a slash command and alerts as embeds (discord.py 2.x).

The registry calls `validate` on the `[discord]` table, `build` when the token is in the
environment, and `add_cli` for `storybot discord invite-url|sync`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.discord.cli import add_cli
from adapters.discord.client import DiscordAdapter, DiscordStartError
from adapters.discord.settings import (
    DiscordSettings,
    channel_problem,
    missing_secrets,
    parse_settings,
    settings_from,
)
from bot.commands import Commands

PLATFORM = "discord"


def validate(table: dict[str, Any]) -> list[str]:
    """Problems in the `[discord]` table, each `discord.<key>: what is wrong`."""
    return parse_settings(table)[1]


def unset_secrets(table: dict[str, Any], env: Mapping[str, str]) -> list[str]:
    """The token variable, when it is not set (then Discord does not start)."""
    settings, _ = parse_settings(table)
    return missing_secrets(settings, env) if settings is not None else []


def build(
    table: dict[str, Any], commands: Commands, env: Mapping[str, str], *, listen: bool = True
) -> DiscordAdapter | None:
    """The adapter, or None when the token variable is not set (then Discord is skipped).
    listen=False: REST only, for alerts; the gateway (/story) runs in one front process."""
    settings = settings_from(table)
    token = env.get(settings.token_env, "").strip()
    if not token:
        return None
    return DiscordAdapter(commands, settings, token, listen=listen)


__all__ = [
    "PLATFORM",
    "DiscordAdapter",
    "DiscordSettings",
    "DiscordStartError",
    "add_cli",
    "build",
    "channel_problem",
    "settings_from",
    "unset_secrets",
    "validate",
]
