/* Handlers for the pages under /auth and the start page, and the helpers account_pages.c shares. */
#include "auth/auth_pages.h"

#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "auth/account.h"
#include "auth/auth_mail.h"
#include "auth/guard.h"
#include "auth/password.h"
#include "auth/throttle.h"
#include "cli/install.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/parse.h"
#include "http/form.h"
#include "http/reqdb.h"
#include "http/views.h"
#include "mail/mail.h"
#include "web/keys_pages.h"
#include "web/workspace_pages.h"

#define BIND_MAX 8
#define VERIFY_RESEND_MS (INT64_C(10) * 60 * 1000) /* unverified sign-in: at most one new link per 10 min */
#define RESET_MAIL_WINDOW_MS (INT64_C(3600) * 1000)
#define BUSY_RETRY_S 5

/* ---- shared helpers ---- */

static pthread_once_t throttle_once = PTHREAD_ONCE_INIT;
static struct throttle *throttle_table;

static void throttle_init_once(void)
{
	throttle_table = throttle_new(LIMIT_THROTTLE_KEYS);
	if (!throttle_table)
		log_json(LOG_ERROR, "sign-in throttle table could not be allocated", NULL);
}

struct throttle *auth_page_throttle(void)
{
	pthread_once(&throttle_once, throttle_init_once);
	return throttle_table;
}

/* Throttle wrappers that fail closed when the table could not be made. */
static int limit_take(const char *key, int limit, int64_t window_ms, int64_t *retry)
{
	struct throttle *t = auth_page_throttle();
	if (!t) {
		*retry = 60;
		return 0;
	}
	return throttle_take(t, key, strlen(key), limit, window_ms, clock_now_ms(), retry);
}

static int limit_check(const char *key, int limit, int64_t *retry)
{
	struct throttle *t = auth_page_throttle();
	if (!t) {
		*retry = 60;
		return 0;
	}
	return throttle_check(t, key, strlen(key), limit, clock_now_ms(), retry);
}

static int limit_hit(const char *key, int64_t window_ms)
{
	struct throttle *t = auth_page_throttle();
	return t ? throttle_hit(t, key, strlen(key), window_ms, clock_now_ms()) : 0;
}

static void limit_reset(const char *key)
{
	struct throttle *t = auth_page_throttle();
	if (t)
		throttle_reset(t, key, strlen(key));
}

static int email_limit(const struct http_request *req)
{
	return req->cfg->signin_limit_email > 0 ? req->cfg->signin_limit_email : LIMIT_SIGNIN_EMAIL_DEFAULT;
}

static int ip_limit(const struct http_request *req)
{
	return req->cfg->signin_limit_ip > 0 ? req->cfg->signin_limit_ip : LIMIT_SIGNIN_IP_DEFAULT;
}

const char *auth_page_cstr(struct http_request *req, struct str s)
{
	char *c = arena_strndup(req->arena, s.p ? s.p : "", s.p ? s.n : 0);
	return c ? c : "";
}

/* json string from s, or "" when s is not valid text. */
static json_t *jstr(struct str s)
{
	json_t *v = s.n ? json_stringn(s.p, s.n) : NULL;
	return v ? v : json_string("");
}

int auth_page_render(struct http_request *req, struct http_response *res, int status, const char *name,
                     json_t *ctx)
{
	if (!ctx)
		ctx = json_object();
	if (!ctx)
		return http_reply_error(req, res, 503, "unavailable", "out of memory", NULL);
	json_object_set_new(ctx, "csrf", json_string(guard_csrf_token(req, res)));
	json_object_set_new(ctx, "signed_in",
	                    json_boolean(req->auth.account_id && req->auth.stage == SESSION_FULL));
	buf_reset(&res->body);
	int rc = views() ? tmpl_render(views(), name, ctx, &res->body) : -1;
	json_decref(ctx);
	if (rc < 0 || res->body.oom) {
		buf_reset(&res->body);
		res->body.oom = 0;
		log_json(LOG_ERROR, "page render failed",
		         json_pack("{s:s, s:s}", "template", name, "rid", req->request_id));
		return http_reply_error(req, res, 500, "internal", "the page could not be rendered", NULL);
	}
	res->status = status;
	res->content_type = "text/html; charset=utf-8";
	return 0;
}

void auth_page_field(json_t *ctx, const char *name, const char *label, const char *type,
                     const char *autocomplete, struct str value, const char *error)
{
	json_t *fields = json_object_get(ctx, "fields");
	if (!fields) {
		fields = json_object();
		json_object_set_new(ctx, "fields", fields);
	}
	char id[96];
	snprintf(id, sizeof(id), "f-%s", name);
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s}", "id", id, "name", name, "label", label,
	                      "type", type, "autocomplete", autocomplete ? autocomplete : "off", "value",
	                      value.p ? jstr(value) : json_string(""), "error", error ? error : "");
	if (f)
		json_object_set_new(fields, name, f);
	if (error)
		json_object_set_new(ctx, "has_errors", json_true());
}

int auth_page_bind(struct http_request *req, struct http_response *res, const char *const *names, size_t n,
                   struct str *out)
{
	struct jsonin_field spec_fields[BIND_MAX + 1];
	if (n > BIND_MAX)
		return http_reply_error(req, res, 500, "internal", "form spec too large", NULL), -1;
	for (size_t i = 0; i < n; i++) {
		out[i] = (struct str){"", 0};
		spec_fields[i] = (struct jsonin_field){
		    names[i],          JSONIN_STRING, 0, 0, LIMIT_FORM_VALUE, i * sizeof(struct str),
		    sizeof(struct str)};
	}
	spec_fields[n] =
	    (struct jsonin_field){"_csrf", JSONIN_STRING, 0, 0, LIMIT_FORM_VALUE, JSONIN_NO_OUT, 0};
	if (!req->form)
		return 0;
	struct jsonin_spec spec = {spec_fields, n + 1, JSONIN_STRICT};
	struct jsonin_error err = {0};
	if (form_bind(req->form, &spec, out, n * sizeof(struct str), NULL, &err) < 0) {
		http_reply_error(req, res, jsonin_error_status(&err), err.code, err.message,
		                 err.field[0] ? err.field : NULL);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!out[i].p)
			out[i] = (struct str){"", 0};
	return 0;
}

