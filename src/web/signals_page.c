#include "web/signals_page.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/parse.h"
#include "detect/detect.h"
#include "http/form.h"
#include "http/json.h"
#include "http/reqdb.h"
#include "store/store.h"
#include "web/dash.h"
#include "web/permissions.h"
#include "web/shell.h"

#define PAGE_MAX 100000

struct params {
	const char *state; /* "open", "dismissed", "resolved" or "all" */
	const char *kind;  /* "" = any */
	int64_t page;
};

static int read_params(struct http_request *req, struct params *p, struct dash_fail *f)
{
	const char *v;
	p->state = "open";
	p->kind = "";
	p->page = 1;
	if ((v = http_query(req, "state")) && *v) {
		static const char *const ok[] = {"open", "dismissed", "resolved", "all"};
		int found = 0;
		for (size_t i = 0; i < 4 && !found; i++)
			if (strcmp(v, ok[i]) == 0)
				p->state = ok[i], found = 1;
		if (!found)
			return dash_bad(f, "state", "state: one of open, dismissed, resolved, all");
	}
	if ((v = http_query(req, "kind")) && *v) {
		enum detect_kind k;
		if (detect_kind_parse(v, strlen(v), &k) < 0)
			return dash_bad(f, "kind", "kind: a signal id such as usage_drop or gone_quiet");
		p->kind = detect_kind_id(k);
	}
	if ((v = http_query(req, "page")) && *v && parse_i64_cstr(v, 1, PAGE_MAX, &p->page) < 0)
		return dash_bad(f, "page", "page: a whole number from 1 to 100000");
	return 0;
}

static json_t *page_href(struct http_request *req, const struct params *p, int64_t pg)
{
	char base[48], out[200];
	shell_ws_href(req->auth.workspace_id, base, sizeof(base));
	snprintf(out, sizeof(out), "%s/signals?state=%s%s%s&page=%" PRId64, base, p->state,
	         *p->kind ? "&kind=" : "", p->kind, pg);
	return json_string(out);
}

static int build(struct http_request *req, struct store_tx *tx, json_t *out, struct dash_fail *f)
{
	struct params p;
	struct store_rows *r = NULL;
	if (read_params(req, &p, f) != 0)
		return 1;
	json_t *list = json_array();
	if (!list || json_object_set_new(out, "signals", list) < 0)
		return -1;
	static const char *const sql[3] = {
	    /* one state, any kind: signals_state_order backwards */
	    "SELECT id, user_id, kind, state, severity, evidence, detected_ms, dismissed_ms, dismiss_reason, "
	    "resolved_ms "
	    "FROM signals WHERE workspace_id = $1 AND state = $2 AND $3 = '' ORDER BY detected_ms DESC, id "
	    "DESC LIMIT "
	    "$4 OFFSET $5",
	    /* one state, one kind: signals_state_kind backwards */
	    "SELECT id, user_id, kind, state, severity, evidence, detected_ms, dismissed_ms, dismiss_reason, "
	    "resolved_ms "
	    "FROM signals WHERE workspace_id = $1 AND state = $2 AND kind = $3 ORDER BY detected_ms DESC, id "
	    "DESC LIMIT "
	    "$4 OFFSET $5",
	    /* every state ($2 = 'all') */
	    "SELECT id, user_id, kind, state, severity, evidence, detected_ms, dismissed_ms, dismiss_reason, "
	    "resolved_ms "
	    "FROM signals WHERE workspace_id = $1 AND $2 = 'all' AND ($3 = '' OR kind = $3) ORDER BY "
	    "detected_ms DESC, "
	    "id DESC LIMIT $4 OFFSET $5",
	};
	int which = strcmp(p.state, "all") == 0 ? 2 : *p.kind ? 1 : 0;
	if (store_query(tx, sql[which],
	                STORE_ARGS(SP_TEXT(p.state), SP_TEXT(p.kind), SP_I64(LIMIT_ROWS_PER_PAGE + 1),
	                           SP_I64((p.page - 1) * LIMIT_ROWS_PER_PAGE)),
	                &r) < 0)
		return -1;
	int st, n = 0, has_next = 0;
	while ((st = store_step(r)) == 1) {
		if (++n > LIMIT_ROWS_PER_PAGE) {
			has_next = 1;
			continue;
		}
		size_t un = 0, kn = 0, sn = 0, en = 0, dn = 0;
		const char *uid = store_col_text(r, 1, &un);
		const char *kind = store_col_text(r, 2, &kn);
		const char *state = store_col_text(r, 3, &sn);
		const char *ev = store_col_text(r, 5, &en);
		const char *why = store_col_is_null(r, 8) ? "" : store_col_text(r, 8, &dn);
		json_t *evj = ev ? json_loadb(ev, en, 0, NULL) : NULL;
		json_t *text = json_object_get(evj, "text");
		json_t *row =
		    json_pack("{s:I,s:s%,s:o,s:s%,s:s,s:s%,s:I,s:s,s:o,s:o,s:s,s:o,s:b}", "id",
		              (json_int_t)store_col_i64(r, 0), "user_id", uid ? uid : "", un, "user_href",
		              dash_user_href(req->auth.workspace_id, uid ? uid : "", un), "kind",
		              kind ? kind : "", kn, "title", dash_kind_title(kind, kn), "state",
		              state ? state : "", sn, "severity", (json_int_t)store_col_i64(r, 4), "evidence",
		              json_is_string(text) ? json_string_value(text) : "", "detected",
		              dash_when(store_col_i64(r, 6)), "dismissed", dash_when(store_col_i64(r, 7)),
		              "dismiss_reason", why ? why : "", "resolved", dash_when(store_col_i64(r, 9)),
		              "open", state && strcmp(state, "open") == 0);
		json_decref(evj);
		if (!row || json_array_append_new(list, row) < 0) {
			store_rows_close(r);
			return -1;
		}
	}
	store_rows_close(r);
	if (st < 0)
		return -1;
	json_object_set_new(out, "state", json_string(p.state));
	json_object_set_new(out, "kind", json_string(p.kind));
	json_object_set_new(out, "page", json_integer(p.page));
	json_object_set_new(out, "per_page", json_integer(LIMIT_ROWS_PER_PAGE));
	json_object_set_new(out, "has_next", json_boolean(has_next));
	json_object_set_new(out, "has_rows", json_boolean(n > 0));
	if (p.page > 1 || has_next) {
		json_t *pager = json_object();
		if (p.page > 1)
			json_object_set_new(pager, "prev", page_href(req, &p, p.page - 1));
		if (has_next)
			json_object_set_new(pager, "next", page_href(req, &p, p.page + 1));
		json_object_set_new(out, "pager", pager);
	}
	return 0;
}

