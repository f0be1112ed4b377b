/* Test scaffolding for the store tests: a fresh database per test on either backend.
 * SQLite: a file under $DROPFIX_TEST_TMP (or /tmp). PostgreSQL: a database created with
 * the harness superuser (tests/lib/pg.sh), owned by the owner role, migrated as the
 * owner; the test itself runs as the app role. Without the harness variables the
 * PostgreSQL variants skip with a message (under `make test` they always run). */
#ifndef DROPFIX_STORE_TESTLIB_H
#define DROPFIX_STORE_TESTLIB_H

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

struct tdb {
	enum store_backend kind;
	char name[64];
	char path[400];      /* SQLite file */
	char url_app[512];   /* the URL tests use (app role on PostgreSQL) */
	char url_owner[512];
	char url_maint[512];
	char url_admin[512]; /* superuser URL for this database (inspection only) */
	struct store *s;     /* opened on url_app */
	struct store_conn *c;
};

static const enum store_backend tdb_sqlite = STORE_SQLITE;
static const enum store_backend tdb_pg = STORE_POSTGRES;

static int tdb_pg_available(void)
{
	return getenv("DROPFIX_TEST_PG_PORT") && getenv("DROPFIX_TEST_PG_ADMIN_URL");
}

static void tdb_pg_skip_message(void)
{
	fprintf(stderr, "SKIP: PostgreSQL variant needs the test cluster (DROPFIX_TEST_PG_PORT, "
			"DROPFIX_TEST_PG_ADMIN_URL from tests/lib/pg.sh; `make test` starts it)\n");
}

static const char *tdb_env(const char *name, const char *def)
{
	const char *v = getenv(name);
	return v && *v ? v : def;
}

/* Runs one statement as the cluster superuser on database db ("postgres" for admin). */
static int tdb_admin_exec(const char *db, const char *sql)
{
	char url[512];
	snprintf(url, sizeof(url), "postgres://postgres@127.0.0.1:%s/%s", tdb_env("DROPFIX_TEST_PG_PORT", "0"), db);
	PGconn *pg = PQconnectdb(url);
	int ok = 0;
	if (PQstatus(pg) == CONNECTION_OK) {
		PGresult *r = PQexec(pg, sql);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
		if (!ok)
			fprintf(stderr, "admin exec failed: %s: %s", sql, PQerrorMessage(pg));
		PQclear(r);
	} else {
		fprintf(stderr, "admin connect failed: %s", PQerrorMessage(pg));
	}
	PQfinish(pg);
	return ok ? 0 : -1;
}

/* Creates (and migrates) an empty database; does not open the app store. 0 or -1. */
static int tdb_create(struct tdb *t, enum store_backend kind)
{
	static int seq;
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	snprintf(t->name, sizeof(t->name), "dfx_t%ld_%d", (long)getpid(), ++seq);
	char err[512];
	if (kind == STORE_SQLITE) {
		snprintf(t->path, sizeof(t->path), "%s/%s.db", tdb_env("DROPFIX_TEST_TMP", "/tmp"), t->name);
		unlink(t->path);
		snprintf(t->url_app, sizeof(t->url_app), "sqlite:%s", t->path);
		snprintf(t->url_owner, sizeof(t->url_owner), "%s", t->url_app);
		snprintf(t->url_maint, sizeof(t->url_maint), "%s", t->url_app);
	} else {
		const char *port = tdb_env("DROPFIX_TEST_PG_PORT", "0");
		char q[256];
		snprintf(q, sizeof(q), "CREATE DATABASE %s OWNER %s", t->name,
			 tdb_env("DROPFIX_TEST_PG_OWNER", "dropfix_owner"));
		if (tdb_admin_exec("postgres", q) < 0)
			return -1;
		snprintf(t->url_app, sizeof(t->url_app), "postgres://%s:%s@127.0.0.1:%s/%s",
			 tdb_env("DROPFIX_TEST_PG_APP", "dropfix_app"), tdb_env("DROPFIX_TEST_PG_APP_PASSWORD", ""), port,
			 t->name);
		snprintf(t->url_owner, sizeof(t->url_owner), "postgres://%s:%s@127.0.0.1:%s/%s",
			 tdb_env("DROPFIX_TEST_PG_OWNER", "dropfix_owner"), tdb_env("DROPFIX_TEST_PG_OWNER_PASSWORD", ""),
			 port, t->name);
		snprintf(t->url_maint, sizeof(t->url_maint), "postgres://%s:%s@127.0.0.1:%s/%s",
			 tdb_env("DROPFIX_TEST_PG_MAINT", "dropfix_maint"), tdb_env("DROPFIX_TEST_PG_MAINT_PASSWORD", ""),
			 port, t->name);
		snprintf(t->url_admin, sizeof(t->url_admin), "postgres://postgres@127.0.0.1:%s/%s", port, t->name);
	}
	struct store_opts o = {.role = STORE_ROLE_OWNER, .skip_schema_check = 1};
	struct store *owner;
	if (store_open(t->url_owner, &o, &owner, err, sizeof(err)) < 0) {
		fprintf(stderr, "open as owner: %s\n", err);
		return -1;
	}
	int applied = 0;
	int rc = store_migrate(owner, &applied, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "migrate: %s\n", err);
	store_close(owner);
	return rc;
}

/* Creates, migrates and opens the app store plus one connection. 0 or -1. */
static int tdb_open(struct tdb *t, enum store_backend kind)
{
	char err[512];
	if (tdb_create(t, kind) < 0)
		return -1;
	if (store_open(t->url_app, NULL, &t->s, err, sizeof(err)) < 0) {
		fprintf(stderr, "open as app: %s\n", err);
		return -1;
	}
	if (store_conn_open(t->s, &t->c, err, sizeof(err)) < 0) {
		fprintf(stderr, "connect: %s\n", err);
		return -1;
	}
	return 0;
}

static void tdb_close(struct tdb *t)
{
	store_conn_close(t->c);
	t->c = NULL;
	store_close(t->s);
	t->s = NULL;
	if (t->kind == STORE_SQLITE) {
		char p[600];
		unlink(t->path);
		snprintf(p, sizeof(p), "%s-wal", t->path);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", t->path);
		unlink(p);
	} else if (t->name[0]) {
		char q[128];
		snprintf(q, sizeof(q), "DROP DATABASE IF EXISTS %s WITH (FORCE)", t->name);
		(void)tdb_admin_exec("postgres", q);
	}
}

/* For cmocka prestate tests: the backend, or skip when PostgreSQL is unavailable. */
#define TDB_KIND(state)                                                                            \
	({                                                                                         \
		enum store_backend k_ = *(const enum store_backend *)*(state);                     \
		if (k_ == STORE_POSTGRES && !tdb_pg_available()) {                                 \
			tdb_pg_skip_message();                                                     \
			skip();                                                                    \
		}                                                                                  \
		k_;                                                                                \
	})

#endif
