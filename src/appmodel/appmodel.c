/* The app model: loading (feature keys + founder overrides + 30-day usage), merges,
 * the core set, founder edits and the naming-provider run. Names: appmodel_rules.c.
 *
 * Automatic core set (used while the founder has marked no feature core explicitly):
 *   window     the 30 days today-29 … today (user_daily day numbers).
 *   score      per effective feature (a feature plus those merged into it, hidden ones
 *              left out): the sum of its members' user-days (days_30d: one per user per
 *              day the feature was used).
 *   total      the workspace's active user-days in the window (rows of user_daily).
 *   core       the effective features with score ≥ 20% of total, best score first (ties:
 *              the older feature, i.e. the lower id), at most APPMODEL_AUTO_CORE_MAX; when none
 *              reaches 20% but any feature was used, the single best one. Never a hidden
 *              feature, never one the founder marked "not core". Any page counts, "/"
 *              included.
 * The usage figures come from appmodel_stats.c (cached for a few minutes on big
 * workspaces). */
#include <stdlib.h>
#include <string.h>

#include "appmodel/appmodel.h"
#include "appmodel/appmodel_int.h"
#include "core/clock.h"
#include "core/utf8.h"
#include "store/store.h"

#define APPMODEL_AUTO_CORE_MAX 5
#define APPMODEL_AUTO_CORE_PERCENT 20
#define APPMODEL_MERGE_DEPTH_MAX 10000 /* links followed when checking for a merge cycle */
#define APPMODEL_NAMER_BATCH 64        /* keys per provider call */

static char *dupn(const char *p, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		return NULL;
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

void appmodel_free(struct appmodel *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->f[i].key);
		free(m->f[i].name);
	}
	free(m->f);
	m->f = NULL;
	m->n = 0;
}

