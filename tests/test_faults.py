"""Recurring faults are told once: a read-only or full database over many polls is one log line
and a clear status, not a traceback per poll; story text cannot drive the terminal."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest
from rich.console import Console

from adapters.console import ConsoleAdapter
from bot.app import StoryBot
from bot.catalog import sync_catalog
from bot.commands import Commands
from bot.config import parse_config
from bot.fetch import make_client
from bot.models import Alert, AlertKind, Reply, ReplyKind
from bot.netpolicy import LOOPBACK_ONLY
from bot.pipeline import PollStatus
from bot.storage import open_store
from bot.storage.sqlite import SqliteStore
from tests.helpers import LOCAL_SOURCES
from tests.origin import Origin, Response

pytestmark = pytest.mark.timeout(60)

GATE = Path(__file__).parent / "fixtures" / "gate"
POLLS = 5

# each breaks writes on a real SQLite file the way the fault does on a server
FAULTS = [
    pytest.param("PRAGMA query_only = ON", "attempt to write a readonly database", id="read-only"),
    pytest.param("PRAGMA max_page_count = {pages}", "database or disk is full", id="disk-full"),
]


@pytest.mark.parametrize(("pragma", "message"), FAULTS)
async def test_a_database_fault_is_logged_once_over_many_polls(
    tmp_path: Path, origin: Origin, caplog: pytest.LogCaptureFixture, pragma: str, message: str
) -> None:
    config = parse_config(
        {
            "storybot": {"database": str(tmp_path / "s.db"), **LOCAL_SOURCES},
            "stories": [{"id": "bridge", "url": origin.url("/b")}],
        },
        "test",
        tmp_path,
    )
    origin.set("/b", Response(body=(GATE / "story.html").read_bytes()))
    async with (
        await open_store(config.database({})) as store,
        make_client(timeout=2, policy=LOOPBACK_ONLY) as client,
    ):
        await sync_catalog(store, config)
        baseline = await StoryBot(config, store, client).poll("bridge")
        assert baseline is not None and baseline.status is PollStatus.BASELINE
    async with aiosqlite.connect(config.database({}), isolation_level=None) as db:
        await db.execute("VACUUM")  # no free pages left: storing a new version must grow the file
    async with (
        await SqliteStore.open(config.database({})) as store,
        make_client(timeout=2, policy=LOOPBACK_ONLY) as client,
    ):
        writer = store._write  # the fault is the write connection's, as a full disk would be
        async with writer.execute("PRAGMA page_count") as cursor:
            (pages,) = await cursor.fetchone()  # type: ignore[misc]
        await writer.execute(pragma.format(pages=pages))
        bot = StoryBot(config, store, client)
        caplog.set_level(logging.INFO)
        outcomes = []
        for n in range(POLLS):  # a changed page each time: each poll has a version to store
            page = ("story-update", "story-corrected")[n % 2]
            origin.set("/b", Response(body=(GATE / f"{page}.html").read_bytes()))
            outcomes.append(await bot.poll("bridge"))
    failing = [o is not None and o.status is PollStatus.FAILED for o in outcomes]
    errors = {o.error for o in outcomes if o is not None and o.status is PollStatus.FAILED}
    assert sum(failing) >= 2 and errors == {f"database: {message}"}
    # a full file may still take a small write in pages its search index frees: each run of
    # failed polls, not each failed poll, is one error line
    runs = sum(now and not before for before, now in zip([False, *failing], failing, strict=False))
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(logged) == runs and all(message in line and "story bridge" in line for line in logged)
    assert not any(r.exc_info for r in caplog.records)
    if "readonly" in message:
        assert all(failing) and runs == 1


HOSTILE = "Bridge\x1b[2J\x1b]0;pwned\x07 closed\x9b31m\r\x00 again\tand\nagain"


def shown(console: Console) -> str:
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


async def test_console_output_neutralises_control_characters() -> None:
    console = Console(file=io.StringIO(), width=200)
    adapter = ConsoleAdapter(Commands(None, lambda: None), console=console)  # type: ignore[arg-type]
    alert = Alert(1, "bridge", HOSTILE, None, AlertKind.NEW_UPDATE, HOSTILE, HOSTILE, None, datetime.now(UTC))
    await adapter.send_alert("news", alert, None)
    console.print(adapter_reply(HOSTILE))
    out = shown(console)
    for control in ("\x1b", "\x07", "\x9b", "\r", "\x00"):
        assert control not in out
    assert "\\x1b[2J" in out and "\\x9b31m" in out  # visible, not acted on
    assert "closed" in out and "again" in out


def adapter_reply(text: str):  # type: ignore[no-untyped-def]
    from adapters.console.render import reply_to_panel

    return reply_to_panel(Reply(ReplyKind.ERROR, text))
