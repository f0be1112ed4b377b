#include "auth/totp.h"

#include <liboath/oath.h>
#include <pthread.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc = -1;

static void totp_init_once(void)
{
	init_rc = (sodium_init() >= 0 && oath_init() == OATH_OK) ? 0 : -1;
}

/* Starts libsodium and liboath once per process. Returns 0 or -1. */
static int totp_init(void)
{
	pthread_once(&init_once, totp_init_once);
	return init_rc;
}

int totp_secret_generate(uint8_t secret[TOTP_SECRET_BYTES])
{
	if (totp_init() < 0)
		return -1;
	randombytes_buf(secret, TOTP_SECRET_BYTES);
	return 0;
}

int totp_base32_encode(const uint8_t *in, size_t n, char *out, size_t outlen)
{
	if (!out || outlen == 0)
		return -1;
	out[0] = '\0';
	if (n > (SIZE_MAX - 4) / 8)
		return -1;
	size_t need = (n * 8 + 4) / 5;
	if (need >= outlen || need > INT32_MAX)
		return -1;
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = b32_alphabet[(acc >> bits) & 31];
		}
		acc &= (1u << bits) - 1;
	}
	if (bits > 0)
		out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	return (int)o;
}

/* The 5-bit value of base32 character c (either case), or -1. */
static int b32_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

int totp_base32_decode(const char *in, size_t n, uint8_t *out, size_t outcap)
{
	if (!in && n)
		return -1;
	size_t chars = 0, pad = 0, o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (c == ' ')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad)
			return -1; /* data after padding */
		int v = b32_value(c);
		if (v < 0)
			return -1;
		chars++;
		acc = (acc << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outcap || o >= INT32_MAX)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* A final group of 8 characters carries 1..5 bytes in 2, 4, 5, 7 or 8 characters;
	 * 1, 3 or 6 characters encode no byte string. */
	size_t rem = chars % 8;
	if (rem == 1 || rem == 3 || rem == 6)
		return -1;
	if (acc != 0)
		return -1; /* non-canonical: unused trailing bits set */
	if (pad && (rem == 0 || rem + pad != 8))
		return -1;
	return (int)o;
}

int totp_base32_group(const uint8_t secret[TOTP_SECRET_BYTES], char *out, size_t outlen)
{
	char plain[TOTP_BASE32_LEN + 1];
	int rc = -1;
	if (!out || outlen < TOTP_BASE32_GROUPED_LEN + 1) {
		if (out && outlen)
			out[0] = '\0';
		return -1;
	}
	if (totp_base32_encode(secret, TOTP_SECRET_BYTES, plain, sizeof(plain)) != TOTP_BASE32_LEN)
		goto fail;
	size_t o = 0;
	for (size_t i = 0; i < TOTP_BASE32_LEN; i++) {
		if (i && i % 4 == 0)
			out[o++] = ' ';
		out[o++] = plain[i];
	}
	out[o] = '\0';
	rc = 0;
fail:
	sodium_memzero(plain, sizeof(plain));
	return rc;
}

/* 1 when s is 1..LIMIT_TOTP_LABEL bytes with no control character and no ':'. */
static int label_ok(const char *s)
{
	if (!s)
		return 0;
	size_t n = strnlen(s, LIMIT_TOTP_LABEL + 1);
	if (n == 0 || n > LIMIT_TOTP_LABEL)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == ':')
			return 0;
	}
	return 1;
}

/* Appends s percent-encoded: RFC 3986 unreserved characters stay, every other byte
 * becomes %XX (upper-case hex). */
static void put_pct(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '.' || c == '_' || c == '~') {
			buf_putc(out, (char)c);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			buf_append(out, e, sizeof(e));
		}
	}
}

