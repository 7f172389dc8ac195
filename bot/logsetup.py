"""Where log records go, and how they look: a terminal gets rich's columns; anything else
(systemd's journal, `docker logs`, a pipe) gets one plain line per record, or one JSON
object per line with `--log-format json`.

A record never spans lines outside a terminal: journald and Docker split on newlines, so a
multi-line message (a config error listing its problems, a traceback) is kept on one line
with its newlines written as `\\n`. Every message, extra field and traceback goes
through bot.redact first, so neither a URL's credentials nor a token reach a log.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any, Literal

from bot.redact import RedactUrls, redact_log

LogFormat = Literal["auto", "plain", "json"]
FORMATS: tuple[LogFormat, ...] = ("auto", "plain", "json")

#: Loggers of libraries that say too much at INFO; shown at INFO only with --verbose.
NOISY = (
    "httpx", "apscheduler", "aiosqlite", "psycopg", "slack_bolt", "slack_sdk", "discord", "trafilatura",
    "procrastinate", "aiohttp.access",
)  # fmt: skip

# what every LogRecord has; anything else on a record came from `extra=` and is a field
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The `extra=` fields of a record, strings redacted; other values as JSON can hold them."""
    fields: dict[str, Any] = {}
    for key, value in record.__dict__.items():
        if key in _STANDARD or key.startswith("_"):
            continue
        if not isinstance(value, bool | int | float | type(None)):
            value = redact_log(str(value))
        fields[key] = value
    return fields


class PlainFormatter(logging.Formatter):
    """`2026-11-30T16:10:00.123Z INFO bot.app: message key=value`: one line, no padding."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"
        extra = " ".join(f"{k}={v}" for k, v in record_fields(record).items())
        if extra:
            text += " " + extra
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return _one_line(redact_log(text))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, the `extra=` fields, and `exc`
    (the traceback, as one string) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": redact_log(record.getMessage()),
        }
        for key, value in record_fields(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exc"] = redact_log(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class RedactedFormatter(logging.Formatter):
    """The terminal's `%(message)s` with its traceback, through bot.redact as the other formats
    are: the handler filter redacts the message only, and an exception's text may hold a URL."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_log(super().format(record))


def configure(verbose: bool = False, fmt: LogFormat = "auto", stream: IO[str] | None = None) -> None:
    """Install the one root handler. `auto`: rich in a terminal, plain lines otherwise."""
    handler = log_handler(fmt, stream or sys.stderr)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.WARNING)


def log_handler(fmt: LogFormat, stream: IO[str]) -> logging.Handler:
    """The handler `configure` installs for `fmt` on `stream`."""
    handler: logging.Handler
    if fmt == "json":
        handler = logging.StreamHandler(stream)
        handler.setFormatter(JsonFormatter())
    elif fmt == "plain" or not _is_terminal(stream):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(PlainFormatter())
    else:
        from rich.console import Console  # only a terminal pays for rich
        from rich.logging import RichHandler

        handler = RichHandler(
            console=Console(file=stream), show_path=False, rich_tracebacks=False, markup=False
        )
        handler.setFormatter(RedactedFormatter("%(message)s"))
    handler.addFilter(RedactUrls())  # httpx logs whole request URLs, secrets included
    return handler


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _timestamp(record: logging.LogRecord) -> str:
    when = datetime.fromtimestamp(record.created, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(record.msecs):03d}Z"


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")
