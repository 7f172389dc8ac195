"""How both backends write and read the held rows: one spelling, so the two never drift."""

from __future__ import annotations

import json
from collections.abc import Iterable

from bot.storage.rows import HeldState, HeldStory, Moment, Mute, Row, Subscription

KEYWORD_SEP = "\x1f"


def keywords_key(keywords: Iterable[str]) -> str:
    """Keywords as one column: casefolded, unique, sorted, so the same set is the same key."""
    return KEYWORD_SEP.join(sorted({k.strip().casefold() for k in keywords if k.strip()}))


def keywords_of(key: str) -> tuple[str, ...]:
    return tuple(key.split(KEYWORD_SEP)) if key else ()


def aliases_text(aliases: Iterable[str]) -> str:
    return json.dumps(list(aliases), ensure_ascii=False)


def aliases_of(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text or "[]"))


def held_state(
    stories: Iterable[Row],
    subscriptions: Iterable[Row],
    mutes: Iterable[Row],
    moment: Moment,
) -> HeldState:
    """The held rows of one snapshot as a HeldState; `moment` reads a backend's time column."""
    return HeldState(
        tuple(
            HeldStory(
                r["id"], r["url"], r["path"], r["title"], aliases_of(r["aliases"]), r["origin"],
                r["added_by"], moment(r["added_at"]), moment(r["expires_at"]), r["interval"],
            )
            for r in stories
        ),
        tuple(
            Subscription(r["channel"], r["story_id"], keywords_of(r["keywords"]), r["added_by"],
                         moment(r["added_at"]), r["digest"])
            for r in subscriptions
        ),
        tuple(Mute(r["story_id"], r["channel"], moment(r["until"]), r["added_by"]) for r in mutes),
    )  # fmt: skip
