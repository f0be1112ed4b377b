-- DropFix schema 0003 (SQLite): audit logs (src/audit/audit.h).
-- Two HMAC-chained, append-only logs: the installation log (global table
-- install_audit) and one log per workspace (tenant table workspace_audit). seq numbers
-- each log 1, 2, 3… without gaps; mac = HMAC-SHA256 under the audit key derived from
-- master key key_id, over the previous row's mac and this row's fields.
--
-- 0001 created install_audit with an unchained layout that no code ever wrote to; it
-- is replaced here by the chained layout.
DROP TABLE install_audit;

-- Installation log: survives the deletion of the accounts and workspaces it mentions
-- (no foreign keys); workspace_id is the workspace concerned (0 = none).
CREATE TABLE install_audit (
	seq INTEGER PRIMARY KEY CHECK (seq >= 1),
	at INTEGER NOT NULL,
	actor_kind TEXT NOT NULL CHECK (actor_kind IN ('account', 'staff', 'cli', 'system')),
	actor_id INTEGER NOT NULL DEFAULT 0 CHECK (actor_id >= 0),
	action TEXT NOT NULL,
	target TEXT NOT NULL DEFAULT '',
	detail TEXT NOT NULL DEFAULT '{}',
	ip TEXT NOT NULL DEFAULT '',
	workspace_id INTEGER NOT NULL DEFAULT 0,
	key_id INTEGER NOT NULL CHECK (key_id >= 1),
	mac TEXT NOT NULL CHECK (length(mac) = 64)
) STRICT;
CREATE INDEX install_audit_at ON install_audit (at);

-- Workspace log (tenant table): deleted with its workspace.
CREATE TABLE workspace_audit (
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	seq INTEGER NOT NULL CHECK (seq >= 1),
	at INTEGER NOT NULL,
	actor_kind TEXT NOT NULL CHECK (actor_kind IN ('account', 'staff', 'cli', 'system')),
	actor_id INTEGER NOT NULL DEFAULT 0 CHECK (actor_id >= 0),
	action TEXT NOT NULL,
	target TEXT NOT NULL DEFAULT '',
	detail TEXT NOT NULL DEFAULT '{}',
	ip TEXT NOT NULL DEFAULT '',
	key_id INTEGER NOT NULL CHECK (key_id >= 1),
	mac TEXT NOT NULL CHECK (length(mac) = 64),
	PRIMARY KEY (workspace_id, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX workspace_audit_at ON workspace_audit (workspace_id, at);
