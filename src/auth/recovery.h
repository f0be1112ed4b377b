/* Recovery codes for accounts with TOTP: ten single-use codes, shown once at enrolment
 * and stored only as SHA-256 hashes.
 *
 * A code is 16 symbols from a 32-symbol alphabet without the look-alikes 0 O 1 I
 * ("23456789ABCDEFGHJKLMNPQRSTUVWXYZ"), i.e. 80 random bits, shown as XXXX-XXXX-XXXX-XXXX.
 * The hash is SHA-256 of the 16 canonical symbols (upper case, no separators), as 64
 * lower-case hex digits. Typed input is normalised first: ASCII case is ignored and
 * spaces and dashes anywhere are dropped.
 *
 * Single use: recovery_match returns which stored hash matched; the caller deletes (or
 * marks used) that one row in the same transaction that signs the user in. */
#ifndef DROPFIX_RECOVERY_H
#define DROPFIX_RECOVERY_H

#include <stddef.h>

#include "core/limits.h"

#define RECOVERY_CODE_COUNT 10
#define RECOVERY_ALPHABET "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
#define RECOVERY_ALPHABET_SIZE 32
#define RECOVERY_SYMBOLS 16     /* 16 × log2(32) = 80 bits */
#define RECOVERY_DISPLAY_LEN 19 /* XXXX-XXXX-XXXX-XXXX, without the NUL */
#define RECOVERY_HASH_HEX_LEN 64

/* One freshly generated set: display[i] is shown to the user once, hash_hex[i] stored. */
struct recovery_set {
	char display[RECOVERY_CODE_COUNT][RECOVERY_DISPLAY_LEN + 1];
	char hash_hex[RECOVERY_CODE_COUNT][RECOVERY_HASH_HEX_LEN + 1];
};

/* Fills *out with RECOVERY_CODE_COUNT distinct random codes (libsodium) and their hashes.
 * Returns 0, or -1 when libsodium cannot start (*out is then wiped). Wipe *out with
 * recovery_set_wipe once the codes have been shown and the hashes stored. */
int recovery_generate(struct recovery_set *out) __attribute__((warn_unused_result));

/* Wipes a set (sodium_memzero); accepts NULL. */
void recovery_set_wipe(struct recovery_set *s);

/* Normalises typed input[0..n) (n <= LIMIT_RECOVERY_INPUT) and writes its hash as
 * RECOVERY_HASH_HEX_LEN hex digits plus NUL into hex. Returns 0, or -1 when the input
 * is not RECOVERY_SYMBOLS alphabet symbols after normalisation. */
int recovery_hash(const char *input, size_t n, char hex[RECOVERY_HASH_HEX_LEN + 1])
    __attribute__((warn_unused_result));

/* Hashes typed input[0..n) and compares it with each of hashes[0..count) (hex strings as
 * stored; NULL entries, e.g. used codes, are skipped) in constant time, always visiting
 * every entry. Returns the index of the matching entry, or -1 when the input is
 * malformed or matches none. Comparison ignores the case of stored hex digits. */
int recovery_match(const char *input, size_t n, const char *const *hashes, size_t count)
    __attribute__((warn_unused_result));

#endif
