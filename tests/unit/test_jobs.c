/* Job queue tests, each on SQLite and PostgreSQL (as the app role), on the fake clock:
 * enqueue idempotency, claim/lease/takeover, retry with backoff until dead, recurring
 * schedules from several "workers", hand-back on stop, the cleanup job, the runner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "jobs/job.c" /* statics: claim, mark_done */
#include "store_testlib.h"

#define OPEN_OR_FAIL(t, kind) assert_int_equal(tdb_open((t), (kind)), 0)

/* ---- fake clock ---- */

static char clock_path[512];
static int64_t fake_now;

/* Sets the fake clock to ms. Each write gets its own mtime so the clock module sees the
 * change even within one timestamp tick. */
static void set_clock(int64_t ms)
{
	static int seq;
	char text[64];
	int n = snprintf(text, sizeof(text), "%lld.%03lld\n", (long long)(ms / 1000), (long long)(ms % 1000));
	int fd = open(clock_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, (size_t)n), n);
	struct timespec times[2] = {{1000000 + ++seq, 0}, {1000000 + seq, 0}};
	assert_int_equal(futimens(fd, times), 0);
	close(fd);
	fake_now = ms;
	assert_int_equal(clock_now_ms(), ms);
}

static void advance(int64_t ms)
{
	set_clock(fake_now + ms);
}

static int setup_clock(void **state)
{
	(void)state;
	snprintf(clock_path, sizeof(clock_path), "%s/jobs-clock-%ld", tdb_env("DROPFIX_TEST_TMP", "/tmp"),
	         (long)getpid());
	setenv("DROPFIX_TEST_CLOCK_FILE", clock_path, 1);
	unsetenv("DROPFIX_TEST_JOB_LEASE_MS");
	unsetenv("DROPFIX_TEST_JOB_POLL_MS");
	set_clock(INT64_C(1800000000000));
	return 0;
}

static int teardown_clock(void **state)
{
	(void)state;
	unlink(clock_path);
	return 0;
}

/* ---- helpers ---- */

struct jrow {
	int64_t id, run_at, done_at, dead_at, locked_until;
	int attempts, max_attempts;
	int done_null, dead_null, locked_null;
	char last_error[600];
	char locked_by[160];
};

/* Reads the job with key; fails the test when absent. */
static struct jrow get_job(struct store_conn *c, const char *key)
{
	struct jrow j;
	memset(&j, 0, sizeof(j));
	struct store_tx *tx;
	struct store_rows *r;
	assert_int_equal(store_begin_global(c, STORE_READ, &tx), 0);
	assert_int_equal(
	    store_query(tx,
	                "SELECT id, run_at, done_at, dead_at, locked_until, attempts, max_attempts, "
	                "last_error, locked_by FROM jobs WHERE idempotency_key = $1",
	                STORE_ARGS(SP_TEXT(key)), &r),
	    0);
	if (store_step(r) != 1)
		fail_msg("no job %s", key);
	j.id = store_col_i64(r, 0);
	j.run_at = store_col_i64(r, 1);
	j.done_null = store_col_is_null(r, 2);
	j.done_at = store_col_i64(r, 2);
	j.dead_null = store_col_is_null(r, 3);
	j.dead_at = store_col_i64(r, 3);
	j.locked_null = store_col_is_null(r, 4);
	j.locked_until = store_col_i64(r, 4);
	j.attempts = (int)store_col_i64(r, 5);
	j.max_attempts = (int)store_col_i64(r, 6);
	size_t n;
	const char *t = store_col_text(r, 7, &n);
	snprintf(j.last_error, sizeof(j.last_error), "%.*s", (int)n, t ? t : "");
	t = store_col_text(r, 8, &n);
	snprintf(j.locked_by, sizeof(j.locked_by), "%.*s", (int)n, t ? t : "");
	store_rows_close(r);
	assert_int_equal(store_commit(tx), 0);
	return j;
}

static int64_t count_sql(struct store_conn *c, const char *sql, const char *arg)
{
	struct store_tx *tx;
	int64_t n = -1;
	assert_int_equal(store_begin_global(c, STORE_READ, &tx), 0);
	int rc = arg ? store_query_i64(tx, sql, STORE_ARGS(SP_TEXT(arg)), &n)
	             : store_query_i64(tx, sql, STORE_NO_ARGS, &n);
	if (rc != 1)
		fail_msg("count: %s", store_errmsg(c));
	assert_int_equal(store_commit(tx), 0);
	return n;
}

