/* The job queue, its handler registry and the runner thread (job.h has the contract). */
#include "jobs/job.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/parse.h"
#include "http/metrics.h"

/* ---- Registry ---- */

struct job_type {
	const char *type;
	job_handler_fn fn;
	int64_t lease_ms;
	int max_attempts;
};

struct job_recurring {
	const char *type;
	int64_t period_ms;
	int sqlite_only;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct job_type types[JOB_MAX_TYPES];
static int n_types;
static struct job_recurring recurring[JOB_MAX_RECURRING];
static int n_recurring;

static int type_valid(const char *t)
{
	size_t n = t ? strlen(t) : 0;
	if (n == 0 || n > JOB_TYPE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = t[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		      ch == '-'))
			return 0;
	}
	return 1;
}

int job_register(const char *type, job_handler_fn fn, int64_t lease_ms, int max_attempts)
{
	if (!type_valid(type) || !fn || lease_ms <= 0 || lease_ms > INT64_C(86400000) * 7 ||
	    max_attempts < 1 || max_attempts > 100)
		return -1;
	int rc = -1;
	pthread_mutex_lock(&reg_lock);
	int slot = -1;
	for (int i = 0; i < n_types; i++)
		if (strcmp(types[i].type, type) == 0)
			slot = i;
	if (slot < 0 && n_types < JOB_MAX_TYPES)
		slot = n_types++;
	if (slot >= 0) {
		types[slot] = (struct job_type){type, fn, lease_ms, max_attempts};
		rc = 0;
	}
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

int job_register_recurring(const char *type, int64_t period_ms, int sqlite_only)
{
	if (!type_valid(type) || period_ms < 1000 || period_ms > INT64_C(86400000) * 31)
		return -1;
	int rc = -1;
	pthread_mutex_lock(&reg_lock);
	int slot = -1;
	for (int i = 0; i < n_recurring; i++)
		if (strcmp(recurring[i].type, type) == 0)
			slot = i;
	if (slot < 0 && n_recurring < JOB_MAX_RECURRING)
		slot = n_recurring++;
	if (slot >= 0) {
		recurring[slot] = (struct job_recurring){type, period_ms, sqlite_only != 0};
		rc = 0;
	}
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

void job_registry_reset(void)
{
	pthread_mutex_lock(&reg_lock);
	n_types = 0;
	n_recurring = 0;
	pthread_mutex_unlock(&reg_lock);
}

/* Copies the registration of type into *out. Returns 1 found, 0 not. */
static int lookup_type(const char *type, struct job_type *out)
{
	int found = 0;
	pthread_mutex_lock(&reg_lock);
	for (int i = 0; i < n_types && !found; i++) {
		if (strcmp(types[i].type, type) == 0) {
			*out = types[i];
			found = 1;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	return found;
}

#ifdef DROPFIX_TEST_HOOKS
/* Test builds: DROPFIX_TEST_JOB_LEASE_MS overrides every lease (kill -9 tests). */
static int64_t test_env_ms(const char *name)
{
	const char *v = getenv(name);
	int64_t ms;
	if (!v || !*v || parse_i64_cstr(v, 1, INT64_C(86400000), &ms) < 0)
		return 0;
	return ms;
}
#endif

static int64_t lease_of(const struct job_type *t)
{
#ifdef DROPFIX_TEST_HOOKS
	int64_t ms = test_env_ms("DROPFIX_TEST_JOB_LEASE_MS");
	if (ms > 0)
		return ms;
#endif
	return t ? t->lease_ms : JOB_DEFAULT_LEASE_MS;
}

/* ---- Small helpers ---- */

int job_key_format(char *out, size_t outlen, const char *type, int64_t workspace_id, const char *part)
{
	if (!out || outlen == 0 || !type || !part || workspace_id < 0)
		return -1;
	int n = snprintf(out, outlen, "%s:%lld:%s", type, (long long)workspace_id, part);
	if (n < 0 || (size_t)n >= outlen || n > JOB_KEY_MAX) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

int64_t job_backoff_ms(int attempt)
{
	if (attempt < 1)
		attempt = 1;
	int64_t d = JOB_BACKOFF_BASE_MS;
	for (int i = 1; i < attempt && d < JOB_BACKOFF_CAP_MS; i++)
		d *= 2;
	return d > JOB_BACKOFF_CAP_MS ? JOB_BACKOFF_CAP_MS : d;
}

static int64_t backoff_with_jitter(int attempt)
{
	int64_t d = job_backoff_ms(attempt);
	return d + (int64_t)randombytes_uniform((uint32_t)(d / 4 + 1));
}

void job_worker_id(char *out, size_t outlen)
{
	char host[64];
	if (gethostname(host, sizeof(host)) != 0)
		memcpy(host, "unknown", 8);
	host[sizeof(host) - 1] = '\0';
	for (char *p = host; *p; p++)
		if (*p == ':' || (unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			*p = '_';
	unsigned char rnd[8];
	if (sodium_init() < 0)
		abort(); /* no randomness: nothing sensible to do */
	randombytes_buf(rnd, sizeof(rnd));
	char hex[17];
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	if (outlen > 128)
		outlen = 128;
	snprintf(out, outlen, "%s:%ld:%s", host, (long)getpid(), hex);
}

/* Copies msg into out as printable ASCII (others become '?'), at most JOB_ERROR_MAX
 * bytes, so any backend stores it and logs show it as is. */
static void clean_error(char *out, size_t outlen, const char *msg)
{
	size_t cap = outlen - 1 < JOB_ERROR_MAX ? outlen - 1 : JOB_ERROR_MAX;
	size_t i = 0;
	for (; msg && msg[i] && i < cap; i++) {
		unsigned char ch = (unsigned char)msg[i];
		out[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	out[i] = '\0';
	if (i == 0 && cap >= 13)
		memcpy(out, "unknown error", 14);
}

/* ---- Enqueue ---- */

int job_enqueue(struct store_tx *tx, const char *type, int64_t workspace_id, int64_t run_at,
                const char *idem_key, const char *payload, int64_t *id_out)
{
	if (id_out)
		*id_out = 0;
	if (!tx || !type_valid(type) || workspace_id < 0 || workspace_id >= INT64_C(9007199254740992) ||
	    run_at < 0 || !idem_key || !idem_key[0] || strlen(idem_key) > JOB_KEY_MAX)
		return -1;
	for (const char *p = idem_key; *p; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			return -1;
	if (!payload)
		payload = "{}";
	size_t plen = strlen(payload);
	if (plen > JOB_PAYLOAD_MAX)
		return -1;
	json_error_t jerr;
	json_t *doc = json_loadb(payload, plen, JSON_REJECT_DUPLICATES, &jerr);
	int is_obj = doc && json_is_object(doc);
	json_decref(doc);
	if (!is_obj)
		return -1;

	int64_t ws_tx = store_tx_workspace(tx);
	if (ws_tx != 0 && ws_tx != workspace_id)
		return -1;
	struct job_type t;
	int max_attempts = lookup_type(type, &t) ? t.max_attempts : JOB_DEFAULT_MAX_ATTEMPTS;
	int64_t now = clock_now_ms();
	struct store_rows *rows = NULL;
	int rc;
	if (ws_tx != 0) {
		/* A workspace transaction binds $1 to its workspace itself. */
		rc = store_query(
		    tx,
		    "INSERT INTO jobs (type, workspace_id, run_at, max_attempts, idempotency_key, payload, "
		    "created_at) VALUES ($2, $1, $3, $4, $5, $6, $7) "
		    "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
		    STORE_ARGS(SP_TEXT(type), SP_I64(run_at), SP_I64(max_attempts), SP_TEXT(idem_key),
		               SP_TEXTN(payload, plen), SP_I64(now)),
		    &rows);
	} else {
		rc = store_query(
		    tx,
		    "INSERT INTO jobs (type, workspace_id, run_at, max_attempts, idempotency_key, payload, "
		    "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) "
		    "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
		    STORE_ARGS(SP_TEXT(type), workspace_id ? SP_I64(workspace_id) : SP_NULL, SP_I64(run_at),
		               SP_I64(max_attempts), SP_TEXT(idem_key), SP_TEXTN(payload, plen), SP_I64(now)),
		    &rows);
	}
	if (rc < 0)
		return -1;
	int st = store_step(rows);
	if (st == 1 && id_out)
		*id_out = store_col_i64(rows, 0);
	if (st == 1)
		st = store_step(rows);
	store_rows_close(rows);
	return st < 0 ? -1 : 0;
}

/* ---- Claiming and running ---- */

struct claimed {
	int64_t id, workspace_id, run_at, locked_until;
	int attempts, max_attempts;
	char *type, *key, *payload;
	size_t payload_len;
};

static void claimed_free(struct claimed *c, int n)
{
	for (int i = 0; i < n; i++) {
		free(c[i].type);
		free(c[i].key);
		free(c[i].payload);
	}
	free(c);
}

static char *dup_col(struct store_rows *r, int col, size_t *len)
{
	size_t n = 0;
	const char *t = store_col_text(r, col, &n);
	char *p = malloc(n + 1);
	if (!p)
		return NULL;
	if (n)
		memcpy(p, t, n);
	p[n] = '\0';
	if (len)
		*len = n;
	return p;
}

static int cmp_claimed(const void *a, const void *b)
{
	const struct claimed *x = a, *y = b;
	if (x->run_at != y->run_at)
		return x->run_at < y->run_at ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* The claim: one statement per backend, both literals. PostgreSQL skips rows another
 * worker's claim holds; the selection is a CTE because a `LIMIT … FOR UPDATE SKIP LOCKED`
 * subquery directly under `WHERE id IN (…)` may be re-run by a nested-loop plan under
 * concurrency and hand out more rows than the limit (a CTE with row locks is run once).
 * SQLite's single writer serialises claims. A claim that finds a lease that ran out
 * records it in last_error. */
static const char claim_sql_pg[] =
    "WITH due AS (SELECT id FROM jobs WHERE done_at IS NULL AND run_at <= $3 "
    "AND (locked_until IS NULL OR locked_until < $3) ORDER BY run_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) "
    "UPDATE jobs SET locked_until = $1, locked_by = $2, attempts = attempts + 1, "
    "last_error = CASE WHEN locked_until IS NULL THEN last_error ELSE 'lease expired (worker lost)' END "
    "WHERE id IN (SELECT id FROM due) "
    "RETURNING id, type, workspace_id, run_at, attempts, max_attempts, idempotency_key, payload";
static const char claim_sql_sqlite[] =
    "UPDATE jobs SET locked_until = $1, locked_by = $2, attempts = attempts + 1, "
    "last_error = CASE WHEN locked_until IS NULL THEN last_error ELSE 'lease expired (worker lost)' END "
    "WHERE id IN (SELECT id FROM jobs WHERE done_at IS NULL AND run_at <= $3 "
    "AND (locked_until IS NULL OR locked_until < $3) ORDER BY run_at, id LIMIT $4) "
    "RETURNING id, type, workspace_id, run_at, attempts, max_attempts, idempotency_key, payload";

/* Claims up to max due jobs. Returns the count (>= 0) with *out (caller frees with
 * claimed_free), or -1. */
static int claim(struct store *s, struct store_conn *c, const char *worker, int max, struct claimed **out)
{
	*out = NULL;
	struct claimed *cl = calloc((size_t)max, sizeof(*cl));
	if (!cl)
		return -1;
	int n = 0;
	struct store_tx *tx = NULL;
	struct store_rows *rows = NULL;
	int64_t now = clock_now_ms();
	int64_t lease = lease_of(NULL);
	if (store_begin_global(c, STORE_WRITE, &tx) < 0)
		goto fail;
	const char *sql = store_backend(s) == STORE_POSTGRES ? claim_sql_pg : claim_sql_sqlite;
	if (store_query(tx, sql, STORE_ARGS(SP_I64(now + lease), SP_TEXT(worker), SP_I64(now), SP_I64(max)),
	                &rows) < 0)
		goto fail;
	int st;
	while ((st = store_step(rows)) == 1 && n < max) {
		struct claimed *j = &cl[n];
		j->id = store_col_i64(rows, 0);
		j->type = dup_col(rows, 1, NULL);
		j->workspace_id = store_col_is_null(rows, 2) ? 0 : store_col_i64(rows, 2);
		j->run_at = store_col_i64(rows, 3);
		j->attempts = (int)store_col_i64(rows, 4);
		j->max_attempts = (int)store_col_i64(rows, 5);
		j->key = dup_col(rows, 6, NULL);
		j->payload = dup_col(rows, 7, &j->payload_len);
		j->locked_until = now + lease;
		n++;
		if (!j->type || !j->key || !j->payload)
			goto fail;
	}
	if (st < 0)
		goto fail;
	store_rows_close(rows);
	rows = NULL;
	/* Types with their own lease get it now, in the claim transaction. */
	for (int i = 0; i < n; i++) {
		struct job_type t;
		if (!lookup_type(cl[i].type, &t) || lease_of(&t) == lease)
			continue;
		cl[i].locked_until = now + lease_of(&t);
		if (store_exec(tx, "UPDATE jobs SET locked_until = $1 WHERE id = $2 AND locked_by = $3",
		               STORE_ARGS(SP_I64(cl[i].locked_until), SP_I64(cl[i].id), SP_TEXT(worker))) < 0)
			goto fail;
	}
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	qsort(cl, (size_t)n, sizeof(*cl), cmp_claimed);
	*out = cl;
	return n;
fail:
	store_rows_close(rows);
	store_rollback(tx);
	claimed_free(cl, n);
	return -1;
}

/* Runs one short write transaction with one conditional UPDATE; returns the number of
 * rows changed (0 = the job is no longer ours) or -1. */
static int64_t exec_one(struct store_conn *c, const char *sql, const struct store_param *p, size_t np)
{
	struct store_tx *tx = NULL;
	if (store_begin_global(c, STORE_WRITE, &tx) < 0)
		return -1;
	if (store_exec(tx, sql, p, np) < 0) {
		store_rollback(tx);
		return -1;
	}
	int64_t changed = store_changes(tx);
	if (store_commit(tx) < 0)
		return -1;
	return changed;
}

static int64_t mark_done(struct store_conn *c, const struct claimed *j, const char *worker)
{
	return exec_one(
	    c,
	    "UPDATE jobs SET done_at = $1, locked_until = NULL WHERE id = $2 AND locked_by = $3 "
	    "AND attempts = $4 AND done_at IS NULL",
	    STORE_ARGS(SP_I64(clock_now_ms()), SP_I64(j->id), SP_TEXT(worker), SP_I64(j->attempts)));
}

static int64_t mark_retry(struct store_conn *c, const struct claimed *j, const char *worker, int64_t run_at,
                          const char *error)
{
	return exec_one(
	    c,
	    "UPDATE jobs SET run_at = $1, locked_until = NULL, last_error = $2 WHERE id = $3 "
	    "AND locked_by = $4 AND attempts = $5 AND done_at IS NULL",
	    STORE_ARGS(SP_I64(run_at), SP_TEXT(error), SP_I64(j->id), SP_TEXT(worker), SP_I64(j->attempts)));
}

static int64_t mark_dead(struct store_conn *c, const struct claimed *j, const char *worker, const char *error)
{
	int64_t now = clock_now_ms();
	return exec_one(
	    c,
	    "UPDATE jobs SET done_at = $1, dead_at = $2, locked_until = NULL, last_error = $3 WHERE id = $4 "
	    "AND locked_by = $5 AND attempts = $6 AND done_at IS NULL",
	    STORE_ARGS(SP_I64(now), SP_I64(now), SP_TEXT(error), SP_I64(j->id), SP_TEXT(worker),
	               SP_I64(j->attempts)));
}

/* Hands a claimed job back without counting the attempt, due at run_at. */
static int64_t hand_back(struct store_conn *c, const struct claimed *j, const char *worker, int64_t run_at)
{
	return exec_one(
	    c,
	    "UPDATE jobs SET locked_until = NULL, attempts = attempts - 1, run_at = $1 WHERE id = $2 "
	    "AND locked_by = $3 AND attempts = $4 AND done_at IS NULL",
	    STORE_ARGS(SP_I64(run_at), SP_I64(j->id), SP_TEXT(worker), SP_I64(j->attempts)));
}

static int64_t renew_lease(struct store_conn *c, int64_t id, int attempts, const char *worker, int64_t until)
{
	return exec_one(
	    c,
	    "UPDATE jobs SET locked_until = $1 WHERE id = $2 AND locked_by = $3 AND attempts = $4 "
	    "AND done_at IS NULL",
	    STORE_ARGS(SP_I64(until), SP_I64(id), SP_TEXT(worker), SP_I64(attempts)));
}

/* What a handler's struct job points back to. */
struct job_priv {
	const atomic_int *stop;
	int64_t lease_ms;
};

int job_extend_lease(const struct job *j)
{
	const struct job_priv *p = j->priv_;
	int64_t changed = renew_lease(j->conn, j->id, j->attempt, j->worker_id, clock_now_ms() + p->lease_ms);
	return changed == 1 ? 0 : -1;
}

int job_stopping(const struct job *j)
{
	const struct job_priv *p = j->priv_;
	return p->stop && atomic_load(p->stop);
}

static json_t *job_fields(const struct claimed *j)
{
	return json_pack("{s:I, s:s, s:s, s:i}", "job_id", (json_int_t)j->id, "type", j->type, "key", j->key,
	                 "attempt", j->attempts);
}

static void log_lost(const struct claimed *j, const char *what)
{
	json_t *f = job_fields(j);
	json_object_set_new(f, "outcome", json_string(what));
	log_json(LOG_WARN, "job lease lost: another worker owns it now; outcome not recorded", f);
}

/* Runs one claimed job and records its outcome. Returns 1 when the handler ran, 0
 * when not, -1 on a store error. */
static int run_one(struct store *s, struct store_conn *c, const char *worker, const struct claimed *j,
                   const atomic_int *stop)
{
	int64_t now = clock_now_ms();
	int64_t changed;
	if (j->attempts > j->max_attempts) {
		/* Its last attempt's lease ran out without an outcome. */
		changed = mark_dead(c, j, worker, "lease expired on the last attempt (worker lost)");
		if (changed == 1)
			log_json(LOG_ERROR, "job dead",
			         json_pack("{s:I, s:s, s:s}", "job_id", (json_int_t)j->id, "type", j->type,
			                   "error", "lease expired on the last attempt"));
		return changed < 0 ? -1 : 0;
	}
	struct job_type t;
	if (!lookup_type(j->type, &t)) {
		log_json(LOG_WARN, "job type has no handler in this worker; handed back",
		         json_pack("{s:I, s:s}", "job_id", (json_int_t)j->id, "type", j->type));
		changed = hand_back(c, j, worker, now + JOB_UNKNOWN_TYPE_DELAY_MS);
		return changed < 0 ? -1 : 0;
	}
	int64_t lease = lease_of(&t);
	if (j->locked_until - now < lease / 2) {
		/* Time went by since the claim (earlier jobs of the batch): renew first. */
		changed = renew_lease(c, j->id, j->attempts, worker, now + lease);
		if (changed < 0)
			return -1;
		if (changed == 0) {
			log_lost(j, "not started");
			return 0;
		}
	}

	struct job_priv priv = {stop, lease};
	struct job job = {
	    .id = j->id,
	    .type = j->type,
	    .workspace_id = j->workspace_id,
	    .run_at = j->run_at,
	    .attempt = j->attempts,
	    .max_attempts = j->max_attempts,
	    .idem_key = j->key,
	    .payload = j->payload,
	    .payload_len = j->payload_len,
	    .lease_until = now + lease,
	    .store = s,
	    .conn = c,
	    .worker_id = worker,
	    .priv_ = &priv,
	};
	char err[JOB_ERROR_MAX + 1] = "";
	int64_t t0 = clock_mono_ns();
	enum job_status st = t.fn(&job, err, sizeof(err));
	int64_t ms = (clock_mono_ns() - t0) / 1000000;
	char clean[JOB_ERROR_MAX + 1];
	clean_error(clean, sizeof(clean), err);

	json_t *f = job_fields(j);
	json_object_set_new(f, "ms", json_integer(ms));
	if (st == JOB_OK) {
		changed = mark_done(c, j, worker);
		if (changed == 1)
			log_json(LOG_DEBUG, "job done", f);
		else
			json_decref(f);
	} else if (st == JOB_FAILED_PERMANENT || j->attempts >= j->max_attempts) {
		changed = mark_dead(c, j, worker, clean);
		json_object_set_new(f, "error", json_string(clean));
		if (changed == 1)
			log_json(LOG_ERROR, "job dead", f);
		else
			json_decref(f);
	} else {
		int64_t at = clock_now_ms() + backoff_with_jitter(j->attempts);
		changed = mark_retry(c, j, worker, at, clean);
		json_object_set_new(f, "error", json_string(clean));
		json_object_set_new(f, "retry_at", json_integer(at));
		if (changed == 1)
			log_json(LOG_WARN, "job failed; will retry", f);
		else
			json_decref(f);
	}
	if (changed == 0)
		log_lost(j, st == JOB_OK ? "done" : "failed");
	return changed < 0 ? -1 : 1;
}

int job_run_due(struct store *s, struct store_conn *c, const char *worker_id, int max, const atomic_int *stop,
                int *ran)
{
	if (ran)
		*ran = 0;
	if (max < 1 || max > 64 || !worker_id)
		return -1;
	struct claimed *cl = NULL;
	int n = claim(s, c, worker_id, max, &cl);
	if (n < 0) {
		log_json(LOG_WARN, "job claim failed",
		         json_pack("{s:s, s:s}", "code", store_code_name(store_errcode(c)), "error",
		                   store_errmsg(c)));
		return -1;
	}
	int rc = 0, count = 0;
	for (int i = 0; i < n; i++) {
		if (stop && atomic_load(stop)) {
			/* Stopping: hand the rest back so another worker takes them at once. */
			if (hand_back(c, &cl[i], worker_id, cl[i].run_at) < 0)
				rc = -1;
			continue;
		}
		int r = run_one(s, c, worker_id, &cl[i], stop);
		if (r < 0) {
			log_json(LOG_WARN, "job bookkeeping failed",
			         json_pack("{s:I, s:s, s:s}", "job_id", (json_int_t)cl[i].id, "code",
			                   store_code_name(store_errcode(c)), "error", store_errmsg(c)));
			rc = -1;
		} else {
			count += r;
		}
	}
	claimed_free(cl, n);
	if (ran)
		*ran = count;
	return rc;
}

int job_schedule_recurring(struct store *s, struct store_conn *c, int64_t *last_period)
{
	struct job_recurring list[JOB_MAX_RECURRING];
	pthread_mutex_lock(&reg_lock);
	int n = n_recurring;
	memcpy(list, recurring, sizeof(list[0]) * (size_t)n);
	pthread_mutex_unlock(&reg_lock);

	int64_t now = clock_now_ms();
	int64_t start[JOB_MAX_RECURRING];
	int pending = 0;
	for (int i = 0; i < n; i++) {
		start[i] = now - now % list[i].period_ms;
		if (list[i].sqlite_only && store_backend(s) != STORE_SQLITE)
			start[i] = -1;
		else if (last_period[i] != start[i])
			pending++;
	}
	if (pending == 0)
		return 0;
	struct store_tx *tx = NULL;
	if (store_begin_global(c, STORE_WRITE, &tx) < 0)
		goto fail;
	for (int i = 0; i < n; i++) {
		if (start[i] < 0 || last_period[i] == start[i])
			continue;
		char part[24], key[JOB_KEY_MAX + 1], payload[64];
		snprintf(part, sizeof(part), "%lld", (long long)start[i]);
		snprintf(payload, sizeof(payload), "{\"period_start\":%lld}", (long long)start[i]);
		if (job_key_format(key, sizeof(key), list[i].type, 0, part) < 0 ||
		    job_enqueue(tx, list[i].type, 0, start[i], key, payload, NULL) < 0)
			goto fail;
	}
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	for (int i = 0; i < n; i++)
		if (start[i] >= 0)
			last_period[i] = start[i];
	return 0;
fail:
	log_json(
	    LOG_WARN, "scheduling recurring jobs failed",
	    json_pack("{s:s, s:s}", "code", store_code_name(store_errcode(c)), "error", store_errmsg(c)));
	store_rollback(tx);
	return -1;
}

/* ---- Runner ---- */

/* Queue gauges, shared by the runners of this process (refreshed by them). */
static _Atomic int64_t gauge_due = -1;
static _Atomic int64_t gauge_dead = -1;
static pthread_once_t gauge_once = PTHREAD_ONCE_INIT;

static double read_gauge(void *arg)
{
	int64_t v = atomic_load((_Atomic int64_t *)arg);
	return v < 0 ? 0.0 : (double)v;
}

static void register_gauges(void)
{
	if (metrics_register_gauge("dropfix_jobs_due", "Jobs due and not done (queue depth).", read_gauge,
	                           (void *)&gauge_due) < 0 ||
	    metrics_register_gauge("dropfix_jobs_dead", "Jobs that failed every attempt, kept 30 days.",
	                           read_gauge, (void *)&gauge_dead) < 0)
		log_msg(LOG_WARN, "job metrics not registered (gauge table full)");
}

#define GAUGE_REFRESH_MS 10000

struct job_runner {
	struct store *s;
	struct store_conn *c;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_int stop; /* set under mu (with the wake-up); read anywhere */
	int batch, poll_ms, no_recurring;
	char id[128];
	int64_t last_period[JOB_MAX_RECURRING];
	int64_t gauges_at; /* monotonic ms of the last gauge refresh */
};

/* Earliest run_at of a claimable job, or INT64_MAX when none. -1 on error. */
static int next_due(struct store_conn *c, int64_t now, int64_t *at)
{
	struct store_tx *tx = NULL;
	*at = INT64_MAX;
	if (store_begin_global(c, STORE_READ, &tx) < 0)
		return -1;
	int64_t v = 0;
	int rc = store_query_i64(tx,
	                         "SELECT min(run_at) FROM jobs WHERE done_at IS NULL "
	                         "AND (locked_until IS NULL OR locked_until < $1)",
	                         STORE_ARGS(SP_I64(now)), &v);
	if (rc < 0) {
		store_rollback(tx);
		return -1;
	}
	if (rc == 1)
		*at = v;
	/* The earliest lease to run out is also a wake-up time (a lost worker's job). */
	rc = store_query_i64(
	    tx, "SELECT min(locked_until) FROM jobs WHERE done_at IS NULL AND locked_until >= $1",
	    STORE_ARGS(SP_I64(now)), &v);
	if (rc == 1 && v + 1 < *at)
		*at = v + 1;
	if (store_commit(tx) < 0 || rc < 0)
		return -1;
	return 0;
}

static void refresh_gauges(struct job_runner *r)
{
	int64_t mono_ms = clock_mono_ns() / 1000000;
	if (r->gauges_at && mono_ms - r->gauges_at < GAUGE_REFRESH_MS)
		return;
	r->gauges_at = mono_ms;
	struct store_tx *tx = NULL;
	int64_t due = 0, dead = 0;
	if (store_begin_global(r->c, STORE_READ, &tx) < 0)
		return;
	if (store_query_i64(tx, "SELECT count(*) FROM jobs WHERE done_at IS NULL AND run_at <= $1",
	                    STORE_ARGS(SP_I64(clock_now_ms())), &due) >= 0 &&
	    store_query_i64(tx, "SELECT count(*) FROM jobs WHERE dead_at IS NOT NULL", STORE_NO_ARGS,
	                    &dead) >= 0) {
		atomic_store(&gauge_due, due);
		atomic_store(&gauge_dead, dead);
	}
	store_rollback(tx);
}

/* Sleeps up to ms, returning early when stop is asked. */
static void nap(struct job_runner *r, int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t ns = ts.tv_nsec + (ms % 1000) * 1000000;
	ts.tv_sec += (time_t)(ms / 1000 + ns / 1000000000);
	ts.tv_nsec = (long)(ns % 1000000000);
	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		int e = pthread_cond_timedwait(&r->cv, &r->mu, &ts);
		if (e == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&r->mu);
}

static void *runner_main(void *arg)
{
	struct job_runner *r = arg;
	int64_t failures = 0;
	while (!r->stop) {
		int bad = 0;
		if (!r->no_recurring && job_schedule_recurring(r->s, r->c, r->last_period) < 0)
			bad = 1;
		refresh_gauges(r);
		int64_t now = clock_now_ms(), at = INT64_MAX;
		int ran = 0;
		if (next_due(r->c, now, &at) < 0) {
			bad = 1;
		} else if (at <= now) {
			if (job_run_due(r->s, r->c, r->id, r->batch, &r->stop, &ran) < 0)
				bad = 1;
			if (ran == r->batch && !bad)
				continue; /* likely more due: no sleep */
		}
		/* Back off on store errors (database down): 1 s, 2 s, … up to 30 s. */
		failures = bad ? failures + 1 : 0;
		int64_t sleep_ms = r->poll_ms;
		if (bad) {
			sleep_ms = 1000 << (failures < 5 ? failures - 1 : 4);
			if (sleep_ms > 30000)
				sleep_ms = 30000;
		} else if (at > now && at - now < sleep_ms) {
			sleep_ms = at - now;
		} else if (at <= now && ran == 0) {
			sleep_ms = 50; /* due but not claimable by us yet (another worker's claim) */
		}
		if (sleep_ms > 0)
			nap(r, sleep_ms);
	}
	return NULL;
}

static int env_refused(char *err, size_t errlen)
{
#ifndef DROPFIX_TEST_HOOKS
	static const char *const test_vars[] = {"DROPFIX_TEST_JOB_LEASE_MS", "DROPFIX_TEST_JOB_POLL_MS",
	                                        "DROPFIX_TEST_JOB_TICK_MS", "DROPFIX_TEST_JOB_LOG", NULL};
	for (int i = 0; test_vars[i]; i++) {
		if (getenv(test_vars[i])) {
			snprintf(err, errlen,
			         "%s is set, but this is a release build: it exists only in test builds",
			         test_vars[i]);
			return 1;
		}
	}
#else
	(void)err;
	(void)errlen;
#endif
	return 0;
}

int job_runner_start(struct store *s, const struct job_runner_opts *opts, struct job_runner **out, char *err,
                     size_t errlen)
{
	*out = NULL;
	if (env_refused(err, errlen))
		return -1;
	struct job_runner *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->s = s;
	r->batch = opts && opts->batch > 0 ? opts->batch : 8;
	if (r->batch > 64)
		r->batch = 64;
	r->poll_ms = opts && opts->poll_ms > 0 ? opts->poll_ms : 1000;
#ifdef DROPFIX_TEST_HOOKS
	int64_t poll = test_env_ms("DROPFIX_TEST_JOB_POLL_MS");
	if (poll > 0 && !(opts && opts->poll_ms > 0))
		r->poll_ms = (int)(poll > 60000 ? 60000 : poll);
#endif
	r->no_recurring = opts ? opts->no_recurring : 0;
	job_worker_id(r->id, sizeof(r->id));
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&r->mu, NULL);
	if (store_conn_open(s, &r->c, err, errlen) < 0)
		goto fail;
	pthread_once(&gauge_once, register_gauges);
	int e = pthread_create(&r->thread, NULL, runner_main, r);
	if (e != 0) {
		snprintf(err, errlen, "cannot start the job thread: %s", strerror(e));
		goto fail;
	}
	log_json(LOG_INFO, "job runner started",
	         json_pack("{s:s, s:i, s:i}", "worker", r->id, "batch", r->batch, "poll_ms", r->poll_ms));
	*out = r;
	return 0;
fail:
	store_conn_close(r->c);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
	return -1;
}

void job_runner_stop(struct job_runner *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = 1;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	store_conn_close(r->c);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	log_json(LOG_INFO, "job runner stopped", json_pack("{s:s}", "worker", r->id));
	free(r);
}

const char *job_runner_id(const struct job_runner *r)
{
	return r->id;
}
