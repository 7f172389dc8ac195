"""Core results -> Discord embeds. Pure: no client, no I/O.

Discord answers 400 for an embed over its limits and discord.py checks none of them, so
this module is where they hold: every piece of text is escaped first (story text must not
ping or format) and then cut on a word boundary with an ellipsis. Times are Discord
timestamp tokens (`<t:UNIX:f>`), which each reader sees in their own zone; they render in
descriptions and field values only, never in titles, field names or footers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urlsplit

import discord

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

TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
AUTHOR_MAX = 256
EMBED_TOTAL_MAX = 6000
CHOICE_MAX = 100  # autocomplete choice name and value
CUSTOM_ID_MAX = 100  # a button's custom_id
TIMELINE_ID = "storybot:timeline:"  # an alert's "Full timeline" button: this prefix and the story id
STORY_TIMELINE_SHORT = 5  # entries a /story answer shows before "and N more"

ELLIPSIS = "\N{HORIZONTAL ELLIPSIS}"
ZWSP = "\N{ZERO WIDTH SPACE}"

COLOUR = discord.Colour(0x2B6CB0)
_REPLY_TITLE = {
    ReplyKind.HELP: "storybot help",
    ReplyKind.NOT_FOUND: "No such story",
    ReplyKind.ERROR: "Something went wrong",
    ReplyKind.ADMIN: "storybot",
    ReplyKind.LIST: "Tracked stories",
}


def clip(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, on a word boundary when one is near, marking
    the cut with an ellipsis. Never leaves a dangling escape backslash."""
    text = text.strip()
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    head = text[: limit - 1]
    space = max(head.rfind(" "), head.rfind("\n"))
    if space >= (limit - 1) * 0.6:
        head = head[:space]
    head = head.rstrip(" \n\t,;:-\N{EM DASH}")
    while head.endswith("\\"):
        head = head[:-1]
    return head + ELLIPSIS


def safe(text: str) -> str:
    """Story or user text made inert: no markdown, no masked links, no mention syntax.

    Embeds never ping, and every send also carries AllowedMentions.none(); this is the second
    guard, so a pasted `@everyone` or `<@123>` shows as text and cannot turn into a mention."""
    text = discord.utils.escape_markdown(text)
    return text.replace("@", "@" + ZWSP)


def safe_clip(text: str, limit: int) -> str:
    return clip(safe(text), limit)


def plain_clip(text: str, limit: int) -> str:
    """For places Discord renders no markdown (titles, field names, footers, choices)."""
    return clip(" ".join(text.replace("@", "@" + ZWSP).split()), limit)


def when(moment: datetime | None, style: str = "f") -> str:
    """A Discord timestamp token; each reader's client shows it in their own zone."""
    return "" if moment is None else f"<t:{int(moment.timestamp())}:{style}>"


def both(moment: datetime | None) -> str:
    """`Nov 11, 2022 7:36 AM (3 years ago)` in the reader's zone."""
    return f"{when(moment)} ({when(moment, 'R')})" if moment else ""


def source_of(url: str | None) -> str:
    if not url:
        return ""
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")


def _safe_url(url: str | None) -> str | None:
    return url if url and url.startswith(("http://", "https://")) and len(url) <= 2048 else None


def timeline_custom_id(story_id: str) -> str:
    """The custom_id of an alert's "Full timeline" button (story ids are at most 64 characters)."""
    return (TIMELINE_ID + story_id)[:CUSTOM_ID_MAX]


def alert_to_embed(alert: Alert, key: str | None = None) -> discord.Embed:
    """One alert as one embed: what happened, the new text's summary, when, the timeline in
    one line ("3rd update since Nov 9"), and the source. The full timeline is a button's.
    The footer ends with the delivery `key`, when given: Discord keeps no hidden field on a
    message, and the footer is where a later read of the channel finds which alert it is."""
    if alert.note:
        return note_to_embed(alert, key)
    if alert.kind in (AlertKind.CATCH_UP, AlertKind.DIGEST):
        return _grouped_embed(alert, key)
    moment = alert_time(alert)
    title = alert.story_title or alert.headline or alert.story_id
    lines = [safe(alert.summary) if alert.summary else ""]
    if alert.kind is AlertKind.HEADLINE_CHANGED and alert.headline:
        lines.insert(0, f"**{safe(alert.headline)}**")
    description = "\n\n".join(line for line in lines if line)
    revised = "revised " if alert.kind is AlertKind.SECTION_EDITED else ""
    progress = f" · {safe(alert.progress)}" if alert.progress else ""
    stamp = f"\n\n{revised}{both(moment)}{progress}"
    if alert.corrected_at is not None:
        stamp += f"\n**Corrected** {both(alert.corrected_at)}: {safe_clip(alert.correction, 1000)}"
    embed = discord.Embed(
        title=plain_clip(title, TITLE_MAX),
        url=_safe_url(alert.story_url),
        description=clip(description, DESCRIPTION_MAX - len(stamp)) + stamp,
        colour=COLOUR,
        timestamp=moment,
    )
    embed.set_author(name=alert_label(alert))
    embed.set_footer(text=_footer(alert.story_url, alert.story_id, key))
    return fit(embed)


