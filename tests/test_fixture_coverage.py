"""The fixture folder covers the update grammar: each class of page (a marker variant, a date
form or zone, a negative, a furniture class) is shown by at least three fixtures.

A fixture names what it shows in its JSON's `"classes"` list; `test_parse.test_fixture`
checks what it expects. This file checks the claim of coverage itself.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "stories"
AT_LEAST = 3

MARKERS = (
    "marker-updates-list",  # "UPDATES:" over time-led paragraphs
    "marker-updated-colon",  # "Updated:"
    "marker-updated-time",  # "UPDATED 2:05 p.m."
    "marker-numbered-paren",  # "Update 2 (4:10 p.m. ET):"
    "marker-roman",  # "Update III"
    "marker-correction-added",  # "Correction added Nov. 18, 2019:"
    "marker-clarification",  # "Clarification:"
    "marker-editors-note-dated",  # "Editor's Note, Nov 3:"
    "marker-developing",  # "Developing:"
    "marker-bracket",  # "[Update]"
    "marker-asterisks",  # "**UPDATE**"
    "marker-underscores",  # "___ UPDATE ___"
    "marker-html-markup",  # <strong>UPDATE</strong>, <h3>Update</h3>
    "marker-glued-colon",  # "PDT</b>:A previous version"
    "marker-stamp-after-colon",  # "UPDATE: Dec. 22, 2016, 2:16 p.m. EST Updated with ..."
    "marker-at-time-sentence",  # "UPDATE: At 2 p.m., officials said ..." (the sentence is body)
    "label-originally-published",  # "This story was originally published Tuesday at 11:35 a.m."
    "label-our-original-post",  # "(Our original post:)"
)
DATES = (
    "date-slash-short",  # 8/29/10
    "date-slash-long",  # 5/27/2015
    "date-iso",  # 2015-06-20
    "date-ordinal",  # July 3rd
    "date-weekday-first",  # Tuesday, November 19, 2019
    "date-day-month-24h",  # 11 November 2022, 13:36
    "time-24h",
    "time-noon-midnight",
    "date-missing-year",  # the year from the page's date
    "time-only",  # the date from the nearest dated section or the page
    "time-only-newest-first-midnight",
    "time-only-oldest-first-midnight",
    "date-typo-year",  # a typo'd year next to a correct one
    "zone-us",  # ET/PT/CT/MT/EDT/PDT/CST...
    "zone-gmt-utc",
    "zone-bst",
    "zone-cet",  # CET/CEST
    "zone-ist",
    "zone-aest",  # AEST/AEDT
    "zone-offset",  # UTC+5:30, GMT-4, +01:00
    "zone-page-note",  # "(all times local)", "(all times Eastern)"
    "date-lenient",  # 11.11.2022 7.36am, Friday 11th of November 2022 at 7:36am
)
NEGATIVES = (
    "not-bare-updated",  # a bare "Updated" head word
    "not-updated-head-stamp",  # "Updated April 22, 2013 18:58" with no text under it
    "not-standing-editors-note",  # a standing "Editor's note" promo box before the article
    "not-update-in-headline",
    "not-update-in-related-rail",  # text "Related" + "Update: ..." link, HTML <aside>/class="related"
    "not-updated-published-pair",  # "Updated ... / Published ...": two stamps of the original
)
FURNITURE = (
    "furn-share-list",  # "- Tweet this"
    "furn-related",  # "Related: ..."
    "furn-trending",  # "Trending on ..."
    "furn-see-more",  # "SEE MORE:"
    "furn-dont-miss",  # "DON'T MISS"
    "furn-more-on",  # "MORE ON <topic>" with a related headline
    "furn-picture-by",  # "(Picture by ...)"
    "furn-photo-credit",  # "Name / AP", "Photo: ..."
    "furn-author-bio",  # bio and e-mail lines
    "furn-newsletter",
    "furn-adblock",
    "furn-comments",  # "Leave a Reply", "Post a Comment"
    "furn-audio",  # "Play Live Radio", "0:00 0:00"
    "furn-post-counter",  # "45 Posts"
    "furn-sort",  # "Sort by: Newest"
    "furn-byline-in-body",
    "furn-related-headline",  # a related headline between paragraphs
)
CLASSES = MARKERS + DATES + NEGATIVES + FURNITURE
SECTION_KEYS = ("kind", "header", "timestamp", "starts", "ends")


def _classed() -> dict[Path, dict[str, Any]]:
    """Each fixture that names its classes, by its page file."""
    found = {}
    for page in sorted(FIXTURES.iterdir()):
        if page.suffix in {".txt", ".html"}:
            expected = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
            if "classes" in expected:
                found[page] = expected
    return found


def test_every_class_has_enough_fixtures() -> None:
    counts = Counter(name for expected in _classed().values() for name in set(expected["classes"]))
    short = {name: counts[name] for name in CLASSES if counts[name] < AT_LEAST}
    assert not short, short


def test_a_third_of_the_classed_fixtures_are_html() -> None:
    pages = list(_classed())
    assert 3 * sum(page.suffix == ".html" for page in pages) >= len(pages)


@pytest.mark.parametrize("page", list(_classed()), ids=lambda p: p.name)
def test_a_classed_fixture_names_known_classes_and_asserts_every_section(page: Path) -> None:
    expected = _classed()[page]
    assert set(expected["classes"]) <= set(CLASSES), set(expected["classes"]) - set(CLASSES)
    assert expected["sections"]
    for n, section in enumerate(expected["sections"]):
        assert all(key in section for key in SECTION_KEYS), (n, section)
        if section["timestamp"] is not None:
            assert "zone" in section, n  # a stamp is checked with its zone
    if any(name.startswith("furn-") for name in expected["classes"]):
        assert expected.get("absent"), "a furniture fixture lists the furniture it strips"
