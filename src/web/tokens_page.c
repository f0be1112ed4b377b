#include "web/tokens_page.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/api_token.h"
#include "auth/guard.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/parse.h"
#include "http/form.h"
#include "http/json.h"
#include "http/reqdb.h"
#include "web/permissions.h"
#include "web/shell.h"

#define MAX_WS_ID INT64_C(9007199254740991)

/* ---- shared: validation, create, revoke ---- */

/* Why a create request was refused: the HTTP status, the error code and field for the
 * API envelope, the form field and message for the page. */
struct refusal {
	int status;
	const char *code;
	const char *field; /* "name" or "role" */
	const char *message;
};

/* The least of the caller's role and admin: the most a new token may carry. */
static enum role max_token_role(const struct http_request *req)
{
	return req->auth.role < ROLE_ADMIN ? req->auth.role : ROLE_ADMIN;
}

static int check_create(const struct http_request *req, struct str name, struct str role_text,
                        enum role *role, struct refusal *why)
{
	*why = (struct refusal){400, "invalid_field", NULL, NULL};
	if (name.n == 0 || name.n > API_TOKEN_NAME_MAX ||
	    jsonin_text_check(name.p, name.n, JSONIN_NO_CTRL) != JSONIN_TEXT_OK) {
		why->field = "name";
		why->message = "give the token a name of 1 to 80 characters, without control characters";
		return -1;
	}
	*role = api_token_role_parse(role_text.p, role_text.n);
	if (*role == ROLE_NONE) {
		why->field = "role";
		why->message = "the role must be viewer, member or admin";
		return -1;
	}
	if (*role > max_token_role(req)) {
		*why = (struct refusal){403, "forbidden", "role",
		                        "a token's role cannot be above your own role"};
		return -1;
	}
	return 0;
}

/* Creates the token and its audit entry in one workspace transaction. 0, 1 (too many
 * live tokens) or -1 (store failure; out wiped). */
static int create_token(struct http_request *req, struct str name, enum role role, int64_t expires_days,
                        struct api_token_text *out, int64_t *id, char display[API_TOKEN_DISPLAY_CHARS + 1])
{
	struct store_tx *tx = NULL;
	int64_t live = 0, ws = req->auth.workspace_id, now = clock_now_ms();
	if (req_begin_ws(req, STORE_WRITE, &tx) < 0)
		return -1;
	if (store_query_i64(
	        tx,
	        "SELECT count(*) FROM api_tokens WHERE workspace_id = $1 AND revoked_at IS NULL AND "
	        "(expires_at IS NULL OR expires_at > $2)",
	        STORE_ARGS(SP_I64(now)), &live) < 0)
		goto fail;
	if (live >= LIMIT_API_TOKENS_LIVE) {
		store_rollback(tx);
		return 1;
	}
	int64_t expires_at = expires_days > 0 ? now + expires_days * INT64_C(86400000) : 0;
	if (api_token_create(tx, ws, req->auth.account_id, name.p, name.n, role, now, expires_at, out, id,
	                     display) < 0)
		goto fail;
	json_t *detail = json_pack("{s:s,s:s%,s:s}", "display_prefix", display, "name", name.p, name.n,
	                           "role", guard_role_name(role));
	if (detail && expires_days > 0)
		json_object_set_new(detail, "expires_days", json_integer(expires_days));
	if (shell_audit(req, tx, "apitoken.created", display, detail) < 0)
		goto fail;
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	return 0;
fail:
	api_token_wipe(out);
	store_rollback(tx);
	return -1;
}

/* Revokes :id of this workspace with its audit entry. 1 revoked, 0 no such live token,
 * -1 store failure. display gets the token's display prefix. */
static int revoke_token(struct http_request *req, int64_t id, char display[API_TOKEN_DISPLAY_CHARS + 1])
{
	struct store_tx *tx = NULL;
	if (req_begin_ws(req, STORE_WRITE, &tx) < 0)
		return -1;
	int rc = api_token_revoke(tx, req->auth.workspace_id, id, clock_now_ms(), display);
	if (rc != 1) {
		store_rollback(tx);
		return rc;
	}
	json_t *detail = json_pack("{s:s,s:I}", "display_prefix", display, "id", (json_int_t)id);
	if (shell_audit(req, tx, "apitoken.revoked", display, detail) < 0 || store_commit(tx) < 0) {
		store_rollback(tx);
		return -1;
	}
	return 1;
}

