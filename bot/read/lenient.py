"""The slow path for stamps the hand-written forms in `timestamps` do not know.

"11.11.2022 7.36am", "Friday 11th of November 2022 at 7:36am" or "2022/11/11 07:36" are rare
enough that a general parser (dateparser, already installed with trafilatura) is worth its
cost: about 1.3 ms a stamp after a one-time set-up of about 120 ms, against a few
microseconds for the hand-written forms. So only text made entirely of date words and
numbers reaches it, and what it says is cached.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dateparser.date import DateDataParser

_DATE_WORDS = frozenset(
    re.findall(
        r"\w+",
        "january february march april may june july august september october november december"
        " jan feb mar apr jun jul aug sep sept oct nov dec"
        " monday tuesday wednesday thursday friday saturday sunday"
        " mon tue tues wed thu thur thurs fri sat sun"
        " am pm a m p h at on of the st nd rd th noon midnight",
    )
)
_MONTH_WORD = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|\b\d{1,4}[./-]\d{1,2}[./-]\d{2,4}\b"
)
_TOKENS = re.compile(r"[a-z]+|\d+")
_HAS_TIME = re.compile(r"\d\s*(?:[:.h]\s*\d\d|[ap]\.?\s?m\b)|\bnoon\b|\bmidnight\b")
_DOTTED = re.compile(r"\b\d{1,2}\.\d{1,2}\.\d{2,4}\b")
_HAS_YEAR = re.compile(r"\b(?:19|20)\d\d\b|\b\d{1,2}[./-]\d{1,2}[./-]\d{2}\b")


def looks_like_a_date(text: str) -> bool:
    """Only date words and numbers, with a month (named or numeric): worth the slow parser."""
    lowered = text.lower()
    tokens = _TOKENS.findall(lowered)
    return (
        any(t.isdigit() for t in tokens)
        and all(t.isdigit() or t in _DATE_WORDS for t in tokens)
        and _MONTH_WORD.search(lowered) is not None
    )


@lru_cache(maxsize=1024)
def read_date(text: str) -> tuple[int | None, int, int, int | None, int] | None:
    """(year or None, month, day, hour or None, minute) of `text`, as a general parser reads
    it; None when it reads no day and month. Year and hour are None when the text states
    none (the parser would fill them from today)."""
    found = _parser(_DOTTED.search(text) is not None).get_date_data(text)
    stamp: Any = found.date_obj
    if stamp is None:
        return None
    lowered = text.lower()
    year = stamp.year if _HAS_YEAR.search(lowered) else None
    timed = _HAS_TIME.search(lowered) is not None
    return year, stamp.month, stamp.day, stamp.hour if timed else None, stamp.minute if timed else 0


@lru_cache(maxsize=2)
def _parser(day_first: bool) -> DateDataParser:
    """The parser; `day_first` for dotted dates ("12.11.2022"), which are written day first
    where they are written at all, while the English default reads month first."""
    from dateparser.date import DateDataParser  # imported on first use: most pages never need it

    settings: dict[str, Any] = {"REQUIRE_PARTS": ["day", "month"]}
    if day_first:
        settings["DATE_ORDER"] = "DMY"
    return DateDataParser(languages=["en"], settings=settings)
