/* The detector passes (detect.h: detect_run_full, detect_run_incremental): users in
 * batches of PASS_BATCH, each batch read in one read transaction (range queries over
 * the (workspace_id, user_id, …) keys), evaluated outside any transaction, and written
 * in one short write transaction (signal transitions, history, user_health). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appmodel/appmodel.h"
#include "core/clock.h"
#include "core/log.h"
#include "detect/detect_int.h"
#include "store/store.h"

#define PASS_BATCH 500
/* PostgreSQL advisory lock key of a workspace's detector writes: base + workspace id
 * (ids < 2^53; the audit log uses 0x41… + id). */
#define DETECT_LOCK_BASE INT64_C(0x4400000000000000)
/* Users changed this close to "now" are looked at again by the next incremental pass
 * (a writer transaction may commit an older changed_ms after we read). */
#define WATERMARK_LAG_MS 2000

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

static void batch_clear(struct batch *b)
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

/* Days since 1970-01-01 of a civil date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DD" (optionally followed by a time) → day number, or -1. */
int64_t detect_parse_date(const char *s, size_t n);
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
	return days_from_civil(v[0], v[1], v[2]);
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
static int grow(void **p, size_t *cap, size_t need, size_t elem)
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

/* Loads settings and the app model's core and cancel features (read tx). */
static int pass_setup(struct pass *p, struct store_tx *tx)
{
	struct appmodel m = {0};
	if (detect_conf_load(tx, &p->conf) < 0 || appmodel_load_core(tx, p->today, &m) < 0)
		return -1;
	int rc = -1;
	size_t nc = appmodel_core_ids(&m, p->core, DETECT_CORE_MAX);
	p->map = calloc(m.n ? m.n : 1, sizeof(p->map[0]));
	if (!p->map)
		goto done;
	for (size_t k = 0; k < nc; k++)
		for (size_t i = 0; i < m.n; i++)
			if (m.f[i].id == p->core[k]) {
				p->core_name[k] = strdup(m.f[i].name ? m.f[i].name : m.f[i].key);
				break;
			}
	for (size_t i = 0; i < m.n; i++) {
		const struct appmodel_feature *f = &m.f[i];
		int64_t eff = appmodel_effective(&m, f->id);
		int is_core = 0, is_cancel = 0;
		for (size_t k = 0; k < nc && eff; k++)
			is_core |= p->core[k] == eff;
		size_t kl = f->key ? strlen(f->key) : 0;
		for (size_t j = 0; j < p->conf.npattern && !is_cancel && kl; j++)
			is_cancel = detect_glob(p->conf.pattern[j], strlen(p->conf.pattern[j]), f->key, kl);
		if (is_cancel && p->ncancel < DETECT_CANCEL_IDS_MAX) {
			p->cancel[p->ncancel] = f->id;
			/* the key itself ("page /billing") says exactly what was visited */
			p->cancel_name[p->ncancel++] = strdup(f->key);
		} else {
			is_cancel = 0;
		}
		if (is_core || is_cancel)
			p->map[p->nmap++] = (struct fmap){f->id, is_core ? eff : 0, is_cancel};
	}
	qsort(p->map, p->nmap, sizeof(p->map[0]), cmp_fmap);
	/* cancel ids sorted with their names */
	for (size_t i = 1; i < p->ncancel; i++)
		for (size_t j = i; j > 0 && p->cancel[j - 1] > p->cancel[j]; j--) {
			int64_t t = p->cancel[j];
			p->cancel[j] = p->cancel[j - 1];
			p->cancel[j - 1] = t;
			char *s = p->cancel_name[j];
			p->cancel_name[j] = p->cancel_name[j - 1];
			p->cancel_name[j - 1] = s;
		}
	p->env.conf = &p->conf;
	p->env.core = p->core;
	p->env.core_name = (const char *const *)p->core_name;
	p->env.ncore = nc;
	p->env.cancel = p->cancel;
	p->env.cancel_name = (const char *const *)p->cancel_name;
	p->env.ncancel = p->ncancel;
	p->env.now_ms = p->now_ms;
	p->env.today = p->today;
	rc = 0;
done:
	appmodel_free(&m);
	return rc;
}