/* :id of the route, or 0 when it is not a valid id. */
static int64_t param_id(const struct http_request *req)
{
	struct str s = http_param(req, "id");
	int64_t id;
	return parse_i64(s.p, s.n, 1, MAX_WS_ID, &id) < 0 ? 0 : id;
}

/* The page and the JSON API refuse the same way a member whose role may not manage API
 * tokens: 0 allowed, -1 refused with the 403 written to res. */
static int refuse_unless_manager(struct http_request *req, struct http_response *res)
{
	if (perm_allows(req->auth.role, PERM_TOKENS_MANAGE))
		return 0;
	(void)http_reply_error(req, res, 403, "forbidden", "your role in this workspace does not allow this", NULL);
	return -1;
}

/* The revoke the page and the JSON API share: a member allowed to manage tokens revokes
 * the live token :id names. 0 revoked (*id and display set); -1 with the reply written to
 * res (403, 404 no such live token, or the database error) and the handler's return value
 * in *rc. */
static int revoke_or_reply(struct http_request *req, struct http_response *res, int64_t *id,
                           char display[API_TOKEN_DISPLAY_CHARS + 1], int *rc)
{
	*rc = 0;
	if (refuse_unless_manager(req, res) < 0)
		return -1;
	*id = param_id(req);
	int r = *id ? revoke_token(req, *id, display) : 0;
	if (r < 0)
		*rc = req_db_error(req, res);
	else if (r == 0)
		*rc = http_reply_error(req, res, 404, "not_found", "no such live API token in this workspace", NULL);
	return r == 1 ? 0 : -1;
}

/* The workspace's tokens (new reference) or NULL (store failure). */
static json_t *load_tokens(struct http_request *req)
{
	struct store_tx *tx = NULL;
	if (req_begin_ws(req, STORE_READ, &tx) < 0)
		return NULL;
	json_t *list = api_token_list(tx, req->auth.workspace_id, LIMIT_API_TOKENS_LISTED);
	store_rollback(tx);
	return list;
}

/* ---- page ---- */

static json_t *time_text(json_t *ms)
{
	char t[32], out[40];
	if (!json_is_integer(ms) || json_integer_value(ms) <= 0 ||
	    clock_format_ms(json_integer_value(ms), t, sizeof(t)) < 0)
		return json_string("");
	t[16] = '\0'; /* "2026-11-29T05:51" */
	t[10] = ' ';
	snprintf(out, sizeof(out), "%s UTC", t);
	return json_string(out);
}

struct page_extra {
	const char *new_token; /* shown once, wiped after rendering */
	const char *new_token_name;
	const char *revoked;         /* display prefix of a token just revoked */
	const struct refusal *error; /* a refused create */
	struct str form_name;
	enum role form_role;
};

