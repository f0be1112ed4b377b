#include "web/users_page.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/install.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/parse.h"
#include "crypto/seal.h"
#include "ingest/ingest_identify.h"
#include "http/reqdb.h"
#include "store/store.h"
#include "web/shell.h"

#define PAGE_MAX 100000 /* ?page= bound: deeper than any useful offset */

/* "2026-11-29 05:51 UTC", or "" when out of range. */
static json_t *when(int64_t ms)
{
	char t[32], out[40];
	if (clock_format_ms(ms, t, sizeof(t)) < 0)
		return json_string("");
	t[16] = '\0';
	t[10] = ' ';
	snprintf(out, sizeof(out), "%s UTC", t);
	return json_string(out);
}

/* A trait shown as text: a string as is, a number formatted, anything else "". */
static json_t *trait_text(json_t *traits, const char *key)
{
	json_t *v = json_object_get(traits, key);
	char num[64];
	if (json_is_string(v))
		return json_stringn(json_string_value(v), json_string_length(v));
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return json_string(num);
	}
	if (json_is_real(v)) {
		snprintf(num, sizeof(num), "%.2f", json_real_value(v));
		return json_string(num);
	}
	return json_string("");
}

/* A sealed name or e-mail of a tracked user, opened: "" when absent, a marker when it
 * does not open (a key missing from the keyring, or a changed value). */
static json_t *unseal(struct http_request *req, const char *column, const char *row_key, const char *text)
{
	if (!text || !row_key)
		return json_string("");
	struct seal_ad ad = {"workspace", req->auth.workspace_id, "tracked_users", column, row_key};
	uint8_t *p = NULL;
	size_t n = 0;
	if (seal_open(req->inst->keys, &ad, text, &p, &n) < 0)
		return json_string("(cannot be opened)");
	json_t *v = json_stringn((const char *)p, n);
	seal_plain_free(p, n);
	return v ? v : json_string("");
}

/* Reads the rows (a page, or the exact user q) into ctx.users and ctx.has_next.
 * 0, or -1 on a store failure. */
