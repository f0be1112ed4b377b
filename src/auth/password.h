/* Founder passwords: Argon2id through libsodium (crypto_pwhash_str_alg), stored as the
 * PHC string "$argon2id$v=19$m=…,t=…,p=1$salt$hash".
 *
 * Cost: release builds use crypto_pwhash_OPSLIMIT_INTERACTIVE / MEMLIMIT_INTERACTIVE
 * (64 MiB per computation); test builds (-DDROPFIX_TEST_HOOKS) the argon2id minimum, a
 * compile-time choice only. A stored hash made with other parameters verifies and is
 * reported as needing a rehash (crypto_pwhash_str_needs_rehash).
 *
 * Work is bounded: at most LIMIT_PASSWORD_HASHERS computations run at once in the
 * process; up to LIMIT_PASSWORD_QUEUE callers wait (at most LIMIT_PASSWORD_WAIT_MS) and
 * any further caller gets PASSWORD_BUSY at once (the page answers 503 + Retry-After).
 * Callers apply their per-IP limit before calling in here.
 *
 * Same work for unknown accounts: password_verify with no stored hash (or one that is
 * not an Argon2id string) verifies against a fixed dummy hash made with the current
 * parameters, so "no such account" and "wrong password" cost the same.
 *
 * Passwords are 10 to 1,024 bytes, any bytes; no composition rules. Thread-safe. */
#ifndef DROPFIX_PASSWORD_H
#define DROPFIX_PASSWORD_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

#define PASSWORD_HASH_MAX crypto_pwhash_STRBYTES /* buffer for a hash string, NUL included */
#define PASSWORD_PREFIX "$argon2id$"

enum password_result {
	PASSWORD_OK = 0,       /* hashed, or the password matched */
	PASSWORD_MISMATCH = 1, /* wrong password (or no stored hash: the dummy was checked) */
	PASSWORD_BUSY = 2,     /* every hasher busy and the queue full, or the wait ran out */
	PASSWORD_ERROR = 3,    /* libsodium could not start or ran out of memory */
};

/* 1 when a password of n bytes is acceptable (LIMIT_PASSWORD_MIN..LIMIT_PASSWORD_MAX). */
int password_length_ok(size_t n);

/* Hashes pw[0..n) (length already checked) into out (NUL-terminated, starts with
 * PASSWORD_PREFIX). Returns PASSWORD_OK, PASSWORD_BUSY or PASSWORD_ERROR. */
enum password_result password_hash(const char *pw, size_t n, char out[PASSWORD_HASH_MAX])
    __attribute__((warn_unused_result));

/* Verifies pw[0..n) against stored (NULL, or any string: a non-Argon2id one is treated as
 * absent and the dummy hash is checked instead, then PASSWORD_MISMATCH). On PASSWORD_OK,
 * *needs_rehash (may be NULL) is 1 when stored was made with other parameters. Returns
 * PASSWORD_OK, PASSWORD_MISMATCH, PASSWORD_BUSY or PASSWORD_ERROR. */
enum password_result password_verify(const char *stored, const char *pw, size_t n, int *needs_rehash)
    __attribute__((warn_unused_result));

/* The cost parameters this build hashes with. */
unsigned long long password_opslimit(void);
size_t password_memlimit(void);

#ifdef DROPFIX_TEST_HOOKS
/* Test builds: how many Argon2id verifications (dummy included) and hashes (dummy
 * excluded) this process has run. */
uint64_t password_test_verify_calls(void);
uint64_t password_test_hash_calls(void);
/* Test builds: holds n of the hasher slots (as if n computations ran) until released
 * with n = 0, so tests can fill the queue. Returns 0. */
int password_test_hold_slots(int n);
/* Test builds: callers waiting for a hasher right now. */
int password_test_waiting(void);
#endif

#endif
