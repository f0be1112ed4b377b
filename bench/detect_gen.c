/* Bench-only dataset generator for `bench/run.sh detect` and `bench/run.sh pages`:
 * U tracked users over D days with persona-shaped activity, written straight into the
 * ingestion tables of one existing workspace, consistent with each other the way the
 * ingestion writer keeps them:
 *   events (one identify per user, then page/click/api/track events with feature ids),
 *   tracked_users (traits, first/last seen, the writer's session state, changed_ms),
 *   tracked_user_traits (the identify's traits), feature_keys, user_daily (events,
 *   active minutes, sessions, session seconds, API errors, rage clicks) and
 *   user_daily_features (per user, day and feature).
 * Going through /v1/batch would take minutes for 10 M events; this takes seconds and
 * gives the detector the same tables to read.
 *
 * Personas (user index mod 7, as `dropfix simulate`): steady, power, dropping (activity
 * and volume fall over the window, one of its features abandoned in the last third),
 * gone_quiet (nothing in the last 7 days), trial (signed up 10 days ago, active two
 * days, never again), cancelling (visits /billing and /cancel in the last third),
 * payment (steady usage; card traits). Every 50th user of each persona also gets a
 * friction spike (30% of API calls fail in the last 7 days). Deterministic: the same
 * arguments give the same rows.
 *
 * Usage: detect_gen --ws ID --users U --days D --now-ms T (--sqlite FILE | --copy TABLE)
 *   --sqlite FILE  inserts every table into the SQLite database FILE (one transaction,
 *                  rollback journal while loading, then back to WAL; ANALYZE at the end;
 *                  nothing else may use the database meanwhile)
 *   --copy TABLE   prints TABLE's rows in PostgreSQL COPY text format on stdout
 *        detect_gen --columns TABLE   prints TABLE's column list (for COPY … (columns))
 * Prints "users N events M user_daily K user_daily_features F" on stderr. */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_MS (INT64_C(86400) * 1000)
#define MIN_MS INT64_C(60000)
#define SESSION_GAP_MS (INT64_C(30) * 60 * 1000)

enum { T_FEATURES, T_USERS, T_TRAITS, T_DAILY, T_DAILY_FEATURES, T_EVENTS, T_N };
static const char *const table_names[T_N] = {"feature_keys", "tracked_users", "tracked_user_traits",
                                             "user_daily", "user_daily_features", "events"};
static const char *const persona_names[7] = {"steady", "power", "dropping", "gone_quiet", "trial", "cancelling", "payment"};

/* feature id = index + 1; type is the key's first word */
static const char *const features[] = {
    "page /dashboard", "page /projects", "page /projects/:id", "click Save", "api GET /api/projects", /* core 1-5 */
    "page /reports", "page /reports/custom", "page /integrations", "page /api-keys", "page /settings",
    "page /settings/team", "page /projects/:id/automations", "page /projects/:id/tasks", "click New project",
    "click Export", "click Invite teammate", "click Filter", "submit Create project", "submit Invite",
    "api GET /api/projects/:id/tasks", "api POST /api/projects/:id/tasks", "api GET /api/reports",
    "api POST /api/invoices", "api GET /api/invoices/:id", "track Report exported", "track Project created",
    "track Teammate invited", "page /calendar", "page /inbox", "page /search", /* extras 6-30 */
    "page /billing", "page /cancel", /* 31-32: cancel intent */
    "page /welcome", "page /onboarding", /* 33-34: trial */
};
#define N_FEATURES ((int)(sizeof(features) / sizeof(features[0])))
#define F_BILLING 31
#define F_CANCEL 32
#define F_WELCOME 33

static struct {
	int64_t ws, users, days, now_ms, today, received_ms, base_id;
	int only; /* table for --copy, -1 for --sqlite */
	sqlite3 *db;
	sqlite3_stmt *ins[T_N];
	int64_t n_users, n_events, n_daily, n_daily_features;
	int64_t next_event;
} G;