static int64_t enqueue(struct store_conn *c, const char *type, const char *key, int64_t run_at,
                       const char *payload)
{
	struct store_tx *tx;
	int64_t id = -1;
	assert_int_equal(store_begin_global(c, STORE_WRITE, &tx), 0);
	if (job_enqueue(tx, type, 0, run_at, key, payload, &id) < 0)
		fail_msg("enqueue %s: %s", key, store_errmsg(c));
	assert_int_equal(store_commit(tx), 0);
	return id;
}

static int run_due(struct tdb *t, const char *worker)
{
	int ran = -1;
	if (job_run_due(t->s, t->c, worker, 8, NULL, &ran) < 0)
		fail_msg("run_due: %s", store_errmsg(t->c));
	return ran;
}

/* Handlers and what they saw. */
static int calls;
static int last_attempt;
static char last_key[JOB_KEY_MAX + 1];
static char last_payload[256];
static enum job_status next_status;

static enum job_status h_count(const struct job *j, char *err, size_t errlen)
{
	calls++;
	last_attempt = j->attempt;
	snprintf(last_key, sizeof(last_key), "%s", j->idem_key);
	snprintf(last_payload, sizeof(last_payload), "%s", j->payload);
	if (next_status != JOB_OK)
		snprintf(err, errlen, "boom on attempt %d\x01", j->attempt);
	return next_status;
}

static void reset_handlers(void)
{
	job_registry_reset();
	calls = 0;
	last_attempt = 0;
	last_key[0] = last_payload[0] = '\0';
	next_status = JOB_OK;
}

/* ---- pure functions ---- */

static void test_key_backoff_register(void **state)
{
	(void)state;
	char key[JOB_KEY_MAX + 1];
	assert_int_equal(job_key_format(key, sizeof(key), "digest.daily", 42, "2026-11-29"), 0);
	assert_string_equal(key, "digest.daily:42:2026-11-29");
	char small[8];
	assert_int_equal(job_key_format(small, sizeof(small), "digest.daily", 42, "x"), -1);
	char big[400];
	memset(big, 'a', 250);
	big[250] = '\0';
	char out[600];
	assert_int_equal(job_key_format(out, sizeof(out), "t", 0, big), -1); /* > JOB_KEY_MAX */

	assert_int_equal(job_backoff_ms(1), 10000);
	assert_int_equal(job_backoff_ms(2), 20000);
	assert_int_equal(job_backoff_ms(3), 40000);
	assert_int_equal(job_backoff_ms(9), 2560000);
	assert_int_equal(job_backoff_ms(10), 3600000); /* capped at 1 h */
	assert_int_equal(job_backoff_ms(1000), 3600000);
	for (int i = 0; i < 200; i++) {
		int64_t d = backoff_with_jitter(3);
		assert_true(d >= 40000 && d <= 50000);
	}

	reset_handlers();
	assert_int_equal(job_register("ok.type_1-x", h_count, 1000, 3), 0);
	assert_int_equal(job_register("Bad", h_count, 1000, 3), -1);
	assert_int_equal(job_register("", h_count, 1000, 3), -1);
	assert_int_equal(job_register("a b", h_count, 1000, 3), -1);
	assert_int_equal(job_register("ok", NULL, 1000, 3), -1);
	assert_int_equal(job_register("ok", h_count, 0, 3), -1);
	assert_int_equal(job_register("ok", h_count, 1000, 0), -1);
	assert_int_equal(job_register_recurring("ok", 999, 0), -1);
	assert_int_equal(job_register_recurring("ok", 60000, 0), 0);

	char id1[128], id2[128];
	job_worker_id(id1, sizeof(id1));
	job_worker_id(id2, sizeof(id2));
	assert_non_null(strchr(id1, ':'));
	assert_string_not_equal(id1, id2);
	job_registry_reset();
}

/* ---- enqueue ---- */

