"""diff(): sections match by what they are, not where they sit."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.diff import diff
from bot.models import HeadlineChanged, NewUpdate, Section, SectionEdited, SectionKind, Story

CT = ZoneInfo("America/Chicago")
ORIGINAL = Section(
    SectionKind.ORIGINAL,
    "",
    datetime(2022, 11, 9, 12, 10, tzinfo=CT),
    ("The city council voted on Tuesday to close the bridge for repairs.", "Work starts in May."),
)


def update(text: str, hour: int | None = None, header: str = "UPDATE") -> Section:
    ts = datetime(2022, 11, 10, hour, 0, tzinfo=CT) if hour is not None else None
    return Section(SectionKind.UPDATE, header, ts, (text,))


def story(*sections: Section, title: str = "Bridge to close") -> Story:
    return Story(title=title, sections=sections)


def test_same_story_gives_nothing() -> None:
    assert diff(story(ORIGINAL), story(ORIGINAL)) == []


def test_new_update_above_or_below_the_original() -> None:
    new = update("The council reversed its vote after protests.", 9)
    for sections in ((new, ORIGINAL), (ORIGINAL, new)):
        assert diff(story(ORIGINAL), story(*sections)) == [NewUpdate(new)]


def test_reflowed_and_nbsp_paragraphs_are_the_same_section() -> None:
    reflowed = Section(
        SectionKind.ORIGINAL,
        "Nov 9, 2022 12:10 PM CST",
        ORIGINAL.timestamp,
        ("The city council\u00a0voted on Tuesday to close", "the bridge for repairs.   Work starts in May."),
    )
    assert reflowed.fingerprint == ORIGINAL.fingerprint
    assert diff(story(ORIGINAL), story(reflowed)) == []


def test_reordering_sections_is_not_news() -> None:
    a, b = update("First update text here.", 9), update("Second update text here.", 10)
    assert diff(story(a, b, ORIGINAL), story(ORIGINAL, b, a)) == []


def test_edited_update_is_an_edit_not_a_new_update() -> None:
    old = update("The council will vote again on Friday.", 9)
    new = update("The council will vote again on Friday at noon, officials said.", 9)
    (event,) = diff(story(old, ORIGINAL), story(new, ORIGINAL))
    assert isinstance(event, SectionEdited) and event.old == old and event.new == new
    assert 0 < event.change < 1


def test_untimed_edited_update_matches_by_likeness() -> None:
    old = update("The mayor said the bridge would reopen in June after the repairs.")
    new = update("The mayor said the bridge would reopen in July after the repairs.")
    events = diff(story(old, ORIGINAL), story(new, ORIGINAL))
    assert [type(e) for e in events] == [SectionEdited]


def test_tiny_edit_below_threshold_is_ignored() -> None:
    long_text = "word " * 400
    old = update(long_text + "end.", 9)
    new = update(long_text + "end!", 9)
    assert diff(story(old), story(new)) == []


def test_original_edit_is_reported() -> None:
    edited = Section(
        SectionKind.ORIGINAL,
        "",
        ORIGINAL.timestamp,
        ("The city council voted on Monday to close the bridge.",),
    )
    (event,) = diff(story(ORIGINAL), story(edited))
    assert isinstance(event, SectionEdited)


def test_headline_change_is_its_own_event() -> None:
    events = diff(story(ORIGINAL), story(ORIGINAL, title="Bridge closure reversed"))
    assert events == [HeadlineChanged("Bridge to close", "Bridge closure reversed")]


def test_several_new_updates_come_in_publisher_order() -> None:
    late, early, untimed = update("Later news.", 15), update("Earlier news.", 9), update("Undated news.")
    events = diff(story(ORIGINAL), story(late, untimed, early, ORIGINAL))
    assert events == [NewUpdate(early), NewUpdate(late), NewUpdate(untimed)]


def test_two_updates_with_different_times_never_merge() -> None:
    a = update("Crews arrived at the bridge this morning.", 9)
    b = update("Crews arrived at the bridge this evening.", 18)
    assert diff(story(a, ORIGINAL), story(b, a, ORIGINAL)) == [NewUpdate(b)]
