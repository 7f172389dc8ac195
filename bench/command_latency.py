"""Benchmark 4: `/story <query with typos>` latency over N tracked stories.

The store holds N stories synced from config (generated titles, one alias each), each with
one stored version, so an answer carries a timeline. Queries are titles or aliases of random
stories with one or two typing slips. Two figures:

- in process: `Commands.handle` latency, p50 and p99 (target p99 <= 5 ms), against the
  baseline of an exact-name query (the cheapest path: no search, no fuzzy match);
- through Slack's HTTP mode: the real SlackAdapter (bolt on aiohttp, 127.0.0.1) takes
  correctly signed slash commands from a separate process (bench.slack_load) at 100 requests
  a second while the bot's polls run in the same process on the same store (bench.poll_load,
  at the rate `storybot run` polls N stories every 300 s); p50/p99 of the ack (the HTTP
  answer, target p99 <= 50 ms) and of the answer arriving at the response_url, which every
  request must get.

Also reported: the index update after a change, as the next command pays it: a poll sees a
new title (`Commands.note_title`, as `StoryBot.poll` calls it), then that title is asked for.
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench.measure import Figure, Target, median, percentile, read_json_line, spawn, stop
from bench.poll_load import bump, poll_at
from bench.stories import sections, story_title, text_story, typo
from bot.catalog import sync_catalog
from bot.commands import Caller, Commands
from bot.config import Config, parse_config
from bot.models import Reply, ReplyKind
from bot.read import parse_story
from bot.storage import FetchMeta, SectionRecord, Store, now_utc, open_store
from bot.summarize import summarize

BENCH = "4 commands"
IN_PROCESS = Target(5.0)
OVER_SLACK = Target(50.0)
CALLER = Caller("slack", "U1", "C1")
POLL_INTERVAL = 300.0  # storybot's default: N stories are polled N / 300 times a second
PAGE_BYTES = 50_000


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


async def tracked_store(
    path: Path, stories: int, origin: str = "http://news.invalid"
) -> tuple[Store, Config]:
    """A store tracking `stories` stories, each with one stored version of its own text (1-3
    updates above the original, words from a shared newsroom vocabulary), so every answer
    carries a timeline and full-text search sees as many bodies as there are stories. Each
    version carries the ETag `origin` (bench.origin) gives the story's first page, so a poll
    of an unchanged story is a 304."""
    config = parse_config(
        {
            "storybot": {"database": str(path), "allow_private": True},
            "stories": [
                {
                    "id": f"s{n}",
                    "url": f"{origin}/s/{n}",
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
    for n in range(stories):
        parsed = parse_story(text_story(story_title(n), sections(2 + n % 3, seed=n)))
        records = [
            SectionRecord(s.fingerprint, s.kind.value, s.label, s.header, s.timestamp, s.body, summarize(s))
            for s in parsed.sections
        ]
        at = parsed.updated or parsed.posted
        assert at is not None and records, f"story {n} did not parse"
        await store.record_version(
            f"s{n}", None, at, FetchMeta(f"h{n}", f'"{n}-0"', None, 200), parsed, records, ()
        )
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
    origin = (
        spawn("bench.origin", "--stories", str(stories), "--size", str(PAGE_BYTES)) if slack_seconds else None
    )
    url = (await asyncio.to_thread(read_json_line, origin))["url"] if origin else "http://news.invalid"
    try:
        with tempfile.TemporaryDirectory(prefix="storybot-bench-") as tmp:
            store, config = await tracked_store(Path(tmp) / "bench.db", stories, url)
            commands = InFlight(store, lambda: config)
            try:
                await commands.handle(alias(0), CALLER)  # the first command builds the index
                updates = await index_updates(commands, stories)
                exact, _ = await in_process(commands, [(n, alias(n)) for n, _ in asked[:200]])
                typed, hits = await in_process(commands, asked)
                slack = await over_slack(commands, asked, slack_seconds, url) if slack_seconds else None
            finally:
                await commands.settled()
                await store.close()
    finally:
        if origin is not None:
            await asyncio.to_thread(stop, origin)
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
            f"{label}: index update after a new title",
            median(updates),
            "ms",
            note="the next command's latency after a poll saw a new title (asked by that title); median of 5"
            + ("" if len(updates) == 5 else "; WRONG: the new title did not find its story"),
        ),
    ]
    if slack is not None:
        figures += slack_figures(label, slack, percentile(typed, 99))
    return figures


async def index_updates(commands: Commands, stories: int) -> list[float]:
    """ms the next command takes after a poll saw a new title, asked by that title: the index
    update it pays for (5 samples; a sample is dropped if the title did not find its story).
    The poll is what `StoryBot.poll` does: the version with its new title is stored, then
    `Commands.note_title` is told."""
    out = []
    for k in range(5):
        story_id, title = f"s{k * 7 % stories}", f"Retitled story {k} overnight"
        last = await commands.store.last_version(story_id)
        assert last is not None
        story = replace(last.story, title=title)
        meta = FetchMeta(f"r{k}", last.etag, None, 200)
        await commands.store.record_version(story_id, last.id, now_utc(), meta, story, [], ())
        commands.note_title(story_id, title)
        started = time.perf_counter()
        reply = await commands.handle(title, CALLER)
        elapsed = (time.perf_counter() - started) * 1000
        if reply.story is not None and reply.story.id == story_id:
            out.append(elapsed)
    return out


def slack_figures(label: str, result: dict[str, object], in_process_p99: float) -> list[Figure]:
    acks = list(result["acks"])  # type: ignore[call-overload]
    answers = list(result["answers"])  # type: ignore[call-overload]
    sent = int(result["sent"])  # type: ignore[call-overload]
    rate = float(result["rate"])  # type: ignore[arg-type]
    note = f"{sent} requests at {rate:.0f}/s; {len(answers)} answered, {sent - len(acks)} not acked 200"
    note += f"; polls meanwhile: {result.get('polls')}"
    if len(answers) != sent or len(acks) != sent:
        note = "WRONG: not every request was acked and answered; " + note
    return [
        Figure(
            BENCH,
            f"{label}: Slack HTTP ack p99",
            percentile(acks, 99),
            "ms",
            target=OVER_SLACK,
            note=note + f"; p50 {percentile(acks, 50):.1f} ms" if acks else note,
        ),
        Figure(
            BENCH,
            f"{label}: Slack HTTP answer p99",
            percentile(answers, 99) if answers and len(answers) == sent else float("nan"),
            "ms",
            target=OVER_SLACK,
            ratio=percentile(answers, 99) / in_process_p99 if answers else None,
            baseline="in-process p99",
            note=f"request sent -> answer at response_url; p50 {percentile(answers, 50):.1f} ms",
        ),
    ]


async def over_slack(
    commands: InFlight, asked: list[tuple[int, str]], seconds: float, origin: str
) -> dict[str, object]:
    """Serve the real SlackAdapter in HTTP mode; a separate process fires signed requests
    while this process polls the origin."""
    from adapters.slack.app import SlackAdapter
    from adapters.slack.settings import SlackSecrets, SlackSettings

    rate = 100.0
    load = spawn("bench.slack_load")
    config = commands.config()
    try:
        slack = await asyncio.to_thread(read_json_line, load)
        settings = SlackSettings(mode="http", host="127.0.0.1", port=0, api_url=slack["api_url"])
        secrets = SlackSecrets(bot_token=slack["bot_token"], signing_secret=slack["signing_secret"])
        adapter = SlackAdapter(commands, settings, secrets)
        await adapter.start()
        await asyncio.to_thread(bump, origin)
        ready, halt = asyncio.Event(), asyncio.Event()
        polling = asyncio.create_task(
            poll_at(
                len(config.stories) / POLL_INTERVAL,
                ready,
                halt,
                store=commands.store,
                config=config,
                commands=commands,
            )
        )
        try:
            await asyncio.wait_for(ready.wait(), 120)
            texts = [q for _, q in asked]
            order = {"url": adapter.url, "rate": rate, "count": int(rate * seconds), "queries": texts}
            assert load.stdin is not None
            load.stdin.write(json.dumps(order) + "\n")
            load.stdin.flush()
            result: dict[str, object] = await asyncio.to_thread(read_json_line, load)
        finally:
            halt.set()
            result_polls = await polling
            await commands.settled()
            await adapter.close()
        result["polls"] = dict(result_polls)
        return result
    finally:
        await asyncio.to_thread(stop, load)
