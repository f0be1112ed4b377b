/* src/detect: the glob matcher, every detector on synthetic aggregates (boundaries:
 * exactly 50%, a baseline under 10 events a week, 13 vs 14 days of history, …), the
 * health score, settings validation, and the passes on a real database (SQLite and
 * PostgreSQL): open, evidence, dismiss that holds through re-evaluation, cleared and
 * recurring episodes, resolution, incremental by changed_ms, the learning window. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appmodel/appmodel.h"
#include "core/clock.h"
#include "detect/detect.h"
#include "detect/detect_int.h"
#include "store_testlib.h"

#define TODAY 20000
#define DAYMS DETECT_DAY_MS
#define NOW (TODAY * DAYMS + 12 * 3600 * 1000)

static struct detect_conf conf;
static const int64_t core_ids[] = {1, 2};
static const char *const core_names[] = {"Dashboard", "Reports"};
static const int64_t cancel_ids[] = {9};
static const char *const cancel_names[] = {"page /billing"};

static struct detect_env env_at(int unlocked)
{
	detect_conf_defaults(&conf);
	struct detect_env e = {.now_ms = NOW, .today = TODAY, .unlocked = unlocked, .conf = &conf,
	                       .core = core_ids, .core_name = core_names, .ncore = 2,
	                       .cancel = cancel_ids, .cancel_name = cancel_names, .ncancel = 1};
	return e;
}

/* A user active from first to last (inclusive) with ev events a day (one session of
 * sess_s seconds), and recent-window days with rev events. */
struct synth {
	struct detect_day d[64];
	struct detect_use u[256];
	struct detect_user user;
};

static void synth(struct synth *s, int64_t first, int64_t last, int64_t ev, int64_t rev, int64_t sess_s, int64_t rsess_s)
{
	memset(s, 0, sizeof(*s));
	size_t n = 0;
	for (int64_t day = first; day <= last; day++) {
		if (day < TODAY - 35)
			continue;
		int recent = day >= TODAY - 7; /* ratio signals ignore today itself */
		s->d[n++] = (struct detect_day){day, recent ? rev : ev, 1, recent ? rsess_s : sess_s, 0, 0};
	}
	s->user = (struct detect_user){.user_id = "u", .first_day = first, .last_day = last, .days = s->d, .nd = n,
	                               .uses = s->u, .trial_end_day = -1};
}

static int fires(enum detect_kind k, const struct detect_env *env, const struct detect_user *u, char *text)
{
	struct detect_hit hits[DETECT_KIND_N];
	assert_int_equal(detect_evaluate_user(env, u, hits), 0);
	int f = hits[k].fires;
	if (text) {
		text[0] = '\0';
		if (f)
			snprintf(text, DETECT_TEXT_MAX, "%s", json_string_value(json_object_get(hits[k].evidence, "text")));
	}
	for (int i = 0; i < DETECT_KIND_N; i++)
		json_decref(hits[i].evidence);
	return f;
}

static void test_glob(void **state)
{
	(void)state;
#define G(p, s) detect_glob(p, strlen(p), s, strlen(s))
	assert_true(G("page /billing*", "page /billing"));
	assert_true(G("page /billing*", "page /billing/plans"));
	assert_true(G("page */cancel*", "page /account/cancel"));
	assert_true(G("click *Cancel subscription*", "click cancel SUBSCRIPTION now"));
	assert_true(G("a?c", "abc"));
	assert_true(G("*", ""));
	assert_true(G("**", "x"));
	assert_false(G("a?c", "ac"));
	assert_false(G("page /billing*", "page /settings/billing"));
	assert_false(G("", "x"));
	assert_false(G("abc", "abcd"));
	/* a pattern that makes naive backtracking exponential stays quick */
	char s[4096];
	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	const char *p = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
	int64_t t0 = clock_mono_ns();
	assert_false(G(p, s));
	assert_true(clock_mono_ns() - t0 < INT64_C(500000000));
#undef G
}

