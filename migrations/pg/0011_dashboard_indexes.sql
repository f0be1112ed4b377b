-- DropFix schema 0011 (PostgreSQL): indexes for the dashboard pages (src/web/users_page.c,
-- user_page.c; issue 6, p95 <= 100 ms at 100,000 users). The users list sorts inside
-- user_health by health, MRR, plan or open signals, then joins one page of rows; the
-- user page reads the latest events of one user.
CREATE INDEX user_health_health ON user_health (workspace_id, health, user_id);
CREATE INDEX user_health_mrr ON user_health (workspace_id, mrr DESC, user_id);
CREATE INDEX user_health_plan ON user_health (workspace_id, plan, user_id);
CREATE INDEX user_health_open ON user_health (workspace_id, open_count DESC, health, user_id);
-- The overview's MRR at risk sums mrr over the watch and at-risk bands' users with an
-- open signal from this index alone.
CREATE INDEX user_health_risk ON user_health (workspace_id, band, open_count, mrr);
CREATE INDEX events_user ON events (workspace_id, user_id, id);
