-- DropFix schema 0010 (PostgreSQL): the workspace's browser-privacy settings for ingestion
-- (PRODUCT §2 "consent mode", "Do-Not-Track / Global Privacy Control when the founder
-- enables it"; src/ingest/, keys page). See migrations/sqlite/0010_ingest_privacy.sql.
ALTER TABLE workspaces ADD COLUMN consent_required bigint NOT NULL DEFAULT 0
	CHECK (consent_required IN (0, 1));
ALTER TABLE workspaces ADD COLUMN honor_dnt bigint NOT NULL DEFAULT 0
	CHECK (honor_dnt IN (0, 1));
