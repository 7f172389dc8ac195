"""`/story subscribe <name> [digest 1h]`: a chat subscription chooses digest mode like a
config.toml route's `digest`; stored with the subscription (bot.storage), merged into the
route (bot.overlay), so the channel's alerts wait for the period; and the same on the CLI."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.models import ReplyKind
from bot.storage import now_utc
from tests.helpers import NOV11
from tests.origin import Origin
from tests.test_manage import TERMINAL, Desk, cli, desk, page, write_config

__all__ = ["desk"]  # the fixture, shared with tests/test_manage.py

STORY = "kherson-retreat"


async def test_a_chat_subscription_in_digest_mode_holds_alerts_for_the_period(desk: Desk) -> None:
    assert (
        await desk.ask(f"/story track {desk.origin.url('/kherson')} as Kherson retreat")
    ).kind is ReplyKind.ADMIN
    refused = await desk.ask(f"/story subscribe {STORY} digest 2 hours")
    assert refused.kind is ReplyKind.ERROR and "digest 30m" in refused.text
    assert (await desk.bot.store.held()).subscriptions == ()  # a bad period loses nothing, adds nothing

    reply = await desk.ask(f"/story subscribe {STORY} digest 1h")
    assert f"now gets alerts of `{STORY}`, one digest per story every 1h" in reply.text, reply.text
    (sub,) = (await desk.bot.store.held()).subscriptions
    assert sub.digest == "1h"
    story = desk.bot.config.story(STORY)
    assert story is not None and desk.bot.config.digest_periods(story) == {TERMINAL: 3600.0}
    listing = (await desk.ask("/story subscriptions")).text
    assert f"- `{STORY}`, one digest per story every 1h (chat, by console:ed)" in listing, listing

    await desk.bot.poll(STORY)  # the baseline
    desk.origin.set("/kherson", page(NOV11.read_text(encoding="utf-8")))
    before = now_utc()
    await desk.bot.poll(STORY)
    await desk.bot.deliver()
    assert await desk.sent_to(TERMINAL) == 0  # held for the digest
    due = await desk.bot.store.next_due_at(("console",))
    assert due is not None and before + timedelta(minutes=59) < due < now_utc() + timedelta(minutes=61)

    reply = await desk.ask(f"/story subscribe {STORY} digest immediate")  # changes the mode only
    assert reply.text.endswith(f"now gets alerts of `{STORY}`."), reply.text
    assert desk.bot.config.digest_periods(story) == {}
    assert "already subscribed" in (await desk.ask(f"/story subscribe {STORY}")).text


async def test_the_cli_subscribes_with_a_digest(
    tmp_path: Path, origin: Origin, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(write_config(tmp_path))
    assert await cli("-c", config, "subscribe", "--channel", "slack:C1", "budget", "--digest", "1d") == 0
    assert "one digest per story every 1d" in capsys.readouterr().out
    assert await cli("-c", config, "subscriptions", "--channel", "slack:C1") == 0
    assert "- `budget`, one digest per story every 1d (chat, by cli:" in capsys.readouterr().out
    assert await cli("-c", config, "subscribe", "--channel", "slack:C1", "budget", "--digest", "9d") == 1
    assert "digest 30m" in capsys.readouterr().err
