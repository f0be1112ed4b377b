/* HKDF-SHA256 (RFC 5869), extract-then-expand, through OpenSSL 3's EVP_KDF. */
#ifndef DROPFIX_HKDF_H
#define DROPFIX_HKDF_H

#include <stddef.h>
#include <stdint.h>

/* Largest output RFC 5869 allows for SHA-256: 255 * 32 bytes. */
#define HKDF_SHA256_MAX_OUT (255 * 32)

/* Writes out_len bytes of HKDF-SHA256(salt, ikm, info) to out. salt and info may be
 * NULL when their length is 0 (an empty salt means HashLen zero bytes, per the RFC).
 * out_len must be 1..HKDF_SHA256_MAX_OUT. Returns 0, or -1 (out wiped) on bad
 * arguments or an OpenSSL failure. Thread-safe. */
int hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len, const uint8_t *info,
                size_t info_len, uint8_t *out, size_t out_len) __attribute__((warn_unused_result));

#endif
