/* The dashboard shell: what every signed-in page shares — the account, the workspace
 * switcher, the navigation, the CSRF token for forms and the flash message — built into
 * one template context, and the page render that goes with it.
 *
 * Pages are templates that extend templates/shell_layout.html:
 *       {{<shell_layout}}
 *       {{$main}}<h1>{{ws.name}}</h1>…{{/main}}
 *       {{/shell_layout}}
 * and set the context key "title" (the <title> text before " · DropFix").
 *
 * Context keys the shell fills: csrf, account {id,name,email,staff},
 * workspaces [{id,name,role,href,current}], ws {id,name,product_name,timezone,currency,
 * role,href,require_2fa} on workspace pages, nav [{href,label,current}], account_nav
 * [{href,label,current}], logout (the sign-out form's action when that route exists),
 * flash {kind,text}, can {<permission id with '.' → '_'>: true…} for the caller's role.
 *
 * Flash messages: a short-lived cookie carries only the number of a message from the
 * fixed table in shell.c (never free text), so nothing a request sends can be echoed
 * as a message. The next shell page shows it and clears the cookie. */
#ifndef DROPFIX_SHELL_H
#define DROPFIX_SHELL_H

#include <jansson.h>

#include "http/http.h"
#include "store/store.h"

/* Message ids: append only (a cookie set by an older build keeps its meaning). */
enum shell_flash {
	FLASH_NONE = 0,
	FLASH_WS_CREATED,
	FLASH_WS_SAVED,
	FLASH_WS_DELETED,
	FLASH_2FA_REQUIRED_ON,
	FLASH_2FA_REQUIRED_OFF,
	FLASH_INVITE_SENT,
	FLASH_INVITE_MAIL_FAILED,
	FLASH_INVITE_REVOKED,
	FLASH_INVITE_ACCEPTED,
	FLASH_ROLE_CHANGED,
	FLASH_MEMBER_REMOVED,
	FLASH_LEFT_WORKSPACE,
	FLASH_ALREADY_MEMBER,
	FLASH_SIGNED_IN,
	FLASH_SIGNED_OUT,
	FLASH_PASSWORD_CHANGED,
	FLASH_EMAIL_CHANGE_SENT,
	FLASH_EMAIL_VERIFIED,
	FLASH_2FA_ENABLED,
	FLASH_2FA_DISABLED,
	FLASH_SESSION_REVOKED,
	FLASH_SESSIONS_REVOKED,
	FLASH_SETTINGS_SAVED,
	FLASH_SIGNAL_DISMISSED, /* dashboard (issue 6) */
	FLASH_NOTE_ADDED,
	FLASH_DETECTION_SAVED,
	FLASH_COUNT_
};

/* The text and kind ("ok", "info" or "error") of a message id; NULL for FLASH_NONE and
 * unknown ids. */
const char *shell_flash_text(enum shell_flash id);
const char *shell_flash_kind(enum shell_flash id);

/* The flash cookie's name ("__Host-dropfix_flash" over https, else "dropfix_flash"). */
const char *shell_flash_cookie_name(const struct config *cfg);
/* Sets the flash cookie on res (lives 60 s). Returns 0 or -1. */
int shell_flash_set(struct http_request *req, struct http_response *res, enum shell_flash id);
/* 303 to location (a path we built) with a flash message. Always returns 0. */
int shell_redirect(struct http_request *req, struct http_response *res, const char *location,
                   enum shell_flash id);

/* Builds the shell context for this request: reads the account, its workspaces and, on
 * a workspace route, the workspace in a short read transaction of its own (so the
 * caller must not hold one open on this thread's connection), and the flash cookie
 * (cleared on res). active names the current nav entry ("home", "settings", "keys",
 * "team", "workspaces", "staff"; may be NULL). Returns a new object (add the page's own
 * keys to it), or NULL after a store failure or out of memory (reply with
 * req_db_error). */
json_t *shell_context(struct http_request *req, struct http_response *res, const char *active)
    __attribute__((warn_unused_result));

/* Renders template name with ctx (ownership taken) as the response: status, HTML
 * content type. On a render failure answers 500. Always returns 0. */
int shell_render(struct http_request *req, struct http_response *res, int status, const char *name,
                 json_t *ctx);

/* shell_render for a page that shows a secret once: ctx[key] is set to a copy of
 * secret, and that copy is wiped once the page is rendered (the response body still
 * holds it until it is sent). Always returns 0. */
int shell_render_secret(struct http_request *req, struct http_response *res, int status, const char *name,
                        json_t *ctx, const char *key, const char *secret);

/* Adds an error message for form field `field` to ctx.errors (created when missing)
 * and sets ctx.has_errors. Returns 0 or -1. */
int shell_field_error(json_t *ctx, const char *field, const char *message);

/* A form value as a new JSON string (for re-displaying what was typed), "" when absent. */
json_t *shell_form_value(const struct http_request *req, const char *field);

/* The current workspace's href ("/w/<id>") into out. */
void shell_ws_href(int64_t ws, char *out, size_t outlen);

/* Statements about one workspace written with `$1` = its id and the caller's
 * parameters from `$2`: in a workspace transaction (of ws) the store binds `$1`; in a
 * global transaction these bind ws as `$1` themselves. At most 15 parameters. Return as
 * store_exec / store_query; -1 (logged) when tx is bound to another workspace. */
int shell_ws_exec(struct store_tx *tx, int64_t ws, const char *sql, const struct store_param *p, size_t n)
    __attribute__((warn_unused_result));
int shell_ws_query(struct store_tx *tx, int64_t ws, const char *sql, const struct store_param *p, size_t n,
                   struct store_rows **out) __attribute__((warn_unused_result));

/* Appends action by the signed-in account to the workspace log of ws_tx (a workspace
 * write transaction), with the client address. detail is a JSON object (reference
 * taken; NULL = {}). Returns 0 or -1 (invalid event: logged; or a store failure). */
int shell_audit(struct http_request *req, struct store_tx *ws_tx, const char *action, const char *target,
                json_t *detail) __attribute__((warn_unused_result));
/* Same for the installation log inside a global write transaction, about workspace ws
 * (0 = none). */
int shell_audit_install(struct http_request *req, struct store_tx *global_tx, const char *action,
                        const char *target, int64_t ws, json_t *detail) __attribute__((warn_unused_result));

#ifdef DROPFIX_TEST_HOOKS
/* GET /__test/routes (test builds): the route table as JSON
 * [{"method":"POST","pattern":"/w/:ws/settings","auth":"workspace","min_role":"admin",
 *   "no_csrf":false}, …] (GET routes are listed once, without HEAD). */
int shell_test_routes(struct http_request *req, struct http_response *res);
#endif

#endif