static uint64_t mix(uint64_t z)
{
	z += UINT64_C(0x9E3779B97F4A7C15);
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

struct rng {
	uint64_t s;
};
static uint64_t next(struct rng *r)
{
	r->s += UINT64_C(0x9E3779B97F4A7C15);
	return mix(r->s);
}
static int64_t below(struct rng *r, int64_t n)
{
	return n > 0 ? (int64_t)(next(r) % (uint64_t)n) : 0;
}
static int chance(struct rng *r, int pct)
{
	return below(r, 100) < pct;
}

static void die(const char *what)
{
	fprintf(stderr, "detect_gen: %s%s%s\n", what, G.db ? ": " : "", G.db ? sqlite3_errmsg(G.db) : "");
	exit(1);
}

/* ---- output: one row = up to 12 values, 'i' integer, 't' text, 'n' NULL ---- */
struct val {
	char kind;
	int64_t i;
	const char *t;
};

static void copy_text(const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '\\': fputs("\\\\", stdout); break;
		case '\t': fputs("\\t", stdout); break;
		case '\n': fputs("\\n", stdout); break;
		case '\r': fputs("\\r", stdout); break;
		default: putchar(*s);
		}
	}
}

static void row(int table, int n, const struct val *v)
{
	if (G.only >= 0) {
		if (table != G.only)
			return;
		for (int i = 0; i < n; i++) {
			if (i)
				putchar('\t');
			if (v[i].kind == 'i')
				printf("%" PRId64, v[i].i);
			else if (v[i].kind == 't')
				copy_text(v[i].t);
			else
				fputs("\\N", stdout);
		}
		putchar('\n');
		return;
	}
	sqlite3_stmt *st = G.ins[table];
	for (int i = 0; i < n; i++) {
		int rc = v[i].kind == 'i'   ? sqlite3_bind_int64(st, i + 1, v[i].i)
		         : v[i].kind == 't' ? sqlite3_bind_text(st, i + 1, v[i].t, -1, SQLITE_STATIC)
		                            : sqlite3_bind_null(st, i + 1);
		if (rc != SQLITE_OK)
			die("bind");
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		die(table_names[table]);
	sqlite3_reset(st);
}

#define I(x) ((struct val){'i', (x), NULL})
#define S(x) ((struct val){'t', 0, (x)})
#define NUL ((struct val){'n', 0, NULL})

/* ---- one user ---- */

struct day_acc {
	int64_t events, minutes, sessions, session_ms, api_errors, rage;
	int64_t fcount[N_FEATURES + 1];
};

struct user {
	int64_t index;
	int persona;
	char id[48];
	char traits[256];
	int extras[3];
	int friction;
	int64_t first_seen, last_seen, session_n, session_start, last_minute;
	int seen;
};

static void iso_date(int64_t ms, char out[16])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y-%m-%d", &tm);
}

static void make_traits(struct user *u)
{
	static const int pro[4] = {29, 49, 79, 99}, business[4] = {199, 299, 499, 999};
	int tier = (int)((u->index / 7) % 4);
	char signup[16], trial_end[16], card[16];
	int64_t signup_ms = u->persona == 4 ? G.now_ms - 10 * DAY_MS : G.now_ms - (30 + u->index % 300) * DAY_MS;
	iso_date(signup_ms, signup);
	switch (u->persona) {
	case 1:
		snprintf(u->traits, sizeof(u->traits), "{\"plan\":\"business\",\"mrr\":%d,\"signup_date\":\"%s\"}",
		         business[tier], signup);
		break;
	case 4:
		iso_date(signup_ms + 14 * DAY_MS, trial_end);
		snprintf(u->traits, sizeof(u->traits),
		         "{\"plan\":\"trial\",\"mrr\":0,\"trial_ends\":\"%s\",\"signup_date\":\"%s\"}", trial_end, signup);
		break;
	case 6:
		iso_date(G.now_ms + 20 * DAY_MS, card);
		snprintf(u->traits, sizeof(u->traits),
		         "{\"plan\":\"pro\",\"mrr\":%d,\"signup_date\":\"%s\",\"card_expires\":\"%.7s\"}", pro[tier], signup,
		         card);
		break;
	default:
		snprintf(u->traits, sizeof(u->traits), "{\"plan\":\"pro\",\"mrr\":%d,\"signup_date\":\"%s\"}", pro[tier],
		         signup);
	}
}

