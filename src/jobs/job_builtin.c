/* The built-in jobs: expired-row cleanup and the SQLite WAL checkpoint, both
 * recurring; in test builds also the test-only types the black-box tests drive. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/parse.h"
#include "jobs/job.h"

#define CLEANUP_PERIOD_MS (3600 * 1000)
#define CHECKPOINT_PERIOD_MS (5 * 60 * 1000)
#define CLEANUP_BATCH 1000
/* Above this WAL size the checkpoint truncates the file (waiting for readers up to
 * the write wait); below it a passive checkpoint is enough. */
#define CHECKPOINT_TRUNCATE_BYTES (16 * 1024 * 1024)

/* One DELETE per expiring table, each removing at most CLEANUP_BATCH rows whose time
 * ($1) has passed; repeated until a batch comes back short, one short transaction per
 * batch so the SQLite writer lock is never held long. */
struct expiry {
	const char *what;
	const char *sql;
	int64_t keep_ms; /* rows older than now - keep_ms go */
};

static const struct expiry expiries[] = {
    {"sessions",
     "DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM sessions WHERE expires_at < $1 LIMIT "
     "1000)",
     0},
    {"invites",
     "DELETE FROM invites WHERE token_hash IN (SELECT token_hash FROM invites WHERE expires_at < $1 LIMIT "
     "1000)",
     0},
    {"password_resets",
     "DELETE FROM password_resets WHERE token_hash IN "
     "(SELECT token_hash FROM password_resets WHERE expires_at < $1 LIMIT 1000)",
     0},
    {"email_verifications",
     "DELETE FROM email_verifications WHERE token_hash IN "
     "(SELECT token_hash FROM email_verifications WHERE expires_at < $1 LIMIT 1000)",
     0},
    {"api_tokens",
     "DELETE FROM api_tokens WHERE id IN (SELECT id FROM api_tokens WHERE expires_at < $1 LIMIT 1000)", 0},
    {"workspace_keys",
     "DELETE FROM workspace_keys WHERE key_hash IN "
     "(SELECT key_hash FROM workspace_keys WHERE expires_at < $1 LIMIT 1000)",
     0},
    {"jobs_done",
     "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE done_at < $1 AND dead_at IS NULL LIMIT 1000)",
     JOB_DONE_KEEP_MS},
    {"jobs_dead", "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE dead_at < $1 LIMIT 1000)",
     JOB_DEAD_KEEP_MS},
};

static enum job_status job_cleanup(const struct job *j, char *err, size_t errlen)
{
	int64_t now = clock_now_ms();
	json_t *counts = json_object();
	for (size_t i = 0; i < sizeof(expiries) / sizeof(expiries[0]); i++) {
		const struct expiry *e = &expiries[i];
		int64_t total = 0, changed;
		do {
			struct store_tx *tx = NULL;
			if (store_begin_global(j->conn, STORE_WRITE, &tx) < 0 ||
			    store_exec(tx, e->sql, STORE_ARGS(SP_I64(now - e->keep_ms))) < 0) {
				snprintf(err, errlen, "cleanup of %s: %s", e->what, store_errmsg(j->conn));
				store_rollback(tx);
				json_decref(counts);
				return JOB_FAILED;
			}
			changed = store_changes(tx);
			if (store_commit(tx) < 0) {
				snprintf(err, errlen, "cleanup of %s: %s", e->what, store_errmsg(j->conn));
				json_decref(counts);
				return JOB_FAILED;
			}
			total += changed;
		} while (changed >= CLEANUP_BATCH);
		if (total)
			json_object_set_new(counts, e->what, json_integer(total));
	}
	log_json(json_object_size(counts) ? LOG_INFO : LOG_DEBUG, "expired rows deleted",
	         json_pack("{s:o}", "deleted", counts));
	return JOB_OK;
}

static enum job_status job_checkpoint(const struct job *j, char *err, size_t errlen)
{
	int64_t before = 0, after = 0;
	if (store_wal_bytes(j->store, &before) < 0)
		before = 0;
	int truncate = before > CHECKPOINT_TRUNCATE_BYTES;
	if (store_checkpoint(j->conn, truncate) < 0) {
		snprintf(err, errlen, "checkpoint: %s", store_errmsg(j->conn));
		return JOB_FAILED;
	}
	if (store_wal_bytes(j->store, &after) < 0)
		after = 0;
	log_json(LOG_DEBUG, "wal checkpoint",
	         json_pack("{s:b, s:I, s:I}", "truncate", truncate, "wal_bytes_before", (json_int_t)before,
	                   "wal_bytes_after", (json_int_t)after));
	return JOB_OK;
}

#ifdef DROPFIX_TEST_HOOKS
/* Test-only job types. They write to the file named by DROPFIX_TEST_JOB_LOG with one
 * O_APPEND write per line, so lines from concurrent workers never interleave. */
static int test_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int test_log(const char *fmt, ...)
{
	const char *path = getenv("DROPFIX_TEST_JOB_LOG");
	if (!path || !*path)
		return 0;
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, line, (size_t)n);
	close(fd);
	return w == n ? 0 : -1;
}

/* Reads an integer member of the payload (default def when absent). -1 when not an
 * integer in [0, max]. */