static void test_enqueue_idempotent(void **state)
{
	struct tdb t;
	OPEN_OR_FAIL(&t, TDB_KIND(state));
	reset_handlers();
	assert_int_equal(job_register("t.count", h_count, 60000, 4), 0);
	int64_t id1 = enqueue(t.c, "t.count", "t.count:0:a", fake_now, "{\"n\":1}");
	assert_true(id1 > 0);
	int64_t id2 = enqueue(t.c, "t.count", "t.count:0:a", fake_now + 5, "{\"n\":2}");
	assert_int_equal(id2, 0); /* existed: nothing changed */
	assert_int_equal(count_sql(t.c, "SELECT count(*) FROM jobs WHERE type = $1", "t.count"), 1);
	struct jrow j = get_job(t.c, "t.count:0:a");
	assert_int_equal(j.max_attempts, 4); /* from the registration */
	assert_int_equal(j.run_at, fake_now);
	assert_true(j.done_null && j.locked_null);

	/* Bad arguments are refused before touching the transaction. */
	struct store_tx *tx;
	assert_int_equal(store_begin_global(t.c, STORE_WRITE, &tx), 0);
	assert_int_equal(job_enqueue(tx, "t.count", 0, fake_now, "k:1", "[1]", NULL), -1);
	assert_int_equal(job_enqueue(tx, "t.count", 0, fake_now, "k:1", "{\"a\":1,\"a\":2}", NULL), -1);
	assert_int_equal(job_enqueue(tx, "t.count", 0, fake_now, "k:1", "{", NULL), -1);
	assert_int_equal(job_enqueue(tx, "t.count", 0, fake_now, "", NULL, NULL), -1);
	assert_int_equal(job_enqueue(tx, "t.count", 0, fake_now, NULL, NULL, NULL), -1);
	assert_int_equal(job_enqueue(tx, "t.count", 0, fake_now, "k 1", NULL, NULL), -1);
	assert_int_equal(job_enqueue(tx, "T", 0, fake_now, "k:1", NULL, NULL), -1);
	assert_int_equal(job_enqueue(tx, "t.count", -1, fake_now, "k:1", NULL, NULL), -1);
	char big[JOB_PAYLOAD_MAX + 16];
	memset(big, ' ', sizeof(big) - 1);
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(job_enqueue(tx, "t.count", 0, fake_now, "k:1", big, NULL), -1);
	int64_t id3 = 0;
	assert_int_equal(job_enqueue(tx, "t.other", 0, fake_now, "t.other:0:1", NULL, &id3), 0);
	assert_true(id3 > 0);
	assert_int_equal(store_commit(tx), 0);
	struct jrow o = get_job(t.c, "t.other:0:1");
	assert_int_equal(o.max_attempts, JOB_DEFAULT_MAX_ATTEMPTS); /* unregistered type */

	/* From a workspace transaction: the job carries that workspace, and only that one. */
	struct store_workspace_new w = {
	    .name = "W", .product_name = "P", .timezone = "UTC", .currency = "EUR"};
	int64_t ws = 0, other = 0;
	assert_int_equal(store_begin_global(t.c, STORE_WRITE, &tx), 0);
	assert_int_equal(store_workspace_create(tx, &w, &ws), 0);
	assert_int_equal(store_workspace_create(tx, &w, &other), 0);
	assert_int_equal(store_commit(tx), 0);
	assert_int_equal(store_begin_ws(t.c, ws, STORE_WRITE, &tx), 0);
	assert_int_equal(job_enqueue(tx, "t.count", other, fake_now, "t.count:x:1", NULL, NULL), -1);
	assert_int_equal(job_enqueue(tx, "t.count", 0, fake_now, "t.count:x:1", NULL, NULL), -1);
	int64_t wid = 0;
	char key[JOB_KEY_MAX + 1];
	assert_int_equal(job_key_format(key, sizeof(key), "t.count", ws, "p1"), 0);
	if (job_enqueue(tx, "t.count", ws, fake_now, key, NULL, &wid) < 0)
		fail_msg("ws enqueue: %s", store_errmsg(t.c));
	assert_true(wid > 0);
	assert_int_equal(store_commit(tx), 0);
	assert_int_equal(count_sql(t.c, "SELECT workspace_id FROM jobs WHERE idempotency_key = $1", key), ws);
	assert_int_equal(count_sql(t.c, "SELECT count(*) FROM jobs WHERE workspace_id IS NOT NULL", NULL), 1);

	/* The handler sees the workspace, key and payload. */
	calls = 0;
	assert_int_equal(run_due(&t, "w1"),
	                 2); /* t.count:0:a and the workspace job; t.other has no handler */
	assert_int_equal(calls, 2);
	/* Deleting the workspace deletes its jobs (ON DELETE CASCADE). */
	assert_int_equal(store_begin_global(t.c, STORE_WRITE, &tx), 0);
	assert_int_equal(store_workspace_delete(tx, ws), 0);
	assert_int_equal(store_commit(tx), 0);
	assert_int_equal(count_sql(t.c, "SELECT count(*) FROM jobs WHERE idempotency_key = $1", key), 0);
	tdb_close(&t);
}

