"""Property tests: nothing a reader cannot see makes an event."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.diff import diff
from bot.read import parse_story
from tests.helpers import NOV9, NOV11

SEEDS = [NOV9.read_text(encoding="utf-8"), NOV11.read_text(encoding="utf-8")]
FURNITURE = ["story continues below", "Advertisement", "X", "Get the news faster.", "Tap to install our app."]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

words = st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=12)
paragraph = st.lists(words, min_size=3, max_size=40).map(" ".join)


@SETTINGS
@given(st.lists(paragraph, min_size=1, max_size=8), st.sampled_from(SEEDS + [""]))
def test_a_story_against_itself_is_empty(paragraphs: list[str], prefix: str) -> None:
    story = parse_story(prefix + "\n\n" + "\n\n".join(paragraphs))
    assert diff(story, story) == []


@SETTINGS
@given(st.sampled_from(SEEDS), st.data())
def test_white_space_and_nbsp_changes_give_no_event(seed: str, data: st.DataObject) -> None:
    spaces = st.sampled_from([" ", "  ", "\u00a0", " \u00a0 ", "\t"])

    def respace(line: str) -> str:
        return data.draw(spaces).join(line.split(" ")) + data.draw(st.sampled_from(["", " ", "\u00a0"]))

    changed = "\n".join(respace(line) if line else line for line in seed.split("\n"))
    assert diff(parse_story(seed), parse_story(changed)) == []


@SETTINGS
@given(st.sampled_from(SEEDS), st.data())
def test_furniture_added_between_paragraphs_gives_no_event(seed: str, data: st.DataObject) -> None:
    blocks = seed.split("\n\n")
    body_start = next(i for i, block in enumerate(blocks) if len(block) > 300)  # past the masthead
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.integers(body_start + 1, len(blocks)))
        blocks.insert(where, data.draw(st.sampled_from(FURNITURE)))
    assert diff(parse_story(seed), parse_story("\n\n".join(blocks))) == []


@SETTINGS
@given(st.sampled_from(SEEDS))
def test_reflowing_paragraphs_gives_no_event(seed: str) -> None:
    head, _, body = seed.partition("\n\nIn what is widely")
    reflowed = head + "\n\nIn what is widely" + body.replace(". ", ".\n", 3)
    assert diff(parse_story(seed), parse_story(reflowed)) == []
