#include "web/audit_pages.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/parse.h"
#include "http/reqdb.h"
#include "web/shell.h"

#define DAY_MS INT64_C(86400000)
#define SHOW_BACK_MAX 200 /* bytes of a refused filter value shown back in the form */
#define QUERY_ERRORS_MAX 6

struct query_error {
	const char *field;   /* form field name */
	const char *pointer; /* "/<field>" for JSON error replies */
	const char *message;
};

/* The filters of one request, validated. The text copies hold only accepted values
 * (restricted alphabets), so they can go back into links unencoded. */
struct audit_query {
	struct audit_filter f;
	int64_t page;
	char action[AUDIT_ACTION_MAX + 1];
	char since[11], until[11];
	char actor[21];
	struct query_error err[QUERY_ERRORS_MAX];
	size_t nerr;
};

static void query_fail(struct audit_query *q, const char *field, const char *pointer, const char *message)
{
	if (q->nerr < QUERY_ERRORS_MAX)
		q->err[q->nerr++] = (struct query_error){field, pointer, message};
}

/* A query parameter, or NULL when absent or empty. */
static const char *param(const struct http_request *req, const char *name)
{
	const char *v = http_query(req, name);
	return v && *v ? v : NULL;
}

/* "YYYY-MM-DD" (a real date, 1970..9999) → Unix ms of 00:00 UTC that day. 0 or -1. */
static int parse_day(const char *s, int64_t *out)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int64_t y, m, d;
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	if (parse_i64(s, 4, 1970, 9999, &y) < 0 || parse_i64(s + 5, 2, 1, 12, &m) < 0 ||
	    parse_i64(s + 8, 2, 1, 31, &d) < 0)
		return -1;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[m - 1] || (m == 2 && d == 29 && !leap))
		return -1;
	*out = clock_days_from_civil(y, m, d) * DAY_MS;
	return 0;
}

static int action_ok(const char *s)
{
	size_t n = strlen(s);
	if (n > AUDIT_ACTION_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_'))
			return 0;
	}
	return 1;
}

/* Reads and checks every filter; page is read only when with_page. Errors go to q->err. */
static void read_query(const struct http_request *req, struct audit_query *q, int with_page)
{
	memset(q, 0, sizeof(*q));
	q->f = AUDIT_FILTER_ALL;
	q->page = 1;
	const char *v;
	if ((v = param(req, "action"))) {
		if (action_ok(v)) {
			snprintf(q->action, sizeof(q->action), "%s", v);
			q->f.action_prefix = q->action;
		} else {
			query_fail(q, "action", "/action",
			           "Use an action or the start of one: up to 40 of a-z, 0-9, '.' and '_'.");
		}
	}
	if ((v = param(req, "since"))) {
		if (parse_day(v, &q->f.since_ms) == 0)
			snprintf(q->since, sizeof(q->since), "%s", v);
		else
			query_fail(q, "since", "/since", "Use a date as YYYY-MM-DD.");
	}
	if ((v = param(req, "until"))) {
		int64_t day;
		if (parse_day(v, &day) == 0) {
			q->f.until_ms = day + DAY_MS; /* the whole day is included */
			snprintf(q->until, sizeof(q->until), "%s", v);
		} else {
			query_fail(q, "until", "/until", "Use a date as YYYY-MM-DD.");
		}
	}
	if (q->since[0] && q->until[0] && q->f.until_ms <= q->f.since_ms)
		query_fail(q, "until", "/until", "The end date is before the start date.");
	if ((v = param(req, "actor"))) {
		if (parse_i64_cstr(v, 0, INT64_MAX, &q->f.actor_id) == 0)
			snprintf(q->actor, sizeof(q->actor), "%" PRId64, q->f.actor_id);
		else
			query_fail(q, "actor", "/actor",
			           "Use an account number (0 for the CLI and the system).");
	}
	if (with_page && (v = param(req, "page")) && parse_i64_cstr(v, 1, AUDIT_PAGES_MAX, &q->page) < 0)
		query_fail(q, "page", "/page", "There is no such page.");
}

