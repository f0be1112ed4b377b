/* Store tests, each on SQLite and PostgreSQL (as the app role), always with a second
 * canary tenant holding data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>

#include "core/clock.h"
#include "core/limits.h"
#include "store/store_int.h"
#include "store_testlib.h"

#define OPEN_OR_FAIL(t, kind) assert_int_equal(tdb_open((t), (kind)), 0)

static int64_t make_ws(struct store_conn *c, const char *name)
{
	struct store_tx *tx;
	int64_t id = 0;
	struct store_workspace_new w = {.name = name, .product_name = "P", .timezone = "UTC", .currency = "EUR"};
	assert_int_equal(store_begin_global(c, STORE_WRITE, &tx), 0);
	assert_int_equal(store_workspace_create(tx, &w, &id), 0);
	assert_int_equal(store_commit(tx), 0);
	assert_true(id >= 1 && id < (INT64_C(1) << 53));
	return id;
}

static void put_secret(struct store_conn *c, int64_t ws, const char *name, const char *sealed)
{
	struct store_tx *tx;
	char rk[64];
	snprintf(rk, sizeof(rk), "rk-%s", name);
	assert_int_equal(store_begin_ws(c, ws, STORE_WRITE, &tx), 0);
	int rc = store_exec(tx,
			    "INSERT INTO workspace_secrets (workspace_id, name, row_key, sealed, key_id, updated_at) "
			    "VALUES ($1, $2, $3, $4, 'k1', $5)",
			    STORE_ARGS(SP_TEXT(name), SP_TEXT(rk), SP_TEXT(sealed), SP_I64(clock_now_ms())));
	if (rc < 0)
		fail_msg("insert: %s", store_errmsg(c));
	assert_int_equal(store_commit(tx), 0);
}

/* Reads sealed for name in ws, or "" when absent. */
static void get_secret(struct store_conn *c, int64_t ws, const char *name, char *out, size_t outlen)
{
	struct store_tx *tx;
	struct store_rows *r;
	out[0] = '\0';
	assert_int_equal(store_begin_ws(c, ws, STORE_READ, &tx), 0);
	assert_int_equal(store_query(tx, "SELECT sealed FROM workspace_secrets WHERE name = $2 AND workspace_id = $1",
				     STORE_ARGS(SP_TEXT(name)), &r),
			 0);
	if (store_step(r) == 1) {
		size_t n;
		const char *v = store_col_text(r, 0, &n);
		snprintf(out, outlen, "%.*s", (int)n, v);
	}
	store_rows_close(r);
	assert_int_equal(store_commit(tx), 0);
}

static int64_t count_secrets(struct store_conn *c, int64_t ws)
{
	struct store_tx *tx;
	int64_t n = -1;
	assert_int_equal(store_begin_ws(c, ws, STORE_READ, &tx), 0);
	assert_int_equal(store_query_i64(tx, "SELECT count(*) FROM workspace_secrets WHERE workspace_id = $1",
					 STORE_NO_ARGS, &n),
			 1);
	assert_int_equal(store_commit(tx), 0);
	return n;
}

/* ---- out-of-order placeholders ---- */

static void test_out_of_order_placeholders(void **state)
{
	struct tdb t;
	OPEN_OR_FAIL(&t, TDB_KIND(state));
	int64_t a = make_ws(t.c, "alpha"), b = make_ws(t.c, "canary");
	put_secret(t.c, a, "stripe", "sealed-A");
	put_secret(t.c, b, "stripe", "sealed-B");
	char v[64];
	get_secret(t.c, a, "stripe", v, sizeof(v));
	assert_string_equal(v, "sealed-A");
	get_secret(t.c, b, "stripe", v, sizeof(v));
	assert_string_equal(v, "sealed-B");

	/* global table, $2 before $1 in the text: a shifted bind would swap them */
	struct store_tx *tx;
	struct store_rows *r;
	assert_int_equal(store_begin_global(t.c, STORE_READ, &tx), 0);
	assert_int_equal(store_query(tx, "SELECT name FROM workspaces WHERE name = $2 AND id = $1",
				     STORE_ARGS(SP_I64(b), SP_TEXT("canary")), &r),
			 0);
	assert_int_equal(store_step(r), 1);
	size_t n;
	assert_memory_equal(store_col_text(r, 0, &n), "canary", 6);
	assert_int_equal(store_step(r), 0);
	store_rows_close(r);
	assert_int_equal(store_query(tx, "SELECT name FROM workspaces WHERE name = $2 AND id = $1",
				     STORE_ARGS(SP_I64(a), SP_TEXT("canary")), &r),
			 0);
	assert_int_equal(store_step(r), 0);
	store_rows_close(r);
	/* a placeholder used twice, and $3 before $2 */
	int64_t got = 0;
	assert_int_equal(store_query_i64(tx, "SELECT id FROM workspaces WHERE id = $1 AND $3 = 'x' AND id = $1 AND $2 = 7",
					 STORE_ARGS(SP_I64(a), SP_I64(7), SP_TEXT("x")), &got),
			 1);
	assert_true(got == a);
	assert_int_equal(store_commit(tx), 0);
	tdb_close(&t);
}

/* ---- typed values ---- */

static void test_typed_roundtrip(void **state)
{
	struct tdb t;
	OPEN_OR_FAIL(&t, TDB_KIND(state));
	struct store_tx *tx;
	struct store_rows *r;
	static const unsigned char blob[] = {0, 1, 2, 0xff, 0, 'x'};
	const char text[] = "h\xc3\xa9llo 'quoted' \"dq\" \\ end";
	assert_int_equal(store_begin_global(t.c, STORE_READ, &tx), 0);
	int rc = store_query(tx, "SELECT $1, $2, $3, $4, $5, $6",
			     STORE_ARGS(SP_I64(INT64_C(-9007199254740991)), SP_TEXTN(text, sizeof(text) - 1),
					SP_BLOB(blob, sizeof(blob)), SP_NULL, SP_BLOB("", 0), SP_I64(INT64_MAX)),
			     &r);
	if (rc < 0)
		fail_msg("%s", store_errmsg(t.c));
	assert_int_equal(store_step(r), 1);
	assert_int_equal(store_col_count(r), 6);
	assert_true(store_col_i64(r, 0) == INT64_C(-9007199254740991));
	size_t n;
	const char *s = store_col_text(r, 1, &n);
	assert_int_equal(n, sizeof(text) - 1);
	assert_memory_equal(s, text, n);
	assert_int_equal(s[n], '\0');
	const void *bl = store_col_blob(r, 2, &n);
	assert_int_equal(n, sizeof(blob));
	assert_memory_equal(bl, blob, n);
	bl = store_col_blob(r, 2, &n); /* second access, same row */
	assert_int_equal(n, sizeof(blob));
	assert_memory_equal(bl, blob, n);
	assert_true(store_col_is_null(r, 3));
	assert_null(store_col_text(r, 3, &n));
	assert_int_equal(n, 0);
	assert_false(store_col_is_null(r, 4));
	store_col_blob(r, 4, &n);
	assert_int_equal(n, 0);
	assert_true(store_col_i64(r, 5) == INT64_MAX);
	assert_true(store_col_is_null(r, 99));
	assert_int_equal(store_step(r), 0);
	store_rows_close(r);
	assert_int_equal(store_commit(tx), 0);
	tdb_close(&t);
}

