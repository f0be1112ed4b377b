/* TOTP second factor (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps, Unix epoch start),
 * computed by liboath. This module holds no state: the caller keeps, per account, the
 * raw secret (sealed, ARCHITECTURE §4) and the last accepted time step
 * (accounts.totp_last_step), and passes them in.
 *
 * Enrolment: totp_secret_generate → show totp_base32_group (manual key) and the QR code
 * of totp_uri (auth/qr.h) → the founder types a code → totp_verify with TOTP_NO_STEP;
 * only on TOTP_ACCEPTED is 2FA switched on and *matched_step stored as the last step.
 * Sign-in and disabling verify the same way; every accepted code's step is stored, so a
 * code can be used once only, even inside its own 30 s window or the next one.
 *
 * All time comes from clock_now_s() (the fake clock in test builds). Throttling failed
 * attempts is the caller's job. */
#ifndef DROPFIX_TOTP_H
#define DROPFIX_TOTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"
#include "core/str.h"

#define TOTP_SECRET_BYTES 20 /* 160 bits, RFC 4226's recommendation */
#define TOTP_PERIOD_S 30
#define TOTP_DIGITS 6
#define TOTP_WINDOW 1     /* steps accepted either side of the current one */
#define TOTP_NO_STEP (-1) /* last_step when no code was accepted yet (0 works too: 1970) */
/* Base32 of TOTP_SECRET_BYTES without padding, and the display form: groups of four
 * separated by one space. Sizes without the NUL. */
#define TOTP_BASE32_LEN 32
#define TOTP_BASE32_GROUPED_LEN (TOTP_BASE32_LEN + TOTP_BASE32_LEN / 4 - 1)

/* What totp_verify decided. Only TOTP_ACCEPTED lets the user in. */
enum totp_verdict {
	TOTP_ACCEPTED = 0,
	TOTP_MALFORMED = 1, /* not "123456" or "123 456"; liboath was not called */
	TOTP_WRONG = 2,     /* no step within ±TOTP_WINDOW has this code */
	TOTP_REPLAYED = 3,  /* the code matches only steps at or before last_step */
	TOTP_ERROR = 4,     /* bad arguments or a liboath failure */
};

/* Fills secret[0..TOTP_SECRET_BYTES) with random bytes (libsodium). The caller wipes it
 * with sodium_memzero when done. Returns 0, or -1 when libsodium cannot start. */
int totp_secret_generate(uint8_t secret[TOTP_SECRET_BYTES]) __attribute__((warn_unused_result));

/* RFC 4648 base32 (upper case, no padding) of in[0..n) into out (outlen bytes, NUL
 * terminated). Returns the length written (8 characters per 5 bytes, rounded up), or -1
 * when out is too small (out is then ""). */
int totp_base32_encode(const uint8_t *in, size_t n, char *out, size_t outlen)
    __attribute__((warn_unused_result));

/* Decodes RFC 4648 base32 text in[0..n): either case; spaces are ignored (so the grouped
 * display form decodes); '=' padding is accepted only as a correct trailing pad. Refuses
 * any other character, a length that no byte string encodes, non-zero unused trailing
 * bits, and output over outcap bytes. Returns the number of bytes written to out, or -1
 * (out may then hold partial data: wipe it if it was secret). */
int totp_base32_decode(const char *in, size_t n, uint8_t *out, size_t outcap)
    __attribute__((warn_unused_result));

/* The manual-entry key: base32 of secret[0..TOTP_SECRET_BYTES) in groups of four
 * ("ABCD EFGH …"), into out (at least TOTP_BASE32_GROUPED_LEN + 1 bytes). Returns 0 or
 * -1 when out is too small. The text is as secret as the secret: wipe it after use. */
int totp_base32_group(const uint8_t secret[TOTP_SECRET_BYTES], char *out, size_t outlen)
    __attribute__((warn_unused_result));

/* Appends the key URI for authenticator apps to out:
 *   otpauth://totp/<issuer>:<label>?secret=<base32>&issuer=<issuer>&algorithm=SHA1
 *   &digits=6&period=30
 * with issuer and label (the account e-mail) percent-encoded (everything but RFC 3986
 * unreserved characters). issuer and label: 1..LIMIT_TOTP_LABEL bytes, NUL-terminated, no
 * control characters and no ':' (the format reserves it). Returns 0, or -1 on invalid
 * arguments or when out fails (out->oom). The URI contains the secret: the caller wipes
 * out (sodium_memzero(out->p, out->n)) before freeing it. */
int totp_uri(const char *issuer, const char *label, const uint8_t secret[TOTP_SECRET_BYTES], struct buf *out)
    __attribute__((warn_unused_result));

/* Writes the TOTP_DIGITS-digit code of secret[0..TOTP_SECRET_BYTES) for Unix time t
 * (t >= 0) into code (NUL-terminated). For tests and tools; sign-in uses totp_verify.
 * Returns 0 or -1. */
int totp_generate(const uint8_t secret[TOTP_SECRET_BYTES], int64_t t, char code[TOTP_DIGITS + 1])
    __attribute__((warn_unused_result));

/* Verifies the code the user typed (input[0..n), "123456" or "123 456", nothing else)
 * against secret at clock_now_s() within ±TOTP_WINDOW steps. Steps at or before
 * last_step (the step of the last accepted code; TOTP_NO_STEP when none) are never
 * accepted. Every
 * step of the window is computed and compared in constant time. On TOTP_ACCEPTED,
 * *matched_step (may be NULL) is the earliest step after last_step whose code matched:
 * store it as the new last step. Otherwise *matched_step is left alone. */
enum totp_verdict totp_verify(const uint8_t secret[TOTP_SECRET_BYTES], const char *input, size_t n,
                              int64_t last_step, int64_t *matched_step) __attribute__((warn_unused_result));

#endif
