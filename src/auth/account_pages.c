/* Handlers for the signed-in account settings pages (account_pages.h). */
#include "auth/account_pages.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/account.h"
#include "auth/auth_pages.h"
#include "auth/qr.h"
#include "auth/recovery.h"
#include "auth/throttle.h"
#include "auth/totp.h"
#include "cli/install.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/parse.h"
#include "crypto/seal.h"
#include "http/reqdb.h"

#define TOTP_ISSUER "DropFix"
#define ENROL_PLAIN (8 + TOTP_SECRET_BYTES) /* created-at (ms, big-endian) + secret */

/* Loads the caller's account (read transaction): 1, or -1 after replying. */
static int load_self(struct http_request *req, struct http_response *res, struct account *a)
{
	struct store_tx *tx = NULL;
	if (req_begin_global(req, STORE_READ, &tx) < 0)
		return req_db_error(req, res), -1;
	int found = account_get(tx, req->auth.account_id, a);
	store_rollback(tx);
	if (found <= 0) {
		if (found < 0)
			req_db_error(req, res);
		else
			http_reply_error(req, res, 404, "not_found", "no such account", NULL);
		return -1;
	}
	return 1;
}

static const char *overview_notice(const char *m)
{
	static const struct {
		const char *key, *text;
	} notices[] = {
	    {"password", "Your password was changed. Your other sessions were signed out."},
	    {"email", "Your e-mail address was changed."},
	    {"2fa_off", "Two-factor authentication is off."},
	    {"revoked", "The session was signed out."},
	};
	for (size_t i = 0; m && i < sizeof(notices) / sizeof(notices[0]); i++)
		if (strcmp(m, notices[i].key) == 0)
			return notices[i].text;
	return NULL;
}

static void add_notice(struct http_request *req, json_t *ctx)
{
	const char *n = overview_notice(http_query(req, "m"));
	if (n)
		json_object_set_new(ctx, "notice", json_string(n));
}

/* ---- current-password checks (throttled per account) ---- */

enum reauth { REAUTH_OK, REAUTH_WRONG, REAUTH_LIMITED, REAUTH_BUSY, REAUTH_ERROR };

static enum reauth reauth(const struct account *a, struct str pw, int64_t *retry)
{
	char key[48];
	snprintf(key, sizeof(key), "reauth:%" PRId64, a->id);
	struct throttle *t = auth_page_throttle();
	int64_t now = clock_now_ms();
	if (!t || !throttle_check(t, key, strlen(key), LIMIT_REAUTH_FAILURES, now, retry))
		return REAUTH_LIMITED;
	enum password_result pr =
	    password_verify(a->password_hash[0] ? a->password_hash : NULL, pw.p, pw.n, NULL);
	if (pr == PASSWORD_BUSY)
		return REAUTH_BUSY;
	if (pr == PASSWORD_ERROR)
		return REAUTH_ERROR;
	if (pr != PASSWORD_OK) {
		throttle_hit(t, key, strlen(key), LIMIT_SIGNIN_WINDOW_MS, now);
		return REAUTH_WRONG;
	}
	return REAUTH_OK;
}

static const char *limited_text(struct http_request *req, int64_t retry)
{
	char tmp[120];
	int64_t m = (retry + 59) / 60;
	snprintf(tmp, sizeof(tmp), "Too many wrong attempts. Try again in %" PRId64 " minute%s.", m,
	         m == 1 ? "" : "s");
	return auth_page_cstr(req, (struct str){tmp, strlen(tmp)});
}

/* Replies for REAUTH_LIMITED / BUSY / ERROR with the page's form re-rendered by the
 * caller; returns the status to use and sets *form_error. */
static int reauth_status(struct http_request *req, struct http_response *res, enum reauth r, int64_t retry,
                         const char **form_error)
{
	switch (r) {
	case REAUTH_LIMITED:
		auth_page_retry_after(res, retry);
		*form_error = limited_text(req, retry);
		return 429;
	case REAUTH_BUSY:
		auth_page_retry_after(res, 5);
		*form_error = "The server is busy. Please try again in a few seconds.";
		return 503;
	case REAUTH_ERROR:
		*form_error = "Something went wrong. Please try again.";
		return 500;
	default:
		return 422;
	}
}

