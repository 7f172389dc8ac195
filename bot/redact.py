"""Links as people may see them: without the secrets some story URLs carry.

A paywalled or signed feed URL may hold `user:password@` or `?api_key=...`. The configured
URL keeps them for fetching; everything shown (chat alerts and replies, the console, logs)
goes through `display_url`, so adapters never receive the secret at all.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus, urlsplit, urlunsplit

#: Query parameter names (compared case-insensitively, ignoring - and _) that hold secrets.
SECRET_PARAMS = frozenset(
    {
        "apikey", "key", "token", "accesstoken", "refreshtoken", "idtoken", "authtoken", "sig",
        "signature", "password", "passwd", "pass", "pwd", "secret", "clientsecret", "auth",
        "authorization", "session", "sessionid", "sid", "jwt", "credential", "credentials",
        "xamzsignature", "xamzcredential", "xamzsecuritytoken", "xgoogsignature", "xgoogcredential",
    }
)  # fmt: skip
_URL = re.compile(r"https?://[^\s<>\"'|]+", re.IGNORECASE)


def is_secret_param(name: str) -> bool:
    folded = re.sub(r"[-_.]", "", name.casefold())
    return folded in SECRET_PARAMS or folded.endswith(("token", "secret", "password", "apikey", "signature"))


#: Schemes whose URLs may carry credentials: story links, and database URLs.
SHOWN_SCHEMES = ("http://", "https://", "postgresql://", "postgres://")


def display_url(url: str) -> str:
    """`url` without credentials or secret-looking query parameters; other text unchanged."""
    if not url.lower().startswith(SHOWN_SCHEMES):
        return url
    try:
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
        pairs = parts.query.split("&") if parts.query else []
        query = "&".join(p for p in pairs if not is_secret_param(unquote_plus(p.partition("=")[0])))
    except ValueError:  # not parseable as a URL: show no more than scheme and host
        return url.split("?", 1)[0].split("#", 1)[0].rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """Every http(s) URL inside `text` shown with `display_url`."""
    return _URL.sub(lambda m: display_url(m.group(0)), text) if "://" in text else text


#: Credentials by their shape, wherever a library might log one (a request's headers at debug
#: level): Slack tokens, an Authorization header's value, a Discord bot token.
_TOKENS = re.compile(
    r"\b(?:xox[a-z]|xapp)-[A-Za-z0-9-]{8,}"
    r"|(?<=Bearer )[^\s'\",]{8,}|(?<=Bot )[^\s'\",]{20,}"
    r"|\b[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}"
)


def redact_log(text: str) -> str:
    """`text` as a log may show it: URLs as `display_url` shows them, token-shaped strings
    replaced by `[redacted]`."""
    return _TOKENS.sub("[redacted]", redact_text(text))


class RedactUrls(logging.Filter):
    """A handler filter: log records show URLs as `display_url` does (httpx logs whole URLs),
    and nothing shaped like a Slack or Discord token or an Authorization value."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        record.msg = redact_log(str(record.msg))
        return True
