#include "web/shell.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "auth/guard.h"
#include "auth/session.h"
#include "cli/install.h"
#include "core/log.h"
#include "core/parse.h"
#include "http/form.h"
#include "http/reqdb.h"
#include "http/router.h"
#include "http/views.h"
#include "web/permissions.h"

#define FLASH_MAX_AGE_S 60
#define SHELL_MAX_WORKSPACES 200 /* listed in the switcher */

static const struct {
	const char *kind;
	const char *text;
} flash_table[FLASH_COUNT_] = {
    [FLASH_NONE] = {NULL, NULL},
    [FLASH_WS_CREATED] = {"ok", "Workspace created."},
    [FLASH_WS_SAVED] = {"ok", "Workspace settings saved."},
    [FLASH_WS_DELETED] = {"ok", "The workspace and all its data were deleted."},
    [FLASH_2FA_REQUIRED_ON] = {"ok", "Two-factor authentication is now required of every member."},
    [FLASH_2FA_REQUIRED_OFF] = {"ok", "Two-factor authentication is no longer required of members."},
    [FLASH_INVITE_SENT] = {"ok", "Invitation sent. It expires in 7 days."},
    [FLASH_INVITE_MAIL_FAILED] =
        {"error", "The invitation was saved but the e-mail could not be sent. Revoke it and try "
                  "again later, or check the mail settings."},
    [FLASH_INVITE_REVOKED] = {"ok", "Invitation revoked."},
    [FLASH_INVITE_ACCEPTED] = {"ok", "Welcome! You joined the workspace."},
    [FLASH_ROLE_CHANGED] = {"ok", "Role changed."},
    [FLASH_MEMBER_REMOVED] = {"ok", "Member removed."},
    [FLASH_LEFT_WORKSPACE] = {"ok", "You left the workspace."},
    [FLASH_ALREADY_MEMBER] = {"info", "You are already a member of this workspace."},
    [FLASH_SIGNED_IN] = {"ok", "Signed in."},
    [FLASH_SIGNED_OUT] = {"ok", "Signed out."},
    [FLASH_PASSWORD_CHANGED] = {"ok", "Password changed. Your other sessions were signed out."},
    [FLASH_EMAIL_CHANGE_SENT] = {"ok", "Check your new address for a confirmation link."},
    [FLASH_EMAIL_VERIFIED] = {"ok", "Your e-mail address is verified."},
    [FLASH_2FA_ENABLED] = {"ok", "Two-factor authentication is on."},
    [FLASH_2FA_DISABLED] = {"ok", "Two-factor authentication is off."},
    [FLASH_SESSION_REVOKED] = {"ok", "Session signed out."},
    [FLASH_SESSIONS_REVOKED] = {"ok", "Every other session was signed out."},
    [FLASH_SETTINGS_SAVED] = {"ok", "Settings saved."},
    [FLASH_SIGNAL_DISMISSED] = {"ok", "Signal dismissed. It stays dismissed while its condition holds."},
    [FLASH_NOTE_ADDED] = {"ok", "Note added."},
    [FLASH_DETECTION_SAVED] = {"ok", "Detection settings saved. They apply from the next detector pass."},
};

const char *shell_flash_text(enum shell_flash id)
{
	return (id > FLASH_NONE && id < FLASH_COUNT_) ? flash_table[id].text : NULL;
}

const char *shell_flash_kind(enum shell_flash id)
{
	return (id > FLASH_NONE && id < FLASH_COUNT_) ? flash_table[id].kind : NULL;
}

const char *shell_flash_cookie_name(const struct config *cfg)
{
	return cfg && cfg->base_url_https ? "__Host-dropfix_flash" : "dropfix_flash";
}

int shell_flash_set(struct http_request *req, struct http_response *res, enum shell_flash id)
{
	if (!shell_flash_text(id))
		return -1;
	char value[16], cookie[256];
	snprintf(value, sizeof(value), "%d", (int)id);
	if (session_cookie(req->cfg, shell_flash_cookie_name(req->cfg), value, FLASH_MAX_AGE_S, cookie,
	                   sizeof(cookie)) < 0)
		return -1;
	return http_set_header(res, "Set-Cookie", cookie);
}

