"""Story text -> `Story`: head fields and dated sections, furniture removed. Pure.

Reading is two steps. One pass over the lines sorts each into head (title, subtitle, byline,
Posted/Updated), furniture, photo caption, update marker, date line or body, building
blocks of paragraphs. Then the blocks' stamps are resolved (a time without a date takes the
date above it) and each block is named ORIGINAL or UPDATE:

- text before any marker is the original, stamped with the Posted time;
- a marker ("UPDATE ...", "Update:", "Correction:", "Editor's note:", "Updated at ...")
  is an update, heading the paragraphs below it, or, as a paragraph's prefix, that paragraph;
- a paragraph led by a time and a separator ("2:58 p.m.: ...") is an update of its own;
- a line that is only a stamp heads the original when it is the Posted time (else, with no
  lead text, the earliest such line); otherwise it opens an update, as live-blog entries do;
- an "(Our original post:)" label opens the original.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from functools import lru_cache
from types import MappingProxyType

from bot.models import Section, SectionKind, Story
from bot.read.furniture import (
    is_body_clutter,
    is_caption,
    is_furniture,
    is_rail_heading,
    is_standing_note,
    is_title_line,
    strip_trailing,
)
from bot.read.markers import (
    is_original_label,
    match_byline,
    match_marker,
    match_posted,
    match_stamped_paragraph,
    match_updated,
    strip_wire_prefix,
)
from bot.read.timestamps import ZONES, When, match_when

NO_TEXT = "no article text found"
_WRAP_WIDTH = 100  # a text whose lines all fit is hard-wrapped: its paragraphs span lines
_STAMP_WIDTH = 80
_HEAD_LOOKAHEAD = 3
_DAY, _NO_DAY = timedelta(days=1), timedelta(0)
_SLACK = timedelta(days=2)  # how far a stamp may stray from the others before its year is doubted
# "The Latest on the fire (all times local):", "(All times Eastern)": a note about the page
_ALL_TIMES = re.compile(
    r"(?:the latest\b.{0,200}?)?\(?all times (?:are |in )?(?P<zone>[a-z]+)(?: time)?\)?:?", re.IGNORECASE
)
_LATEST_INTRO = re.compile(r"the latest (?:on|about|from|in) .{3,200}:", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class PageHead:
    """What an HTML page states as data beside its text (meta tags, JSON-LD, `<time>`
    elements, its byline box): used wherever the text itself is silent."""

    title: str | None = None
    subtitle: str = ""
    byline: str = ""
    posted: datetime | None = None
    updated: datetime | None = None
    stamps: Mapping[str, datetime] = field(default_factory=lambda: MappingProxyType({}))
    """A `<time>` element's visible text -> the datetime its attribute states."""


@dataclass(slots=True)
class _Block:
    role: str  # "lead" (text before any marker), "marker", "prefix", "stamp", "date"
    header: str = ""
    when: When | None = None
    paragraphs: list[str] = field(default_factory=list)
    at: datetime | None = None


@dataclass(slots=True)
class _Head:
    title: str = ""
    subtitle: str = ""
    byline: str = ""
    posted: When | None = None
    updated: When | None = None
    zone: str | tzinfo | None = None  # from a page note: "(all times Eastern)"
    label: str = ""  # the last bare head label ("Updated"): its stamp may be the next line
    stamps: Mapping[str, datetime] = field(default_factory=dict)


def parse_text(
    text: str,
    *,
    title: str | None = None,
    wrapped: bool | None = None,
    page: PageHead | None = None,
    dropped: list[str] | None = None,
) -> Story:
    """Parse story text. `title` is given when it came from elsewhere (HTML metadata); else the
    first line is the title. `wrapped` says whether consecutive lines join into one paragraph
    (guessed from line widths when None). `page` holds what an HTML page said as data;
    `dropped` collects the furniture lines left out."""
    raws = text.splitlines()
    lines = [fold(raw) for raw in raws]
    start = next((n for n, line in enumerate(lines) if line), len(lines))
    head = _Head()
    if page is not None:
        title = page.title if title is None else title
        head.subtitle, head.byline, head.stamps = page.subtitle, page.byline, page.stamps
        head.posted = When(fixed=page.posted) if page.posted else None
        head.updated = When(fixed=page.updated) if page.updated else None
    if title is None and start < len(lines):
        title, start = lines[start], start + 1
    given = fold(title or "")
    head.title, revision = strip_wire_prefix(given)
    if wrapped is None:
        wrapped = max(map(len, lines[start:]), default=0) <= _WRAP_WIDTH
    titles = {given.casefold(), head.title.casefold()}
    blocks = _read_blocks(raws, lines, start, head, wrapped, titles, [] if dropped is None else dropped)
    posted, updated, sections = _resolve(blocks, head)
    return Story(
        title=head.title,
        subtitle=head.subtitle,
        byline=head.byline,
        posted=posted,
        updated=updated,
        sections=sections,
        problems=() if sections else (NO_TEXT,),
        revision=revision,
    )


