"""Stories and subscriptions from Slack and Discord: `/story track`, `subscribe`, `mute`,
`untrack` typed through real slack-bolt and discord.py against the fakes on loopback, with
permissions from config (Slack: a user allow-list; Discord: a role). A subscribed channel gets
the alert when the story (on the loopback origin) gains an update; a muted one does not until
the mute ends."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import adapters.discord as discord_platform
from bot.app import StoryBot
from bot.config import parse_config
from bot.storage import Mute, now_utc
from tests.fakes.discord import CHANNEL_IDS, NEWSDESK_ROLE_ID, FakeDiscord
from tests.fakes.slack import FakeSlack
from tests.helpers import NOV9, NOV11
from tests.origin import Origin
from tests.test_manage import later, page
from tests.test_slack import block_text, make_adapter, response_count

Ask = Callable[[str, bool], Awaitable[str]]
"""Type a /story line in the channel (as a permitted user, or not); the answer's text."""


def config_for(tmp_path: Path, **storybot: Any) -> Any:
    (tmp_path / "budget.txt").write_text(NOV9.read_text(encoding="utf-8"), encoding="utf-8")
    data = {
        "storybot": {"database": str(tmp_path / "bot.db"), "files_dir": ".", "allow_hosts": ["127.0.0.1"]}
        | storybot,
        "stories": [{"id": "budget", "path": "budget.txt"}],
    }
    return parse_config(data, "test", tmp_path)


async def follow_a_story_from_chat(
    bot: StoryBot, origin: Origin, ask: Ask, alerts: Callable[[], int], channel: str
) -> None:
    """The operator's path, from chat alone: track, subscribe, see it alert, mute, unmute, untrack."""
    origin.set("/kherson", page(NOV9.read_text(encoding="utf-8")))
    url = origin.url("/kherson")
    refused = await ask(f"track {url} as retreat", False)
    assert "for the admins and managers" in refused and (await bot.store.held()).stories == ()
    assert "for the admins and managers" in await ask("subscribe budget", False)

    tracked = await ask(f"track {url} as retreat", True)
    assert "Now tracking" in tracked and "Russia Says It Will Retreat From Kherson" in tracked
    assert "nothing already on the page is news" in tracked
    listing = await ask("list", False)  # which story config.toml declares, which chat added
    assert "(`retreat`)" in listing and "chat" in listing
    assert "(`budget`)" in listing and "config.toml" in listing
    assert f"({channel}) now gets alerts of `retreat`" in await ask("subscribe retreat", True)
    assert "`retreat` (chat, by" in await ask("subscriptions", False)  # anyone may look

    await bot.poll("retreat")  # the baseline
    origin.set("/kherson", page(NOV11.read_text(encoding="utf-8")))
    await bot.poll("retreat")
    await bot.deliver()
    assert alerts() >= 1
    seen = alerts()

    assert "is muted here until" in await ask("mute retreat for 2h", True)
    origin.set("/kherson", page(later(12, "Ukrainian troops entered the centre of the city on Saturday.")))
    outcome = await bot.poll("retreat")
    assert outcome is not None and outcome.event_ids  # news, but not for this channel
    await bot.deliver()
    assert alerts() == seen

    # two hours on: the mute has ended (its end moved into the past, as the clock would)
    await bot.store.set_mute(Mute("retreat", channel, now_utc() - timedelta(seconds=1)))
    await bot.refresh_held()
    origin.set("/kherson", page(later(13, "Power and water came back to most of the city on Sunday.")))
    await bot.poll("retreat")
    await bot.deliver()
    assert alerts() > seen

    assert "Stopped tracking `retreat`" in await ask("untrack retreat", True)
    assert bot.config.story("retreat") is None and (await bot.store.held()).subscriptions == ()


async def test_slack_channel_follows_a_story_from_chat(tmp_path: Path, origin: Origin) -> None:
    config = config_for(tmp_path, managers=["slack:UED"])
    async with FakeSlack() as slack, await StoryBot.create(config) as bot:
        await bot.attach([make_adapter(slack, bot.commands)])

        async def ask(text: str, permitted: bool) -> str:
            seen = len(slack.responses)
            form = slack.slash_command(text, user_id="UED" if permitted else "UINTERN", channel_id="C9")
            await slack.send_envelope("slash_commands", form)
            response = (await response_count(slack, seen + 1))[seen]
            text = f"{response.body.get('text', '')}\n{block_text(response)}"
            return text.replace("\u200b", "")  # the breaks that keep story text out of mrkdwn

        await follow_a_story_from_chat(bot, origin, ask, lambda: len(slack.messages["C9"]), "slack:C9")


async def test_discord_channel_follows_a_story_from_chat_by_role(tmp_path: Path, origin: Origin) -> None:
    channel = CHANNEL_IDS[1]
    config = config_for(tmp_path, manager_roles=[f"discord:{NEWSDESK_ROLE_ID}"])
    async with FakeDiscord() as fake, await StoryBot.create(config) as bot:
        table = {**fake.settings, "guild_ready_timeout": 0.05}
        adapter = discord_platform.build(table, bot.commands, {"DISCORD_TOKEN": fake.token})
        assert adapter is not None
        await bot.attach([adapter])

        async def ask(text: str, permitted: bool) -> str:
            roles = (NEWSDESK_ROLE_ID,) if permitted else ()
            callback = await fake.slash(text, roles=roles, channel_id=channel)
            text = "\n".join(str(e.get("description", "")) for e in callback["data"]["embeds"])
            return text.replace("\\", "")  # Markdown escapes, as a reader sees past them

        await follow_a_story_from_chat(
            bot, origin, ask, lambda: len(fake.messages[channel]), f"discord:{channel}"
        )
