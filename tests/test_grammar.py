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
        # a day-first date is not an ordinal, an ISO date not a wire prefix, a lone stamp not body
        ("UPDATE 3 July 2023, 18:45 CEST", "UPDATE 3 July 2023, 18:45 CEST", (18, 45), ""),
        ("UPDATE 2015-06-20 17:40 GMT", "UPDATE 2015-06-20 17:40 GMT", (17, 40), ""),
        (
            "Update: Friday 11th of November 2022 at 4:05pm",
            "Update: Friday 11th of November 2022 at 4:05pm",
            (16, 5),
            "",
        ),
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
        # forms only the general parser (the slow path) reads
        ("11.11.2022 7.36am", datetime(2022, 11, 11, 7, 36, tzinfo=NEW_YORK)),
        ("Nov 11th 2022, 7h36 CET", datetime(2022, 11, 11, 7, 36, tzinfo=ZoneInfo("Europe/Paris"))),
        ("2022/11/11 07:36", datetime(2022, 11, 11, 7, 36, tzinfo=NEW_YORK)),
        (
            "Friday 11th of November 2022 at 7:36am GMT+1",
            datetime(2022, 11, 11, 7, 36, tzinfo=timezone(timedelta(hours=1))),
        ),
        ("7.36pm, Friday 11 November", datetime(2022, 11, 11, 19, 36, tzinfo=NEW_YORK)),
        ("12.11.2022 9.20am", datetime(2022, 11, 12, 9, 20, tzinfo=NEW_YORK)),  # dotted: day first
    ],
)
def test_date_forms_and_zones(text: str, expected: datetime) -> None:
    when = match_when(text)
    assert when is not None
    got = when.resolve(on=ON)
    assert got == expected and got is not None and got.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "text",
    ["13/45/2020", "8/29", "0/12/2020", "Nov 9 was cold", "UTC+19 12:00", "May 5 people", "May 2022", "7.36"],
)
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


def _stamps(text: str) -> list[datetime | None]:
    return [s.timestamp for s in parse_text(text).sections if s.kind is SectionKind.UPDATE]


CHICAGO = ZoneInfo("America/Chicago")


def test_a_time_only_entry_on_a_newest_first_page_goes_back_a_day_past_midnight() -> None:
    stamps = _stamps(
        "Count\nPosted Nov 11, 2022 8:00 PM CST\n\nPolls closed.\n\n"
        "Nov 12, 2022 9:00 a.m.\n\nThe count ended.\n\n11:40 p.m.\n\nThe count slowed.\n\n"
        "10:05 p.m.\n\nThe first results came in.\n"
    )
    assert stamps == [
        datetime(2022, 11, 12, 9, 0, tzinfo=CHICAGO),
        datetime(2022, 11, 11, 23, 40, tzinfo=CHICAGO),
        datetime(2022, 11, 11, 22, 5, tzinfo=CHICAGO),
    ]


def test_a_time_only_entry_on_an_oldest_first_page_goes_forward_a_day_past_midnight() -> None:
    stamps = _stamps(
        "Count\nPosted Nov 11, 2022 8:00 PM CST\n\nPolls closed.\n\n"
        "Nov 11, 2022 10:00 p.m.\n\nFirst results.\n\n11:30 p.m.\n\nMore results.\n\n"
        "1:15 a.m.\n\nThe count ended.\n\n3:00 a.m.\n\nThe loser conceded.\n"
    )
    assert [s.day if s else None for s in stamps] == [11, 11, 12, 12]


def test_a_time_above_every_dated_entry_takes_the_date_below_it() -> None:
    stamps = _stamps(
        "Count\nPosted Nov 10, 2022 8:00 AM CST\n\nPolls opened.\n\n"
        "1:10 a.m.\n\nThe count ended.\n\nNov 11, 2022 11:00 p.m.\n\nResults came in.\n\n"
        "Nov 11, 2022 9:00 p.m.\n\nPolls closed.\n"
    )
    assert stamps[0] == datetime(2022, 11, 12, 1, 10, tzinfo=CHICAGO)


def test_a_lone_time_after_the_posted_time_of_day_is_the_next_day() -> None:
    story = parse_text(
        "Storm\nPosted Nov 9, 2022 8:00 AM CST\n\nUPDATE 7:36 AM\n\nPower is back.\n\nWaves rose.\n"
    )
    update = story.sections[0]
    assert update.timestamp == datetime(2022, 11, 10, 7, 36, tzinfo=CHICAGO)


