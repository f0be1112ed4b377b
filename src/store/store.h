/* The store: one interface over two backends, chosen by the database URL
 * (`sqlite:PATH`, the embedded default, or `postgres://…` for scale-out).
 *
 * Shape:
 *   struct store      one per database per process (thread-safe; owns the SQLite
 *                     writer lock and the settings).
 *   struct store_conn one per thread (a sqlite3 handle or a PGconn), never shared.
 *   struct store_tx   the one open transaction of a connection. Two kinds:
 *     global    (store_begin_global): may touch only the global tables listed in
 *               store_global_tables[] (store_schema.c). A statement naming any other
 *               table is refused at run time (STORE_E_TENANT).
 *     workspace (store_begin_ws): the handle binds the tenant itself. In every
 *               statement `$1` IS the handle's workspace id; caller parameters start
 *               at `$2`. Every tenant table a statement names must carry
 *               `workspace_id = $1` (alias-qualified when several tables are named) as
 *               an AND-ed condition of WHERE/ON, or, for INSERT, `(workspace_id, …)
 *               VALUES ($1, …)`. Checked at run time (STORE_E_TENANT) and statically
 *               over every SQL literal in src/ (tests/unit/test_store_sqllint.c).
 *               On PostgreSQL the handle also sets `app.workspace_id` inside the
 *               transaction, so row-level security backs the check up.
 *   Maintenance (store_maint_*): cross-tenant access for CLI/worker code only
 *               (retention, keys rotate, audit verify, backups). Never call these
 *               from src/http/ (a static test refuses it).
 *
 * SQL is written once with `$N` placeholders. Only SELECT, INSERT, UPDATE, DELETE,
 * WITH and VALUES statements pass through store_exec/store_query, one statement per
 * call; transaction control belongs to the store.
 *
 * Errors: functions return 0 on success and -1 on failure; store_errcode() tells why
 * (STORE_E_UNAVAILABLE → HTTP 503, STORE_E_BUSY → "server busy, retry"). The first
 * failure inside a transaction poisons it: later statements fail and store_commit
 * rolls back and returns -1. */
#ifndef DROPFIX_STORE_H
#define DROPFIX_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h> /* strlen in SP_TEXT */

struct store;
struct store_conn;
struct store_tx;
struct store_rows;

enum store_code {
	STORE_OK = 0,
	STORE_E_SQL,         /* malformed or refused statement, type or usage error (a bug) */
	STORE_E_CONSTRAINT,  /* unique, foreign key, check or not-null violation */
	STORE_E_BUSY,        /* writer lock not obtained within the bounded wait: retry later */
	STORE_E_CONFLICT,    /* serialization failure or deadlock (PostgreSQL): retry */
	STORE_E_UNAVAILABLE, /* database down, connection lost, disk full, I/O error: 503 */
	STORE_E_READONLY,    /* a write attempted in a read-only transaction */
	STORE_E_TENANT,      /* the tenant guard refused the statement */
	STORE_E_SCHEMA,      /* schema newer than this binary, or a changed migration */
	STORE_E_CONFIG,      /* bad URL, insecure sslmode, missing role privilege */
	STORE_E_NOMEM,
};

enum store_backend { STORE_SQLITE = 1, STORE_POSTGRES = 2 };

/* Which PostgreSQL role a store connects as (informational on SQLite). */
enum store_role {
	STORE_ROLE_APP = 0, /* serve: owns nothing, NOBYPASSRLS */
	STORE_ROLE_OWNER,   /* migrate: owns the schema, NOBYPASSRLS */
	STORE_ROLE_MAINT,   /* CLI/worker maintenance: BYPASSRLS (checked at open) */
};

enum store_mode { STORE_READ = 0, STORE_WRITE = 1 };

struct store_opts {
	enum store_role role;
	/* Bounded wait for the write lock (SQLite process mutex + busy_timeout; PostgreSQL
	 * lock_timeout). 0 means the default, STORE_DEFAULT_WRITE_WAIT_MS. */
	int write_wait_ms;
	/* 1: skip the "schema newer than this binary" check at open (migrate does its
	 * own). */
	int skip_schema_check;
	/* SQLite: 1 = PRAGMA synchronous=NORMAL (a commit survives a process crash, not a
	 * power loss: the WAL is not synced per commit); 0 = FULL (the default: synced per
	 * commit, survives both). DROPFIX_SQLITE_SYNCHRONOUS. Ignored for PostgreSQL. */
	int sqlite_sync_normal;
};

#define STORE_DEFAULT_WRITE_WAIT_MS 5000

/* Typed parameters. */
enum store_type { STORE_T_NULL = 0, STORE_T_I64, STORE_T_TEXT, STORE_T_BLOB };

struct store_param {
	enum store_type type;
	int64_t i;
	const void *p; /* borrowed; TEXT need not be NUL-terminated */
	size_t n;
};

