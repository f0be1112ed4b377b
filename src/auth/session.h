/* Founder sessions: random tokens stored by SHA-256 hash, rotated with a short grace for
 * requests in flight, idle and absolute expiry, a CSRF token bound to the session record
 * (stable across rotation, so open tabs keep working), and the cookies that carry them. */
#ifndef DROPFIX_SESSION_H
#define DROPFIX_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "store/store.h"

#define SESSION_IDLE_MS (INT64_C(12) * 3600 * 1000)          /* no request for 12 h: ended */
#define SESSION_ABSOLUTE_MS (INT64_C(14) * 24 * 3600 * 1000) /* at most 14 days from sign-in */
#define SESSION_ROTATE_MS (INT64_C(15) * 60 * 1000)          /* new token every 15 minutes */
#define SESSION_GRACE_MS (INT64_C(10) * 1000)                /* old token valid 10 s after rotation */
#define SESSION_TOUCH_MS (INT64_C(60) * 1000)                /* last_seen_at precision */

#define SESSION_TOKEN_CHARS 43 /* base64url of 32 random bytes */
#define SESSION_CSRF_CHARS 43

enum session_stage { SESSION_PENDING_2FA = 0, SESSION_FULL = 1 };

struct session_token {
	char text[SESSION_TOKEN_CHARS + 1];
};

struct session_info {
	int64_t id;
	int64_t account_id;
	int stage;
	int is_current;   /* matched the current token (0: the previous one, in its grace) */
	int64_t created_at;
	int64_t last_seen_at;
	int64_t rotated_at;
	int64_t expires_at;
	int is_staff;
	int has_2fa;
	char csrf[SESSION_CSRF_CHARS + 1];
};

/* Creates a session for account_id at stage in a global write transaction and returns
 * its token (only the hash is stored). Returns 0 or -1. */
int session_create(struct store_tx *tx, int64_t account_id, int stage, const char *user_agent,
		   struct session_token *out, int64_t *id_out) __attribute__((warn_unused_result));
/* Finds the live session for token at time now (current token, or the previous one
 * within its grace). Returns 1 and fills out, 0 when absent, expired or the account is
 * disabled, -1 on a database error. */
int session_lookup(struct store_tx *tx, const char *token, int64_t now, struct session_info *out)
	__attribute__((warn_unused_result));
/* Issues a new token for session id (the old one stays valid for SESSION_GRACE_MS) and
 * optionally raises the stage (stage < 0 keeps it). Returns 0 or -1. */
int session_rotate(struct store_tx *tx, int64_t id, int stage, struct session_token *out)
	__attribute__((warn_unused_result));
/* Records activity (last_seen_at = now). Returns 0 or -1. */
int session_touch(struct store_tx *tx, int64_t id, int64_t now) __attribute__((warn_unused_result));
/* Ends one session of account_id (grace token included). Returns 0 or -1. */
int session_revoke(struct store_tx *tx, int64_t account_id, int64_t id) __attribute__((warn_unused_result));
/* Ends every session of account_id except keep_id (0: all). Returns 0 or -1. */
int session_revoke_all(struct store_tx *tx, int64_t account_id, int64_t keep_id)
	__attribute__((warn_unused_result));

/* Cookie names: "__Host-dropfix_session" / "__Host-dropfix_csrf" over https, else the
 * names without the prefix (plain-http localhost development). */
const char *session_cookie_name(const struct config *cfg);
const char *session_csrf_cookie_name(const struct config *cfg);
/* Builds a Set-Cookie value: HttpOnly, SameSite=Lax, Path=/, Secure over https;
 * max_age_s 0 clears the cookie. Returns 0 or -1 when out is too small. */
int session_cookie(const struct config *cfg, const char *name, const char *value, int64_t max_age_s, char *out,
		   size_t outlen);
/* 32 random bytes as base64url text (43 chars + NUL) into out. */
void session_random_token(char out[SESSION_TOKEN_CHARS + 1]);
/* Constant-time comparison of two NUL-terminated tokens. Returns 1 when equal. */
int session_token_eq(const char *a, const char *b);

#endif
