-- DropFix schema 0004 (PostgreSQL): sessions with rotation grace and a 2FA stage, the
-- viewer role, account security bookkeeping (src/auth/).

-- Sessions are reshaped (no data exists before accounts ship): a stable random id for
-- the "active sessions" page, the current token hash, the previous one during the
-- grace period after a rotation, and the stage (0: password ok, 2FA pending; 1: full).
DROP TABLE sessions;
CREATE TABLE sessions (
	id bigint PRIMARY KEY CHECK (id >= 1 AND id < 9007199254740992),
	account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	token_hash bytea NOT NULL UNIQUE,
	prev_token_hash bytea UNIQUE,
	prev_valid_until bigint,
	csrf_secret bytea NOT NULL,
	stage smallint NOT NULL DEFAULT 0 CHECK (stage IN (0, 1)),
	created_at bigint NOT NULL,
	last_seen_at bigint NOT NULL,
	rotated_at bigint NOT NULL,
	expires_at bigint NOT NULL,
	user_agent text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_account ON sessions (account_id);

ALTER TABLE memberships DROP CONSTRAINT memberships_role_check;
ALTER TABLE memberships ADD CONSTRAINT memberships_role_check CHECK (role IN ('owner', 'admin', 'member', 'viewer'));
ALTER TABLE invites DROP CONSTRAINT invites_role_check;
ALTER TABLE invites ADD CONSTRAINT invites_role_check CHECK (role IN ('owner', 'admin', 'member', 'viewer'));

ALTER TABLE accounts ADD COLUMN password_changed_at bigint;
ALTER TABLE accounts ADD COLUMN failed_alert_at bigint;
ALTER TABLE accounts ADD COLUMN disabled_at bigint;
ALTER TABLE workspaces ADD COLUMN require_2fa smallint NOT NULL DEFAULT 0 CHECK (require_2fa IN (0, 1));