int shell_redirect(struct http_request *req, struct http_response *res, const char *location,
                   enum shell_flash id)
{
	http_redirect(res, location);
	if (id != FLASH_NONE)
		shell_flash_set(req, res, id);
	return 0;
}

/* Reads and clears the flash cookie; the message id or FLASH_NONE. */
static enum shell_flash take_flash(struct http_request *req, struct http_response *res)
{
	const char *name = shell_flash_cookie_name(req->cfg);
	const char *v = http_cookie(req, name);
	if (!v)
		return FLASH_NONE;
	char cookie[256];
	if (session_cookie(req->cfg, name, "", 0, cookie, sizeof(cookie)) == 0)
		http_set_header(res, "Set-Cookie", cookie);
	int64_t id;
	if (parse_i64_cstr(v, 1, FLASH_COUNT_ - 1, &id) < 0)
		return FLASH_NONE;
	return (enum shell_flash)id;
}

void shell_ws_href(int64_t ws, char *out, size_t outlen)
{
	snprintf(out, outlen, "/w/%" PRId64, ws);
}

/* 1 when the route table answers method on path (so the shell links only to pages
 * that exist in this build). */
static int route_exists(enum http_method m, const char *path)
{
	struct http_request scratch;
	struct router_match match;
	memset(&scratch, 0, sizeof(scratch));
	return router_match(app_routes, app_routes_count, m, path, &scratch, &match) == 0;
}

static int nav_add(json_t *nav, const char *href, const char *label, int current)
{
	return json_array_append_new(
	    nav, json_pack("{s:s,s:s,s:b}", "href", href, "label", label, "current", current));
}

static json_t *text_col(struct store_rows *r, int col)
{
	size_t n = 0;
	const char *s = store_col_text(r, col, &n);
	json_t *j = s ? json_stringn(s, n) : NULL; /* NULL for invalid UTF-8 too */
	return j ? j : json_string("");
}

/* Loads account, workspace list and current workspace into ctx. 0 or -1 (store). */
static int load(struct http_request *req, struct store_tx *tx, json_t *ctx, int *staff_powers)
{
	struct store_rows *r = NULL;
	int64_t me = req->auth.account_id;
	if (store_query(tx,
	                "SELECT name, email, is_staff, totp_sealed IS NOT NULL FROM accounts WHERE id = $1",
	                STORE_ARGS(SP_I64(me)), &r) < 0)
		return -1;
	int st = store_step(r);
	if (st < 0)
		goto fail;
	if (st == 1) {
		*staff_powers = store_col_i64(r, 2) != 0 && store_col_i64(r, 3) != 0;
		json_object_set_new(ctx, "account",
		                    json_pack("{s:I,s:o,s:o,s:b}", "id", (json_int_t)me, "name",
		                              text_col(r, 0), "email", text_col(r, 1), "staff",
		                              *staff_powers));
	}
	store_rows_close(r);
	r = NULL;

	json_t *list = json_array();
	json_object_set_new(ctx, "workspaces", list);
	if (store_query(
	        tx,
	        "SELECT w.id, w.name, m.role FROM memberships m JOIN workspaces w ON w.id = m.workspace_id "
	        "WHERE m.account_id = $1 ORDER BY w.name, w.id LIMIT $2",
	        STORE_ARGS(SP_I64(me), SP_I64(SHELL_MAX_WORKSPACES)), &r) < 0)
		return -1;
	while ((st = store_step(r)) == 1) {
		int64_t id = store_col_i64(r, 0);
		char href[48];
		shell_ws_href(id, href, sizeof(href));
		json_array_append_new(list, json_pack("{s:I,s:o,s:o,s:s,s:b}", "id", (json_int_t)id, "name",
		                                      text_col(r, 1), "role", text_col(r, 2), "href", href,
		                                      "current", id == req->auth.workspace_id));
	}
	if (st < 0)
		goto fail;
	store_rows_close(r);
	r = NULL;

	int64_t ws = req->auth.workspace_id;
	if (ws > 0) {
		if (store_query(tx,
		                "SELECT name, product_name, timezone, currency, require_2fa FROM workspaces "
		                "WHERE id = $1",
		                STORE_ARGS(SP_I64(ws)), &r) < 0)
			return -1;
		st = store_step(r);
		if (st < 0)
			goto fail;
		if (st == 1) {
			char href[48];
			shell_ws_href(ws, href, sizeof(href));
			json_object_set_new(ctx, "ws",
			                    json_pack("{s:I,s:o,s:o,s:o,s:o,s:b,s:s,s:s}", "id",
			                              (json_int_t)ws, "name", text_col(r, 0), "product_name",
			                              text_col(r, 1), "timezone", text_col(r, 2), "currency",
			                              text_col(r, 3), "require_2fa", store_col_i64(r, 4) != 0,
			                              "role", guard_role_name(req->auth.role), "href", href));
		}
		store_rows_close(r);
	}
	return 0;
fail:
	store_rows_close(r);
	return -1;
}