/* ---- the guard ---- */

static void expect_refused(struct store_tx *tx, const char *sql, enum store_code code)
{
	struct store_conn *c = store_tx_conn(tx);
	assert_int_equal(store_exec(tx, sql, STORE_NO_ARGS), -1);
	if (store_errcode(c) != code)
		fail_msg("%s: expected %s, got %s (%s)", sql, store_code_name(code), store_code_name(store_errcode(c)),
			 store_errmsg(c));
}

static void test_guard_runtime(void **state)
{
	struct tdb t;
	OPEN_OR_FAIL(&t, TDB_KIND(state));
	int64_t a = make_ws(t.c, "alpha"), b = make_ws(t.c, "canary");
	put_secret(t.c, b, "canary", "sealed-B");
	static const char *const global_refused[] = {
		"SELECT count(*) FROM workspace_secrets",
		"SELECT count(*) FROM workspace_secrets WHERE workspace_id = $1",
		"SELECT w.name FROM workspaces w JOIN workspace_secrets s ON s.workspace_id = w.id",
		"DELETE FROM workspace_secrets",
		"UPDATE workspace_secrets SET sealed = 'x'",
		"SELECT count(*) FROM no_such_table_is_tenant_by_default",
	};
	for (size_t i = 0; i < sizeof(global_refused) / sizeof(global_refused[0]); i++) {
		struct store_tx *tx;
		assert_int_equal(store_begin_global(t.c, STORE_WRITE, &tx), 0);
		expect_refused(tx, global_refused[i], STORE_E_TENANT);
		assert_int_equal(store_commit(tx), -1); /* poisoned */
		assert_int_equal(store_errcode(t.c), STORE_E_TENANT);
	}
	static const char *const ws_refused[] = {
		"SELECT count(*) FROM workspace_secrets",
		"SELECT count(*) FROM workspace_secrets WHERE workspace_id = $2",
		"SELECT count(*) FROM workspace_secrets WHERE name = 'x' OR workspace_id = $1",
		"SELECT count(*) FROM workspace_secrets WHERE workspace_id = $1 OR 1 = 1",
		"SELECT count(*) FROM workspace_secrets WHERE workspace_id <> $1",
		"SELECT count(*) FROM workspace_secrets WHERE workspace_id = $1 + 0",
		"SELECT count(*) FROM workspace_secrets WHERE NOT workspace_id = $1",
		"SELECT count(*) FROM workspace_secrets a, workspace_secrets b WHERE workspace_id = $1",
		"SELECT count(*) FROM workspace_secrets a JOIN workspace_secrets b ON b.name = a.name WHERE a.workspace_id = $1",
		"SELECT count(*) FROM workspace_secrets WHERE name IN (SELECT name FROM workspace_secrets) AND workspace_id = $1",
		"DELETE FROM workspace_secrets WHERE name = 'x'",
		"UPDATE workspace_secrets SET workspace_id = 5 WHERE workspace_id = $1",
		"UPDATE workspace_secrets SET sealed = 'x', workspace_id = 5 WHERE workspace_id = $1",
		"INSERT INTO workspace_secrets (name, workspace_id, row_key, sealed, key_id, updated_at) VALUES ('n', $1, 'r', 's', 'k', 0)",
		"INSERT INTO workspace_secrets (workspace_id, name, row_key, sealed, key_id, updated_at) VALUES (5, 'n', 'r', 's', 'k', 0)",
		"INSERT INTO workspace_secrets (workspace_id, name, row_key, sealed, key_id, updated_at) VALUES ($1, 'n', 'r', 's', 'k', 0), (7, 'm', 'q', 's', 'k', 0)",
		"INSERT INTO workspace_secrets SELECT * FROM workspace_secrets",
		"SELECT set_config('app.workspace_id', '7', true)",
		"SELECT 1; DELETE FROM workspaces",
		"BEGIN",
		"PRAGMA foreign_keys=OFF",
		"ATTACH DATABASE 'x' AS y",
	};
	for (size_t i = 0; i < sizeof(ws_refused) / sizeof(ws_refused[0]); i++) {
		struct store_tx *tx;
		assert_int_equal(store_begin_ws(t.c, a, STORE_WRITE, &tx), 0);
		expect_refused(tx, ws_refused[i], STORE_E_TENANT);
		store_rollback(tx);
	}
	/* accepted forms */
	struct store_tx *tx;
	assert_int_equal(store_begin_ws(t.c, a, STORE_WRITE, &tx), 0);
	int64_t n = -1;
	assert_int_equal(store_query_i64(tx,
					 "SELECT count(*) FROM workspace_secrets s JOIN workspace_secrets o ON o.workspace_id = $1 "
					 "AND o.name = s.name WHERE s.workspace_id = $1",
					 STORE_NO_ARGS, &n),
			 1);
	assert_int_equal(n, 0);
	assert_int_equal(store_query_i64(tx,
					 "SELECT count(*) FROM workspace_secrets WHERE workspace_id = $1 AND (name = $2 OR name = $3)",
					 STORE_ARGS(SP_TEXT("canary"), SP_TEXT("x")), &n),
			 1);
	assert_int_equal(n, 0); /* the canary's row is not visible from a */
	assert_int_equal(store_query_i64(tx, "SELECT count(*) FROM workspaces WHERE id = $1", STORE_NO_ARGS, &n), 1);
	assert_int_equal(n, 1); /* global tables are readable in a workspace transaction */
	assert_int_equal(store_exec(tx,
				    "WITH mine AS (SELECT name FROM workspace_secrets WHERE workspace_id = $1) "
				    "DELETE FROM workspace_secrets WHERE workspace_id = $1 AND name IN (SELECT name FROM mine)",
				    STORE_NO_ARGS),
			 0);
	/* wrong parameter count */
	assert_int_equal(store_exec(tx, "DELETE FROM workspace_secrets WHERE workspace_id = $1 AND name = $2", STORE_NO_ARGS),
			 -1);
	assert_int_equal(store_errcode(t.c), STORE_E_SQL);
	store_rollback(tx);
	assert_int_equal(count_secrets(t.c, b), 1);
	tdb_close(&t);
}

