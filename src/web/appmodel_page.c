#include "web/appmodel_page.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appmodel/appmodel.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/parse.h"
#include "http/form.h"
#include "http/reqdb.h"
#include "store/store.h"
#include "web/permissions.h"
#include "web/shell.h"

#define PAGE_MAX 100000       /* ?page= bound */
#define MERGE_TARGETS_MAX 500 /* features offered as merge targets (most used first) */

static int64_t today(void)
{
	int64_t s = clock_now_s();
	return s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
}

/* Most used first: user-days, then users, then id. */
static int cmp_usage(const void *a, const void *b)
{
	const struct appmodel_feature *x = *(const struct appmodel_feature *const *)a;
	const struct appmodel_feature *y = *(const struct appmodel_feature *const *)b;
	if (x->days_30d != y->days_30d)
		return x->days_30d > y->days_30d ? -1 : 1;
	if (x->users_30d != y->users_30d)
		return x->users_30d > y->users_30d ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static json_t *feature_json(const struct appmodel *m, const struct appmodel_feature *f)
{
	struct buf rule;
	buf_init(&rule, 0);
	if (appmodel_rule_name(f->key, strlen(f->key), &rule) < 0 && rule.oom) {
		buf_free(&rule);
		return NULL;
	}
	const struct appmodel_feature *into = f->merged_into ? appmodel_find(m, f->merged_into) : NULL;
	const char *source = f->core_explicit ? (f->core ? "chosen" : NULL) : (f->core ? "automatic" : NULL);
	const char *choice = f->core_explicit ? (f->core ? "yes" : "no") : "auto";
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:b, s:I, s:I, s:b, s:s?, s:s, s:b, s:o, s:s, s:I}", "id",
	                      (json_int_t)f->id, "key", f->key, "name", f->name, "rule_name", rule.p ? rule.p : "",
	                      "renamed", f->renamed, "users_30d", (json_int_t)f->users_30d, "days_30d",
	                      (json_int_t)f->days_30d, "core", f->core, "core_source", source, "core_choice", choice,
	                      "hidden", f->hidden, "merged_into",
	                      f->merged_into ? json_integer(f->merged_into) : json_null(), "merged_into_name",
	                      into ? into->name : "", "counts_as", (json_int_t)appmodel_effective(m, f->id));
	buf_free(&rule);
	return o;
}

/* The builder of the page and the API: adds the model's keys to out (see the header).
 * html: also what only the page needs (select states; with merge_id, the merge panel of
 * that feature and its targets). 0 or -1. */
static int build(struct store_tx *tx, int64_t page, int html, int64_t merge_id, json_t *out)
{
	struct appmodel m;
	const struct appmodel_feature **order = NULL;
	int64_t *core = NULL;
	int rc = -1;
	if (appmodel_load(tx, today(), &m) < 0)
		return -1;
	order = calloc(m.n ? m.n : 1, sizeof(*order));
	core = calloc(m.n ? m.n : 1, sizeof(*core));
	if (!order || !core)
		goto done;
	for (size_t i = 0; i < m.n; i++)
		order[i] = &m.f[i];
	qsort(order, m.n, sizeof(*order), cmp_usage);
	size_t nc = appmodel_core_ids(&m, core, m.n);
	json_t *ids = json_array(), *list = json_array();
	json_object_set_new(out, "core_ids", ids);
	json_object_set_new(out, "features", list);
	for (size_t i = 0; i < nc; i++)
		if (json_array_append_new(ids, json_integer(core[i])) < 0)
			goto done;
	size_t per = LIMIT_ROWS_PER_PAGE, off = (size_t)(page - 1) * per;
	size_t hidden = 0, merged = 0;
	for (size_t i = 0; i < m.n; i++) {
		hidden += m.f[i].hidden ? 1 : 0;
		merged += m.f[i].merged_into ? 1 : 0;
	}
	for (size_t i = off; i < m.n && i < off + per; i++) {
		json_t *o = feature_json(&m, order[i]);
		if (!o || json_array_append_new(list, o) < 0)
			goto done;
		if (html) {
			const char *c = json_string_value(json_object_get(o, "core_choice"));
			json_object_set_new(o, "sel_yes", json_boolean(strcmp(c, "yes") == 0));
			json_object_set_new(o, "sel_no", json_boolean(strcmp(c, "no") == 0));
			json_object_set_new(o, "sel_auto", json_boolean(strcmp(c, "auto") == 0));
		}
	}
	const struct appmodel_feature *mf = html && merge_id ? appmodel_find(&m, merge_id) : NULL;
	if (mf) {
		json_t *targets = json_array();
		json_t *panel = json_pack("{s:I, s:s, s:s, s:o}", "id", (json_int_t)mf->id, "name", mf->name, "key",
		                          mf->key, "targets", targets);
		if (!panel || json_object_set_new(out, "merge", panel) < 0)
			goto done;
		for (size_t i = 0, k = 0; i < m.n && k < MERGE_TARGETS_MAX; i++) {
			if (order[i] == mf || order[i]->hidden || order[i]->merged_into)
				continue;
			k++;
			if (json_array_append_new(targets, json_pack("{s:I, s:s, s:s}", "id", (json_int_t)order[i]->id,
			                                             "name", order[i]->name, "key", order[i]->key)) < 0)
				goto done;
		}
	}
	json_object_set_new(out, "window_days", json_integer(30));
	json_object_set_new(out, "reviewed", json_boolean(m.reviewed));
	json_object_set_new(out, "core_mode", json_string(m.reviewed ? "chosen" : "automatic"));
	json_object_set_new(out, "total", json_integer((json_int_t)m.n));
	json_object_set_new(out, "core_count", json_integer((json_int_t)nc));
	json_object_set_new(out, "hidden_count", json_integer((json_int_t)hidden));
	json_object_set_new(out, "merged_count", json_integer((json_int_t)merged));
	json_object_set_new(out, "page", json_integer(page));
	json_object_set_new(out, "per_page", json_integer((json_int_t)per));
	json_object_set_new(out, "has_next", json_boolean(off + per < m.n));
	rc = 0;
done:
	free(order);
	free(core);
	appmodel_free(&m);
	return rc;
}

