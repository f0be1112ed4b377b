-- DropFix schema 0005 (SQLite): recovery codes for TOTP 2FA (src/auth/account.h).
-- The ten codes of an account as SHA-256 hex hashes (src/auth/recovery.h), joined by
-- commas in the order they were shown; a used code's slot holds "used". NULL when 2FA
-- is off. Single use is a compare-and-swap on the whole value.
ALTER TABLE accounts ADD COLUMN recovery_codes TEXT;
