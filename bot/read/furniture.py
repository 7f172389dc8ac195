"""Page furniture: the lines a site wraps around a story that are not the story.

Kept as data so a new site's clutter is a new row, not new code. Each rule is a regular
expression matched against a whole line, white space folded, case ignored, and one closing
".", "!" or ":" allowed. `TRAILING` rules are clutter that sits at the end of a real
paragraph ("... (More Kherson stories.)") and is cut from it. Photo captions are
recognised by shape (`is_caption`).
"""

from __future__ import annotations

import re

from bot.read.timestamps import match_when

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
    r"(?:share|tweet|email|print|pin|post)(?: (?:this|it))?(?: (?:article|story|link))?"
    r"(?: (?:on|via|to) [\w ]{1,20})?",
    r"copy link|whatsapp|facebook|twitter|linkedin|reddit|flipboard",
    r"follow us(?: on [\w ]{1,30})?|comments?|show comments|leave a (?:comment|reply)|post a comment",
    r"comments? (?:are|is) (?:closed|disabled)|join the conversation|be the first to comment",
    # live-page widgets: counters, sort order, audio players
    r"\d+ (?:posts?|updates?|entries|comments?)|(?:sort by:? )?(?:newest|oldest|latest|top)(?: first)?",
    r"play live radio|listen live|listen(?: now)?|now playing",
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
# A line led by a pointer to other pages: "Related: ...", "SEE MORE:", "READ MORE: ..."
CUES = (
    r"related(?: stories| articles| coverage| content)?|see (?:more|also)|read (?:more|also)|also read|more"
    r"|watch|listen|trending(?: now)?|don'?t miss|must read|editor'?s picks?|top stories|recommended"
    r"|further reading|more (?:on|from|about) [\w' ]{1,40}"
)
TRAILING: tuple[str, ...] = (r"\s*\(more [^()]{1,60} stories\.?\)",)

_LINE = re.compile("(?:" + "|".join(f"(?:{rule})" for rule in LINES) + r")[.!:…]?", re.IGNORECASE)
_TRAILING = re.compile("(?:" + "|".join(TRAILING) + r")\s*$", re.IGNORECASE)
_CREDIT = re.compile(
    r"\((?=[^()]*\b(?:via|photos?|pictures?|images?|video|illustration|ap|afp|reuters|getty|credit|courtesy|file|pool)\b)[^()]{2,120}\)$",
    re.IGNORECASE,
)
_LONGEST_LINE = 80  # furniture lines are short; longer lines skip the regex
_COPYRIGHT = re.compile(r"(?:©|\(c\)|copyright)\s*(?:©\s*)?\d{4}\b.{0,250}", re.IGNORECASE)
_BULLET = re.compile(r"[-–—•*·▪►]\s+")
_CUE = re.compile(r"(?:" + CUES + r")\s*:", re.IGNORECASE)
_CREDIT_LINE = re.compile(
    r"(?:photo|picture|image|video|illustration|graphic)s?(?: by| credit)?:\s*\S.{0,80}", re.IGNORECASE
)
_SMALL_WORDS = frozenset(
    re.findall(r"\w+", "a an and as at but by for from in into of on or the to vs via with")
)
_WORD_EDGES = "\"'“”‘’()[]{},:;!?-–—/|"
_SENTENCE_END = (".", "!", "?", '"', "”", "’", "'", ",", ";")
_LONGEST_TITLE = 100
# A prompt speaks to the reader about the site: "Get our newsletter in your inbox"
_READER = re.compile(r"\b(?:you|your|you're|our|us)\b", re.IGNORECASE)
_PROMPT = re.compile(
    r"newsletter|inbox|subscri(?:be|ption|ber)|sign up|ad[ -]?block|whitelist|allowlist|our journalism"
    r"|become a (?:member|supporter)|donat(?:e|ion)|download (?:our|the) app|turn on notifications",
    re.IGNORECASE,
)
_LONGEST_PROMPT = 250
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+|(?<!\w)@\w{2,30}")
# "Reach her at", "Email: ...": an address the author gives, not one the story reports
_CONTACT = re.compile(
    r"\b(?:reach|contact|e-?mail|follow|write to|message)\s+"
    r"(?:her|him|them|me|us|the (?:author|writer|reporter))\b"
    r"|^(?:e-?mail|contact|twitter|x|follow)\s*:",
    re.IGNORECASE,
)
_BIO_VERB = re.compile(
    r"\s+(?:is|was|covers|writes|reports|has (?:covered|reported|written)|can be reached)\b"
)
_LONGEST_BIO = 300
_RAIL = re.compile(r"(?:" + CUES + r")(?: stories| articles| coverage| links| reading)?\s*:?", re.IGNORECASE)
_CHANGE = re.compile(
    r"\b(?:updated|corrected|correction|changed|revised|clarif\w+|misstated|misidentified|earlier version"
    r"|previous version|removed|added|retracted)\b",
    re.IGNORECASE,
)
_STANDING = re.compile(
    r"\b(?:series|column|newsletter|podcast|weekly|daily|monthly|every (?:week|day|month|monday|tuesday"
    r"|wednesday|thursday|friday|saturday|sunday)|part of|in partnership|produced (?:by|with)"
    r"|sign up|subscribe|supported by|funded by)\b",
    re.IGNORECASE,
)


