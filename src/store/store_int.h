/* Internals shared by store.c, store_sql.c, store_schema.c, store_migrate.c and the two
 * backends (store_sqlite.c, store_pg.c). Not for callers outside src/store/ (tests may
 * include it). */
#ifndef DROPFIX_STORE_INT_H
#define DROPFIX_STORE_INT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>

#include "store/store.h"

/* One embedded migration (build/gen/migrations_data.c, from mk/migrations-gen.sh).
 * Arrays end with a zeroed entry. */
struct store_migration {
	int version;
	const char *name;
	const char *sql; /* NUL-terminated */
	size_t len;
};
extern const struct store_migration store_migrations_sqlite[];
extern const struct store_migration store_migrations_pg[];

/* ---- SQL guard (store_sql.c) ---- */

enum store_sql_ctx {
	STORE_SQL_GLOBAL,    /* global tables only */
	STORE_SQL_WS,        /* tenant tables need `workspace_id = $1`; global tables free */
	STORE_SQL_MAINT,     /* statement kind checks only */
	STORE_SQL_WS_STATIC, /* STORE_SQL_WS for the static lint: a multi-row INSERT prefix
			      * ending at VALUES is accepted (tuples are appended at run time) */
};

/* Checks one statement for ctx. Returns 0 when allowed (and sets *max_param to the
 * highest $N used, 0 when none), or -1 with a one-line reason in why. */
int store_sql_check(const char *sql, enum store_sql_ctx ctx, int *max_param, char *why, size_t whylen)
	__attribute__((warn_unused_result));

/* ---- Connections, statements ---- */

enum store_tx_kind { TX_NONE = 0, TX_GLOBAL, TX_WS, TX_MAINT };

#define STORE_STMT_CACHE 64
#define STORE_PARAMS_INLINE 32

struct store_stmt {
	uint64_t hash;
	char *sql;            /* owned copy; NULL = free slot */
	const char *src;      /* the caller's pointer it was made from (lookup's fast path) */
	uint64_t sig_hash;    /* PostgreSQL: hash of every parameter type */
	unsigned guard_done;  /* bit per enum store_sql_ctx: checked */
	unsigned guard_ok;    /* bit per enum store_sql_ctx: allowed */
	int max_param;
	int in_use;           /* a result set is stepping it (SQLite) */
	unsigned last_used;
	/* SQLite */
	sqlite3_stmt *st;
	int *map;             /* map[k] = SQLite parameter index of `$k`, k = 1..max_param */
	int readonly;
	/* PostgreSQL */
	char pg_name[24];
};

struct store_tx {
	struct store_conn *c;
	enum store_tx_kind kind;
	enum store_mode mode;
	int64_t ws;
	int failed;
	int holds_wlock;
	int64_t changes;
};

struct store_rows {
	struct store_conn *c;
	struct store_rows *prev, *next; /* open result sets of the connection */
	/* SQLite */
	struct store_stmt *e; /* cached statement, or NULL when st is owned */
	sqlite3_stmt *st;
	/* PostgreSQL */
	PGresult *res;
	int row, nrows;
	unsigned char **decoded; /* per column: unescaped bytea of the current row (PQfreemem) */
	size_t *declen;
	int ncols;
	int done;
	int dead; /* closed by the end of its transaction; memory kept until store_rows_close */
};

struct store {
	enum store_backend kind;
	enum store_role role;
	int write_wait_ms;
	int sqlite_sync_normal; /* store_opts.sqlite_sync_normal */
	char *url;
	char *path; /* SQLite file */
	/* SQLite: one writer per process */
	pthread_mutex_t wmu;
	pthread_cond_t wcv;
	int writer_held;
};

enum { SQ_BEGIN, SQ_BEGIN_IMMEDIATE, SQ_COMMIT, SQ_ROLLBACK, SQ_NCTL };

struct store_conn {
	struct store *s;
	sqlite3 *db;
	sqlite3_stmt *sq_ctl[SQ_NCTL]; /* prepared transaction control */
	PGconn *pg;
	struct store_tx tx;
	struct store_rows *rows; /* open result sets */
	struct store_rows *dead; /* result sets the transaction's end closed, not yet freed by
				  * store_rows_close; freed at the next begin or conn close */
	enum store_code err;
	char errmsg[256];
	struct store_stmt cache[STORE_STMT_CACHE];
	unsigned use_clock;
	unsigned pg_seq;
};