static int payload_int(const struct job *j, const char *name, int64_t def, int64_t max, int64_t *out)
{
	json_t *doc = json_loadb(j->payload, j->payload_len, JSON_REJECT_DUPLICATES, NULL);
	json_t *v = doc ? json_object_get(doc, name) : NULL;
	int rc = 0;
	*out = def;
	if (v && (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max))
		rc = -1;
	else if (v)
		*out = json_integer_value(v);
	json_decref(doc);
	return doc ? rc : -1;
}

/* test.record: appends "<job id> <pid>\n". */
static enum job_status job_test_record(const struct job *j, char *err, size_t errlen)
{
	if (test_log("%lld %ld\n", (long long)j->id, (long)getpid()) < 0) {
		snprintf(err, errlen, "cannot write the test job log: %s", strerror(errno));
		return JOB_FAILED;
	}
	return JOB_OK;
}

/* test.sleep {"ms":N[,"retry_ms":M]}: logs "start <id> <pid> <attempt> <now ms>", sleeps
 * N ms (M on later attempts; real time), logs "end …". */
static enum job_status job_test_sleep(const struct job *j, char *err, size_t errlen)
{
	int64_t ms, retry_ms;
	if (payload_int(j, "ms", 0, 600000, &ms) < 0 ||
	    payload_int(j, "retry_ms", ms, 600000, &retry_ms) < 0) {
		snprintf(err, errlen, "payload: ms and retry_ms must be integers from 0 to 600000");
		return JOB_FAILED_PERMANENT;
	}
	if (j->attempt > 1)
		ms = retry_ms;
	if (test_log("start %lld %ld %d %lld\n", (long long)j->id, (long)getpid(), j->attempt,
	             (long long)clock_now_ms()) < 0)
		goto fail;
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	if (test_log("end %lld %ld %d %lld\n", (long long)j->id, (long)getpid(), j->attempt,
	             (long long)clock_now_ms()) < 0)
		goto fail;
	return JOB_OK;
fail:
	snprintf(err, errlen, "cannot write the test job log: %s", strerror(errno));
	return JOB_FAILED;
}

/* test.fail {"until":K,"permanent":0|1}: fails attempts before K (default: every
 * attempt), permanently when asked; logs "fail <id> <attempt>" or "ok <id> <attempt>". */
static enum job_status job_test_fail(const struct job *j, char *err, size_t errlen)
{
	int64_t until, permanent;
	if (payload_int(j, "until", 1000, 1000, &until) < 0 ||
	    payload_int(j, "permanent", 0, 1, &permanent) < 0) {
		snprintf(err, errlen, "payload: until 0..1000, permanent 0|1");
		return JOB_FAILED_PERMANENT;
	}
	if (j->attempt >= until) {
		(void)test_log("ok %lld %d\n", (long long)j->id, j->attempt);
		return JOB_OK;
	}
	(void)test_log("fail %lld %d\n", (long long)j->id, j->attempt);
	snprintf(err, errlen, "test failure on attempt %d", j->attempt);
	return permanent ? JOB_FAILED_PERMANENT : JOB_FAILED;
}

/* test.tick (recurring every DROPFIX_TEST_JOB_TICK_MS): logs "tick <period start> <id>
 * <pid>". */
static enum job_status job_test_tick(const struct job *j, char *err, size_t errlen)
{
	if (test_log("tick %lld %lld %ld\n", (long long)j->run_at, (long long)j->id, (long)getpid()) < 0) {
		snprintf(err, errlen, "cannot write the test job log: %s", strerror(errno));
		return JOB_FAILED;
	}
	return JOB_OK;
}

static int register_test_jobs(void)
{
	if (job_register("test.record", job_test_record, JOB_DEFAULT_LEASE_MS, 5) < 0 ||
	    job_register("test.sleep", job_test_sleep, JOB_DEFAULT_LEASE_MS, 5) < 0 ||
	    job_register("test.fail", job_test_fail, JOB_DEFAULT_LEASE_MS, 3) < 0 ||
	    job_register("test.tick", job_test_tick, JOB_DEFAULT_LEASE_MS, 3) < 0)
		return -1;
	const char *tick = getenv("DROPFIX_TEST_JOB_TICK_MS");
	int64_t period;
	if (tick && *tick) {
		if (parse_i64_cstr(tick, 1000, 86400000, &period) < 0 ||
		    job_register_recurring("test.tick", period, 0) < 0) {
			log_msg(LOG_ERROR,
			        "DROPFIX_TEST_JOB_TICK_MS: expected milliseconds from 1000 to 86400000");
			return -1;
		}
	}
	return 0;
}
#endif

int job_builtin_register(void)
{
	if (job_register("cleanup.expired", job_cleanup, 10 * 60 * 1000, 3) < 0 ||
	    job_register("sqlite.checkpoint", job_checkpoint, 2 * 60 * 1000, 3) < 0 ||
	    job_register_recurring("cleanup.expired", CLEANUP_PERIOD_MS, 0) < 0 ||
	    job_register_recurring("sqlite.checkpoint", CHECKPOINT_PERIOD_MS, 1) < 0)
		return -1;
#ifdef DROPFIX_TEST_HOOKS
	if (register_test_jobs() < 0)
		return -1;
#endif
	return 0;
}
