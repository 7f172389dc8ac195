"""The one owner of lifetimes: HTTP client, store, scheduler, dispatcher, platforms.

Opened in order, closed in reverse. The app drives the pipeline (poll -> deliver) and
watches config.toml; it knows platforms only as `bot.ports.Platform`s handed to it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bot.catalog import catch_up_for, sync_catalog
from bot.commands import Commands
from bot.config import FEED_ORIGIN, Config, ConfigError, load_config
from bot.deliver import DeliveryReport, Dispatcher
from bot.faults import FaultLog
from bot.feedwatch import FeedOutcome, FeedStatus, poll_feed
from bot.fetch import Fetcher, make_client
from bot.metrics import NO_METRICS, Metrics
from bot.model_summaries import ModelSummarizer, endpoint_from
from bot.overlay import effective_config
from bot.pipeline import PollMemo, PollOutcome, PollStatus, poll_story
from bot.pollcache import CheckBatch, ValidatorCache
from bot.ports import Platform
from bot.preview import RETRIES as PREVIEW_RETRIES
from bot.preview import Preview, fetch_preview
from bot.scheduler import PollScheduler
from bot.storage import HeldState, Store, StoreError, now_utc, open_store

log = logging.getLogger(__name__)

CONFIG_CHECK_SECONDS = 2.0
PAUSED_REFRESH_SECONDS = 30.0  # how soon a pause or resume made by another process is followed
HELD_CHECK_SECONDS = 10.0  # how soon what another process added to the store is followed
HEALTH_TIMEOUT = 2.0
STOP_GRACE = 10.0  # seconds a stopping poll may take beyond its fetch deadline (storing what it found)
PRUNE_HOURS = 24.0

ConfigLoader = Callable[[Path], Config]
"""Reads and validates a config file, raising ConfigError. The CLI hands the app the loader
`storybot check` runs (platform tables included), so a reload accepts exactly what check does."""


class StoryBot:
    """Everything a running storybot holds. Use `async with StoryBot.open(config) as bot`."""

    def __init__(
        self,
        config: Config,
        store: Store,
        client: httpx.AsyncClient,
        config_path: Path | None = None,
        load: ConfigLoader = load_config,
        *,
        shared_store: bool = False,
        summarizer: ModelSummarizer | None = None,
        metrics: Metrics = NO_METRICS,
    ):
        self.file_config = config  # what config.toml says
        self.config = config  # what the app runs on: config.toml plus what the store holds (bot.overlay)
        self._held: HeldState | None = None
        self._merged_until: datetime | None = None  # when a held story merged in expires next
        self._held_revision: int | None = None  # the store's held revision read before `_held`
        self._deriving = asyncio.Lock()  # one re-derivation at a time: a reply waits for its change
        self.metrics = metrics
        self.metrics_url: str | None = None  # where /metrics is served while running, when it is
        self.config_path = config_path
        self.load = load
        self.store = store
        self.client = client
        self.fetcher = self._fetcher(config)
        self.summarizer = summarizer  # model summaries of new updates ([summaries]); None: extractive
        # the cheap 304 path (bot.pollcache); a store other processes write to is asked each poll
        self.checks = CheckBatch(store)
        self.memo = PollMemo(ValidatorCache(remember=not shared_store), self.checks)
        self.commands = Commands(
            store,
            lambda: self.config,
            poll=self._poll_for_command,
            preview=self.preview_page,
            on_change=self.refresh_held,
            resume=self.resume,
        )
        self.paused: set[str] = set()  # stories paused for failing: polled no more until resumed
        self.platforms: list[Platform] = []
        self.dispatcher = Dispatcher(
            store,
            {},
            metrics=metrics,
            catch_up_view=lambda alert, channel: catch_up_for(self.config, alert, channel),
        )
        self.scheduler = PollScheduler(self.poll, self.read_feed)
        self._poll_slots = asyncio.Semaphore(config.storybot.max_polls)
        self.polls = True  # whether run() polls on schedule (False: a front, workers poll)
        self._exit = AsyncExitStack()
        self._config_mtime = _mtime(config_path)
        self._config_refused: str | None = None  # the last refusal logged, so it is logged once
        self.store_faults = FaultLog(log)
        self._reloads: set[asyncio.Task[bool]] = set()
        self._reload_lock = asyncio.Lock()

    @classmethod
    async def create(
        cls,
        config: Config,
        config_path: Path | None = None,
        load: ConfigLoader = load_config,
        store: Store | None = None,
        environ: Mapping[str, str] = os.environ,
    ) -> StoryBot:
        """Open the store (StoreError if it cannot be), the HTTP client, and sync the catalog.
        `store`: one the caller opened (a worker's, see bot/jobs/store_access.py); the bot
        closes it with the rest."""
        shared = store is not None
        if store is None:
            store = await open_store(config.database(environ))
        client = make_client(
            timeout=config.storybot.timeout,
            user_agent=config.storybot.user_agent,
            policy=config.address_policy,
            per_host=config.storybot.per_host,
        )
        endpoint = endpoint_from(config.summaries, environ)
        summarizer = ModelSummarizer(client, endpoint) if endpoint else None
        bot = cls(
            config,
            store,
            client,
            config_path,
            load,
            shared_store=shared,
            summarizer=summarizer,
            metrics=_metrics(config),
        )
        bot._exit.push_async_callback(store.close)
        bot._exit.push_async_callback(client.aclose)
        bot._exit.push_async_callback(bot.checks.close)  # waiting check times written before the store closes
        try:
            bot._held_revision = await store.held_revision()
            bot.config = bot._merge(await store.held(now_utc()))
            await sync_catalog(store, bot.config)
            await bot.refresh_paused()
        except BaseException:
            await bot.close()
            raise
        return bot

    async def __aenter__(self) -> StoryBot:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop polling, finish sends under way, close platforms, then the client and store."""
        self.scheduler.shutdown()
        await self.dispatcher.drain()
        await self._exit.aclose()

    def _fetcher(self, config: Config, **options: Any) -> Fetcher:
        return Fetcher(
            self.client,
            base_dir=config.base_dir,
            files_dir=config.files_path,
            max_bytes=config.storybot.max_bytes,
            per_host=config.storybot.per_host,
            deadline=config.storybot.fetch_deadline,
            **options,
        )

    async def preview_page(self, url: str) -> Preview:
        """What `/story track` shows before tracking: read through the app's own client, so the
        address policy, body cap and deadline are the poller's; one retry (a person waits)."""
        return await fetch_preview(url, fetcher=self._fetcher(self.config, retries=PREVIEW_RETRIES))

    # --- the pipeline ------------------------------------------------------------------

    async def poll(self, story_id: str) -> PollOutcome | None:
        """Poll one story, once one of `max_polls` slots is free, and wake the dispatcher if it
        queued anything. The slots bound memory: without them every due poll starts at once and
        fetched pages wait, thousands of them, for the store."""
        async with self._poll_slots:
            return await self._poll_now(story_id)

    async def _poll_now(self, story_id: str) -> PollOutcome | None:
        story = self.config.story(story_id)
        if story is None:
            return None
        if story_id in self.paused:
            return PollOutcome(story_id, PollStatus.PAUSED)
        try:
            outcome = await poll_story(
                story,
                config=self.config,
                fetcher=self.fetcher,
                store=self.store,
                memo=self.memo,
                summarizer=self.summarizer,
                metrics=self.metrics,
            )
        except StoreError as err:  # a full disk, a read-only file, a server gone: it recurs each poll
            error = f"database: {err}"
            self.store_faults.failed(story_id, error)
            return PollOutcome(story_id, PollStatus.FAILED, error=error)
        self.store_faults.recovered(story_id)
        if outcome.paused:
            self.paused.add(story_id)
        if outcome.story is not None:
            self.commands.note_title(story_id, outcome.story.title)
        if outcome.event_ids:
            self.dispatcher.notify()
        return outcome

    async def refresh_paused(self) -> set[str]:
        """Read which stories are paused (another process may have paused or resumed one)."""
        self.paused = {h.id for h in await self.store.story_health() if h.paused}
        return self.paused

    async def resume(self, story_id: str) -> bool:
        """Un-pause a story and poll it soon; False when it was not paused."""
        resumed = await self.store.resume_story(story_id)
        self.paused.discard(story_id)
        if resumed and self.polls:
            self.scheduler.poll_soon(story_id)
        return resumed

    async def prune(self) -> int:
        """Drop history nobody reads (bot.storage.contract.VersionHistory.prune), and held
        stories expired for `retention_days` (kept until then so a feed that still lists an
        item does not follow it again)."""
        cutoff = now_utc() - timedelta(days=self.config.storybot.retention_days)
        pruned = await self.store.prune(cutoff)
        if await self.store.remove_expired_stories(cutoff):
            await self.refresh_held()
        log.info("pruned %d stored version(s) no diff, event or timeline needs", pruned)
        return pruned

    async def read_feed(self, feed_id: str) -> FeedOutcome | None:
        """Read one [[feeds]] feed and follow its new items (bot.feedwatch); they are polled
        from now on, their first poll a silent baseline. None if no such feed."""
        feed = self.file_config.feed(feed_id)
        if feed is None:
            return None
        try:
            outcome = await poll_feed(
                feed,
                config=self.file_config,
                fetcher=self.fetcher,
                store=self.store,
            )
            if outcome.added:
                await self.refresh_held()
        except StoreError as err:
            error = f"database: {err}"
            self.store_faults.failed(FEED_ORIGIN + feed_id, error)
            return FeedOutcome(feed_id, FeedStatus.FAILED, error=error)
        self.store_faults.recovered(FEED_ORIGIN + feed_id)
        return outcome

    async def deliver(self) -> DeliveryReport:
        return await self.dispatcher.deliver_pending()

    async def _poll_for_command(self, story_id: str) -> str:
        outcome = await self._poll_now(story_id)  # an admin asked: not behind a cycle's queue
        if outcome is None:
            return "not tracked"
        await self.deliver()
        return outcome.status.value + (f" ({outcome.error})" if outcome.error else "")

    # --- platforms and running ---------------------------------------------------------

    async def attach(self, platforms: Sequence[Platform]) -> None:
        """Start platforms (in order) and route their alerts; they are closed with the app."""
        for platform in platforms:
            await platform.start()
            self._exit.push_async_callback(platform.close)
            self.platforms.append(platform)
        self.dispatcher.senders.update({p.platform: p for p in platforms})

    async def run(self, stop: asyncio.Event | None = None, *, poll: bool = True) -> None:
        """Poll on schedule and deliver until `stop` is set (or the task is cancelled).

        poll=False: only answer commands and follow config.toml; `storybot worker`s do the
        polling and delivering (the front of a scaled-out setup)."""
        stop = stop or asyncio.Event()
        self.polls = poll
        if poll:
            self.scheduler.apply(self.config)
        housekeeping = (
            (self.check_config, CONFIG_CHECK_SECONDS, "config"),
            (self.refresh_held, HELD_CHECK_SECONDS, "held"),
            (self.refresh_paused, PAUSED_REFRESH_SECONDS, "paused"),
            (self.prune, PRUNE_HOURS * 3600, "prune"),
        )
        for job, seconds, name in housekeeping:
            self.scheduler.scheduler.add_job(
                job, "interval", seconds=seconds, id=name, max_instances=1, coalesce=True
            )
        self.scheduler.start()
        deliveries = [asyncio.create_task(self.dispatcher.run(), name="dispatcher")] if poll else []
        try:
            async with self.observed(self.health):
                await stop.wait()
        finally:
            await self.scheduler.stop(grace=self.config.storybot.fetch_deadline + STOP_GRACE)
            for task in deliveries:
                task.cancel()
            await asyncio.gather(*deliveries, return_exceptions=True)

    @asynccontextmanager
    async def observed(self, health: Callable[[], Awaitable[list[str]]]) -> AsyncIterator[str | None]:
        """/metrics and /healthz (`health` says what is wrong) while inside, when `[storybot]
        metrics` names an address (read at start: a reload does not move it); `metrics_url`
        says where meanwhile. `storybot run` and `storybot worker` both serve through this."""
        address = self.config.storybot.metrics
        if address is None:
            yield None
            return
        from bot.observe import PrometheusMetrics, serving

        assert isinstance(self.metrics, PrometheusMetrics)
        async with serving(address, self.metrics, health, self.store.pending_count) as url:
            self.metrics_url = url
            try:
                yield url
            finally:
                self.metrics_url = None

    async def health(self) -> list[str]:
        """What is wrong with the running bot (`/healthz`): the store must answer within
        seconds and the scheduler must be running. Empty when healthy."""
        problems = []
        if not self.scheduler.scheduler.running:
            problems.append("scheduler not running")
        return problems + await answers("store", self.store.schema_version())

    async def check_config(self, *, force: bool = False) -> bool:
        """Reload config.toml if it changed (or, `force`, whether or not it did: SIGHUP),
        validated as `storybot check` validates it, off the event loop (a large file takes a
        while). An invalid edit is logged once, with every problem (a forced reload logs it
        again); the last good config keeps running."""
        async with self._reload_lock:  # the timer's check and a SIGHUP's, one at a time
            return await self._reload(force)

    async def _reload(self, force: bool) -> bool:
        mtime = _mtime(self.config_path)
        if self.config_path is None or (mtime == self._config_mtime and not force):
            return False
        self._config_mtime = mtime
        try:
            config = await asyncio.to_thread(self.load, self.config_path)
        except ConfigError as err:
            if str(err) != self._config_refused or force:
                log.error("config change ignored, still running the last good config:\n%s", err)
            self._config_refused = str(err)
            return False
        self._config_refused = None
        await self.apply_config(config)
        log.info("config reloaded: %d stories", len(config.stories))
        return True

    def request_reload(self) -> None:
        """Reload config.toml now (SIGHUP), on the path a change of the file takes."""
        log.info("reloading %s (SIGHUP)", self.config_path)
        task = asyncio.get_running_loop().create_task(self.check_config(force=True), name="reload")
        self._reloads.add(task)  # held until done: the loop keeps only a weak reference
        task.add_done_callback(self._reloads.discard)

    async def apply_config(self, config: Config) -> None:
        """Run on a new config.toml, with what the store holds merged in (bot.overlay)."""
        if (
            config.platforms != self.file_config.platforms
            or (config.storybot.database, config.storybot.database_env)
            != (self.file_config.storybot.database, self.file_config.storybot.database_env)
            or config.address_policy != self.file_config.address_policy
            or config.summaries != self.file_config.summaries
            or config.storybot.metrics != self.file_config.storybot.metrics
        ):
            log.warning(
                "platform, database, allow_private/allow_hosts, metrics and [summaries] settings "
                "apply on restart only"
            )
        async with self._deriving:
            self.file_config = config
            await self._run_on(self._merge(self._held or HeldState()))

    async def refresh_held(self) -> bool:
        """Re-read the stories, subscriptions and mutes the store holds (chat, the CLI, feeds,
        another process) and, if they changed or one of them has expired since, run on the
        merged config. True if it changed. Runs every few seconds: it reads the store's held
        revision first, and the held rows (the unexpired ones) only when that moved or a held
        story merged in has expired since."""
        async with self._deriving:
            revision = await self.store.held_revision()
            expired = self._merged_until is not None and now_utc() >= self._merged_until
            if revision == self._held_revision and not expired:
                return False
            at = now_utc()
            held = await self.store.held(at)  # read after the revision: a later change moves it again
            self._held_revision = revision
            if held == self._held and not expired:
                return False
            await self._run_on(self._merge(held, at))
            return True

    def _merge(self, held: HeldState, at: datetime | None = None) -> Config:
        """config.toml plus `held`, as of `at` (default now); remembers when the next held
        story expires, so `refresh_held` merges again then even if the store has not changed."""
        at = at or now_utc()
        self._held = held
        ends = [s.expires_at for s in held.stories if s.expires_at is not None and s.expires_at > at]
        self._merged_until = min(ends, default=None)
        return effective_config(self.file_config, held, at)

    async def _run_on(self, config: Config) -> None:
        """Make `config` (already merged) the one every part runs on."""
        if config.storybot.max_polls != self.config.storybot.max_polls:
            # polls under way finish on the old slots; new ones queue on the new
            self._poll_slots = asyncio.Semaphore(config.storybot.max_polls)
        # the catalog first (an edited story entry is un-paused): a poll that already routes by
        # the new config could alert a newly routed channel before its catch-up is queued, and
        # then it would get none
        caught_up = await sync_catalog(self.store, config)
        self.memo.validators.forget_all()
        self.config = config
        self.fetcher = self._fetcher(config)
        if caught_up:
            log.info("catch-up queued for %d newly routed channel(s)", len(caught_up))
            self.dispatcher.notify()
        await self.refresh_paused()
        await self.commands.sync()  # in place: only stories whose names changed are re-indexed
        if self.scheduler.scheduler.running and self.polls:
            self.scheduler.apply(config)
        self.metrics.forget({s.id for s in config.stories})


async def answers(what: str, call: Awaitable[object]) -> list[str]:
    """`/healthz`'s check of a database: empty if `call` returns within HEALTH_TIMEOUT, else
    one line saying why not."""
    try:
        await asyncio.wait_for(call, HEALTH_TIMEOUT)
    except TimeoutError:
        return [f"{what} did not answer within {HEALTH_TIMEOUT:g}s"]
    except Exception as err:  # a database that is down fails any way it likes
        return [f"{what} unreachable: {type(err).__name__}: {err}"]
    return []


def _metrics(config: Config) -> Metrics:
    """Prometheus metrics when `[storybot] metrics` is set (prometheus-client loads only then)."""
    if config.storybot.metrics is None:
        return NO_METRICS
    from bot.observe import PrometheusMetrics

    return PrometheusMetrics()


def _mtime(path: Path | None) -> float | None:
    try:
        return path.stat().st_mtime_ns if path else None
    except OSError:
        return None
