"""The story head (a subtitle is told by the byline or dates under it) and pages made of
stamp lines: which stamp line is the original, and which day a time-only entry falls on."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.models import SectionKind, Story
from bot.read import parse_text

CHICAGO = ZoneInfo("America/Chicago")
DEK = "Power lines fell across the county overnight"
BODY = "The storm arrived at dawn and flooded the harbour road."


@pytest.mark.parametrize(
    ("head", "subtitle"),
    [
        (f"{DEK}\nBy Dana Ruiz", DEK),
        (f"{DEK}\nPosted Nov 9, 2022 8:00 AM CST", DEK),
        (f"{DEK}\nUpdated Nov 9, 2022 8:00 AM CST", DEK),
        (f"{DEK}\n\n\n\nBy Dana Ruiz", DEK),
        (f"{DEK}\n\nA second paragraph.\n\nA third.\n\nA fourth.\n\nBy Dana Ruiz", ""),
        (
            f"{'Power lines fell across the county overnight, and crews worked on. ' * 5}\nBy Dana Ruiz",
            "",
        ),
    ],
    ids=["byline below", "posted below", "updated below", "blank lines between", "too far below", "too long"],
)
def test_a_subtitle_is_a_line_above_the_head_fields(head: str, subtitle: str) -> None:
    assert parse_text(f"Storm Hits\n{head}\n\n{BODY}\n").subtitle == subtitle


def _sections(text: str) -> list[tuple[SectionKind, datetime | None]]:
    return [(s.kind, s.timestamp) for s in parse_text(text).sections]


def nov(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2022, 11, day, hour, minute, tzinfo=CHICAGO)


ORIGINAL, UPDATE = SectionKind.ORIGINAL, SectionKind.UPDATE


@pytest.mark.parametrize(
    ("text", "sections"),
    [
        (
            "Storm Hits\nPosted Nov 9, 2022 8:00 AM CST\n\nNov 9, 2022 10:00 AM CST\n\nRoads reopened.\n\n"
            "Nov 9, 2022 8:00 AM CST\n\nA storm hit the coast.\n\n"
            "Nov 9, 2022 6:00 AM CST\n\nForecasters warned.\n",
            [(UPDATE, nov(9, 10)), (ORIGINAL, nov(9, 8)), (UPDATE, nov(9, 6))],
        ),
        (
            "Storm Hits\n\nNov 9, 2022 6:00 AM CST\n\nForecasters warned.\n\n"
            "Nov 9, 2022 10:00 AM CST\n\nRoads reopened.\n",
            [(ORIGINAL, nov(9, 6)), (UPDATE, nov(9, 10))],
        ),
        (
            "Storm Hits\nPosted Nov 9, 2022 8:00 AM CST\n\n8:00 a.m.\n\nThe storm made landfall.\n\n"
            "9:30 a.m.\n\nPower failed.\n",
            [(ORIGINAL, nov(9, 8)), (UPDATE, nov(9, 9, 30))],
        ),
    ],
    ids=["the one at the posted time", "else the earliest", "a first entry at the posted time is that day"],
)
def test_the_original_of_a_page_of_stamp_lines(
    text: str, sections: list[tuple[SectionKind, datetime]]
) -> None:
    assert _sections(text) == sections


COUNT = (
    "Count\nPosted Nov 11, 2022 8:00 PM CST\n\nPolls closed.\n\nNov 11, 2022 10:00 p.m.\n\nFirst results.\n\n"
)


@pytest.mark.parametrize(
    ("entries", "stamps"),
    [
        ("10:00 p.m.\n\nTurnout was high.\n\n11:00 p.m.\n\nMore results.\n", [nov(11, 22), nov(11, 23)]),
        ("10:00 p.m.\n\nTurnout was high.\n\n9:00 p.m.\n\nMore results.\n", [nov(11, 22), nov(11, 21)]),
    ],
    ids=["oldest first", "newest first"],
)
def test_two_entries_in_the_same_minute_are_the_same_day(entries: str, stamps: list[datetime]) -> None:
    assert [at for _, at in _sections(COUNT + entries)][2:] == stamps


def test_a_time_above_dated_entries_of_two_days_follows_their_order() -> None:
    stamps = _sections(
        "Count\nPosted Nov 10, 2022 8:00 AM CST\n\nPolls opened.\n\n1:10 a.m.\n\nThe count ended.\n\n"
        "Nov 11, 2022 11:00 p.m.\n\nResults came in.\n\nNov 10, 2022 9:00 p.m.\n\nPolls closed.\n"
    )
    assert stamps[1] == (UPDATE, nov(12, 1, 10))  # newest first: after 11 p.m. on Nov 11


def test_a_timed_update_headline_in_a_related_rail_is_a_link() -> None:
    story: Story = parse_text(
        "Rates\nBy Dana Ruiz\nPosted Nov 9, 2022 8:00 AM CST\n\nThe bank raised rates.\n\n"
        "Related\n\nUpdate 4:00 p.m.: Bridge Reopens to Buses\n\nSavers welcomed the rise.\n"
    )
    [original] = story.sections
    assert original.paragraphs == ("The bank raised rates.", "Savers welcomed the rise.")
