"""Prometheus `/metrics` and `/healthz` for `storybot run` and each `storybot worker`
(`[storybot] metrics = "host:port"`, or a worker's `--metrics`).

`PrometheusMetrics` is the bot.metrics seam with prometheus-client behind it, in a registry of
its own (so two bots in one process, or tests, never share counters). The endpoints are served
by aiohttp, already a dependency, on the event loop the bot runs on: a scrape sees the state
of this process, and the queue depth is read from the store at the moment of the scrape.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from bot.metrics import Metrics, listen_address
from bot.ports import StartError

log = logging.getLogger(__name__)

#: Seconds: a cached 304 takes milliseconds, a slow origin up to `fetch_deadline` (30 s).
FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60)

Health = Callable[[], Awaitable[list[str]]]
"""What is wrong with the running bot, one line each; healthy when empty."""


class PrometheusMetrics(Metrics):
    """The counters, histogram and gauges of a storybot process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.polls = Counter("storybot_polls", "Polls by outcome", ["outcome"], registry=self.registry)
        self.fetch_seconds = Histogram(
            "storybot_fetch_seconds",
            "Time a story fetch took, retries included",
            ["result"],
            buckets=FETCH_BUCKETS,
            registry=self.registry,
        )
        self.sent = Counter(
            "storybot_alerts_sent", "Deliveries made, by kind", ["platform", "kind"], registry=self.registry
        )
        self.failed = Counter(
            "storybot_alerts_failed",
            "Deliveries that failed for good, by kind",
            ["platform", "kind"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "storybot_delivery_queue_depth", "Deliveries not yet settled", registry=self.registry
        )
        self.failing = Gauge(
            "storybot_stories_failing", "Stories whose last poll failed", registry=self.registry
        )
        self._failing: set[str] = set()

    def fetched(self, seconds: float, *, ok: bool) -> None:
        self.fetch_seconds.labels("ok" if ok else "failed").observe(seconds)

    def polled(self, story_id: str, outcome: str) -> None:
        self.polls.labels(outcome).inc()
        if outcome == "failed":
            self._failing.add(story_id)
        else:
            self._failing.discard(story_id)
        self.failing.set(len(self._failing))

    def alert_sent(self, platform: str, kind: str) -> None:
        self.sent.labels(platform, kind).inc()

    def alert_failed(self, platform: str, kind: str) -> None:
        self.failed.labels(platform, kind).inc()

    def forget(self, story_ids: set[str]) -> None:
        self._failing &= story_ids
        self.failing.set(len(self._failing))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


@asynccontextmanager
async def serving(
    address: str,
    metrics: PrometheusMetrics,
    health: Health,
    queue_depth: Callable[[], Awaitable[int]],
) -> AsyncIterator[str]:
    """Serve /metrics and /healthz on `address` while inside; yields the base URL (the real
    port when `address` asked for port 0)."""

    async def scrape(request: web.Request) -> web.Response:
        try:
            metrics.queue_depth.set(await asyncio.wait_for(queue_depth(), 5))
        except Exception as err:  # the store is down: the other series still tell something
            log.warning("metrics: cannot read the delivery queue depth: %s", err)
        return web.Response(body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(request: web.Request) -> web.Response:
        problems = await health()
        if problems:
            return web.Response(status=503, text="unhealthy: " + "; ".join(problems) + "\n")
        return web.Response(text="ok\n")

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host, port = listen_address(address)
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as err:  # the port is taken (another process on this host), no such address
            raise StartError(f"metrics: cannot listen on {address}: {err.strerror or err}") from err
        bound = runner.addresses[0]
        url = f"http://{_url_host(bound[0])}:{bound[1]}"
        log.info("metrics on %s/metrics, health on %s/healthz", url, url)
        yield url
    finally:
        await runner.cleanup()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
