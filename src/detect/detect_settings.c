/* Detection settings (detect.h: detect_settings_get/_set; docs/signals.md lists every
 * key): integer thresholds, health weights, cancel-intent patterns and plan ranks, one
 * JSON object per workspace in detect_settings.settings. Missing keys mean defaults.
 * Also the glob matcher the cancel patterns use. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "detect/detect_int.h"
#include "store/store.h"

static const struct {
	const char *key;
	int64_t def, min, max;
} ints[DS_N] = {
    [DS_USAGE_DROP_PCT] = {"usage_drop_pct", 50, 1, 99},
    [DS_USAGE_DROP_MIN_WEEKLY] = {"usage_drop_min_weekly", 10, 1, 100000},
    [DS_GONE_QUIET_MIN_DAYS] = {"gone_quiet_min_days", 7, 2, 90},
    [DS_GONE_QUIET_GAP_FACTOR] = {"gone_quiet_gap_factor", 3, 1, 20},
    [DS_SHORTER_SESSIONS_PCT] = {"shorter_sessions_pct", 50, 1, 99},
    [DS_SHORTER_SESSIONS_MIN] = {"shorter_sessions_min_sessions", 3, 1, 1000},
    [DS_FEATURE_SHARE_PCT] = {"feature_abandoned_share_pct", 50, 1, 100},
    [DS_FEATURE_UNUSED_DAYS] = {"feature_abandoned_days", 7, 7, 28},
    [DS_FRICTION_MIN] = {"friction_min", 5, 1, 100000},
    [DS_FRICTION_FACTOR] = {"friction_factor", 3, 1, 100},
    [DS_TRIAL_DAYS] = {"trial_days", 3, 0, 30},
    [DS_TRIAL_MIN_ACTIVE_DAYS] = {"trial_min_active_days", 3, 1, 30},
    [DS_TRIAL_CORE_PCT] = {"trial_core_pct", 50, 1, 100},
    [DS_DOWNGRADE_DAYS] = {"downgrade_days", 30, 1, 365},
};

/* PRODUCT §7 default weights (payment_failed and subscription_lapsed included, for the
 * Stripe issue). */
static const int default_weight[DETECT_KIND_N] = {
    [DETECT_USAGE_DROP] = 25,        [DETECT_GONE_QUIET] = 30,     [DETECT_SHORTER_SESSIONS] = 15,
    [DETECT_FEATURE_ABANDONED] = 20, [DETECT_CANCEL_INTENT] = 30,  [DETECT_FRICTION_SPIKE] = 15,
    [DETECT_TRIAL_ENDING_INACTIVE] = 25, [DETECT_DOWNGRADE] = 20,  [DETECT_PAYMENT_FAILED] = 45,
    [DETECT_SUBSCRIPTION_LAPSED] = 60,
};

static const char *const default_patterns[] = {
    "page /billing*",           "page */billing*",         "page */cancel*",
    "page */downgrade*",        "page */delete-account*",  "page */account/delete*",
    "page */close-account*",    "page */export*",          "click *cancel subscription*",
    "click *cancel plan*",      "click *cancel my*",       "click *downgrade*",
    "click *delete account*",   "click *delete my account*", "click *close account*",
    "submit *cancel*",          "api * */cancel*",         "api * */subscription/cancel*",
};

