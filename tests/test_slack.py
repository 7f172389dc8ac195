"""The Slack adapter end to end: real slack_bolt / slack_sdk against the fake Slack on loopback.

Alerts go through the real Dispatcher and store; /story arrives signed over HTTP or as a
Socket Mode envelope and is answered through response_url.
"""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.slack import SlackAdapter, SlackStartError, build, validate
from adapters.slack.render import SHARE_ACTION, TIMELINE_ACTION, ZWSP
from adapters.slack.settings import SlackSettings, read_secrets
from bot.catalog import sync_catalog
from bot.commands import Caller, Commands
from bot.config import Config, ConfigError
from bot.deliver import Dispatcher
from bot.models import Reply
from bot.ports import DeliveryError, StartError
from bot.storage import Store, now_utc, open_store
from tests.fakes.slack import FakeSlack, Response
from tests.helpers import NOV9, NOV11, SEED_SUMMARY_START, kherson_config, kherson_store, poll_file

CHANNELS = ["slack:C1", "slack:C2", "slack:C3"]
DATE_TOKEN = re.compile(r"<!date\^\d+\^\{date_short_pretty\} at \{time\}\|[^<>|]+>")


class CountingCommands(Commands):
    """The real Commands, counting the calls that reach it; with `gate` set, each call waits
    for it (a slow answer), so a test can see what Slack got before the work was done."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[tuple[str, Caller]] = []
        self.gate: asyncio.Event | None = None

    @property
    def calls(self) -> int:
        return len(self.seen)

    async def handle(self, text: str, caller: Caller) -> Reply:
        self.seen.append((text, caller))
        if self.gate is not None:
            await self.gate.wait()
        return await super().handle(text, caller)


class Sleeps:
    """An injected sleep: records each wait instead of spending it."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def kherson(tmp_path: Path) -> AsyncIterator[tuple[Store, Config, CountingCommands]]:
    """The Kherson story after its Nov 11 update: one pending delivery per channel in CHANNELS."""
    store, config = await kherson_store(tmp_path, CHANNELS)
    try:
        yield store, config, CountingCommands(store, lambda: config)
    finally:
        await store.close()


def env_for(slack: FakeSlack, **overrides: str) -> dict[str, str]:
    env = {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_APP_TOKEN": slack.app_token,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
    }
    return env | overrides


def make_adapter(
    slack: FakeSlack, commands: Commands, *, sleep: Sleeps | None = None, **table: Any
) -> SlackAdapter:
    """The adapter as `storybot run` builds it; with `sleep`, retry waits are recorded, not spent."""
    table = {"api_url": slack.api_url, **table}
    if sleep is None:
        adapter = build(table, commands, env_for(slack))
        assert adapter is not None
        return adapter
    settings = SlackSettings.model_validate(table)
    return SlackAdapter(commands, settings, read_secrets(settings, env_for(slack)), sleep=sleep)


@asynccontextmanager
async def running(adapter: SlackAdapter) -> AsyncIterator[SlackAdapter]:
    await adapter.start()
    try:
        yield adapter
    finally:
        await adapter.close()


def pings(texts: list[str]) -> list[str]:
    """Live Slack markup that could notify someone: anything `<!...>` or `<@...>` but dates."""
    return [t for t in texts if "<!" in DATE_TOKEN.sub("", t) or "<@" in t]


def block_text(response_or_message: Any) -> str:
    blocks = getattr(response_or_message, "blocks", None)
    if blocks is None:
        blocks = response_or_message.body.get("blocks") or []
    return "\n".join(_strings(blocks))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


async def event_count(store: Store) -> int:
    """Alerts the Nov 11 poll queued per channel (the update; maybe also the headline change)."""
    return len(await store.events())


def distinct_alerts(slack: FakeSlack) -> bool:
    """No channel got the same alert twice."""
    return all(len({m.text for m in msgs}) == len(msgs) for msgs in slack.messages.values())


async def response_count(slack: FakeSlack, n: int) -> list[Response]:
    await slack.wait_for(lambda: len(slack.responses) >= n)
    return slack.responses


# --- alerts through the real dispatcher ---------------------------------------------------


