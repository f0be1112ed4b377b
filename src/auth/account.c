#include "auth/account.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "crypto/seal.h"
#include "mail/mail.h"

#define RECOVERY_USED "used"

/* ---- addresses ---- */

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

void account_email_key(const char *in, size_t n, char *out, size_t outlen)
{
	while (n && is_space(in[0])) {
		in++;
		n--;
	}
	while (n && is_space(in[n - 1]))
		n--;
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < outlen; i++) {
		char c = in[i];
		out[k++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	if (outlen)
		out[k] = '\0';
}

int account_email_normalize(const char *in, size_t n, char out[LIMIT_MAIL_ADDR + 1])
{
	char tmp[LIMIT_MAIL_ADDR + 2];
	account_email_key(in, n, tmp, sizeof(tmp));
	out[0] = '\0';
	if (strlen(tmp) > LIMIT_MAIL_ADDR || memchr(in, '\0', n) || !mail_addr_valid(tmp))
		return -1;
	memcpy(out, tmp, strlen(tmp) + 1);
	return 0;
}

/* ---- records ---- */

#define ACCOUNT_COLS                                                                                         \
	"id, email, name, password_hash, verified_at IS NOT NULL, totp_sealed IS NOT NULL, is_staff, "       \
	"disabled_at IS NOT NULL, created_at"

static void copy_text(struct store_rows *r, int col, char *out, size_t outlen)
{
	size_t n = 0;
	const char *s = store_col_text(r, col, &n);
	if (!s || n >= outlen)
		n = 0;
	if (s && n)
		memcpy(out, s, n);
	out[n] = '\0';
}

static int read_account(struct store_tx *tx, const char *sql, struct store_param p, struct account *out)
{
	struct store_rows *r = NULL;
	if (store_query(tx, sql, &p, 1, &r) < 0)
		return -1;
	int st = store_step(r);
	if (st == 1) {
		memset(out, 0, sizeof(*out));
		out->id = store_col_i64(r, 0);
		copy_text(r, 1, out->email, sizeof(out->email));
		copy_text(r, 2, out->name, sizeof(out->name));
		copy_text(r, 3, out->password_hash, sizeof(out->password_hash));
		out->verified = store_col_i64(r, 4) != 0;
		out->has_2fa = store_col_i64(r, 5) != 0;
		out->is_staff = store_col_i64(r, 6) != 0;
		out->disabled = store_col_i64(r, 7) != 0;
		out->created_at = store_col_i64(r, 8);
	}
	store_rows_close(r);
	return st < 0 ? -1 : st;
}

int account_find_by_email(struct store_tx *tx, const char *email, struct account *out)
{
	return read_account(tx, "SELECT " ACCOUNT_COLS " FROM accounts WHERE email = $1", SP_TEXT(email),
	                    out);
}

int account_get(struct store_tx *tx, int64_t id, struct account *out)
{
	return read_account(tx, "SELECT " ACCOUNT_COLS " FROM accounts WHERE id = $1", SP_I64(id), out);
}

int account_any(struct store_tx *tx)
{
	int64_t one = 0;
	return store_query_i64(tx, "SELECT 1 FROM accounts LIMIT 1", STORE_NO_ARGS, &one);
}

int account_create(struct store_tx *tx, const struct account_new *a, int64_t *id_out)
{
	struct account existing;
	int found = account_find_by_email(tx, a->email, &existing);
	if (found != 0)
		return found < 0 ? -1 : ACCOUNT_E_EXISTS;
	int64_t now = clock_now_ms();
	int64_t id = store_random_id();
	if (store_exec(tx,
	               "INSERT INTO accounts (id, email, name, password_hash, verified_at, "
	               "password_changed_at, created_at, "
	               "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $6)",
	               STORE_ARGS(SP_I64(id), SP_TEXT(a->email), SP_TEXT(a->name ? a->name : ""),
	                          a->password_hash ? SP_TEXT(a->password_hash) : SP_NULL,
	                          a->verified ? SP_I64(now) : SP_NULL, SP_I64(now))) < 0)
		return -1;
	*id_out = id;
	return 0;
}

int account_set_verified(struct store_tx *tx, int64_t id)
{
	int64_t now = clock_now_ms();
	return store_exec(
	    tx, "UPDATE accounts SET verified_at = $2, updated_at = $2 WHERE id = $1 AND verified_at IS NULL",
	    STORE_ARGS(SP_I64(id), SP_I64(now)));
}

int account_set_password(struct store_tx *tx, int64_t id, const char *hash, int64_t keep_session_id)
{
	int64_t now = clock_now_ms();
	if (store_exec(tx,
	               "UPDATE accounts SET password_hash = $2, password_changed_at = $3, updated_at = $3 "
	               "WHERE id = $1",
	               STORE_ARGS(SP_I64(id), SP_TEXT(hash), SP_I64(now))) < 0 ||
	    store_exec(tx, "DELETE FROM password_resets WHERE account_id = $1", STORE_ARGS(SP_I64(id))) < 0)
		return -1;
	return session_revoke_all(tx, id, keep_session_id);
}

int account_rehash(struct store_tx *tx, int64_t id, const char *old_hash, const char *new_hash)
{
	return store_exec(tx, "UPDATE accounts SET password_hash = $3 WHERE id = $1 AND password_hash = $2",
	                  STORE_ARGS(SP_I64(id), SP_TEXT(old_hash), SP_TEXT(new_hash)));
}

int account_change_email(struct store_tx *tx, int64_t id, const char *new_email)
{
	struct account other;
	int found = account_find_by_email(tx, new_email, &other);
	if (found < 0)
		return -1;
	if (found == 1)
		return other.id == id ? 0 : ACCOUNT_E_EXISTS;
	int64_t now = clock_now_ms();
	if (store_exec(tx, "UPDATE accounts SET email = $2, verified_at = $3, updated_at = $3 WHERE id = $1",
	               STORE_ARGS(SP_I64(id), SP_TEXT(new_email), SP_I64(now))) < 0 ||
	    store_exec(tx, "DELETE FROM password_resets WHERE account_id = $1", STORE_ARGS(SP_I64(id))) < 0 ||
	    store_exec(tx, "DELETE FROM email_verifications WHERE account_id = $1 AND used_at IS NULL",
	               STORE_ARGS(SP_I64(id))) < 0)
		return -1;
	return 0;
}

int account_claim_failed_alert(struct store_tx *tx, int64_t id)
{
	int64_t now = clock_now_ms();
	if (store_exec(tx,
	               "UPDATE accounts SET failed_alert_at = $2 WHERE id = $1 AND "
	               "(failed_alert_at IS NULL OR failed_alert_at <= $3 OR failed_alert_at > $2)",
	               STORE_ARGS(SP_I64(id), SP_I64(now), SP_I64(now - ACCOUNT_ALERT_EVERY_MS))) < 0)
		return -1;
	return store_changes(tx) == 1;
}

int account_authenticate(struct store_conn *c, const char *email, const char *pw, size_t n,
                         struct account *out, int *needs_rehash)
{
	struct store_tx *tx = NULL;
	memset(out, 0, sizeof(*out));
	*needs_rehash = 0;
	if (store_begin_global(c, STORE_READ, &tx) < 0)
		return -1;
	int found = account_find_by_email(tx, email, out);
	store_rollback(tx);
	if (found < 0)
		return -1;
	if (found == 0)
		memset(out, 0, sizeof(*out));
	/* Always exactly one verification: the account's hash, or the dummy. */
	enum password_result pr = password_verify(found ? out->password_hash : NULL, pw, n, needs_rehash);
	if (pr == PASSWORD_OK && out->disabled)
		pr = PASSWORD_MISMATCH;
	return (int)pr;
}

/* ---- tokens ---- */

static void token_hash(const char *token, unsigned char h[crypto_hash_sha256_BYTES])
{
	crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
}

/* 1 when token has the shape of one of ours (so lookups never hash huge input). */
static int token_shape_ok(const char *token)
{
	return token && strlen(token) == ACCOUNT_TOKEN_CHARS;
}

int account_verification_create(struct store_tx *tx, int64_t id, const char *email, struct account_token *out)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	int64_t now = clock_now_ms();
	session_random_token(out->text);
	token_hash(out->text, h);
	return store_exec(
	    tx,
	    "INSERT INTO email_verifications (token_hash, account_id, email, created_at, expires_at) "
	    "VALUES ($1, $2, $3, $4, $5)",
	    STORE_ARGS(SP_BLOB(h, sizeof(h)), SP_I64(id), SP_TEXT(email), SP_I64(now),
	               SP_I64(now + ACCOUNT_VERIFY_TTL_MS)));
}

