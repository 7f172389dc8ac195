"""diff()'s matching rules, one story change per row: which old section a new one is a new
version of (same publisher time, the one original, or a body at least `LIKENESS` alike), when
an edit is worth telling, and the order new updates are told in."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.diff import EDIT_THRESHOLD, LIKENESS, chronological, diff
from bot.models import Event, HeadlineChanged, NewUpdate, Section, SectionEdited, SectionKind, Story

CT = ZoneInfo("America/Chicago")
POSTED = datetime(2022, 11, 9, 12, 10, tzinfo=CT)


def at(hour: int) -> datetime:
    return datetime(2022, 11, 10, hour, 0, tzinfo=CT)


def upd(text: str, when: datetime | None = None) -> Section:
    return Section(SectionKind.UPDATE, "UPDATE", when, (text,))


def orig(text: str, when: datetime | None = POSTED) -> Section:
    return Section(SectionKind.ORIGINAL, "", when, (text,))


LEAD = orig("The council voted on Tuesday to close the Fifth Street bridge for repairs.")
CREWS = upd("Crews arrived at the bridge this morning with two cranes.", at(9))
JUNE = upd("The mayor said the bridge would reopen in June after the repairs.")
JULY_AT_11 = upd("The mayor said the bridge would reopen in July after the repairs.", at(11))
JUNE_AT_9 = upd("The mayor said the bridge would reopen in June after the repairs.", at(9))
JULY = upd("The mayor said the bridge would reopen in July after the repairs.")
FERRY_AT_10 = upd("A free ferry will carry commuters across the river until the work ends.", at(10))
FERRY = upd("A free ferry will carry commuters across the river until the work ends.")
# two bodies exactly 60% alike (rapidfuzz ratio 60.0): at the likeness threshold, so one section
REOPENED = upd("Crews reopened the bridge.")
CLOSED = upd("Crews closed the school.")
REWRITTEN = orig("Engineers found cracks in three beams; the span is shut to all traffic until May.", None)


@pytest.mark.parametrize(
    ("old", "new", "events"),
    [
        pytest.param(
            (LEAD, CREWS), (FERRY_AT_10, LEAD), [NewUpdate(FERRY_AT_10)], id="a timed update replaces another"
        ),
        pytest.param(
            (JUNE, LEAD), (FERRY, LEAD), [NewUpdate(FERRY)], id="an untimed update replaces another"
        ),
        pytest.param(
            (LEAD,), (REWRITTEN,), [SectionEdited(LEAD, REWRITTEN, 0.6)], id="the one original, rewritten"
        ),
        pytest.param(
            (JUNE, LEAD),
            (JULY_AT_11, LEAD),
            [SectionEdited(JUNE, JULY_AT_11, 0.0308)],
            id="an update gains a time",
        ),
        pytest.param(
            (JUNE_AT_9, LEAD),
            (JULY, LEAD),
            [SectionEdited(JUNE_AT_9, JULY, 0.0308)],
            id="an update loses its time",
        ),
        pytest.param(
            (CREWS, JUNE, LEAD),
            (JULY_AT_11, LEAD),
            [SectionEdited(JUNE, JULY_AT_11, 0.0308)],
            id="a timed old update is passed over, not the end of the search",
        ),
        pytest.param(
            (REOPENED,), (CLOSED,), [SectionEdited(REOPENED, CLOSED, 0.4)], id="exactly as alike as needed"
        ),
        pytest.param(
            (upd("Crews closed the road."),),
            (upd("Crews cleared the road."),),
            [SectionEdited(upd("Crews closed the road."), upd("Crews cleared the road."), 0.1111)],
            id="the change is rounded to four places",
        ),
    ],
)
def test_which_old_section_a_new_one_continues(
    old: tuple[Section, ...], new: tuple[Section, ...], events: list[Event]
) -> None:
    assert diff(Story(title="Bridge", sections=old), Story(title="Bridge", sections=new)) == events


def test_the_fixture_bodies_sit_where_the_rows_say() -> None:
    """The rows above lean on these constants: an equal likeness, and edits above the threshold."""
    assert LIKENESS == 0.6 and EDIT_THRESHOLD == 0.02


@pytest.mark.parametrize(
    ("threshold", "told"),
    [(0.4, True), (0.41, False)],
    ids=["a change equal to the threshold is told", "a smaller one is not"],
)
def test_the_edit_threshold_is_inclusive(threshold: float, told: bool) -> None:
    events = diff(Story(sections=(REOPENED,)), Story(sections=(CLOSED,)), edit_threshold=threshold)
    assert events == ([SectionEdited(REOPENED, CLOSED, 0.4)] if told else [])


@pytest.mark.parametrize(
    ("old_title", "new_title", "events"),
    [
        (
            "Bridge to close",
            "Bridge closure reversed",
            [HeadlineChanged("Bridge to close", "Bridge closure reversed")],
        ),
        ("Bridge to close", "BRIDGE  TO\u00a0CLOSE", []),
        ("", "Bridge to close", []),
        ("Bridge to close", "", []),
    ],
    ids=["reworded", "case and white space only", "no old title", "no new title"],
)
def test_headline_changes(old_title: str, new_title: str, events: list[Event]) -> None:
    assert diff(Story(title=old_title, sections=(LEAD,)), Story(title=new_title, sections=(LEAD,))) == events


def test_untimed_updates_keep_page_order_after_the_timed_ones() -> None:
    zebra, apple = upd("Zoo keepers moved the animals inland."), upd("Apple growers lost most of the crop.")
    assert chronological([zebra, FERRY_AT_10, apple, CREWS]) == [CREWS, FERRY_AT_10, zebra, apple]


def lead(*paragraphs: str) -> Section:
    return Section(SectionKind.ORIGINAL, "", POSTED, paragraphs)


# one digit changed in 42 characters of text (21 + " " + 20): a change of 1/42
ROADS_4 = lead("Crews closed 4 roads.", "The bridge reopened.")
ROADS_5_MOVED = lead("The bridge reopened.", "Crews closed 5 roads.")
# "Officers" -> "Rangers" moves that paragraph from first to last in sorted order
OFFICERS = lead("Police closed four roads near the river.", "Officers reopened the bridge at noon.")
RANGERS = lead("Police closed four roads near the river.", "Rangers reopened the bridge at noon.")
OFFICERS_ONE = lead("Police closed four roads near the river. Officers reopened the bridge at noon.")
RANGERS_ONE = lead("Police closed four roads near the river. Rangers reopened the bridge at noon.")


@pytest.mark.parametrize(
    ("old", "new", "change"),
    [
        pytest.param(ROADS_4, ROADS_5_MOVED, 0.0238, id="moved paragraphs measure only the edit in them"),
        pytest.param(
            OFFICERS, RANGERS, 0.0581, id="an edit that changes the sorted order measures in page order"
        ),
        pytest.param(
            OFFICERS_ONE, RANGERS_ONE, 0.0581, id="the same edit in one paragraph measures the same"
        ),
    ],
)
def test_paragraph_order_is_not_content_but_edits_are(old: Section, new: Section, change: float) -> None:
    """The change told is the smaller of the page-order and the sorted-paragraph measures: a
    paragraph moved adds nothing, and an edit is not inflated because it reorders the sort."""
    events = diff(Story(title="Bridge", sections=(old,)), Story(title="Bridge", sections=(new,)))
    assert events == [SectionEdited(old, new, change)]
