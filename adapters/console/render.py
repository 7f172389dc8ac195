"""Pure converters: alerts and replies -> rich renderables. Story text is never markup, and
never terminal control: a page's ESC[2J would clear an operator's screen, an OSC sequence retitle
the window. Control characters are shown as visible escapes instead (tab and newline stay)."""

from __future__ import annotations

import re

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from bot.models import Alert, AlertKind, Notice, Reply, ReplyKind
from bot.textfmt import (
    alert_lead,
    alert_time,
    alert_when,
    catch_up_lines,
    digest_lines,
    format_time,
    notice_text,
    render_view,
)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 but tab and newline, DEL, C1


def visible(text: str) -> str:
    """`text` with each control character written out (`\\x1b`), so the terminal shows it
    instead of obeying it."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _text(text: str, style: str = "") -> Text:
    return Text(visible(text), style=style)


def alert_to_panel(alert: Alert) -> Panel:
    """The update, its summary, the timeline in one line and where the rest is, as on Slack
    and Discord (whose button is `/story timeline <id>` here); once corrected, when and what."""
    if alert.note:
        return note_to_panel(alert)
    if alert.kind in (AlertKind.CATCH_UP, AlertKind.DIGEST):
        return _grouped_panel(alert)
    parts: list[RenderableType] = [
        _text(f"{alert.headline}  ·  {alert_when(alert)}", style="bold"),
        _text(alert.summary),
    ]
    if alert.corrected_at is not None:
        corrected = f"Corrected {format_time(alert.corrected_at)}: {alert.correction}"
        parts.append(_text(corrected, style="yellow"))
    more = f"full timeline: /story timeline {alert.story_id}"
    parts.append(_text(f"{alert.progress} · {more}" if alert.progress else more, style="dim"))
    if alert.story_url:
        parts.append(_text(alert.story_url, style="underline"))
    return Panel(Group(*parts), title=_text(alert_lead(alert)), title_align="left", border_style="green")


def note_to_panel(alert: Alert) -> Panel:
    """What a correction changed, under the alert it corrected (which is edited in place)."""
    body = _text(
        f"{alert.summary}\n(revised {format_time(alert_time(alert))}; the earlier alert is corrected)"
    )
    return Panel(body, title=_text(alert_lead(alert)), title_align="left", border_style="yellow")


def _grouped_panel(alert: Alert) -> Panel:
    """A catch-up (the story so far) or a digest (several updates) as one panel."""
    parts: list[RenderableType] = []
    if alert.kind is AlertKind.DIGEST:
        lines = digest_lines(alert)
    else:
        parts.append(_text(f"as of {format_time(alert.seen_at)}", style="bold"))
        lines = catch_up_lines(alert)
    parts += [_text(line) for line in lines]
    parts.append(_text(f"full timeline: /story timeline {alert.story_id}", style="dim"))
    if alert.story_url:
        parts.append(_text(alert.story_url, style="underline"))
    return Panel(Group(*parts), title=_text(alert_lead(alert)), title_align="left", border_style="green")


def notice_to_panel(notice: Notice) -> Panel:
    return Panel(_text(notice_text(notice)), title=Text("storybot"), title_align="left", border_style="red")


def reply_to_panel(reply: Reply) -> Panel:
    if reply.story is not None:
        body = _text(render_view(reply.story, full=reply.kind is ReplyKind.TIMELINE))
        title = _text(f"/story {reply.story.id}")
    else:
        body = _text(reply.text)
        title = Text("/story")
    style = "red" if reply.kind in {ReplyKind.ERROR, ReplyKind.NOT_FOUND} else "cyan"
    return Panel(body, title=title, title_align="left", border_style=style)
