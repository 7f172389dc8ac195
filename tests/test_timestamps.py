"""Stamps as machine-written data (ISO 8601) and as UTC offsets, read by `match_when`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.read.timestamps import match_when

NEW_YORK = ZoneInfo("America/New_York")
ON = date(2023, 1, 2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-11-11T13:36:00Z", datetime(2022, 11, 11, 13, 36, tzinfo=UTC)),
        ("2022-11-11T07:36:00-06:00", datetime(2022, 11, 11, 7, 36, tzinfo=timezone(timedelta(hours=-6)))),
        ("2022-11-11T07:36", datetime(2022, 11, 11, 7, 36, tzinfo=NEW_YORK)),  # no zone: the page's
        ("2022-11-11 07:36:59", datetime(2022, 11, 11, 7, 36, tzinfo=NEW_YORK)),
        ("2022-11-11", datetime(2022, 11, 11, tzinfo=NEW_YORK)),
        ("09:00 UTC+14", datetime(2023, 1, 2, 9, tzinfo=timezone(timedelta(hours=14)))),  # Kiribati
        ("09:00 GMT-12", datetime(2023, 1, 2, 9, tzinfo=timezone(timedelta(hours=-12)))),
        ("09:00 +0530", datetime(2023, 1, 2, 9, tzinfo=timezone(timedelta(hours=5, minutes=30)))),
    ],
)
def test_iso_stamps_and_offsets(text: str, expected: datetime) -> None:
    when = match_when(text)
    assert when is not None
    got = when.resolve(on=ON)
    assert got == expected and got is not None and got.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("text", ["09:00 UTC+15", "09:00 GMT+20"])
def test_an_offset_past_fourteen_hours_is_no_zone(text: str) -> None:
    when = match_when(text)
    assert when is None or when.zone is None
