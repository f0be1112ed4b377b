/* The store's backend-independent half: opening, transactions and their kinds, the
 * tenant guard, the per-connection statement cache, errors, result sets. */
#include "store/store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/stat.h>
#include <time.h>

#include "core/clock.h"
#include "core/limits.h"
#include "core/parse.h"
#include "store/store_int.h"

/* ---- Errors ---- */

static const char *const code_names[] = {
	[STORE_OK] = "ok",
	[STORE_E_SQL] = "sql",
	[STORE_E_CONSTRAINT] = "constraint",
	[STORE_E_BUSY] = "busy",
	[STORE_E_CONFLICT] = "conflict",
	[STORE_E_UNAVAILABLE] = "unavailable",
	[STORE_E_READONLY] = "readonly",
	[STORE_E_TENANT] = "tenant",
	[STORE_E_SCHEMA] = "schema",
	[STORE_E_CONFIG] = "config",
	[STORE_E_NOMEM] = "nomem",
};

const char *store_code_name(enum store_code code)
{
	if ((unsigned)code >= sizeof(code_names) / sizeof(code_names[0]) || !code_names[code])
		return "unknown";
	return code_names[code];
}

int store_fail(struct store_conn *c, enum store_code code, const char *fmt, ...)
{
	c->err = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
	va_end(ap);
	if (c->tx.kind != TX_NONE)
		c->tx.failed = 1;
	return -1;
}

void store_clear_error(struct store_conn *c)
{
	c->err = STORE_OK;
	c->errmsg[0] = '\0';
}

enum store_code store_errcode(const struct store_conn *c)
{
	return c ? c->err : STORE_E_SQL;
}

const char *store_errmsg(const struct store_conn *c)
{
	return c ? c->errmsg : "no connection";
}

static void free_dead_rows(struct store_conn *c);

/* ---- Opening ---- */


int store_open(const char *url, const struct store_opts *opts, struct store **out, char *err, size_t errlen)
{
	static const struct store_opts defaults = {0};
	struct store_conn *c = NULL;
	struct store *s = NULL;
	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (!url) {
		snprintf(err, errlen, "no database URL");
		goto fail;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	s->role = opts->role;
	s->write_wait_ms = opts->write_wait_ms > 0 ? opts->write_wait_ms : STORE_DEFAULT_WRITE_WAIT_MS;
	s->sqlite_sync_normal = opts->sqlite_sync_normal ? 1 : 0;
	pthread_mutex_init(&s->wmu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wcv, &ca);
	pthread_condattr_destroy(&ca);
	s->url = strdup(url);
	if (!s->url) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (strncmp(url, "sqlite:", 7) == 0) {
		s->kind = STORE_SQLITE;
		if (!url[7] || strncmp(url + 7, ":memory:", 8) == 0 || url[7] == '?') {
			snprintf(err, errlen, "DROPFIX_DATABASE_URL: sqlite: needs a file path");
			goto fail;
		}
		s->path = strdup(url + 7);
		if (!s->path) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	} else if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
		s->kind = STORE_POSTGRES;
		if (store_pg_check_url(url, err, errlen) < 0)
			goto fail;
	} else {
		snprintf(err, errlen, "DROPFIX_DATABASE_URL: expected sqlite:PATH or postgres://…");
		goto fail;
	}
	if (store_conn_open(s, &c, err, errlen) < 0)
		goto fail;
	if (!opts->skip_schema_check) {
		int cur = 0, known = store_known_version(s->kind);
		if (store_schema_current(c, &cur) < 0) {
			snprintf(err, errlen, "reading the schema version: %s", store_errmsg(c));
			goto fail;
		}
		if (cur > known) {
			snprintf(err, errlen,
				 "the database schema (version %d) is newer than this dropfix knows (version %d): "
				 "upgrade dropfix, or restore a backup made by this version",
				 cur, known);
			goto fail;
		}
	}
	store_conn_close(c);
	*out = s;
	return 0;
fail:
	store_conn_close(c);
	store_close(s);
	return -1;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->wmu);
	pthread_cond_destroy(&s->wcv);
	free(s->url);
	free(s->path);
	free(s);
}

enum store_backend store_backend(const struct store *s)
{
	return s->kind;
}