/* ---- overview ---- */

int account_page_overview(struct http_request *req, struct http_response *res)
{
	struct account a;
	if (load_self(req, res, &a) < 0)
		return 0;
	json_t *ctx = json_pack("{s:s, s:s, s:b, s:b}", "name", a.name, "email", a.email, "verified",
	                        a.verified, "has_2fa", a.has_2fa);
	add_notice(req, ctx);
	return auth_page_render(req, res, 200, "account_overview", ctx);
}

/* ---- password ---- */

static int password_render(struct http_request *req, struct http_response *res, int status,
                           const char *cur_err, const char *new_err, const char *form_error)
{
	json_t *ctx = json_object();
	auth_page_field(ctx, "current_password", "Current password", "password", "current-password",
	                (struct str){NULL, 0}, cur_err);
	auth_page_field(ctx, "new_password", "New password (at least 10 characters)", "password",
	                "new-password", (struct str){NULL, 0}, new_err);
	if (form_error)
		json_object_set_new(ctx, "form_error", json_string(form_error));
	return auth_page_render(req, res, status, "account_password", ctx);
}

int account_page_password_form(struct http_request *req, struct http_response *res)
{
	return password_render(req, res, 200, NULL, NULL, NULL);
}

int account_page_password(struct http_request *req, struct http_response *res)
{
	static const char *const names[] = {"current_password", "new_password"};
	struct str v[2];
	struct account a;
	if (auth_page_bind(req, res, names, 2, v) < 0 || load_self(req, res, &a) < 0)
		return 0;
	if (v[0].n == 0 || !password_length_ok(v[1].n))
		return password_render(
		    req, res, 422, v[0].n ? NULL : "Enter your current password.",
		    password_length_ok(v[1].n) ? NULL : "Choose a password of 10 to 1,024 characters.", NULL);
	int64_t retry = 0;
	enum reauth r = reauth(&a, v[0], &retry);
	if (r == REAUTH_WRONG)
		return password_render(req, res, 422, "That is not your current password.", NULL, NULL);
	if (r != REAUTH_OK) {
		const char *fe = NULL;
		int st = reauth_status(req, res, r, retry, &fe);
		return password_render(req, res, st, NULL, NULL, fe);
	}
	char hash[PASSWORD_HASH_MAX];
	enum password_result pr = password_hash(v[1].p, v[1].n, hash);
	if (pr != PASSWORD_OK) {
		const char *fe = NULL;
		int st = reauth_status(req, res, pr == PASSWORD_BUSY ? REAUTH_BUSY : REAUTH_ERROR, 0, &fe);
		return password_render(req, res, st, NULL, NULL, fe);
	}
	struct store_tx *tx = NULL;
	if (req_begin_global(req, STORE_WRITE, &tx) < 0 ||
	    account_set_password(tx, a.id, hash, req->auth.session_id) < 0 ||
	    auth_page_audit(tx, req, a.id, "auth.password_changed", a.email, NULL) < 0 ||
	    store_commit(tx) < 0) {
		store_rollback(tx);
		sodium_memzero(hash, sizeof(hash));
		return req_db_error(req, res);
	}
	sodium_memzero(hash, sizeof(hash));
	auth_page_audit_ws(req, a.id, "auth.password_changed", a.email);
	const char *paras[] = {
	    "The password of your DropFix account was just changed, and your other sessions were "
	    "signed out.",
	    "If you did not do this, reset your password at once and contact your installation's "
	    "operator."};
	(void)auth_page_notify(req, a.email, a.name, "Your DropFix password was changed",
	                       "Your password was changed", paras, 2, NULL, NULL, NULL);
	return http_redirect(res, "/account?m=password");
}

/* ---- e-mail ---- */

