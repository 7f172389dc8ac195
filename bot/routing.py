"""Which routes want an alert: keywords as whole words (or regexes), excluded words, alert kinds.

A keyword is a word or phrase matched whole, casefolded, on Unicode word boundaries: `war`
finds "war" and "War," but not "award" or "warning"; `ceasefire talks` finds the phrase across
any run of white space. With `regex = true` a route's keywords are regular expressions, checked
when the config loads; they run under the `regex` module's timeout, so a pattern that would
backtrack for ever on a page costs at most REGEX_TIMEOUT and matches nothing. A search lets go
of the GIL (callers on the event loop run decisions in a thread: bot.pipeline, bot.catalog) and
its outcome is remembered per (pattern, text), so a text is searched once however often a
route decision reads it. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.models import AlertKind

log = logging.getLogger(__name__)

MAX_PATTERN = 200  # characters: a longer regex is refused at load
REGEX_TIMEOUT = 0.05  # seconds one search may take; longer is a non-match, logged
MAX_HAYSTACK = 20_000  # characters of an alert's text a keyword is looked for in
REMEMBERED = 4096  # regex outcomes kept, by (pattern, text digest), most recent first


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
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        return any(_OUTCOMES.found(pattern, text, digest) for pattern in self.patterns)


class _Outcomes:
    """Regex outcomes by (pattern, text digest), bounded, shared by threads: a route decision
    repeated for the same text (a sync's, an alert's channels and digests) costs no search."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._seen: OrderedDict[tuple[str, int, bytes], bool] = OrderedDict()
        self._lock = threading.Lock()

    def found(self, pattern: Any, text: str, digest: bytes) -> bool:
        key = (pattern.pattern, pattern.flags, digest)
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return self._seen[key]
        try:  # concurrent: the GIL is let go, so the loop runs while a thread searches
            found = pattern.search(text, concurrent=True, timeout=REGEX_TIMEOUT) is not None
        except TimeoutError:
            log.warning("route regex %r gave up after %ss: no match", pattern.pattern, REGEX_TIMEOUT)
            found = False
        with self._lock:
            self._seen[key] = found
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)
        return found


_OUTCOMES = _Outcomes(REMEMBERED)


def _regex() -> Any:
    """The `regex` module, loaded on first use (only routes with `regex = true` need it)."""
    import regex

    return regex