#define SP_NULL ((struct store_param){.type = STORE_T_NULL})
#define SP_I64(v) ((struct store_param){.type = STORE_T_I64, .i = (int64_t)(v)})
#define SP_TEXT(s) ((struct store_param){.type = STORE_T_TEXT, .p = (s), .n = strlen(s)})
#define SP_TEXTN(s, len) ((struct store_param){.type = STORE_T_TEXT, .p = (s), .n = (len)})
#define SP_BLOB(b, len) ((struct store_param){.type = STORE_T_BLOB, .p = (b), .n = (len)})
/* STORE_ARGS(SP_I64(x), SP_TEXT(y)) expands to the (params, count) argument pair. */
#define STORE_ARGS(...)                                                                     \
	((const struct store_param[]){__VA_ARGS__}),                                        \
		(sizeof((const struct store_param[]){__VA_ARGS__}) / sizeof(struct store_param))
#define STORE_NO_ARGS NULL, 0

/* ---- Opening ---- */

/* Opens a store for url ("sqlite:PATH", "postgres://…" or "postgresql://…"). opts may be
 * NULL (app role, defaults). Refuses a non-loopback PostgreSQL host without
 * sslmode=verify-full, a maintenance store whose role lacks BYPASSRLS, and (unless
 * skipped) a schema newer than this binary knows. Creates the SQLite file when
 * missing (its directory must exist). Returns 0 and *out (caller frees with
 * store_close), or -1 with a one-line message in err. */
