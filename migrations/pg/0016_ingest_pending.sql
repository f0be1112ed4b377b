-- DropFix schema 0016 (PostgreSQL): events acknowledged but not yet aggregated
-- (src/ingest/ingest_writer.h). The writer appends ONE row per workspace segment of each
-- acknowledging transaction (seq: the segment's first event id, growing per process;
-- events: the packed id, time, feature id, api-error and rage flags and user id of every
-- stored event with a user, format in ingest_writer.c), and its aggregation pass deletes
-- the rows (DELETE … RETURNING, so several server processes never aggregate a row twice)
-- in the transaction that updates tracked_users, user_daily and user_daily_features:
-- whatever a crash leaves here is aggregated at the next start.
CREATE TABLE ingest_pending (
	workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	seq bigint NOT NULL,
	events bytea NOT NULL,
	PRIMARY KEY (workspace_id, seq)
);

ALTER TABLE ingest_pending ENABLE ROW LEVEL SECURITY;
ALTER TABLE ingest_pending FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ingest_pending
	USING (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint)
	WITH CHECK (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint);