int store_conn_open(struct store *s, struct store_conn **out, char *err, size_t errlen)
{
	*out = NULL;
	struct store_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->s = s;
	c->tx.c = c;
	int rc = s->kind == STORE_SQLITE ? store_sq_open(c, err, errlen) : store_pg_open(c, err, errlen);
	if (rc < 0) {
		store_conn_close(c);
		return -1;
	}
	*out = c;
	return 0;
}

void store_stmt_free(struct store_conn *c, struct store_stmt *e)
{
	if (e->st)
		sqlite3_finalize(e->st);
	if (e->pg_name[0] && c->pg && PQstatus(c->pg) == CONNECTION_OK && !c->tx.failed) {
		char q[64];
		snprintf(q, sizeof(q), "DEALLOCATE %s", e->pg_name);
		PQclear(PQexec(c->pg, q));
	}
	free(e->map);
	free(e->sql);
	memset(e, 0, sizeof(*e));
}

void store_conn_close(struct store_conn *c)
{
	if (!c)
		return;
	if (c->tx.kind != TX_NONE)
		store_rollback(&c->tx);
	free_dead_rows(c);
	for (int i = 0; i < STORE_STMT_CACHE; i++) {
		if (c->cache[i].pg_name[0])
			c->cache[i].pg_name[0] = '\0'; /* dropped with the session */
		store_stmt_free(c, &c->cache[i]);
	}
	if (c->s && c->s->kind == STORE_SQLITE)
		store_sq_close(c);
	else
		store_pg_close(c);
	free(c);
}

/* ---- SQLite writer lock ---- */