static int html(struct http_request *req, json_t *ctx)
{
	const char *state = json_string_value(json_object_get(ctx, "state"));
	const char *kind = json_string_value(json_object_get(ctx, "kind"));
	json_t *s = json_array(), *k = json_array();
	static const char *const states[4][2] = {
	    {"open", "Open"}, {"dismissed", "Dismissed"}, {"resolved", "Resolved"}, {"all", "All"}};
	for (int i = 0; s && i < 4; i++)
		json_array_append_new(s, json_pack("{s:s,s:s,s:b}", "id", states[i][0], "label", states[i][1],
		                                   "selected", state && strcmp(state, states[i][0]) == 0));
	for (int i = 0; k && i < DETECT_KIND_N; i++) {
		const char *id = detect_kind_id((enum detect_kind)i);
		json_array_append_new(k, json_pack("{s:s,s:s,s:b}", "id", id, "label",
		                                   detect_kind_title((enum detect_kind)i), "selected",
		                                   kind && strcmp(kind, id) == 0));
	}
	if (!s || !k) {
		json_decref(s), json_decref(k);
		return -1;
	}
	json_object_set_new(ctx, "state_options", s);
	json_object_set_new(ctx, "kind_options", k);
	json_object_set_new(ctx, "can_act", json_boolean(perm_allows(req->auth.role, PERM_SIGNALS_ACT)));
	json_object_set_new(ctx, "reason_max", json_integer(DETECT_REASON_MAX));
	return 0;
}

int signals_page(struct http_request *req, struct http_response *res)
{
	return dash_serve(req, res, 1, "signals", "signals", "Signals", build, html);
}

int signals_api(struct http_request *req, struct http_response *res)
{
	return dash_serve(req, res, 0, NULL, NULL, NULL, build, NULL);
}

/* ---- dismiss ---- */

/* Dismisses signal id with reason (NUL-terminated, may be ""). 0, 1 = no open signal
 * with that id (404), -1 store failure. */
static int dismiss(struct http_request *req, int64_t id, const char *reason)
{
	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	char uid[LIMIT_INGEST_ID + 1] = "", kind[40] = "";
	if (req_begin_ws(req, STORE_WRITE, &tx) < 0)
		return -1;
	if (store_query(
	        tx,
	        "SELECT user_id, kind FROM signals WHERE workspace_id = $1 AND id = $2 AND state = 'open'",
	        STORE_ARGS(SP_I64(id)), &r) < 0)
		goto fail;
	int st = store_step(r);
	if (st == 1) {
		size_t un = 0, kn = 0;
		const char *u = store_col_text(r, 0, &un);
		const char *k = store_col_text(r, 1, &kn);
		snprintf(uid, sizeof(uid), "%.*s", (int)un, u ? u : "");
		snprintf(kind, sizeof(kind), "%.*s", (int)kn, k ? k : "");
	}
	store_rows_close(r);
	r = NULL;
	if (st < 0)
		goto fail;
	if (st == 0) {
		store_rollback(tx);
		return 1;
	}
	int d = detect_dismiss(tx, id, req->auth.account_id, reason);
	if (d < 0)
		goto fail;
	if (d == 1) {
		store_rollback(tx);
		return 1;
	}
	char target[32];
	snprintf(target, sizeof(target), "%" PRId64, id);
	if (shell_audit(req, tx, "signal.dismissed", target,
	                json_pack("{s:s,s:s,s:s}", "kind", kind, "user_id", uid, "reason", reason)) < 0)
		goto fail;
	if (store_commit(tx) < 0)
		return -1;
	return 0;
fail:
	store_rows_close(r);
	store_rollback(tx);
	return -1;
}