async def test_seed_update_reaches_every_routed_channel_exactly_once(slack: FakeSlack, kherson: Any) -> None:
    store, _, commands = kherson
    adapter = make_adapter(slack, commands)
    async with running(adapter):
        dispatcher = Dispatcher(store, {"slack": adapter})
        first = await dispatcher.deliver_pending()
        again = await dispatcher.deliver_pending()
    n = await event_count(store)
    assert (first.sent, first.failed, first.retrying) == (3 * n, 0, 0)
    assert again.sent == 0
    assert sorted(slack.messages) == ["C1", "C2", "C3"]
    for channel, messages in slack.messages.items():
        assert len(messages) == n, channel
        [seed] = [m for m in messages if SEED_SUMMARY_START in (m.text or "")]
        assert SEED_SUMMARY_START in block_text(seed)
        assert all(m.args["unfurl_links"] is False and m.thread_ts is None for m in messages)
    rows = await store.deliveries()
    assert {(r.status, r.message_id) for r in rows} == {("sent", m.ts) for m in slack.all_messages()}


async def test_channel_not_found_fails_only_that_delivery(
    slack: FakeSlack, kherson: Any, caplog: pytest.LogCaptureFixture
) -> None:
    store, _, commands = kherson
    slack.fail_channel("C2", "channel_not_found")
    adapter = make_adapter(slack, commands)
    with caplog.at_level(logging.WARNING):
        async with running(adapter):
            report = await Dispatcher(store, {"slack": adapter}).deliver_pending()
    n = await event_count(store)
    assert (report.sent, report.failed, report.retrying) == (2 * n, n, 0)
    assert sorted(slack.messages) == ["C1", "C3"]
    statuses = {r.channel: (r.status, r.last_error) for r in await store.deliveries()}
    assert statuses["slack:C2"][0] == "failed" and "channel_not_found" in str(statuses["slack:C2"][1])
    assert any("C2" in r.getMessage() and "channel_not_found" in r.getMessage() for r in caplog.records)


async def test_hostile_story_text_reaches_slack_inert(slack: FakeSlack, tmp_path: Path) -> None:
    config = kherson_config(tmp_path, ["slack:C1"])
    hostile = "<!channel> <@U123> <!here|here> <https://evil.example|click> @everyone &"
    updated = NOV11.read_text(encoding="utf-8").replace("Russia now says", f"{hostile} Russia now says", 1)
    async with await open_store(config.database({})) as store:
        await sync_catalog(store, config)
        await poll_file(config, store, NOV9)
        await poll_file(config, store, updated)
        adapter = make_adapter(slack, Commands(store, lambda: config))
        report = await Dispatcher(store, {"slack": adapter}).deliver_pending()
    assert report.sent >= 1
    sent = slack.sent_texts()
    assert any("&lt;!channel&gt; &lt;@U123&gt;" in t for t in sent)  # it arrived, as plain text
    assert pings(sent) == [] and not any("<https://evil" in t for t in sent)


FORMATTED = "*bold* _italic_ ~struck~ `code`"