def note_to_embed(alert: Alert, key: str | None = None) -> discord.Embed:
    """The short note a correction posts (in the story's thread, or as a reply to the alert it
    corrected): what changed, and when it was revised."""
    stamp = f"\n\nrevised {both(alert_time(alert))} · the alert above is corrected"
    embed = discord.Embed(
        title=plain_clip(alert.story_title or alert.story_id, TITLE_MAX),
        url=_safe_url(alert.story_url),
        description=clip(safe(alert.summary), DESCRIPTION_MAX - len(stamp)) + stamp,
        colour=COLOUR,
        timestamp=alert_time(alert),
    )
    embed.set_author(name=alert_label(alert))
    embed.set_footer(text=_footer(alert.story_url, alert.story_id, key))
    return fit(embed)


ITEM_SUMMARY_MAX = 600  # characters of each update's summary in a catch-up or digest


def _grouped_embed(alert: Alert, key: str | None) -> discord.Embed:
    """A catch-up (the original, then the latest updates in order) or a digest (each update's
    headline and summary) as one embed: whole items while they fit, then a count."""
    if alert.kind is AlertKind.DIGEST:
        title = digest_title(alert)
        items = [_item(u.headline, alert_time(u), u.summary) for u in alert.updates]
        author = ALERT_LEADS[alert.kind]
    else:
        so_far = story_so_far(alert)
        title = alert.story_title or alert.story_id
        original = so_far.original
        items = [_item(original.label, entry_moment(original), original.summary)] if original else []
        if so_far.earlier:
            items.append(f"*{ELLIPSIS} {earlier_note(so_far.earlier)}*")
        items += [_item(e.label, entry_moment(e), e.summary) for e in so_far.updates]
        author = f"{ALERT_LEADS[alert.kind]}, as of {alert.seen_at:%b %d, %Y}"
    embed = discord.Embed(
        title=plain_clip(title, TITLE_MAX),
        url=_safe_url(alert.story_url),
        description=_clip_lines(items, DESCRIPTION_MAX) or "Nothing stored yet.",
        colour=COLOUR,
        timestamp=alert.seen_at,
    )
    embed.set_author(name=plain_clip(author, AUTHOR_MAX))
    embed.set_footer(text=_footer(alert.story_url, alert.story_id, key))
    return fit(embed)


def _item(label: str, moment: datetime, summary: str) -> str:
    head = f"**{plain_clip(label or 'Update', 64)}** · {when(moment)}"
    return f"{head}\n{safe_clip(summary, ITEM_SUMMARY_MAX)}".strip()


def notice_to_embed(notice: Notice, key: str | None = None) -> discord.Embed:
    """An admin notice as one embed: which story stopped, why, and the command that restarts
    it. The footer carries the delivery `key` as an alert's does."""
    description = (
        f"{safe(notice.headline)}\n\n**Last error:** {safe_clip(notice.reason, 1500)}\n\n"
        f"No more polls until an admin runs `{plain_clip(notice.resume_command, 100)}` or the story's "
        f"entry in config.toml changes.\n\n{both(notice.seen_at)}"
    )
    embed = discord.Embed(
        title=plain_clip(f"{notice.story_title} ({notice.story_id})", TITLE_MAX),
        description=clip(description, DESCRIPTION_MAX),
        colour=discord.Colour(0xC53030),
        timestamp=notice.seen_at,
    )
    embed.set_author(name=ALERT_LEADS[notice.kind])
    embed.set_footer(text=_footer(None, notice.story_id, key))
    return fit(embed)


def reply_to_embed(reply: Reply) -> discord.Embed:
    """A /story answer as one embed. Text is escaped; limits hold whatever the core says."""
    if reply.story is not None and reply.kind in (ReplyKind.STORY, ReplyKind.TIMELINE):
        return _story_embed(reply.story, full=reply.kind is ReplyKind.TIMELINE)
    if reply.kind is ReplyKind.LIST and reply.stories:
        return _list_embed(reply.stories)
    colour = discord.Colour.red() if reply.kind is ReplyKind.ERROR else COLOUR
    lines = [safe(line) for line in reply.text.strip().split("\n")]
    embed = discord.Embed(
        title=_REPLY_TITLE.get(reply.kind, "storybot"),
        description=_clip_lines(lines, DESCRIPTION_MAX) or None,
        colour=colour,
    )
    return fit(embed)