/* ---- read-only transactions ---- */

static void test_read_only_refuses_writes(void **state)
{
	struct tdb t;
	OPEN_OR_FAIL(&t, TDB_KIND(state));
	int64_t a = make_ws(t.c, "alpha");
	(void)make_ws(t.c, "canary");
	struct store_tx *tx;
	assert_int_equal(store_begin_global(t.c, STORE_READ, &tx), 0);
	assert_int_equal(store_exec(tx, "UPDATE workspaces SET name = 'x' WHERE id = $1", STORE_ARGS(SP_I64(a))), -1);
	assert_int_equal(store_errcode(t.c), STORE_E_READONLY);
	assert_int_equal(store_commit(tx), -1);
	assert_int_equal(store_begin_ws(t.c, a, STORE_READ, &tx), 0);
	assert_int_equal(store_exec(tx,
				    "INSERT INTO workspace_secrets (workspace_id, name, row_key, sealed, key_id, updated_at) "
				    "VALUES ($1, 'n', 'r', 's', 'k', 0)",
				    STORE_NO_ARGS),
			 -1);
	assert_int_equal(store_errcode(t.c), STORE_E_READONLY);
	store_rollback(tx);
	assert_int_equal(count_secrets(t.c, a), 0);
	char name[64];
	assert_int_equal(store_begin_global(t.c, STORE_READ, &tx), 0);
	struct store_rows *r;
	assert_int_equal(store_query(tx, "SELECT name FROM workspaces WHERE id = $1", STORE_ARGS(SP_I64(a)), &r), 0);
	assert_int_equal(store_step(r), 1);
	size_t n;
	const char *v = store_col_text(r, 0, &n);
	snprintf(name, sizeof(name), "%.*s", (int)n, v);
	store_rows_close(r);
	assert_int_equal(store_commit(tx), 0);
	assert_string_equal(name, "alpha");
	tdb_close(&t);
}

/* ---- create, store, delete, create: nothing inherited ---- */

static void test_delete_workspace_nothing_inherited(void **state)
{
	struct tdb t;
	OPEN_OR_FAIL(&t, TDB_KIND(state));
	int64_t canary = make_ws(t.c, "canary");
	put_secret(t.c, canary, "stripe", "sealed-canary");
	int64_t a = make_ws(t.c, "doomed");
	put_secret(t.c, a, "stripe", "sealed-doomed");
	put_secret(t.c, a, "slack", "sealed-doomed-2");
	assert_int_equal(count_secrets(t.c, a), 2);

	struct store_tx *tx;
	assert_int_equal(store_begin_global(t.c, STORE_WRITE, &tx), 0);
	assert_int_equal(store_workspace_delete(tx, a), 0);
	assert_int_equal(store_commit(tx), 0);
	assert_int_equal(count_secrets(t.c, a), 0); /* cascaded */
	assert_int_equal(count_secrets(t.c, canary), 1);

	int64_t b = make_ws(t.c, "fresh");
	assert_true(b != a);
	assert_int_equal(count_secrets(t.c, b), 0);
	char v[64];
	get_secret(t.c, b, "stripe", v, sizeof(v));
	assert_string_equal(v, "");
	get_secret(t.c, canary, "stripe", v, sizeof(v));
	assert_string_equal(v, "sealed-canary");

	/* the deleted id stays retired */
	assert_int_equal(store_begin_global(t.c, STORE_WRITE, &tx), 0);
	assert_int_equal(store_exec(tx, "INSERT INTO workspace_ids (id, created_at) VALUES ($1, 0) ON CONFLICT (id) DO NOTHING",
				    STORE_ARGS(SP_I64(a))),
			 0);
	assert_int_equal(store_changes(tx), 0);
	int64_t del = 0;
	assert_int_equal(store_query_i64(tx, "SELECT deleted_at FROM workspace_ids WHERE id = $1", STORE_ARGS(SP_I64(a)), &del), 1);
	assert_true(del > 0);
	assert_int_equal(store_commit(tx), 0);
	tdb_close(&t);
}

/* ---- rebind (group commit) ---- */

static void test_ws_rebind(void **state)
{
	struct tdb t;
	OPEN_OR_FAIL(&t, TDB_KIND(state));
	int64_t a = make_ws(t.c, "alpha"), b = make_ws(t.c, "canary");
	struct store_tx *tx;
	const char *ins = "INSERT INTO workspace_secrets (workspace_id, name, row_key, sealed, key_id, updated_at) "
			  "VALUES ($1, $2, $2, $3, 'k', 0)";
	assert_int_equal(store_begin_ws(t.c, a, STORE_WRITE, &tx), 0);
	assert_int_equal(store_exec(tx, ins, STORE_ARGS(SP_TEXT("one"), SP_TEXT("A"))), 0);
	assert_int_equal(store_ws_rebind(tx, b), 0);
	assert_true(store_tx_workspace(tx) == b);
	assert_int_equal(store_exec(tx, ins, STORE_ARGS(SP_TEXT("one"), SP_TEXT("B"))), 0);
	assert_int_equal(store_exec(tx, ins, STORE_ARGS(SP_TEXT("two"), SP_TEXT("B"))), 0);
	assert_int_equal(store_commit(tx), 0);
	assert_int_equal(count_secrets(t.c, a), 1);
	assert_int_equal(count_secrets(t.c, b), 2);
	char v[16];
	get_secret(t.c, a, "one", v, sizeof(v));
	assert_string_equal(v, "A");
	tdb_close(&t);
}

/* ---- schema ---- */

