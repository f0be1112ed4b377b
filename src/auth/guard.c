#include "auth/guard.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth/api_token.h"
#include "auth/session.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/parse.h"
#include "http/form.h"
#include "http/reqdb.h"
#include "http/router.h"

#define CSRF_FIELD "_csrf"
#define CSRF_HEADER "X-CSRF-Token"

static const char *const role_names[] = {"", "viewer", "member", "admin", "owner"};

enum role guard_role_parse(const char *s, size_t n)
{
	for (int r = ROLE_VIEWER; r <= ROLE_OWNER; r++)
		if (strlen(role_names[r]) == n && memcmp(role_names[r], s, n) == 0)
			return (enum role)r;
	return ROLE_NONE;
}

const char *guard_role_name(enum role r)
{
	return (r >= ROLE_VIEWER && r <= ROLE_OWNER) ? role_names[r] : "";
}

static int state_changing(const struct http_request *req)
{
	return !(req->method & (HTTP_GET | HTTP_HEAD | HTTP_OPTIONS));
}

/* The token a state-changing request carries: the form field, else the header. */
static const char *submitted_token(struct http_request *req)
{
	if (req->form) {
		struct str v;
		if (form_count(req->form, CSRF_FIELD) == 1 && form_get(req->form, CSRF_FIELD, 0, &v) == 0)
			return arena_strndup(req->arena, v.p, v.n);
	}
	return http_header(req, CSRF_HEADER);
}

/* Origin / Sec-Fetch-Site: a browser that says where the request came from must say
 * "this site". Requests without either header fall back to the token alone. Under our
 * Referrer-Policy: no-referrer, browsers send "Origin: null" with a same-origin form POST
 * (chromium does; the e2e tests meet it), so "null" passes only beside
 * Sec-Fetch-Site: same-origin, which pages cannot forge. */
static int same_origin(const struct http_request *req)
{
	const char *site = http_header(req, "Sec-Fetch-Site");
	if (site && strcmp(site, "same-origin") != 0)
		return 0;
	const char *origin = http_header(req, "Origin");
	if (origin && site && strcmp(origin, "null") == 0)
		return 1;
	if (origin) {
		char mine[320];
		if (http_request_origin(req, mine, sizeof(mine)) < 0 || strcmp(origin, mine) != 0)
			return 0;
	}
	return 1;
}

static int refuse_csrf(struct http_request *req, struct http_response *res)
{
	http_reply_error(req, res, 403, "csrf",
			 "this form is out of date or came from another site; reload the page and try again", NULL);
	return -1;
}

const char *guard_anon_csrf(struct http_request *req, struct http_response *res)
{
	const char *name = session_csrf_cookie_name(req->cfg);
	const char *have = http_cookie(req, name);
	if (have && strlen(have) == SESSION_TOKEN_CHARS) {
		snprintf(req->auth.csrf, sizeof(req->auth.csrf), "%s", have);
		return req->auth.csrf;
	}
	session_random_token(req->auth.csrf);
	char cookie[256];
	if (session_cookie(req->cfg, name, req->auth.csrf, 12 * 3600, cookie, sizeof(cookie)) == 0)
		http_set_header(res, "Set-Cookie", cookie);
	return req->auth.csrf;
}

const char *guard_csrf_token(struct http_request *req, struct http_response *res)
{
	if (req->auth.api_token_id)
		return ""; /* token requests have no forms and get no cookie */
	if (req->auth.account_id && req->auth.csrf[0])
		return req->auth.csrf;
	return guard_anon_csrf(req, res);
}

/* AUTH_PUBLIC state changes (sign-in, sign-up, reset…): double-submit cookie + origin. */
static int guard_public_form(struct http_request *req, struct http_response *res)
{
	const char *cookie = http_cookie(req, session_csrf_cookie_name(req->cfg));
	const char *sent = submitted_token(req);
	if (!cookie || !sent || !session_token_eq(cookie, sent) || !same_origin(req))
		return refuse_csrf(req, res);
	snprintf(req->auth.csrf, sizeof(req->auth.csrf), "%s", cookie);
	return 0;
}

/* 1 on the JSON API (/api/v1/w/…): API responses set no cookies, and only there does a
 * bearer token authenticate. */
static int api_route(const struct http_request *req)
{
	return req->route && strncmp(req->route->pattern, "/api/v1/w/", 10) == 0;
}

static int refuse_unauthenticated(struct http_request *req, struct http_response *res, int clear_cookie)
{
	if (clear_cookie && !api_route(req)) {
		char cookie[256];
		if (session_cookie(req->cfg, session_cookie_name(req->cfg), "", 0, cookie, sizeof(cookie)) == 0)
			http_set_header(res, "Set-Cookie", cookie);
	}
	if (req->wants_html && (req->method & (HTTP_GET | HTTP_HEAD))) {
		struct buf loc;
		buf_init(&loc, 2048);
		buf_puts(&loc, "/auth/login");
		if (http_safe_return_path(req->path)) {
			buf_puts(&loc, "?next=");
			for (const char *p = req->path; *p; p++) {
				unsigned char c = (unsigned char)*p;
				if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
				    c == '-' || c == '_' || c == '.')
					buf_putc(&loc, (char)c);
				else
					buf_printf(&loc, "%%%02X", c);
			}
		}
		http_redirect(res, loc.oom ? "/auth/login" : loc.p);
		buf_free(&loc);
		return -1;
	}
	http_reply_error(req, res, 401, "unauthenticated", "sign in first", NULL);
	return -1;
}