void auth_page_retry_after(struct http_response *res, int64_t seconds)
{
	char v[24];
	snprintf(v, sizeof(v), "%" PRId64, seconds < 1 ? 1 : seconds);
	http_set_header(res, "Retry-After", v);
}

void auth_page_session_cookie(struct http_request *req, struct http_response *res, const char *token)
{
	char cookie[256];
	if (session_cookie(req->cfg, session_cookie_name(req->cfg), token ? token : "",
	                   token ? SESSION_ABSOLUTE_MS / 1000 : 0, cookie, sizeof(cookie)) == 0)
		http_set_header(res, "Set-Cookie", cookie);
}

int auth_page_audit(struct store_tx *tx, struct http_request *req, int64_t account_id, const char *action,
                    const char *target, const char *detail)
{
	if (!req->inst || !req->inst->keys)
		return 0;
	struct audit_event e = {.actor_kind = account_id ? AUDIT_ACTOR_ACCOUNT : AUDIT_ACTOR_SYSTEM,
	                        .actor_id = account_id,
	                        .action = action,
	                        .target = target,
	                        .detail = detail,
	                        .ip = req->client_ip};
	if (audit_append_install(tx, req->inst->keys, &e) < 0) {
		log_json(LOG_ERROR, "audit append failed",
		         json_pack("{s:s, s:s}", "action", action, "rid", req->request_id));
		return -1;
	}
	return 0;
}

#define AUDIT_WS_MAX 100

void auth_page_audit_ws(struct http_request *req, int64_t account_id, const char *action, const char *target)
{
	if (!req->inst || !req->inst->keys || !account_id)
		return;
	int64_t ids[AUDIT_WS_MAX];
	size_t n = 0;
	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	struct store_conn *c = req_conn(req);
	if (!c || store_begin_global(c, STORE_READ, &tx) < 0)
		goto fail;
	if (store_query(
	        tx,
	        "SELECT workspace_id FROM memberships WHERE account_id = $1 ORDER BY workspace_id LIMIT 100",
	        STORE_ARGS(SP_I64(account_id)), &r) < 0)
		goto fail;
	int st;
	while ((st = store_step(r)) == 1 && n < AUDIT_WS_MAX)
		ids[n++] = store_col_i64(r, 0);
	store_rows_close(r);
	r = NULL;
	store_rollback(tx);
	tx = NULL;
	if (st < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		struct audit_event e = {.actor_kind = AUDIT_ACTOR_ACCOUNT,
		                        .actor_id = account_id,
		                        .action = action,
		                        .target = target,
		                        .ip = req->client_ip};
		if (store_begin_ws(c, ids[i], STORE_WRITE, &tx) < 0 ||
		    audit_append_ws(tx, req->inst->keys, &e) < 0 || store_commit(tx) < 0) {
			store_rollback(tx);
			tx = NULL;
			log_json(
			    LOG_WARN, "workspace audit append failed",
			    json_pack("{s:s, s:I}", "action", action, "workspace_id", (json_int_t)ids[i]));
			continue;
		}
		tx = NULL;
	}
	return;
fail:
	store_rows_close(r);
	store_rollback(tx);
	log_json(LOG_WARN, "workspace audit: memberships not read", json_pack("{s:s}", "action", action));
}

int auth_page_notify(struct http_request *req, const char *to, const char *name, const char *subject,
                     const char *heading, const char *const *paragraphs, size_t n_paragraphs,
                     const char *action_label, const char *path, const char *token)
{
	struct buf url;
	buf_init(&url, 4096);
	struct mail_notice n = {.heading = heading,
	                        .paragraphs = paragraphs,
	                        .n_paragraphs = n_paragraphs,
	                        .footer = "You get this e-mail because of activity on your DropFix account."};
	if (path) {
		/* Links come only from DROPFIX_BASE_URL, never from the request's Host. */
		buf_printf(&url, "%s%s%s", req->cfg->base_url ? req->cfg->base_url : "", path,
		           token ? token : "");
		if (url.oom) {
			buf_free(&url);
			return -1;
		}
		n.action_label = action_label;
		n.action_url = url.p;
	}
	int rc = auth_mail_queue(req->cfg, to, name, subject, &n);
	if (url.p)
		sodium_memzero(url.p, url.n);
	buf_free(&url);
	return rc;
}

/* 1 when s (spaces ignored) is six digits: a TOTP code rather than a recovery code. */
static int looks_like_totp(struct str s)
{
	int digits = 0;
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i] == ' ')
			continue;
		if (s.p[i] < '0' || s.p[i] > '9')
			return 0;
		digits++;
	}
	return digits == TOTP_DIGITS;
}

int auth_page_second_factor(struct store_tx *tx, const struct keyring *kr, int64_t account_id,
                            struct str code, int *via_recovery)
{
	*via_recovery = 0;
	if (code.n == 0 || code.n > LIMIT_RECOVERY_INPUT)
		return 0;
	if (!looks_like_totp(code)) {
		int used = account_recovery_use(tx, account_id, code.p, code.n);
		if (used == 1)
			*via_recovery = 1;
		return used;
	}
	uint8_t secret[TOTP_SECRET_BYTES];
	int64_t last = TOTP_NO_STEP, step = 0;
	int have = account_totp_load(tx, kr, account_id, secret, &last);
	if (have <= 0)
		return have;
	enum totp_verdict v = totp_verify(secret, code.p, code.n, last, &step);
	sodium_memzero(secret, sizeof(secret));
	if (v != TOTP_ACCEPTED)
		return v == TOTP_ERROR ? -1 : 0;
	return account_totp_record_step(tx, account_id, step);
}

/* Appends s percent-encoded (everything but unreserved characters and '/'). */
static void url_encode(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
		    c == '-' || c == '_' || c == '.' || c == '~')
			buf_putc(b, (char)c);
		else
			buf_printf(b, "%%%02X", c);
	}
}

/* The `next` return path of the request (form value, else query), or "" when absent or
 * not a safe relative path. */
static const char *next_path(struct http_request *req, struct str form_value)
{
	const char *v = form_value.n ? auth_page_cstr(req, form_value) : http_query(req, "next");
	if (!v || !http_safe_return_path(v) ||
	    jsonin_text_check(v, strlen(v), JSONIN_NO_CTRL) != JSONIN_TEXT_OK)
		return "";
	return v;
}

