/* Reading for the detector passes (detect_pass.c): settings and the app model's core
 * and cancel features for the whole pass, then per batch of users the aggregates (range
 * queries over the (workspace_id, user_id, …) keys in one read transaction), trait
 * history (for downgrade) and the live signals. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "appmodel/appmodel.h"
#include "core/clock.h"
#include "detect/detect_int.h"
#include "store/store.h"

void detect_batch_clear(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		struct buser *u = &b->u[i];
		free(u->id);
		free(u->plan);
		free(u->down_from_plan);
		free(u->down_to_plan);
		free(u->h_plan);
		for (int k = 0; k < DETECT_KIND_N; k++)
			free(u->live_text[k]);
	}
	memset(b->u, 0, sizeof(b->u[0]) * PASS_BATCH);
	b->n = b->nd = b->nu = 0;
}

static int cmp_buser(const void *a, const void *b)
{
	return strcmp(((const struct buser *)a)->id, ((const struct buser *)b)->id);
}

static struct buser *find_user(struct batch *b, const char *id)
{
	size_t lo = 0, hi = b->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(b->u[mid].id, id);
		if (c == 0)
			return &b->u[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* "YYYY-MM-DD" (optionally followed by a time) → day number, or -1. */
int64_t detect_parse_date(const char *s, size_t n)
{
	if (!s || n < 10 || s[4] != '-' || s[7] != '-')
		return -1;
	int64_t v[3] = {0, 0, 0};
	const int pos[3][2] = {{0, 4}, {5, 2}, {8, 2}};
	for (int f = 0; f < 3; f++)
		for (int i = 0; i < pos[f][1]; i++) {
			char ch = s[pos[f][0] + i];
			if (!isdigit((unsigned char)ch))
				return -1;
			v[f] = v[f] * 10 + (ch - '0');
		}
	if (n > 10 && s[10] != 'T' && s[10] != ' ')
		return -1;
	if (v[0] < 1970 || v[0] > 9999 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31)
		return -1;
	return clock_days_from_civil(v[0], v[1], v[2]);
}

/* MRR trait: a whole number, a numeric string or a real (rounded down); -1 when absent or
 * not a number. */
static int64_t trait_mrr(const json_t *t)
{
	const json_t *v = json_object_get(t, "mrr");
	if (json_is_integer(v))
		return json_integer_value(v) < 0 ? -1 : json_integer_value(v);
	if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 9e15)
		return (int64_t)json_real_value(v);
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end = NULL;
		double d = strtod(s, &end);
		if (end != s && *end == '\0' && d >= 0 && d < 9e15)
			return (int64_t)d;
	}
	return -1;
}

static char *trait_str(const json_t *t, const char *key)
{
	const json_t *v = json_object_get(t, key);
	return json_is_string(v) ? strndup(json_string_value(v), 100) : NULL;
}

/* Grows an array of elem-sized items to hold need items. */
int detect_grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 1024;
	while (nc < need)
		nc *= 2;
	void *q = realloc(*p, nc * elem);
	if (!q)
		return -1;
	*p = q;
	*cap = nc;
	return 0;
}

static const struct fmap *map_find(const struct pass *p, int64_t raw)
{
	size_t lo = 0, hi = p->nmap;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->map[mid].raw == raw)
			return &p->map[mid];
		if (p->map[mid].raw < raw)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int cmp_fmap(const void *a, const void *b)
{
	int64_t x = ((const struct fmap *)a)->raw, y = ((const struct fmap *)b)->raw;
	return x < y ? -1 : x > y;
}

/* Appends (raw, core, cancel) to p->map. */
static int map_add(struct pass *p, size_t *cap, int64_t raw, int64_t core, int cancel)
{
	if (detect_grow((void **)&p->map, cap, p->nmap + 1, sizeof(p->map[0])) < 0)
		return -1;
	p->map[p->nmap++] = (struct fmap){raw, core, cancel};
	return 0;
}

