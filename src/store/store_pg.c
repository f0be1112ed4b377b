/* PostgreSQL backend (libpq): prepared statements per connection, binary parameters
 * (int8, text, bytea), text results; the tenant is set with set_config(…, true) inside
 * the transaction only; lost connections and server shutdown map to
 * STORE_E_UNAVAILABLE (HTTP 503). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"
#include "store/store_int.h"

#define OID_BYTEA 17
#define OID_INT8 20
#define OID_TEXT 25

/* ---- URL policy ---- */

static int host_is_loopback(const char *h, size_t n)
{
	char buf[256];
	if (n == 0)
		return 1; /* default: Unix socket */
	if (h[0] == '/' || h[0] == '@')
		return 1; /* Unix socket directory or abstract socket */
	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, h, n);
	buf[n] = '\0';
	if (strcmp(buf, "localhost") == 0)
		return 1;
	unsigned char a[16];
	if (inet_pton(AF_INET, buf, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, buf, a) == 1) {
		static const unsigned char lo6[16] = {[15] = 1};
		return memcmp(a, lo6, 16) == 0;
	}
	return 0;
}

/* 1 when every entry of a comma-separated host list is loopback. */
static int list_is_loopback(const char *v)
{
	if (!v)
		return 1;
	for (;;) {
		size_t n = strcspn(v, ",");
		if (!host_is_loopback(v, n))
			return 0;
		if (!v[n])
			return 1;
		v += n + 1;
	}
}

int store_pg_check_url(const char *url, char *err, size_t errlen)
{
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &perr);
	if (!opts) {
		snprintf(err, errlen, "DROPFIX_DATABASE_URL: %s", perr ? perr : "cannot parse the PostgreSQL URL");
		PQfreemem(perr);
		return -1;
	}
	const char *host = NULL, *hostaddr = NULL, *sslmode = NULL;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val)
			continue;
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			hostaddr = o->val;
		else if (strcmp(o->keyword, "sslmode") == 0)
			sslmode = o->val;
	}
	if (!host || !*host)
		host = getenv("PGHOST");
	if (!hostaddr || !*hostaddr)
		hostaddr = getenv("PGHOSTADDR");
	if (!sslmode || !*sslmode)
		sslmode = getenv("PGSSLMODE");
	int ok = (list_is_loopback(host) && list_is_loopback(hostaddr)) || (sslmode && strcmp(sslmode, "verify-full") == 0);
	PQconninfoFree(opts);
	if (!ok) {
		snprintf(err, errlen,
			 "DROPFIX_DATABASE_URL: a non-loopback PostgreSQL host needs sslmode=verify-full "
			 "(add ?sslmode=verify-full and the server's CA as sslrootcert)");
		return -1;
	}
	return 0;
}

/* ---- Errors ---- */

static int pg_fail(struct store_conn *c, PGresult *res, const char *what)
{
	if (!c->pg || PQstatus(c->pg) != CONNECTION_OK || !res)
		return store_fail(c, STORE_E_UNAVAILABLE, "database unavailable: %s: %s", what,
				  c->pg ? PQerrorMessage(c->pg) : "no connection");
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (!state)
		state = "";
	if (!msg)
		msg = PQresStatus(PQresultStatus(res));
	enum store_code code = STORE_E_SQL;
	if (strncmp(state, "23", 2) == 0)
		code = STORE_E_CONSTRAINT;
	else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		code = STORE_E_CONFLICT;
	else if (strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0)
		code = STORE_E_BUSY;
	else if (strcmp(state, "25006") == 0)
		code = STORE_E_READONLY;
	else if (strcmp(state, "42501") == 0 && strstr(msg, "row-level security"))
		code = STORE_E_TENANT;
	else if (strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 || strncmp(state, "57P", 3) == 0 ||
		 strcmp(state, "58030") == 0)
		code = STORE_E_UNAVAILABLE;
	if (code == STORE_E_BUSY)
		return store_fail(c, code, "server busy, retry: %s: %s", what, msg);
	return store_fail(c, code, "%s: %s (%s)", what, msg, state);
}

/* ---- Connection ---- */

