"""A local Slack that the real slack_sdk / slack_bolt clients talk to, on 127.0.0.1.

It speaks the parts of Slack storybot uses, the way Slack speaks them:
- Web API under `/api/<method>` (POST, or GET with a query string): auth.test, chat.postMessage,
  chat.update, apps.connections.open, conversations.history, conversations.replies.
  Tokens come in `Authorization: Bearer ...`; errors are HTTP 200 `{"ok": false, "error": ...}`;
  rate limits are HTTP 429 with `Retry-After`; Block Kit limits are enforced (`invalid_blocks`).
  Message `metadata` (`event_type` + `event_payload`) is kept and shown by the history methods
  only when asked with `include_all_metadata`; those page newest first (`oldest`, `latest`,
  `inclusive`, `limit`, `cursor`) and need `channels:history` (`groups:history` for a private
  channel), else `missing_scope`. A message's `ts` is the wall-clock time it was posted.
- Socket Mode: apps.connections.open hands out `ws://.../link/?ticket=...`; the socket says
  `hello`, carries envelopes to the app and takes its acks (`{"envelope_id": ...}`).
- response_url endpoints (`/response/<n>`) that record what `respond()` posts.
- HTTP mode: `post_to_request_url` sends a slash command or button click to an app's request URL
  the way Slack does: form-encoded, with X-Slack-Signature and X-Slack-Request-Timestamp.

chat.postMessage's own limit, off unless asked (`post_rate`, `post_burst`): about one message a
second per channel with short bursts allowed, a token bucket per channel; beyond it a 429 with
`Retry-After` in whole seconds (when the next token comes, rounded up) and nothing kept. Slack does
not publish its burst size; tests pick one, and a fast rate keeps them quick.

Tests inject failures per channel (`fail_channel`), 429 bursts (`rate_limit`) and 5xx bursts
(`server_errors`), take scopes away (`scopes`), pause auth.test or the Nth post or edit (`hold_login`,
`hold_post`, `hold_edit`) so a crash test can kill the app at that moment, then read `messages`,
`responses`, `acks`. Nothing sleeps unless told to (`slow_posts`, so a kill lands mid-post):
waiting is on `wait_for(predicate)`, woken by every recorded event.

Run it alone for a manual check: `python -m tests.fakes.slack --port 0` prints its URLs.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import math
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from tests.fakes.holds import HoldingFake, pause

TEAM = {"team_id": "T0FAKE", "team": "storybot-test", "url": "https://storybot-test.slack.com/"}
BOT = {"user_id": "U0BOT", "bot_id": "B0BOT", "user": "storybot"}
APP_ID = "A0FAKE"
BLOCK_TYPES = {"section", "context", "actions", "divider", "header", "image", "rich_text", "input"}
SCOPES = frozenset({"chat:write", "commands", "channels:history", "groups:history"})
HISTORY_METHODS = {"conversations.history", "conversations.replies"}


@dataclass
class Message:
    """One chat.postMessage as Slack stored it."""

    channel: str
    ts: str
    text: str | None
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    args: dict[str, Any]
    updates: list[dict[str, Any]] = field(default_factory=list)  # chat.update calls, in order
    metadata: dict[str, Any] | None = None
    edited: dict[str, str] | None = None  # set by chat.update, as Slack shows it

    def shown(self, with_metadata: bool) -> dict[str, Any]:
        """The message as Slack's API shows it; metadata only when asked for."""
        shown: dict[str, Any] = {
            "type": "message",
            "user": BOT["user_id"],
            "bot_id": BOT["bot_id"],
            "app_id": APP_ID,
            "ts": self.ts,
            "text": self.text,
            "team": TEAM["team_id"],
        }
        if self.blocks is not None:
            shown["blocks"] = self.blocks
        if self.thread_ts is not None:
            shown["thread_ts"] = self.thread_ts
        if self.edited is not None:
            shown["edited"] = self.edited
        if with_metadata and self.metadata is not None:
            shown["metadata"] = self.metadata
        return shown


@dataclass
class Response:
    """One POST to a response_url (what bolt's `respond()` sends)."""

    url: str
    body: dict[str, Any]


