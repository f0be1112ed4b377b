/* Store insert rates against the raw client libraries, measured in the same run.
 *
 * Workload: rows into the tenant table workspace_secrets (primary key + one unique + one
 * secondary index), through (a) sqlite3 / libpq directly with the same pragmas and the
 * same statements, and (b) the store's workspace-scoped transactions. Shapes:
 * one row per transaction, 100 single-row INSERTs per transaction, and one 100-row
 * INSERT per transaction (the ingestion shape). On PostgreSQL the raw client also
 * sets app.workspace_id per transaction (the table has FORCE ROW LEVEL SECURITY and
 * the app role is subject to it), so the ratio is the store's own overhead.
 *
 * Build and run: `bench/run.sh store` (bench/store.sh; starts a durable PostgreSQL cluster via
 * tests/lib/pg.sh; without one, only SQLite is measured). */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/str.h"
#include "store/store.h"

static double secs_per_case = 0.5;
#define ROUNDS 5 /* raw and store alternate; the median of each is reported */

struct result {
	const char *name;
	double rows_per_s;
};

typedef int (*batch_fn)(void *ctx, long first, int rows);

/* Runs fn with `rows` rows per call until the time is up; returns rows per second. */
static double measure(batch_fn fn, void *ctx, int rows, long *counter)
{
	int64_t t0 = clock_mono_ns(), deadline = t0 + (int64_t)(secs_per_case * 1e9);
	long done = 0;
	while (clock_mono_ns() < deadline) {
		if (fn(ctx, *counter, rows) < 0) {
			fprintf(stderr, "bench: batch failed\n");
			exit(1);
		}
		*counter += rows;
		done += rows;
	}
	return (double)done / ((double)(clock_mono_ns() - t0) / 1e9);
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "store_bench: %s: %s\n", what, msg);
	exit(1);
}

/* ---- SQLite raw ---- */

struct sq_raw {
	sqlite3 *db;
	sqlite3_stmt *ins, *multi, *begin, *commit;
	int64_t ws;
};

static const char *INS_SQL = "INSERT INTO workspace_secrets (workspace_id, name, row_key, sealed, key_id, updated_at) "
			     "VALUES ($1, $2, $3, $4, 'k1', $5)";

/* "INSERT … VALUES ($1, $2, $3, $4, 'k1', $5), ($1, $6, $7, $8, 'k1', $9), …" */
static char *multi_sql(int rows)
{
	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, "INSERT INTO workspace_secrets (workspace_id, name, row_key, sealed, key_id, updated_at) VALUES ");
	for (int r = 0; r < rows; r++) {
		int p = 2 + 4 * r;
		buf_printf(&b, "%s($1, $%d, $%d, $%d, 'k1', $%d)", r ? ", " : "", p, p + 1, p + 2, p + 3);
	}
	size_t n;
	return buf_detach(&b, &n);
}

static void sq_step_done(sqlite3 *db, sqlite3_stmt *st)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		die("sqlite", sqlite3_errmsg(db));
	sqlite3_reset(st);
}

