"""An article's DOM -> its text blocks, head fields and live-blog entries.

The page's own markup decides first: navigation, asides, figures, forms, footers, share
tools, related rails and comment threads are dropped as whole subtrees, by tag, ARIA role,
class or id, and by link density, before any text rule sees a line. What is left is read in
document order as blocks (one per paragraph, heading or list item), each remembering the
datetime a `<time>` element in it states.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from lxml import etree

from bot.read.markers import match_byline, match_marker, match_posted, match_updated
from bot.read.meta import LiveEntry, parse_iso
from bot.read.parse import fold
from bot.read.timestamps import When, match_when

DROP_TAGS = frozenset(
    {
        "script", "style", "noscript", "template", "svg", "iframe", "form", "button", "nav", "aside",
        "footer", "figure", "figcaption", "select", "input", "textarea", "label", "dialog", "object",
        "embed", "video", "audio", "canvas", "picture", "img", "source", "map", "math", "head",
        "title", "meta", "link", "menu",
    }
)  # fmt: skip
BLOCK_TAGS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "pre", "dt", "dd", "td", "th"})
HEADINGS = frozenset({"h2", "h3", "h4", "h5", "h6"})
_NESTED_BLOCKS = ("p", "div", "ul", "ol", "li", "h2", "h3", "h4", "blockquote", "section", "table")
_DROP_ROLES = frozenset({"navigation", "complementary", "contentinfo", "banner", "search", "dialog", "menu"})
_FURNITURE_NAME = re.compile(
    r"(?:^|[\s_-])(?:share|sharing|sharetools|social|related|recirc\w*|comments?|newsletters?|subscribe"
    r"|subscription|promo\w*|advert\w*|ads?|adslot|ad-slot|dfp|gpt|sponsor\w*|breadcrumbs?|tags|topics"
    r"|bio|author-?bio|outbrain|taboola|most-?read|most-?popular|most-?viewed|popular|trending|sidebar"
    r"|rail|paywall|cookie|consent|modal|signup|read-?more|more-?stories|more-?news|key-?events"
    r"|toc|jump-?links|skip|print|toolbar|caption|credits?|visually-hidden|sr-only|screen-?reader\w*"
    r"|player|gallery|banner|overlay|popup|donate|membership|masthead|nav\w*|menu|footer|placeholder"
    r"|loading|skeleton)(?=$|[\s_-])",
    re.IGNORECASE,
)
_HEAD_NAME = re.compile(
    r"(?:^|[\s_-])(?:byline|bylines|author|authors|dateline|date|dates|time|timestamp|published"
    r"|updated|modified|posted|pubdate|meta|article-?meta|entry-?meta|post-?meta)(?=$|[\s_-])",
    re.IGNORECASE,
)
_DEK_NAME = re.compile(
    r"(?:^|[\s_-])(?:dek|deck|standfirst|sub-?head(?:line)?|sub-?title|strap(?:line)?|summary|excerpt"
    r"|description|tagline)(?=$|[\s_-])",
    re.IGNORECASE,
)
_DATA_STAMPS = ("data-time", "data-timestamp", "data-datetime", "data-published", "data-date")
_SEPARATORS = re.compile(
    r"\s*[|•·]\s*|\n+|\s+/\s+(?=\D)|(?=\b(?:published|posted|updated|last updated)\b)", re.IGNORECASE
)
_TEXT = etree.XPath("string()", smart_strings=False)  # all text below an element, in C
_STAMPED = etree.XPath(
    ".//time[@datetime] | .//*[@data-time or @data-timestamp or @data-datetime or @data-published"
    " or @data-date]"
)
_H1 = etree.XPath(".//h1[1]")
_SHORT_BLOCK = 140  # a block this short that holds a <time> is a header or a stamp line
_LINKY_BLOCK = 300  # a block this short that is mostly link text is a link out


@dataclass(slots=True)
class Block:
    text: str
    tag: str
    stamp: datetime | None = None  # what a <time> element in a short block states
    stamp_text: str = ""  # that element's visible text


@dataclass(slots=True)
class Head:
    """Head fields the markup shows: headline, dek, byline box and its dates."""

    h1: str = ""
    subtitle: str = ""
    byline: str = ""
    posted: datetime | None = None
    updated: datetime | None = None


@dataclass(slots=True)
class Article:
    head: Head = field(default_factory=Head)
    blocks: list[Block] = field(default_factory=list)
    entries: list[LiveEntry] = field(default_factory=list)


def read_article(root: etree._Element, dropped: list[str]) -> Article:
    """The article's blocks, head fields and live entries. `dropped` collects furniture text."""
    body = root.find("body")
    scope = find_scope(body if body is not None else root)
    reader = _Reader(dropped, scope)
    entry_nodes = find_entries(scope)
    skip = {id(node) for node, _ in entry_nodes}
    article = Article(head=reader.head)
    article.blocks = list(reader.blocks(scope, skip))
    for node, stamp_el in entry_nodes:
        article.entries.append(reader.entry(node, stamp_el))
    return article


