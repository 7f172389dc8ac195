"""A feed's text -> the stories it lists: RSS and Atom through feedparser, sitemaps (Google News
sitemaps included) through lxml. Pure: no I/O, so the fetch stays the Fetcher's (address policy,
size cap, conditional GET) and a test hands it a string.

Junk (an HTML page, broken XML, a sitemap index) raises `FeedError` with one line saying what it
is, so the caller changes nothing. Item links are canonicalised (`canonical_url`) and named
(`item_story_id`) so one story listed twice, or with other tracking tags, is tracked once.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import feedparser
from lxml import etree

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
MAX_STORY_ID = 64  # bot.config.STORY_ID
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")
_PAGE_SUFFIX = re.compile(r"\.(html?|php|aspx?|jsp)$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class FeedError(Exception):
    """The text is no feed storybot can read: one line, safe to log and show."""


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One story a feed lists: its canonical link, its title if any, when it was published
    (None when the feed does not say)."""

    url: str
    title: str | None
    published: datetime | None


def read_feed(text: str, base_url: str) -> list[FeedItem]:
    """The items of an RSS 2.0 / Atom feed or a (news) sitemap, in the feed's order, each link
    canonical and listed once. Raises FeedError for anything that is not one of those."""
    data = text.encode("utf-8")
    root = _xml_root(data)
    if root is not None and etree.QName(root).namespace == SITEMAP_NS:
        items = _sitemap_items(root, base_url)
    else:
        items = _feed_items(data, base_url)
    return _once(items)


# --- RSS and Atom ---------------------------------------------------------------------------


def _feed_items(data: bytes, base_url: str) -> list[FeedItem]:
    # A stream, never bytes or str: feedparser opens a string that looks like a URL or a file
    # name itself, which would go around the fetcher's address policy.
    parsed = feedparser.parse(
        io.BytesIO(data),
        response_headers={"content-location": base_url, "content-type": "application/xml; charset=utf-8"},
        sanitize_html=False,
    )
    if not parsed.get("version") and not parsed.entries:
        why = parsed.get("bozo_exception")
        raise FeedError(f"not an RSS or Atom feed{f': {_one_line(why)}' if why else ''}")
    items = []
    for entry in parsed.entries:
        link = _http_link(entry.get("link"), base_url)
        if link is None:
            continue
        when = entry.get("published_parsed") or entry.get("updated_parsed")
        published = datetime.fromtimestamp(calendar.timegm(when), UTC) if when else None
        items.append(FeedItem(link, _title(entry.get("title")), published))
    return items


# --- sitemaps -------------------------------------------------------------------------------


def _xml_root(data: bytes) -> etree._Element | None:
    """The document's root element when it is well-formed XML (no entities resolved, nothing
    fetched), else None: feedparser's lenient reader gets the bytes then."""
    parser = etree.XMLParser(
        encoding="utf-8", resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return None


def _sitemap_items(root: etree._Element, base_url: str) -> list[FeedItem]:
    """A sitemap's pages dated by their news:publication_date, else their lastmod; an undated
    page is left out."""
    if etree.QName(root).localname == "sitemapindex":
        raise FeedError("a sitemap index, not a sitemap: follow one of the sitemaps it lists")
    if etree.QName(root).localname != "urlset":
        raise FeedError(f"a sitemap whose root is <{etree.QName(root).localname}>, not <urlset>")
    ns = {"s": SITEMAP_NS, "n": NEWS_NS}
    items = []
    for url in root.iterfind("s:url", ns):
        link = _http_link(url.findtext("s:loc", namespaces=ns), base_url)
        if link is None:
            continue
        stamp = url.findtext("n:news/n:publication_date", namespaces=ns) or url.findtext(
            "s:lastmod", namespaces=ns
        )
        published = _w3c_datetime(stamp)
        if published is None:
            continue  # a site's whole sitemap lists every page undated: no way to tell the news
        title = url.findtext("n:news/n:title", namespaces=ns)
        items.append(FeedItem(link, _title(title), published))
    return items


def _w3c_datetime(text: str | None) -> datetime | None:
    """A sitemap's W3C datetime ("2026-11-30", "2026-11-30T08:15:00+01:00", "...Z") in UTC;
    a date alone is its midnight UTC, a time without zone is UTC. None when unreadable."""
    if not text:
        return None
    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


# --- links and names ------------------------------------------------------------------------


def canonical_url(url: str) -> str:
    """One spelling per story: scheme and host lower-cased, default port, fragment and utm_*
    tracking parameters dropped, an empty path made "/"; other parameters kept in order."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    userinfo, _, hostport = parts.netloc.rpartition("@")
    host = hostport.lower()
    if parts.port is not None and _DEFAULT_PORTS.get(scheme) == parts.port:
        host = host.rsplit(":", 1)[0]
    netloc = f"{userinfo}@{host}" if userinfo else host
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.lower().startswith("utm_")
    ]
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def item_story_id(feed_id: str, url: str) -> str:
    """The story id of a feed's item: `<feed id>-<slug of the link's last path part>-<hash>`.
    Stable (made from the canonical link alone) and unique (the hash), at most 64 characters."""
    canonical = canonical_url(url)
    digest = hashlib.blake2b(canonical.encode(), digest_size=4).hexdigest()
    last = next((p for p in reversed(urlsplit(canonical).path.split("/")) if p), "")
    slug = _SLUG_JUNK.sub("-", _PAGE_SUFFIX.sub("", last.lower())).strip("-")
    room = MAX_STORY_ID - len(feed_id) - len(digest) - 2
    slug = slug[:room].strip("-")
    return f"{feed_id}-{slug}-{digest}" if slug else f"{feed_id}-{digest}"


def _http_link(link: object, base_url: str) -> str | None:
    if not isinstance(link, str) or not link.strip():
        return None
    absolute = urljoin(base_url, link.strip())
    if urlsplit(absolute).scheme not in ("http", "https") or not urlsplit(absolute).hostname:
        return None
    return canonical_url(absolute)


def _title(text: object) -> str | None:
    if not isinstance(text, str):
        return None
    return " ".join(text.split()) or None


def _once(items: Iterable[FeedItem]) -> list[FeedItem]:
    """Each canonical link once, where it first appears."""
    seen: dict[str, FeedItem] = {}
    for item in items:
        seen.setdefault(item.url, item)
    return list(seen.values())


def _one_line(err: object) -> str:
    return " ".join(str(err).split())[:200]


# --- which items to follow ------------------------------------------------------------------


def followed(
    items: Sequence[FeedItem],
    *,
    now: datetime,
    window: timedelta,
    wanted: Callable[[str], bool] | None = None,
) -> list[FeedItem]:
    """The items to track: published within `window` before `now` (an undated item counts as
    published now, when first seen) and, when `wanted` is given, whose title and link it
    accepts (a feed's keyword matcher)."""
    return [
        item
        for item in items
        if (item.published is None or now - item.published <= window)
        and (wanted is None or wanted(f"{item.title or ''} {item.url}"))
    ]
