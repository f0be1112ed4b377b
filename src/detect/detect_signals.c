/* The detectors (PRODUCT §6) and the health score (§7), as pure functions of one
 * user's aggregates (struct detect_user, built by detect_pass.c). docs/signals.md says
 * in words what each one does; keep the two in step. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "detect/detect_int.h"

/* "2026-11-04" for a day number (out holds 11 bytes). */
static void day_text(int64_t day, char out[11])
{
	char ts[32];
	if (clock_format_ms(day * DETECT_DAY_MS, ts, sizeof(ts)) < 0)
		snprintf(ts, sizeof(ts), "unknown-day");
	memcpy(out, ts, 10);
	out[10] = '\0';
}

/* Ratio signals compare whole days: the recent window is the 7 days before today
 * (today - 7 … today - 1), so a pass early in the (UTC) day does not compare a partial
 * day with full ones. */
static int64_t recent_start(const struct detect_env *env)
{
	return env->today - DETECT_RECENT_DAYS;
}

static int64_t recent_end(const struct detect_env *env)
{
	return env->today - 1;
}

void detect_user_agg(const struct detect_env *env, const struct detect_user *u, struct detect_agg *a)
{
	memset(a, 0, sizeof(*a));
	int64_t rs = recent_start(env), re = recent_end(env);
	int64_t bstart = rs - DETECT_BASELINE_DAYS;
	if (u->first_day > bstart)
		bstart = u->first_day;
	a->baseline_days = rs - bstart > 0 ? rs - bstart : 0;
	for (size_t i = 0; i < u->nd; i++) {
		const struct detect_day *d = &u->days[i];
		if (d->day >= rs && d->day <= re)
			a->recent_events += d->events;
		else if (d->day >= bstart && d->day < rs)
			a->baseline_events += d->events;
	}
	a->has_baseline = a->baseline_days >= DETECT_MIN_BASELINE_DAYS;
	if (a->has_baseline)
		a->baseline_weekly = (a->baseline_events * 7 + a->baseline_days / 2) / a->baseline_days;
}

/* Baseline window start for u (the later of 28 days before the recent 7 and the user's
 * first day). */
static int64_t baseline_start(const struct detect_env *env, const struct detect_user *u)
{
	int64_t b = recent_start(env) - DETECT_BASELINE_DAYS;
	return u->first_day > b ? u->first_day : b;
}

static int pct_of(int64_t part, int64_t whole)
{
	if (whole <= 0)
		return 0;
	return (int)((part * 100 + whole / 2) / whole);
}

/* Sets hit from a sentence and a packed object of numbers (takes ownership of nums). */
static int hit_set(struct detect_hit *hit, int severity, const char *text, json_t *nums)
{
	if (!nums || json_object_set_new(nums, "text", json_string(text)) < 0) {
		json_decref(nums);
		return -1;
	}
	hit->fires = 1;
	hit->severity = severity < 1 ? 1 : severity > 3 ? 3 : severity;
	hit->evidence = nums;
	return 0;
}

/* 1 usage_drop: events in the recent 7 days <= pct% of the baseline weekly average,
 * baseline >= min_weekly events a week. */