/* ---- claim, run, lease ---- */

static void test_run_due_and_future(void **state)
{
	struct tdb t;
	OPEN_OR_FAIL(&t, TDB_KIND(state));
	reset_handlers();
	assert_int_equal(job_register("t.count", h_count, 60000, 5), 0);
	enqueue(t.c, "t.count", "t.count:0:now", fake_now, "{\"v\":\"now\"}");
	enqueue(t.c, "t.count", "t.count:0:later", fake_now + 60000, NULL);
	assert_int_equal(run_due(&t, "w1"), 1);
	assert_int_equal(calls, 1);
	assert_string_equal(last_key, "t.count:0:now");
	assert_string_equal(last_payload, "{\"v\":\"now\"}");
	assert_int_equal(last_attempt, 1);
	struct jrow j = get_job(t.c, "t.count:0:now");
	assert_false(j.done_null);
	assert_true(j.dead_null);
	assert_true(j.locked_null);
	assert_int_equal(j.attempts, 1);
	assert_string_equal(j.locked_by, "w1");

	/* Done jobs never run again; the future one waits for its time. */
	assert_int_equal(run_due(&t, "w1"), 0);
	advance(59999);
	assert_int_equal(run_due(&t, "w2"), 0);
	advance(1);
	assert_int_equal(run_due(&t, "w2"), 1);
	assert_int_equal(calls, 2);
	assert_string_equal(last_key, "t.count:0:later");
	tdb_close(&t);
}

static void test_lease_takeover(void **state)
{
	struct tdb t;
	OPEN_OR_FAIL(&t, TDB_KIND(state));
	reset_handlers();
	assert_int_equal(job_register("t.count", h_count, 30000, 5), 0);
	enqueue(t.c, "t.count", "t.count:0:l", fake_now, NULL);

	/* Worker A claims and "dies" (never reports). */
	struct claimed *cl = NULL;
	int n = claim(t.s, t.c, "A", 8, &cl);
	assert_int_equal(n, 1);
	assert_int_equal(cl[0].attempts, 1);
	assert_int_equal(cl[0].locked_until, fake_now + 30000); /* the type's own lease */
	struct jrow j = get_job(t.c, "t.count:0:l");
	assert_int_equal(j.locked_until, fake_now + 30000);
	assert_string_equal(j.locked_by, "A");

	/* B cannot take it while the lease holds. */
	advance(29999);
	assert_int_equal(run_due(&t, "B"), 0);
	assert_int_equal(calls, 0);
	/* Once it ran out, B takes it over: a second attempt. */
	advance(1);
	assert_int_equal(run_due(&t, "B"), 0); /* locked_until < now is required: equal is not expired */
	advance(1);
	assert_int_equal(run_due(&t, "B"), 1);
	assert_int_equal(calls, 1);
	assert_int_equal(last_attempt, 2);
	j = get_job(t.c, "t.count:0:l");
	assert_false(j.done_null);
	assert_string_equal(j.locked_by, "B");
	assert_string_equal(j.last_error, "lease expired (worker lost)");

	/* A coming back late cannot record anything. */
	assert_int_equal(mark_done(t.c, &cl[0], "A"), 0);
	assert_int_equal(mark_retry(t.c, &cl[0], "A", fake_now, "late"), 0);
	claimed_free(cl, n);
	tdb_close(&t);
}

static void test_lease_expired_on_last_attempt(void **state)
{
	struct tdb t;
	OPEN_OR_FAIL(&t, TDB_KIND(state));
	reset_handlers();
	assert_int_equal(job_register("t.count", h_count, 1000, 1), 0);
	enqueue(t.c, "t.count", "t.count:0:x", fake_now, NULL);
	struct claimed *cl = NULL;
	assert_int_equal(claim(t.s, t.c, "A", 8, &cl), 1);
	claimed_free(cl, 1);
	advance(1001);
	assert_int_equal(run_due(&t, "B"), 0);
	assert_int_equal(calls, 0); /* not run a second time: max_attempts is 1 */
	struct jrow j = get_job(t.c, "t.count:0:x");
	assert_false(j.done_null);
	assert_false(j.dead_null);
	assert_string_equal(j.last_error, "lease expired on the last attempt (worker lost)");
	tdb_close(&t);
}

