"""The console's alert: the same compact shape as Slack and Discord, from a real store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from adapters.console.render import alert_to_panel
from bot.models import Alert, AlertKind
from bot.textfmt import format_time
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


def test_console_digest_shows_an_edited_member_at_when_it_was_revised() -> None:
    published = datetime(2022, 11, 11, 13, 36, tzinfo=UTC)
    revised = datetime(2022, 11, 13, 9, 30, tzinfo=UTC)
    edit = Alert(
        3, "kherson", "Kherson", None, AlertKind.SECTION_EDITED, "Update edited (20% changed)",
        "Now says dawn.", published, revised, label="Update",
    )  # fmt: skip
    digest = Alert(9, "kherson", "Kherson", None, AlertKind.DIGEST, "", "", None, revised, updates=(edit,))
    console = Console(width=200, record=True, color_system=None)
    console.print(alert_to_panel(digest))
    shown = console.export_text()
    assert f"Update edited (20% changed), revised {format_time(revised)}: Now says dawn." in shown
    assert format_time(published) not in shown
