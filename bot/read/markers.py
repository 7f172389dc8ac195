"""The in-place update conventions of news pages: which lines open an update, and when.

A marker is either a header on a line of its own ("UPDATE Nov 11, 2022 7:36 AM CST",
"Updated at 4:05 p.m. ET on Nov. 12", "Correction:") that heads the paragraphs below it, or
a prefix of one paragraph ("Update (3:15 p.m.): The mayor said ...") whose rest is the
update. Head lines (byline, Posted, Updated) and wire-style headline prefixes live here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.read.timestamps import When, match_leading_when, match_when

# The label, then what may follow it before the body: "(when)", "at when", ", when", " when".
_LABEL = re.compile(
    r"(?P<label>updated?(?!\s*\d{1,2}\s*-)|updates|corrections?(?:\s+added)?|clarifications?"
    r"|editor['’]?s['’]?\s+note|developing)\b",
    re.IGNORECASE,
)
_COLON_ONLY = frozenset({"updates", "clarifications", "developing"})  # "Updates will follow." is prose
# "Update 2", "Update III"; not the hour of "UPDATE 5:30 p.m." nor the day of "UPDATE 3 July 2023"
_ORDINAL = re.compile(
    r"\s+(?:#?\d{1,2}|[IVX]{1,5})(?=[\s(),—–-]|:(?!\d)|\.(?!\d)|$)"
    r"(?!\s*(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?:\s|,|$))"
    r"(?!\s*(?i:[ap]\.?\s?m\b))"  # nor the hour of "UPDATE 4 p.m."
)
_DECORATION = re.compile(r"^(?:\[|\*{1,2}|_{2,})\s*(?P<core>.+?)\s*(?:\]|\*{1,2}|_{2,})(?P<after>.*)$")
_END = re.compile(r":(?=\s|$|[A-Z\"“‘(])|\s[-–—]\s|\s?[—–]\s?")  # where a header stops and its body starts
_AT_TIME = re.compile(r"at\s+(?P<time>\d{1,2}(?::\d\d)?\s*[ap]\.?\s?m\.?|noon|midnight)", re.IGNORECASE)
_STAMP_SEPARATOR = re.compile(r"\s*(?::|[—–]|\s-)\s*$")
_ORIGINAL_LABEL = re.compile(
    r"\(?(?:(?:our|the)\s+)?original\s+(?:post|story|article|report)(?:\s+(?:follows|below|continues))?:?\)?:?"
    r"|\(?(?:this|the)\s+(?:story|article|post|report)\s+was\s+(?:originally|first)\s+(?:published|posted)\b"
    r".{0,80}?\)?",
    re.IGNORECASE,
)
_WIRE = re.compile(r"^(?P<kind>UPDATE|CORRECTED|REFILE)\s*(?P<n>\d*)\s*[-–—:]\s*(?=\S)")
_BYLINE = re.compile(r"(?:By|BY|by)\s+(?=[A-Z])(?P<who>.{2,150})")
_POSTED = re.compile(r"(?:posted|published|first published)(?:\s+(?:on|at))?:?\s+(?P<when>.+)", re.IGNORECASE)
_UPDATED = re.compile(r"(?:last\s+)?(?:updated|modified)(?:\s+(?:on|at))?:?\s+(?P<when>.+)", re.IGNORECASE)
_NUMBERED = re.compile(r"#?\d{1,2}")  # "Update 2:"


@dataclass(frozen=True, slots=True)
class Marker:
    """A line that opens an update: its header as written, its stamp, and any body after it."""

    header: str
    when: When | None
    rest: str  # "" for a header on its own line


def match_marker(line: str) -> Marker | None:
    """The update marker at the start of `line` (white space folded), if there is one.
    Decorations around the label ("[Update]", "**UPDATE**", "___ UPDATE ___") are part of it."""
    core = line
    if line[:1] in "[*_" and (decorated := _DECORATION.match(line)):
        core = decorated["core"] + decorated["after"]
    if not core or core[0] not in "UuCcEeDd" or not (found := _LABEL.match(core)):
        return None
    after = core[found.end() :]
    if ordinal := _ORDINAL.match(after):
        after = after[ordinal.end() :]
    if not after.strip(" :"):
        return Marker(line, None, "")
    if found["label"].casefold() in _COLON_ONLY and after.lstrip()[:1] not in (":", "("):
        return None
    when_text, rest = _split_header(after)
    if when_text is None:
        return None
    when = None
    if when_text and not _NUMBERED.fullmatch(when_text):
        stamp = when_text.removeprefix("at ").removeprefix("on ")
        when = match_when(stamp)
        if when is None and not rest and (split := match_leading_when(stamp)):
            when, rest = split  # "UPDATE Nov 12, 2022 8:00 AM CST Officials said ..."
        if when is None:
            return None  # "Updated figures show ..." is a sentence, not a marker
    if when is None and rest.strip():
        rest = rest.strip()
        if whole := match_when(rest):
            when, rest = whole, ""  # "Update: Friday 11th of November 2022 at 4:05pm": all stamp
        elif split := match_leading_when(rest):
            when, rest = split  # "UPDATE: Dec. 22, 2016, 2:16 p.m. EST Updated with ..."
        elif at := _AT_TIME.match(rest):
            when = match_when(at["time"])  # "UPDATE: At 2 p.m., officials said": the body keeps it
    if not rest.strip():
        return Marker(line, when, "")
    cut = line.rfind(rest)
    return Marker(line[:cut].strip(), when, line[cut:].strip())


def match_stamped_paragraph(line: str) -> Marker | None:
    """A paragraph led by a time and a separator ("2:58 p.m.: The article was updated to add
    ..."), as under an "UPDATES:" label or on a live page: that paragraph is an update."""
    if not (line[:1].isdigit() or line[:4].casefold() in ("noon", "midn")):
        return None  # a time leads it: cheap to rule out for every other paragraph
    if not (split := match_leading_when(line)):
        return None
    when, rest = split
    header = line[: len(line) - len(rest)]
    if not when.has_time or not _STAMP_SEPARATOR.search(header):
        return None
    return Marker(header.strip(), when, rest)


def is_original_label(line: str) -> bool:
    """ "(Our original post:)", "This story was originally published Tuesday at 11:35 a.m.":
    a note that the original text follows, not body."""
    return len(line) <= 160 and _ORIGINAL_LABEL.fullmatch(line) is not None


def _split_header(after: str) -> tuple[str | None, str]:
    """(stamp text, body) after a label; stamp text None when `after` does not fit a header."""
    after = after.lstrip(" \t") if after.lstrip(" \t")[:1] == "(" else after
    if after[0] == "(":
        close = after.find(")")
        if close < 0:
            return None, ""
        tail = after[close + 1 :]
        if not (stop := _END.match(tail)):  # " - Crews ...": the separator keeps its space
            tail = tail.lstrip()
            stop = _END.match(tail)
        return after[1:close].strip(), tail[stop.end() :] if stop else tail
    if after[0] not in " ,:-–—\t":
        return None, ""  # "Updates" or "Updater": another word
    stop = _END.search(after)
    if stop is None:
        return after.strip(" ,"), ""
    return after[: stop.start()].strip(" ,"), after[stop.end() :]


def match_byline(line: str) -> str | None:
    found = _BYLINE.fullmatch(line)
    return found["who"].strip(" ,") if found else None


def match_posted(line: str) -> When | None:
    found = _POSTED.fullmatch(line)
    return match_when(found["when"]) if found else None


def match_updated(line: str) -> When | None:
    """A head "Updated <stamp>" line: story metadata, unlike "Updated at ..." or "...:" markers."""
    if line.endswith(":") or line[:10].lower() == "updated at":
        return None
    found = _UPDATED.fullmatch(line)
    return match_when(found["when"]) if found else None


def strip_wire_prefix(title: str) -> tuple[str, int]:
    """("Russia completes withdrawal", 2) for "UPDATE 2-Russia completes withdrawal"."""
    found = _WIRE.match(title)
    if not found:
        return title, 0
    revision = int(found["n"]) if found["n"] else 1
    return title[found.end() :], revision if found["kind"] != "REFILE" else 0