static int token_row(struct store_tx *tx, const char *sql, const char *token, int64_t *id, char *email)
{
	if (!token_shape_ok(token))
		return 0;
	unsigned char h[crypto_hash_sha256_BYTES];
	token_hash(token, h);
	struct store_rows *r = NULL;
	if (store_query(tx, sql, STORE_ARGS(SP_BLOB(h, sizeof(h)), SP_I64(clock_now_ms())), &r) < 0)
		return -1;
	int st = store_step(r);
	if (st == 1) {
		*id = store_col_i64(r, 0);
		if (email)
			copy_text(r, 1, email, LIMIT_MAIL_ADDR + 1);
	}
	store_rows_close(r);
	return st < 0 ? -1 : st;
}

int account_verification_peek(struct store_tx *tx, const char *token, int64_t *id, char *email)
{
	return token_row(
	    tx,
	    "SELECT account_id, email FROM email_verifications WHERE token_hash = $1 AND used_at IS NULL "
	    "AND expires_at > $2",
	    token, id, email);
}

int account_verification_consume(struct store_tx *tx, const char *token, int64_t *id, char *email)
{
	return token_row(
	    tx,
	    "UPDATE email_verifications SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL "
	    "AND expires_at > $2 RETURNING account_id, email",
	    token, id, email);
}

