"""Before/after page pairs: what a re-fetch of a changed page must report, and nothing else.

Each folder in fixtures/pairs holds `before.*`, `after.*` (the same story fetched twice) and
`expected.json` with the events in order: {"type": "NewUpdate" | "SectionEdited" |
"HeadlineChanged", "header": ..., "timestamp": ..., "kind": ...} (keys other than type are
checked when given).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.diff import diff
from bot.models import Event, HeadlineChanged, NewUpdate, SectionEdited
from bot.read import parse_story

PAIRS = Path(__file__).resolve().parent / "fixtures" / "pairs"


def _pairs() -> list[Path]:
    return sorted(p for p in PAIRS.iterdir() if p.is_dir()) if PAIRS.exists() else []


def _read(folder: Path, name: str):  # type: ignore[no-untyped-def]
    [source] = [p for p in folder.iterdir() if p.stem == name]
    content_type = "text/html" if source.suffix == ".html" else "text/plain"
    story = parse_story(source.read_bytes(), content_type)
    assert story.problems == (), (source.name, story.problems)
    return story


def _describe(event: Event) -> dict[str, str | None]:
    if isinstance(event, NewUpdate):
        s = event.section
        stamp = s.timestamp.isoformat() if s.timestamp else None
        return {"type": "NewUpdate", "header": s.header, "timestamp": stamp, "kind": s.kind.value}
    if isinstance(event, SectionEdited):
        s = event.new
        stamp = s.timestamp.isoformat() if s.timestamp else None
        return {"type": "SectionEdited", "header": s.header, "timestamp": stamp, "kind": s.kind.value}
    assert isinstance(event, HeadlineChanged)
    return {"type": "HeadlineChanged", "header": event.new}


@pytest.mark.parametrize("folder", _pairs(), ids=lambda p: p.name)
def test_pair(folder: Path) -> None:
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    before, after = _read(folder, "before"), _read(folder, "after")
    events = [_describe(e) for e in diff(before, after)]
    assert len(events) == len(expected["events"]), events
    for got, want in zip(events, expected["events"], strict=True):
        for key, value in want.items():
            assert got.get(key) == value, (key, got)
    assert diff(after, after) == []  # a re-fetch of the same page says nothing


def test_pairs_cover_live_blogs() -> None:
    assert sum(p.name.startswith("live-") for p in _pairs()) >= 3
