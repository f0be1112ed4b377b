#include "auth/api_token.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth_pages.h"
#include "auth/guard.h"
#include "auth/throttle.h"
#include "core/clock.h"
#include "core/limits.h"
#include "web/shell.h"

static int b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_';
}

int api_token_shape_ok(const char *s, size_t n)
{
	if (!s || n != API_TOKEN_CHARS || memcmp(s, API_TOKEN_PREFIX, API_TOKEN_PREFIX_LEN) != 0)
		return 0;
	for (size_t i = API_TOKEN_PREFIX_LEN; i < n; i++)
		if (!b64url_char(s[i]))
			return 0;
	/* 32 bytes in 43 characters: the last one carries 4 bits and 2 zero bits, so only
	 * one text decodes to each token (no second spelling with other trailing bits) */
	return strchr("AEIMQUYcgkosw048", s[n - 1]) != NULL;
}

void api_token_generate(struct api_token_text *out)
{
	unsigned char raw[API_TOKEN_RANDOM_BYTES];
	randombytes_buf(raw, sizeof(raw));
	memcpy(out->s, API_TOKEN_PREFIX, API_TOKEN_PREFIX_LEN);
	sodium_bin2base64(out->s + API_TOKEN_PREFIX_LEN, sizeof(out->s) - API_TOKEN_PREFIX_LEN, raw,
	                  sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

void api_token_wipe(struct api_token_text *t)
{
	if (t)
		sodium_memzero(t, sizeof(*t));
}

static void token_hash(const char *s, size_t n, unsigned char out[crypto_hash_sha256_BYTES])
{
	crypto_hash_sha256(out, (const unsigned char *)s, n);
}

enum role api_token_role_parse(const char *s, size_t n)
{
	enum role r = guard_role_parse(s, n);
	return r == ROLE_OWNER ? ROLE_NONE : r;
}

int api_token_create(struct store_tx *tx, int64_t ws, int64_t account_id, const char *name, size_t name_n,
                     enum role role, int64_t now, int64_t expires_at, struct api_token_text *out,
                     int64_t *id_out, char display[API_TOKEN_DISPLAY_CHARS + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char prefix[API_TOKEN_DISPLAY_CHARS + 1];
	if (role < ROLE_VIEWER || role > ROLE_ADMIN || !name || name_n == 0 || name_n > API_TOKEN_NAME_MAX) {
		api_token_wipe(out);
		return -1;
	}
	api_token_generate(out);
	token_hash(out->s, API_TOKEN_CHARS, h);
	memcpy(prefix, out->s, API_TOKEN_DISPLAY_CHARS);
	prefix[API_TOKEN_DISPLAY_CHARS] = '\0';
	int64_t id = store_random_id();
	if (shell_ws_exec(tx, ws,
	            "INSERT INTO api_tokens (id, token_hash, workspace_id, account_id, name, created_at, "
	            "display_prefix, role, expires_at) VALUES ($2, $3, $1, $4, $5, $6, $7, $8, $9)",
	            STORE_ARGS(SP_I64(id), SP_BLOB(h, sizeof(h)), SP_I64(account_id), SP_TEXTN(name, name_n),
	                       SP_I64(now), SP_TEXT(prefix), SP_TEXT(guard_role_name(role)),
	                       expires_at > 0 ? SP_I64(expires_at) : SP_NULL)) < 0) {
		api_token_wipe(out);
		return -1;
	}
	if (id_out)
		*id_out = id;
	if (display)
		memcpy(display, prefix, sizeof(prefix));
	return 0;
}

int api_token_lookup(struct store_tx *tx, const char *s, size_t n, int64_t now, struct api_token_auth *out)
{
	if (!api_token_shape_ok(s, n))
		return 0;
	unsigned char h[crypto_hash_sha256_BYTES];
	token_hash(s, n, h);
	struct store_rows *r = NULL;
	/* The lookup is by the hash of a 256-bit secret (an index probe on token_hash): what
	 * timing could reveal is about the hash, which tells nothing about another token. */
	if (store_query(
	        tx,
	        "SELECT t.id, t.workspace_id, t.account_id, t.role, t.last_used_at, t.display_prefix, "
	        "m.role, w.require_2fa, a.totp_sealed IS NOT NULL, a.is_staff "
	        "FROM api_tokens t "
	        "JOIN accounts a ON a.id = t.account_id "
	        "JOIN memberships m ON m.workspace_id = t.workspace_id AND m.account_id = t.account_id "
	        "JOIN workspaces w ON w.id = t.workspace_id "
	        "WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at "
	        "> $2) "
	        "AND a.disabled_at IS NULL",
	        STORE_ARGS(SP_BLOB(h, sizeof(h)), SP_I64(now)), &r) < 0)
		return -1;
	int st = store_step(r);
	if (st == 1) {
		memset(out, 0, sizeof(*out));
		size_t tn = 0, mn = 0, dn = 0;
		const char *trole = store_col_text(r, 3, &tn);
		const char *mrole = store_col_text(r, 6, &mn);
		const char *d = store_col_text(r, 5, &dn);
		enum role tr = trole ? api_token_role_parse(trole, tn) : ROLE_NONE;
		enum role mr = mrole ? guard_role_parse(mrole, mn) : ROLE_NONE;
		out->id = store_col_i64(r, 0);
		out->workspace_id = store_col_i64(r, 1);
		out->account_id = store_col_i64(r, 2);
		out->role = tr < mr ? tr : mr;
		out->last_used_at = store_col_is_null(r, 4) ? 0 : store_col_i64(r, 4);
		out->require_2fa = store_col_i64(r, 7) != 0;
		out->creator_has_2fa = store_col_i64(r, 8) != 0;
		out->is_staff = store_col_i64(r, 9) != 0;
		if (d && dn <= API_TOKEN_DISPLAY_CHARS) {
			memcpy(out->display, d, dn);
			out->display[dn] = '\0';
		}
		if (out->role == ROLE_NONE)
			st = 0;
	}
	store_rows_close(r);
	sodium_memzero(h, sizeof(h));
	return st;
}

int api_token_touch(struct store_tx *tx, int64_t id, int64_t now)
{
	return store_exec(
	    tx,
	    "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR "
	    "last_used_at < $2)",
	    STORE_ARGS(SP_I64(id), SP_I64(now)));
}

int api_token_revoke(struct store_tx *tx, int64_t ws, int64_t id, int64_t now,
                     char display[API_TOKEN_DISPLAY_CHARS + 1])
{
	struct store_rows *r = NULL;
	if (shell_ws_query(tx, ws,
	             "SELECT display_prefix FROM api_tokens WHERE workspace_id = $1 AND id = $2 AND "
	             "revoked_at IS NULL",
	             STORE_ARGS(SP_I64(id)), &r) < 0)
		return -1;
	int st = store_step(r);
	if (st == 1 && display) {
		size_t dn = 0;
		const char *d = store_col_text(r, 0, &dn);
		if (!d || dn > API_TOKEN_DISPLAY_CHARS)
			dn = 0;
		if (dn)
			memcpy(display, d, dn);
		display[dn] = '\0';
	}
	store_rows_close(r);
	if (st != 1)
		return st;
	if (shell_ws_exec(tx, ws, "UPDATE api_tokens SET revoked_at = $3 WHERE workspace_id = $1 AND id = $2",
	            STORE_ARGS(SP_I64(id), SP_I64(now))) < 0)
		return -1;
	return 1;
}

static json_t *text_or_empty(struct store_rows *r, int col)
{
	size_t n = 0;
	const char *s = store_col_text(r, col, &n);
	json_t *j = s ? json_stringn(s, n) : NULL;
	return j ? j : json_string("");
}

static json_t *ms_or_null(struct store_rows *r, int col)
{
	return store_col_is_null(r, col) ? json_null() : json_integer(store_col_i64(r, col));
}

json_t *api_token_list(struct store_tx *tx, int64_t ws, size_t limit)
{
	struct store_rows *r = NULL;
	json_t *list = json_array();
	if (!list)
		return NULL;
	if (shell_ws_query(tx, ws,
	             "SELECT t.id, t.name, t.display_prefix, t.role, COALESCE(NULLIF(a.name, ''), a.email), "
	             "t.created_at, t.last_used_at, t.expires_at, t.revoked_at "
	             "FROM api_tokens t LEFT JOIN accounts a ON a.id = t.account_id "
	             "WHERE t.workspace_id = $1 ORDER BY t.created_at DESC, t.id LIMIT $2",
	             STORE_ARGS(SP_I64((int64_t)limit)), &r) < 0)
		goto fail;
	int st;
	while ((st = store_step(r)) == 1) {
		json_t *row =
		    json_pack("{s:I,s:o,s:o,s:o,s:o,s:I,s:o,s:o,s:o}", "id", (json_int_t)store_col_i64(r, 0),
		              "name", text_or_empty(r, 1), "display_prefix", text_or_empty(r, 2), "role",
		              text_or_empty(r, 3), "created_by", text_or_empty(r, 4), "created_at",
		              (json_int_t)store_col_i64(r, 5), "last_used_at", ms_or_null(r, 6), "expires_at",
		              ms_or_null(r, 7), "revoked_at", ms_or_null(r, 8));
		if (!row || json_array_append_new(list, row) < 0)
			goto fail;
	}
	if (st < 0)
		goto fail;
	store_rows_close(r);
	return list;
fail:
	store_rows_close(r);
	json_decref(list);
	return NULL;
}

/* ---- failed attempts per client IP ---- */

static void attempt_key(const char *ip, char *out, size_t outlen)
{
	snprintf(out, outlen, "apitoken-ip:%s", ip ? ip : "");
}

int api_token_attempt_allowed(const char *ip, int64_t *retry_after_s)
{
	struct throttle *t = auth_page_throttle();
	char key[96];
	if (!t) {
		*retry_after_s = 60;
		return 0;
	}
	attempt_key(ip, key, sizeof(key));
	return throttle_check(t, key, strlen(key), LIMIT_API_TOKEN_FAILURES, clock_now_ms(), retry_after_s);
}

void api_token_attempt_failed(const char *ip)
{
	struct throttle *t = auth_page_throttle();
	char key[96];
	if (!t)
		return;
	attempt_key(ip, key, sizeof(key));
	throttle_hit(t, key, strlen(key), LIMIT_API_TOKEN_WINDOW_MS, clock_now_ms());
}
