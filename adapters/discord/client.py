"""The Discord adapter: a discord.py client that answers /story and posts alerts.

Alerts go over REST to a partial channel (`get_partial_messageable`), so they need no guild
cache and work the moment the client has logged in. Each carries its delivery key twice: as
the message nonce (discord.py sends `enforce_nonce: true` with any nonce, so Discord answers a
repeat within a few minutes with the first message instead of a new one), and at the end of
the embed footer, where `find_sent` finds it later by reading the channel (which needs the
Read Message History permission). Everything sent carries
`AllowedMentions.none()`, both as the client default and on each call. discord.py's own
rate-limit buckets absorb 429s; what they give up on becomes a DeliveryError with the wait
Discord asked for, so the dispatcher retries later instead of dropping the alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.base import ChatAdapter
from adapters.discord.commands import NO_PINGS, TimelineButton, story_command, timeline_view
from adapters.discord.render import alert_to_embed, footer_has_key, notice_to_embed, plain_clip
from adapters.discord.settings import DiscordSettings
from bot.commands import Commands
from bot.models import Alert, Notice
from bot.ports import DeliveryError, Posted, StartError

log = logging.getLogger(__name__)

THREAD_ARCHIVE_MINUTES = 10080  # a week: stories update over days
HISTORY_PAGE = 100  # Discord's most messages per read
HISTORY_PAGES = 10  # 1,000 messages since the first attempt; a busier channel is not searched further
CONNECT_TIMEOUT = 60.0


class DiscordStartError(StartError):
    """Discord cannot be used: the token was rejected, or the gateway never became ready."""


def intents() -> discord.Intents:
    """No privileged intents. `guilds` (not privileged) keeps discord.py's guild and channel
    objects whole for interactions; alerts do not depend on it."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    return wanted


@contextlib.contextmanager
def endpoints(settings: DiscordSettings) -> Iterator[None]:
    """Point discord.py at `api_base`/`gateway_url` (a local fake) while the block runs.
    They are class attributes in discord.py, so the previous values come back afterwards."""
    base, gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    if settings.api_base:
        Route.BASE = settings.api_base
    if settings.gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = base, gateway


class StoryClient(discord.Client):
    """discord.Client with the /story tree; syncs commands on login when asked to."""

    def __init__(
        self, settings: DiscordSettings, commands: Commands | None, *, sync: bool, defer_after: float = 2.0
    ):
        # storybot never joins voice: skip discord.py's warnings about voice libraries.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        options: dict[str, float | int] = {}
        if settings.guild_ready_timeout is not None:
            options["guild_ready_timeout"] = settings.guild_ready_timeout
        if settings.shard_id is not None and settings.shard_count is not None:
            options.update(shard_id=settings.shard_id, shard_count=settings.shard_count)
        super().__init__(intents=intents(), allowed_mentions=NO_PINGS, **options)
        self.settings = settings
        self.sync_on_login = sync
        self.commands = commands  # what TimelineButton clicks are answered with
        self.defer_after = defer_after
        self.add_dynamic_items(TimelineButton)
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(story_command(commands, ephemeral=settings.ephemeral, defer_after=defer_after))
        self.tree.error(self._command_error)

    async def setup_hook(self) -> None:
        if self.sync_on_login:
            await sync_commands(self.tree, self.settings.guilds)

    async def _command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        log.error("discord: /story failed in channel %s: %s", interaction.channel_id, error, exc_info=error)


async def sync_commands(tree: app_commands.CommandTree, guilds: tuple[int, ...]) -> list[str]:
    """Register /story in each guild (instant) or, with no guilds, globally (Discord may take
    up to an hour to show it). A guild that refuses is logged; the others still sync."""
    done: list[str] = []
    if not guilds:
        synced = await tree.sync()
        done.append(f"globally: {', '.join('/' + c.name for c in synced)}")
    for guild_id in guilds:
        guild = discord.Object(id=guild_id)
        tree.copy_global_to(guild=guild)
        try:
            synced = await tree.sync(guild=guild)
        except discord.HTTPException as err:
            log.error(
                "discord: cannot register /story in guild %s: %s (invite the bot with the "
                "applications.commands scope: storybot discord invite-url)",
                guild_id,
                err.text or err.status,
            )
            continue
        done.append(f"guild {guild_id}: {', '.join('/' + c.name for c in synced)}")
    return done


def delivery_error(err: Exception, channel: str) -> DeliveryError:
    """Discord's answer -> what the dispatcher should do. 403/404/400 cannot get better by
    retrying; 429s carry the wait Discord asked for; 5xx and network trouble are transient."""
    if isinstance(err, DeliveryError):
        return err
    if isinstance(err, discord.RateLimited):
        return DeliveryError(
            f"rate limited by Discord for {err.retry_after:.1f}s", retry_after=err.retry_after
        )
    if isinstance(err, discord.HTTPException):
        what = f"Discord {err.status} {err.text or ''}".strip() + (f" (code {err.code})" if err.code else "")
        if err.status == 429:
            return DeliveryError(what, retry_after=_retry_after(err))
        if err.status in (400, 403, 404):
            log.warning("discord: cannot post to channel %s: %s", channel, what)
            return DeliveryError(what, permanent=True)
        return DeliveryError(what)
    return DeliveryError(f"cannot reach Discord: {type(err).__name__}: {err}")