static int signal_id(struct http_request *req, int64_t *id)
{
	struct str v = http_param(req, "id");
	return parse_i64(v.p, v.n, 1, INT64_MAX, id);
}

int signals_dismiss(struct http_request *req, struct http_response *res)
{
	int64_t id;
	struct str reason = {"", 0}, next = {"", 0};
	if (signal_id(req, &id) < 0)
		return http_reply_error(req, res, 404, "not_found", "no open signal with that id", NULL);
	if (!perm_allows(req->auth.role, PERM_SIGNALS_ACT))
		return http_reply_error(req, res, 403, "forbidden",
		                        "your role in this workspace does not allow this", NULL);
	if (req->form && form_count(req->form, "reason") == 1 &&
	    form_get(req->form, "reason", 0, &reason) < 0)
		reason = (struct str){"", 0};
	if (req->form && form_count(req->form, "next") == 1 && form_get(req->form, "next", 0, &next) < 0)
		next = (struct str){"", 0};
	if (reason.n > DETECT_REASON_MAX)
		return http_reply_error(req, res, 400, "invalid_parameter", "reason: at most 500 bytes",
		                        "/reason");
	char why[DETECT_REASON_MAX + 1];
	snprintf(why, sizeof(why), "%.*s", (int)reason.n, reason.p);
	int rc = dismiss(req, id, why);
	if (rc < 0)
		return req_db_error(req, res);
	if (rc > 0)
		return http_reply_error(req, res, 404, "not_found", "no open signal with that id", NULL);
	/* back to a page of this workspace only */
	char base[48], prefix[56], loc[1100];
	shell_ws_href(req->auth.workspace_id, base, sizeof(base));
	snprintf(prefix, sizeof(prefix), "%s/", base);
	snprintf(loc, sizeof(loc), "%s/signals", base);
	if (next.n > 0 && next.n < 1024) {
		char want[1024];
		snprintf(want, sizeof(want), "%.*s", (int)next.n, next.p);
		if (http_safe_return_path(want) && strncmp(want, prefix, strlen(prefix)) == 0)
			snprintf(loc, sizeof(loc), "%s", want);
	}
	return shell_redirect(req, res, loc, FLASH_SIGNAL_DISMISSED);
}

int signals_dismiss_api(struct http_request *req, struct http_response *res)
{
	int64_t id;
	json_t *doc = NULL;
	struct jsonin_error err = {0};
	req->wants_html = 0;
	if (signal_id(req, &id) < 0)
		return http_reply_error(req, res, 404, "not_found", "no open signal with that id", NULL);
	if (!perm_allows(req->auth.role, PERM_SIGNALS_ACT))
		return http_reply_error(req, res, 403, "forbidden",
		                        "your role in this workspace does not allow this", NULL);
	const char *why = "";
	if (req->body.n > 0) {
		if (jsonin_load(req->body.p, req->body.n, http_body_limit(BODY_JSON), &doc, &err) < 0)
			return http_reply_json(res, jsonin_error_status(&err), jsonin_error_json(&err));
		json_t *reason = json_object_get(doc, "reason");
		if (!json_is_object(doc) || json_object_size(doc) > (reason ? 1u : 0u) ||
		    (reason && !json_is_string(reason) && !json_is_null(reason))) {
			json_decref(doc);
			return http_reply_error(req, res, 400, "invalid_field",
			                        "expected {\"reason\": \"…\"} or {}", "/reason");
		}
		if (json_is_string(reason)) {
			if (json_string_length(reason) > DETECT_REASON_MAX) {
				json_decref(doc);
				return http_reply_error(req, res, 400, "invalid_field",
				                        "reason: at most 500 bytes", "/reason");
			}
			why = json_string_value(reason);
		}
	}
	int rc = dismiss(req, id, why);
	json_decref(doc);
	if (rc < 0)
		return req_db_error(req, res);
	if (rc > 0)
		return http_reply_error(req, res, 404, "not_found", "no open signal with that id", NULL);
	return http_reply_json(res, 200, json_pack("{s:I,s:s}", "id", (json_int_t)id, "state", "dismissed"));
}