static void test_schema_newer_refused(void **state)
{
	struct tdb t;
	enum store_backend kind = TDB_KIND(state);
	assert_int_equal(tdb_create(&t, kind), 0);
	char err[512];
	int cur = -1, known = -1;
	struct store *s;
	assert_int_equal(store_open(t.url_app, NULL, &s, err, sizeof(err)), 0);
	assert_int_equal(store_schema_version(s, &cur, &known, err, sizeof(err)), 0);
	assert_int_equal(cur, known);
	assert_true(known >= 1);
	int applied = -1;
	store_close(s);
	/* migrating again applies nothing */
	struct store_opts oo = {.role = STORE_ROLE_OWNER, .skip_schema_check = 1};
	assert_int_equal(store_open(t.url_owner, &oo, &s, err, sizeof(err)), 0);
	assert_int_equal(store_migrate(s, &applied, err, sizeof(err)), 0);
	assert_int_equal(applied, 0);
	/* a future version appears (written by the owner, bypassing the guard) */
	struct store_conn *c;
	struct store_tx *tx;
	assert_int_equal(store_conn_open(s, &c, err, sizeof(err)), 0);
	assert_int_equal(store_begin_internal(c, STORE_WRITE, &tx), 0);
	assert_int_equal(store_exec_internal(tx,
					     "INSERT INTO schema_migrations (version, name, applied_at, checksum) "
					     "VALUES (9999, '9999_future', 0, 'x')",
					     STORE_NO_ARGS),
			 0);
	assert_int_equal(store_commit(tx), 0);
	store_conn_close(c);
	assert_int_equal(store_migrate(s, &applied, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "newer than this dropfix knows"));
	store_close(s);
	struct store *s2 = NULL;
	assert_int_equal(store_open(t.url_app, NULL, &s2, err, sizeof(err)), -1);
	assert_null(s2);
	assert_non_null(strstr(err, "newer than this dropfix knows"));
	t.s = NULL;
	t.c = NULL;
	tdb_close(&t);
}

static void test_migration_checksum_mismatch(void **state)
{
	struct tdb t;
	enum store_backend kind = TDB_KIND(state);
	assert_int_equal(tdb_create(&t, kind), 0);
	char err[512];
	struct store_opts oo = {.role = STORE_ROLE_OWNER, .skip_schema_check = 1};
	struct store *s;
	struct store_conn *c;
	struct store_tx *tx;
	assert_int_equal(store_open(t.url_owner, &oo, &s, err, sizeof(err)), 0);
	assert_int_equal(store_conn_open(s, &c, err, sizeof(err)), 0);
	assert_int_equal(store_begin_internal(c, STORE_WRITE, &tx), 0);
	assert_int_equal(store_exec_internal(tx, "UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 1",
					     STORE_NO_ARGS),
			 0);
	assert_int_equal(store_commit(tx), 0);
	store_conn_close(c);
	int applied;
	assert_int_equal(store_migrate(s, &applied, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "changed after it was applied"));
	store_close(s);
	tdb_close(&t);
}

/* Every tenant table: workspace_id first in the primary key, every unique index and
 * every foreign key; a foreign key workspace_id -> workspaces ON DELETE CASCADE. */
static void schema_lint_sqlite(struct tdb *t)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(t->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *tabs;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
					    -1, &tabs, NULL),
			 SQLITE_OK);
	int tenant_tables = 0;
	while (sqlite3_step(tabs) == SQLITE_ROW) {
		const char *tn = (const char *)sqlite3_column_text(tabs, 0);
		if (store_is_global_table(tn, strlen(tn)))
			continue;
		tenant_tables++;
		char q[256];
		sqlite3_stmt *st;
		/* primary key: column with pk = 1 is workspace_id */
		snprintf(q, sizeof(q), "SELECT name FROM pragma_table_info('%s') WHERE pk = 1", tn);
		assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		if (strcmp((const char *)sqlite3_column_text(st, 0), "workspace_id") != 0)
			fail_msg("%s: primary key does not start with workspace_id", tn);
		sqlite3_finalize(st);
		/* unique indexes (and the pk index): first column */
		snprintf(q, sizeof(q),
			 "SELECT l.name, (SELECT ii.name FROM pragma_index_info(l.name) ii WHERE ii.seqno = 0) "
			 "FROM pragma_index_list('%s') l WHERE l.\"unique\" = 1",
			 tn);
		assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *col = (const char *)sqlite3_column_text(st, 1);
			if (!col || strcmp(col, "workspace_id") != 0)
				fail_msg("%s: unique index %s does not start with workspace_id", tn, sqlite3_column_text(st, 0));
		}
		sqlite3_finalize(st);
		/* foreign keys: seq 0 is workspace_id for every key id */
		snprintf(q, sizeof(q), "SELECT id, \"from\", \"table\", on_delete FROM pragma_foreign_key_list('%s') WHERE seq = 0",
			 tn);
		assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
		int cascade_to_ws = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *from = (const char *)sqlite3_column_text(st, 1);
			if (strcmp(from, "workspace_id") != 0)
				fail_msg("%s: a foreign key starts with %s, not workspace_id", tn, from);
			if (strcmp((const char *)sqlite3_column_text(st, 2), "workspaces") == 0 &&
			    strcmp((const char *)sqlite3_column_text(st, 3), "CASCADE") == 0)
				cascade_to_ws = 1;
		}
		sqlite3_finalize(st);
		if (!cascade_to_ws)
			fail_msg("%s: no workspace_id REFERENCES workspaces ON DELETE CASCADE", tn);
	}
	sqlite3_finalize(tabs);
	sqlite3_close(db);
	assert_true(tenant_tables >= 1);
}

static PGresult *admin_query(PGconn *pg, const char *sql)
{
	PGresult *r = PQexec(pg, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(pg));
	return r;
}