int store_wlock_acquire(struct store *s)
{
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += s->write_wait_ms / 1000;
	dl.tv_nsec += (long)(s->write_wait_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	int rc = 0;
	pthread_mutex_lock(&s->wmu);
	while (s->writer_held) {
		if (pthread_cond_timedwait(&s->wcv, &s->wmu, &dl) == ETIMEDOUT && s->writer_held) {
			rc = -1;
			break;
		}
	}
	if (rc == 0)
		s->writer_held = 1;
	pthread_mutex_unlock(&s->wmu);
	return rc;
}

void store_wlock_release(struct store *s)
{
	pthread_mutex_lock(&s->wmu);
	s->writer_held = 0;
	pthread_cond_signal(&s->wcv);
	pthread_mutex_unlock(&s->wmu);
}

/* ---- Transactions ---- */

static int begin(struct store_conn *c, enum store_tx_kind kind, enum store_mode mode, int64_t ws,
		 struct store_tx **out)
{
	*out = NULL;
	if (c->tx.kind != TX_NONE)
		return store_fail(c, STORE_E_SQL, "a transaction is already open on this connection");
	store_clear_error(c);
	free_dead_rows(c);
	struct store_tx *tx = &c->tx;
	memset(tx, 0, sizeof(*tx));
	tx->c = c;
	if (c->s->kind == STORE_SQLITE) {
		if (mode == STORE_WRITE) {
			if (store_wlock_acquire(c->s) < 0)
				return store_fail(c, STORE_E_BUSY,
						  "server busy, retry: the database writer lock was not free within %d ms",
						  c->s->write_wait_ms);
			tx->holds_wlock = 1;
		}
		if (store_sq_begin(c, mode) < 0) {
			if (tx->holds_wlock)
				store_wlock_release(c->s);
			tx->holds_wlock = 0;
			return -1;
		}
	} else if (store_pg_begin(c, mode) < 0) {
		return -1;
	}
	tx->kind = kind;
	tx->mode = mode;
	tx->ws = ws;
	if (kind == TX_WS && c->s->kind == STORE_POSTGRES && store_pg_set_tenant(c, ws) < 0) {
		enum store_code code = c->err;
		char msg[sizeof(c->errmsg)];
		memcpy(msg, c->errmsg, sizeof(msg));
		store_rollback(tx);
		c->err = code;
		memcpy(c->errmsg, msg, sizeof(msg));
		return -1;
	}
	*out = tx;
	return 0;
}

static int valid_ws(int64_t ws)
{
	return ws >= 1 && ws < (INT64_C(1) << 53);
}

int store_begin_global(struct store_conn *c, enum store_mode mode, struct store_tx **out)
{
	return begin(c, TX_GLOBAL, mode, 0, out);
}

int store_begin_ws(struct store_conn *c, int64_t workspace_id, enum store_mode mode, struct store_tx **out)
{
	*out = NULL;
	if (!valid_ws(workspace_id))
		return store_fail(c, STORE_E_SQL, "workspace id out of range");
	return begin(c, TX_WS, mode, workspace_id, out);
}

int store_begin_internal(struct store_conn *c, enum store_mode mode, struct store_tx **out)
{
	return begin(c, TX_MAINT, mode, 0, out);
}

int store_maint_begin(struct store_conn *c, enum store_mode mode, struct store_tx **out)
{
	*out = NULL;
	if (c->s->kind == STORE_POSTGRES && c->s->role != STORE_ROLE_MAINT)
		return store_fail(c, STORE_E_CONFIG,
				  "cross-tenant maintenance needs a store opened with the maintenance role "
				  "(DROPFIX_DATABASE_MAINT_URL)");
	return begin(c, TX_MAINT, mode, 0, out);
}

int store_ws_rebind(struct store_tx *tx, int64_t workspace_id)
{
	struct store_conn *c = tx->c;
	if (tx->kind != TX_WS)
		return store_fail(c, STORE_E_SQL, "store_ws_rebind needs a workspace transaction");
	if (tx->failed)
		return -1;
	if (c->rows)
		return store_fail(c, STORE_E_SQL, "close result sets before rebinding the workspace");
	if (!valid_ws(workspace_id))
		return store_fail(c, STORE_E_SQL, "workspace id out of range");
	if (c->s->kind == STORE_POSTGRES && store_pg_set_tenant(c, workspace_id) < 0)
		return -1;
	tx->ws = workspace_id;
	return 0;
}

int64_t store_tx_workspace(const struct store_tx *tx)
{
	return tx && tx->kind == TX_WS ? tx->ws : 0;
}

struct store_conn *store_tx_conn(struct store_tx *tx)
{
	return tx->c;
}

enum store_backend store_tx_backend(const struct store_tx *tx)
{
	return tx->c->s->kind;
}

static void backend_rows_close(struct store_rows *r)
{
	if (r->c->s->kind == STORE_SQLITE)
		store_sq_rows_close(r);
	else
		store_pg_rows_close(r);
	r->done = 1;
}

/* At the end of a transaction: result sets still open are closed; their memory stays
 * valid (a late store_rows_close frees it) until the next begin or conn close. */
static void close_all_rows(struct store_conn *c)
{
	while (c->rows) {
		struct store_rows *r = c->rows;
		c->rows = r->next;
		backend_rows_close(r);
		r->dead = 1;
		r->prev = NULL;
		r->next = c->dead;
		if (c->dead)
			c->dead->prev = r;
		c->dead = r;
	}
}

static void free_dead_rows(struct store_conn *c)
{
	while (c->dead) {
		struct store_rows *r = c->dead;
		c->dead = r->next;
		free(r);
	}
}

static void end_tx(struct store_tx *tx)
{
	if (tx->holds_wlock)
		store_wlock_release(tx->c->s);
	struct store_conn *c = tx->c;
	memset(tx, 0, sizeof(*tx));
	tx->c = c;
}

int store_commit(struct store_tx *tx)
{
	struct store_conn *c = tx->c;
	if (tx->kind == TX_NONE)
		return store_fail(c, STORE_E_SQL, "no transaction to commit");
	close_all_rows(c);
	if (tx->failed) {
		enum store_code code = c->err;
		char msg[sizeof(c->errmsg)];
		memcpy(msg, c->errmsg, sizeof(msg));
		store_rollback(tx);
		c->err = code ? code : STORE_E_SQL;
		memcpy(c->errmsg, msg, sizeof(msg));
		return -1;
	}
	int rc = c->s->kind == STORE_SQLITE ? store_sq_commit(c) : store_pg_commit(c);
	if (rc < 0) {
		enum store_code code = c->err;
		char msg[sizeof(c->errmsg)];
		memcpy(msg, c->errmsg, sizeof(msg));
		store_rollback(tx);
		c->err = code;
		memcpy(c->errmsg, msg, sizeof(msg));
		return -1;
	}
	end_tx(tx);
	return 0;
}

void store_rollback(struct store_tx *tx)
{
	if (!tx || tx->kind == TX_NONE)
		return;
	struct store_conn *c = tx->c;
	close_all_rows(c);
	if (c->s->kind == STORE_SQLITE)
		store_sq_rollback(c);
	else
		store_pg_rollback(c);
	end_tx(tx);
}

/* ---- Statements ---- */

static uint64_t hash_sql(const char *s)
{
	uint64_t h = UINT64_C(1469598103934665603);
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(1099511628211);
	}
	return h;
}

