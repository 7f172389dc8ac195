"""The parser against the seed story, the fixture folder, and junk."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.models import SectionKind, Story
from bot.read import NO_TEXT, parse_story, parse_text
from bot.read.extract import decode, looks_like_html
from bot.read.markers import match_marker, strip_wire_prefix
from bot.read.timestamps import match_when

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds" / "kherson"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "stories"
CHICAGO = ZoneInfo("America/Chicago")
FURNITURE = (
    "story continues below",
    "More Kherson stories",
    "Get the news faster",
    "Tap to install our app",
    "Install the Newser News app",
    "in two easy steps",
    "Tap in your navigation bar",
    "Add to Home Screen",
    "Russian Defense Ministry Press Service via AP",  # the photo caption's credit
    "In this handout photo",  # the photo caption
    "\xa0",
)


def seed(name: str) -> Story:
    return parse_story((SEEDS / name).read_bytes(), "text/plain; charset=utf-8")


@pytest.fixture(scope="module")
def first() -> Story:
    return seed("2022-11-09T1210.txt")


@pytest.fixture(scope="module")
def updated() -> Story:
    return seed("2022-11-11T0736.txt")


# --- the seed story ----------------------------------------------------------------------


def test_first_snapshot_is_one_original_section_at_the_posted_time(first: Story) -> None:
    assert first.title == "Russia Says It Will Retreat From Kherson"
    assert first.subtitle == "Defense minister calls holding the city 'futile'"
    assert first.byline == "Kate Seamons, Newser Staff"
    assert first.posted == datetime(2022, 11, 9, 12, 10, tzinfo=CHICAGO)
    assert first.updated is None
    assert first.problems == ()
    [section] = first.sections
    assert section.kind is SectionKind.ORIGINAL
    assert section.timestamp == first.posted
    assert section.timestamp.tzinfo.key == "America/Chicago"  # type: ignore[union-attr]
    assert section.paragraphs[0].startswith("In what is widely being labeled a blow for Vladimir Putin")
    assert section.paragraphs[-1].endswith('which Russia illegally seized in 2014."')
    assert len(section.paragraphs) == 3


def test_updated_snapshot_has_the_update_above_the_original(updated: Story) -> None:
    assert updated.title == "Russia: Withdrawal From Kherson Is Complete"
    assert updated.subtitle.startswith("Unconfirmed video purports")
    assert updated.posted == datetime(2022, 11, 9, 12, 10, tzinfo=CHICAGO)
    assert updated.updated == datetime(2022, 11, 11, 7, 36, tzinfo=CHICAGO)
    update, original = updated.sections
    assert update.kind is SectionKind.UPDATE
    assert update.header == "UPDATE Nov 11, 2022 7:36 AM CST"
    assert update.timestamp == datetime(2022, 11, 11, 7, 36, tzinfo=ZoneInfo("America/Chicago"))
    assert update.timestamp.tzinfo.key == "America/Chicago"  # type: ignore[union-attr]
    assert update.paragraphs[0].startswith("Russia now says it has completely withdrawn its forces")
    assert len(update.paragraphs) == 1
    assert original.kind is SectionKind.ORIGINAL
    assert original.header == "Nov 9, 2022 12:10 PM CST"
    assert original.timestamp == datetime(2022, 11, 9, 12, 10, tzinfo=CHICAGO)
    assert updated.updates == (update,)


def test_the_original_body_is_the_same_in_both_snapshots(first: Story, updated: Story) -> None:
    assert updated.sections[1].fingerprint == first.sections[0].fingerprint
    assert updated.sections[1].paragraphs == first.sections[0].paragraphs


@pytest.mark.parametrize("name", ["2022-11-09T1210.txt", "2022-11-11T0736.txt"])
def test_no_furniture_or_caption_in_any_body(name: str) -> None:
    story = seed(name)
    for section in story.sections:
        for paragraph in section.paragraphs:
            for junk in FURNITURE:
                assert junk not in paragraph
            assert paragraph != "X"
            assert paragraph != "Russia Says It Will Retreat From Kherson"  # the photo title


def test_seed_reflowed_keeps_its_fingerprints(first: Story) -> None:
    text = (SEEDS / "2022-11-09T1210.txt").read_text(encoding="utf-8")
    reflowed = text.replace(". ", ".\xa0 ").replace("\n\n", "\n\n\n")
    again = parse_story(reflowed)
    assert [s.fingerprint for s in again.sections] == [s.fingerprint for s in first.sections]


# --- the fixture folder: each <case>.txt|.html with its <case>.json ------------------------


def _cases() -> list[Path]:
    return sorted(p for p in FIXTURES.iterdir() if p.suffix in {".txt", ".html"})


@pytest.mark.parametrize("source", _cases(), ids=lambda p: p.name)
def test_fixture(source: Path) -> None:
    expected = json.loads(source.with_suffix(".json").read_text(encoding="utf-8"))
    content_type = "text/html" if source.suffix == ".html" else None
    story = parse_story(source.read_bytes(), content_type)

    assert story.problems == ()
    for key in ("title", "subtitle", "byline", "revision"):
        if key in expected:
            assert getattr(story, key) == expected[key], key
    for key in ("posted", "updated"):
        if key in expected:
            assert _iso(getattr(story, key)) == expected[key], key
    assert len(story.sections) == len(expected["sections"]), [s.header for s in story.sections]
    for n, (section, want) in enumerate(zip(story.sections, expected["sections"], strict=True)):
        where = f"section {n}"
        assert section.kind.value == want["kind"], where
        assert section.header == want["header"], where
        assert _iso(section.timestamp) == want["timestamp"], where
        assert section.body.startswith(want["starts"]), where
        if "ends" in want:
            assert section.body.endswith(want["ends"]), where
        if "paragraphs" in want:
            assert len(section.paragraphs) == want["paragraphs"], where
        if "zone" in want:
            assert section.timestamp is not None and _zone(section.timestamp) == want["zone"], where
    for junk in expected.get("absent", ()):
        assert all(junk not in s.body for s in story.sections), junk


def test_every_fixture_has_its_expectations() -> None:
    cases = _cases()
    assert len(cases) >= 10
    assert all(c.with_suffix(".json").exists() for c in cases)


def _zone(stamp: datetime) -> str | None:
    """The zone's IANA key, or "UTC+05:30" for a fixed offset a page stated."""
    return getattr(stamp.tzinfo, "key", None) or stamp.tzname()


