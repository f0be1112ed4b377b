/* Per-workspace API tokens for scripts (PRODUCT §12–13, ARCHITECTURE §8b "Requests").
 *
 * A token is "dft_" + base64url (no padding) of 32 random bytes: 47 characters. Only its
 * SHA-256 is stored (api_tokens.token_hash, a global table), with the first
 * API_TOKEN_DISPLAY_CHARS characters as display_prefix so people can tell tokens apart.
 * A token acts in its own workspace only, with its role ('viewer', 'member' or 'admin'),
 * never above the current role of the account that created it: the effective role is
 * the lower of the two, and a token whose creator is no longer a member (or is
 * disabled, or deleted) does not authenticate. Tokens are outside CSRF (they are never
 * cookies) and count against no session. */
#ifndef DROPFIX_API_TOKEN_H
#define DROPFIX_API_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "http/http.h"
#include "store/store.h"

#define API_TOKEN_PREFIX "dft_"
#define API_TOKEN_PREFIX_LEN 4
#define API_TOKEN_RANDOM_BYTES 32
#define API_TOKEN_CHARS 47                      /* "dft_" + 43 base64url characters */
#define API_TOKEN_DISPLAY_CHARS 12              /* "dft_" + 8 */
#define API_TOKEN_NAME_MAX 80                   /* bytes of a token's name */
#define API_TOKEN_MAX_DAYS 3650                 /* longest expiry a token can be given */
#define API_TOKEN_TOUCH_MS (INT64_C(60) * 1000) /* last_used_at precision */

struct api_token_text {
	char s[API_TOKEN_CHARS + 1];
};

/* What the guard needs about a live token. */
struct api_token_auth {
	int64_t id;
	int64_t workspace_id;
	int64_t account_id;   /* the creator (acts as the request's account) */
	enum role role;       /* min(token role, creator's membership role) */
	int64_t last_used_at; /* 0 = never */
	int require_2fa;      /* the workspace requires 2FA of its members */
	int creator_has_2fa;
	int is_staff;
	char display[API_TOKEN_DISPLAY_CHARS + 1];
};

/* 1 when s[0..n) has the exact shape of a token ("dft_" + 43 base64url characters). */
int api_token_shape_ok(const char *s, size_t n);

/* Fills out with a fresh random token. */
void api_token_generate(struct api_token_text *out);

/* Wipes a token's text (accepts NULL). */
void api_token_wipe(struct api_token_text *t);

/* Creates a token in workspace ws for account_id with role (ROLE_VIEWER..ROLE_ADMIN),
 * name (1..API_TOKEN_NAME_MAX bytes, checked by the caller) and expiry expires_at (ms;
 * 0 = never) inside tx, a write
 * transaction that is either global or scoped to ws. The text is written to out (the
 * caller shows it once and wipes it); display (may be NULL) gets the display prefix.
 * Returns 0 and *id_out (may be NULL), or -1 (bad role or store failure; out wiped). */
int api_token_create(struct store_tx *tx, int64_t ws, int64_t account_id, const char *name, size_t name_n,
                     enum role role, int64_t now, int64_t expires_at, struct api_token_text *out,
                     int64_t *id_out, char display[API_TOKEN_DISPLAY_CHARS + 1])
    __attribute__((warn_unused_result));

/* Finds the live token s[0..n) at time now inside tx (any transaction that can read the
 * global tables). Returns 1 and fills out; 0 when the text is malformed, unknown,
 * revoked, expired, or its creator is gone, disabled or no longer a member of the
 * token's workspace; -1 on a store failure. */
int api_token_lookup(struct store_tx *tx, const char *s, size_t n, int64_t now, struct api_token_auth *out)
    __attribute__((warn_unused_result));

/* Records use at now (last_used_at), in a global write transaction; the guard calls it
 * at most once per API_TOKEN_TOUCH_MS per token. Returns 0 or -1. */
int api_token_touch(struct store_tx *tx, int64_t id, int64_t now) __attribute__((warn_unused_result));

/* Revokes token id of workspace ws (tx: global or scoped to ws, write). Returns 1 when
 * it was live and is now revoked, 0 when no such live token exists in ws, -1 on a store
 * failure. display (may be NULL) gets its display prefix when found. */
int api_token_revoke(struct store_tx *tx, int64_t ws, int64_t id, int64_t now,
                     char display[API_TOKEN_DISPLAY_CHARS + 1]) __attribute__((warn_unused_result));

/* The tokens of workspace ws, newest first, at most limit, as a JSON array of
 * {id, name, display_prefix, role, created_by (name or e-mail, "" when the account is
 * gone), created_at, last_used_at, expires_at, revoked_at} (times in ms, null when
 * unset). tx: global or scoped to ws. Returns a new reference, or NULL (store failure
 * or out of memory). */
json_t *api_token_list(struct store_tx *tx, int64_t ws, size_t limit) __attribute__((warn_unused_result));

/* Parses a role a token may carry ("viewer", "member", "admin"); ROLE_NONE otherwise. */
enum role api_token_role_parse(const char *s, size_t n);

/* Rate limit for failed token attempts per client IP (in-memory, this process): 1 when
 * ip may try now, else 0 with *retry_after_s set. */
int api_token_attempt_allowed(const char *ip, int64_t *retry_after_s);
/* Counts one failed attempt from ip. */
void api_token_attempt_failed(const char *ip);

#endif
