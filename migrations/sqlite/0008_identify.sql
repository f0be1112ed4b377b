-- DropFix schema 0008 (SQLite): signed identify and tracked users' sealed profile
-- (src/ingest/, PRODUCT §2 "Signed identify", §4).
--
-- workspaces.require_signed_identify: 1 = identify traits (email, plan, mrr, trial_ends,
-- name) only through a valid HMAC signature, and browser (pk_) events are attributed to
-- a user only through an anonymous id a signed identify linked.
ALTER TABLE workspaces ADD COLUMN require_signed_identify INTEGER NOT NULL DEFAULT 0
	CHECK (require_signed_identify IN (0, 1));

-- Sealed name and e-mail (src/crypto/seal.h; AD v1|workspace|<ws>|tracked_users|
-- name_sealed or email_sealed|<row_key>, registered in src/store/sealed_columns.c).
-- row_key is the user id when it is printable ASCII without '|' and short enough for an
-- AD field, else "h." + hex SHA-256 of the user id. email_bidx: lowercase hex
-- HMAC-SHA256 blind index of the normalised e-mail (key: keyring purpose blind-index of
-- key id email_bidx_key, message "<workspace id>|<normalised e-mail>").
-- email_verified: 1 when the e-mail came with a valid signature.
ALTER TABLE tracked_users ADD COLUMN row_key TEXT;
ALTER TABLE tracked_users ADD COLUMN name_sealed TEXT;
ALTER TABLE tracked_users ADD COLUMN email_sealed TEXT;
ALTER TABLE tracked_users ADD COLUMN email_bidx TEXT;
ALTER TABLE tracked_users ADD COLUMN email_bidx_key INTEGER;
ALTER TABLE tracked_users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
CREATE INDEX tracked_users_email_bidx ON tracked_users (workspace_id, email_bidx);

-- Anonymous ids linked to a user by identify (newest link wins). signed = 1 when the
-- identify carried a valid signature (the only links trusted on a signing-required
-- workspace).
CREATE TABLE tracked_user_anon (
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	anonymous_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	signed INTEGER NOT NULL DEFAULT 0,
	linked_at INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, anonymous_id)
) STRICT;
CREATE INDEX tracked_user_anon_user ON tracked_user_anon (workspace_id, user_id);

-- Trait history: one row per stored identify (traits JSON without name and e-mail).
CREATE TABLE tracked_user_traits (
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	user_id TEXT NOT NULL,
	id INTEGER NOT NULL,
	at_ms INTEGER NOT NULL,
	signed INTEGER NOT NULL DEFAULT 0,
	traits TEXT NOT NULL DEFAULT '{}',
	PRIMARY KEY (workspace_id, user_id, id)
) STRICT;
