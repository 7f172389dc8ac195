"""Benchmark 1: parse + diff throughput on text pages, against difflib in the same run.

A pair is an old and a new snapshot of one story. storybot parses both and diffs the two
Stories; the baseline is what whole-page watchers do, `difflib.unified_diff` over the lines
of the same two texts (generator consumed). Cases: the seed pair, and generated stories of
1, 10 and 100 sections that gain one update. One thread, so one core.
"""

from __future__ import annotations

import difflib
from collections import deque
from collections.abc import Sequence

from bench.measure import Figure, Target, compare
from bench.stories import seed_pair, text_pair
from bot.diff import diff
from bot.models import NewUpdate
from bot.read import parse_story

BENCH = "1 parse+diff"
BASELINE = "difflib.unified_diff"
SEED_TARGET = Target(5000, at_least=True)
RATIO_TARGET = Target(1.0)


def run(quick: bool) -> list[Figure]:
    if quick:
        return measure((1, 10, 100), repeats=3, min_seconds=0.05)
    return measure((1, 10, 100), repeats=9, min_seconds=0.25)


def measure(sections: Sequence[int], *, repeats: int, min_seconds: float) -> list[Figure]:
    generated = [(f"{n} section{'s' * (n != 1)}", *text_pair(n, seed=n)) for n in sections]
    cases = [("seed pair", *seed_pair()), *generated]
    figures = []
    for label, old, new in cases:
        note = _check(old, new)
        ours, theirs = compare(
            lambda old=old, new=new: diff(parse_story(old), parse_story(new)),
            lambda old=old, new=new: _unified(old, new),
            repeats=repeats,
            min_seconds=min_seconds,
        )
        figures.append(
            Figure(
                BENCH,
                f"{label}: pairs/s",
                1 / ours,
                "/s",
                target=SEED_TARGET if label == "seed pair" else None,
                ratio=ours / theirs,
                baseline=BASELINE,
                ratio_target=RATIO_TARGET,
                note=note or f"{ours * 1e6:.0f} µs vs {theirs * 1e6:.0f} µs a pair",
            )
        )
    old, new = seed_pair()
    stored = parse_story(old)  # the pipeline keeps the old Story: it parses only the new page
    ours, theirs = compare(
        lambda: diff(stored, parse_story(new)),
        lambda: _unified(old, new),
        repeats=repeats,
        min_seconds=min_seconds,
    )
    figures.append(
        Figure(
            BENCH,
            "seed pair, old Story from the store: pairs/s",
            1 / ours,
            "/s",
            ratio=ours / theirs,
            baseline=BASELINE,
            note="what a changed page costs the pipeline: parse the new page, diff",
        )
    )
    return figures


def _unified(old: str, new: str) -> None:
    deque(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm=""), maxlen=0)


def _check(old: str, new: str) -> str:
    """'' when the pair gives exactly one new update, as built; else what went wrong."""
    events = diff(parse_story(old), parse_story(new))
    updates = [e for e in events if isinstance(e, NewUpdate)]
    return "" if len(updates) == 1 else f"WRONG: expected 1 new update, got {len(updates)}"
