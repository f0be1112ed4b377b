/* Audit log tests, each on SQLite and PostgreSQL (as the app role), always with a
 * canary workspace holding its own log: chains verify; an edited, deleted or reordered
 * row is named by verification; concurrent appends form one gap-free chain; rows keep
 * verifying across a key rotation; deleting a workspace takes its log but not the
 * installation log's record of the deletion; CSV neutralises spreadsheet formulas. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>

#include "audit/audit.c" /* statics: the canonical encoding and the mac */
#include "store_testlib.h"

/* ---- fake clock ---- */

static char clock_path[512];

static void set_clock(int64_t ms)
{
	static int seq;
	char text[64];
	int n = snprintf(text, sizeof(text), "%lld.%03lld\n", (long long)(ms / 1000), (long long)(ms % 1000));
	int fd = open(clock_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, (size_t)n), n);
	struct timespec times[2] = {{1000000 + ++seq, 0}, {1000000 + seq, 0}};
	assert_int_equal(futimens(fd, times), 0);
	close(fd);
	assert_true(clock_now_ms() == ms);
}

static int setup_all(void **state)
{
	(void)state;
	snprintf(clock_path, sizeof(clock_path), "%s/audit-clock-%ld", tdb_env("DROPFIX_TEST_TMP", "/tmp"),
	         (long)getpid());
	setenv("DROPFIX_TEST_CLOCK_FILE", clock_path, 1);
	set_clock(INT64_C(1800000000000));
	log_set_level(LOG_ERROR);
	return sodium_init() < 0 ? -1 : 0;
}

static int teardown_all(void **state)
{
	(void)state;
	unlink(clock_path);
	return 0;
}

/* ---- helpers ---- */

struct fixture {
	struct tdb t;
	struct keyring *kr;
	char key_path[512];
	int64_t a, b; /* workspace under test, canary */
};

static int64_t make_ws(struct store_conn *c, const char *name)
{
	struct store_tx *tx;
	int64_t id = 0;
	struct store_workspace_new w = {
	    .name = name, .product_name = "P", .timezone = "UTC", .currency = "EUR"};
	assert_int_equal(store_begin_global(c, STORE_WRITE, &tx), 0);
	assert_int_equal(store_workspace_create(tx, &w, &id), 0);
	assert_int_equal(store_commit(tx), 0);
	return id;
}

static void fx_open(struct fixture *fx, enum store_backend kind)
{
	static int n;
	memset(fx, 0, sizeof(*fx));
	assert_int_equal(tdb_open(&fx->t, kind), 0);
	snprintf(fx->key_path, sizeof(fx->key_path), "%s/audit-key-%ld-%d",
	         tdb_env("DROPFIX_TEST_TMP", "/tmp"), (long)getpid(), ++n);
	unlink(fx->key_path);
	char err[256];
	if (keyring_create(fx->key_path, &fx->kr, err, sizeof(err)) < 0)
		fail_msg("keyring_create: %s", err);
	fx->a = make_ws(fx->t.c, "alpha");
	fx->b = make_ws(fx->t.c, "canary");
}

static void fx_close(struct fixture *fx)
{
	keyring_free(fx->kr);
	unlink(fx->key_path);
	tdb_close(&fx->t);
}

static struct audit_event ev(const char *action, const char *target)
{
	return (struct audit_event){.actor_kind = AUDIT_ACTOR_ACCOUNT,
	                            .actor_id = 42,
	                            .action = action,
	                            .target = target,
	                            .detail = "{}"};
}

static void append_ws(struct store_conn *c, const struct keyring *kr, int64_t ws, const struct audit_event *e)
{
	struct store_tx *tx;
	assert_int_equal(store_begin_ws(c, ws, STORE_WRITE, &tx), 0);
	if (audit_append_ws(tx, kr, e) < 0)
		fail_msg("append_ws: %s", store_errmsg(c));
	assert_int_equal(store_commit(tx), 0);
}

static void append_install(struct store_conn *c, const struct keyring *kr, const struct audit_event *e)
{
	struct store_tx *tx;
	assert_int_equal(store_begin_global(c, STORE_WRITE, &tx), 0);
	if (audit_append_install(tx, kr, e) < 0)
		fail_msg("append_install: %s", store_errmsg(c));
	assert_int_equal(store_commit(tx), 0);
}

static struct audit_verify verify_ws(struct store_conn *c, const struct keyring *kr, int64_t ws)
{
	struct store_tx *tx;
	struct audit_verify v;
	assert_int_equal(store_begin_ws(c, ws, STORE_READ, &tx), 0);
	assert_int_equal(audit_verify_ws(tx, kr, &v), 0);
	store_rollback(tx);
	return v;
}

static struct audit_verify verify_install(struct store_conn *c, const struct keyring *kr)
{
	struct store_tx *tx;
	struct audit_verify v;
	assert_int_equal(store_begin_global(c, STORE_READ, &tx), 0);
	assert_int_equal(audit_verify_install(tx, kr, &v), 0);
	store_rollback(tx);
	return v;
}

/* Runs one statement outside the store, as someone with direct database access: the
 * SQLite file, or the PostgreSQL maintenance role (BYPASSRLS). */
