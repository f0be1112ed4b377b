/* Signed identify checks, e-mail normalisation and the blind index (ingest_identify.h). */
#include "ingest/ingest_identify.h"

#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"
#include "crypto/keyring.h"

static int trait_text(json_t *traits, const char *k, const char **out, char tmp[32], int real_ok)
{
	json_t *v = traits ? json_object_get(traits, k) : NULL;
	*out = "";
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		if (memchr(json_string_value(v), '\0', json_string_length(v)))
			return -1;
		*out = json_string_value(v);
		return 0;
	}
	if (json_is_integer(v)) {
		snprintf(tmp, 32, "%lld", (long long)json_integer_value(v));
		*out = tmp;
		return 0;
	}
	if (real_ok && json_is_real(v)) {
		double d = json_real_value(v);
		if (d != floor(d) || fabs(d) > 9007199254740991.0)
			return -1;
		snprintf(tmp, 32, "%lld", (long long)d);
		*out = tmp;
		return 0;
	}
	return -1;
}

int ingest_identify_traits(json_t *traits, struct ingest_signed_traits *t, char tmp[4][32])
{
	if (trait_text(traits, "email", &t->email, tmp[0], 0) < 0 ||
	    trait_text(traits, "plan", &t->plan, tmp[1], 0) < 0 ||
	    trait_text(traits, "mrr", &t->mrr, tmp[2], 1) < 0 ||
	    trait_text(traits, "trial_ends", &t->trial_ends, tmp[3], 0) < 0)
		return -1;
	return 0;
}

int ingest_identify_message(const char *user_id, int64_t signed_at, const struct ingest_signed_traits *t,
                            struct buf *out)
{
	return buf_printf(out, "v1\n%s\n%lld\n%s\n%s\n%s\n%s", user_id, (long long)signed_at, t->email,
	                  t->plan, t->mrr, t->trial_ends);
}

