/* Workspace ingestion keys (ARCHITECTURE §8b "Credentials at ingest", "Keys") and the
 * keys settings page.
 *
 * A key is "pk_" (public, for browsers) or "sk_" (secret, for the founder's server)
 * followed by 32 random bytes in base64url (43 characters). workspace_keys stores its
 * SHA-256 (key_hash, the lookup), a short display prefix and the key sealed
 * (src/crypto/seal.h; AD v1|workspace|<ws>|workspace_keys|sealed|<hex of key_hash>, as
 * registered in src/store/sealed_columns.c), so the public key can be shown again and
 * the secret key read back for HMAC signature checks. A secret key is shown to a person
 * once, when it is made.
 *
 * Rotation issues a new key and keeps the previous ones of that kind valid for a while:
 * sk_ for KEYS_SK_OVERLAP_MS (24 h), pk_ for KEYS_PK_GRACE_MS (cached pages keep
 * working). Keys past their expiry are deleted at the next rotation. No cache anywhere:
 * a key made or rotated by the CLI or another node is used by the next request.
 *
 * SQL in this module reads `$1` as the workspace id, so the functions taking a
 * workspace id work in a global transaction (they bind it) and in a workspace
 * transaction of that workspace (the store binds it). */
#ifndef DROPFIX_KEYS_PAGES_H
#define DROPFIX_KEYS_PAGES_H

#include <stddef.h>
#include <stdint.h>

#include "http/http.h"
#include "store/store.h"

struct keyring;

#define KEYS_RANDOM_BYTES 32
#define KEYS_TEXT_LEN 46    /* "pk_" + 43 base64url characters */
#define KEYS_DISPLAY_LEN 11 /* "sk_" + 8 characters shown in lists */
#define KEYS_SK_OVERLAP_MS (INT64_C(24) * 3600 * 1000)
#define KEYS_PK_GRACE_MS (INT64_C(7) * 24 * 3600 * 1000)

enum keys_kind { KEYS_PUBLIC = 0, KEYS_SECRET = 1 };

/* A key's text; wipe with keys_text_wipe when it held a secret key. */
struct keys_text {
	char s[KEYS_TEXT_LEN + 1];
};

/* "pk" or "sk". */
const char *keys_kind_name(enum keys_kind k);
/* 1 when s[0..n) has the shape of a key of either kind (prefix, 43 base64url chars);
 * *kind set. Else 0. */
int keys_shape_ok(const char *s, size_t n, enum keys_kind *kind);

/* Makes a new key of kind for workspace ws and stores it (hash, display prefix, sealed
 * copy) in a write transaction (global, or ws's own). out gets the key text. Returns 0
 * or -1 (store error, or the seal failed: then store_errcode is untouched). */
int keys_issue(struct store_tx *tx, const struct keyring *kr, int64_t ws, enum keys_kind kind,
               struct keys_text *out) __attribute__((warn_unused_result));

/* Rotates: every live key of kind in ws that would outlive now + the overlap (pk_:
 * KEYS_PK_GRACE_MS, sk_: KEYS_SK_OVERLAP_MS) now expires then, expired keys of ws are
 * deleted, and a new key is issued into out. *old_until (may be NULL) is the previous
 * key's new expiry. Returns 0 or -1. */
int keys_rotate(struct store_tx *tx, const struct keyring *kr, int64_t ws, enum keys_kind kind, int64_t now,
                struct keys_text *out, int64_t *old_until) __attribute__((warn_unused_result));

/* Ingestion: which workspace a presented key text s[0..n) belongs to, at time now. In a
 * global transaction. Returns 1 (live key: *ws and *kind set), 0 (unknown, malformed,
 * expired or revoked), -1 (store error). */
int keys_lookup(struct store_tx *tx, const char *s, size_t n, int64_t now, int64_t *ws, enum keys_kind *kind)
    __attribute__((warn_unused_result));
/* keys_lookup that also gives a live key's expiry (*expires_at: ms, INT64_MAX when it has
 * none; expires_at may be NULL) — for the ingestion key cache (src/ingest/ingest_keycache.h). */
int keys_lookup_until(struct store_tx *tx, const char *s, size_t n, int64_t now, int64_t *ws,
                      enum keys_kind *kind, int64_t *expires_at) __attribute__((warn_unused_result));

/* The current (newest, not expiring) public key of ws, opened: 1 found (out set), 0
 * none, -1 store error or a sealed value that does not open. */
int keys_current_public(struct store_tx *tx, const struct keyring *kr, int64_t ws, struct keys_text *out)
    __attribute__((warn_unused_result));

/* Signing checks: the live secret keys of ws at now (newest first, at most max), opened
 * into out[0..*n). Wipe them after use. Returns 0 or -1. */
int keys_live_secrets(struct store_tx *tx, const struct keyring *kr, int64_t ws, int64_t now,
                      struct keys_text *out, size_t max, size_t *n) __attribute__((warn_unused_result));

/* Wipes a key text. Accepts NULL. */
void keys_text_wipe(struct keys_text *t);

/* GET /w/:ws/settings/keys: the public key, the live keys, rotation forms. */
int keys_page(struct http_request *req, struct http_response *res);
/* POST /w/:ws/settings/keys/rotate (kind=pk|sk): rotates and shows the new key once. */
int keys_page_rotate(struct http_request *req, struct http_response *res);
/* POST /w/:ws/settings/keys/signing (require_signed_identify=on|absent, admin only,
 * audited as settings.changed): the workspace's "require signed identify" setting
 * (PRODUCT §2 "Signed identify"; enforced by src/ingest/ingest.c). */
int keys_page_signing(struct http_request *req, struct http_response *res);
/* POST /w/:ws/settings/keys/privacy (consent_required=on|absent, honor_dnt=on|absent;
 * owners and admins, PERM_KEYS_ROTATE): the workspace's browser-privacy settings
 * (src/ingest/ingest_config.h), audited as settings.changed when they change; ingestion
 * and GET /v1/config see them at once in this process (key cache cleared). */
int keys_page_privacy(struct http_request *req, struct http_response *res);

#ifdef DROPFIX_TEST_HOOKS
/* POST /__test/keycheck {"key": "..."} (test builds): {"workspace_id","kind"} for a live
 * key, 404 otherwise — what the ingestion endpoint will ask of keys_lookup. */
int keys_test_check(struct http_request *req, struct http_response *res);
#endif

#endif