static void schema_lint_pg(struct tdb *t)
{
	PGconn *pg = PQconnectdb(t->url_admin);
	assert_int_equal(PQstatus(pg), CONNECTION_OK);
	/* RLS: every table outside the global list has relrowsecurity AND relforcerowsecurity */
	PGresult *r = admin_query(pg, "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
				      "(SELECT count(*) FROM pg_policies p WHERE p.schemaname = n.nspname AND p.tablename = c.relname "
				      " AND p.qual LIKE '%current_setting(''app.workspace_id''::text, true)%' "
				      " AND p.with_check LIKE '%current_setting(''app.workspace_id''::text, true)%') "
				      "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
				      "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
				      "AND c.relkind IN ('r', 'p')");
	int tenant = 0, global = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *tn = PQgetvalue(r, i, 0);
		if (store_is_global_table(tn, strlen(tn))) {
			global++;
			continue;
		}
		tenant++;
		if (PQgetvalue(r, i, 1)[0] != 't' || PQgetvalue(r, i, 2)[0] != 't')
			fail_msg("%s: tenant table without ENABLE + FORCE ROW LEVEL SECURITY", tn);
		if (strcmp(PQgetvalue(r, i, 3), "1") != 0)
			fail_msg("%s: no tenant policy on app.workspace_id", tn);
	}
	PQclear(r);
	assert_true(tenant >= 1);
	assert_true(global >= 10);
	/* keys: primary, unique, foreign keys of tenant tables start with workspace_id */
	r = admin_query(pg, "SELECT cl.relname, co.conname, co.contype, a.attname, "
			    "coalesce(co.confdeltype::text, ''), coalesce(fc.relname, '') "
			    "FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid "
			    "JOIN pg_namespace n ON n.oid = cl.relnamespace "
			    "JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = co.conkey[1] "
			    "LEFT JOIN pg_class fc ON fc.oid = co.confrelid "
			    "WHERE n.nspname = 'public' AND co.contype IN ('p', 'u', 'f')");
	int cascade_seen = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *tn = PQgetvalue(r, i, 0);
		if (store_is_global_table(tn, strlen(tn)))
			continue;
		if (strcmp(PQgetvalue(r, i, 3), "workspace_id") != 0)
			fail_msg("%s: constraint %s starts with %s, not workspace_id", tn, PQgetvalue(r, i, 1),
				 PQgetvalue(r, i, 3));
		if (PQgetvalue(r, i, 2)[0] == 'f' && strcmp(PQgetvalue(r, i, 5), "workspaces") == 0 &&
		    strcmp(PQgetvalue(r, i, 4), "c") == 0)
			cascade_seen++;
	}
	PQclear(r);
	assert_true(cascade_seen >= tenant);
	/* unique indexes not backed by constraints */
	r = admin_query(pg, "SELECT c.relname, i.relname, a.attname FROM pg_index x "
			    "JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid "
			    "JOIN pg_namespace n ON n.oid = c.relnamespace "
			    "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0] "
			    "WHERE n.nspname = 'public' AND x.indisunique");
	for (int i = 0; i < PQntuples(r); i++) {
		const char *tn = PQgetvalue(r, i, 0);
		if (!store_is_global_table(tn, strlen(tn)) && strcmp(PQgetvalue(r, i, 2), "workspace_id") != 0)
			fail_msg("%s: unique index %s does not start with workspace_id", tn, PQgetvalue(r, i, 1));
	}
	PQclear(r);
	/* the app role owns nothing */
	r = admin_query(pg, "SELECT count(*) FROM pg_class c JOIN pg_roles o ON o.oid = c.relowner "
			    "WHERE o.rolname IN ('dropfix_app', 'dropfix_maint')");
	assert_string_equal(PQgetvalue(r, 0, 0), "0");
	PQclear(r);
	PQfinish(pg);
}

static void test_schema_lint(void **state)
{
	struct tdb t;
	enum store_backend kind = TDB_KIND(state);
	assert_int_equal(tdb_create(&t, kind), 0);
	if (kind == STORE_SQLITE)
		schema_lint_sqlite(&t);
	else
		schema_lint_pg(&t);
	tdb_close(&t);
}

/* ---- SQLite writer lock ---- */

struct holder {
	struct store *s;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int state; /* 1 = holding, 2 = release now, 3 = done */
};

static void *hold_writer(void *arg)
{
	struct holder *h = arg;
	struct store_conn *c;
	struct store_tx *tx;
	char err[256];
	if (store_conn_open(h->s, &c, err, sizeof(err)) < 0 || store_begin_global(c, STORE_WRITE, &tx) < 0)
		return NULL;
	pthread_mutex_lock(&h->mu);
	h->state = 1;
	pthread_cond_broadcast(&h->cv);
	while (h->state != 2)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
	store_rollback(tx);
	store_conn_close(c);
	return NULL;
}

static void test_sqlite_writer_busy(void **state)
{
	(void)state;
	struct tdb t;
	assert_int_equal(tdb_create(&t, STORE_SQLITE), 0);
	char err[256];
	struct store_opts o = {.write_wait_ms = 200};
	struct store *s;
	assert_int_equal(store_open(t.url_app, &o, &s, err, sizeof(err)), 0);

	/* same process: the writer mutex */
	struct holder h = {.s = s, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, hold_writer, &h), 0);
	pthread_mutex_lock(&h.mu);
	while (h.state != 1)
		pthread_cond_wait(&h.cv, &h.mu);
	pthread_mutex_unlock(&h.mu);
	struct store_conn *c;
	struct store_tx *tx;
	assert_int_equal(store_conn_open(s, &c, err, sizeof(err)), 0);
	int64_t t0 = clock_mono_ns();
	assert_int_equal(store_begin_global(c, STORE_WRITE, &tx), -1);
	int64_t waited = (clock_mono_ns() - t0) / 1000000;
	assert_int_equal(store_errcode(c), STORE_E_BUSY);
	assert_non_null(strstr(store_errmsg(c), "server busy, retry"));
	assert_true(waited >= 150 && waited < 3000);
	/* readers are not blocked by the writer */
	assert_int_equal(store_begin_global(c, STORE_READ, &tx), 0);
	int64_t n;
	assert_int_equal(store_query_i64(tx, "SELECT count(*) FROM workspaces", STORE_NO_ARGS, &n), 1);
	assert_int_equal(store_commit(tx), 0);
	pthread_mutex_lock(&h.mu);
	h.state = 2;
	pthread_cond_broadcast(&h.cv);
	pthread_mutex_unlock(&h.mu);
	pthread_join(th, NULL);
	assert_int_equal(store_begin_global(c, STORE_WRITE, &tx), 0);
	assert_int_equal(store_commit(tx), 0);

	/* another process (a raw connection holding BEGIN IMMEDIATE): busy_timeout */
	sqlite3 *other;
	assert_int_equal(sqlite3_open(t.path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	t0 = clock_mono_ns();
	assert_int_equal(store_begin_global(c, STORE_WRITE, &tx), -1);
	waited = (clock_mono_ns() - t0) / 1000000;
	assert_int_equal(store_errcode(c), STORE_E_BUSY);
	assert_non_null(strstr(store_errmsg(c), "server busy, retry"));
	assert_true(waited >= 150 && waited < 3000);
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	/* the process lock was released after the failed BEGIN */
	assert_int_equal(store_begin_global(c, STORE_WRITE, &tx), 0);
	assert_int_equal(store_commit(tx), 0);
	store_conn_close(c);
	store_close(s);
	tdb_close(&t);
}

static void test_sqlite_pragmas_checkpoint(void **state)
{
	(void)state;
	struct tdb t;
	OPEN_OR_FAIL(&t, STORE_SQLITE);
	sqlite3 *db = t.c->db;
	sqlite3_stmt *st;
	const char *checks[][2] = {
		{"PRAGMA journal_mode", "wal"}, {"PRAGMA synchronous", "2"}, {"PRAGMA foreign_keys", "1"},
		{"PRAGMA trusted_schema", "0"},
	};
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		assert_int_equal(sqlite3_prepare_v2(db, checks[i][0], -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), checks[i][1]);
		sqlite3_finalize(st);
	}
	int on = -1;
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, -1, &on);
	assert_int_equal(on, 1);
	assert_int_equal(sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, -1), 0);
	assert_int_equal(sqlite3_limit(db, SQLITE_LIMIT_VARIABLE_NUMBER, -1), LIMIT_SQL_VARIABLES);
	/* STRICT tables */
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM pragma_table_list WHERE schema = 'main' "
						"AND name NOT LIKE 'sqlite_%' AND strict = 0",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);

	(void)make_ws(t.c, "alpha");
	int64_t wal = -1;
	assert_int_equal(store_wal_bytes(t.s, &wal), 0);
	assert_true(wal > 0);
	assert_int_equal(store_checkpoint(t.c, 0), 0);
	assert_int_equal(store_checkpoint(t.c, 1), 0);
	assert_int_equal(store_wal_bytes(t.s, &wal), 0);
	assert_int_equal(wal, 0);
	tdb_close(&t);
}