static void test_usage_drop(void **state)
{
	(void)state;
	struct detect_env env = env_at(1);
	struct synth s;
	char text[DETECT_TEXT_MAX];
	/* baseline 10 a day = 70 a week; recent 5 a day = 35: exactly 50% fires */
	synth(&s, TODAY - 40, TODAY, 10, 5, 600, 600);
	assert_true(fires(DETECT_USAGE_DROP, &env, &s.user, text));
	assert_string_equal(text, "35 events in the last 7 full days, against a usual 70 a week (50% of usual; fires at 50% or less)");
	/* today does not count */
	s.d[s.user.nd - 1].events += 100;
	assert_true(fires(DETECT_USAGE_DROP, &env, &s.user, NULL));
	/* one event more yesterday: 36/70 > 50% */
	s.d[s.user.nd - 2].events++;
	assert_false(fires(DETECT_USAGE_DROP, &env, &s.user, NULL));
	/* baseline under 10 events a week never fires, even at zero */
	synth(&s, TODAY - 40, TODAY - 7, 1, 0, 600, 600); /* 7 a week */
	assert_false(fires(DETECT_USAGE_DROP, &env, &s.user, NULL));
	/* exactly 10 a week: fires at zero (and gone_quiet too: 7 days without activity) */
	for (size_t i = 0; i < s.user.nd; i++)
		s.d[i].events = (i % 7 < 3) ? 2 : (i % 7 == 3 ? 4 : 0);
	assert_true(fires(DETECT_USAGE_DROP, &env, &s.user, NULL));
	/* history rules: 14 whole days before today (7 baseline) runs, 13 does not */
	synth(&s, TODAY - 14, TODAY, 10, 1, 600, 600);
	assert_true(fires(DETECT_USAGE_DROP, &env, &s.user, NULL));
	synth(&s, TODAY - 13, TODAY, 10, 1, 600, 600);
	assert_false(fires(DETECT_USAGE_DROP, &env, &s.user, NULL));
	/* nothing behavioural while the workspace learns */
	struct detect_env young = env_at(0);
	synth(&s, TODAY - 40, TODAY, 10, 1, 600, 600);
	assert_false(fires(DETECT_USAGE_DROP, &young, &s.user, NULL));
}

static void test_gone_quiet(void **state)
{
	(void)state;
	struct detect_env env = env_at(1);
	struct synth s;
	char text[DETECT_TEXT_MAX];
	synth(&s, TODAY - 30, TODAY - 7, 10, 10, 600, 600);
	assert_true(fires(DETECT_GONE_QUIET, &env, &s.user, text));
	assert_string_equal(text, "No activity for 7 days (last active 2024-09-27); usually active every 1 day, so quiet counts "
	                          "from 7 days");
	synth(&s, TODAY - 30, TODAY - 6, 10, 10, 600, 600);
	assert_false(fires(DETECT_GONE_QUIET, &env, &s.user, NULL));
	/* active every 3rd day: quiet from 9 days */
	synth(&s, TODAY - 33, TODAY - 8, 10, 10, 600, 600);
	size_t n = 0;
	for (size_t i = 0; i < s.user.nd; i++)
		if ((s.d[i].day - (TODAY - 33)) % 3 == 0)
			s.d[n++] = s.d[i];
	s.user.nd = n;
	s.user.last_day = s.d[n - 1].day; /* TODAY - 9 */
	assert_true(fires(DETECT_GONE_QUIET, &env, &s.user, text));
	assert_non_null(strstr(text, "usually active every 3 days, so quiet counts from 9 days"));
	s.user.nd--;
	s.user.last_day = s.d[n - 2].day + 4; /* 8 days ago: under 9 */
	assert_false(fires(DETECT_GONE_QUIET, &env, &s.user, NULL));
	/* gone_quiet needs only the workspace's 7 days, not the user's 14 */
	synth(&s, TODAY - 8, TODAY - 8, 5, 5, 60, 60);
	assert_true(fires(DETECT_GONE_QUIET, &env, &s.user, NULL));
}

static void test_shorter_sessions(void **state)
{
	(void)state;
	struct detect_env env = env_at(1);
	struct synth s;
	char text[DETECT_TEXT_MAX];
	synth(&s, TODAY - 30, TODAY, 10, 10, 600, 300); /* exactly 50% */
	assert_true(fires(DETECT_SHORTER_SESSIONS, &env, &s.user, text));
	assert_string_equal(text, "Sessions in the last 7 full days lasted 5 min 0 s (median of 7), against a usual 10 min 0 s (50% of usual)");
	synth(&s, TODAY - 30, TODAY, 10, 10, 600, 301);
	assert_false(fires(DETECT_SHORTER_SESSIONS, &env, &s.user, NULL));
	/* fewer than 3 recent sessions: no verdict */
	synth(&s, TODAY - 30, TODAY, 10, 10, 600, 60);
	for (size_t i = 0; i < s.user.nd; i++)
		if (s.d[i].day >= TODAY - 5)
			s.d[i].sessions = 0;
	assert_false(fires(DETECT_SHORTER_SESSIONS, &env, &s.user, NULL));
}