def test_a_lone_time_takes_the_page_updated_date() -> None:
    story = parse_text(
        "Storm\nPosted Nov 9, 2022 8:00 AM CST\nUpdated Nov 11, 2022 7:40 AM CST\n\n"
        "UPDATE 7:36 AM\n\nPower is back.\n\nWaves rose.\n"
    )
    assert story.sections[0].timestamp == datetime(2022, 11, 11, 7, 36, tzinfo=CHICAGO)


@pytest.mark.parametrize("typo", ["2021", "2032", "2202"])
def test_an_obvious_typo_in_a_year_takes_the_story_year(typo: str) -> None:
    story = parse_text(
        f"Storm\nPosted Nov 9, 2022 8:00 AM CST\n\nUPDATE Nov 11, {typo} 7:36 AM CST\n\nPower is back.\n\n"
        "UPDATE Nov 10, 2022 9:00 AM CST\n\nRoads reopened.\n\nWaves rose.\n"
    )
    assert story.sections[0].timestamp == datetime(2022, 11, 11, 7, 36, tzinfo=CHICAGO)


def test_a_year_that_fits_the_story_is_kept() -> None:
    stamps = _stamps(
        "Night\nPosted Dec 31, 2022 10:00 PM CST\n\nCrowds gathered.\n\n"
        "Jan 1, 2023 12:20 a.m.\n\nFireworks began.\n\nDec 31, 2022 11:00 p.m.\n\nThe square filled.\n"
    )
    assert stamps[0] == datetime(2023, 1, 1, 0, 20, tzinfo=CHICAGO)


def test_an_update_a_year_later_keeps_its_year() -> None:
    story = parse_text(
        "Trial\nPosted Nov 9, 2022 8:00 AM CST\n\nUPDATE Jan 5, 2024 9:00 AM CST\n\nThe appeal failed.\n\n"
        "The trial began.\n"
    )
    assert story.sections[0].timestamp == datetime(2024, 1, 5, 9, 0, tzinfo=CHICAGO)


FURNITURE = {
    "share tools as list items": ["- Tweet this", "• Share on Facebook", "* Email this story"],
    "related links": [
        "Related: Bridge inspections found cracks last spring",
        "READ MORE: Council delays the vote again",
        "See also: How the bridge was built",
    ],
    "trending and don't-miss boxes": ["Trending on Riverside Daily", "DON'T MISS", "SEE MORE:"],
    "more on a topic": ["MORE ON BRIDGES", "More on Transit", "More from City Hall"],
    "related headlines between paragraphs": [
        "Why the Old Bridge Matters to Downtown Traders",
        "Council Approves New Parking Rules for Riverside",
        "Five Things to Know About the Transit Plan",
    ],
    "photo credits": ["(Picture by Sam Lee)", "Sam Lee / AP", "Photo: Ana Ortiz/Riverside Daily"],
    "author bios and e-mail": [
        "Dana Ruiz covers city hall for the Riverside Daily. Reach her at dana.ruiz@riverside.example.",
        "Email: dana.ruiz@riverside.example",
        "Dana Ruiz is a staff writer who has covered the council since 2015.",
    ],
    "newsletter and ad-blocker prompts": [
        "Get our free morning newsletter in your inbox",
        "We noticed you're using an ad blocker. Please support our journalism.",
        "Sign up for our breaking news alerts and never miss a story.",
    ],
    "comment widgets": ["Leave a Reply", "Post a Comment", "Comments are closed."],
    "audio players": ["Play Live Radio", "0:00 0:00", "Listen Live"],
    "post counters and sort widgets": ["45 Posts", "Sort by: Newest", "Newest first"],
    "bylines inside the body": ["By Dana Ruiz", "By Dana Ruiz and Li Wei", "BY DANA RUIZ"],
}
HEAD = "Council Closes the Bridge\nBy Dana Ruiz\nPosted Nov 9, 2022 8:00 AM CST\n\n"
STORY_TEXT = (
    "The city council voted 7-2 on Tuesday to close the Fifth Street bridge to cars.",
    "Engineers said repairs would take two years and cost $40 million.",
)


@pytest.mark.parametrize(
    "line", [line for lines in FURNITURE.values() for line in lines], ids=lambda line: line[:30]
)
def test_furniture_between_paragraphs_is_not_body(line: str) -> None:
    first, last = STORY_TEXT
    story = parse_text(f"{HEAD}{first}\n\n{line}\n\n{last}\n")
    [original] = story.sections
    assert original.paragraphs == STORY_TEXT