def _story_embed(story: StoryView, *, full: bool) -> discord.Embed:
    latest = story.latest
    parts = []
    if story.subtitle:
        parts.append(f"*{safe(story.subtitle)}*")
    if latest is not None:
        parts.append(f"**{plain_clip(latest.label, 64)}** {both(entry_moment(latest))}")
        parts.append(safe(latest.summary))
    else:
        parts.append("Tracked, but not fetched yet.")
    description = "\n\n".join(p for p in parts if p)
    embed = discord.Embed(
        title=plain_clip(story.title or story.id, TITLE_MAX),
        url=_safe_url(story.url),
        description=clip(description, DESCRIPTION_MAX) or None,
        colour=COLOUR,
        timestamp=entry_moment(latest) if latest else None,
    )
    entries = sorted(story.timeline, key=entry_moment, reverse=True)
    if not full and latest is not None:
        entries = [e for e in entries if e != latest]
    hint = "" if full else f" · /story timeline {story.id} for the full history"
    embed.set_footer(text=_footer(story.url, story.id) + hint)
    _add_entries(embed, entries, None if full else STORY_TIMELINE_SHORT)
    return fit(embed)


def _list_embed(stories: Iterable[StoryBrief]) -> discord.Embed:
    lines = []
    for brief in stories:
        updated = f" · updated {when(brief.updated, 'R')}" if brief.updated else ""
        origin = f" · {safe(brief.origin)}" if brief.origin else ""
        lines.append(f"**{safe(brief.title or brief.id)}** (`{brief.id}`){updated}{origin}")
    embed = discord.Embed(
        title=_REPLY_TITLE[ReplyKind.LIST],
        description=_clip_lines(lines, DESCRIPTION_MAX),
        colour=COLOUR,
    )
    embed.set_footer(text="/story <name> shows a story's latest update")
    return fit(embed)


def _clip_lines(lines: list[str], limit: int) -> str:
    """Whole lines while they fit, then a count of the rest ("… and 12 more")."""
    kept: list[str] = []
    size = 0
    for n, line in enumerate(lines):
        more = f"\n{ELLIPSIS} and {len(lines) - n} more"
        if size + len(line) + 1 + len(more) > limit:
            return "\n".join(kept) + more
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)


def _add_entries(embed: discord.Embed, entries: list[TimelineEntry], limit: int | None) -> None:
    """Timeline entries as fields, newest first: as many as `limit`, 25 fields and 6,000
    characters allow, then a last field counting the rest ("… and 12 more")."""
    shown = entries if limit is None else entries[:limit]
    for entry in shown[:FIELDS_MAX]:
        _add_entry_field(embed, entry)
    while len(embed) > EMBED_TOTAL_MAX and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    while (left := len(entries) - len(embed.fields)) > 0:
        name, value = ELLIPSIS, f"and {left} more"
        if len(embed.fields) < FIELDS_MAX and len(embed) + len(name) + len(value) <= EMBED_TOTAL_MAX:
            embed.add_field(name=name, value=value, inline=False)
            return
        if not embed.fields:
            return  # the description fills the embed: fit() cuts it
        embed.remove_field(len(embed.fields) - 1)


def _add_entry_field(embed: discord.Embed, entry: TimelineEntry) -> None:
    stamp = both(entry_moment(entry))
    value = clip(safe(entry.summary), FIELD_VALUE_MAX - len(stamp) - 1) if entry.summary else ""
    embed.add_field(
        name=plain_clip(entry.label or "Update", FIELD_NAME_MAX),
        value=f"{stamp}\n{value}".strip() or "-",
        inline=False,
    )


def _footer(url: str | None, story_id: str, key: str | None = None) -> str:
    source = source_of(url)
    text = f"Source: {source} · {story_id}" if source else f"storybot · {story_id}"
    suffix = f" · ref {key}" if key else ""
    return plain_clip(text, FOOTER_MAX - len(suffix)) + suffix


def footer_has_key(embed: dict[str, object], key: str) -> bool:
    """Whether a message's embed (as Discord's API shows it) is the alert with `key`."""
    footer = embed.get("footer")
    text = footer.get("text") if isinstance(footer, dict) else None
    return isinstance(text, str) and text.endswith(f" · ref {key}")


def fit(embed: discord.Embed) -> discord.Embed:
    """Keep the whole embed under 6,000 characters: drop trailing fields, then cut the
    description. Per-part limits are already met by the builders."""
    while len(embed) > EMBED_TOTAL_MAX and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    excess = len(embed) - EMBED_TOTAL_MAX
    if excess > 0 and embed.description:
        embed.description = clip(embed.description, max(1, len(embed.description) - excess))
    return embed
