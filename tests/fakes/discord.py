"""A protocol-faithful fake Discord on 127.0.0.1: REST API and gateway websocket.

The real discord.py client talks to it unchanged once `discord.http.Route.BASE` is its
`api_base` and `DiscordWebSocket.DEFAULT_GATEWAY` its `gateway_url`. It keeps what Discord
would keep (sessions, messages per channel, threads, synced commands, interaction callbacks)
and answers the way Discord does, including the details discord.py depends on: bodies with
`Content-Type: application/json` exactly, 429s with `retry_after`, `X-RateLimit-*` and `Via`
headers, per-channel message buckets, embed limits enforced with 400/50035, close code 4004
for a bad token, and RESUME replaying missed dispatches. Message posts honour `nonce` with
`enforce_nonce`: the same nonce in the same channel within `nonce_window` seconds answers 200
with the message it first made, and makes none. `GET /channels/{id}/messages` pages newest
first with `limit`, `before` and `after`, and needs the Read Message History permission
(`deny_history`). Tests inject what real Discord does at its own pace: INTERACTION_CREATE
events, dropped connections, missing channels, 429 bursts; and pause a login or the Nth message
post or edit (`hold_login`, `hold_post`, `hold_edit`) so a crash test can kill the bot at that moment.

Run it alone for a demo: `python -m tests.fakes.discord --port 0` prints the URLs to put in
the `[discord]` table, then `POST /_fake/story` with a query answers like a user typing it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.holds import HoldingFake, pause

TOKEN = "fake-discord-bot-token"
APP_ID = 1_100_000_000_000_000_001
GUILD_ID = 1_200_000_000_000_000_001
CHANNEL_IDS = (1_300_000_000_000_000_001, 1_300_000_000_000_000_002)
USER_ID = 1_400_000_000_000_000_001
NEWSDESK_ROLE_ID = 1_500_000_000_000_000_001  # a role of the guild besides @everyone

DISCORD_EPOCH_MS = 1_420_070_400_000
GUILDS_INTENT = 1 << 0
VIA = "1.1 google"
MESSAGE_BUCKET = "80c17d2f203122d936070c88c8d10f33"

# Interaction and callback types (Discord's numbers).
APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE = 2, 3, 4
ACTION_ROW, BUTTON = 1, 2
CHANNEL_MESSAGE, DEFERRED_MESSAGE, AUTOCOMPLETE_RESULT = 4, 5, 8
EPHEMERAL_FLAG = 1 << 6


class Snowflakes:
    """Ids shaped like Discord's: milliseconds since 2015 in the high bits, a counter below."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def __call__(self) -> int:
        return ((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (next(self._counter) & 0xFFF)


@dataclass
class Session:
    """One gateway session: survives a dropped socket, so RESUME can replay what was missed."""

    id: str
    intents: int
    seq: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    ws: web.WebSocketResponse | None = None


@dataclass
class Interaction:
    """An interaction the fake dispatched; `callback` resolves when the bot answers."""

    id: int
    token: str
    payload: dict[str, Any]
    created: float
    callback: asyncio.Future[dict[str, Any]]


@dataclass
class Throttle:
    """Injected 429s: the next `times` message posts (to `channel`, or any) are refused."""

    times: int
    retry_after: float
    channel: int | None
    is_global: bool


NONCE_TOO_LONG = {"code": "BASE_TYPE_BAD_LENGTH", "message": "Must be between 1 and 25 in length."}
LIMIT_RANGE = {"code": "NUMBER_TYPE_MAX", "message": "int value should be between 1 and 100."}


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    # Exactly `application/json`: discord.py parses JSON only then (no `; charset=`).
    return web.Response(
        status=status, body=json.dumps(body).encode(), content_type="application/json", headers=headers
    )


def _error(status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"message": message, "code": code}
    if errors:
        body["errors"] = errors
    return _json(body, status)


def embed_problems(embeds: list[dict[str, Any]], content: str = "") -> dict[str, Any]:
    """Discord's embed and content limits, as the `errors` object of a 400/50035."""
    problems: dict[str, Any] = {}

    def too_long(path: str, text: str | None, limit: int) -> None:
        if text is not None and len(text) > limit:
            problems[path] = {
                "_errors": [
                    {"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {limit} or fewer in length."}
                ]
            }

    too_long("content", content, 2000)
    if len(embeds) > 10:
        problems["embeds"] = {
            "_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 10 or fewer in length."}]
        }
    total = 0
    for n, embed in enumerate(embeds):
        too_long(f"embeds.{n}.title", embed.get("title"), 256)
        too_long(f"embeds.{n}.description", embed.get("description"), 4096)
        too_long(f"embeds.{n}.footer.text", (embed.get("footer") or {}).get("text"), 2048)
        too_long(f"embeds.{n}.author.name", (embed.get("author") or {}).get("name"), 256)
        fields = embed.get("fields") or []
        if len(fields) > 25:
            problems[f"embeds.{n}.fields"] = {
                "_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 25 or fewer in length."}]
            }
        for m, fld in enumerate(fields):
            for key, limit in (("name", 256), ("value", 1024)):
                text = fld.get(key) or ""
                if not text.strip():
                    problems[f"embeds.{n}.fields.{m}.{key}"] = {
                        "_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]
                    }
                too_long(f"embeds.{n}.fields.{m}.{key}", text, limit)
            total += len(fld.get("name") or "") + len(fld.get("value") or "")
        total += sum(
            len(x or "")
            for x in (
                embed.get("title"),
                embed.get("description"),
                (embed.get("footer") or {}).get("text"),
                (embed.get("author") or {}).get("name"),
            )
        )
    if total > 6000:
        problems["embeds"] = {
            "_errors": [
                {"code": "BASE_TYPE_MAX_LENGTH", "message": "Embed size exceeds maximum size of 6000"}
            ]
        }
    return problems