/* Activity of day d: events that day (0 = inactive). */
static int plan_day(struct user *u, struct rng *r, int64_t d)
{
	int64_t D = G.days, left = D - d;
	switch (u->persona) {
	case 1: return chance(r, 90) ? 1 + (int)below(r, 8) : 0;
	case 2: {
		int p = (int)(75 * left / D);
		return chance(r, p) ? 1 + (int)below(r, 1 + 4 * left / D) : 0;
	}
	case 3: return left > 7 && chance(r, 58) ? 1 + (int)below(r, 5) : 0;
	case 4: {
		int64_t signup = D - 10;
		return (d == signup || (d == signup + 1 && chance(r, 50))) ? 3 + (int)below(r, 4) : 0;
	}
	default: return chance(r, 58) ? 1 + (int)below(r, 5) : 0;
	}
}

static int pick_feature(struct user *u, struct rng *r, int64_t d, int e)
{
	int64_t third = G.days - (G.days + 2) / 3;
	if (u->persona == 4)
		return F_WELCOME + (int)below(r, 2);
	if (u->persona == 5 && d >= third && e < 2)
		return e == 0 ? F_BILLING : F_CANCEL;
	if (chance(r, 60))
		return 1 + (int)below(r, 5);
	int k = (int)below(r, 3);
	if (u->persona == 2 && d >= third && k == 0)
		k = 1 + (int)below(r, 2); /* the first extra is abandoned */
	return u->extras[k];
}

static void emit_event(struct user *u, const char *type, const char *name, const char *props, int64_t at,
                       int feature)
{
	int64_t id = G.base_id + G.next_event++;
	struct val v[11] = {I(G.ws), I(id), S(u->id), NUL, S(type), S(name), S(props), I(at),
	                    I(G.received_ms), NUL, I(feature)};
	row(T_EVENTS, 11, v);
	G.n_events++;
}

/* Updates the writer's per-user state and the day's aggregates for one event at `at`. */
static void account(struct user *u, struct day_acc *acc, int64_t at)
{
	if (!u->seen || at - u->last_seen > SESSION_GAP_MS) {
		u->session_n++;
		u->session_start = at;
		acc->sessions++;
	} else if (at > u->last_seen) {
		acc->session_ms += at - u->last_seen;
	}
	int64_t minute = at / MIN_MS;
	if (!u->seen || minute > u->last_minute) {
		acc->minutes++;
		u->last_minute = minute;
	}
	acc->events++;
	if (!u->seen)
		u->first_seen = at;
	u->seen = 1;
	u->last_seen = at;
}