static void raw_exec(struct tdb *t, const char *sql)
{
	if (t->kind == STORE_SQLITE) {
		sqlite3 *db;
		char *msg = NULL;
		assert_int_equal(sqlite3_open(t->path, &db), SQLITE_OK);
		sqlite3_busy_timeout(db, 5000);
		if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
			fail_msg("%s: %s", sql, msg);
		sqlite3_close(db);
	} else {
		PGconn *pg = PQconnectdb(t->url_maint);
		assert_int_equal(PQstatus(pg), CONNECTION_OK);
		PGresult *r = PQexec(pg, sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			fail_msg("%s: %s", sql, PQerrorMessage(pg));
		PQclear(r);
		PQfinish(pg);
	}
}

static void fill(struct fixture *fx, int n_a, int n_b, int n_install)
{
	char target[32];
	for (int i = 1; i <= n_a; i++) {
		snprintf(target, sizeof(target), "a-%d", i);
		struct audit_event e = ev(i % 2 ? "auth.signin" : "member.role_changed", target);
		append_ws(fx->t.c, fx->kr, fx->a, &e);
	}
	for (int i = 1; i <= n_b; i++) {
		snprintf(target, sizeof(target), "b-%d", i);
		struct audit_event e = ev("settings.changed", target);
		append_ws(fx->t.c, fx->kr, fx->b, &e);
	}
	for (int i = 1; i <= n_install; i++) {
		snprintf(target, sizeof(target), "i-%d", i);
		struct audit_event e = ev("auth.signin_failed", target);
		e.actor_kind = AUDIT_ACTOR_SYSTEM;
		e.actor_id = 0;
		e.ip = "192.0.2.7";
		append_install(fx->t.c, fx->kr, &e);
	}
}

static void assert_ok(const struct audit_verify *v, int64_t rows)
{
	if (!v->ok)
		fail_msg("verify failed at %lld: %s", (long long)v->bad_seq, v->why);
	assert_int_equal(v->rows, rows);
	assert_int_equal(v->head_seq, rows);
	assert_int_equal(strlen(v->head_mac), rows ? AUDIT_MAC_HEX : 0);
}

/* ---- chains on both backends ---- */

static void test_append_verify(void **state)
{
	struct fixture fx;
	fx_open(&fx, TDB_KIND(state));
	struct audit_verify v = verify_ws(fx.t.c, fx.kr, fx.a);
	assert_ok(&v, 0);
	fill(&fx, 5, 3, 4);
	struct audit_verify va = verify_ws(fx.t.c, fx.kr, fx.a);
	assert_ok(&va, 5);
	v = verify_ws(fx.t.c, fx.kr, fx.b);
	assert_ok(&v, 3);
	v = verify_install(fx.t.c, fx.kr);
	assert_ok(&v, 4);

	/* rows read back: seq 1..5 in a's log only, the fields as appended */
	struct store_tx *tx;
	struct audit_rows rows;
	struct audit_filter f = AUDIT_FILTER_ALL;
	f.oldest_first = 1;
	assert_int_equal(store_begin_ws(fx.t.c, fx.a, STORE_READ, &tx), 0);
	assert_int_equal(audit_query_ws(tx, &f, &rows), 0);
	store_rollback(tx);
	assert_int_equal(rows.n, 5);
	for (size_t i = 0; i < rows.n; i++) {
		char want[32];
		snprintf(want, sizeof(want), "a-%zu", i + 1);
		assert_int_equal(rows.v[i].seq, (int64_t)i + 1);
		assert_string_equal(rows.v[i].target, want);
		assert_string_equal(rows.v[i].actor_kind, "account");
		assert_int_equal(rows.v[i].actor_id, 42);
		assert_true(rows.v[i].workspace_id == fx.a);
		assert_int_equal(rows.v[i].key_id, 1);
		assert_true(rows.v[i].at == INT64_C(1800000000000));
	}
	assert_string_equal(rows.v[4].mac, va.head_mac);
	audit_rows_free(&rows);
	assert_int_equal(store_begin_global(fx.t.c, STORE_READ, &tx), 0);
	assert_int_equal(audit_query_install(tx, NULL, &rows), 0);
	store_rollback(tx);
	assert_int_equal(rows.n, 4);
	assert_int_equal(rows.v[0].seq, 4); /* newest first */
	assert_string_equal(rows.v[0].ip, "192.0.2.7");
	assert_string_equal(rows.v[0].actor_kind, "system");
	assert_string_equal(rows.v[0].mac, v.head_mac);
	audit_rows_free(&rows);

	/* the audit row commits with the caller's transaction: a rollback leaves no trace */
	assert_int_equal(store_begin_ws(fx.t.c, fx.a, STORE_WRITE, &tx), 0);
	struct audit_event e = ev("invite.created", "x@example.com");
	assert_int_equal(audit_append_ws(tx, fx.kr, &e), 0);
	store_rollback(tx);
	v = verify_ws(fx.t.c, fx.kr, fx.a);
	assert_ok(&v, 5);

	/* the wrong kind of transaction is refused without touching the chain */
	assert_int_equal(store_begin_global(fx.t.c, STORE_WRITE, &tx), 0);
	assert_int_equal(audit_append_ws(tx, fx.kr, &e), -1);
	assert_int_equal(store_commit(tx), 0);
	e.action = "workspace.deleted"; /* an installation-log action */
	assert_int_equal(store_begin_ws(fx.t.c, fx.a, STORE_WRITE, &tx), 0);
	assert_int_equal(audit_append_ws(tx, fx.kr, &e), -1);
	assert_int_equal(audit_append_install(tx, fx.kr, &e), -1);
	assert_int_equal(store_commit(tx), 0);
	v = verify_ws(fx.t.c, fx.kr, fx.a);
	assert_ok(&v, 5);
	v = verify_install(fx.t.c, fx.kr);
	assert_ok(&v, 4);
	fx_close(&fx);
}

static void test_edit_detected(void **state)
{
	struct fixture fx;
	fx_open(&fx, TDB_KIND(state));
	fill(&fx, 4, 3, 3);
	char sql[256];
	/* change one row's detail in a's log */
	snprintf(
	    sql, sizeof(sql),
	    "UPDATE workspace_audit SET detail = '{\"edited\":true}' WHERE workspace_id = %lld AND seq = 2",
	    (long long)fx.a);
	raw_exec(&fx.t, sql);
	struct audit_verify v = verify_ws(fx.t.c, fx.kr, fx.a);
	assert_false(v.ok);
	assert_int_equal(v.bad_seq, 2);
	assert_int_equal(v.head_seq, 1);
	assert_non_null(strstr(v.why, "mac does not match"));
	v = verify_ws(fx.t.c, fx.kr, fx.b); /* the canary's chain is its own */
	assert_ok(&v, 3);
	v = verify_install(fx.t.c, fx.kr);
	assert_ok(&v, 3);

	/* every covered column counts: the time, the actor, the key id, the ip */
	static const char *const edits[][2] = {
	    {"UPDATE install_audit SET at = at + 1 WHERE seq = 3",
	     "UPDATE install_audit SET at = at - 1 WHERE seq = 3"},
	    {"UPDATE install_audit SET actor_id = 7 WHERE seq = 3",
	     "UPDATE install_audit SET actor_id = 0 WHERE seq = 3"},
	    {"UPDATE install_audit SET actor_kind = 'cli' WHERE seq = 3",
	     "UPDATE install_audit SET actor_kind = 'system' WHERE seq = 3"},
	    {"UPDATE install_audit SET ip = '192.0.2.8' WHERE seq = 3",
	     "UPDATE install_audit SET ip = '192.0.2.7' WHERE seq = 3"},
	    {"UPDATE install_audit SET workspace_id = 5 WHERE seq = 3",
	     "UPDATE install_audit SET workspace_id = 0 WHERE seq = 3"},
	    {"UPDATE install_audit SET target = 'i-3 ' WHERE seq = 3",
	     "UPDATE install_audit SET target = 'i-3' WHERE seq = 3"},
	    {"UPDATE install_audit SET action = 'auth.signin' WHERE seq = 3",
	     "UPDATE install_audit SET action = 'auth.signin_failed' WHERE seq = 3"},
	    {"UPDATE install_audit SET mac = upper(mac) WHERE seq = 3",
	     "UPDATE install_audit SET mac = lower(mac) WHERE seq = 3"},
	};
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		raw_exec(&fx.t, edits[i][0]);
		v = verify_install(fx.t.c, fx.kr);
		if (v.ok || v.bad_seq != 3)
			fail_msg("%s went unnoticed", edits[i][0]);
		raw_exec(&fx.t, edits[i][1]);
		v = verify_install(fx.t.c, fx.kr);
		assert_ok(&v, 3);
	}
	/* a row moved into another workspace's log */
	snprintf(
	    sql, sizeof(sql),
	    "UPDATE workspace_audit SET workspace_id = %lld, seq = 4 WHERE workspace_id = %lld AND seq = 4",
	    (long long)fx.b, (long long)fx.a);
	raw_exec(&fx.t, sql);
	v = verify_ws(fx.t.c, fx.kr, fx.b);
	assert_false(v.ok);
	assert_int_equal(v.bad_seq, 4);
	/* a forged key id: the mac covers it */
	raw_exec(&fx.t, "UPDATE install_audit SET key_id = 2 WHERE seq = 1");
	v = verify_install(fx.t.c, fx.kr);
	assert_false(v.ok);
	assert_int_equal(v.bad_seq, 1);
	assert_non_null(strstr(v.why, "key id 2 is not in the keyring"));
	fx_close(&fx);
}