static void test_extend_lease(void **state)
{
	struct tdb t;
	OPEN_OR_FAIL(&t, TDB_KIND(state));
	reset_handlers();
	assert_int_equal(job_register("t.count", h_count, 10000, 5), 0);
	enqueue(t.c, "t.count", "t.count:0:e", fake_now, NULL);
	struct claimed *cl = NULL;
	assert_int_equal(claim(t.s, t.c, "A", 8, &cl), 1);
	struct job_priv priv = {NULL, 10000};
	struct job job = {
	    .id = cl[0].id, .attempt = cl[0].attempts, .conn = t.c, .worker_id = "A", .priv_ = &priv};
	advance(5000);
	assert_int_equal(job_extend_lease(&job), 0);
	assert_int_equal(get_job(t.c, "t.count:0:e").locked_until, fake_now + 10000);
	assert_int_equal(job_stopping(&job), 0);
	/* After the lease ran out and B took it over, A learns it lost the job. */
	advance(10001);
	assert_int_equal(run_due(&t, "B"), 1);
	assert_int_equal(job_extend_lease(&job), -1);
	claimed_free(cl, 1);
	tdb_close(&t);
}

/* ---- failure, backoff, dead ---- */

static void test_retry_backoff_dead(void **state)
{
	struct tdb t;
	OPEN_OR_FAIL(&t, TDB_KIND(state));
	reset_handlers();
	assert_int_equal(job_register("t.count", h_count, 60000, 3), 0);
	enqueue(t.c, "t.count", "t.count:0:f", fake_now, NULL);
	next_status = JOB_FAILED;

	int64_t expect_base[] = {10000, 20000};
	for (int attempt = 1; attempt <= 2; attempt++) {
		int64_t t0 = fake_now;
		assert_int_equal(run_due(&t, "w"), 1);
		assert_int_equal(last_attempt, attempt);
		struct jrow j = get_job(t.c, "t.count:0:f");
		assert_true(j.done_null);
		assert_true(j.locked_null);
		assert_int_equal(j.attempts, attempt);
		int64_t d = j.run_at - t0;
		assert_true(d >= expect_base[attempt - 1] && d <= expect_base[attempt - 1] * 5 / 4);
		char want[64];
		snprintf(want, sizeof(want), "boom on attempt %d?", attempt); /* control byte cleaned */
		assert_string_equal(j.last_error, want);
		/* Not before its time. */
		set_clock(j.run_at - 1);
		assert_int_equal(run_due(&t, "w"), 0);
		set_clock(j.run_at);
	}
	assert_int_equal(run_due(&t, "w"), 1);
	assert_int_equal(last_attempt, 3);
	struct jrow j = get_job(t.c, "t.count:0:f");
	assert_false(j.done_null);
	assert_false(j.dead_null);
	assert_int_equal(j.done_at, fake_now);
	assert_int_equal(j.attempts, 3);
	assert_string_equal(j.last_error, "boom on attempt 3?");
	/* Dead is final. */
	advance(24 * 3600 * 1000);
	assert_int_equal(run_due(&t, "w"), 0);
	assert_int_equal(calls, 3);

	/* A permanent failure is dead at once; a later success clears nothing but finishes. */
	enqueue(t.c, "t.count", "t.count:0:p", fake_now, NULL);
	next_status = JOB_FAILED_PERMANENT;
	assert_int_equal(run_due(&t, "w"), 1);
	j = get_job(t.c, "t.count:0:p");
	assert_false(j.dead_null);
	assert_int_equal(j.attempts, 1);

	enqueue(t.c, "t.count", "t.count:0:s", fake_now, NULL);
	next_status = JOB_FAILED;
	assert_int_equal(run_due(&t, "w"), 1);
	advance(JOB_BACKOFF_BASE_MS * 2);
	next_status = JOB_OK;
	assert_int_equal(run_due(&t, "w"), 1);
	j = get_job(t.c, "t.count:0:s");
	assert_false(j.done_null);
	assert_true(j.dead_null);
	assert_int_equal(j.attempts, 2);
	assert_int_equal(count_sql(t.c, "SELECT count(*) FROM jobs WHERE dead_at IS NOT NULL", NULL), 2);
	tdb_close(&t);
}

