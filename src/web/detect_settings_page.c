#include "web/detect_settings_page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"
#include "detect/detect.h"
#include "http/form.h"
#include "http/json.h"
#include "http/reqdb.h"
#include "store/store.h"
#include "web/dash.h"
#include "web/permissions.h"
#include "web/shell.h"

#define LIST_LINES_MAX 200

/* "usage_drop_pct" → "usage drop pct" (the key stays visible next to it). */
static json_t *label_of(const char *key)
{
	char out[128];
	snprintf(out, sizeof(out), "%s", key);
	for (char *p = out; *p; p++)
		if (*p == '_')
			*p = ' ';
	if (out[0] >= 'a' && out[0] <= 'z')
		out[0] = (char)(out[0] - 'a' + 'A');
	return json_string(out);
}

static json_t *list_text(json_t *list)
{
	struct buf b;
	buf_init(&b, 0);
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		if (json_is_string(v))
			buf_append(&b, json_string_value(v), json_string_length(v));
		buf_putc(&b, '\n');
	}
	json_t *t = json_stringn(b.p ? b.p : "", b.n);
	buf_free(&b);
	return t;
}

static json_t *num_text(json_t *v)
{
	char t[32];
	snprintf(t, sizeof(t), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	return json_string(t);
}

/* The form fields of settings: {"numbers":[{name,label,value}], "groups":[{key,label,
 * fields:[…]}], "lists":[{name,label,value}]}; values from typed (a form) when given. */
static json_t *fields_of(json_t *settings, const struct form *typed)
{
	json_t *numbers = json_array(), *groups = json_array(), *lists = json_array();
	const char *k;
	json_t *v;
	struct str t;
#define TYPED_OR(name, dflt)                                                                                 \
	(typed && form_count(typed, (name)) == 1 && form_get(typed, (name), 0, &t) == 0                      \
	     ? json_stringn(t.p, t.n)                                                                        \
	     : (dflt))
	json_object_foreach(settings, k, v)
	{
		if (json_is_integer(v)) {
			json_array_append_new(numbers,
			                      json_pack("{s:s,s:o,s:o}", "name", k, "label", label_of(k),
			                                "value", TYPED_OR(k, num_text(v))));
		} else if (json_is_array(v)) {
			json_array_append_new(lists,
			                      json_pack("{s:s,s:o,s:o}", "name", k, "label", label_of(k),
			                                "value", TYPED_OR(k, list_text(v))));
		} else if (json_is_object(v)) {
			json_t *fields = json_array();
			const char *mk;
			json_t *mv;
			json_object_foreach(v, mk, mv)
			{
				if (!json_is_integer(mv))
					continue;
				char name[128];
				snprintf(name, sizeof(name), "%s.%s", k, mk);
				json_array_append_new(fields,
				                      json_pack("{s:s,s:s,s:o}", "name", name, "label",
				                                dash_kind_title(mk, strlen(mk)), "value",
				                                TYPED_OR(name, num_text(mv))));
			}
			json_array_append_new(groups, json_pack("{s:s,s:o,s:o}", "key", k, "label",
			                                        label_of(k), "fields", fields));
		}
	}
#undef TYPED_OR
	return json_pack("{s:o,s:o,s:o}", "numbers", numbers, "groups", groups, "lists", lists);
}

/* Settings from a read transaction (a new reference), or NULL. */
static int build(struct http_request *req, struct store_tx *tx, json_t *out, struct dash_fail *f)
{
	(void)req, (void)f;
	json_t *s = detect_settings_get(tx);
	if (!s)
		return -1;
	json_object_set_new(out, "settings", s);
	return 0;
}

static int html(struct http_request *req, json_t *ctx)
{
	json_t *fields = fields_of(json_object_get(ctx, "settings"), NULL);
	if (!fields)
		return -1;
	json_object_set_new(ctx, "form", fields);
	json_object_set_new(ctx, "can_edit",
	                    json_boolean(perm_allows(req->auth.role, PERM_DETECTION_SETTINGS)));
	return 0;
}

int detect_settings_page(struct http_request *req, struct http_response *res)
{
	return dash_serve(req, res, 1, "detection", "detect_settings", "Detection settings", build, html);
}

int detect_settings_api(struct http_request *req, struct http_response *res)
{
	return dash_serve(req, res, 0, NULL, NULL, NULL, build, NULL);
}

/* ---- saving ---- */

/* Splits text into a list of trimmed, non-empty lines. */
static json_t *lines_of(const char *p, size_t n)
{
	json_t *list = json_array();
	size_t i = 0;
	while (list && i < n) {
		size_t j = i;
		while (j < n && p[j] != '\n')
			j++;
		size_t a = i, b = j;
		while (a < b && (p[a] == ' ' || p[a] == '\t' || p[a] == '\r'))
			a++;
		while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t' || p[b - 1] == '\r'))
			b--;
		if (b > a && json_array_size(list) < LIST_LINES_MAX)
			json_array_append_new(list, json_stringn(p + a, b - a));
		i = j + 1;
	}
	return list;
}

/* The changes the form makes to cur. 0, or 1 with *bad_field / msg set. */
static int form_changes(const struct form *fm, json_t *cur, json_t *changes, const char **bad_field,
                        char *msg, size_t msglen)
{
	const char *k;
	json_t *v;
	struct str t;
	json_object_foreach(cur, k, v)
	{
		if (json_is_integer(v) || json_is_array(v)) {
			if (form_count(fm, k) != 1 || form_get(fm, k, 0, &t) < 0)
				continue;
			if (json_is_integer(v)) {
				int64_t n;
				if (parse_i64(t.p, t.n, INT64_MIN, INT64_MAX, &n) < 0) {
					*bad_field = k;
					snprintf(msg, msglen, "%s must be a whole number", k);
					return 1;
				}
				if (n != json_integer_value(v))
					json_object_set_new(changes, k, json_integer(n));
			} else {
				json_t *l = lines_of(t.p, t.n);
				if (l && !json_equal(l, v))
					json_object_set_new(changes, k, l);
				else
					json_decref(l);
			}
		} else if (json_is_object(v)) {
			const char *mk;
			json_t *mv;
			json_t *group = json_object();
			json_object_foreach(v, mk, mv)
			{
				char name[128];
				int64_t n;
				snprintf(name, sizeof(name), "%s.%s", k, mk);
				if (!json_is_integer(mv) || form_count(fm, name) != 1 ||
				    form_get(fm, name, 0, &t) < 0)
					continue;
				if (parse_i64(t.p, t.n, INT64_MIN, INT64_MAX, &n) < 0) {
					json_decref(group);
					*bad_field = k;
					snprintf(msg, msglen, "%s must be a whole number", name);
					return 1;
				}
				if (n != json_integer_value(mv))
					json_object_set_new(group, mk, json_integer(n));
			}
			if (json_object_size(group) > 0)
				json_object_set_new(changes, k, group);
			else
				json_decref(group);
		}
	}
	return 0;
}

/* Validates and stores changes in a write transaction with the audit entry. 0, 1 (msg),
 * -1. */
static int save(struct http_request *req, json_t *changes, char *msg, size_t msglen)
{
	struct store_tx *tx = NULL;
	if (json_object_size(changes) == 0)
		return 0;
	if (req_begin_ws(req, STORE_WRITE, &tx) < 0)
		return -1;
	int rc = detect_settings_set(tx, changes, msg, msglen);
	if (rc != 0) {
		store_rollback(tx);
		return rc;
	}
	json_t *keys = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(changes, k, v) json_array_append_new(keys, json_string(k));
	if (shell_audit(req, tx, "settings.changed", "detection", json_pack("{s:o}", "changed", keys)) < 0) {
		store_rollback(tx);
		return -1;
	}
	return store_commit(tx) < 0 ? -1 : 0;
}

/* Sets "error" on the field the message names (messages start with the field name). */
static void mark_error(json_t *form, const char *msg)
{
	size_t n = strcspn(msg, " :");
	json_t *all[3] = {json_object_get(form, "numbers"), json_object_get(form, "lists"), NULL};
	json_t *fields = json_array();
	size_t i, j;
	json_t *f, *g;
	for (int a = 0; a < 2; a++)
		json_array_foreach(all[a], i, f) json_array_append(fields, f);
	json_array_foreach(json_object_get(form, "groups"), i, g)
	    json_array_foreach(json_object_get(g, "fields"), j, f) json_array_append(fields, f);
	json_array_foreach(fields, i, f)
	{
		const char *name = json_string_value(json_object_get(f, "name"));
		if (name && strlen(name) == n && strncmp(name, msg, n) == 0)
			json_object_set_new(f, "field_error", json_string(msg));
	}
	json_decref(fields);
}

/* The current settings in a short read transaction (a new reference) or NULL. */
static json_t *current(struct http_request *req)
{
	struct store_tx *tx = NULL;
	if (req_begin_ws(req, STORE_READ, &tx) < 0)
		return NULL;
	json_t *s = detect_settings_get(tx);
	store_rollback(tx);
	return s;
}

int detect_settings_save(struct http_request *req, struct http_response *res)
{
	char msg[256] = "";
	const char *bad = NULL;
	if (!perm_allows(req->auth.role, PERM_DETECTION_SETTINGS))
		return http_reply_error(req, res, 403, "forbidden",
		                        "your role in this workspace does not allow this", NULL);
	if (!req->form)
		return http_reply_error(req, res, 400, "invalid_form", "a form body is required", NULL);
	json_t *cur = current(req);
	json_t *changes = json_object();
	if (!cur || !changes) {
		json_decref(cur), json_decref(changes);
		return req_db_error(req, res);
	}
	int rc = form_changes(req->form, cur, changes, &bad, msg, sizeof(msg));
	if (rc == 0)
		rc = save(req, changes, msg, sizeof(msg));
	json_decref(changes);
	if (rc < 0) {
		json_decref(cur);
		return req_db_error(req, res);
	}
	if (rc == 0) {
		json_decref(cur);
		char base[48], loc[96];
		shell_ws_href(req->auth.workspace_id, base, sizeof(base));
		snprintf(loc, sizeof(loc), "%s/settings/detection", base);
		return shell_redirect(req, res, loc, FLASH_DETECTION_SAVED);
	}
	/* re-render with what was typed and the message */
	json_t *ctx = shell_context(req, res, "detection");
	if (!ctx) {
		json_decref(cur);
		return req_db_error(req, res);
	}
	json_object_set_new(ctx, "settings", cur);
	json_t *form = fields_of(cur, req->form);
	mark_error(form, msg);
	json_object_set_new(ctx, "form", form);
	json_object_set_new(ctx, "can_edit", json_true());
	json_object_set_new(ctx, "error", json_string(msg));
	json_object_set_new(ctx, "title", json_string("Detection settings"));
	return shell_render(req, res, 400, "detect_settings", ctx);
}

int detect_settings_save_api(struct http_request *req, struct http_response *res)
{
	char msg[256] = "";
	json_t *doc = NULL;
	struct jsonin_error err = {0};
	req->wants_html = 0;
	if (!perm_allows(req->auth.role, PERM_DETECTION_SETTINGS))
		return http_reply_error(req, res, 403, "forbidden",
		                        "your role in this workspace does not allow this", NULL);
	if (jsonin_load(req->body.p, req->body.n, http_body_limit(BODY_JSON), &doc, &err) < 0)
		return http_reply_json(res, jsonin_error_status(&err), jsonin_error_json(&err));
	if (!json_is_object(doc)) {
		json_decref(doc);
		return http_reply_error(req, res, 400, "invalid_field", "settings must be an object", NULL);
	}
	int rc = save(req, doc, msg, sizeof(msg));
	json_decref(doc);
	if (rc < 0)
		return req_db_error(req, res);
	if (rc > 0)
		return http_reply_error(req, res, 400, "invalid_field", msg, NULL);
	json_t *s = current(req);
	if (!s)
		return req_db_error(req, res);
	return http_reply_json(res, 200, json_pack("{s:o}", "settings", s));
}
