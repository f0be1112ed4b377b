/* Background jobs (ARCHITECTURE §6): a queue in the global `jobs` table, claimed with
 * a lease, run outside the claim transaction, retried with backoff, and recurring
 * schedules that any number of processes may run at once.
 *
 * Row life cycle:
 *   enqueued  done_at NULL, locked_until NULL (or expired), run_at = earliest start
 *   claimed   attempts + 1, locked_by = the worker, locked_until = now + lease
 *   done      done_at set, dead_at NULL                       (handler returned JOB_OK)
 *   retried   run_at = now + backoff, last_error set, lease cleared
 *   dead      done_at AND dead_at set, last_error says why    (max_attempts reached or
 *             JOB_FAILED_PERMANENT); never claimed again. Dead rows stay 30 days, done
 *             rows 7 days (the cleanup job deletes them).
 *   A lease that expires without an outcome (worker killed, machine lost) makes the job
 *   claimable again; that claim counts as the next attempt.
 *
 * THE IDEMPOTENCY CONTRACT. A job may run more than once: its worker can die after the
 * side effect and before marking it done, or outlive its lease while another worker
 * re-runs it. So every external side effect a handler performs (an e-mail, a Slack
 * post, a Stripe call, a row it inserts) must be keyed on job->idem_key (plus, when one
 * job does several things, a suffix naming the thing): the handler first records or
 * looks up "<idem_key>[/<step>]" where the side effect lands (a unique row in the same
 * transaction as the effect, or the provider's Idempotency-Key header), so that a retry
 * finds it and does not repeat it. Keys have the shape
 * "<type>:<workspace id or 0>:<period start or cursor>" (job_key_format) and are
 * unique in the table: enqueueing a key that exists is a no-op, which is what lets
 * several workers and serve processes schedule the same work without doubling it.
 * A key becomes free again only when the cleanup job deletes its finished row (7 days
 * after done, 30 after dead), so never reuse a key for different work.
 *
 * Time: run_at, locked_until, done_at are Unix ms from clock_now_ms() (the fake clock
 * in tests), never the database clock. */
#ifndef DROPFIX_JOB_H
#define DROPFIX_JOB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"
#include "store/store.h"

/* Bounds on what callers enqueue (checked by job_enqueue). */
#define JOB_TYPE_MAX 64      /* bytes of a type name: [a-z0-9._-]+ */
#define JOB_KEY_MAX LIMIT_JOB_KEY         /* bytes of an idempotency key */
#define JOB_PAYLOAD_MAX LIMIT_JOB_PAYLOAD /* bytes of the JSON payload (an object) */
#define JOB_ERROR_MAX LIMIT_JOB_ERROR     /* bytes of last_error kept (longer messages are cut) */
#define JOB_MAX_TYPES 64     /* registered handler types per process */
#define JOB_MAX_RECURRING 32 /* registered recurring schedules per process */

/* Retry policy: the delay after failed attempt n (1-based) is
 * min(JOB_BACKOFF_BASE_MS * 2^(n-1), JOB_BACKOFF_CAP_MS) plus up to a quarter of it
 * as random jitter. */
#define JOB_BACKOFF_BASE_MS 10000
#define JOB_BACKOFF_CAP_MS 3600000
#define JOB_DEFAULT_LEASE_MS 300000
#define JOB_DEFAULT_MAX_ATTEMPTS 5
/* How long a job whose type this process has no handler for waits before another
 * worker may pick it up (not counted as an attempt). */
#define JOB_UNKNOWN_TYPE_DELAY_MS 60000
#define JOB_DONE_KEEP_MS (7LL * 24 * 3600 * 1000)
#define JOB_DEAD_KEEP_MS (30LL * 24 * 3600 * 1000)

/* One claimed job as a handler sees it. Every pointer is borrowed and valid only
 * during the handler call. */
struct job {
	int64_t id;
	const char *type;
	int64_t workspace_id; /* 0 when the job acts on no single workspace */
	int64_t run_at;       /* when it was due */
	int attempt;          /* 1 for the first run, 2 for the first retry, … */
	int max_attempts;
	const char *idem_key; /* see THE IDEMPOTENCY CONTRACT above */
	const char *payload;  /* JSON object text, NUL-terminated */
	size_t payload_len;
	int64_t lease_until; /* the lease as claimed; see job_extend_lease */
	struct store *store;
	/* The worker's connection: a handler opens and ends its own transactions on it and
	 * leaves none open. */
	struct store_conn *conn;
	const char *worker_id;
	const void *priv_; /* runner internals */
};

/* What a handler returns. */
enum job_status {
	JOB_OK = 0,                /* done */
	JOB_FAILED = -1,           /* retry with backoff until max_attempts, then dead */
	JOB_FAILED_PERMANENT = -2, /* dead now: retrying cannot help (bad payload, …) */
};

/* A handler runs outside any transaction. On failure it writes a one-line reason
 * (no secrets, no personal data) into err. */
typedef enum job_status (*job_handler_fn)(const struct job *j, char *err, size_t errlen);