/* ---- PostgreSQL: RLS as the app role ---- */

static void test_pg_rls(void **state)
{
	struct tdb t;
	OPEN_OR_FAIL(&t, TDB_KIND(state));
	int64_t a = make_ws(t.c, "alpha"), b = make_ws(t.c, "canary");
	put_secret(t.c, a, "stripe", "sealed-A");
	put_secret(t.c, b, "stripe", "sealed-B");

	/* no tenant setting: zero rows, even with the guard off */
	struct store_tx *tx;
	int64_t n = -1;
	assert_int_equal(store_begin_internal(t.c, STORE_READ, &tx), 0);
	assert_int_equal(store_query_internal(tx, "SELECT count(*) FROM workspace_secrets", STORE_NO_ARGS, NULL), 0);
	struct store_rows *r;
	assert_int_equal(store_query_internal(tx, "SELECT count(*) FROM workspace_secrets", STORE_NO_ARGS, &r), 0);
	assert_int_equal(store_step(r), 1);
	assert_int_equal(store_col_i64(r, 0), 0);
	store_rows_close(r);
	assert_int_equal(store_commit(tx), 0);

	/* raw libpq as the app role: zero rows, insert refused */
	PGconn *pg = PQconnectdb(t.url_app);
	assert_int_equal(PQstatus(pg), CONNECTION_OK);
	PGresult *res = PQexec(pg, "SELECT count(*) FROM workspace_secrets");
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(res, 0, 0), "0");
	PQclear(res);
	PQfinish(pg);

	/* tenant set to a: the guard-free path sees only a's row; an insert for b is refused */
	assert_int_equal(store_begin_ws(t.c, a, STORE_WRITE, &tx), 0);
	assert_int_equal(store_query_internal(tx, "SELECT count(*) FROM workspace_secrets", STORE_NO_ARGS, &r), 0);
	assert_int_equal(store_step(r), 1);
	assert_int_equal(store_col_i64(r, 0), 1);
	store_rows_close(r);
	assert_int_equal(store_exec_internal(tx,
					     "INSERT INTO workspace_secrets (workspace_id, name, row_key, sealed, key_id, updated_at) "
					     "VALUES ($2, 'evil', 'evil', 'x', 'k', 0)",
					     STORE_ARGS(SP_I64(b))),
			 -1);
	assert_int_equal(store_errcode(t.c), STORE_E_TENANT);
	store_rollback(tx);
	/* update/delete of the other tenant's rows touch nothing */
	assert_int_equal(store_begin_ws(t.c, a, STORE_WRITE, &tx), 0);
	assert_int_equal(store_exec_internal(tx, "DELETE FROM workspace_secrets WHERE workspace_id = $2",
					     STORE_ARGS(SP_I64(b))),
			 0);
	assert_int_equal(store_changes(tx), 0);
	assert_int_equal(store_commit(tx), 0);
	assert_int_equal(count_secrets(t.c, b), 1);

	/* set_config outside an explicit transaction is refused by the store */
	assert_int_equal(store_pg_set_tenant(t.c, a), -1);
	assert_int_equal(store_errcode(t.c), STORE_E_SQL);
	assert_non_null(strstr(store_errmsg(t.c), "inside an explicit transaction"));
	(void)n;
	tdb_close(&t);
}

