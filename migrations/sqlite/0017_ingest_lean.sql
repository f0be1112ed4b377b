-- DropFix schema 0017 (SQLite): less to write per acknowledged event.
--
-- events.session goes: the per-event session number cost an UPDATE of every event in
-- the aggregation pass, and nothing read it; sessions are counted per user and day in
-- user_daily (sessions, session_seconds) and tracked_users (session_n).
--
-- ingest_dedupe loses expires_at and its index ingest_dedupe_expiry (one more B-tree
-- written per event): the purge job (ingest.dedupe_purge) now walks the event log,
-- whose ids grow with the time of receipt (ms * 1024 + counter), from a per-workspace
-- cursor up to the window's edge and deletes each event's message_id. Every stored event
-- with a message_id has exactly one de-duplication row and a duplicate stores nothing,
-- so the walk finds every row. A workspace without a cursor row starts at its first event.
ALTER TABLE events DROP COLUMN session;
DROP INDEX ingest_dedupe_expiry;
ALTER TABLE ingest_dedupe DROP COLUMN expires_at;

-- through_id: every event with a smaller id is past the window and its message_id purged.
CREATE TABLE ingest_dedupe_purge (
	workspace_id INTEGER NOT NULL PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
	through_id INTEGER NOT NULL
) STRICT;