static uint64_t hash_sig(const struct store_param *p, size_t n)
{
	uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ n;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint64_t)p[i].type) * UINT64_C(1099511628211);
	return h;
}

/* Finds or creates the cache entry for (sql, sig). *temp is set when the entry is a
 * private heap copy (cache busy) that the caller frees. NULL on failure. */
static struct store_stmt *lookup(struct store_conn *c, const char *sql, uint64_t sig, int *temp)
{
	*temp = 0;
	c->use_clock++;
	/* Fast path: SQL is nearly always a string literal, so the caller's pointer is the
	 * same on every call; a strcmp confirms it (a reused buffer with other text fails
	 * it) and costs far less than hashing the text byte by byte (profiled: hash_sql was
	 * the top user-space cost of ingestion). Anything else takes the hashed path. */
	for (int i = 0; i < STORE_STMT_CACHE; i++) {
		struct store_stmt *e = &c->cache[i];
		if (e->sql && e->src == sql && e->sig_hash == sig && !e->in_use && strcmp(e->sql, sql) == 0) {
			e->last_used = c->use_clock;
			return e;
		}
	}
	uint64_t h = hash_sql(sql);
	struct store_stmt *victim = NULL;
	for (int i = 0; i < STORE_STMT_CACHE; i++) {
		struct store_stmt *e = &c->cache[i];
		if (!e->sql) {
			if (!victim || victim->sql)
				victim = e;
			continue;
		}
		if (e->hash == h && e->sig_hash == sig && strcmp(e->sql, sql) == 0) {
			if (e->in_use) {
				victim = NULL; /* nested use of the same statement: private copy */
				break;
			}
			e->src = sql; /* the same text from another pointer: its next call is fast */
			e->last_used = c->use_clock;
			return e;
		}
		if (!e->in_use && (!victim || (victim->sql && e->last_used < victim->last_used)))
			victim = e;
	}
	struct store_stmt *e = victim;
	if (!e || (e->sql && e->in_use)) {
		e = calloc(1, sizeof(*e));
		if (!e) {
			store_fail(c, STORE_E_NOMEM, "out of memory");
			return NULL;
		}
		*temp = 1;
	} else if (e->sql) {
		store_stmt_free(c, e);
	}
	e->sql = strdup(sql);
	if (!e->sql) {
		if (*temp)
			free(e);
		store_fail(c, STORE_E_NOMEM, "out of memory");
		return NULL;
	}
	e->src = sql;
	e->hash = h;
	e->sig_hash = sig;
	e->last_used = c->use_clock;
	e->max_param = -1;
	return e;
}

static void release_temp(struct store_conn *c, struct store_stmt *e, int temp)
{
	if (!temp)
		return;
	store_stmt_free(c, e);
	free(e);
}

static enum store_sql_ctx ctx_of(const struct store_tx *tx)
{
	return tx->kind == TX_GLOBAL ? STORE_SQL_GLOBAL : tx->kind == TX_WS ? STORE_SQL_WS : STORE_SQL_MAINT;
}

static int guard(struct store_conn *c, struct store_stmt *e, enum store_sql_ctx ctx)
{
	unsigned bit = 1u << ctx;
	char why[200];
	if (!(e->guard_done & bit)) {
		int maxp = 0;
		if (store_sql_check(e->sql, ctx, &maxp, why, sizeof(why)) == 0) {
			e->guard_ok |= bit;
			e->max_param = maxp;
		}
		e->guard_done |= bit;
	}
	if (e->guard_ok & bit)
		return 0;
	if (store_sql_check(e->sql, ctx, NULL, why, sizeof(why)) == 0)
		snprintf(why, sizeof(why), "refused");
	return store_fail(c, STORE_E_TENANT, "tenant guard: %s", why);
}

