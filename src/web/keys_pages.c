#include "web/keys_pages.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/install.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/seal.h"
#include "http/form.h"
#include "http/reqdb.h"
#include "ingest/ingest_keycache.h"
#include "web/permissions.h"
#include "web/shell.h"

#define KEYS_BODY_CHARS 43
#define KEYS_LIVE_MAX 16 /* live keys of one kind listed or opened at once */

const char *keys_kind_name(enum keys_kind k)
{
	return k == KEYS_SECRET ? "sk" : "pk";
}

static int b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_';
}

int keys_shape_ok(const char *s, size_t n, enum keys_kind *kind)
{
	if (!s || n != KEYS_TEXT_LEN || s[2] != '_')
		return 0;
	if (s[0] == 'p' && s[1] == 'k')
		*kind = KEYS_PUBLIC;
	else if (s[0] == 's' && s[1] == 'k')
		*kind = KEYS_SECRET;
	else
		return 0;
	for (size_t i = 3; i < n; i++)
		if (!b64url_char(s[i]))
			return 0;
	return 1;
}

void keys_text_wipe(struct keys_text *t)
{
	if (t)
		sodium_memzero(t, sizeof(*t));
}

static void hash_key(const char *s, size_t n, uint8_t out[crypto_hash_sha256_BYTES])
{
	crypto_hash_sha256(out, (const unsigned char *)s, n);
}

/* AD for the sealed copy of the key whose hash is h (row_key holds its hex). */
static void key_ad(int64_t ws, const uint8_t h[crypto_hash_sha256_BYTES],
                   char row_key[2 * crypto_hash_sha256_BYTES + 1], struct seal_ad *ad)
{
	sodium_bin2hex(row_key, 2 * crypto_hash_sha256_BYTES + 1, h, crypto_hash_sha256_BYTES);
	*ad = (struct seal_ad){
	    .scope = "workspace",
	    .scope_id = ws,
	    .table = "workspace_keys",
	    .column = "sealed",
	    .row_key = row_key,
	};
}

int keys_issue(struct store_tx *tx, const struct keyring *kr, int64_t ws, enum keys_kind kind,
               struct keys_text *out)
{
	uint8_t raw[KEYS_RANDOM_BYTES], h[crypto_hash_sha256_BYTES];
	char row_key[2 * crypto_hash_sha256_BYTES + 1];
	char display[KEYS_DISPLAY_LEN + 1];
	struct seal_ad ad;
	char *sealed = NULL;
	int rc = -1;