static void test_feature_abandoned(void **state)
{
	(void)state;
	struct detect_env env = env_at(1);
	struct synth s;
	char text[DETECT_TEXT_MAX];
	/* 12 baseline active days (TODAY-19 … TODAY-8); feature 1 on 6 of them: exactly 50% */
	synth(&s, TODAY - 19, TODAY, 10, 10, 600, 600);
	for (int i = 0; i < 6; i++)
		s.u[s.user.nuses++] = (struct detect_use){TODAY - 19 + 2 * i, 1};
	assert_true(fires(DETECT_FEATURE_ABANDONED, &env, &s.user, text));
	assert_string_equal(text, "Stopped using \"Dashboard\": used on 6 of 12 active days before, not in the last 9 days");
	/* 5 of 12 is under half */
	s.user.nuses = 5;
	assert_false(fires(DETECT_FEATURE_ABANDONED, &env, &s.user, NULL));
	/* used again within the last 7 days */
	s.user.nuses = 6;
	s.u[s.user.nuses++] = (struct detect_use){TODAY - 6, 1};
	assert_false(fires(DETECT_FEATURE_ABANDONED, &env, &s.user, NULL));
}

static void test_cancel_friction_trial_downgrade(void **state)
{
	(void)state;
	struct detect_env env = env_at(1);
	struct synth s;
	char text[DETECT_TEXT_MAX];
	synth(&s, TODAY - 30, TODAY, 10, 10, 600, 600);
	s.u[s.user.nuses++] = (struct detect_use){TODAY - 7, 9}; /* before the window */
	assert_false(fires(DETECT_CANCEL_INTENT, &env, &s.user, NULL));
	s.u[s.user.nuses++] = (struct detect_use){TODAY - 2, 9};
	assert_true(fires(DETECT_CANCEL_INTENT, &env, &s.user, text));
	assert_string_equal(text, "Visited page /billing in the last 7 days (on 1 day)");

	/* friction: 5 in the last 7 days against none: fires; 4: no; 6 against 3 a week: no */
	synth(&s, TODAY - 30, TODAY, 10, 10, 600, 600);
	s.d[s.user.nd - 2].api_errors = 4;
	s.d[s.user.nd - 1].api_errors = 9; /* today does not count */
	assert_false(fires(DETECT_FRICTION_SPIKE, &env, &s.user, NULL));
	s.d[s.user.nd - 2].rage_clicks = 1;
	assert_true(fires(DETECT_FRICTION_SPIKE, &env, &s.user, text));
	assert_string_equal(text, "4 failed API calls and 1 rage click in the last 7 full days, against a usual 0 a week");
	for (size_t i = 0; i < s.user.nd; i++)
		if (s.d[i].day < TODAY - 7 && s.d[i].day >= TODAY - 27)
			s.d[i].api_errors = (s.d[i].day % 7 < 3); /* about 3 a week */
	s.d[s.user.nd - 2].rage_clicks = 2;
	assert_false(fires(DETECT_FRICTION_SPIKE, &env, &s.user, NULL));

	/* trial: ends in 3 days, active on 1 day → fires; in 4 days or already over → no */
	synth(&s, TODAY - 2, TODAY - 2, 5, 5, 60, 60);
	s.user.trial_end_day = TODAY + 3;
	assert_true(fires(DETECT_TRIAL_ENDING_INACTIVE, &env, &s.user, text));
	assert_string_equal(text, "Trial ends in 3 days (2024-10-07); active on 1 day, used 0 of 2 core features");
	s.user.trial_end_day = TODAY + 4;
	assert_false(fires(DETECT_TRIAL_ENDING_INACTIVE, &env, &s.user, NULL));
	s.user.trial_end_day = TODAY - 1;
	assert_false(fires(DETECT_TRIAL_ENDING_INACTIVE, &env, &s.user, NULL));
	/* active on 3 days and using both core features: fine */
	synth(&s, TODAY - 2, TODAY, 5, 5, 60, 60);
	s.user.trial_end_day = TODAY + 1;
	s.u[s.user.nuses++] = (struct detect_use){TODAY - 1, 1};
	s.u[s.user.nuses++] = (struct detect_use){TODAY, 2};
	assert_false(fires(DETECT_TRIAL_ENDING_INACTIVE, &env, &s.user, NULL));

	/* downgrade within 30 days */
	synth(&s, TODAY - 30, TODAY, 10, 10, 600, 600);
	s.user.down_ms = NOW - 29 * DAYMS;
	s.user.down_from_mrr = 99;
	s.user.down_to_mrr = 29;
	s.user.down_from_plan = "pro";
	s.user.down_to_plan = "basic";
	assert_true(fires(DETECT_DOWNGRADE, &env, &s.user, text));
	assert_string_equal(text, "Moved from plan pro (MRR 99) to basic (MRR 29) on 2024-09-05");
	s.user.down_ms = NOW - 31 * DAYMS;
	assert_false(fires(DETECT_DOWNGRADE, &env, &s.user, NULL));
}

