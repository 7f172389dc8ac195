"""Reading a fetched page: bytes -> `Story`. Pure: no I/O, no state between calls.

HTML is read from its DOM (`html`, `dom`, `meta`): the page's own markup says where
the article is, what is furniture, when each part was written and which blocks are live-blog
entries. Text, and the article text the DOM reader yields, then goes through the update
grammar (`parse`, `markers`, `timestamps`, `furniture`).
"""

from __future__ import annotations

from dataclasses import replace

from bot.models import Story
from bot.read.extract import decode, looks_like_html
from bot.read.html import parse_html
from bot.read.parse import NO_TEXT, PageHead, parse_text

__all__ = ["NO_TEXT", "READER", "PageHead", "parse_story", "parse_text"]

READER = 3
"""Bumped whenever reading changes how a page splits into sections. A story stored by another
reader is not a diff base: its sections would not match this reader's, and every difference
would look like news. The pipeline takes such a fetch as a new, silent baseline."""


def parse_story(
    content: str | bytes, content_type: str | None = None, *, dropped: list[str] | None = None
) -> Story:
    """Parse a fetched page. Never raises on junk: an unusable page gives a Story with no
    sections and `problems` saying why. `dropped`, when given, collects the text of every
    block read as furniture (for `storybot preview`)."""
    return replace(_read(content, content_type, dropped), reader=READER)


def _read(content: str | bytes, content_type: str | None, dropped: list[str] | None) -> Story:
    if isinstance(content, bytes | bytearray | memoryview):
        content = decode(bytes(content), content_type)
    if not content or content.isspace():
        return Story(problems=("empty document",))
    if not looks_like_html(content, content_type):
        return parse_text(content, dropped=dropped)
    try:
        return parse_html(content, dropped=dropped)
    except Exception as err:  # lxml and the fallback extractor are fed arbitrary pages
        return Story(problems=(f"could not read the page: {type(err).__name__}: {err}",))