static const char *const default_plans[] = {"free", "trial", "basic", "starter", "pro", "team", "business",
                                             "enterprise"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

int detect_glob(const char *pat, size_t pn, const char *s, size_t sn)
{
	size_t p = 0, i = 0;
	size_t star_p = (size_t)-1, star_i = 0;
	while (i < sn) {
		if (p < pn && pat[p] == '*') {
			star_p = p++;
			star_i = i;
		} else if (p < pn && (pat[p] == '?' || tolower((unsigned char)pat[p]) ==
		                                           tolower((unsigned char)s[i]))) {
			p++;
			i++;
		} else if (star_p != (size_t)-1) {
			/* resume after the last star, one byte further into s */
			p = star_p + 1;
			i = ++star_i;
		} else {
			return 0;
		}
	}
	while (p < pn && pat[p] == '*')
		p++;
	return p == pn;
}

int detect_plan_rank(const struct detect_conf *c, const char *plan, size_t n)
{
	if (!plan)
		return -1;
	for (size_t i = 0; i < c->nplan; i++)
		if (strlen(c->plan[i]) == n && strncasecmp(c->plan[i], plan, n) == 0)
			return (int)i;
	return -1;
}

void detect_conf_defaults(struct detect_conf *c)
{
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < DS_N; i++)
		c->v[i] = ints[i].def;
	for (int k = 0; k < DETECT_KIND_N; k++)
		c->weight[k] = default_weight[k];
	for (size_t i = 0; i < COUNT(default_patterns); i++)
		snprintf(c->pattern[i], sizeof(c->pattern[i]), "%s", default_patterns[i]);
	c->npattern = COUNT(default_patterns);
	for (size_t i = 0; i < COUNT(default_plans); i++)
		snprintf(c->plan[i], sizeof(c->plan[i]), "%s", default_plans[i]);
	c->nplan = COUNT(default_plans);
}

