"""Alerts and replies -> Block Kit. Pure functions: no I/O, no clock, no Slack client.

Everything that comes from a story or a user is escaped here (`&`, `<`, `>`), so no story
text can become `<!channel>`, `<!here>`, a mention or a link; its formatting characters
(`*`, `_`, `~`, backticks) are made inert too, so `*bold*` in a story stays as written.
Every text object is cut to fit Block Kit's limits before Slack can refuse the message. Each function returns
`(text, blocks)`: `text` is the plain fallback used by notifications and screen readers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from bot.models import Alert, AlertKind, Notice, Reply, ReplyKind, StoryBrief, StoryView, TimelineEntry
from bot.textfmt import (
    ALERT_LEADS,
    alert_label,
    alert_time,
    digest_title,
    earlier_note,
    entry_moment,
    story_so_far,
)

MAX_TEXT = 3000  # characters in one text object
MAX_BLOCKS = 50  # blocks in one message
MAX_FALLBACK = 3000  # we keep the notification text short, though Slack allows more
MAX_BUTTON_VALUE = 2000
TIMELINE_IN_ALERT = 5  # entries of the compact timeline under a /story answer
TIMELINE_SUMMARY = 160  # characters of each timeline line's summary
SHARE_ACTION = "storybot_share"
TIMELINE_ACTION = "storybot_timeline"  # an alert's "Full timeline" button
ELLIPSIS = "…"
ZWSP = "\u200b"

Block = dict[str, Any]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# Bare @channel/@here/@everyone are only live when a client sets link_names or parse=full;
# a word joiner (U+2060) after the @ keeps them readable and inert whatever the caller sets.
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
# mrkdwn has no escape character. A formatting character opens or closes bold, italics,
# strike or code only next to a space, punctuation or the text's edge: flanked by zero-width
# spaces it does neither, and reads the same.
_FORMATTING = re.compile(r"[*_~`]")

# --- text primitives ---------------------------------------------------------------------


def escape(text: str) -> str:
    """Story or user text -> inert mrkdwn: control characters dropped, `& < >` escaped,
    `* _ ~` and backticks kept from formatting."""
    text = _CONTROL.sub("", unicodedata.normalize("NFC", text))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _FORMATTING.sub(lambda m: ZWSP + m.group() + ZWSP, text)
    return _BROADCAST.sub("@\u2060\\1", text)


def code(text: str) -> str:
    """A story id for an inline code span: inside one nothing formats but a backtick, and the
    id must stay copyable as typed (`/story timeline kherson_bridge`), so only `& < >` are
    escaped and backticks dropped."""
    text = _CONTROL.sub("", text).replace("`", "")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")[:64]


def slack_len(text: str) -> int:
    """Length as Slack counts it (UTF-16 code units), so an emoji never tips a limit."""
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int) -> str:
    """Escape raw `text` and cut it to at most `limit` characters: at a word when one is
    near, never inside an `&amp;` entity, marking the cut with an ellipsis."""
    escaped = escape(text)
    if slack_len(escaped) <= limit:
        return escaped
    return _cut(escaped, limit)


def _cut(escaped: str, limit: int) -> str:
    budget = limit - 1
    head = escaped[:budget]
    while slack_len(head) > budget:
        head = head[:-1]
    amp = head.rfind("&")
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    space = head.rfind(" ")
    if space > len(head) - 40 and space > 0:
        head = head[:space]
    return head.rstrip() + ELLIPSIS


def link(url: str | None, label: str) -> str:
    """`<url|label>` for an http(s) URL; just the (already escaped) label otherwise."""
    if not url or not re.match(r"^https?://[^\s<>|]+$", url):
        return label
    safe = url.replace("&", "&amp;").replace("|", "%7C")
    return f"<{safe}|{label}>"


def date_token(when: datetime | None) -> str:
    """Slack date formatting: each reader sees the time in their own zone; the fallback is UTC."""
    if when is None:
        return "time unknown"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    fallback = when.astimezone(UTC).strftime("%b %d, %Y %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


# --- blocks -----------------------------------------------------------------------------


def section(mrkdwn: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def context(*mrkdwn: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": m} for m in mrkdwn[:10]]}


def button(action_id: str, label: str, value: str) -> Block:
    """An actions block with one button whose click comes back as `action_id` with `value`."""
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": action_id,
                "text": {"type": "plain_text", "text": label},
                "value": value[:MAX_BUTTON_VALUE],
            }
        ],
    }


def share_button(value: str) -> Block:
    return button(SHARE_ACTION, "Share to channel", value)


def timeline_query(story_id: str) -> str:
    """The command an alert's "Full timeline" button runs: `/story timeline <id>`."""
    return f"timeline {story_id}"