def find_scope(body: etree._Element) -> etree._Element:
    """The element that holds the article: the `<article>` (else `<main>`) around the place
    where paragraph text is densest, scored readability-style on parents and grandparents."""
    scores: Counter[etree._Element] = Counter()
    for p in body.iter("p"):
        size = len(text_of(p))
        if size < 25 or (parent := p.getparent()) is None:
            continue
        scores[parent] += size
        if (grand := parent.getparent()) is not None:
            scores[grand] += size // 2
    ranked = (el for el, _ in scores.most_common() if not _inside_furniture(el, body))
    densest = next(ranked, None)
    if densest is None:
        return body
    main = None
    for el in densest.iterancestors():
        if el.tag == "article":
            return _with_headline(el)
        if main is None and (el.tag == "main" or el.get("role") == "main"):
            main = el
    return _with_headline(densest if densest.tag == "article" else main if main is not None else densest)


def _with_headline(scope: etree._Element, levels: int = 3) -> etree._Element:
    """`scope`, or the nearest of its ancestors that also holds the story's `<h1>`: the head
    (headline, dek, byline, dates) often sits just outside the body's container."""
    if _H1(scope):
        return scope
    for n, el in enumerate(scope.iterancestors()):
        if n >= levels or el.tag == "body":
            break
        if _H1(el):
            return el
    return scope


def find_entries(scope: etree._Element) -> list[tuple[etree._Element, etree._Element]]:
    """Live-blog entries: sibling blocks of one tag, each holding one time element and text.
    Returns (entry, its time element) in page order; [] for an ordinary article."""
    stamps = _STAMPED(scope)
    if len(stamps) < 2:
        return []
    held: Counter[etree._Element] = Counter()
    for stamp in stamps:
        for anc in stamp.iterancestors():
            if anc is scope:
                break
            held[anc] += 1
    groups: dict[etree._Element, list[tuple[etree._Element, etree._Element]]] = {}
    for stamp in stamps:
        node = stamp
        for anc in stamp.iterancestors():
            if anc is scope or held[anc] > 1:
                break
            node = anc
        if node is not stamp and (parent := node.getparent()) is not None:
            groups.setdefault(parent, []).append((node, stamp))
    best: list[tuple[etree._Element, etree._Element]] = []
    for parent, members in groups.items():
        tag = Counter(node.tag for node, _ in members).most_common(1)[0][0]
        kept = [
            (n, s)
            for n, s in members
            if n.tag == tag and (n.tag not in BLOCK_TAGS or _holds_blocks(n)) and _has_prose(n)
        ]
        if len(kept) >= 2 and len(kept) > len(best) and not _inside_furniture(parent, scope):
            best = kept  # comments and "key events" rails carry times too: never entries
    return best


def _inside_furniture(el: etree._Element, scope: etree._Element) -> bool:
    """Whether `el` sits in a dialog, a rail, a comment thread or other furniture."""
    for node in (el, *el.iterancestors()):
        if node is scope:
            return False
        if node.tag in DROP_TAGS or node.get("role") in _DROP_ROLES:
            return True
        if _named_role(_names(node)) == "furniture":
            return True
    return False


def _has_prose(node: etree._Element) -> bool:
    return any(len(text_of(p)) >= 40 for p in node.iter("p", "li", "blockquote"))


def _stamp_of(el: etree._Element) -> str | None:
    """The stamp an element states as data: `<time datetime>` or a `data-time`-style value."""
    if el.tag == "time":
        return el.get("datetime")
    return next((value for attr in _DATA_STAMPS if (value := el.get(attr))), None)


def _stated_time(el: etree._Element) -> datetime | None:
    return parse_iso(value) if (value := _stamp_of(el)) else None


