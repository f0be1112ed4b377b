-- DropFix schema 0016 (PostgreSQL): events acknowledged but not yet aggregated
-- (src/ingest/ingest_writer.h). The writer appends one row per stored event with a user
-- in the acknowledging transaction, and its aggregation pass deletes the rows (DELETE …
-- RETURNING, so several server processes never aggregate a row twice) in the transaction
-- that updates tracked_users, user_daily and user_daily_features: whatever a crash leaves
-- here is aggregated at the next start. api_error and rage are the event's 0/1 flags.
CREATE TABLE ingest_pending (
	workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	event_id bigint NOT NULL,
	user_id text NOT NULL,
	event_ms bigint NOT NULL,
	feature_id bigint NOT NULL DEFAULT 0,
	api_error bigint NOT NULL DEFAULT 0 CHECK (api_error IN (0, 1)),
	rage bigint NOT NULL DEFAULT 0 CHECK (rage IN (0, 1)),
	PRIMARY KEY (workspace_id, event_id)
);

ALTER TABLE ingest_pending ENABLE ROW LEVEL SECURITY;
ALTER TABLE ingest_pending FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ingest_pending
	USING (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint)
	WITH CHECK (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint);