def component_problems(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What Discord refuses in a message's components: more than 5 action rows, more than 5
    buttons a row, a button with neither a custom_id (1-100 characters) nor a URL, a label over 80."""
    errors: dict[str, Any] = {}
    if len(rows) > 5:
        errors["components"] = {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH"}]}
    for n, row in enumerate(rows):
        items = row.get("components") or []
        if row.get("type") != ACTION_ROW or not 1 <= len(items) <= 5:
            errors[f"components.{n}"] = {"_errors": [{"code": "COMPONENT_LAYOUT_WIDTH_EXCEEDED"}]}
        for m, item in enumerate(items):
            custom_id, url = item.get("custom_id"), item.get("url")
            bad_id = custom_id is not None and not 1 <= len(str(custom_id)) <= 100
            if item.get("type") == BUTTON and (bad_id or (custom_id is None) == (url is None)):
                errors[f"components.{n}.components.{m}"] = {"_errors": [{"code": "BUTTON_COMPONENT_INVALID"}]}
            if len(str(item.get("label") or "")) > 80:
                errors[f"components.{n}.components.{m}.label"] = {
                    "_errors": [{"code": "BASE_TYPE_MAX_LENGTH"}]
                }
    return errors


class FakeDiscord(HoldingFake):
    """Fake Discord for one bot application. Use as `async with FakeDiscord() as fake:`."""

    def __init__(
        self,
        *,
        token: str = TOKEN,
        app_id: int = APP_ID,
        guilds: Mapping[int, Iterable[int]] | None = None,
        heartbeat_interval_ms: int = 41_250,
        global_limit: int | None = None,
        message_bucket: tuple[int, float] = (5, 5.0),
        nonce_window: float = 300.0,
        interaction_deadline: float | None = 3.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.gateway_token: str | None = None  # set to refuse the token at IDENTIFY only (4004)
        self.shards: list[list[int] | None] = []  # the `shard` each IDENTIFY asked for
        self.app_id = app_id
        self.bot_user = {
            "id": str(app_id),
            "username": "storybot",
            "global_name": None,
            "discriminator": "0",
            "avatar": None,
            "bot": True,
            "verified": True,
            "flags": 0,
            "mfa_enabled": False,
        }
        self.guilds: dict[int, set[int]] = {g: set(c) for g, c in (guilds or {GUILD_ID: CHANNEL_IDS}).items()}
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.global_limit = global_limit
        self.message_bucket = message_bucket
        self.nonce_window = nonce_window  # real Discord: "the past few minutes"
        self.interaction_deadline = interaction_deadline
        self._host, self._port = host, port
        self._ids = Snowflakes()

        # What the fake keeps, for tests to read.
        self.messages: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.threads: dict[int, dict[str, Any]] = {}
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.callbacks: list[dict[str, Any]] = []
        self.followups: list[dict[str, Any]] = []
        self.edits: list[dict[str, Any]] = []  # each PATCH of a channel message: channel, id, body
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status)
        self.identifies = 0
        self.resumes = 0
        self.heartbeats = 0

        # What tests inject.
        self.denied: dict[int, tuple[int, str]] = {}  # channel -> (code, message) for a 403
        self.history_denied: set[int] = set()  # channels where reading messages answers 403
        self.nonce_repeats = 0  # posts answered with the message an earlier nonce made
        self._nonces: dict[tuple[int, str], tuple[float, dict[str, Any]]] = {}
        super().__init__()  # holds (tests/fakes/holds.py): message POST, message PATCH, GET /users/@me
        self._throttles: list[Throttle] = []
        self._failures: list[int] = []
        self._sessions: dict[str, Session] = {}
        self._current: Session | None = None
        self._interactions: dict[int, Interaction] = {}
        self._recent: deque[float] = deque()
        self._buckets: dict[int, deque[float]] = defaultdict(deque)
        self._connected = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # --- lifetime ------------------------------------------------------------------------

    async def start(self) -> FakeDiscord:
        app = web.Application(middlewares=[self._record, self._auth, self._global_rate_limit])
        for version in ("v9", "v10"):
            api = f"/api/{version}"
            app.router.add_get(f"{api}/gateway", self._get_gateway)
            app.router.add_get(f"{api}/gateway/bot", self._get_gateway_bot)
            app.router.add_get(f"{api}/users/@me", self._get_me)
            app.router.add_get(f"{api}/oauth2/applications/@me", self._get_application)
            app.router.add_get(f"{api}/applications/@me", self._get_application)
            app.router.add_put(f"{api}/applications/{{app}}/commands", self._put_commands)
            app.router.add_get(f"{api}/applications/{{app}}/commands", self._get_commands)
            app.router.add_put(f"{api}/applications/{{app}}/guilds/{{guild}}/commands", self._put_commands)
            app.router.add_get(f"{api}/applications/{{app}}/guilds/{{guild}}/commands", self._get_commands)
            app.router.add_post(f"{api}/channels/{{channel}}/messages", self._post_message)
            app.router.add_get(f"{api}/channels/{{channel}}/messages", self._get_messages)
            app.router.add_patch(f"{api}/channels/{{channel}}/messages/{{message}}", self._patch_message)
            app.router.add_post(f"{api}/channels/{{channel}}/messages/{{message}}/threads", self._post_thread)
            app.router.add_post(f"{api}/interactions/{{id}}/{{token}}/callback", self._post_callback)
            app.router.add_post(f"{api}/webhooks/{{app}}/{{token}}", self._post_followup)
            app.router.add_patch(f"{api}/webhooks/{{app}}/{{token}}/messages/@original", self._patch_original)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/_fake/messages", self._control_messages)
        app.router.add_post("/_fake/story", self._control_story)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://{self._host}:{port}"
        return self

    async def close(self) -> None:
        for session in self._sessions.values():
            if session.ws is not None and not session.ws.closed:
                await session.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.base_url.removeprefix('http://')}/gateway"

    @property
    def settings(self) -> dict[str, Any]:
        """A `[discord]` table pointing at this fake."""
        return {"api_base": self.api_base, "gateway_url": self.gateway_url, "guilds": list(self.guilds)}

    # --- what tests inject -------------------------------------------------------------

    def add_channel(self, channel_id: int, guild_id: int = GUILD_ID) -> None:
        self.guilds.setdefault(guild_id, set()).add(channel_id)

    def remove_channel(self, channel_id: int) -> None:
        for channels in self.guilds.values():
            channels.discard(channel_id)

    def deny(self, channel_id: int, code: int = 50001) -> None:
        """Posts to the channel get 403: 50001 Missing Access, 50013 Missing Permissions."""
        self.denied[channel_id] = (code, "Missing Access" if code == 50001 else "Missing Permissions")

    def rate_limit(
        self, times: int, retry_after: float = 0.05, *, channel: int | None = None, is_global: bool = False
    ) -> None:
        """The next `times` message posts answer 429 with `retry_after` seconds."""
        self._throttles.append(Throttle(times, retry_after, channel, is_global))

    def deny_history(self, channel_id: int) -> None:
        """Reading the channel's messages answers 403 50001 (no Read Message History)."""
        self.history_denied.add(channel_id)

    def fail(self, times: int, status: int = 503) -> None:
        """The next `times` message posts answer `status` (Discord having a bad moment)."""
        self._failures += [status] * times

    @property
    def rate_limited(self) -> int:
        return sum(1 for _, _, status in self.requests if status == 429)

    async def wait_connected(self, timeout: float = 5.0) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def drop_connection(self, code: int = 4000) -> None:
        """Close the bot's gateway socket as Discord does now and then; the session stays
        resumable. Codes 4004, 4010-4014 mean the client must not reconnect."""
        session = self._current
        if session is None or session.ws is None:
            raise RuntimeError("no gateway connection to drop")
        self._connected.clear()
        await session.ws.close(code=code, message=b"fake: connection dropped")

    async def send_reconnect(self) -> None:
        """Op 7 RECONNECT: Discord asks the client to reconnect and resume."""
        await self._send_raw({"op": 7, "d": None, "s": None, "t": None})

    def interaction(
        self,
        options: list[dict[str, Any]],
        *,
        name: str = "story",
        kind: int = APPLICATION_COMMAND,
        guild_id: int = GUILD_ID,
        channel_id: int | None = None,
        user_id: int = USER_ID,
        roles: tuple[int, ...] = (),
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE payload as Discord sends it for `/name options...`, from a
        member holding `roles`."""
        channel_id = channel_id or min(self.guilds.get(guild_id) or {CHANNEL_IDS[0]})
        command = next(
            (c for c in self.commands.get(guild_id, []) + self.commands.get(None, []) if c["name"] == name),
            None,
        )
        user = {
            "id": str(user_id),
            "username": "reader",
            "global_name": "Reader",
            "discriminator": "0",
            "avatar": None,
        }
        return {
            "id": str(self._ids()),
            "application_id": str(self.app_id),
            "type": kind,
            "token": f"itoken-{self._ids()}",
            "version": 1,
            "attachment_size_limit": 10_485_760,
            "guild_id": str(guild_id),
            "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
            "guild_locale": "en-US",
            "channel_id": str(channel_id),
            "channel": {
                "id": str(channel_id),
                "type": 0,
                "guild_id": str(guild_id),
                "name": "news",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "flags": 0,
            },
            "member": {
                "user": user,
                "roles": [str(r) for r in roles],
                "flags": 0,
                "joined_at": "2022-11-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "nick": None,
                "avatar": None,
                "premium_since": None,
                "pending": False,
                "permissions": "2248473465835073",
            },
            "app_permissions": "2248473465835073",
            "locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild_id)},
            "context": 0,
            "data": {
                "id": command["id"] if command else str(self._ids()),
                "name": name,
                "type": 1,
                "guild_id": str(guild_id),
                "options": options,
            },
        }

    async def send_interaction(self, payload: dict[str, Any]) -> Interaction:
        """Dispatch INTERACTION_CREATE to the bot's session (buffered for RESUME if it is away)."""
        loop = asyncio.get_running_loop()
        pending = Interaction(
            int(payload["id"]), payload["token"], payload, loop.time(), loop.create_future()
        )
        self._interactions[pending.id] = pending
        if self._current is None:
            raise RuntimeError("the bot has not identified yet")
        await self._dispatch(self._current, "INTERACTION_CREATE", payload)
        return pending

    async def slash(
        self,
        query: str,
        timeout: float = 5.0,
        *,
        user_id: int = USER_ID,
        roles: tuple[int, ...] = (),
        channel_id: int | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """`user_id`, holding `roles`, types `/story query:<query>` in `channel_id`; return the
        bot's callback body."""
        options = [{"name": "query", "type": 3, "value": query}]
        options += [{"name": k, "type": 5, "value": v} for k, v in extra.items()]
        payload = self.interaction(options, channel_id=channel_id, user_id=user_id, roles=roles)
        pending = await self.send_interaction(payload)
        return await asyncio.wait_for(asyncio.shield(pending.callback), timeout)

    async def click(
        self, message: dict[str, Any], custom_id: str, timeout: float = 5.0, user_id: int = USER_ID
    ) -> dict[str, Any]:
        """Click the button `custom_id` on `message` (as this fake stored it); return the
        bot's callback body. Discord sends the whole message with a component interaction."""
        buttons = [c for row in message.get("components") or [] for c in row.get("components") or []]
        if not any(b.get("custom_id") == custom_id for b in buttons):
            raise LookupError(f"no button {custom_id!r} on that message")
        payload = self.interaction(
            [], kind=MESSAGE_COMPONENT, channel_id=int(message["channel_id"]), user_id=user_id
        )
        payload["data"] = {"custom_id": custom_id, "component_type": BUTTON}
        payload["message"] = message
        pending = await self.send_interaction(payload)
        return await asyncio.wait_for(asyncio.shield(pending.callback), timeout)

    async def autocomplete(self, partial: str, timeout: float = 5.0) -> dict[str, Any]:
        """Type `khe` into the query option; return the bot's autocomplete callback body."""
        options = [{"name": "query", "type": 3, "value": partial, "focused": True}]
        pending = await self.send_interaction(self.interaction(options, kind=AUTOCOMPLETE))
        return await asyncio.wait_for(asyncio.shield(pending.callback), timeout)

    # --- gateway -----------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        session: Session | None = None
        await ws.send_str(
            json.dumps(
                {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}, "s": None, "t": None}
            )
        )
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                op, data = frame.get("op"), frame.get("d")
                if op == 1:
                    self.heartbeats += 1
                    await ws.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
                elif op == 2:
                    session = await self._identify(ws, data or {})
                    if session is None:
                        break
                elif op == 6:
                    session = await self._resume(ws, data or {})
        finally:
            if session is not None and session.ws is ws:
                session.ws = None
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> Session | None:
        if data.get("token") != (self.gateway_token or self.token):
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        self.identifies += 1
        self.shards.append(data.get("shard"))
        session = Session(id=f"session-{self._ids()}", intents=int(data.get("intents") or 0), ws=ws)
        self._sessions[session.id] = session
        self._current = session
        await self._dispatch(
            session,
            "READY",
            {
                "v": 10,
                "user": self.bot_user,
                "guilds": [{"id": str(g), "unavailable": True} for g in self.guilds],
                "session_id": session.id,
                "resume_gateway_url": self.gateway_url,
                "application": {"id": str(self.app_id), "flags": 0},
                "private_channels": [],
                "relationships": [],
            },
        )
        if session.intents & GUILDS_INTENT:
            for guild_id in self.guilds:
                await self._dispatch(session, "GUILD_CREATE", self._guild_payload(guild_id))
        self._connected.set()
        return session

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> Session | None:
        session = self._sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") != self.token:
            await ws.send_str(json.dumps({"op": 9, "d": False, "s": None, "t": None}))
            return None
        self.resumes += 1
        session.ws = ws
        self._current = session
        seen = int(data.get("seq") or 0)
        for event in session.events:
            if event["s"] > seen:
                await ws.send_str(json.dumps(event))
        await self._dispatch(session, "RESUMED", {})
        self._connected.set()
        return session

    async def _dispatch(self, session: Session, name: str, data: dict[str, Any]) -> None:
        session.seq += 1
        event = {"op": 0, "s": session.seq, "t": name, "d": data}
        session.events.append(event)
        if session.ws is not None and not session.ws.closed:
            await session.ws.send_str(json.dumps(event))

    async def _send_raw(self, frame: dict[str, Any]) -> None:
        session = self._current
        if session is not None and session.ws is not None and not session.ws.closed:
            self._connected.clear()
            await session.ws.send_str(json.dumps(frame))

    def _guild_payload(self, guild_id: int) -> dict[str, Any]:
        channels = [
            {
                "id": str(c),
                "type": 0,
                "guild_id": str(guild_id),
                "name": f"news-{n}",
                "position": n,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "flags": 0,
            }
            for n, c in enumerate(sorted(self.guilds[guild_id]))
        ]
        return {
            "id": str(guild_id),
            "name": "Newsroom",
            "icon": None,
            "owner_id": str(USER_ID),
            "unavailable": False,
            "member_count": 2,
            "large": False,
            "features": [],
            "roles": [
                {
                    "id": str(role_id),
                    "name": name,
                    "permissions": "1071698660929" if position == 0 else "0",
                    "position": position,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                }
                for position, (role_id, name) in enumerate(
                    ((guild_id, "@everyone"), (NEWSDESK_ROLE_ID, "newsdesk"))
                )
            ],
            "emojis": [],
            "stickers": [],
            "channels": channels,
            "threads": [],
            "members": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "joined_at": "2022-11-01T00:00:00+00:00",
            "preferred_locale": "en-US",
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "afk_timeout": 300,
            "mfa_level": 0,
            "premium_tier": 0,
            "nsfw_level": 0,
            "system_channel_flags": 0,
        }

    # --- REST: middlewares ---------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        response = await handler(request)
        if request.path.startswith("/api/"):
            self.requests.append((request.method, request.path, response.status))
        return response

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        open_paths = ("/interactions/", "/webhooks/")
        guarded = request.path.startswith("/api/") and not any(p in request.path for p in open_paths)
        if guarded and request.headers.get("Authorization") != f"Bot {self.token}":
            return _error(401, 0, "401: Unauthorized")
        return await handler(request)

    @web.middleware
    async def _global_rate_limit(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """50 requests a second per bot, interaction callbacks exempt, when `global_limit` is set."""
        if (
            self.global_limit is None
            or not request.path.startswith("/api/")
            or "/interactions/" in request.path
        ):
            return await handler(request)
        now = time.monotonic()
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.global_limit:
            return self._too_many(1.0 - (now - self._recent[0]), is_global=True)
        self._recent.append(now)
        return await handler(request)

    def _too_many(self, retry_after: float, *, is_global: bool, bucket_limit: int = 5) -> web.Response:
        retry_after = round(max(retry_after, 0.001), 3)
        headers = {
            "Retry-After": str(max(1, int(retry_after + 0.999))),
            "Via": VIA,
            "X-RateLimit-Scope": "global" if is_global else "user",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        else:
            headers.update(
                {
                    "X-RateLimit-Limit": str(bucket_limit),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
                    "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                    "X-RateLimit-Bucket": MESSAGE_BUCKET,
                }
            )
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
        return _json(body, 429, headers)

    async def _body(self, request: web.Request) -> dict[str, Any] | web.Response:
        if request.content_type != "application/json":
            return _error(400, 50109, "The request body contains invalid JSON.")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _error(400, 50109, "The request body contains invalid JSON.")
        return body if isinstance(body, dict) else _error(400, 50035, "Invalid Form Body")

    # --- REST: login and commands ------------------------------------------------------

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return _json({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 86_400_000, "max_concurrency": 1}
        return _json({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    async def _get_me(self, request: web.Request) -> web.Response:
        if await pause(self._login_holds.arrive(), "received"):
            return _error(503, 0, "Service Unavailable")
        return _json(self.bot_user)

    async def _get_application(self, request: web.Request) -> web.Response:
        owner = {
            "id": str(USER_ID),
            "username": "owner",
            "global_name": None,
            "discriminator": "0",
            "avatar": None,
        }
        return _json(
            {
                "id": str(self.app_id),
                "name": "storybot",
                "icon": None,
                "description": "",
                "summary": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": owner,
                "team": None,
                "verify_key": "0" * 64,
                "flags": 0,
                "interactions_endpoint_url": None,
                "redirect_uris": [],
                "bot": self.bot_user,
            }
        )

    def _command_scope(self, request: web.Request) -> int | None | web.Response:
        if request.match_info["app"] != str(self.app_id):
            return _error(403, 50001, "Missing Access")
        guild = request.match_info.get("guild")
        if guild is None:
            return None
        if not guild.isdigit() or int(guild) not in self.guilds:
            return _error(403, 50001, "Missing Access")
        return int(guild)

    async def _put_commands(self, request: web.Request) -> web.Response:
        scope = self._command_scope(request)
        if isinstance(scope, web.Response):
            return scope
        body = json.loads(await request.read())
        if not isinstance(body, list):
            return _error(400, 50035, "Invalid Form Body")
        synced = [
            {
                **cmd,
                "id": str(self._ids()),
                "application_id": str(self.app_id),
                "version": str(self._ids()),
                "type": cmd.get("type", 1),
                "default_member_permissions": cmd.get("default_member_permissions"),
                **({"guild_id": str(scope)} if scope else {}),
            }
            for cmd in body
        ]
        self.commands[scope] = synced
        return _json(synced)

    async def _get_commands(self, request: web.Request) -> web.Response:
        scope = self._command_scope(request)
        if isinstance(scope, web.Response):
            return scope
        return _json(self.commands.get(scope, []))

    # --- REST: messages and threads ----------------------------------------------------

    def _channel_exists(self, channel_id: int) -> bool:
        return channel_id in self.threads or any(channel_id in c for c in self.guilds.values())

    def _take_throttle(self, channel_id: int) -> Throttle | None:
        for throttle in self._throttles:
            if throttle.times > 0 and throttle.channel in (None, channel_id):
                throttle.times -= 1
                return throttle
        return None

    def _bucket_headers(self, channel_id: int) -> dict[str, str] | web.Response:
        """Discord's per-channel message bucket: `limit` posts per `per` seconds."""
        limit, per = self.message_bucket
        now = time.monotonic()
        hits = self._buckets[channel_id]
        while hits and now - hits[0] >= per:
            hits.popleft()
        if len(hits) >= limit:
            return self._too_many(per - (now - hits[0]), is_global=False, bucket_limit=limit)
        hits.append(now)
        reset_after = per - (now - hits[0])
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(limit - len(hits)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": MESSAGE_BUCKET,
        }

    def _message(self, channel_id: int, body: dict[str, Any], *, interaction: bool = False) -> dict[str, Any]:
        guild_id = next((g for g, c in self.guilds.items() if channel_id in c), None)
        if guild_id is None and channel_id in self.threads:
            guild_id = int(self.threads[channel_id]["guild_id"])
        return {
            "id": str(self._ids()),
            "channel_id": str(channel_id),
            **({"guild_id": str(guild_id)} if guild_id else {}),
            "author": self.bot_user,
            "content": body.get("content") or "",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime()),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "pinned": False,
            "type": 20 if interaction else 0,
            "flags": int(body.get("flags") or 0),
            "components": body.get("components") or [],
            "allowed_mentions": body.get("allowed_mentions"),
            **self._reference(channel_id, body.get("message_reference")),
        }

    def _reference(self, channel_id: int, reference: Any) -> dict[str, Any]:
        """A reply's `message_reference` (type 19 message), as Discord shows it; a reference
        to a message that is gone is dropped when `fail_if_not_exists` is false."""
        if not isinstance(reference, dict) or reference.get("message_id") is None:
            return {}
        wanted = str(reference["message_id"])
        if not any(m["id"] == wanted for m in self.messages.get(channel_id, [])):
            return {}
        return {
            "type": 19,
            "message_reference": {"type": 0, "message_id": wanted, "channel_id": str(channel_id)},
        }

    def _refusal(self, channel_id: int) -> web.Response | None:
        """What Discord answers before reading a message request: no such channel, no access,
        or an injected server failure."""
        if not self._channel_exists(channel_id):
            return _error(404, 10003, "Unknown Channel")
        if channel_id in self.denied:
            return _error(403, *self.denied[channel_id])
        if self._failures:
            return _error(self._failures.pop(0), 0, "Service Unavailable")
        return None

    async def _post_message(self, request: web.Request) -> web.Response:
        channel_id = int(request.match_info["channel"])
        refused = self._refusal(channel_id)
        if refused is not None:
            return refused
        throttle = self._take_throttle(channel_id)
        if throttle is not None:
            return self._too_many(throttle.retry_after, is_global=throttle.is_global)
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        if not body.get("content") and not body.get("embeds"):
            return _error(400, 50006, "Cannot send an empty message")
        problems = embed_problems(body.get("embeds") or [], body.get("content") or "")
        problems |= component_problems(body.get("components") or [])
        if problems:
            return _error(400, 50035, "Invalid Form Body", problems)
        reference = body.get("message_reference")
        missing = isinstance(reference, dict) and not self._reference(channel_id, reference)
        if missing and reference.get("fail_if_not_exists", True):
            unknown = {"_errors": [{"code": "REPLIES_UNKNOWN_MESSAGE", "message": "Unknown message"}]}
            return _error(400, 50035, "Invalid Form Body", {"message_reference": unknown})
        nonce = body.get("nonce")
        if nonce is not None and len(str(nonce)) > 25:
            return _error(400, 50035, "Invalid Form Body", {"nonce": {"_errors": [NONCE_TOO_LONG]}})
        headers = self._bucket_headers(channel_id)
        if isinstance(headers, web.Response):
            return headers
        hold = self._post_holds.arrive()
        if await pause(hold, "received"):
            return _error(503, 0, "Service Unavailable")
        earlier = self._earlier_with_nonce(channel_id, body)
        if earlier is not None:
            self.nonce_repeats += 1
            return _json(earlier, headers=headers)
        message = self._message(channel_id, body)
        self.messages[channel_id].append(message)
        if nonce is not None:
            self._nonces[(channel_id, str(nonce))] = (time.monotonic(), message)
        await pause(hold, "answered")
        return _json({**message, **({"nonce": str(nonce)} if nonce is not None else {})}, headers=headers)

    def _earlier_with_nonce(self, channel_id: int, body: dict[str, Any]) -> dict[str, Any] | None:
        """The message an enforced nonce already made here within the window, if any."""
        if body.get("nonce") is None or not body.get("enforce_nonce"):
            return None
        seen = self._nonces.get((channel_id, str(body["nonce"])))
        if seen is None or time.monotonic() - seen[0] > self.nonce_window:
            return None
        return {**seen[1], "nonce": str(body["nonce"])}

    async def _patch_message(self, request: web.Request) -> web.Response:
        """Edit a message: the fields given replace the old ones, `edited_timestamp` is set,
        the id, place and nonce stay. 10008 Unknown Message when it is gone."""
        channel_id, message_id = int(request.match_info["channel"]), request.match_info["message"]
        refused = self._refusal(channel_id)
        if refused is not None:
            return refused
        message = next((m for m in self.messages[channel_id] if m["id"] == message_id), None)
        if message is None:
            return _error(404, 10008, "Unknown Message")
        if message["author"]["id"] != self.bot_user["id"]:
            return _error(403, 50005, "Cannot edit a message authored by another user")
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        problems = embed_problems(body.get("embeds") or [], body.get("content") or "")
        if problems:
            return _error(400, 50035, "Invalid Form Body", problems)
        hold = self._edit_holds.arrive()
        if await pause(hold, "received"):
            return _error(503, 0, "Service Unavailable")
        for name in ("content", "embeds", "flags", "allowed_mentions", "components"):
            if name in body:
                message[name] = body[name] if body[name] is not None else message.get(name)
        message["edited_timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())
        self.edits.append({"channel_id": channel_id, "message_id": message_id, "body": body})
        await pause(hold, "answered")
        return _json(message)

    def delete_message(self, channel_id: int, message_id: str) -> None:
        """A moderator deleted the message: editing it answers 10008 Unknown Message."""
        self.messages[channel_id] = [m for m in self.messages[channel_id] if m["id"] != message_id]

    async def _get_messages(self, request: web.Request) -> web.Response:
        """A channel's messages, newest first: the newest `limit`, or those just `before` or
        just `after` a message id (an `after` page is the oldest ones past it)."""
        channel_id = int(request.match_info["channel"])
        if not self._channel_exists(channel_id):
            return _error(404, 10003, "Unknown Channel")
        if channel_id in self.denied or channel_id in self.history_denied:
            return _error(403, 50001, "Missing Access")
        try:
            limit = int(request.query.get("limit", "50"))
            before = int(request.query["before"]) if "before" in request.query else None
            after = int(request.query["after"]) if "after" in request.query else None
        except ValueError:
            return _error(400, 50035, "Invalid Form Body")
        if not 1 <= limit <= 100:
            return _error(400, 50035, "Invalid Form Body", {"limit": {"_errors": [LIMIT_RANGE]}})
        oldest_first = sorted(self.messages.get(channel_id, []), key=lambda m: int(m["id"]))
        if after is not None:
            page = [m for m in oldest_first if int(m["id"]) > after][:limit]
        else:
            page = [m for m in oldest_first if before is None or int(m["id"]) < before][-limit:]
        return _json(list(reversed(page)))

    async def _post_thread(self, request: web.Request) -> web.Response:
        channel_id, message_id = int(request.match_info["channel"]), int(request.match_info["message"])
        if not self._channel_exists(channel_id):
            return _error(404, 10003, "Unknown Channel")
        if channel_id in self.denied:
            return _error(403, *self.denied[channel_id])
        if not any(int(m["id"]) == message_id for m in self.messages[channel_id]):
            return _error(404, 10008, "Unknown Message")
        if message_id in self.threads:
            return _error(400, 160004, "A thread has already been created for this message")
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        name = str(body.get("name") or "")
        if not 1 <= len(name) <= 100:
            return _error(
                400, 50035, "Invalid Form Body", {"name": {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH"}]}}
            )
        guild_id = next(g for g, c in self.guilds.items() if channel_id in c)
        thread = {
            "id": str(message_id),
            "type": 11,
            "guild_id": str(guild_id),
            "parent_id": str(channel_id),
            "name": name,
            "owner_id": str(self.app_id),
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "flags": 0,
            "total_message_sent": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": body.get("auto_archive_duration", 1440),
                "archive_timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                "locked": False,
            },
        }
        self.threads[message_id] = thread
        return _json(thread, 201)

    # --- REST: interactions ------------------------------------------------------------

    async def _post_callback(self, request: web.Request) -> web.Response:
        pending = self._interactions.get(int(request.match_info["id"]))
        if pending is None or pending.token != request.match_info["token"]:
            return _error(404, 10062, "Unknown interaction")
        if pending.callback.done():
            return _error(400, 40060, "Interaction has already been acknowledged.")
        late = self.interaction_deadline is not None and (
            asyncio.get_running_loop().time() - pending.created > self.interaction_deadline
        )
        if late:
            return _error(404, 10062, "Unknown interaction")
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        kind, data = body.get("type"), body.get("data") or {}
        if kind == CHANNEL_MESSAGE:
            problems = embed_problems(data.get("embeds") or [], data.get("content") or "")
            if problems:
                return _error(400, 50035, "Invalid Form Body", problems)
        elif kind == AUTOCOMPLETE_RESULT:
            choices = data.get("choices") or []
            bad = len(choices) > 25 or any(
                not 1 <= len(c.get("name", "")) <= 100 or len(str(c.get("value", ""))) > 100 for c in choices
            )
            if bad:
                return _error(400, 50035, "Invalid Form Body", {"data": {"choices": {"_errors": []}}})
        elif kind != DEFERRED_MESSAGE:
            return _error(400, 50035, "Invalid Form Body", {"type": {"_errors": []}})
        record = {"interaction_id": pending.id, "type": kind, "data": data}
        self.callbacks.append(record)
        pending.callback.set_result(record)
        channel_id = int(pending.payload["channel_id"])
        message = self._message(channel_id, data, interaction=True) if kind in (4, 5) else None
        if request.query.get("with_response") not in ("1", "true"):
            return web.Response(status=204)
        interaction = {
            "id": str(pending.id),
            "type": pending.payload["type"],
            "response_message_id": message["id"] if message else None,
            "response_message_loading": kind == DEFERRED_MESSAGE,
            "response_message_ephemeral": bool(int(data.get("flags") or 0) & EPHEMERAL_FLAG),
        }
        resource: dict[str, Any] = {"type": kind}
        if message is not None:
            resource["message"] = message
        return _json({"interaction": interaction, "resource": resource})

    def _pending_by_token(self, request: web.Request) -> Interaction | None:
        if request.match_info["app"] != str(self.app_id):
            return None
        return next((p for p in self._interactions.values() if p.token == request.match_info["token"]), None)

    async def _post_followup(self, request: web.Request) -> web.Response:
        pending = self._pending_by_token(request)
        if pending is None or not pending.callback.done():
            return _error(404, 10015, "Unknown Webhook")
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        message = self._message(int(pending.payload["channel_id"]), body, interaction=True)
        self.followups.append({"interaction_id": pending.id, "data": body})
        return _json(message)

    async def _patch_original(self, request: web.Request) -> web.Response:
        return await self._post_followup(request)

    # --- control endpoints for running the fake by hand ---------------------------------

    async def _control_messages(self, request: web.Request) -> web.Response:
        return _json({str(c): m for c, m in self.messages.items()})

    async def _control_story(self, request: web.Request) -> web.Response:
        query = (await request.text()).strip()
        try:
            return _json(await self.slash(query))
        except (RuntimeError, TimeoutError) as err:
            return _json({"error": str(err) or "the bot did not answer"}, 503)


async def _serve(port: int, token: str) -> None:
    async with FakeDiscord(port=port, token=token) as fake:
        print(f"REST base:   {fake.api_base}")
        print(f"Gateway URL: {fake.gateway_url}")
        print(f"Token:       {fake.token}")
        print(f"Guild {GUILD_ID}, channels {', '.join(map(str, CHANNEL_IDS))}")
        print(f"Try: curl -d kherson {fake.base_url}/_fake/story", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="A fake Discord on 127.0.0.1 for trying storybot.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=TOKEN)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port, args.token))


if __name__ == "__main__":
    main()
