/* Churn detection (PRODUCT §6–7): the ten signals behind one detector interface, the
 * health score with its parts, and the passes that keep them current.
 *
 * Data (migration 0009): detect_settings (thresholds, weights, cancel patterns as a
 * JSON object; missing keys mean the defaults), detect_state (learning start, the
 * incremental watermark), signals + signal_history, user_health (one row per tracked
 * user: health, band, parts, MRR, worth) and workspace_daily (trend points). Readers
 * (the dashboard) read those tables directly; every write goes through this module.
 *
 * Days are the integer day numbers of user_daily (days since 1970-01-01). */
#ifndef DROPFIX_DETECT_H
#define DROPFIX_DETECT_H

#include <stdint.h>

#include <jansson.h>

struct store;
struct store_conn;
struct store_tx;

enum detect_kind {
	DETECT_USAGE_DROP = 0,
	DETECT_GONE_QUIET,
	DETECT_SHORTER_SESSIONS,
	DETECT_FEATURE_ABANDONED,
	DETECT_CANCEL_INTENT,
	DETECT_FRICTION_SPIKE,
	DETECT_TRIAL_ENDING_INACTIVE,
	DETECT_DOWNGRADE,
	DETECT_PAYMENT_FAILED,      /* detector arrives with the Stripe issue */
	DETECT_SUBSCRIPTION_LAPSED, /* detector arrives with the Stripe issue */
	DETECT_KIND_N,
};

/* "usage_drop", … (the ids of PRODUCT §6). */
const char *detect_kind_id(enum detect_kind k);
/* Plain words for the UI: "Usage dropped", "Gone quiet", … */
const char *detect_kind_title(enum detect_kind k);
/* Parses an id; returns 0 and *out, or -1 when unknown. */
int detect_kind_parse(const char *s, size_t n, enum detect_kind *out) __attribute__((warn_unused_result));

/* Health bands (PRODUCT §7): healthy >= 70, watch 40–69, at risk < 40. */
enum detect_band { DETECT_HEALTHY = 0, DETECT_WATCH, DETECT_AT_RISK };
/* "healthy", "watch", "at_risk". */
const char *detect_band_id(enum detect_band b);
enum detect_band detect_band_of(int health);

/* Learning progress of a workspace on event time (PRODUCT §6: nothing behavioural in the
 * first 7 days). */
struct detect_learning {
	int64_t started_ms; /* earliest event time seen; 0 = no events yet */
	int days_done;      /* whole days since started_ms, capped at days_needed */
	int days_needed;    /* 7 */
	int unlocked;       /* 1 when behavioural signals may fire */
};
/* Reads the learning state of tx's workspace at now_ms. Returns 0 or -1 (store error). */
int detect_learning_get(struct store_tx *tx, int64_t now_ms, struct detect_learning *out)
    __attribute__((warn_unused_result));

/* What a pass did. */
struct detect_stats {
	int64_t users;    /* users evaluated */
	int64_t opened;   /* signals opened */
	int64_t resolved; /* signals resolved automatically */
	int64_t updated;  /* open signals whose evidence changed */
};

/* Evaluates the users of workspace ws whose data changed since the last pass
 * (tracked_users.changed_ms after the watermark), in short transactions on c, and
 * refreshes their health. Returns 0 or -1 (err filled). */
int detect_run_incremental(struct store_conn *c, int64_t ws, struct detect_stats *st, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Evaluates every tracked user of ws (the daily sweep: gone_quiet and trial are
 * time-based) and writes today's workspace_daily point. Returns 0 or -1. */
int detect_run_full(struct store_conn *c, int64_t ws, struct detect_stats *st, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Dismisses open signal signal_id of tx's workspace (a write transaction) by account_id
 * with an optional reason (NULL or "", at most DETECT_REASON_MAX bytes), recording the
 * history row and refreshing the user's health. A dismissed signal stays dismissed
 * while its condition holds. The caller writes the audit entry. Returns 0, 1 when no
 * open signal has that id, or -1 (store error, reason too long). */
#define DETECT_REASON_MAX 500
int detect_dismiss(struct store_tx *tx, int64_t signal_id, int64_t account_id, const char *reason)
    __attribute__((warn_unused_result));

/* The workspace's detection settings with defaults filled in (a new JSON object, or
 * NULL on a store error / out of memory). Keys are documented in docs/signals.md. */
json_t *detect_settings_get(struct store_tx *tx) __attribute__((warn_unused_result));
/* Validates and stores changed settings (tolerant: unknown keys refused with a message
 * naming the key; numbers range-checked; patterns capped in length and count). Returns
 * 0, 1 with msg filled when the input is invalid, or -1 (store error). */
int detect_settings_set(struct store_tx *tx, const json_t *changes, char *msg, size_t msglen)
    __attribute__((warn_unused_result));

/* Registers the job types detect.incremental (enqueued per workspace by the ingest
 * writer's commit, coalesced by idempotency key per minute) and the recurring
 * detect.sweep (daily: every workspace's full pass). Returns 0 or -1. */
int detect_jobs_register(void) __attribute__((warn_unused_result));

#endif