int account_verification_last(struct store_tx *tx, int64_t id, int64_t *created_at)
{
	*created_at = 0;
	int rc = store_query_i64(tx, "SELECT max(created_at) FROM email_verifications WHERE account_id = $1",
	                         STORE_ARGS(SP_I64(id)), created_at);
	return rc < 0 ? -1 : 0;
}

int account_reset_create(struct store_tx *tx, int64_t id, struct account_token *out)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	int64_t now = clock_now_ms();
	session_random_token(out->text);
	token_hash(out->text, h);
	return store_exec(
	    tx,
	    "INSERT INTO password_resets (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, "
	    "$3, $4)",
	    STORE_ARGS(SP_BLOB(h, sizeof(h)), SP_I64(id), SP_I64(now), SP_I64(now + ACCOUNT_RESET_TTL_MS)));
}

int account_reset_peek(struct store_tx *tx, const char *token, int64_t *id)
{
	return token_row(tx,
	                 "SELECT account_id FROM password_resets WHERE token_hash = $1 AND used_at IS NULL "
	                 "AND expires_at > $2",
	                 token, id, NULL);
}

int account_reset_consume(struct store_tx *tx, const char *token, int64_t *id)
{
	return token_row(tx,
	                 "UPDATE password_resets SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL "
	                 "AND expires_at > $2 RETURNING account_id",
	                 token, id, NULL);
}

/* ---- setup token ---- */

static void hex_of(const unsigned char *p, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, p, n);
}

int account_setup_token_issue(struct store *s, struct account_token *out, char *err, size_t errlen)
{
	struct store_conn *c = NULL;
	struct store_tx *tx = NULL;
	int rc = -1;
	if (store_conn_open(s, &c, err, errlen) < 0)
		return -1;
	if (store_begin_global(c, STORE_WRITE, &tx) < 0)
		goto fail;
	int any = account_any(tx);
	if (any < 0)
		goto fail;
	if (any == 1) {
		store_rollback(tx);
		tx = NULL;
		rc = 0;
		goto done;
	}
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1];
	session_random_token(out->text);
	token_hash(out->text, h);
	hex_of(h, sizeof(h), hex);
	if (store_meta_set(tx, ACCOUNT_SETUP_META_KEY, hex) < 0 || store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	tx = NULL;
	rc = 1;
	goto done;
fail:
	snprintf(err, errlen, "setup token: %s", store_code_name(store_errcode(c)));
	sodium_memzero(out, sizeof(*out));
done:
	store_rollback(tx);
	store_conn_close(c);
	return rc;
}