/* ?page=: 0 and *page, or -1 after replying 400. */
static int page_param(struct http_request *req, struct http_response *res, int64_t *page)
{
	const char *pv = http_query(req, "page");
	*page = 1;
	if (pv && *pv && parse_i64_cstr(pv, 1, PAGE_MAX, page) < 0) {
		http_reply_error(req, res, 400, "invalid_parameter", "page must be a whole number from 1", "/page");
		return -1;
	}
	return 0;
}

/* Renders the page (status; error: a message shown above the table, or NULL). */
static int render(struct http_request *req, struct http_response *res, int status, int64_t page,
                  int64_t merge_id, const char *error)
{
	struct store_tx *tx = NULL;
	json_t *ctx = shell_context(req, res, "appmodel");
	if (!ctx)
		return req_db_error(req, res);
	if (req_begin_ws(req, STORE_READ, &tx) < 0 || build(tx, page, 1, perm_allows(req->auth.role, PERM_APPMODEL_EDIT) ? merge_id : 0, ctx) < 0) {
		store_rollback(tx);
		json_decref(ctx);
		return req_db_error(req, res);
	}
	store_rollback(tx);
	char href[96];
	const char *base = json_string_value(json_object_get(json_object_get(ctx, "ws"), "href"));
	json_t *pager = json_object();
	if (page > 1) {
		snprintf(href, sizeof(href), "%s/app-model?page=%" PRId64, base ? base : "", page - 1);
		json_object_set_new(pager, "prev", json_string(href));
	}
	if (json_is_true(json_object_get(ctx, "has_next"))) {
		snprintf(href, sizeof(href), "%s/app-model?page=%" PRId64, base ? base : "", page + 1);
		json_object_set_new(pager, "next", json_string(href));
	}
	json_object_set_new(ctx, "pager", json_object_size(pager) ? pager : json_null());
	if (!json_object_size(pager))
		json_decref(pager);
	json_object_set_new(ctx, "has_features", json_boolean(json_array_size(json_object_get(ctx, "features")) > 0));
	if (error)
		json_object_set_new(ctx, "edit_error", json_string(error));
	json_object_set_new(ctx, "title", json_string("App model"));
	return shell_render(req, res, status, "appmodel", ctx);
}

int appmodel_page(struct http_request *req, struct http_response *res)
{
	int64_t page, merge = 0;
	const char *mv = http_query(req, "merge");
	if (page_param(req, res, &page) < 0)
		return 0;
	if (mv && *mv && parse_i64_cstr(mv, 1, INT64_C(9007199254740991), &merge) < 0)
		return http_reply_error(req, res, 400, "invalid_parameter", "merge must be a feature id", "/merge");
	return render(req, res, 200, page, merge, NULL);
}

int appmodel_page_api(struct http_request *req, struct http_response *res)
{
	int64_t page;
	struct store_tx *tx = NULL;
	req->wants_html = 0; /* the API answers JSON, errors included */
	if (page_param(req, res, &page) < 0)
		return 0;
	json_t *out = json_object();
	if (!out)
		return http_reply_error(req, res, 500, "internal", "out of memory", NULL);
	if (req_begin_ws(req, STORE_READ, &tx) < 0 || build(tx, page, 0, 0, out) < 0) {
		store_rollback(tx);
		json_decref(out);
		return req_db_error(req, res);
	}
	store_rollback(tx);
	if (http_reply_json(res, 200, out) < 0)
		return http_reply_error(req, res, 500, "internal", "out of memory", NULL);
	return 0;
}

