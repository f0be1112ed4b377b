#include "auth/recovery.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

static const char alphabet[] = RECOVERY_ALPHABET;
_Static_assert(sizeof(alphabet) - 1 == RECOVERY_ALPHABET_SIZE, "alphabet of 32 symbols");
_Static_assert(RECOVERY_SYMBOLS * 5 >= 80, "at least 80 bits per code");

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc = -1;

static void recovery_init_once(void)
{
	init_rc = sodium_init() >= 0 ? 0 : -1;
}

/* Starts libsodium once per process. Returns 0 or -1. */
static int recovery_init(void)
{
	pthread_once(&init_once, recovery_init_once);
	return init_rc;
}

/* The index of c in the alphabet, upper-casing ASCII letters first, or -1. */
static int symbol_index(char c)
{
	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	for (int i = 0; i < RECOVERY_ALPHABET_SIZE; i++)
		if (alphabet[i] == c)
			return i;
	return -1;
}

/* Canonical symbols of typed input into canon (RECOVERY_SYMBOLS bytes, no NUL).
 * Returns 0 or -1. */
static int normalise(const char *input, size_t n, char canon[RECOVERY_SYMBOLS])
{
	size_t o = 0;
	if (!input || n > LIMIT_RECOVERY_INPUT)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = input[i];
		if (c == ' ' || c == '-')
			continue;
		int v = symbol_index(c);
		if (v < 0 || o >= RECOVERY_SYMBOLS)
			return -1;
		canon[o++] = alphabet[v];
	}
	return o == RECOVERY_SYMBOLS ? 0 : -1;
}

/* SHA-256 of the canonical symbols. */
static void hash_canon(const char canon[RECOVERY_SYMBOLS], unsigned char digest[crypto_hash_sha256_BYTES])
{
	crypto_hash_sha256(digest, (const unsigned char *)canon, RECOVERY_SYMBOLS);
}

void recovery_set_wipe(struct recovery_set *s)
{
	if (s)
		sodium_memzero(s, sizeof(*s));
}

int recovery_generate(struct recovery_set *out)
{
	unsigned char rnd[RECOVERY_SYMBOLS * 5 / 8];
	unsigned char digest[crypto_hash_sha256_BYTES];
	char canon[RECOVERY_CODE_COUNT][RECOVERY_SYMBOLS];
	int rc = -1;
	if (!out)
		return -1;
	sodium_memzero(out, sizeof(*out));
	if (recovery_init() < 0)
		goto fail;
	for (size_t i = 0; i < RECOVERY_CODE_COUNT; i++) {
		int dup;
		do {
			/* 10 random bytes = 80 bits = 16 symbols of 5 bits each, uniform. */
			randombytes_buf(rnd, sizeof(rnd));
			uint32_t acc = 0;
			unsigned bits = 0;
			size_t o = 0;
			for (size_t b = 0; b < sizeof(rnd); b++) {
				acc = (acc << 8) | rnd[b];
				bits += 8;
				while (bits >= 5) {
					bits -= 5;
					canon[i][o++] = alphabet[(acc >> bits) & 31];
				}
				acc &= (1u << bits) - 1;
			}
			dup = 0;
			for (size_t j = 0; j < i; j++)
				dup |= memcmp(canon[i], canon[j], RECOVERY_SYMBOLS) == 0;
		} while (dup);
		char *d = out->display[i];
		size_t o = 0;
		for (size_t k = 0; k < RECOVERY_SYMBOLS; k++) {
			if (k && k % 4 == 0)
				d[o++] = '-';
			d[o++] = canon[i][k];
		}
		d[o] = '\0';
		hash_canon(canon[i], digest);
		sodium_bin2hex(out->hash_hex[i], RECOVERY_HASH_HEX_LEN + 1, digest, sizeof(digest));
	}
	rc = 0;
fail:
	if (rc < 0)
		sodium_memzero(out, sizeof(*out));
	sodium_memzero(rnd, sizeof(rnd));
	sodium_memzero(digest, sizeof(digest));
	sodium_memzero(canon, sizeof(canon));
	return rc;
}

int recovery_hash(const char *input, size_t n, char hex[RECOVERY_HASH_HEX_LEN + 1])
{
	char canon[RECOVERY_SYMBOLS];
	unsigned char digest[crypto_hash_sha256_BYTES];
	int rc = -1;
	if (!hex || recovery_init() < 0 || normalise(input, n, canon) < 0)
		goto fail;
	hash_canon(canon, digest);
	sodium_bin2hex(hex, RECOVERY_HASH_HEX_LEN + 1, digest, sizeof(digest));
	rc = 0;
fail:
	sodium_memzero(canon, sizeof(canon));
	sodium_memzero(digest, sizeof(digest));
	return rc;
}

int recovery_match(const char *input, size_t n, const char *const *hashes, size_t count)
{
	char canon[RECOVERY_SYMBOLS];
	unsigned char digest[crypto_hash_sha256_BYTES];
	unsigned char stored[crypto_hash_sha256_BYTES];
	int found = -1;
	if (recovery_init() < 0 || normalise(input, n, canon) < 0 || (!hashes && count) || count > INT32_MAX)
		goto done;
	hash_canon(canon, digest);
	/* Every entry is decoded and compared; the first match is kept without leaving
	 * early. Stored hashes are not secret (the codes are), but this keeps timing flat. */
	for (size_t i = 0; i < count; i++) {
		const char *h = hashes[i];
		size_t len;
		if (!h || strnlen(h, RECOVERY_HASH_HEX_LEN + 1) != RECOVERY_HASH_HEX_LEN)
			continue;
		if (sodium_hex2bin(stored, sizeof(stored), h, RECOVERY_HASH_HEX_LEN, NULL, &len, NULL) != 0 ||
		    len != sizeof(stored))
			continue;
		if (sodium_memcmp(stored, digest, sizeof(digest)) == 0 && found < 0)
			found = (int)i;
	}
done:
	sodium_memzero(canon, sizeof(canon));
	sodium_memzero(digest, sizeof(digest));
	sodium_memzero(stored, sizeof(stored));
	return found;
}