static void test_health(void **state)
{
	(void)state;
	detect_conf_defaults(&conf);
	int open[DETECT_KIND_N] = {0};
	json_t *parts = NULL;
	assert_int_equal(detect_health(&conf, open, 0, &parts), 100);
	json_decref(parts);
	open[DETECT_GONE_QUIET] = open[DETECT_USAGE_DROP] = 1;
	assert_int_equal(detect_health(&conf, open, -10, &parts), 60); /* usage_drop not counted twice */
	json_t *sig = json_object_get(parts, "signals");
	assert_int_equal(json_array_size(sig), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(sig, 0), "kind")), "usage_drop");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(sig, 0), "counted")), 0);
	assert_int_equal(json_integer_value(json_object_get(parts, "engagement")), -10);
	json_decref(parts);
	open[DETECT_USAGE_DROP] = 0;
	open[DETECT_CANCEL_INTENT] = open[DETECT_SUBSCRIPTION_LAPSED] = 1;
	assert_int_equal(detect_health(&conf, open, -10, &parts), 0); /* clamped */
	json_decref(parts);
	assert_int_equal(detect_band_of(70), DETECT_HEALTHY);
	assert_int_equal(detect_band_of(69), DETECT_WATCH);
	assert_int_equal(detect_band_of(40), DETECT_WATCH);
	assert_int_equal(detect_band_of(39), DETECT_AT_RISK);
	/* engagement: 20 x (recent / baseline weekly - 1), clamped to ±10, 0 without baseline */
	struct detect_agg a = {.recent_events = 70, .baseline_events = 280, .baseline_days = 28, .has_baseline = 1};
	assert_int_equal(detect_engagement(&a), 0);
	a.recent_events = 35;
	assert_int_equal(detect_engagement(&a), -10);
	a.recent_events = 77;
	assert_int_equal(detect_engagement(&a), 2);
	a.recent_events = 500;
	assert_int_equal(detect_engagement(&a), 10);
	a.has_baseline = 0;
	assert_int_equal(detect_engagement(&a), 0);
	enum detect_kind k;
	assert_int_equal(detect_kind_parse("trial_ending_inactive", 21, &k), 0);
	assert_int_equal(k, DETECT_TRIAL_ENDING_INACTIVE);
	assert_int_equal(detect_kind_parse("trial", 5, &k), -1);
	assert_string_equal(detect_kind_id(DETECT_PAYMENT_FAILED), "payment_failed");
	assert_string_equal(detect_band_id(DETECT_AT_RISK), "at_risk");
}

/* ---- passes on a database ---- */

struct fx {
	struct tdb t;
	int64_t ws;
	char clock[256];
};

static void write_clock(struct fx *f, int64_t ms)
{
	FILE *fp = fopen(f->clock, "w");
	assert_non_null(fp);
	fprintf(fp, "%lld.%03lld\n", (long long)(ms / 1000), (long long)(ms % 1000));
	fclose(fp);
}

static void set_now(struct fx *f, int64_t ms)
{
	write_clock(f, ms);
	assert_int_equal(clock_now_ms(), ms);
}

static void fx_open(struct fx *f, enum store_backend kind)
{
	snprintf(f->clock, sizeof(f->clock), "%s/dropfix-detect-clock-%d", tdb_env("DROPFIX_TEST_TMP", "/tmp"), (int)getpid());
	setenv("DROPFIX_TEST_CLOCK_FILE", f->clock, 1);
	write_clock(f, NOW);
	char err[200];
	assert_int_equal(clock_init(err, sizeof(err)), 0);
	set_now(f, NOW);
	assert_int_equal(tdb_open(&f->t, kind), 0);
	struct store_workspace_new w = {.name = "W", .product_name = "P", .timezone = "UTC", .currency = "EUR"};
	struct store_tx *tx;
	assert_int_equal(store_begin_global(f->t.c, STORE_WRITE, &tx), 0);
	assert_int_equal(store_workspace_create(tx, &w, &f->ws), 0);
	assert_int_equal(store_commit(tx), 0);
}

