/* Unit tests for src/appmodel: rule names, the PII check, loading with merges, hidden
 * features and the automatic core set, founder edits (validation, merge cycles) and the
 * naming-provider run (no PII key reaches a provider). Store tests run on SQLite and,
 * with the test cluster, PostgreSQL. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "appmodel/appmodel.h"
#include "store_testlib.h"
/* the statics of the usage cache (stats_cache_min_rows) */
#include "../../src/appmodel/appmodel_stats.c"

static void rule_names(void **state)
{
	(void)state;
	static const char *const t[][2] = {
	    {"api POST /api/invoices", "Create invoice"},
	    {"api GET /api/invoices", "List invoices"},
	    {"api GET /api/v2/invoices/:id", "View invoice"},
	    {"api PUT /api/invoices/:id", "Update invoice"},
	    {"api PATCH /api/v1/invoices/:id", "Update invoice"},
	    {"api DELETE /api/invoices/:id", "Delete invoice"},
	    {"api POST /api/categories", "Create category"},
	    {"api POST /v1/addresses", "Create address"},
	    {"api GET /api/addresses", "List addresses"},
	    {"api GET /api/statuses/:id", "View status"},
	    {"api GET /api/status", "View status"},
	    {"api PUT /api/settings", "Update settings"},
	    {"api GET /api/me", "View me"},
	    {"api GET /projects/:id/members", "List project members"},
	    {"api POST /projects/:id/members", "Create project member"},
	    {"api DELETE /projects/:id/members/:id", "Delete project member"},
	    {"api POST /api/invoices/:id/send", "Send invoice"},
	    {"api GET /api/line-items", "List line items"},
	    {"api POST /api/lineItems", "Create line item"},
	    {"api GET /api/boxes/{boxId}", "View box"},
	    {"api POST /api/matches", "Create match"},
	    {"api OPTIONS /api/things", "Call things"},
	    {"api GET /api", "API GET /api"},
	    {"api GET /api/v1/:id", "API GET /api/v1/:id"},
	    {"api GET /api/reports?from=1", "List reports"},
	    {"api HEAD /api/analysis", "View analysis"},
	    {"page /", "Page: Home"},
	    {"page /projects", "Page: Projects"},
	    {"page /projects/:id/settings", "Page: Project settings"},
	    {"page /settings/billing", "Page: Settings billing"},
	    {"page /docs/getting-started", "Page: Docs getting started"},
	    {"page /:id", "Page: /:id"},
	    {"page /teams/:id/categories/:id", "Page: Team category"},
	    {"click Export CSV", "Click: Export CSV"},
	    {"submit Sign in", "Form: Sign in"},
	    {"track Signed up", "Signed up"},
	    {"track <script>alert(1)</script>", "<script>alert(1)</script>"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct buf b;
		buf_init(&b, 0);
		int rc = appmodel_rule_name(t[i][0], strlen(t[i][0]), &b);
		if (rc != 0 || strcmp(b.p, t[i][1]) != 0)
			fail_msg("%s: got rc %d \"%s\", want \"%s\"", t[i][0], rc, b.p ? b.p : "", t[i][1]);
		buf_free(&b);
	}
	/* The buffer is cleared on reuse. */
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(appmodel_rule_name("click A", 7, &b), 0);
	assert_int_equal(appmodel_rule_name("click B", 7, &b), 0);
	assert_string_equal(b.p, "Click: B");
	buf_free(&b);
}

static void rule_names_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",          "page",          "page ",          "nope /x",        "api /x",
	    "api post /x", "api GET x",   "page projects",  "click",          " click A",
	    "click A\nB", "api GET",      "track \x7f",     "submit ",        "PAGE /",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct buf b;
		buf_init(&b, 0);
		size_t n = strlen(bad[i]);
		if (appmodel_rule_name(bad[i], n, &b) != -1)
			fail_msg("accepted malformed key \"%s\" as \"%s\"", bad[i], b.p);
		assert_int_equal(b.n, n);
		assert_memory_equal(b.p, bad[i], n);
		buf_free(&b);
	}
}