json_t *shell_context(struct http_request *req, struct http_response *res, const char *active)
{
	json_t *ctx = json_object();
	struct store_tx *tx = NULL;
	int staff_powers = 0;
	if (!ctx)
		return NULL;
	const char *csrf = guard_csrf_token(req, res);
	json_object_set_new(ctx, "csrf", json_string(csrf ? csrf : ""));
	if (req_begin_global(req, STORE_READ, &tx) < 0)
		goto fail;
	if (load(req, tx, ctx, &staff_powers) < 0)
		goto fail;
	store_rollback(tx);
	tx = NULL;
	if (!active)
		active = "";

	int64_t ws = req->auth.workspace_id;
	if (ws > 0 && req->auth.role != ROLE_NONE) {
		char base[48], href[96];
		shell_ws_href(ws, base, sizeof(base));
		json_t *nav = json_array();
		json_object_set_new(ctx, "nav", nav);
		nav_add(nav, base, "Overview", strcmp(active, "home") == 0);
		snprintf(href, sizeof(href), "%s/users", base);
		if (route_exists(HTTP_GET, href))
			nav_add(nav, href, "Users", strcmp(active, "users") == 0);
		snprintf(href, sizeof(href), "%s/signals", base);
		if (route_exists(HTTP_GET, href))
			nav_add(nav, href, "Signals", strcmp(active, "signals") == 0);
		snprintf(href, sizeof(href), "%s/app-model", base);
		if (route_exists(HTTP_GET, href))
			nav_add(nav, href, "App model", strcmp(active, "appmodel") == 0);
		snprintf(href, sizeof(href), "%s/live", base);
		if (route_exists(HTTP_GET, href))
			nav_add(nav, href, "Live", strcmp(active, "live") == 0);
		snprintf(href, sizeof(href), "%s/install", base);
		nav_add(nav, href, "Install", strcmp(active, "install") == 0);
		snprintf(href, sizeof(href), "%s/settings", base);
		nav_add(nav, href, "Settings", strcmp(active, "settings") == 0);
		snprintf(href, sizeof(href), "%s/settings/detection", base);
		if (route_exists(HTTP_GET, href))
			nav_add(nav, href, "Detection", strcmp(active, "detection") == 0);
		snprintf(href, sizeof(href), "%s/settings/keys", base);
		nav_add(nav, href, "Keys", strcmp(active, "keys") == 0);
		snprintf(href, sizeof(href), "%s/settings/team", base);
		nav_add(nav, href, "Team", strcmp(active, "team") == 0);
		snprintf(href, sizeof(href), "%s/settings/tokens", base);
		if (perm_allows(req->auth.role, PERM_TOKENS_MANAGE) && route_exists(HTTP_GET, href))
			nav_add(nav, href, "API tokens", strcmp(active, "tokens") == 0);
		snprintf(href, sizeof(href), "%s/settings/audit", base);
		if (perm_allows(req->auth.role, PERM_AUDIT_VIEW) && route_exists(HTTP_GET, href))
			nav_add(nav, href, "Audit log", strcmp(active, "audit") == 0);
		json_t *can = json_object();
		for (size_t i = 0; i < perm_count; i++) {
			if (!perm_allows(req->auth.role, perm_table[i].perm))
				continue;
			char key[64];
			snprintf(key, sizeof(key), "%s", perm_table[i].id);
			for (char *p = key; *p; p++)
				if (*p == '.')
					*p = '_';
			json_object_set_new(can, key, json_true());
		}
		json_object_set_new(ctx, "can", can);
	}
	json_t *anav = json_array();
	json_object_set_new(ctx, "account_nav", anav);
	nav_add(anav, "/w", "Workspaces", strcmp(active, "workspaces") == 0);
	if (route_exists(HTTP_GET, "/account"))
		nav_add(anav, "/account", "Account", strcmp(active, "account") == 0);
	if (staff_powers)
		nav_add(anav, "/staff", "Operator", strcmp(active, "staff") == 0);
	if (route_exists(HTTP_POST, "/auth/logout"))
		json_object_set_new(ctx, "logout", json_string("/auth/logout"));

	enum shell_flash f = take_flash(req, res);
	if (f != FLASH_NONE)
		json_object_set_new(
		    ctx, "flash",
		    json_pack("{s:s,s:s}", "kind", shell_flash_kind(f), "text", shell_flash_text(f)));
	return ctx;
fail:
	store_rollback(tx);
	json_decref(ctx);
	return NULL;
}

