"""Builders for core tests: a config, a store, and the Kherson story tracked through its update."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from bot.catalog import sync_catalog
from bot.config import Config, parse_config
from bot.fetch import Fetcher, make_client
from bot.model_summaries import ModelSummarizer
from bot.netpolicy import LOOPBACK_ONLY
from bot.pipeline import PollOutcome, poll_story
from bot.storage import Store, open_store

SEEDS = Path(__file__).resolve().parent.parent / "seeds" / "kherson"
NOV9 = SEEDS / "2022-11-09T1210.txt"
NOV11 = SEEDS / "2022-11-11T0736.txt"
SEED_SUMMARY_START = (
    "Russia now says it has completely withdrawn its forces from the southern Ukrainian city of Kherson."
)


# hand-written updates, newest first as the page shows them, each above the Nov 11 one
LATER = {
    12: "Ukrainian troops entered the centre of Kherson to crowds waving flags in the main square.",
    13: "Engineers began clearing mines from the bridges leading into the city, officials said.",
    14: "Power and running water returned to parts of the city for the first time in weeks.",
}


def page(*days: int) -> str:
    """The Nov 11 page with the updates of `days` added above its own, newest first."""
    text = NOV11.read_text(encoding="utf-8")
    marker = "UPDATE Nov 11, 2022 7:36 AM CST"
    blocks = "".join(
        f"UPDATE Nov {day}, 2022 9:00 AM CST\n\n{LATER[day]}\n\n" for day in sorted(days, reverse=True)
    )
    return text.replace(marker, blocks + marker, 1)


#: [storybot] keys a test config needs to read its sources: story files in the test's
#: directory, pages from the loopback origin (both refused by default).
LOCAL_SOURCES: dict[str, Any] = {"files_dir": ".", "allow_hosts": ["127.0.0.1", "localhost"]}


def kherson_config(tmp_path: Path, channels: list[str], **extra: Any) -> Config:
    """Config tracking story 'kherson' from tmp_path/kherson.txt, routed to `channels`."""
    data: dict[str, Any] = {
        "storybot": {"database": str(tmp_path / "storybot.db"), **LOCAL_SOURCES},
        "stories": [{"id": "kherson", "path": "kherson.txt", "aliases": ["ukraine", "withdrawal"]}],
        "routes": [{"stories": ["kherson"], "channels": channels}] if channels else [],
        **extra,
    }
    return parse_config(data, "test", tmp_path)


def routed(tmp_path: Path, *routes: dict[str, Any]) -> Config:
    """Config tracking 'kherson' as kherson_config does, with these `[[routes]]` tables."""
    return kherson_config(tmp_path, [], routes=list(routes))


async def poll_file(
    config: Config,
    store: Store,
    content: Path | str,
    summarizer: ModelSummarizer | None = None,
    *,
    now: datetime | None = None,
) -> PollOutcome:
    """Write `content` as the story's file and poll it once (new updates summarised by
    `summarizer`'s model, when given; as if at `now`, when given)."""
    path = config.resolve_path("kherson.txt")
    path.write_text(
        content.read_text(encoding="utf-8") if isinstance(content, Path) else content, encoding="utf-8"
    )
    async with make_client(policy=LOOPBACK_ONLY) as client:
        fetcher = Fetcher(client, base_dir=config.base_dir)
        story = config.story("kherson")
        assert story is not None
        return await poll_story(
            story, config=config, fetcher=fetcher, store=store, summarizer=summarizer, now=now
        )


async def kherson_store(tmp_path: Path, channels: list[str], *, lead: str = "") -> tuple[Store, Config]:
    """A store where Kherson was baselined on Nov 9, then polled on Nov 11: one NewUpdate,
    one pending delivery per channel. `lead`: text the Nov 11 update opens with."""
    config = kherson_config(tmp_path, channels)
    store = await open_store(config.database({}))
    await sync_catalog(store, config)
    await poll_file(config, store, NOV9)
    update = NOV11.read_text(encoding="utf-8").replace("Russia now says", f"{lead} Russia now says", 1)
    outcome = await poll_file(config, store, update if lead else NOV11)
    assert len(outcome.event_ids) == 1, outcome
    return store, config
