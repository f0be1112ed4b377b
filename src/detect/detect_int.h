/* Internals of the detect module shared by its files (detect.c, detect_settings.c,
 * detect_signals.c, detect_pass.c, detect_jobs.c). Not for other modules: they use
 * detect.h. */
#ifndef DROPFIX_DETECT_INT_H
#define DROPFIX_DETECT_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "detect/detect.h"

struct store_conn;
struct store_rows;
struct store_tx;

#define DETECT_DAY_MS (INT64_C(86400) * 1000)
#define DETECT_LEARNING_DAYS 7 /* workspace history before anything behavioural fires */
#define DETECT_RECENT_DAYS 7   /* recent window: the 7 whole days before today (cancel_intent: today and 6 before) */
#define DETECT_BASELINE_DAYS 28
#define DETECT_WINDOW_DAYS (DETECT_RECENT_DAYS + DETECT_BASELINE_DAYS)
#define DETECT_MIN_BASELINE_DAYS 7 /* ratio signals: user history >= 14 days */

/* Cancel patterns and plan ranks: bounded lists of short strings. */
#define DETECT_PATTERN_MAX 100 /* bytes of one pattern (or plan name) */
#define DETECT_PATTERNS_MAX 50 /* patterns (or plan names) in a list */
#define DETECT_TEXT_MAX 600    /* bytes of an evidence sentence */
#define DETECT_CANCEL_IDS_MAX 200 /* distinct features matching cancel patterns, per workspace */
#define DETECT_CORE_MAX 64     /* core features the detectors consider */

/* Integer thresholds, in the order of detect_settings.c's table. */
enum detect_setting {
	DS_USAGE_DROP_PCT = 0,
	DS_USAGE_DROP_MIN_WEEKLY,
	DS_GONE_QUIET_MIN_DAYS,
	DS_GONE_QUIET_GAP_FACTOR,
	DS_SHORTER_SESSIONS_PCT,
	DS_SHORTER_SESSIONS_MIN,
	DS_FEATURE_SHARE_PCT,
	DS_FEATURE_UNUSED_DAYS,
	DS_FRICTION_MIN,
	DS_FRICTION_FACTOR,
	DS_TRIAL_DAYS,
	DS_TRIAL_MIN_ACTIVE_DAYS,
	DS_TRIAL_CORE_PCT,
	DS_DOWNGRADE_DAYS,
	DS_N,
};

/* A workspace's settings as the detectors use them (defaults filled in). */
struct detect_conf {
	int64_t v[DS_N];
	int weight[DETECT_KIND_N];
	char pattern[DETECT_PATTERNS_MAX][DETECT_PATTERN_MAX + 1];
	size_t npattern;
	char plan[DETECT_PATTERNS_MAX][DETECT_PATTERN_MAX + 1]; /* plan ranks, lowest first */
	size_t nplan;
};

/* Fills c with the defaults. */
void detect_conf_defaults(struct detect_conf *c);
/* Reads tx's workspace settings into c (defaults when no row). Returns 0 or -1. */
int detect_conf_load(struct store_tx *tx, struct detect_conf *c) __attribute__((warn_unused_result));

/* Case-insensitive (ASCII) glob: '*' any run of bytes, '?' one byte, everything else
 * literal. Linear-time in practice, O(len(pat) * len(s)) at worst (no recursion, one
 * resume point). Returns 1 on a match, else 0. */
int detect_glob(const char *pat, size_t pn, const char *s, size_t sn);
/* Rank of plan (case-insensitive) in c's plan list, or -1 when not listed. */
int detect_plan_rank(const struct detect_conf *c, const char *plan, size_t n);

/* ---- The user context a detector sees (built by detect_pass.c) ---- */

struct detect_day {
	int64_t day;
	int64_t events, sessions, session_seconds, api_errors, rage_clicks;
};

/* One (day, feature) use: feature is the effective id (after merges). */
struct detect_use {
	int64_t day;
	int64_t feature;
};

struct detect_user {
	const char *user_id;
	int64_t first_day; /* day of first_seen */
	int64_t last_day;  /* day of last_seen (last activity) */
	/* user_daily rows with day in [today - 35, today], ascending, events > 0 or not */
	const struct detect_day *days;
	size_t nd;
	/* core feature uses in the window and cancel-pattern uses of the recent window,
	 * ascending by day */
	const struct detect_use *uses;
	size_t nuses;
	/* traits now */
	const char *plan;
	int64_t mrr;
	int64_t trial_end_day; /* -1 when no trial_ends trait */
	/* the last plan/MRR decrease in the trait history (0 when none) */
	int64_t down_ms;
	int64_t down_from_mrr, down_to_mrr;
	const char *down_from_plan, *down_to_plan;
};

/* What every detector of one pass shares. */
struct detect_env {
	int64_t now_ms;
	int64_t today;
	int unlocked; /* the workspace is past its learning window */
	const struct detect_conf *conf;
	const int64_t *core; /* effective core feature ids, sorted */
	const char *const *core_name; /* their display names (may be NULL) */
	size_t ncore;
	/* cancel-pattern features: sorted effective ids and their display names (at most
	 * DETECT_CANCEL_IDS_MAX) */
	const int64_t *cancel;
	const char *const *cancel_name;
	size_t ncancel;
};

/* A detector's verdict. evidence: a new object {"text": …, numbers…} when fires. */
struct detect_hit {
	int fires;
	int severity; /* 1..3 */
	json_t *evidence;
};

struct detect_detector {
	enum detect_kind kind;
	int ratio; /* 1: needs DETECT_MIN_BASELINE_DAYS of user baseline */
	int behavioural; /* 1: waits for the workspace's learning window */
	/* Returns 0 (hit filled) or -1 (out of memory). */
	int (*evaluate)(const struct detect_env *env, const struct detect_user *u, struct detect_hit *hit);
};