int shell_render(struct http_request *req, struct http_response *res, int status, const char *name,
                 json_t *ctx)
{
	const struct tmpl_set *set = views();
	buf_reset(&res->body);
	if (!set || tmpl_render(set, name, ctx, &res->body) < 0) {
		log_json(LOG_ERROR, "page render failed",
		         json_pack("{s:s,s:s}", "template", name, "rid", req->request_id));
		buf_reset(&res->body);
		json_decref(ctx);
		return http_reply_error(req, res, 500, "internal", "the page could not be rendered", NULL);
	}
	json_decref(ctx);
	res->status = status;
	res->content_type = "text/html; charset=utf-8";
	return 0;
}

int shell_render_secret(struct http_request *req, struct http_response *res, int status, const char *name,
                        json_t *ctx, const char *key, const char *secret)
{
	json_t *copy = json_string(secret);
	if (copy)
		json_object_set(ctx, key, copy);
	int rc = shell_render(req, res, status, name, ctx);
	if (copy) {
		const char *v = json_string_value(copy);
		sodium_memzero((void *)v, json_string_length(copy));
		json_decref(copy);
	}
	return rc;
}

int shell_field_error(json_t *ctx, const char *field, const char *message)
{
	json_t *errs = json_object_get(ctx, "errors");
	if (!errs) {
		errs = json_object();
		if (json_object_set_new(ctx, "errors", errs) < 0)
			return -1;
	}
	json_object_set_new(ctx, "has_errors", json_true());
	return json_object_set_new(errs, field, json_string(message));
}

json_t *shell_form_value(const struct http_request *req, const char *field)
{
	struct str v;
	if (req->form && form_get(req->form, field, 0, &v) == 0)
		return json_stringn(v.p, v.n);
	return json_string("");
}

#define WS_MAX_PARAMS 16

static int ws_params(struct store_tx *tx, int64_t ws, const struct store_param *p, size_t n,
                     struct store_param *all, size_t *an)
{
	int64_t bound = store_tx_workspace(tx);
	if (n + 1 > WS_MAX_PARAMS || (bound && bound != ws)) {
		log_json(LOG_ERROR, "workspace statement on the wrong transaction",
		         json_pack("{s:I,s:I}", "ws", (json_int_t)ws, "bound", (json_int_t)bound));
		return -1;
	}
	size_t k = 0;
	if (!bound)
		all[k++] = SP_I64(ws);
	for (size_t i = 0; i < n; i++)
		all[k++] = p[i];
	*an = k;
	return 0;
}