/* ---- edits ---- */

enum edit { E_RENAME, E_MERGE, E_UNMERGE, E_HIDE, E_UNHIDE, E_CORE };

static const struct {
	const char *path, *audit;
} edits[] = {
    [E_RENAME] = {"rename", "appmodel.renamed"}, [E_MERGE] = {"merge", "appmodel.merged"},
    [E_UNMERGE] = {"unmerge", "appmodel.unmerged"}, [E_HIDE] = {"hide", "appmodel.hidden"},
    [E_UNHIDE] = {"unhide", "appmodel.unhidden"}, [E_CORE] = {"core", "appmodel.core_set"},
};

struct edit_form {
	struct str csrf, name, core;
	int64_t feature, into;
};

static const struct jsonin_field edit_fields[] = {
    JSONIN_F_STR("_csrf", 0, 0, 128, struct edit_form, csrf),
    JSONIN_F_INT("feature", JSONIN_REQUIRED, 1, INT64_C(9007199254740991), struct edit_form, feature),
    JSONIN_F_STR("name", 0, 0, 4 * APPMODEL_NAME_MAX, struct edit_form, name),
    JSONIN_F_INT("into", JSONIN_NULL_OK, 1, INT64_C(9007199254740991), struct edit_form, into),
    JSONIN_F_STR("core", 0, 0, 8, struct edit_form, core),
};
static const struct jsonin_spec edit_spec = JSONIN_SPEC(edit_fields, JSONIN_STRICT);