class _Reader:
    """One walk over an article: blocks out, head fields and furniture noted on the way."""

    def __init__(self, dropped: list[str], scope: etree._Element) -> None:
        self.dropped = dropped
        self.head = Head()
        self.scope_size = len(text_of(scope))
        self.seen_body = False
        self.in_entry = False

    def blocks(self, el: etree._Element, skip: set[int]) -> Iterator[Block]:
        if el.text and el.text.strip() and el.tag not in ("body", "html"):
            yield from self._loose(el.text)
        for child in el:
            tag = child.tag
            if not isinstance(tag, str) or id(child) in skip:  # comments, processing instructions
                continue
            named = _named_role(_names(child))
            if self._is_furniture(child, tag, named):
                self._drop(child)
            elif named == "head" and len(text_of(child)) < 400:
                self._read_head(child)
            elif tag == "header" and not self.in_entry:
                for head_block in self.blocks(child, skip):
                    self._head_block(head_block)
            elif tag == "h1":
                self.head.h1 = self.head.h1 or fold(text_of(child))
            elif named == "dek" and not self.seen_body and self._dek(child):
                pass
            elif (tag in BLOCK_TAGS and not _holds_blocks(child)) or _stamp_of(child):
                if read := self._block(child, tag):
                    self.seen_body = True
                    yield read
            else:
                yield from self._box(child, skip)
            if child.tail and child.tail.strip() and el.tag not in BLOCK_TAGS:
                yield from self._loose(child.tail)

    def _box(self, el: etree._Element, skip: set[int]) -> Iterator[Block]:
        """A container's blocks. One left holding only headings ("Top Stories" over a list
        of links that went as furniture) is a rail's label: furniture too."""
        found = list(self.blocks(el, skip))
        if found and not self.in_entry and all(_is_label(b) for b in found):
            self.dropped.extend(b.text for b in found)
            return
        yield from found

    def entry(self, node: etree._Element, stamp_el: etree._Element) -> LiveEntry:
        """One entry: its headline (else its visible time), its time, its paragraphs."""
        header = ""
        paragraphs: list[str] = []
        for block in self._entry_blocks(node):
            if not header and block.tag in HEADINGS:
                header = block.text
            elif block.stamp is None or len(block.text) > _SHORT_BLOCK:
                paragraphs.append(block.text)
        return LiveEntry(header or fold(text_of(stamp_el)), _stated_time(stamp_el), tuple(paragraphs))

    def _entry_blocks(self, node: etree._Element) -> Iterator[Block]:
        """An entry's blocks; its meta line (time, author) is read as head, not kept."""
        saved = self.head
        self.head, self.in_entry = Head(), True  # an entry's byline and time are not the page's
        try:
            yield from self.blocks(node, set())
        finally:
            self.head, self.in_entry = saved, False

    def _is_furniture(self, el: etree._Element, tag: str, named: str) -> bool:
        if tag in DROP_TAGS:
            return True
        if el.get("role") in _DROP_ROLES or el.get("aria-hidden") == "true" or el.get("hidden") is not None:
            return True
        if "none" in (style := el.get("style") or "") and re.search(r"display\s*:\s*none", style):
            return True
        if named == "furniture":
            # a class name is a hint, not proof: never drop most of the article by it
            return len(text_of(el)) < self.scope_size * 0.5
        if tag in ("ul", "ol", "dl", "table"):
            return _link_share(el) > 0.5
        return False

    def _drop(self, el: etree._Element) -> None:
        if el.tag in ("script", "style", "noscript", "template", "svg"):
            return
        if text := fold(text_of(el)):
            self.dropped.append(text[:200])

    def _block(self, el: etree._Element, tag: str) -> Block | None:
        parts: list[str] = []
        stamps: list[tuple[datetime, str]] = []
        if own := _stated_time(el):
            stamps.append((own, fold(text_of(el))))
        self._gather(el, parts, stamps)
        text = fold("".join(parts))
        if not text:
            return None
        permalink = self.in_entry and tag in HEADINGS  # an entry's headline links to the entry
        if len(text) <= _LINKY_BLOCK and not permalink and _link_share(el) > 0.6:
            self.dropped.append(text)
            return None
        block = Block(text, tag)
        if stamps and len(text) <= _SHORT_BLOCK:
            block.stamp, block.stamp_text = stamps[0]
        return block

    def _gather(self, el: etree._Element, parts: list[str], stamps: list[tuple[datetime, str]]) -> None:
        """`el`'s text without furniture inside it (screen-reader labels, buttons, scripts)."""
        if el.text:
            parts.append(el.text)
        for child in el:
            tag = child.tag
            if isinstance(tag, str):
                if tag == "br":
                    parts.append(" ")
                elif not self._is_furniture(child, tag, _named_role(_names(child))):
                    if stamp := _stated_time(child):
                        stamps.append((stamp, fold(text_of(child))))
                    self._gather(child, parts, stamps)
            if child.tail:
                parts.append(child.tail)

    def _loose(self, text: str) -> Iterator[Block]:
        """Text sitting directly in a container (`<div>text<br>more</div>`)."""
        if folded := fold(text):
            self.seen_body = True
            yield Block(folded, "div")

    def _dek(self, el: etree._Element) -> bool:
        text = fold(text_of(el))
        if self.head.subtitle or not text or len(text) > 400:
            return False
        self.head.subtitle = text
        return True

    def _head_block(self, block: Block) -> None:
        """A block of the article's `<header>`: byline, dates or the dek, never body. A label
        ("Live", "Breaking") is not a dek."""
        if self._read_head_text(block.text, block.stamp) or self.head.subtitle:
            return
        if len(block.text) >= 20 and " " in block.text:
            self.head.subtitle = block.text

    def _read_head(self, el: etree._Element) -> None:
        """A byline or date box: "By Ana Ruiz | Published 9:41 a.m. ET Nov. 9, 2022"."""
        for child in el.iter():
            if isinstance(child.tag, str) and (stamp := _stated_time(child)):
                self._take_stamp(stamp, updated=_says_updated(child))
        text = _text_with_breaks(el)
        for piece in _SEPARATORS.split(text):
            self._read_head_text(fold(piece), None)

    def _read_head_text(self, text: str, stamp: datetime | None) -> bool:
        if not text:
            return False
        if who := match_byline(text):
            who, when = _split_trailing_stamp(who)
            self.head.byline = self.head.byline or who
            if when and (at := when.resolve()):
                self._take_stamp(at, updated=False)
            return True
        if when := match_updated(text):
            if stamp or (stamp := when.resolve()):
                self._take_stamp(stamp, updated=True)
            return True
        if (when := match_posted(text) or match_when(text)) and (stamp or (stamp := when.resolve())):
            self._take_stamp(stamp, updated=False)
            return True
        return stamp is not None

    def _take_stamp(self, stamp: datetime, *, updated: bool) -> None:
        if updated:
            self.head.updated = self.head.updated or stamp
        else:
            self.head.posted = self.head.posted or stamp