/* The core set from the app model (the 30-day usage scan), and its cache text. */
static int core_from_model(struct pass *p, struct store_tx *tx, size_t *cap, size_t *nc)
{
	struct appmodel m = {0};
	json_t *core = json_array(), *map = json_array();
	int rc = -1;
	if (!core || !map || appmodel_load_core(tx, p->today, &m) < 0)
		goto done;
	*nc = appmodel_core_ids(&m, p->core, DETECT_CORE_MAX);
	for (size_t k = 0; k < *nc; k++) {
		const struct appmodel_feature *f = appmodel_find(&m, p->core[k]);
		const char *name = f ? (f->name ? f->name : f->key) : "a core feature";
		if (!(p->core_name[k] = strdup(name)) ||
		    json_array_append_new(core, json_pack("[I, s]", (json_int_t)p->core[k], name)) < 0)
			goto done;
	}
	for (size_t i = 0; i < m.n; i++) {
		int64_t eff = appmodel_effective(&m, m.f[i].id);
		int is_core = 0;
		for (size_t k = 0; k < *nc && eff; k++)
			is_core |= p->core[k] == eff;
		if (is_core && (map_add(p, cap, m.f[i].id, eff, 0) < 0 ||
		                json_array_append_new(map, json_pack("[I, I]", (json_int_t)m.f[i].id, (json_int_t)eff)) < 0))
			goto done;
	}
	json_t *cache = json_pack("{s:I, s:I, s:O, s:O}", "day", (json_int_t)p->today, "at", (json_int_t)p->now_ms,
	                          "core", core, "map", map);
	p->core_json = cache ? json_dumps(cache, JSON_COMPACT) : NULL;
	json_decref(cache);
	rc = p->core_json ? 0 : -1;
done:
	json_decref(core);
	json_decref(map);
	appmodel_free(&m);
	return rc;
}

/* The core set from detect_state.core when it was made today and the founder has not
 * edited the app model since. Returns 1 (used), 0 (no usable copy) or -1. */
static int core_from_cache(struct pass *p, struct store_tx *tx, size_t *cap, size_t *nc)
{
	struct store_rows *r = NULL;
	json_t *c = NULL;
	int64_t edited = 0;
	if (store_query_i64(tx, "SELECT coalesce(max(updated_at), 0) FROM app_features WHERE workspace_id = $1",
	                    STORE_NO_ARGS, &edited) < 0 ||
	    store_query(tx, "SELECT core FROM detect_state WHERE workspace_id = $1", STORE_NO_ARGS, &r) < 0)
		return -1;
	int st = store_step(r);
	if (st == 1) {
		size_t n = 0;
		const char *t = store_col_text(r, 0, &n);
		c = t && n ? json_loadb(t, n, 0, NULL) : NULL;
	}
	store_rows_close(r);
	if (st < 0)
		return -1;
	int rc = 0;
	json_t *core = json_object_get(c, "core"), *map = json_object_get(c, "map");
	if (json_integer_value(json_object_get(c, "day")) != p->today ||
	    edited >= json_integer_value(json_object_get(c, "at")) || !json_is_array(core) || !json_is_array(map) ||
	    json_array_size(core) > DETECT_CORE_MAX)
		goto done;
	size_t i;
	json_t *v;
	json_array_foreach(core, i, v)
	{
		const char *name = json_string_value(json_array_get(v, 1));
		p->core[i] = json_integer_value(json_array_get(v, 0));
		if (!(p->core_name[i] = strdup(name ? name : "a core feature"))) {
			rc = -1;
			goto done;
		}
	}
	*nc = json_array_size(core);
	json_array_foreach(map, i, v)
	{
		if (map_add(p, cap, json_integer_value(json_array_get(v, 0)), json_integer_value(json_array_get(v, 1)),
		            0) < 0) {
			rc = -1;
			goto done;
		}
	}
	rc = 1;
done:
	json_decref(c);
	return rc;
}