static int email_render(struct http_request *req, struct http_response *res, int status,
                        const struct account *a, struct str email, const char *email_err, const char *pw_err,
                        const char *form_error)
{
	json_t *ctx = json_pack("{s:s}", "current_email", a->email);
	auth_page_field(ctx, "email", "New e-mail address", "email", "email", email, email_err);
	auth_page_field(ctx, "password", "Current password", "password", "current-password",
	                (struct str){NULL, 0}, pw_err);
	if (form_error)
		json_object_set_new(ctx, "form_error", json_string(form_error));
	return auth_page_render(req, res, status, "account_email", ctx);
}

int account_page_email_form(struct http_request *req, struct http_response *res)
{
	struct account a;
	if (load_self(req, res, &a) < 0)
		return 0;
	return email_render(req, res, 200, &a, (struct str){NULL, 0}, NULL, NULL, NULL);
}

int account_page_email(struct http_request *req, struct http_response *res)
{
	static const char *const names[] = {"email", "password"};
	struct str v[2];
	struct account a;
	if (auth_page_bind(req, res, names, 2, v) < 0 || load_self(req, res, &a) < 0)
		return 0;
	char email[LIMIT_MAIL_ADDR + 1];
	const char *email_err = NULL;
	if (account_email_normalize(v[0].p, v[0].n, email) < 0)
		email_err = "Enter a valid e-mail address, like name@example.com.";
	else if (strcmp(email, a.email) == 0)
		email_err = "That is your address already.";
	if (email_err || v[1].n == 0)
		return email_render(req, res, 422, &a, v[0], email_err,
		                    v[1].n ? NULL : "Enter your current password.", NULL);
	int64_t retry = 0;
	enum reauth r = reauth(&a, v[1], &retry);
	if (r == REAUTH_WRONG)
		return email_render(req, res, 422, &a, v[0], NULL, "That is not your current password.",
		                    NULL);
	if (r != REAUTH_OK) {
		const char *fe = NULL;
		int st = reauth_status(req, res, r, retry, &fe);
		return email_render(req, res, st, &a, v[0], NULL, NULL, fe);
	}
	struct store_tx *tx = NULL;
	struct account other;
	struct account_token tok;
	int send = 0;
	if (req_begin_global(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	int taken = account_find_by_email(tx, email, &other);
	if (taken < 0)
		goto db_fail;
	/* A taken address gets no link; the page does not say so. */
	if (taken == 0) {
		if (account_verification_create(tx, a.id, email, &tok) < 0)
			goto db_fail;
		send = 1;
	}
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto db_fail;
	}
	if (send) {
		const char *paras[] = {
		    "Please confirm this new e-mail address for your DropFix account. Your sign-in "
		    "address changes when you open the link.",
		    "The link works once and expires in 48 hours. If you did not ask for this, ignore "
		    "this e-mail."};
		(void)auth_page_notify(req, email, a.name, "Confirm your new e-mail address",
		                       "Confirm your new address", paras, 2, "Confirm my new address",
		                       "/auth/verify?token=", tok.text);
	}
	sodium_memzero(&tok, sizeof(tok));
	return auth_page_render(req, res, 200, "account_email_sent", json_pack("{s:s}", "email", email));
db_fail:
	store_rollback(tx);
	return req_db_error(req, res);
}

/* ---- two-factor authentication ---- */

static int twofa_status_render(struct http_request *req, struct http_response *res, int status,
                               const struct account *a, const char *pw_err, const char *code_err,
                               const char *form_error, const char *which)
{
	struct store_tx *tx = NULL;
	int left = 0;
	if (a->has_2fa) {
		if (req_begin_global(req, STORE_READ, &tx) < 0)
			return req_db_error(req, res);
		left = account_recovery_left(tx, a->id);
		store_rollback(tx);
		if (left < 0)
			return req_db_error(req, res);
	}
	json_t *ctx = json_pack("{s:b, s:i}", "has_2fa", a->has_2fa, "recovery_left", left);
	add_notice(req, ctx);
	/* Both forms show a password field; errors go to the one that was sent. */
	int dis = which && strcmp(which, "disable") == 0;
	auth_page_field(ctx, "password", "Current password", "password", "current-password",
	                (struct str){NULL, 0}, dis ? pw_err : NULL);
	auth_page_field(ctx, "code", "Authentication code or recovery code", "text", "one-time-code",
	                (struct str){NULL, 0}, dis ? code_err : NULL);
	json_t *rec = json_object();
	auth_page_field(rec, "password", "Current password", "password", "current-password",
	                (struct str){NULL, 0}, dis ? NULL : pw_err);
	/* Two password fields on one page: the second needs its own element id. */
	json_t *rf = json_object_get(json_object_get(rec, "fields"), "password");
	if (rf)
		json_object_set_new(rf, "id", json_string("f-regen-password"));
	json_object_set_new(ctx, "regen", rec);
	if (form_error)
		json_object_set_new(ctx, "form_error", json_string(form_error));
	return auth_page_render(req, res, status, "account_2fa", ctx);
}

static void enrol_ad(const struct http_request *req, char id_text[24], char row[24], struct seal_ad *ad)
{
	snprintf(id_text, 24, "%" PRId64, req->auth.account_id);
	snprintf(row, 24, "%" PRId64, req->auth.session_id);
	/* Not a stored column: the pending secret travels in the enrolment form, bound to
	 * this account and this session. */
	*ad = (struct seal_ad){.scope = "account",
	                       .scope_id = req->auth.account_id,
	                       .table = "accounts",
	                       .column = "totp_pending",
	                       .row_key = row};
}

/* Seals secret for the enrolment form. Returns a malloc'ed sealed text or NULL. */
static char *enrol_seal(struct http_request *req, const uint8_t secret[TOTP_SECRET_BYTES])
{
	uint8_t plain[ENROL_PLAIN];
	uint64_t now = (uint64_t)clock_now_ms();
	for (int i = 0; i < 8; i++)
		plain[i] = (uint8_t)(now >> (56 - 8 * i));
	memcpy(plain + 8, secret, TOTP_SECRET_BYTES);
	char id_text[24], row[24];
	struct seal_ad ad;
	enrol_ad(req, id_text, row, &ad);
	char *sealed = NULL;
	if (seal_value(req->inst->keys, &ad, plain, sizeof(plain), &sealed) < 0)
		sealed = NULL;
	sodium_memzero(plain, sizeof(plain));
	return sealed;
}

/* Opens the enrolment form's sealed secret: 0, or -1 when it does not open or expired. */
static int enrol_open(struct http_request *req, const char *sealed, uint8_t secret[TOTP_SECRET_BYTES])
{
	char id_text[24], row[24];
	struct seal_ad ad;
	uint8_t *plain = NULL;
	size_t n = 0;
	enrol_ad(req, id_text, row, &ad);
	if (seal_open(req->inst->keys, &ad, sealed, &plain, &n) < 0)
		return -1;
	int rc = -1;
	if (n == ENROL_PLAIN) {
		uint64_t at = 0;
		for (int i = 0; i < 8; i++)
			at = (at << 8) | plain[i];
		int64_t now = clock_now_ms();
		if ((int64_t)at <= now && now - (int64_t)at <= ACCOUNT_ENROL_TTL_MS) {
			memcpy(secret, plain + 8, TOTP_SECRET_BYTES);
			rc = 0;
		}
	}
	seal_plain_free(plain, n);
	return rc;
}

/* The enrolment page: QR code, manual key, confirmation form. */
static int enrol_render(struct http_request *req, struct http_response *res, int status,
                        const struct account *a, const uint8_t secret[TOTP_SECRET_BYTES], const char *sealed,
                        const char *code_err)
{
	char key[TOTP_BASE32_GROUPED_LEN + 1];
	struct buf uri;
	buf_init(&uri, LIMIT_QR_TEXT);
	json_t *qr = NULL;
	if (totp_base32_group(secret, key, sizeof(key)) < 0 ||
	    totp_uri(TOTP_ISSUER, a->email, secret, &uri) < 0 ||
	    !(qr = qr_svg(uri.p, uri.n, "Scan this with your authenticator app"))) {
		if (uri.p)
			sodium_memzero(uri.p, uri.n);
		buf_free(&uri);
		sodium_memzero(key, sizeof(key));
		return http_reply_error(req, res, 500, "internal", "the enrolment page could not be made",
		                        NULL);
	}
	sodium_memzero(uri.p, uri.n);
	buf_free(&uri);
	json_t *ctx = json_pack("{s:o, s:s, s:s, s:s}", "qr", qr, "manual_key", key, "pending", sealed,
	                        "email", a->email);
	sodium_memzero(key, sizeof(key));
	auth_page_field(ctx, "code", "Code from the app", "text", "one-time-code", (struct str){NULL, 0},
	                code_err);
	return auth_page_render(req, res, status, "account_2fa_setup", ctx);
}

/* GET: with 2FA on, its status; off, the enrolment page with a fresh secret that is
 * stored nowhere yet (it travels sealed in the form), so this GET changes nothing. */
int account_page_2fa(struct http_request *req, struct http_response *res)
{
	struct account a;
	if (load_self(req, res, &a) < 0)
		return 0;
	if (a.has_2fa)
		return twofa_status_render(req, res, 200, &a, NULL, NULL, NULL, NULL);
	uint8_t secret[TOTP_SECRET_BYTES];
	if (totp_secret_generate(secret) < 0)
		return http_reply_error(req, res, 500, "internal", "no randomness", NULL);
	char *sealed = enrol_seal(req, secret);
	int rc = sealed ? enrol_render(req, res, 200, &a, secret, sealed, NULL)
	                : http_reply_error(req, res, 500, "internal", "sealing failed", NULL);
	sodium_memzero(secret, sizeof(secret));
	free(sealed);
	return rc;
}

static int codes_render(struct http_request *req, struct http_response *res, struct recovery_set *codes,
                        int fresh)
{
	json_t *list = json_array();
	for (int i = 0; i < RECOVERY_CODE_COUNT; i++)
		json_array_append_new(list, json_string(codes->display[i]));
	recovery_set_wipe(codes);
	return auth_page_render(req, res, 200, "account_2fa_codes",
	                        json_pack("{s:o, s:b}", "codes", list, "fresh", fresh));
}

static const char *twofa_limit_key(const struct http_request *req, char *key, size_t n)
{
	snprintf(key, n, "2fa:%" PRId64, req->auth.account_id);
	return key;
}

int account_page_2fa_confirm(struct http_request *req, struct http_response *res)
{
	static const char *const names[] = {"pending", "code"};
	struct str v[2];
	struct account a;
	if (auth_page_bind(req, res, names, 2, v) < 0 || load_self(req, res, &a) < 0)
		return 0;
	if (a.has_2fa)
		return http_redirect(res, "/account/2fa");
	uint8_t secret[TOTP_SECRET_BYTES];
	const char *sealed = auth_page_cstr(req, v[0]);
	if (v[0].n == 0 || v[0].n > SEAL_TEXT_MAX || enrol_open(req, sealed, secret) < 0)
		return auth_page_render(
		    req, res, 410, "auth_message",
		    json_pack("{s:s, s:s, s:{s:s, s:s}}", "title", "Start again", "message",
		              "This set-up page has expired. Please start again.", "link", "href",
		              "/account/2fa", "label", "Set up two-factor authentication"));
	char key[48];
	int64_t retry = 0, step = 0;
	struct throttle *t = auth_page_throttle();
	twofa_limit_key(req, key, sizeof(key));
	if (!t || !throttle_check(t, key, strlen(key), LIMIT_2FA_FAILURES, clock_now_ms(), &retry)) {
		auth_page_retry_after(res, retry);
		int rc = enrol_render(req, res, 429, &a, secret, sealed, limited_text(req, retry));
		sodium_memzero(secret, sizeof(secret));
		return rc;
	}
	enum totp_verdict verdict =
	    v[1].n ? totp_verify(secret, v[1].p, v[1].n, TOTP_NO_STEP, &step) : TOTP_MALFORMED;
	if (verdict != TOTP_ACCEPTED) {
		throttle_hit(t, key, strlen(key), LIMIT_SIGNIN_WINDOW_MS, clock_now_ms());
		int rc = enrol_render(
		    req, res, 422, &a, secret, sealed,
		    "That code is not right. Check the time on your phone and enter the current code.");
		sodium_memzero(secret, sizeof(secret));
		return rc;
	}
	struct recovery_set codes;
	struct session_token tok;
	struct store_tx *tx = NULL;
	if (recovery_generate(&codes) < 0) {
		sodium_memzero(secret, sizeof(secret));
		return http_reply_error(req, res, 500, "internal", "no randomness", NULL);
	}
	struct account now_a;
	if (req_begin_global(req, STORE_WRITE, &tx) < 0 || account_get(tx, a.id, &now_a) != 1)
		goto db_fail;
	if (now_a.has_2fa) { /* turned on from another tab meanwhile */
		store_rollback(tx);
		sodium_memzero(secret, sizeof(secret));
		recovery_set_wipe(&codes);
		return http_redirect(res, "/account/2fa");
	}
	/* Turning 2FA on is a privilege change: the session token rotates. */
	if (account_totp_enable(tx, req->inst->keys, a.id, secret, step, &codes) < 0 ||
	    session_rotate(tx, req->auth.session_id, -1, &tok) < 0 ||
	    auth_page_audit(tx, req, a.id, "2fa.enabled", a.email, NULL) < 0)
		goto db_fail;
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto db_fail;
	}
	sodium_memzero(secret, sizeof(secret));
	throttle_reset(t, key, strlen(key));
	auth_page_session_cookie(req, res, tok.text);
	sodium_memzero(&tok, sizeof(tok));
	auth_page_audit_ws(req, a.id, "2fa.enabled", a.email);
	const char *paras[] = {
	    "Two-factor authentication is now on for your DropFix account: signing in needs a code "
	    "from your authenticator app (or one of your recovery codes).",
	    "If you did not do this, reset your password at once and contact your installation's "
	    "operator."};
	(void)auth_page_notify(req, a.email, a.name, "Two-factor authentication is on",
	                       "Two-factor authentication is on", paras, 2, NULL, NULL, NULL);
	return codes_render(req, res, &codes, 1);
db_fail:
	store_rollback(tx);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(&tok, sizeof(tok));
	recovery_set_wipe(&codes);
	return req_db_error(req, res);
}

