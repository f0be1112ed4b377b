#include "web/web_test_hooks.h"

#ifdef DROPFIX_TEST_HOOKS

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/account.h"
#include "auth/recovery.h"
#include "auth/session.h"
#include "auth/totp.h"
#include "cli/install.h"
#include "core/clock.h"
#include "core/parse.h"
#include "http/json.h"
#include "http/reqdb.h"

/* Loads the JSON body and finds the account of its "email". 1, 0 (answered 404/400), -1. */
static int body_account(struct http_request *req, struct http_response *res, json_t **body,
                        struct store_tx *tx, struct account *acc)
{
	struct jsonin_error jerr = {0};
	if (jsonin_load(req->body.p ? req->body.p : "", req->body.n, 4096, body, &jerr) < 0) {
		http_reply_error(req, res, 400, jerr.code, jerr.message, NULL);
		return 0;
	}
	const char *email = json_string_value(json_object_get(*body, "email"));
	char norm[LIMIT_MAIL_ADDR + 1];
	if (!email || account_email_normalize(email, strlen(email), norm) < 0) {
		http_reply_error(req, res, 400, "invalid_field", "email", "/email");
		return 0;
	}
	int found = account_find_by_email(tx, norm, acc);
	if (found == 0)
		http_reply_error(req, res, 404, "not_found", "no such account", NULL);
	return found;
}

int webtest_session(struct http_request *req, struct http_response *res)
{
	struct store_tx *tx = NULL;
	json_t *body = NULL;
	struct account acc;
	struct session_token tok;
	struct session_info si;
	int64_t sid = 0;
	if (req_begin_global(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	int found = body_account(req, res, &body, tx, &acc);
	if (found <= 0) {
		store_rollback(tx);
		json_decref(body);
		return found < 0 ? req_db_error(req, res) : 0;
	}
	json_decref(body);
	if (session_create(tx, acc.id, SESSION_FULL, "test", &tok, &sid) < 0 ||
	    session_lookup(tx, tok.text, clock_now_ms(), &si) != 1 || store_commit(tx) < 0) {
		store_rollback(tx);
		return req_db_error(req, res);
	}
	char cookie[128];
	snprintf(cookie, sizeof(cookie), "%s=%s", session_cookie_name(req->cfg), tok.text);
	return http_reply_json(
	    res, 200,
	    json_pack("{s:I,s:s,s:s}", "account_id", (json_int_t)acc.id, "cookie", cookie, "csrf", si.csrf));
}

int webtest_2fa(struct http_request *req, struct http_response *res)
{
	struct store_tx *tx = NULL;
	json_t *body = NULL;
	struct account acc;
	if (req_begin_global(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	int found = body_account(req, res, &body, tx, &acc);
	if (found <= 0) {
		store_rollback(tx);
		json_decref(body);
		return found < 0 ? req_db_error(req, res) : 0;
	}
	int on = json_is_true(json_object_get(body, "on"));
	json_decref(body);
	int rc;
	if (on) {
		uint8_t secret[TOTP_SECRET_BYTES];
		struct recovery_set codes;
		rc = totp_secret_generate(secret) < 0 || recovery_generate(&codes) < 0
		         ? -1
		         : account_totp_enable(tx, req->inst->keys, acc.id, secret, TOTP_NO_STEP, &codes);
		sodium_memzero(secret, sizeof(secret));
		recovery_set_wipe(&codes);
	} else {
		rc = account_totp_disable(tx, acc.id);
	}
	if (rc < 0 || store_commit(tx) < 0) {
		store_rollback(tx);
		return req_db_error(req, res);
	}
	return http_reply_json(res, 200, json_pack("{s:b}", "on", on));
}

int webtest_ws_rows(struct http_request *req, struct http_response *res)
{
	static const char *const global_sql[][2] = {
	    {"workspaces", "SELECT count(*) FROM workspaces WHERE id = $1"},
	    {"memberships", "SELECT count(*) FROM memberships WHERE workspace_id = $1"},
	    {"invites", "SELECT count(*) FROM invites WHERE workspace_id = $1"},
	    {"workspace_keys", "SELECT count(*) FROM workspace_keys WHERE workspace_id = $1"},
	    {"api_tokens", "SELECT count(*) FROM api_tokens WHERE workspace_id = $1"},
	    {"jobs", "SELECT count(*) FROM jobs WHERE workspace_id = $1"},
	    {"retired", "SELECT count(*) FROM workspace_ids WHERE id = $1 AND deleted_at IS NOT NULL"},
	};
	static const char *const tenant_sql[][2] = {
	    {"workspace_audit", "SELECT count(*) FROM workspace_audit WHERE workspace_id = $1"},
	    {"workspace_secrets", "SELECT count(*) FROM workspace_secrets WHERE workspace_id = $1"},
	};
	struct str p = http_param(req, "id");
	int64_t ws;
	if (parse_i64(p.p, p.n, 1, INT64_C(9007199254740991), &ws) < 0)
		return http_reply_error(req, res, 400, "invalid_field", "id", NULL);
	json_t *out = json_object();
	struct store_tx *tx = NULL;
	if (req_begin_global(req, STORE_READ, &tx) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(global_sql) / sizeof(global_sql[0]); i++) {
		int64_t n = 0;
		if (store_query_i64(tx, global_sql[i][1], STORE_ARGS(SP_I64(ws)), &n) < 0)
			goto fail;
		json_object_set_new(out, global_sql[i][0], json_integer(n));
	}
	store_rollback(tx);
	tx = NULL;
	struct store_conn *c = req_conn(req);
	if (!c || store_begin_ws(c, ws, STORE_READ, &tx) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(tenant_sql) / sizeof(tenant_sql[0]); i++) {
		int64_t n = 0;
		if (store_query_i64(tx, tenant_sql[i][1], STORE_NO_ARGS, &n) < 0)
			goto fail;
		json_object_set_new(out, tenant_sql[i][0], json_integer(n));
	}
	store_rollback(tx);
	return http_reply_json(res, 200, out);
fail:
	store_rollback(tx);
	json_decref(out);
	return req_db_error(req, res);
}

#endif