def fold(line: str) -> str:
    """`line` with NBSPs, line breaks and runs of white space as single spaces, trimmed."""
    if line.isprintable() and "  " not in line and line[:1] != " " and line[-1:] != " ":
        return line  # isprintable() is False for every white space but " ": nothing to fold
    return " ".join(line.split())


def _read_blocks(
    raws: list[str],
    lines: list[str],
    start: int,
    head: _Head,
    wrapped: bool,
    titles: set[str],
    dropped: list[str],
) -> list[_Block]:
    """The single pass: sort lines, fill `head`, and group body lines into blocks. A line
    repeating the title (`titles`, case folded) is a photo title or the HTML headline."""
    title_len = max(map(len, titles)) + 8  # casefold may lengthen a little ("ß" -> "ss")
    blocks: list[_Block] = []
    host: _Block | None = None  # where body paragraphs go
    target: _Block | None = None  # where the paragraph being read goes
    para: list[str] = []
    in_head = True
    in_rail = False  # under a "Related" heading: the headlines below it are links

    def flush() -> None:
        nonlocal host, target
        if para and target is not None and (joined := strip_trailing(" ".join(para))):
            if is_body_clutter(
                joined, after_paragraph=bool(target.paragraphs), authors=_authors(head.byline)
            ):
                dropped.append(joined)
            elif _is_standing_note(target, joined, blocks):
                dropped.extend((target.header, joined))
                blocks.remove(target)
                host = target = None
            else:
                target.paragraphs.append(joined)
        para.clear()

    for n in range(start, len(lines)):
        line = lines[n]
        if not line:
            flush()
            continue
        if is_rail_heading(line):
            dropped.append(line)
            in_rail = True
            continue
        if _is_clutter(line, raws, lines, n):
            dropped.append(line)
            continue
        if in_rail and _is_rail_link(line):
            dropped.append(line)
            continue
        in_rail = False
        if len(line) <= title_len and line.casefold() in titles:
            continue
        if _read_page_note(line, head):
            dropped.append(line)
            continue
        if in_head and _read_head_line(line, lines, n, head):
            continue
        in_head = False
        if marker := match_marker(line) or match_stamped_paragraph(line):
            flush()
            when = _stated_stamp(marker.header, head) or marker.when
            block = _Block("prefix" if marker.rest else "marker", marker.header, when)
            blocks.append(block)
            if marker.rest:
                target, para[:] = block, [marker.rest]
                if not wrapped:
                    flush()
            else:
                host = target = block
            continue
        if len(line) <= _STAMP_WIDTH and (when := _stated_stamp(line, head) or match_when(line)):
            flush()
            block = _Block("stamp" if when.has_time else "date", line, when)
            blocks.append(block)
            if when.has_time:
                host = target = block
            continue
        if is_original_label(line):
            flush()
            host = target = _Block("original", line)
            blocks.append(host)
            continue
        if not para:
            if host is None:
                host = _Block("lead")
                blocks.append(host)
            target = host
        para.append(line)
        if not wrapped:
            flush()
    flush()
    return blocks


@lru_cache(maxsize=256)
def _authors(byline: str) -> tuple[str, ...]:
    """The names in a byline: "Dana Ruiz and Li Wei, City Desk" -> ("Dana Ruiz", "Li Wei")."""
    names = re.split(r",|\band\b|&|\|", byline)
    return tuple(n.strip() for n in names if 1 < len(n.split()) <= 4 and n.strip()[:1].isupper())


def _is_rail_link(line: str) -> bool:
    """A headline under a "Related" heading, "Update: ..." ones included. A bare marker
    ("___ UPDATE ___") links nowhere: it heads the text below it, so the rail has ended."""
    marker = match_marker(line)
    if marker and not marker.rest:
        return False
    return is_title_line(marker.rest if marker else line)


def _is_standing_note(block: _Block, paragraph: str, blocks: list[_Block]) -> bool:
    """An undated "Editor's note" above the story that describes the column or newsletter
    ("... is a weekly column ...", "Sign up ..."): a box every issue repeats, not an update."""
    return (
        block.role in {"marker", "prefix"}
        and not block.paragraphs
        and block.when is None
        and "note" in block.header.casefold()
        and not any(b.paragraphs for b in blocks)
        and is_standing_note(paragraph)
    )