def _iso(stamp: datetime | None) -> str | None:
    return stamp.isoformat() if stamp else None


# --- junk and decoding ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        ("", None),
        ("   \n\n\t ", None),
        (b"", None),
        (b"\x00\x01\x02\xff\xfe", None),
        ("X\n\nAdvertisement\nstory continues below\n", None),
        ("<html><body><nav>Home</nav></body></html>", "text/html"),
        ("<p>", None),
        (b"<?xml version='1.0' encoding='utf-8'?><html><body></body></html>", None),
        ("<html>\x00\x00</html>", "text/html"),
        (b"\xff\xfe<\x00h\x00t\x00m\x00l\x00>\x00", None),
    ],
)
def test_junk_gives_an_empty_story_saying_why(content: str | bytes, content_type: str | None) -> None:
    story = parse_story(content, content_type)
    assert story.is_empty
    assert story.problems


def test_title_alone_is_no_article() -> None:
    story = parse_story("Just a Headline\n")
    assert story.title == "Just a Headline"
    assert story.problems == (NO_TEXT,)


def test_bytes_fall_back_from_utf8_to_cp1252() -> None:
    text = "Mayor\u2019s plan \u2014 caf\u00e9 hours\n\nThe caf\u00e9\u2019s owner said \u201cyes.\u201d"
    for data, content_type in [
        (text.encode("utf-8"), None),
        (text.encode("cp1252"), None),
        (text.encode("cp1252"), "text/plain; charset=windows-1252"),
        (text.encode("utf-16"), None),
    ]:
        story = parse_story(data, content_type)
        assert story.title == "Mayor\u2019s plan \u2014 caf\u00e9 hours"
        assert story.sections[0].paragraphs == ("The caf\u00e9\u2019s owner said \u201cyes.\u201d",)