/* ---- hand-back: unknown types, stop ---- */

static void test_unknown_type_and_stop(void **state)
{
	struct tdb t;
	OPEN_OR_FAIL(&t, TDB_KIND(state));
	reset_handlers();
	enqueue(t.c, "t.nobody", "t.nobody:0:1", fake_now, NULL);
	assert_int_equal(run_due(&t, "w"), 0);
	struct jrow j = get_job(t.c, "t.nobody:0:1");
	assert_true(j.done_null);
	assert_true(j.locked_null);
	assert_int_equal(j.attempts, 0); /* not counted */
	assert_int_equal(j.run_at, fake_now + JOB_UNKNOWN_TYPE_DELAY_MS);

	assert_int_equal(job_register("t.count", h_count, 60000, 5), 0);
	int64_t due = fake_now;
	enqueue(t.c, "t.count", "t.count:0:s1", due, NULL);
	enqueue(t.c, "t.count", "t.count:0:s2", due, NULL);
	atomic_int stop = 1;
	int ran = -1;
	assert_int_equal(job_run_due(t.s, t.c, "w", 8, &stop, &ran), 0);
	assert_int_equal(ran, 0);
	assert_int_equal(calls, 0);
	j = get_job(t.c, "t.count:0:s2");
	assert_true(j.locked_null);
	assert_int_equal(j.attempts, 0);
	assert_int_equal(j.run_at, due);
	/* Another worker takes them at once. */
	assert_int_equal(run_due(&t, "w2"), 2);
	assert_int_equal(job_run_due(t.s, t.c, "w", 0, NULL, &ran), -1);
	tdb_close(&t);
}

/* ---- recurring ---- */

static void test_recurring_once_per_period(void **state)
{
	struct tdb t;
	OPEN_OR_FAIL(&t, TDB_KIND(state));
	reset_handlers();
	assert_int_equal(job_register("t.count", h_count, 60000, 5), 0);
	assert_int_equal(job_register_recurring("t.count", 60000, 0), 0);
	assert_int_equal(job_register_recurring("t.sqlite", 60000, 1), 0);
	set_clock(INT64_C(1800000000000) + 30000); /* mid-period */
	int64_t start = fake_now - fake_now % 60000;

	/* Three "workers", each with its own memory of what it scheduled. */
	int64_t a[JOB_MAX_RECURRING] = {0}, b[JOB_MAX_RECURRING] = {0}, c3[JOB_MAX_RECURRING] = {0};
	assert_int_equal(job_schedule_recurring(t.s, t.c, a), 0);
	assert_int_equal(job_schedule_recurring(t.s, t.c, b), 0);
	assert_int_equal(job_schedule_recurring(t.s, t.c, c3), 0);
	assert_int_equal(count_sql(t.c, "SELECT count(*) FROM jobs WHERE type = $1", "t.count"), 1);
	char key[64];
	snprintf(key, sizeof(key), "t.count:0:%lld", (long long)start);
	struct jrow j = get_job(t.c, key);
	assert_int_equal(j.run_at, start);
	int64_t want_sqlite = t.kind == STORE_SQLITE ? 1 : 0;
	assert_int_equal(count_sql(t.c, "SELECT count(*) FROM jobs WHERE type = $1", "t.sqlite"),
	                 want_sqlite);

	assert_int_equal(run_due(&t, "w"), 1);
	assert_int_equal(calls, 1);
	/* Same period again: nothing new even after it ran. */
	advance(29999);
	assert_int_equal(job_schedule_recurring(t.s, t.c, a), 0);
	int64_t fresh[JOB_MAX_RECURRING] = {0};
	assert_int_equal(job_schedule_recurring(t.s, t.c, fresh), 0);
	assert_int_equal(count_sql(t.c, "SELECT count(*) FROM jobs WHERE type = $1", "t.count"), 1);
	assert_int_equal(run_due(&t, "w"), 0);
	/* Next period: one more, whoever schedules it. */
	advance(1);
	assert_int_equal(job_schedule_recurring(t.s, t.c, b), 0);
	assert_int_equal(job_schedule_recurring(t.s, t.c, a), 0);
	assert_int_equal(job_schedule_recurring(t.s, t.c, c3), 0);
	assert_int_equal(count_sql(t.c, "SELECT count(*) FROM jobs WHERE type = $1", "t.count"), 2);
	assert_int_equal(run_due(&t, "w"), 1);
	char want[64];
	snprintf(want, sizeof(want), "{\"period_start\":%lld}", (long long)(start + 60000));
	assert_string_equal(last_payload, want);
	tdb_close(&t);
}