def _stated_stamp(header: str, head: _Head) -> When | None:
    """The datetime a `<time>` element in this header states, when the page gave one."""
    for text, stamp in head.stamps.items():
        if text in header:
            return When(fixed=stamp)
    return None


def _read_page_note(line: str, head: _Head) -> bool:
    """An "(all times Eastern)" note or a "The Latest on ...:" intro: about the page, not
    body; a named zone becomes the zone of every stamp that states none."""
    if len(line) > 300:
        return False
    if note := _ALL_TIMES.fullmatch(line):
        head.zone = ZONES.get(note["zone"].casefold(), head.zone)
        return True
    return _LATEST_INTRO.fullmatch(line) is not None


def _is_clutter(line: str, raws: list[str], lines: list[str], n: int) -> bool:
    """Furniture, a photo caption, or the photo's title line above its caption."""
    if is_furniture(line) or is_caption(raws[n], strip_trailing(line)):
        return True
    return _is_photo_title(line, raws, lines, n)


def _is_photo_title(line: str, raws: list[str], lines: list[str], n: int) -> bool:
    """A short unpunctuated line right above a caption names the photo."""
    return (
        len(line) <= 200
        and line[-1] not in '.!?"”'
        and n + 1 < len(lines)
        and is_caption(raws[n + 1], lines[n + 1])
    )


def _read_head_line(line: str, lines: list[str], n: int, head: _Head) -> bool:
    """Take `line` into `head` if it is a head field; False when the body has begun."""
    label, head.label = head.label, line.casefold().rstrip(":")
    if head.label in {"updated", "last updated", "published", "posted"}:
        return True  # a head label whose stamp sits on the next line, or nowhere
    head.label = ""
    if label and (when := match_when(line)):
        if label.endswith("updated"):
            head.updated = head.updated or when
        else:
            head.posted = head.posted or when
    elif not head.byline and (who := match_byline(line)):
        head.byline = who
    elif when := match_posted(line):
        head.posted = head.posted or when
    elif when := match_updated(line):
        head.updated = head.updated or when
    elif not (head.subtitle or head.byline or head.posted or head.updated) and _above_head_fields(lines, n):
        head.subtitle = line
    else:
        return False
    return True


def _above_head_fields(lines: list[str], n: int) -> bool:
    """A subtitle is told from a first paragraph by the byline or dates just below it."""
    if len(lines[n]) > 300:
        return False
    below = [line for line in lines[n + 1 : n + 1 + 2 * _HEAD_LOOKAHEAD] if line][:_HEAD_LOOKAHEAD]
    return any(match_byline(b) or match_posted(b) or match_updated(b) for b in below)


def _resolve(
    blocks: list[_Block], head: _Head
) -> tuple[datetime | None, datetime | None, tuple[Section, ...]]:
    """Stamp every block from its context, name each ORIGINAL or UPDATE, drop empty ones."""
    posted = head.posted.resolve(head.zone) if head.posted else None
    zone = head.zone or (head.posted.zone if head.posted else None) or (posted.tzinfo if posted else None)
    updated = head.updated.resolve(zone, year=posted.year if posted else None) if head.updated else None
    zone = zone or (head.updated.zone if head.updated else None) or (updated.tzinfo if updated else None)
    _stamp_dated(blocks, zone, updated or posted)
    _fix_typo_years(blocks, posted, updated)
    _stamp_time_only(blocks, zone, updated or posted, posted)
    if not any(b.paragraphs and b.role in {"lead", "original"} for b in blocks):
        _pick_original_stamp(blocks, posted)
    sections = tuple(
        Section(
            SectionKind.ORIGINAL if b.role in {"lead", "original"} else SectionKind.UPDATE,
            b.header,
            (b.at or posted or updated) if b.role in {"lead", "original"} else b.at,
            tuple(b.paragraphs),
        )
        for b in blocks
        if b.paragraphs
    )
    return posted, updated, sections


def _stamp_dated(blocks: list[_Block], zone: str | tzinfo | None, page_date: datetime | None) -> None:
    """Stamps that state a date; one without a year takes the year of the date above it."""
    year = page_date.year if page_date else None
    for block in blocks:
        if block.when is not None and block.when.has_date:
            block.at = block.when.resolve(zone, year=year)
            year = block.at.year if block.at else year