/* Session touch and rotation: the router's own bookkeeping, allowed on GET too. */
static int session_bookkeeping(struct http_request *req, struct http_response *res, const struct session_info *si,
			       int64_t now)
{
	/* rotation sets a cookie: left to the next page request, never an API response */
	int rotate = si->is_current && now - si->rotated_at >= SESSION_ROTATE_MS && !api_route(req);
	int touch = now - si->last_seen_at >= SESSION_TOUCH_MS;
	if (!rotate && !touch)
		return 0;
	struct store_conn *c = req_conn(req);
	struct store_tx *tx = NULL;
	struct session_token tok;
	if (!c || store_begin_global(c, STORE_WRITE, &tx) < 0)
		return -1;
	int rc = rotate ? session_rotate(tx, si->id, -1, &tok) : session_touch(tx, si->id, now);
	if (rc < 0 || store_commit(tx) < 0) {
		store_rollback(tx);
		return -1;
	}
	if (rotate) {
		char cookie[256];
		int64_t max_age = (si->expires_at - now) / 1000;
		if (session_cookie(req->cfg, session_cookie_name(req->cfg), tok.text, max_age, cookie, sizeof(cookie)) == 0)
			http_set_header(res, "Set-Cookie", cookie);
	}
	sodium_memzero(&tok, sizeof(tok));
	return 0;
}

static int guard_session(struct http_request *req, struct http_response *res)
{
	const char *token = http_cookie(req, session_cookie_name(req->cfg));
	if (!token)
		return refuse_unauthenticated(req, res, 0);
	struct store_tx *tx = NULL;
	struct session_info si;
	int64_t now = clock_now_ms();
	if (req_begin_global(req, STORE_READ, &tx) < 0) {
		req_db_error(req, res);
		return -1;
	}
	int found = session_lookup(tx, token, now, &si);
	store_rollback(tx);
	if (found < 0) {
		req_db_error(req, res);
		return -1;
	}
	if (found == 0)
		return refuse_unauthenticated(req, res, 1);
	if (si.stage != SESSION_FULL && !(req->route->flags & ROUTE_2FA_PENDING)) {
		if (req->wants_html && (req->method & (HTTP_GET | HTTP_HEAD))) {
			http_redirect(res, "/auth/2fa");
			return -1;
		}
		http_reply_error(req, res, 401, "second_factor_required", "enter your authentication code first", NULL);
		return -1;
	}
	if (state_changing(req)) {
		const char *sent = submitted_token(req);
		if (!sent || !session_token_eq(sent, si.csrf) || !same_origin(req))
			return refuse_csrf(req, res);
	}
	if (session_bookkeeping(req, res, &si, now) < 0)
		log_json(LOG_WARN, "session bookkeeping failed", json_pack("{s:s}", "rid", req->request_id));
	req->auth.account_id = si.account_id;
	req->auth.session_id = si.id;
	req->auth.stage = si.stage;
	req->auth.is_staff = si.is_staff;
	req->auth.has_2fa = si.has_2fa;
	snprintf(req->auth.csrf, sizeof(req->auth.csrf), "%s", si.csrf);
	return 0;
}

/* The bearer token of a JSON API request that carries no session cookie, or NULL (a
 * cookie request is a browser's: it goes through the session and CSRF gate, bearer or
 * not; a bearer token elsewhere than /api/v1/w/ is ignored). */
