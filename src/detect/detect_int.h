/* Internals of the detect module shared by its files (detect.c, detect_settings.c,
 * detect_signals.c, detect_pass.c, detect_jobs.c). Not for other modules: they use
 * detect.h. */
#ifndef DROPFIX_DETECT_INT_H
#define DROPFIX_DETECT_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "detect/detect.h"

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
/* Overlays a stored settings object on c (keys that fail validation keep their
 * default). Returns 0, or -1 when the text is not a JSON object. */
int detect_conf_from_json(struct detect_conf *c, const char *text, size_t n);
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

#endif
