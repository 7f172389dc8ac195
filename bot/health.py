"""What is broken, in words: `/story status` and `storybot status` print the same text.

Every tracked story with when it last worked; below, the ones paused for failing, failing now
or whose last fetch was set aside (bot.sanity), each with its last error; then the deliveries
that failed for good, with the platform's reason. Reads the store only, so any process of a
scaled-out setup shows the same thing.
"""

from __future__ import annotations

from bot.storage import Store, StoryHealth
from bot.textfmt import format_time

FAILED_SHOWN = 20  # deliveries that failed for good, newest first


async def status_text(store: Store) -> str:
    briefs = await store.stories()
    health = {h.id: h for h in await store.story_health()}
    lines = [f"Story status ({len(briefs)} tracked):"]
    for brief in briefs:
        line = f"- {brief.id}: last good fetch {format_time(brief.updated) if brief.updated else 'never'}"
        state = health.get(brief.id)
        lines.append(line + (_trouble(state) if state else ""))
    paused = [h.id for h in health.values() if h.paused]
    if paused:
        lines += ["", f"Paused for failing: {', '.join(paused)}. Resume with /story resume <name>."]
    failed = await store.failed_deliveries(FAILED_SHOWN)
    if failed:
        lines += ["", f"Deliveries that failed for good (newest {len(failed)}):"]
        lines += [
            f"- {d.channel}: {d.story_id} {d.kind.value.replace('_', ' ')} \u201c{d.headline}\u201d"
            f" after {d.attempts} attempt(s): {d.error or 'no reason given'}"
            for d in failed
        ]
    return "\n".join(lines)


def _trouble(h: StoryHealth) -> str:
    """What is wrong with one story, appended to its line."""
    parts = []
    if h.paused_at:
        parts.append(f"PAUSED {format_time(h.paused_at)}")
    if h.failures:
        parts.append(f"failing: {h.failures} in a row, last error: {h.last_error or 'unknown'}")
        parts.append(f"last worked {format_time(h.worked_at) if h.worked_at else 'never'}")
    if h.suspect:
        parts.append(f"last fetch suspect: {h.suspect}")
    return "; " + "; ".join(parts) if parts else ""
