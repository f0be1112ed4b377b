-- DropFix schema 0015: drop events_user (0011). A (workspace, user, id) index on the
-- event table costs the ingest writer a random-position B-tree write per event (measured:
-- the writer's CPU per event went from 14 to 32 µs with it). The user page reads a user's
-- recent events by the id range received before the user's last change instead
-- (src/web/user_page.c load_events).
DROP INDEX IF EXISTS events_user;