int totp_uri(const char *issuer, const char *label, const uint8_t secret[TOTP_SECRET_BYTES], struct buf *out)
{
	char key[TOTP_BASE32_LEN + 1];
	int rc = -1;
	if (!out || !secret || !label_ok(issuer) || !label_ok(label))
		return -1;
	if (totp_base32_encode(secret, TOTP_SECRET_BYTES, key, sizeof(key)) != TOTP_BASE32_LEN)
		goto fail;
	buf_puts(out, "otpauth://totp/");
	put_pct(out, issuer);
	buf_putc(out, ':');
	put_pct(out, label);
	buf_puts(out, "?secret=");
	buf_puts(out, key);
	buf_puts(out, "&issuer=");
	put_pct(out, issuer);
	buf_printf(out, "&algorithm=SHA1&digits=%d&period=%d", TOTP_DIGITS, TOTP_PERIOD_S);
	rc = out->oom ? -1 : 0;
fail:
	sodium_memzero(key, sizeof(key));
	return rc;
}

/* The code of one time step into code[0..TOTP_DIGITS] (NUL-terminated). */
static int code_for_step(const uint8_t secret[TOTP_SECRET_BYTES], int64_t step, char code[TOTP_DIGITS + 1])
{
	if (step < 0 || step > INT64_MAX / TOTP_PERIOD_S || totp_init() < 0)
		return -1;
	int rc = oath_totp_generate((const char *)secret, TOTP_SECRET_BYTES, (time_t)(step * TOTP_PERIOD_S),
	                            TOTP_PERIOD_S, OATH_TOTP_DEFAULT_START_TIME, TOTP_DIGITS, code);
	return rc == OATH_OK ? 0 : -1;
}

int totp_generate(const uint8_t secret[TOTP_SECRET_BYTES], int64_t t, char code[TOTP_DIGITS + 1])
{
	if (!secret || !code || t < 0)
		return -1;
	return code_for_step(secret, t / TOTP_PERIOD_S, code);
}

/* Copies the digits of "123456" or "123 456" into digits (NUL-terminated). Returns 0, or
 * -1 for any other input. */
static int normalise_code(const char *input, size_t n, char digits[TOTP_DIGITS + 1])
{
	size_t o = 0;
	if (!input || (n != TOTP_DIGITS && n != TOTP_DIGITS + 1))
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = input[i];
		if (n == TOTP_DIGITS + 1 && i == TOTP_DIGITS / 2) {
			if (c != ' ')
				return -1;
			continue;
		}
		if (c < '0' || c > '9')
			return -1;
		digits[o++] = c;
	}
	digits[o] = '\0';
	return 0;
}

enum totp_verdict totp_verify(const uint8_t secret[TOTP_SECRET_BYTES], const char *input, size_t n,
                              int64_t last_step, int64_t *matched_step)
{
	char typed[TOTP_DIGITS + 1];
	char expect[TOTP_DIGITS + 1];
	enum totp_verdict v = TOTP_ERROR;
	if (normalise_code(input, n, typed) < 0) {
		v = TOTP_MALFORMED;
		goto done;
	}
	if (!secret)
		goto done;
	int64_t now = clock_now_s();
	if (now < 0)
		goto done;
	int64_t cur = now / TOTP_PERIOD_S;
	int64_t found = -1;
	int replayed = 0;
	/* Every step of the window is computed and compared, whatever matched, so the time
	 * taken does not tell which step (if any) the code belongs to. */
	for (int64_t step = cur - TOTP_WINDOW; step <= cur + TOTP_WINDOW; step++) {
		if (step < 0)
			continue;
		if (code_for_step(secret, step, expect) < 0)
			goto done;
		int match = sodium_memcmp(expect, typed, TOTP_DIGITS) == 0;
		if (match && step <= last_step)
			replayed = 1;
		else if (match && found < 0)
			found = step;
	}
	if (found >= 0) {
		if (matched_step)
			*matched_step = found;
		v = TOTP_ACCEPTED;
	} else {
		v = replayed ? TOTP_REPLAYED : TOTP_WRONG;
	}
done:
	sodium_memzero(typed, sizeof(typed));
	sodium_memzero(expect, sizeof(expect));
	return v;
}
