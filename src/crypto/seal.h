/* Sealed values: AES-256-GCM under a key derived from the master keyring (§4).
 *
 * Binary form: version (1 byte, = 1) | key id (4 bytes, big-endian) | nonce (12 random
 * bytes) | ciphertext | tag (16 bytes). Stored as text: "s1." followed by the binary
 * form in base64url without padding.
 *
 * Associated data (never stored; rebuilt from where the value lives):
 *   v1|<scope>|<scope id>|<table>|<column>|<row key>
 * scope is workspace, account or installation; scope id a decimal int64; table and
 * column [a-z0-9_]; row key an application-generated string of printable ASCII without
 * '|' (so a value can be sealed before its INSERT). A value moved to another row,
 * column, table or tenant fails to open. */
#ifndef DROPFIX_SEAL_H
#define DROPFIX_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

struct keyring;

#define SEAL_TEXT_PREFIX "s1."
#define SEAL_VERSION 1
#define SEAL_NONCE_BYTES 12
#define SEAL_TAG_BYTES 16
#define SEAL_HEADER_BYTES (1 + 4 + SEAL_NONCE_BYTES)
#define SEAL_OVERHEAD (SEAL_HEADER_BYTES + SEAL_TAG_BYTES)
/* Longest sealed text (without its NUL): prefix + base64url of the largest binary. */
#define SEAL_TEXT_MAX (sizeof(SEAL_TEXT_PREFIX) - 1 + ((LIMIT_SEALED_PLAIN + SEAL_OVERHEAD) * 4 + 2) / 3)

/* Where a sealed value lives. All strings are borrowed and NUL-terminated. */
struct seal_ad {
	const char *scope;   /* "workspace", "account" or "installation" */
	int64_t scope_id;    /* workspace id, account id, or 0 for installation */
	const char *table;   /* 1..LIMIT_SEAL_AD_FIELD bytes of [a-z0-9_] */
	const char *column;  /* same */
	const char *row_key; /* 1..LIMIT_SEAL_AD_FIELD bytes of printable ASCII except '|' */
};

/* Seals plain[0..n) (n <= LIMIT_SEALED_PLAIN; plain may be NULL when n is 0) under the
 * keyring's active key with a fresh random nonce. On success *out_text is a malloc'ed
 * NUL-terminated "s1." string (not secret; free with free()). Returns -1 for an invalid
 * AD (unknown scope, empty or over-long field, '|' or a disallowed byte), an oversized
 * input or an OpenSSL failure. Thread-safe on a shared keyring. */
int seal_value(const struct keyring *kr, const struct seal_ad *ad, const uint8_t *plain, size_t n,
               char **out_text) __attribute__((warn_unused_result));

/* Opens text with the key whose id it carries. On success *plain is a malloc'ed buffer
 * of *n bytes followed by one NUL byte not counted in *n (so sealed strings can be used
 * as C strings); release it with seal_plain_free(*plain, *n). Returns -1 (nothing
 * allocated) when text is not a well-formed sealed value, names a key id the keyring
 * lacks, was changed in any way, or was sealed under other associated data. */
int seal_open(const struct keyring *kr, const struct seal_ad *ad, const char *text, uint8_t **plain,
              size_t *n) __attribute__((warn_unused_result));

/* Reads the key id of a well-formed sealed text without opening it. Returns 0 or -1. */
int seal_key_id(const char *text, uint32_t *id) __attribute__((warn_unused_result));

/* Re-seals text under the active key (for `keys rotate`). When text already carries
 * the active key id it is only checked to open: *already_active = 1 and *new_text =
 * NULL, so an interrupted rotation can be resumed. Otherwise *already_active = 0 and
 * *new_text is a malloc'ed new sealed text. Returns -1 when text does not open. */
int seal_reseal(const struct keyring *kr, const struct seal_ad *ad, const char *text, char **new_text,
                int *already_active) __attribute__((warn_unused_result));

/* Wipes n bytes (plus the trailing NUL) and frees p. Accepts NULL. */
void seal_plain_free(uint8_t *p, size_t n);

#endif
