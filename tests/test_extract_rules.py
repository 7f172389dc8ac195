"""The extractor's path (`html_to_text`) and telling HTML from text: what a page without
article markup yields, and which pages count as HTML."""

from __future__ import annotations

import pytest

from bot.read.extract import html_to_text, looks_like_html

PARAGRAPHS = (
    "The county opened three cooling centres on Tuesday as the heat index passed 40 degrees.",
    "Officials asked residents to check on older neighbours and to keep pets indoors all afternoon.",
    "The libraries on Main Street and Oak Avenue will stay open until nine in the evening all week.",
)
BODY = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
TABLE = "<table><tr><td>Main Street Library</td><td>open until 9 p.m. nightly</td></tr></table>"
COMMENTS = (
    "<div id='comments' class='comments'><p>Reader Jo wrote: the Oak centre was full by noon.</p></div>"
)
PAGE = (
    "<!doctype html><html><head><title>Heat Wave: Cooling Centres Open</title></head>"
    f"<body><div>{BODY}{TABLE}</div>{COMMENTS}</body></html>"
)


def test_a_page_gives_its_metadata_title_and_only_its_article_text() -> None:
    title, text = html_to_text(PAGE)
    assert title == "Heat Wave: Cooling Centres Open"
    assert text.splitlines() == list(PARAGRAPHS)  # no table cells, no reader comments


def test_a_bare_fragment_is_read_as_a_page() -> None:
    assert html_to_text(BODY) == ("", "\n".join(PARAGRAPHS))


def test_images_and_list_bullets_are_not_text() -> None:
    """A figure's image is not a paragraph ("![...](...)"), and list items are plain lines."""
    figure = "<figure><img src='https://example.com/fan.jpg' alt='A fan in a window'></figure>"
    _, text = html_to_text(f"<html><body><article>{BODY}{figure}{BODY}</article></body></html>")
    assert text.splitlines() == list(PARAGRAPHS) * 2
    items = "".join(f"<li>{p}</li>" for p in PARAGRAPHS)
    _, text = html_to_text(f"<html><body><ul>{items}</ul></body></html>")
    assert text.splitlines() == list(PARAGRAPHS)


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("<html><body></body></html>", ("", "")),
        ("<html><head><title>Heat Wave</title></head><body></body></html>", ("Heat Wave", "")),
        ("<html lang=", ("", "")),
    ],
    ids=["nothing", "a title and no text", "cut off in its first tag"],
)
def test_a_page_without_an_article_gives_empty_text(page: str, expected: tuple[str, str]) -> None:
    assert html_to_text(page) == expected


@pytest.mark.parametrize(
    ("text", "content_type", "html"),
    [
        ("Warning: session started\n<HTML lang='en'><P>Roads closed.</P></HTML>", None, True),
        ("Notice: cache miss\n<body><p>Roads closed.</p></body>", None, True),
        ("Notice: cache miss\n<html><body><p>Roads closed.</p></body></html>", None, True),
        ("Roads closed.\n\nA sign said <b> and </b> in the photo.", None, False),
        ("Roads closed.", "TEXT/HTML", True),
        ("Roads closed.", "text/plain", False),
    ],
    ids=[
        "a notice before an upper-case html tag",
        "before a body tag",
        "before both",
        "text",
        "typed",
        "typed text",
    ],
)
def test_html_is_told_by_a_tag_near_the_start(text: str, content_type: str | None, html: bool) -> None:
    assert looks_like_html(text, content_type) is html