static void test_pg_roles_and_urls(void **state)
{
	struct tdb t;
	OPEN_OR_FAIL(&t, TDB_KIND(state));
	int64_t a = make_ws(t.c, "alpha"), b = make_ws(t.c, "canary");
	put_secret(t.c, a, "s", "A");
	put_secret(t.c, b, "s", "B");
	char err[512];
	struct store *s = NULL;
	/* the superuser is refused for every role */
	assert_int_equal(store_open(t.url_admin, NULL, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "superuser"));
	/* the maintenance role must have BYPASSRLS; the app role must not */
	struct store_opts mo = {.role = STORE_ROLE_MAINT};
	assert_int_equal(store_open(t.url_app, &mo, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "BYPASSRLS"));
	assert_int_equal(store_open(t.url_maint, NULL, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "BYPASSRLS"));
	/* the app store cannot begin a maintenance transaction */
	struct store_tx *tx;
	assert_int_equal(store_maint_begin(t.c, STORE_READ, &tx), -1);
	assert_int_equal(store_errcode(t.c), STORE_E_CONFIG);
	/* the maintenance store sees every tenant */
	assert_int_equal(store_open(t.url_maint, &mo, &s, err, sizeof(err)), 0);
	struct store_conn *mc;
	assert_int_equal(store_conn_open(s, &mc, err, sizeof(err)), 0);
	assert_int_equal(store_maint_begin(mc, STORE_READ, &tx), 0);
	int64_t n = 0;
	assert_int_equal(store_query_i64(tx, "SELECT count(*) FROM workspace_secrets /*cross-tenant*/", STORE_NO_ARGS, &n), 1);
	assert_int_equal(n, 2);
	assert_int_equal(store_commit(tx), 0);
	int64_t *ids;
	size_t nids;
	assert_int_equal(store_maint_workspaces(mc, &ids, &nids), 0);
	assert_int_equal(nids, 2);
	assert_true((ids[0] == a && ids[1] == b) || (ids[0] == b && ids[1] == a));
	free(ids);
	store_conn_close(mc);
	store_close(s);
	/* URL policy */
	assert_int_equal(store_pg_check_url("postgres://u@db.example.com/x", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "verify-full"));
	assert_int_equal(store_pg_check_url("postgres://u@db.example.com/x?sslmode=require", err, sizeof(err)), -1);
	assert_int_equal(store_pg_check_url("postgres://u@10.0.0.5:5432/x", err, sizeof(err)), -1);
	assert_int_equal(store_pg_check_url("postgres://u@db.example.com/x?sslmode=verify-full", err, sizeof(err)), 0);
	assert_int_equal(store_pg_check_url("postgres://u@127.0.0.1:5/x", err, sizeof(err)), 0);
	assert_int_equal(store_pg_check_url("postgres://u@[::1]:5/x", err, sizeof(err)), 0);
	assert_int_equal(store_pg_check_url("postgres://u@localhost/x", err, sizeof(err)), 0);
	assert_int_equal(store_pg_check_url("postgresql:///x?host=/run/postgresql", err, sizeof(err)), 0);
	assert_int_equal(store_pg_check_url("postgres://u@127.0.0.1,db.example.com/x", err, sizeof(err)), -1);
	tdb_close(&t);
}

static void test_pg_disconnect_unavailable(void **state)
{
	struct tdb t;
	OPEN_OR_FAIL(&t, TDB_KIND(state));
	int64_t a = make_ws(t.c, "alpha");
	(void)make_ws(t.c, "canary");
	char q[128];
	snprintf(q, sizeof(q), "SELECT pg_terminate_backend(%d)", PQbackendPID(t.c->pg));
	assert_int_equal(tdb_admin_exec(t.name, q), 0);
	struct store_tx *tx;
	int64_t n;
	/* the first use after the server dropped us: unavailable (503), or a clean reconnect */
	int rc = store_begin_ws(t.c, a, STORE_READ, &tx);
	if (rc == 0) {
		rc = store_query_i64(tx, "SELECT count(*) FROM workspace_secrets WHERE workspace_id = $1", STORE_NO_ARGS, &n);
		if (rc < 0)
			assert_int_equal(store_errcode(t.c), STORE_E_UNAVAILABLE);
		store_rollback(tx);
	} else {
		assert_int_equal(store_errcode(t.c), STORE_E_UNAVAILABLE);
	}
	/* then it reconnects */
	assert_int_equal(store_begin_ws(t.c, a, STORE_READ, &tx), 0);
	assert_int_equal(store_query_i64(tx, "SELECT count(*) FROM workspace_secrets WHERE workspace_id = $1", STORE_NO_ARGS, &n),
			 1);
	assert_int_equal(store_commit(tx), 0);
	/* a server that is not there at all */
	char err[256];
	struct store *s;
	assert_int_equal(store_open("postgres://dropfix_app@127.0.0.1:1/x", NULL, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "database unavailable"));
	tdb_close(&t);
}

/* A state change in a statement the guard could not see (must be impossible). */
static void test_set_config_refused(void **state)
{
	struct tdb t;
	OPEN_OR_FAIL(&t, TDB_KIND(state));
	int64_t a = make_ws(t.c, "alpha");
	struct store_tx *tx;
	assert_int_equal(store_begin_ws(t.c, a, STORE_READ, &tx), 0);
	assert_int_equal(store_exec(tx, "SELECT set_config('app.workspace_id', '1', true)", STORE_NO_ARGS), -1);
	assert_int_equal(store_errcode(t.c), STORE_E_TENANT);
	store_rollback(tx);
	assert_int_equal(store_begin_global(t.c, STORE_READ, &tx), 0);
	assert_int_equal(store_exec(tx, "SELECT SET_CONFIG('app.workspace_id', '1', false)", STORE_NO_ARGS), -1);
	assert_int_equal(store_errcode(t.c), STORE_E_TENANT);
	store_rollback(tx);
	/* statements need a transaction: there is no autocommit path */
	assert_int_equal(store_exec(&t.c->tx, "SELECT 1", STORE_NO_ARGS), -1);
	tdb_close(&t);
}

/* ---- statement cache, nesting, meta ---- */