static void pii_check(void **state)
{
	(void)state;
	static const char *const ok[] = {
	    "page /projects/:id/settings", "api POST /api/invoices", "click Export CSV",
	    "submit Sign in",              "track Signed up",        "page /v2/reports/2024",
	    "click Step 3 of 5",           "page /users/[email]",    "track Plan upgraded to pro",
	    "click Save 12345",            "page /docs/oauth2-setup",
	};
	static const char *const bad[] = {
	    "click Send to jane@example.com",     "page /orders/123456",
	    "track Paid 4111 1111 1111 1111",      "click Call +44 20 7946 0958",
	    "click (555) 123-4567",                "page /invite/a8f3k2m9x7q1z5",
	    "api GET /files/deadbeefcafebabe1234", "click Token sk_live_ab12cd34ef56",
	    "track Born 1990-04-12",               "click Line\none",
	    "page /users/deadbeefdeadbeef",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!appmodel_pii_free(ok[i], strlen(ok[i])))
			fail_msg("refused PII-free key \"%s\"", ok[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (appmodel_pii_free(bad[i], strlen(bad[i])))
			fail_msg("accepted key with PII \"%s\"", bad[i]);
	assert_int_equal(appmodel_pii_free(NULL, 0), 0);
}

static void name_validation(void **state)
{
	(void)state;
	assert_int_equal(appmodel_name_ok("Create invoice", 14), 1);
	assert_int_equal(appmodel_name_ok("Caf\xc3\xa9", 5), 1);
	assert_int_equal(appmodel_name_ok("a\tb", 3), 0);
	assert_int_equal(appmodel_name_ok("\xc3", 1), 0);
	assert_int_equal(appmodel_name_ok("\xed\xa0\x80", 3), 0); /* surrogate */
	assert_int_equal(appmodel_name_ok("\xc2\x85", 2), 0);     /* C1 control */
	char big[APPMODEL_NAME_MAX + 2];
	memset(big, 'x', sizeof(big));
	assert_int_equal(appmodel_name_ok(big, APPMODEL_NAME_MAX), 1);
	assert_int_equal(appmodel_name_ok(big, APPMODEL_NAME_MAX + 1), 0);
}

/* ---- store tests ---- */

#define TODAY 20000

struct fx {
	struct tdb t;
	int64_t ws;
};

static void fx_open(struct fx *f, enum store_backend kind)
{
	assert_int_equal(tdb_open(&f->t, kind), 0);
	struct store_workspace_new w = {.name = "W", .product_name = "P", .timezone = "UTC", .currency = "EUR"};
	struct store_tx *tx;
	assert_int_equal(store_begin_global(f->t.c, STORE_WRITE, &tx), 0);
	assert_int_equal(store_workspace_create(tx, &w, &f->ws), 0);
	assert_int_equal(store_commit(tx), 0);
}

static struct store_tx *wtx(struct fx *f)
{
	struct store_tx *tx;
	assert_int_equal(store_begin_ws(f->t.c, f->ws, STORE_WRITE, &tx), 0);
	return tx;
}

static void add_key(struct store_tx *tx, int64_t id, const char *key)
{
	assert_int_equal(store_exec(tx, "INSERT INTO feature_keys (workspace_id, key, id) VALUES ($1, $2, $3)",
	                            STORE_ARGS(SP_TEXT(key), SP_I64(id))),
	                 0);
}

/* user u used feature id on day d (and was active that day). */
static void use(struct store_tx *tx, const char *u, int64_t day, int64_t id)
{
	assert_int_equal(store_exec(tx,
	                            "INSERT INTO user_daily (workspace_id, user_id, day, events) VALUES ($1, $2, "
	                            "$3, 1) ON CONFLICT (workspace_id, user_id, day) DO NOTHING",
	                            STORE_ARGS(SP_TEXT(u), SP_I64(day))),
	                 0);
	if (id)
		assert_int_equal(store_exec(tx,
		                            "INSERT INTO user_daily_features (workspace_id, user_id, day, "
		                            "feature_id, count) VALUES ($1, $2, $3, $4, 1)",
		                            STORE_ARGS(SP_TEXT(u), SP_I64(day), SP_I64(id))),
		                 0);
}

static void load(struct fx *f, struct appmodel *m)
{
	struct store_tx *tx;
	assert_int_equal(store_begin_ws(f->t.c, f->ws, STORE_READ, &tx), 0);
	if (appmodel_load(tx, TODAY, m) != 0)
		fail_msg("load: %s", store_errmsg(f->t.c));
	assert_int_equal(store_commit(tx), 0);
}

static const struct appmodel_feature *feat(const struct appmodel *m, int64_t id)
{
	const struct appmodel_feature *x = appmodel_find(m, id);
	assert_non_null(x);
	return x;
}

/* Features 1..6. Usage in the window (30 days up to TODAY), 10 users active on 10 days
 * each = 100 active user-days:
 *   1 "page /"            every user-day (100)   → core
 *   2 "api POST /api/invoices"  u0..u4 on 10 days (50) → core
 *   3 "click Export CSV"  u0 on 10 days (10)     → not core (10% < 20%)
 *   4 "page /old"         u0..u9 day TODAY-40 (outside the window) → no usage
 *   5 "track Signed up"   u0..u2 on 10 days (30) → core
 *   6 "submit Sign in"    unused */
static void seed(struct fx *f)
{
	struct store_tx *tx = wtx(f);
	add_key(tx, 1, "page /");
	add_key(tx, 2, "api POST /api/invoices");
	add_key(tx, 3, "click Export CSV");
	add_key(tx, 4, "page /old");
	add_key(tx, 5, "track Signed up");
	add_key(tx, 6, "submit Sign in");
	char u[16];
	for (int i = 0; i < 10; i++) {
		snprintf(u, sizeof(u), "u%d", i);
		for (int d = 0; d < 10; d++) {
			int64_t day = TODAY - d * 2;
			use(tx, u, day, 1);
			if (i < 5)
				use(tx, u, day, 2);
			if (i == 0)
				use(tx, u, day, 3);
			if (i < 3)
				use(tx, u, day, 5);
		}
		use(tx, u, TODAY - 40, 4);
	}
	assert_int_equal(store_commit(tx), 0);
}

static void load_and_auto_core(void **state)
{
	struct fx f;
	fx_open(&f, TDB_KIND(state));
	struct appmodel m;
	load(&f, &m); /* empty workspace */
	assert_int_equal(m.n, 0);
	int64_t ids[8];
	assert_int_equal(appmodel_core_ids(&m, ids, 8), 0);
	appmodel_free(&m);

	seed(&f);
	load(&f, &m);
	assert_int_equal(m.n, 6);
	assert_int_equal(m.reviewed, 0);
	assert_string_equal(feat(&m, 1)->name, "Page: Home");
	assert_string_equal(feat(&m, 2)->name, "Create invoice");
	assert_string_equal(feat(&m, 2)->key, "api POST /api/invoices");
	assert_int_equal(feat(&m, 1)->users_30d, 10);
	assert_int_equal(feat(&m, 1)->days_30d, 100);
	assert_int_equal(feat(&m, 2)->users_30d, 5);
	assert_int_equal(feat(&m, 3)->days_30d, 10);
	assert_int_equal(feat(&m, 4)->users_30d, 0);
	size_t k = appmodel_core_ids(&m, ids, 8);
	assert_int_equal(k, 3);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 2);
	assert_int_equal(ids[2], 5);
	assert_int_equal(feat(&m, 3)->core, 0);
	assert_int_equal(feat(&m, 1)->core_explicit, 0);
	assert_int_equal(appmodel_core_ids(&m, ids, 2), 2); /* cap respected */
	assert_int_equal(appmodel_effective(&m, 3), 3);
	assert_int_equal(appmodel_effective(&m, 999), 999); /* newer than the model */
	appmodel_free(&m);

	/* The detector's load: the same model and core set, without the user counts. */
	struct store_tx *rt;
	assert_int_equal(store_begin_ws(f.t.c, f.ws, STORE_READ, &rt), 0);
	assert_int_equal(appmodel_load_core(rt, TODAY, &m), 0);
	assert_int_equal(store_commit(rt), 0);
	assert_int_equal(m.n, 6);
	assert_int_equal(feat(&m, 1)->users_30d, 0);
	assert_int_equal(feat(&m, 1)->days_30d, 100);
	assert_int_equal(feat(&m, 2)->days_30d, 50);
	assert_int_equal(appmodel_core_ids(&m, ids, 8), 3);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 2);
	assert_int_equal(ids[2], 5);
	appmodel_free(&m);

	/* Hidden features are never core; "not core" is respected; merging adds up. */
	struct store_tx *tx = wtx(&f);
	assert_int_equal(appmodel_set_hidden(tx, 1, 1), 0);
	assert_int_equal(appmodel_set_core(tx, 5, 0), 0);
	assert_int_equal(appmodel_merge(tx, 6, 3), 0);
	assert_int_equal(store_commit(tx), 0);
	load(&f, &m);
	assert_int_equal(m.reviewed, 0);
	assert_int_equal(appmodel_effective(&m, 1), 0);
	assert_int_equal(appmodel_effective(&m, 6), 3);
	k = appmodel_core_ids(&m, ids, 8);
	assert_int_equal(k, 1);
	assert_int_equal(ids[0], 2);
	assert_int_equal(feat(&m, 5)->core_explicit, 1);
	appmodel_free(&m);

	/* When nothing reaches 20%, the single best feature is core. */
	tx = wtx(&f);
	assert_int_equal(appmodel_set_hidden(tx, 2, 1), 0);
	assert_int_equal(store_commit(tx), 0);
	load(&f, &m);
	k = appmodel_core_ids(&m, ids, 8);
	assert_int_equal(k, 1);
	assert_int_equal(ids[0], 3); /* 10 user-days of 100 */
	appmodel_free(&m);

	/* The founder's choice replaces the automatic set. */
	tx = wtx(&f);
	assert_int_equal(appmodel_set_core(tx, 4, 1), 0);
	assert_int_equal(appmodel_set_core(tx, 6, 1), 0); /* merged into 3: counts as 3 */
	assert_int_equal(store_commit(tx), 0);
	load(&f, &m);
	assert_int_equal(m.reviewed, 1);
	k = appmodel_core_ids(&m, ids, 8);
	assert_int_equal(k, 2);
	assert_int_equal(ids[0], 3);
	assert_int_equal(ids[1], 4);
	appmodel_free(&m);

	/* A chosen core feature that is hidden does not count: automatic again. */
	tx = wtx(&f);
	assert_int_equal(appmodel_set_core(tx, 6, -1), 0);
	assert_int_equal(appmodel_set_hidden(tx, 4, 1), 0);
	assert_int_equal(store_commit(tx), 0);
	load(&f, &m);
	assert_int_equal(m.reviewed, 0);
	k = appmodel_core_ids(&m, ids, 8);
	assert_int_equal(k, 1);
	assert_int_equal(ids[0], 3);
	appmodel_free(&m);
	tx = wtx(&f);
	assert_int_equal(appmodel_set_hidden(tx, 4, 0), 0);
	assert_int_equal(store_commit(tx), 0);

	/* Back to automatic. */
	tx = wtx(&f);
	assert_int_equal(appmodel_set_core(tx, 4, -1), 0);
	assert_int_equal(appmodel_set_core(tx, 6, -1), 0);
	assert_int_equal(store_commit(tx), 0);
	load(&f, &m);
	assert_int_equal(m.reviewed, 0);
	appmodel_free(&m);
	tdb_close(&f.t);
}

