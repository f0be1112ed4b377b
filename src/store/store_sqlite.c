/* SQLite backend: WAL, synchronous=FULL (or NORMAL: DROPFIX_SQLITE_SYNCHRONOUS), foreign
 * keys, DEFENSIVE, lowered limits, one writer per process (store.c's writer lock, then
 * BEGIN IMMEDIATE), `$N` bound by name (SQLite numbers parameters by first appearance, so
 * positional binding would shift). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/limits.h"
#include "store/store_int.h"

static enum store_code map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return STORE_E_BUSY;
	case SQLITE_CONSTRAINT:
		return STORE_E_CONSTRAINT;
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_READONLY:
	case SQLITE_PROTOCOL:
		return STORE_E_UNAVAILABLE;
	case SQLITE_NOMEM:
		return STORE_E_NOMEM;
	default:
		return STORE_E_SQL;
	}
}

static int sq_fail(struct store_conn *c, int rc, const char *what)
{
	enum store_code code = map_rc(rc);
	if (code == STORE_E_BUSY)
		return store_fail(c, code, "server busy, retry: %s: database locked for more than %d ms", what,
				  c->s->write_wait_ms);
	return store_fail(c, code, "%s: %s", what, c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
}

static const char *const ctl_sql[SQ_NCTL] = {
	[SQ_BEGIN] = "BEGIN",
	[SQ_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[SQ_COMMIT] = "COMMIT",
	[SQ_ROLLBACK] = "ROLLBACK",
};

static int pragma_text(struct store_conn *c, const char *sql, char *out, size_t outlen)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(c, rc, sql);
	out[0] = '\0';
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		snprintf(out, outlen, "%s", v ? v : "");
		rc = sqlite3_step(st);
	}
	if (rc != SQLITE_DONE) {
		sq_fail(c, rc, sql);
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

int store_sq_open(struct store_conn *c, char *err, size_t errlen)
{
	struct store *s = c->s;
	struct stat before;
	int existed = stat(s->path, &before) == 0;
	int rc = sqlite3_open_v2(s->path, &c->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
				 NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open the database %s: %s", s->path,
			 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		return -1;
	}
	if (!existed && chmod(s->path, 0600) < 0) {
		snprintf(err, errlen, "cannot restrict the database file mode: %s", strerror(errno));
		return -1;
	}
	sqlite3_limit(c->db, SQLITE_LIMIT_LENGTH, LIMIT_SQL_VALUE_BYTES);
	sqlite3_limit(c->db, SQLITE_LIMIT_SQL_LENGTH, LIMIT_SQL_LENGTH);
	sqlite3_limit(c->db, SQLITE_LIMIT_COLUMN, LIMIT_SQL_COLUMNS);
	sqlite3_limit(c->db, SQLITE_LIMIT_EXPR_DEPTH, LIMIT_SQL_EXPR_DEPTH);
	sqlite3_limit(c->db, SQLITE_LIMIT_COMPOUND_SELECT, LIMIT_SQL_COMPOUND_SELECT);
	sqlite3_limit(c->db, SQLITE_LIMIT_FUNCTION_ARG, LIMIT_SQL_FUNCTION_ARGS);
	sqlite3_limit(c->db, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_limit(c->db, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, LIMIT_SQL_LIKE_PATTERN);
	sqlite3_limit(c->db, SQLITE_LIMIT_VARIABLE_NUMBER, LIMIT_SQL_VARIABLES);
	sqlite3_limit(c->db, SQLITE_LIMIT_TRIGGER_DEPTH, LIMIT_SQL_TRIGGER_DEPTH);
	sqlite3_limit(c->db, SQLITE_LIMIT_WORKER_THREADS, 0);
	int on = 0;
	if (sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 1, &on) != SQLITE_OK || !on ||
	    sqlite3_db_config(c->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL) != SQLITE_OK ||
	    sqlite3_db_config(c->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL) != SQLITE_OK ||
	    sqlite3_db_config(c->db, SQLITE_DBCONFIG_DQS_DML, 0, NULL) != SQLITE_OK ||
	    sqlite3_db_config(c->db, SQLITE_DBCONFIG_DQS_DDL, 0, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot configure SQLite (DEFENSIVE): %s", sqlite3_errmsg(c->db));
		return -1;
	}
	sqlite3_busy_timeout(c->db, s->write_wait_ms);
	char mode[32];
	if (pragma_text(c, "PRAGMA journal_mode=WAL", mode, sizeof(mode)) < 0 || strcmp(mode, "wal") != 0) {
		snprintf(err, errlen, "cannot switch %s to WAL mode: %s", s->path, mode[0] ? mode : c->errmsg);
		return -1;
	}
	char unused[8];
	if (pragma_text(c, s->sqlite_sync_normal ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL", unused,
	                sizeof(unused)) < 0 ||
	    pragma_text(c, "PRAGMA foreign_keys=ON", unused, sizeof(unused)) < 0) {
		snprintf(err, errlen, "cannot configure %s: %s", s->path, c->errmsg);
		return -1;
	}
	for (int i = 0; i < SQ_NCTL; i++) {
		rc = sqlite3_prepare_v3(c->db, ctl_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &c->sq_ctl[i], NULL);
		if (rc != SQLITE_OK) {
			snprintf(err, errlen, "cannot prepare %s: %s", ctl_sql[i], sqlite3_errmsg(c->db));
			return -1;
		}
	}
	return 0;
}

void store_sq_close(struct store_conn *c)
{
	for (int i = 0; i < SQ_NCTL; i++) {
		sqlite3_finalize(c->sq_ctl[i]);
		c->sq_ctl[i] = NULL;
	}
	if (c->db)
		sqlite3_close(c->db);
	c->db = NULL;
}

static int run_ctl(struct store_conn *c, int which)
{
	sqlite3_stmt *st = c->sq_ctl[which];
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sq_fail(c, rc, ctl_sql[which]);
	return 0;
}

int store_sq_begin(struct store_conn *c, enum store_mode mode)
{
	return run_ctl(c, mode == STORE_WRITE ? SQ_BEGIN_IMMEDIATE : SQ_BEGIN);
}

int store_sq_commit(struct store_conn *c)
{
	return run_ctl(c, SQ_COMMIT);
}

void store_sq_rollback(struct store_conn *c)
{
	if (!sqlite3_get_autocommit(c->db)) {
		sqlite3_step(c->sq_ctl[SQ_ROLLBACK]);
		sqlite3_reset(c->sq_ctl[SQ_ROLLBACK]);
	}
}

/* "$N" with N in 1..LIMIT_SQL_VARIABLES, no leading zero; returns N or 0. */
static int param_number(const char *name)
{
	if (!name || name[0] != '$' || name[1] < '1' || name[1] > '9')
		return 0;
	int v = 0;
	for (const char *p = name + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		v = v * 10 + (*p - '0');
		if (v > LIMIT_SQL_VARIABLES)
			return 0;
	}
	return v;
}

