"""The Discord platform: /story as a slash command and alerts as embeds (discord.py 2.x).

The registry calls `validate` on the `[discord]` table, `build` when the token is in the
environment, and `add_cli` for `storybot discord invite-url|sync`.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.discord.client import DiscordAdapter, DiscordStartError
    from adapters.discord.settings import DiscordSettings, settings_from
    from bot.commands import Commands
    from bot.config import Config

PLATFORM = "discord"


def __getattr__(name: str) -> Any:
    """discord.py is imported only when the adapter is used, so `storybot --help` and
    `storybot check` start fast (validating `[discord]` needs only the settings)."""
    if name in ("DiscordAdapter", "DiscordStartError"):
        from adapters.discord import client

        return getattr(client, name)
    if name in ("DiscordSettings", "settings_from"):
        from adapters.discord import settings

        return getattr(settings, name)
    raise AttributeError(name)


def validate(table: dict[str, Any]) -> list[str]:
    """Problems in the `[discord]` table, each `discord.<key>: what is wrong`."""
    from adapters.discord.settings import parse_settings

    return parse_settings(table)[1]


def channel_problem(channel_id: str) -> str | None:
    """Why `channel_id` is no Discord channel id (a name given for it), or None."""
    from adapters.discord.settings import channel_problem as problem

    return problem(channel_id)


def role_problem(role_id: str) -> str | None:
    """Why `role_id` is no Discord role id (a snowflake: digits only), or None."""
    if role_id.isascii() and role_id.isdigit() and 0 < int(role_id) < 2**64:
        return None
    return f"{role_id!r} is not a Discord role id: give the id (digits), not its name"


def unset_secrets(table: dict[str, Any], env: Mapping[str, str]) -> list[str]:
    """The token variable, when it is not set (then Discord does not start)."""
    from adapters.discord.settings import missing_secrets, parse_settings

    settings, _ = parse_settings(table)
    return missing_secrets(settings, env) if settings is not None else []


def build(
    table: dict[str, Any], commands: Commands, env: Mapping[str, str], *, listen: bool = True
) -> DiscordAdapter | None:
    """The adapter, or None when the token variable is not set (then Discord is skipped).
    listen=False: REST only, for alerts; the gateway (/story) runs in one front process."""
    from adapters.discord.settings import missing_secrets, settings_from

    settings = settings_from(table)
    if missing_secrets(settings, env):
        return None
    from adapters.discord.client import DiscordAdapter

    return DiscordAdapter(commands, settings, env[settings.token_env].strip(), listen=listen)


def add_cli(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`storybot discord invite-url|sync`; discord.py is imported when one of them runs."""
    discord_cmd = subparsers.add_parser("discord", help="Discord setup: invite link, command sync")
    sub = discord_cmd.add_subparsers(dest="discord_command", required=True)
    invite = sub.add_parser("invite-url", help="print the link that adds the bot to a server")
    invite.add_argument("--client-id", type=int, help="the application's client id (default: from the token)")
    invite.set_defaults(handler=_cmd_invite_url)
    sync = sub.add_parser("sync", help="register /story now (in [discord] guilds, or globally)")
    sync.add_argument("--guild", type=int, action="append", help="sync to this guild id (repeatable)")
    sync.add_argument(
        "--global", dest="everywhere", action="store_true", help="sync globally (takes up to an hour)"
    )
    sync.set_defaults(handler=_cmd_sync)


def _cmd_invite_url(args: argparse.Namespace, config: Config) -> int:
    from adapters.discord.cli import cmd_invite_url

    return cmd_invite_url(args, config)


def _cmd_sync(args: argparse.Namespace, config: Config) -> int:
    from adapters.discord.cli import cmd_sync

    return cmd_sync(args, config)


__all__ = [
    "PLATFORM",
    "DiscordAdapter",
    "DiscordSettings",
    "DiscordStartError",
    "add_cli",
    "build",
    "channel_problem",
    "role_problem",
    "settings_from",
    "unset_secrets",
    "validate",
]
