/* Audit logs: reading with filters, CSV / JSON-lines rendering, export, and escaping
 * for terminals. Every byte read back is treated as untrusted (rows can be edited in
 * the database): strings are copied with their length and escaped per output. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/clock.h"

#define MAX_OFFSET INT64_C(1000000000)

/* The SQL parameters a filter turns into, in statement order. */
struct fparams {
	const char *prefix;
	int64_t actor_lo, actor_hi, since, until, seq_lo, seq_hi, limit, offset;
};

static int filter_params(const struct audit_filter *f, struct fparams *p)
{
	struct audit_filter all = AUDIT_FILTER_ALL;
	if (!f)
		f = &all;
	const char *prefix = f->action_prefix ? f->action_prefix : "";
	size_t n = strlen(prefix);
	if (n > AUDIT_ACTION_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = prefix[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_'))
			return -1;
	}
	if (f->actor_id < -1 || f->since_ms < 0 || f->until_ms < 0 || f->offset < 0 ||
	    f->offset > MAX_OFFSET || f->limit < 0 || f->limit > LIMIT_AUDIT_QUERY_ROWS)
		return -1;
	p->prefix = prefix;
	p->actor_lo = f->actor_id < 0 ? 0 : f->actor_id;
	p->actor_hi = f->actor_id < 0 ? INT64_MAX : f->actor_id;
	p->since = f->since_ms;
	p->until = f->until_ms ? f->until_ms : INT64_MAX;
	p->seq_lo = 1;
	p->seq_hi = INT64_MAX;
	p->limit = f->limit ? f->limit : LIMIT_ROWS_PER_PAGE;
	p->offset = f->offset;
	return 0;
}

static char *dup_col(struct store_rows *r, int col)
{
	size_t n = 0;
	const char *p = store_col_text(r, col, &n);
	char *s = malloc(n + 1);
	if (!s)
		return NULL;
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void row_free(struct audit_row *w)
{
	free(w->actor_kind);
	free(w->action);
	free(w->target);
	free(w->detail);
	free(w->ip);
	free(w->mac);
}

void audit_rows_free(struct audit_rows *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		row_free(&r->v[i]);
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

static int run_query(struct store_tx *tx, int ws, int oldest_first, const struct fparams *p,
                     struct audit_rows *out)
{
	struct store_rows *r = NULL;
	int qrc;
	/* $N numbering shifts by one in workspace transactions ($1 is the workspace). */
	if (ws && oldest_first)
		qrc = store_query(
		    tx,
		    "SELECT seq, at, actor_kind, actor_id, action, target, detail, ip, workspace_id, key_id, "
		    "mac "
		    "FROM workspace_audit WHERE workspace_id = $1 "
		    "AND substr(action, 1, length($2)) = $2 AND actor_id >= $3 AND actor_id <= $4 "
		    "AND at >= $5 AND at < $6 AND seq >= $7 AND seq <= $8 ORDER BY seq LIMIT $9 OFFSET $10",
		    STORE_ARGS(SP_TEXT(p->prefix), SP_I64(p->actor_lo), SP_I64(p->actor_hi), SP_I64(p->since),
		               SP_I64(p->until), SP_I64(p->seq_lo), SP_I64(p->seq_hi), SP_I64(p->limit),
		               SP_I64(p->offset)),
		    &r);
	else if (ws)
		qrc = store_query(
		    tx,
		    "SELECT seq, at, actor_kind, actor_id, action, target, detail, ip, workspace_id, key_id, "
		    "mac "
		    "FROM workspace_audit WHERE workspace_id = $1 "
		    "AND substr(action, 1, length($2)) = $2 AND actor_id >= $3 AND actor_id <= $4 "
		    "AND at >= $5 AND at < $6 AND seq >= $7 AND seq <= $8 ORDER BY seq DESC LIMIT $9 OFFSET "
		    "$10",
		    STORE_ARGS(SP_TEXT(p->prefix), SP_I64(p->actor_lo), SP_I64(p->actor_hi), SP_I64(p->since),
		               SP_I64(p->until), SP_I64(p->seq_lo), SP_I64(p->seq_hi), SP_I64(p->limit),
		               SP_I64(p->offset)),
		    &r);
	else if (oldest_first)
		qrc = store_query(tx,
		                  "SELECT seq, at, actor_kind, actor_id, action, target, detail, ip, "
		                  "workspace_id, key_id, mac "
		                  "FROM install_audit WHERE substr(action, 1, length($1)) = $1 "
		                  "AND actor_id >= $2 AND actor_id <= $3 AND at >= $4 AND at < $5 "
		                  "AND seq >= $6 AND seq <= $7 ORDER BY seq LIMIT $8 OFFSET $9",
		                  STORE_ARGS(SP_TEXT(p->prefix), SP_I64(p->actor_lo), SP_I64(p->actor_hi),
		                             SP_I64(p->since), SP_I64(p->until), SP_I64(p->seq_lo),
		                             SP_I64(p->seq_hi), SP_I64(p->limit), SP_I64(p->offset)),
		                  &r);
	else
		qrc = store_query(tx,
		                  "SELECT seq, at, actor_kind, actor_id, action, target, detail, ip, "
		                  "workspace_id, key_id, mac "
		                  "FROM install_audit WHERE substr(action, 1, length($1)) = $1 "
		                  "AND actor_id >= $2 AND actor_id <= $3 AND at >= $4 AND at < $5 "
		                  "AND seq >= $6 AND seq <= $7 ORDER BY seq DESC LIMIT $8 OFFSET $9",
		                  STORE_ARGS(SP_TEXT(p->prefix), SP_I64(p->actor_lo), SP_I64(p->actor_hi),
		                             SP_I64(p->since), SP_I64(p->until), SP_I64(p->seq_lo),
		                             SP_I64(p->seq_hi), SP_I64(p->limit), SP_I64(p->offset)),
		                  &r);
	if (qrc < 0)
		return -1;
	size_t cap = out->n;
	int step;
	while ((step = store_step(r)) == 1) {
		if (out->n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct audit_row *v = realloc(out->v, ncap * sizeof(*v));
			if (!v)
				goto fail;
			out->v = v;
			cap = ncap;
		}
		struct audit_row *w = &out->v[out->n];
		memset(w, 0, sizeof(*w));
		w->seq = store_col_i64(r, 0);
		w->at = store_col_i64(r, 1);
		w->actor_kind = dup_col(r, 2);
		w->actor_id = store_col_i64(r, 3);
		w->action = dup_col(r, 4);
		w->target = dup_col(r, 5);
		w->detail = dup_col(r, 6);
		w->ip = dup_col(r, 7);
		w->workspace_id = store_col_i64(r, 8);
		w->key_id = store_col_i64(r, 9);
		w->mac = dup_col(r, 10);
		out->n++;
		if (!w->actor_kind || !w->action || !w->target || !w->detail || !w->ip || !w->mac)
			goto fail;
	}
	if (step < 0)
		goto fail;
	store_rows_close(r);
	return 0;
fail:
	store_rows_close(r);
	return -1;
}

static int query(struct store_tx *tx, int ws, const struct audit_filter *f, struct audit_rows *out)
{
	struct fparams p;
	memset(out, 0, sizeof(*out));
	if ((store_tx_workspace(tx) != 0) != ws || filter_params(f, &p) < 0)
		return -1;
	if (run_query(tx, ws, f ? f->oldest_first : 0, &p, out) < 0) {
		audit_rows_free(out);
		return -1;
	}
	return 0;
}

int audit_query_install(struct store_tx *global_tx, const struct audit_filter *f, struct audit_rows *out)
{
	return query(global_tx, 0, f, out);
}

int audit_query_ws(struct store_tx *ws_tx, const struct audit_filter *f, struct audit_rows *out)
{
	return query(ws_tx, 1, f, out);
}

/* ---- rendering ---- */

static int is_formula_start(unsigned char c)
{
	return c == '=' || c == '+' || c == '-' || c == '@';
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

int audit_csv_field(struct buf *out, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	int neutralise = 0;
	if (n > 0) {
		if (is_formula_start(u[0]) || u[0] == '\t' || u[0] == '\r') {
			neutralise = 1;
		} else {
			size_t i = 0;
			while (i < n && is_space(u[i]))
				i++;
			neutralise = i < n && is_formula_start(u[i]);
		}
	}
	int quote = 0;
	for (size_t i = 0; i < n && !quote; i++)
		quote = u[i] == ',' || u[i] == '"' || u[i] == '\r' || u[i] == '\n';
	if (quote)
		buf_putc(out, '"');
	if (neutralise)
		buf_putc(out, '\'');
	for (size_t i = 0; i < n; i++) {
		if (u[i] == '"')
			buf_putc(out, '"');
		buf_putc(out, (char)u[i]);
	}
	if (quote)
		buf_putc(out, '"');
	return out->oom ? -1 : 0;
}

static void csv_i64(struct buf *out, int64_t v)
{
	char num[24];
	int len = snprintf(num, sizeof(num), "%lld", (long long)v);
	audit_csv_field(out, num, (size_t)len);
}

static void csv_str(struct buf *out, const char *s)
{
	audit_csv_field(out, s ? s : "", s ? strlen(s) : 0);
}

static void fmt_time(int64_t ms, char *out, size_t outlen)
{
	if (clock_format_ms(ms, out, outlen) < 0)
		snprintf(out, outlen, "%lld", (long long)ms);
}

static int render_csv(struct buf *out, const struct audit_row *rows, size_t n, int install, int header)
{
	if (header)
		buf_puts(out, install ? "seq,at,actor_kind,actor_id,action,target,detail,ip,workspace_id\r\n"
		                      : "seq,at,actor_kind,actor_id,action,target,detail,ip\r\n");
	for (size_t i = 0; i < n; i++) {
		const struct audit_row *w = &rows[i];
		char at[40];
		fmt_time(w->at, at, sizeof(at));
		csv_i64(out, w->seq);
		buf_putc(out, ',');
		csv_str(out, at);
		buf_putc(out, ',');
		csv_str(out, w->actor_kind);
		buf_putc(out, ',');
		csv_i64(out, w->actor_id);
		buf_putc(out, ',');
		csv_str(out, w->action);
		buf_putc(out, ',');
		csv_str(out, w->target);
		buf_putc(out, ',');
		csv_str(out, w->detail);
		buf_putc(out, ',');
		csv_str(out, w->ip);
		if (install) {
			buf_putc(out, ',');
			csv_i64(out, w->workspace_id);
		}
		buf_puts(out, "\r\n");
	}
	return out->oom ? -1 : 0;
}

/* A JSON string of s with invalid UTF-8 replaced (stored rows are untrusted). */
static json_t *jstr(const char *s)
{
	struct buf b;
	buf_init(&b, 0);
	json_t *v = NULL;
	if (audit_utf8_clean(&b, s ? s : "", s ? strlen(s) : 0, 0) == 0)
		v = json_stringn(b.p ? b.p : "", b.n);
	buf_free(&b);
	return v;
}

static int render_jsonl(struct buf *out, const struct audit_row *rows, size_t n, int install)
{
	for (size_t i = 0; i < n; i++) {
		const struct audit_row *w = &rows[i];
		char at[40];
		fmt_time(w->at, at, sizeof(at));
		json_t *detail = json_loads(w->detail ? w->detail : "", JSON_REJECT_DUPLICATES, NULL);
		if (!detail)
			detail = jstr(w->detail);
		json_t *o = json_object(), *actor = json_object();
		int bad = !o || !actor;
		bad |= json_object_set_new(o, "seq", json_integer(w->seq));
		bad |= json_object_set_new(o, "at", json_string(at));
		bad |= json_object_set_new(o, "at_ms", json_integer(w->at));
		bad |= json_object_set_new(actor, "kind", jstr(w->actor_kind));
		bad |= json_object_set_new(actor, "id", json_integer(w->actor_id));
		bad |= json_object_set(o, "actor", actor);
		bad |= json_object_set_new(o, "action", jstr(w->action));
		bad |= json_object_set_new(o, "target", jstr(w->target));
		bad |= json_object_set_new(o, "detail", detail);
		bad |= json_object_set_new(o, "ip", jstr(w->ip));
		if (install)
			bad |= json_object_set_new(o, "workspace_id", json_integer(w->workspace_id));
		json_decref(actor);
		char *line =
		    bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
		json_decref(o);
		if (!line)
			return -1;
		buf_puts(out, line);
		buf_putc(out, '\n');
		free(line);
	}
	return out->oom ? -1 : 0;
}

int audit_render(struct buf *out, const struct audit_row *rows, size_t n, enum audit_format fmt, int install,
                 int header)
{
	return fmt == AUDIT_CSV ? render_csv(out, rows, n, install, header)
	                        : render_jsonl(out, rows, n, install);
}

/* ---- export ---- */

static int export(struct store_tx *tx, int ws, const struct audit_filter *f, enum audit_format fmt,
                  struct buf *out, int *truncated)
{
	struct fparams p;
	struct audit_rows rows = {0};
	int oldest_first = f ? f->oldest_first : 0;
	int64_t total = 0;
	*truncated = 0;
	if ((store_tx_workspace(tx) != 0) != ws || filter_params(f, &p) < 0)
		return -1;
	p.offset = 0;
	p.limit = LIMIT_AUDIT_QUERY_ROWS;
	int header = 1;
	for (;;) {
		if (run_query(tx, ws, oldest_first, &p, &rows) < 0)
			goto fail;
		size_t take = rows.n;
		if (total + (int64_t)take > LIMIT_AUDIT_EXPORT_ROWS) {
			take = (size_t)(LIMIT_AUDIT_EXPORT_ROWS - total);
			*truncated = 1;
		}
		if (audit_render(out, rows.v, take, fmt, !ws, header) < 0)
			goto fail;
		header = 0;
		total += (int64_t)take;
		if (*truncated || rows.n < (size_t)p.limit)
			break;
		/* keyset paging: rows appended meanwhile neither repeat nor shift pages */
		int64_t last = rows.v[rows.n - 1].seq;
		if (oldest_first)
			p.seq_lo = last + 1;
		else
			p.seq_hi = last - 1;
		audit_rows_free(&rows);
	}
	audit_rows_free(&rows);
	return 0;
fail:
	audit_rows_free(&rows);
	return -1;
}

int audit_export_install(struct store_tx *global_tx, const struct audit_filter *f, enum audit_format fmt,
                         struct buf *out, int *truncated)
{
	return export(global_tx, 0, f, fmt, out, truncated);
}

int audit_export_ws(struct store_tx *ws_tx, const struct audit_filter *f, enum audit_format fmt,
                    struct buf *out, int *truncated)
{
	return export(ws_tx, 1, f, fmt, out, truncated);
}

int audit_put_escaped(struct buf *out, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		/* UTF-8 encoded C1 controls (U+0080..U+009F: 0xC2 0x80..0x9F), e.g. CSI */
		if (u[i] == 0xc2 && i + 1 < n && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f) {
			buf_put_escaped(out, s + start, i - start);
			buf_printf(out, "\\u%04x", u[i + 1]);
			i++;
			start = i + 1;
		}
	}
	buf_put_escaped(out, s + start, n - start);
	return out->oom ? -1 : 0;
}