static int sq_raw_rows(void *vctx, long first, int rows)
{
	struct sq_raw *x = vctx;
	char name[32], rk[32];
	sq_step_done(x->db, x->begin);
	for (int r = 0; r < rows; r++) {
		snprintf(name, sizeof(name), "n%ld", first + r);
		snprintf(rk, sizeof(rk), "r%ld", first + r);
		sqlite3_bind_int64(x->ins, 1, x->ws);
		sqlite3_bind_text(x->ins, 2, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(x->ins, 3, rk, -1, SQLITE_STATIC);
		sqlite3_bind_text(x->ins, 4, "v1.sealed-value-of-moderate-length-0123456789", -1, SQLITE_STATIC);
		sqlite3_bind_int64(x->ins, 5, clock_now_ms());
		sq_step_done(x->db, x->ins);
	}
	sq_step_done(x->db, x->commit);
	return 0;
}

static int sq_raw_multi(void *vctx, long first, int rows)
{
	struct sq_raw *x = vctx;
	char names[100][32], rks[100][32];
	sq_step_done(x->db, x->begin);
	sqlite3_bind_int64(x->multi, 1, x->ws);
	int64_t now = clock_now_ms();
	for (int r = 0; r < rows; r++) {
		snprintf(names[r], sizeof(names[r]), "n%ld", first + r);
		snprintf(rks[r], sizeof(rks[r]), "r%ld", first + r);
		int p = 2 + 4 * r; /* numbered by first appearance: the same as the $N here */
		sqlite3_bind_text(x->multi, p, names[r], -1, SQLITE_STATIC);
		sqlite3_bind_text(x->multi, p + 1, rks[r], -1, SQLITE_STATIC);
		sqlite3_bind_text(x->multi, p + 2, "v1.sealed-value-of-moderate-length-0123456789", -1, SQLITE_STATIC);
		sqlite3_bind_int64(x->multi, p + 3, now);
	}
	sq_step_done(x->db, x->multi);
	sq_step_done(x->db, x->commit);
	return 0;
}

/* ---- store ---- */

struct st_ctx {
	struct store_conn *c;
	int64_t ws;
	const char *multi;
};

static int st_rows(void *vctx, long first, int rows)
{
	struct st_ctx *x = vctx;
	struct store_tx *tx;
	char name[32], rk[32];
	if (store_begin_ws(x->c, x->ws, STORE_WRITE, &tx) < 0)
		die("store begin", store_errmsg(x->c));
	for (int r = 0; r < rows; r++) {
		snprintf(name, sizeof(name), "n%ld", first + r);
		snprintf(rk, sizeof(rk), "r%ld", first + r);
		if (store_exec(tx, INS_SQL,
			       STORE_ARGS(SP_TEXT(name), SP_TEXT(rk), SP_TEXT("v1.sealed-value-of-moderate-length-0123456789"),
					  SP_I64(clock_now_ms()))) < 0)
			die("store exec", store_errmsg(x->c));
	}
	if (store_commit(tx) < 0)
		die("store commit", store_errmsg(x->c));
	return 0;
}

static int st_multi(void *vctx, long first, int rows)
{
	struct st_ctx *x = vctx;
	struct store_tx *tx;
	static char names[100][32], rks[100][32];
	struct store_param p[400];
	int64_t now = clock_now_ms();
	for (int r = 0; r < rows; r++) {
		snprintf(names[r], sizeof(names[r]), "n%ld", first + r);
		snprintf(rks[r], sizeof(rks[r]), "r%ld", first + r);
		p[4 * r] = SP_TEXT(names[r]);
		p[4 * r + 1] = SP_TEXT(rks[r]);
		p[4 * r + 2] = SP_TEXT("v1.sealed-value-of-moderate-length-0123456789");
		p[4 * r + 3] = SP_I64(now);
	}
	if (store_begin_ws(x->c, x->ws, STORE_WRITE, &tx) < 0)
		die("store begin", store_errmsg(x->c));
	if (store_exec(tx, x->multi, p, (size_t)rows * 4) < 0)
		die("store exec", store_errmsg(x->c));
	if (store_commit(tx) < 0)
		die("store commit", store_errmsg(x->c));
	return 0;
}

/* ---- PostgreSQL raw ---- */

struct pg_raw {
	PGconn *pg;
	int64_t ws;
	char wsbuf[24];
};

static void pg_ok(PGconn *pg, PGresult *r, const char *what)
{
	int st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		die(what, PQerrorMessage(pg));
	PQclear(r);
}

static void pg_begin_tenant(struct pg_raw *x)
{
	pg_ok(x->pg, PQexec(x->pg, "BEGIN"), "BEGIN");
	const char *v[1] = {x->wsbuf};
	pg_ok(x->pg, PQexecPrepared(x->pg, "tenant", 1, v, NULL, NULL, 0), "tenant");
}

static int pg_raw_rows(void *vctx, long first, int rows)
{
	struct pg_raw *x = vctx;
	char name[32], rk[32], now[24];
	pg_begin_tenant(x);
	for (int r = 0; r < rows; r++) {
		snprintf(name, sizeof(name), "n%ld", first + r);
		snprintf(rk, sizeof(rk), "r%ld", first + r);
		snprintf(now, sizeof(now), "%lld", (long long)clock_now_ms());
		const char *v[5] = {x->wsbuf, name, rk, "v1.sealed-value-of-moderate-length-0123456789", now};
		pg_ok(x->pg, PQexecPrepared(x->pg, "ins", 5, v, NULL, NULL, 0), "insert");
	}
	pg_ok(x->pg, PQexec(x->pg, "COMMIT"), "COMMIT");
	return 0;
}

static int pg_raw_multi(void *vctx, long first, int rows)
{
	struct pg_raw *x = vctx;
	static char names[100][32], rks[100][32];
	char now[24];
	const char *v[401];
	snprintf(now, sizeof(now), "%lld", (long long)clock_now_ms());
	v[0] = x->wsbuf;
	for (int r = 0; r < rows; r++) {
		snprintf(names[r], sizeof(names[r]), "n%ld", first + r);
		snprintf(rks[r], sizeof(rks[r]), "r%ld", first + r);
		v[1 + 4 * r] = names[r];
		v[2 + 4 * r] = rks[r];
		v[3 + 4 * r] = "v1.sealed-value-of-moderate-length-0123456789";
		v[4 + 4 * r] = now;
	}
	pg_begin_tenant(x);
	pg_ok(x->pg, PQexecPrepared(x->pg, "multi", 1 + 4 * rows, v, NULL, NULL, 0), "multi insert");
	pg_ok(x->pg, PQexec(x->pg, "COMMIT"), "COMMIT");
	return 0;
}

/* ---- setup ---- */

static int64_t make_ws(struct store_conn *c, const char *name)
{
	struct store_tx *tx;
	int64_t id;
	struct store_workspace_new w = {.name = name};
	if (store_begin_global(c, STORE_WRITE, &tx) < 0 || store_workspace_create(tx, &w, &id) < 0 ||
	    store_commit(tx) < 0)
		die("workspace", store_errmsg(c));
	return id;
}

static void migrate(const char *owner_url)
{
	char err[512];
	struct store *s;
	struct store_opts o = {.role = STORE_ROLE_OWNER, .skip_schema_check = 1};
	if (store_open(owner_url, &o, &s, err, sizeof(err)) < 0 || store_migrate(s, NULL, err, sizeof(err)) < 0)
		die("migrate", err);
	store_close(s);
}


static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* Alternates raw and store ROUNDS times; prints the medians and their ratio. */
static void compare(const char *label, batch_fn raw, void *raw_ctx, batch_fn st, void *st_ctx, int rows, long *nr,
		    long *ns)
{
	double r[ROUNDS], sv[ROUNDS];
	for (int i = 0; i < ROUNDS; i++) {
		r[i] = measure(raw, raw_ctx, rows, nr);
		sv[i] = measure(st, st_ctx, rows, ns);
	}
	double rm = median(r, ROUNDS), sm = median(sv, ROUNDS);
	printf("  %-34s store %9.0f rows/s   raw %9.0f rows/s   ratio %.2f\n", label, sm, rm, sm / rm);
	fflush(stdout);
}


/* Raw and store get a database each: with random workspace ids in one shared index,
 * whichever tenant sorts last would append at the right edge and look faster. */
static void bench_sqlite(const char *dir)
{
	char path[512], rpath[512], url[600], rurl[600], err[512];
	snprintf(path, sizeof(path), "%s/store_bench.db", dir);
	snprintf(rpath, sizeof(rpath), "%s/store_bench_raw.db", dir);
	unlink(path);
	unlink(rpath);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	snprintf(rurl, sizeof(rurl), "sqlite:%s", rpath);
	migrate(url);
	migrate(rurl);
	struct store *s, *rs;
	struct store_conn *c, *rc;
	if (store_open(url, NULL, &s, err, sizeof(err)) < 0 || store_conn_open(s, &c, err, sizeof(err)) < 0 ||
	    store_open(rurl, NULL, &rs, err, sizeof(err)) < 0 || store_conn_open(rs, &rc, err, sizeof(err)) < 0)
		die("open", err);
	int64_t ws_store = make_ws(c, "store"), ws_raw = make_ws(rc, "raw");
	store_conn_close(rc);
	store_close(rs);

	struct sq_raw raw = {.ws = ws_raw};
	if (sqlite3_open(rpath, &raw.db) != SQLITE_OK)
		die("sqlite open", rpath);
	sqlite3_exec(raw.db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON", NULL, NULL, NULL);
	sqlite3_busy_timeout(raw.db, 5000);
	char *msql = multi_sql(100);
	if (sqlite3_prepare_v2(raw.db, INS_SQL, -1, &raw.ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(raw.db, msql, -1, &raw.multi, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(raw.db, "BEGIN IMMEDIATE", -1, &raw.begin, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(raw.db, "COMMIT", -1, &raw.commit, NULL) != SQLITE_OK)
		die("sqlite prepare", sqlite3_errmsg(raw.db));
	struct st_ctx st = {.c = c, .ws = ws_store, .multi = msql};
	long n_raw = 0, n_store = 0;
	printf("SQLite 3.%d (WAL, synchronous=FULL), %s\n", sqlite3_libversion_number() / 1000 % 1000, dir);
	compare("1 row per transaction", sq_raw_rows, &raw, st_rows, &st, 1, &n_raw, &n_store);
	compare("100 single-row INSERTs per tx", sq_raw_rows, &raw, st_rows, &st, 100, &n_raw, &n_store);
	compare("one 100-row INSERT per tx", sq_raw_multi, &raw, st_multi, &st, 100, &n_raw, &n_store);
	sqlite3_finalize(raw.ins);
	sqlite3_finalize(raw.multi);
	sqlite3_finalize(raw.begin);
	sqlite3_finalize(raw.commit);
	sqlite3_close(raw.db);
	free(msql);
	store_conn_close(c);
	store_close(s);
	unlink(path);
	unlink(rpath);
}

static void admin(const char *sql)
{
	char url[256];
	snprintf(url, sizeof(url), "postgres://postgres@127.0.0.1:%s/postgres", getenv("DROPFIX_TEST_PG_PORT"));
	PGconn *pg = PQconnectdb(url);
	if (PQstatus(pg) != CONNECTION_OK)
		die("admin", PQerrorMessage(pg));
	pg_ok(pg, PQexec(pg, sql), sql);
	PQfinish(pg);
}

static void pg_urls(const char *db, char *owner, char *app, size_t n)
{
	const char *port = getenv("DROPFIX_TEST_PG_PORT");
	const char *op = getenv("DROPFIX_TEST_PG_OWNER_PASSWORD"), *ap = getenv("DROPFIX_TEST_PG_APP_PASSWORD");
	char q[256];
	snprintf(q, sizeof(q), "CREATE DATABASE %s OWNER dropfix_owner", db);
	admin(q);
	snprintf(owner, n, "postgres://dropfix_owner:%s@127.0.0.1:%s/%s", op ? op : "", port, db);
	snprintf(app, n, "postgres://dropfix_app:%s@127.0.0.1:%s/%s", ap ? ap : "", port, db);
	migrate(owner);
}

static void bench_pg(void)
{
	char db[64], rdb[64], q[256], owner[512], app[512], rowner[512], rapp[512], err[512];
	snprintf(db, sizeof(db), "dfx_bench_%ld", (long)getpid());
	snprintf(rdb, sizeof(rdb), "dfx_bench_raw_%ld", (long)getpid());
	pg_urls(db, owner, app, sizeof(owner));
	pg_urls(rdb, rowner, rapp, sizeof(rowner));
	struct store *s, *rs;
	struct store_conn *c, *rc;
	if (store_open(app, NULL, &s, err, sizeof(err)) < 0 || store_conn_open(s, &c, err, sizeof(err)) < 0 ||
	    store_open(rapp, NULL, &rs, err, sizeof(err)) < 0 || store_conn_open(rs, &rc, err, sizeof(err)) < 0)
		die("open", err);
	int64_t ws_store = make_ws(c, "store"), ws_raw = make_ws(rc, "raw");
	store_conn_close(rc);
	store_close(rs);
	struct pg_raw raw = {.ws = ws_raw};
	snprintf(raw.wsbuf, sizeof(raw.wsbuf), "%lld", (long long)ws_raw);
	raw.pg = PQconnectdb(rapp);
	if (PQstatus(raw.pg) != CONNECTION_OK)
		die("libpq", PQerrorMessage(raw.pg));
	char *msql = multi_sql(100);
	pg_ok(raw.pg, PQprepare(raw.pg, "ins", INS_SQL, 0, NULL), "prepare");
	pg_ok(raw.pg, PQprepare(raw.pg, "multi", msql, 0, NULL), "prepare");
	pg_ok(raw.pg, PQprepare(raw.pg, "tenant", "SELECT set_config('app.workspace_id', $1, true)", 0, NULL), "prepare");
	struct st_ctx st = {.c = c, .ws = ws_store, .multi = msql};
	long n_raw = 0, n_store = 0;
	PGresult *v = PQexec(raw.pg, "SHOW fsync");
	printf("PostgreSQL %d (fsync=%s, loopback TCP, app role under RLS)\n", PQserverVersion(raw.pg) / 10000,
	       PQgetvalue(v, 0, 0));
	PQclear(v);
	compare("1 row per transaction", pg_raw_rows, &raw, st_rows, &st, 1, &n_raw, &n_store);
	compare("100 single-row INSERTs per tx", pg_raw_rows, &raw, st_rows, &st, 100, &n_raw, &n_store);
	compare("one 100-row INSERT per tx", pg_raw_multi, &raw, st_multi, &st, 100, &n_raw, &n_store);
	free(msql);
	PQfinish(raw.pg);
	store_conn_close(c);
	store_close(s);
	snprintf(q, sizeof(q), "DROP DATABASE %s WITH (FORCE)", db);
	admin(q);
	snprintf(q, sizeof(q), "DROP DATABASE %s WITH (FORCE)", rdb);
	admin(q);
}

int main(int argc, char **argv)
{
	const char *dir = getenv("DROPFIX_BENCH_DIR") ? getenv("DROPFIX_BENCH_DIR") : "/tmp";
	for (int i = 1; i + 1 < argc; i += 2)
		if (strcmp(argv[i], "--seconds") == 0)
			secs_per_case = strtod(argv[i + 1], NULL);
	bench_sqlite(dir);
	if (getenv("DROPFIX_TEST_PG_PORT"))
		bench_pg();
	else
		printf("PostgreSQL: skipped (no DROPFIX_TEST_PG_PORT; bench/run.sh store starts a cluster)\n");
	return 0;
}
