"""The update grammar newsrooms write: marker variants, date forms and zones, page notes."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.models import SectionKind
from bot.read import parse_text
from bot.read.markers import is_original_label, match_marker, match_stamped_paragraph
from bot.read.timestamps import match_when

NEW_YORK = ZoneInfo("America/New_York")
ON = date(2022, 7, 1)


@pytest.mark.parametrize(
    ("line", "header", "stamp", "rest"),
    [
        ("UPDATES:", "UPDATES:", None, ""),
        ("Updated:", "Updated:", None, ""),
        ("UPDATED 2:05 p.m.", "UPDATED 2:05 p.m.", (14, 5), ""),
        ("UPDATE 5:30 p.m.", "UPDATE 5:30 p.m.", (17, 30), ""),
        ("Update 2 (4:10 p.m. ET): Roads closed.", "Update 2 (4:10 p.m. ET):", (16, 10), "Roads closed."),
        ("Update III", "Update III", None, ""),
        (
            "Correction added Nov. 18, 2019: The vote was 5-4.",
            "Correction added Nov. 18, 2019:",
            None,
            "The vote was 5-4.",
        ),
        ("Clarification: The fund is state money.", "Clarification:", None, "The fund is state money."),
        (
            "Editor's Note, Nov 3: This story was changed.",
            "Editor's Note, Nov 3:",
            None,
            "This story was changed.",
        ),
        ("Developing: Police are at the scene.", "Developing:", None, "Police are at the scene."),
        ("[Update]", "[Update]", None, ""),
        ("**UPDATE**", "**UPDATE**", None, ""),
        ("___ UPDATE ___", "___ UPDATE ___", None, ""),
        (
            "UPDATE Jun 6, 2023 9:10 AM PDT:A previous version said 40.",
            "UPDATE Jun 6, 2023 9:10 AM PDT:",
            (9, 10),
            "A previous version said 40.",
        ),
        (
            "UPDATE: Dec. 22, 2016, 2:16 p.m. EST Updated with new figures.",
            "UPDATE: Dec. 22, 2016, 2:16 p.m. EST",
            (14, 16),
            "Updated with new figures.",
        ),
        ("UPDATE: At 2 p.m., officials said more.", "UPDATE:", (14, 0), "At 2 p.m., officials said more."),
    ],
)
def test_marker_variants(line: str, header: str, stamp: tuple[int, int] | None, rest: str) -> None:
    marker = match_marker(line)
    assert marker is not None
    assert (marker.header, marker.rest) == (header, rest)
    if stamp is None:
        assert marker.when is None or not marker.when.has_time
    else:
        assert marker.when is not None and (marker.when.hour, marker.when.minute) == stamp


@pytest.mark.parametrize(
    "line",
    [
        "Updates will follow.",
        "Developing nations asked for more.",
        "Update 2-Talks resume",
        "Updated figures show a rise.",
    ],
)
def test_prose_is_not_a_marker(line: str) -> None:
    assert match_marker(line) is None


def test_time_led_paragraphs_are_updates_and_plain_numbers_are_not() -> None:
    marker = match_stamped_paragraph("2:58 p.m.: This article was updated to add the mayor's comments.")
    assert marker is not None and marker.header == "2:58 p.m.:" and marker.rest.startswith("This article")
    assert match_stamped_paragraph("2 p.m. Police arrived.") is None  # no separator: a sentence
    assert match_stamped_paragraph("40 people were hurt: most of them minor.") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8/29/10", datetime(2010, 8, 29, tzinfo=NEW_YORK)),
        ("5/27/2015 3:15 p.m.", datetime(2015, 5, 27, 15, 15, tzinfo=NEW_YORK)),
        ("Tuesday, November 19, 2019", datetime(2019, 11, 19, tzinfo=NEW_YORK)),
        ("July 3rd, 2021 at noon", datetime(2021, 7, 3, 12, tzinfo=NEW_YORK)),
        ("11 November 2022, 13:36", datetime(2022, 11, 11, 13, 36, tzinfo=NEW_YORK)),
        ("3:00 p.m. BST", datetime(2022, 7, 1, 15, tzinfo=ZoneInfo("Europe/London"))),
        ("14:00 CEST", datetime(2022, 7, 1, 14, tzinfo=ZoneInfo("Europe/Paris"))),
        ("Nov. 3, 2022 10:00 AEDT", datetime(2022, 11, 3, 10, tzinfo=ZoneInfo("Australia/Sydney"))),
        ("9:30 a.m. IST", datetime(2022, 7, 1, 9, 30, tzinfo=ZoneInfo("Asia/Kolkata"))),
        ("12:30 UTC+5:30", datetime(2022, 7, 1, 12, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))),
        ("Jan 2, 2023 09:00 GMT-4", datetime(2023, 1, 2, 9, tzinfo=timezone(timedelta(hours=-4)))),
        ("midnight ET", datetime(2022, 7, 1, 0, tzinfo=NEW_YORK)),
    ],
)
def test_date_forms_and_zones(text: str, expected: datetime) -> None:
    when = match_when(text)
    assert when is not None
    got = when.resolve(on=ON)
    assert got == expected and got is not None and got.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("text", ["13/45/2020", "8/29", "0/12/2020", "Nov 9 was cold", "UTC+19 12:00"])
def test_not_dates(text: str) -> None:
    when = match_when(text)
    assert when is None or when.resolve(on=ON) is None


def test_original_post_labels_start_the_original() -> None:
    assert is_original_label("(Our original post:)")
    assert is_original_label("This story was originally published Tuesday at 11:35 a.m.")
    assert not is_original_label("The original plan called for two bridges.")
    story = parse_text(
        "Bridge Closed\nPosted Nov 9, 2022 12:10 PM CST\n\n"
        "UPDATE Nov 10, 2022 9:00 AM CST\n\nThe bridge reopened Thursday.\n\n"
        "(Our original post:)\n\nThe bridge closed Wednesday after a crash.\n"
    )
    update, original = story.sections
    assert update.kind is SectionKind.UPDATE and original.kind is SectionKind.ORIGINAL
    assert original.paragraphs == ("The bridge closed Wednesday after a crash.",)
    assert original.timestamp == story.posted


def test_an_updates_list_gives_one_update_per_time_led_paragraph() -> None:
    story = parse_text(
        "Budget Passes\nPosted Mar 3, 2024 10:00 AM EST\n\nThe council passed the budget.\n\n"
        "UPDATES:\n\n2:58 p.m.: This article was updated to add the vote count.\n\n"
        "4:10 p.m.: This article was updated with the mayor's comments.\n"
    )
    original, first, second = story.sections
    assert original.kind is SectionKind.ORIGINAL
    assert [first.header, second.header] == ["2:58 p.m.:", "4:10 p.m.:"]
    assert first.timestamp == datetime(2024, 3, 3, 14, 58, tzinfo=NEW_YORK)
    assert second.paragraphs == ("This article was updated with the mayor's comments.",)


def test_a_bare_updated_head_word_does_not_swallow_the_story() -> None:
    text = "Storm\nBy Ana Ruiz\nUpdated\nPosted Nov 9, 2022 12:10 PM CST\n\nWaves topped the wall.\n"
    story = parse_text(text)
    [original] = story.sections
    assert original.kind is SectionKind.ORIGINAL and original.paragraphs == ("Waves topped the wall.",)


def test_an_all_times_note_sets_the_zone_and_is_not_body() -> None:
    story = parse_text(
        "The Latest: Fire\nPosted Aug 4, 2023 9:00 AM MDT\n\n"
        "The Latest on the fire in Pine County (all times Eastern):\n\n"
        "2:20 p.m.\n\nCrews held the line.\n\n11:05 a.m.\n\nThe fire grew overnight.\n"
    )
    assert all("The Latest on" not in s.body for s in story.sections)
    later, earlier = story.sections
    assert later.timestamp == datetime(2023, 8, 4, 14, 20, tzinfo=NEW_YORK)
    assert earlier.kind is SectionKind.ORIGINAL  # with no lead text, the earliest entry
