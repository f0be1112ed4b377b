/* Fuzz target for src/ingest/ingest_identify.c: any traits document either yields the
 * four signed trait texts or is refused; a message signed with the fuzzed traits verifies
 * with its key and not after any change of the hash; arbitrary hash texts never verify
 * against an unrelated key; e-mail normalisation is idempotent and has no ASCII upper
 * case; the sealing row key is always AD-safe. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ingest/ingest_identify.h"
#include "fuzz.h"

static const char *const KEY = "sk_fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuz";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	/* 1. traits + sign + verify */
	json_t *doc = json_loadb(p, size, JSON_DECODE_ANY, NULL);
	struct ingest_signed_traits t;
	char tmp[4][32];
	if (json_is_object(doc) && ingest_identify_traits(doc, &t, tmp) == 0) {
		struct buf msg;
		buf_init(&msg, 0);
		CHECK(ingest_identify_message("u", 1000, &t, &msg) == 0);
		uint8_t mac[EVP_MAX_MD_SIZE];
		unsigned int n = 0;
		CHECK(HMAC(EVP_sha256(), KEY, (int)strlen(KEY), (const unsigned char *)msg.p, msg.n, mac, &n));
		char hex[65];
		for (unsigned i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", mac[i]);
		const char *keys[] = {KEY};
		CHECK(ingest_identify_verify(keys, 1, "u", 1000, &t, hex, 64, 1000) == INGEST_SIGN_OK);
		hex[size % 64] = hex[size % 64] == '0' ? '1' : '0';
		CHECK(ingest_identify_verify(keys, 1, "u", 1000, &t, hex, 64, 1000) == INGEST_SIGN_MISMATCH);
		buf_free(&msg);
	}
	json_decref(doc);
	/* 2. arbitrary hash text against an unrelated key */
	struct ingest_signed_traits empty = {"", "", "", ""};
	const char *keys[] = {KEY};
	enum ingest_sign_result r = ingest_identify_verify(keys, 1, "x", 5, &empty, p, size, 5);
	CHECK(r == INGEST_SIGN_MISMATCH);
	/* 3. e-mail normalisation */
	struct buf a, b;
	buf_init(&a, 0);
	buf_init(&b, 0);
	CHECK(ingest_identify_email_norm(p, size, &a) == 0);
	CHECK(a.n >= 1 && a.p[a.n - 1] == '\0');
	for (size_t i = 0; i + 1 < a.n; i++)
		CHECK(!(a.p[i] >= 'A' && a.p[i] <= 'Z'));
	CHECK(ingest_identify_email_norm(a.p, a.n - 1, &b) == 0);
	CHECK(a.n == b.n && memcmp(a.p, b.p, a.n) == 0);
	buf_free(&a);
	buf_free(&b);
	/* 4. row key */
	char *uid = malloc(size + 1);
	CHECK(uid);
	memcpy(uid, p, size);
	uid[size] = '\0';
	char rk[LIMIT_SEAL_AD_FIELD + 1];
	ingest_identify_row_key(uid, rk);
	size_t rn = strlen(rk);
	CHECK(rn >= 1 && rn <= LIMIT_SEAL_AD_FIELD);
	for (size_t i = 0; i < rn; i++)
		CHECK(rk[i] > ' ' && rk[i] < 0x7f && rk[i] != '|');
	free(uid);
	return 0;
}