int store_open(const char *url, const struct store_opts *opts, struct store **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Frees the store; every connection must be closed first. Accepts NULL. */
void store_close(struct store *s);
enum store_backend store_backend(const struct store *s);

/* Opens a connection for the calling thread. Returns 0 and *out, or -1 with err. */
int store_conn_open(struct store *s, struct store_conn **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Closes a connection (rolling back an open transaction). Accepts NULL. */
void store_conn_close(struct store_conn *c);

/* Last error of this connection (or its transaction) and its message (borrowed, valid
 * until the next call on c). */
enum store_code store_errcode(const struct store_conn *c);
const char *store_errmsg(const struct store_conn *c);
/* Stable lower-case name of a code ("busy", "unavailable", …) for logs and CLI output. */
const char *store_code_name(enum store_code code);

/* ---- Transactions ---- */

/* Begins a transaction on the global tables. STORE_WRITE takes the process writer
 * lock and BEGIN IMMEDIATE on SQLite (STORE_E_BUSY after the bounded wait);
 * STORE_READ is BEGIN (SQLite, writes refused) or BEGIN READ ONLY (PostgreSQL).
 * Returns 0 and *out (borrowed from c; ends with store_commit/store_rollback). */
int store_begin_global(struct store_conn *c, enum store_mode mode, struct store_tx **out)
	__attribute__((warn_unused_result));
/* Begins a workspace-scoped transaction for workspace_id in [1, 2^53). `$1` is that id
 * in every statement of the transaction; on PostgreSQL the tenant setting is made
 * inside the transaction. Returns 0 and *out, or -1. */
int store_begin_ws(struct store_conn *c, int64_t workspace_id, enum store_mode mode, struct store_tx **out)
	__attribute__((warn_unused_result));
/* Re-binds a workspace transaction to another workspace (the group-commit writer:
 * one transaction, one segment per workspace). Every open result set must be closed.
 * Returns 0 or -1. */
int store_ws_rebind(struct store_tx *tx, int64_t workspace_id) __attribute__((warn_unused_result));
/* The workspace id a workspace transaction is bound to; 0 for other kinds. */
int64_t store_tx_workspace(const struct store_tx *tx);
struct store_conn *store_tx_conn(struct store_tx *tx);
/* The backend of the store a transaction belongs to (for the few callers whose SQL must
 * differ, e.g. PostgreSQL advisory locks where SQLite's single writer already serialises). */
enum store_backend store_tx_backend(const struct store_tx *tx);
/* Commits and ends the transaction (closing any result set still open). Returns 0, or
 * -1 (rolled back) when the commit or an earlier statement failed. */
int store_commit(struct store_tx *tx) __attribute__((warn_unused_result));
/* Rolls back and ends the transaction. Accepts NULL. */
void store_rollback(struct store_tx *tx);

/* ---- Statements ---- */

/* Runs one statement that returns no rows (or whose rows are ignored). params are
 * bound to `$1…` (global) or `$2…` (workspace). Returns 0 or -1. */
int store_exec(struct store_tx *tx, const char *sql, const struct store_param *params, size_t n)
	__attribute__((warn_unused_result));
/* Rows changed by the last store_exec in this transaction. */
int64_t store_changes(const struct store_tx *tx);
/* Runs a query. Returns 0 and *out, or -1. Free *out with store_rows_close. A result set
 * still open when its transaction ends is closed then (no more rows); its memory stays
 * valid for a late store_rows_close until the next begin on this connection, which
 * frees it (so forgetting to close does not leak; closing after the next begin would be
 * a use after free). */
int store_query(struct store_tx *tx, const char *sql, const struct store_param *params, size_t n,
		struct store_rows **out) __attribute__((warn_unused_result));
/* Advances to the next row: 1 = a row, 0 = done, -1 = error (store_errcode). */
int store_step(struct store_rows *r) __attribute__((warn_unused_result));
int store_col_count(const struct store_rows *r);
/* Column access on the current row; col is 0-based. Values are borrowed until the
 * next store_step/store_rows_close. */
int store_col_is_null(const struct store_rows *r, int col);
/* Integer value (0 when NULL). */
int64_t store_col_i64(const struct store_rows *r, int col);
/* Text value and its length (NUL-terminated; NULL with *len 0 when SQL NULL). */
const char *store_col_text(struct store_rows *r, int col, size_t *len);
/* Blob value and its length (NULL with *len 0 when SQL NULL or empty). */
const void *store_col_blob(struct store_rows *r, int col, size_t *len);
/* Ends a result set. Accepts NULL. */
void store_rows_close(struct store_rows *r);

/* Convenience: runs a query and reads column 0 of its first row as an integer.
 * Returns 1 (found, *out set), 0 (no row or NULL), -1 (error). */
int store_query_i64(struct store_tx *tx, const char *sql, const struct store_param *params, size_t n,
		    int64_t *out) __attribute__((warn_unused_result));

/* ---- Workspaces and installation metadata (global transactions) ---- */

struct store_workspace_new {
	const char *name;
	const char *product_name;
	const char *timezone; /* validated by the caller */
	const char *currency; /* ISO 4217, validated by the caller */
};

/* Creates a workspace with a fresh random id in [1, 2^53) never used before (retries
 * on a collision, including with deleted workspaces). tx must be a global write
 * transaction. Returns 0 and *id_out, or -1. */
int store_workspace_create(struct store_tx *tx, const struct store_workspace_new *w, int64_t *id_out)
	__attribute__((warn_unused_result));
/* Deletes a workspace; every tenant row cascades. Its id stays retired. Returns 0 (also
 * when it did not exist) or -1. */
int store_workspace_delete(struct store_tx *tx, int64_t id) __attribute__((warn_unused_result));
/* A random integer in [1, 2^53) from libsodium (for ids that must not be guessable). */
int64_t store_random_id(void);

/* installation_meta key/value (e.g. the sealed key-check value). get: 1 found (value
 * copied into out, NUL-terminated, at most outlen-1 bytes else -1), 0 absent, -1 error. */
int store_meta_get(struct store_tx *tx, const char *key, char *out, size_t outlen)
	__attribute__((warn_unused_result));
int store_meta_set(struct store_tx *tx, const char *key, const char *value) __attribute__((warn_unused_result));

/* ---- Migrations ---- */

/* Applies pending embedded migrations, each in its own transaction, recorded in
 * schema_migrations (version, name, applied_at, checksum). On PostgreSQL run it as the
 * owner role. Refuses a schema newer than this binary and an applied migration whose
 * checksum changed. Returns 0 and the number applied in *applied (may be NULL), or -1
 * with err. serve calls it at start for the embedded SQLite default. */
int store_migrate(struct store *s, int *applied, char *err, size_t errlen) __attribute__((warn_unused_result));
/* Current schema version of the database (0 when empty) and the newest this binary
 * knows. Returns 0 or -1 with err. */
int store_schema_version(struct store *s, int *current, int *known, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* ---- SQLite housekeeping (no-ops returning 0 on PostgreSQL) ---- */

/* Checkpoints the WAL (truncate = 1: TRUNCATE, waiting for readers up to the write
 * wait; 0: PASSIVE). Returns 0 or -1. */
int store_checkpoint(struct store_conn *c, int truncate) __attribute__((warn_unused_result));
/* Size in bytes of the WAL file (0 when absent or on PostgreSQL). Returns 0 or -1. */
int store_wal_bytes(struct store *s, int64_t *out) __attribute__((warn_unused_result));

/* ---- Maintenance: CLI and worker code only, never request handlers ---- */

/* Lists every workspace id (ascending) into a malloc'ed array (*ids, caller frees).
 * Callers then open one store_begin_ws transaction per workspace. Returns 0 or -1. */
int store_maint_workspaces(struct store_conn *c, int64_t **ids, size_t *n) __attribute__((warn_unused_result));
/* Begins a cross-tenant transaction with the tenant guard off. On PostgreSQL the store
 * must have been opened with STORE_ROLE_MAINT (BYPASSRLS); on SQLite any store. SQL
 * literals used here that touch tenant tables must contain the marker comment
 * `/ * cross-tenant * /` (without the spaces) so the static lint lets them through.
 * Returns 0 and *out, or -1. */
int store_maint_begin(struct store_conn *c, enum store_mode mode, struct store_tx **out)
	__attribute__((warn_unused_result));

/* ---- Schema facts (store_schema.c): the single list of global tables ---- */

/* NULL-terminated list of the global (non-tenant) tables. Every other table is a
 * tenant table: workspace_id first in every key, RLS on PostgreSQL. */
extern const char *const store_global_tables[];
/* 1 when name (length n, case-insensitive) is a global table. */
int store_is_global_table(const char *name, size_t n);

#endif
