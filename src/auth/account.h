/* Founder accounts: the records behind sign-up and sign-in (global table accounts) and
 * their single-use tokens (email_verifications, password_resets), the one-time setup
 * token of a fresh installation, and the stored second factor (sealed TOTP seed, last
 * accepted step, recovery code hashes).
 *
 * E-mail addresses are stored lower-cased and trimmed (account_email_normalize), so one
 * address is one account. Tokens are 32 random bytes as base64url (43 characters);
 * only their SHA-256 is stored. Functions taking a transaction expect a global one
 * (STORE_WRITE where they change something). Time comes from clock_now_ms(). */
#ifndef DROPFIX_ACCOUNT_H
#define DROPFIX_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "auth/password.h"
#include "auth/recovery.h"
#include "auth/session.h"
#include "auth/totp.h"
#include "core/limits.h"
#include "store/store.h"

struct keyring;
struct seal_ad;

#define ACCOUNT_TOKEN_CHARS SESSION_TOKEN_CHARS
#define ACCOUNT_VERIFY_TTL_MS (INT64_C(48) * 3600 * 1000) /* e-mail verification links */
#define ACCOUNT_RESET_TTL_MS (INT64_C(3600) * 1000)       /* password reset links: 1 hour */
#define ACCOUNT_ALERT_EVERY_MS (INT64_C(3600) * 1000)     /* failed sign-in alerts: once an hour */
#define ACCOUNT_SETUP_META_KEY "setup_token_sha256"

enum { ACCOUNT_E_EXISTS = 1 }; /* account_create / account_change_email: address taken */

struct account {
	int64_t id;
	char email[LIMIT_MAIL_ADDR + 1];
	char name[LIMIT_ACCOUNT_NAME + 1];
	char password_hash[PASSWORD_HASH_MAX]; /* "" when the account has no password */
	int verified;
	int has_2fa;
	int is_staff;
	int disabled;
	int64_t created_at;
};

struct account_token {
	char text[ACCOUNT_TOKEN_CHARS + 1];
};

/* Normalises a typed address in[0..n): ASCII whitespace trimmed, ASCII letters
 * lower-cased, then checked with mail_addr_valid. Writes it NUL-terminated into out.
 * Returns 0, or -1 when it is not an address we accept. */
int account_email_normalize(const char *in, size_t n, char out[LIMIT_MAIL_ADDR + 1])
    __attribute__((warn_unused_result));
/* The throttle key of a typed address: trimmed and lower-cased like the above but never
 * refused (an invalid address is throttled too); cut to outlen - 1 bytes. */
void account_email_key(const char *in, size_t n, char *out, size_t outlen);

/* Finds an account: 1 found (out filled), 0 none, -1 store error. */
int account_find_by_email(struct store_tx *tx, const char *email, struct account *out)
    __attribute__((warn_unused_result));
int account_get(struct store_tx *tx, int64_t id, struct account *out) __attribute__((warn_unused_result));
/* 1 when at least one account exists, 0 none, -1 store error. */
int account_any(struct store_tx *tx) __attribute__((warn_unused_result));

struct account_new {
	const char *email;         /* normalised */
	const char *name;          /* checked by the caller (no control characters) */
	const char *password_hash; /* from password_hash, or NULL */
	int verified;              /* 1: verified now (operator CLI), 0: needs the link */
};

/* Creates an account with a random id. Returns 0 (*id_out set), ACCOUNT_E_EXISTS when
 * the address is taken (the transaction stays usable), or -1. */
int account_create(struct store_tx *tx, const struct account_new *a, int64_t *id_out)
    __attribute__((warn_unused_result));
/* Marks the address verified. Returns 0 or -1. */
int account_set_verified(struct store_tx *tx, int64_t id) __attribute__((warn_unused_result));
/* Sets a new password hash, ends every outstanding reset token and every session but
 * keep_session_id (0: all of them). Returns 0 or -1. */
int account_set_password(struct store_tx *tx, int64_t id, const char *hash, int64_t keep_session_id)
    __attribute__((warn_unused_result));
/* Replaces the hash only if it is still old_hash (sign-in rehash). Returns 0 or -1. */
int account_rehash(struct store_tx *tx, int64_t id, const char *old_hash, const char *new_hash)
    __attribute__((warn_unused_result));
/* Changes the address to new_email (normalised) and marks it verified; ends reset
 * tokens and other pending verifications. Returns 0, ACCOUNT_E_EXISTS, or -1. */
int account_change_email(struct store_tx *tx, int64_t id, const char *new_email)
    __attribute__((warn_unused_result));
/* Claims the failed sign-in alert of account id: 1 when the last alert is older than
 * ACCOUNT_ALERT_EVERY_MS (failed_alert_at is set to now), 0 when one went out within
 * the hour, -1 store error. */
int account_claim_failed_alert(struct store_tx *tx, int64_t id) __attribute__((warn_unused_result));