def sections_of_lines(lines: Iterable[str], limit: int = MAX_TEXT) -> list[Block]:
    """Pack lines (already escaped) into as few sections as fit, each at most `limit`."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        if slack_len(line) > limit:
            line = _cut(line, limit)
        candidate = f"{current}\n{line}" if current else line
        if slack_len(candidate) > limit:
            chunks.append(current)
            candidate = line
        current = candidate
    chunks.append(current)
    return [section(chunk) for chunk in chunks if chunk.strip()]


def timeline_line(entry: TimelineEntry) -> str:
    when = date_token(entry_moment(entry))
    return f"• {when} — *{fit(entry.label, 40)}*: {fit(entry.summary, TIMELINE_SUMMARY)}"


def timeline_lines(entries: Iterable[TimelineEntry], limit: int | None = None) -> list[str]:
    """Newest first, as the core's plain text has it; past `limit`, the rest is counted."""
    newest_first = list(entries)[::-1]
    shown = newest_first if limit is None else newest_first[:limit]
    lines = [timeline_line(e) for e in shown]
    if len(newest_first) > len(shown):
        lines.append(f"_… and {len(newest_first) - len(shown)} earlier_")
    return lines


def cap_blocks(blocks: list[Block], limit: int = MAX_BLOCKS) -> list[Block]:
    """At most `limit` blocks; when cutting, the last one says that something was left out."""
    if len(blocks) <= limit:
        return blocks
    return [*blocks[: limit - 1], context("_More left out to fit Slack's limits._")]


# --- alerts -----------------------------------------------------------------------------


def alert_to_blocks(alert: Alert) -> tuple[str, list[Block]]:
    """An alert as a Slack message: linked headline, the update and its summary, when, the
    timeline in one line, and a button that answers (to the clicker) with the full timeline;
    once corrected, marked so with the time and what the correction said."""
    if alert.note:
        return note_to_blocks(alert)
    if alert.kind is AlertKind.CATCH_UP:
        return _catch_up_blocks(alert)
    if alert.kind is AlertKind.DIGEST:
        return _digest_blocks(alert)
    label = alert_label(alert)
    when = date_token(alert_time(alert))
    if alert.kind is AlertKind.SECTION_EDITED:
        when = f"revised {when}"
    title = fit(alert.story_title or alert.story_id, 300)
    blocks: list[Block] = [section(f"*{link(alert.story_url, title)}*")]
    body = fit(alert.summary, MAX_TEXT - 400)
    if alert.headline and alert.headline.strip() != alert.story_title.strip():
        body = f"*{fit(alert.headline, 300)}*\n{body}" if body else f"*{fit(alert.headline, 300)}*"
    if body:
        blocks.append(section(body))
    if alert.corrected_at is not None:
        blocks.append(section(f"*Corrected {date_token(alert.corrected_at)}:* {fit(alert.correction, 1200)}"))
    blocks.append(context(f"{label} · {when} · `{code(alert.story_id)}`"))
    if alert.progress:
        blocks.append(context(fit(alert.progress, 300)))
    blocks.append(button(TIMELINE_ACTION, "Full timeline", timeline_query(alert.story_id)))
    fallback = f"{label}: {alert.story_title or alert.story_id} — {alert.summary or alert.headline}"
    return fit(fallback, MAX_FALLBACK), cap_blocks(blocks)


def note_to_blocks(alert: Alert) -> tuple[str, list[Block]]:
    """The short note a correction posts in the story's thread: what changed, and when."""
    label = alert_label(alert)
    blocks = [
        section(f"*{label}:* {fit(alert.summary, MAX_TEXT - 200)}"),
        context(f"{label} · revised {date_token(alert_time(alert))} · the alert above is corrected"),
    ]
    fallback = f"{label}: {alert.story_title or alert.story_id} — {alert.summary}"
    return fit(fallback, MAX_FALLBACK), blocks


ITEM_SUMMARY = 600  # characters of each update's summary in a catch-up or digest


def _item_line(label: str, when: datetime, summary: str) -> str:
    return f"*{fit(label or 'Update', 60)}* · {date_token(when)}\n{fit(summary, ITEM_SUMMARY)}".rstrip()


def _catch_up_blocks(alert: Alert) -> tuple[str, list[Block]]:
    """The story so far: the original's summary, then the latest updates in order, the rest
    counted, in one message."""
    so_far = story_so_far(alert)
    title = fit(alert.story_title or alert.story_id, 300)
    lead = f"{ALERT_LEADS[alert.kind]} · as of {date_token(alert.seen_at)}"
    blocks: list[Block] = [
        section(f"*{link(alert.story_url, title)}*"),
        context(f"{lead} · `{code(alert.story_id)}`"),
    ]
    lines = []
    if so_far.original is not None:
        lines.append(
            _item_line(so_far.original.label, entry_moment(so_far.original), so_far.original.summary)
        )
    if so_far.earlier:
        lines.append(f"_… {earlier_note(so_far.earlier)}_")
    lines += [_item_line(e.label, entry_moment(e), e.summary) for e in so_far.updates]
    blocks.extend(sections_of_lines(lines or ["_Nothing stored yet._"]))
    count = len(so_far.updates) + so_far.earlier
    updates = f"{count} update{'' if count == 1 else 's'}" if count else "no updates yet"
    fallback = f"{ALERT_LEADS[alert.kind]}: {alert.story_title or alert.story_id} — {updates}"
    return fit(fallback, MAX_FALLBACK), with_timeline_button(blocks, alert)


