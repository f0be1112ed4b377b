-- DropFix schema 0018 (PostgreSQL): nothing to change. The SQLite migration of the same
-- number rewrites events.type's CHECK as a chain of equalities, because SQLite builds a
-- temporary index per inserted row for an IN list; PostgreSQL checks `type IN (…)`
-- without that cost. Kept so that both backends report the same schema version.
SELECT 1;
