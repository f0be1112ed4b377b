-- DropFix schema 0002 (PostgreSQL): job queue bookkeeping (src/jobs/job.h).
-- A dead job (every attempt failed, or a permanent failure) has done_at AND dead_at
-- set, with the reason in last_error; a job done successfully has dead_at NULL.
ALTER TABLE jobs ADD COLUMN dead_at bigint;
-- The cleanup job deletes done rows after 7 days and dead rows after 30.
CREATE INDEX jobs_done ON jobs (done_at) WHERE done_at IS NOT NULL;
CREATE INDEX jobs_dead ON jobs (dead_at) WHERE dead_at IS NOT NULL;
