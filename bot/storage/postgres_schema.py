"""The PostgreSQL schema as numbered migrations, recorded in `schema_migrations`.

Applied in one transaction under an advisory lock (bot.storage.postgres), so workers that
start together migrate once. Times are timestamptz; a publisher's zone, which timestamptz
forgets, is kept beside it (`*_zone`). The parsed story is jsonb; search is a generated
tsvector under a GIN index, title and aliases weighted above the text.
"""

from __future__ import annotations

MIGRATE_LOCK = 0x5107_B07  # pg_advisory_xact_lock key: "storybot migrates"

BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""

MIGRATIONS: tuple[str, ...] = (
    # 1: the schema of the SQLite store at its migration 7, in PostgreSQL's own types
    """
    CREATE TABLE stories (
        id text PRIMARY KEY,
        source text NOT NULL,
        title text NOT NULL DEFAULT '',
        subtitle text NOT NULL DEFAULT '',
        aliases text NOT NULL DEFAULT '',
        active boolean NOT NULL DEFAULT true,
        added_at timestamptz NOT NULL,
        checked_at timestamptz,
        last_error text,
        suspect text,
        search_body text NOT NULL DEFAULT '',
        search tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('english', id || ' ' || title || ' ' || aliases), 'A')
            || setweight(to_tsvector('english', search_body), 'D')
        ) STORED
    );
    CREATE INDEX stories_search ON stories USING gin (search);
    CREATE TABLE versions (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        story_id text NOT NULL REFERENCES stories(id),
        fetched_at timestamptz NOT NULL,
        ok boolean NOT NULL,
        content_hash text,
        etag text,
        last_modified text,
        http_status integer,
        error text,
        suspect text,
        parsed jsonb
    );
    CREATE INDEX versions_by_story ON versions (story_id, ok, id);
    CREATE TABLE sections (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        story_id text NOT NULL REFERENCES stories(id),
        fingerprint text NOT NULL,
        kind text NOT NULL,
        label text NOT NULL,
        header text NOT NULL,
        published_at timestamptz,
        published_zone text,
        body text NOT NULL,
        summary text NOT NULL,
        first_version_id bigint NOT NULL REFERENCES versions(id),
        first_seen_at timestamptz NOT NULL,
        UNIQUE (story_id, fingerprint)
    );
    CREATE INDEX sections_by_first_version ON sections (first_version_id);
    CREATE TABLE events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        story_id text NOT NULL REFERENCES stories(id),
        version_id bigint NOT NULL REFERENCES versions(id),
        kind text NOT NULL,
        fingerprint text,
        headline text NOT NULL,
        summary text NOT NULL,
        published_at timestamptz,
        published_zone text,
        order_at timestamptz NOT NULL,
        seen_at timestamptz NOT NULL,
        change double precision
    );
    CREATE INDEX events_by_story ON events (story_id, id);
    CREATE INDEX events_by_version ON events (version_id);
    CREATE TABLE routes (
        story_id text NOT NULL,
        channel text NOT NULL,
        PRIMARY KEY (story_id, channel)
    );
    CREATE TABLE deliveries (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id bigint NOT NULL REFERENCES events(id),
        channel text NOT NULL,
        platform text GENERATED ALWAYS AS (split_part(channel, ':', 1)) STORED,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'claimed', 'sent', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL,
        last_error text,
        message_id text,
        thread_id text,
        sent_at timestamptz,
        claimed_at timestamptz,
        UNIQUE (event_id, channel)
    );
    CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
    CREATE INDEX deliveries_by_channel ON deliveries (channel, id);
    CREATE TABLE site_lines (
        site text NOT NULL,
        line_key text NOT NULL,
        story_id text NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
        PRIMARY KEY (site, line_key, story_id)
    );
    CREATE TABLE story_titles (
        story_id text NOT NULL REFERENCES stories(id),
        title text NOT NULL,
        PRIMARY KEY (story_id, title)
    );
    """,
    # 2: a hash of each story's catalog entry, so a sync rewrites only the entries that changed
    """
    ALTER TABLE stories ADD COLUMN config_hash text NOT NULL DEFAULT ''
    """,
    # 3: stories, subscriptions and mutes added at runtime (chat, the CLI, feeds), beside
    # config.toml's; aliases a JSON array, keywords joined by \x1f
    """
    CREATE TABLE held_stories (
        id text PRIMARY KEY,
        url text,
        path text,
        title text NOT NULL DEFAULT '',
        aliases text NOT NULL DEFAULT '[]',
        origin text NOT NULL,
        added_by text NOT NULL DEFAULT '',
        added_at timestamptz NOT NULL,
        expires_at timestamptz,
        interval double precision
    );
    CREATE TABLE subscriptions (
        channel text NOT NULL,
        story_id text NOT NULL DEFAULT '',
        keywords text NOT NULL DEFAULT '',
        added_by text NOT NULL DEFAULT '',
        added_at timestamptz NOT NULL,
        PRIMARY KEY (channel, story_id, keywords)
    );
    CREATE TABLE mutes (
        story_id text NOT NULL,
        channel text NOT NULL,
        until timestamptz,
        added_by text NOT NULL DEFAULT '',
        PRIMARY KEY (story_id, channel)
    );
    """,
    # 4: story health: failed polls in a row (kept across restarts and workers; a story failing
    # now starts at 1), when the story last worked, and when it was paused for failing
    """
    ALTER TABLE stories ADD COLUMN failures integer NOT NULL DEFAULT 0;
    ALTER TABLE stories ADD COLUMN worked_at timestamptz;
    ALTER TABLE stories ADD COLUMN paused_at timestamptz;
    UPDATE stories SET failures = CASE WHEN last_error IS NULL THEN 0 ELSE 1 END,
        worked_at = CASE WHEN last_error IS NULL THEN checked_at
            ELSE (SELECT max(v.fetched_at) FROM versions v WHERE v.story_id = stories.id AND v.ok) END
    """,
    # 5: the updates a digest groups (kind 'digest' events, one delivery each); catch-ups are
    # events of kind 'catch_up' and need no table
    """
    CREATE TABLE digest_members (
        digest_event_id bigint NOT NULL REFERENCES events(id),
        event_id bigint NOT NULL REFERENCES events(id),
        PRIMARY KEY (digest_event_id, event_id)
    );
    CREATE INDEX events_by_story_kind ON events (story_id, kind, id);
    """,
    # 6: a correction edits the alert it corrects: events name that alert and their section's
    # label; a delivery is a post, an edit of an earlier post, or a note (one of each per channel)
    """
    ALTER TABLE events ADD COLUMN label text NOT NULL DEFAULT '',
        ADD COLUMN target_event_id bigint REFERENCES events(id),
        ADD COLUMN revised_fingerprint text;
    CREATE INDEX events_by_fingerprint ON events (story_id, fingerprint);
    ALTER TABLE deliveries ADD COLUMN action text NOT NULL DEFAULT 'post'
        CHECK (action IN ('post', 'edit', 'note'));
    ALTER TABLE deliveries DROP CONSTRAINT deliveries_event_id_channel_key;
    ALTER TABLE deliveries ADD CONSTRAINT deliveries_event_channel_action_key
        UNIQUE (event_id, channel, action);
    """,
    # 7: a subscription's digest period, as a route's `digest` ('immediate': each alert at once)
    """
    ALTER TABLE subscriptions ADD COLUMN digest text NOT NULL DEFAULT 'immediate'
    """,
    # 8: each feed URL's ETag and Last-Modified, so a restart's first read is conditional
    """
    CREATE TABLE feed_validators (
        url text PRIMARY KEY,
        etag text,
        last_modified text
    )
    """,
    # 9: the newest version before a story was re-tracked or pointed at another page: only
    # later versions are its diff base (bot.storage.baseline)
    """
    ALTER TABLE stories ADD COLUMN base_after bigint NOT NULL DEFAULT 0
    """,
    # 10: a number every change of a held story, subscription or mute moves (in its
    # transaction), so a process re-reads them only when it moved (Store.held_revision)
    """
    CREATE TABLE held_revision (
        id integer PRIMARY KEY CHECK (id = 1),
        revision bigint NOT NULL
    );
    INSERT INTO held_revision (id, revision) VALUES (1, 0)
    """,
)
