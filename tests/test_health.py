"""Health people see: a story failing `pause_after` polls in a row is paused and the admins are
told once, in chat (the fake Slack, through real slack-bolt), restarts included; `/story status`
and `storybot status` show it; `/story resume` undoes it; `storybot check` catches routes that
can never deliver and story files that are not there."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.slack import build
from bot.__main__ import main
from bot.app import StoryBot
from bot.commands import Caller
from bot.config import Config, parse_config
from bot.pipeline import PollStatus
from tests.fakes.slack import FakeSlack
from tests.helpers import LOCAL_SOURCES, NOV9, NOV11
from tests.origin import Origin, Response

ADMIN = Caller("slack", "UADMIN", "CADMIN")
READER = Caller("slack", "UREADER", "C1")
PAUSE_AFTER = 3


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


def health_config(tmp_path: Path, origin: Origin, slack: FakeSlack, **storybot: Any) -> Config:
    data = {
        "storybot": {
            "database": str(tmp_path / "s.db"),
            "fetch_deadline": 1,
            "pause_after": PAUSE_AFTER,
            "admins": ["slack:UADMIN"],
            "admin_channels": ["slack:CADMIN"],
            **LOCAL_SOURCES,
            **storybot,
        },
        "stories": [{"id": "budget", "url": origin.url("/story"), "interval": 60}],
        "routes": [{"stories": ["budget"], "channels": ["slack:C1"]}],
        "slack": {"api_url": slack.api_url},
    }
    return parse_config(data, "t", tmp_path)


async def open_bot(config: Config, slack: FakeSlack) -> StoryBot:
    """A bot as `storybot run` builds it, posting to the fake Slack (alerts only: no socket)."""
    bot = await StoryBot.create(config)
    env = {"SLACK_BOT_TOKEN": slack.bot_token, "SLACK_APP_TOKEN": slack.app_token}
    adapter = build(config.platforms["slack"], bot.commands, env, listen=False)
    assert adapter is not None
    await bot.attach([adapter])
    return bot


async def paused_bot(config: Config, origin: Origin, slack: FakeSlack) -> StoryBot:
    """A bot whose story failed `PAUSE_AFTER` polls in a row (the origin answers 500): paused."""
    origin.set("/story", Response(status=500, body="down"))
    bot = await open_bot(config, slack)
    for _ in range(PAUSE_AFTER):
        await bot.poll("budget")
    return bot


def admin_posts(slack: FakeSlack) -> list[str]:
    return [m.text or "" for m in slack.messages.get("CADMIN", [])]


async def test_a_failing_story_is_paused_and_the_admins_are_told_once_across_restarts(
    tmp_path: Path, origin: Origin, slack: FakeSlack
) -> None:
    origin.set("/story", Response(status=500, body="down"))
    config = health_config(tmp_path, origin, slack)
    async with await open_bot(config, slack) as bot:
        for _ in range(PAUSE_AFTER - 1):
            outcome = await bot.scheduler.run_poll("budget")
            assert outcome is not None and outcome.status is PollStatus.FAILED and not outcome.paused
        await bot.deliver()
        assert admin_posts(slack) == []  # failing, not yet paused
        outcome = await bot.poll("budget")
        assert outcome is not None and outcome.paused and outcome.failures == PAUSE_AFTER
        # stopped before the notice went out: the next start sends it
    async with await open_bot(config, slack) as bot:
        assert bot.paused == {"budget"}
        await bot.deliver()
        fetches = len(origin.requests_for("/story"))
        again = await bot.poll("budget")
        assert again is not None and again.status is PollStatus.PAUSED
        assert len(origin.requests_for("/story")) == fetches  # a paused story is not fetched
        await bot.deliver()
    async with await open_bot(config, slack) as bot:
        await bot.poll("budget")
        await bot.deliver()
    (told,) = admin_posts(slack)
    assert "Story paused" in told and "budget" in told and "HTTP 500" in told
    (message,) = slack.messages["CADMIN"]
    assert "/story resume budget" in str(message.blocks) and message.thread_ts is None
    assert "C1" not in slack.messages  # the story's own channel hears nothing of it


async def test_status_shows_the_pause_and_resume_polls_again(
    tmp_path: Path, origin: Origin, slack: FakeSlack, capsys: pytest.CaptureFixture[str]
) -> None:
    config = health_config(tmp_path, origin, slack)
    async with await paused_bot(config, origin, slack) as bot:
        status = (await bot.commands.handle("status", ADMIN)).text
        assert "budget: last good fetch never; PAUSED" in status
        assert f"failing: {PAUSE_AFTER} in a row, last error:" in status and "HTTP 500" in status
        assert "last worked never" in status and "Paused for failing: budget" in status
        refused = await bot.commands.handle("resume budget", READER)
        assert "for admins" in refused.text and bot.paused == {"budget"}
        help_text = (await bot.commands.handle("help", ADMIN)).text
        assert "/story resume <name>" in help_text
    cli = ["--config", str(_write_config(tmp_path, origin, slack)), "status"]
    assert await asyncio.to_thread(main, cli) == 0  # the CLI runs its own event loop
    assert capsys.readouterr().out.strip() == status  # the CLI prints what /story status shows

    origin.set("/story", Response(body=NOV9.read_bytes(), content_type="text/plain"))
    async with await open_bot(config, slack) as bot:
        resumed = await bot.commands.handle("resume budget", ADMIN)
        assert resumed.text.startswith("Resumed budget") and bot.paused == set()
        assert "is not paused" in (await bot.commands.handle("resume budget", ADMIN)).text
        outcome = await bot.poll("budget")
        assert outcome is not None and outcome.status is PollStatus.BASELINE
        status = (await bot.commands.handle("status", ADMIN)).text
    assert "PAUSED" not in status and "failing" not in status and "Paused for failing" not in status


async def test_editing_a_paused_story_in_config_resumes_it(
    tmp_path: Path, origin: Origin, slack: FakeSlack
) -> None:
    config = health_config(tmp_path, origin, slack)
    async with await paused_bot(config, origin, slack) as bot:
        assert bot.paused == {"budget"}
        edited = config.model_copy(
            update={"stories": (config.stories[0].model_copy(update={"url": origin.url("/story?v=2")}),)}
        )
        await bot.apply_config(edited)
        assert bot.paused == set()


async def test_status_lists_deliveries_that_failed_for_good_with_the_reason(
    tmp_path: Path, origin: Origin, slack: FakeSlack
) -> None:
    origin.set("/story", Response(body=NOV9.read_bytes(), content_type="text/plain"))
    config = health_config(tmp_path, origin, slack)
    slack.fail_channel("C1", "channel_not_found")
    async with await open_bot(config, slack) as bot:
        await bot.poll("budget")  # the baseline
        origin.set("/story", Response(body=NOV11.read_bytes(), content_type="text/plain"))
        outcome = await bot.poll("budget")
        assert outcome is not None and outcome.event_ids, outcome
        report = await bot.deliver()
        assert report.failed == 1
        status = (await bot.commands.handle("status", ADMIN)).text
    assert "Deliveries that failed for good" in status
    assert "- slack:C1: budget new update" in status and "channel_not_found" in status


def _write_config(tmp_path: Path, origin: Origin, slack: FakeSlack) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[storybot]
database = "s.db"
admins = ["slack:UADMIN"]
admin_channels = ["slack:CADMIN"]
allow_hosts = ["127.0.0.1"]
pause_after = {PAUSE_AFTER}

[[stories]]
id = "budget"
url = "{origin.url("/story")}"
interval = 60

[[routes]]
stories = ["budget"]
channels = ["slack:C1"]

[slack]
api_url = "{slack.api_url}"
""",
        encoding="utf-8",
    )
    return path


