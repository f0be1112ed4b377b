-- DropFix schema 0012 (SQLite): tracked users by last seen (src/web/users_page.c, issue 6):
-- the users list's default order, and with a band, signal or plan filter it walks this
-- index newest first and probes user_health until a page is full, instead of sorting
-- every matching user.
CREATE INDEX tracked_users_last_seen ON tracked_users (workspace_id, last_seen DESC, user_id);