static int str_is(struct str s, const char *lit)
{
	return s.p && s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

/* The feature's key into out (for the audit target): 1 found, 0 not, -1 error. */
static int feature_key(struct store_tx *tx, int64_t id, char *out, size_t outlen)
{
	struct store_rows *r = NULL;
	out[0] = '\0';
	if (store_query(tx, "SELECT key FROM feature_keys WHERE workspace_id = $1 AND id = $2",
	                STORE_ARGS(SP_I64(id)), &r) < 0)
		return -1;
	int st = store_step(r);
	if (st == 1) {
		size_t n = 0;
		const char *k = store_col_text(r, 0, &n);
		snprintf(out, outlen, "%.*s", (int)n, k ? k : "");
	}
	store_rows_close(r);
	return st;
}

/* An edit refused: the JSON error envelope for the API, the page with the reason else.
 * Always returns 0. */
static int refuse(struct http_request *req, struct http_response *res, int api, int status, const char *code,
                  const char *field, const char *message)
{
	if (api)
		return http_reply_error(req, res, status, code, message, field);
	return render(req, res, status, 1, 0, message);
}

/* The API's answer to a successful edit: {"feature": <the feature as GET shows it>}. */
static int reply_feature(struct http_request *req, struct http_response *res, int64_t id)
{
	struct store_tx *tx = NULL;
	struct appmodel m;
	if (req_begin_ws(req, STORE_READ, &tx) < 0 || appmodel_load(tx, today(), &m) < 0) {
		store_rollback(tx);
		return req_db_error(req, res);
	}
	store_rollback(tx);
	const struct appmodel_feature *f = appmodel_find(&m, id);
	json_t *o = f ? feature_json(&m, f) : NULL;
	appmodel_free(&m);
	if (!o)
		return http_reply_error(req, res, 500, "internal", "the feature could not be read back", NULL);
	if (http_reply_json(res, 200, json_pack("{s:o}", "feature", o)) < 0)
		return http_reply_error(req, res, 500, "internal", "out of memory", NULL);
	return 0;
}

/* Shared by the form (api 0) and the JSON API (api 1). */
static int edit(struct http_request *req, struct http_response *res, int api)
{
	struct str action = http_param(req, "action");
	size_t e = 0;
	json_t *body = NULL;
	if (api)
		req->wants_html = 0;
	while (e < sizeof(edits) / sizeof(edits[0]) && !str_is(action, edits[e].path))
		e++;
	if (e == sizeof(edits) / sizeof(edits[0]))
		return http_reply_error(req, res, 404, "not_found", "no such app-model action", NULL);
	if (!perm_allows(req->auth.role, PERM_APPMODEL_EDIT))
		return http_reply_error(req, res, 403, "forbidden", "your role in this workspace does not allow this",
		                        NULL);
	struct edit_form f = {0};
	struct jsonin_error jerr = {0};
	int bound;
	if (api)
		bound = jsonin_load(req->body.p ? req->body.p : "", req->body.n, http_body_limit(BODY_JSON), &body,
		                    &jerr) == 0 &&
		        jsonin_bind(body, &edit_spec, &f, sizeof(f), NULL, NULL, &jerr) == 0;
	else if (!req->form)
		return http_reply_error(req, res, 400, "invalid_form", "a form body is required", NULL);
	else
		bound = form_bind(req->form, &edit_spec, &f, sizeof(f), NULL, &jerr) == 0;
	if (!bound) {
		json_decref(body);
		return http_reply_error(req, res, jsonin_error_status(&jerr), jerr.code, jerr.message,
		                        jerr.field[0] ? jerr.field : NULL);
	}

	/* The name, trimmed of surrounding spaces. */
	char name[4 * APPMODEL_NAME_MAX + 1] = "";
	if (f.name.p) {
		size_t a = 0, b = f.name.n;
		while (a < b && f.name.p[a] == ' ')
			a++;
		while (b > a && f.name.p[b - 1] == ' ')
			b--;
		memcpy(name, f.name.p + a, b - a);
		name[b - a] = '\0';
	}
	int core = 0;
	const char *invalid = NULL, *field = NULL;
	if (e == E_RENAME && name[0] && !appmodel_name_ok(name, strlen(name)))
		invalid = "A name has at most 80 bytes and no control characters.", field = "/name";
	if (e == E_MERGE && !f.into)
		invalid = "Choose the feature to merge into.", field = "/into";
	if (e == E_CORE) {
		field = "/core";
		if (str_is(f.core, "yes"))
			core = 1;
		else if (str_is(f.core, "no"))
			core = 0;
		else if (str_is(f.core, "auto"))
			core = -1;
		else
			invalid = "Core must be yes, no or auto.";
	}
	json_decref(body); /* f's strings are not used past this point */
	if (invalid)
		return refuse(req, res, api, 400, "invalid_field", field, invalid);

	struct store_tx *tx = NULL;
	char key[LIMIT_AUDIT_TARGET + 1];
	if (req_begin_ws(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	int found = feature_key(tx, f.feature, key, sizeof(key));
	if (found < 0)
		goto fail;
	if (found == 0) {
		store_rollback(tx);
		return refuse(req, res, api, 404, "not_found", "/feature", "That feature does not exist in this workspace.");
	}
	int rc;
	json_t *detail;
	switch ((enum edit)e) {
	case E_RENAME:
		rc = appmodel_rename(tx, f.feature, name);
		detail = json_pack("{s:I, s:s?}", "feature_id", (json_int_t)f.feature, "name", name[0] ? name : NULL);
		break;
	case E_MERGE:
		rc = appmodel_merge(tx, f.feature, f.into);
		detail = json_pack("{s:I, s:I}", "feature_id", (json_int_t)f.feature, "into", (json_int_t)f.into);
		break;
	case E_UNMERGE:
		rc = appmodel_unmerge(tx, f.feature);
		detail = json_pack("{s:I}", "feature_id", (json_int_t)f.feature);
		break;
	case E_HIDE:
	case E_UNHIDE:
		rc = appmodel_set_hidden(tx, f.feature, e == E_HIDE);
		detail = json_pack("{s:I}", "feature_id", (json_int_t)f.feature);
		break;
	default:
		rc = appmodel_set_core(tx, f.feature, core);
		detail = json_pack("{s:I, s:s}", "feature_id", (json_int_t)f.feature, "core",
		                   core > 0 ? "yes" : core == 0 ? "no" : "auto");
		break;
	}
	if (rc < 0) {
		json_decref(detail);
		goto fail;
	}
	if (rc > 0) {
		json_decref(detail);
		store_rollback(tx);
		return refuse(req, res, api, 400, "invalid_field", e == E_MERGE ? "/into" : NULL,
		              e == E_MERGE ? "That merge is not possible: the target must be another existing "
		                             "feature, and a feature cannot end up merged into itself."
		                           : "That change is not possible.");
	}
	if (shell_audit(req, tx, edits[e].audit, key, detail) < 0)
		goto fail;
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	if (api)
		return reply_feature(req, res, f.feature);
	char base[64], back[96];
	shell_ws_href(req->auth.workspace_id, base, sizeof(base));
	snprintf(back, sizeof(back), "%s/app-model", base);
	return shell_redirect(req, res, back, FLASH_SETTINGS_SAVED);
fail:
	store_rollback(tx);
	return req_db_error(req, res);
}

int appmodel_page_edit(struct http_request *req, struct http_response *res)
{
	return edit(req, res, 0);
}

int appmodel_page_api_edit(struct http_request *req, struct http_response *res)
{
	return edit(req, res, 1);
}
