"""The Slack adapter: a bolt AsyncApp that answers /story and posts alerts.

Two ways in, one app: Socket Mode (an app-level token, no public URL: the default) or HTTP
mode (Slack posts signed requests to our aiohttp server; bolt checks the signature and the
timestamp). Handlers ack first, inside Slack's three seconds, then answer via response_url.
Alerts carry their delivery key as message metadata, which `find_sent` reads back
(adapters/slack/sent.py).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.base import ChatAdapter
from adapters.slack.client import (
    SlackStartError,
    Sleep,
    delivery_error,
    error_code,
    make_client,
    socket_url,
    who_am_i,
)
from adapters.slack.render import (
    SHARE_ACTION,
    TIMELINE_ACTION,
    alert_to_blocks,
    notice_to_blocks,
    reply_to_blocks,
    share_query,
)
from adapters.slack.sent import find_post, metadata_for
from adapters.slack.settings import SlackSecrets, SlackSettings
from bot.commands import Caller, Commands
from bot.models import Alert, Notice
from bot.ports import DeliveryError, Posted

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 30.0
# Errors that mean the thread we were asked to join is gone: start a new one instead.
LOST_THREAD = {"thread_not_found", "message_not_found"}


class _ExpectedClientWarning(logging.Filter):
    """bolt warns that SLACK_BOT_TOKEN in the environment goes unused when it is handed a
    client; handing it our client (with our base_url and retry policy) is the point."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


BOLT_LOG = logging.getLogger("adapters.slack.bolt")


