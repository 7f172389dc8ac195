"""The names users call stories by (ids, aliases, titles), held in memory and updated in place.

`/story` must answer within a few milliseconds at 10,000 stories, so a sync or a new title
touches only the names of the stories it changed (rebuilding everything cost the next
command tens of milliseconds). Lookups go cheapest first: an exact name (a dict), a prefix
only one story's names start with (bisect over the sorted names), then fuzzy matching with
its work bounded per query: the names sharing the query's first letter first, every
name only when they hold no good match, and the costly WRatio only on a short list the cheap
QRatio picks.

Not thread-safe: `bot.commands` holds a lock around every call.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime

from rapidfuzz import fuzz, process, utils

from bot.models import StoryBrief

SHORTLIST = 200  # names WRatio ranks per pass; QRatio picks them when there are more


def fold(name: str) -> str:
    """How names compare: lower case, punctuation as spaces, spaces squeezed."""
    return " ".join(utils.default_process(name).split())


class NameIndex:
    """Story id -> brief, and every name of every story, searchable three ways."""

    def __init__(self, briefs: Iterable[StoryBrief] = ()) -> None:
        self.briefs: dict[str, StoryBrief] = {}
        self._exact: dict[str, set[str]] = {}  # casefolded name -> ids that carry it
        self._names: dict[int, str] = {}  # name key -> folded name (rapidfuzz's choices)
        self._owner: dict[int, str] = {}  # name key -> story id
        self._keys: dict[str, list[int]] = {}  # story id -> its name keys
        self._buckets: dict[str, dict[int, str]] = {}  # first letter -> {key: folded name}
        self._sorted: list[tuple[str, int]] = []  # (folded name, key), for prefixes
        self._counter = itertools.count()
        for brief in briefs:
            self.put(brief)

    def __len__(self) -> int:
        return len(self.briefs)

    # --- updates -----------------------------------------------------------------------

    def put(self, brief: StoryBrief) -> None:
        """Add a story or replace what is known of it (its names are re-indexed)."""
        self.remove(brief.id)
        self.briefs[brief.id] = brief
        raw = (brief.id, *brief.aliases, brief.title)
        for name in raw:
            self._exact.setdefault(name.casefold(), set()).add(brief.id)
        keys = []
        for folded in dict.fromkeys(fold(name) for name in raw):
            if not folded:
                continue
            key = next(self._counter)
            keys.append(key)
            self._names[key] = folded
            self._owner[key] = brief.id
            self._buckets.setdefault(folded[:1], {})[key] = folded
            bisect.insort(self._sorted, (folded, key))
        self._keys[brief.id] = keys

    def remove(self, story_id: str) -> None:
        """Forget a story and its names; unknown ids are ignored."""
        brief = self.briefs.pop(story_id, None)
        if brief is None:
            return
        for name in (brief.id, *brief.aliases, brief.title):
            owners = self._exact.get(name.casefold())
            if owners is not None:
                owners.discard(story_id)
                if not owners:
                    del self._exact[name.casefold()]
        for key in self._keys.pop(story_id, []):
            folded = self._names.pop(key)
            del self._owner[key]
            bucket = self._buckets[folded[:1]]
            del bucket[key]
            if not bucket:
                del self._buckets[folded[:1]]
            at = bisect.bisect_left(self._sorted, (folded, key))
            del self._sorted[at]

    def note(self, story_id: str, title: str, updated: datetime | None = None) -> bool:
        """A poll saw `title` (and, if given, a good fetch at `updated`). Re-indexes the
        story only when its title is new; True if it did."""
        brief = self.briefs.get(story_id)
        if brief is None:
            return False
        if updated is not None and (brief.updated is None or updated > brief.updated):
            brief = replace(brief, updated=updated)
            self.briefs[story_id] = brief
        title = title or story_id
        if brief.title == title:
            return False
        self.put(replace(brief, title=title))
        return True

    def sync(self, briefs: Iterable[StoryBrief]) -> int:
        """Match the store's list of active stories; returns how many stories' names changed.
        Stories whose names did not change only get their fresh brief (fetch time, suspect)."""
        fresh: Mapping[str, StoryBrief] = {b.id: b for b in briefs}
        changed = 0
        for story_id in [i for i in self.briefs if i not in fresh]:
            self.remove(story_id)
            changed += 1
        for story_id, brief in fresh.items():
            old = self.briefs.get(story_id)
            if old is not None and (old.title, old.aliases) == (brief.title, brief.aliases):
                self.briefs[story_id] = brief
            else:
                self.put(brief)
                changed += 1
        return changed

    # --- lookups -----------------------------------------------------------------------

    def ordered(self) -> list[StoryBrief]:
        """Every story, by id."""
        return [self.briefs[i] for i in sorted(self.briefs)]

    def exact(self, query: str) -> str | None:
        """The story whose id, alias or title is `query` (any case); the lowest id if several."""
        owners = self._exact.get(query.casefold())
        return min(owners) if owners else None

    def starting(self, query: str, limit: int) -> list[str]:
        """Ids of stories with a name starting with `query`, by name, each once."""
        folded = fold(query)
        found: dict[str, None] = {}
        if not folded:
            return []
        at = bisect.bisect_left(self._sorted, (folded,))
        for name, key in itertools.islice(self._sorted, at, None):
            if not name.startswith(folded) or len(found) >= limit:
                break
            found.setdefault(self._owner[key])
        return list(found)

    def unique_prefix(self, query: str) -> str | None:
        """The one story whose names alone start with `query` (three letters at least)."""
        if len(fold(query)) < 3:
            return None
        owners = self.starting(query, 2)
        return owners[0] if len(owners) == 1 else None

    def fuzzy(self, query: str, limit: int, cutoff: float, good: float = 100.0) -> list[tuple[str, float]]:
        """(story id, score) for names like `query`, best first, each story once. The names
        sharing its first letter are tried first; every name only when those score
        below `good`."""
        folded = fold(query)
        if not folded:
            return []
        bucket = self._buckets.get(folded[:1])
        if bucket:
            hits = self._rank(folded, bucket, limit, cutoff)
            if hits and hits[0][1] >= good:
                return hits
        return self._rank(folded, self._names, limit, cutoff)

    def _rank(
        self, folded: str, choices: dict[int, str], limit: int, cutoff: float
    ) -> list[tuple[str, float]]:
        if len(choices) > SHORTLIST:
            picked = process.extract(folded, choices, scorer=fuzz.QRatio, processor=None, limit=SHORTLIST)
            choices = {key: name for name, _, key in picked}
        hits = process.extract(
            folded, choices, scorer=fuzz.WRatio, processor=None, limit=limit * 4, score_cutoff=cutoff
        )
        best: dict[str, tuple[float, float]] = {}  # owner -> (WRatio, QRatio: the tie-break)
        for name, score, key in hits:
            owner = self._owner[key]
            best[owner] = max((score, fuzz.QRatio(folded, name, processor=None)), best.get(owner, (0.0, 0.0)))
        ranked = sorted(best.items(), key=lambda item: (-item[1][0], -item[1][1], item[0]))
        return [(owner, scores[0]) for owner, scores in ranked[:limit]]