int account_setup_token_claim(struct store_tx *tx, const char *token)
{
	if (!token_shape_ok(token))
		return 0;
	int any = account_any(tx);
	if (any != 0)
		return any < 0 ? -1 : 0;
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1];
	token_hash(token, h);
	hex_of(h, sizeof(h), hex);
	if (store_exec(tx, "DELETE FROM installation_meta WHERE key = $1 AND value = $2",
	               STORE_ARGS(SP_TEXT(ACCOUNT_SETUP_META_KEY), SP_TEXT(hex))) < 0)
		return -1;
	return store_changes(tx) == 1;
}

/* ---- second factor ---- */

void account_totp_ad(int64_t id, char id_text[24], struct seal_ad *ad)
{
	snprintf(id_text, 24, "%" PRId64, id);
	*ad = (struct seal_ad){.scope = "account",
	                       .scope_id = id,
	                       .table = "accounts",
	                       .column = "totp_sealed",
	                       .row_key = id_text};
}

int account_totp_load(struct store_tx *tx, const struct keyring *kr, int64_t id,
                      uint8_t secret[TOTP_SECRET_BYTES], int64_t *last_step)
{
	struct store_rows *r = NULL;
	if (store_query(tx, "SELECT totp_sealed, totp_last_step FROM accounts WHERE id = $1",
	                STORE_ARGS(SP_I64(id)), &r) < 0)
		return -1;
	int st = store_step(r);
	int rc = st < 0 ? -1 : 0;
	if (st == 1 && !store_col_is_null(r, 0)) {
		size_t n = 0;
		const char *sealed = store_col_text(r, 0, &n);
		*last_step = store_col_is_null(r, 1) ? TOTP_NO_STEP : store_col_i64(r, 1);
		char id_text[24];
		struct seal_ad ad;
		account_totp_ad(id, id_text, &ad);
		uint8_t *plain = NULL;
		size_t pn = 0;
		rc = -1;
		if (sealed && seal_open(kr, &ad, sealed, &plain, &pn) == 0) {
			if (pn == TOTP_SECRET_BYTES) {
				memcpy(secret, plain, TOTP_SECRET_BYTES);
				rc = 1;
			}
			seal_plain_free(plain, pn);
		}
	}
	store_rows_close(r);
	return rc;
}

int account_totp_record_step(struct store_tx *tx, int64_t id, int64_t step)
{
	if (store_exec(
	        tx,
	        "UPDATE accounts SET totp_last_step = $2 WHERE id = $1 AND totp_sealed IS NOT NULL AND "
	        "(totp_last_step IS NULL OR totp_last_step < $2)",
	        STORE_ARGS(SP_I64(id), SP_I64(step))) < 0)
		return -1;
	return store_changes(tx) == 1;
}

/* The stored form of a set: ten hex hashes joined by commas. */
static int codes_text(const struct recovery_set *codes, char *out, size_t outlen)
{
	size_t k = 0;
	for (int i = 0; i < RECOVERY_CODE_COUNT; i++) {
		int w = snprintf(out + k, outlen - k, "%s%s", i ? "," : "", codes->hash_hex[i]);
		if (w < 0 || (size_t)w >= outlen - k)
			return -1;
		k += (size_t)w;
	}
	return 0;
}

#define CODES_TEXT_MAX (RECOVERY_CODE_COUNT * (RECOVERY_HASH_HEX_LEN + 1) + 1)

int account_totp_enable(struct store_tx *tx, const struct keyring *kr, int64_t id,
                        const uint8_t secret[TOTP_SECRET_BYTES], int64_t step,
                        const struct recovery_set *codes)
{
	char id_text[24], text[CODES_TEXT_MAX];
	struct seal_ad ad;
	char *sealed = NULL;
	account_totp_ad(id, id_text, &ad);
	if (codes_text(codes, text, sizeof(text)) < 0 ||
	    seal_value(kr, &ad, secret, TOTP_SECRET_BYTES, &sealed) < 0)
		return -1;
	int rc = store_exec(
	    tx,
	    "UPDATE accounts SET totp_sealed = $2, totp_last_step = $3, recovery_codes = $4, updated_at = $5 "
	    "WHERE id = $1",
	    STORE_ARGS(SP_I64(id), SP_TEXT(sealed), SP_I64(step), SP_TEXT(text), SP_I64(clock_now_ms())));
	free(sealed);
	return rc;
}