class SlackAdapter(ChatAdapter):
    """One Slack workspace. `start()` checks the bot token (auth.test) before listening."""

    platform = "slack"

    def __init__(
        self,
        commands: Commands,
        settings: SlackSettings,
        secrets: SlackSecrets,
        *,
        max_wait: float = 5.0,
        sleep: Sleep = asyncio.sleep,
        listen: bool = True,
    ) -> None:
        super().__init__(commands)
        self.listen = listen  # False: alerts only, /story is the front's
        self.settings = settings
        self._secrets = secrets
        if not any(isinstance(f, _ExpectedClientWarning) for f in BOLT_LOG.filters):
            BOLT_LOG.addFilter(_ExpectedClientWarning())
        self.client = make_client(secrets.bot_token, settings.api_url, max_wait=max_wait, sleep=sleep)
        self.app = AsyncApp(
            name="storybot",
            client=self.client,
            signing_secret=secrets.signing_secret or "",
            logger=BOLT_LOG,
        )
        self.app.command("/story")(self._on_story)
        self.app.action(SHARE_ACTION)(self._on_share)
        self.app.action(TIMELINE_ACTION)(self._on_timeline)
        self.url: str | None = None  # the HTTP-mode request URL once serving
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._session: aiohttp.ClientSession | None = None

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        # one connection pool for every Web API call (slack_sdk otherwise opens one a call)
        self.client.session = self._session = aiohttp.ClientSession()
        try:
            who = await who_am_i(self.client, self.settings.bot_token_env)
            if self.listen and self.settings.mode == "http":
                await self._serve_http()
            elif self.listen:
                await self._connect_socket()
        except BaseException:
            await self.close()
            raise
        mode = self.settings.mode if self.listen else "alerts only"
        log.info("slack: connected to %s as %s (%s mode)", who.get("team"), who.get("user"), mode)

    async def close(self) -> None:
        if self._socket is not None:
            socket, self._socket = self._socket, None
            await socket.close_async()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def _serve_http(self) -> None:
        server = web.Application()
        server.router.add_post(self.settings.path, self._http_request)
        self._runner = web.AppRunner(server)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        try:
            await site.start()
        except OSError as err:
            await self.close()
            where = f"{self.settings.host}:{self.settings.port}"
            raise SlackStartError(f"cannot listen on {where}: {err}") from None
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}{self.settings.path}"
        log.info("slack: HTTP mode, request URL %s", self.url)

    async def _http_request(self, request: web.Request) -> web.Response:
        response = await self.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    async def _connect_socket(self) -> None:
        app_token = self._secrets.app_token or ""
        url = await socket_url(self.client, app_token, self.settings.app_token_env)
        self._socket = AsyncSocketModeHandler(self.app, app_token, web_client=self.client)
        self._socket.client.wss_uri = url
        try:
            await asyncio.wait_for(self._socket.connect_async(), CONNECT_TIMEOUT)
        except TimeoutError:
            await self.close()
            raise SlackStartError("cannot open Slack's Socket Mode websocket") from None

    # --- /story and the buttons -----------------------------------------------------------

    async def _on_story(self, ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()
        caller = Caller(self.platform, str(command.get("user_id", "")), command.get("channel_id"))
        reply = await self.commands.handle(command_text(str(command.get("text", ""))), caller)
        ephemeral = self.settings.ephemeral
        text, blocks = reply_to_blocks(reply, share=share_query(reply) if ephemeral else None)
        answer = {
            "text": text,
            "blocks": blocks,
            "response_type": "ephemeral" if ephemeral else "in_channel",
            "unfurl_links": False,
            "unfurl_media": False,
        }
        response_url = command.get("response_url")
        if self._session is None or not response_url:
            await respond(**answer)
            return
        # bolt's respond() opens a new HTTP session and connection per answer: at 100
        # commands a second that was most of an answer's cost; ours keeps connections open
        await AsyncWebhookClient(str(response_url), session=self._session).send_dict(answer)

    async def _on_share(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        """Post the answer the user saw privately to the channel, then drop the private copy."""
        await ack()
        await self._answer_click(body, respond, response_type="in_channel", share=False)
        await respond(delete_original=True)

    async def _on_timeline(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        """An alert's "Full timeline": the core's `/story timeline <id>`, shown to the clicker
        only (with the usual "Share to channel"); the alert itself stays as it is."""
        await ack()
        await self._answer_click(body, respond, response_type="ephemeral", share=True)

    async def _answer_click(
        self, body: dict[str, Any], respond: Any, *, response_type: str, share: bool
    ) -> None:
        """Run the command a button carries as its value, and answer at the click's response_url."""
        action = (body.get("actions") or [{}])[0]
        user, channel = body.get("user") or {}, body.get("channel") or {}
        caller = Caller(self.platform, str(user.get("id", "")), channel.get("id"))
        reply = await self.commands.handle(str(action.get("value", "")), caller)
        text, blocks = reply_to_blocks(reply, share=share_query(reply) if share else None)
        await respond(
            text=text,
            blocks=blocks,
            response_type=response_type,
            replace_original=False,
            unfurl_links=False,
            unfurl_media=False,
        )

    # --- alerts ------------------------------------------------------------------------

    async def send_alert(
        self, channel: str, alert: Alert | Notice, thread_id: str | None, *, key: str | None = None
    ) -> Posted:
        threads = self.settings.threads and isinstance(alert, Alert)  # a notice stands alone
        note = isinstance(alert, Alert) and alert.note  # a note replies to what it corrects
        thread = thread_id if threads or note else None
        try:
            ts = await self._post(channel, alert, thread, key)
        except SlackApiError as err:
            if thread is None or error_code(err) not in LOST_THREAD:
                raise self._failure(err, channel) from None
            log.info("slack: thread %s in %s is gone; starting a new one", thread, channel)
            thread = None
            try:
                ts = await self._post(channel, alert, None, key)
            except SlackApiError as err2:
                raise self._failure(err2, channel) from None
        except (aiohttp.ClientError, TimeoutError) as err:
            raise DeliveryError(f"slack {channel}: cannot reach Slack ({type(err).__name__})") from None
        return Posted(message_id=ts, thread_id=(thread or ts) if threads else None)

    async def _post(self, channel: str, alert: Alert | Notice, thread: str | None, key: str | None) -> str:
        text, blocks = notice_to_blocks(alert) if isinstance(alert, Notice) else alert_to_blocks(alert)
        response = await self.client.chat_postMessage(
            channel=channel,
            text=text,
            blocks=blocks,
            thread_ts=thread,
            unfurl_links=False,
            unfurl_media=False,
            metadata=metadata_for(key) if key else None,
        )
        return str(response["ts"])

    async def edit_alert(
        self, channel: str, message_id: str, alert: Alert, *, thread_id: str | None = None
    ) -> None:
        """chat.update: the message keeps its place (and its thread); `message_not_found`
        (deleted) or `cant_update_message` is a permanent DeliveryError."""
        text, blocks = alert_to_blocks(alert)
        try:
            await self.client.chat_update(channel=channel, ts=message_id, text=text, blocks=blocks)
        except SlackApiError as err:
            raise delivery_error(err, channel) from None
        except (aiohttp.ClientError, TimeoutError) as err:
            raise DeliveryError(f"slack {channel}: cannot reach Slack ({type(err).__name__})") from None

    async def find_sent(
        self, channel: str, key: str, thread_id: str | None, since: datetime
    ) -> Posted | None:
        """The alert message carrying `key`, read back from the channel's history (and from
        `thread_id`'s replies first: a correction's note is a reply even with threads off)."""
        threads = self.settings.threads
        try:
            found = await find_post(self.client, channel, key, since, thread_id)
        except SlackApiError as err:
            if error_code(err) != "missing_scope":
                raise delivery_error(err, channel) from None
            needed = err.response.get("needed") or "channels:history"
            reason = f"slack {channel}: cannot read history without the {needed} scope"
            log.warning("slack: %s; reinstall the app from the manifest to grant it", reason)
            raise DeliveryError(reason, permanent=True) from None
        except (aiohttp.ClientError, TimeoutError) as err:
            raise DeliveryError(f"slack {channel}: cannot reach Slack ({type(err).__name__})") from None
        if found is None:
            return None
        ts, thread = found
        return Posted(message_id=ts, thread_id=(thread or ts) if threads else None)

    def _failure(self, err: SlackApiError, channel: str) -> DeliveryError:
        failure = delivery_error(err, channel)
        if failure.permanent:
            log.warning(
                "slack: cannot post to channel %s: %s (is the bot invited there? is the id right?)",
                channel,
                error_code(err),
            )
        return failure


def command_text(raw: str) -> str:
    """What the user typed: Slack sends slash-command text with `&`, `<`, `>` escaped."""
    return raw.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
