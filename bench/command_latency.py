"""Benchmark 4: `/story <query with typos>` latency over N tracked stories.

The store holds N stories synced from config (generated titles, one alias each), each with
one stored version, so an answer carries a timeline. Queries are titles or aliases of random
stories with one or two typing slips. Two figures:

- in process: `Commands.handle` latency, p50 and p99 (target p99 <= 5 ms), against the
  baseline of an exact-name query (the cheapest path: no search, no fuzzy match);
- through Slack's HTTP mode: the real SlackAdapter (bolt on aiohttp) takes correctly signed
  slash commands from a separate process (bench.slack_load) at 100 requests a second; p99 of
  the ack (HTTP answer) and of the answer arriving at the response_url (target <= 50 ms).

Also reported: rebuilding the name index, which the next command pays for after any poll
that changed a story (`StoryBot.poll` calls `Commands.invalidate`).
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from bench.measure import Figure, Target, median, percentile, read_json_line, spawn, stop
from bench.stories import seed_pair, story_title, typo
from bot.catalog import sync_catalog
from bot.commands import Caller, Commands
from bot.config import Config, parse_config
from bot.models import Reply, ReplyKind
from bot.read import parse_story
from bot.storage import FetchMeta, SectionRecord, Store, open_store
from bot.summarize import summarize

BENCH = "4 commands"
IN_PROCESS = Target(5.0)
OVER_SLACK = Target(50.0)
CALLER = Caller("slack", "U1", "C1")


def run(quick: bool) -> list[Figure]:
    if quick:
        return asyncio.run(measure(1_000, queries=200, slack_seconds=2.0))
    return asyncio.run(measure(10_000, queries=2_000, slack_seconds=10.0))


def alias(n: int) -> str:
    """Story n's alias: its title as a slug (short aliases would collide among thousands)."""
    return "-".join(story_title(n).split()).casefold()


