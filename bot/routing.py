"""Which routes want an alert: keywords as whole words (or regexes), excluded words, alert kinds.

A keyword is a word or phrase matched whole, casefolded, on Unicode word boundaries: `war`
finds "war" and "War," but not "award" or "warning"; `ceasefire talks` finds the phrase across
any run of white space. With `regex = true` a route's keywords are regular expressions, checked
when the config loads; they run under the `regex` module's timeout, so a pattern that would
backtrack for ever on a page costs at most REGEX_TIMEOUT and matches nothing. Pure: no I/O.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.models import AlertKind

log = logging.getLogger(__name__)

KINDS = ("update", "correction", "edit", "headline")  # what a route's `kinds` may name
MAX_PATTERN = 200  # characters: a longer regex is refused at load
REGEX_TIMEOUT = 0.05  # seconds one search may take; longer is a non-match, logged
MAX_HAYSTACK = 20_000  # characters of an alert's text a keyword is looked for in


def kind_name(kind: AlertKind, label: str = "") -> str:
    """The route-facing name of an alert's kind: a new section labelled Correction or Editor's
    note is a "correction", any other new section an "update"; edits and headline changes are
    "edit" and "headline"."""
    if kind is AlertKind.SECTION_EDITED:
        return "edit"
    if kind is AlertKind.HEADLINE_CHANGED:
        return "headline"
    return "correction" if label in {"Correction", "Editor's note"} else "update"


def word_pattern(keyword: str) -> re.Pattern[str]:
    """`keyword` (casefolded) as a whole word or phrase: no word character may touch either end,
    and its inner white space matches any run of white space."""
    words = keyword.casefold().split()
    body = r"\s+".join(re.escape(w) for w in words)
    return re.compile(rf"(?<!\w){body}(?!\w)")


def regex_problem(pattern: str) -> str | None:
    """Why `pattern` cannot be a route's regex, or None when it can."""
    if len(pattern) > MAX_PATTERN:
        return f"regex longer than {MAX_PATTERN} characters"
    try:
        _regex().compile(pattern, _regex().IGNORECASE | _regex().V0)
    except _regex().error as err:
        return f"not a valid regex ({err})"
    return None


@dataclass(frozen=True, slots=True)
class Matcher:
    """Compiled keywords: `any_in(text)` is true when one of them is found in it."""

    patterns: tuple[Any, ...]
    regex: bool

    @classmethod
    def build(cls, keywords: Iterable[str], *, regex: bool) -> Matcher:
        if regex:
            flags = _regex().IGNORECASE | _regex().V0
            return cls(tuple(_regex().compile(k, flags) for k in keywords), True)
        return cls(tuple(word_pattern(k) for k in keywords), False)

    def any_in(self, text: str) -> bool:
        text = text[:MAX_HAYSTACK]
        if not self.regex:
            folded = text.casefold()
            return any(p.search(folded) for p in self.patterns)
        for pattern in self.patterns:
            try:
                if pattern.search(text, timeout=REGEX_TIMEOUT):
                    return True
            except TimeoutError:
                log.warning("route regex %r gave up after %ss: no match", pattern.pattern, REGEX_TIMEOUT)
        return False


def _regex() -> Any:
    """The `regex` module, loaded on first use (only routes with `regex = true` need it)."""
    import regex

    return regex