const struct appmodel_feature *appmodel_find(const struct appmodel *m, int64_t id)
{
	size_t lo = 0, hi = m ? m->n : 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->f[mid].id == id)
			return &m->f[mid];
		if (m->f[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int64_t appmodel_effective(const struct appmodel *m, int64_t feature_id)
{
	const struct appmodel_feature *f = appmodel_find(m, feature_id);
	if (!f)
		return feature_id; /* a key newer than the model counts as itself */
	for (size_t steps = 0; steps <= m->n; steps++) {
		if (f->hidden)
			return 0;
		if (!f->merged_into)
			return f->id;
		const struct appmodel_feature *t = appmodel_find(m, f->merged_into);
		if (!t)
			return f->id;
		f = t;
	}
	return feature_id; /* a cycle (refused on write): the feature counts as itself */
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

size_t appmodel_core_ids(const struct appmodel *m, int64_t *ids, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; m && i < m->n && k < cap; i++) {
		if (!m->f[i].core)
			continue;
		int64_t e = appmodel_effective(m, m->f[i].id);
		if (e)
			ids[k++] = e;
	}
	qsort(ids, k, sizeof(*ids), cmp_i64);
	size_t w = 0;
	for (size_t i = 0; i < k; i++)
		if (w == 0 || ids[w - 1] != ids[i])
			ids[w++] = ids[i];
	return w;
}

struct cand {
	size_t idx;
	int64_t score;
};

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Marks the automatic core set (see the top of this file). explicit_no[i]: the founder
 * said "not core" for f[i]. Returns 0 or -1 (memory). */
static int auto_core(struct appmodel *m, const int *explicit_no, int64_t total)
{
	if (m->n == 0)
		return 0;
	struct cand *c = calloc(m->n, sizeof(*c));
	if (!c)
		return -1;
	for (size_t i = 0; i < m->n; i++)
		c[i].idx = i;
	for (size_t i = 0; i < m->n; i++) {
		int64_t e = appmodel_effective(m, m->f[i].id);
		const struct appmodel_feature *r = e ? appmodel_find(m, e) : NULL;
		if (!r)
			continue;
		size_t ri = (size_t)(r - m->f);
		c[ri].score += m->f[i].days_30d;
	}
	size_t k = 0;
	for (size_t i = 0; i < m->n; i++)
		if (c[i].score > 0 && !explicit_no[i] && appmodel_effective(m, m->f[i].id) == m->f[i].id)
			c[k++] = c[i];
	qsort(c, k, sizeof(*c), cmp_cand);
	size_t taken = 0;
	for (size_t i = 0; i < k && taken < APPMODEL_AUTO_CORE_MAX; i++) {
		if (c[i].score * 100 < total * APPMODEL_AUTO_CORE_PERCENT)
			break;
		m->f[c[i].idx].core = 1;
		taken++;
	}
	if (taken == 0 && k > 0)
		m->f[c[0].idx].core = 1;
	free(c);
	return 0;
}

static int load(struct store_tx *tx, int64_t today, int with_users, struct appmodel *out)
{
	memset(out, 0, sizeof(*out));
	struct store_rows *r = NULL;
	int *explicit_no = NULL;
	struct appmodel_stats stats = {0};
	size_t cap = 0;
	struct buf b;
	buf_init(&b, 0);
	if (store_query(tx,
	                "SELECT k.id, k.key, a.name, a.provider_name, a.merged_into, a.hidden, a.core "
	                "FROM feature_keys k LEFT JOIN app_features a ON a.workspace_id = $1 AND "
	                "a.feature_id = k.id WHERE k.workspace_id = $1 ORDER BY k.id",
	                STORE_NO_ARGS, &r) < 0)
		goto fail;
	int st;
	while ((st = store_step(r)) == 1) {
		if (out->n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct appmodel_feature *nf = realloc(out->f, nc * sizeof(*nf));
			if (!nf)
				goto fail;
			out->f = nf;
			cap = nc;
		}
		struct appmodel_feature *f = &out->f[out->n];
		memset(f, 0, sizeof(*f));
		size_t kn = 0, nn = 0, pn = 0;
		const char *key = store_col_text(r, 1, &kn);
		const char *name = store_col_text(r, 2, &nn);
		const char *prov = store_col_text(r, 3, &pn);
		f->id = store_col_i64(r, 0);
		f->key = dupn(key ? key : "", kn);
		if (!f->key)
			goto fail;
		out->n++;
		if (name && nn) {
			f->name = dupn(name, nn);
			f->renamed = 1;
		} else if (prov && pn) {
			f->name = dupn(prov, pn);
		} else {
			if (appmodel_rule_name(f->key, kn, &b) < 0 && b.oom)
				goto fail;
			f->name = buf_detach(&b, NULL);
		}
		if (!f->name)
			goto fail;
		f->merged_into = store_col_i64(r, 4);
		f->hidden = store_col_i64(r, 5) != 0;
		if (!store_col_is_null(r, 6)) {
			f->core_explicit = 1;
			f->core = store_col_i64(r, 6) != 0;
		}
	}
	store_rows_close(r);
	r = NULL;
	if (st < 0)
		goto fail;

	/* Reviewed: the founder chose a core feature that still counts (not hidden). */
	for (size_t i = 0; i < out->n && !out->reviewed; i++)
		out->reviewed = out->f[i].core_explicit && out->f[i].core && appmodel_effective(out, out->f[i].id) != 0;
	if (appmodel_stats_load(tx, today, with_users, &stats) < 0)
		goto fail;
	for (size_t i = 0; i < out->n; i++) {
		const struct appmodel_stat *u = appmodel_stats_find(&stats, out->f[i].id);
		if (u) {
			out->f[i].users_30d = u->users;
			out->f[i].days_30d = u->days;
		}
	}
	if (!out->reviewed) {
		explicit_no = calloc(out->n ? out->n : 1, sizeof(*explicit_no));
		if (!explicit_no)
			goto fail;
		for (size_t i = 0; i < out->n; i++) {
			explicit_no[i] = out->f[i].core_explicit && !out->f[i].core;
			out->f[i].core = 0;
		}
		if (auto_core(out, explicit_no, stats.total) < 0)
			goto fail;
	}
	appmodel_stats_free(&stats);
	free(explicit_no);
	buf_free(&b);
	return 0;
fail:
	store_rows_close(r);
	free(explicit_no);
	buf_free(&b);
	appmodel_stats_free(&stats);
	appmodel_free(out);
	return -1;
}

int appmodel_load(struct store_tx *tx, int64_t today, struct appmodel *out)
{
	return load(tx, today, 1, out);
}

int appmodel_load_core(struct store_tx *tx, int64_t today, struct appmodel *out)
{
	return load(tx, today, 0, out);
}

/* ---- founder edits ---- */

/* 1 when p is valid UTF-8 without control characters and at most max bytes. */
int appmodel_name_ok(const char *p, size_t n)
{
	if (!p || n > APPMODEL_NAME_MAX)
		return 0;
	const unsigned char *s = (const unsigned char *)p;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		int len = utf8_decode(s + i, n - i, &cp);
		if (len < 0)
			return 0;
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) /* C0, DEL, C1 */
			return 0;
		i += (size_t)len;
	}
	return 1;
}