/* Registers (or replaces) the handler of type (a static string, [a-z0-9._-]{1,64}).
 * lease_ms (> 0) is how long one run may take before another worker may take the job
 * over; max_attempts (1..100) is stored on rows enqueued from then on. Call before
 * starting runners. Returns 0, or -1 when the type is malformed or the table full. */
int job_register(const char *type, job_handler_fn fn, int64_t lease_ms, int max_attempts)
    __attribute__((warn_unused_result));
/* Registers a recurring schedule: runners enqueue one job of type per period, keyed
 * "<type>:0:<period start>" and due at the period start (periods are aligned to the
 * Unix epoch, so every process agrees on them). sqlite_only: skipped on PostgreSQL.
 * Returns 0 or -1 (bad arguments, table full). */
int job_register_recurring(const char *type, int64_t period_ms, int sqlite_only)
    __attribute__((warn_unused_result));
/* Forgets every registration (tests). */
void job_registry_reset(void);

/* Formats "<type>:<workspace_id>:<part>" into out (workspace_id 0 for none). Returns
 * 0, or -1 when it does not fit or exceeds JOB_KEY_MAX. */
int job_key_format(char *out, size_t outlen, const char *type, int64_t workspace_id, const char *part)
    __attribute__((warn_unused_result));

/* Enqueues a job in tx, a write transaction: global/maintenance, or a workspace
 * transaction whose workspace must equal workspace_id. workspace_id 0 = none. run_at
 * in Unix ms. idem_key is required (JOB_KEY_MAX); payload is a JSON object text of at
 * most JOB_PAYLOAD_MAX bytes, or NULL for "{}". When a job with that key already
 * exists (pending, done or dead) nothing changes. Returns 0 with *id_out = the new
 * job id, or 0 when the key existed (id_out may be NULL); -1 on bad arguments
 * (tx untouched) or a store error (tx poisoned). */
int job_enqueue(struct store_tx *tx, const char *type, int64_t workspace_id, int64_t run_at,
                const char *idem_key, const char *payload, int64_t *id_out)
    __attribute__((warn_unused_result));

/* Extends the lease of a running job by its type's lease from now, so a long handler
 * can keep it. Returns 0 while the job is still this worker's, -1 when it was lost
 * (another worker claimed it after the lease ran out: stop and return JOB_FAILED) or
 * on a store error. Must not be called with a transaction open on j->conn. */
int job_extend_lease(const struct job *j) __attribute__((warn_unused_result));
/* 1 when the runner is stopping: a long handler may end early with JOB_FAILED (the
 * job is retried), or simply finish. */
int job_stopping(const struct job *j);

/* Delay before the retry after failed attempt n (1-based), without jitter. */
int64_t job_backoff_ms(int attempt);

/* Writes "<hostname>:<pid>:<16 hex random>" (at most 127 bytes) into out. */
void job_worker_id(char *out, size_t outlen);

/* Claims up to max (1..64) due jobs for worker_id on c and runs them one after another,
 * each outside the claim transaction, recording the outcome. stop (may be NULL): when
 * it becomes non-zero, claimed jobs not yet started are handed back. Returns 0 with the
 * number run in *ran (may be NULL), or -1 on a store error (logged). */
int job_run_due(struct store *s, struct store_conn *c, const char *worker_id, int max, const atomic_int *stop,
                int *ran) __attribute__((warn_unused_result));
/* Enqueues the current period of every recurring schedule that *last_period (one slot
 * per schedule, JOB_MAX_RECURRING, zeroed at first) says was not yet enqueued by this
 * caller. Returns 0 or -1 (logged; retried next time). */
int job_schedule_recurring(struct store *s, struct store_conn *c, int64_t *last_period)
    __attribute__((warn_unused_result));

/* ---- Runner: a scheduler + worker thread ---- */

struct job_runner;

struct job_runner_opts {
	int batch;        /* jobs claimed at once; 0 = 8 */
	int poll_ms;      /* longest sleep between looks at the queue; 0 = 1000 */
	int no_recurring; /* 1: do not schedule recurring jobs */
};

/* Starts one thread on s (opts may be NULL): loop { schedule recurring; claim and run
 * due jobs; sleep until the next job is due, at most poll_ms, woken by
 * job_runner_stop }. It opens its own connection. Returns 0 and *out, or -1 with err.
 * s must outlive the runner. */
int job_runner_start(struct store *s, const struct job_runner_opts *opts, struct job_runner **out, char *err,
                     size_t errlen) __attribute__((warn_unused_result));
/* Asks the runner to stop, lets the job in hand finish (jobs claimed but not started
 * are handed back), joins the thread and frees r. Accepts NULL. */
void job_runner_stop(struct job_runner *r);
/* The runner's worker identity (locked_by), borrowed. */
const char *job_runner_id(const struct job_runner *r);

/* ---- Built-in jobs (job_builtin.c) ---- */

/* Registers the real jobs (expired-row cleanup hourly, SQLite WAL checkpoint every 5
 * minutes) and, in test builds, the test-only types. Returns 0 or -1. */
int job_builtin_register(void) __attribute__((warn_unused_result));

#endif