static void test_delete_and_reorder_detected(void **state)
{
	struct fixture fx;
	fx_open(&fx, TDB_KIND(state));
	fill(&fx, 5, 2, 4);
	char sql[256];
	snprintf(sql, sizeof(sql), "DELETE FROM workspace_audit WHERE workspace_id = %lld AND seq = 3",
	         (long long)fx.a);
	raw_exec(&fx.t, sql);
	struct audit_verify v = verify_ws(fx.t.c, fx.kr, fx.a);
	assert_false(v.ok);
	assert_int_equal(v.bad_seq, 3);
	assert_int_equal(v.head_seq, 2);
	assert_non_null(strstr(v.why, "row 3 is missing"));
	/* deleting the first row */
	raw_exec(&fx.t, "DELETE FROM install_audit WHERE seq = 1");
	v = verify_install(fx.t.c, fx.kr);
	assert_false(v.ok);
	assert_int_equal(v.bad_seq, 1);
	/* renumbering after a delete does not help: the macs chain */
	snprintf(sql, sizeof(sql),
	         "UPDATE workspace_audit SET seq = seq - 1 WHERE workspace_id = %lld AND seq > 3",
	         (long long)fx.a);
	raw_exec(&fx.t, sql);
	v = verify_ws(fx.t.c, fx.kr, fx.a);
	assert_false(v.ok);
	assert_int_equal(v.bad_seq, 3);
	assert_non_null(strstr(v.why, "mac does not match"));
	/* swapping two rows of the canary (seq 1 and 2) */
	snprintf(sql, sizeof(sql),
	         "UPDATE workspace_audit SET seq = 100 WHERE workspace_id = %lld AND seq = 1",
	         (long long)fx.b);
	raw_exec(&fx.t, sql);
	snprintf(sql, sizeof(sql), "UPDATE workspace_audit SET seq = 1 WHERE workspace_id = %lld AND seq = 2",
	         (long long)fx.b);
	raw_exec(&fx.t, sql);
	snprintf(sql, sizeof(sql),
	         "UPDATE workspace_audit SET seq = 2 WHERE workspace_id = %lld AND seq = 100",
	         (long long)fx.b);
	raw_exec(&fx.t, sql);
	v = verify_ws(fx.t.c, fx.kr, fx.b);
	assert_false(v.ok);
	assert_int_equal(v.bad_seq, 1);
	fx_close(&fx);
}

/* The app role reads and appends; it cannot rewrite either log (PostgreSQL grants). */
static void test_pg_app_role_append_only(void **state)
{
	struct fixture fx;
	fx_open(&fx, TDB_KIND(state));
	fill(&fx, 2, 1, 2);
	PGconn *pg = PQconnectdb(fx.t.url_app);
	assert_int_equal(PQstatus(pg), CONNECTION_OK);
	static const char *const refused[] = {
	    "UPDATE install_audit SET detail = '{}'",
	    "DELETE FROM install_audit",
	    "UPDATE workspace_audit SET detail = '{}'",
	    "DELETE FROM workspace_audit",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		PGresult *r = PQexec(pg, refused[i]);
		if (PQresultStatus(r) == PGRES_COMMAND_OK)
			fail_msg("the app role may run %s", refused[i]);
		assert_non_null(strstr(PQerrorMessage(pg), "permission denied"));
		PQclear(r);
	}
	/* and without the tenant setting it sees no workspace rows at all */
	PGresult *r = PQexec(pg, "SELECT count(*) FROM workspace_audit");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "0");
	PQclear(r);
	PQfinish(pg);
	fx_close(&fx);
}

