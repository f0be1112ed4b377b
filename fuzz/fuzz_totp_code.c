/* Fuzz target for what a user types at the second sign-in step and what the TOTP module
 * decodes. Every input goes through all of:
 *   - totp_verify under a fixed secret: TOTP_MALFORMED exactly when the input is not
 *     "dddddd" or "ddd ddd" (checked here independently), never TOTP_ERROR otherwise;
 *     an accepted code must equal totp_generate's code for the step it reports;
 *   - recovery_match against a fixed set: a match means recovery_hash of the input is
 *     the stored hash at that index;
 *   - totp_base32_decode: what decodes must encode back to the input's canonical form
 *     (upper case, without spaces and padding);
 *   - qr_svg (short inputs only): a trusted fragment for any 1..LIMIT_QR_TEXT bytes
 *     without NUL, NULL otherwise. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/qr.h"
#include "auth/recovery.h"
#include "auth/totp.h"
#include "tmpl/tmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t secret[TOTP_SECRET_BYTES] = "12345678901234567890";

/* The fixed recovery set: SHA-256 of "23456789ABCDEFGH" and of "ZZZZYYYYXXXXWWWW". */
static const char *const hashes[] = {
    NULL,
    "1f55571d034cc913bf067dcb0b56be2064461dd73f0d11f2a94d57265b6df2f5",
    "not hex",
    "20AAC167565A47CE525F51CC191CD39D242D0773A8AE2DE2E706095289B16147",
};

static int well_formed_code(const uint8_t *d, size_t n)
{
	if (n != 6 && n != 7)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (n == 7 && i == 3) {
			if (d[i] != ' ')
				return 0;
		} else if (d[i] < '0' || d[i] > '9') {
			return 0;
		}
	}
	return 1;
}

static void fuzz_totp(const uint8_t *data, size_t size)
{
	int64_t step = -7;
	enum totp_verdict v = totp_verify(secret, (const char *)data, size, TOTP_NO_STEP, &step);
	if ((v == TOTP_MALFORMED) != !well_formed_code(data, size))
		abort();
	if (v == TOTP_ERROR)
		abort();
	if (v == TOTP_ACCEPTED) {
		char code[TOTP_DIGITS + 1];
		if (step < 0 || totp_generate(secret, step * TOTP_PERIOD_S, code) != 0)
			abort();
		char typed[TOTP_DIGITS] = {0};
		for (size_t i = 0, o = 0; i < size; i++)
			if (data[i] != ' ')
				typed[o++] = (char)data[i];
		if (memcmp(code, typed, TOTP_DIGITS) != 0)
			abort();
	} else if (step != -7) {
		abort();
	}
}

static void fuzz_recovery(const uint8_t *data, size_t size)
{
	int idx = recovery_match((const char *)data, size, hashes, sizeof(hashes) / sizeof(hashes[0]));
	char hex[RECOVERY_HASH_HEX_LEN + 1];
	int hrc = recovery_hash((const char *)data, size, hex);
	if (idx >= 0 && (hrc != 0 || !hashes[idx] || strcasecmp(hex, hashes[idx]) != 0))
		abort();
	if (hrc != 0 && idx >= 0)
		abort();
}

static void fuzz_base32(const uint8_t *data, size_t size)
{
	uint8_t out[256];
	int n = totp_base32_decode((const char *)data, size, out, sizeof(out));
	if (n < 0)
		return;
	char canon[512];
	size_t cn = 0;
	for (size_t i = 0; i < size; i++) {
		char c = (char)data[i];
		if (c == ' ' || c == '=')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (cn >= sizeof(canon) - 1)
			abort(); /* more than 256 bytes were accepted into out */
		canon[cn++] = c;
	}
	canon[cn] = '\0';
	char enc[512];
	int en = totp_base32_encode(out, (size_t)n, enc, sizeof(enc));
	if (en < 0 || (size_t)en != cn || memcmp(enc, canon, cn) != 0)
		abort();
}

static void fuzz_qr(const uint8_t *data, size_t size)
{
	if (size > 96)
		return; /* encoding cost grows with the version; short texts cover the renderer */
	json_t *frag = qr_svg((const char *)data, size, "QR");
	int ok = size > 0 && !memchr(data, '\0', size);
	if (ok != (frag != NULL) || (frag && !tmpl_is_trusted(frag)))
		abort();
	json_decref(frag);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_totp(data, size);
	fuzz_recovery(data, size);
	fuzz_base32(data, size);
	fuzz_qr(data, size);
	return 0;
}