/* The accepted filters as "action=…&since=…" (no leading '&'; may be empty). 0 or -1. */
static int filter_qs(const struct audit_query *q, struct buf *b)
{
	const char *names[] = {"action", "since", "until", "actor"};
	const char *vals[] = {q->action, q->since, q->until, q->actor};
	for (size_t i = 0; i < 4; i++) {
		if (!vals[i][0])
			continue;
		if (buf_printf(b, "%s%s=%s", b->n ? "&" : "", names[i], vals[i]) < 0)
			return -1;
	}
	return 0;
}

/* Untrusted stored text as a JSON string: invalid UTF-8 replaced, never NULL unless
 * out of memory. */
static json_t *text_json(const char *s)
{
	struct buf b;
	buf_init(&b, 0);
	json_t *j = NULL;
	if (audit_utf8_clean(&b, s ? s : "", s ? strlen(s) : 0, 0) == 0)
		j = json_stringn(b.p ? b.p : "", b.n);
	buf_free(&b);
	return j;
}

/* What was typed into a filter field, for showing it again ("" when absent, too long
 * or not UTF-8). */
static json_t *typed(const struct http_request *req, const char *name)
{
	const char *v = http_query(req, name);
	size_t n = v ? strlen(v) : 0;
	json_t *j = n && n <= SHOW_BACK_MAX ? json_stringn(v, n) : NULL;
	return j ? j : json_string("");
}

/* Suggestions for the action field: each group ("auth.") of the workspace log's
 * actions, then every action name. */
static json_t *action_choices(void)
{
	json_t *groups = json_array(), *names = json_array();
	for (const struct audit_action *a = audit_actions; a->name; a++) {
		if (!(a->logs & AUDIT_LOG_WS))
			continue;
		json_array_append_new(names, json_string(a->name));
		const char *dot = strchr(a->name, '.');
		if (!dot)
			continue;
		json_t *g = json_stringn(a->name, (size_t)(dot - a->name) + 1);
		int seen = 0;
		for (size_t i = 0; i < json_array_size(groups) && !seen; i++)
			seen = json_equal(json_array_get(groups, i), g);
		if (seen)
			json_decref(g);
		else
			json_array_append_new(groups, g);
	}
	json_array_extend(groups, names);
	json_decref(names);
	return groups;
}

/* The e-mail of account id (a JSON string), JSON null when there is no such account, or
 * NULL after a store failure. */
static json_t *account_email(struct store_tx *tx, int64_t id)
{
	struct store_rows *r = NULL;
	if (store_query(tx, "SELECT email FROM accounts WHERE id = $1", STORE_ARGS(SP_I64(id)), &r) < 0)
		return NULL;
	json_t *out = NULL;
	int st = store_step(r);
	if (st == 1) {
		size_t n = 0;
		const char *e = store_col_text(r, 0, &n);
		out = json_stringn(e ? e : "", e ? n : 0);
	} else if (st == 0) {
		out = json_null();
	}
	store_rows_close(r);
	return out;
}

static int account_actor(const char *kind)
{
	return strcmp(kind, "account") == 0 || strcmp(kind, "staff") == 0;
}

/* Who acted, for people: "owner@example.com", "account #7" (gone), "CLI", "system". */
static json_t *actor_label(const struct audit_row *w, json_t *emails)
{
	char key[24], text[48];
	if (account_actor(w->actor_kind)) {
		snprintf(key, sizeof(key), "%" PRId64, w->actor_id);
		json_t *e = json_object_get(emails, key);
		if (json_is_string(e))
			return json_incref(e);
		snprintf(text, sizeof(text), "account #%" PRId64, w->actor_id);
		return json_string(text);
	}
	if (strcmp(w->actor_kind, "cli") == 0)
		return json_string("CLI");
	return text_json(w->actor_kind);
}

