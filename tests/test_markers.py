"""Where an update marker's header stops and its body starts, for the header shapes that
carry a stamp in parentheses or after a comma."""

from __future__ import annotations

import pytest

from bot.read.markers import match_marker


@pytest.mark.parametrize(
    ("line", "header", "rest", "stamp"),
    [
        (
            "UPDATE (4:10 p.m.): Sen. Dana Ruiz (D-Ore.) said she would vote no.",
            "UPDATE (4:10 p.m.):",
            "Sen. Dana Ruiz (D-Ore.) said she would vote no.",
            (16, 10),
        ),
        (
            "Update (3:15 p.m.) Crews reached the valley.",
            "Update (3:15 p.m.)",
            "Crews reached the valley.",
            (15, 15),
        ),
        ("UPDATE, 3:15 p.m.: The mayor spoke.", "UPDATE, 3:15 p.m.:", "The mayor spoke.", (15, 15)),
        ("Update, Nov. 12: Roads reopened.", "Update, Nov. 12:", "Roads reopened.", None),
        (
            "Update (4:10 p.m.) : Crews reopened the bridge.",
            "Update (4:10 p.m.) :",
            "Crews reopened the bridge.",
            (16, 10),
        ),
    ],
    ids=[
        "parentheses in the body",
        "no separator after the stamp",
        "comma and colon",
        "comma and a date",
        "a spaced colon after the stamp",
    ],
)
def test_stamped_marker_headers(line: str, header: str, rest: str, stamp: tuple[int, int] | None) -> None:
    marker = match_marker(line)
    assert marker is not None and (marker.header, marker.rest) == (header, rest)
    assert marker.when is not None
    assert (marker.when.hour, marker.when.minute) == stamp if stamp else marker.when.day == 12


def test_a_dash_after_a_parenthesised_stamp_is_a_separator() -> None:
    marker = match_marker("UPDATE (3:15 p.m.) - Crews reached the valley.")
    assert marker is not None and marker.rest == "Crews reached the valley."


@pytest.mark.parametrize("line", ["UPDATE 4 p.m.", "Update 11 a.m. ET: Roads reopened."])
def test_an_hour_without_minutes_is_a_stamp_not_an_ordinal(line: str) -> None:
    marker = match_marker(line)
    assert marker is not None and marker.when is not None and marker.when.minute == 0
