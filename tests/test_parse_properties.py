"""Properties: parsing never raises on junk, and what it returns is always well formed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.models import Section, SectionKind, Story
from bot.read import parse_story
from bot.summarize import summarize, summarize_edit

SETTINGS = settings(max_examples=200, deadline=None)

# Lines a news page is made of, in any order: the parser must cope with every mix.
PIECES = st.sampled_from(
    [
        "",
        "Posted Nov 9, 2022 12:10 PM CST",
        "Updated Nov 11, 2022 7:36 AM CST",
        "UPDATE Nov 11, 2022 7:36 AM CST",
        "Nov 9, 2022 12:10 PM CST",
        "Nov. 11, 2022",
        "10:32 a.m. ET",
        "Nov. 11, 10:32 a.m.",
        "UPDATE (3:15 p.m.): Crews arrived at the scene.",
        "Update:",
        "Correction: The vote was 5-4.",
        "Editor's note: This story was updated.",
        "Updated at 4:05 p.m. ET on Nov. 12",
        "By Kate Seamons,\xa0 Newser Staff",
        "story continues below",
        "(More Kherson stories.)",
        "Get the news faster.",
        "X",
        "A photo title",
        "A caption.\xa0\xa0 (AP Photo/Someone)",
        "Officials said the bridge would reopen on Monday.",
        "Dr. Ruiz met U.S. officials on Nov. 9. They agreed.",
        "UPDATE 2-Talks resume",
        "Feb 30, 2023 25:99 PM XST",
    ]
)
TEXT_STORIES = st.lists(st.one_of(PIECES, st.text(max_size=80)), max_size=30).map("\n".join)
TAGS = st.sampled_from(["p", "div", "h1", "h2", "nav", "script", "article", "aside", "strong", "br", "li"])


@st.composite
def html_pages(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 20))):
        tag = draw(TAGS)
        parts.append(f"<{tag}>{draw(st.one_of(PIECES, st.text(max_size=40)))}</{tag}>")
        if draw(st.booleans()):
            parts.append(draw(st.sampled_from(["<", ">", "</p", "<!--", "&amp;", "&#0;", "<html>", "\x00"])))
    return "<html><body>" + "".join(parts) + "</body></html>"


CONTENT_TYPES = st.sampled_from(
    [
        None,
        "text/html",
        "text/plain",
        "text/html; charset=utf-8",
        "text/html; charset=bogus",
        "application/json",
    ]
)


def well_formed(story: Story) -> None:
    assert isinstance(story, Story)
    assert story.sections or story.problems  # empty always says why
    for section in story.sections:
        assert isinstance(section, Section)
        assert section.paragraphs and all(section.paragraphs)
        for paragraph in section.paragraphs:
            assert "\xa0" not in paragraph and paragraph == paragraph.strip()
        assert section.timestamp is None or section.timestamp.tzinfo is not None
        assert len(section.fingerprint) == 24
    for stamp in (story.posted, story.updated):
        assert stamp is None or stamp.tzinfo is not None


@SETTINGS
@given(st.text(), CONTENT_TYPES)
def test_any_text(text: str, content_type: str | None) -> None:
    well_formed(parse_story(text, content_type))


@SETTINGS
@given(st.binary(max_size=2000), CONTENT_TYPES)
def test_any_bytes(data: bytes, content_type: str | None) -> None:
    well_formed(parse_story(data, content_type))


@SETTINGS
@given(TEXT_STORIES)
def test_any_mix_of_story_lines(text: str) -> None:
    story = parse_story(text)
    well_formed(story)
    assert sum(s.kind is SectionKind.ORIGINAL for s in story.sections) <= 1  # lead text or a date line


@SETTINGS
@given(html_pages(), CONTENT_TYPES)
def test_any_html(page: str, content_type: str | None) -> None:
    well_formed(parse_story(page, content_type))
    well_formed(parse_story(page.encode("utf-8", "surrogatepass"), content_type))


WORDS = st.text(alphabet="abcdefghij", min_size=1, max_size=8)
PARAGRAPHS = st.lists(st.lists(WORDS, min_size=12, max_size=40).map(" ".join), min_size=1, max_size=5)


@SETTINGS
@given(PARAGRAPHS, st.sampled_from([" ", "\xa0", "  ", " \xa0 ", "\t"]))
def test_fingerprints_survive_white_space_changes(paragraphs: list[str], space: str) -> None:
    head = "Headline\nPosted Nov 9, 2022 12:10 PM CST\n\n"
    plain = parse_story(head + "\n\n".join(p.capitalize() + "." for p in paragraphs))
    spaced = parse_story(head + "\n\n".join(p.capitalize().replace(" ", space) + "." for p in paragraphs))
    assert [s.fingerprint for s in spaced.sections] == [s.fingerprint for s in plain.sections]
    assert len(plain.sections) == 1


@SETTINGS
@given(
    st.lists(st.text(max_size=300), max_size=4),
    st.lists(st.text(max_size=300), max_size=4),
    st.integers(0, 400),
)
def test_summaries_fit_their_limit(old: list[str], new: list[str], limit: int) -> None:
    before = Section(SectionKind.ORIGINAL, "", None, tuple(old))
    after = Section(SectionKind.UPDATE, "", None, tuple(new))
    assert len(summarize(after, limit)) <= limit
    assert len(summarize_edit(before, after, limit)) <= limit
    assert summarize(after, limit) == summarize(after, limit)