int shell_ws_exec(struct store_tx *tx, int64_t ws, const char *sql, const struct store_param *p, size_t n)
{
	struct store_param all[WS_MAX_PARAMS];
	size_t an;
	if (ws_params(tx, ws, p, n, all, &an) < 0)
		return -1;
	return store_exec(tx, sql, all, an);
}

int shell_ws_query(struct store_tx *tx, int64_t ws, const char *sql, const struct store_param *p, size_t n,
                   struct store_rows **out)
{
	struct store_param all[WS_MAX_PARAMS];
	size_t an;
	if (ws_params(tx, ws, p, n, all, &an) < 0)
		return -1;
	return store_query(tx, sql, all, an, out);
}

static int audit_common(struct http_request *req, struct store_tx *tx, const char *action, const char *target,
                        int64_t ws, json_t *detail, int install)
{
	/* an action through an API token names the token (its creator is the actor) */
	if (req->auth.api_token_id && (detail || (detail = json_object())) && json_is_object(detail))
		json_object_set_new(detail, "via_api_token_id", json_integer(req->auth.api_token_id));
	char *text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
	json_decref(detail);
	if (detail && !text)
		return -1;
	struct audit_event e = {
	    .actor_kind = AUDIT_ACTOR_ACCOUNT,
	    .actor_id = req->auth.account_id,
	    .action = action,
	    .target = target,
	    .detail = text,
	    .ip = req->client_ip[0] ? req->client_ip : NULL,
	    .workspace_id = ws,
	};
	const struct keyring *kr = req->inst ? req->inst->keys : NULL;
	int rc = -1;
	if (kr)
		rc = install ? audit_append_install(tx, kr, &e) : audit_append_ws(tx, kr, &e);
	if (rc < 0)
		log_json(LOG_ERROR, "audit append failed",
		         json_pack("{s:s,s:s}", "action", action, "rid", req->request_id));
	free(text);
	return rc;
}

int shell_audit(struct http_request *req, struct store_tx *ws_tx, const char *action, const char *target,
                json_t *detail)
{
	return audit_common(req, ws_tx, action, target, 0, detail, 0);
}

int shell_audit_install(struct http_request *req, struct store_tx *global_tx, const char *action,
                        const char *target, int64_t ws, json_t *detail)
{
	return audit_common(req, global_tx, action, target, ws, detail, 1);
}

#ifdef DROPFIX_TEST_HOOKS
int shell_test_routes(struct http_request *req, struct http_response *res)
{
	(void)req;
	static const char *const auth_names[] = {"public", "metrics", "ingest", "session", "workspace"};
	static const struct {
		unsigned bit;
		const char *name;
	} methods[] = {{HTTP_GET, "GET"},     {HTTP_POST, "POST"},     {HTTP_PUT, "PUT"},
	               {HTTP_PATCH, "PATCH"}, {HTTP_DELETE, "DELETE"}, {HTTP_OPTIONS, "OPTIONS"}};
	json_t *list = json_array();
	for (size_t i = 0; i < app_routes_count; i++) {
		const struct route *r = &app_routes[i];
		for (size_t k = 0; k < sizeof(methods) / sizeof(methods[0]); k++) {
			if (!(r->methods & methods[k].bit))
				continue;
			json_array_append_new(
			    list, json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "method", methods[k].name, "pattern",
			                    r->pattern, "auth",
			                    (size_t)r->auth < 5 ? auth_names[r->auth] : "?", "min_role",
			                    r->min_role == ROLE_NONE ? "none" : guard_role_name(r->min_role),
			                    "no_csrf", (r->flags & ROUTE_NO_CSRF) != 0, "html",
			                    (r->flags & ROUTE_HTML) != 0));
		}
	}
	return http_reply_json(res, 200, json_pack("{s:o}", "routes", list));
}
#endif
