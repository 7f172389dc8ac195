"""The timeline in one line: what every platform's alert shows instead of timeline lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.models import AlertKind
from bot.storage.rows import EventRow, SectionSeen
from bot.timeline import ordinal, progress

NOV9 = datetime(2022, 11, 9, 18, 10, tzinfo=UTC)


def seen(fingerprint: str, label: str, days: float) -> SectionSeen:
    at = NOV9 + timedelta(days=days)
    return SectionSeen(fingerprint, label, at, at, f"summary {fingerprint}")


def event(kind: AlertKind, fingerprint: str | None, days: float) -> EventRow:
    at = NOV9 + timedelta(days=days)
    return EventRow(1, "kherson", 1, kind, "Update", "s", at, at, fingerprint)


# the original, then updates u1, u2 and a correction u3 (listed out of order on purpose)
SECTIONS = [
    seen("u2", "Update", 2),
    seen("orig", "Original", 0),
    seen("u3", "Correction", 3),
    seen("u1", "Update", 1),
]


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (102, "102nd"),
    ],
)
def test_ordinals(n: int, text: str) -> None:
    assert ordinal(n) == text


def test_a_new_update_is_counted_in_its_place_since_the_original() -> None:
    assert progress(event(AlertKind.NEW_UPDATE, "u2", 2), SECTIONS) == "2nd update since Nov 9"
    assert progress(event(AlertKind.NEW_UPDATE, "u3", 3), SECTIONS) == "3rd update since Nov 9"


def test_an_update_no_longer_on_the_page_is_placed_by_its_time() -> None:
    assert progress(event(AlertKind.NEW_UPDATE, "gone", 1.5), SECTIONS) == "2nd update since Nov 9"


def test_other_events_count_every_update() -> None:
    assert progress(event(AlertKind.HEADLINE_CHANGED, None, 4), SECTIONS) == "3 updates since Nov 9"
    assert (
        progress(event(AlertKind.SECTION_EDITED, "u1", 4), SECTIONS[1:2] + SECTIONS[3:])
        == "1 update since Nov 9"
    )


def test_the_year_is_given_when_the_story_began_in_another_year() -> None:
    assert progress(
        event(AlertKind.NEW_UPDATE, "u1", 60), [seen("orig", "Original", 0), seen("u1", "Update", 60)]
    ) == ("1st update since Nov 9, 2022")


def test_nothing_to_count_says_nothing() -> None:
    assert progress(event(AlertKind.HEADLINE_CHANGED, None, 1), [seen("orig", "Original", 0)]) == ""
    assert progress(event(AlertKind.HEADLINE_CHANGED, None, 1), []) == ""