static void fx_close(struct fx *f)
{
	tdb_close(&f->t);
	unlink(f->clock);
}

static void exec(struct fx *f, const char *sql, const struct store_param *p, size_t n)
{
	struct store_tx *tx;
	assert_int_equal(store_begin_ws(f->t.c, f->ws, STORE_WRITE, &tx), 0);
	if (store_exec(tx, sql, p, n) < 0)
		fail_msg("%s: %s", sql, store_errmsg(f->t.c));
	assert_int_equal(store_commit(tx), 0);
}

/* A tracked user active every day in [first, last] with ev events a day, using feature 1
 * ("page /dashboard") every day. */
static void user(struct fx *f, const char *u, int64_t first, int64_t last, int64_t ev, const char *traits)
{
	exec(f, "INSERT INTO tracked_users (workspace_id, user_id, first_seen, last_seen, traits) VALUES ($1, $2, $3, $4, $5)",
	     STORE_ARGS(SP_TEXT(u), SP_I64(first * DAYMS + 3600000), SP_I64(last * DAYMS + 3600000), SP_TEXT(traits)));
	for (int64_t d = first; d <= last; d++) {
		exec(f, "INSERT INTO user_daily (workspace_id, user_id, day, events, sessions, session_seconds) VALUES ($1, $2, $3, $4, 1, 600)",
		     STORE_ARGS(SP_TEXT(u), SP_I64(d), SP_I64(ev)));
		exec(f, "INSERT INTO user_daily_features (workspace_id, user_id, day, feature_id, count) VALUES ($1, $2, $3, 1, 3)",
		     STORE_ARGS(SP_TEXT(u), SP_I64(d)));
	}
}

static int64_t q(struct fx *f, const char *sql, const struct store_param *p, size_t n)
{
	struct store_tx *tx;
	int64_t v = -1;
	assert_int_equal(store_begin_ws(f->t.c, f->ws, STORE_READ, &tx), 0);
	if (store_query_i64(tx, sql, p, n, &v) < 0)
		fail_msg("%s: %s", sql, store_errmsg(f->t.c));
	store_rollback(tx);
	return v;
}

static int64_t live_id(struct fx *f, const char *u, const char *kind, const char *state)
{
	return q(f, "SELECT id FROM signals WHERE workspace_id = $1 AND user_id = $2 AND kind = $3 AND state = $4 AND cleared_ms IS NULL",
	         STORE_ARGS(SP_TEXT(u), SP_TEXT(kind), SP_TEXT(state)));
}

/* detect_state.core (malloc'd). */
static char *core_text(struct fx *f)
{
	struct store_tx *tx;
	struct store_rows *r;
	assert_int_equal(store_begin_ws(f->t.c, f->ws, STORE_READ, &tx), 0);
	assert_int_equal(store_query(tx, "SELECT core FROM detect_state WHERE workspace_id = $1", STORE_NO_ARGS, &r), 0);
	assert_int_equal(store_step(r), 1);
	size_t n = 0;
	char *t = strdup(store_col_text(r, 0, &n));
	store_rows_close(r);
	store_rollback(tx);
	return t;
}

static void run(struct fx *f, int full, struct detect_stats *st)
{
	char err[256];
	int rc = full ? detect_run_full(f->t.c, f->ws, st, err, sizeof(err)) : detect_run_incremental(f->t.c, f->ws, st, err, sizeof(err));
	if (rc != 0)
		fail_msg("pass: %s", err);
}

