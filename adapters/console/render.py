"""Pure converters: alerts and replies -> rich renderables. Story text is never markup."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from bot.models import Alert, Reply, ReplyKind
from bot.textfmt import alert_lead, format_time, render_view, timeline_lines


def alert_to_panel(alert: Alert) -> Panel:
    when = format_time(alert.timestamp) if alert.timestamp else f"seen {format_time(alert.seen_at)}"
    parts: list[RenderableType] = [
        Text(f"{alert.headline}  ·  {when}", style="bold"),
        Text(alert.summary),
    ]
    if alert.timeline:
        parts.append(Text("\n".join(["Timeline:", *timeline_lines(alert.timeline)]), style="dim"))
    if alert.story_url:
        parts.append(Text(alert.story_url, style="underline"))
    return Panel(Group(*parts), title=Text(alert_lead(alert)), title_align="left", border_style="green")


def reply_to_panel(reply: Reply) -> Panel:
    if reply.story is not None:
        body = Text(render_view(reply.story, full=reply.kind is ReplyKind.TIMELINE))
        title = Text(f"/story {reply.story.id}")
    else:
        body = Text(reply.text)
        title = Text("/story")
    style = "red" if reply.kind in {ReplyKind.ERROR, ReplyKind.NOT_FOUND} else "cyan"
    return Panel(body, title=title, title_align="left", border_style=style)
