"""Old Story + new Story -> events. Pure.

Sections are matched by what they are, not where they sit: first by fingerprint (the
normalised body, so white space, NBSP and reflowed paragraphs change nothing), then by
header or publisher timestamp, then by likeness. Only what is left unmatched is new.
Paragraph order is not content: the same paragraphs in another order are no edit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from rapidfuzz import fuzz

from bot.models import (
    Event,
    HeadlineChanged,
    NewUpdate,
    Section,
    SectionEdited,
    SectionKind,
    Story,
    normalise_text,
)

EDIT_THRESHOLD = 0.02  # share of a body that must change before an edit is worth telling
LIKENESS = 0.6  # bodies at least this alike are one section, edited


def diff(old: Story, new: Story, *, edit_threshold: float = EDIT_THRESHOLD) -> list[Event]:
    """Events that turn `old` into `new`: headline changes, new updates, real edits."""
    events: list[Event] = []
    if old.title and new.title and _norm(old.title) != _norm(new.title):
        events.append(HeadlineChanged(old.title, new.title))

    old_prints = {s.fingerprint for s in old.sections}
    new_prints = {s.fingerprint for s in new.sections}
    unmatched_old = [s for s in old.sections if s.fingerprint not in new_prints]
    unmatched_new = [s for s in new.sections if s.fingerprint not in old_prints]

    new_updates: list[Section] = []
    for section in unmatched_new:
        counterpart = _counterpart(section, unmatched_old)
        if counterpart is None:
            if section.kind is SectionKind.UPDATE:
                new_updates.append(section)
            continue
        unmatched_old.remove(counterpart)
        change = 1 - _likeness(counterpart, section)
        if change >= edit_threshold:
            events.append(SectionEdited(counterpart, section, round(change, 4)))

    events.extend(NewUpdate(s) for s in chronological(new_updates))
    return events


def chronological(sections: Iterable[Section]) -> list[Section]:
    """Publisher time order; untimed sections keep page order, after the timed ones."""
    indexed = list(enumerate(sections))
    indexed.sort(key=lambda pair: (pair[1].timestamp is None, _sort_time(pair[1].timestamp), pair[0]))
    return [section for _, section in indexed]


def _counterpart(section: Section, candidates: list[Section]) -> Section | None:
    """The old section this one is a new version of, if any."""
    same_kind = [c for c in candidates if c.kind is section.kind]
    for c in same_kind:
        if section.timestamp is not None and c.timestamp == section.timestamp:
            return c
    if section.kind is SectionKind.ORIGINAL and len(same_kind) == 1:
        return same_kind[0]  # a story has one original: an edit to it is still it
    best, best_score = None, LIKENESS
    for c in same_kind:
        if c.timestamp is not None and section.timestamp is not None:
            continue  # two different publisher times are two different updates
        score = _likeness(c, section)
        if score >= best_score:
            best, best_score = c, score
    return best


def _likeness(a: Section, b: Section) -> float:
    """How alike two bodies are, 0..1, in page order or with paragraphs sorted, whichever is
    higher: a publisher moving paragraphs around has not edited them."""
    in_order = fuzz.ratio(_norm(a.body), _norm(b.body))
    # a shortcut only: max() below gives 1.0 too, and equal bodies share a fingerprint anyway
    if in_order == 100:  # pragma: no mutate
        return 1.0  # pragma: no mutate
    sorted_a, sorted_b = (" ".join(sorted(_norm(p) for p in s.paragraphs)) for s in (a, b))
    return max(in_order, fuzz.ratio(sorted_a, sorted_b)) / 100


def _norm(text: str) -> str:
    return normalise_text(text).casefold()


def _sort_time(ts: datetime | None) -> float:
    return ts.timestamp() if ts is not None else 0.0  # pragma: no mutate (untimed ones sort by page order)
