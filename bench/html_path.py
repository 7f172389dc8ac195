"""Benchmark 2: the HTML path, reading realistic story pages of 100-300 KB (median about 120 KB).

The pages (`bench.pages`) are built the way real article pages are: a head full of meta tags,
JSON-LD, a big inline stylesheet and scripts, a mega-menu, ads, share tools, figures, an
inline related aside, rails, a newsletter form, an author bio, a comment thread, a footer, and
a large JSON state blob; the story is an article with update blocks above the original or a
live blog of `<div class="entry">` blocks. The figure is pages per second (and ms a page)
through `bot.read.parse_story(page_bytes, "text/html")`, the median page; the baseline is
`lxml.html.fromstring(page_bytes)`, the bare parse of the same bytes, and the target is a
reader that takes at most twice that. The old baseline, `trafilatura.extract` with its
defaults, is kept as a second figure. Every page is also checked for the number of sections
its generator wrote (one per update block or live entry, plus the original).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import lxml.html
import trafilatura

from bench.measure import Figure, Target, median
from bench.pages import MEDIAN_BYTES, Page, pages, size_summary
from bot.read import parse_story

BENCH = "2 HTML path"
LXML = "lxml.html.fromstring"
RATIO_TARGET = Target(2.0)  # at most 2x the bare lxml parse of the same bytes


def run(quick: bool) -> list[Figure]:
    return measure(12 if quick else 60, repeats=3 if quick else 7)


def _read(page: bytes) -> object:
    return parse_story(page, "text/html")


def _lxml(page: bytes) -> object:
    return lxml.html.fromstring(page)


def _trafilatura(page: bytes) -> object:
    return trafilatura.extract(page)


def timings(batch: list[Page], repeats: int) -> list[list[float]]:
    """Median seconds per page for ours, lxml and trafilatura: `[reader][page]`. Each page is
    read by the three in turn, `repeats` times over the batch, so drift hits all three."""
    readers: tuple[Callable[[bytes], object], ...] = (_read, _lxml, _trafilatura)
    for read in readers[1:]:  # warm up (the section check has run ours over the batch)
        read(batch[0].html)
    samples: list[list[list[float]]] = [[[] for _ in batch] for _ in readers]
    clock = time.perf_counter
    for _ in range(repeats):
        for n, page in enumerate(batch):
            for r, read in enumerate(readers):
                started = clock()
                read(page.html)
                samples[r][n].append(clock() - started)
    return [[median(times) for times in per_page] for per_page in samples]


def measure(count: int, *, repeats: int, size: int = MEDIAN_BYTES) -> list[Figure]:
    """`count` pages of median about `size` bytes (with a floor: see `bench.pages.news_page`)."""
    batch = pages(count, size)
    found = [len(parse_story(p.html, "text/html").sections) for p in batch]
    wrong = [(p, k) for p, k in zip(batch, found, strict=True) if k != p.sections]
    ours, lxml_s, traf = timings(batch, repeats)
    vs_lxml = [o / b for o, b in zip(ours, lxml_s, strict=True)]
    vs_traf = [o / b for o, b in zip(ours, traf, strict=True)]
    ms = median(ours) * 1000
    live = sum(p.kind == "live" for p in batch)
    note = (
        f"{count} pages ({count - live} articles, {live} live blogs), {size_summary(batch)}; "
        f"{ms:.2f} ms a page (median), lxml {median(lxml_s) * 1000:.2f} ms; "
        f"ratio: median of per-page ratios, worst {max(vs_lxml):.1f}×"
    )
    if wrong:
        lost = sum(k < p.sections for p, k in wrong)
        note = (
            f"WRONG: sections lost or gained on {len(wrong)} of {count} pages ({lost} lost, "
            f"{len(wrong) - lost} gained; live blogs: {sum(p.kind == 'live' for p, _ in wrong)}); " + note
        )
    name = f"~{round(median([len(p.html) for p in batch]), -4) / 1000:.0f} KB pages/s"
    return [
        Figure(
            BENCH,
            f"{name} (parse_story)",
            1 / median(ours),
            "/s",
            ratio=median(vs_lxml),
            baseline=f"{LXML} ({median(lxml_s) * 1000:.2f} ms)",
            ratio_target=RATIO_TARGET,
            note=note,
        ),
        Figure(
            BENCH,
            f"{name} vs trafilatura",
            1 / median(ours),
            "/s",
            ratio=median(vs_traf),
            baseline=f"trafilatura.extract, defaults ({median(traf) * 1000:.2f} ms)",
            note=f"same pages and run; {ms:.2f} ms a page (median)",
        ),
    ]