/* ---- concurrency ---- */

struct racer {
	struct fixture *fx;
	int64_t ws;
	int n;
	int failures;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct store_conn *c;
	char err[256];
	if (store_conn_open(r->fx->t.s, &c, err, sizeof(err)) < 0) {
		r->failures = r->n;
		return NULL;
	}
	for (int i = 0; i < r->n; i++) {
		struct store_tx *tx;
		struct audit_event e = ev("auth.signin", "racer");
		int ok;
		if (i % 2) {
			ok = store_begin_ws(c, r->ws, STORE_WRITE, &tx) == 0;
			ok = ok && audit_append_ws(tx, r->fx->kr, &e) == 0;
		} else {
			e.action = "auth.signin_failed";
			ok = store_begin_global(c, STORE_WRITE, &tx) == 0;
			ok = ok && audit_append_install(tx, r->fx->kr, &e) == 0;
		}
		if (!ok || store_commit(tx) < 0) {
			store_rollback(tx);
			r->failures++;
		}
	}
	store_conn_close(c);
	return NULL;
}

static void test_concurrent_appends(void **state)
{
	struct fixture fx;
	fx_open(&fx, TDB_KIND(state));
	enum { THREADS = 4, EACH = 60 };
	pthread_t th[THREADS];
	struct racer r[THREADS];
	for (int i = 0; i < THREADS; i++) {
		r[i] = (struct racer){.fx = &fx, .ws = fx.a, .n = EACH};
		assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(r[i].failures, 0);
	}
	struct audit_verify v = verify_ws(fx.t.c, fx.kr, fx.a);
	assert_ok(&v, THREADS * EACH / 2);
	v = verify_install(fx.t.c, fx.kr);
	assert_ok(&v, THREADS * EACH / 2);
	v = verify_ws(fx.t.c, fx.kr, fx.b);
	assert_ok(&v, 0);
	fx_close(&fx);
}

/* ---- key rotation ---- */

static void test_key_rotation(void **state)
{
	struct fixture fx;
	fx_open(&fx, TDB_KIND(state));
	fill(&fx, 2, 1, 2);
	char err[256];
	uint32_t new_id = 0;
	assert_int_equal(keyring_rotate(fx.kr, fx.key_path, &new_id, err, sizeof(err)), 0);
	assert_int_equal(new_id, 2);
	fill(&fx, 2, 0, 1);
	struct audit_verify v = verify_ws(fx.t.c, fx.kr, fx.a);
	assert_ok(&v, 4);
	v = verify_install(fx.t.c, fx.kr);
	assert_ok(&v, 3);
	struct store_tx *tx;
	struct audit_rows rows;
	struct audit_filter f = AUDIT_FILTER_ALL;
	f.oldest_first = 1;
	assert_int_equal(store_begin_ws(fx.t.c, fx.a, STORE_READ, &tx), 0);
	assert_int_equal(audit_query_ws(tx, &f, &rows), 0);
	store_rollback(tx);
	assert_int_equal(rows.n, 4);
	assert_int_equal(rows.v[0].key_id, 1);
	assert_int_equal(rows.v[1].key_id, 1);
	assert_int_equal(rows.v[2].key_id, 2);
	assert_int_equal(rows.v[3].key_id, 2);
	audit_rows_free(&rows);
	/* keys retire can tell which keys audit rows still need */
	int64_t used = -1;
	assert_int_equal(audit_key_rows(fx.t.c, 1, &used), 0);
	assert_int_equal(used, 2 + 1 + 2);
	assert_int_equal(audit_key_rows(fx.t.c, 2, &used), 0);
	assert_int_equal(used, 2 + 1);
	assert_int_equal(audit_key_rows(fx.t.c, 3, &used), 0);
	assert_int_equal(used, 0);
	/* the same file reloaded verifies too (the keys come from the file) */
	struct keyring *again;
	assert_int_equal(keyring_load(fx.key_path, &again, err, sizeof(err)), 0);
	v = verify_ws(fx.t.c, again, fx.a);
	assert_ok(&v, 4);
	/* a keyring without key 1 cannot vouch for the old rows, and says so */
	assert_int_equal(keyring_retire(again, fx.key_path, 1, err, sizeof(err)), 0);
	v = verify_ws(fx.t.c, again, fx.a);
	assert_false(v.ok);
	assert_int_equal(v.bad_seq, 1);
	assert_non_null(strstr(v.why, "key id 1 is not in the keyring"));
	/* a different master key: nothing verifies */
	struct keyring *other;
	char other_path[600];
	snprintf(other_path, sizeof(other_path), "%s.other", fx.key_path);
	unlink(other_path);
	assert_int_equal(keyring_create(other_path, &other, err, sizeof(err)), 0);
	v = verify_install(fx.t.c, other);
	assert_false(v.ok);
	assert_int_equal(v.bad_seq, 1);
	keyring_free(other);
	unlink(other_path);
	keyring_free(again);
	fx_close(&fx);
}

/* ---- workspace deletion ---- */

