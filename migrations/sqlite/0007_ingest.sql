-- DropFix schema 0007 (SQLite): ingestion (src/ingest/). Every table is a tenant table.
--
-- events: append-only, one row per accepted event. id is assigned by the writer
-- (monotonic per process: ms * 1024 + counter), so inserts append to each workspace's
-- range. properties is JSON text after masking; identify events carry their traits here
-- without name and e-mail. feature_id names the interned feature key (0 = none).
CREATE TABLE events (
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	id INTEGER NOT NULL,
	user_id TEXT,
	anonymous_id TEXT,
	session INTEGER NOT NULL DEFAULT 0,
	type TEXT NOT NULL CHECK (type IN ('track', 'page', 'identify', 'click', 'submit', 'api', 'session')),
	name TEXT NOT NULL DEFAULT '',
	properties TEXT NOT NULL DEFAULT '{}',
	event_ms INTEGER NOT NULL,
	received_ms INTEGER NOT NULL,
	message_id TEXT,
	feature_id INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (workspace_id, id)
) STRICT;

-- message_id de-duplication: a small table purged after its window by the recurring
-- job ingest.dedupe_purge (not an index on the event table).
CREATE TABLE ingest_dedupe (
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	message_id TEXT NOT NULL,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, message_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX ingest_dedupe_expiry ON ingest_dedupe (workspace_id, expires_at);

-- One profile per (workspace, user id). traits: JSON without name and e-mail (those
-- are stored sealed by the profile work of issue 5 item 6). The session columns are the
-- writer's state for computing sessions and active minutes.
CREATE TABLE tracked_users (
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	user_id TEXT NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen INTEGER NOT NULL,
	traits TEXT NOT NULL DEFAULT '{}',
	session_n INTEGER NOT NULL DEFAULT 0,
	session_start INTEGER NOT NULL DEFAULT 0,
	last_minute INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (workspace_id, user_id)
) STRICT;

-- Per user per UTC day, maintained at ingest. day = days since 1970-01-01.
CREATE TABLE user_daily (
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	user_id TEXT NOT NULL,
	day INTEGER NOT NULL,
	events INTEGER NOT NULL DEFAULT 0,
	active_minutes INTEGER NOT NULL DEFAULT 0,
	sessions INTEGER NOT NULL DEFAULT 0,
	session_seconds INTEGER NOT NULL DEFAULT 0,
	api_errors INTEGER NOT NULL DEFAULT 0,
	rage_clicks INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (workspace_id, user_id, day)
) STRICT;

-- Interned feature keys ("page /settings/:id", "click Save", "api POST /v1/x", "track
-- Signed up"); the app model maps them to names at read time.
CREATE TABLE feature_keys (
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	key TEXT NOT NULL,
	id INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, key),
	UNIQUE (workspace_id, id)
) STRICT;

CREATE TABLE user_daily_features (
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	user_id TEXT NOT NULL,
	day INTEGER NOT NULL,
	feature_id INTEGER NOT NULL,
	count INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (workspace_id, user_id, day, feature_id)
) STRICT;