static int run(struct store_tx *tx, const char *sql, const struct store_param *params, size_t n,
	       struct store_rows **out, int guarded)
{
	struct store_conn *c = tx->c;
	struct store_param inline_p[STORE_PARAMS_INLINE];
	struct store_param *full = inline_p;
	struct store_stmt *e = NULL;
	struct store_rows *r = NULL;
	int temp = 0;
	if (out)
		*out = NULL;
	if (tx->kind == TX_NONE)
		return store_fail(c, STORE_E_SQL, "statement outside a transaction");
	if (tx->failed)
		return -1;
	if (!sql || (n && !params) || n > LIMIT_SQL_VARIABLES)
		return store_fail(c, STORE_E_SQL, "bad statement arguments");
	size_t nfull = n + (tx->kind == TX_WS ? 1 : 0);
	if (nfull > STORE_PARAMS_INLINE) {
		full = malloc(nfull * sizeof(*full));
		if (!full)
			return store_fail(c, STORE_E_NOMEM, "out of memory");
	}
	if (tx->kind == TX_WS) {
		full[0] = SP_I64(tx->ws);
		if (n)
			memcpy(full + 1, params, n * sizeof(*params));
	} else if (n) {
		memcpy(full, params, n * sizeof(*params));
	}
	uint64_t sig = c->s->kind == STORE_POSTGRES ? hash_sig(full, nfull) : 0;
	e = lookup(c, sql, sig, &temp);
	if (!e)
		goto fail;
	if (guarded) {
		if (guard(c, e, ctx_of(tx)) < 0)
			goto fail;
		int maxp = e->max_param;
		int ok = (size_t)maxp == nfull || (tx->kind == TX_WS && n == 0 && maxp <= 1);
		if (!ok) {
			store_fail(c, STORE_E_SQL, "statement uses %d placeholders but %zu were bound%s", maxp, nfull,
				   tx->kind == TX_WS ? " ($1 is the workspace)" : "");
			goto fail;
		}
	}
	if (out) {
		r = calloc(1, sizeof(*r));
		if (!r) {
			store_fail(c, STORE_E_NOMEM, "out of memory");
			goto fail;
		}
		r->c = c;
	}
	int rc = c->s->kind == STORE_SQLITE ? store_sq_run(c, e, full, nfull, r) : store_pg_run(c, e, full, nfull, r);
	if (rc < 0)
		goto fail;
	if (r) {
		if (temp) {
			r->e = NULL; /* the statement now belongs to the result set */
			e->st = NULL;
		}
		r->next = c->rows;
		if (c->rows)
			c->rows->prev = r;
		c->rows = r;
		*out = r;
	}
	release_temp(c, e, temp);
	if (full != inline_p)
		free(full);
	return 0;
fail:
	if (r) {
		if (c->s->kind == STORE_SQLITE)
			store_sq_rows_close(r);
		else
			store_pg_rows_close(r);
		free(r);
	}
	if (e)
		release_temp(c, e, temp);
	if (full != inline_p)
		free(full);
	return -1;
}

int store_exec(struct store_tx *tx, const char *sql, const struct store_param *params, size_t n)
{
	return run(tx, sql, params, n, NULL, 1);
}

int store_query(struct store_tx *tx, const char *sql, const struct store_param *params, size_t n,
		struct store_rows **out)
{
	return run(tx, sql, params, n, out, 1);
}

int store_exec_internal(struct store_tx *tx, const char *sql, const struct store_param *p, size_t n)
{
	return run(tx, sql, p, n, NULL, 0);
}

int store_query_internal(struct store_tx *tx, const char *sql, const struct store_param *p, size_t n,
			 struct store_rows **out)
{
	return run(tx, sql, p, n, out, 0);
}

int64_t store_changes(const struct store_tx *tx)
{
	return tx->changes;
}

int store_step(struct store_rows *r)
{
	if (!r || r->done || r->dead)
		return 0;
	struct store_conn *c = r->c;
	if (c->tx.failed)
		return -1;
	return c->s->kind == STORE_SQLITE ? store_sq_step(r) : store_pg_step(r);
}

int store_col_count(const struct store_rows *r)
{
	if (r->st)
		return sqlite3_column_count(r->st);
	return r->res ? PQnfields(r->res) : 0;
}

int store_col_is_null(const struct store_rows *r, int col)
{
	if (col < 0 || col >= store_col_count(r))
		return 1;
	if (r->st)
		return sqlite3_column_type(r->st, col) == SQLITE_NULL;
	return r->row < 0 || r->row >= r->nrows || PQgetisnull(r->res, r->row, col);
}