/* A pattern or plan name: 1..DETECT_PATTERN_MAX bytes, no control characters. */
static int list_item_ok(const json_t *v)
{
	if (!json_is_string(v))
		return 0;
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	if (n == 0 || n > DETECT_PATTERN_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int list_ok(const json_t *a)
{
	if (!json_is_array(a) || json_array_size(a) > DETECT_PATTERNS_MAX)
		return 0;
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) if (!list_item_ok(v)) return 0;
	return 1;
}

static void list_copy(const json_t *a, char (*dst)[DETECT_PATTERN_MAX + 1], size_t *n)
{
	size_t i;
	json_t *v;
	*n = 0;
	json_array_foreach(a, i, v) snprintf(dst[(*n)++], DETECT_PATTERN_MAX + 1, "%s", json_string_value(v));
}

static int int_index(const char *key)
{
	for (int i = 0; i < DS_N; i++)
		if (strcmp(ints[i].key, key) == 0)
			return i;
	return -1;
}

/* Validates one key/value; on success applies it to c (when c is not NULL). Returns 0,
 * or -1 with msg filled. */
static int apply_one(struct detect_conf *c, const char *key, const json_t *v, char *msg, size_t msglen)
{
	int i = int_index(key);
	if (i >= 0) {
		if (!json_is_integer(v) || json_integer_value(v) < ints[i].min || json_integer_value(v) > ints[i].max) {
			snprintf(msg, msglen, "%s must be a whole number from %lld to %lld", key, (long long)ints[i].min,
			         (long long)ints[i].max);
			return -1;
		}
		if (c)
			c->v[i] = json_integer_value(v);
		return 0;
	}
	if (strcmp(key, "weights") == 0) {
		if (!json_is_object(v)) {
			snprintf(msg, msglen, "weights must be an object of signal ids to numbers");
			return -1;
		}
		const char *k;
		json_t *w;
		json_object_foreach((json_t *)v, k, w)
		{
			enum detect_kind kind;
			if (detect_kind_parse(k, strlen(k), &kind) < 0) {
				snprintf(msg, msglen, "weights: unknown signal %.60s", k);
				return -1;
			}
			if (!json_is_integer(w) || json_integer_value(w) < 0 || json_integer_value(w) > 100) {
				snprintf(msg, msglen, "weights.%s must be a whole number from 0 to 100", k);
				return -1;
			}
			if (c)
				c->weight[kind] = (int)json_integer_value(w);
		}
		return 0;
	}
	if (strcmp(key, "cancel_patterns") == 0 || strcmp(key, "plan_ranks") == 0) {
		if (!list_ok(v)) {
			snprintf(msg, msglen, "%s must be a list of at most %d texts of 1 to %d bytes", key,
			         DETECT_PATTERNS_MAX, DETECT_PATTERN_MAX);
			return -1;
		}
		if (c && key[0] == 'c')
			list_copy(v, c->pattern, &c->npattern);
		else if (c)
			list_copy(v, c->plan, &c->nplan);
		return 0;
	}
	snprintf(msg, msglen, "unknown setting %.60s", key);
	return -1;
}

/* The stored settings object (a new reference; {} when no row), or NULL on error. */
static json_t *stored(struct store_tx *tx)
{
	struct store_rows *r = NULL;
	json_t *o = NULL;
	if (store_query(tx, "SELECT settings FROM detect_settings WHERE workspace_id = $1", STORE_NO_ARGS, &r) < 0)
		return NULL;
	int st = store_step(r);
	if (st == 1) {
		size_t n = 0;
		const char *t = store_col_text(r, 0, &n);
		o = t ? json_loadb(t, n, 0, NULL) : NULL;
		if (!json_is_object(o)) {
			json_decref(o);
			o = json_object(); /* unreadable: defaults */
		}
	} else if (st == 0) {
		o = json_object();
	}
	store_rows_close(r);
	return o;
}

int detect_conf_load(struct store_tx *tx, struct detect_conf *c)
{
	detect_conf_defaults(c);
	json_t *o = stored(tx);
	if (!o)
		return -1;
	const char *k;
	json_t *v;
	char msg[160];
	json_object_foreach(o, k, v)
	{
		struct detect_conf tmp = *c;
		if (apply_one(&tmp, k, v, msg, sizeof(msg)) == 0)
			*c = tmp;
	}
	json_decref(o);
	return 0;
}

static json_t *list_json(char (*v)[DETECT_PATTERN_MAX + 1], size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *detect_settings_get(struct store_tx *tx)
{
	struct detect_conf *c = malloc(sizeof(*c));
	json_t *o = NULL, *w = NULL;
	if (!c || detect_conf_load(tx, c) < 0)
		goto fail;
	o = json_object();
	w = json_object();
	if (!o || !w)
		goto fail;
	for (int i = 0; i < DS_N; i++)
		if (json_object_set_new(o, ints[i].key, json_integer(c->v[i])) < 0)
			goto fail;
	for (int k = 0; k < DETECT_KIND_N; k++)
		if (json_object_set_new(w, detect_kind_id((enum detect_kind)k), json_integer(c->weight[k])) < 0)
			goto fail;
	if (json_object_set_new(o, "weights", w) < 0) {
		w = NULL;
		goto fail;
	}
	w = NULL;
	if (json_object_set_new(o, "cancel_patterns", list_json(c->pattern, c->npattern)) < 0 ||
	    json_object_set_new(o, "plan_ranks", list_json(c->plan, c->nplan)) < 0)
		goto fail;
	free(c);
	return o;
fail:
	free(c);
	json_decref(o);
	json_decref(w);
	return NULL;
}

int detect_settings_set(struct store_tx *tx, const json_t *changes, char *msg, size_t msglen)
{
	if (!json_is_object(changes)) {
		snprintf(msg, msglen, "settings must be an object");
		return 1;
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)changes, k, v) if (apply_one(NULL, k, v, msg, msglen) < 0) return 1;
	json_t *o = stored(tx);
	if (!o)
		return -1;
	int rc = -1;
	char *text = NULL;
	json_object_foreach((json_t *)changes, k, v)
	{
		if (strcmp(k, "weights") == 0) {
			json_t *w = json_object_get(o, "weights");
			if (!json_is_object(w)) {
				w = json_object();
				if (!w || json_object_set_new(o, "weights", w) < 0)
					goto done;
			}
			if (json_object_update(w, v) < 0)
				goto done;
		} else if (json_object_set(o, k, v) < 0) {
			goto done;
		}
	}
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		goto done;
	if (store_exec(tx,
	               "INSERT INTO detect_settings (workspace_id, settings, updated_at) VALUES ($1, $2, $3) "
	               "ON CONFLICT (workspace_id) DO UPDATE SET settings = excluded.settings, "
	               "updated_at = excluded.updated_at",
	               STORE_ARGS(SP_TEXT(text), SP_I64(clock_now_ms()))) < 0)
		goto done;
	rc = 0;
done:
	free(text);
	json_decref(o);
	return rc;
}
