"""An HTML page -> `Story`, read from its structure.

The page says more than its text: its metadata states the headline and the exact times, its
markup says which blocks are furniture and which repeated blocks are live-blog entries.
Ordinary articles become article text plus a `PageHead` for the update grammar in `parse`;
live blogs become one section per entry directly, since their markup already dates them.
Only a page whose markup yields no article at all goes through trafilatura's extractor.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from lxml import etree

from bot.models import Section, SectionKind, Story
from bot.read.dom import Article, Block, read_article
from bot.read.extract import html_to_text
from bot.read.furniture import is_body_clutter, is_caption, is_furniture, strip_trailing
from bot.read.markers import match_byline
from bot.read.meta import LiveEntry, PageMeta, read_meta
from bot.read.parse import NO_TEXT, PageHead, fold, parse_text

_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True)
_UTF8_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, encoding="utf-8")
_PIPE_SUFFIX = re.compile(r"\s+[|•·]\s+(?P<site>[^|•·]{1,40})$")
_DASH_SUFFIX = re.compile(r"\s+(?:[-–—]|::)\s+(?P<site>.{1,40})$")


def parse_html(html: str, *, dropped: list[str] | None = None) -> Story:
    """Read an HTML page. Raises only on what lxml cannot parse at all."""
    dropped = [] if dropped is None else dropped
    root = load(html)
    if root is None:
        return Story(problems=(NO_TEXT,))
    meta = read_meta(root)  # before scripts go: JSON-LD lives in them
    etree.strip_elements(root, "script", "style", "noscript", "template", with_tail=False)
    article = read_article(root, dropped)
    head = _page_head(root, meta, article)
    if article.entries:
        return _live_story(head, article.blocks, article.entries, dropped)
    if meta.live:
        return _live_story(head, article.blocks, meta.live, dropped)
    if article.blocks:
        return parse_text(_lines(article.blocks), page=head, wrapped=False, dropped=dropped)
    title, text = html_to_text(html)  # markup without any article structure: let the extractor try
    return parse_text(text, page=_with_title(head, title), wrapped=False, dropped=dropped)


def load(html: str) -> etree._Element | None:
    """The page's document element; None for a page with no elements at all. Plain lxml
    elements, not lxml.html's: its per-element class lookup costs more than the parse."""
    try:
        return etree.fromstring(html, _PARSER)
    except ValueError:  # a str that declares its own XML encoding: lxml wants bytes then
        return etree.fromstring(html.encode("utf-8", "surrogatepass"), _UTF8_PARSER)
    except etree.XMLSyntaxError:
        return None


def strip_site_name(title: str, site_name: str = "") -> str:
    """ "Real headline" for "Real headline | The Site" (or "... - The Site" where the site's
    name is known): a site's name is not the story's headline."""
    title = fold(title)
    if (found := _PIPE_SUFFIX.search(title)) and len(found["site"]) < found.start():
        return title[: found.start()]
    found = _DASH_SUFFIX.search(title)
    if found and site_name and found["site"].casefold() == site_name.strip().casefold():
        return title[: found.start()]
    return title


def _page_head(root: etree._Element, meta: PageMeta, article: Article) -> PageHead:
    site = meta.site_name
    candidates = (meta.title, meta.headline, article.head.h1, root.findtext(".//title") or "")
    title = next((t for c in candidates if (t := strip_site_name(c, site)) and t != site), "")
    stamps = {b.stamp_text: b.stamp for b in article.blocks if b.stamp is not None and b.stamp_text}
    return PageHead(
        title=title or None,
        subtitle=article.head.subtitle,
        byline=article.head.byline,
        posted=meta.published or article.head.posted,
        updated=meta.modified or article.head.updated,
        stamps=stamps,
    )


def _with_title(head: PageHead, title: str) -> PageHead:
    return head if head.title or not title else replace(head, title=title)


def _lines(blocks: list[Block]) -> str:
    return "\n".join(block.text for block in blocks)


def _live_story(head: PageHead, lead: list[Block], entries: list[LiveEntry], dropped: list[str]) -> Story:
    """A live blog: the lead post is the original, each entry an update; with no lead post,
    the earliest entry is the original."""
    story = parse_text(_lines(lead), page=head, wrapped=False, dropped=dropped)
    updates = [
        Section(SectionKind.UPDATE, entry.headline, entry.published, paragraphs)
        for entry in entries
        if (paragraphs := _story_paragraphs(entry.paragraphs, dropped))
    ]
    sections = [*story.sections, *updates]
    if updates and not any(s.kind is SectionKind.ORIGINAL for s in sections):
        first = _earliest(updates)
        sections[sections.index(first)] = Section(
            SectionKind.ORIGINAL, first.header, first.timestamp, first.paragraphs
        )
    return Story(
        title=story.title,
        subtitle=story.subtitle,
        byline=story.byline,
        posted=story.posted,
        updated=story.updated,
        sections=tuple(sections),
        problems=() if sections else (NO_TEXT,),
        revision=story.revision,
    )


def _story_paragraphs(paragraphs: tuple[str, ...], dropped: list[str]) -> tuple[str, ...]:
    """An entry's paragraphs without the clutter the text grammar also drops: tools, captions,
    bylines, prompts, bios, and title-case lines after a paragraph (links to other posts)."""
    kept: list[str] = []
    for text in paragraphs:
        if (
            is_furniture(text)
            or is_caption(text, text)
            or match_byline(text)
            or is_body_clutter(text, after_paragraph=bool(kept))
        ):
            dropped.append(text)
        elif text := strip_trailing(text):
            kept.append(text)
    return tuple(kept)


def _earliest(sections: list[Section]) -> Section:
    timed = [s for s in sections if s.timestamp is not None]
    if not timed:
        return sections[0]
    return min(timed, key=lambda s: s.timestamp or datetime.min)