static void gen_user(int64_t index)
{
	struct user u;
	memset(&u, 0, sizeof(u));
	u.index = index;
	u.persona = (int)(index % 7);
	snprintf(u.id, sizeof(u.id), "bench-%s-%06" PRId64, persona_names[u.persona], index);
	struct rng r = {mix((uint64_t)index * 7919 + 17)};
	int h = (int)(mix((uint64_t)index) % 25);
	for (int k = 0; k < 3; k++)
		u.extras[k] = 6 + (h + k * 8) % 25; /* three distinct extras of 6-30 */
	u.friction = (index / 7) % 50 == 3;
	make_traits(&u);
	struct day_acc acc;
	for (int64_t d = 0; d < G.days; d++) {
		int n = plan_day(&u, &r, d);
		if (n == 0)
			continue;
		memset(&acc, 0, sizeof(acc));
		int64_t day = G.today - G.days + d;
		int64_t at = day * DAY_MS + (7 + below(&r, 12)) * 3600 * 1000 + below(&r, 3600 * 1000);
		if (!u.seen) {
			account(&u, &acc, at);
			emit_event(&u, "identify", "", u.traits, at, 0);
			struct val tv[6] = {I(G.ws), S(u.id), I(1), I(at), I(1), S(u.traits)};
			row(T_TRAITS, 6, tv);
			at += 1000 + below(&r, 4000);
		}
		for (int e = 0; e < n; e++) {
			if (e == 6)
				at += 3 * 3600 * 1000; /* a second session later that day */
			int f = pick_feature(&u, &r, d, e);
			const char *key = features[f - 1];
			const char *sp = strchr(key, ' ');
			char type[16], name[96], props[320];
			snprintf(type, sizeof(type), "%.*s", (int)(sp - key), key);
			snprintf(name, sizeof(name), "%s", sp + 1);
			account(&u, &acc, at);
			if (strcmp(type, "page") == 0) {
				snprintf(props, sizeof(props), "{\"path\":\"%s\",\"title\":\"%s\"}", name, name + 1);
			} else if (strcmp(type, "api") == 0) {
				int fail = u.friction && d >= G.days - 7 ? chance(&r, 30) : chance(&r, 2);
				const char *sp2 = strchr(name, ' ');
				snprintf(props, sizeof(props),
				         "{\"method\":\"%.*s\",\"path\":\"%s\",\"status\":%d,\"duration_ms\":%" PRId64 "}",
				         (int)(sp2 - name), name, sp2 + 1, fail ? 500 : 200, 20 + below(&r, 380));
				acc.api_errors += fail;
			} else if (strcmp(type, "click") == 0) {
				int rage = chance(&r, 1);
				snprintf(props, sizeof(props), "{\"text\":\"%s\",\"tag\":\"button\"%s}", name,
				         rage ? ",\"rage\":true" : "");
				acc.rage += rage;
			} else {
				snprintf(props, sizeof(props), "{\"source\":\"bench\"}");
			}
			emit_event(&u, type, name, props, at, f);
			acc.fcount[f]++;
			at += 5000 + below(&r, 85000);
		}
		struct val dv[9] = {I(G.ws), S(u.id), I(day), I(acc.events), I(acc.minutes), I(acc.sessions),
		                    I(acc.session_ms / 1000), I(acc.api_errors), I(acc.rage)};
		row(T_DAILY, 9, dv);
		G.n_daily++;
		for (int f = 1; f <= N_FEATURES; f++) {
			if (!acc.fcount[f])
				continue;
			struct val fv[5] = {I(G.ws), S(u.id), I(day), I(f), I(acc.fcount[f])};
			row(T_DAILY_FEATURES, 5, fv);
			G.n_daily_features++;
		}
	}
	if (!u.seen)
		return;
	struct val uv[10] = {I(G.ws), S(u.id), I(u.first_seen), I(u.last_seen), S(u.traits), I(u.session_n),
	                     I(u.session_start), I(u.last_minute), S(u.id), I(G.received_ms)};
	row(T_USERS, 10, uv);
	G.n_users++;
}

/* The column lists of insert_sql, for COPY (--columns TABLE prints one). */
static const char *const columns[T_N] = {
    "workspace_id, key, id",
    "workspace_id, user_id, first_seen, last_seen, traits, session_n, session_start, last_minute, row_key, changed_ms",
    "workspace_id, user_id, id, at_ms, signed, traits",
    "workspace_id, user_id, day, events, active_minutes, sessions, session_seconds, api_errors, rage_clicks",
    "workspace_id, user_id, day, feature_id, count",
    "workspace_id, id, user_id, anonymous_id, type, name, properties, event_ms, received_ms, message_id, feature_id",
};