	randombytes_buf(raw, sizeof(raw));
	memcpy(out->s, kind == KEYS_SECRET ? "sk_" : "pk_", 3);
	sodium_bin2base64(out->s + 3, sizeof(out->s) - 3, raw, sizeof(raw),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	hash_key(out->s, KEYS_TEXT_LEN, h);
	key_ad(ws, h, row_key, &ad);
	if (seal_value(kr, &ad, (const uint8_t *)out->s, KEYS_TEXT_LEN, &sealed) < 0) {
		log_msg(LOG_ERROR, "sealing a new workspace key failed");
		goto done;
	}
	memcpy(display, out->s, KEYS_DISPLAY_LEN);
	display[KEYS_DISPLAY_LEN] = '\0';
	if (shell_ws_exec(tx, ws,
	                  "INSERT INTO workspace_keys (key_hash, workspace_id, kind, display_prefix, sealed, "
	                  "created_at) "
	                  "VALUES ($2, $1, $3, $4, $5, $6)",
	                  STORE_ARGS(SP_BLOB(h, sizeof(h)), SP_TEXT(keys_kind_name(kind)), SP_TEXT(display),
	                             SP_TEXT(sealed), SP_I64(clock_now_ms()))) < 0)
		goto done;
	rc = 0;
done:
	free(sealed);
	if (rc < 0)
		keys_text_wipe(out);
	return rc;
}

int keys_rotate(struct store_tx *tx, const struct keyring *kr, int64_t ws, enum keys_kind kind, int64_t now,
                struct keys_text *out, int64_t *old_until)
{
	int64_t until = now + (kind == KEYS_SECRET ? KEYS_SK_OVERLAP_MS : KEYS_PK_GRACE_MS);
	if (shell_ws_exec(tx, ws,
	                  "DELETE FROM workspace_keys WHERE workspace_id = $1 AND expires_at IS NOT NULL AND "
	                  "expires_at <= $2",
	                  STORE_ARGS(SP_I64(now))) < 0)
		return -1;
	if (shell_ws_exec(tx, ws,
	                  "UPDATE workspace_keys SET expires_at = $2 WHERE workspace_id = $1 AND kind = $3 "
	                  "AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
	                  STORE_ARGS(SP_I64(until), SP_TEXT(keys_kind_name(kind)))) < 0)
		return -1;
	if (old_until)
		*old_until = until;
	return keys_issue(tx, kr, ws, kind, out);
}

int keys_lookup(struct store_tx *tx, const char *s, size_t n, int64_t now, int64_t *ws, enum keys_kind *kind)
{
	return keys_lookup_until(tx, s, n, now, ws, kind, NULL);
}

int keys_lookup_until(struct store_tx *tx, const char *s, size_t n, int64_t now, int64_t *ws,
                      enum keys_kind *kind, int64_t *expires_at)
{
	enum keys_kind shape;
	if (!keys_shape_ok(s, n, &shape))
		return 0;
	uint8_t h[crypto_hash_sha256_BYTES];
	hash_key(s, n, h);
	struct store_rows *r = NULL;
	if (store_query(
	        tx,
	        "SELECT workspace_id, kind, expires_at FROM workspace_keys WHERE key_hash = $1 AND revoked_at IS NULL "
	        "AND (expires_at IS NULL OR expires_at > $2)",
	        STORE_ARGS(SP_BLOB(h, sizeof(h)), SP_I64(now)), &r) < 0)
		return -1;
	int st = store_step(r);
	if (st == 1) {
		size_t kn = 0;
		const char *k = store_col_text(r, 1, &kn);
		*ws = store_col_i64(r, 0);
		*kind = (k && kn == 2 && k[0] == 's') ? KEYS_SECRET : KEYS_PUBLIC;
		if (expires_at)
			*expires_at = store_col_is_null(r, 2) ? INT64_MAX : store_col_i64(r, 2);
		if (*kind != shape) /* a stored kind that disagrees with the prefix: never trust it */
			st = 0;
	}
	store_rows_close(r);
	return st;
}

/* Opens the sealed text of the row whose hash is h[0..hn) into out. 0 or -1. */
static int open_key(const struct keyring *kr, int64_t ws, const void *h, size_t hn, const char *sealed,
                    struct keys_text *out)
{
	if (!h || hn != crypto_hash_sha256_BYTES || !sealed)
		return -1;
	char row_key[2 * crypto_hash_sha256_BYTES + 1];
	struct seal_ad ad;
	key_ad(ws, h, row_key, &ad);
	uint8_t *plain = NULL;
	size_t pn = 0;
	if (seal_open(kr, &ad, sealed, &plain, &pn) < 0)
		return -1;
	int rc = -1;
	enum keys_kind k;
	if (pn == KEYS_TEXT_LEN && keys_shape_ok((const char *)plain, pn, &k)) {
		memcpy(out->s, plain, pn);
		out->s[pn] = '\0';
		rc = 0;
	}
	seal_plain_free(plain, pn);
	return rc;
}

int keys_current_public(struct store_tx *tx, const struct keyring *kr, int64_t ws, struct keys_text *out)
{
	struct store_rows *r = NULL;
	if (shell_ws_query(
	        tx, ws,
	        "SELECT key_hash, sealed FROM workspace_keys WHERE workspace_id = $1 AND kind = 'pk' "
	        "AND revoked_at IS NULL AND expires_at IS NULL ORDER BY created_at DESC LIMIT 1",
	        STORE_NO_ARGS, &r) < 0)
		return -1;
	int st = store_step(r);
	if (st == 1) {
		size_t hn = 0;
		const void *h = store_col_blob(r, 0, &hn);
		size_t sn = 0;
		const char *sealed = store_col_text(r, 1, &sn);
		if (open_key(kr, ws, h, hn, sealed, out) < 0) {
			log_json(LOG_ERROR, "a public key does not open",
			         json_pack("{s:I}", "ws", (json_int_t)ws));
			st = -1;
		}
	}
	store_rows_close(r);
	return st;
}

int keys_live_secrets(struct store_tx *tx, const struct keyring *kr, int64_t ws, int64_t now,
                      struct keys_text *out, size_t max, size_t *n)
{
	struct store_rows *r = NULL;
	*n = 0;
	if (shell_ws_query(
	        tx, ws,
	        "SELECT key_hash, sealed FROM workspace_keys WHERE workspace_id = $1 AND kind = 'sk' "
	        "AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) ORDER BY created_at DESC",
	        STORE_ARGS(SP_I64(now)), &r) < 0)
		return -1;
	int st = 0;
	while (*n < max && (st = store_step(r)) == 1) {
		size_t hn = 0, sn = 0;
		const void *h = store_col_blob(r, 0, &hn);
		const char *sealed = store_col_text(r, 1, &sn);
		if (open_key(kr, ws, h, hn, sealed, &out[*n]) < 0) {
			log_json(LOG_ERROR, "a secret key does not open",
			         json_pack("{s:I}", "ws", (json_int_t)ws));
			continue;
		}
		(*n)++;
	}
	store_rows_close(r);
	return st < 0 && *n < max ? -1 : 0;
}

/* ---- pages ---- */

static json_t *time_json(int64_t ms)
{
	char t[32];
	if (ms <= 0 || clock_format_ms(ms, t, sizeof(t)) < 0)
		return json_null();
	t[16] = '\0'; /* "2026-11-29T05:51" */
	t[10] = ' ';
	char out[40];
	snprintf(out, sizeof(out), "%s UTC", t);
	return json_string(out);
}

/* Adds pk (current public key) and keys (live keys) to ctx. 0 or -1 (store). */
static int load_keys(struct http_request *req, json_t *ctx)
{
	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	struct keys_text pk;
	int64_t now = clock_now_ms();
	if (req_begin_ws(req, STORE_READ, &tx) < 0)
		return -1;
	int have = keys_current_public(tx, req->inst->keys, req->auth.workspace_id, &pk);
	if (have < 0)
		goto fail;
	if (have)
		json_object_set_new(ctx, "public_key", json_string(pk.s));
	json_t *list = json_array();
	json_object_set_new(ctx, "keys", list);
	if (store_query(tx,
	                "SELECT kind, display_prefix, created_at, expires_at FROM workspace_keys WHERE "
	                "workspace_id = $1 "
	                "AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) ORDER BY kind, "
	                "created_at DESC",
	                STORE_ARGS(SP_I64(now)), &r) < 0)
		goto fail;
	int st;
	while ((st = store_step(r)) == 1) {
		size_t kn = 0, dn = 0;
		const char *k = store_col_text(r, 0, &kn);
		const char *d = store_col_text(r, 1, &dn);
		int secret = k && kn == 2 && k[0] == 's';
		int64_t exp = store_col_i64(r, 3);
		json_array_append_new(list, json_pack("{s:s,s:s%,s:o,s:o,s:b}", "kind",
		                                      secret ? "Secret key (sk_)" : "Public key (pk_)",
		                                      "prefix", d ? d : "", d ? dn : 0, "created",
		                                      time_json(store_col_i64(r, 2)), "expires",
		                                      time_json(exp), "current", exp == 0));
	}
	if (st < 0)
		goto fail;
	store_rows_close(r);
	store_rollback(tx);
	return 0;
fail:
	store_rows_close(r);
	store_rollback(tx);
	return -1;
}

/* The keys page; extra (reference taken) adds keys; secret (may be NULL) is shown as
 * new_secret_key and wiped after rendering. */
static int render_keys(struct http_request *req, struct http_response *res, json_t *extra, const char *secret)
{
	json_t *ctx = shell_context(req, res, "keys");
	if (!ctx) {
		json_decref(extra);
		return req_db_error(req, res);
	}
	if (extra)
		json_object_update(ctx, extra);
	json_decref(extra);
	if (load_keys(req, ctx) < 0) {
		json_decref(ctx);
		return req_db_error(req, res);
	}
	json_object_set_new(ctx, "title", json_string("Keys"));
	int64_t require_signed = 0;
	struct store_tx *stx = NULL;
	if (req_begin_ws(req, STORE_READ, &stx) < 0 ||
	    store_query_i64(stx, "SELECT require_signed_identify FROM workspaces WHERE id = $1", STORE_NO_ARGS,
	                    &require_signed) < 0) {
		store_rollback(stx);
		json_decref(ctx);
		return req_db_error(req, res);
	}
	store_rollback(stx);
	json_object_set_new(ctx, "require_signed_identify", json_boolean(require_signed == 1));
	int64_t consent_required = 0, honor_dnt = 0;
	if (req_begin_ws(req, STORE_READ, &stx) < 0 ||
	    store_query_i64(stx, "SELECT consent_required FROM workspaces WHERE id = $1", STORE_NO_ARGS,
	                    &consent_required) < 0 ||
	    store_query_i64(stx, "SELECT honor_dnt FROM workspaces WHERE id = $1", STORE_NO_ARGS, &honor_dnt) < 0) {
		store_rollback(stx);
		json_decref(ctx);
		return req_db_error(req, res);
	}
	store_rollback(stx);
	json_object_set_new(ctx, "consent_required", json_boolean(consent_required == 1));
	json_object_set_new(ctx, "honor_dnt", json_boolean(honor_dnt == 1));
	json_object_set_new(ctx, "sk_overlap_hours", json_integer(KEYS_SK_OVERLAP_MS / 3600000));
	json_object_set_new(ctx, "pk_grace_days", json_integer(KEYS_PK_GRACE_MS / 86400000));
	if (secret)
		return shell_render_secret(req, res, 200, "keys_settings", ctx, "new_secret_key", secret);
	return shell_render(req, res, 200, "keys_settings", ctx);
}

int keys_page(struct http_request *req, struct http_response *res)
{
	return render_keys(req, res, NULL, NULL);
}

struct rotate_form {
	struct str csrf, kind;
};

static const struct jsonin_field rotate_fields[] = {
    JSONIN_F_STR("_csrf", 0, 0, 128, struct rotate_form, csrf),
    JSONIN_F_STR("kind", JSONIN_REQUIRED, 2, 2, struct rotate_form, kind),
};
static const struct jsonin_spec rotate_spec = JSONIN_SPEC(rotate_fields, JSONIN_STRICT);

int keys_page_rotate(struct http_request *req, struct http_response *res)
{
	struct rotate_form f = {0};
	struct jsonin_error jerr = {0};
	enum keys_kind kind;
	if (!perm_allows(req->auth.role, PERM_KEYS_ROTATE))
		return http_reply_error(req, res, 403, "forbidden",
		                        "your role in this workspace does not allow this", NULL);
	if (!req->form || form_bind(req->form, &rotate_spec, &f, sizeof(f), NULL, &jerr) < 0)
		return http_reply_error(req, res, 400, jerr.code ? jerr.code : "invalid_form",
		                        jerr.code ? jerr.message : "a form body is required", NULL);
	if (str_eq(f.kind, STR_LIT("pk")))
		kind = KEYS_PUBLIC;
	else if (str_eq(f.kind, STR_LIT("sk")))
		kind = KEYS_SECRET;
	else
		return http_reply_error(req, res, 400, "invalid_field", "kind must be pk or sk", "/kind");

	struct store_tx *tx = NULL;
	struct keys_text key;
	int64_t now = clock_now_ms(), until = 0;
	char until_text[32] = "";
	if (req_begin_ws(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	if (keys_rotate(tx, req->inst->keys, req->auth.workspace_id, kind, now, &key, &until) < 0)
		goto fail;
	clock_format_ms(until, until_text, sizeof(until_text));
	if (shell_audit(
	        req, tx, "keys.rotated", keys_kind_name(kind),
	        json_pack("{s:s,s:s}", "kind", keys_kind_name(kind), "previous_valid_until", until_text)) < 0)
		goto fail;
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	ingest_keycache_clear(); /* the old key's new expiry applies to ingestion at once */
	json_t *extra = json_object();
	if (kind == KEYS_PUBLIC)
		json_object_set_new(extra, "new_public_key", json_true());
	json_object_set_new(extra, "previous_until", time_json(until));
	int rc = render_keys(req, res, extra, kind == KEYS_SECRET ? key.s : NULL);
	keys_text_wipe(&key);
	return rc;
fail:
	keys_text_wipe(&key);
	store_rollback(tx);
	return req_db_error(req, res);
}

struct signing_form {
	struct str csrf;
	int require_signed;
};

static const struct jsonin_field signing_fields[] = {
    JSONIN_F_STR("_csrf", 0, 0, 128, struct signing_form, csrf),
    JSONIN_F_BOOL("require_signed_identify", 0, struct signing_form, require_signed),
};
static const struct jsonin_spec signing_spec = JSONIN_SPEC(signing_fields, JSONIN_STRICT);

int keys_page_signing(struct http_request *req, struct http_response *res)
{
	struct signing_form f = {0};
	struct jsonin_error jerr = {0};
	if (!perm_allows(req->auth.role, PERM_KEYS_ROTATE))
		return http_reply_error(req, res, 403, "forbidden",
		                        "your role in this workspace does not allow this", NULL);
	if (!req->form || form_bind(req->form, &signing_spec, &f, sizeof(f), NULL, &jerr) < 0)
		return http_reply_error(req, res, 400, jerr.code ? jerr.code : "invalid_form",
		                        jerr.code ? jerr.message : "a form body is required", NULL);
	struct store_tx *tx = NULL;
	int64_t was = 0;
	if (req_begin_ws(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	if (store_query_i64(tx, "SELECT require_signed_identify FROM workspaces WHERE id = $1", STORE_NO_ARGS,
	                    &was) < 0)
		goto fail;
	if ((was == 1) != (f.require_signed != 0)) {
		if (store_exec(tx, "UPDATE workspaces SET require_signed_identify = $2, updated_at = $3 WHERE id = $1",
		               STORE_ARGS(SP_I64(f.require_signed ? 1 : 0), SP_I64(clock_now_ms()))) < 0)
			goto fail;
		if (shell_audit(req, tx, "settings.changed", "require_signed_identify",
		                json_pack("{s:b}", "require_signed_identify", f.require_signed)) < 0)
			goto fail;
	}
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	ingest_keycache_clear(); /* ingestion sees the new setting at once */
	return render_keys(req, res, json_pack("{s:b}", "signing_saved", 1), NULL);
fail:
	store_rollback(tx);
	return req_db_error(req, res);
}

struct privacy_form {
	struct str csrf;
	int consent_required;
	int honor_dnt;
};

static const struct jsonin_field privacy_fields[] = {
    JSONIN_F_STR("_csrf", 0, 0, 128, struct privacy_form, csrf),
    JSONIN_F_BOOL("consent_required", 0, struct privacy_form, consent_required),
    JSONIN_F_BOOL("honor_dnt", 0, struct privacy_form, honor_dnt),
};
static const struct jsonin_spec privacy_spec = JSONIN_SPEC(privacy_fields, JSONIN_STRICT);

/* Sets workspaces.<column> (one of the two privacy columns) to want when it differs, with
 * an audit entry. 0 or -1 (store). */
static int set_privacy(struct http_request *req, struct store_tx *tx, int consent, int want)
{
	int64_t was = 0;
	if (store_query_i64(tx,
	                    consent ? "SELECT consent_required FROM workspaces WHERE id = $1"
	                            : "SELECT honor_dnt FROM workspaces WHERE id = $1",
	                    STORE_NO_ARGS, &was) < 0)
		return -1;
	if ((was == 1) == (want != 0))
		return 0;
	if (store_exec(tx,
	               consent ? "UPDATE workspaces SET consent_required = $2, updated_at = $3 WHERE id = $1"
	                       : "UPDATE workspaces SET honor_dnt = $2, updated_at = $3 WHERE id = $1",
	               STORE_ARGS(SP_I64(want ? 1 : 0), SP_I64(clock_now_ms()))) < 0)
		return -1;
	const char *name = consent ? "consent_required" : "honor_dnt";
	return shell_audit(req, tx, "settings.changed", name, json_pack("{s:b}", name, want));
}

int keys_page_privacy(struct http_request *req, struct http_response *res)
{
	struct privacy_form f = {0};
	struct jsonin_error jerr = {0};
	if (!perm_allows(req->auth.role, PERM_KEYS_ROTATE))
		return http_reply_error(req, res, 403, "forbidden",
		                        "your role in this workspace does not allow this", NULL);
	if (!req->form || form_bind(req->form, &privacy_spec, &f, sizeof(f), NULL, &jerr) < 0)
		return http_reply_error(req, res, 400, jerr.code ? jerr.code : "invalid_form",
		                        jerr.code ? jerr.message : "a form body is required", NULL);
	struct store_tx *tx = NULL;
	if (req_begin_ws(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	if (set_privacy(req, tx, 1, f.consent_required) < 0 || set_privacy(req, tx, 0, f.honor_dnt) < 0)
		goto fail;
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	ingest_keycache_clear(); /* ingestion and /v1/config see the new settings at once */
	return render_keys(req, res, json_pack("{s:b}", "privacy_saved", 1), NULL);
fail:
	store_rollback(tx);
	return req_db_error(req, res);
}

#ifdef DROPFIX_TEST_HOOKS
int keys_test_check(struct http_request *req, struct http_response *res)
{
	json_t *body = NULL;
	struct jsonin_error jerr = {0};
	if (jsonin_load(req->body.p ? req->body.p : "", req->body.n, 4096, &body, &jerr) < 0)
		return http_reply_error(req, res, 400, jerr.code, jerr.message, NULL);
	const char *key = json_string_value(json_object_get(body, "key"));
	struct store_tx *tx = NULL;
	int64_t ws = 0;
	enum keys_kind kind = KEYS_PUBLIC;
	int found = -1;
	if (key && req_begin_global(req, STORE_READ, &tx) == 0) {
		found = keys_lookup(tx, key, strlen(key), clock_now_ms(), &ws, &kind);
		store_rollback(tx);
	}
	json_decref(body);
	if (found < 0)
		return req_db_error(req, res);
	if (!found)
		return http_reply_error(req, res, 404, "not_found", "no live key", NULL);
	return http_reply_json(
	    res, 200, json_pack("{s:I,s:s}", "workspace_id", (json_int_t)ws, "kind", keys_kind_name(kind)));
}
#endif
