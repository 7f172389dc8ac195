"""Short, deterministic summaries of sections for alerts: the story's own lead sentences.

Extractive on purpose: an alert quotes the publisher, never paraphrases it. A summary is
the first sentences that fit in `limit` characters, cut on a sentence boundary; when even
the first sentence is too long, it is cut on a word boundary and ends with an ellipsis.
Sentence ends are found by punctuation, skipping the dots of "U.S.", "Gen.", "Nov. 9",
"Dr." and initials.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from bot.models import Section, normalise_text
from bot.read.timestamps import ZONES

ELLIPSIS = "…"
# Words whose dot does not end a sentence ("Gen. Surovikin", "Nov. 9"), lower case.
ABBREVIATIONS = frozenset(
    re.split(
        r"\s+",
        """mr mrs ms dr prof gen lt col maj capt cmdr adm sgt cpl pvt gov sen rep pres supt insp
        det atty rev fr sr jr st mt ft inc co corp ltd bros dept univ assn ave blvd rd hwy no nos
        vol vs etc approx est fig jan feb mar apr jun jul aug sep sept oct nov dec""",
    )
)
# A sentence may end at . ! or ?, after closing quotes or brackets, before a space and a
# capital, digit or opening quote.
_END = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_ACRONYM = re.compile(r"(?:[A-Za-z]\.){2,}")
_CLOCK = frozenset({"a.m.", "p.m."})
_TRIM = " ,;:—–-"


def sentences(paragraphs: Iterable[str]) -> list[str]:
    """The sentences of `paragraphs`, in order, white space folded."""
    found: list[str] = []
    for paragraph in paragraphs:
        text = " ".join(paragraph.split())
        start = 0
        for end in _END.finditer(text):
            if _ends_sentence(text, end.start(), end.end()):
                found.append(text[start : end.end()].rstrip())
                start = end.end()
        if rest := text[start:].strip():
            found.append(rest)
    return found


def _ends_sentence(text: str, dot: int, next_word: int) -> bool:
    """Whether the punctuation at `dot` ends a sentence, judging by the word it closes."""
    if text[dot] != ".":
        return True
    word = text[text.rfind(" ", 0, dot) + 1 : dot + 1].lstrip("\"'“‘([")
    if word.lower() in _CLOCK:  # "3 p.m. ET" continues, "3 p.m. The" ends
        after = text[next_word:].split(" ", 1)[0].rstrip(".,;:")
        return after.lower() not in ZONES
    bare = word[:-1]
    if len(bare) == 1 and bare.isalpha():
        return False  # an initial: "J. Smith"
    return bare.lower() not in ABBREVIATIONS and not _ACRONYM.fullmatch(word)


def summarize(section: Section, limit: int = 280) -> str:
    """The lead sentences of `section` that fit in `limit` characters."""
    return _fit(sentences(section.paragraphs), limit)


def summarize_edit(old: Section, new: Section, limit: int = 280) -> str:
    """What an edit changed: the sentences of `new` not in `old`, leading ones first. An edit
    that only cut text says what went ("Removed: ..."); one that changed nothing readable
    (white space, reflow) gets the plain summary."""
    before, after = sentences(old.paragraphs), sentences(new.paragraphs)
    old_keys, new_keys = {_key(s) for s in before}, {_key(s) for s in after}
    if added := [s for s in after if _key(s) not in old_keys]:
        return _fit(added, limit)
    if removed := [s for s in before if _key(s) not in new_keys]:
        prefix = "Removed: "
        return prefix + _fit(removed, limit - len(prefix)) if limit > len(prefix) else ""
    return _fit(after, limit)


def first_sentences(text: str, limit: int, most: int = 2) -> str:
    """At most `most` leading sentences of `text` that fit in `limit` (the first cut at a word
    when it alone is too long): how a model's answer is held to an alert's size."""
    return _fit(sentences([text])[:most], limit)


def _key(sentence: str) -> str:
    return normalise_text(sentence).casefold()


def _fit(found: Sequence[str], limit: int) -> str:
    """The leading sentences that fit in `limit`; else the first one cut at a word."""
    if limit <= 0 or not found:
        return ""
    size, taken = -1, 0
    for sentence in found:
        if size + 1 + len(sentence) > limit:
            break
        size += 1 + len(sentence)
        taken += 1
    if taken:
        return " ".join(found[:taken])
    return cut(found[0], limit)


def cut(text: str, limit: int) -> str:
    """`text` cut on the last word boundary that leaves room for an ellipsis."""
    room = limit - len(ELLIPSIS)
    if room <= 0:
        return ELLIPSIS[:limit]
    space = text.rfind(" ", 0, room + 1)
    head = text[:space] if space > 0 else text[:room]
    return head.rstrip(_TRIM) + ELLIPSIS
