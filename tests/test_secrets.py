"""Issue 11, secrets never shown: a story URL's credentials and tokens stay in the fetch.

The story is fetched for real from a loopback origin with its secrets; everything shown
(the stored alert and /story answer that adapters render, the console, Slack blocks, the
Discord embed, the logs) must be without them.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from rich.console import Console

from adapters import discord as discord_platform
from adapters import slack as slack_platform
from adapters.console.render import alert_to_panel, reply_to_panel
from adapters.discord.render import alert_to_embed, reply_to_embed
from adapters.slack.render import alert_to_blocks, reply_to_blocks
from bot.__main__ import main
from bot.catalog import sync_catalog
from bot.commands import Caller, Commands
from bot.config import parse_config
from bot.fetch import Fetcher, make_client
from bot.pipeline import poll_story
from bot.redact import RedactUrls, display_url
from bot.storage import open_store
from tests.helpers import LOCAL_SOURCES, NOV9, NOV11
from tests.origin import Origin, Response

SECRETS = ("hunter2", "SECRET-KEY", "SECRET-SIG", "SECRET-TOKEN")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://reader:hunter2@news.example/a?page=2", "https://news.example/a?page=2"),
        ("https://news.example/a?api_key=1&page=2&Access-Token=3#top", "https://news.example/a?page=2#top"),
        (
            "https://news.example/a?sig=1&X-Amz-Signature=2&session=3&q=kherson",
            "https://news.example/a?q=kherson",
        ),
        (
            "https://news.example/a?monkey=1&keyword=ukraine",
            "https://news.example/a?monkey=1&keyword=ukraine",
        ),
        ("seeds/kherson/story.txt", "seeds/kherson/story.txt"),
    ],
)
def test_display_url(url: str, shown: str) -> None:
    assert display_url(url) == shown


async def test_secrets_in_a_story_url_reach_the_origin_and_nowhere_else(
    tmp_path: Path, origin: Origin, caplog: pytest.LogCaptureFixture
) -> None:
    port = origin.base_url.rsplit(":", 1)[1]
    url = f"http://reader:hunter2@127.0.0.1:{port}/kherson?api_key=SECRET-KEY&page=1&sig=SECRET-SIG"
    config = parse_config(
        {
            "storybot": {"database": str(tmp_path / "s.db"), **LOCAL_SOURCES},
            "stories": [{"id": "kherson", "url": url}],
            "routes": [{"stories": ["kherson"], "channels": ["console:news"]}],
        },
        "test",
        tmp_path,
    )
    store = await open_store(config.database({}))
    await sync_catalog(store, config)
    caplog.handler.addFilter(RedactUrls())  # as the CLI's log handler does
    try:
        with caplog.at_level(logging.DEBUG), caplog.at_level(logging.INFO, logger="httpx"):
            async with make_client(policy=config.address_policy) as client:
                fetcher = Fetcher(client, base_dir=tmp_path)
                for snapshot in (NOV9, NOV11):
                    origin.set("/kherson", Response(body=snapshot.read_bytes(), content_type="text/plain"))
                    outcome = await poll_story(config.stories[0], config=config, fetcher=fetcher, store=store)
        alert = await store.alert(outcome.event_ids[0])
        reply = await Commands(store, lambda: config).handle("kherson", Caller("console", "U1"))
    finally:
        await store.close()

    assert origin.requests[-1].headers["Authorization"].startswith("Basic ")  # the fetch kept them
    assert alert.story_url == reply.story.url == f"http://127.0.0.1:{port}/kherson?page=1"  # type: ignore[union-attr]
    console = Console(record=True, width=200)
    console.print(alert_to_panel(alert), reply_to_panel(reply))
    shown = [
        console.export_text(),
        json.dumps(alert_to_blocks(alert)),
        json.dumps(reply_to_blocks(reply)),
        json.dumps(alert_to_embed(alert).to_dict()),
        json.dumps(reply_to_embed(reply).to_dict()),
        caplog.text,
    ]
    assert "HTTP Request: GET" in caplog.text  # httpx did log the request URL
    for text in shown:
        assert f"127.0.0.1:{port}" in text or text is caplog.text
        for secret in SECRETS:
            assert secret not in text


@pytest.mark.parametrize(
    ("platform", "key", "value"),
    [
        (slack_platform, "bot_token_env", "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp"),
        (slack_platform, "app_token_env", "xapp1234567890AbCdEf"),  # a valid name, shaped like a token
        (slack_platform, "signing_secret_env", "8f14e45fceea167a5a36dedd4bea2543"),
        (discord_platform, "token_env", "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.mNoPqRsTuVwXyZ"),
        (discord_platform, "token_env", "Mixed1234Case5678Token90"),
    ],
)
def test_a_token_pasted_into_an_env_key_is_refused_without_showing_it(
    platform: object, key: str, value: str
) -> None:
    problems = platform.validate({key: value})  # type: ignore[attr-defined]

    assert len(problems) == 1 and problems[0].split(":")[0].endswith(f".{key}")
    assert value not in problems[0] and value[:8] not in problems[0]


def test_check_refuses_a_pasted_token_and_never_prints_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp"
    path = tmp_path / "config.toml"
    path.write_text(f'[slack]\nbot_token_env = "{token}"\n', encoding="utf-8")

    assert main(["--config", str(path), "check"]) == 2

    out = capsys.readouterr()
    assert "slack.bot_token_env: must name an environment variable" in out.err
    assert token not in out.err + out.out and "xoxb" not in out.err + out.out