/* Reads one page of rows for q into ctx.rows (plus has_next). 0 or -1 (store). */
static int load_rows(struct http_request *req, struct audit_query *q, json_t *ctx)
{
	struct store_tx *tx = NULL;
	struct audit_rows rows = {0};
	json_t *emails = json_object();
	int rc = -1;
	q->f.limit = LIMIT_ROWS_PER_PAGE + 1; /* one more tells whether a next page exists */
	q->f.offset = (q->page - 1) * LIMIT_ROWS_PER_PAGE;
	if (!emails || req_begin_ws(req, STORE_READ, &tx) < 0)
		goto done;
	if (audit_query_ws(tx, &q->f, &rows) < 0)
		goto done;
	store_rollback(tx);
	tx = NULL;
	size_t n = rows.n > LIMIT_ROWS_PER_PAGE ? LIMIT_ROWS_PER_PAGE : rows.n;

	/* accounts are global: their addresses come from a global read transaction */
	for (size_t i = 0; i < n; i++) {
		const struct audit_row *w = &rows.v[i];
		char key[24];
		if (!account_actor(w->actor_kind) || w->actor_id <= 0)
			continue;
		snprintf(key, sizeof(key), "%" PRId64, w->actor_id);
		if (json_object_get(emails, key))
			continue;
		if (!tx && req_begin_global(req, STORE_READ, &tx) < 0)
			goto done;
		json_t *e = account_email(tx, w->actor_id);
		if (!e)
			goto done;
		json_object_set_new(emails, key, e);
	}
	store_rollback(tx);
	tx = NULL;

	json_t *list = json_array();
	json_object_set_new(ctx, "rows", list);
	for (size_t i = 0; i < n; i++) {
		const struct audit_row *w = &rows.v[i];
		char at[32] = "";
		if (clock_format_ms(w->at, at, sizeof(at)) < 0)
			snprintf(at, sizeof(at), "%" PRId64 " ms", w->at);
		json_array_append_new(
		    list, json_pack("{s:I,s:s,s:o,s:o,s:o,s:o,s:o}", "seq", (json_int_t)w->seq, "at", at,
		                    "actor_kind", text_json(w->actor_kind), "actor", actor_label(w, emails),
		                    "action", text_json(w->action), "target", text_json(w->target), "detail",
		                    text_json(w->detail)));
	}
	json_object_set_new(ctx, "has_rows", json_boolean(n > 0));
	json_object_set_new(ctx, "has_next", json_boolean(rows.n > LIMIT_ROWS_PER_PAGE));
	rc = 0;
done:
	store_rollback(tx);
	audit_rows_free(&rows);
	json_decref(emails);
	return rc;
}

/* ctx.pager {page, prev, next} and ctx.export {csv, json} hrefs. 0 or -1. */
static int add_links(struct http_request *req, const struct audit_query *q, json_t *ctx, int has_next)
{
	char base[48];
	struct buf qs, href;
	int rc = -1;
	buf_init(&qs, 1024);
	buf_init(&href, 1024);
	shell_ws_href(req->auth.workspace_id, base, sizeof(base));
	if (filter_qs(q, &qs) < 0)
		goto done;
	const char *sep = qs.n ? "&" : "";
	const char *filters = qs.p ? qs.p : "";
	json_t *pager = json_pack("{s:I}", "page", (json_int_t)q->page);
	json_object_set_new(ctx, "pager", pager);
	if (q->page > 1) {
		if (buf_printf(&href, "%s/settings/audit?%s%spage=%" PRId64, base, filters, sep,
		               q->page - 1) < 0)
			goto done;
		json_object_set_new(pager, "prev", json_stringn(href.p, href.n));
		buf_reset(&href);
	}
	if (has_next) {
		if (buf_printf(&href, "%s/settings/audit?%s%spage=%" PRId64, base, filters, sep,
		               q->page + 1) < 0)
			goto done;
		json_object_set_new(pager, "next", json_stringn(href.p, href.n));
		buf_reset(&href);
	}
	json_t *exp = json_object();
	json_object_set_new(ctx, "export", exp);
	if (buf_printf(&href, "%s/settings/audit/export?format=csv%s%s", base, sep, filters) < 0)
		goto done;
	json_object_set_new(exp, "csv", json_stringn(href.p, href.n));
	buf_reset(&href);
	if (buf_printf(&href, "%s/settings/audit/export?format=json%s%s", base, sep, filters) < 0)
		goto done;
	json_object_set_new(exp, "json", json_stringn(href.p, href.n));
	rc = 0;
done:
	buf_free(&qs);
	buf_free(&href);
	return rc;
}