static int render_page(struct http_request *req, struct http_response *res, int status,
                       const struct page_extra *x)
{
	json_t *ctx = shell_context(req, res, "tokens");
	if (!ctx)
		return req_db_error(req, res);
	json_t *list = load_tokens(req);
	if (!list) {
		json_decref(ctx);
		return req_db_error(req, res);
	}
	size_t i;
	json_t *t;
	json_array_foreach(list, i, t)
	{
		json_object_set_new(t, "created", time_text(json_object_get(t, "created_at")));
		json_object_set_new(t, "last_used", time_text(json_object_get(t, "last_used_at")));
		json_object_set_new(t, "revoked", time_text(json_object_get(t, "revoked_at")));
		json_object_set_new(t, "expires", time_text(json_object_get(t, "expires_at")));
		json_object_set_new(t, "live", json_boolean(json_is_null(json_object_get(t, "revoked_at"))));
	}
	json_object_set_new(ctx, "tokens", list);
	json_object_set_new(ctx, "has_tokens", json_boolean(json_array_size(list) > 0));
	json_object_set_new(ctx, "title", json_string("API tokens"));
	json_t *roles = json_array();
	enum role chosen = x && x->form_role != ROLE_NONE ? x->form_role : ROLE_VIEWER;
	for (enum role r = ROLE_VIEWER; r <= max_token_role(req); r++)
		json_array_append_new(
		    roles, json_pack("{s:s,s:b}", "name", guard_role_name(r), "selected", r == chosen));
	json_object_set_new(ctx, "token_roles", roles);
	json_object_set_new(ctx, "form",
	                    json_pack("{s:s%}", "name", x && x->form_name.p ? x->form_name.p : "",
	                              x && x->form_name.p ? x->form_name.n : 0));
	json_object_set_new(ctx, "name_max", json_integer(API_TOKEN_NAME_MAX));
	json_object_set_new(ctx, "days_max", json_integer(API_TOKEN_MAX_DAYS));
	if (x && x->error && x->error->field)
		shell_field_error(ctx, x->error->field, x->error->message);
	if (x && x->revoked)
		json_object_set_new(ctx, "revoked_prefix", json_string(x->revoked));
	if (x && x->new_token) {
		json_object_set_new(ctx, "new_token_name",
		                    json_string(x->new_token_name ? x->new_token_name : ""));
		return shell_render_secret(req, res, status, "tokens_settings", ctx, "new_token",
		                           x->new_token);
	}
	return shell_render(req, res, status, "tokens_settings", ctx);
}

int tokens_page(struct http_request *req, struct http_response *res)
{
	return render_page(req, res, 200, NULL);
}

struct create_form {
	struct str csrf, name, role;
	int64_t expires_days; /* 0 = never */
};

static const struct jsonin_field create_fields[] = {
    JSONIN_F_STR("_csrf", 0, 0, 128, struct create_form, csrf),
    JSONIN_F_STR("name", 0, 0, 4096, struct create_form, name),
    JSONIN_F_STR("role", 0, 0, 32, struct create_form, role),
    JSONIN_F_INT("expires_days", JSONIN_NULL_OK, 1, API_TOKEN_MAX_DAYS, struct create_form, expires_days),
};
static const struct jsonin_spec create_spec = JSONIN_SPEC(create_fields, JSONIN_STRICT);

int tokens_page_create(struct http_request *req, struct http_response *res)
{
	struct create_form f = {0};
	struct jsonin_error jerr = {0};
	struct refusal why;
	enum role role = ROLE_NONE;
	if (refuse_unless_manager(req, res) < 0)
		return 0;
	if (!req->form || form_bind(req->form, &create_spec, &f, sizeof(f), NULL, &jerr) < 0)
		return http_reply_error(req, res, 400, jerr.code ? jerr.code : "invalid_form",
		                        jerr.code ? jerr.message : "a form body is required", NULL);
	if (check_create(req, f.name, f.role, &role, &why) < 0) {
		struct page_extra x = {.error = &why, .form_name = f.name, .form_role = role};
		return render_page(req, res, why.status, &x);
	}
	struct api_token_text tok;
	char display[API_TOKEN_DISPLAY_CHARS + 1] = "";
	int64_t id = 0;
	int rc = create_token(req, f.name, role, f.expires_days, &tok, &id, display);
	if (rc < 0)
		return req_db_error(req, res);
	if (rc == 1) {
		struct refusal full = {409, "too_many_tokens", "name",
		                       "this workspace has as many live tokens as it may; revoke one first"};
		struct page_extra x = {.error = &full, .form_name = f.name, .form_role = role};
		return render_page(req, res, 409, &x);
	}
	char *name = strndup(f.name.p, f.name.n);
	struct page_extra x = {.new_token = tok.s, .new_token_name = name};
	rc = render_page(req, res, 200, &x);
	free(name);
	api_token_wipe(&tok);
	return rc;
}

int tokens_page_revoke(struct http_request *req, struct http_response *res)
{
	int64_t id = 0;
	char display[API_TOKEN_DISPLAY_CHARS + 1] = "";
	int rc = 0;
	if (revoke_or_reply(req, res, &id, display, &rc) < 0)
		return rc;
	struct page_extra x = {.revoked = display};
	return render_page(req, res, 200, &x);
}

