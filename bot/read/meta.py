"""What a page states about itself as data: `<meta>` tags and JSON-LD.

Publishers write the headline, the publication and revision times and, on live blogs, every
entry as structured data for search engines. That data is more exact than the visible text
(full ISO stamps with offsets), so it is read first and the text fills the gaps.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from bot.read.parse import fold
from bot.read.timestamps import DEFAULT_ZONE

ARTICLE_TYPES = frozenset(
    {
        "newsarticle",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "blogposting",
        "article",
        "liveblogposting",
        "backgroundnewsarticle",
        "opinionnewsarticle",
        "reviewnewsarticle",
    }
)
_PUBLISHED_KEYS = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "parsely-pub-date",
    "dc.date.issued",
    "date",
)
_MODIFIED_KEYS = ("article:modified_time", "og:updated_time", "datemodified", "lastmod", "dc.date.modified")
_TITLE_KEYS = ("og:title", "twitter:title")


@dataclass(frozen=True, slots=True)
class LiveEntry:
    """One live-blog entry, read from the page's markup or from JSON-LD's `liveBlogUpdate`."""

    headline: str
    published: datetime | None
    paragraphs: tuple[str, ...]


@dataclass(slots=True)
class PageMeta:
    title: str = ""
    headline: str = ""  # JSON-LD's, which may be cut short; og:title is preferred
    site_name: str = ""
    published: datetime | None = None
    modified: datetime | None = None
    live: list[LiveEntry] = field(default_factory=list)


def read_meta(root: etree._Element) -> PageMeta:
    """The page's own statements about itself. Call before scripts are stripped."""
    props: dict[str, str] = {}
    for el in root.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        if key and key not in props and (content := (el.get("content") or "").strip()):
            props[key] = content
    meta = PageMeta(
        title=next((props[k] for k in _TITLE_KEYS if k in props), ""),
        site_name=props.get("og:site_name", ""),
        published=_first_time(props, _PUBLISHED_KEYS),
        modified=_first_time(props, _MODIFIED_KEYS),
    )
    if article := _article_object(root):
        meta.headline = _text(article.get("headline"))
        meta.published = parse_iso(_text(article.get("datePublished"))) or meta.published
        meta.modified = parse_iso(_text(article.get("dateModified"))) or meta.modified
        publisher = article.get("publisher")
        if isinstance(publisher, dict) and not meta.site_name:
            meta.site_name = _text(publisher.get("name"))
        meta.live = [entry for item in _as_list(article.get("liveBlogUpdate")) if (entry := _entry(item))]
    return meta


def parse_iso(text: str) -> datetime | None:
    """An ISO 8601 stamp (or epoch seconds/milliseconds) as an aware datetime; a stamp with no
    offset is read in the default zone, as text stamps without a zone are."""
    text = text.strip()
    if text.isdigit() and len(text) in (10, 13):
        return datetime.fromtimestamp(int(text) / (1000 if len(text) == 13 else 1), UTC)
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=ZoneInfo(DEFAULT_ZONE))


def _first_time(props: dict[str, str], keys: tuple[str, ...]) -> datetime | None:
    return next((stamp for key in keys if key in props and (stamp := parse_iso(props[key]))), None)


def _article_object(root: etree._Element) -> dict[str, Any] | None:
    """The JSON-LD object describing the article: a live blog first, then any news type."""
    found = [obj for obj in _json_ld_objects(root) if _types(obj) & ARTICLE_TYPES]
    live = [obj for obj in found if "liveblogposting" in _types(obj)]
    return (live or found)[0] if found else None


def _json_ld_objects(root: etree._Element) -> Iterator[dict[str, Any]]:
    for script in root.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text, strict=False)  # pages put raw newlines in strings
        except ValueError:
            continue
        for obj in _as_list(data):
            if isinstance(obj, dict):
                yield obj
                yield from (o for o in _as_list(obj.get("@graph")) if isinstance(o, dict))
                if isinstance(main := obj.get("mainEntity"), dict):
                    yield main


def _types(obj: dict[str, Any]) -> set[str]:
    return {t.lower() for t in _as_list(obj.get("@type")) if isinstance(t, str)}


def _entry(item: Any) -> LiveEntry | None:
    if not isinstance(item, dict):
        return None
    body = _text(item.get("articleBody") or item.get("text") or item.get("description"))
    paragraphs = tuple(fold(p) for p in body.replace("\r", "").split("\n") if p.strip())
    if not paragraphs:
        return None
    return LiveEntry(_text(item.get("headline")), parse_iso(_text(item.get("datePublished"))), paragraphs)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _text(value: Any) -> str:
    """A JSON-LD string field, entities decoded (some CMSs HTML-escape them)."""
    return html.unescape(value).strip() if isinstance(value, str) else ""
