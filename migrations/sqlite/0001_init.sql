-- DropFix schema 0001 (SQLite). Timestamps are Unix milliseconds from the
-- application clock, never the database clock. Global tables are listed in
-- src/store/store_schema.c; every other table is a tenant table whose primary,
-- unique and foreign keys start with workspace_id.

CREATE TABLE schema_migrations (
	version INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	applied_at INTEGER NOT NULL,
	checksum TEXT NOT NULL
) STRICT;

CREATE TABLE installation_meta (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

-- Every workspace id ever issued; never deleted, so ids are never reused.
CREATE TABLE workspace_ids (
	id INTEGER PRIMARY KEY CHECK (id >= 1 AND id < 9007199254740992),
	created_at INTEGER NOT NULL,
	deleted_at INTEGER
) STRICT;

CREATE TABLE workspaces (
	id INTEGER PRIMARY KEY REFERENCES workspace_ids (id),
	name TEXT NOT NULL,
	product_name TEXT NOT NULL DEFAULT '',
	timezone TEXT NOT NULL DEFAULT 'UTC',
	currency TEXT NOT NULL DEFAULT 'USD',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE accounts (
	id INTEGER PRIMARY KEY CHECK (id >= 1 AND id < 9007199254740992),
	email TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL DEFAULT '',
	password_hash TEXT,
	verified_at INTEGER,
	totp_sealed TEXT,
	totp_last_step INTEGER,
	is_staff INTEGER NOT NULL DEFAULT 0 CHECK (is_staff IN (0, 1)),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
	token_hash BLOB PRIMARY KEY,
	account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	csrf_secret BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	rotated_at INTEGER
) STRICT;
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE memberships (
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
	created_at INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, account_id)
) STRICT;
CREATE INDEX memberships_account ON memberships (account_id);

CREATE TABLE invites (
	token_hash BLOB PRIMARY KEY,
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	email TEXT NOT NULL,
	role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
	invited_by INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	accepted_at INTEGER
) STRICT;
CREATE INDEX invites_workspace ON invites (workspace_id);

CREATE TABLE password_resets (
	token_hash BLOB PRIMARY KEY,
	account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at INTEGER
) STRICT;
CREATE INDEX password_resets_account ON password_resets (account_id);

CREATE TABLE email_verifications (
	token_hash BLOB PRIMARY KEY,
	account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	email TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at INTEGER
) STRICT;
CREATE INDEX email_verifications_account ON email_verifications (account_id);

CREATE TABLE api_tokens (
	id INTEGER PRIMARY KEY CHECK (id >= 1 AND id < 9007199254740992),
	token_hash BLOB NOT NULL UNIQUE,
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	account_id INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
	name TEXT NOT NULL DEFAULT '',
	scopes TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	last_used_at INTEGER,
	expires_at INTEGER,
	revoked_at INTEGER
) STRICT;
CREATE INDEX api_tokens_workspace ON api_tokens (workspace_id);

-- Ingestion keys (pk_/sk_) by hash; the sealed copy is for keys the server must
-- read back (signing secrets).
CREATE TABLE workspace_keys (
	key_hash BLOB PRIMARY KEY,
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	kind TEXT NOT NULL CHECK (kind IN ('pk', 'sk')),
	display_prefix TEXT NOT NULL DEFAULT '',
	sealed TEXT,
	key_id TEXT,
	created_at INTEGER NOT NULL,
	expires_at INTEGER,
	revoked_at INTEGER
) STRICT;
CREATE INDEX workspace_keys_workspace ON workspace_keys (workspace_id);

CREATE TABLE jobs (
	id INTEGER PRIMARY KEY,
	type TEXT NOT NULL,
	workspace_id INTEGER REFERENCES workspaces (id) ON DELETE CASCADE,
	run_at INTEGER NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	max_attempts INTEGER NOT NULL DEFAULT 5,
	locked_until INTEGER,
	locked_by TEXT,
	idempotency_key TEXT UNIQUE,
	payload TEXT NOT NULL DEFAULT '{}',
	last_error TEXT,
	created_at INTEGER NOT NULL,
	done_at INTEGER
) STRICT;
CREATE INDEX jobs_due ON jobs (run_at) WHERE done_at IS NULL;
CREATE INDEX jobs_workspace ON jobs (workspace_id);

-- Installation audit log: append-only, hash-chained (prev_hash, hash); survives the
-- deletion of the accounts and workspaces it mentions (no foreign keys).
CREATE TABLE install_audit (
	id INTEGER PRIMARY KEY,
	at INTEGER NOT NULL,
	actor_account_id INTEGER,
	workspace_id INTEGER,
	action TEXT NOT NULL,
	detail TEXT NOT NULL DEFAULT '{}',
	prev_hash BLOB,
	hash BLOB
) STRICT;

-- Tenant tables.

CREATE TABLE workspace_secrets (
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	row_key TEXT NOT NULL,
	sealed TEXT NOT NULL,
	key_id TEXT NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, name),
	UNIQUE (workspace_id, row_key)
) STRICT;
CREATE INDEX workspace_secrets_key_id ON workspace_secrets (workspace_id, key_id);