def is_furniture(line: str) -> bool:
    """True for a whole line of clutter. `line` has its white space folded already. A
    share tool set as a list item ("- Tweet this") is clutter like the bare tool."""
    if line[:1] in "-–—•*·▪►" and (bullet := _BULLET.match(line)):
        line = line[bullet.end() :]
    if len(line) <= _LONGEST_LINE and _LINE.fullmatch(line) is not None:
        return True
    if len(line) <= _LONGEST_PROMPT and (_CUE.match(line) or _CREDIT_LINE.fullmatch(line)):
        return True
    if not line[:1].isalpha() and not any(c.isalpha() for c in line) and match_when(line) is None:
        return True  # "0:00 0:00", "1 / 12": a player's clock, a gallery counter
    return line[:1] in "©(Cc" and _COPYRIGHT.fullmatch(line) is not None


def is_title_line(line: str) -> bool:
    """A short line in title case with no sentence punctuation: a headline, a widget's
    label, a photo credit. Set between a story's paragraphs it is a link to another story
    ("Why the Old Bridge Matters"), a tool ("Leave a Reply") or a credit ("Sam Lee / AP"),
    never one of the story's sentences."""
    if len(line) > _LONGEST_TITLE or line.endswith(_SENTENCE_END):
        return False
    words = [w for w in (word.strip(_WORD_EDGES) for word in line.split()) if w]
    if len(words) < 2:
        return False
    significant = [w for w in words if w[0].isalpha() and w.casefold() not in _SMALL_WORDS]
    return bool(significant) and all(w[0].isupper() for w in significant)


def is_prompt(line: str) -> bool:
    """A site speaking to its reader: newsletter, subscription and ad-blocker prompts."""
    return len(line) <= _LONGEST_PROMPT and bool(_PROMPT.search(line)) and bool(_READER.search(line))


def is_bio(paragraph: str, authors: tuple[str, ...] = ()) -> bool:
    """An author's bio or contact line: an address with a contact word ("Reach her at
    ...@..."), or the byline's name followed by what the author does ("Dana Ruiz covers ...")."""
    if len(paragraph) > _LONGEST_BIO:
        return False
    if _EMAIL.search(paragraph) and _CONTACT.search(paragraph):
        return True
    return any(paragraph.startswith(name) and _BIO_VERB.match(paragraph, len(name)) for name in authors)


def is_body_clutter(paragraph: str, *, after_paragraph: bool, authors: tuple[str, ...] = ()) -> bool:
    """Clutter known by its shape once the body has begun: a prompt to the reader, the
    author's bio, or a title-case line after a paragraph (a related headline, a widget, a
    credit, a repeated byline). A title-case line first under a marker or in a live entry is
    that update's own headline and stays."""
    if is_prompt(paragraph) or is_bio(paragraph, authors):
        return True
    return after_paragraph and is_title_line(paragraph)


def is_rail_heading(line: str) -> bool:
    """A heading over links to other stories: "Related", "More on Transit", "READ MORE:"."""
    return len(line) <= _LONGEST_LINE and _RAIL.fullmatch(line) is not None


def is_standing_note(text: str) -> bool:
    """A note about the publication, not about this story's changes: "The Money Desk is a
    weekly column ...", "This article is part of our series ...". One that speaks of a
    change ("This story has been updated ...") is a real editor's note."""
    return len(text) <= _LONGEST_PROMPT and not _CHANGE.search(text) and bool(_STANDING.search(text))


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