static void pass_free(struct pass *p)
{
	for (size_t i = 0; i < DETECT_CORE_MAX; i++)
		free(p->core_name[i]);
	for (size_t i = 0; i < p->ncancel; i++)
		free(p->cancel_name[i]);
	free(p->map);
}

/* Adds a user row (user_id, first_seen, last_seen, traits) to the batch. */
static int add_user(struct batch *b, struct store_rows *r)
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
static int load_range(struct pass *p, struct batch *b, struct store_tx *tx, const char *lo, const char *hi)
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
		if (!cur || grow((void **)&b->days, &b->dcap, b->nd + 1, sizeof(b->days[0])) < 0)
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
			if (!cur || grow((void **)&b->uses, &b->ucap, b->nu + 2, sizeof(b->uses[0])) < 0)
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

/* Evaluates one user and writes its transitions and health (write tx). */
static int apply_user(struct pass *p, struct store_tx *tx, struct batch *b, struct buser *bu)
{
	struct detect_user u = {
	    .user_id = bu->id,
	    .first_day = bu->first_seen / DETECT_DAY_MS,
	    .last_day = bu->last_seen / DETECT_DAY_MS,
	    .days = bu->nd ? &b->days[bu->d0] : NULL,
	    .nd = bu->nd,
	    .uses = bu->nu ? &b->uses[bu->u0] : NULL,
	    .nuses = bu->nu,
	    .plan = bu->plan,
	    .mrr = bu->mrr,
	    .trial_end_day = bu->trial_end_day,
	    .down_ms = bu->down_ms,
	    .down_from_mrr = bu->down_from_mrr,
	    .down_to_mrr = bu->down_to_mrr,
	    .down_from_plan = bu->down_from_plan,
	    .down_to_plan = bu->down_to_plan,
	};
	struct detect_hit hits[DETECT_KIND_N];
	struct detect_agg a;
	detect_user_agg(&p->env, &u, &a);
	if (detect_evaluate_user(&p->env, &u, hits) < 0)
		return -1;
	int rc = -1, open[DETECT_KIND_N] = {0};
	int64_t first_open = 0;
	char *ev = NULL;
	json_t *parts = NULL;
	int has_detector[DETECT_KIND_N] = {0};
	for (size_t i = 0; i < detect_detector_n; i++)
		has_detector[detect_detectors[i].kind] = 1;
	for (int k = 0; k < DETECT_KIND_N; k++) {
		struct detect_hit *h = &hits[k];
		int64_t sid = bu->live_id[k];
		const char *kid = detect_kind_id((enum detect_kind)k);
		free(ev);
		ev = h->fires ? json_dumps(h->evidence, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		if (h->fires && !ev)
			goto fail;
		const char *text = h->fires ? json_string_value(json_object_get(h->evidence, "text")) : NULL;
		if (!has_detector[k]) { /* Stripe kinds: kept as they are */
			if (bu->live_state[k] == 1) {
				open[k] = 1;
				if (!first_open || bu->live_detected[k] < first_open)
					first_open = bu->live_detected[k];
			}
			continue;
		}
		if (h->fires && bu->live_state[k] == 0) {
			sid = store_random_id();
			/* a concurrent pass may have opened it since we read (write transactions of a
			 * workspace are serialised: SQLite's one writer, the advisory lock on PostgreSQL) */
			if (store_exec(tx,
			               "INSERT INTO signals (workspace_id, id, user_id, kind, state, severity, evidence, "
			               "detected_ms, updated_ms) SELECT $1, $2, $3, $4, 'open', $5, $6, $7, $7 WHERE NOT "
			               "EXISTS (SELECT 1 FROM signals s WHERE s.workspace_id = $1 AND s.user_id = $3 AND "
			               "s.kind = $4 AND (s.state = 'open' OR (s.state = 'dismissed' AND s.cleared_ms IS NULL)))",
			               STORE_ARGS(SP_I64(sid), SP_TEXT(bu->id), SP_TEXT(kid), SP_I64(h->severity),
			                          SP_TEXT(ev), SP_I64(p->now_ms))) < 0)
				goto fail;
			if (store_changes(tx) == 0)
				continue; /* health follows at the next pass */
			if (detect_history_add(tx, sid, p->now_ms, "opened", 0, text) < 0)
				goto fail;
			p->st->opened++;
			open[k] = 1;
			if (!first_open || p->now_ms < first_open)
				first_open = p->now_ms;
		} else if (h->fires && bu->live_state[k] == 1) {
			open[k] = 1;
			if (!first_open || bu->live_detected[k] < first_open)
				first_open = bu->live_detected[k];
			if (strcmp(text ? text : "", bu->live_text[k] ? bu->live_text[k] : "") != 0 ||
			    h->severity != bu->live_sev[k]) {
				if (store_exec(tx,
				               "UPDATE signals SET evidence = $2, severity = $3, updated_ms = $4 WHERE "
				               "workspace_id = $1 AND id = $5 AND state = 'open'",
				               STORE_ARGS(SP_TEXT(ev), SP_I64(h->severity), SP_I64(p->now_ms), SP_I64(sid))) < 0)
					goto fail;
				if (h->severity != bu->live_sev[k] && detect_history_add(tx, sid, p->now_ms, "updated", 0, text) < 0)
					goto fail;
				p->st->updated++;
			}
		} else if (!h->fires && bu->live_state[k] == 1) {
			if (store_exec(tx,
			               "UPDATE signals SET state = 'resolved', resolved_ms = $2, cleared_ms = $2, "
			               "updated_ms = $2 WHERE workspace_id = $1 AND id = $3 AND state = 'open'",
			               STORE_ARGS(SP_I64(p->now_ms), SP_I64(sid))) < 0)
				goto fail;
			if (store_changes(tx) > 0) {
				if (detect_history_add(tx, sid, p->now_ms, "resolved", 0, "the condition cleared") < 0)
					goto fail;
				p->st->resolved++;
			}
		} else if (!h->fires && bu->live_state[k] == 2) {
			if (store_exec(tx,
			               "UPDATE signals SET cleared_ms = $2, updated_ms = $2 WHERE workspace_id = $1 AND "
			               "id = $3 AND state = 'dismissed' AND cleared_ms IS NULL",
			               STORE_ARGS(SP_I64(p->now_ms), SP_I64(sid))) < 0 ||
			    detect_history_add(tx, sid, p->now_ms, "cleared", 0, "the condition cleared") < 0)
				goto fail;
		}
	}
	int e = detect_engagement(&a);
	int health = detect_health(&p->conf, open, e, &parts);
	if (health < 0)
		goto fail;
	char kinds[DETECT_KIND_N * 24 + 2];
	size_t off = 0;
	int nopen = 0;
	kinds[0] = '\0';
	for (int k = 0; k < DETECT_KIND_N; k++)
		if (open[k]) {
			int w = snprintf(kinds + off, sizeof(kinds) - off, "%s%s,", off ? "" : ",",
			                 detect_kind_id((enum detect_kind)k));
			off += w > 0 ? (size_t)w : 0;
			nopen++;
		}
	enum detect_band band = detect_band_of(health);
	int64_t worth = nopen ? (int64_t)(100 - health) * bu->mrr : 0;
	free(ev);
	ev = json_dumps(parts, JSON_COMPACT);
	if (!ev)
		goto fail;
	if (store_exec(tx,
	               "INSERT INTO user_health (workspace_id, user_id, health, band, parts, open_kinds, open_count, "
	               "plan, mrr, worth, first_open_ms, events_7d, baseline_weekly, evaluated_ms) VALUES ($1, $2, "
	               "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (workspace_id, user_id) DO "
	               "UPDATE SET health = excluded.health, band = excluded.band, parts = excluded.parts, "
	               "open_kinds = excluded.open_kinds, open_count = excluded.open_count, plan = excluded.plan, "
	               "mrr = excluded.mrr, worth = excluded.worth, first_open_ms = excluded.first_open_ms, "
	               "events_7d = excluded.events_7d, baseline_weekly = excluded.baseline_weekly, "
	               "evaluated_ms = excluded.evaluated_ms",
	               STORE_ARGS(SP_TEXT(bu->id), SP_I64(health), SP_TEXT(detect_band_id(band)), SP_TEXT(ev),
	                          SP_TEXT(kinds), SP_I64(nopen), SP_TEXT(bu->plan ? bu->plan : ""), SP_I64(bu->mrr),
	                          SP_I64(worth), first_open ? SP_I64(first_open) : SP_NULL, SP_I64(a.recent_events),
	                          SP_I64(a.baseline_weekly), SP_I64(p->now_ms))) < 0)
		goto fail;
	p->st->users++;
	p->users++;
	p->active += a.recent_events > 0;
	p->band[band]++;
	p->open_signals += nopen;
	p->mrr_total += bu->mrr;
	if (nopen && band != DETECT_HEALTHY)
		p->mrr_at_risk += bu->mrr;
	rc = 0;
fail:
	free(ev);
	json_decref(parts);
	for (int k = 0; k < DETECT_KIND_N; k++)
		json_decref(hits[k].evidence);
	return rc;
}

/* Writes one batch in one write transaction. */
static int write_batch(struct pass *p, struct batch *b, char *err, size_t errlen)
{
	struct store_tx *tx = NULL;
	if (store_begin_ws(p->c, p->ws, STORE_WRITE, &tx) < 0)
		goto fail;
	if (store_tx_backend(tx) == STORE_POSTGRES &&
	    store_exec(tx, "SELECT pg_advisory_xact_lock($2 + $1)", STORE_ARGS(SP_I64(DETECT_LOCK_BASE))) < 0)
		goto fail;
	for (size_t i = 0; i < b->n; i++)
		if (apply_user(p, tx, b, &b->u[i]) < 0)
			goto fail;
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "detect: writing results: %s", store_errmsg(p->c));
	store_rollback(tx);
	return -1;
}