/* Records an error on c (and poisons the open transaction). Returns -1. */
int store_fail(struct store_conn *c, enum store_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void store_clear_error(struct store_conn *c);

/* Process writer lock of a SQLite store: waits up to s->write_wait_ms. 0 or -1. */
int store_wlock_acquire(struct store *s) __attribute__((warn_unused_result));
void store_wlock_release(struct store *s);

/* Frees a statement cache slot (finalizing / deallocating the backend statement). */
void store_stmt_free(struct store_conn *c, struct store_stmt *e);

/* Internal execution without the guard (migrations, schema checks, tenant setting). */
int store_exec_internal(struct store_tx *tx, const char *sql, const struct store_param *p, size_t n)
	__attribute__((warn_unused_result));
int store_query_internal(struct store_tx *tx, const char *sql, const struct store_param *p, size_t n,
			 struct store_rows **out) __attribute__((warn_unused_result));
/* Begins a guard-free transaction for the store's own work. */
int store_begin_internal(struct store_conn *c, enum store_mode mode, struct store_tx **out)
	__attribute__((warn_unused_result));

/* Migrations (store_migrate.c). */
int store_known_version(enum store_backend kind);
/* Current schema version (0 when the schema table is absent); opens its own internal
 * transaction on c. 0 or -1. */
int store_schema_current(struct store_conn *c, int *cur) __attribute__((warn_unused_result));

/* ---- SQLite backend (store_sqlite.c) ---- */
int store_sq_open(struct store_conn *c, char *err, size_t errlen) __attribute__((warn_unused_result));
void store_sq_close(struct store_conn *c);
int store_sq_begin(struct store_conn *c, enum store_mode mode) __attribute__((warn_unused_result));
int store_sq_commit(struct store_conn *c) __attribute__((warn_unused_result));
void store_sq_rollback(struct store_conn *c);
int store_sq_prepare(struct store_conn *c, struct store_stmt *e) __attribute__((warn_unused_result));
/* Binds params (already including `$1` for workspace transactions) and runs e: with
 * rows == NULL steps to the end; otherwise hands the bound statement to rows. */
int store_sq_run(struct store_conn *c, struct store_stmt *e, const struct store_param *p, size_t n,
		 struct store_rows *rows) __attribute__((warn_unused_result));
int store_sq_step(struct store_rows *r);
void store_sq_rows_close(struct store_rows *r);
int store_sq_exec_script(struct store_conn *c, const char *sql) __attribute__((warn_unused_result));
int store_sq_checkpoint(struct store_conn *c, int truncate) __attribute__((warn_unused_result));

/* ---- PostgreSQL backend (store_pg.c) ---- */
/* Checks the URL: a non-loopback host needs sslmode=verify-full. 0 or -1 with err. */
int store_pg_check_url(const char *url, char *err, size_t errlen) __attribute__((warn_unused_result));
int store_pg_open(struct store_conn *c, char *err, size_t errlen) __attribute__((warn_unused_result));
void store_pg_close(struct store_conn *c);
int store_pg_begin(struct store_conn *c, enum store_mode mode) __attribute__((warn_unused_result));
int store_pg_commit(struct store_conn *c) __attribute__((warn_unused_result));
void store_pg_rollback(struct store_conn *c);
/* Sets app.workspace_id for the open transaction (set_config(..., true)). Refuses when
 * no explicit transaction is open on c. 0 or -1. */
int store_pg_set_tenant(struct store_conn *c, int64_t ws) __attribute__((warn_unused_result));
/* Prepares (or reuses) e for these parameter types and runs it. */
int store_pg_run(struct store_conn *c, struct store_stmt *e, const struct store_param *p, size_t n,
		 struct store_rows *rows) __attribute__((warn_unused_result));
int store_pg_step(struct store_rows *r);
void store_pg_rows_close(struct store_rows *r);
int store_pg_exec_script(struct store_conn *c, const char *sql) __attribute__((warn_unused_result));

#endif