static int load(struct http_request *req, const char *q, int64_t page, json_t *ctx)
{
	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	int rc = -1;
	int64_t offset = (page - 1) * LIMIT_ROWS_PER_PAGE;
	char *by_email = NULL;
	if (req_begin_ws(req, STORE_READ, &tx) < 0)
		return -1;
	if (q && strchr(q, '@')) { /* an exact e-mail: the blind index names the user */
		int f = ingest_identify_find_email(tx, req->inst->keys, req->auth.workspace_id, q, strlen(q),
		                                   &by_email);
		if (f < 0)
			goto done;
		if (f == 1)
			q = by_email;
	}
	int qrc;
	if (q)
		qrc = store_query(tx,
		                  "SELECT t.user_id, t.first_seen, t.last_seen, t.traits, (SELECT "
		                  "coalesce(sum(d.events), 0) FROM user_daily d WHERE d.workspace_id = $1 "
		                  "AND d.user_id = t.user_id), t.row_key, t.name_sealed, t.email_sealed, "
		                  "t.email_verified FROM tracked_users t WHERE t.workspace_id = $1 AND "
		                  "t.user_id = $2",
		                  STORE_ARGS(SP_TEXT(q)), &r);
	else
		qrc = store_query(tx,
		                  "SELECT t.user_id, t.first_seen, t.last_seen, t.traits, (SELECT "
		                  "coalesce(sum(d.events), 0) FROM user_daily d WHERE d.workspace_id = $1 "
		                  "AND d.user_id = t.user_id), t.row_key, t.name_sealed, t.email_sealed, "
		                  "t.email_verified FROM tracked_users t WHERE t.workspace_id = $1 ORDER "
		                  "BY t.last_seen DESC, t.user_id LIMIT $2 OFFSET $3",
		                  STORE_ARGS(SP_I64(LIMIT_ROWS_PER_PAGE + 1), SP_I64(offset)), &r);
	if (qrc < 0)
		goto done;
	json_t *list = json_array();
	json_object_set_new(ctx, "users", list);
	int st, n = 0;
	while ((st = store_step(r)) == 1) {
		if (++n > LIMIT_ROWS_PER_PAGE) {
			json_object_set_new(ctx, "has_next", json_true());
			continue;
		}
		size_t idn = 0, tn = 0;
		const char *id = store_col_text(r, 0, &idn);
		const char *traits_text = store_col_text(r, 3, &tn);
		json_t *traits = traits_text ? json_loadb(traits_text, tn, 0, NULL) : NULL;
		json_t *row = json_pack("{s:s%, s:o, s:o, s:o, s:o, s:I}", "id", id ? id : "", idn, "plan",
		                        trait_text(traits, "plan"), "mrr", trait_text(traits, "mrr"),
		                        "first_seen", when(store_col_i64(r, 1)), "last_seen",
		                        when(store_col_i64(r, 2)), "events", (json_int_t)store_col_i64(r, 4));
		json_decref(traits);
		const char *rk = store_col_text(r, 5, &tn);
		const char *nm = store_col_is_null(r, 6) ? NULL : store_col_text(r, 6, &tn);
		const char *em = store_col_is_null(r, 7) ? NULL : store_col_text(r, 7, &tn);
		if (row && (json_object_set_new(row, "name", unseal(req, "name_sealed", rk, nm)) < 0 ||
		            json_object_set_new(row, "email", unseal(req, "email_sealed", rk, em)) < 0 ||
		            json_object_set_new(row, "unverified",
		                                json_boolean(em && store_col_i64(r, 8) != 1)) < 0)) {
			json_decref(row);
			goto done;
		}
		if (!row || json_array_append_new(list, row) < 0)
			goto done;
	}
	if (st < 0)
		goto done;
	json_object_set_new(ctx, "has_rows", json_boolean(n > 0));
	rc = 0;
done:
	store_rows_close(r);
	store_rollback(tx);
	free(by_email);
	return rc;
}

int users_page(struct http_request *req, struct http_response *res)
{
	const char *q = http_query(req, "q");
	const char *pv = http_query(req, "page");
	int64_t page = 1;
	int bad = 0;
	if (q && !*q)
		q = NULL;
	if (q && strlen(q) > LIMIT_INGEST_ID)
		bad = 1;
	if (pv && *pv && parse_i64_cstr(pv, 1, PAGE_MAX, &page) < 0)
		bad = 1, page = 1;
	json_t *ctx = shell_context(req, res, "users");
	if (!ctx)
		return req_db_error(req, res);
	json_object_set_new(ctx, "title", json_string("Users"));
	json_object_set_new(ctx, "q", json_string(q && !bad ? q : ""));
	json_object_set_new(ctx, "per_page", json_integer(LIMIT_ROWS_PER_PAGE));
	if (bad) {
		json_object_set_new(ctx, "bad_query", json_true());
		return shell_render(req, res, 400, "users", ctx);
	}
	if (load(req, q, page, ctx) < 0) {
		json_decref(ctx);
		return req_db_error(req, res);
	}
	if (q) {
		json_object_set_new(ctx, "searched", json_true());
	} else {
		char href[96];
		json_t *pager = json_object();
		json_object_set_new(ctx, "pager", pager);
		const char *base = json_string_value(json_object_get(json_object_get(ctx, "ws"), "href"));
		if (page > 1) {
			snprintf(href, sizeof(href), "%s/users?page=%" PRId64, base ? base : "", page - 1);
			json_object_set_new(pager, "prev", json_string(href));
		}
		if (json_is_true(json_object_get(ctx, "has_next"))) {
			snprintf(href, sizeof(href), "%s/users?page=%" PRId64, base ? base : "", page + 1);
			json_object_set_new(pager, "next", json_string(href));
		}
		if (json_object_size(pager) == 0)
			json_object_del(ctx, "pager");
	}
	return shell_render(req, res, 200, "users", ctx);
}
