"""A site's own boilerplate, learned: a line that several different stories of one site
share is that site's furniture ("Reporting by the Metro desk.", a standing promo), however
it is worded, so no rule has to know it in advance.

Pure functions: the pipeline asks the store which lines a site repeats, strips them from
the new version and from the stored one alike (so a line that becomes boilerplate never
looks like an edit), and tells the store the lines of the new version.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from bot.models import Story, fingerprint

MIN_STORIES = 3  # distinct stories of one site sharing a line before it counts as furniture
LONGEST_LINE = 200  # a longer paragraph repeated across stories is shared reporting, not furniture


def site_of(source: str) -> str:
    """The site a story belongs to: a URL's host, or a local file's folder."""
    if "://" in source:
        return (urlsplit(source).hostname or "").casefold()
    return "file:" + str(Path(source).resolve().parent)


def line_keys(story: Story) -> frozenset[str]:
    """Keys of the story's short paragraphs, the only ones that may be boilerplate."""
    return frozenset(
        fingerprint((p,)) for section in story.sections for p in section.paragraphs if len(p) <= LONGEST_LINE
    )


def strip_lines(story: Story, keys: frozenset[str] | set[str]) -> Story:
    """`story` without paragraphs whose key is in `keys`; a section left empty goes, unless
    nothing would be left."""
    if not keys:
        return story
    sections = []
    changed = False
    for section in story.sections:
        kept = tuple(p for p in section.paragraphs if len(p) > LONGEST_LINE or fingerprint((p,)) not in keys)
        if len(kept) == len(section.paragraphs):
            sections.append(section)
            continue
        changed = True
        if kept:
            sections.append(replace(section, paragraphs=kept, fingerprint=""))
    if not changed or not sections:
        return story
    return replace(story, sections=tuple(sections))