static const char *const insert_sql[T_N] = {
    "INSERT INTO feature_keys (workspace_id, key, id) VALUES (?, ?, ?)",
    "INSERT INTO tracked_users (workspace_id, user_id, first_seen, last_seen, traits, session_n, session_start, "
    "last_minute, row_key, changed_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "INSERT INTO tracked_user_traits (workspace_id, user_id, id, at_ms, signed, traits) VALUES (?, ?, ?, ?, ?, ?)",
    "INSERT INTO user_daily (workspace_id, user_id, day, events, active_minutes, sessions, session_seconds, "
    "api_errors, rage_clicks) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "INSERT INTO user_daily_features (workspace_id, user_id, day, feature_id, count) VALUES (?, ?, ?, ?, ?)",
    "INSERT INTO events (workspace_id, id, user_id, anonymous_id, type, name, properties, event_ms, "
    "received_ms, message_id, feature_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
};

static int64_t arg_i64(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 0) {
		fprintf(stderr, "detect_gen: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--columns") == 0) {
		for (int t = 0; t < T_N; t++)
			if (strcmp(argv[2], table_names[t]) == 0) {
				printf("%s\n", columns[t]);
				return 0;
			}
		return 2;
	}
	const char *sqlite_file = NULL, *copy = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--ws") == 0)
			G.ws = arg_i64(argv[i + 1]);
		else if (strcmp(argv[i], "--users") == 0)
			G.users = arg_i64(argv[i + 1]);
		else if (strcmp(argv[i], "--days") == 0)
			G.days = arg_i64(argv[i + 1]);
		else if (strcmp(argv[i], "--now-ms") == 0)
			G.now_ms = arg_i64(argv[i + 1]);
		else if (strcmp(argv[i], "--sqlite") == 0)
			sqlite_file = argv[i + 1];
		else if (strcmp(argv[i], "--copy") == 0)
			copy = argv[i + 1];
		else {
			fprintf(stderr, "detect_gen: unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	if (!G.ws || !G.users || G.days < 14 || !G.now_ms || (!sqlite_file == !copy)) {
		fprintf(stderr, "usage: detect_gen --ws ID --users U --days D(>=14) --now-ms T (--sqlite FILE | --copy TABLE)\n");
		return 2;
	}
	G.today = G.now_ms / DAY_MS;
	G.received_ms = G.now_ms - 3600 * 1000; /* imported an hour ago */
	G.base_id = G.received_ms * 1024;       /* the writer's id scheme: ms * 1024 + counter */
	G.only = -1;
	if (copy) {
		for (int t = 0; t < T_N; t++)
			if (strcmp(copy, table_names[t]) == 0)
				G.only = t;
		if (G.only < 0) {
			fprintf(stderr, "detect_gen: unknown table %s\n", copy);
			return 2;
		}
		static char obuf[1 << 20];
		setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	} else {
		if (sqlite3_open(sqlite_file, &G.db) != SQLITE_OK)
			die("open");
		sqlite3_busy_timeout(G.db, 10000);
		if (sqlite3_exec(G.db, "PRAGMA journal_mode=DELETE; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144; "
		                         "BEGIN IMMEDIATE", NULL, NULL,
		                 NULL) != SQLITE_OK)
			die("begin");
		for (int t = 0; t < T_N; t++)
			if (sqlite3_prepare_v2(G.db, insert_sql[t], -1, &G.ins[t], NULL) != SQLITE_OK)
				die(insert_sql[t]);
	}
	for (int f = 0; f < N_FEATURES; f++) {
		struct val v[3] = {I(G.ws), S(features[f]), I(f + 1)};
		row(T_FEATURES, 3, v);
	}
	for (int64_t i = 0; i < G.users; i++)
		gen_user(i);
	if (G.db) {
		for (int t = 0; t < T_N; t++)
			sqlite3_finalize(G.ins[t]);
		if (sqlite3_exec(G.db, "COMMIT; PRAGMA journal_mode=WAL; ANALYZE", NULL, NULL, NULL) != SQLITE_OK)
			die("commit");
		sqlite3_close(G.db);
		G.db = NULL;
	}
	if (fflush(stdout) != 0)
		die("write");
	fprintf(stderr, "users %" PRId64 " events %" PRId64 " user_daily %" PRId64 " user_daily_features %" PRId64 "\n",
	        G.n_users, G.n_events, G.n_daily, G.n_daily_features);
	return 0;
}