def typed_queries(stories: int, count: int, seed: int = 7) -> list[tuple[int, str]]:
    """(intended story, query): a random story's title with two slips, or its first three
    words with one, as people type them."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        n = rng.randrange(stories)
        title = story_title(n)
        if rng.random() < 0.5:
            out.append((n, typo(title, rng, 2)))
        else:
            out.append((n, typo(" ".join(title.split()[:3]).casefold(), rng, 1)))
    return out


async def tracked_store(path: Path, stories: int, versions: Iterable[int]) -> tuple[Store, Config]:
    """A store tracking `stories` stories; those in `versions` get a stored version (the
    seed's text, under their own title), so answers about them carry a timeline. (Storing a
    version for every story would take minutes at 10,000: see the README, benchmark 3.)"""
    config = parse_config(
        {
            "storybot": {"database": str(path)},
            "stories": [
                {
                    "id": f"s{n}",
                    "url": f"http://news.invalid/s/{n}",
                    "title": story_title(n),
                    "aliases": [alias(n)],
                }
                for n in range(stories)
            ],
        },
        "bench",
    )
    store = await open_store(config.database({}))
    await sync_catalog(store, config)
    parsed = parse_story(seed_pair()[1])
    sections = [
        SectionRecord(s.fingerprint, s.kind.value, s.label, s.header, s.timestamp, s.body, summarize(s))
        for s in parsed.sections
    ]
    at = parsed.updated or parsed.posted
    assert at is not None
    for n in sorted(set(versions)):
        story = replace(parsed, title=story_title(n))
        meta = FetchMeta(f"h{n}", f'"{n}"', None, 200)
        await store.record_version(f"s{n}", None, at, meta, story, sections, ())
    return store, config


class InFlight(Commands):
    """The real Commands, counting answers under way, so the store closes after the last
    (bolt keeps answering after the ack, so the last ones may still run when the load ends)."""

    in_flight = 0

    async def handle(self, text: str, caller: Caller) -> Reply:
        self.in_flight += 1
        try:
            return await super().handle(text, caller)
        finally:
            self.in_flight -= 1

    async def settled(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while self.in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.05)


async def in_process(commands: Commands, asked: list[tuple[int, str]]) -> tuple[list[float], int]:
    """Latencies in ms of each query, and how many found the story it was typed for."""
    latencies, hits = [], 0
    for n, query in asked:
        started = time.perf_counter()
        reply = await commands.handle(query, CALLER)
        latencies.append((time.perf_counter() - started) * 1000)
        hits += reply.kind is ReplyKind.STORY and reply.story is not None and reply.story.id == f"s{n}"
    return latencies, hits


async def measure(stories: int, *, queries: int, slack_seconds: float) -> list[Figure]:
    count = queries
    asked = typed_queries(stories, count)
    with tempfile.TemporaryDirectory(prefix="storybot-bench-") as tmp:
        store, config = await tracked_store(Path(tmp) / "bench.db", stories, [0, *(n for n, _ in asked)])
        try:
            commands = InFlight(store, lambda: config)
            rebuilds = []
            for _ in range(5):
                commands.invalidate()
                started = time.perf_counter()
                await commands.handle(alias(0), CALLER)
                rebuilds.append((time.perf_counter() - started) * 1000)
            exact, _ = await in_process(commands, [(n, alias(n)) for n, _ in asked[:200]])
            typed, hits = await in_process(commands, asked)
            slack = await over_slack(commands, asked, slack_seconds) if slack_seconds else None
        finally:
            await commands.settled()
            await store.close()
    label = f"N={stories:,}"
    figures = [
        Figure(
            BENCH, f"{label}: in process p50", percentile(typed, 50), "ms", note=f"{count} typo'd queries"
        ),
        Figure(
            BENCH,
            f"{label}: in process p99",
            percentile(typed, 99),
            "ms",
            target=IN_PROCESS,
            ratio=percentile(typed, 99) / percentile(exact, 99),
            baseline="exact-name query p99",
            note=f"found the story typed for {hits / count:.0%}; exact p99 {percentile(exact, 99):.2f} ms",
        ),
        Figure(
            BENCH,
            f"{label}: index rebuild after a change",
            median(rebuilds),
            "ms",
            note="paid by the next command after any poll that changed a story",
        ),
    ]
    if slack is not None:
        figures += slack_figures(label, slack, percentile(typed, 99))
    return figures


def slack_figures(label: str, result: dict[str, object], in_process_p99: float) -> list[Figure]:
    acks = list(result["acks"])  # type: ignore[call-overload]
    answers = list(result["answers"])  # type: ignore[call-overload]
    sent = int(result["sent"])  # type: ignore[call-overload]
    rate = float(result["rate"])  # type: ignore[arg-type]
    note = f"{sent} requests at {rate:.0f}/s; {len(answers)} answered, {sent - len(acks)} not acked 200"
    return [
        Figure(
            BENCH,
            f"{label}: Slack HTTP ack p99",
            percentile(acks, 99),
            "ms",
            target=OVER_SLACK,
            note=note + f"; p50 {percentile(acks, 50):.1f} ms",
        ),
        Figure(
            BENCH,
            f"{label}: Slack HTTP answer p99",
            percentile(answers, 99) if len(answers) == sent else float("nan"),
            "ms",
            target=OVER_SLACK,
            ratio=percentile(answers, 99) / in_process_p99 if answers else None,
            baseline="in-process p99",
            note=f"request sent -> answer at response_url; p50 {percentile(answers, 50):.1f} ms",
        ),
    ]


async def over_slack(commands: InFlight, asked: list[tuple[int, str]], seconds: float) -> dict[str, object]:
    """Serve the real SlackAdapter in HTTP mode; a separate process fires signed requests."""
    from adapters.slack.app import SlackAdapter
    from adapters.slack.settings import SlackSecrets, SlackSettings

    rate = 100.0
    load = spawn("bench.slack_load")
    try:
        slack = await asyncio.to_thread(read_json_line, load)
        settings = SlackSettings(mode="http", port=0, api_url=slack["api_url"])
        secrets = SlackSecrets(bot_token=slack["bot_token"], signing_secret=slack["signing_secret"])
        adapter = SlackAdapter(commands, settings, secrets)
        await adapter.start()
        try:
            texts = [q for _, q in asked]
            order = {"url": adapter.url, "rate": rate, "count": int(rate * seconds), "queries": texts}
            assert load.stdin is not None
            load.stdin.write(json.dumps(order) + "\n")
            load.stdin.flush()
            return await asyncio.to_thread(read_json_line, load)
        finally:
            await commands.settled()
            await adapter.close()
    finally:
        await asyncio.to_thread(stop, load)
