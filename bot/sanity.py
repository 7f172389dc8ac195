"""Is this page still the story? The check between parse and diff. Pure.

A page can parse cleanly and still not be the story: a 200 "Service unavailable" page, a
paywall or consent wall, a body cut short, a template change. Diffed against the story, each
looks like a rewrite and a new headline; diffed against again on recovery, it alerts twice.
So a page becomes a diff base only if it is recognisably the same story as the last good
version. A page that is not is *suspect*: recorded with the reason, alerted on never, and
never a diff base, so the next good page is compared with the last good one.

Three tests, each cheap and explainable, each with a threshold chosen from both sides:

- **Title shape.** A title that shares no word with the stored headline *and* speaks the
  vocabulary of error, sign-in, subscription or consent pages ("Service unavailable",
  "Before you continue", "Subscribe to read") in at most WALL_TITLE_WORDS words is not a
  retitle. Word stems, not page lists: a genuine retitle keeps the story's nouns, a wall keeps
  none of them.
- **Resemblance** (RESEMBLANCE = 0.3). The share of word 3-shingles the two texts have in
  common, over the smaller text's shingles (containment, so a page that only gained an update
  or only lost some text still scores high). Shingles are taken per paragraph, so reordered
  paragraphs score 1.0. Measured on the original section and on the whole story, the higher
  kept (live blogs scroll their first entries away). Unrelated pages share almost no
  three-word runs (the fixtures: error 0.0, consent 0.0); a corrected original that rewrote
  three sentences keeps 0.83, a paywall showing the first paragraph 0.6, live-blog pairs 1.0.
  A heavy rewrite that keeps a third of its phrasing is still the story; below 0.3 a page has
  kept less than a third of it. Docs: docs/sanity.md.
- **Length** (SHORTER = 0.5). A page with under half the words of the last good version is a
  truncated body or a wall showing the first paragraph, unless the publisher says why: a new
  section headed or worded as a correction, removal or retraction. Stories grow; they are
  rarely cut by half, and when they are a newsroom explains it.
"""

from __future__ import annotations

import re

from bot.models import Section, SectionKind, Story, normalise_text

RESEMBLANCE = 0.3  # below this share of shared phrasing, a page is some other page
SHORTER = 0.5  # below this share of the last good version's words, a page was cut short
SHINGLE = 3  # words per shingle: long enough that unrelated texts rarely share one
WALL_TITLE_WORDS = 8  # error and wall titles are short; a long new title is a retitle
FIRST_PAGE_WORDS = 150  # a first page titled like a wall and shorter than this is the wall

_WORD = re.compile(r"\w+")
# stems of the words error, sign-in, paywall and consent pages are titled with
_WALL_TITLE = re.compile(
    r"\b(error|unavailable|maintenance|not found|denied|forbidden|blocked|subscri|paywall|premium"
    r"|sign ?in|log ?in|register|cookie|consent|privacy|before you continue|continue reading"
    r"|verify|robot|captcha|just a moment|attention required|too many requests|oops)",
    re.IGNORECASE,
)
# what a newsroom writes when it removes text on purpose
_REMOVAL = re.compile(r"\b(correct|remov|retract|withdr|delet|clarif|editor)", re.IGNORECASE)
_SMALL_WORDS = frozenset(
    {"a", "an", "and", "at", "by", "for", "from", "in", "is", "it", "of", "on", "or", "the", "to", "with"}
)


def suspect_reason(last: Story, page: Story) -> str | None:
    """Why `page` is not recognisably the story `last` was, or None when it is.

    The reason never quotes the page: a suspect page's text is not the story's to show."""
    if _wall_title(last.title, page.title):
        return "the page's title is an error, sign-in, paywall or consent title"
    shared = resemblance(last, page)
    if shared < RESEMBLANCE:
        return f"the page's text does not resemble the story ({shared:.0%} of its phrasing shared)"
    kept = _words(page) / max(1, _words(last))
    if kept < SHORTER and not _says_why(last, page):
        return f"the page holds {kept:.0%} of the story's words and no correction says why"
    return None


def first_page_reason(page: Story) -> str | None:
    """Why the first page of a newly tracked story is not the story, or None. With nothing
    stored to compare, only a page that is a wall by both signs is refused: a short wall title
    and a body too short to be an article ("Service unavailable" over two sentences). A real
    story titled "Error in vote count" has an article under it."""
    short_wall_title = len(_content_words(page.title)) <= WALL_TITLE_WORDS and _WALL_TITLE.search(page.title)
    if page.title and short_wall_title and _words(page) < FIRST_PAGE_WORDS:
        return "the first page is titled and sized like an error, sign-in, paywall or consent page"
    return None


def resemblance(last: Story, page: Story) -> float:
    """Shared phrasing, 0..1: of the original sections, or of the whole stories if higher."""
    whole = _containment(_shingles(last.sections), _shingles(page.sections))
    originals = _originals(last), _originals(page)
    if not all(originals):
        return whole
    return max(whole, _containment(_shingles(originals[0]), _shingles(originals[1])))


def _wall_title(stored: str, title: str) -> bool:
    if not stored or not title or _norm(stored) == _norm(title):
        return False
    words = _content_words(title)
    if len(words) > WALL_TITLE_WORDS or words & _content_words(stored):
        return False
    return _WALL_TITLE.search(title) is not None


def _says_why(last: Story, page: Story) -> bool:
    """The page gained a section that explains a removal (a correction, an editor's note)."""
    known = {s.fingerprint for s in last.sections}
    return any(
        s.kind is SectionKind.UPDATE and _REMOVAL.search(f"{s.header} {s.body}")
        for s in page.sections
        if s.fingerprint not in known
    )


def _originals(story: Story) -> tuple[Section, ...]:
    return tuple(s for s in story.sections if s.kind is SectionKind.ORIGINAL)


def _shingles(sections: tuple[Section, ...]) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for section in sections:
        for paragraph in section.paragraphs:
            words = _WORD.findall(_norm(paragraph))
            if len(words) < SHINGLE:
                found.add(tuple(words))
            found.update(tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1))
    found.discard(())
    return found


def _containment(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def _words(story: Story) -> int:
    return sum(len(_WORD.findall(p)) for s in story.sections for p in s.paragraphs)


def _content_words(title: str) -> set[str]:
    return {w for w in _WORD.findall(_norm(title)) if w not in _SMALL_WORDS and len(w) > 1}


def _norm(text: str) -> str:
    return normalise_text(text).casefold()