static void passes(void **state)
{
	struct fx f;
	fx_open(&f, TDB_KIND(state));
	exec(&f, "INSERT INTO feature_keys (workspace_id, key, id) VALUES ($1, 'page /dashboard', 1), ($1, 'page /billing', 2)", STORE_NO_ARGS);
	user(&f, "steady", TODAY - 40, TODAY, 10, "{\"plan\":\"pro\",\"mrr\":49}");
	user(&f, "quiet", TODAY - 40, TODAY - 10, 10, "{\"plan\":\"pro\",\"mrr\":\"99\"}");
	user(&f, "cancel", TODAY - 40, TODAY, 10, "{\"plan\":\"pro\",\"mrr\":49}");
	exec(&f, "INSERT INTO user_daily_features (workspace_id, user_id, day, feature_id, count) VALUES ($1, 'cancel', $2, 2, 1)",
	     STORE_ARGS(SP_I64(TODAY - 1)));
	user(&f, "young", TODAY - 5, TODAY - 5, 30, "{}"); /* one day of history, 5 days ago */

	struct detect_stats st;
	run(&f, 1, &st);
	assert_int_equal(st.users, 4);
	/* quiet: gone_quiet, usage_drop (not counted in health), feature_abandoned */
	assert_true(live_id(&f, "quiet", "gone_quiet", "open") > 0);
	assert_true(live_id(&f, "quiet", "usage_drop", "open") > 0);
	assert_true(live_id(&f, "quiet", "feature_abandoned", "open") > 0);
	assert_true(live_id(&f, "cancel", "cancel_intent", "open") > 0);
	assert_int_equal(q(&f, "SELECT count(*) FROM signals WHERE workspace_id = $1 AND user_id IN ('steady', 'young')", STORE_NO_ARGS), 0);
	assert_int_equal(st.opened, 4);
	assert_int_equal(q(&f, "SELECT count(*) FROM signal_history WHERE workspace_id = $1 AND change = 'opened'", STORE_NO_ARGS), 4);
	/* health: quiet = 100 - 30 (gone_quiet) - 20 (feature_abandoned) - 10 (engagement) = 40 */
	assert_int_equal(q(&f, "SELECT health FROM user_health WHERE workspace_id = $1 AND user_id = 'quiet'", STORE_NO_ARGS), 40);
	assert_int_equal(q(&f, "SELECT worth FROM user_health WHERE workspace_id = $1 AND user_id = 'quiet'", STORE_NO_ARGS), 60 * 99);
	assert_int_equal(q(&f, "SELECT health FROM user_health WHERE workspace_id = $1 AND user_id = 'cancel'", STORE_NO_ARGS), 70);
	assert_int_equal(q(&f, "SELECT worth FROM user_health WHERE workspace_id = $1 AND user_id = 'steady'", STORE_NO_ARGS), 0);
	assert_int_equal(q(&f, "SELECT at_risk + watch FROM workspace_daily WHERE workspace_id = $1 AND day = $2", STORE_ARGS(SP_I64(TODAY))), 1);
	assert_int_equal(q(&f, "SELECT started_ms FROM detect_state WHERE workspace_id = $1", STORE_NO_ARGS), (TODAY - 40) * DAYMS + 3600000);

	/* a second pass changes nothing */
	run(&f, 1, &st);
	assert_int_equal(st.opened + st.resolved + st.updated, 0);

	/* dismiss: stays dismissed while the condition holds; health recomputed */
	int64_t cid = live_id(&f, "cancel", "cancel_intent", "open");
	struct store_tx *tx;
	assert_int_equal(store_begin_ws(f.t.c, f.ws, STORE_WRITE, &tx), 0);
	char longr[DETECT_REASON_MAX + 2];
	memset(longr, 'r', sizeof(longr) - 1);
	longr[sizeof(longr) - 1] = '\0';
	assert_int_equal(detect_dismiss(tx, cid, 0, longr), -1);
	assert_int_equal(detect_dismiss(tx, cid, 0, "they stay"), 0);
	assert_int_equal(detect_dismiss(tx, cid, 0, NULL), 1); /* no longer open */
	assert_int_equal(detect_dismiss(tx, 12345, 0, NULL), 1);
	assert_int_equal(store_commit(tx), 0);
	assert_int_equal(q(&f, "SELECT health FROM user_health WHERE workspace_id = $1 AND user_id = 'cancel'", STORE_NO_ARGS), 100);
	run(&f, 1, &st);
	assert_int_equal(st.opened, 0);
	assert_int_equal(live_id(&f, "cancel", "cancel_intent", "dismissed"), cid);
	/* the condition clears: cleared_ms set, history "cleared"; a recurrence is a new episode */
	exec(&f, "DELETE FROM user_daily_features WHERE workspace_id = $1 AND feature_id = 2", STORE_NO_ARGS);
	run(&f, 1, &st);
	assert_true(q(&f, "SELECT cleared_ms FROM signals WHERE workspace_id = $1 AND id = $2", STORE_ARGS(SP_I64(cid))) > 0);
	assert_int_equal(q(&f, "SELECT count(*) FROM signal_history WHERE workspace_id = $1 AND signal_id = $2", STORE_ARGS(SP_I64(cid))), 3);
	exec(&f, "INSERT INTO user_daily_features (workspace_id, user_id, day, feature_id, count) VALUES ($1, 'cancel', $2, 2, 1)",
	     STORE_ARGS(SP_I64(TODAY)));
	run(&f, 1, &st);
	assert_int_equal(st.opened, 1);
	int64_t again = live_id(&f, "cancel", "cancel_intent", "open");
	assert_true(again > 0 && again != cid);

	/* incremental: nothing changed → nobody evaluated; quiet comes back → resolved */
	run(&f, 0, &st);
	assert_int_equal(st.users, 0);
	set_now(&f, NOW + 60000);
	exec(&f, "INSERT INTO user_daily (workspace_id, user_id, day, events, sessions, session_seconds) VALUES ($1, 'quiet', $2, 40, 1, 600)",
	     STORE_ARGS(SP_I64(TODAY)));
	exec(&f, "UPDATE tracked_users SET last_seen = $2, changed_ms = $3 WHERE workspace_id = $1 AND user_id = 'quiet'",
	     STORE_ARGS(SP_I64(NOW + 1000), SP_I64(NOW + 1000)));
	int64_t gq = live_id(&f, "quiet", "gone_quiet", "open");
	run(&f, 0, &st);
	assert_int_equal(st.users, 1);
	assert_true(st.resolved >= 1);
	assert_int_equal(q(&f, "SELECT count(*) FROM signals WHERE workspace_id = $1 AND id = $2 AND state = 'resolved' AND resolved_ms > 0",
	                   STORE_ARGS(SP_I64(gq))),
	                 1);
	run(&f, 0, &st);
	assert_int_equal(st.users, 0);

	/* the incremental pass reuses the full pass's copy of the core set (no app-model
	 * scan) until the founder edits the app model */
	char *core1 = core_text(&f);
	assert_non_null(strstr(core1, "\"core\":[[1,"));
	set_now(&f, NOW + 120000);
	exec(&f, "UPDATE tracked_users SET changed_ms = $2 WHERE workspace_id = $1 AND user_id = 'steady'",
	     STORE_ARGS(SP_I64(NOW + 100000)));
	run(&f, 0, &st);
	assert_int_equal(st.users, 1);
	char *core2 = core_text(&f);
	assert_string_equal(core1, core2); /* not recomputed */
	assert_int_equal(store_begin_ws(f.t.c, f.ws, STORE_WRITE, &tx), 0);
	assert_int_equal(appmodel_set_core(tx, 2, 1), 0); /* "page /billing" becomes core */
	assert_int_equal(store_commit(tx), 0);
	set_now(&f, NOW + 180000);
	exec(&f, "UPDATE tracked_users SET changed_ms = $2 WHERE workspace_id = $1 AND user_id = 'steady'",
	     STORE_ARGS(SP_I64(NOW + 170000)));
	run(&f, 0, &st);
	char *core3 = core_text(&f);
	assert_string_not_equal(core1, core3);
	assert_non_null(strstr(core3, "\"core\":[[2,"));
	free(core1);
	free(core2);
	free(core3);
	fx_close(&f);
}

