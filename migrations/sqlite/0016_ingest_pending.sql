-- DropFix schema 0016 (SQLite): events acknowledged but not yet aggregated
-- (src/ingest/ingest_writer.h). The writer appends one row per stored event with a user
-- in the acknowledging transaction, and its aggregation pass deletes the rows in the
-- transaction that updates tracked_users, user_daily and user_daily_features: whatever a
-- crash leaves here is aggregated at the next start. Both are sequential (event ids grow
-- per process). api_error and rage are the event's 0/1 flags for user_daily.
CREATE TABLE ingest_pending (
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	event_id INTEGER NOT NULL,
	user_id TEXT NOT NULL,
	event_ms INTEGER NOT NULL,
	feature_id INTEGER NOT NULL DEFAULT 0,
	api_error INTEGER NOT NULL DEFAULT 0 CHECK (api_error IN (0, 1)),
	rage INTEGER NOT NULL DEFAULT 0 CHECK (rage IN (0, 1)),
	PRIMARY KEY (workspace_id, event_id)
) STRICT, WITHOUT ROWID;
