"""Round-trip Stories and times through the store's text columns without losing the zone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.models import Section, SectionKind, Story


def encode_time(ts: datetime | None) -> str | None:
    """ISO 8601 with offset, plus the IANA zone when there is one: '...-06:00 America/Chicago'."""
    if ts is None:
        return None
    key = getattr(ts.tzinfo, "key", None)
    return f"{ts.isoformat()} {key}" if key else ts.isoformat()


def decode_time(text: str | None) -> datetime | None:
    if not text:
        return None
    iso, _, key = text.partition(" ")
    ts = datetime.fromisoformat(iso)
    if key:
        try:
            return ts.astimezone(ZoneInfo(key))
        except ZoneInfoNotFoundError:
            return ts
    return ts


def utc_key(ts: datetime | None) -> str | None:
    """A sortable UTC string for ORDER BY."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") if ts is not None else None


def zone_of(ts: datetime | None) -> str | None:
    """What a timestamptz column forgets: the IANA zone, else the fixed offset ('+05:30')."""
    if ts is None:
        return None
    key = getattr(ts.tzinfo, "key", None)
    if key:
        return str(key)
    offset = ts.utcoffset() or timedelta(0)
    sign, minutes = ("-" if offset < timedelta(0) else "+"), int(abs(offset).total_seconds()) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def in_zone(ts: datetime | None, zone: str | None) -> datetime | None:
    """A stored instant shown in the zone `zone_of` kept beside it."""
    if ts is None or not zone:
        return ts
    if zone[0] in "+-":
        hours, _, minutes = zone[1:].partition(":")
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        return ts.astimezone(timezone(-delta if zone[0] == "-" else delta))
    try:
        return ts.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return ts


def story_to_json(story: Story) -> str:
    return json.dumps(story_to_data(story), ensure_ascii=False)


def story_to_data(story: Story) -> dict[str, Any]:
    return {
        "title": story.title,
        "subtitle": story.subtitle,
        "byline": story.byline,
        "posted": encode_time(story.posted),
        "updated": encode_time(story.updated),
        "reader": story.reader,
        "sections": [
            {
                "kind": s.kind.value,
                "header": s.header,
                "timestamp": encode_time(s.timestamp),
                "paragraphs": list(s.paragraphs),
                "fingerprint": s.fingerprint,
            }
            for s in story.sections
        ],
    }


def story_from_json(text: str) -> Story:
    return story_from_data(json.loads(text))


def story_from_data(data: dict[str, Any]) -> Story:
    return Story(
        title=data["title"],
        subtitle=data["subtitle"],
        byline=data["byline"],
        posted=decode_time(data["posted"]),
        updated=decode_time(data["updated"]),
        reader=data.get("reader", 0),
        sections=tuple(
            Section(
                kind=SectionKind(s["kind"]),
                header=s["header"],
                timestamp=decode_time(s["timestamp"]),
                paragraphs=tuple(s["paragraphs"]),
                fingerprint=s["fingerprint"],
            )
            for s in data["sections"]
        ),
    )