int store_sq_prepare(struct store_conn *c, struct store_stmt *e)
{
	const char *tail = NULL;
	int rc = sqlite3_prepare_v3(c->db, e->sql, -1, SQLITE_PREPARE_PERSISTENT, &e->st, &tail);
	if (rc != SQLITE_OK) {
		sq_fail(c, rc, "prepare");
		goto fail;
	}
	if (!e->st) {
		store_fail(c, STORE_E_SQL, "empty statement");
		goto fail;
	}
	while (tail && (*tail == ' ' || *tail == '\n' || *tail == '\t' || *tail == '\r' || *tail == ';'))
		tail++;
	if (tail && *tail) {
		store_fail(c, STORE_E_SQL, "one statement per call");
		goto fail;
	}
	int count = sqlite3_bind_parameter_count(e->st);
	int maxn = 0;
	for (int i = 1; i <= count; i++) {
		const char *name = sqlite3_bind_parameter_name(e->st, i);
		int k = param_number(name);
		if (!k) {
			store_fail(c, STORE_E_SQL, "placeholders must be $1..$%d (got %.32s)", LIMIT_SQL_VARIABLES,
				   name ? name : "?");
			goto fail;
		}
		if (k > maxn)
			maxn = k;
	}
	e->map = calloc((size_t)maxn + 1, sizeof(int));
	if (!e->map) {
		store_fail(c, STORE_E_NOMEM, "out of memory");
		goto fail;
	}
	for (int i = 1; i <= count; i++)
		e->map[param_number(sqlite3_bind_parameter_name(e->st, i))] = i;
	e->map[0] = maxn;
	e->readonly = sqlite3_stmt_readonly(e->st);
	return 0;
fail:
	sqlite3_finalize(e->st);
	e->st = NULL;
	free(e->map);
	e->map = NULL;
	return -1;
}

