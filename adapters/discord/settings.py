"""The `[discord]` table of config.toml, validated.

Secrets never live in the file: `token_env` names the environment variable that holds the
bot token. `api_base` and `gateway_url` exist so the bot can be pointed at a local fake
Discord (tests, demos); leave them out for the real one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.config import ConfigError
from bot.envnames import EnvName, is_env_key

Snowflake = Annotated[int, Field(gt=0, lt=2**64)]


class DiscordSettings(BaseModel):
    """Settings for the Discord adapter; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    token_env: EnvName = "DISCORD_TOKEN"
    guilds: tuple[Snowflake, ...] = ()
    threads: bool = False
    ephemeral: bool = True
    api_base: Annotated[str, Field(pattern=r"^https?://\S+/api/v(9|10)$")] | None = None
    gateway_url: Annotated[str, Field(pattern=r"^wss?://\S+$")] | None = None
    guild_ready_timeout: Annotated[float, Field(ge=0, le=60)] | None = None
    # A large bot splits its gateway into shards, one front process each: this one's id and
    # the total. Alerts go out over REST from any worker; only commands need the gateway.
    shard_id: Annotated[int, Field(ge=0)] | None = None
    shard_count: Annotated[int, Field(ge=1, le=4096)] | None = None

    @model_validator(mode="after")
    def _one_shard_of_the_count(self) -> DiscordSettings:
        if (self.shard_id is None) != (self.shard_count is None):
            raise ValueError("shard_id and shard_count go together")
        if self.shard_id is not None and self.shard_count is not None and self.shard_id >= self.shard_count:
            raise ValueError(f"shard_id must be below shard_count ({self.shard_count})")
        return self


def channel_problem(channel_id: str) -> str | None:
    """Why `channel_id` (what follows `discord:` in a route) is no Discord channel id (a
    snowflake: digits only), or None. A channel's name cannot be posted to."""
    if channel_id.isascii() and channel_id.isdigit() and 0 < int(channel_id) < 2**64:
        return None
    return (
        f"{channel_id!r} is not a Discord channel id: give the id (digits, e.g. 123456789012345678: "
        "Developer Mode, right-click the channel, Copy Channel ID), not its name"
    )


def missing_secrets(settings: DiscordSettings, env: Mapping[str, str]) -> list[str]:
    """The token variable, when it is unset or empty."""
    return [] if env.get(settings.token_env, "").strip() else [settings.token_env]


def parse_settings(table: dict) -> tuple[DiscordSettings | None, list[str]]:
    """The settings, or the problems: each `discord.<key>: what is wrong`."""
    try:
        return DiscordSettings(**table), []
    except ValidationError as err:
        return None, [_describe(e) for e in err.errors()]


def settings_from(table: dict) -> DiscordSettings:
    """The settings; ConfigError listing every problem when the table is bad."""
    settings, problems = parse_settings(table)
    if settings is None:
        raise ConfigError("[discord]", problems)
    return settings


def _describe(error: dict) -> str:
    where = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in error["loc"]).replace(".[", "[")
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "string_pattern_mismatch":
        message = {
            "api_base": "must look like http://127.0.0.1:PORT/api/v10",
            "gateway_url": "must be a ws:// or wss:// URL",
        }.get(str(error["loc"][0]), message)
    got = error.get("input")
    hidden = error["type"] in {"missing", "extra_forbidden"} or is_env_key(error["loc"])
    shown = "" if hidden else f" (got {got!r})"
    return f"discord.{where}: {message}{shown}"[:300]
