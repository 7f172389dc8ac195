"""Config keys that name environment variables (`*_env`), and only name them.

Platform tables say where a secret lives (`bot_token_env = "SLACK_BOT_TOKEN"`), never the
secret. A token pasted there by mistake must be refused without being echoed, so the error
that rejects it names the key and never the value.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_TOKEN_PREFIXES = ("xox", "xapp", "ghp_", "gho_", "github_pat_", "sk_", "akia")


def looks_like_secret(value: str) -> bool:
    """A value shaped like a token rather than a variable name (mixed case with digits, or a
    known token prefix)."""
    if value.casefold().startswith(_TOKEN_PREFIXES):
        return True
    mixed = any(c.islower() for c in value) and any(c.isupper() for c in value)
    return len(value) >= 20 and mixed and any(c.isdigit() for c in value)


def check_env_name(value: str) -> str:
    if not _NAME.match(value) or looks_like_secret(value):
        raise ValueError(
            "must name an environment variable (letters, digits, '_'), such as SLACK_BOT_TOKEN; "
            "the value given is not shown, in case it is a secret"
        )
    return value


EnvName = Annotated[str, AfterValidator(check_env_name)]


def is_env_key(loc: tuple[object, ...]) -> bool:
    """Whether a config error is about an `*_env` key, whose value must never be shown."""
    return bool(loc) and str(loc[-1]).endswith("_env")