static int simple(struct store_conn *c, const char *sql)
{
	PGresult *res = PQexec(c->pg, sql);
	int st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_fail(c, res, sql);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

/* Per-session settings and the role check; run after every (re)connect. */
static int session_setup(struct store_conn *c, char *err, size_t errlen)
{
	char q[96];
	if (PQsetClientEncoding(c->pg, "UTF8") != 0) {
		snprintf(err, errlen, "cannot set the client encoding: %s", PQerrorMessage(c->pg));
		return -1;
	}
	snprintf(q, sizeof(q), "SET lock_timeout = %d", c->s->write_wait_ms);
	if (simple(c, q) < 0) {
		snprintf(err, errlen, "%s", c->errmsg);
		return -1;
	}
	PGresult *res = PQexec(c->pg, "SELECT rolsuper, rolbypassrls, current_user FROM pg_roles WHERE rolname = current_user");
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		pg_fail(c, res, "role check");
		snprintf(err, errlen, "%s", c->errmsg);
		PQclear(res);
		return -1;
	}
	int super = PQgetvalue(res, 0, 0)[0] == 't';
	int bypass = PQgetvalue(res, 0, 1)[0] == 't';
	char user[64];
	snprintf(user, sizeof(user), "%s", PQgetvalue(res, 0, 2));
	PQclear(res);
	const char *problem = NULL;
	if (super)
		problem = "is a superuser; dropfix never connects as one";
	else if (c->s->role == STORE_ROLE_MAINT && !bypass)
		problem = "lacks BYPASSRLS, which the maintenance role needs";
	else if (c->s->role != STORE_ROLE_MAINT && bypass)
		problem = "has BYPASSRLS; the app and owner roles must not bypass row-level security";
	if (problem) {
		snprintf(err, errlen, "PostgreSQL role %s %s (see docs/postgres.md)", user, problem);
		store_fail(c, STORE_E_CONFIG, "%s", err);
		return -1;
	}
	return 0;
}

int store_pg_open(struct store_conn *c, char *err, size_t errlen)
{
	/* earlier keywords are defaults: the URL's own settings win */
	static const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
	const char *vals[] = {"10", "dropfix", c->s->url, NULL};
	c->pg = PQconnectdbParams(keys, vals, 1);
	if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
		const char *m = c->pg ? PQerrorMessage(c->pg) : "out of memory";
		size_t n = strcspn(m, "\n");
		snprintf(err, errlen, "database unavailable: cannot connect to PostgreSQL: %.*s", (int)n, m);
		store_fail(c, STORE_E_UNAVAILABLE, "%s", err);
		return -1;
	}
	return session_setup(c, err, errlen);
}

void store_pg_close(struct store_conn *c)
{
	if (c->pg)
		PQfinish(c->pg);
	c->pg = NULL;
}

/* After a lost connection: reconnect once, forget server-side statements. */
static int ensure_connected(struct store_conn *c)
{
	if (PQstatus(c->pg) == CONNECTION_OK)
		return 0;
	for (int i = 0; i < STORE_STMT_CACHE; i++)
		c->cache[i].pg_name[0] = '\0';
	PQreset(c->pg);
	if (PQstatus(c->pg) != CONNECTION_OK)
		return store_fail(c, STORE_E_UNAVAILABLE, "database unavailable: %s", PQerrorMessage(c->pg));
	char err[256];
	if (session_setup(c, err, sizeof(err)) < 0)
		return -1;
	return 0;
}

int store_pg_begin(struct store_conn *c, enum store_mode mode)
{
	if (ensure_connected(c) < 0)
		return -1;
	if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		return store_fail(c, STORE_E_SQL, "connection not idle at BEGIN");
	return simple(c, mode == STORE_WRITE ? "BEGIN" : "BEGIN READ ONLY");
}

int store_pg_commit(struct store_conn *c)
{
	PGresult *res = PQexec(c->pg, "COMMIT");
	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_fail(c, res, "COMMIT");
		PQclear(res);
		return -1;
	}
	int rolled_back = strcmp(PQcmdStatus(res), "COMMIT") != 0;
	PQclear(res);
	if (rolled_back)
		return store_fail(c, STORE_E_SQL, "COMMIT: the transaction was rolled back");
	return 0;
}

