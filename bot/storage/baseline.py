"""Which stored versions may be a story's diff base, one rule for every backend.

A story that starts reading another page (its source edited) or is tracked again after it was
dropped (`/story untrack` then `/story track`, a story taken out of config.toml and put back)
starts with a baseline, as a newly tracked story does: what the page says by then is not news.
Its older versions stay (history, timeline, fingerprints of what was already alerted); the
catalog sync records the newest of them as the story's `base_after`, and only versions after
it are a diff base, a conditional-GET key or the latest version a catch-up shows.
"""

from __future__ import annotations

# appended to a WHERE clause on `versions` (unaliased): only versions after the story's base
AFTER_BASE = "AND id > coalesce((SELECT s.base_after FROM stories s WHERE s.id = versions.story_id), 0)"

# an `ON CONFLICT (id) DO UPDATE SET` item of the catalog sync's upsert into `stories`
REBASE_ON_SYNC = """base_after = CASE WHEN stories.source <> excluded.source OR NOT stories.active
    THEN coalesce((SELECT max(v.id) FROM versions v WHERE v.story_id = excluded.id), 0)
    ELSE stories.base_after END"""
