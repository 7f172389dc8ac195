"""/metrics and /healthz of a running bot, scraped over loopback HTTP as Prometheus would."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from bot.app import StoryBot
from bot.config import ConfigError
from bot.metrics import listen_address
from bot.observe import PrometheusMetrics, serving
from tests.helpers import NOV9, NOV11, kherson_config
from tests.recording import RecordingSender

WAIT = 20.0


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one series in a Prometheus text exposition, None when absent."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if match and match[1] == name and ",".join(sorted((match[2] or "").split(","))) == want:
            return float(match[3])
    return None


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    async with asyncio.timeout(WAIT):
        while not await check():
            await asyncio.sleep(0.05)


async def test_metrics_count_polls_fetches_and_alerts_and_healthz_answers(tmp_path: Path) -> None:
    (tmp_path / "kherson.txt").write_text(NOV9.read_text(encoding="utf-8"), encoding="utf-8")
    config = kherson_config(tmp_path, ["rec:newsroom"])
    config = config.model_copy(
        update={"storybot": config.storybot.model_copy(update={"metrics": "127.0.0.1:0", "jitter": 0})}
    )
    stop = asyncio.Event()
    async with await StoryBot.create(config) as bot, httpx.AsyncClient(timeout=5) as http:
        sender = RecordingSender()
        await bot.attach([sender])
        running = asyncio.create_task(bot.run(stop))
        try:
            await until(lambda: asyncio.sleep(0, bot.metrics_url is not None))
            scrape = f"{bot.metrics_url}/metrics"

            async def text() -> str:
                response = await http.get(scrape)
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/plain")
                return response.text

            async def polled(outcome: str, times: float = 1) -> bool:
                return sample(await text(), "storybot_polls_total", outcome=outcome) == times

            await until(lambda: polled("baseline"))  # the scheduler's first poll
            assert (await http.get(f"{bot.metrics_url}/healthz")).status_code == 200

            (tmp_path / "kherson.txt").write_text(NOV11.read_text(encoding="utf-8"), encoding="utf-8")
            await bot.poll("kherson")

            async def alerted() -> bool:
                return sample(await text(), "storybot_alerts_sent_total", platform="rec", kind="alert") == 1

            await until(alerted)
            body = await text()
            assert sample(body, "storybot_polls_total", outcome="changed") == 1
            assert sample(body, "storybot_fetch_seconds_count", result="ok") == 2
            assert sample(body, "storybot_alerts_failed_total", platform="rec") is None
            assert sample(body, "storybot_delivery_queue_depth") == 0
            assert sample(body, "storybot_stories_failing") == 0
            assert len(sender.posted) == 1

            # an edit of the alerted update: the alert edited in place and one note, each its own kind
            lead = "southern Ukrainian city of Kherson."
            more = lead[:-1] + ", a retreat Ukraine's army says it forced at great cost."
            edited = NOV11.read_text(encoding="utf-8").replace(lead, more)
            (tmp_path / "kherson.txt").write_text(edited, encoding="utf-8")
            await bot.poll("kherson")

            async def corrected() -> bool:
                body = await text()
                return all(
                    sample(body, "storybot_alerts_sent_total", platform="rec", kind=kind) == 1
                    for kind in ("alert", "edit", "note")
                )

            await until(corrected)
            assert len(sender.edits) == 1 and len(sender.posted) == 2

            (tmp_path / "kherson.txt").unlink()
            await bot.poll("kherson")
            body = await text()
            assert sample(body, "storybot_polls_total", outcome="failed") == 1
            assert sample(body, "storybot_fetch_seconds_count", result="failed") == 1
            assert sample(body, "storybot_stories_failing") == 1
        finally:
            stop.set()
            await running


async def test_healthz_is_503_until_the_scheduler_runs_and_when_the_store_is_gone(tmp_path: Path) -> None:
    config = kherson_config(tmp_path, [])
    metrics = PrometheusMetrics()
    async with (
        await StoryBot.create(config) as bot,
        httpx.AsyncClient(timeout=5) as http,
        serving("127.0.0.1:0", metrics, bot.health, bot.store.pending_count) as url,
    ):
        assert url.startswith("http://127.0.0.1:")
        idle = await http.get(f"{url}/healthz")
        assert idle.status_code == 503 and "scheduler not running" in idle.text
        bot.scheduler.start()
        assert (await http.get(f"{url}/healthz")).status_code == 200
        await bot.store.close()  # the database goes away under a running bot
        gone = await http.get(f"{url}/healthz")
        assert gone.status_code == 503 and "store" in gone.text
        # a scrape still answers, without the queue depth it cannot read
        assert (await http.get(f"{url}/metrics")).status_code == 200


async def test_metrics_are_off_unless_configured(tmp_path: Path) -> None:
    async with await StoryBot.create(kherson_config(tmp_path, [])) as bot:
        stop = asyncio.Event()
        running = asyncio.create_task(bot.run(stop))
        await asyncio.sleep(0.2)
        assert bot.metrics_url is None and not isinstance(bot.metrics, PrometheusMetrics)
        stop.set()
        await running


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        ("9464", ("127.0.0.1", 9464)),
        (":9464", ("127.0.0.1", 9464)),
        ("[::1]:9464", ("::1", 9464)),
        ("0.0.0.0:9100", ("0.0.0.0", 9100)),
    ],
)
def test_listen_address_defaults_to_loopback(text: str, address: tuple[str, int]) -> None:
    assert listen_address(text) == address


@pytest.mark.parametrize("text", ["127.0.0.1:http", "127.0.0.1:70000", "host/x:80", ""])
def test_a_bad_metrics_address_is_a_config_error_naming_the_key(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[storybot]\nmetrics = "{text}"\n[[stories]]\nid = "a"\npath = "a.txt"\n', "utf-8")
    from bot.config import load_config

    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert any(p.startswith("storybot.metrics") for p in raised.value.problems), raised.value.problems