def test_decode_never_raises_and_honours_a_declared_charset() -> None:
    assert decode(b"\x81\x8d\x8f", None) == "\x81\x8d\x8f"  # not cp1252 either: latin-1
    assert decode("\u00e9".encode("latin-1"), "text/html; charset=ISO-8859-1") == "\u00e9"
    assert decode(b"abc", "text/plain; charset=no-such-codec") == "abc"
    assert decode('<meta charset="koi8-r">\xc1'.encode("latin-1")) == '<meta charset="koi8-r">\u0430'


def test_html_is_told_from_text() -> None:
    assert looks_like_html("<!DOCTYPE html><html></html>")
    assert looks_like_html("  <p>Hello</p>")
    assert looks_like_html("anything", "text/html; charset=utf-8")
    assert not looks_like_html("Headline\n\nA story about <p> tags.")
    assert not looks_like_html("Plain text with no tags")


def test_html_without_a_headline_line_still_gets_the_metadata_title() -> None:
    page = (
        "<html><head><title>Dam Repairs Finished</title></head><body><article><p>"
        + ("Crews finished repairs on the Mill Creek dam on Friday, two weeks ahead of schedule. " * 3)
        + "</p></article></body></html>"
    )
    story = parse_story(page.encode(), "text/html")
    assert story.title == "Dam Repairs Finished"
    assert story.sections[0].paragraphs[0].startswith("Crews finished repairs")


def test_a_wire_headline_in_html_is_not_body_text() -> None:
    page = (
        "<html><head><title>UPDATE 3-Talks resume in Geneva</title></head><body><article>"
        "<h1>UPDATE 3-Talks resume in Geneva</h1><p>"
        + "Negotiators returned to the table on Monday after a two-week pause in the talks. " * 3
        + "</p></article></body></html>"
    )
    story = parse_story(page, "text/html")
    assert (story.title, story.revision) == ("Talks resume in Geneva", 3)
    assert story.sections[0].paragraphs[0].startswith("Negotiators returned")


def test_wrapped_lines_join_into_paragraphs() -> None:
    story = parse_text("Title\n\nOne line\nand the next.\n\nA second\nparagraph.\n")
    assert story.sections[0].paragraphs == ("One line and the next.", "A second paragraph.")


def test_an_unwrapped_page_keeps_a_paragraph_per_line() -> None:
    long = "word " * 30
    story = parse_text(f"Title\n{long}one.\n{long}two.\n")
    assert len(story.sections[0].paragraphs) == 2


def test_stamp_lines_without_posted_time_pick_the_earliest_as_original() -> None:
    text = "Title\n\nUPDATE Nov 11, 2022 7:36 AM CST\n\nNews.\n\nNov 9, 2022 12:10 PM CST\n\nFirst.\n"
    story = parse_text(text)
    assert [s.kind for s in story.sections] == [SectionKind.UPDATE, SectionKind.ORIGINAL]
    assert story.sections[1].timestamp == datetime(2022, 11, 9, 12, 10, tzinfo=CHICAGO)


def test_stamps_without_a_zone_default_to_new_york() -> None:
    story = parse_text("Title\nPosted Nov 9, 2022 12:10 PM\n\nBody.\n\nUPDATE (3:15 p.m.): More.\n")
    assert story.posted == datetime(2022, 11, 9, 12, 10, tzinfo=ZoneInfo("America/New_York"))
    assert story.sections[1].timestamp == datetime(2022, 11, 9, 15, 15, tzinfo=ZoneInfo("America/New_York"))