/* ---- cleanup job ---- */

static void exec_ok(struct store_conn *c, const char *sql, const struct store_param *p, size_t n)
{
	struct store_tx *tx;
	assert_int_equal(store_begin_global(c, STORE_WRITE, &tx), 0);
	if (store_exec(tx, sql, p, n) < 0)
		fail_msg("%s: %s", sql, store_errmsg(c));
	assert_int_equal(store_commit(tx), 0);
}

static void test_cleanup_job(void **state)
{
	struct tdb t;
	OPEN_OR_FAIL(&t, TDB_KIND(state));
	reset_handlers();
	assert_int_equal(job_builtin_register(), 0);
	int64_t now = fake_now;
	exec_ok(
	    t.c,
	    "INSERT INTO accounts (id, email, created_at, updated_at) VALUES (7, 'a@example.com', $1, $1)",
	    STORE_ARGS(SP_I64(now)));
	for (int i = 0; i < 1205; i++) { /* more than one delete batch */
		char h[16];
		snprintf(h, sizeof(h), "s%05d", i);
		exec_ok(t.c,
		        "INSERT INTO sessions (id, token_hash, account_id, csrf_secret, created_at, "
		        "last_seen_at, rotated_at, expires_at) "
		        "VALUES ($1, $2, 7, $3, $4, $4, $4, $5)",
		        STORE_ARGS(SP_I64(i + 1), SP_BLOB(h, 6), SP_BLOB("c", 1), SP_I64(now - 100),
		                   SP_I64(now - 1)));
	}
	exec_ok(t.c,
	        "INSERT INTO sessions (id, token_hash, account_id, csrf_secret, created_at, "
	        "last_seen_at, rotated_at, expires_at) "
	        "VALUES (99999, $1, 7, $2, $3, $3, $3, $4)",
	        STORE_ARGS(SP_BLOB("live", 4), SP_BLOB("c", 1), SP_I64(now), SP_I64(now + 1000)));
	exec_ok(t.c,
	        "INSERT INTO password_resets (token_hash, account_id, created_at, expires_at) VALUES ($1, 7, "
	        "$2, $3)",
	        STORE_ARGS(SP_BLOB("old", 3), SP_I64(now - 10), SP_I64(now - 5)));
	exec_ok(t.c,
	        "INSERT INTO password_resets (token_hash, account_id, created_at, expires_at) VALUES ($1, 7, "
	        "$2, $3)",
	        STORE_ARGS(SP_BLOB("new", 3), SP_I64(now - 10), SP_I64(now + 5)));
	exec_ok(t.c,
	        "INSERT INTO email_verifications (token_hash, account_id, email, created_at, expires_at) "
	        "VALUES ($1, 7, 'a@example.com', $2, $3)",
	        STORE_ARGS(SP_BLOB("old", 3), SP_I64(now - 10), SP_I64(now - 5)));
	/* Jobs: done 8 days ago (goes), done 6 days ago (stays), dead 8 days ago (stays:
	 * dead rows keep 30 days), dead 31 days ago (goes), pending old (stays). */
	int64_t day = 24 * 3600 * 1000;
	struct {
		const char *key;
		int64_t done, dead;
		int gone;
	} jobs[] = {
	    {"t:0:done8", now - 8 * day, 0, 1},
	    {"t:0:done6", now - 6 * day, 0, 0},
	    {"t:0:dead8", now - 8 * day, now - 8 * day, 0},
	    {"t:0:dead31", now - 31 * day, now - 31 * day, 1},
	    {"t:0:pending", 0, 0, 0},
	};
	for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++) {
		enqueue(t.c, "t", jobs[i].key, now - 40 * day, NULL);
		if (jobs[i].done)
			exec_ok(t.c, "UPDATE jobs SET done_at = $1, dead_at = $2 WHERE idempotency_key = $3",
			        STORE_ARGS(SP_I64(jobs[i].done),
			                   jobs[i].dead ? SP_I64(jobs[i].dead) : SP_NULL,
			                   SP_TEXT(jobs[i].key)));
		else /* keep it from being claimed by run_due below: leased far ahead */
			exec_ok(
			    t.c,
			    "UPDATE jobs SET locked_until = $1, locked_by = 'x' WHERE idempotency_key = $2",
			    STORE_ARGS(SP_I64(now + day), SP_TEXT(jobs[i].key)));
	}
	enqueue(t.c, "cleanup.expired", "cleanup.expired:0:test", now, NULL);
	assert_int_equal(run_due(&t, "w"), 1);
	struct jrow cj = get_job(t.c, "cleanup.expired:0:test");
	assert_false(cj.done_null);
	assert_true(cj.dead_null);

	assert_int_equal(count_sql(t.c, "SELECT count(*) FROM sessions", NULL), 1);
	assert_int_equal(count_sql(t.c, "SELECT count(*) FROM password_resets", NULL), 1);
	assert_int_equal(count_sql(t.c, "SELECT count(*) FROM email_verifications", NULL), 0);
	for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++)
		assert_int_equal(
		    count_sql(t.c, "SELECT count(*) FROM jobs WHERE idempotency_key = $1", jobs[i].key),
		    jobs[i].gone ? 0 : 1);

	/* The checkpoint job succeeds on both backends (a no-op on PostgreSQL). */
	enqueue(t.c, "sqlite.checkpoint", "sqlite.checkpoint:0:test", now, NULL);
	assert_int_equal(run_due(&t, "w"), 1);
	cj = get_job(t.c, "sqlite.checkpoint:0:test");
	assert_false(cj.done_null);
	assert_true(cj.dead_null);
	job_registry_reset();
	tdb_close(&t);
}