static void test_workspace_delete(void **state)
{
	struct fixture fx;
	fx_open(&fx, TDB_KIND(state));
	fill(&fx, 3, 2, 1);
	struct store_tx *tx;
	assert_int_equal(store_begin_global(fx.t.c, STORE_WRITE, &tx), 0);
	assert_int_equal(store_workspace_delete(tx, fx.a), 0);
	struct audit_event e = {.actor_kind = AUDIT_ACTOR_ACCOUNT,
	                        .actor_id = 42,
	                        .action = "workspace.deleted",
	                        .target = "alpha",
	                        .workspace_id = fx.a};
	assert_int_equal(audit_append_install(tx, fx.kr, &e), 0);
	if (store_commit(tx) < 0)
		fail_msg("delete: %s", store_errmsg(fx.t.c));
	/* a's log went with it */
	int64_t n = -1;
	assert_int_equal(store_begin_ws(fx.t.c, fx.a, STORE_READ, &tx), 0);
	assert_int_equal(store_query_i64(tx, "SELECT count(*) FROM workspace_audit WHERE workspace_id = $1",
	                                 STORE_NO_ARGS, &n),
	                 1);
	store_rollback(tx);
	assert_int_equal(n, 0);
	if (fx.t.kind == STORE_POSTGRES) { /* count every row, past RLS */
		PGconn *pg = PQconnectdb(fx.t.url_maint);
		assert_int_equal(PQstatus(pg), CONNECTION_OK);
		char q[128];
		snprintf(q, sizeof(q), "SELECT count(*) FROM workspace_audit WHERE workspace_id = %lld",
		         (long long)fx.a);
		PGresult *r = PQexec(pg, q);
		assert_string_equal(PQgetvalue(r, 0, 0), "0");
		PQclear(r);
		PQfinish(pg);
	}
	/* the canary's log is whole; the installation log records the deletion */
	struct audit_verify v = verify_ws(fx.t.c, fx.kr, fx.b);
	assert_ok(&v, 2);
	v = verify_install(fx.t.c, fx.kr);
	assert_ok(&v, 2);
	struct audit_rows rows;
	struct audit_filter f = AUDIT_FILTER_ALL;
	f.action_prefix = "workspace.";
	assert_int_equal(store_begin_global(fx.t.c, STORE_READ, &tx), 0);
	assert_int_equal(audit_query_install(tx, &f, &rows), 0);
	store_rollback(tx);
	assert_int_equal(rows.n, 1);
	assert_string_equal(rows.v[0].action, "workspace.deleted");
	assert_true(rows.v[0].workspace_id == fx.a);
	audit_rows_free(&rows);
	/* a new workspace starts its own log at seq 1 */
	int64_t c = make_ws(fx.t.c, "gamma");
	struct audit_event e2 = ev("auth.signin", "c");
	append_ws(fx.t.c, fx.kr, c, &e2);
	v = verify_ws(fx.t.c, fx.kr, c);
	assert_ok(&v, 1);
	fx_close(&fx);
}

/* ---- filters, export ---- */

static void test_query_filters(void **state)
{
	struct fixture fx;
	fx_open(&fx, TDB_KIND(state));
	int64_t t0 = INT64_C(1800000000000);
	struct audit_event e = ev("auth.signin", "one");
	set_clock(t0 + 1000);
	append_ws(fx.t.c, fx.kr, fx.a, &e);
	set_clock(t0 + 2000);
	e = ev("auth.signin_failed", "two");
	e.actor_kind = AUDIT_ACTOR_SYSTEM;
	e.actor_id = 0;
	append_ws(fx.t.c, fx.kr, fx.a, &e);
	set_clock(t0 + 3000);
	e = ev("2fa.enabled", "three");
	e.actor_id = 43;
	append_ws(fx.t.c, fx.kr, fx.a, &e);
	set_clock(t0 + 4000);
	e = ev("session.revoked", "four");
	append_ws(fx.t.c, fx.kr, fx.a, &e);
	e = ev("auth.signin", "canary");
	append_ws(fx.t.c, fx.kr, fx.b, &e);
	set_clock(t0);

	struct {
		const char *prefix;
		int64_t actor, since, until, limit, offset;
		const char *want; /* targets, newest first */
	} cases[] = {
	    {NULL, -1, 0, 0, 0, 0, "four,three,two,one"},
	    {"auth.", -1, 0, 0, 0, 0, "two,one"},
	    {"auth.signin", -1, 0, 0, 0, 0, "two,one"}, /* a prefix: signin_failed too */
	    {"auth.signin_failed", -1, 0, 0, 0, 0, "two"},
	    {"2fa", -1, 0, 0, 0, 0, "three"},
	    {"auth_", -1, 0, 0, 0, 0, ""}, /* '_' is literal, not a wildcard */
	    {NULL, 42, 0, 0, 0, 0, "four,one"},
	    {NULL, 0, 0, 0, 0, 0, "two"},
	    {NULL, -1, t0 + 2000, t0 + 4000, 0, 0, "three,two"},
	    {NULL, -1, t0 + 3500, 0, 0, 0, "four"},
	    {NULL, -1, 0, 0, 2, 1, "three,two"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct audit_filter f = {.action_prefix = cases[i].prefix,
		                         .actor_id = cases[i].actor,
		                         .since_ms = cases[i].since,
		                         .until_ms = cases[i].until,
		                         .limit = cases[i].limit,
		                         .offset = cases[i].offset};
		struct store_tx *tx;
		struct audit_rows rows;
		assert_int_equal(store_begin_ws(fx.t.c, fx.a, STORE_READ, &tx), 0);
		assert_int_equal(audit_query_ws(tx, &f, &rows), 0);
		store_rollback(tx);
		char got[256] = "";
		size_t off = 0;
		for (size_t k = 0; k < rows.n; k++)
			off += (size_t)snprintf(got + off, sizeof(got) - off, "%s%s", k ? "," : "",
			                        rows.v[k].target);
		audit_rows_free(&rows);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, got, cases[i].want);
	}
	/* bad filters are refused before any SQL */
	struct audit_filter bad[] = {
	    {.action_prefix = "auth%", .actor_id = -1},
	    {.action_prefix = "AUTH", .actor_id = -1},
	    {.actor_id = -2},
	    {.actor_id = -1, .limit = LIMIT_AUDIT_QUERY_ROWS + 1},
	    {.actor_id = -1, .offset = -1},
	    {.actor_id = -1, .since_ms = -5},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct store_tx *tx;
		struct audit_rows rows;
		assert_int_equal(store_begin_ws(fx.t.c, fx.a, STORE_READ, &tx), 0);
		assert_int_equal(audit_query_ws(tx, &bad[i], &rows), -1);
		assert_int_equal(rows.n, 0);
		assert_int_equal(store_commit(tx), 0); /* not poisoned */
	}
	fx_close(&fx);
}