# --- the pieces ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nov 11, 2022 7:36 AM CST", datetime(2022, 11, 11, 7, 36, tzinfo=CHICAGO)),
        ("Nov. 12, 2022, 4:05 p.m. EST", datetime(2022, 11, 12, 16, 5, tzinfo=ZoneInfo("America/New_York"))),
        ("4:05 p.m. ET on Nov. 12, 2022", datetime(2022, 11, 12, 16, 5, tzinfo=ZoneInfo("America/New_York"))),
        (
            "Wednesday, November 9, 2022 at 12:10 p.m. Central Time",
            datetime(2022, 11, 9, 12, 10, tzinfo=CHICAGO),
        ),
        ("Jul 4, 2023 9:00 PM PDT", datetime(2023, 7, 4, 21, 0, tzinfo=ZoneInfo("America/Los_Angeles"))),
        ("Jan 2, 2023 12:00 AM MST", datetime(2023, 1, 2, 0, 0, tzinfo=ZoneInfo("America/Denver"))),
        ("Feb 1, 2023 6:30 AM AKST", datetime(2023, 2, 1, 6, 30, tzinfo=ZoneInfo("America/Anchorage"))),
        ("Feb 1, 2023 6:30 AM HST", datetime(2023, 2, 1, 6, 30, tzinfo=ZoneInfo("Pacific/Honolulu"))),
        ("Sept. 3, 2023 noon PT", datetime(2023, 9, 3, 12, 0, tzinfo=ZoneInfo("America/Los_Angeles"))),
        ("2022-11-11T07:36:00-06:00", datetime.fromisoformat("2022-11-11T07:36:00-06:00")),
    ],
)
def test_full_stamps(text: str, expected: datetime) -> None:
    when = match_when(text)
    assert when is not None
    resolved = when.resolve()
    assert resolved == expected
    assert resolved.utcoffset() == expected.utcoffset()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "text", ["Nov. 11 was cold", "12", "2022", "13:75", "Feb 30, 2023 1:00 PM", "25:00 ET", ""]
)
def test_not_stamps(text: str) -> None:
    when = match_when(text)
    assert when is None or when.resolve(year=2023) is None


@pytest.mark.parametrize(
    ("line", "header", "rest"),
    [
        ("UPDATE Nov 11, 2022 7:36 AM CST", "UPDATE Nov 11, 2022 7:36 AM CST", ""),
        ("Update: Officials said more.", "Update:", "Officials said more."),
        ("UPDATE (3:15 p.m.): Crews arrived.", "UPDATE (3:15 p.m.):", "Crews arrived."),
        ("Update 2: A second update.", "Update 2:", "A second update."),
        ("Editor\u2019s Note: This story was changed.", "Editor\u2019s Note:", "This story was changed."),
        ("CORRECTION \u2014 The vote was 5-4.", "CORRECTION \u2014", "The vote was 5-4."),
        ("Updated at 4:05 p.m. ET on Nov. 12", "Updated at 4:05 p.m. ET on Nov. 12", ""),
        ("Update, 3:15 p.m. The mayor spoke.", "Update, 3:15 p.m.", "The mayor spoke."),
        (
            "UPDATE Nov 12, 2022 8:00 AM CST Roads reopened.",
            "UPDATE Nov 12, 2022 8:00 AM CST",
            "Roads reopened.",
        ),
    ],
)
def test_markers(line: str, header: str, rest: str) -> None:
    marker = match_marker(line)
    assert marker is not None
    assert (marker.header, marker.rest) == (header, rest)


@pytest.mark.parametrize(
    "line",
    [
        "Updated figures show a rise.",
        "Updates will follow.",
        "Corrections officers went on strike.",
        "Upper deck",
    ],
)
def test_sentences_that_are_not_markers(line: str) -> None:
    assert match_marker(line) is None


def test_wire_prefixes() -> None:
    assert strip_wire_prefix("UPDATE 2-Russia completes withdrawal") == ("Russia completes withdrawal", 2)
    assert strip_wire_prefix("UPDATE-Talks resume") == ("Talks resume", 1)
    assert strip_wire_prefix("Update on talks") == ("Update on talks", 0)