static void edits(void **state)
{
	struct fx f;
	fx_open(&f, TDB_KIND(state));
	seed(&f);
	struct store_tx *tx = wtx(&f);
	/* rename: validation, then the founder's name wins; "" goes back to automatic */
	assert_int_equal(appmodel_rename(tx, 2, "New invoice"), 0);
	assert_int_equal(appmodel_rename(tx, 3, "<script>x</script>"), 0);
	assert_int_equal(appmodel_rename(tx, 99, "X"), 1);
	assert_int_equal(appmodel_rename(tx, 2, "bad\nname"), 1);
	char big[APPMODEL_NAME_MAX + 2];
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(appmodel_rename(tx, 2, big), 1);
	/* merge: target must exist, not itself, no cycle */
	assert_int_equal(appmodel_merge(tx, 2, 2), 1);
	assert_int_equal(appmodel_merge(tx, 2, 99), 1);
	assert_int_equal(appmodel_merge(tx, 99, 2), 1);
	assert_int_equal(appmodel_merge(tx, 4, 5), 0);
	assert_int_equal(appmodel_merge(tx, 5, 6), 0);
	assert_int_equal(appmodel_merge(tx, 6, 4), 1); /* 6 → 4 → 5 → 6 */
	assert_int_equal(appmodel_merge(tx, 6, 5), 1); /* 6 → 5 → 6 */
	assert_int_equal(appmodel_merge(tx, 6, 3), 0);
	assert_int_equal(appmodel_set_hidden(tx, 99, 1), 1);
	assert_int_equal(appmodel_set_core(tx, 99, 1), 1);
	assert_int_equal(appmodel_set_core(tx, 2, 2), 1);
	assert_int_equal(appmodel_unmerge(tx, 99), 1);
	assert_int_equal(store_commit(tx), 0);

	struct appmodel m;
	load(&f, &m);
	assert_string_equal(feat(&m, 2)->name, "New invoice");
	assert_int_equal(feat(&m, 2)->renamed, 1);
	assert_string_equal(feat(&m, 3)->name, "<script>x</script>");
	assert_int_equal(appmodel_effective(&m, 4), 3); /* 4 → 5 → 6 → 3 */
	assert_int_equal(feat(&m, 4)->merged_into, 5);
	appmodel_free(&m);

	tx = wtx(&f);
	assert_int_equal(appmodel_rename(tx, 2, ""), 0);
	assert_int_equal(appmodel_unmerge(tx, 5), 0);
	assert_int_equal(appmodel_set_hidden(tx, 3, 1), 0);
	assert_int_equal(store_commit(tx), 0);
	load(&f, &m);
	assert_string_equal(feat(&m, 2)->name, "Create invoice");
	assert_int_equal(feat(&m, 2)->renamed, 0);
	assert_int_equal(appmodel_effective(&m, 4), 5);
	assert_int_equal(appmodel_effective(&m, 6), 0); /* merged into a hidden feature */
	assert_int_equal(appmodel_effective(&m, 3), 0);
	appmodel_free(&m);
	tdb_close(&f.t);
}

