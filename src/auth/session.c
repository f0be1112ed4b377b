#include "auth/session.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"

static const char CSRF_LABEL[] = "dropfix-csrf-v1";

void session_random_token(char out[SESSION_TOKEN_CHARS + 1])
{
	unsigned char raw[32];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, SESSION_TOKEN_CHARS + 1, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

int session_token_eq(const char *a, const char *b)
{
	size_t n = strlen(a);
	return n == strlen(b) && n > 0 && sodium_memcmp(a, b, n) == 0;
}

static void token_hash(const char *token, unsigned char out[crypto_hash_sha256_BYTES])
{
	crypto_hash_sha256(out, (const unsigned char *)token, strlen(token));
}

static void csrf_from_secret(const unsigned char *secret, size_t n, char out[SESSION_CSRF_CHARS + 1])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, secret, n);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)CSRF_LABEL, sizeof(CSRF_LABEL) - 1);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2base64(out, SESSION_CSRF_CHARS + 1, mac, sizeof(mac), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int session_create(struct store_tx *tx, int64_t account_id, int stage, const char *user_agent,
		   struct session_token *out, int64_t *id_out)
{
	unsigned char hash[crypto_hash_sha256_BYTES], secret[32];
	int64_t now = clock_now_ms();
	int64_t id = store_random_id();
	session_random_token(out->text);
	token_hash(out->text, hash);
	randombytes_buf(secret, sizeof(secret));
	size_t ua_len = user_agent ? strnlen(user_agent, 200) : 0;
	int rc = store_exec(tx,
			    "INSERT INTO sessions (id, account_id, token_hash, csrf_secret, stage, created_at, "
			    "last_seen_at, rotated_at, expires_at, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $6, $6, $7, $8)",
			    STORE_ARGS(SP_I64(id), SP_I64(account_id), SP_BLOB(hash, sizeof(hash)),
				       SP_BLOB(secret, sizeof(secret)), SP_I64(stage), SP_I64(now),
				       SP_I64(now + SESSION_ABSOLUTE_MS), SP_TEXTN(user_agent ? user_agent : "", ua_len)));
	sodium_memzero(secret, sizeof(secret));
	if (rc == 0 && id_out)
		*id_out = id;
	return rc;
}

int session_lookup(struct store_tx *tx, const char *token, int64_t now, struct session_info *out)
{
	if (!token || strlen(token) != SESSION_TOKEN_CHARS)
		return 0;
	unsigned char hash[crypto_hash_sha256_BYTES];
	token_hash(token, hash);
	struct store_rows *r = NULL;
	if (store_query(tx,
			"SELECT s.id, s.account_id, s.stage, s.csrf_secret, s.created_at, s.last_seen_at, s.rotated_at, "
			"s.expires_at, s.token_hash = $1, a.is_staff, a.totp_sealed IS NOT NULL, a.disabled_at IS NOT NULL "
			"FROM sessions s JOIN accounts a ON a.id = s.account_id "
			"WHERE s.token_hash = $1 OR (s.prev_token_hash = $1 AND s.prev_valid_until >= $2)",
			STORE_ARGS(SP_BLOB(hash, sizeof(hash)), SP_I64(now)), &r) < 0)
		return -1;
	int st = store_step(r);
	int found = 0;
	if (st == 1) {
		memset(out, 0, sizeof(*out));
		out->id = store_col_i64(r, 0);
		out->account_id = store_col_i64(r, 1);
		out->stage = (int)store_col_i64(r, 2);
		size_t sn = 0;
		const void *secret = store_col_blob(r, 3, &sn);
		out->created_at = store_col_i64(r, 4);
		out->last_seen_at = store_col_i64(r, 5);
		out->rotated_at = store_col_i64(r, 6);
		out->expires_at = store_col_i64(r, 7);
		out->is_current = store_col_i64(r, 8) != 0;
		out->is_staff = store_col_i64(r, 9) != 0;
		out->has_2fa = store_col_i64(r, 10) != 0;
		int disabled = store_col_i64(r, 11) != 0;
		if (secret && sn >= 16)
			csrf_from_secret(secret, sn, out->csrf);
		found = secret && sn >= 16 && !disabled && now < out->expires_at &&
			now - out->last_seen_at <= SESSION_IDLE_MS;
	}
	store_rows_close(r);
	return st < 0 ? -1 : found;
}

int session_rotate(struct store_tx *tx, int64_t id, int stage, struct session_token *out)
{
	unsigned char hash[crypto_hash_sha256_BYTES];
	int64_t now = clock_now_ms();
	session_random_token(out->text);
	token_hash(out->text, hash);
	return store_exec(tx,
			  "UPDATE sessions SET prev_token_hash = token_hash, prev_valid_until = $2, token_hash = $3, "
			  "rotated_at = $4, last_seen_at = $4, stage = CASE WHEN $5 < 0 THEN stage ELSE $5 END WHERE id = $1",
			  STORE_ARGS(SP_I64(id), SP_I64(now + SESSION_GRACE_MS), SP_BLOB(hash, sizeof(hash)), SP_I64(now),
				     SP_I64(stage)));
}

int session_touch(struct store_tx *tx, int64_t id, int64_t now)
{
	return store_exec(tx, "UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2",
			  STORE_ARGS(SP_I64(id), SP_I64(now)));
}

int session_revoke(struct store_tx *tx, int64_t account_id, int64_t id)
{
	return store_exec(tx, "DELETE FROM sessions WHERE id = $1 AND account_id = $2",
			  STORE_ARGS(SP_I64(id), SP_I64(account_id)));
}

int session_revoke_all(struct store_tx *tx, int64_t account_id, int64_t keep_id)
{
	return store_exec(tx, "DELETE FROM sessions WHERE account_id = $1 AND id <> $2",
			  STORE_ARGS(SP_I64(account_id), SP_I64(keep_id)));
}

const char *session_cookie_name(const struct config *cfg)
{
	return cfg->base_url_https ? "__Host-dropfix_session" : "dropfix_session";
}

const char *session_csrf_cookie_name(const struct config *cfg)
{
	return cfg->base_url_https ? "__Host-dropfix_csrf" : "dropfix_csrf";
}

int session_cookie(const struct config *cfg, const char *name, const char *value, int64_t max_age_s, char *out,
		   size_t outlen)
{
	int n = snprintf(out, outlen, "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Lax%s", name,
			 max_age_s > 0 ? value : "", (long long)(max_age_s > 0 ? max_age_s : 0),
			 cfg->base_url_https ? "; Secure" : "");
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}