/* Reads detect_state and the learning start (read tx). first_seen_min: the smallest
 * first_seen of the users this pass looks at (0 = none). */
static int pass_state(struct pass *p, struct store_tx *tx, int64_t *started, int64_t *watermark)
{
	struct store_rows *r = NULL;
	*started = *watermark = 0;
	if (store_query(tx, "SELECT started_ms, watermark_ms FROM detect_state WHERE workspace_id = $1", STORE_NO_ARGS,
	                &r) < 0)
		return -1;
	int st = store_step(r);
	if (st == 1) {
		*started = store_col_i64(r, 0);
		*watermark = store_col_i64(r, 1);
	}
	store_rows_close(r);
	(void)p;
	return st < 0 ? -1 : 0;
}

static void pass_unlock(struct pass *p, int64_t started)
{
	p->env.unlocked = started > 0 && p->now_ms - started >= DETECT_LEARNING_DAYS * DETECT_DAY_MS;
}

static int save_state(struct pass *p, int full, int64_t started, int64_t watermark)
{
	struct store_tx *tx = NULL;
	if (store_begin_ws(p->c, p->ws, STORE_WRITE, &tx) < 0)
		return -1;
	const char *sql = full ? "INSERT INTO detect_state (workspace_id, started_ms, watermark_ms, last_full_ms) "
	                         "VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id) DO UPDATE SET "
	                         "started_ms = excluded.started_ms, watermark_ms = excluded.watermark_ms, "
	                         "last_full_ms = excluded.last_full_ms"
	                       : "INSERT INTO detect_state (workspace_id, started_ms, watermark_ms, last_incremental_ms) "
	                         "VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id) DO UPDATE SET "
	                         "started_ms = excluded.started_ms, watermark_ms = excluded.watermark_ms, "
	                         "last_incremental_ms = excluded.last_incremental_ms";
	if (store_exec(tx, sql, STORE_ARGS(SP_I64(started), SP_I64(watermark), SP_I64(p->now_ms))) < 0)
		goto fail;
	if (full &&
	    store_exec(tx,
	               "INSERT INTO workspace_daily (workspace_id, day, users, active_users, healthy, watch, at_risk, "
	               "open_signals, mrr_total, mrr_at_risk) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
	               "ON CONFLICT (workspace_id, day) DO UPDATE SET users = excluded.users, "
	               "active_users = excluded.active_users, healthy = excluded.healthy, watch = excluded.watch, "
	               "at_risk = excluded.at_risk, open_signals = excluded.open_signals, "
	               "mrr_total = excluded.mrr_total, mrr_at_risk = excluded.mrr_at_risk",
	               STORE_ARGS(SP_I64(p->today), SP_I64(p->users), SP_I64(p->active), SP_I64(p->band[0]),
	                          SP_I64(p->band[1]), SP_I64(p->band[2]), SP_I64(p->open_signals),
	                          SP_I64(p->mrr_total), SP_I64(p->mrr_at_risk))) < 0)
		goto fail;
	return store_commit(tx);
fail:
	store_rollback(tx);
	return -1;
}