static void test_export_paging(void **state)
{
	struct fixture fx;
	fx_open(&fx, TDB_KIND(state));
	enum { N = LIMIT_AUDIT_QUERY_ROWS + 205 };
	struct store_tx *tx;
	assert_int_equal(store_begin_ws(fx.t.c, fx.a, STORE_WRITE, &tx), 0);
	for (int i = 0; i < N; i++) {
		char target[32];
		snprintf(target, sizeof(target), "row-%d", i + 1);
		struct audit_event e = ev("data.read_under_grant", target);
		e.actor_kind = AUDIT_ACTOR_STAFF;
		e.actor_id = 9;
		assert_int_equal(audit_append_ws(tx, fx.kr, &e), 0);
	}
	assert_int_equal(store_commit(tx), 0);
	struct audit_verify v = verify_ws(fx.t.c, fx.kr, fx.a);
	assert_ok(&v, N);
	for (int oldest = 0; oldest <= 1; oldest++) {
		struct buf out;
		buf_init(&out, 0);
		int truncated = -1;
		struct audit_filter f = AUDIT_FILTER_ALL;
		f.oldest_first = oldest;
		assert_int_equal(store_begin_ws(fx.t.c, fx.a, STORE_READ, &tx), 0);
		assert_int_equal(audit_export_ws(tx, &f, AUDIT_CSV, &out, &truncated), 0);
		store_rollback(tx);
		assert_int_equal(truncated, 0);
		/* header + N lines, each seq once, in order */
		int lines = 0;
		int64_t prev = oldest ? 0 : N + 1;
		for (char *p = out.p, *eol; (eol = strstr(p, "\r\n")); p = eol + 2, lines++) {
			if (lines == 0) {
				assert_memory_equal(p, "seq,at,actor_kind", 17);
				continue;
			}
			int64_t seq = strtoll(p, NULL, 10);
			assert_int_equal(seq, oldest ? prev + 1 : prev - 1);
			prev = seq;
		}
		assert_int_equal(lines, N + 1);
		buf_free(&out);
	}
	/* JSON lines: one valid object per row */
	struct buf out;
	buf_init(&out, 0);
	int truncated;
	struct audit_filter f = AUDIT_FILTER_ALL;
	f.since_ms = 1;
	assert_int_equal(store_begin_ws(fx.t.c, fx.a, STORE_READ, &tx), 0);
	assert_int_equal(audit_export_ws(tx, &f, AUDIT_JSONL, &out, &truncated), 0);
	store_rollback(tx);
	int lines = 0;
	for (char *p = out.p, *eol; (eol = strchr(p, '\n')); p = eol + 1, lines++) {
		json_t *o = json_loadb(p, (size_t)(eol - p), 0, NULL);
		assert_non_null(o);
		assert_string_equal(json_string_value(json_object_get(json_object_get(o, "actor"), "kind")),
		                    "staff");
		assert_string_equal(json_string_value(json_object_get(o, "action")), "data.read_under_grant");
		json_decref(o);
	}
	assert_int_equal(lines, N);
	buf_free(&out);
	fx_close(&fx);
}

/* ---- rendering (no database) ---- */

static void csv_one(const char *in, size_t n, const char *want)
{
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(audit_csv_field(&b, in, n), 0);
	if (b.n != strlen(want) || (b.n && memcmp(b.p, want, b.n) != 0))
		fail_msg("csv of [%.*s]: got [%s], want [%s]", (int)n, in, b.p ? b.p : "", want);
	buf_free(&b);
}

static void test_csv_neutralise(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"},
	    {"+1", "'+1"},
	    {"-1", "'-1"},
	    {"@SUM(1)", "'@SUM(1)"},
	    {"\t=1", "'\t=1"},
	    {"\r=1", "\"'\r=1\""},
	    {"\tplain", "'\tplain"},
	    {"  =1+2", "'  =1+2"},
	    {" \n@x", "\"' \n@x\""},
	    {"normal text", "normal text"},
	    {"a=b", "a=b"},
	    {"x-1", "x-1"},
	    {"", ""},
	    {"say \"hi\"", "\"say \"\"hi\"\"\""},
	    {"a,b", "\"a,b\""},
	    {"=1,\"2\"", "\"'=1,\"\"2\"\"\""},
	    {"line1\nline2", "\"line1\nline2\""},
	    {"caf\xc3\xa9", "caf\xc3\xa9"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		csv_one(cases[i].in, strlen(cases[i].in), cases[i].want);
	/* a whole row: every text field goes through the same rule */
	struct audit_row row = {.seq = 7,
	                        .at = INT64_C(1800000000000),
	                        .actor_kind = "account",
	                        .actor_id = 3,
	                        .action = "settings.changed",
	                        .target = "=HYPERLINK(\"http://evil\")",
	                        .detail = "{\"name\":\"-2+3\"}",
	                        .ip = "",
	                        .mac = ""};
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(audit_render(&b, &row, 1, AUDIT_CSV, 0, 1), 0);
	assert_string_equal(b.p, "seq,at,actor_kind,actor_id,action,target,detail,ip\r\n"
	                         "7,2027-01-15T08:00:00.000Z,account,3,settings.changed,"
	                         "\"'=HYPERLINK(\"\"http://evil\"\")\",\"{\"\"name\"\":\"\"-2+3\"\"}\",\r\n");
	buf_free(&b);
}

static void test_jsonl_untrusted_rows(void **state)
{
	(void)state;
	/* a row edited in the database: invalid JSON detail, invalid UTF-8, control bytes */
	struct audit_row row = {.seq = 1,
	                        .at = 5,
	                        .actor_kind = "account",
	                        .actor_id = 3,
	                        .action = "auth.signin",
	                        .target = "bad \xff utf8 \x1b[31m",
	                        .detail = "{not json",
	                        .ip = "",
	                        .workspace_id = 77,
	                        .mac = ""};
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(audit_render(&b, &row, 1, AUDIT_JSONL, 1, 0), 0);
	json_t *o = json_loads(b.p, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "detail")), "{not json");
	assert_string_equal(json_string_value(json_object_get(o, "target")),
	                    "bad \xef\xbf\xbd utf8 \x1b[31m");
	assert_int_equal(json_integer_value(json_object_get(o, "workspace_id")), 77);
	assert_null(strchr(b.p, 0x1b)); /* escaped as \u001b */
	json_decref(o);
	buf_free(&b);
	/* terminal escaping: C0, DEL and UTF-8 C1 (CSI) */
	buf_init(&b, 0);
	const char s[] = "a\x1b[2Jb\x7f\xc2\x9b"
	                 "c\"\\";
	assert_int_equal(audit_put_escaped(&b, s, sizeof(s) - 1), 0);
	assert_string_equal(b.p, "a\\x1b[2Jb\\x7f\\u009bc\\\"\\\\");
	buf_free(&b);
}

