-- DropFix schema 0010 (SQLite): the workspace's browser-privacy settings for ingestion
-- (PRODUCT §2 "consent mode", "Do-Not-Track / Global Privacy Control when the founder
-- enables it"; src/ingest/, keys page).
--
-- workspaces.consent_required: 1 = the SDK stores nothing in the browser and sends
-- nothing until the page calls DropFix.optIn(); the server drops pk_ events whose batch
-- does not carry "consent": true (code no_consent). sk_ server keys are exempt.
-- workspaces.honor_dnt: 1 = the SDK sends nothing from browsers that send Do-Not-Track
-- (navigator.doNotTrack "1") or Global Privacy Control.
ALTER TABLE workspaces ADD COLUMN consent_required INTEGER NOT NULL DEFAULT 0
	CHECK (consent_required IN (0, 1));
ALTER TABLE workspaces ADD COLUMN honor_dnt INTEGER NOT NULL DEFAULT 0
	CHECK (honor_dnt IN (0, 1));