static int min_pos(int64_t a, int64_t b)
{
	return a > 0 && (b <= 0 || a < b);
}

/* The watermark after a pass that saw changed_ms up to max_seen. */
static int64_t next_watermark(const struct pass *p, int64_t old, int64_t max_seen)
{
	int64_t w = max_seen < p->now_ms - WATERMARK_LAG_MS ? max_seen : p->now_ms - WATERMARK_LAG_MS;
	return w > old ? w : old;
}

static int pass_init(struct pass *p, struct store_conn *c, int64_t ws, struct detect_stats *st)
{
	memset(p, 0, sizeof(*p));
	memset(st, 0, sizeof(*st));
	p->c = c;
	p->ws = ws;
	p->st = st;
	p->now_ms = clock_now_ms();
	p->today = p->now_ms / DETECT_DAY_MS;
	return 0;
}

int detect_run_full(struct store_conn *c, int64_t ws, struct detect_stats *st, char *err, size_t errlen)
{
	struct pass p;
	struct batch b = {0};
	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	char *last = strdup("");
	int rc = -1;
	int64_t started = 0, watermark = 0, fs_min = 0, max_changed = 0;
	(void)pass_init(&p, c, ws, st);
	b.u = calloc(PASS_BATCH, sizeof(b.u[0]));
	if (!b.u || !last) {
		snprintf(err, errlen, "detect: out of memory");
		goto done;
	}
	if (store_begin_ws(c, ws, STORE_READ, &tx) < 0 || pass_setup(&p, tx) < 0 ||
	    pass_state(&p, tx, &started, &watermark) < 0 ||
	    store_query_i64(tx, "SELECT min(first_seen) FROM tracked_users WHERE workspace_id = $1", STORE_NO_ARGS,
	                    &fs_min) < 0)
		goto store_fail;
	store_rollback(tx);
	tx = NULL;
	if (min_pos(fs_min, started))
		started = fs_min;
	pass_unlock(&p, started);
	for (;;) {
		char *lo = NULL;
		if (store_begin_ws(c, ws, STORE_READ, &tx) < 0 ||
		    store_query(tx,
		                "SELECT user_id, first_seen, last_seen, traits, changed_ms FROM tracked_users WHERE "
		                "workspace_id = $1 AND user_id > $2 ORDER BY user_id LIMIT 500",
		                STORE_ARGS(SP_TEXT(last)), &r) < 0)
			goto store_fail;
		int s = 0;
		while (b.n < PASS_BATCH && (s = store_step(r)) == 1) {
			if (add_user(&b, r) < 0)
				goto store_fail;
			if (store_col_i64(r, 4) > max_changed)
				max_changed = store_col_i64(r, 4);
			if (!lo)
				lo = strdup(b.u[0].id);
			free(last);
			last = strdup(b.u[b.n - 1].id);
			if (!lo || !last)
				goto store_fail;
		}
		store_rows_close(r);
		r = NULL;
		if (s < 0) {
			free(lo);
			goto store_fail;
		}
		if (b.n == 0) {
			store_rollback(tx);
			tx = NULL;
			free(lo);
			break;
		}
		qsort(b.u, b.n, sizeof(b.u[0]), cmp_buser);
		int lr = load_range(&p, &b, tx, lo, last);
		free(lo);
		if (lr < 0)
			goto store_fail;
		store_rollback(tx);
		tx = NULL;
		size_t got = b.n;
		if (write_batch(&p, &b, err, errlen) < 0)
			goto done;
		batch_clear(&b);
		if (got < PASS_BATCH)
			break;
	}
	if (save_state(&p, 1, started, next_watermark(&p, watermark, max_changed)) < 0)
		goto store_fail;
	rc = 0;
	goto done;
store_fail:
	snprintf(err, errlen, "detect: %s", store_errmsg(c));
done:
	store_rows_close(r);
	store_rollback(tx);
	batch_clear(&b);
	free(b.u);
	free(b.days);
	free(b.uses);
	free(last);
	pass_free(&p);
	return rc;
}