/* The detectors, in kind order (payment_failed and subscription_lapsed have none yet). */
extern const struct detect_detector detect_detectors[];
extern const size_t detect_detector_n;

/* Aggregates of one user both detectors and health use. */
struct detect_agg {
	int64_t recent_events;   /* events in [today - 7, today - 1] */
	int64_t baseline_events; /* events in the baseline window */
	int64_t baseline_days;   /* days of user history in the baseline window (0..28) */
	int64_t baseline_weekly; /* baseline events per 7 days (rounded), 0 without baseline */
	int has_baseline;        /* baseline_days >= DETECT_MIN_BASELINE_DAYS */
};
void detect_user_agg(const struct detect_env *env, const struct detect_user *u, struct detect_agg *a);

/* Runs every detector that may run for u (history rules applied). hits has
 * DETECT_KIND_N entries; hits[k].fires = 0 for kinds that did not run. Returns 0 or -1
 * (every evidence freed on failure). */
int detect_evaluate_user(const struct detect_env *env, const struct detect_user *u, struct detect_hit *hits)
    __attribute__((warn_unused_result));

/* Health (PRODUCT §7) from the open kinds (open[k] = 1) and the engagement term. Fills
 * parts (a new object) and returns the health 0..100, or -1 on out of memory. */
int detect_health(const struct detect_conf *c, const int *open, int engagement, json_t **parts);
/* The engagement term in [-10, 10] (0 without baseline). */
int detect_engagement(const struct detect_agg *a);

/* Records one history row (seq = the signal's next). Returns 0 or -1. */
int detect_history_add(struct store_tx *tx, int64_t signal_id, int64_t at_ms, const char *change,
                       int64_t account_id, const char *detail) __attribute__((warn_unused_result));
/* Recomputes user_health for one user from its open signals (after a dismissal),
 * keeping the stored engagement and activity numbers. Returns 0 or -1. */
int detect_health_refresh(struct store_tx *tx, const char *user_id, int64_t now_ms)
    __attribute__((warn_unused_result));

/* ---- The passes' working set (detect_load.c reads it, detect_pass.c writes) ---- */

#define PASS_BATCH 500 /* users per read and per write transaction */

/* What the whole pass shares: settings, the app model's core and cancel features. */
struct pass {
	struct store_conn *c;
	int64_t ws, now_ms, today;
	struct detect_conf conf;
	struct detect_env env;
	int64_t core[DETECT_CORE_MAX];
	char *core_name[DETECT_CORE_MAX];
	int64_t cancel[DETECT_CANCEL_IDS_MAX];
	char *cancel_name[DETECT_CANCEL_IDS_MAX];
	size_t ncancel;
	/* raw feature id -> effective core id (0: not core) and cancel flag, sorted by raw */
	struct fmap {
		int64_t raw, core;
		int cancel;
	} *map;
	size_t nmap;
	char *core_json; /* the core set for detect_state.core when this pass computed it */
	struct detect_stats *st;
	/* workspace_daily tallies (full pass) */
	int64_t users, active, band[3], open_signals, mrr_total, mrr_at_risk;
};

/* One user of a batch. */
struct buser {
	char *id;
	int64_t first_seen, last_seen;
	char *plan;
	int64_t mrr, trial_end_day;
	size_t d0, nd, u0, nu; /* slices of the batch arrays */
	int64_t down_ms, down_from_mrr, down_to_mrr;
	char *down_from_plan, *down_to_plan;
	/* trait history walk */
	int64_t h_mrr;
	int h_has_mrr;
	char *h_plan;
	/* live signals by kind: id, state (0 none, 1 open, 2 dismissed), severity, text, detected */
	int64_t live_id[DETECT_KIND_N], live_detected[DETECT_KIND_N];
	int live_state[DETECT_KIND_N], live_sev[DETECT_KIND_N];
	char *live_text[DETECT_KIND_N];
};

struct batch {
	struct buser *u;
	size_t n;
	struct detect_day *days;
	size_t nd, dcap;
	struct detect_use *uses;
	size_t nu, ucap;
};

/* Loads settings, the core features (use_cache: detect_state.core when it was made today
 * and the founder has not edited the app model since; else the app model, whose 30-day
 * usage scan is the expensive part) and the cancel-pattern features (read tx). Returns 0
 * or -1; free with detect_pass_free (also after a failure). */
int detect_pass_setup(struct pass *p, struct store_tx *tx, int use_cache) __attribute__((warn_unused_result));
void detect_pass_free(struct pass *p);
/* Adds a user row (user_id, first_seen, last_seen, traits) to b. Returns 0 or -1. */
int detect_batch_add_user(struct batch *b, struct store_rows *r) __attribute__((warn_unused_result));
/* Sorts b's users by id (strcmp); call before detect_batch_load. */
void detect_batch_sort(struct batch *b);
/* Reads the aggregates, trait history and live signals of b's users with ids in
 * [lo, hi] (database order; rows of other users are skipped). Returns 0 or -1. */
int detect_batch_load(struct pass *p, struct batch *b, struct store_tx *tx, const char *lo, const char *hi)
    __attribute__((warn_unused_result));
/* Frees b's users' strings and empties it (the arrays stay for reuse). */
void detect_batch_clear(struct batch *b);
/* Grows an array of elem-sized items to hold need items. Returns 0 or -1. */
int detect_grow(void **p, size_t *cap, size_t need, size_t elem) __attribute__((warn_unused_result));
/* "YYYY-MM-DD" (optionally followed by 'T' or ' ' and a time) → day number, or -1. */
int64_t detect_parse_date(const char *s, size_t n);

#endif
