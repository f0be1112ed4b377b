-- DropFix schema 0006 (SQLite): operators (src/auth/staff.h). When a staff account
-- last used its operator powers (NULL: never), for `dropfix staff list`.
ALTER TABLE accounts ADD COLUMN staff_used_at INTEGER;
