"""The `/story` slash command: one command whose `query` autocompletes tracked stories.

Why one command with a free-text `query` rather than subcommands: Discord's client drops the
cursor straight into a command's first required option, so typing `/story kherson`,
`/story list`, `/story help` or `/story timeline kherson` works letter for letter as on Slack
and in the console, and the text goes to the core unchanged. Autocomplete shows the stories
(title -> id) and the verbs; `timeline` and `public` are options for those who click.
Handlers only translate: the core decides every answer.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands

from adapters.discord.render import CHOICE_MAX, TIMELINE_ID, plain_clip, reply_to_embed, timeline_custom_id
from bot.commands import Caller, Commands
from bot.models import Reply

log = logging.getLogger(__name__)

PLATFORM = "discord"
VERBS = {
    "list": "List the tracked stories",
    "help": "How to use /story",
    "subscriptions": "What this channel gets alerts of",
}
NO_PINGS = discord.AllowedMentions.none()


async def suggest(commands: Commands, current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete choices for what the user has typed so far: stories, then verbs."""
    verb, _, rest = current.strip().partition(" ")
    prefix = ""
    if verb.casefold() == "timeline":
        prefix, current = "timeline ", rest
    briefs = await commands.complete(current[:200], limit=25)
    choices = [
        app_commands.Choice(
            name=plain_clip(brief.title or brief.id, CHOICE_MAX), value=(prefix + brief.id)[:CHOICE_MAX]
        )
        for brief in briefs
    ]
    if not prefix:
        typed = current.strip().casefold()
        choices += [
            app_commands.Choice(name=label, value=word)
            for word, label in VERBS.items()
            if word.startswith(typed)
        ]
    return choices[:25]


async def answer(
    interaction: discord.Interaction,
    reply: Callable[[], Awaitable[Reply]],
    *,
    ephemeral: bool,
    defer_after: float,
) -> None:
    """Answer within Discord's 3-second window: directly when the core is quick, else defer
    (the user sees "thinking...") and send the answer as a follow-up."""
    task = asyncio.ensure_future(reply())
    done, _ = await asyncio.wait({task}, timeout=defer_after)
    if not done:
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        embed = reply_to_embed(await task)
        await interaction.followup.send(embed=embed, ephemeral=ephemeral, allowed_mentions=NO_PINGS)
        return
    embed = reply_to_embed(task.result())
    await interaction.response.send_message(embed=embed, ephemeral=ephemeral, allowed_mentions=NO_PINGS)


def story_command(
    commands: Commands | None, *, ephemeral: bool, defer_after: float = 2.0
) -> app_commands.Command:
    """Build `/story`. `ephemeral` is the default visibility; `public:` overrides it per call.
    Without `commands` the command can only be synced (`storybot discord sync`), not answered."""

    @app_commands.command(name="story", description="A tracked news story: its latest update and timeline")
    @app_commands.describe(
        query="A story's name or words; or list, help, timeline, subscriptions, track <url>, subscribe",
        timeline="Show every dated update of the story",
        public="Post the answer in the channel for everyone (default: only you see it)",
    )
    async def story(
        interaction: discord.Interaction,
        query: app_commands.Range[str, 1, 2100],  # room for `track <url> as <name>`
        timeline: bool = False,
        public: bool | None = None,
    ) -> None:
        if commands is None:
            raise app_commands.AppCommandError("this client only syncs commands")
        text = f"timeline {query}" if timeline and not query.casefold().startswith("timeline") else query
        user = interaction.user
        caller = Caller(
            PLATFORM,
            str(user.id),
            str(interaction.channel_id) if interaction.channel_id else None,
            roles=tuple(str(r.id) for r in user.roles) if isinstance(user, discord.Member) else (),
        )
        hidden = ephemeral if public is None else not public
        await answer(
            interaction, lambda: commands.handle(text, caller), ephemeral=hidden, defer_after=defer_after
        )

    @story.autocomplete("query")
    async def _query(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [] if commands is None else await suggest(commands, current)

    return story


TIMELINE_TEMPLATE = re.escape(TIMELINE_ID) + r"(?P<story>\S+)"


class TimelineButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TIMELINE_TEMPLATE):
    """An alert's "Full timeline" button. Its custom_id carries the story id, so the button
    works on every alert ever posted, across restarts, with no view kept per message: the
    client registers this class (`add_dynamic_items`) and discord.py builds one per click.
    The answer is the core's `/story timeline <id>`, shown to the clicker only."""

    def __init__(self, story_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Full timeline",
                style=discord.ButtonStyle.secondary,
                custom_id=timeline_custom_id(story_id),
            )
        )
        self.story_id = story_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> TimelineButton:
        return cls(match["story"])

    async def callback(self, interaction: discord.Interaction) -> None:
        commands: Commands | None = getattr(interaction.client, "commands", None)
        if commands is None:
            return  # a client that only syncs commands answers nothing
        caller = Caller(
            PLATFORM,
            str(interaction.user.id),
            str(interaction.channel_id) if interaction.channel_id else None,
        )
        defer_after: float = getattr(interaction.client, "defer_after", 2.0)
        query = f"timeline {self.story_id}"
        await answer(
            interaction, lambda: commands.handle(query, caller), ephemeral=True, defer_after=defer_after
        )


def timeline_view(story_id: str) -> discord.ui.View:
    """The components an alert carries: the "Full timeline" button. The view is stopped before
    it is sent, so discord.py keeps no per-message copy: `TimelineButton` answers the clicks."""
    view = discord.ui.View(timeout=None)
    view.add_item(TimelineButton(story_id))
    view.stop()
    return view