/* Sign-in check with the same work whatever the outcome: reads the account of email in a
 * read transaction on c (ended before hashing), then verifies pw[0..n) against its hash,
 * or against the dummy hash when there is no such account or it has no password.
 * Returns PASSWORD_OK (out filled; *needs_rehash set), PASSWORD_MISMATCH (out->id is
 * the account's id when it exists, else 0), PASSWORD_BUSY, PASSWORD_ERROR, or -1 on a
 * store error. */
int account_authenticate(struct store_conn *c, const char *email, const char *pw, size_t n,
                         struct account *out, int *needs_rehash) __attribute__((warn_unused_result));

/* ---- single-use tokens ---- */

/* Starts an e-mail verification of address email for account id (valid
 * ACCOUNT_VERIFY_TTL_MS). Returns 0 and the token, or -1. */
int account_verification_create(struct store_tx *tx, int64_t id, const char *email, struct account_token *out)
    __attribute__((warn_unused_result));
/* Looks a verification token up without using it: 1 live (*id, email set), 0 unknown,
 * used or expired, -1 store error. email needs LIMIT_MAIL_ADDR + 1 bytes. */
int account_verification_peek(struct store_tx *tx, const char *token, int64_t *id, char *email)
    __attribute__((warn_unused_result));
/* Uses a verification token (write transaction): 1 used now (*id, email set), 0
 * unknown, used or expired, -1 store error. */
int account_verification_consume(struct store_tx *tx, const char *token, int64_t *id, char *email)
    __attribute__((warn_unused_result));
/* Most recent verification mail time for account id (0 when none); -1 store error. */
int account_verification_last(struct store_tx *tx, int64_t id, int64_t *created_at)
    __attribute__((warn_unused_result));

/* Password reset tokens (valid ACCOUNT_RESET_TTL_MS): as the verification functions. */
int account_reset_create(struct store_tx *tx, int64_t id, struct account_token *out)
    __attribute__((warn_unused_result));
int account_reset_peek(struct store_tx *tx, const char *token, int64_t *id)
    __attribute__((warn_unused_result));
int account_reset_consume(struct store_tx *tx, const char *token, int64_t *id)
    __attribute__((warn_unused_result));

/* ---- the one-time setup token (DROPFIX_SIGNUP=first) ---- */

/* At serve start: when no account exists, makes a new setup token, stores its SHA-256
 * in installation_meta (replacing an earlier one) and returns 1 with the token in out;
 * 0 when an account exists (nothing stored); -1 with err on failure. */
int account_setup_token_issue(struct store *s, struct account_token *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Inside the sign-up write transaction: claims the setup token, so only one sign-up
 * can use it: 1 claimed (it was the stored one and no account exists; it is gone
 * now), 0 wrong, already used or accounts exist, -1 store error. */
int account_setup_token_claim(struct store_tx *tx, const char *token) __attribute__((warn_unused_result));

/* ---- second factor ---- */

/* The AD a TOTP seed of account id is sealed under (id_text holds its decimal form). */
void account_totp_ad(int64_t id, char id_text[24], struct seal_ad *ad);
/* Loads and opens the TOTP seed of account id: 1 (secret and *last_step set; wipe the
 * secret), 0 when 2FA is off, -1 on a store error or a seed that does not open. */
int account_totp_load(struct store_tx *tx, const struct keyring *kr, int64_t id,
                      uint8_t secret[TOTP_SECRET_BYTES], int64_t *last_step)
    __attribute__((warn_unused_result));
/* Records step as the last accepted one if it is later than the stored one (so two
 * requests cannot both use one code): 1 recorded, 0 replay, -1 store error. */
int account_totp_record_step(struct store_tx *tx, int64_t id, int64_t step)
    __attribute__((warn_unused_result));
/* Turns 2FA on: seals secret, stores step as the last accepted one and the recovery
 * hashes of codes. Returns 0 or -1. */
int account_totp_enable(struct store_tx *tx, const struct keyring *kr, int64_t id,
                        const uint8_t secret[TOTP_SECRET_BYTES], int64_t step,
                        const struct recovery_set *codes) __attribute__((warn_unused_result));
/* Turns 2FA off (seed, last step and recovery codes removed). Returns 0 or -1. */
int account_totp_disable(struct store_tx *tx, int64_t id) __attribute__((warn_unused_result));
/* Uses a typed recovery code: 1 matched an unused code, now marked used; 0 no match;
 * -1 store error. */
int account_recovery_use(struct store_tx *tx, int64_t id, const char *input, size_t n)
    __attribute__((warn_unused_result));
/* Replaces the recovery codes with codes' hashes. Returns 0 or -1. */
int account_recovery_replace(struct store_tx *tx, int64_t id, const struct recovery_set *codes)
    __attribute__((warn_unused_result));
/* Unused recovery codes of account id (0 when none); -1 store error. */
int account_recovery_left(struct store_tx *tx, int64_t id) __attribute__((warn_unused_result));

/* ---- workspaces of an account (for the start page) ---- */

/* The id of the account's first workspace (oldest membership): 1 found, 0 none, -1. */
int account_first_workspace(struct store_tx *tx, int64_t id, int64_t *ws_out)
    __attribute__((warn_unused_result));

#endif
