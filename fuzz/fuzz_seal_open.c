/* Fuzz target for sealed values and keyring parsing. The first byte picks the mode:
 *   0: the rest is sealed text for seal_open (and seal_key_id, seal_reseal) under a
 *      fixed keyring and fixed AD. It must never open: the corpus holds well-formed
 *      values sealed under other AD or unknown key ids, so success means a forgery.
 *   1: the rest is keyring file text for keyring_parse; a keyring it accepts must be
 *      consistent and seal/open a value.
 *   2: the rest is "scope\0table\0column\0row key\0plaintext": when seal_value accepts
 *      the AD, the value must open under it and under no neighbouring AD. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keyring.h"
#include "crypto/seal.h"

#define KEY1 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY2 "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct keyring *fixed_ring(void)
{
	static struct keyring *kr;
	if (!kr) {
		const char *t = "1 " KEY1 "\n2 " KEY2 "\n";
		char err[256];
		if (keyring_parse(t, strlen(t), "fuzz.key", &kr, err, sizeof(err)) != 0)
			abort();
	}
	return kr;
}

static const struct seal_ad fixed_ad = {"workspace", 1, "fuzz", "value", "row-1"};

static void fuzz_open(const uint8_t *data, size_t size)
{
	struct keyring *kr = fixed_ring();
	char *text = malloc(size + 1);
	uint8_t *plain = NULL;
	size_t n = 0;
	uint32_t id = 0;
	char *re = NULL;
	int active = 0;
	if (!text)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	if (seal_open(kr, &fixed_ad, text, &plain, &n) == 0)
		abort(); /* a forgery, or a corpus file that opens: both are bugs */
	if (plain || n)
		abort();
	(void)!seal_key_id(text, &id);
	if (seal_reseal(kr, &fixed_ad, text, &re, &active) == 0 || re)
		abort();
	free(text);
}

static void fuzz_parse(const uint8_t *data, size_t size)
{
	struct keyring *kr = NULL;
	char err[512];
	err[0] = '\0';
	if (keyring_parse((const char *)data, size, "fuzz.key", &kr, err, sizeof(err)) != 0) {
		if (kr || !err[0] || memchr(err, '\n', strlen(err)))
			abort();
		return;
	}
	size_t count = keyring_count(kr);
	if (count == 0 || count > LIMIT_KEYRING_KEYS)
		abort();
	if (keyring_active_id(kr) != keyring_id_at(kr, count - 1))
		abort();
	for (size_t i = 0; i < count; i++) {
		uint32_t id = keyring_id_at(kr, i);
		if (id == 0 || id > KEYRING_MAX_ID || !keyring_has(kr, id))
			abort();
		for (size_t j = i + 1; j < count; j++)
			if (keyring_id_at(kr, j) == id)
				abort();
	}
	char *text = NULL;
	uint8_t *plain = NULL;
	size_t n = 0;
	if (seal_value(kr, &fixed_ad, (const uint8_t *)"ok", 2, &text) != 0)
		abort();
	if (seal_open(kr, &fixed_ad, text, &plain, &n) != 0 || n != 2 || memcmp(plain, "ok", 2))
		abort();
	seal_plain_free(plain, n);
	free(text);
	keyring_free(kr);
}

/* Next NUL-terminated field of [*p, end), or NULL when there is no NUL left. */
static const char *next_field(const char **p, const char *end)
{
	const char *s = *p;
	const char *z = s < end ? memchr(s, '\0', (size_t)(end - s)) : NULL;
	if (!z)
		return NULL;
	*p = z + 1;
	return s;
}

static void fuzz_ad(const uint8_t *data, size_t size)
{
	struct keyring *kr = fixed_ring();
	const char *p = (const char *)data;
	const char *end = p + size;
	struct seal_ad ad = {0};
	ad.scope = next_field(&p, end);
	ad.table = next_field(&p, end);
	ad.column = next_field(&p, end);
	ad.row_key = next_field(&p, end);
	if (!ad.row_key)
		return;
	ad.scope_id = (int64_t)size;
	size_t plen = (size_t)(end - p);
	char *text = NULL;
	if (seal_value(kr, &ad, (const uint8_t *)p, plen, &text) != 0) {
		if (text)
			abort();
		return;
	}
	uint8_t *plain = NULL;
	size_t n = 0;
	if (seal_open(kr, &ad, text, &plain, &n) != 0 || n != plen || (n && memcmp(plain, p, n)))
		abort();
	seal_plain_free(plain, n);
	struct seal_ad moved = ad;
	moved.scope_id++;
	if (seal_open(kr, &moved, text, &plain, &n) == 0)
		abort();
	moved = ad;
	moved.row_key = ad.column;
	if (strcmp(ad.row_key, ad.column) != 0 && seal_open(kr, &moved, text, &plain, &n) == 0)
		abort();
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_open(data + 1, size - 1);
		break;
	case 1:
		fuzz_parse(data + 1, size - 1);
		break;
	default:
		fuzz_ad(data + 1, size - 1);
		break;
	}
	return 0;
}