enum ingest_sign_result ingest_identify_verify(const char *const *keys, size_t nkeys, const char *user_id,
                                               int64_t signed_at, const struct ingest_signed_traits *t,
                                               const char *hex, size_t hex_n, int64_t now_s)
{
	if (signed_at < now_s - INGEST_SIGN_MAX_AGE_S)
		return INGEST_SIGN_STALE;
	if (signed_at > now_s + INGEST_SIGN_MAX_SKEW_S)
		return INGEST_SIGN_FUTURE;
	uint8_t want[32];
	if (hex_n != 64)
		return INGEST_SIGN_MISMATCH;
	for (size_t i = 0; i < 32; i++) {
		int hi = parse_hex_digit((unsigned char)hex[2 * i]);
		int lo = parse_hex_digit((unsigned char)hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return INGEST_SIGN_MISMATCH;
		want[i] = (uint8_t)(hi << 4 | lo);
	}
	struct buf msg;
	buf_init(&msg, 0);
	enum ingest_sign_result r = INGEST_SIGN_MISMATCH;
	if (ingest_identify_message(user_id, signed_at, t, &msg) < 0)
		goto done;
	int ok = 0;
	for (size_t k = 0; k < nkeys; k++) {
		uint8_t mac[EVP_MAX_MD_SIZE];
		unsigned int mac_n = 0;
		if (!HMAC(EVP_sha256(), keys[k], (int)strlen(keys[k]), (const unsigned char *)msg.p, msg.n, mac,
		          &mac_n) ||
		    mac_n != 32)
			continue;
		ok |= CRYPTO_memcmp(mac, want, 32) == 0; /* every key is tried: no early exit */
		sodium_memzero(mac, sizeof(mac));
	}
	if (ok)
		r = INGEST_SIGN_OK;
done:
	buf_free(&msg);
	return r;
}

int ingest_identify_email_norm(const char *s, size_t n, struct buf *out)
{
	buf_reset(out);
	while (n && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (buf_putc(out, c) < 0)
			return -1;
	}
	return buf_putc(out, '\0') < 0 ? -1 : 0;
}

int ingest_identify_bidx(const struct keyring *kr, uint32_t key_id, int64_t ws, const char *s, size_t n,
                         char hex[INGEST_BIDX_HEX + 1])
{
	uint8_t key[KEYRING_KEY_BYTES];
	struct buf norm, msg;
	buf_init(&norm, 0);
	buf_init(&msg, 0);
	int rc = -1;
	if (keyring_derive(kr, key_id, KEYRING_PURPOSE_BLIND_INDEX, key) < 0)
		goto fail;
	if (ingest_identify_email_norm(s, n, &norm) < 0 || buf_printf(&msg, "%lld|", (long long)ws) < 0 ||
	    buf_append(&msg, norm.p, norm.n - 1) < 0)
		goto fail;
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int mac_n = 0;
	if (!HMAC(EVP_sha256(), key, (int)sizeof(key), (const unsigned char *)msg.p, msg.n, mac, &mac_n) ||
	    mac_n != 32)
		goto fail;
	for (size_t i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	rc = 0;
fail:
	sodium_memzero(key, sizeof(key));
	if (norm.p)
		sodium_memzero(norm.p, norm.n);
	if (msg.p)
		sodium_memzero(msg.p, msg.n);
	buf_free(&norm);
	buf_free(&msg);
	return rc;
}

void ingest_identify_row_key(const char *user_id, char out[LIMIT_SEAL_AD_FIELD + 1])
{
	size_t n = strlen(user_id);
	int ok = n > 0 && n <= LIMIT_SEAL_AD_FIELD && !(n >= 2 && user_id[0] == 'h' && user_id[1] == '.');
	for (size_t i = 0; ok && i < n; i++)
		ok = user_id[i] > ' ' && user_id[i] < 0x7f && user_id[i] != '|';
	if (ok) {
		memcpy(out, user_id, n + 1);
		return;
	}
	uint8_t h[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)user_id, n, h);
	memcpy(out, "h.", 2);
	for (size_t i = 0; i < sizeof(h); i++)
		snprintf(out + 2 + 2 * i, 3, "%02x", h[i]);
}

int ingest_identify_find_email(struct store_tx *tx, const struct keyring *kr, int64_t ws, const char *s,
                               size_t n, char **user_id)
{
	*user_id = NULL;
	for (size_t i = keyring_count(kr); i-- > 0;) {
		char hex[INGEST_BIDX_HEX + 1];
		if (ingest_identify_bidx(kr, keyring_id_at(kr, i), ws, s, n, hex) < 0)
			return -1;
		struct store_rows *r = NULL;
		if (store_query(tx,
		                "SELECT user_id FROM tracked_users WHERE workspace_id = $1 AND email_bidx = $2 "
		                "ORDER BY last_seen DESC LIMIT 1",
		                STORE_ARGS(SP_TEXT(hex)), &r) < 0)
			return -1;
		int st = store_step(r);
		if (st == 1) {
			size_t un = 0;
			const char *u = store_col_text(r, 0, &un);
			*user_id = u ? strndup(u, un) : NULL;
			store_rows_close(r);
			return *user_id ? 1 : -1;
		}
		store_rows_close(r);
		if (st < 0)
			return -1;
	}
	return 0;
}

#ifdef DROPFIX_TEST_HOOKS
#include "cli/install.h"
#include "crypto/seal.h"
#include "http/json.h"
#include "http/reqdb.h"

static json_t *open_col(const struct keyring *kr, int64_t ws, const char *column, const char *row_key,
                        const char *text)
{
	if (!text)
		return json_null();
	struct seal_ad ad = {"workspace", ws, "tracked_users", column, row_key};
	uint8_t *p = NULL;
	size_t n = 0;
	if (seal_open(kr, &ad, text, &p, &n) < 0)
		return json_string("(does not open)");
	json_t *v = json_stringn((const char *)p, n);
	seal_plain_free(p, n);
	return v;
}

int ingest_identify_test_lookup(struct http_request *req, struct http_response *res)
{
	json_t *body = NULL, *out = NULL;
	struct jsonin_error jerr = {0};
	if (jsonin_load(req->body.p ? req->body.p : "", req->body.n, 4096, &body, &jerr) < 0)
		return http_reply_error(req, res, 400, jerr.code, jerr.message, NULL);
	int64_t ws = json_integer_value(json_object_get(body, "workspace_id"));
	json_t *em = json_object_get(body, "email");
	struct store_conn *c = req_conn(req);
	struct store_tx *tx = NULL;
	char *uid = NULL;
	int found = -1;
	if (c && json_is_string(em) && store_begin_ws(c, ws, STORE_READ, &tx) == 0)
		found = ingest_identify_find_email(tx, req->inst->keys, ws, json_string_value(em),
		                                   json_string_length(em), &uid);
	if (found == 1) {
		struct store_rows *r = NULL;
		found = -1;
		if (store_query(tx,
		                "SELECT name_sealed, email_sealed, email_verified, row_key FROM tracked_users "
		                "WHERE workspace_id = $1 AND user_id = $2",
		                STORE_ARGS(SP_TEXT(uid)), &r) == 0 &&
		    store_step(r) == 1) {
			size_t l0 = 0, l1 = 0, l3 = 0;
			const char *rk = store_col_text(r, 3, &l3);
			const char *nm = store_col_is_null(r, 0) ? NULL : store_col_text(r, 0, &l0);
			const char *ml = store_col_is_null(r, 1) ? NULL : store_col_text(r, 1, &l1);
			out = json_pack("{s:s, s:o, s:o, s:b}", "user_id", uid,
			                "name", open_col(req->inst->keys, ws, "name_sealed", rk, nm), "email",
			                open_col(req->inst->keys, ws, "email_sealed", rk, ml), "email_verified",
			                store_col_i64(r, 2) == 1);
			found = out ? 1 : -1;
		}
		store_rows_close(r);
	}
	store_rollback(tx);
	free(uid);
	json_decref(body);
	if (found < 0)
		return http_reply_error(req, res, 500, "internal", "lookup failed", NULL);
	if (found == 0)
		return http_reply_error(req, res, 404, "not_found", "no user with this e-mail", NULL);
	return http_reply_json(res, 200, out);
}
#endif