/* A token from the query string, or NULL when absent or malformed. */
static const char *query_token(struct http_request *req, const char *name)
{
	const char *v = http_query(req, name);
	if (!v || strlen(v) > LIMIT_AUTH_TOKEN_INPUT)
		return NULL;
	for (const char *p = v; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_'))
			return NULL;
	return v;
}

/* Same check for a token typed or posted in a form field. */
static int token_text_ok(struct str s)
{
	if (s.n == 0 || s.n > LIMIT_AUTH_TOKEN_INPUT)
		return 0;
	for (size_t i = 0; i < s.n; i++) {
		char c = s.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

/* A short fixed-text page (title, message, optional link). */
static int message_page(struct http_request *req, struct http_response *res, int status, const char *title,
                        const char *message, const char *link_href, const char *link_label)
{
	json_t *ctx = json_pack("{s:s, s:s}", "title", title, "message", message);
	if (ctx && link_href)
		json_object_set_new(ctx, "link",
		                    json_pack("{s:s, s:s}", "href", link_href, "label", link_label));
	return auth_page_render(req, res, status, "auth_message", ctx);
}

static int busy_page(struct http_request *req, struct http_response *res)
{
	auth_page_retry_after(res, BUSY_RETRY_S);
	return message_page(req, res, 503, "Busy", "The server is busy. Please try again in a few seconds.",
	                    NULL, NULL);
}

static const char *minutes_text(struct http_request *req, int64_t seconds)
{
	int64_t m = (seconds + 59) / 60;
	char tmp[120];
	snprintf(tmp, sizeof(tmp), "Too many attempts. Try again in %" PRId64 " minute%s.", m,
	         m == 1 ? "" : "s");
	return auth_page_cstr(req, (struct str){tmp, strlen(tmp)});
}

static int text_ok(struct str s, size_t max)
{
	return s.n >= 1 && s.n <= max && jsonin_text_check(s.p, s.n, JSONIN_NO_CTRL) == JSONIN_TEXT_OK;
}

/* ---- serve start / stop ---- */

int auth_pages_start(const struct install *inst, const struct config *cfg, char *err, size_t errlen)
{
	if (cfg->signup && strcmp(cfg->signup, "first") != 0)
		return 0;
	struct account_token tok;
	int rc = account_setup_token_issue(inst->store, &tok, err, errlen);
	if (rc < 0)
		return -1;
	if (rc == 1)
		fprintf(stderr,
		        "dropfix serve: no account exists yet. Create the first one at\n"
		        "  %s/auth/signup?setup=%s\n"
		        "  (one-time setup token: %s; a new one is printed at each start until then)\n",
		        cfg->base_url ? cfg->base_url : "", tok.text, tok.text);
	sodium_memzero(&tok, sizeof(tok));
	return 0;
}

void auth_pages_stop(void)
{
	auth_mail_stop(5000);
}

/* ---- invitations ---- */

static int invite_check_default(struct store_tx *tx, const char *token, const char *email)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
	int64_t one = 0;
	return store_query_i64(
	    tx,
	    "SELECT 1 FROM invites WHERE token_hash = $1 AND email = $2 AND accepted_at IS NULL "
	    "AND expires_at > $3",
	    STORE_ARGS(SP_BLOB(h, sizeof(h)), SP_TEXT(email), SP_I64(clock_now_ms())), &one);
}

static auth_invite_check_fn invite_check = invite_check_default;

void auth_pages_set_invite_check(auth_invite_check_fn fn)
{
	invite_check = fn ? fn : invite_check_default;
}

/* ---- start page ---- */

int auth_page_home(struct http_request *req, struct http_response *res)
{
	struct store_tx *tx = NULL;
	int64_t ws = 0;
	if (req_begin_global(req, STORE_READ, &tx) < 0)
		return req_db_error(req, res);
	int found = account_first_workspace(tx, req->auth.account_id, &ws);
	store_rollback(tx);
	if (found < 0)
		return req_db_error(req, res);
	if (found == 1) {
		char loc[64];
		snprintf(loc, sizeof(loc), "/w/%" PRId64 "/", ws);
		return http_redirect(res, loc);
	}
	return auth_page_render(req, res, 200, "auth_home", NULL);
}

/* ---- sign-up ---- */

enum signup_mode { SIGNUP_CLOSED, SIGNUP_SETUP, SIGNUP_INVITE, SIGNUP_OPEN };

/* What sign-up allows for this request: any (1/0) tells whether accounts exist. */
static enum signup_mode signup_mode(const struct http_request *req, int any, int has_invite)
{
	const char *m = req->cfg->signup ? req->cfg->signup : "first";
	if (has_invite)
		return SIGNUP_INVITE;
	if (strcmp(m, "open") == 0)
		return SIGNUP_OPEN;
	if (strcmp(m, "first") == 0 && !any)
		return SIGNUP_SETUP;
	return SIGNUP_CLOSED;
}

static int signup_closed(struct http_request *req, struct http_response *res)
{
	return message_page(
	    req, res, 403, "Sign-up is by invitation",
	    "This DropFix installation accepts new accounts only through an invitation. Ask a "
	    "workspace owner or admin to invite you.",
	    "/auth/login", "Sign in");
}

struct signup_form {
	struct str name, email, password, product, setup, invite;
};

static int signup_render(struct http_request *req, struct http_response *res, int status,
                         enum signup_mode mode, const struct signup_form *f, const char *const errs[6],
                         const char *form_error)
{
	json_t *ctx = json_object();
	auth_page_field(ctx, "name", "Name", "text", "name", f->name, errs[0]);
	auth_page_field(ctx, "email", "E-mail address", "email", "email", f->email, errs[1]);
	auth_page_field(ctx, "password", "Password (at least 10 characters)", "password", "new-password",
	                (struct str){NULL, 0}, errs[2]);
	if (mode != SIGNUP_INVITE)
		auth_page_field(ctx, "product", "Product name", "text", "organization", f->product, errs[3]);
	if (mode == SIGNUP_SETUP)
		auth_page_field(ctx, "setup", "Setup token (printed by `dropfix serve` at first start)",
		                "text", "off", f->setup, errs[4]);
	if (mode == SIGNUP_INVITE) {
		json_object_set_new(ctx, "invite", jstr(f->invite));
		if (errs[5])
			json_object_set_new(ctx, "form_error", json_string(errs[5]));
	}
	if (form_error)
		json_object_set_new(ctx, "form_error", json_string(form_error));
	return auth_page_render(req, res, status, "auth_signup", ctx);
}

/* Reads whether any account exists (read transaction). 1/0, or -1 (replied). */
static int accounts_exist(struct http_request *req, struct http_response *res)
{
	struct store_tx *tx = NULL;
	if (req_begin_global(req, STORE_READ, &tx) < 0)
		return req_db_error(req, res), -1;
	int any = account_any(tx);
	store_rollback(tx);
	if (any < 0)
		return req_db_error(req, res), -1;
	return any;
}

int auth_page_signup_form(struct http_request *req, struct http_response *res)
{
	const char *invite = query_token(req, "invite");
	const char *setup = query_token(req, "setup");
	int any = accounts_exist(req, res);
	if (any < 0)
		return 0;
	enum signup_mode mode = signup_mode(req, any, invite != NULL);
	if (mode == SIGNUP_CLOSED)
		return signup_closed(req, res);
	struct signup_form f = {0};
	if (invite)
		f.invite = str_from_cstr(invite);
	if (setup)
		f.setup = str_from_cstr(setup);
	const char *errs[6] = {0};
	return signup_render(req, res, 200, mode, &f, errs, NULL);
}

/* The mail an address gets when someone signs up with it again. */
static void mail_signup_attempt(struct http_request *req, const struct account *a)
{
	char key[LIMIT_MAIL_ADDR + 8];
	int64_t retry = 0;
	snprintf(key, sizeof(key), "mail:%s", a->email);
	if (!limit_take(key, LIMIT_RESET_MAILS, RESET_MAIL_WINDOW_MS, &retry))
		return;
	static const char *const paras[] = {
	    "Someone tried to create a DropFix account with this e-mail address, which already has one. "
	    "No new account was made.",
	    "If that was you, sign in instead, or reset your password if you forgot it. If it was not you, "
	    "you "
	    "can ignore this e-mail."};
	(void)auth_page_notify(req, a->email, a->name, "Sign-up attempt with your address",
	                       "Someone tried to sign up", paras, 2, "Sign in", "/auth/login", NULL);
}

static void mail_verification(struct http_request *req, const char *to, const char *name, const char *token,
                              int change)
{
	static const char *const signup_paras[] = {
	    "Please confirm that this is your e-mail address to finish creating your DropFix account.",
	    "The link works once and expires in 48 hours. If you did not sign up, ignore this e-mail."};
	static const char *const change_paras[] = {
	    "Please confirm this new e-mail address for your DropFix account. Your sign-in address changes "
	    "when you "
	    "open the link.",
	    "The link works once and expires in 48 hours. If you did not ask for this, ignore this e-mail."};
	(void)auth_page_notify(req, to, name,
	                       change ? "Verify your new e-mail address" : "Verify your e-mail address",
	                       "Verify your e-mail address", change ? change_paras : signup_paras, 2,
	                       "Confirm my address", "/auth/verify?token=", token);
}

int auth_page_signup(struct http_request *req, struct http_response *res)
{
	static const char *const names[] = {"name", "email", "password", "product", "setup", "invite"};
	struct str v[6];
	if (auth_page_bind(req, res, names, 6, v) < 0)
		return 0;
	struct signup_form f = {v[0], v[1], v[2], v[3], v[4], v[5]};
	int has_invite = f.invite.n > 0;
	if (has_invite && !token_text_ok(f.invite))
		return signup_closed(req, res);
	int any = accounts_exist(req, res);
	if (any < 0)
		return 0;
	enum signup_mode mode = signup_mode(req, any, has_invite);
	if (mode == SIGNUP_CLOSED)
		return signup_closed(req, res);

	const char *errs[6] = {0};
	char email[LIMIT_MAIL_ADDR + 1];
	int bad = 0;
	if (!text_ok(f.name, LIMIT_ACCOUNT_NAME))
		errs[0] = "Enter your name (up to 100 characters, no control characters).", bad = 1;
	if (account_email_normalize(f.email.p, f.email.n, email) < 0)
		errs[1] = "Enter a valid e-mail address, like name@example.com.", bad = 1;
	if (!password_length_ok(f.password.n))
		errs[2] = "Choose a password of 10 to 1,024 characters.", bad = 1;
	if (mode != SIGNUP_INVITE && !text_ok(f.product, LIMIT_PRODUCT_NAME))
		errs[3] = "Enter your product's name (up to 100 characters).", bad = 1;
	if (mode == SIGNUP_SETUP && !token_text_ok(f.setup))
		errs[4] = "Enter the setup token that `dropfix serve` printed.", bad = 1;
	if (bad)
		return signup_render(req, res, 422, mode, &f, errs, NULL);

	char ipkey[80];
	int64_t retry = 0;
	snprintf(ipkey, sizeof(ipkey), "ip:%s", req->client_ip);
	if (!limit_take(ipkey, ip_limit(req), LIMIT_SIGNIN_WINDOW_MS, &retry)) {
		auth_page_retry_after(res, retry);
		return signup_render(req, res, 429, mode, &f, errs, minutes_text(req, retry));
	}
	char hash[PASSWORD_HASH_MAX];
	enum password_result pr = password_hash(f.password.p, f.password.n, hash);
	if (pr == PASSWORD_BUSY)
		return busy_page(req, res);
	if (pr != PASSWORD_OK)
		return http_reply_error(req, res, 500, "internal", "password hashing failed", NULL);

	struct store_tx *tx = NULL;
	struct account_token tok;
	struct account existing = {0};
	int64_t id = 0;
	int created = 0;
	if (req_begin_global(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	if (mode == SIGNUP_SETUP) {
		int claimed = account_setup_token_claim(tx, auth_page_cstr(req, f.setup));
		if (claimed <= 0) {
			store_rollback(tx);
			if (claimed < 0)
				return req_db_error(req, res);
			errs[4] = "This setup token is not right, or an account was created with it already.";
			return signup_render(req, res, 422, mode, &f, errs, NULL);
		}
	} else if (mode == SIGNUP_INVITE) {
		int ok = invite_check(tx, auth_page_cstr(req, f.invite), email);
		if (ok <= 0) {
			store_rollback(tx);
			if (ok < 0)
				return req_db_error(req, res);
			errs[5] = "This invitation is not valid for this e-mail address, or it has expired. "
			          "Use the "
			          "address the invitation was sent to.";
			return signup_render(req, res, 422, mode, &f, errs, NULL);
		}
	}
	struct account_new an = {.email = email, .name = auth_page_cstr(req, f.name), .password_hash = hash};
	int rc = account_create(tx, &an, &id);
	if (rc == ACCOUNT_E_EXISTS) {
		if (account_find_by_email(tx, email, &existing) < 0)
			goto db_fail;
	} else if (rc == 0) {
		created = 1;
		if (mode != SIGNUP_INVITE) {
			/* The workspace comes with its keys and its audit row, as from the dashboard.
			 * The secret key is not shown here: the keys page rotates it to reveal one. */
			const char *product = auth_page_cstr(req, f.product);
			struct workspace_spec spec = {
			    .name = product, .product_name = product, .timezone = "UTC", .currency = "USD"};
			struct workspace_actor actor = {.kind = AUDIT_ACTOR_ACCOUNT, .id = id, .ip = req->client_ip};
			struct workspace_created made = {0};
			int wrc = workspace_create(tx, req->inst->keys, &spec, id, &actor, &made);
			keys_text_wipe(&made.secret_key);
			if (wrc < 0)
				goto db_fail;
		}
		if (account_verification_create(tx, id, email, &tok) < 0)
			goto db_fail;
	} else {
		goto db_fail;
	}
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto db_fail;
	}
	tx = NULL;
	sodium_memzero(hash, sizeof(hash));
	if (created)
		mail_verification(req, email, an.name, tok.text, 0);
	else
		mail_signup_attempt(req, &existing);
	sodium_memzero(&tok, sizeof(tok));
	/* The same page whether or not the address had an account. */
	json_t *ctx = json_pack("{s:s, s:b}", "email", email, "invite", mode == SIGNUP_INVITE);
	return auth_page_render(req, res, 200, "auth_signup_done", ctx);
db_fail:
	store_rollback(tx);
	sodium_memzero(hash, sizeof(hash));
	sodium_memzero(&tok, sizeof(tok));
	return req_db_error(req, res);
}

/* ---- e-mail verification ---- */

static int verify_gone(struct http_request *req, struct http_response *res)
{
	return message_page(
	    req, res, 410, "Link expired",
	    "This confirmation link has expired or was used already. Sign in to get a new one.",
	    "/auth/login", "Sign in");
}

int auth_page_verify_form(struct http_request *req, struct http_response *res)
{
	const char *token = query_token(req, "token");
	if (!token)
		return verify_gone(req, res);
	struct store_tx *tx = NULL;
	int64_t id = 0;
	char email[LIMIT_MAIL_ADDR + 1];
	if (req_begin_global(req, STORE_READ, &tx) < 0)
		return req_db_error(req, res);
	int live = account_verification_peek(tx, token, &id, email);
	store_rollback(tx);
	if (live < 0)
		return req_db_error(req, res);
	if (live == 0)
		return verify_gone(req, res);
	/* Mail scanners fetch links: only the button's POST uses the token. */
	return auth_page_render(req, res, 200, "auth_verify",
	                        json_pack("{s:s, s:s}", "token", token, "email", email));
}

int auth_page_verify(struct http_request *req, struct http_response *res)
{
	static const char *const names[] = {"token"};
	struct str v[1];
	if (auth_page_bind(req, res, names, 1, v) < 0)
		return 0;
	if (!token_text_ok(v[0]))
		return verify_gone(req, res);
	struct store_tx *tx = NULL;
	struct account a;
	int64_t id = 0;
	char email[LIMIT_MAIL_ADDR + 1];
	if (req_begin_global(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	int used = account_verification_consume(tx, auth_page_cstr(req, v[0]), &id, email);
	if (used <= 0) {
		store_rollback(tx);
		return used < 0 ? req_db_error(req, res) : verify_gone(req, res);
	}
	int found = account_get(tx, id, &a);
	if (found <= 0) {
		store_rollback(tx);
		return found < 0 ? req_db_error(req, res) : verify_gone(req, res);
	}
	int change = strcmp(a.email, email) != 0;
	if (!change) {
		if (account_set_verified(tx, id) < 0)
			goto db_fail;
	} else {
		int rc = account_change_email(tx, id, email);
		if (rc == ACCOUNT_E_EXISTS) {
			store_rollback(tx);
			return message_page(
			    req, res, 409, "Address in use",
			    "Another account uses this e-mail address now, so yours was not changed.",
			    "/account/email", "Choose another address");
		}
		if (rc < 0 || auth_page_audit(tx, req, id, "auth.email_changed", email, NULL) < 0)
			goto db_fail;
	}
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto db_fail;
	}
	if (!change)
		return http_redirect(res, "/auth/login?m=verified");
	auth_page_audit_ws(req, id, "auth.email_changed", email);
	const char *paras[] = {
	    "The sign-in address of your DropFix account was changed to a new address. "
	    "From now on, sign in with the new address.",
	    "If you did not do this, reset your password at once and contact your installation's "
	    "operator."};
	(void)auth_page_notify(req, a.email, a.name, "Your DropFix e-mail address was changed",
	                       "Your e-mail address was changed", paras, 2, NULL, NULL, NULL);
	return http_redirect(res, "/account?m=email");
db_fail:
	store_rollback(tx);
	return req_db_error(req, res);
}

/* ---- sign-in ---- */

static const char *login_notice(const char *m)
{
	static const struct {
		const char *key, *text;
	} notices[] = {
	    {"verified", "Your e-mail address is verified. You can sign in now."},
	    {"reset", "Your password was changed. Sign in with the new one."},
	    {"signedout", "You are signed out."},
	    {"expired", "Your session ended. Please sign in again."},
	};
	for (size_t i = 0; m && i < sizeof(notices) / sizeof(notices[0]); i++)
		if (strcmp(m, notices[i].key) == 0)
			return notices[i].text;
	return NULL;
}

static int login_render(struct http_request *req, struct http_response *res, int status, struct str email,
                        const char *next, const char *email_err, const char *pw_err, const char *form_error)
{
	json_t *ctx = json_pack("{s:s}", "next", next);
	auth_page_field(ctx, "email", "E-mail address", "email", "username", email, email_err);
	auth_page_field(ctx, "password", "Password", "password", "current-password", (struct str){NULL, 0},
	                pw_err);
	if (form_error)
		json_object_set_new(ctx, "form_error", json_string(form_error));
	const char *notice = status == 200 ? login_notice(http_query(req, "m")) : NULL;
	if (notice)
		json_object_set_new(ctx, "notice", json_string(notice));
	return auth_page_render(req, res, status, "auth_login", ctx);
}

int auth_page_login_form(struct http_request *req, struct http_response *res)
{
	return login_render(req, res, 200, (struct str){NULL, 0}, next_path(req, (struct str){NULL, 0}), NULL,
	                    NULL, NULL);
}

/* After a failed password check: count it, audit it, alert the owner once an hour. */
static int login_failed(struct http_request *req, struct http_response *res, const char *email_key,
                        const char *ekey, const struct account *a, struct str email, const char *next)
{
	int count = limit_hit(ekey, LIMIT_SIGNIN_WINDOW_MS);
	int alert = 0;
	struct store_tx *tx = NULL;
	if (req_begin_global(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	const char *detail = a->id ? "{\"reason\":\"wrong_password\"}" : "{\"reason\":\"unknown_address\"}";
	if (auth_page_audit(tx, req, 0, "auth.signin_failed", email_key, detail) < 0)
		goto db_fail;
	if (a->id && count >= email_limit(req)) {
		alert = account_claim_failed_alert(tx, a->id);
		if (alert < 0)
			goto db_fail;
	}
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto db_fail;
	}
	if (alert == 1) {
		const char *paras[] = {
		    "There were several failed attempts to sign in to your DropFix account with a wrong "
		    "password. Further attempts are blocked for a while.",
		    "If this was you, wait a few minutes or reset your password. If it was not, your "
		    "password is still safe as long as it is not used elsewhere; consider turning on "
		    "two-factor authentication."};
		(void)auth_page_notify(
		    req, a->email, a->name, "Failed sign-in attempts on your DropFix account",
		    "Failed sign-in attempts", paras, 2, "Reset my password", "/auth/reset", NULL);
	}
	return login_render(req, res, 401, email, next, NULL, NULL, "Wrong e-mail address or password.");
db_fail:
	store_rollback(tx);
	return req_db_error(req, res);
}

/* Correct password, address not confirmed yet: send a fresh link (at most every 10 min). */
static int login_unverified(struct http_request *req, struct http_response *res, const struct account *a)
{
	struct store_tx *tx = NULL;
	struct account_token tok;
	int64_t last = 0;
	int send = 0;
	if (req_begin_global(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	if (account_verification_last(tx, a->id, &last) < 0)
		goto db_fail;
	if (clock_now_ms() - last >= VERIFY_RESEND_MS) {
		if (account_verification_create(tx, a->id, a->email, &tok) < 0)
			goto db_fail;
		send = 1;
	}
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto db_fail;
	}
	if (send)
		mail_verification(req, a->email, a->name, tok.text, 0);
	sodium_memzero(&tok, sizeof(tok));
	return message_page(
	    req, res, 403, "Confirm your e-mail address",
	    "Your e-mail address is not confirmed yet. We have sent you a link: open it, then sign in.", NULL,
	    NULL);
db_fail:
	store_rollback(tx);
	return req_db_error(req, res);
}

int auth_page_login(struct http_request *req, struct http_response *res)
{
	static const char *const names[] = {"email", "password", "next"};
	struct str v[3];
	if (auth_page_bind(req, res, names, 3, v) < 0)
		return 0;
	struct str email_in = v[0], pw = v[1];
	const char *next = next_path(req, v[2]);
	if (email_in.n == 0 || pw.n == 0)
		return login_render(req, res, 422, email_in, next,
		                    email_in.n ? NULL : "Enter your e-mail address.",
		                    pw.n ? NULL : "Enter your password.", NULL);
	char email[LIMIT_MAIL_ADDR + 1];
	if (account_email_normalize(email_in.p, email_in.n, email) < 0)
		return login_render(req, res, 422, email_in, next,
		                    "Enter a valid e-mail address, like name@example.com.", NULL, NULL);

	/* Per IP first (every attempt counts), then per submitted address (failures count);
	 * both before any hashing. */
	char ipkey[80], ekey[LIMIT_MAIL_ADDR + 8];
	int64_t retry = 0;
	snprintf(ipkey, sizeof(ipkey), "ip:%s", req->client_ip);
	snprintf(ekey, sizeof(ekey), "signin:%s", email);
	if (!limit_take(ipkey, ip_limit(req), LIMIT_SIGNIN_WINDOW_MS, &retry) ||
	    !limit_check(ekey, email_limit(req), &retry)) {
		auth_page_retry_after(res, retry);
		return login_render(req, res, 429, email_in, next, NULL, NULL, minutes_text(req, retry));
	}

	struct account a;
	int rehash = 0;
	struct store_conn *c = req_conn(req);
	if (!c)
		return req_db_error(req, res);
	/* One Argon2id verification whatever the address (LIMIT_FORM_VALUE bounds pw). */
	int pr = account_authenticate(c, email, pw.p, pw.n, &a, &rehash);
	if (pr == PASSWORD_OK && !password_length_ok(pw.n))
		pr = PASSWORD_MISMATCH;
	if (pr < 0)
		return req_db_error(req, res);
	if (pr == PASSWORD_BUSY)
		return busy_page(req, res);
	if (pr == PASSWORD_ERROR)
		return http_reply_error(req, res, 500, "internal", "password check failed", NULL);
	if (pr == PASSWORD_MISMATCH) {
		/* Same outcome for an unknown address: a wrong password and no account look
		 * alike (the account id only picks who gets the alert). */
		return login_failed(req, res, email, ekey, &a, email_in, next);
	}
	if (!a.verified)
		return login_unverified(req, res, &a);
	limit_reset(ekey);

	char new_hash[PASSWORD_HASH_MAX] = "";
	if (rehash && password_hash(pw.p, pw.n, new_hash) != PASSWORD_OK)
		new_hash[0] = '\0';
	struct store_tx *tx = NULL;
	struct session_token tok;
	int64_t sid = 0;
	int stage = a.has_2fa ? SESSION_PENDING_2FA : SESSION_FULL;
	if (req_begin_global(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	if ((new_hash[0] && account_rehash(tx, a.id, a.password_hash, new_hash) < 0) ||
	    session_create(tx, a.id, stage, http_header(req, "User-Agent"), &tok, &sid) < 0 ||
	    (stage == SESSION_FULL && auth_page_audit(tx, req, a.id, "auth.signin", a.email, NULL) < 0) ||
	    store_commit(tx) < 0) {
		store_rollback(tx);
		sodium_memzero(&tok, sizeof(tok));
		return req_db_error(req, res);
	}
	sodium_memzero(a.password_hash, sizeof(a.password_hash));
	auth_page_session_cookie(req, res, tok.text);
	sodium_memzero(&tok, sizeof(tok));
	if (stage == SESSION_FULL) {
		auth_page_audit_ws(req, a.id, "auth.signin", a.email);
		return http_redirect(res, next[0] ? next : "/");
	}
	struct buf loc;
	buf_init(&loc, 2048);
	buf_puts(&loc, "/auth/2fa");
	if (next[0]) {
		buf_puts(&loc, "?next=");
		url_encode(&loc, next);
	}
	http_redirect(res, loc.oom ? "/auth/2fa" : loc.p);
	buf_free(&loc);
	return 0;
}

/* ---- second step ---- */

static int twofa_render(struct http_request *req, struct http_response *res, int status, const char *next,
                        const char *code_err, const char *form_error)
{
	json_t *ctx = json_pack("{s:s}", "next", next);
	auth_page_field(ctx, "code", "Authentication code, or a recovery code", "text", "one-time-code",
	                (struct str){NULL, 0}, code_err);
	if (form_error)
		json_object_set_new(ctx, "form_error", json_string(form_error));
	return auth_page_render(req, res, status, "auth_2fa", ctx);
}

int auth_page_2fa_form(struct http_request *req, struct http_response *res)
{
	const char *next = next_path(req, (struct str){NULL, 0});
	if (req->auth.stage == SESSION_FULL)
		return http_redirect(res, next[0] ? next : "/");
	return twofa_render(req, res, 200, next, NULL, NULL);
}

int auth_page_2fa(struct http_request *req, struct http_response *res)
{
	static const char *const names[] = {"code", "next"};
	struct str v[2];
	if (auth_page_bind(req, res, names, 2, v) < 0)
		return 0;
	const char *next = next_path(req, v[1]);
	if (req->auth.stage == SESSION_FULL)
		return http_redirect(res, next[0] ? next : "/");
	if (v[0].n == 0)
		return twofa_render(req, res, 422, next, "Enter the code from your authenticator app.", NULL);
	char key[48];
	int64_t retry = 0;
	snprintf(key, sizeof(key), "2fa:%" PRId64, req->auth.account_id);
	if (!limit_check(key, LIMIT_2FA_FAILURES, &retry)) {
		auth_page_retry_after(res, retry);
		return twofa_render(req, res, 429, next, NULL, minutes_text(req, retry));
	}
	struct store_tx *tx = NULL;
	struct session_token tok;
	struct account a;
	int via_recovery = 0;
	if (req_begin_global(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	int ok = auth_page_second_factor(tx, req->inst->keys, req->auth.account_id, v[0], &via_recovery);
	if (ok < 0 || (ok == 1 && account_get(tx, req->auth.account_id, &a) != 1))
		goto db_fail;
	if (ok == 0) {
		store_rollback(tx);
		limit_hit(key, LIMIT_SIGNIN_WINDOW_MS);
		if (req_begin_global(req, STORE_WRITE, &tx) < 0 ||
		    auth_page_audit(tx, req, req->auth.account_id, "auth.signin_failed", NULL,
		                    "{\"reason\":\"second_factor\"}") < 0 ||
		    store_commit(tx) < 0) {
			store_rollback(tx);
			return req_db_error(req, res);
		}
		return twofa_render(req, res, 401, next, "That code is not right, or it was used already.",
		                    NULL);
	}
	if (session_rotate(tx, req->auth.session_id, SESSION_FULL, &tok) < 0 ||
	    auth_page_audit(tx, req, a.id, "auth.signin", a.email,
	                    via_recovery ? "{\"second_factor\":\"recovery\"}"
	                                 : "{\"second_factor\":\"totp\"}") < 0 ||
	    (via_recovery && auth_page_audit(tx, req, a.id, "2fa.recovery_used", a.email, NULL) < 0))
		goto db_fail;
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto db_fail;
	}
	limit_reset(key);
	auth_page_session_cookie(req, res, tok.text);
	sodium_memzero(&tok, sizeof(tok));
	auth_page_audit_ws(req, a.id, "auth.signin", a.email);
	if (via_recovery)
		auth_page_audit_ws(req, a.id, "2fa.recovery_used", a.email);
	return http_redirect(res, next[0] ? next : "/");
db_fail:
	store_rollback(tx);
	sodium_memzero(&tok, sizeof(tok));
	return req_db_error(req, res);
}

int auth_page_logout(struct http_request *req, struct http_response *res)
{
	struct store_tx *tx = NULL;
	if (req_begin_global(req, STORE_WRITE, &tx) < 0 ||
	    session_revoke(tx, req->auth.account_id, req->auth.session_id) < 0 ||
	    (req->auth.stage == SESSION_FULL &&
	     auth_page_audit(tx, req, req->auth.account_id, "auth.signout", NULL, NULL) < 0) ||
	    store_commit(tx) < 0) {
		store_rollback(tx);
		return req_db_error(req, res);
	}
	auth_page_session_cookie(req, res, NULL);
	return http_redirect(res, "/auth/login?m=signedout");
}

/* ---- password reset ---- */

static int reset_render(struct http_request *req, struct http_response *res, int status, struct str email,
                        const char *email_err, const char *form_error)
{
	json_t *ctx = json_object();
	auth_page_field(ctx, "email", "E-mail address", "email", "username", email, email_err);
	if (form_error)
		json_object_set_new(ctx, "form_error", json_string(form_error));
	return auth_page_render(req, res, status, "auth_reset", ctx);
}

int auth_page_reset_form(struct http_request *req, struct http_response *res)
{
	return reset_render(req, res, 200, (struct str){NULL, 0}, NULL, NULL);
}

int auth_page_reset(struct http_request *req, struct http_response *res)
{
	static const char *const names[] = {"email"};
	struct str v[1];
	if (auth_page_bind(req, res, names, 1, v) < 0)
		return 0;
	char email[LIMIT_MAIL_ADDR + 1];
	if (account_email_normalize(v[0].p, v[0].n, email) < 0)
		return reset_render(req, res, 422, v[0],
		                    "Enter a valid e-mail address, like name@example.com.", NULL);
	char ipkey[80], mkey[LIMIT_MAIL_ADDR + 8];
	int64_t retry = 0;
	snprintf(ipkey, sizeof(ipkey), "ip:%s", req->client_ip);
	if (!limit_take(ipkey, ip_limit(req), LIMIT_SIGNIN_WINDOW_MS, &retry)) {
		auth_page_retry_after(res, retry);
		return reset_render(req, res, 429, v[0], NULL, minutes_text(req, retry));
	}
	/* Per address: a few mails an hour, silently (the page does not change). */
	snprintf(mkey, sizeof(mkey), "mail:%s", email);
	int may_mail = limit_take(mkey, LIMIT_RESET_MAILS, RESET_MAIL_WINDOW_MS, &retry);
	struct store_tx *tx = NULL;
	struct account a;
	struct account_token tok;
	int send = 0;
	if (req_begin_global(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	int found = account_find_by_email(tx, email, &a);
	if (found < 0)
		goto db_fail;
	if (found == 1 && may_mail && !a.disabled) {
		if (account_reset_create(tx, a.id, &tok) < 0)
			goto db_fail;
		send = 1;
	}
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto db_fail;
	}
	if (send) {
		const char *paras[] = {
		    "Someone (hopefully you) asked to reset the password of your DropFix account.",
		    "The link works once and expires in one hour. If you did not ask for this, ignore "
		    "this e-mail: your password stays as it is."};
		(void)auth_page_notify(req, a.email, a.name, "Reset your DropFix password",
		                       "Reset your password", paras, 2, "Choose a new password",
		                       "/auth/reset/confirm?token=", tok.text);
	}
	sodium_memzero(&tok, sizeof(tok));
	return auth_page_render(req, res, 200, "auth_reset_sent", json_pack("{s:s}", "email", email));
db_fail:
	store_rollback(tx);
	return req_db_error(req, res);
}

static int reset_gone(struct http_request *req, struct http_response *res)
{
	return message_page(
	    req, res, 410, "Link expired",
	    "This password reset link has expired or was used already. You can ask for a new one.",
	    "/auth/reset", "Ask for a new link");
}

static int reset_confirm_render(struct http_request *req, struct http_response *res, int status,
                                const char *token, const char *pw_err, const char *form_error)
{
	json_t *ctx = json_pack("{s:s}", "token", token);
	auth_page_field(ctx, "password", "New password (at least 10 characters)", "password", "new-password",
	                (struct str){NULL, 0}, pw_err);
	if (form_error)
		json_object_set_new(ctx, "form_error", json_string(form_error));
	return auth_page_render(req, res, status, "auth_reset_confirm", ctx);
}

/* 1 when the reset token is live (read transaction), 0 not, -1 replied with an error. */
static int reset_token_live(struct http_request *req, struct http_response *res, const char *token)
{
	struct store_tx *tx = NULL;
	int64_t id = 0;
	if (req_begin_global(req, STORE_READ, &tx) < 0)
		return req_db_error(req, res), -1;
	int live = account_reset_peek(tx, token, &id);
	store_rollback(tx);
	if (live < 0)
		return req_db_error(req, res), -1;
	return live;
}

int auth_page_reset_confirm_form(struct http_request *req, struct http_response *res)
{
	const char *token = query_token(req, "token");
	if (!token)
		return reset_gone(req, res);
	int live = reset_token_live(req, res, token);
	if (live <= 0)
		return live < 0 ? 0 : reset_gone(req, res);
	return reset_confirm_render(req, res, 200, token, NULL, NULL);
}

int auth_page_reset_confirm(struct http_request *req, struct http_response *res)
{
	static const char *const names[] = {"token", "password"};
	struct str v[2];
	if (auth_page_bind(req, res, names, 2, v) < 0)
		return 0;
	if (!token_text_ok(v[0]))
		return reset_gone(req, res);
	const char *token = auth_page_cstr(req, v[0]);
	int live = reset_token_live(req, res, token);
	if (live <= 0)
		return live < 0 ? 0 : reset_gone(req, res);
	if (!password_length_ok(v[1].n))
		return reset_confirm_render(req, res, 422, token,
		                            "Choose a password of 10 to 1,024 characters.", NULL);
	char ipkey[80];
	int64_t retry = 0;
	snprintf(ipkey, sizeof(ipkey), "ip:%s", req->client_ip);
	if (!limit_take(ipkey, ip_limit(req), LIMIT_SIGNIN_WINDOW_MS, &retry)) {
		auth_page_retry_after(res, retry);
		return reset_confirm_render(req, res, 429, token, NULL, minutes_text(req, retry));
	}
	char hash[PASSWORD_HASH_MAX];
	enum password_result pr = password_hash(v[1].p, v[1].n, hash);
	if (pr == PASSWORD_BUSY)
		return busy_page(req, res);
	if (pr != PASSWORD_OK)
		return http_reply_error(req, res, 500, "internal", "password hashing failed", NULL);
	struct store_tx *tx = NULL;
	struct account a;
	int64_t id = 0;
	if (req_begin_global(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	int used = account_reset_consume(tx, token, &id);
	if (used <= 0) {
		store_rollback(tx);
		sodium_memzero(hash, sizeof(hash));
		return used < 0 ? req_db_error(req, res) : reset_gone(req, res);
	}
	/* Ends every session and every other reset token; never signs in (2FA stays). */
	if (account_get(tx, id, &a) != 1 || account_set_password(tx, id, hash, 0) < 0 ||
	    account_set_verified(tx, id) < 0 ||
	    auth_page_audit(tx, req, id, "auth.password_reset", a.email, NULL) < 0 || store_commit(tx) < 0) {
		store_rollback(tx);
		sodium_memzero(hash, sizeof(hash));
		return req_db_error(req, res);
	}
	sodium_memzero(hash, sizeof(hash));
	auth_page_audit_ws(req, id, "auth.password_reset", a.email);
	const char *paras[] = {
	    "The password of your DropFix account was just changed with a reset link, and every "
	    "session was signed out.",
	    "If you did not do this, reset your password again at once and contact your "
	    "installation's operator."};
	(void)auth_page_notify(req, a.email, a.name, "Your DropFix password was changed",
	                       "Your password was changed", paras, 2, NULL, NULL, NULL);
	auth_page_session_cookie(req, res, NULL);
	return http_redirect(res, "/auth/login?m=reset");
}
