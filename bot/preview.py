"""`storybot preview`: what storybot reads on a page, without storing or alerting anything.

An admin checks a story this way before tracking it, and a bug report shows what the reader
saw: the head fields, each dated section, the furniture it dropped and its problems.
Fetching goes through the pipeline's own `Fetcher` (timeouts, body cap, redirect cap,
charset decoding) with a fresh client and the default settings, so it needs no config file
and no database, and it writes nothing to disk. Rendering (`render_text`, `to_json`,
`json_text`) is pure: a `Preview` in, text out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import BotConfig
from bot.fetch import EMPTY_BODY, Fetcher, make_client
from bot.models import Section, Story
from bot.netpolicy import AddressPolicy
from bot.read import parse_story
from bot.redact import display_url
from bot.summarize import ELLIPSIS, cut
from bot.textfmt import format_time

FIRST_WORDS = 30  # of a section's body, without --full
DROPPED_CHARS = 120  # of each dropped block, without --full
RETRIES = 1  # a person is waiting: one retry, not the poller's patient backoff
NONE = "(none)"


@dataclass(frozen=True, slots=True)
class Preview:
    """What the reader made of one page: the `Story` and the furniture it dropped."""

    source: str
    story: Story
    dropped: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """The page has sections: storybot could track it."""
        return not self.story.is_empty


class FetchFailed(Exception):
    """The page could not be fetched. The message is one line, as the fetcher wrote it."""


def read_page(source: str, text: str, content_type: str | None = None) -> Preview:
    """Parse fetched text as the pipeline does, collecting the furniture it drops. Pure."""
    dropped: list[str] = []
    story = parse_story(text, content_type, dropped=dropped)
    return Preview(display_url(source), story, tuple(dropped))


async def fetch_preview(
    source: str, *, fetcher: Fetcher | None = None, allow_private: bool = False
) -> Preview:
    """Fetch `source` (an http(s) URL, a file:// URL or a local path) and read it.

    Without a `fetcher`, one is made on a fresh client with the default [storybot] settings
    (public addresses only, unless `allow_private`; any local file, since the person at the
    terminal named it) and closed afterwards. Raises `FetchFailed` when the fetch fails; a
    page that was fetched but is empty reads as an empty document (no sections).
    """
    if fetcher is None:
        settings = BotConfig()
        policy = AddressPolicy(allow_private=allow_private)
        async with make_client(
            timeout=settings.timeout, user_agent=settings.user_agent, policy=policy
        ) as client:
            fresh = Fetcher(
                client,
                files_dir=Path(Path.cwd().anchor),
                max_bytes=settings.max_bytes,
                per_host=settings.per_host,
                retries=RETRIES,
                deadline=settings.fetch_deadline,
            )
            return await fetch_preview(source, fetcher=fresh)
    result = await fetcher.fetch(source)
    if result.ok and result.text is not None:
        return read_page(source, result.text, result.content_type)
    if result.error == EMPTY_BODY:
        return read_page(source, "", result.content_type)
    raise FetchFailed(result.error or "fetch failed")


# --- rendering: pure -------------------------------------------------------------------


def render_text(preview: Preview, *, full: bool = False) -> str:
    """The preview as plain text. `full` prints whole bodies and dropped blocks; otherwise a
    section shows its first words and a dropped block its first characters."""
    story = preview.story
    lines = [
        f"source:    {_clean(preview.source)}",
        f"title:     {_field(story.title)}",
        f"subtitle:  {_field(story.subtitle)}",
        f"byline:    {_field(story.byline)}",
        f"posted:    {_when(story.posted)}",
        f"updated:   {_when(story.updated)}",
    ]
    if story.revision:
        lines.append(f"revision:  {story.revision}")
    count = len(story.sections)
    lines += ["", f"{count} section{'' if count == 1 else 's'}"]
    for n, section in enumerate(story.sections, 1):
        lines += _section_lines(n, section, full=full)
    lines += ["", f"dropped as furniture: {len(preview.dropped)}"]
    for block in preview.dropped:
        text = _clean(" ".join(block.split()))
        lines.append(f"  - {text if full else _clip(text, DROPPED_CHARS)}")
    if story.problems:
        lines += ["", "problems:"]
        lines += [f"  - {_clean(problem)}" for problem in story.problems]
    return "\n".join(lines)


def render_brief(preview: Preview, *, sections: int = 5, words: int = 12) -> str:
    """The preview as a short chat answer: the head, one line for each of the first `sections`
    sections (its label, time and first `words` words), and how much furniture was dropped."""
    story = preview.story
    count = len(story.sections)
    lines = [
        f"title: {_field(story.title)}",
        f"byline: {_field(story.byline)}",
        f"updated: {_when(story.updated)}",
        f"{count} dated section{'' if count == 1 else 's'}" + (":" if count else ""),
    ]
    for section in story.sections[:sections]:
        head = _clean(section.label or section.kind.value)
        when = f" ({_when(section.timestamp)})" if section.timestamp else ""
        lines.append(f"- {head}{when}: {_clean(_first_words(section.paragraphs, words))}")
    if count > sections:
        lines.append(f"- and {count - sections} more")
    lines.append(f"dropped as furniture: {len(preview.dropped)} block(s)")
    return "\n".join(lines)


def _section_lines(n: int, section: Section, *, full: bool) -> list[str]:
    name = section.kind.value
    if section.label.casefold() != name:
        name += f" ({section.label})"
    count = len(section.paragraphs)
    lines = [
        "",
        f"[{n}] {name}",
        f"    header:     {_field(section.header)}",
        f"    timestamp:  {_when(section.timestamp)}",
        f"    paragraphs: {count}",
    ]
    if full:
        for paragraph in section.paragraphs:
            lines += ["", f"    {_clean(paragraph)}"]
    elif count:
        lines.append(f"    {_clean(_first_words(section.paragraphs, FIRST_WORDS))}")
    return lines


def to_json(preview: Preview) -> dict[str, Any]:
    """The preview as a JSON-ready dict: whole paragraphs, timestamps as ISO 8601 in the
    publisher's own offset (None when the page gives none)."""
    story = preview.story
    return {
        "source": preview.source,
        "title": story.title,
        "subtitle": story.subtitle,
        "byline": story.byline,
        "posted": _iso(story.posted),
        "updated": _iso(story.updated),
        "revision": story.revision,
        "sections": [
            {
                "kind": section.kind.value,
                "label": section.label,
                "header": section.header,
                "timestamp": _iso(section.timestamp),
                "paragraphs": list(section.paragraphs),
            }
            for section in story.sections
        ],
        "dropped": list(preview.dropped),
        "problems": list(story.problems),
    }


# Characters json.dumps(ensure_ascii=False) leaves raw that a terminal may act on (DEL and
# the C1 controls) or that break JavaScript readers (line and paragraph separators). They
# occur only inside strings, so escaping them keeps the JSON valid.
_JSON_RAW = re.compile("[\x7f-\x9f\u2028\u2029]")


def json_text(preview: Preview) -> str:
    """`to_json` as indented JSON text, readable (non-ASCII kept) and safe to print."""
    text = json.dumps(to_json(preview), ensure_ascii=False, indent=2)
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# --- helpers ---------------------------------------------------------------------------

# Control characters from a page are shown escaped, never sent to the terminal.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _clean(text: str) -> str:
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def _field(text: str) -> str:
    return _clean(text) if text else NONE


def _when(ts: datetime | None) -> str:
    """'Nov 11, 2022 7:36 AM CST (America/Chicago)': the publisher's own zone, not ours."""
    if ts is None:
        return NONE
    zone = ts.tzinfo.key if isinstance(ts.tzinfo, ZoneInfo) else ""
    return format_time(ts) + (f" ({zone})" if zone else "")


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts is not None else None


def _first_words(paragraphs: tuple[str, ...], limit: int) -> str:
    words = " ".join(paragraphs).split()
    head = " ".join(words[:limit])
    return head + ELLIPSIS if len(words) > limit else head


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else cut(text, limit)
