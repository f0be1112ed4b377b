-- DropFix schema 0003 (PostgreSQL): audit logs (src/audit/audit.h).
-- Two HMAC-chained, append-only logs: the installation log (global table
-- install_audit) and one log per workspace (tenant table workspace_audit). seq numbers
-- each log 1, 2, 3… without gaps (appends take a transaction-scoped advisory lock per
-- log); mac = HMAC-SHA256 under the audit key derived from master key key_id, over the
-- previous row's mac and this row's fields. The app role may only read and append.
--
-- 0001 created install_audit with an unchained layout that no code ever wrote to; it
-- is replaced here by the chained layout.
DROP TABLE install_audit;

-- Installation log: survives the deletion of the accounts and workspaces it mentions
-- (no foreign keys); workspace_id is the workspace concerned (0 = none).
CREATE TABLE install_audit (
	seq bigint PRIMARY KEY CHECK (seq >= 1),
	at bigint NOT NULL,
	actor_kind text NOT NULL CHECK (actor_kind IN ('account', 'staff', 'cli', 'system')),
	actor_id bigint NOT NULL DEFAULT 0 CHECK (actor_id >= 0),
	action text NOT NULL,
	target text NOT NULL DEFAULT '',
	detail text NOT NULL DEFAULT '{}',
	ip text NOT NULL DEFAULT '',
	workspace_id bigint NOT NULL DEFAULT 0,
	key_id bigint NOT NULL CHECK (key_id >= 1),
	mac text NOT NULL CHECK (length(mac) = 64)
);
CREATE INDEX install_audit_at ON install_audit (at);
REVOKE UPDATE, DELETE ON install_audit FROM dropfix_app;

-- Workspace log (tenant table): deleted with its workspace (the cascade runs as the
-- table owner, so the app role needs no DELETE privilege for it).
CREATE TABLE workspace_audit (
	workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	seq bigint NOT NULL CHECK (seq >= 1),
	at bigint NOT NULL,
	actor_kind text NOT NULL CHECK (actor_kind IN ('account', 'staff', 'cli', 'system')),
	actor_id bigint NOT NULL DEFAULT 0 CHECK (actor_id >= 0),
	action text NOT NULL,
	target text NOT NULL DEFAULT '',
	detail text NOT NULL DEFAULT '{}',
	ip text NOT NULL DEFAULT '',
	key_id bigint NOT NULL CHECK (key_id >= 1),
	mac text NOT NULL CHECK (length(mac) = 64),
	PRIMARY KEY (workspace_id, seq)
);
CREATE INDEX workspace_audit_at ON workspace_audit (workspace_id, at);
REVOKE UPDATE, DELETE ON workspace_audit FROM dropfix_app;
ALTER TABLE workspace_audit ENABLE ROW LEVEL SECURITY;
ALTER TABLE workspace_audit FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON workspace_audit
	USING (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint)
	WITH CHECK (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint);
