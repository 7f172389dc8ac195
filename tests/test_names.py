"""The name index: exact, prefix and fuzzy lookups, kept right by updates in place."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.models import StoryBrief
from bot.names import NameIndex


def brief(story_id: str, title: str, *aliases: str) -> StoryBrief:
    return StoryBrief(story_id, title, aliases, None, None)


def index() -> NameIndex:
    return NameIndex(
        [
            brief("kherson", "Russia pulls troops out of Kherson", "kherson-retreat"),
            brief("ferry", "Lagos ferry strands travelers"),
            brief("flood", "Lagos flood shuts schools", "lagos-flood"),
        ]
    )


def test_exact_names_any_case_and_unique_prefixes() -> None:
    names = index()
    assert names.exact("KHERSON") == "kherson"
    assert names.exact("lagos ferry strands travelers") == "ferry"
    assert names.exact("Kherson-Retreat") == "kherson"
    assert names.unique_prefix("russia pul") == "kherson"
    assert names.unique_prefix("lagos") is None  # two stories start so
    assert names.unique_prefix("la") is None  # too short to mean one story
    assert names.starting("lagos", 5) == ["ferry", "flood"]


def test_typos_are_forgiven_and_nonsense_is_not_matched() -> None:
    names = index()
    assert names.fuzzy("khersn", 3, 50)[0][0] == "kherson"
    assert names.fuzzy("lagos fery strands", 3, 80, good=80)[0][0] == "ferry"
    assert names.fuzzy("zzqx qqq", 3, 80) == []
    assert names.fuzzy("   ", 3, 50) == []


def test_a_new_title_replaces_the_old_name_and_a_known_one_changes_nothing() -> None:
    names = index()
    at = datetime(2022, 11, 11, 13, 36, tzinfo=UTC)
    assert names.note("ferry", "Lagos ferry strands travelers", at) is False
    assert names.briefs["ferry"].updated == at  # a good fetch is still recorded
    assert names.note("ferry", "Lagos ferry returns to service") is True
    assert names.exact("lagos ferry returns to service") == "ferry"
    assert names.exact("lagos ferry strands travelers") is None
    assert names.note("unknown", "A title") is False


def test_sync_touches_only_what_changed_and_removal_leaves_nothing_behind() -> None:
    names = index()
    fresh = [brief("ferry", "Lagos ferry strands travelers"), brief("quake", "Osaka earthquake")]
    assert names.sync(fresh) == 3  # kherson and flood gone, quake new
    assert [b.id for b in names.ordered()] == ["ferry", "quake"]
    assert names.exact("kherson") is None and names.fuzzy("khersn", 3, 80) == []
    names.sync([])
    assert len(names) == 0
    assert not (names._exact or names._names or names._owner or names._buckets or names._sorted)


def test_two_stories_sharing_a_name_answer_with_the_lowest_id() -> None:
    names = NameIndex([brief("b", "Same title"), brief("a", "Same title")])
    assert names.exact("same title") == "a"
    names.remove("a")
    assert names.exact("same title") == "b"