static void learning(void **state)
{
	struct fx f;
	fx_open(&f, TDB_KIND(state));
	struct store_tx *tx;
	struct detect_learning l;
	assert_int_equal(store_begin_ws(f.t.c, f.ws, STORE_READ, &tx), 0);
	assert_int_equal(detect_learning_get(tx, NOW, &l), 0);
	store_rollback(tx);
	assert_int_equal(l.started_ms, 0);
	assert_int_equal(l.unlocked, 0);
	/* an empty workspace, then users without any feature keys */
	struct detect_stats st0;
	run(&f, 1, &st0);
	run(&f, 0, &st0);
	assert_int_equal(st0.users, 0);
	user(&f, "bare", TODAY - 5, TODAY - 5, 3, "{}");
	exec(&f, "DELETE FROM user_daily_features WHERE workspace_id = $1", STORE_NO_ARGS);
	run(&f, 1, &st0);
	assert_int_equal(st0.users, 1);
	exec(&f, "DELETE FROM user_daily WHERE workspace_id = $1", STORE_NO_ARGS);
	exec(&f, "DELETE FROM user_health WHERE workspace_id = $1", STORE_NO_ARGS);
	exec(&f, "DELETE FROM tracked_users WHERE workspace_id = $1", STORE_NO_ARGS);
	exec(&f, "DELETE FROM detect_state WHERE workspace_id = $1", STORE_NO_ARGS);
	exec(&f, "INSERT INTO feature_keys (workspace_id, key, id) VALUES ($1, 'page /dashboard', 1)", STORE_NO_ARGS);
	user(&f, "old", TODAY - 5, TODAY - 5, 30, "{}"); /* would be gone_quiet 5 days later */
	struct detect_stats st;
	run(&f, 1, &st);
	assert_int_equal(q(&f, "SELECT count(*) FROM signals WHERE workspace_id = $1", STORE_NO_ARGS), 0);
	assert_int_equal(store_begin_ws(f.t.c, f.ws, STORE_READ, &tx), 0);
	assert_int_equal(detect_learning_get(tx, NOW, &l), 0);
	store_rollback(tx);
	assert_int_equal(l.days_done, 5);
	assert_int_equal(l.days_needed, 7);
	assert_int_equal(l.unlocked, 0);
	/* 7 days later (event time started 5 days + 11 h ago) */
	set_now(&f, NOW + 2 * DAYMS);
	run(&f, 1, &st);
	assert_int_equal(live_id(&f, "old", "gone_quiet", "open") > 0, 1);
	fx_close(&f);
}