/* Features whose key matches a cancel pattern (raw ids; every key, hidden ones too). */
static int cancel_features(struct pass *p, struct store_tx *tx, size_t *cap)
{
	struct store_rows *r = NULL;
	if (store_query(tx, "SELECT id, key FROM feature_keys WHERE workspace_id = $1 ORDER BY id", STORE_NO_ARGS,
	                &r) < 0)
		return -1;
	int st;
	while ((st = store_step(r)) == 1 && p->ncancel < DETECT_CANCEL_IDS_MAX) {
		size_t kl = 0;
		const char *key = store_col_text(r, 1, &kl);
		int hit = 0;
		for (size_t j = 0; j < p->conf.npattern && !hit && key; j++)
			hit = detect_glob(p->conf.pattern[j], strlen(p->conf.pattern[j]), key, kl);
		if (!hit)
			continue;
		int64_t id = store_col_i64(r, 0);
		/* the key itself ("page /billing") says exactly what was visited */
		if (!(p->cancel_name[p->ncancel] = strndup(key, kl)) || map_add(p, cap, id, 0, 1) < 0) {
			store_rows_close(r);
			return -1;
		}
		p->cancel[p->ncancel++] = id; /* ascending: ORDER BY id */
	}
	store_rows_close(r);
	return st < 0 ? -1 : 0;
}

int detect_pass_setup(struct pass *p, struct store_tx *tx, int use_cache)
{
	size_t cap = 0, nc = 0;
	int got = 0;
	if (detect_conf_load(tx, &p->conf) < 0 || (use_cache && (got = core_from_cache(p, tx, &cap, &nc)) < 0) ||
	    (!got && core_from_model(p, tx, &cap, &nc) < 0) || cancel_features(p, tx, &cap) < 0)
		return -1;
	/* sort by raw id and fold a feature that is both core and a cancel page into one entry */
	if (p->nmap > 1)
		qsort(p->map, p->nmap, sizeof(p->map[0]), cmp_fmap);
	size_t w = 0;
	for (size_t i = 0; i < p->nmap; i++) {
		if (w > 0 && p->map[w - 1].raw == p->map[i].raw) {
			if (p->map[i].core)
				p->map[w - 1].core = p->map[i].core;
			p->map[w - 1].cancel |= p->map[i].cancel;
		} else {
			p->map[w++] = p->map[i];
		}
	}
	p->nmap = w;
	p->env.conf = &p->conf;
	p->env.core = p->core;
	p->env.core_name = (const char *const *)p->core_name;
	p->env.ncore = nc;
	p->env.cancel = p->cancel;
	p->env.cancel_name = (const char *const *)p->cancel_name;
	p->env.ncancel = p->ncancel;
	p->env.now_ms = p->now_ms;
	p->env.today = p->today;
	return 0;
}

void detect_pass_free(struct pass *p)
{
	free(p->core_json);
	for (size_t i = 0; i < DETECT_CORE_MAX; i++)
		free(p->core_name[i]);
	for (size_t i = 0; i < p->ncancel; i++)
		free(p->cancel_name[i]);
	free(p->map);
}

/* Adds a user row (user_id, first_seen, last_seen, traits) to the batch. */
int detect_batch_add_user(struct batch *b, struct store_rows *r)
{
	struct buser *u = &b->u[b->n];
	size_t n = 0;
	const char *id = store_col_text(r, 0, &n);
	u->id = strndup(id ? id : "", n);
	if (!u->id)
		return -1;
	b->n++;
	u->first_seen = store_col_i64(r, 1);
	u->last_seen = store_col_i64(r, 2);
	u->trial_end_day = -1;
	u->mrr = 0;
	const char *t = store_col_text(r, 3, &n);
	json_t *tr = t ? json_loadb(t, n, 0, NULL) : NULL;
	if (json_is_object(tr)) {
		int64_t m = trait_mrr(tr);
		u->mrr = m > 0 ? m : 0;
		u->plan = trait_str(tr, "plan");
		const json_t *te = json_object_get(tr, "trial_ends");
		if (json_is_string(te))
			u->trial_end_day = detect_parse_date(json_string_value(te), json_string_length(te));
	}
	json_decref(tr);
	return 0;
}

