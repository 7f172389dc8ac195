"""The SQLite schema as numbered migrations, applied forward on open (PRAGMA user_version).

A migration is never edited once released: a database made by any release opens on this one.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE stories (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        subtitle TEXT NOT NULL DEFAULT '',
        aliases TEXT NOT NULL DEFAULT '',
        active INTEGER NOT NULL DEFAULT 1,
        added_at TEXT NOT NULL,
        checked_at TEXT,
        last_error TEXT
    );
    CREATE TABLE versions (
        id INTEGER PRIMARY KEY,
        story_id TEXT NOT NULL REFERENCES stories(id),
        fetched_at TEXT NOT NULL,
        ok INTEGER NOT NULL,
        content_hash TEXT,
        etag TEXT,
        last_modified TEXT,
        http_status INTEGER,
        error TEXT,
        parsed TEXT
    );
    CREATE INDEX versions_by_story ON versions(story_id, ok, id);
    CREATE TABLE sections (
        id INTEGER PRIMARY KEY,
        story_id TEXT NOT NULL REFERENCES stories(id),
        fingerprint TEXT NOT NULL,
        kind TEXT NOT NULL,
        label TEXT NOT NULL,
        header TEXT NOT NULL,
        published_at TEXT,
        body TEXT NOT NULL,
        summary TEXT NOT NULL,
        first_version_id INTEGER NOT NULL REFERENCES versions(id),
        first_seen_at TEXT NOT NULL,
        UNIQUE (story_id, fingerprint)
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        story_id TEXT NOT NULL REFERENCES stories(id),
        version_id INTEGER NOT NULL REFERENCES versions(id),
        kind TEXT NOT NULL,
        fingerprint TEXT,
        headline TEXT NOT NULL,
        summary TEXT NOT NULL,
        published_at TEXT,
        order_key TEXT NOT NULL,
        seen_at TEXT NOT NULL,
        change REAL
    );
    CREATE INDEX events_by_story ON events(story_id, id);
    CREATE TABLE routes (
        story_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        PRIMARY KEY (story_id, channel)
    );
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        event_id INTEGER NOT NULL REFERENCES events(id),
        channel TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        message_id TEXT,
        thread_id TEXT,
        sent_at TEXT,
        UNIQUE (event_id, channel)
    );
    CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
    CREATE VIRTUAL TABLE story_search USING fts5(
        story_id UNINDEXED, title, aliases, body, tokenize = 'porter unicode61 remove_diacritics 2'
    );
    """,
    # 2: finding the thread a story opened in a channel stays cheap as deliveries pile up
    """
    CREATE INDEX deliveries_by_channel ON deliveries(channel, id);
    """,
    # 3: index rows keyed by the story's rowid, so refreshing one is a lookup, not a scan
    """
    CREATE VIRTUAL TABLE story_search_by_rowid USING fts5(
        story_id UNINDEXED, title, aliases, body, tokenize = 'porter unicode61 remove_diacritics 2'
    );
    INSERT INTO story_search_by_rowid (rowid, story_id, title, aliases, body)
        SELECT s.rowid, f.story_id, f.title, f.aliases, f.body
        FROM story_search f JOIN stories s ON s.id = f.story_id;
    DROP TABLE story_search;
    ALTER TABLE story_search_by_rowid RENAME TO story_search;
    """,
    # 4: a fetched page that was not recognisably the story (bot.sanity) is kept with the reason,
    # never as a diff base; the story carries the reason until a good fetch clears it
    """
    ALTER TABLE versions ADD COLUMN suspect TEXT;
    ALTER TABLE stories ADD COLUMN suspect TEXT;
    """,
    # 5: the short lines each story of a site holds, to learn the site's boilerplate
    """
    CREATE TABLE site_lines (
        site TEXT NOT NULL,
        line_key TEXT NOT NULL,
        story_id TEXT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
        PRIMARY KEY (site, line_key, story_id)
    ) WITHOUT ROWID;
    """,
    # 6: a delivery is claimed before it is sent (exactly-once sends); indexes so pruning
    # finds what still points at a version without a scan
    """
    CREATE TABLE deliveries_claimable (
        id INTEGER PRIMARY KEY,
        event_id INTEGER NOT NULL REFERENCES events(id),
        channel TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'claimed', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        message_id TEXT,
        thread_id TEXT,
        sent_at TEXT,
        claimed_at TEXT,
        UNIQUE (event_id, channel)
    );
    INSERT INTO deliveries_claimable (id, event_id, channel, status, attempts, next_attempt_at,
            last_error, message_id, thread_id, sent_at)
        SELECT id, event_id, channel, status, attempts, next_attempt_at, last_error, message_id,
            thread_id, sent_at FROM deliveries;
    DROP TABLE deliveries;
    ALTER TABLE deliveries_claimable RENAME TO deliveries;
    CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
    CREATE INDEX deliveries_by_channel ON deliveries(channel, id);
    CREATE INDEX events_by_version ON events(version_id);
    CREATE INDEX sections_by_first_version ON sections(first_version_id);
    """,
    # 7: every headline a story has had, kept apart from versions so pruning cannot forget one
    """
    CREATE TABLE story_titles (
        story_id TEXT NOT NULL REFERENCES stories(id),
        title TEXT NOT NULL,
        PRIMARY KEY (story_id, title)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO story_titles (story_id, title)
        SELECT story_id, json_extract(parsed, '$.title') FROM versions
        WHERE ok AND coalesce(json_extract(parsed, '$.title'), '') != '';
    """,
    # 8: a hash of each story's catalog entry, so a sync rewrites only the entries that changed
    """
    ALTER TABLE stories ADD COLUMN config_hash TEXT NOT NULL DEFAULT ''
    """,
    # 9: stories, subscriptions and mutes added at runtime (chat, the CLI, feeds), beside
    # config.toml's; times are UTC keys (sortable), aliases a JSON array, keywords joined by \x1f
    """
    CREATE TABLE held_stories (
        id TEXT PRIMARY KEY,
        url TEXT,
        path TEXT,
        title TEXT NOT NULL DEFAULT '',
        aliases TEXT NOT NULL DEFAULT '[]',
        origin TEXT NOT NULL,
        added_by TEXT NOT NULL DEFAULT '',
        added_at TEXT NOT NULL,
        expires_at TEXT,
        interval REAL
    );
    CREATE TABLE subscriptions (
        channel TEXT NOT NULL,
        story_id TEXT NOT NULL DEFAULT '',
        keywords TEXT NOT NULL DEFAULT '',
        added_by TEXT NOT NULL DEFAULT '',
        added_at TEXT NOT NULL,
        PRIMARY KEY (channel, story_id, keywords)
    ) WITHOUT ROWID;
    CREATE TABLE mutes (
        story_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        until TEXT,
        added_by TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (story_id, channel)
    ) WITHOUT ROWID;
    """,
    # 10: story health: failed polls in a row (kept across restarts and workers; a story failing
    # now starts at 1), when the story last worked, and when it was paused for failing
    """
    ALTER TABLE stories ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE stories ADD COLUMN worked_at TEXT;
    ALTER TABLE stories ADD COLUMN paused_at TEXT;
    UPDATE stories SET failures = CASE WHEN last_error IS NULL THEN 0 ELSE 1 END,
        worked_at = CASE WHEN last_error IS NULL THEN checked_at
            ELSE (SELECT max(v.fetched_at) FROM versions v WHERE v.story_id = stories.id AND v.ok) END
    """,
    # 11: the updates a digest groups (kind 'digest' events, one delivery each); catch-ups are
    # events of kind 'catch_up' and need no table
    """
    CREATE TABLE digest_members (
        digest_event_id INTEGER NOT NULL REFERENCES events(id),
        event_id INTEGER NOT NULL REFERENCES events(id),
        PRIMARY KEY (digest_event_id, event_id)
    ) WITHOUT ROWID;
    CREATE INDEX events_by_story_kind ON events(story_id, kind, id);
    """,
    # 12: a correction edits the alert it corrects: events name that alert and their section's
    # label; a delivery is a post, an edit of an earlier post, or a note (one of each per channel)
    """
    ALTER TABLE events ADD COLUMN label TEXT NOT NULL DEFAULT '';
    ALTER TABLE events ADD COLUMN target_event_id INTEGER REFERENCES events(id);
    ALTER TABLE events ADD COLUMN revised_fingerprint TEXT;
    CREATE INDEX events_by_fingerprint ON events(story_id, fingerprint);
    CREATE TABLE deliveries_by_action (
        id INTEGER PRIMARY KEY,
        event_id INTEGER NOT NULL REFERENCES events(id),
        channel TEXT NOT NULL,
        action TEXT NOT NULL DEFAULT 'post' CHECK (action IN ('post', 'edit', 'note')),
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'claimed', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        message_id TEXT,
        thread_id TEXT,
        sent_at TEXT,
        claimed_at TEXT,
        UNIQUE (event_id, channel, action)
    );
    INSERT INTO deliveries_by_action (id, event_id, channel, status, attempts, next_attempt_at,
            last_error, message_id, thread_id, sent_at, claimed_at)
        SELECT id, event_id, channel, status, attempts, next_attempt_at, last_error, message_id,
            thread_id, sent_at, claimed_at FROM deliveries;
    DROP TABLE deliveries;
    ALTER TABLE deliveries_by_action RENAME TO deliveries;
    CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
    CREATE INDEX deliveries_by_channel ON deliveries(channel, id);
    """,
    # 13: a subscription's digest period, as a route's `digest` ('immediate': each alert at once)
    """
    ALTER TABLE subscriptions ADD COLUMN digest TEXT NOT NULL DEFAULT 'immediate'
    """,
    # 14: each feed URL's ETag and Last-Modified, so a restart's first read is conditional
    """
    CREATE TABLE feed_validators (
        url TEXT PRIMARY KEY,
        etag TEXT,
        last_modified TEXT
    ) WITHOUT ROWID
    """,
    # 15: the newest version before a story was re-tracked or pointed at another page: only
    # later versions are its diff base (bot.storage.baseline)
    """
    ALTER TABLE stories ADD COLUMN base_after INTEGER NOT NULL DEFAULT 0
    """,
    # 16: a number every change of a held story, subscription or mute moves (in its
    # transaction), so a process re-reads them only when it moved (Store.held_revision)
    """
    CREATE TABLE held_revision (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        revision INTEGER NOT NULL
    );
    INSERT INTO held_revision (id, revision) VALUES (1, 0)
    """,
)


def statements(script: str) -> list[str]:
    """A migration's statements (none holds a ';' inside)."""
    return [s.strip() for s in script.split(";") if s.strip()]