int audit_page(struct http_request *req, struct http_response *res)
{
	struct audit_query q;
	read_query(req, &q, 1);
	json_t *ctx = shell_context(req, res, "audit");
	if (!ctx)
		return req_db_error(req, res);
	json_object_set_new(ctx, "title", json_string("Audit log"));
	json_object_set_new(ctx, "form",
	                    json_pack("{s:o,s:o,s:o,s:o}", "action", typed(req, "action"), "since",
	                              typed(req, "since"), "until", typed(req, "until"), "actor",
	                              typed(req, "actor")));
	json_object_set_new(ctx, "action_choices", action_choices());
	json_object_set_new(ctx, "per_page", json_integer(LIMIT_ROWS_PER_PAGE));
	json_object_set_new(ctx, "filtered",
	                    json_boolean(q.action[0] || q.since[0] || q.until[0] || q.actor[0]));
	if (q.nerr) {
		for (size_t i = 0; i < q.nerr; i++)
			if (shell_field_error(ctx, q.err[i].field, q.err[i].message) < 0)
				break;
		return shell_render(req, res, 400, "audit_log", ctx);
	}
	if (load_rows(req, &q, ctx) < 0) {
		json_decref(ctx);
		return req_db_error(req, res);
	}
	if (add_links(req, &q, ctx, json_is_true(json_object_get(ctx, "has_next"))) < 0) {
		json_decref(ctx);
		return http_reply_error(req, res, 500, "internal", "out of memory", NULL);
	}
	return shell_render(req, res, 200, "audit_log", ctx);
}

int audit_page_export(struct http_request *req, struct http_response *res)
{
	struct audit_query q;
	enum audit_format fmt;
	read_query(req, &q, 0);
	if (q.nerr)
		return http_reply_error(req, res, 400, "invalid_field", q.err[0].message, q.err[0].pointer);
	const char *format = param(req, "format");
	if (format && strcmp(format, "csv") == 0)
		fmt = AUDIT_CSV;
	else if (format && strcmp(format, "json") == 0)
		fmt = AUDIT_JSONL;
	else
		return http_reply_error(req, res, 400, "invalid_field", "format must be csv or json",
		                        "/format");

	struct store_tx *tx = NULL;
	int truncated = 0;
	if (req_begin_ws(req, STORE_READ, &tx) < 0)
		return req_db_error(req, res);
	buf_reset(&res->body);
	if (audit_export_ws(tx, &q.f, fmt, &res->body, &truncated) < 0) {
		store_rollback(tx);
		buf_reset(&res->body);
		log_json(
		    LOG_ERROR, "audit export failed",
		    json_pack("{s:I,s:s}", "ws", (json_int_t)req->auth.workspace_id, "rid", req->request_id));
		return req_db_error(req, res);
	}
	store_rollback(tx);

	char cd[96];
	snprintf(cd, sizeof(cd), "attachment; filename=\"dropfix-audit-%" PRId64 ".%s\"",
	         req->auth.workspace_id, fmt == AUDIT_CSV ? "csv" : "jsonl");
	if (http_set_header(res, "Content-Disposition", cd) < 0 ||
	    (truncated && http_set_header(res, "X-DropFix-Export-Truncated", "1") < 0)) {
		buf_reset(&res->body);
		return http_reply_error(req, res, 500, "internal", "out of memory", NULL);
	}
	res->status = 200;
	res->content_type = fmt == AUDIT_CSV ? "text/csv; charset=utf-8" : "application/x-ndjson";
	return 0;
}
