"""Summaries: the seed update's lead, sentence boundaries, limits, and edits."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.models import Section, SectionKind
from bot.read import parse_story
from bot.summarize import ELLIPSIS, sentences, summarize, summarize_edit

SEEDS = Path(__file__).resolve().parent.parent / "seeds" / "kherson"


def section(*paragraphs: str, kind: SectionKind = SectionKind.UPDATE) -> Section:
    return Section(kind, "UPDATE", None, paragraphs)


def test_seed_update_summary_is_its_lead_sentence() -> None:
    story = parse_story((SEEDS / "2022-11-11T0736.txt").read_text(encoding="utf-8"))
    summary = summarize(story.sections[0])
    assert summary.startswith(
        "Russia now says it has completely withdrawn its forces from the southern Ukrainian city of Kherson."
    )
    assert len(summary) <= 280
    assert summary.endswith(".")  # cut on a sentence boundary, not mid-sentence


def test_seed_original_summary_keeps_whole_sentences_within_the_limit() -> None:
    story = parse_story((SEEDS / "2022-11-09T1210.txt").read_text(encoding="utf-8"))
    summary = summarize(story.sections[0])
    assert len(summary) <= 280
    assert summary.endswith("NPR notes Russian forces seized Kherson on the war's second day.")
    assert "Gen. Sergei" not in summary  # the third sentence did not fit, and was not cut into


def test_abbreviations_do_not_end_sentences() -> None:
    text = (
        "Gen. Sergei Surovikin met U.S. officials on Nov. 9 in Washington. "
        "Dr. Ana Ruiz and J. R. Smith spoke at 3 p.m. ET on Friday. "
        "They left at 4 p.m. The talks resume Monday. "
        '"Is it over?" she asked. No. 10 Downing St. declined to comment.'
    )
    assert sentences([text]) == [
        "Gen. Sergei Surovikin met U.S. officials on Nov. 9 in Washington.",
        "Dr. Ana Ruiz and J. R. Smith spoke at 3 p.m. ET on Friday.",
        "They left at 4 p.m.",
        "The talks resume Monday.",
        '"Is it over?" she asked.',
        "No. 10 Downing St. declined to comment.",
    ]


def test_sentences_run_across_paragraphs_in_order() -> None:
    assert sentences(["One.  Two!", "Three?\xa0Four"]) == ["One.", "Two!", "Three?", "Four"]


def test_a_long_first_sentence_is_cut_on_a_word_with_an_ellipsis() -> None:
    summary = summarize(section("word " * 100 + "end."), limit=50)
    assert summary.endswith(ELLIPSIS)
    assert len(summary) <= 50
    assert summary[:-1].split() == ["word"] * (len(summary[:-1].split()))


def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    summary = summarize(section("x" * 500), limit=20)
    assert summary == "x" * 19 + ELLIPSIS


def test_summary_takes_lead_sentences_only_while_they_fit() -> None:
    body = section("First one. Second sentence here. Third.")
    assert summarize(body, limit=10) == "First one."
    assert summarize(body, limit=32) == "First one. Second sentence here."
    assert summarize(body, limit=38) == "First one. Second sentence here."
    assert summarize(body, limit=39) == "First one. Second sentence here. Third."


def test_empty_sections_and_limits_give_empty_summaries() -> None:
    assert summarize(section()) == ""
    assert summarize(section("Some text."), limit=0) == ""


def test_summaries_are_deterministic() -> None:
    story = parse_story((SEEDS / "2022-11-11T0736.txt").read_bytes())
    assert len({summarize(story.sections[1]) for _ in range(5)}) == 1


def test_edit_summary_is_the_new_sentences() -> None:
    old = section("The fire began at noon. Crews were sent. No one was hurt.")
    new = section("The fire began at noon. Crews were sent.", "Two were treated. No one else was hurt.")
    assert summarize_edit(old, new) == "Two were treated. No one else was hurt."


def test_edit_summary_ignores_reflow_and_white_space() -> None:
    old = section("The fire began at noon. Crews were sent.")
    new = section("The fire began at noon.", "Crews\xa0 were sent. Roads are closed.")
    assert summarize_edit(old, new) == "Roads are closed."


def test_edit_that_only_removes_says_what_went() -> None:
    old = section("Kept. Dropped sentence.")
    new = section("Kept.")
    assert summarize_edit(old, new) == "Removed: Dropped sentence."


def test_edit_with_no_readable_change_falls_back_to_the_summary() -> None:
    old = section("Same text. Still same.")
    new = section("Same  text.", "Still same.")
    assert summarize_edit(old, new) == "Same text. Still same."


@pytest.mark.parametrize("limit", [1, 5, 12, 40, 280])
def test_edit_summaries_respect_the_limit(limit: int) -> None:
    old = section("A.")
    new = section("A. " + "Many new words arrive in this sentence " * 20 + ".")
    assert len(summarize_edit(old, new, limit)) <= limit
    assert len(summarize_edit(new, old, limit)) <= limit