/* Big workspaces' usage figures are cached per day for a few minutes; small ones are
 * always read fresh. */
static void stats_cache(void **state)
{
	struct fx f;
	fx_open(&f, TDB_KIND(state));
	seed(&f);
	struct appmodel m;
	/* below the threshold: fresh every time */
	load(&f, &m);
	assert_int_equal(feat(&m, 6)->days_30d, 0);
	appmodel_free(&m);
	struct store_tx *tx = wtx(&f);
	use(tx, "u0", TODAY, 6);
	assert_int_equal(store_commit(tx), 0);
	load(&f, &m);
	assert_int_equal(feat(&m, 6)->days_30d, 1);
	appmodel_free(&m);

	/* at or above it: the figures are kept for this workspace and day */
	int64_t saved = stats_cache_min_rows;
	stats_cache_min_rows = 1;
	load(&f, &m);
	assert_int_equal(feat(&m, 6)->days_30d, 1);
	appmodel_free(&m);
	tx = wtx(&f);
	use(tx, "u1", TODAY, 6);
	assert_int_equal(appmodel_rename(tx, 6, "Signing in"), 0);
	assert_int_equal(store_commit(tx), 0);
	load(&f, &m);
	assert_int_equal(feat(&m, 6)->days_30d, 1); /* cached */
	assert_string_equal(feat(&m, 6)->name, "Signing in"); /* edits are never cached */
	appmodel_free(&m);
	/* a figures-only entry does not serve a load that wants the user counts */
	struct store_tx *rt;
	assert_int_equal(store_begin_ws(f.t.c, f.ws, STORE_READ, &rt), 0);
	assert_int_equal(appmodel_load_core(rt, TODAY - 1, &m), 0);
	assert_int_equal(store_commit(rt), 0);
	assert_int_equal(feat(&m, 6)->users_30d, 0);
	appmodel_free(&m);
	tx = wtx(&f);
	use(tx, "u2", TODAY - 1, 6);
	assert_int_equal(store_commit(tx), 0);
	assert_int_equal(store_begin_ws(f.t.c, f.ws, STORE_READ, &rt), 0);
	assert_int_equal(appmodel_load(rt, TODAY - 1, &m), 0);
	assert_int_equal(store_commit(rt), 0);
	assert_int_equal(feat(&m, 6)->users_30d, 1); /* read again, with users */
	assert_int_equal(feat(&m, 6)->days_30d, 1);
	appmodel_free(&m);
	assert_int_equal(store_begin_ws(f.t.c, f.ws, STORE_READ, &rt), 0);
	assert_int_equal(appmodel_load(rt, TODAY + 1, &m), 0); /* another day: read again */
	assert_int_equal(store_commit(rt), 0);
	assert_int_equal(feat(&m, 6)->days_30d, 3);
	appmodel_free(&m);
	stats_cache_min_rows = saved;
	pthread_mutex_lock(&cache_mu);
	for (size_t i = 0; i < APPMODEL_STATS_SLOTS; i++) {
		appmodel_stats_free(&cache[i].s);
		memset(&cache[i], 0, sizeof(cache[i]));
	}
	pthread_mutex_unlock(&cache_mu);
	tdb_close(&f.t);
}