int64_t store_col_i64(const struct store_rows *r, int col)
{
	if (store_col_is_null(r, col))
		return 0;
	if (r->st)
		return sqlite3_column_int64(r->st, col);
	const char *v = PQgetvalue(r->res, r->row, col);
	int len = PQgetlength(r->res, r->row, col);
	int64_t out = 0;
	if (len == 1 && (v[0] == 't' || v[0] == 'f'))
		return v[0] == 't';
	if (parse_i64(v, (size_t)len, INT64_MIN, INT64_MAX, &out) < 0)
		return 0;
	return out;
}

const char *store_col_text(struct store_rows *r, int col, size_t *len)
{
	*len = 0;
	if (store_col_is_null(r, col))
		return NULL;
	if (r->st) {
		const char *p = (const char *)sqlite3_column_text(r->st, col);
		*len = p ? (size_t)sqlite3_column_bytes(r->st, col) : 0;
		return p;
	}
	*len = (size_t)PQgetlength(r->res, r->row, col);
	return PQgetvalue(r->res, r->row, col);
}

const void *store_col_blob(struct store_rows *r, int col, size_t *len)
{
	*len = 0;
	if (store_col_is_null(r, col))
		return NULL;
	if (r->st) {
		const void *p = sqlite3_column_blob(r->st, col);
		*len = p ? (size_t)sqlite3_column_bytes(r->st, col) : 0;
		return p;
	}
	if (PQftype(r->res, col) != 17 /* BYTEAOID */) {
		*len = (size_t)PQgetlength(r->res, r->row, col);
		return PQgetvalue(r->res, r->row, col);
	}
	if (!r->decoded) {
		r->ncols = PQnfields(r->res);
		r->decoded = calloc((size_t)r->ncols, sizeof(*r->decoded));
		r->declen = calloc((size_t)r->ncols, sizeof(*r->declen));
		if (!r->decoded || !r->declen)
			return NULL;
	}
	if (!r->decoded[col]) {
		r->decoded[col] = PQunescapeBytea((const unsigned char *)PQgetvalue(r->res, r->row, col),
						  &r->declen[col]);
		if (!r->decoded[col])
			return NULL;
	}
	*len = r->declen[col];
	return r->declen[col] ? r->decoded[col] : NULL;
}

void store_rows_close(struct store_rows *r)
{
	if (!r)
		return;
	struct store_conn *c = r->c;
	struct store_rows **head = r->dead ? &c->dead : &c->rows;
	if (r->prev)
		r->prev->next = r->next;
	else if (*head == r)
		*head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	if (!r->dead)
		backend_rows_close(r);
	free(r);
}

int store_query_i64(struct store_tx *tx, const char *sql, const struct store_param *params, size_t n, int64_t *out)
{
	struct store_rows *r;
	if (store_query(tx, sql, params, n, &r) < 0)
		return -1;
	int rc = store_step(r);
	if (rc == 1) {
		if (store_col_is_null(r, 0)) {
			rc = 0;
		} else {
			*out = store_col_i64(r, 0);
		}
	}
	store_rows_close(r);
	return rc;
}

/* ---- Workspaces, metadata ---- */

int64_t store_random_id(void)
{
	uint64_t v;
	do {
		randombytes_buf(&v, sizeof(v));
		v &= (UINT64_C(1) << 53) - 1;
	} while (v == 0);
	return (int64_t)v;
}

static int need_global_write(struct store_tx *tx, const char *what)
{
	if (tx->kind != TX_GLOBAL || tx->mode != STORE_WRITE)
		return store_fail(tx->c, STORE_E_SQL, "%s needs a global write transaction", what);
	return 0;
}

int store_workspace_create(struct store_tx *tx, const struct store_workspace_new *w, int64_t *id_out)
{
	if (need_global_write(tx, "store_workspace_create") < 0)
		return -1;
	int64_t now = clock_now_ms();
	int64_t id = 0;
	for (int attempt = 0; attempt < 16 && !id; attempt++) {
		int64_t cand = store_random_id();
		if (store_exec(tx, "INSERT INTO workspace_ids (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
			       STORE_ARGS(SP_I64(cand), SP_I64(now))) < 0)
			return -1;
		if (store_changes(tx) == 1)
			id = cand;
	}
	if (!id)
		return store_fail(tx->c, STORE_E_CONSTRAINT, "no free workspace id after 16 attempts");
	if (store_exec(tx,
		       "INSERT INTO workspaces (id, name, product_name, timezone, currency, created_at, updated_at) "
		       "VALUES ($1, $2, $3, $4, $5, $6, $6)",
		       STORE_ARGS(SP_I64(id), SP_TEXT(w->name ? w->name : ""),
				  SP_TEXT(w->product_name ? w->product_name : ""),
				  SP_TEXT(w->timezone ? w->timezone : "UTC"), SP_TEXT(w->currency ? w->currency : "USD"),
				  SP_I64(now))) < 0)
		return -1;
	*id_out = id;
	return 0;
}