def _fix_typo_years(blocks: list[_Block], posted: datetime | None, updated: datetime | None) -> None:
    """ "UPDATE Nov 11, 2021" on a story posted Nov 9, 2022: a stated year that puts an update
    before the story began, or past every other stamp, is a typo when the story's own year
    puts it in place. A year that fits (a Jan 1 entry after Dec 31) is kept."""
    if posted is None:
        return
    latest = max([b.at for b in blocks if b.at is not None] + [posted] + ([updated] if updated else []))

    def fits(at: datetime, others_latest: datetime) -> bool:
        return posted - _SLACK <= at <= others_latest + _SLACK

    for block in blocks:
        when = block.when
        if block.at is None or when is None or when.year is None or when.year == posted.year:
            continue
        others = [b.at for b in blocks if b.at is not None and b is not block]
        others_latest = max([posted, *others] + ([updated] if updated else []))
        if fits(block.at, others_latest):
            continue
        try:
            fixed = block.at.replace(year=posted.year)
        except ValueError:  # Feb 29
            continue
        if fits(fixed, others_latest) or (fixed >= posted and fixed <= latest):
            block.at = fixed


def _stamp_time_only(
    blocks: list[_Block], zone: str | tzinfo | None, page_date: datetime | None, posted: datetime | None
) -> None:
    """A time with no date ("11:40 p.m.") takes the date of the nearest stamped section, above
    it in page order, else below it, else the page's date; the page's time order then moves it
    a day where it crosses midnight. The order is the one (newest or oldest first) that the
    page's full stamps show, else the one that gives the more compact timeline, starting no
    earlier than the story: on a newest-first page "11:40 p.m." under "Nov 12, 9:00 a.m." is
    Nov 11, on an oldest-first page "1:15 a.m." under "Nov 11, 10 p.m." is Nov 12."""
    stamped = [b for b in blocks if b.when is not None]
    if all(b.at is not None for b in stamped):
        return
    orders = (False, True)
    readings = [_date_times(stamped, zone, page_date, posted, newest_first=order) for order in orders]
    known = [b.at for b in stamped if b.at is not None]
    full = [b.at for b in stamped if b.at is not None and b.when is not None and b.when.has_time]
    falls = sum(a > b for a, b in zip(full, full[1:], strict=False))
    rises = sum(a < b for a, b in zip(full, full[1:], strict=False))
    floor = posted - _SLACK if posted else None

    def cost(order: bool, reading: list[datetime | None]) -> tuple[int, int, timedelta]:
        times = known + [at for at in reading if at is not None]
        early = sum(1 for at in times if floor is not None and at < floor)
        against = (falls < rises) if order else (rises < falls)  # the full stamps say otherwise
        return early, against, (max(times) - min(times)) if times else _NO_DAY

    best = min(zip(orders, readings, strict=True), key=lambda pair: cost(*pair))[1]
    for block, at in zip(stamped, best, strict=True):
        block.at = block.at or at


def _date_times(
    stamped: list[_Block],
    zone: str | tzinfo | None,
    page_date: datetime | None,
    posted: datetime | None,
    *,
    newest_first: bool,
) -> list[datetime | None]:
    """The datetimes of undated stamps (None for the dated ones) if the page lists its
    stamps `newest_first` or not."""
    ats: list[datetime | None] = [b.at for b in stamped]
    reading: list[datetime | None] = [None] * len(stamped)
    for n, block in enumerate(stamped):
        if ats[n] is not None or block.when is None:
            continue
        above = next((k for k in range(n - 1, -1, -1) if ats[k] is not None), None)
        below = next((b.at for b in stamped[n + 1 :] if b.at is not None), None)
        above_at = ats[above] if above is not None else None
        reference = above_at or below or page_date
        at = block.when.resolve(zone, reference.date()) if reference else None
        if at is None:
            continue
        date_line = above is not None and not (stamped[above].when or When()).has_time
        if above_at is not None and not date_line:  # a date line dates what is under it, in any order
            at += _shift(at, above_at, later=not newest_first)
        elif above_at is None and below is not None:
            at += _shift(at, below, later=newest_first)
        elif above_at is None and posted is not None and at < posted <= at + _DAY:
            at += _DAY  # an update cannot precede the story it updates
        ats[n] = reading[n] = at
    return reading


def _shift(at: datetime, neighbour: datetime, *, later: bool) -> timedelta:
    """A day forward or back when `at` breaks the page's order against the neighbour it took
    its date from: `later` says `at` should come after it."""
    if later and at < neighbour:
        return _DAY
    if not later and at > neighbour:
        return -_DAY
    return _NO_DAY


def _pick_original_stamp(blocks: list[_Block], posted: datetime | None) -> None:
    """With no lead text, the original is the stamp line at the Posted time, else the
    earliest stamp line: the page began with it."""
    stamps = [b for b in blocks if b.role == "stamp" and b.paragraphs]
    if not stamps:
        return
    chosen = next((b for b in stamps if posted is not None and b.at == posted), None)
    if chosen is None:
        dated = [b for b in stamps if b.at is not None]
        chosen = min(dated, key=lambda b: b.at) if dated else stamps[-1]  # type: ignore[arg-type, return-value]
    chosen.role = "original"