async def test_story_formatting_arrives_inert_and_the_alert_has_one_timeline_line(
    slack: FakeSlack, tmp_path: Path
) -> None:
    store, config = await kherson_store(tmp_path, ["slack:C1"], lead=FORMATTED)
    async with store:
        adapter = make_adapter(slack, Commands(store, lambda: config))
        report = await Dispatcher(store, {"slack": adapter}).deliver_pending()
    assert report.sent == 1
    [alert] = slack.messages["C1"]
    text = block_text(alert)
    for mark in ("*bold*", "_italic_", "~struck~", "`code`"):
        assert mark not in text  # Slack would have formatted it
    z = ZWSP
    assert f"{z}*{z}bold{z}*{z} {z}_{z}italic{z}_{z} {z}~{z}struck{z}~{z} {z}`{z}code{z}`{z}" in text
    assert "\n1st update since Nov 9\n" in text  # the timeline, in one line
    assert "Timeline" not in text and text.count("Nov 9") == 1  # no timeline lines repeated
    [actions] = [b for b in alert.blocks or [] if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == [TIMELINE_ACTION]


async def test_full_timeline_button_answers_the_clicker_with_the_whole_timeline(
    slack: FakeSlack, kherson: Any
) -> None:
    store, _, commands = kherson
    adapter = make_adapter(slack, commands)
    async with running(adapter):
        await Dispatcher(store, {"slack": adapter}).deliver_pending()
        alert = slack.messages["C1"][0]
        click = slack.button_click(alert, TIMELINE_ACTION, user_id="U9")
        envelope_id = await slack.send_envelope("interactive", click)
        await slack.wait_for(lambda: envelope_id in slack.acks)
        [answer] = await response_count(slack, 1)
    assert commands.seen == [("timeline kherson", Caller("slack", "U9", "C1"))]
    assert answer.url == click["response_url"]
    assert answer.body["response_type"] == "ephemeral" and answer.body["replace_original"] is False
    text = block_text(answer)
    assert SEED_SUMMARY_START in text and "Original" in text and "Update" in text  # both entries
    assert len(slack.messages["C1"]) == 1 and not alert.updates  # the alert is left as it was


async def test_not_in_channel_is_permanent_and_names_the_channel(slack: FakeSlack, kherson: Any) -> None:
    slack.fail_channel("C9", "not_in_channel")
    adapter = make_adapter(slack, kherson[2])
    alert = await kherson[0].alert((await kherson[0].events())[-1].id)
    with pytest.raises(Exception) as caught:
        await adapter.send_alert("C9", alert, None)
    assert getattr(caught.value, "permanent", None) is True and "C9" in str(caught.value)


async def test_429_burst_every_alert_arrives_once(slack: FakeSlack, kherson: Any) -> None:
    """chat.postMessage's 429 is per channel: the send does not wait in place, the dispatcher
    waits out Retry-After for that channel and sends again, in order, within the pass."""
    store, _, commands = kherson
    slack.rate_limit(count=3, retry_after=1)  # each channel's first post (they go at once)
    in_place, waits = Sleeps(), Sleeps()
    adapter = make_adapter(slack, commands, sleep=in_place)
    async with running(adapter):
        report = await Dispatcher(store, {"slack": adapter}, sleep=waits).deliver_pending()
    n = await event_count(store)
    assert (report.sent, report.retrying) == (3 * n, 0)
    assert in_place.waits == [] and waits.waits == [1.0] * 3  # Retry-After honoured, by the dispatcher
    assert {c: len(m) for c, m in slack.messages.items()} == {"C1": n, "C2": n, "C3": n}
    assert distinct_alerts(slack)
    assert [status for method, status in slack.calls if method == "chat.postMessage"].count(429) == 3
    assert [method for method, _ in slack.calls].count("conversations.history") == 0  # nothing landed


async def test_a_rate_limited_channel_holds_no_sending_slot(slack: FakeSlack, kherson: Any) -> None:
    """One slot, three channels, the first post refused for a second: while that channel waits,
    the other two get every alert (were the slot held, they could not, and this would time out)."""
    store, _, commands = kherson
    n = await event_count(store)
    slack.rate_limit(count=1, retry_after=1)

    async def wait_for_the_others(seconds: float) -> None:
        assert seconds == 1.0
        await slack.wait_for(lambda: sum(len(m) for m in slack.messages.values()) == 2 * n)

    adapter = make_adapter(slack, commands, sleep=Sleeps())
    async with running(adapter):
        dispatcher = Dispatcher(store, {"slack": adapter}, concurrency=1, sleep=wait_for_the_others)
        report = await dispatcher.deliver_pending()
    assert report.sent == 3 * n
    assert sorted(len(m) for m in slack.messages.values()) == [n, n, n] and distinct_alerts(slack)


async def test_long_retry_after_goes_back_to_the_dispatcher(slack: FakeSlack, kherson: Any) -> None:
    store, _, commands = kherson
    slack.rate_limit(count=1, retry_after=120)
    sleeps = Sleeps()
    adapter = make_adapter(slack, commands, sleep=sleeps)
    offset = [timedelta(0)]
    dispatcher = Dispatcher(store, {"slack": adapter}, concurrency=1, clock=lambda: now_utc() + offset[0])
    async with running(adapter):
        first = await dispatcher.deliver_pending()
        early = await dispatcher.deliver_pending()
        offset[0] = timedelta(seconds=121)
        late = await dispatcher.deliver_pending()
    n = await event_count(store)
    assert (first.sent, first.retrying) == (2 * n, 1)
    assert early.sent == 0  # nothing for that channel before Slack's Retry-After, nor out of order
    assert late.sent == n
    assert sleeps.waits == []
    assert {c: len(m) for c, m in slack.messages.items()} == {"C1": n, "C2": n, "C3": n}
    assert distinct_alerts(slack)


async def test_server_errors_are_retried_with_backoff(slack: FakeSlack, kherson: Any) -> None:
    store, _, commands = kherson
    slack.server_errors(2, status=503)
    sleeps = Sleeps()
    adapter = make_adapter(slack, commands, sleep=sleeps)
    report = await Dispatcher(store, {"slack": adapter}).deliver_pending()
    n = await event_count(store)
    assert report.sent == 3 * n and len(slack.all_messages()) == 3 * n
    assert len(sleeps.waits) == 2 and all(w > 0 for w in sleeps.waits)


async def test_threads_follow_the_first_alert(slack: FakeSlack, kherson: Any) -> None:
    store, _, commands = kherson
    alert = await store.alert((await store.events())[-1].id)
    threaded = make_adapter(slack, commands, threads=True)
    first = await threaded.send_alert("C1", alert, None)
    second = await threaded.send_alert("C1", alert, first.thread_id)
    assert first.thread_id == first.message_id
    assert second.thread_id == first.message_id and second.message_id != first.message_id
    assert [m.thread_ts for m in slack.messages["C1"]] == [None, first.message_id]
    lost = await threaded.send_alert("C1", alert, "1.000000")  # the anchor was deleted: start anew
    assert lost.thread_id == lost.message_id and slack.messages["C1"][-1].thread_ts is None
    flat = await make_adapter(slack, commands).send_alert("C2", alert, first.message_id)
    assert flat.thread_id is None and slack.messages["C2"][0].thread_ts is None


async def test_threads_through_the_dispatcher_store_the_anchor(slack: FakeSlack, kherson: Any) -> None:
    store, _, commands = kherson
    adapter = make_adapter(slack, commands, threads=True)
    await Dispatcher(store, {"slack": adapter}).deliver_pending()
    assert await store.thread_for("kherson", "slack:C1") == slack.messages["C1"][0].ts


# --- startup ----------------------------------------------------------------------------


async def test_invalid_bot_token_is_a_clear_start_error(slack: FakeSlack, kherson: Any) -> None:
    adapter = build({"api_url": slack.api_url}, kherson[2], env_for(slack, SLACK_BOT_TOKEN="xoxb-wrong"))
    assert adapter is not None
    with pytest.raises(SlackStartError, match=r"^Slack rejected SLACK_BOT_TOKEN \(invalid_auth\)$") as caught:
        await adapter.start()
    assert isinstance(caught.value, StartError)  # what the CLI turns into a non-zero exit
    assert "xoxb-wrong" not in str(caught.value)
    assert not slack.sockets


async def test_invalid_app_token_is_a_clear_start_error(slack: FakeSlack, kherson: Any) -> None:
    adapter = build({"api_url": slack.api_url}, kherson[2], env_for(slack, SLACK_APP_TOKEN="xapp-wrong"))
    assert adapter is not None
    with pytest.raises(SlackStartError, match=r"Slack rejected SLACK_APP_TOKEN \(invalid_auth\)"):
        await adapter.start()


async def test_unreachable_slack_is_a_clear_start_error(kherson: Any) -> None:
    closed = FakeSlack()
    await closed.start()
    api_url = closed.api_url
    await closed.close()
    settings = SlackSettings(api_url=api_url)
    adapter = SlackAdapter(
        kherson[2], settings, read_secrets(settings, {"SLACK_BOT_TOKEN": "x"}), sleep=Sleeps()
    )
    with pytest.raises(SlackStartError, match="cannot reach Slack"):
        await adapter.start()


def test_build_skips_slack_without_its_tokens(slack: FakeSlack) -> None:
    commands: Any = None
    assert build({}, commands, {}) is None
    assert build({}, commands, {"SLACK_BOT_TOKEN": "x"}) is None  # socket mode needs the app token
    assert build({"mode": "http"}, commands, {"SLACK_BOT_TOKEN": "x", "SLACK_APP_TOKEN": "y"}) is None
    assert (
        build({"mode": "http"}, commands, {"SLACK_BOT_TOKEN": "x", "SLACK_SIGNING_SECRET": "s"}) is not None
    )
    custom = {"bot_token_env": "MY_BOT", "app_token_env": "MY_APP"}
    assert build(custom, commands, {"MY_BOT": "x", "MY_APP": "y"}) is not None


def test_validate_names_each_bad_key() -> None:
    assert validate({}) == []
    assert validate({"mode": "http", "port": 0, "threads": True, "api_url": "http://127.0.0.1:1/api"}) == []
    problems = validate(
        {"mode": "websocket", "port": "3000", "threads": "false", "tokn": "x", "path": "events"}
    )
    joined = "\n".join(problems)
    for key in ("slack.mode", "slack.port", "slack.threads", "slack.tokn: unknown key", "slack.path"):
        assert key in joined, joined
    with pytest.raises(ConfigError):
        build({"mode": "websocket"}, None, {})  # type: ignore[arg-type]


def test_secrets_never_show_in_repr() -> None:
    secrets = read_secrets(
        SlackSettings(), {"SLACK_BOT_TOKEN": "xoxb-secret", "SLACK_APP_TOKEN": "xapp-secret"}
    )
    assert "secret" not in repr(secrets)


# --- /story over HTTP mode --------------------------------------------------------------


async def test_signed_slash_command_over_http_is_answered_at_response_url(
    slack: FakeSlack, kherson: Any
) -> None:
    commands = kherson[2]
    commands.gate = asyncio.Event()  # the answer is slow: the ack must not wait for it
    adapter = make_adapter(slack, commands, mode="http", port=0)
    async with running(adapter):
        assert adapter.url and adapter.url.startswith("http://127.0.0.1:")
        form = slack.slash_command("kherson")
        status, body = await slack.post_to_request_url(adapter.url, form)
        assert (status, body) == (200, "")  # acked while the answer is still being worked out
        assert commands.calls == 1 and slack.responses == []
        commands.gate.set()
        [response] = await response_count(slack, 1)
    assert response.url == form["response_url"]
    assert response.body["response_type"] == "ephemeral"
    assert SEED_SUMMARY_START in block_text(response) and "Kherson" in response.body["text"]
    assert response.body["blocks"][-1]["elements"][0]["action_id"] == SHARE_ACTION
    assert commands.calls == 1


@pytest.mark.parametrize("tamper", ["bad signature", "stale timestamp"])
async def test_unsigned_or_stale_requests_get_401_and_run_nothing(
    slack: FakeSlack, kherson: Any, tamper: str
) -> None:
    commands = kherson[2]
    adapter = make_adapter(slack, commands, mode="http", port=0)
    async with running(adapter):
        assert adapter.url
        bad = slack.slash_command("kherson")
        if tamper == "bad signature":
            status, _ = await slack.post_to_request_url(adapter.url, bad, secret="not-the-secret")
        else:
            status, _ = await slack.post_to_request_url(adapter.url, bad, timestamp=int(time.time()) - 600)
        assert status == 401
        good = slack.slash_command("list")
        assert (await slack.post_to_request_url(adapter.url, good))[0] == 200
        await response_count(slack, 1)
    assert [r.url for r in slack.responses] == [good["response_url"]]  # only the good request ran
    assert commands.calls == 1


async def test_in_channel_answers_when_ephemeral_is_off(slack: FakeSlack, kherson: Any) -> None:
    adapter = make_adapter(slack, kherson[2], mode="http", port=0, ephemeral=False)
    async with running(adapter):
        assert adapter.url
        await slack.post_to_request_url(adapter.url, slack.slash_command("kherson"))
        [response] = await response_count(slack, 1)
    assert response.body["response_type"] == "in_channel"
    assert all(b["type"] != "actions" for b in response.body["blocks"])


# --- /story over Socket Mode ------------------------------------------------------------


async def test_socket_mode_slash_command_is_acked_and_answered(slack: FakeSlack, kherson: Any) -> None:
    commands = kherson[2]
    commands.gate = asyncio.Event()
    adapter = make_adapter(slack, commands)
    async with running(adapter):
        assert len(slack.sockets) == 1
        envelope_id = await slack.send_envelope("slash_commands", slack.slash_command("kherson"))
        await slack.wait_for(lambda: envelope_id in slack.acks)
        assert slack.responses == []  # acked before the answer was ready
        commands.gate.set()
        [response] = await response_count(slack, 1)
    assert SEED_SUMMARY_START in block_text(response)
    assert response.body["response_type"] == "ephemeral"


async def test_socket_mode_follows_slacks_refresh_to_a_new_connection(slack: FakeSlack, kherson: Any) -> None:
    adapter = make_adapter(slack, kherson[2])
    async with running(adapter):
        await slack.request_reconnect()
        await slack.wait_for(lambda: slack.connections == 2 and len(slack.sockets) == 1)
        await slack.send_envelope("slash_commands", slack.slash_command("kherson"))
        [response] = await response_count(slack, 1)
    assert SEED_SUMMARY_START in block_text(response)
    assert [m for m, _ in slack.calls].count("apps.connections.open") == 2


async def test_command_text_reaches_the_core_as_typed(slack: FakeSlack, kherson: Any) -> None:
    commands = kherson[2]
    adapter = make_adapter(slack, commands)
    async with running(adapter):
        form = slack.slash_command("timeline russia &amp; ukraine &lt;3", user_id="U42", channel_id="C7")
        await slack.send_envelope("slash_commands", form)
        await response_count(slack, 1)
    assert commands.seen == [("timeline russia & ukraine <3", Caller("slack", "U42", "C7"))]


async def test_share_button_posts_the_answer_to_the_channel(slack: FakeSlack, kherson: Any) -> None:
    adapter = make_adapter(slack, kherson[2])
    async with running(adapter):
        await slack.send_envelope("slash_commands", slack.slash_command("kherson"))
        [private] = await response_count(slack, 1)
        click = slack.button_click(private, SHARE_ACTION)
        envelope_id = await slack.send_envelope("interactive", click)
        await slack.wait_for(lambda: envelope_id in slack.acks)
        shared, deleted = (await response_count(slack, 3))[1:]
    assert shared.url == deleted.url == click["response_url"]
    assert shared.body["response_type"] == "in_channel" and shared.body["replace_original"] is False
    assert SEED_SUMMARY_START in block_text(shared)
    assert all(b["type"] != "actions" for b in shared.body["blocks"])
    assert deleted.body.get("delete_original") is True


async def test_hostile_story_arguments_ping_nobody(slack: FakeSlack, kherson: Any) -> None:
    hostile = [
        "x" * 10_000,
        "kherson\x00\x07\x1b[31m\u202e\r\n\t",
        "<!channel> kherson",
        "<@U123> <!here> <!everyone> @channel @here <#C1> <!subteam^S1|@team>",
        "timeline <https://evil.example|kherson>",
        "<!channel>" * 1000,
    ]
    adapter = make_adapter(slack, kherson[2])
    async with running(adapter):
        for n, text in enumerate(hostile, start=1):
            envelope_id = await slack.send_envelope("slash_commands", slack.slash_command(text))
            await slack.wait_for(lambda e=envelope_id: e in slack.acks)
            await response_count(slack, n)
    sent = slack.sent_texts()
    assert len(slack.responses) == len(hostile)
    assert pings(sent) == []
    assert not any("@channel" in t or "@here" in t for t in sent)


# --- the fake itself, as a human would run it ----------------------------------------------


def _read_line(proc: subprocess.Popen[str], deadline: float) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line and time.monotonic() < deadline, "the fake stopped printing"
    return line


async def test_fake_runs_standalone_and_serves_a_socket_mode_app(kherson: Any) -> None:
    cmd = [sys.executable, "-m", "tests.fakes.slack", "--port", "0"]
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        first = await asyncio.to_thread(_read_line, proc, time.monotonic() + 20)
        match = re.match(r"fake Slack at (http://127\.0\.0\.1:\d+)", first)
        assert match, first
        base = match[1]
        external = FakeSlack()  # only for its token defaults
        table = {"api_url": f"{base}/api/"}
        adapter = build(table, kherson[2], env_for(external))
        assert adapter is not None
        async with running(adapter), aiohttp.ClientSession() as http:
            async with http.post(f"{base}/_fake/command", data={"text": "kherson"}) as resp:
                assert resp.status == 200
            line = ""
            while not line.startswith("[response_url"):  # the fake prints each thing it records
                line = await asyncio.to_thread(_read_line, proc, time.monotonic() + 20)
            async with http.get(f"{base}/_fake/messages") as resp:
                dump = await resp.json()
        assert SEED_SUMMARY_START in "\n".join(_strings(dump["responses"][0]["blocks"]))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()


# --- the delivery key: metadata on each alert, read back from history ------------------------


async def test_alerts_carry_their_delivery_key_as_metadata_and_history_finds_it(
    slack: FakeSlack, kherson: Any
) -> None:
    store, _, commands = kherson
    alert = await store.alert((await store.events())[-1].id)
    adapter = make_adapter(slack, commands)
    since = now_utc() - timedelta(minutes=10)
    posted = await adapter.send_alert("C1", alert, None, key="sb1-abc")
    assert slack.messages["C1"][0].metadata == {
        "event_type": "storybot_alert",
        "event_payload": {"delivery": "sb1-abc"},
    }
    for _ in range(450):  # a busy channel: the alert is three pages of 200 back
        slack.messages["C1"].append(replace(slack.messages["C1"][0], ts=slack.new_ts(), metadata=None))
    found = await adapter.find_sent("C1", "sb1-abc", None, since)
    assert found is not None and found.message_id == posted.message_id
    assert await adapter.find_sent("C1", "sb2-abc", None, since) is None
    assert await adapter.find_sent("C1", "sb1-abc", None, now_utc() + timedelta(minutes=1)) is None
    assert [m for m, _ in slack.calls].count("conversations.history") == 3 + 3 + 1


async def test_a_threaded_alert_is_found_in_its_thread(slack: FakeSlack, kherson: Any) -> None:
    store, _, commands = kherson
    alert = await store.alert((await store.events())[-1].id)
    threaded = make_adapter(slack, commands, threads=True)
    since = now_utc() - timedelta(minutes=10)
    first = await threaded.send_alert("C1", alert, None, key="sb1-abc")
    second = await threaded.send_alert("C1", alert, first.thread_id, key="sb2-abc")
    assert await threaded.find_sent("C1", "sb2-abc", first.thread_id, since) == second
    assert await threaded.find_sent("C1", "sb1-abc", None, since) == first


async def test_without_the_history_scope_a_lookup_fails_for_good_naming_it(
    slack: FakeSlack, kherson: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _, _, commands = kherson
    slack.scopes -= {"channels:history"}
    with pytest.raises(DeliveryError) as failure:
        await make_adapter(slack, commands).find_sent("C1", "sb1-abc", None, now_utc())
    assert failure.value.permanent and "channels:history" in failure.value.reason
    slack.private_channels.add("G1")
    slack.scopes = {"chat:write", "commands", "channels:history"}
    with pytest.raises(DeliveryError, match="groups:history"):
        await make_adapter(slack, commands).find_sent("G1", "sb1-abc", None, now_utc())


async def test_the_manifest_asks_for_the_history_scopes() -> None:
    from adapters.slack import manifest_text

    scopes = manifest_text().split("bot:")[1].split("settings:")[0]
    assert {"chat:write", "commands", "channels:history", "groups:history"} <= set(
        re.findall(r"- (\S+)", scopes)
    )


async def test_fake_limits_posts_per_channel_as_slack_does() -> None:
    """chat.postMessage's own limit in the fake: a burst per channel, then one a second; beyond
    it 429 + Retry-After in whole seconds and nothing kept; other channels are not held back."""
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    now = [100.0]
    async with FakeSlack(post_rate=1.0, post_burst=2) as fake:
        assert fake.post_limit is not None
        fake.post_limit.clock = lambda: now[0]
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)  # no retry handlers
        for _ in range(2):
            await client.chat_postMessage(channel="C1", text="burst")
        with pytest.raises(SlackApiError) as refused:
            await client.chat_postMessage(channel="C1", text="over")
        assert refused.value.response.status_code == 429
        assert refused.value.response.headers["Retry-After"] in ("1", ["1"])
        await client.chat_postMessage(channel="C2", text="another channel")
        now[0] += 0.5  # half a token: still refused, asked to wait the rest (rounded up)
        with pytest.raises(SlackApiError):
            await client.chat_postMessage(channel="C1", text="early")
        now[0] += 0.5
        await client.chat_postMessage(channel="C1", text="on time")
    assert [m.text for m in fake.messages["C1"]] == ["burst", "burst", "on time"]
    assert fake.limited == 2 and len(fake.messages["C2"]) == 1