@pytest.mark.parametrize(
    "sentence",
    [
        "More than 40 people were hurt when the span sagged.",
        "By Monday, the bridge will close to all traffic.",
        "Photos show cracks in three of the beams.",
        "The mayor's weekly newsletter went out Tuesday.",
        "Related charges were filed against the contractor.",
        "Watch crews began work at dawn.",
        "Dana Ruiz, a neighbour, said the bridge shook.",
        "“We Will Not Wait,” the mayor said.",
        "Tips can be sent to the police at tips@police.example, officials said in a statement read aloud.",
    ],
)
def test_story_sentences_that_resemble_furniture_stay(sentence: str) -> None:
    first, last = STORY_TEXT
    story = parse_text(f"{HEAD}{first}\n\n{sentence}\n\n{last}\n")
    assert story.sections[0].paragraphs == (first, sentence, last)


def test_a_title_case_line_under_a_marker_is_the_updates_headline() -> None:
    story = parse_text(
        f"{HEAD}The council voted to close the bridge.\n\n"
        "UPDATE Nov 10, 2022 9:00 AM CST\n\nBridge Reopens to Buses\n\nBuses may cross from Monday.\n"
    )
    update = story.sections[1]
    assert update.paragraphs == ("Bridge Reopens to Buses", "Buses may cross from Monday.")


@pytest.mark.parametrize(
    "note",
    [
        "Editor's note: This article is part of our series on housing, published every Monday.",
        "Editor's Note\n\nThe Money Desk is a weekly column on personal finance.",
        "EDITOR'S NOTE: This story was produced in partnership with the Valley Health Desk.",
    ],
)
def test_a_standing_editors_note_above_the_story_is_furniture(note: str) -> None:
    story = parse_text(f"{HEAD}{note}\n\n{STORY_TEXT[0]}\n\n{STORY_TEXT[1]}\n")
    [original] = story.sections
    assert original.kind is SectionKind.ORIGINAL and original.paragraphs == STORY_TEXT


@pytest.mark.parametrize(
    "note",
    [
        "Editor's note: This story has been updated to include the museum's comments.",
        "Editor's note: An earlier version of this weekly column misstated the rate.",
        "Editor's Note, Nov 10: The council's vote was moved to Friday.",
    ],
)
def test_an_editors_note_about_the_story_stays_an_update(note: str) -> None:
    story = parse_text(f"{HEAD}{note}\n\n{STORY_TEXT[0]}\n\n{STORY_TEXT[1]}\n")
    assert [s.kind for s in story.sections] == [SectionKind.UPDATE, SectionKind.ORIGINAL]


@pytest.mark.parametrize(
    "rail",
    [
        "Related\n\nUpdate: Rates in October\n\nWhy Savers Should Wait",
        "More on Transit\n\nUPDATED: Bus Fares for 2023\n\nThe New Tram Line",
        "READ MORE:\n\nCouncil Update on the Budget\n\nUpdate 2: Bridge Inspection Results",
    ],
)
def test_update_inside_a_related_rail_is_not_a_marker(rail: str) -> None:
    story = parse_text(f"{HEAD}{STORY_TEXT[0]}\n\n{rail}\n\n{STORY_TEXT[1]}\n")
    [original] = story.sections
    assert original.paragraphs == STORY_TEXT


@pytest.mark.parametrize(
    ("head", "posted", "updated"),
    [
        ("Updated April 22, 2013 18:58", None, datetime(2013, 4, 22, 18, 58, tzinfo=NEW_YORK)),
        (
            "Updated Nov 10, 2022 9:00 AM CST\nPublished Nov 9, 2022 8:00 AM CST",
            datetime(2022, 11, 9, 8, tzinfo=CHICAGO),
            datetime(2022, 11, 10, 9, tzinfo=CHICAGO),
        ),
        (
            "Published Nov 9, 2022 8:00 AM CST\nUpdated\nNov 10, 2022 9:00 AM CST",
            datetime(2022, 11, 9, 8, tzinfo=CHICAGO),
            datetime(2022, 11, 10, 9, tzinfo=CHICAGO),
        ),
    ],
)
def test_head_stamps_stamp_the_original(head: str, posted: datetime | None, updated: datetime | None) -> None:
    story = parse_text(f"Budget Update: Council Votes\n{head}\n\n{STORY_TEXT[0]}\n\n{STORY_TEXT[1]}\n")
    assert (story.posted, story.updated) == (posted, updated)
    [original] = story.sections
    assert original.kind is SectionKind.ORIGINAL and original.timestamp == (posted or updated)
    assert original.paragraphs == STORY_TEXT