/* ---- events and the chain format (no database) ---- */

static void test_event_check(void **state)
{
	(void)state;
	char why[200];
	struct audit_event ok = ev("auth.signin", "x");
	assert_int_equal(audit_event_check(&ok, AUDIT_LOG_WS, why, sizeof(why)), 0);
	assert_int_equal(audit_event_check(&ok, AUDIT_LOG_INSTALL, why, sizeof(why)), 0);
	struct {
		struct audit_event e;
		unsigned log;
		const char *why;
	} bad[] = {
	    {{.actor_kind = AUDIT_ACTOR_CLI, .action = "auth.nope"}, AUDIT_LOG_WS, "unknown audit action"},
	    {{.actor_kind = AUDIT_ACTOR_CLI, .action = NULL}, AUDIT_LOG_WS, "unknown audit action"},
	    {{.actor_kind = AUDIT_ACTOR_CLI, .action = "workspace.deleted"}, AUDIT_LOG_WS, "does not belong"},
	    {{.actor_kind = AUDIT_ACTOR_CLI, .action = "member.added"}, AUDIT_LOG_INSTALL, "does not belong"},
	    {{.actor_kind = AUDIT_ACTOR_ACCOUNT, .action = "auth.signin"},
	     AUDIT_LOG_WS,
	     "needs an account id"},
	    {{.actor_kind = AUDIT_ACTOR_STAFF, .actor_id = -3, .action = "auth.signin"},
	     AUDIT_LOG_WS,
	     "account id"},
	    {{.actor_kind = AUDIT_ACTOR_CLI, .actor_id = 5, .action = "auth.signin"},
	     AUDIT_LOG_WS,
	     "has no account id"},
	    {{.actor_kind = (enum audit_actor)9, .action = "auth.signin"},
	     AUDIT_LOG_WS,
	     "unknown actor kind"},
	    {{.actor_kind = AUDIT_ACTOR_CLI, .action = "auth.signin", .ip = "not-an-ip"}, AUDIT_LOG_WS, "ip"},
	    {{.actor_kind = AUDIT_ACTOR_CLI, .action = "auth.signin", .detail = "[1]"},
	     AUDIT_LOG_WS,
	     "JSON object"},
	    {{.actor_kind = AUDIT_ACTOR_CLI, .action = "auth.signin", .detail = "{\"a\":1,\"a\":2}"},
	     AUDIT_LOG_WS,
	     "JSON object"},
	    {{.actor_kind = AUDIT_ACTOR_CLI, .action = "auth.signin", .detail = "{\"new_password\":\"x\"}"},
	     AUDIT_LOG_WS,
	     "looks like a secret"},
	    {{.actor_kind = AUDIT_ACTOR_CLI,
	      .action = "auth.signin",
	      .detail = "{\"a\":[{\"Session_Token\":1}]}"},
	     AUDIT_LOG_WS,
	     "looks like a secret"},
	    {{.actor_kind = AUDIT_ACTOR_CLI, .action = "auth.signin", .detail = "{\"totp_seed\":1}"},
	     AUDIT_LOG_WS,
	     "looks like a secret"},
	    {{.actor_kind = AUDIT_ACTOR_CLI, .action = "workspace.deleted", .workspace_id = -1},
	     AUDIT_LOG_INSTALL,
	     "workspace id"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (audit_event_check(&bad[i].e, bad[i].log, why, sizeof(why)) == 0)
			fail_msg("case %zu accepted", i);
		if (!strstr(why, bad[i].why))
			fail_msg("case %zu: '%s' does not say '%s'", i, why, bad[i].why);
	}
	/* allowed: ids in detail, IPv6, a token *id* */
	struct audit_event fine = {.actor_kind = AUDIT_ACTOR_STAFF,
	                           .actor_id = 1,
	                           .action = "data.read_under_grant",
	                           .detail = "{\"grant_id\":5,\"token_id\":3,\"route\":\"/w/:id/users\"}",
	                           .ip = "2001:db8::1"};
	assert_int_equal(audit_event_check(&fine, AUDIT_LOG_WS, why, sizeof(why)), 0);
	char big[LIMIT_AUDIT_DETAIL + 16];
	memset(big, ' ', sizeof(big));
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	big[sizeof(big) - 1] = '\0';
	fine.detail = big;
	assert_int_equal(audit_event_check(&fine, AUDIT_LOG_WS, why, sizeof(why)), -1);
	/* every action in the list has a dotted name that fits and a log */
	for (const struct audit_action *a = audit_actions; a->name; a++) {
		assert_true(strlen(a->name) <= AUDIT_ACTION_MAX);
		assert_non_null(strchr(a->name, '.'));
		assert_true(a->logs != 0);
		assert_ptr_equal(audit_action_find(a->name), a);
	}
}

static void test_target_cleaning(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	const char in[] = "ok \xc3\xa9 \xff \xed\xa0\x80 \xc0\xaf \xf4\x90\x80\x80 \xe2\x82";
	assert_int_equal(audit_utf8_clean(&b, in, sizeof(in) - 1, 0), 0);
	assert_string_equal(
	    b.p, "ok \xc3\xa9 \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd "
	         "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd");
	buf_free(&b);
	/* a long target is cut at a character boundary */
	char longer[LIMIT_AUDIT_TARGET * 2 + 1];
	for (size_t i = 0; i + 1 < sizeof(longer); i += 2)
		memcpy(longer + i, "\xc3\xa9", 2);
	longer[sizeof(longer) - 1] = '\0';
	buf_init(&b, 0);
	assert_int_equal(audit_utf8_clean(&b, "x", 1, 0), 0); /* cap counts only the appended bytes */
	assert_int_equal(audit_utf8_clean(&b, longer, strlen(longer), 3), 0);
	assert_string_equal(b.p, "x\xc3\xa9");
	buf_free(&b);
}

/* The canonical encoding is injective on field boundaries, and the mac is
 * HMAC-SHA256(key, prev || canonical) as documented (computed here independently). */
static void test_chain_format(void **state)
{
	(void)state;
	struct audit_fields a = {.log_ws = 5,
	                         .seq = 2,
	                         .at = 1000,
	                         .actor_kind = STR_LIT("account"),
	                         .actor_id = 42,
	                         .action = STR_LIT("auth.signin"),
	                         .target = STR_LIT("ab"),
	                         .detail = STR_LIT("{}"),
	                         .ip = STR_LIT(""),
	                         .workspace_id = 5,
	                         .key_id = 1};
	struct audit_fields b = a;
	b.target = STR_LIT("a");
	b.detail = STR_LIT("b{}");
	struct buf ea, eb;
	buf_init(&ea, 0);
	buf_init(&eb, 0);
	assert_int_equal(audit_canonical(&ea, &a), 0);
	assert_int_equal(audit_canonical(&eb, &b), 0);
	assert_false(ea.n == eb.n && memcmp(ea.p, eb.p, ea.n) == 0);
	/* the installation log (log_ws 0) never encodes like a workspace log */
	struct audit_fields c = a;
	c.log_ws = 0;
	buf_reset(&eb);
	assert_int_equal(audit_canonical(&eb, &c), 0);
	assert_false(ea.n == eb.n && memcmp(ea.p, eb.p, ea.n) == 0);

	/* independent encoding of a */
	struct buf want;
	buf_init(&want, 0);
	const unsigned char i64_hdr[4] = {0, 0, 0, 8};
	int64_t ints_before[] = {2, 5, 2, 1000};
#define PUT_I64(v)                                                                                           \
	do {                                                                                                 \
		uint64_t u_ = (uint64_t)(v);                                                                 \
		buf_append(&want, i64_hdr, 4);                                                               \
		for (int k_ = 7; k_ >= 0; k_--)                                                              \
			buf_putc(&want, (char)(u_ >> (8 * k_)));                                             \
	} while (0)
#define PUT_STR(s)                                                                                           \
	do {                                                                                                 \
		size_t n_ = strlen(s);                                                                       \
		unsigned char h_[4] = {0, 0, 0, (unsigned char)n_};                                          \
		buf_append(&want, h_, 4);                                                                    \
		buf_append(&want, s, n_);                                                                    \
	} while (0)
	PUT_STR("dropfix-audit-v1");
	for (size_t i = 0; i < 4; i++)
		PUT_I64(ints_before[i]);
	PUT_STR("account");
	PUT_I64(42);
	PUT_STR("auth.signin");
	PUT_STR("ab");
	PUT_STR("{}");
	PUT_STR("");
	PUT_I64(5);
	PUT_I64(1);
	assert_int_equal(ea.n, want.n);
	assert_memory_equal(ea.p, want.p, want.n);

	uint8_t key[KEYRING_KEY_BYTES], prev[AUDIT_MAC_BYTES], mac[AUDIT_MAC_BYTES], ref[AUDIT_MAC_BYTES];
	for (int i = 0; i < KEYRING_KEY_BYTES; i++)
		key[i] = (uint8_t)i;
	memset(prev, 0xab, sizeof(prev));
	assert_int_equal(audit_mac(key, prev, &a, mac), 0);
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, sizeof(key));
	crypto_auth_hmacsha256_update(&st, prev, sizeof(prev));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)want.p, want.n);
	crypto_auth_hmacsha256_final(&st, ref);
	assert_memory_equal(mac, ref, sizeof(mac));
	char hex[AUDIT_MAC_HEX + 1];
	uint8_t back[AUDIT_MAC_BYTES];
	audit_hex(mac, sizeof(mac), hex);
	assert_int_equal(audit_unhex(hex, strlen(hex), back), 0);
	assert_memory_equal(back, mac, sizeof(mac));
	assert_int_equal(audit_unhex(hex, strlen(hex) - 1, back), -1);
	hex[5] = 'G';
	assert_int_equal(audit_unhex(hex, strlen(hex), back), -1);
	buf_free(&ea);
	buf_free(&eb);
	buf_free(&want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_csv_neutralise),
	    cmocka_unit_test(test_jsonl_untrusted_rows),
	    cmocka_unit_test(test_event_check),
	    cmocka_unit_test(test_target_cleaning),
	    cmocka_unit_test(test_chain_format),
#define BOTH(f)                                                                                              \
	cmocka_unit_test_prestate(f, (void *)&tdb_sqlite), cmocka_unit_test_prestate(f, (void *)&tdb_pg)
	    BOTH(test_append_verify),
	    BOTH(test_edit_detected),
	    BOTH(test_delete_and_reorder_detected),
	    BOTH(test_concurrent_appends),
	    BOTH(test_key_rotation),
	    BOTH(test_workspace_delete),
	    BOTH(test_query_filters),
	    BOTH(test_export_paging),
	    cmocka_unit_test_prestate(test_pg_app_role_append_only, (void *)&tdb_pg),
	};
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