def _digest_blocks(alert: Alert) -> tuple[str, list[Block]]:
    """'3 updates to <story>' and each update's headline and summary, oldest first."""
    heading = digest_title(alert).removesuffix(alert.story_title)
    title = fit(alert.story_title or alert.story_id, 300)
    blocks: list[Block] = [section(f"*{fit(heading, 40)}{link(alert.story_url, title)}*")]
    lines = [_item_line(u.headline, alert_time(u), u.summary) for u in alert.updates]
    blocks.extend(sections_of_lines(lines))
    blocks.append(context(f"{ALERT_LEADS[alert.kind]} · `{code(alert.story_id)}`"))
    return fit(digest_title(alert), MAX_FALLBACK), with_timeline_button(blocks, alert)


def with_timeline_button(blocks: list[Block], alert: Alert) -> list[Block]:
    """`blocks` cut to leave room for the alert's "Full timeline" button, and the button."""
    button_block = button(TIMELINE_ACTION, "Full timeline", timeline_query(alert.story_id))
    return [*cap_blocks(blocks, MAX_BLOCKS - 1), button_block]


def notice_to_blocks(notice: Notice) -> tuple[str, list[Block]]:
    """An admin notice: which story stopped, why, and the command that restarts it."""
    label = ALERT_LEADS[notice.kind]
    title = fit(f"{notice.story_title} ({notice.story_id})", 300)
    blocks: list[Block] = [
        section(f"*{label}: {title}*\n{fit(notice.headline, 300)}"),
        section(f"Last error: {fit(notice.reason, MAX_TEXT - 400)}"),
        context(
            f"No more polls until an admin runs `{fit(notice.resume_command, 100)}` or the story's"
            f" entry in config.toml changes · {date_token(notice.seen_at)}"
        ),
    ]
    fallback = f"{label}: {notice.story_title} ({notice.story_id}): {notice.reason}"
    return fit(fallback, MAX_FALLBACK), blocks


# --- replies ----------------------------------------------------------------------------


def share_query(reply: Reply) -> str | None:
    """The short command that reproduces `reply` for everyone, or None when it is not worth
    sharing (errors, admin answers, misses)."""
    if reply.kind is ReplyKind.STORY and reply.story:
        return reply.story.id
    if reply.kind is ReplyKind.TIMELINE and reply.story:
        return f"timeline {reply.story.id}"
    if reply.kind is ReplyKind.LIST:
        return "list"
    return None


def reply_to_blocks(reply: Reply, *, share: str | None = None) -> tuple[str, list[Block]]:
    """A command's reply; with a "Share to channel" button carrying `share` when given."""
    if reply.kind is ReplyKind.STORY and reply.story:
        blocks = _story_blocks(reply.story)
    elif reply.kind is ReplyKind.TIMELINE and reply.story:
        blocks = _timeline_blocks(reply.story)
    elif reply.kind is ReplyKind.LIST and reply.stories:
        blocks = _list_blocks(reply.stories)
    else:
        blocks = _text_blocks(reply.text)
    fallback = fit(reply.text or "(no answer)", MAX_FALLBACK)
    if share:
        return fallback, [*cap_blocks(blocks, MAX_BLOCKS - 1), share_button(share)]
    return fallback, cap_blocks(blocks)


def _story_head(story: StoryView) -> list[Block]:
    head = [section(f"*{link(story.url, fit(story.title or story.id, 300))}*")]
    if story.subtitle:
        head.append(context(fit(story.subtitle, 600)))
    return head


def _story_blocks(story: StoryView) -> list[Block]:
    blocks = _story_head(story)
    if story.latest:
        latest = story.latest
        blocks.append(section(f"*{fit(latest.label, 40)}*\n{fit(latest.summary, MAX_TEXT - 100)}"))
        blocks.append(context(f"{date_token(entry_moment(latest))} · `{code(story.id)}`"))
    if story.timeline:
        blocks.append(context("*Timeline*"))
        blocks.extend(sections_of_lines(timeline_lines(story.timeline, TIMELINE_IN_ALERT)))
    return blocks


def _timeline_blocks(story: StoryView) -> list[Block]:
    blocks = _story_head(story)
    lines = timeline_lines(story.timeline) or ["_No updates recorded yet._"]
    return [*blocks, *sections_of_lines(lines)]


def _list_blocks(stories: tuple[StoryBrief, ...]) -> list[Block]:
    lines = []
    for brief in stories:
        updated = f" — updated {date_token(brief.updated)}" if brief.updated else ""
        origin = f" — {fit(brief.origin, 64)}" if brief.origin else ""
        lines.append(f"• *{fit(brief.title or brief.id, 200)}* (`{code(brief.id)}`){updated}{origin}")
    return [section("*Tracked stories*"), *sections_of_lines(lines)]


def _text_blocks(text: str) -> list[Block]:
    paragraphs = [fit(p, MAX_TEXT) for p in text.split("\n")]
    return sections_of_lines(paragraphs) or [section("(no answer)")]
