"""The `[slack]` table of config.toml, validated; and the secrets it names, read from env.

The table holds only the names of environment variables, never a token, so the file can be
shared and the secrets cannot end up in a log of the settings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError, field_validator

from bot.envnames import EnvName, is_env_key


class SlackSettings(BaseModel):
    """What the admin chose for Slack: connection mode, where secrets live, how alerts look."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    mode: Literal["socket", "http"] = "socket"
    bot_token_env: EnvName = "SLACK_BOT_TOKEN"
    signing_secret_env: EnvName = "SLACK_SIGNING_SECRET"
    app_token_env: EnvName = "SLACK_APP_TOKEN"
    host: str = "127.0.0.1"
    port: Annotated[StrictInt, Field(ge=0, le=65535)] = 3000
    path: Annotated[str, Field(pattern=r"^/[A-Za-z0-9/_.-]*$")] = "/slack/events"
    threads: StrictBool = False
    api_url: str | None = None
    ephemeral: StrictBool = True

    @field_validator("api_url")
    @classmethod
    def _web_api_base(cls, url: str | None) -> str | None:
        if url is None:
            return None
        if not re.match(r"^https?://[^\s/]+(/\S*)?$", url):
            raise ValueError("must be an http:// or https:// URL such as 'https://slack.com/api/'")
        return url if url.endswith("/") else url + "/"


@dataclass(frozen=True, slots=True)
class SlackSecrets:
    """Tokens read from the environment. `repr` hides them so they never reach a log."""

    bot_token: str = field(repr=False)
    app_token: str | None = field(default=None, repr=False)
    signing_secret: str | None = field(default=None, repr=False)


SLACK_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{1,20}$")  # public, private (legacy), direct


def channel_problem(channel_id: str) -> str | None:
    """Why `channel_id` (what follows `slack:` in a route) is no Slack channel id, or None.
    Slack posts by id; a name such as `#general` is refused by the API at the first alert."""
    if SLACK_CHANNEL_ID.match(channel_id):
        return None
    return (
        f"{channel_id!r} is not a Slack channel id: give the id (C, G or D then capitals and "
        "digits, e.g. C0123ABCD: the channel's details show it), not its name"
    )


def parse_settings(table: Mapping[str, Any]) -> tuple[SlackSettings | None, list[str]]:
    """Validate the raw table: the settings, or every problem as 'slack.<key>: what is wrong'."""
    try:
        return SlackSettings.model_validate(dict(table)), []
    except ValidationError as err:
        return None, [_describe(e) for e in err.errors()]


def missing_secrets(settings: SlackSettings, env: Mapping[str, str]) -> list[str]:
    """Names of the env vars this mode needs that are unset or empty."""
    needed = [settings.bot_token_env]
    needed.append(settings.app_token_env if settings.mode == "socket" else settings.signing_secret_env)
    return [name for name in needed if not env.get(name, "").strip()]


def read_secrets(settings: SlackSettings, env: Mapping[str, str]) -> SlackSecrets:
    """The secrets named by `settings` (call `missing_secrets` first)."""

    def get(name: str) -> str | None:
        return env.get(name, "").strip() or None

    return SlackSecrets(
        bot_token=get(settings.bot_token_env) or "",
        app_token=get(settings.app_token_env),
        signing_secret=get(settings.signing_secret_env),
    )


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in ("slack", *error["loc"]))
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{where}: unknown key"
    message = error["msg"].removeprefix("Value error, ")
    if kind == "string_pattern_mismatch" and error["loc"][-1:] == ("path",):
        message = "must start with '/' and hold only letters, digits, '/', '_', '.', '-'"
    if is_env_key(error["loc"]):
        return f"{where}: {message}"[:300]
    return f"{where}: {message} (got {error.get('input')!r})"[:300]