static const char *bearer_token(const struct http_request *req)
{
	if (!api_route(req) || http_cookie(req, session_cookie_name(req->cfg)))
		return NULL;
	const char *h = http_header(req, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	for (h += 7; *h == ' '; h++)
		;
	return h;
}

static int refuse_token(struct http_request *req, struct http_response *res)
{
	api_token_attempt_failed(req->client_ip);
	http_reply_error(req, res, 401, "invalid_token", "the API token is unknown, revoked or expired", NULL);
	http_set_header(res, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
	return -1;
}

/* last_used_at, at most once per API_TOKEN_TOUCH_MS: router bookkeeping like the
 * session touch, so it is written outside the handler's (read-only on GET) transaction. */
static void token_bookkeeping(struct http_request *req, const struct api_token_auth *t, int64_t now)
{
	if (t->last_used_at && now - t->last_used_at < API_TOKEN_TOUCH_MS)
		return;
	struct store_conn *c = req_conn(req);
	struct store_tx *tx = NULL;
	if (!c || store_begin_global(c, STORE_WRITE, &tx) < 0 || api_token_touch(tx, t->id, now) < 0 ||
	    store_commit(tx) < 0) {
		store_rollback(tx);
		log_json(LOG_WARN, "api token bookkeeping failed", json_pack("{s:s}", "rid", req->request_id));
	}
}

/* AUTH_WORKSPACE by API token: the token's workspace must be :ws (else 404, as for a
 * non-member), its role (never above its creator's) must reach the route's least role.
 * No CSRF: the token is never sent by a browser on its own. */
static int guard_token(struct http_request *req, struct http_response *res, const char *token, int64_t ws)
{
	int64_t retry = 0;
	if (!api_token_attempt_allowed(req->client_ip, &retry)) {
		char ra[24];
		snprintf(ra, sizeof(ra), "%lld", (long long)retry);
		http_reply_error(req, res, 429, "rate_limited", "too many requests with a bad API token; try again later",
				 NULL);
		http_set_header(res, "Retry-After", ra);
		return -1;
	}
	struct store_tx *tx = NULL;
	struct api_token_auth t;
	int64_t now = clock_now_ms();
	if (req_begin_global(req, STORE_READ, &tx) < 0) {
		req_db_error(req, res);
		return -1;
	}
	int found = api_token_lookup(tx, token, strlen(token), now, &t);
	store_rollback(tx);
	if (found < 0) {
		req_db_error(req, res);
		return -1;
	}
	if (found == 0)
		return refuse_token(req, res);
	if (ws != t.workspace_id) {
		http_reply_error(req, res, 404, "not_found", "no such workspace", NULL);
		return -1;
	}
	if (t.require_2fa && !t.creator_has_2fa) {
		http_reply_error(req, res, 403, "2fa_required",
				 "this workspace requires two-factor authentication of the token's creator", NULL);
		return -1;
	}
	if (t.role < req->route->min_role) {
		http_reply_error(req, res, 403, "forbidden", "this API token's role does not allow this", NULL);
		return -1;
	}
	token_bookkeeping(req, &t, now);
	req->auth.account_id = t.account_id;
	req->auth.session_id = 0;
	req->auth.stage = SESSION_FULL;
	req->auth.is_staff = 0; /* operator powers never travel in a token */
	req->auth.has_2fa = t.creator_has_2fa;
	req->auth.workspace_id = t.workspace_id;
	req->auth.role = t.role;
	req->auth.api_token_id = t.id;
	req->auth.csrf[0] = '\0';
	return 0;
}

static int guard_workspace(struct http_request *req, struct http_response *res)
{
	struct str ws = http_param(req, "ws");
	int64_t id;
	const char *token = bearer_token(req);
	if (token) {
		if (parse_i64(ws.p, ws.n, 1, INT64_C(9007199254740991), &id) < 0)
			id = 0; /* still checked: a bad token is 401 whatever the path says */
		return guard_token(req, res, token, id);
	}
	if (guard_session(req, res) < 0)
		return -1;
	if (parse_i64(ws.p, ws.n, 1, INT64_C(9007199254740991), &id) < 0) {
		http_reply_error(req, res, 404, "not_found", "no such workspace", NULL);
		return -1;
	}
	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	if (req_begin_global(req, STORE_READ, &tx) < 0 ||
	    store_query(tx,
			"SELECT m.role, w.require_2fa FROM memberships m JOIN workspaces w ON w.id = m.workspace_id "
			"WHERE m.workspace_id = $1 AND m.account_id = $2",
			STORE_ARGS(SP_I64(id), SP_I64(req->auth.account_id)), &r) < 0) {
		store_rollback(tx);
		req_db_error(req, res);
		return -1;
	}
	int st = store_step(r);
	enum role role = ROLE_NONE;
	int require_2fa = 0;
	if (st == 1) {
		size_t n = 0;
		const char *name = store_col_text(r, 0, &n);
		role = name ? guard_role_parse(name, n) : ROLE_NONE;
		require_2fa = store_col_i64(r, 1) != 0;
	}
	store_rows_close(r);
	store_rollback(tx);
	if (st < 0) {
		req_db_error(req, res);
		return -1;
	}
	if (role == ROLE_NONE) {
		http_reply_error(req, res, 404, "not_found", "no such workspace", NULL);
		return -1;
	}
	if (require_2fa && !req->auth.has_2fa) {
		http_reply_error(req, res, 403, "2fa_required",
				 "this workspace requires two-factor authentication: turn it on in your account settings", NULL);
		return -1;
	}
	if (role < req->route->min_role) {
		http_reply_error(req, res, 403, "forbidden", "your role in this workspace does not allow this", NULL);
		return -1;
	}
	req->auth.workspace_id = id;
	req->auth.role = role;
	return 0;
}

void guard_install(void)
{
	router_set_auth(AUTH_PUBLIC, guard_public_form);
	router_set_auth(AUTH_SESSION, guard_session);
	router_set_auth(AUTH_WORKSPACE, guard_workspace);
}