/* 1 exists, 0 not, -1 error. */
static int feature_exists(struct store_tx *tx, int64_t id)
{
	int64_t one = 0;
	return store_query_i64(tx, "SELECT 1 FROM feature_keys WHERE workspace_id = $1 AND id = $2",
	                       STORE_ARGS(SP_I64(id)), &one);
}

/* The founder's edits of a feature: each sets one column of its app_features row (the
 * row is made on the first edit). One fixed statement per column. */
enum edit_col { EDIT_NAME, EDIT_MERGED_INTO, EDIT_HIDDEN, EDIT_CORE, EDIT_PROVIDER_NAME };
static const char *const edit_sql[] = {
    [EDIT_NAME] = "INSERT INTO app_features (workspace_id, feature_id, name, updated_at) VALUES ($1, $2, "
                  "$3, $4) ON CONFLICT (workspace_id, feature_id) DO UPDATE SET name = excluded.name, "
                  "updated_at = excluded.updated_at",
    [EDIT_MERGED_INTO] = "INSERT INTO app_features (workspace_id, feature_id, merged_into, updated_at) VALUES "
                         "($1, $2, $3, $4) ON CONFLICT (workspace_id, feature_id) DO UPDATE SET merged_into = "
                         "excluded.merged_into, updated_at = excluded.updated_at",
    [EDIT_HIDDEN] = "INSERT INTO app_features (workspace_id, feature_id, hidden, updated_at) VALUES ($1, $2, "
                    "$3, $4) ON CONFLICT (workspace_id, feature_id) DO UPDATE SET hidden = excluded.hidden, "
                    "updated_at = excluded.updated_at",
    [EDIT_CORE] = "INSERT INTO app_features (workspace_id, feature_id, core, updated_at) VALUES ($1, $2, "
                  "$3, $4) ON CONFLICT (workspace_id, feature_id) DO UPDATE SET core = excluded.core, "
                  "updated_at = excluded.updated_at",
    [EDIT_PROVIDER_NAME] = "INSERT INTO app_features (workspace_id, feature_id, provider_name, updated_at) VALUES "
                           "($1, $2, $3, $4) ON CONFLICT (workspace_id, feature_id) DO UPDATE SET provider_name "
                           "= excluded.provider_name, updated_at = excluded.updated_at",
};

/* Sets column c of feature_id's row to v. 0 or -1. */
static int set_col(struct store_tx *tx, int64_t feature_id, enum edit_col c, struct store_param v)
{
	return store_exec(tx, edit_sql[c], STORE_ARGS(SP_I64(feature_id), v, SP_I64(clock_now_ms())));
}

/* set_col for a feature that must exist: 0 set, 1 no such feature, -1 store failure. */
static int set_existing(struct store_tx *tx, int64_t feature_id, enum edit_col c, struct store_param v)
{
	int ex = feature_exists(tx, feature_id);
	if (ex <= 0)
		return ex < 0 ? -1 : 1;
	return set_col(tx, feature_id, c, v);
}

int appmodel_rename(struct store_tx *tx, int64_t feature_id, const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n && !appmodel_name_ok(name, n))
		return 1;
	return set_existing(tx, feature_id, EDIT_NAME, n ? SP_TEXTN(name, n) : SP_NULL);
}