int detect_run_incremental(struct store_conn *c, int64_t ws, struct detect_stats *st, char *err, size_t errlen)
{
	struct pass p;
	struct batch b = {0};
	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	char **ids = NULL;
	size_t nids = 0, cap = 0;
	int rc = -1;
	int64_t started = 0, watermark = 0, max_changed = 0;
	(void)pass_init(&p, c, ws, st);
	b.u = calloc(PASS_BATCH, sizeof(b.u[0]));
	if (!b.u) {
		snprintf(err, errlen, "detect: out of memory");
		goto done;
	}
	if (store_begin_ws(c, ws, STORE_READ, &tx) < 0 || pass_state(&p, tx, &started, &watermark) < 0 ||
	    store_query(tx,
	                "SELECT user_id, first_seen, changed_ms FROM tracked_users WHERE workspace_id = $1 AND "
	                "changed_ms > $2",
	                STORE_ARGS(SP_I64(watermark)), &r) < 0)
		goto store_fail;
	int s;
	while ((s = store_step(r)) == 1) {
		size_t idn = 0;
		const char *id = store_col_text(r, 0, &idn);
		if (grow((void **)&ids, &cap, nids + 1, sizeof(ids[0])) < 0 || !(ids[nids] = strndup(id ? id : "", idn)))
			goto store_fail;
		nids++;
		if (min_pos(store_col_i64(r, 1), started))
			started = store_col_i64(r, 1);
		if (store_col_i64(r, 2) > max_changed)
			max_changed = store_col_i64(r, 2);
	}
	store_rows_close(r);
	r = NULL;
	if (s < 0)
		goto store_fail;
	if (nids == 0) { /* nothing changed: no setup, no writes */
		rc = 0;
		goto done;
	}
	if (pass_setup(&p, tx) < 0)
		goto store_fail;
	store_rollback(tx);
	tx = NULL;
	pass_unlock(&p, started);
	for (size_t i = 0; i < nids; i += PASS_BATCH) {
		size_t end = i + PASS_BATCH < nids ? i + PASS_BATCH : nids;
		if (store_begin_ws(c, ws, STORE_READ, &tx) < 0)
			goto store_fail;
		for (size_t j = i; j < end; j++) {
			if (store_query(tx,
			                "SELECT user_id, first_seen, last_seen, traits FROM tracked_users WHERE "
			                "workspace_id = $1 AND user_id = $2",
			                STORE_ARGS(SP_TEXT(ids[j])), &r) < 0)
				goto store_fail;
			s = store_step(r);
			if (s < 0 || (s == 1 && add_user(&b, r) < 0))
				goto store_fail;
			store_rows_close(r);
			r = NULL;
		}
		qsort(b.u, b.n, sizeof(b.u[0]), cmp_buser);
		for (size_t j = 0; j < b.n; j++)
			if (load_range(&p, &b, tx, b.u[j].id, b.u[j].id) < 0)
				goto store_fail;
		store_rollback(tx);
		tx = NULL;
		if (write_batch(&p, &b, err, errlen) < 0)
			goto done;
		batch_clear(&b);
	}
	if (save_state(&p, 0, started, next_watermark(&p, watermark, max_changed)) < 0)
		goto store_fail;
	rc = 0;
	goto done;
store_fail:
	snprintf(err, errlen, "detect: %s", store_errmsg(c));
done:
	store_rows_close(r);
	store_rollback(tx);
	batch_clear(&b);
	free(b.u);
	free(b.days);
	free(b.uses);
	for (size_t i = 0; i < nids; i++)
		free(ids[i]);
	free(ids);
	pass_free(&p);
	return rc;
}
