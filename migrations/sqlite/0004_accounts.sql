-- DropFix schema 0004 (SQLite): sessions with rotation grace and a 2FA stage, the
-- viewer role, account security bookkeeping (src/auth/).

-- Sessions are reshaped (no data exists before accounts ship): a stable random id for
-- the "active sessions" page, the current token hash, the previous one during the
-- grace period after a rotation, and the stage (0: password ok, 2FA pending; 1: full).
DROP TABLE sessions;
CREATE TABLE sessions (
	id INTEGER PRIMARY KEY CHECK (id >= 1 AND id < 9007199254740992),
	account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	token_hash BLOB NOT NULL UNIQUE,
	prev_token_hash BLOB UNIQUE,
	prev_valid_until INTEGER,
	csrf_secret BLOB NOT NULL,
	stage INTEGER NOT NULL DEFAULT 0 CHECK (stage IN (0, 1)),
	created_at INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	rotated_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	user_agent TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE memberships_new (
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
	created_at INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, account_id)
) STRICT;
INSERT INTO memberships_new (workspace_id, account_id, role, created_at)
	SELECT workspace_id, account_id, role, created_at FROM memberships;
DROP TABLE memberships;
ALTER TABLE memberships_new RENAME TO memberships;
CREATE INDEX memberships_account ON memberships (account_id);

CREATE TABLE invites_new (
	token_hash BLOB PRIMARY KEY,
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	email TEXT NOT NULL,
	role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
	invited_by INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	accepted_at INTEGER
) STRICT;
INSERT INTO invites_new (token_hash, workspace_id, email, role, invited_by, created_at, expires_at, accepted_at)
	SELECT token_hash, workspace_id, email, role, invited_by, created_at, expires_at, accepted_at FROM invites;
DROP TABLE invites;
ALTER TABLE invites_new RENAME TO invites;
CREATE INDEX invites_workspace ON invites (workspace_id);

ALTER TABLE accounts ADD COLUMN password_changed_at INTEGER;
ALTER TABLE accounts ADD COLUMN failed_alert_at INTEGER;
ALTER TABLE accounts ADD COLUMN disabled_at INTEGER;
ALTER TABLE workspaces ADD COLUMN require_2fa INTEGER NOT NULL DEFAULT 0 CHECK (require_2fa IN (0, 1));
