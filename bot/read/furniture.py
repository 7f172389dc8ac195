"""Page furniture: the lines a site wraps around a story that are not the story.

Kept as data so a new site's clutter is a new row, not new code. Each rule is a regular
expression matched against a whole line, white space folded, case ignored, and one closing
".", "!" or ":" allowed. `TRAILING` rules are clutter that sits at the end of a real
paragraph ("... (More Kherson stories.)") and is cut from it. Photo captions are
recognised by shape (`is_caption`).
"""

from __future__ import annotations

import re

LINES: tuple[str, ...] = (
    # "continue" interrupters and ads
    r"(?:story|article) continues(?: below)?(?: (?:the )?advertisement)?",
    r"continue reading(?: below| the (?:main )?story)?",
    r"scroll (?:down )?to continue(?: with content)?",
    r"advertisement|sponsored(?: content)?|ad|paid content|skip (?:to content|advertisement)",
    # links out and sharing
    r"read more(?: stories| here)?|more stories|recommended(?: for you)?",
    r"related(?: stories| articles| coverage)?",
    r"\(more [^()]{1,60} stories\.?\)",
    r"share(?: this(?: article| story)?)?(?: on (?:facebook|twitter|x|email))?|tweet|email|print|copy link",
    r"follow us(?: on [\w ]{1,30})?|comments?|\d+ comments?|show comments|leave a comment",
    r"listen to this (?:article|story)(?: \d+ min)?",
    # newsletters and subscriptions
    r"sign up(?: for (?:our|the) [\w ]{0,30}newsletters?)?|subscribe(?: now| today)?",
    r"already a subscriber\?.*",
    r"get (?:the news|our newsletter|alerts) (?:faster|free|delivered)[\w ]{0,20}",
    # app-install prompts
    r"tap to install (?:our|the) app|install the [\w ]{1,30} app|download (?:our|the) [\w ]{0,30}app",
    r"in (?:two|three|\d) easy steps:?",
    r"\d\. tap (?:in your navigation bar|to add to home screen)",
    # placeholders of content a script would load
    r"loading(?: [\w ]{1,30})?(?:…|\.{3})?",
    # stray close buttons and dividers
    r"[x×✕✖]|[*•·—–_-]{1,}",
)
TRAILING: tuple[str, ...] = (r"\s*\(more [^()]{1,60} stories\.?\)",)

_LINE = re.compile("(?:" + "|".join(f"(?:{rule})" for rule in LINES) + r")[.!:…]?", re.IGNORECASE)
_TRAILING = re.compile("(?:" + "|".join(TRAILING) + r")\s*$", re.IGNORECASE)
_CREDIT = re.compile(
    r"\((?=[^()]*\b(?:via|photos?|images?|ap|afp|reuters|getty|credit|courtesy|file|pool)\b)[^()]{2,120}\)$",
    re.IGNORECASE,
)
_LONGEST_LINE = 80  # furniture lines are short; longer lines skip the regex
_COPYRIGHT = re.compile(r"(?:©|\(c\)|copyright)\s*(?:©\s*)?\d{4}\b.{0,250}", re.IGNORECASE)


def is_furniture(line: str) -> bool:
    """True for a whole line of clutter. `line` has its white space folded already."""
    if len(line) <= _LONGEST_LINE and _LINE.fullmatch(line) is not None:
        return True
    return line[:1] in "©(Cc" and _COPYRIGHT.fullmatch(line) is not None


def strip_trailing(paragraph: str) -> str:
    """`paragraph` without clutter at its end."""
    if not paragraph.endswith(")"):
        return paragraph
    cut = max(0, len(paragraph) - _LONGEST_LINE)  # search the tail only: paragraphs are long
    found = _TRAILING.search(paragraph, cut)
    return paragraph[: found.start()] if found else paragraph


def is_caption(raw: str, line: str) -> bool:
    """A photo caption: ends with a photo credit in parentheses. A caption set off from
    its credit by non-breaking spaces (the raw line) counts even with an unusual credit."""
    if not line.endswith(")"):
        return False
    if _CREDIT.search(line):
        return True
    cut = raw.rfind("(")
    return cut > 0 and raw[cut - 1] == "\xa0"