static void settings(void **state)
{
	struct fx f;
	fx_open(&f, TDB_KIND(state));
	struct store_tx *tx;
	char msg[200];
	assert_int_equal(store_begin_ws(f.t.c, f.ws, STORE_WRITE, &tx), 0);
	json_t *s = detect_settings_get(tx);
	assert_non_null(s);
	assert_int_equal(json_integer_value(json_object_get(s, "usage_drop_pct")), 50);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "weights"), "gone_quiet")), 30);
	assert_true(json_array_size(json_object_get(s, "cancel_patterns")) > 5);
	json_decref(s);
	json_t *bad[] = {json_pack("{s:i}", "usage_drop_pct", 200), json_pack("{s:i}", "nope", 1),
	                 json_pack("{s:{s:i}}", "weights", "gone_quiet", 101), json_pack("{s:{s:i}}", "weights", "nope", 1),
	                 json_pack("{s:s}", "usage_drop_pct", "50"), json_pack("{s:[s]}", "cancel_patterns", "")};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(detect_settings_set(tx, bad[i], msg, sizeof(msg)), 1);
		json_decref(bad[i]);
	}
	assert_non_null(strstr(msg, "cancel_patterns"));
	json_t *many = json_array();
	for (int i = 0; i < DETECT_PATTERNS_MAX + 1; i++)
		json_array_append_new(many, json_string("page /x*"));
	json_t *ch = json_pack("{s:o}", "cancel_patterns", many);
	assert_int_equal(detect_settings_set(tx, ch, msg, sizeof(msg)), 1);
	json_decref(ch);
	char longp[DETECT_PATTERN_MAX + 2];
	memset(longp, '*', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	ch = json_pack("{s:[s]}", "cancel_patterns", longp);
	assert_int_equal(detect_settings_set(tx, ch, msg, sizeof(msg)), 1);
	json_decref(ch);
	ch = json_pack("{s:i, s:{s:i}, s:[s]}", "usage_drop_pct", 40, "weights", "gone_quiet", 35, "cancel_patterns", "page /leave*");
	assert_int_equal(detect_settings_set(tx, ch, msg, sizeof(msg)), 0);
	json_decref(ch);
	ch = json_pack("{s:{s:i}}", "weights", "downgrade", 5);
	assert_int_equal(detect_settings_set(tx, ch, msg, sizeof(msg)), 0);
	json_decref(ch);
	s = detect_settings_get(tx);
	assert_int_equal(json_integer_value(json_object_get(s, "usage_drop_pct")), 40);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "weights"), "gone_quiet")), 35);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "weights"), "downgrade")), 5);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "weights"), "usage_drop")), 25);
	assert_int_equal(json_array_size(json_object_get(s, "cancel_patterns")), 1);
	json_decref(s);
	assert_int_equal(store_commit(tx), 0);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_glob),
	    cmocka_unit_test(test_usage_drop),
	    cmocka_unit_test(test_gone_quiet),
	    cmocka_unit_test(test_shorter_sessions),
	    cmocka_unit_test(test_feature_abandoned),
	    cmocka_unit_test(test_cancel_friction_trial_downgrade),
	    cmocka_unit_test(test_health),
	    cmocka_unit_test_prestate(passes, (void *)&tdb_sqlite),
	    cmocka_unit_test_prestate(passes, (void *)&tdb_pg),
	    cmocka_unit_test_prestate(learning, (void *)&tdb_sqlite),
	    cmocka_unit_test_prestate(learning, (void *)&tdb_pg),
	    cmocka_unit_test_prestate(settings, (void *)&tdb_sqlite),
	    cmocka_unit_test_prestate(settings, (void *)&tdb_pg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