void store_pg_rollback(struct store_conn *c)
{
	if (c->pg && PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		PQclear(PQexec(c->pg, "ROLLBACK"));
}

int store_pg_set_tenant(struct store_conn *c, int64_t ws)
{
	if (!c->pg || c->tx.kind == TX_NONE || PQtransactionStatus(c->pg) != PQTRANS_INTRANS)
		return store_fail(c, STORE_E_SQL,
				  "refused: the tenant setting is made only inside an explicit transaction");
	if (ws < 1 || ws >= (INT64_C(1) << 53))
		return store_fail(c, STORE_E_SQL, "workspace id out of range");
	char v[24];
	snprintf(v, sizeof(v), "%lld", (long long)ws);
	const char *vals[1] = {v};
	PGresult *res = PQexecParams(c->pg, "SELECT set_config('app.workspace_id', $1, true)", 1, NULL, vals, NULL,
				     NULL, 0);
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
	    strcmp(PQgetvalue(res, 0, 0), v) != 0) {
		pg_fail(c, res, "setting the tenant");
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

/* ---- Statements ---- */

int store_pg_run(struct store_conn *c, struct store_stmt *e, const struct store_param *p, size_t n,
		 struct store_rows *rows)
{
	const char *vals_i[STORE_PARAMS_INLINE];
	int lens_i[STORE_PARAMS_INLINE], fmts_i[STORE_PARAMS_INLINE];
	Oid types_i[STORE_PARAMS_INLINE];
	unsigned char ints_i[STORE_PARAMS_INLINE][8];
	const char **vals = vals_i;
	int *lens = lens_i, *fmts = fmts_i;
	Oid *types = types_i;
	unsigned char (*ints)[8] = ints_i;
	PGresult *res = NULL;
	int rc = -1;
	if (n > STORE_PARAMS_INLINE) {
		vals = malloc(n * sizeof(*vals));
		lens = malloc(n * sizeof(*lens));
		fmts = malloc(n * sizeof(*fmts));
		types = malloc(n * sizeof(*types));
		ints = malloc(n * sizeof(*ints));
		if (!vals || !lens || !fmts || !types || !ints) {
			store_fail(c, STORE_E_NOMEM, "out of memory");
			goto done;
		}
	}
	for (size_t i = 0; i < n; i++) {
		fmts[i] = 1;
		switch (p[i].type) {
		case STORE_T_NULL:
			types[i] = 0;
			vals[i] = NULL;
			lens[i] = 0;
			break;
		case STORE_T_I64: {
			uint64_t u = (uint64_t)p[i].i;
			for (int b = 0; b < 8; b++)
				ints[i][b] = (unsigned char)(u >> (56 - 8 * b));
			types[i] = OID_INT8;
			vals[i] = (const char *)ints[i];
			lens[i] = 8;
			break;
		}
		case STORE_T_TEXT:
		case STORE_T_BLOB:
			if (p[i].n > (size_t)INT32_MAX) {
				store_fail(c, STORE_E_SQL, "parameter too large");
				goto done;
			}
			types[i] = p[i].type == STORE_T_TEXT ? OID_TEXT : OID_BYTEA;
			vals[i] = p[i].n ? p[i].p : "";
			lens[i] = (int)p[i].n;
			break;
		}
	}
	if (!e->pg_name[0]) {
		char name[sizeof(e->pg_name)];
		snprintf(name, sizeof(name), "dfs%u", ++c->pg_seq);
		res = PQprepare(c->pg, name, e->sql, (int)n, types);
		if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
			pg_fail(c, res, "prepare");
			goto done;
		}
		PQclear(res);
		res = NULL;
		memcpy(e->pg_name, name, sizeof(name));
	}
	res = PQexecPrepared(c->pg, e->pg_name, (int)n, vals, lens, fmts, 0);
	int st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_fail(c, res, "statement");
		goto done;
	}
	const char *ct = PQcmdTuples(res);
	int64_t changes = 0;
	if (ct && *ct && parse_i64_cstr(ct, 0, INT64_MAX, &changes) == 0)
		c->tx.changes = changes;
	else
		c->tx.changes = 0;
	if (rows) {
		rows->res = res;
		rows->nrows = PQntuples(res);
		rows->row = -1;
		res = NULL;
	}
	rc = 0;
done:
	PQclear(res);
	if (vals != vals_i) {
		free(vals);
		free(lens);
		free(fmts);
		free(types);
		free(ints);
	}
	return rc;
}

static void free_decoded(struct store_rows *r)
{
	if (!r->decoded)
		return;
	for (int i = 0; i < r->ncols; i++) {
		if (r->decoded[i])
			PQfreemem(r->decoded[i]);
		r->decoded[i] = NULL;
		r->declen[i] = 0;
	}
}

int store_pg_step(struct store_rows *r)
{
	free_decoded(r);
	if (r->row + 1 >= r->nrows) {
		r->row = r->nrows;
		r->done = 1;
		return 0;
	}
	r->row++;
	return 1;
}

void store_pg_rows_close(struct store_rows *r)
{
	free_decoded(r);
	free(r->decoded);
	free(r->declen);
	r->decoded = NULL;
	r->declen = NULL;
	PQclear(r->res);
	r->res = NULL;
}

int store_pg_exec_script(struct store_conn *c, const char *sql)
{
	return simple(c, sql);
}
