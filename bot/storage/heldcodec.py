"""How both backends write the held rows' lists: one spelling, so the two never drift."""

from __future__ import annotations

import json
from collections.abc import Iterable

KEYWORD_SEP = "\x1f"


def keywords_key(keywords: Iterable[str]) -> str:
    """Keywords as one column: casefolded, unique, sorted, so the same set is the same key."""
    return KEYWORD_SEP.join(sorted({k.strip().casefold() for k in keywords if k.strip()}))


def keywords_of(key: str) -> tuple[str, ...]:
    return tuple(key.split(KEYWORD_SEP)) if key else ()


def aliases_text(aliases: Iterable[str]) -> str:
    return json.dumps(list(aliases), ensure_ascii=False)


def aliases_of(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text or "[]"))