def _is_label(block: Block) -> bool:
    return block.tag in HEADINGS and block.stamp is None and not _heads_section(block.text)


def _heads_section(text: str) -> bool:
    """A heading that opens an update or dates a section: story structure, not a label."""
    return match_marker(text) is not None or match_when(text) is not None


def _says_updated(stamp_el: etree._Element) -> bool:
    """A time element that states the revision time, by its names or the words around it."""
    parent = stamp_el.getparent()
    around = fold(text_of(parent))[:80] if parent is not None else ""
    label = f"{_names(stamp_el)} {stamp_el.get('itemprop') or ''} {around}"
    return re.search(r"updat|modif", label, re.IGNORECASE) is not None


def _split_trailing_stamp(text: str) -> tuple[str, When | None]:
    """("Ana Ruiz", Nov 9 ...) for "Ana Ruiz, Nov. 9, 2022 12:10 PM CST"."""
    for cut in (m.start() for m in re.finditer(r"[,–—-]\s", text)):
        if when := match_when(text[cut + 1 :].strip()):
            return text[:cut].strip(), when
    return text, None


@lru_cache(maxsize=2048)  # a site repeats its class names on every element and every page
def _named_role(names: str) -> str:
    """What an element's class and id say it is: "furniture", "head", "dek" or ""."""
    if not names:
        return ""
    if _FURNITURE_NAME.search(names):
        return "furniture"
    if _HEAD_NAME.search(names):
        return "head"
    return "dek" if _DEK_NAME.search(names) else ""


def _names(el: etree._Element) -> str:
    return f"{el.get('class') or ''} {el.get('id') or ''}".strip()


def _holds_blocks(el: etree._Element) -> bool:
    return any(isinstance(c.tag, str) and c.tag in _NESTED_BLOCKS for c in el)


def _link_share(el: etree._Element) -> float:
    total = len(text_of(el).strip())
    if not total:
        return 1.0
    return sum(len(text_of(a).strip()) for a in el.iter("a")) / total


def _text_with_breaks(el: etree._Element) -> str:
    """Text with a line break between block-level children, so boxes do not run together."""
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        if node.text:
            parts.append(node.text)
        for child in node:
            if isinstance(child.tag, str):
                block = child.tag in ("div", "p", "li", "br", "ul", "section", "address")
                parts.append("\n" if block else "")
                walk(child)
                parts.append("\n" if block else "")
            if child.tail:
                parts.append(child.tail)

    walk(el)
    return "".join(parts)


def text_of(el: etree._Element) -> str:
    return _TEXT(el)  # type: ignore[no-any-return]
