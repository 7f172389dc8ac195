"""`storybot discord ...`: admin chores that need no running bot.

`invite-url` prints the link that adds the bot to a server with only the permissions it
uses; `sync` registers /story now (to the configured guilds, or globally).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import os
from urllib.parse import urlencode

import aiohttp
import discord

from adapters.discord.client import DiscordStartError, StoryClient, endpoints, sync_commands
from adapters.discord.settings import DiscordSettings, settings_from
from bot.config import Config

AUTHORIZE = "https://discord.com/oauth2/authorize"
SCOPES = "bot applications.commands"


def permissions(threads: bool) -> discord.Permissions:
    """The least the bot needs: see channels, post embeds, read back its own recent posts (to
    tell, after a crash, whether an alert went out); in threads too when threads are on.
    Replies to /story are interaction responses, which need no channel permission at all."""
    return discord.Permissions(
        view_channel=True,
        send_messages=True,
        embed_links=True,
        read_message_history=True,
        send_messages_in_threads=threads,
        create_public_threads=threads,
    )


def invite_url(client_id: int, threads: bool) -> str:
    query = urlencode({"client_id": client_id, "scope": SCOPES, "permissions": permissions(threads).value})
    return f"{AUTHORIZE}?{query}"


def client_id_from_token(token: str) -> int | None:
    """A bot token's first part is its user id in base64; for applications made since 2020
    the bot's user id is the application (client) id."""
    head = token.split(".", 1)[0]
    try:
        decoded = base64.b64decode(head + "=" * (-len(head) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return int(decoded) if decoded.isdigit() else None


def _settings(config: Config) -> DiscordSettings:
    return settings_from(config.platforms.get("discord", {}))


def cmd_invite_url(args: argparse.Namespace, config: Config) -> int:
    settings = _settings(config)
    client_id = args.client_id or client_id_from_token(os.environ.get(settings.token_env, ""))
    if client_id is None:
        print(
            f"storybot: give --client-id (Developer Portal -> your application -> OAuth2 -> Client ID), "
            f"or set {settings.token_env}"
        )
        return 2
    print(invite_url(client_id, settings.threads))
    return 0


def cmd_sync(args: argparse.Namespace, config: Config) -> int:
    settings = _settings(config)
    token = os.environ.get(settings.token_env)
    if not token:
        raise DiscordStartError(f"set {settings.token_env} to the bot token to sync commands")
    guilds = () if args.everywhere else tuple(args.guild or settings.guilds)
    for line in asyncio.run(_sync(settings, token, guilds)):
        print(f"synced /story {line}")
    return 0


async def _sync(settings: DiscordSettings, token: str, guilds: tuple[int, ...]) -> list[str]:
    """Log in over REST only (no gateway), sync, log out."""
    with endpoints(settings):
        client = StoryClient(settings, None, sync=False)
        try:
            await client.login(token)
            lines = await sync_commands(client.tree, guilds)
        except discord.LoginFailure:
            raise DiscordStartError(f"Discord rejected the token in {settings.token_env}") from None
        except (discord.HTTPException, aiohttp.ClientError, OSError) as err:
            raise DiscordStartError(f"cannot reach Discord: {err}") from None
        finally:
            await client.close()
    if guilds and len(lines) < len(guilds):
        raise DiscordStartError("some guilds refused the commands (see the log above)")
    return lines