/* ---- runner thread ---- */

static void test_runner(void **state)
{
	struct tdb t;
	OPEN_OR_FAIL(&t, TDB_KIND(state));
	reset_handlers();
	assert_int_equal(job_register("t.count", h_count, 60000, 5), 0);
	for (int i = 0; i < 20; i++) {
		char key[32];
		snprintf(key, sizeof(key), "t.count:0:r%d", i);
		enqueue(t.c, "t.count", key, fake_now, NULL);
	}
	struct job_runner_opts o = {.batch = 3, .poll_ms = 20};
	struct job_runner *r = NULL;
	char err[256];
	assert_int_equal(job_runner_start(t.s, &o, &r, err, sizeof(err)), 0);
	assert_non_null(job_runner_id(r));
	for (int i = 0;
	     i < 500 && count_sql(t.c, "SELECT count(*) FROM jobs WHERE done_at IS NULL", NULL) > 0; i++)
		usleep(10000);
	assert_int_equal(count_sql(t.c, "SELECT count(*) FROM jobs WHERE done_at IS NULL", NULL), 0);
	/* The queue gauges are registered for /metrics. */
	struct buf m;
	buf_init(&m, 0);
	assert_int_equal(metrics_render(&m), 0);
	assert_non_null(strstr(m.p, "\ndropfix_jobs_due "));
	assert_non_null(strstr(m.p, "\ndropfix_jobs_dead "));
	buf_free(&m);
	/* A job that becomes due later is picked up within the poll interval. */
	enqueue(t.c, "t.count", "t.count:0:late", fake_now + 1000, NULL);
	usleep(100000);
	assert_int_equal(get_job(t.c, "t.count:0:late").done_null, 1);
	advance(1000);
	for (int i = 0; i < 500 && get_job(t.c, "t.count:0:late").done_null; i++)
		usleep(10000);
	assert_int_equal(get_job(t.c, "t.count:0:late").done_null, 0);
	job_runner_stop(r);
	job_runner_stop(NULL);
	assert_int_equal(calls, 21);
	tdb_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_key_backoff_register),
#define BOTH(f)                                                                                              \
	cmocka_unit_test_prestate(f, (void *)&tdb_sqlite), cmocka_unit_test_prestate(f, (void *)&tdb_pg)
	    BOTH(test_enqueue_idempotent),
	    BOTH(test_run_due_and_future),
	    BOTH(test_lease_takeover),
	    BOTH(test_lease_expired_on_last_attempt),
	    BOTH(test_extend_lease),
	    BOTH(test_retry_backoff_dead),
	    BOTH(test_unknown_type_and_stop),
	    BOTH(test_recurring_once_per_period),
	    BOTH(test_cleanup_job),
	    BOTH(test_runner),
	};
	return cmocka_run_group_tests(tests, setup_clock, teardown_clock);
}
