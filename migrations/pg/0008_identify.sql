-- DropFix schema 0008 (PostgreSQL): signed identify and tracked users' sealed profile
-- (src/ingest/, PRODUCT §2 "Signed identify", §4). Same meaning as the SQLite file.
ALTER TABLE workspaces ADD COLUMN require_signed_identify bigint NOT NULL DEFAULT 0
	CHECK (require_signed_identify IN (0, 1));

ALTER TABLE tracked_users ADD COLUMN row_key text;
ALTER TABLE tracked_users ADD COLUMN name_sealed text;
ALTER TABLE tracked_users ADD COLUMN email_sealed text;
ALTER TABLE tracked_users ADD COLUMN email_bidx text;
ALTER TABLE tracked_users ADD COLUMN email_bidx_key bigint;
ALTER TABLE tracked_users ADD COLUMN email_verified bigint NOT NULL DEFAULT 0;
CREATE INDEX tracked_users_email_bidx ON tracked_users (workspace_id, email_bidx);

CREATE TABLE tracked_user_anon (
	workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	anonymous_id text NOT NULL,
	user_id text NOT NULL,
	signed bigint NOT NULL DEFAULT 0,
	linked_at bigint NOT NULL,
	PRIMARY KEY (workspace_id, anonymous_id)
);
CREATE INDEX tracked_user_anon_user ON tracked_user_anon (workspace_id, user_id);

CREATE TABLE tracked_user_traits (
	workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	user_id text NOT NULL,
	id bigint NOT NULL,
	at_ms bigint NOT NULL,
	signed bigint NOT NULL DEFAULT 0,
	traits text NOT NULL DEFAULT '{}',
	PRIMARY KEY (workspace_id, user_id, id)
);

ALTER TABLE tracked_user_anon ENABLE ROW LEVEL SECURITY;
ALTER TABLE tracked_user_anon FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tracked_user_anon
	USING (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint)
	WITH CHECK (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint);
ALTER TABLE tracked_user_traits ENABLE ROW LEVEL SECURITY;
ALTER TABLE tracked_user_traits FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tracked_user_traits
	USING (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint)
	WITH CHECK (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint);
