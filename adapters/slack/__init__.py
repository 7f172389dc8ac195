"""The Slack platform: /story and alerts in a Slack workspace, through slack-bolt.

Plugs into adapters/registry.py: `validate` checks the `[slack]` table, `build` makes the
adapter when its tokens are in the environment, `add_cli` adds `storybot slack ...`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.slack.app import SlackAdapter
    from adapters.slack.client import SlackStartError
    from adapters.slack.settings import SlackSettings
    from bot.commands import Commands
    from bot.config import Config

# Each function imports what it uses: `storybot --help` imports this module for `add_cli`
# alone, and `storybot check` needs only the settings, never slack-bolt.

PLATFORM = "slack"
log = logging.getLogger(__name__)


def __getattr__(name: str) -> Any:
    """slack-bolt is imported only when the adapter is used, so `storybot --help` and
    `storybot check` start fast (validating `[slack]` needs only the settings)."""
    if name == "SlackAdapter":
        from adapters.slack.app import SlackAdapter

        return SlackAdapter
    if name == "SlackStartError":
        from adapters.slack.client import SlackStartError

        return SlackStartError
    raise AttributeError(name)


def validate(table: dict[str, Any]) -> list[str]:
    """Problems in the `[slack]` table, each 'slack.<key>: what is wrong'."""
    from adapters.slack.settings import parse_settings

    return parse_settings(table)[1]


def channel_problem(channel_id: str) -> str | None:
    """Why `channel_id` is no Slack channel id (a name given for it), or None."""
    from adapters.slack.settings import channel_problem as problem

    return problem(channel_id)


def role_problem(role_id: str) -> str | None:
    """slack callers carry no roles: a role here can never match."""
    return "slack has no roles; list its users in managers"


def unset_secrets(table: dict[str, Any], env: Mapping[str, str]) -> list[str]:
    """The environment variables the table's mode needs that are not set (none: Slack starts)."""
    from adapters.slack.settings import missing_secrets, parse_settings

    settings, _ = parse_settings(table)
    return missing_secrets(settings, env) if settings is not None else []


def settings_of(table: Mapping[str, Any]) -> SlackSettings:
    from adapters.slack.settings import parse_settings
    from bot.config import ConfigError

    settings, problems = parse_settings(table)
    if settings is None:
        raise ConfigError("[slack]", problems)
    return settings


def build(
    table: dict[str, Any], commands: Commands, env: Mapping[str, str], *, listen: bool = True
) -> SlackAdapter | None:
    """The adapter, or None when the tokens its mode needs are not in `env` (Slack is skipped).
    listen=False: it posts alerts but takes no /story (no socket, no HTTP server)."""
    from adapters.slack.settings import missing_secrets, read_secrets

    settings = settings_of(table)
    missing = missing_secrets(settings, env)
    if missing:
        level = logging.WARNING if table or env.get(settings.bot_token_env) else logging.DEBUG
        log.log(level, "slack: not started; %s not set (%s mode)", " and ".join(missing), settings.mode)
        return None
    from adapters.slack.app import SlackAdapter

    return SlackAdapter(commands, settings, read_secrets(settings, env), listen=listen)


def add_cli(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`storybot slack manifest` and `storybot slack check`."""
    slack = subparsers.add_parser("slack", help="Slack app setup: print the manifest, check the tokens")
    actions = slack.add_subparsers(title="slack commands", metavar="{manifest,check}")
    manifest = actions.add_parser("manifest", help="print the Slack app manifest to create the app from")
    manifest.set_defaults(handler=cmd_manifest)
    check = actions.add_parser("check", help="ask Slack whether the tokens in the environment work")
    check.set_defaults(handler=cmd_check)


def manifest_text() -> str:
    return resources.files(__name__).joinpath("manifest.yaml").read_text(encoding="utf-8")


def cmd_manifest(args: argparse.Namespace, config: Config) -> int:
    print(manifest_text(), end="")
    return 0


def cmd_check(args: argparse.Namespace, config: Config) -> int:
    from adapters.slack.settings import missing_secrets, read_secrets

    settings = settings_of(config.platforms.get(PLATFORM, {}))
    missing = missing_secrets(settings, os.environ)
    if missing:
        print(f"slack: set {' and '.join(missing)} ({settings.mode} mode)", file=sys.stderr)
        return 1
    import asyncio

    from adapters.slack.client import SlackStartError

    secrets = read_secrets(settings, os.environ)
    try:
        who = asyncio.run(_check(settings, secrets.bot_token, secrets.app_token))
    except SlackStartError as err:
        print(f"slack: {err}", file=sys.stderr)
        return 1
    print(f"slack: OK, workspace {who.get('team')!s} as {who.get('user')!s} ({settings.mode} mode)")
    return 0


async def _check(settings: SlackSettings, bot_token: str, app_token: str | None) -> dict[str, Any]:
    from adapters.slack.client import make_client, socket_url, who_am_i

    client = make_client(bot_token, settings.api_url)
    who = await who_am_i(client, settings.bot_token_env)
    if settings.mode == "socket":
        await socket_url(client, app_token or "", settings.app_token_env)
    return who


__all__ = [
    "PLATFORM",
    "SlackAdapter",
    "SlackStartError",
    "add_cli",
    "build",
    "channel_problem",
    "role_problem",
    "unset_secrets",
    "validate",
]