static void test_cache_and_nesting(void **state)
{
	struct tdb t;
	OPEN_OR_FAIL(&t, TDB_KIND(state));
	int64_t a = make_ws(t.c, "alpha"), b = make_ws(t.c, "canary");
	struct store_tx *tx;
	assert_int_equal(store_begin_ws(t.c, a, STORE_WRITE, &tx), 0);
	/* more distinct statements than cache slots */
	for (int i = 0; i < 3 * STORE_STMT_CACHE; i++) {
		char sql[200];
		snprintf(sql, sizeof(sql),
			 "INSERT INTO workspace_secrets (workspace_id, name, row_key, sealed, key_id, updated_at) "
			 "VALUES ($1, $2, $3, 's%d', 'k', %d)",
			 i, i);
		char nm[16], rk[16];
		snprintf(nm, sizeof(nm), "n%d", i);
		snprintf(rk, sizeof(rk), "r%d", i);
		if (store_exec(tx, sql, STORE_ARGS(SP_TEXT(nm), SP_TEXT(rk))) < 0)
			fail_msg("%s", store_errmsg(t.c));
	}
	/* nested use of the same statement */
	const char *q = "SELECT name FROM workspace_secrets WHERE workspace_id = $1 AND updated_at < $2 ORDER BY updated_at";
	struct store_rows *outer, *inner;
	assert_int_equal(store_query(tx, q, STORE_ARGS(SP_I64(3)), &outer), 0);
	int rows = 0;
	while (store_step(outer) == 1) {
		assert_int_equal(store_query(tx, q, STORE_ARGS(SP_I64(2)), &inner), 0);
		int k = 0;
		while (store_step(inner) == 1)
			k++;
		assert_int_equal(k, 2);
		store_rows_close(inner);
		rows++;
	}
	assert_int_equal(rows, 3);
	/* a result set left open is closed by commit; closing it afterwards is safe */
	assert_int_equal(store_query(tx, q, STORE_ARGS(SP_I64(100)), &outer), 0);
	assert_int_equal(store_step(outer), 1);
	assert_int_equal(store_query(tx, q, STORE_ARGS(SP_I64(100)), &inner), 0);
	assert_int_equal(store_commit(tx), 0);
	assert_int_equal(store_step(outer), 0);
	assert_int_equal(store_col_count(outer), 0);
	store_rows_close(outer);
	/* `inner` is never closed: the next begin frees it (ASan checks) */
	(void)inner;
	assert_int_equal(count_secrets(t.c, a), 3 * STORE_STMT_CACHE);
	assert_int_equal(count_secrets(t.c, b), 0);

	/* a statement that fails to prepare leaves no half-made cache entry behind */
	for (int k = 0; k < 2; k++) {
		assert_int_equal(store_begin_internal(t.c, STORE_READ, &tx), 0);
		assert_int_equal(store_exec_internal(tx, "SELECT :x", STORE_NO_ARGS), -1);
		assert_int_equal(store_errcode(t.c), STORE_E_SQL);
		store_rollback(tx);
	}

	/* installation_meta */
	char v[64];
	assert_int_equal(store_begin_global(t.c, STORE_WRITE, &tx), 0);
	assert_int_equal(store_meta_get(tx, "key_check", v, sizeof(v)), 0);
	assert_int_equal(store_meta_set(tx, "key_check", "v1.sealed"), 0);
	assert_int_equal(store_meta_set(tx, "key_check", "v2.sealed"), 0);
	assert_int_equal(store_meta_get(tx, "key_check", v, sizeof(v)), 1);
	assert_string_equal(v, "v2.sealed");
	assert_int_equal(store_meta_get(tx, "key_check", v, 4), -1);
	assert_int_equal(store_commit(tx), -1); /* the failed get poisoned it */
	/* constraint errors are classified */
	assert_int_equal(store_begin_global(t.c, STORE_WRITE, &tx), 0);
	assert_int_equal(store_exec(tx, "INSERT INTO accounts (id, email, created_at, updated_at) VALUES ($1, 'a@x', 0, 0)",
				    STORE_ARGS(SP_I64(1))),
			 0);
	assert_int_equal(store_exec(tx, "INSERT INTO accounts (id, email, created_at, updated_at) VALUES ($1, 'a@x', 0, 0)",
				    STORE_ARGS(SP_I64(2))),
			 -1);
	assert_int_equal(store_errcode(t.c), STORE_E_CONSTRAINT);
	assert_int_equal(store_exec(tx, "SELECT 1", STORE_NO_ARGS), -1); /* poisoned */
	assert_int_equal(store_commit(tx), -1);
	assert_int_equal(store_errcode(t.c), STORE_E_CONSTRAINT);
	tdb_close(&t);
}

/* ---- concurrent writers: one connection per thread ---- */

struct writer_arg {
	struct store *s;
	int64_t ws;
	int id;
	int ok;
};

static void *writer_thread(void *vp)
{
	struct writer_arg *a = vp;
	struct store_conn *c;
	char err[256];
	if (store_conn_open(a->s, &c, err, sizeof(err)) < 0)
		return NULL;
	for (int i = 0; i < 50; i++) {
		struct store_tx *tx;
		char name[32];
		snprintf(name, sizeof(name), "t%d-%d", a->id, i);
		if (store_begin_ws(c, a->ws, STORE_WRITE, &tx) < 0)
			break;
		if (store_exec(tx,
			       "INSERT INTO workspace_secrets (workspace_id, name, row_key, sealed, key_id, updated_at) "
			       "VALUES ($1, $2, $2, 'x', 'k', 0)",
			       STORE_ARGS(SP_TEXT(name))) < 0 ||
		    store_commit(tx) < 0) {
			store_rollback(tx);
			break;
		}
		a->ok++;
	}
	store_conn_close(c);
	return NULL;
}

static void test_concurrent_writers(void **state)
{
	struct tdb t;
	OPEN_OR_FAIL(&t, TDB_KIND(state));
	int64_t a = make_ws(t.c, "alpha"), b = make_ws(t.c, "canary");
	put_secret(t.c, b, "canary", "B");
	pthread_t th[4];
	struct writer_arg args[4];
	for (int i = 0; i < 4; i++) {
		args[i] = (struct writer_arg){.s = t.s, .ws = a, .id = i};
		assert_int_equal(pthread_create(&th[i], NULL, writer_thread, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].ok, 50);
	}
	assert_int_equal(count_secrets(t.c, a), 200);
	assert_int_equal(count_secrets(t.c, b), 1);
	tdb_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define BOTH(f)                                                                                    \
	{#f "/sqlite", f, NULL, NULL, (void *)&tdb_sqlite}, { #f "/postgres", f, NULL, NULL, (void *)&tdb_pg }
		BOTH(test_out_of_order_placeholders),
		BOTH(test_typed_roundtrip),
		BOTH(test_guard_runtime),
		BOTH(test_read_only_refuses_writes),
		BOTH(test_delete_workspace_nothing_inherited),
		BOTH(test_ws_rebind),
		BOTH(test_schema_newer_refused),
		BOTH(test_migration_checksum_mismatch),
		BOTH(test_schema_lint),
		BOTH(test_set_config_refused),
		BOTH(test_cache_and_nesting),
		BOTH(test_concurrent_writers),
		cmocka_unit_test(test_sqlite_writer_busy),
		cmocka_unit_test(test_sqlite_pragmas_checkpoint),
		{"test_pg_rls/postgres", test_pg_rls, NULL, NULL, (void *)&tdb_pg},
		{"test_pg_roles_and_urls/postgres", test_pg_roles_and_urls, NULL, NULL, (void *)&tdb_pg},
		{"test_pg_disconnect_unavailable/postgres", test_pg_disconnect_unavailable, NULL, NULL, (void *)&tdb_pg},
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