static int bind_one(sqlite3_stmt *st, int idx, const struct store_param *p, sqlite3_destructor_type how)
{
	static const char empty[1] = "";
	switch (p->type) {
	case STORE_T_NULL:
		return sqlite3_bind_null(st, idx);
	case STORE_T_I64:
		return sqlite3_bind_int64(st, idx, p->i);
	case STORE_T_TEXT:
		return sqlite3_bind_text64(st, idx, p->n ? p->p : empty, p->n, how, SQLITE_UTF8);
	case STORE_T_BLOB:
		if (p->n == 0)
			return sqlite3_bind_zeroblob(st, idx, 0);
		return sqlite3_bind_blob64(st, idx, p->p, p->n, how);
	}
	return SQLITE_MISUSE;
}

int store_sq_run(struct store_conn *c, struct store_stmt *e, const struct store_param *p, size_t n,
		 struct store_rows *rows)
{
	if (!e->st && store_sq_prepare(c, e) < 0)
		return -1;
	if (c->tx.mode == STORE_READ && !e->readonly)
		return store_fail(c, STORE_E_READONLY, "write refused in a read-only transaction");
	int maxn = e->map[0];
	sqlite3_destructor_type how = rows ? SQLITE_TRANSIENT : SQLITE_STATIC;
	for (int k = 1; k <= maxn; k++) {
		int idx = e->map[k];
		if (!idx)
			continue;
		if ((size_t)k > n) {
			sqlite3_clear_bindings(e->st);
			return store_fail(c, STORE_E_SQL, "placeholder $%d has no value", k);
		}
		int rc = bind_one(e->st, idx, &p[k - 1], how);
		if (rc != SQLITE_OK) {
			sqlite3_clear_bindings(e->st);
			return sq_fail(c, rc, "bind");
		}
	}
	if (rows) {
		rows->e = e;
		rows->st = e->st;
		e->in_use = 1;
		return 0;
	}
	int rc;
	while ((rc = sqlite3_step(e->st)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE) {
		sq_fail(c, rc, "step");
		sqlite3_reset(e->st);
		return -1;
	}
	c->tx.changes = sqlite3_changes64(c->db);
	sqlite3_reset(e->st);
	return 0;
}

int store_sq_step(struct store_rows *r)
{
	int rc = sqlite3_step(r->st);
	if (rc == SQLITE_ROW)
		return 1;
	r->done = 1;
	if (rc == SQLITE_DONE)
		return 0;
	return sq_fail(r->c, rc, "step");
}

void store_sq_rows_close(struct store_rows *r)
{
	if (r->e) {
		sqlite3_reset(r->st);
		sqlite3_clear_bindings(r->st);
		r->e->in_use = 0;
	} else if (r->st) {
		sqlite3_finalize(r->st);
	}
	r->st = NULL;
	r->e = NULL;
}

int store_sq_exec_script(struct store_conn *c, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		store_fail(c, map_rc(rc), "%s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int store_sq_checkpoint(struct store_conn *c, int truncate)
{
	int held = 0;
	if (truncate) {
		if (store_wlock_acquire(c->s) < 0)
			return store_fail(c, STORE_E_BUSY, "server busy, retry: checkpoint waited %d ms for the writer",
					  c->s->write_wait_ms);
		held = 1;
	}
	int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, truncate ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_PASSIVE,
					   NULL, NULL);
	if (held)
		store_wlock_release(c->s);
	if (rc != SQLITE_OK)
		return sq_fail(c, rc, "checkpoint");
	return 0;
}