MISCONFIGURED = """
[storybot]
files_dir = "."
admin_channels = ["slack:#ops"]

[[stories]]
id = "kherson"
path = "kherson.txt"

[[stories]]
id = "gone"
path = "not-there.txt"

[[routes]]
stories = ["kherson"]
channels = ["slack:#general", "discord:general", "console:newsroom"]

[[routes]]
stories = ["gone"]
channels = ["slack:C0123ABCD", "discord:123456789012345678"]
"""


def test_check_catches_names_for_ids_unset_secrets_and_missing_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "kherson.txt").write_text("a story", encoding="utf-8")
    path = tmp_path / "config.toml"
    path.write_text(MISCONFIGURED, encoding="utf-8")
    assert main(["--config", str(path), "check"]) == 2
    names = capsys.readouterr().err.splitlines()[1:]
    assert [line.split(":")[0].strip() for line in names] == [
        "routes[0].channels",
        "routes[0].channels",
        "storybot.admin_channels",
    ]  # names for ids: refused as the config loads (a running bot's reload too)
    assert "'#general' is not a Slack channel id" in names[0]
    assert "'general' is not a Discord channel id" in names[1]
    assert "'#ops' is not a Slack channel id" in names[2]

    path.write_text(
        MISCONFIGURED.replace("slack:#ops", "slack:C0OPS").replace(
            '"slack:#general", "discord:general", ', ""
        ),
        encoding="utf-8",
    )
    assert main(["--config", str(path), "check"]) == 2
    lines = capsys.readouterr().err.splitlines()[1:]
    assert [line.split(":")[0].strip() for line in lines] == [
        "stories[1].path",
        "routes[1].channels",
        "routes[1].channels",
    ]
    assert "not-there.txt does not exist" in lines[0]
    assert "goes to slack, but SLACK_BOT_TOKEN and SLACK_APP_TOKEN are not set" in lines[1]
    assert "goes to discord, but DISCORD_TOKEN is not set" in lines[2]

    (tmp_path / "not-there.txt").write_text("now it is", encoding="utf-8")
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "DISCORD_TOKEN"):
        monkeypatch.setenv(name, "set")
    assert main(["--config", str(path), "check"]) == 0
