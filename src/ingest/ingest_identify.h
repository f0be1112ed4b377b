/* Signed identify and tracked users' private traits (PRODUCT §2 "Signed identify", §4;
 * docs/signed-identify.md).
 *
 * Canonical v1 message (UTF-8, absent traits are empty strings, mrr a decimal integer,
 * signed_at Unix seconds):
 *     v1\n<userId>\n<signed_at>\n<email>\n<plan>\n<mrr>\n<trial_ends>
 * signed with HMAC-SHA256 keyed by the bytes of a live sk_ key string, sent as
 * traits.dropfix_hash (hex) and traits.dropfix_signed_at.
 *
 * E-mail blind index: lowercase hex HMAC-SHA256 over "<workspace id>|<normalised e-mail>"
 * keyed with keyring_derive(kr, key id, KEYRING_PURPOSE_BLIND_INDEX). Normalisation:
 * surrounding ASCII white space trimmed, ASCII letters lower-cased; no Unicode library is
 * linked, so NFC is NOT applied: non-ASCII bytes are kept as given (documented).
 *
 * Prefix ingest_identify_. */
#ifndef DROPFIX_INGEST_IDENTIFY_H
#define DROPFIX_INGEST_IDENTIFY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"
#include "core/str.h"
#include "store/store.h"

struct keyring;

#define INGEST_SIGN_MAX_AGE_S 300 /* signatures older than this are refused */
#define INGEST_SIGN_MAX_SKEW_S 60 /* signatures this far in the future are refused */
#define INGEST_BIDX_HEX 64

/* The signed traits of one identify, as text (each NUL-terminated, "" when absent). */
struct ingest_signed_traits {
	const char *email, *plan, *mrr, *trial_ends;
};

enum ingest_sign_result {
	INGEST_SIGN_OK = 0,
	INGEST_SIGN_MISMATCH,  /* malformed hash or no key reproduces it */
	INGEST_SIGN_STALE,     /* signed_at more than INGEST_SIGN_MAX_AGE_S ago */
	INGEST_SIGN_FUTURE,    /* signed_at more than INGEST_SIGN_MAX_SKEW_S ahead */
	INGEST_SIGN_BAD_TRAIT, /* a signed trait has a type that cannot be signed */
};

/* Reads email, plan, mrr, trial_ends from an identify's raw traits object (may be NULL)
 * into t. Strings are borrowed from traits as given; integers are written as decimal
 * into tmp (caller-owned); mrr may also be a real with an integral value. null or absent
 * is "". Returns 0, or -1 when a present trait has another type or a string holds a NUL. */
int ingest_identify_traits(json_t *traits, struct ingest_signed_traits *t, char tmp[4][32])
    __attribute__((warn_unused_result));

/* Appends the canonical v1 message to out. Returns 0 or -1 (out of memory). */
int ingest_identify_message(const char *user_id, int64_t signed_at, const struct ingest_signed_traits *t,
                            struct buf *out) __attribute__((warn_unused_result));

/* Checks hex (hex_n bytes) against HMAC-SHA256(key_i, message) for each of the nkeys
 * key strings, in constant time per key, and signed_at against now_s. */
enum ingest_sign_result ingest_identify_verify(const char *const *keys, size_t nkeys, const char *user_id,
                                               int64_t signed_at, const struct ingest_signed_traits *t,
                                               const char *hex, size_t hex_n, int64_t now_s);

/* Writes the normalised e-mail of s[0..n) into out (reset first). Returns 0 or -1. */
int ingest_identify_email_norm(const char *s, size_t n, struct buf *out) __attribute__((warn_unused_result));

/* The blind index of e-mail s[0..n) in workspace ws under keyring key key_id into
 * hex[INGEST_BIDX_HEX + 1]. Returns 0 or -1. */
int ingest_identify_bidx(const struct keyring *kr, uint32_t key_id, int64_t ws, const char *s, size_t n,
                         char hex[INGEST_BIDX_HEX + 1]) __attribute__((warn_unused_result));

/* The row key used in the sealing AD of a tracked user: the user id when it is 1..
 * LIMIT_SEAL_AD_FIELD bytes of printable ASCII without '|', else "h." + hex SHA-256. */
void ingest_identify_row_key(const char *user_id, char out[LIMIT_SEAL_AD_FIELD + 1]);

/* Blind-index lookup in a transaction of workspace ws: the user id whose e-mail equals
 * s[0..n) after normalisation (under any key of the keyring). Returns 1 (*user_id
 * malloc'ed), 0 none, -1 error. */
int ingest_identify_find_email(struct store_tx *tx, const struct keyring *kr, int64_t ws, const char *s,
                               size_t n, char **user_id) __attribute__((warn_unused_result));

#ifdef DROPFIX_TEST_HOOKS
#include "http/http.h"
/* POST /__test/user-by-email {"workspace_id": N, "email": "..."} (test builds): the
 * blind-index lookup, then the user's sealed name and e-mail opened:
 * {"user_id", "name", "email", "email_verified"}, or 404. */
int ingest_identify_test_lookup(struct http_request *req, struct http_response *res);
#endif

#endif