def _retry_after(err: discord.HTTPException) -> float:
    try:
        return max(0.0, float(err.response.headers.get("Retry-After", 1)))
    except (TypeError, ValueError):
        return 1.0


class DiscordAdapter(ChatAdapter):
    """One bot connection: start() logs in, syncs /story and waits for the gateway."""

    platform = "discord"

    def __init__(
        self,
        commands: Commands,
        settings: DiscordSettings,
        token: str,
        *,
        defer_after: float = 2.0,
        listen: bool = True,
    ):
        super().__init__(commands)
        self.listen = listen  # False: REST only (a worker's alerts); no gateway, no command sync
        self.settings = settings
        self._token = token
        self._defer_after = defer_after
        self._client: StoryClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._endpoints: contextlib.ExitStack | None = None

    def __repr__(self) -> str:  # never show the token
        return f"DiscordAdapter(guilds={list(self.settings.guilds)}, threads={self.settings.threads})"

    @property
    def client(self) -> StoryClient:
        if self._client is None:
            raise RuntimeError("the Discord adapter is not started")
        return self._client

    async def start(self) -> None:
        self._endpoints = contextlib.ExitStack()
        self._endpoints.enter_context(endpoints(self.settings))
        client = self._client = StoryClient(
            self.settings, self.commands, sync=self.listen, defer_after=self._defer_after
        )
        try:
            await client.login(self._token)
        except discord.LoginFailure:
            await self.close()
            raise DiscordStartError(
                f"Discord rejected the token in {self.settings.token_env}: copy the bot token again "
                "from the Developer Portal (Bot -> Reset Token)"
            ) from None
        except (discord.HTTPException, aiohttp.ClientError, OSError) as err:
            await self.close()
            raise DiscordStartError(f"cannot reach Discord: {err}") from None
        if not self.listen:
            log.info("discord: logged in for alerts over REST (no gateway)")
            return
        self._task = asyncio.create_task(client.connect(reconnect=True), name="discord-gateway")
        self._task.add_done_callback(_report_gateway_end)
        await self._wait_ready(client, self._task)

    async def _wait_ready(self, client: StoryClient, task: asyncio.Task[None]) -> None:
        ready = asyncio.ensure_future(client.wait_until_ready())
        done, _ = await asyncio.wait(
            {task, ready}, timeout=CONNECT_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        ready.cancel()
        if ready in done:
            log.info("discord: connected as %s", client.user)
            return
        error = task.exception() if task in done and not task.cancelled() else None
        await self.close()
        if isinstance(error, discord.ConnectionClosed) and error.code == 4004:
            raise DiscordStartError(f"Discord rejected the token in {self.settings.token_env}")
        raise DiscordStartError(f"the Discord gateway did not become ready: {error or 'timed out'}")

    async def close(self) -> None:
        client, task = self._client, self._task
        self._client = self._task = None
        if client is not None:
            await client.close()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._endpoints is not None:
            self._endpoints.close()
            self._endpoints = None

    async def send_alert(
        self, channel: str, alert: Alert | Notice, thread_id: str | None, *, key: str | None = None
    ) -> Posted:
        """Post to the channel; with threads on, later alerts of a story go to the thread
        opened on its first one (a thread started from a message has that message's id). An
        admin notice goes to the channel itself, and opens no thread."""
        if isinstance(alert, Notice):
            try:
                return Posted(str((await self._post(channel, notice_to_embed(alert, key), key, None)).id))
            except Exception as err:
                raise delivery_error(err, channel) from err
        embed = alert_to_embed(alert, key)
        button = None if alert.note else alert.story_id  # a note has no "Full timeline" button
        if alert.note and thread_id and not self.settings.threads:
            try:  # no threads: a note replies to the alert it corrects (posted even if that is gone)
                message = await self._post(channel, embed, key, None, reply_to=thread_id)
            except Exception as err:
                raise delivery_error(err, channel) from err
            return Posted(str(message.id))
        if self.settings.threads and thread_id:
            try:
                message = await self._post(thread_id, embed, key, button)
                return Posted(str(message.id), thread_id)
            except (discord.NotFound, discord.Forbidden) as err:
                log.warning(
                    "discord: thread %s in channel %s is gone (%s); posting to the channel",
                    thread_id,
                    channel,
                    err.text,
                )
            except Exception as err:
                raise delivery_error(err, channel) from err
        try:
            message = await self._post(channel, embed, key, button)
        except Exception as err:
            raise delivery_error(err, channel) from err
        if not self.settings.threads:
            return Posted(str(message.id))
        return Posted(str(message.id), await self._open_thread(channel, message.id, alert))

    async def _post(
        self,
        channel: str,
        embed: discord.Embed,
        key: str | None,
        story_id: str | None,
        *,
        reply_to: str | None = None,
    ) -> discord.Message:
        """Send `embed`; with a `story_id` (an alert, not a notice) it carries the timeline button."""
        if not channel.isdigit():
            raise DeliveryError(f"{channel!r} is not a Discord channel id", permanent=True)
        target = self.client.get_partial_messageable(int(channel))
        reference = None
        if reply_to is not None and reply_to.isdigit():
            reference = discord.MessageReference(
                message_id=int(reply_to), channel_id=int(channel), fail_if_not_exists=False
            )
        # a nonce makes discord.py send enforce_nonce: true; without a key it picks a random one
        extra: dict[str, Any] = {}
        if story_id is not None:  # an alert has a "Full timeline" button; a note or a notice not
            extra["view"] = timeline_view(story_id)
        if reference is not None:
            extra["reference"] = reference
        return await target.send(embed=embed, allowed_mentions=NO_PINGS, nonce=key, **extra)

    async def edit_alert(
        self, channel: str, message_id: str, alert: Alert, *, thread_id: str | None = None
    ) -> None:
        """PATCH the message with the corrected embed (its button stays). A later alert of a
        story with threads on lives in the thread (a channel of its own); the first one, the
        thread's anchor, has the thread's id and lives in the channel. 10008 Unknown Message
        (deleted) is permanent."""
        where = thread_id if thread_id and thread_id != message_id else channel
        if not where.isdigit() or not message_id.isdigit():
            raise DeliveryError(f"{where!r}/{message_id!r} is not a Discord message", permanent=True)
        message = self.client.get_partial_messageable(int(where)).get_partial_message(int(message_id))
        try:
            await message.edit(embed=alert_to_embed(alert), allowed_mentions=NO_PINGS)
        except Exception as err:
            raise delivery_error(err, channel) from err

    async def find_sent(
        self, channel: str, key: str, thread_id: str | None, since: datetime
    ) -> Posted | None:
        """The alert carrying `key`, read back from the thread it would have gone to, then
        the channel. With threads on, a post found in the channel is taken as its thread's
        anchor (a thread has its first message's id; if it was never opened, the next alert's
        post there fails over to the channel, as for any lost thread)."""
        if not channel.isdigit():
            raise DeliveryError(f"{channel!r} is not a Discord channel id", permanent=True)
        threads = self.settings.threads
        if threads and thread_id:
            try:
                found = await self._find_in(thread_id, key, since)
            except discord.NotFound:
                found = None  # the thread is gone; a send went to the channel
            except Exception as err:
                raise self._lookup_failure(err, channel) from err
            if found is not None:
                return Posted(found, thread_id)
        try:
            found = await self._find_in(channel, key, since)
        except Exception as err:
            raise self._lookup_failure(err, channel) from err
        if found is None:
            return None
        return Posted(found, found if threads else None)

    async def _find_in(self, channel: str, key: str, since: datetime) -> str | None:
        """Page forward from `since` through the channel's messages for our post with `key`."""
        after = discord.utils.time_snowflake(since)
        me = str(self.client.user.id) if self.client.user else None
        for _ in range(HISTORY_PAGES):
            page: list[Any] = await self.client.http.logs_from(int(channel), HISTORY_PAGE, after=after)
            for message in page:
                ours = me is None or str((message.get("author") or {}).get("id")) == me
                if ours and any(footer_has_key(e, key) for e in message.get("embeds") or []):
                    return str(message["id"])
            if len(page) < HISTORY_PAGE:
                return None
            after = max(int(m["id"]) for m in page)
        log.warning(
            "discord: channel %s holds over %d messages since %s; stopped looking",
            channel,
            HISTORY_PAGE * HISTORY_PAGES,
            since,
        )
        return None

    def _lookup_failure(self, err: Exception, channel: str) -> DeliveryError:
        if isinstance(err, discord.Forbidden):
            reason = f"discord {channel}: cannot read messages there (Read Message History permission)"
            log.warning("discord: %s; invite the bot again with storybot discord invite-url", reason)
            return DeliveryError(reason, permanent=True)
        return delivery_error(err, channel)

    async def _open_thread(self, channel: str, message_id: int, alert: Alert) -> str | None:
        """The alert is already out; a thread we cannot open only means no thread."""
        name = plain_clip(alert.story_title or alert.story_id, 100)
        try:
            thread = await self.client.http.start_thread_with_message(
                int(channel), message_id, name=name, auto_archive_duration=THREAD_ARCHIVE_MINUTES
            )
        except (discord.HTTPException, aiohttp.ClientError, OSError) as err:
            log.warning("discord: posted to channel %s but cannot open a thread there: %s", channel, err)
            return None
        return str(thread["id"])


def _report_gateway_end(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.error("discord: the gateway connection ended: %s", error)