/* ---- JSON API ---- */

static int refuse(struct http_request *req, struct http_response *res, const struct refusal *why)
{
	char ptr[16];
	snprintf(ptr, sizeof(ptr), "/%s", why->field ? why->field : "");
	return http_reply_error(req, res, why->status, why->code, why->message, why->field ? ptr : NULL);
}

int tokens_api_list(struct http_request *req, struct http_response *res)
{
	if (refuse_unless_manager(req, res) < 0)
		return 0;
	json_t *list = load_tokens(req);
	if (!list)
		return req_db_error(req, res);
	return http_reply_json(res, 200, json_pack("{s:o}", "tokens", list));
}

int tokens_api_create(struct http_request *req, struct http_response *res)
{
	struct create_form f = {0};
	struct jsonin_error jerr = {0};
	json_t *body = NULL;
	struct refusal why;
	enum role role = ROLE_NONE;
	if (refuse_unless_manager(req, res) < 0)
		return 0;
	if (req->form) {
		if (form_bind(req->form, &create_spec, &f, sizeof(f), NULL, &jerr) < 0)
			return http_reply_error(req, res, jsonin_error_status(&jerr), jerr.code, jerr.message,
			                        jerr.field[0] ? jerr.field : NULL);
	} else if (jsonin_load(req->body.p ? req->body.p : "", req->body.n, http_body_limit(BODY_JSON), &body,
	                       &jerr) < 0 ||
	           jsonin_bind(body, &create_spec, &f, sizeof(f), NULL, NULL, &jerr) < 0) {
		json_decref(body);
		return http_reply_error(req, res, jsonin_error_status(&jerr), jerr.code, jerr.message,
		                        jerr.field[0] ? jerr.field : NULL);
	}
	if (check_create(req, f.name, f.role, &role, &why) < 0) {
		json_decref(body);
		return refuse(req, res, &why);
	}
	struct api_token_text tok;
	char display[API_TOKEN_DISPLAY_CHARS + 1] = "";
	int64_t id = 0;
	int rc = create_token(req, f.name, role, f.expires_days, &tok, &id, display);
	if (rc != 0) {
		json_decref(body);
		if (rc < 0)
			return req_db_error(req, res);
		return http_reply_error(req, res, 409, "too_many_tokens",
		                        "this workspace has as many live tokens as it may; revoke one first",
		                        NULL);
	}
	json_t *secret = json_string(tok.s);
	int64_t now = clock_now_ms();
	json_t *out = json_pack(
	    "{s:I,s:s%,s:s,s:s,s:I,s:o,s:O}", "id", (json_int_t)id, "name", f.name.p, f.name.n, "role",
	    guard_role_name(role), "display_prefix", display, "created_at", (json_int_t)now, "expires_at",
	    f.expires_days > 0 ? json_integer(now + f.expires_days * INT64_C(86400000)) : json_null(),
	    "token", secret);
	json_decref(body);
	api_token_wipe(&tok);
	char *text = out ? json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(out);
	if (secret) {
		sodium_memzero((void *)json_string_value(secret), json_string_length(secret));
		json_decref(secret);
	}
	if (!text)
		return http_reply_error(req, res, 500, "internal", "out of memory", NULL);
	rc = http_reply_text(res, 201, "application/json", text, strlen(text));
	sodium_memzero(text, strlen(text));
	free(text);
	return rc;
}

int tokens_api_revoke(struct http_request *req, struct http_response *res)
{
	int64_t id = 0;
	char display[API_TOKEN_DISPLAY_CHARS + 1] = "";
	int rc = 0;
	if (revoke_or_reply(req, res, &id, display, &rc) < 0)
		return rc;
	return http_reply_json(res, 200, json_pack("{s:I,s:b}", "id", (json_int_t)id, "revoked", 1));
}

int tokens_api_whoami(struct http_request *req, struct http_response *res)
{
	return http_reply_json(res, 200,
	                       json_pack("{s:I,s:s,s:s}", "workspace_id", (json_int_t)req->auth.workspace_id,
	                                 "role", guard_role_name(req->auth.role), "via",
	                                 req->auth.api_token_id ? "token" : "session"));
}