int appmodel_merge(struct store_tx *tx, int64_t feature_id, int64_t into_id)
{
	if (feature_id == into_id)
		return 1;
	int ex = feature_exists(tx, feature_id);
	if (ex > 0)
		ex = feature_exists(tx, into_id);
	if (ex <= 0)
		return ex < 0 ? -1 : 1;
	/* Walk the target's chain: reaching feature_id would close a cycle. */
	int64_t cur = into_id;
	for (int steps = 0; steps < APPMODEL_MERGE_DEPTH_MAX; steps++) {
		int64_t next = 0;
		int got = store_query_i64(tx,
		                          "SELECT merged_into FROM app_features WHERE workspace_id = $1 AND "
		                          "feature_id = $2",
		                          STORE_ARGS(SP_I64(cur)), &next);
		if (got < 0)
			return -1;
		if (got == 0 || next == 0)
			return set_col(tx, feature_id, EDIT_MERGED_INTO, SP_I64(into_id));
		if (next == feature_id)
			return 1;
		cur = next;
	}
	return 1; /* a chain this long is refused */
}

int appmodel_unmerge(struct store_tx *tx, int64_t feature_id)
{
	return set_existing(tx, feature_id, EDIT_MERGED_INTO, SP_NULL);
}

int appmodel_set_hidden(struct store_tx *tx, int64_t feature_id, int hidden)
{
	return set_existing(tx, feature_id, EDIT_HIDDEN, SP_I64(hidden ? 1 : 0));
}

int appmodel_set_core(struct store_tx *tx, int64_t feature_id, int core)
{
	if (core < -1 || core > 1)
		return 1;
	return set_existing(tx, feature_id, EDIT_CORE, core < 0 ? SP_NULL : SP_I64(core));
}

/* ---- naming providers ---- */

static int store_provider_names(struct store_tx *tx, const int64_t *ids, char **names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!names[i] || !appmodel_name_ok(names[i], strlen(names[i])) || !names[i][0])
			continue;
		if (set_col(tx, ids[i], EDIT_PROVIDER_NAME, SP_TEXT(names[i])) < 0)
			return -1;
	}
	return 0;
}

int appmodel_name_features(struct store_tx *tx, const struct appmodel_namer *nm, size_t *sent)
{
	int64_t *ids = NULL;
	char **keys = NULL, **names = NULL;
	size_t n = 0, cap = 0, passed = 0;
	int rc = -1;
	struct store_rows *r = NULL;
	if (sent)
		*sent = 0;
	if (store_query(tx, "SELECT id, key FROM feature_keys WHERE workspace_id = $1 ORDER BY id", STORE_NO_ARGS,
	                &r) < 0)
		goto done;
	int st;
	while ((st = store_step(r)) == 1) {
		size_t kn = 0;
		const char *k = store_col_text(r, 1, &kn);
		if (!k || !appmodel_pii_free(k, kn))
			continue; /* never shown to a provider */
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			int64_t *ni = realloc(ids, nc * sizeof(*ni));
			if (!ni)
				goto done;
			ids = ni;
			char **nk = realloc(keys, nc * sizeof(*nk));
			if (!nk)
				goto done;
			keys = nk;
			cap = nc;
		}
		keys[n] = dupn(k, kn);
		if (!keys[n])
			goto done;
		ids[n++] = store_col_i64(r, 0);
	}
	store_rows_close(r);
	r = NULL;
	if (st < 0)
		goto done;
	names = calloc(APPMODEL_NAMER_BATCH, sizeof(*names));
	if (!names)
		goto done;
	for (size_t at = 0; at < n; at += APPMODEL_NAMER_BATCH) {
		size_t b = n - at < APPMODEL_NAMER_BATCH ? n - at : APPMODEL_NAMER_BATCH;
		memset(names, 0, APPMODEL_NAMER_BATCH * sizeof(*names));
		int prc = nm->name(nm->ctx, (const char *const *)keys + at, b, names);
		int src = prc == 0 ? store_provider_names(tx, ids + at, names, b) : 0;
		for (size_t i = 0; i < b; i++)
			free(names[i]);
		if (prc < 0 || src < 0)
			goto done;
		passed += b;
	}
	if (sent)
		*sent = passed;
	rc = 0;
done:
	store_rows_close(r);
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	free(ids);
	free(names);
	return rc;
}