static int usage_drop(const struct detect_env *env, const struct detect_user *u, struct detect_hit *hit)
{
	struct detect_agg a;
	detect_user_agg(env, u, &a);
	const int64_t *v = env->conf->v;
	/* exact comparisons on integers: weekly = baseline_events * 7 / baseline_days */
	if (!a.has_baseline || a.baseline_events * 7 < v[DS_USAGE_DROP_MIN_WEEKLY] * a.baseline_days)
		return 0;
	if (a.recent_events * 100 * a.baseline_days > v[DS_USAGE_DROP_PCT] * a.baseline_events * 7)
		return 0;
	int pct = (int)((a.recent_events * 100 * a.baseline_days) / (a.baseline_events * 7));
	char text[DETECT_TEXT_MAX];
	snprintf(text, sizeof(text),
	         "%lld events in the last 7 full days, against a usual %lld a week (%d%% of usual; fires at %lld%% or "
	         "less)",
	         (long long)a.recent_events, (long long)a.baseline_weekly, pct, (long long)v[DS_USAGE_DROP_PCT]);
	return hit_set(hit, pct <= 10 ? 3 : pct <= 25 ? 2 : 1, text,
	               json_pack("{s:I, s:I, s:I, s:i}", "events_7d", (json_int_t)a.recent_events,
	                         "baseline_weekly", (json_int_t)a.baseline_weekly, "baseline_days",
	                         (json_int_t)a.baseline_days, "pct", pct));
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* 2 gone_quiet: no activity for max(min_days, factor x the usual gap between active
 * days). The usual gap is the median gap between consecutive active days of the
 * window (1 = active on consecutive days); unknown (min_days applies) with fewer than 3
 * active days. */
static int gone_quiet(const struct detect_env *env, const struct detect_user *u, struct detect_hit *hit)
{
	const int64_t *v = env->conf->v;
	int64_t quiet = env->today - u->last_day;
	if (quiet < v[DS_GONE_QUIET_MIN_DAYS])
		return 0;
	int64_t gaps[DETECT_WINDOW_DAYS + 1];
	size_t ng = 0;
	int64_t prev = -1;
	for (size_t i = 0; i < u->nd && ng < DETECT_WINDOW_DAYS; i++) {
		if (u->days[i].events <= 0)
			continue;
		if (prev >= 0)
			gaps[ng++] = u->days[i].day - prev;
		prev = u->days[i].day;
	}
	int64_t usual = 0;
	if (ng >= 2) {
		qsort(gaps, ng, sizeof(gaps[0]), cmp_i64);
		usual = gaps[ng / 2];
	}
	int64_t threshold = v[DS_GONE_QUIET_MIN_DAYS];
	if (usual * v[DS_GONE_QUIET_GAP_FACTOR] > threshold)
		threshold = usual * v[DS_GONE_QUIET_GAP_FACTOR];
	if (quiet < threshold)
		return 0;
	char text[DETECT_TEXT_MAX], last[11];
	day_text(u->last_day, last);
	if (usual > 0)
		snprintf(text, sizeof(text),
		         "No activity for %lld days (last active %s); usually active every %lld day%s, so quiet "
		         "counts from %lld days",
		         (long long)quiet, last, (long long)usual, usual == 1 ? "" : "s", (long long)threshold);
	else
		snprintf(text, sizeof(text), "No activity for %lld days (last active %s); quiet counts from %lld days",
		         (long long)quiet, last, (long long)threshold);
	return hit_set(hit, quiet >= 3 * threshold ? 3 : quiet >= 2 * threshold ? 2 : 1, text,
	               json_pack("{s:I, s:I, s:I, s:s}", "days_quiet", (json_int_t)quiet, "usual_gap_days",
	                         (json_int_t)usual, "threshold_days", (json_int_t)threshold, "last_active", last));
}

struct wsample {
	int64_t value, weight;
};

static int cmp_ws(const void *a, const void *b)
{
	int64_t x = ((const struct wsample *)a)->value, y = ((const struct wsample *)b)->value;
	return x < y ? -1 : x > y;
}

/* Weighted median of s[0..n) (sorted here); total = sum of weights > 0. */
static int64_t wmedian(struct wsample *s, size_t n, int64_t total)
{
	qsort(s, n, sizeof(s[0]), cmp_ws);
	int64_t half = (total + 1) / 2, seen = 0;
	for (size_t i = 0; i < n; i++) {
		seen += s[i].weight;
		if (seen >= half)
			return s[i].value;
	}
	return n ? s[n - 1].value : 0;
}

/* 3 shorter_sessions: the median session length of the recent 7 days <= pct% of the
 * baseline median, with >= min sessions on each side. Session sample: each day's mean
 * session length (session_seconds / sessions), counted once per session of that day
 * (user_daily keeps no single sessions). */
static int shorter_sessions(const struct detect_env *env, const struct detect_user *u, struct detect_hit *hit)
{
	const int64_t *v = env->conf->v;
	struct wsample rs[DETECT_WINDOW_DAYS + 1], bs[DETECT_WINDOW_DAYS + 1];
	size_t nr = 0, nb = 0;
	int64_t tr = 0, tb = 0;
	int64_t r0 = recent_start(env), b0 = baseline_start(env, u);
	for (size_t i = 0; i < u->nd; i++) {
		const struct detect_day *d = &u->days[i];
		if (d->sessions <= 0)
			continue;
		struct wsample w = {d->session_seconds / d->sessions, d->sessions};
		if (d->day >= r0 && d->day <= recent_end(env) && nr < DETECT_WINDOW_DAYS) {
			rs[nr++] = w;
			tr += w.weight;
		} else if (d->day >= b0 && d->day < r0 && nb < DETECT_WINDOW_DAYS) {
			bs[nb++] = w;
			tb += w.weight;
		}
	}
	if (tr < v[DS_SHORTER_SESSIONS_MIN] || tb < v[DS_SHORTER_SESSIONS_MIN])
		return 0;
	int64_t mr = wmedian(rs, nr, tr), mb = wmedian(bs, nb, tb);
	if (mb <= 0 || mr * 100 > v[DS_SHORTER_SESSIONS_PCT] * mb)
		return 0;
	int pct = pct_of(mr, mb);
	char text[DETECT_TEXT_MAX];
	snprintf(text, sizeof(text),
	         "Sessions in the last 7 full days lasted %lld min %lld s (median of %lld), against a usual %lld min %lld s "
	         "(%d%% of usual)",
	         (long long)(mr / 60), (long long)(mr % 60), (long long)tr, (long long)(mb / 60), (long long)(mb % 60),
	         pct);
	return hit_set(hit, pct <= 10 ? 3 : pct <= 25 ? 2 : 1, text,
	               json_pack("{s:I, s:I, s:I, s:I, s:i}", "median_seconds_7d", (json_int_t)mr,
	                         "baseline_median_seconds", (json_int_t)mb, "sessions_7d", (json_int_t)tr,
	                         "baseline_sessions", (json_int_t)tb, "pct", pct));
}

/* Index of id in the sorted list, or -1. */
static long find_id(const int64_t *ids, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ids[mid] == id)
			return (long)mid;
		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* 4 feature_abandoned: a core feature used on >= share% of the user's baseline active
 * days (at least 4 of them) is unused for unused_days or more. */
#define FEATURE_MIN_ACTIVE_DAYS 4
#define FEATURE_LIST_MAX DETECT_CORE_MAX
static int feature_abandoned(const struct detect_env *env, const struct detect_user *u, struct detect_hit *hit)
{
	const int64_t *v = env->conf->v;
	int64_t r0 = recent_start(env), b0 = baseline_start(env, u);
	int64_t active = 0;
	for (size_t i = 0; i < u->nd; i++)
		active += u->days[i].day >= b0 && u->days[i].day < r0 && u->days[i].events > 0;
	if (active < FEATURE_MIN_ACTIVE_DAYS || env->ncore == 0)
		return 0;
	size_t nc = env->ncore < FEATURE_LIST_MAX ? env->ncore : FEATURE_LIST_MAX;
	int64_t used[FEATURE_LIST_MAX] = {0}, last[FEATURE_LIST_MAX], prevday[FEATURE_LIST_MAX];
	for (size_t i = 0; i < nc; i++)
		last[i] = prevday[i] = -1;
	for (size_t i = 0; i < u->nuses; i++) {
		long k = find_id(env->core, nc, u->uses[i].feature);
		if (k < 0)
			continue;
		int64_t day = u->uses[i].day;
		if (day >= b0 && day < r0 && prevday[k] != day)
			used[k]++;
		prevday[k] = day;
		if (day > last[k])
			last[k] = day;
	}
	json_t *list = json_array();
	if (!list)
		return -1;
	int64_t best_used = -1, best_unused = 0;
	const char *best = NULL;
	for (size_t k = 0; k < nc; k++) {
		if (used[k] * 100 < v[DS_FEATURE_SHARE_PCT] * active)
			continue;
		int64_t unused = env->today - last[k];
		if (unused < v[DS_FEATURE_UNUSED_DAYS])
			continue;
		const char *name = env->core_name && env->core_name[k] ? env->core_name[k] : "a core feature";
		if (json_array_append_new(list, json_pack("{s:s, s:I, s:I, s:I}", "feature", name, "days_used",
		                                          (json_int_t)used[k], "active_days", (json_int_t)active,
		                                          "days_unused", (json_int_t)unused)) < 0) {
			json_decref(list);
			return -1;
		}
		if (used[k] > best_used) {
			best_used = used[k];
			best_unused = unused;
			best = name;
		}
	}
	size_t n = json_array_size(list);
	if (n == 0) {
		json_decref(list);
		return 0;
	}
	char text[DETECT_TEXT_MAX];
	int len = snprintf(text, sizeof(text), "Stopped using \"%.120s\": used on %lld of %lld active days before, not in the last %lld days",
	                   best, (long long)best_used, (long long)active, (long long)best_unused);
	if (n > 1 && len > 0 && (size_t)len < sizeof(text))
		snprintf(text + len, sizeof(text) - (size_t)len, " (and %zu more core feature%s)", n - 1, n > 2 ? "s" : "");
	return hit_set(hit, n >= 3 ? 3 : (int)n, text, json_pack("{s:o}", "features", list));
}

/* 5 cancel_intent: a feature of the recent 7 days matching a cancel pattern. */
static int cancel_intent(const struct detect_env *env, const struct detect_user *u, struct detect_hit *hit)
{
	int64_t r0 = env->today - (DETECT_RECENT_DAYS - 1); /* today and the 6 days before */
	char seen[DETECT_CANCEL_IDS_MAX] = {0};
	size_t cap = env->ncancel < sizeof(seen) ? env->ncancel : sizeof(seen);
	int64_t visits = 0, distinct = 0, lastday = -1; /* visits: distinct days (uses are by day) */
	for (size_t i = 0; i < u->nuses; i++) {
		if (u->uses[i].day < r0)
			continue;
		long k = find_id(env->cancel, cap, u->uses[i].feature);
		if (k < 0)
			continue;
		if (u->uses[i].day != lastday)
			visits++;
		lastday = u->uses[i].day;
		if (!seen[k]) {
			seen[k] = 1;
			distinct++;
		}
	}
	if (visits == 0)
		return 0;
	json_t *what = json_array();
	char names[DETECT_TEXT_MAX / 2];
	size_t off = 0;
	names[0] = '\0';
	for (size_t k = 0; what && k < cap; k++) {
		if (!seen[k])
			continue;
		const char *nm = env->cancel_name[k] ? env->cancel_name[k] : "a cancel page";
		if (json_array_append_new(what, json_string(nm)) < 0) {
			json_decref(what);
			return -1;
		}
		if (json_array_size(what) <= 3 && off < sizeof(names)) {
			int w = snprintf(names + off, sizeof(names) - off, "%s%.80s", off ? ", " : "", nm);
			if (w > 0)
				off += (size_t)w;
		}
	}
	if (!what)
		return -1;
	char text[DETECT_TEXT_MAX];
	snprintf(text, sizeof(text), "Visited %s%s in the last 7 days (on %lld day%s)", names,
	         distinct > 3 ? " and more" : "", (long long)visits, visits == 1 ? "" : "s");
	return hit_set(hit, distinct >= 3 ? 3 : (int)distinct, text,
	               json_pack("{s:o, s:I, s:I}", "matched", what, "days", (json_int_t)visits, "distinct",
	                         (json_int_t)distinct));
}

/* 6 friction_spike: failed API calls + rage clicks of the recent 7 days >= min and
 * >= factor x the baseline weekly average. */
static int friction_spike(const struct detect_env *env, const struct detect_user *u, struct detect_hit *hit)
{
	const int64_t *v = env->conf->v;
	int64_t r0 = recent_start(env), b0 = baseline_start(env, u);
	int64_t errs = 0, rage = 0, base = 0;
	for (size_t i = 0; i < u->nd; i++) {
		const struct detect_day *d = &u->days[i];
		if (d->day >= r0 && d->day <= recent_end(env)) {
			errs += d->api_errors;
			rage += d->rage_clicks;
		} else if (d->day >= b0 && d->day < r0) {
			base += d->api_errors + d->rage_clicks;
		}
	}
	int64_t bdays = r0 - b0, recent = errs + rage;
	if (bdays < DETECT_MIN_BASELINE_DAYS || recent < v[DS_FRICTION_MIN] ||
	    recent * bdays < v[DS_FRICTION_FACTOR] * base * 7)
		return 0;
	int64_t weekly = (base * 7 + bdays / 2) / bdays;
	char text[DETECT_TEXT_MAX];
	snprintf(text, sizeof(text), "%lld failed API call%s and %lld rage click%s in the last 7 full days, against a usual %lld a week",
	         (long long)errs, errs == 1 ? "" : "s", (long long)rage, rage == 1 ? "" : "s", (long long)weekly);
	int64_t m = v[DS_FRICTION_MIN];
	return hit_set(hit, recent >= 4 * m ? 3 : recent >= 2 * m ? 2 : 1, text,
	               json_pack("{s:I, s:I, s:I}", "api_errors_7d", (json_int_t)errs, "rage_clicks_7d",
	                         (json_int_t)rage, "baseline_weekly", (json_int_t)weekly));
}

/* 7 trial_ending_inactive: trial_ends within trial_days and fewer than core_pct% of the
 * core features used, or active on fewer than min_active_days days (in the window). */
static int trial_ending(const struct detect_env *env, const struct detect_user *u, struct detect_hit *hit)
{
	const int64_t *v = env->conf->v;
	if (u->trial_end_day < 0)
		return 0;
	int64_t left = u->trial_end_day - env->today;
	if (left < 0 || left > v[DS_TRIAL_DAYS])
		return 0;
	int64_t active = 0;
	for (size_t i = 0; i < u->nd; i++)
		active += u->days[i].events > 0;
	size_t nc = env->ncore < FEATURE_LIST_MAX ? env->ncore : FEATURE_LIST_MAX;
	char used[FEATURE_LIST_MAX] = {0};
	int64_t nused = 0;
	for (size_t i = 0; i < u->nuses; i++) {
		long k = find_id(env->core, nc, u->uses[i].feature);
		if (k >= 0 && !used[k]) {
			used[k] = 1;
			nused++;
		}
	}
	int few_features = nc > 0 && nused * 100 < v[DS_TRIAL_CORE_PCT] * (int64_t)nc;
	if (!few_features && active >= v[DS_TRIAL_MIN_ACTIVE_DAYS])
		return 0;
	char text[DETECT_TEXT_MAX], end[11];
	day_text(u->trial_end_day, end);
	snprintf(text, sizeof(text), "Trial ends %s (%s); active on %lld day%s, used %lld of %zu core features",
	         left == 0 ? "today" : left == 1 ? "tomorrow" : "soon", end, (long long)active,
	         active == 1 ? "" : "s", (long long)nused, nc);
	if (left > 1) /* "in N days" reads better than "soon" */
		snprintf(text, sizeof(text), "Trial ends in %lld days (%s); active on %lld day%s, used %lld of %zu core features",
		         (long long)left, end, (long long)active, active == 1 ? "" : "s", (long long)nused, nc);
	return hit_set(hit, left <= 1 ? 3 : 2, text,
	               json_pack("{s:s, s:I, s:I, s:I, s:I}", "trial_ends", end, "days_left", (json_int_t)left,
	                         "active_days", (json_int_t)active, "core_used", (json_int_t)nused, "core_total",
	                         (json_int_t)nc));
}

/* 8 downgrade: the latest plan/MRR change in the trait history is a decrease within
 * downgrade_days. */
static int downgrade(const struct detect_env *env, const struct detect_user *u, struct detect_hit *hit)
{
	const int64_t *v = env->conf->v;
	if (u->down_ms <= 0 || u->down_ms < env->now_ms - v[DS_DOWNGRADE_DAYS] * DETECT_DAY_MS)
		return 0;
	char text[DETECT_TEXT_MAX], when[11];
	day_text(u->down_ms / DETECT_DAY_MS, when);
	const char *fp = u->down_from_plan ? u->down_from_plan : "", *tp = u->down_to_plan ? u->down_to_plan : "";
	if (*fp && *tp && strcmp(fp, tp) != 0)
		snprintf(text, sizeof(text), "Moved from plan %.60s (MRR %lld) to %.60s (MRR %lld) on %s", fp,
		         (long long)u->down_from_mrr, tp, (long long)u->down_to_mrr, when);
	else
		snprintf(text, sizeof(text), "MRR went down from %lld to %lld on %s", (long long)u->down_from_mrr,
		         (long long)u->down_to_mrr, when);
	int sev = u->down_to_mrr <= 0 ? 3 : u->down_to_mrr * 2 <= u->down_from_mrr ? 2 : 1;
	return hit_set(hit, sev, text,
	               json_pack("{s:s, s:s, s:I, s:I, s:s}", "from_plan", fp, "to_plan", tp, "from_mrr",
	                         (json_int_t)u->down_from_mrr, "to_mrr", (json_int_t)u->down_to_mrr, "on", when));
}

const struct detect_detector detect_detectors[] = {
    {DETECT_USAGE_DROP, 1, 1, usage_drop},
    {DETECT_GONE_QUIET, 0, 1, gone_quiet},
    {DETECT_SHORTER_SESSIONS, 1, 1, shorter_sessions},
    {DETECT_FEATURE_ABANDONED, 1, 1, feature_abandoned},
    {DETECT_CANCEL_INTENT, 0, 1, cancel_intent},
    {DETECT_FRICTION_SPIKE, 1, 1, friction_spike},
    {DETECT_TRIAL_ENDING_INACTIVE, 0, 1, trial_ending},
    {DETECT_DOWNGRADE, 0, 1, downgrade},
    /* payment_failed and subscription_lapsed: the Stripe issue adds their rows here */
};
const size_t detect_detector_n = sizeof(detect_detectors) / sizeof(detect_detectors[0]);

int detect_evaluate_user(const struct detect_env *env, const struct detect_user *u, struct detect_hit *hits)
{
	memset(hits, 0, sizeof(hits[0]) * DETECT_KIND_N);
	struct detect_agg a;
	detect_user_agg(env, u, &a);
	for (size_t i = 0; i < detect_detector_n; i++) {
		const struct detect_detector *d = &detect_detectors[i];
		if (d->behavioural && !env->unlocked)
			continue;
		if (d->ratio && !a.has_baseline)
			continue;
		if (d->evaluate(env, u, &hits[d->kind]) < 0) {
			for (int k = 0; k < DETECT_KIND_N; k++) {
				json_decref(hits[k].evidence);
				hits[k].evidence = NULL;
				hits[k].fires = 0;
			}
			return -1;
		}
	}
	return 0;
}

int detect_engagement(const struct detect_agg *a)
{
	if (!a->has_baseline || a->baseline_events <= 0)
		return 0;
	double r = (double)a->recent_events * (double)a->baseline_days / ((double)a->baseline_events * 7.0);
	long e = lround(20.0 * (r - 1.0));
	return e < -10 ? -10 : e > 10 ? 10 : (int)e;
}

int detect_health(const struct detect_conf *c, const int *open, int engagement, json_t **parts)
{
	json_t *sig = json_array();
	int h = 100;
	for (int k = 0; sig && k < DETECT_KIND_N; k++) {
		if (!open[k])
			continue;
		int counted = !(k == DETECT_USAGE_DROP && open[DETECT_GONE_QUIET]);
		if (counted)
			h -= c->weight[k];
		if (json_array_append_new(sig, json_pack("{s:s, s:i, s:i}", "kind", detect_kind_id((enum detect_kind)k),
		                                         "weight", c->weight[k], "counted", counted)) < 0) {
			json_decref(sig);
			sig = NULL;
		}
	}
	if (!sig)
		return -1;
	int e = engagement < -10 ? -10 : engagement > 10 ? 10 : engagement;
	h += e;
	h = h < 0 ? 0 : h > 100 ? 100 : h;
	*parts = json_pack("{s:i, s:o, s:i, s:i}", "base", 100, "signals", sig, "engagement", e, "health", h);
	return *parts ? h : -1;
}