int account_totp_disable(struct store_tx *tx, int64_t id)
{
	return store_exec(
	    tx,
	    "UPDATE accounts SET totp_sealed = NULL, totp_last_step = NULL, recovery_codes = NULL, "
	    "updated_at = $2 WHERE id = $1",
	    STORE_ARGS(SP_I64(id), SP_I64(clock_now_ms())));
}

/* Reads the stored recovery text of account id into out. 1 (present), 0 none, -1. */
static int codes_load(struct store_tx *tx, int64_t id, char *out, size_t outlen)
{
	struct store_rows *r = NULL;
	if (store_query(tx, "SELECT recovery_codes FROM accounts WHERE id = $1 AND totp_sealed IS NOT NULL",
	                STORE_ARGS(SP_I64(id)), &r) < 0)
		return -1;
	int st = store_step(r);
	int rc = st < 0 ? -1 : 0;
	if (st == 1 && !store_col_is_null(r, 0)) {
		copy_text(r, 0, out, outlen);
		rc = out[0] ? 1 : 0;
	}
	store_rows_close(r);
	return rc;
}

/* Splits stored text into hashes[] (NULL for used slots). Returns the slot count. */
static size_t codes_split(char *text, const char *hashes[RECOVERY_CODE_COUNT])
{
	size_t n = 0;
	char *save = NULL;
	for (char *tok = strtok_r(text, ",", &save); tok && n < RECOVERY_CODE_COUNT;
	     tok = strtok_r(NULL, ",", &save))
		hashes[n++] = strcmp(tok, RECOVERY_USED) == 0 ? NULL : tok;
	return n;
}

int account_recovery_use(struct store_tx *tx, int64_t id, const char *input, size_t n)
{
	char text[CODES_TEXT_MAX], work[CODES_TEXT_MAX], updated[CODES_TEXT_MAX];
	int have = codes_load(tx, id, text, sizeof(text));
	if (have <= 0)
		return have;
	memcpy(work, text, sizeof(work));
	const char *hashes[RECOVERY_CODE_COUNT] = {0};
	size_t count = codes_split(work, hashes);
	int idx = recovery_match(input, n, hashes, count);
	if (idx < 0)
		return 0;
	size_t k = 0;
	for (size_t i = 0; i < count; i++) {
		const char *v = ((int)i == idx || !hashes[i]) ? RECOVERY_USED : hashes[i];
		int w = snprintf(updated + k, sizeof(updated) - k, "%s%s", i ? "," : "", v);
		if (w < 0 || (size_t)w >= sizeof(updated) - k)
			return -1;
		k += (size_t)w;
	}
	if (store_exec(tx, "UPDATE accounts SET recovery_codes = $3 WHERE id = $1 AND recovery_codes = $2",
	               STORE_ARGS(SP_I64(id), SP_TEXT(text), SP_TEXT(updated))) < 0)
		return -1;
	return store_changes(tx) == 1;
}

int account_recovery_replace(struct store_tx *tx, int64_t id, const struct recovery_set *codes)
{
	char text[CODES_TEXT_MAX];
	if (codes_text(codes, text, sizeof(text)) < 0)
		return -1;
	return store_exec(tx,
	                  "UPDATE accounts SET recovery_codes = $2 WHERE id = $1 AND totp_sealed IS NOT NULL",
	                  STORE_ARGS(SP_I64(id), SP_TEXT(text)));
}

int account_recovery_left(struct store_tx *tx, int64_t id)
{
	char text[CODES_TEXT_MAX];
	int have = codes_load(tx, id, text, sizeof(text));
	if (have <= 0)
		return have;
	const char *hashes[RECOVERY_CODE_COUNT] = {0};
	size_t count = codes_split(text, hashes);
	int left = 0;
	for (size_t i = 0; i < count; i++)
		left += hashes[i] != NULL;
	return left;
}

int account_first_workspace(struct store_tx *tx, int64_t id, int64_t *ws_out)
{
	return store_query_i64(
	    tx,
	    "SELECT workspace_id FROM memberships WHERE account_id = $1 ORDER BY created_at, workspace_id "
	    "LIMIT 1",
	    STORE_ARGS(SP_I64(id)), ws_out);
}