/* A fake provider: records every key it is shown, names some. */
struct seen {
	char keys[32][128];
	size_t n;
	int calls;
	int fail;
};

static int fake_name(void *ctx, const char *const *keys, size_t n, char **names)
{
	struct seen *s = ctx;
	s->calls++;
	if (s->fail)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s->n < 32)
			snprintf(s->keys[s->n++], sizeof(s->keys[0]), "%s", keys[i]);
		if (strcmp(keys[i], "click Export CSV") == 0)
			names[i] = strdup("Export to CSV");
		else if (strcmp(keys[i], "page /") == 0)
			names[i] = strdup("bad\x01name"); /* refused: control character */
	}
	return 0;
}

static void provider(void **state)
{
	struct fx f;
	fx_open(&f, TDB_KIND(state));
	seed(&f);
	struct store_tx *tx = wtx(&f);
	add_key(tx, 7, "click Email jane@example.com");
	add_key(tx, 8, "page /orders/1234567");
	add_key(tx, 9, "click Call +1 (555) 123-4567");
	add_key(tx, 10, "api GET /api/keys/sk12ab34cd56ef78");
	assert_int_equal(store_commit(tx), 0);

	struct seen s = {0};
	struct appmodel_namer nm = {"fake", fake_name, &s};
	size_t sent = 0;
	tx = wtx(&f);
	assert_int_equal(appmodel_name_features(tx, &nm, &sent), 0);
	assert_int_equal(store_commit(tx), 0);
	assert_int_equal(sent, 6);
	assert_int_equal(s.n, 6);
	for (size_t i = 0; i < s.n; i++) {
		assert_true(appmodel_pii_free(s.keys[i], strlen(s.keys[i])));
		assert_null(strstr(s.keys[i], "@"));
		assert_null(strstr(s.keys[i], "1234567"));
		assert_null(strstr(s.keys[i], "555"));
		assert_null(strstr(s.keys[i], "sk12"));
	}
	struct appmodel m;
	load(&f, &m);
	assert_string_equal(feat(&m, 3)->name, "Export to CSV");
	assert_string_equal(feat(&m, 1)->name, "Page: Home");
	assert_int_equal(feat(&m, 3)->renamed, 0);
	appmodel_free(&m);

	/* The founder's name beats the provider's. */
	tx = wtx(&f);
	assert_int_equal(appmodel_rename(tx, 3, "CSV export"), 0);
	assert_int_equal(store_commit(tx), 0);
	load(&f, &m);
	assert_string_equal(feat(&m, 3)->name, "CSV export");
	appmodel_free(&m);

	/* A failing provider fails the run. */
	s.fail = 1;
	tx = wtx(&f);
	assert_int_equal(appmodel_name_features(tx, &nm, &sent), -1);
	store_rollback(tx);

	/* The built-in rules provider stores rule names. */
	tx = wtx(&f);
	assert_int_equal(appmodel_name_features(tx, &appmodel_rules_namer, &sent), 0);
	assert_int_equal(sent, 6);
	assert_int_equal(store_commit(tx), 0);
	load(&f, &m);
	assert_string_equal(feat(&m, 2)->name, "Create invoice");
	appmodel_free(&m);
	tdb_close(&f.t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rule_names),
	    cmocka_unit_test(rule_names_malformed),
	    cmocka_unit_test(pii_check),
	    cmocka_unit_test(name_validation),
	    cmocka_unit_test_prestate(load_and_auto_core, (void *)&tdb_sqlite),
	    cmocka_unit_test_prestate(load_and_auto_core, (void *)&tdb_pg),
	    cmocka_unit_test_prestate(edits, (void *)&tdb_sqlite),
	    cmocka_unit_test_prestate(edits, (void *)&tdb_pg),
	    cmocka_unit_test_prestate(stats_cache, (void *)&tdb_sqlite),
	    cmocka_unit_test_prestate(stats_cache, (void *)&tdb_pg),
	    cmocka_unit_test_prestate(provider, (void *)&tdb_sqlite),
	    cmocka_unit_test_prestate(provider, (void *)&tdb_pg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