int store_workspace_delete(struct store_tx *tx, int64_t id)
{
	if (need_global_write(tx, "store_workspace_delete") < 0)
		return -1;
	if (store_exec(tx, "UPDATE workspace_ids SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
		       STORE_ARGS(SP_I64(id), SP_I64(clock_now_ms()))) < 0)
		return -1;
	return store_exec(tx, "DELETE FROM workspaces WHERE id = $1", STORE_ARGS(SP_I64(id)));
}

static int need_global(struct store_tx *tx, const char *what)
{
	if (tx->kind != TX_GLOBAL && tx->kind != TX_MAINT)
		return store_fail(tx->c, STORE_E_SQL, "%s needs a global transaction", what);
	return 0;
}

int store_meta_get(struct store_tx *tx, const char *key, char *out, size_t outlen)
{
	struct store_rows *r;
	if (need_global(tx, "store_meta_get") < 0)
		return -1;
	if (store_query(tx, "SELECT value FROM installation_meta WHERE key = $1", STORE_ARGS(SP_TEXT(key)), &r) < 0)
		return -1;
	int rc = store_step(r);
	if (rc == 1) {
		size_t n;
		const char *v = store_col_text(r, 0, &n);
		if (!v || n >= outlen) {
			rc = store_fail(tx->c, STORE_E_SQL, "installation_meta %s: value does not fit", key);
		} else {
			memcpy(out, v, n);
			out[n] = '\0';
		}
	}
	store_rows_close(r);
	return rc;
}

int store_meta_set(struct store_tx *tx, const char *key, const char *value)
{
	if (need_global(tx, "store_meta_set") < 0)
		return -1;
	return store_exec(tx,
			  "INSERT INTO installation_meta (key, value, updated_at) VALUES ($1, $2, $3) "
			  "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
			  STORE_ARGS(SP_TEXT(key), SP_TEXT(value), SP_I64(clock_now_ms())));
}

/* ---- Maintenance, housekeeping ---- */

int store_maint_workspaces(struct store_conn *c, int64_t **ids, size_t *n)
{
	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	int64_t *v = NULL;
	size_t cnt = 0, cap = 0;
	*ids = NULL;
	*n = 0;
	if (store_begin_global(c, STORE_READ, &tx) < 0)
		return -1;
	if (store_query(tx, "SELECT id FROM workspaces ORDER BY id", STORE_NO_ARGS, &r) < 0)
		goto fail;
	int rc;
	while ((rc = store_step(r)) == 1) {
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			int64_t *nv = realloc(v, ncap * sizeof(*nv));
			if (!nv) {
				store_fail(c, STORE_E_NOMEM, "out of memory");
				goto fail;
			}
			v = nv;
			cap = ncap;
		}
		v[cnt++] = store_col_i64(r, 0);
	}
	if (rc < 0)
		goto fail;
	store_rows_close(r);
	r = NULL;
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	*ids = v;
	*n = cnt;
	return 0;
fail:
	store_rows_close(r);
	store_rollback(tx);
	free(v);
	return -1;
}

int store_checkpoint(struct store_conn *c, int truncate)
{
	if (c->s->kind != STORE_SQLITE)
		return 0;
	if (c->tx.kind != TX_NONE)
		return store_fail(c, STORE_E_SQL, "checkpoint inside a transaction");
	return store_sq_checkpoint(c, truncate);
}

int store_wal_bytes(struct store *s, int64_t *out)
{
	*out = 0;
	if (s->kind != STORE_SQLITE)
		return 0;
	char path[4096];
	int len = snprintf(path, sizeof(path), "%s-wal", s->path);
	if (len < 0 || (size_t)len >= sizeof(path))
		return -1;
	struct stat st;
	if (stat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	*out = (int64_t)st.st_size;
	return 0;
}
