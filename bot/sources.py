"""`storybot check`'s view of story sources: would the fetcher refuse any of them, and does
each story `path` name a file?

The fetcher enforces the address policy and `files_dir` on every fetch; this says so ahead
of time, naming each refused source by its key (`stories[3].url`), so an admin finds out
from `check` rather than from a failing poll. It asks no DNS server: it judges addresses
written into the URL (in any form, `http://2130706433/` too) and `localhost` names; a name
that resolves to a private address is refused by the fetcher when it connects.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from bot.config import Config
from bot.localfiles import PathRefused, confined, story_path
from bot.redact import display_url


def source_problems(config: Config) -> list[str]:
    """One line per story (or feed) whose URL (as resolved now) or path the fetcher would refuse,
    and per story path that names no file."""
    problems: list[str] = []
    for n, story in enumerate(config.stories):
        if story.url is not None:
            refusal = url_refusal(story.url, config)
            if refusal:
                problems.append(f"stories[{n}].url: {refusal} ({display_url(story.url)})")
        elif story.path is not None:
            try:
                real = confined(story_path(story.path, config.base_dir), config.files_path)
            except PathRefused as err:
                problems.append(f"stories[{n}].path: {err}")
                continue
            if not real.is_file():
                what = "is not a file" if real.exists() else "does not exist"
                problems.append(f"stories[{n}].path: {real} {what}")
    for n, feed in enumerate(config.feeds):
        refusal = url_refusal(feed.url, config)
        if refusal:
            problems.append(f"feeds[{n}].url: {refusal} ({display_url(feed.url)})")
    return problems


def url_refusal(url: str, config: Config) -> str | None:
    """Why the fetcher would refuse `url` as written (a private or loopback address, localhost),
    or None: a name that resolves to such an address is refused by the fetcher itself."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None  # the URL validator has said what is wrong with it
    addresses = _written_addresses(host)
    return config.address_policy.refusal(host, port, addresses) if addresses else None


def _written_addresses(host: str) -> list[str]:
    """The addresses a host names without DNS: an IP in any form a resolver accepts, or localhost."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        return [socket.inet_ntoa(socket.inet_aton(host))]  # 2130706433, 0x7f.1, 127.1, 0177.0.0.1
    except OSError:
        pass
    if host.rstrip(".").casefold() in {"localhost", "localhost.localdomain"} or host.endswith(".localhost"):
        return ["127.0.0.1", "::1"]
    return []