class FakeSlack(HoldingFake):
    """The fake server. `async with FakeSlack() as slack:` binds 127.0.0.1 on a free port."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-fake-bot-token",
        app_token: str = "xapp-fake-app-token",
        signing_secret: str = "fake-signing-secret",
        scopes: frozenset[str] = SCOPES,
        host: str = "127.0.0.1",
        port: int = 0,
        post_rate: float | None = None,
        post_burst: int = 1,
    ) -> None:
        self.bot_token = bot_token
        self.post_limit = ChannelRateLimit(post_rate, post_burst) if post_rate else None
        self.limited = 0  # chat.postMessage calls refused by `post_limit` with a 429
        self.scopes = set(scopes)  # the bot token's scopes; take history away to test missing_scope
        self.private_channels: set[str] = set()  # reading these needs groups:history
        self.app_token = app_token
        self.signing_secret = signing_secret
        self.host, self.port = host, port
        self.base_url = ""
        self.messages: dict[str, list[Message]] = defaultdict(list)
        self.responses: list[Response] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, int]] = []  # (method, HTTP status) of every Web API call
        self.sockets: list[web.WebSocketResponse] = []
        self.connections = 0  # Socket Mode connections ever opened
        self.on_record: Callable[[str, Any], None] | None = None  # for the standalone printer
        self._channel_errors: dict[str, str] = {}
        self._rate_limited = 0
        self._retry_after = 0
        self._server_errors = 0
        self._server_status = 503
        self._post_delay = 0.0
        self._last_ts = 0
        super().__init__()  # holds (tests/fakes/holds.py): chat.postMessage, chat.update, auth.test
        self._response_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    # --- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_get("/link/", self._socket)
        app.router.add_post("/response/{rid}", self._response_url)
        app.router.add_post("/_fake/command", self._control_command)
        app.router.add_get("/_fake/messages", self._control_messages)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.base_url = f"http://{self.host}:{self.port}"
        return self.base_url

    async def close(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def api_url(self) -> str:
        """What `AsyncWebClient(base_url=...)` and `[slack] api_url` take."""
        return f"{self.base_url}/api/"

    # --- test controls -----------------------------------------------------------------

    def fail_channel(self, channel: str, error: str = "channel_not_found") -> None:
        """Every post to `channel` answers `{"ok": false, "error": error}`."""
        self._channel_errors[channel] = error

    def delete_message(self, channel: str, ts: str) -> None:
        """A person deleted the message: chat.update on it answers message_not_found."""
        self.messages[channel] = [m for m in self.messages[channel] if m.ts != ts]

    def rate_limit(self, count: int, retry_after: int = 0) -> None:
        """The next `count` chat.postMessage calls answer 429 with `Retry-After`."""
        self._rate_limited, self._retry_after = count, retry_after

    def server_errors(self, count: int, status: int = 503) -> None:
        """The next `count` chat.postMessage calls answer an HTML 5xx page."""
        self._server_errors, self._server_status = count, status

    def slow_posts(self, seconds: float) -> None:
        """Each chat.postMessage from now on takes `seconds` before Slack keeps it (a kill can
        land mid-post: Slack still keeps it, as a server does whose client hung up)."""
        self._post_delay = seconds

    def new_ts(self) -> str:
        """A message ts as Slack makes them: the post's wall-clock time in microseconds,
        unique and increasing."""
        self._last_ts = max(self._last_ts + 1, int(time.time() * 1_000_000))
        seconds, micros = divmod(self._last_ts, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def new_response_url(self) -> str:
        return f"{self.base_url}/response/{next(self._response_ids)}"

    def all_messages(self) -> list[Message]:
        return [m for msgs in self.messages.values() for m in msgs]

    def sent_texts(self) -> list[str]:
        """Every text string the app sent anywhere: messages, updates, responses, acks."""
        found: list[str] = []
        bodies: list[Any] = [m.args for m in self.all_messages()]
        bodies += [u for m in self.all_messages() for u in m.updates]
        bodies += [r.body for r in self.responses] + list(self.acks.values())
        for body in bodies:
            _collect_strings(body, found)
        return found

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until `predicate()` holds; it is checked after every recorded event."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def _record(self, kind: str, item: Any) -> None:
        if self.on_record is not None:
            self.on_record(kind, item)
        async with self._changed:
            self._changed.notify_all()

    # --- payloads as Slack builds them -------------------------------------------------

    def slash_command(self, text: str, *, user_id: str = "U1", channel_id: str = "C1") -> dict[str, str]:
        """The fields of a /story invocation, as Slack sends them (form or envelope payload)."""
        return {
            "token": "legacy-verification-token",
            "team_id": TEAM["team_id"],
            "team_domain": "storybot-test",
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": "tester",
            "command": "/story",
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self.new_response_url(),
            "trigger_id": f"{uuid.uuid4().int % 10**12}.1.{uuid.uuid4().hex[:12]}",
        }

    def button_click(
        self, clicked: Response | Message, action_id: str, *, user_id: str = "U1"
    ) -> dict[str, Any]:
        """A block_actions payload: `user_id` clicked the button `action_id` in `clicked`, a
        private answer (a response_url post) or a message in a channel (an alert)."""
        if isinstance(clicked, Message):
            blocks, channel = clicked.blocks or [], clicked.channel
            container = {
                "type": "message",
                "message_ts": clicked.ts,
                "channel_id": channel,
                "is_ephemeral": False,
            }
        else:
            blocks, channel = clicked.body.get("blocks") or [], "C1"
            container = {
                "type": "message",
                "message_ts": "1732500000.000001",
                "channel_id": channel,
                "is_ephemeral": True,
            }
        button = next(
            (
                {**el, "block_id": block.get("block_id", "b1"), "action_ts": f"{time.time():.6f}"}
                for block in blocks
                for el in block.get("elements", [])
                if block.get("type") == "actions" and el.get("action_id") == action_id
            ),
            None,
        )
        if button is None:
            raise LookupError(f"no button {action_id!r} there")
        return {
            "type": "block_actions",
            "user": {"id": user_id, "username": "tester", "name": "tester", "team_id": TEAM["team_id"]},
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "container": container,
            "trigger_id": "1.1.x",
            "team": {"id": TEAM["team_id"], "domain": "storybot-test"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": "general"},
            "state": {"values": {}},
            "response_url": self.new_response_url(),
            "actions": [button],
        }

    # --- Socket Mode: the app's side is the real SocketModeClient -----------------------

    async def send_envelope(self, kind: str, payload: dict[str, Any]) -> str:
        """Push an envelope to every connected app socket; returns its envelope_id."""
        if not self.sockets:
            raise RuntimeError("no Socket Mode client is connected")
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": True,
        }
        for ws in list(self.sockets):
            await ws.send_str(json.dumps(envelope))
        return envelope_id

    async def request_reconnect(self) -> None:
        """What Slack does every few hours: ask each app socket to move to a fresh URL."""
        message = {"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "fake"}}
        for ws in list(self.sockets):
            await ws.send_str(json.dumps(message))

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        self.connections += 1
        hello = {"type": "hello", "num_connections": len(self.sockets), "connection_info": {"app_id": APP_ID}}
        await ws.send_str(json.dumps(hello))
        await self._record("connected", request.query_string)
        try:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    data = json.loads(msg.data)
                    if "envelope_id" in data:
                        self.acks[data["envelope_id"]] = data
                        await self._record("ack", data)
        finally:
            self.sockets.remove(ws)
            await self._record("disconnected", request.query_string)
        return ws

    # --- HTTP mode: Slack posting to the app's request URL ------------------------------

    async def post_to_request_url(
        self,
        url: str,
        form: dict[str, str],
        *,
        secret: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[int, str]:
        """POST `form` signed as Slack signs it; returns (status, body) of the app's answer."""
        body = urlencode(form)
        ts = str(int(time.time()) if timestamp is None else timestamp)
        verifier = SignatureVerifier(secret or self.signing_secret)
        signature = verifier.generate_signature(timestamp=ts, body=body) or ""
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as resp:
            return resp.status, await resp.text()

    # --- Web API ------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _arguments(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip() or args.get(
            "token", ""
        )
        status, body, headers = await self._answer(method, token, args)
        self.calls.append((method, status))
        if isinstance(body, str):
            return web.Response(status=status, text=body, content_type="text/html", headers=headers)
        return web.json_response(body, status=status, headers=headers)

    async def _answer(self, method: str, token: str, args: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        if method == "apps.connections.open":
            if not token:
                return 200, {"ok": False, "error": "not_authed"}, {}
            if token != self.app_token:
                error = "not_allowed_token_type" if token.startswith("xox") else "invalid_auth"
                return 200, {"ok": False, "error": error}, {}
            url = f"ws://{self.host}:{self.port}/link/?ticket={uuid.uuid4()}&app_id={APP_ID}"
            return 200, {"ok": True, "url": url}, {}
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token != self.bot_token:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        if method == "auth.test":
            if await pause(self._login_holds.arrive(), "received"):
                return 503, "<html><body>Slack is having trouble</body></html>", {}
            return 200, {"ok": True, **TEAM, **BOT, "is_enterprise_install": False}, {}
        if method == "chat.postMessage":
            return await self._post_message(args)
        if method in HISTORY_METHODS:
            return 200, self._history(method, args), {}
        if method == "chat.update":
            return await self._update(args)
        return 200, {"ok": False, "error": "unknown_method"}, {}

    async def _post_message(self, args: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        if self._rate_limited > 0:
            self._rate_limited -= 1
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(self._retry_after)}
        if self._server_errors > 0:
            self._server_errors -= 1
            return self._server_status, "<html><body>Slack is having trouble</body></html>", {}
        channel = str(args.get("channel") or "")
        wait = self.post_limit.take(channel) if self.post_limit is not None and channel else 0
        if wait:
            self.limited += 1
            await self._record("ratelimited", channel)
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(wait)}
        error = self._channel_errors.get(channel) or _check_message(args)
        if not channel:
            error = "channel_not_found"
        if error:
            return 200, {"ok": False, "error": error}, {}
        thread_ts = args.get("thread_ts")
        if thread_ts and not any(m.ts == thread_ts for m in self.messages[channel]):
            return 200, {"ok": False, "error": "thread_not_found"}, {}
        metadata = _metadata(args.get("metadata"))
        if metadata is False:
            return 200, {"ok": False, "error": "invalid_metadata_format"}, {}
        hold = self._post_holds.arrive()
        if await pause(hold, "received"):
            return 503, "<html><body>Slack is having trouble</body></html>", {}
        if self._post_delay:
            await asyncio.sleep(self._post_delay)
        message = Message(channel, self.new_ts(), args.get("text"), args.get("blocks"), thread_ts, args)
        message.metadata = metadata
        self.messages[channel].append(message)
        await self._record("message", message)
        await pause(hold, "answered")
        return 200, {"ok": True, "channel": channel, "ts": message.ts, "message": message.shown(False)}, {}

    def _history(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        """conversations.history (top-level messages, newest first) or .replies (a thread:
        its parent, then the replies oldest first); `limit` a page, `cursor` the next page."""
        channel = str(args.get("channel") or "")
        needed = "groups:history" if channel in self.private_channels else "channels:history"
        if needed not in self.scopes:
            provided = ",".join(sorted(self.scopes))
            return {"ok": False, "error": "missing_scope", "needed": needed, "provided": provided}
        if not channel or self._channel_errors.get(channel) == "channel_not_found":
            return {"ok": False, "error": "channel_not_found"}
        if self._channel_errors.get(channel) == "not_in_channel":
            return {"ok": False, "error": "not_in_channel"}
        try:
            limit = min(999, max(1, int(args.get("limit") or 100)))
            oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or "inf")
            cursor = _cursor_ts(args.get("cursor"))
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        inclusive = _flag(args.get("inclusive"))
        messages = self.messages.get(channel, [])
        replies = method == "conversations.replies"
        if replies:
            parent = str(args.get("ts") or "")
            if not any(m.ts == parent for m in messages):
                return {"ok": False, "error": "thread_not_found"}
            chosen = [m for m in messages if parent in (m.ts, m.thread_ts)]
        else:
            chosen = [m for m in messages if m.thread_ts is None]

        def wanted(m: Message) -> bool:
            ts = float(m.ts)
            in_range = oldest <= ts <= latest if inclusive else oldest < ts < latest
            past_cursor = cursor is None or (ts > cursor if replies else ts < cursor)
            return in_range and past_cursor

        in_range = [m for m in sorted(chosen, key=lambda m: float(m.ts), reverse=not replies) if wanted(m)]
        page, more = in_range[:limit], len(in_range) > limit
        shown = [m.shown(_flag(args.get("include_all_metadata"))) for m in page]
        next_cursor = base64.b64encode(f"next_ts:{page[-1].ts}".encode()).decode() if more else ""
        return {
            "ok": True,
            "messages": shown,
            "has_more": more,
            "pin_count": 0,
            "response_metadata": {"next_cursor": next_cursor},
        }

    async def _update(self, args: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        channel = str(args.get("channel") or "")
        if channel in self._channel_errors:
            return 200, {"ok": False, "error": self._channel_errors[channel]}, {}
        target = next((m for m in self.messages.get(channel, []) if m.ts == args.get("ts")), None)
        if target is None:
            return 200, {"ok": False, "error": "message_not_found"}, {}
        error = _check_message(args)
        if error:
            return 200, {"ok": False, "error": error}, {}
        hold = self._edit_holds.arrive()
        if await pause(hold, "received"):
            return 503, "<html><body>Slack is having trouble</body></html>", {}
        # Slack replaces what was given, keeps the message's place, thread and metadata, and
        # marks it edited
        target.updates.append(args)
        target.text = args.get("text")
        if "blocks" in args:
            target.blocks = args.get("blocks")
        target.edited = {"user": BOT["user_id"], "ts": self.new_ts()}
        await self._record("update", args)
        await pause(hold, "answered")
        answer = {"ok": True, "channel": channel, "ts": target.ts, "text": target.text}
        return 200, {**answer, "message": target.shown(False)}, {}

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        response = Response(str(request.url), body)
        self.responses.append(response)
        await self._record("response", response)
        return web.Response(text="ok")

    # --- controls for a human running the fake alone -------------------------------------

    async def _control_command(self, request: web.Request) -> web.Response:
        """`curl -d text=kherson http://127.0.0.1:PORT/_fake/command` runs `/story kherson`:
        over Socket Mode when an app is connected, else signed to `?request_url=...`."""
        form = await request.post()
        payload = self.slash_command(str(form.get("text", "")), user_id=str(form.get("user_id", "U1")))
        request_url = request.query.get("request_url") or str(form.get("request_url", ""))
        if request_url:
            status, body = await self.post_to_request_url(request_url, payload)
            return web.json_response(
                {"status": status, "body": body, "response_url": payload["response_url"]}
            )
        envelope_id = await self.send_envelope("slash_commands", payload)
        return web.json_response({"envelope_id": envelope_id, "response_url": payload["response_url"]})

    async def _control_messages(self, request: web.Request) -> web.Response:
        dump = {
            "messages": [m.args | {"ts": m.ts} for m in self.all_messages()],
            "responses": [{"url": r.url, **r.body} for r in self.responses],
            "limited": self.limited,
        }
        return web.json_response(dump)


# --- chat.postMessage's per-channel limit ---------------------------------------------------


class ChannelRateLimit:
    """A token bucket per channel: `burst` posts at once, then `rate` a second."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens, when counted)

    def take(self, channel: str) -> int:
        """0 when a post to `channel` may go now (it uses a token), else the Retry-After Slack
        would send: whole seconds until the next token, at least 1."""
        now = self.clock()
        tokens, then = self._buckets.get(channel, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.rate)
        if tokens >= 1:
            self._buckets[channel] = (tokens - 1, now)
            return 0
        self._buckets[channel] = (tokens, now)
        return max(1, math.ceil((1 - tokens) / self.rate))


# --- Slack's checks on a message ------------------------------------------------------------


def _check_message(args: dict[str, Any]) -> str | None:
    """The error Slack would answer for this message, or None."""
    text, blocks = args.get("text"), args.get("blocks")
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return "invalid_blocks_format"
    if not text and not blocks:
        return "no_text"
    if text and len(text) > 40_000:
        return "msg_too_long"
    if blocks is not None and blocks_error(blocks):
        return "invalid_blocks"
    return None


def blocks_error(blocks: Any) -> str | None:
    """What breaks Block Kit's rules in `blocks` (Slack answers invalid_blocks), or None."""
    if not isinstance(blocks, list) or not 0 < len(blocks) <= 50:
        return "must be a list of 1 to 50 blocks"
    for n, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in BLOCK_TYPES:
            return f"blocks[{n}]: unknown type {kind!r}"
        problem = _block_error(block)
        if problem:
            return f"blocks[{n}]: {problem}"
    return None


def _block_error(block: dict[str, Any]) -> str | None:
    kind = block["type"]
    if kind == "section":
        if "text" not in block and "fields" not in block:
            return "section needs text or fields"
        texts = ([block["text"]] if "text" in block else []) + list(block.get("fields", []))
        if len(block.get("fields", [])) > 10:
            return "more than 10 fields"
        return next((p for p in (_text_error(t, 3000) for t in texts) if p), None)
    if kind == "header":
        text = block.get("text", {})
        if text.get("type") != "plain_text":
            return "header text must be plain_text"
        return _text_error(text, 150)
    if kind == "context":
        elements = block.get("elements", [])
        if not 0 < len(elements) <= 10:
            return "context needs 1 to 10 elements"
        return next(
            (p for p in (_text_error(e, 3000) for e in elements if e.get("type") != "image") if p), None
        )
    if kind == "actions":
        elements = block.get("elements", [])
        if not 0 < len(elements) <= 25:
            return "actions needs 1 to 25 elements"
        for el in elements:
            if el.get("type") == "button":
                if len(el.get("action_id", "")) > 255 or len(el.get("value", "")) > 2000:
                    return "button action_id or value too long"
                problem = _text_error(el.get("text", {}), 75)
                if problem:
                    return problem
    return None


def _text_error(obj: Any, limit: int) -> str | None:
    if not isinstance(obj, dict) or obj.get("type") not in {"mrkdwn", "plain_text"}:
        return "text object must be mrkdwn or plain_text"
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return "text must be a non-empty string"
    if len(text.encode("utf-16-le")) // 2 > limit:
        return f"text longer than {limit} characters"
    return None


def _metadata(raw: Any) -> dict[str, Any] | None | bool:
    """chat.postMessage's `metadata`: the dict Slack keeps, None when absent, False when it is
    not an `event_type` string with an `event_payload` object (Slack: invalid_metadata_format)."""
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return False
    if not isinstance(raw, dict) or not isinstance(raw.get("event_type"), str):
        return False
    if not isinstance(raw.get("event_payload"), dict):
        return False
    return {"event_type": raw["event_type"], "event_payload": raw["event_payload"]}


def _flag(value: Any) -> bool:
    """A boolean argument as Slack reads it: true, 1 (slack_sdk sends "1"/"0")."""
    return str(value).lower() in {"1", "true"}


def _cursor_ts(cursor: Any) -> float | None:
    if not cursor:
        return None
    decoded = base64.b64decode(str(cursor)).decode()
    if not decoded.startswith("next_ts:"):
        raise ValueError(cursor)
    return float(decoded.removeprefix("next_ts:"))


async def _arguments(request: web.Request) -> dict[str, Any]:
    """A Web API call's arguments: JSON body, form body, or query string, as Slack accepts."""
    args: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            args.update(body)
    elif request.can_read_body:
        args.update({k: str(v) for k, v in (await request.post()).items()})
    return args


def _collect_strings(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            _collect_strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _collect_strings(v, out)


# --- standalone ----------------------------------------------------------------------------


def _print_event(kind: str, item: Any) -> None:
    if kind == "message":
        print(f"[chat.postMessage {item.channel} ts={item.ts}] {item.text}", flush=True)
    elif kind == "response":
        print(f"[response_url {item.url}] {item.body.get('text')}", flush=True)
    elif kind in {"connected", "disconnected", "ack"}:
        print(f"[socket {kind}] {item}", flush=True)


async def _serve(args: argparse.Namespace) -> None:
    slack = FakeSlack(
        bot_token=args.bot_token, app_token=args.app_token, signing_secret=args.signing_secret, port=args.port
    )
    slack.on_record = _print_event
    await slack.start()
    print(f"fake Slack at {slack.base_url}", flush=True)
    print(f'  [slack] api_url = "{slack.api_url}"', flush=True)
    print(
        f"  export SLACK_BOT_TOKEN={slack.bot_token} SLACK_APP_TOKEN={slack.app_token} "
        f"SLACK_SIGNING_SECRET={slack.signing_secret}",
        flush=True,
    )
    print(f"  run a command: curl -d text=kherson {slack.base_url}/_fake/command", flush=True)
    print(f"  see posts:     curl {slack.base_url}/_fake/messages", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await slack.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.slack", description="A local fake Slack.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--bot-token", default="xoxb-fake-bot-token")
    parser.add_argument("--app-token", default="xapp-fake-app-token")
    parser.add_argument("--signing-secret", default="fake-signing-secret")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
