-- DropFix schema 0007 (PostgreSQL): ingestion (src/ingest/). Every table is a tenant table.
--
-- events: append-only, one row per accepted event. id is assigned by the writer
-- (monotonic per process: ms * 1024 + counter), so inserts append to each workspace's
-- range. properties is JSON text after masking; identify events carry their traits here
-- without name and e-mail. feature_id names the interned feature key (0 = none).
CREATE TABLE events (
	workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	id bigint NOT NULL,
	user_id text,
	anonymous_id text,
	session bigint NOT NULL DEFAULT 0,
	type text NOT NULL CHECK (type IN ('track', 'page', 'identify', 'click', 'submit', 'api', 'session')),
	name text NOT NULL DEFAULT '',
	properties text NOT NULL DEFAULT '{}',
	event_ms bigint NOT NULL,
	received_ms bigint NOT NULL,
	message_id text,
	feature_id bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (workspace_id, id)
);

-- message_id de-duplication: a small table purged after its window by the recurring
-- job ingest.dedupe_purge (not an index on the event table).
CREATE TABLE ingest_dedupe (
	workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	message_id text NOT NULL,
	expires_at bigint NOT NULL,
	PRIMARY KEY (workspace_id, message_id)
);
CREATE INDEX ingest_dedupe_expiry ON ingest_dedupe (workspace_id, expires_at);

-- One profile per (workspace, user id). traits: JSON without name and e-mail (those
-- are stored sealed by the profile work of issue 5 item 6). The session columns are the
-- writer's state for computing sessions and active minutes.
CREATE TABLE tracked_users (
	workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	user_id text NOT NULL,
	first_seen bigint NOT NULL,
	last_seen bigint NOT NULL,
	traits text NOT NULL DEFAULT '{}',
	session_n bigint NOT NULL DEFAULT 0,
	session_start bigint NOT NULL DEFAULT 0,
	last_minute bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (workspace_id, user_id)
);

-- Per user per UTC day, maintained at ingest. day = days since 1970-01-01.
CREATE TABLE user_daily (
	workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	user_id text NOT NULL,
	day bigint NOT NULL,
	events bigint NOT NULL DEFAULT 0,
	active_minutes bigint NOT NULL DEFAULT 0,
	sessions bigint NOT NULL DEFAULT 0,
	session_seconds bigint NOT NULL DEFAULT 0,
	api_errors bigint NOT NULL DEFAULT 0,
	rage_clicks bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (workspace_id, user_id, day)
);

-- Interned feature keys ("page /settings/:id", "click Save", "api POST /v1/x", "track
-- Signed up"); the app model maps them to names at read time.
CREATE TABLE feature_keys (
	workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	key text NOT NULL,
	id bigint NOT NULL,
	PRIMARY KEY (workspace_id, key),
	UNIQUE (workspace_id, id)
);

CREATE TABLE user_daily_features (
	workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	user_id text NOT NULL,
	day bigint NOT NULL,
	feature_id bigint NOT NULL,
	count bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (workspace_id, user_id, day, feature_id)
);

ALTER TABLE events ENABLE ROW LEVEL SECURITY;
ALTER TABLE events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON events
	USING (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint)
	WITH CHECK (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint);
ALTER TABLE ingest_dedupe ENABLE ROW LEVEL SECURITY;
ALTER TABLE ingest_dedupe FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ingest_dedupe
	USING (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint)
	WITH CHECK (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint);
ALTER TABLE tracked_users ENABLE ROW LEVEL SECURITY;
ALTER TABLE tracked_users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tracked_users
	USING (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint)
	WITH CHECK (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint);
ALTER TABLE user_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_daily FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON user_daily
	USING (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint)
	WITH CHECK (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint);
ALTER TABLE feature_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE feature_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON feature_keys
	USING (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint)
	WITH CHECK (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint);
ALTER TABLE user_daily_features ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_daily_features FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON user_daily_features
	USING (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint)
	WITH CHECK (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint);