int account_page_2fa_disable(struct http_request *req, struct http_response *res)
{
	static const char *const names[] = {"password", "code"};
	struct str v[2];
	struct account a;
	if (auth_page_bind(req, res, names, 2, v) < 0 || load_self(req, res, &a) < 0)
		return 0;
	if (!a.has_2fa)
		return http_redirect(res, "/account/2fa");
	if (v[0].n == 0 || v[1].n == 0)
		return twofa_status_render(req, res, 422, &a, v[0].n ? NULL : "Enter your current password.",
		                           v[1].n ? NULL : "Enter a code from your app or a recovery code.",
		                           NULL, "disable");
	char key[48];
	int64_t retry = 0;
	struct throttle *t = auth_page_throttle();
	twofa_limit_key(req, key, sizeof(key));
	if (!t || !throttle_check(t, key, strlen(key), LIMIT_2FA_FAILURES, clock_now_ms(), &retry)) {
		auth_page_retry_after(res, retry);
		return twofa_status_render(req, res, 429, &a, NULL, NULL, limited_text(req, retry),
		                           "disable");
	}
	enum reauth r = reauth(&a, v[0], &retry);
	if (r == REAUTH_WRONG)
		return twofa_status_render(req, res, 422, &a, "That is not your current password.", NULL,
		                           NULL, "disable");
	if (r != REAUTH_OK) {
		const char *fe = NULL;
		int st = reauth_status(req, res, r, retry, &fe);
		return twofa_status_render(req, res, st, &a, NULL, NULL, fe, "disable");
	}
	struct store_tx *tx = NULL;
	struct session_token tok;
	int via_recovery = 0;
	if (req_begin_global(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	int ok = auth_page_second_factor(tx, req->inst->keys, a.id, v[1], &via_recovery);
	if (ok < 0)
		goto db_fail;
	if (ok == 0) {
		store_rollback(tx);
		throttle_hit(t, key, strlen(key), LIMIT_SIGNIN_WINDOW_MS, clock_now_ms());
		return twofa_status_render(req, res, 422, &a, NULL,
		                           "That code is not right, or it was used already.", NULL,
		                           "disable");
	}
	if (account_totp_disable(tx, a.id) < 0 || session_rotate(tx, req->auth.session_id, -1, &tok) < 0 ||
	    auth_page_audit(tx, req, a.id, "2fa.disabled", a.email, NULL) < 0)
		goto db_fail;
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto db_fail;
	}
	auth_page_session_cookie(req, res, tok.text);
	sodium_memzero(&tok, sizeof(tok));
	auth_page_audit_ws(req, a.id, "2fa.disabled", a.email);
	const char *paras[] = {
	    "Two-factor authentication was turned off for your DropFix account.",
	    "If you did not do this, reset your password at once and contact your installation's "
	    "operator."};
	(void)auth_page_notify(req, a.email, a.name, "Two-factor authentication is off",
	                       "Two-factor authentication is off", paras, 2, NULL, NULL, NULL);
	return http_redirect(res, "/account/2fa?m=2fa_off");
db_fail:
	store_rollback(tx);
	sodium_memzero(&tok, sizeof(tok));
	return req_db_error(req, res);
}

int account_page_2fa_recovery(struct http_request *req, struct http_response *res)
{
	static const char *const names[] = {"password"};
	struct str v[1];
	struct account a;
	if (auth_page_bind(req, res, names, 1, v) < 0 || load_self(req, res, &a) < 0)
		return 0;
	if (!a.has_2fa)
		return http_redirect(res, "/account/2fa");
	if (v[0].n == 0)
		return twofa_status_render(req, res, 422, &a, "Enter your current password.", NULL, NULL,
		                           "recovery");
	int64_t retry = 0;
	enum reauth r = reauth(&a, v[0], &retry);
	if (r == REAUTH_WRONG)
		return twofa_status_render(req, res, 422, &a, "That is not your current password.", NULL,
		                           NULL, "recovery");
	if (r != REAUTH_OK) {
		const char *fe = NULL;
		int st = reauth_status(req, res, r, retry, &fe);
		return twofa_status_render(req, res, st, &a, NULL, NULL, fe, "recovery");
	}
	struct recovery_set codes;
	struct store_tx *tx = NULL;
	if (recovery_generate(&codes) < 0)
		return http_reply_error(req, res, 500, "internal", "no randomness", NULL);
	if (req_begin_global(req, STORE_WRITE, &tx) < 0 || account_recovery_replace(tx, a.id, &codes) < 0 ||
	    auth_page_audit(tx, req, a.id, "2fa.recovery_regenerated", a.email, NULL) < 0 ||
	    store_commit(tx) < 0) {
		store_rollback(tx);
		recovery_set_wipe(&codes);
		return req_db_error(req, res);
	}
	auth_page_audit_ws(req, a.id, "2fa.recovery_regenerated", a.email);
	return codes_render(req, res, &codes, 0);
}

/* ---- sessions ---- */

static json_t *time_text(int64_t ms)
{
	char t[32];
	if (clock_format_ms(ms, t, sizeof(t)) < 0)
		return json_string("");
	t[16] = '\0'; /* "YYYY-MM-DDTHH:MM" */
	t[10] = ' ';
	char out[40];
	snprintf(out, sizeof(out), "%s UTC", t);
	return json_string(out);
}

int account_page_sessions(struct http_request *req, struct http_response *res)
{
	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	int64_t now = clock_now_ms();
	if (req_begin_global(req, STORE_READ, &tx) < 0)
		return req_db_error(req, res);
	if (store_query(tx,
	                "SELECT id, created_at, last_seen_at, user_agent, stage FROM sessions WHERE "
	                "account_id = $1 AND "
	                "expires_at > $2 AND last_seen_at >= $3 ORDER BY last_seen_at DESC, id LIMIT 100",
	                STORE_ARGS(SP_I64(req->auth.account_id), SP_I64(now), SP_I64(now - SESSION_IDLE_MS)),
	                &r) < 0) {
		store_rollback(tx);
		return req_db_error(req, res);
	}
	json_t *list = json_array();
	int st;
	while ((st = store_step(r)) == 1) {
		size_t n = 0;
		const char *ua = store_col_text(r, 3, &n);
		json_t *ua_j = ua && n ? json_stringn(ua, n) : NULL;
		int64_t id = store_col_i64(r, 0);
		json_t *row =
		    json_pack("{s:I, s:o, s:o, s:o, s:b, s:b}", "id", (json_int_t)id, "created",
		              time_text(store_col_i64(r, 1)), "last_seen", time_text(store_col_i64(r, 2)),
		              "user_agent", ua_j ? ua_j : json_string("unknown browser"), "current",
		              id == req->auth.session_id, "pending", store_col_i64(r, 4) == 0);
		if (row)
			json_array_append_new(list, row);
	}
	store_rows_close(r);
	store_rollback(tx);
	if (st < 0) {
		json_decref(list);
		return req_db_error(req, res);
	}
	json_t *ctx = json_pack("{s:o}", "sessions", list);
	add_notice(req, ctx);
	return auth_page_render(req, res, 200, "account_sessions", ctx);
}

int account_page_session_revoke(struct http_request *req, struct http_response *res)
{
	struct str none[1];
	if (auth_page_bind(req, res, NULL, 0, none) < 0)
		return 0;
	struct str idp = http_param(req, "id");
	int64_t id;
	if (parse_i64(idp.p, idp.n, 1, INT64_C(9007199254740991), &id) < 0)
		return http_reply_error(req, res, 404, "not_found", "no such session", NULL);
	struct store_tx *tx = NULL;
	char target[24];
	snprintf(target, sizeof(target), "%" PRId64, id);
	if (req_begin_global(req, STORE_WRITE, &tx) < 0 || session_revoke(tx, req->auth.account_id, id) < 0)
		goto db_fail;
	int64_t gone = store_changes(tx);
	if (gone == 1 && auth_page_audit(tx, req, req->auth.account_id, "session.revoked", target, NULL) < 0)
		goto db_fail;
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto db_fail;
	}
	if (gone == 1)
		auth_page_audit_ws(req, req->auth.account_id, "session.revoked", target);
	if (id == req->auth.session_id) {
		auth_page_session_cookie(req, res, NULL);
		return http_redirect(res, "/auth/login?m=signedout");
	}
	return http_redirect(res, "/account/sessions?m=revoked");
db_fail:
	store_rollback(tx);
	return req_db_error(req, res);
}

int account_page_sessions_revoke_all(struct http_request *req, struct http_response *res)
{
	struct str none[1];
	if (auth_page_bind(req, res, NULL, 0, none) < 0)
		return 0;
	struct store_tx *tx = NULL;
	/* Deleting the rows ends the current tokens and the grace tokens alike. */
	if (req_begin_global(req, STORE_WRITE, &tx) < 0 ||
	    session_revoke_all(tx, req->auth.account_id, 0) < 0 ||
	    auth_page_audit(tx, req, req->auth.account_id, "session.revoked_all", NULL, NULL) < 0 ||
	    store_commit(tx) < 0) {
		store_rollback(tx);
		return req_db_error(req, res);
	}
	auth_page_audit_ws(req, req->auth.account_id, "session.revoked_all", NULL);
	auth_page_session_cookie(req, res, NULL);
	return http_redirect(res, "/auth/login?m=signedout");
}
