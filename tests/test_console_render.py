"""The console's alert: the same compact shape as Slack and Discord, from a real store."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from adapters.console.render import alert_to_panel
from tests.helpers import SEED_SUMMARY_START, kherson_store


async def test_console_alert_shows_the_update_one_timeline_line_and_where_the_rest_is(tmp_path: Path) -> None:
    store, _ = await kherson_store(tmp_path, ["console:news"])
    async with store:
        alert = await store.alert((await store.events())[-1].id)
    console = Console(width=200, record=True, color_system=None)
    console.print(alert_to_panel(alert))
    shown = console.export_text()
    assert alert.progress == "1st update since Nov 9"
    assert "1st update since Nov 9 · full timeline: /story timeline kherson" in shown
    assert shown.count(SEED_SUMMARY_START[:40]) == 1  # the update once, no timeline lines
    assert "Original" not in shown and "Timeline:" not in shown
