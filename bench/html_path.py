"""Benchmark 2: the HTML path, extraction + parse of ~50 KB story pages with furniture.

Pages carry what real ones do around an article: head scripts and styles, a nav bar, ad
slots, related links, a comment thread, a footer, trailing scripts. The figure is pages per
second through `bot.read.parse.parse_story`; the baseline is `trafilatura.extract` with its
defaults on the same pages (the extractor alone, as an article reader would run it).
"""

from __future__ import annotations

import trafilatura

from bench.measure import Figure, Target, compare
from bench.stories import html_page, sections, story_title
from bot.read.parse import parse_story

BENCH = "2 HTML path"
TARGET = Target(200, at_least=True)


def pages(count: int, size: int = 50_000) -> list[str]:
    """`count` distinct pages of about `size` bytes, holding 2 to 8 sections each."""
    return [
        html_page(story_title(n), sections(2 + n % 7, n), target_bytes=size, seed=n) for n in range(count)
    ]


def run(quick: bool) -> list[Figure]:
    return measure(10 if quick else 40, repeats=3 if quick else 7)


def measure(count: int, *, repeats: int, size: int = 50_000) -> list[Figure]:
    batch = pages(count, size)
    wrong = [n for n, page in enumerate(batch) if len(parse_story(page, "text/html").sections) != 2 + n % 7]

    def ours() -> None:
        for page in batch:
            parse_story(page, "text/html")

    def theirs() -> None:
        for page in batch:
            trafilatura.extract(page)

    per_batch, baseline = compare(ours, theirs, repeats=repeats, min_seconds=0.0)
    average = sum(map(len, batch)) / len(batch) / 1000
    note = f"{count} pages of {average:.0f} KB, {per_batch / count * 1000:.2f} ms a page"
    if wrong:
        note = f"WRONG: {len(wrong)} of {count} pages lost sections; " + note
    return [
        Figure(
            BENCH,
            "~50 KB pages/s (extract + parse)",
            count / per_batch,
            "/s",
            target=TARGET,
            ratio=per_batch / baseline,
            baseline="trafilatura.extract (defaults)",
            note=note,
        )
    ]