/* Reads the aggregates of batch users with ids in [lo, hi] (read tx). */
int detect_batch_load(struct pass *p, struct batch *b, struct store_tx *tx, const char *lo, const char *hi)
{
	struct store_rows *r = NULL;
	int64_t from = p->today - DETECT_WINDOW_DAYS, rfrom = p->today - (DETECT_RECENT_DAYS - 1);
	struct buser *cur = NULL;
	const char *curid = NULL;
	int st;
#define USER_OF(col)                                                                                        \
	do {                                                                                                \
		size_t n_ = 0;                                                                              \
		const char *id_ = store_col_text(r, col, &n_);                                              \
		if (!curid || !cur || strcmp(cur->id, id_ ? id_ : "") != 0)                                 \
			cur = find_user(b, id_ ? id_ : "");                                                 \
		curid = cur ? cur->id : NULL;                                                               \
	} while (0)

	if (store_query(tx,
	                "SELECT user_id, day, events, sessions, session_seconds, api_errors, rage_clicks FROM "
	                "user_daily WHERE workspace_id = $1 AND user_id >= $2 AND user_id <= $3 AND day >= $4 "
	                "ORDER BY user_id, day",
	                STORE_ARGS(SP_TEXT(lo), SP_TEXT(hi), SP_I64(from)), &r) < 0)
		return -1;
	while ((st = store_step(r)) == 1) {
		USER_OF(0);
		if (!cur || detect_grow((void **)&b->days, &b->dcap, b->nd + 1, sizeof(b->days[0])) < 0)
			continue;
		if (cur->nd == 0)
			cur->d0 = b->nd;
		b->days[b->nd++] = (struct detect_day){store_col_i64(r, 1), store_col_i64(r, 2), store_col_i64(r, 3),
		                                       store_col_i64(r, 4), store_col_i64(r, 5), store_col_i64(r, 6)};
		cur->nd++;
	}
	store_rows_close(r);
	if (st < 0)
		return -1;
	cur = NULL;
	curid = NULL;
	if (p->nmap > 0) {
		if (store_query(tx,
		                "SELECT user_id, day, feature_id FROM user_daily_features WHERE workspace_id = $1 AND "
		                "user_id >= $2 AND user_id <= $3 AND day >= $4 ORDER BY user_id, day",
		                STORE_ARGS(SP_TEXT(lo), SP_TEXT(hi), SP_I64(from)), &r) < 0)
			return -1;
		while ((st = store_step(r)) == 1) {
			const struct fmap *f = map_find(p, store_col_i64(r, 2));
			if (!f)
				continue;
			int64_t day = store_col_i64(r, 1);
			USER_OF(0);
			if (!cur || detect_grow((void **)&b->uses, &b->ucap, b->nu + 2, sizeof(b->uses[0])) < 0)
				continue;
			if (cur->nu == 0)
				cur->u0 = b->nu;
			if (f->core) {
				b->uses[b->nu++] = (struct detect_use){day, f->core};
				cur->nu++;
			}
			if (f->cancel && day >= rfrom && f->raw != f->core) {
				b->uses[b->nu++] = (struct detect_use){day, f->raw};
				cur->nu++;
			}
		}
		store_rows_close(r);
		if (st < 0)
			return -1;
	}
	cur = NULL;
	curid = NULL;
	if (store_query(tx,
	                "SELECT user_id, at_ms, traits FROM tracked_user_traits WHERE workspace_id = $1 AND "
	                "user_id >= $2 AND user_id <= $3 ORDER BY user_id, at_ms",
	                STORE_ARGS(SP_TEXT(lo), SP_TEXT(hi)), &r) < 0)
		return -1;
	while ((st = store_step(r)) == 1) {
		USER_OF(0);
		if (!cur)
			continue;
		size_t n = 0;
		const char *t = store_col_text(r, 2, &n);
		json_t *tr = t ? json_loadb(t, n, 0, NULL) : NULL;
		if (!json_is_object(tr)) {
			json_decref(tr);
			continue;
		}
		int64_t m = trait_mrr(tr);
		char *plan = trait_str(tr, "plan");
		json_decref(tr);
		int down = 0, up = 0;
		if (m >= 0 && cur->h_has_mrr && m != cur->h_mrr) {
			down |= m < cur->h_mrr;
			up |= m > cur->h_mrr;
		}
		if (plan && cur->h_plan && strcasecmp(plan, cur->h_plan) != 0) {
			int a = detect_plan_rank(&p->conf, cur->h_plan, strlen(cur->h_plan));
			int z = detect_plan_rank(&p->conf, plan, strlen(plan));
			down |= a >= 0 && z >= 0 && z < a;
			up |= a >= 0 && z >= 0 && z > a;
		}
		if (down && !up) {
			cur->down_ms = store_col_i64(r, 1);
			cur->down_from_mrr = cur->h_has_mrr ? cur->h_mrr : 0;
			cur->down_to_mrr = m >= 0 ? m : cur->down_from_mrr;
			free(cur->down_from_plan);
			free(cur->down_to_plan);
			cur->down_from_plan = cur->h_plan ? strdup(cur->h_plan) : NULL;
			cur->down_to_plan = plan ? strdup(plan) : (cur->h_plan ? strdup(cur->h_plan) : NULL);
		} else if (up) {
			cur->down_ms = 0;
		}
		if (m >= 0) {
			cur->h_mrr = m;
			cur->h_has_mrr = 1;
		}
		if (plan) {
			free(cur->h_plan);
			cur->h_plan = plan;
		}
	}
	store_rows_close(r);
	if (st < 0)
		return -1;
	cur = NULL;
	curid = NULL;
	if (store_query(tx,
	                "SELECT user_id, id, kind, state, severity, evidence, detected_ms FROM signals WHERE "
	                "workspace_id = $1 AND user_id >= $2 AND user_id <= $3 AND (state = 'open' OR "
	                "(state = 'dismissed' AND cleared_ms IS NULL))",
	                STORE_ARGS(SP_TEXT(lo), SP_TEXT(hi)), &r) < 0)
		return -1;
	while ((st = store_step(r)) == 1) {
		USER_OF(0);
		size_t kn = 0, en = 0, sn = 0;
		const char *kind = store_col_text(r, 2, &kn);
		const char *state = store_col_text(r, 3, &sn);
		enum detect_kind k;
		if (!cur || detect_kind_parse(kind, kn, &k) < 0)
			continue;
		cur->live_id[k] = store_col_i64(r, 1);
		cur->live_state[k] = state && strcmp(state, "open") == 0 ? 1 : 2;
		cur->live_sev[k] = (int)store_col_i64(r, 4);
		cur->live_detected[k] = store_col_i64(r, 6);
		const char *ev = store_col_text(r, 5, &en);
		json_t *e = ev ? json_loadb(ev, en, 0, NULL) : NULL;
		const char *txt = json_string_value(json_object_get(e, "text"));
		free(cur->live_text[k]);
		cur->live_text[k] = strdup(txt ? txt : "");
		json_decref(e);
	}
	store_rows_close(r);
#undef USER_OF
	return st < 0 ? -1 : 0;
}

void detect_batch_sort(struct batch *b)
{
	qsort(b->u, b->n, sizeof(b->u[0]), cmp_buser);
}
