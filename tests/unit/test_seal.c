/* Sealed values: AES-256-GCM known answers, HKDF-SHA256 (RFC 5869), the sealed format,
 * associated-data binding, tampering, unknown keys, rotation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/seal.c" /* reaches seal_gcm_encrypt / seal_gcm_decrypt / seal_ad_format */
#include "crypto/hkdf.h"
#include "crypto/keyring.h"

/* Three fixed master keys (base64 of 32 bytes each). */
#define KEY1 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY2 "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
#define KEY3 "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8="

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;
	assert_true(strlen(hex) % 2 == 0);
	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static struct keyring *ring(const char *text)
{
	struct keyring *kr = NULL;
	char err[512] = "";
	if (keyring_parse(text, strlen(text), "test.key", &kr, err, sizeof(err)) != 0)
		fail_msg("keyring_parse: %s", err);
	return kr;
}

static const struct seal_ad ad_ws = {"workspace", 42, "integrations", "stripe_key", "row-7f3a"};

/* ---- AES-256-GCM known answers ---- */

struct gcm_vector {
	const char *name, *key, *iv, *aad, *pt, *ct, *tag;
};

static const struct gcm_vector gcm_vectors[] = {
    /* The GCM specification (McGrew & Viega), appendix B, AES-256 test cases. */
    {"spec TC13", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"spec TC14", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "00000000000000000000000000000000", "cea7403d4d606b6e074ec5d3baf39d18",
     "d0d1c8a799996bf0265b98b5d48ab919"},
    {"spec TC15", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", "",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"spec TC16 (AAD)", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
    {"spec TC17 (AAD, 64-bit IV)", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbad", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "c3762df1ca787d32ae47c13bf19844cbaf1ae14d0b976afac52ff7d79bba9de0"
     "feb582d33934a4f0954cc2363bc73f7862ac430e64abe499f47c9b1f",
     "3a337dbf46a792c45e454913fe2ea8f2"},
    {"spec TC18 (AAD, 480-bit IV)", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728"
     "c3c0c95156809539fcf0e2429a6b525416aedbf5a0de6a57a637b39b",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "5a8def2f0c9e53f1f75d7853659e2a20eeb2b22aafde6419a058ab4f6f746bf4"
     "0fc0c3b780f244452da3ebf1c5d82cdea2418997200ef82e44ae7e3f",
     "a44a8266ee1c8eb0c8b5d4cf5ae9f19a"},
    /* NIST CAVP gcmEncryptExtIV256 (96-bit IV, AAD). */
    {"CAVP ExtIV256", "83688deb4af8007f9b713b47cfa6c73e35ea7a3aa4ecdb414dded03bf7a0fd3a",
     "0b459724904e010a46901cf3", "794a14ccd178c8ebfd1379dc704c5e208f9d8424",
     "33d893a2114ce06fc15d55e454cf90c3", "cc66bee423e3fcd4c0865715e9586696",
     "0fb291bd3dba94a1dfd8b286cfb97ac5"},
};

static void test_gcm_known_answers(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(gcm_vectors) / sizeof(gcm_vectors[0]); i++) {
		const struct gcm_vector *v = &gcm_vectors[i];
		uint8_t key[32], iv[64], aad[64], pt[64], ct[64], tag[16], out[64], got_tag[16];
		assert_int_equal(unhex(v->key, key, sizeof(key)), 32);
		size_t iv_len = unhex(v->iv, iv, sizeof(iv));
		size_t aad_len = unhex(v->aad, aad, sizeof(aad));
		size_t pt_len = unhex(v->pt, pt, sizeof(pt));
		assert_int_equal(unhex(v->ct, ct, sizeof(ct)), pt_len);
		assert_int_equal(unhex(v->tag, tag, sizeof(tag)), 16);

		memset(out, 0, sizeof(out));
		if (seal_gcm_encrypt(key, iv, iv_len, aad, aad_len, pt, pt_len, out, got_tag) != 0)
			fail_msg("%s: encrypt failed", v->name);
		if (memcmp(out, ct, pt_len) != 0)
			fail_msg("%s: ciphertext differs", v->name);
		if (memcmp(got_tag, tag, 16) != 0)
			fail_msg("%s: tag differs", v->name);

		memset(out, 0, sizeof(out));
		if (seal_gcm_decrypt(key, iv, iv_len, aad, aad_len, ct, pt_len, tag, out) != 0)
			fail_msg("%s: decrypt failed", v->name);
		if (memcmp(out, pt, pt_len) != 0)
			fail_msg("%s: plaintext differs", v->name);

		tag[15] ^= 1;
		if (seal_gcm_decrypt(key, iv, iv_len, aad, aad_len, ct, pt_len, tag, out) == 0)
			fail_msg("%s: a changed tag verified", v->name);
		tag[15] ^= 1;
		if (aad_len) {
			aad[0] ^= 0x80;
			if (seal_gcm_decrypt(key, iv, iv_len, aad, aad_len, ct, pt_len, tag, out) == 0)
				fail_msg("%s: changed AAD verified", v->name);
		}
	}
}

/* ---- HKDF-SHA256: RFC 5869 appendix A, test cases 1-3 ---- */

static void check_hkdf(const char *ikm_hex, const char *salt_hex, const char *info_hex, const char *okm_hex)
{
	uint8_t ikm[80], salt[80], info[80], okm[82], out[82];
	size_t ikm_len = unhex(ikm_hex, ikm, sizeof(ikm));
	size_t salt_len = unhex(salt_hex, salt, sizeof(salt));
	size_t info_len = unhex(info_hex, info, sizeof(info));
	size_t okm_len = unhex(okm_hex, okm, sizeof(okm));
	memset(out, 0, sizeof(out));
	assert_int_equal(hkdf_sha256(salt_len ? salt : NULL, salt_len, ikm, ikm_len, info_len ? info : NULL,
	                             info_len, out, okm_len),
	                 0);
	assert_memory_equal(out, okm, okm_len);
}

static void test_hkdf_rfc5869(void **state)
{
	(void)state;
	/* Test case 1. */
	check_hkdf("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c",
	           "f0f1f2f3f4f5f6f7f8f9",
	           "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	           "34007208d5b887185865");
	/* Test case 2: longer inputs and output. */
	check_hkdf("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	           "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	           "404142434445464748494a4b4c4d4e4f",
	           "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
	           "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
	           "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
	           "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
	           "d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
	           "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
	           "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
	           "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
	           "cc30c58179ec3e87c14c01d5c1f3434f1d87");
	/* Test case 3: empty salt and info. */
	check_hkdf("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "",
	           "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
	           "9d201395faa4b61a96c8");

	uint8_t out[32];
	uint8_t ikm[22] = {0};
	assert_int_equal(hkdf_sha256(NULL, 0, ikm, sizeof(ikm), NULL, 0, out, 0), -1);
	assert_int_equal(hkdf_sha256(NULL, 0, ikm, sizeof(ikm), NULL, 0, out, 255 * 32 + 1), -1);
	assert_int_equal(hkdf_sha256(NULL, 5, ikm, sizeof(ikm), NULL, 0, out, sizeof(out)), -1);
}

/* ---- the sealed format ---- */

static void test_round_trip(void **state)
{
	(void)state;
	struct keyring *kr = ring("1 " KEY1 "\n");
	static uint8_t big[LIMIT_SEALED_PLAIN + 1];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 31 + 7);
	const size_t sizes[] = {0, 1, 15, 16, 17, 1000, LIMIT_SEALED_PLAIN};
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		char *text = NULL;
		uint8_t *plain = NULL;
		size_t n = 99;
		assert_int_equal(seal_value(kr, &ad_ws, sizes[s] ? big : NULL, sizes[s], &text), 0);
		assert_non_null(text);
		assert_true(strncmp(text, "s1.", 3) == 0);
		assert_true(strlen(text) <= SEAL_TEXT_MAX);
		/* base64url alphabet only, no padding */
		assert_int_equal(strspn(text + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		                                  "0123456789-_"),
		                 strlen(text + 3));
		uint32_t id = 0;
		assert_int_equal(seal_key_id(text, &id), 0);
		assert_int_equal(id, 1);
		assert_int_equal(seal_open(kr, &ad_ws, text, &plain, &n), 0);
		assert_int_equal(n, sizes[s]);
		if (n)
			assert_memory_equal(plain, big, n);
		assert_int_equal(plain[n], 0); /* NUL after the value */
		seal_plain_free(plain, n);
		free(text);
	}
	/* Over the limit: refused. */
	char *text = (char *)1;
	assert_int_equal(seal_value(kr, &ad_ws, big, LIMIT_SEALED_PLAIN + 1, &text), -1);
	assert_null(text);
	/* A sealed string reads back as a C string. */
	const char *secret = "rk_live_51abc";
	uint8_t *plain = NULL;
	size_t n = 0;
	assert_int_equal(seal_value(kr, &ad_ws, (const uint8_t *)secret, strlen(secret), &text), 0);
	assert_int_equal(seal_open(kr, &ad_ws, text, &plain, &n), 0);
	assert_string_equal((char *)plain, secret);
	seal_plain_free(plain, n);
	free(text);
	keyring_free(kr);
}

static void test_nonce_is_fresh(void **state)
{
	(void)state;
	struct keyring *kr = ring("1 " KEY1 "\n");
	char *a = NULL, *b = NULL;
	assert_int_equal(seal_value(kr, &ad_ws, (const uint8_t *)"same", 4, &a), 0);
	assert_int_equal(seal_value(kr, &ad_ws, (const uint8_t *)"same", 4, &b), 0);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
	keyring_free(kr);
}

/* The AD is exactly v1|scope|id|table|column|row key and the binary layout is as
 * documented: open a sealed value by hand with the derived key. */
static void test_exact_layout_and_ad(void **state)
{
	(void)state;
	struct keyring *kr = ring("7 " KEY2 "\n");
	char ad[SEAL_AD_MAX];
	const struct seal_ad neg = {"account", -5, "a_b", "c9", "x:y"};
	int len = seal_ad_format(&ad_ws, ad);
	assert_string_equal(ad, "v1|workspace|42|integrations|stripe_key|row-7f3a");
	assert_int_equal(len, (int)strlen(ad));
	len = seal_ad_format(&neg, ad);
	assert_string_equal(ad, "v1|account|-5|a_b|c9|x:y");
	assert_int_equal(len, (int)strlen(ad));

	char *text = NULL;
	assert_int_equal(seal_value(kr, &ad_ws, (const uint8_t *)"hello", 5, &text), 0);
	uint8_t bin[64];
	size_t bin_len = 0;
	assert_int_equal(sodium_base642bin(bin, sizeof(bin), text + 3, strlen(text + 3), NULL, &bin_len, NULL,
	                                   sodium_base64_VARIANT_URLSAFE_NO_PADDING),
	                 0);
	assert_int_equal(bin_len, 1 + 4 + 12 + 5 + 16);
	assert_int_equal(bin[0], 1);
	assert_int_equal(bin[1], 0);
	assert_int_equal(bin[2], 0);
	assert_int_equal(bin[3], 0);
	assert_int_equal(bin[4], 7);
	uint8_t key[32], out[5];
	assert_int_equal(keyring_derive(kr, 7, KEYRING_PURPOSE_SEAL, key), 0);
	const char *want_ad = "v1|workspace|42|integrations|stripe_key|row-7f3a";
	assert_int_equal(seal_gcm_decrypt(key, bin + 5, 12, (const uint8_t *)want_ad, strlen(want_ad),
	                                  bin + 17, 5, bin + 22, out),
	                 0);
	assert_memory_equal(out, "hello", 5);
	free(text);
	keyring_free(kr);
}

static void test_tamper_every_byte(void **state)
{
	(void)state;
	struct keyring *kr = ring("1 " KEY1 "\n");
	char *text = NULL;
	assert_int_equal(seal_value(kr, &ad_ws, (const uint8_t *)"whsec_abcdef", 12, &text), 0);
	uint8_t bin[64];
	size_t bin_len = 0;
	assert_int_equal(sodium_base642bin(bin, sizeof(bin), text + 3, strlen(text + 3), NULL, &bin_len, NULL,
	                                   sodium_base64_VARIANT_URLSAFE_NO_PADDING),
	                 0);
	/* Every byte of the binary form, every bit. */
	for (size_t i = 0; i < bin_len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			char t[128] = "s1.";
			uint8_t *plain = NULL;
			size_t n = 0;
			bin[i] ^= (uint8_t)(1u << bit);
			sodium_bin2base64(t + 3, sizeof(t) - 3, bin, bin_len,
			                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
			bin[i] ^= (uint8_t)(1u << bit);
			if (seal_open(kr, &ad_ws, t, &plain, &n) == 0)
				fail_msg("flipping bit %d of byte %zu still opened", bit, i);
			assert_null(plain);
		}
	}
	/* Every character of the text. */
	size_t len = strlen(text);
	for (size_t i = 0; i < len; i++) {
		const char *repl = "A0_-.=z ";
		for (const char *r = repl; *r; r++) {
			if (*r == text[i])
				continue;
			char *t = strdup(text);
			uint8_t *plain = NULL;
			size_t n = 0;
			t[i] = *r;
			if (seal_open(kr, &ad_ws, t, &plain, &n) == 0)
				fail_msg("replacing text[%zu] with '%c' still opened", i, *r);
			free(t);
		}
	}
	/* Truncated, extended, wrong prefix, padded, empty. */
	uint8_t *plain = NULL;
	size_t n = 0;
	for (size_t cut = 0; cut < len; cut++) {
		char *t = strndup(text, cut);
		assert_int_equal(seal_open(kr, &ad_ws, t, &plain, &n), -1);
		free(t);
	}
	char t[256];
	snprintf(t, sizeof(t), "%sA", text);
	assert_int_equal(seal_open(kr, &ad_ws, t, &plain, &n), -1);
	snprintf(t, sizeof(t), "%s=", text);
	assert_int_equal(seal_open(kr, &ad_ws, t, &plain, &n), -1);
	snprintf(t, sizeof(t), "s2.%s", text + 3);
	assert_int_equal(seal_open(kr, &ad_ws, t, &plain, &n), -1);
	assert_int_equal(seal_open(kr, &ad_ws, "", &plain, &n), -1);
	assert_int_equal(seal_open(kr, &ad_ws, NULL, &plain, &n), -1);
	assert_int_equal(seal_open(kr, &ad_ws, "s1.", &plain, &n), -1);
	/* Still opens untouched. */
	assert_int_equal(seal_open(kr, &ad_ws, text, &plain, &n), 0);
	seal_plain_free(plain, n);
	free(text);
	keyring_free(kr);
}

static void test_moved_value_fails(void **state)
{
	(void)state;
	struct keyring *kr = ring("1 " KEY1 "\n");
	char *text = NULL;
	assert_int_equal(seal_value(kr, &ad_ws, (const uint8_t *)"xoxb-token", 10, &text), 0);
	const struct seal_ad moved[] = {
	    {"workspace", 43, "integrations", "stripe_key", "row-7f3a"},  /* other tenant */
	    {"account", 42, "integrations", "stripe_key", "row-7f3a"},    /* other scope */
	    {"workspace", 42, "integration", "stripe_key", "row-7f3a"},   /* other table */
	    {"workspace", 42, "integrations", "slack_token", "row-7f3a"}, /* other column */
	    {"workspace", 42, "integrations", "stripe_key", "row-7f3b"},  /* other row */
	    {"workspace", -42, "integrations", "stripe_key", "row-7f3a"},
	};
	for (size_t i = 0; i < sizeof(moved) / sizeof(moved[0]); i++) {
		uint8_t *plain = NULL;
		size_t n = 0;
		if (seal_open(kr, &moved[i], text, &plain, &n) == 0)
			fail_msg("value opened under moved AD #%zu", i);
		assert_null(plain);
	}
	uint8_t *plain = NULL;
	size_t n = 0;
	assert_int_equal(seal_open(kr, &ad_ws, text, &plain, &n), 0);
	seal_plain_free(plain, n);
	free(text);
	keyring_free(kr);
}

static void test_invalid_ad_refused(void **state)
{
	(void)state;
	struct keyring *kr = ring("1 " KEY1 "\n");
	char long_field[LIMIT_SEAL_AD_FIELD + 2];
	memset(long_field, 'a', sizeof(long_field) - 1);
	long_field[sizeof(long_field) - 1] = '\0';
	char max_field[LIMIT_SEAL_AD_FIELD + 1];
	memset(max_field, 'a', sizeof(max_field) - 1);
	max_field[sizeof(max_field) - 1] = '\0';
	const struct seal_ad bad[] = {
	    {"tenant", 1, "t", "c", "r"}, /* scope not in the allow-list */
	    {"Workspace", 1, "t", "c", "r"},        {NULL, 1, "t", "c", "r"},
	    {"workspace", 1, "t|x", "c", "r"}, /* '|' would make the AD ambiguous */
	    {"workspace", 1, "t", "c|x", "r"},      {"workspace", 1, "t", "c", "r|x"},
	    {"workspace", 1, "", "c", "r"},         {"workspace", 1, "t", "", "r"},
	    {"workspace", 1, "t", "c", ""},         {"workspace", 1, NULL, "c", "r"},
	    {"workspace", 1, "t", "c", NULL},       {"workspace", 1, "Table", "c", "r"},
	    {"workspace", 1, "t", "c", "a b"},      {"workspace", 1, "t", "c", "a\nb"},
	    {"workspace", 1, long_field, "c", "r"}, {"workspace", 1, "t", "c", long_field},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *text = NULL;
		if (seal_value(kr, &bad[i], (const uint8_t *)"x", 1, &text) == 0)
			fail_msg("sealed under invalid AD #%zu", i);
		assert_null(text);
	}
	char *text = NULL;
	assert_int_equal(seal_value(kr, NULL, (const uint8_t *)"x", 1, &text), -1);
	const struct seal_ad max = {"installation", INT64_MIN, max_field, max_field, max_field};
	assert_int_equal(seal_value(kr, &max, (const uint8_t *)"x", 1, &text), 0);
	uint8_t *plain = NULL;
	size_t n = 0;
	assert_int_equal(seal_open(kr, &max, text, &plain, &n), 0);
	seal_plain_free(plain, n);
	free(text);
	keyring_free(kr);
}

static void test_unknown_key_id(void **state)
{
	(void)state;
	struct keyring *kr1 = ring("1 " KEY1 "\n");
	struct keyring *kr2 = ring("2 " KEY2 "\n");
	/* Same bytes as kr1's key 1, but under id 3. */
	struct keyring *kr3 = ring("3 " KEY1 "\n");
	char *text = NULL;
	uint8_t *plain = NULL;
	size_t n = 0;
	assert_int_equal(seal_value(kr1, &ad_ws, (const uint8_t *)"secret", 6, &text), 0);
	assert_int_equal(seal_open(kr2, &ad_ws, text, &plain, &n), -1);
	assert_int_equal(seal_open(kr3, &ad_ws, text, &plain, &n), -1);
	assert_null(plain);
	/* Relabel the value as key 3: the key id is authenticated only through the key. */
	uint8_t bin[64];
	size_t bin_len = 0;
	assert_int_equal(sodium_base642bin(bin, sizeof(bin), text + 3, strlen(text + 3), NULL, &bin_len, NULL,
	                                   sodium_base64_VARIANT_URLSAFE_NO_PADDING),
	                 0);
	bin[4] = 3;
	char t[128] = "s1.";
	sodium_bin2base64(t + 3, sizeof(t) - 3, bin, bin_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	uint32_t id = 0;
	assert_int_equal(seal_key_id(t, &id), 0);
	assert_int_equal(id, 3);
	assert_int_equal(seal_open(kr1, &ad_ws, t, &plain, &n), -1);
	/* kr3 derives the same seal key from the same bytes, so this one opens: the key id
	 * only selects a key, and ids map to distinct random keys in a real keyring. */
	assert_int_equal(seal_open(kr3, &ad_ws, t, &plain, &n), 0);
	seal_plain_free(plain, n);
	assert_int_equal(seal_key_id("s1.AAAA", &id), -1);
	assert_int_equal(seal_key_id("garbage", &id), -1);
	free(text);
	keyring_free(kr1);
	keyring_free(kr2);
	keyring_free(kr3);
}

static void test_rotation_and_reseal(void **state)
{
	(void)state;
	struct keyring *kr1 = ring("1 " KEY1 "\n");
	struct keyring *kr12 = ring("1 " KEY1 "\n2 " KEY2 "\n");
	struct keyring *kr2 = ring("2 " KEY2 "\n");
	char *old = NULL, *resealed = NULL, *again = (char *)1;
	uint8_t *plain = NULL;
	size_t n = 0;
	int active = -1;
	uint32_t id = 0;

	assert_int_equal(seal_value(kr1, &ad_ws, (const uint8_t *)"sk_live_x", 9, &old), 0);
	/* After appending key 2, the old value still opens. */
	assert_int_equal(keyring_active_id(kr12), 2);
	assert_int_equal(seal_open(kr12, &ad_ws, old, &plain, &n), 0);
	assert_memory_equal(plain, "sk_live_x", 9);
	seal_plain_free(plain, n);
	/* Re-seal moves it to key 2. */
	assert_int_equal(seal_reseal(kr12, &ad_ws, old, &resealed, &active), 0);
	assert_int_equal(active, 0);
	assert_non_null(resealed);
	assert_int_equal(seal_key_id(resealed, &id), 0);
	assert_int_equal(id, 2);
	/* Resuming: a value already under the active key is left alone. */
	assert_int_equal(seal_reseal(kr12, &ad_ws, resealed, &again, &active), 0);
	assert_int_equal(active, 1);
	assert_null(again);
	/* Once key 1 is gone only the re-sealed value opens. */
	assert_int_equal(seal_open(kr2, &ad_ws, resealed, &plain, &n), 0);
	assert_memory_equal(plain, "sk_live_x", 9);
	seal_plain_free(plain, n);
	assert_int_equal(seal_open(kr2, &ad_ws, old, &plain, &n), -1);
	/* Re-sealing a value under another AD fails instead of laundering it. */
	const struct seal_ad other = {"workspace", 99, "integrations", "stripe_key", "row-7f3a"};
	assert_int_equal(seal_reseal(kr12, &other, old, &again, &active), -1);
	assert_null(again);
	free(old);
	free(resealed);
	keyring_free(kr1);
	keyring_free(kr12);
	keyring_free(kr2);
}

static void test_derive(void **state)
{
	(void)state;
	struct keyring *kr = ring("1 " KEY1 "\n2 " KEY2 "\n");
	const char *purposes[] = {KEYRING_PURPOSE_SEAL, KEYRING_PURPOSE_AUDIT, KEYRING_PURPOSE_BLIND_INDEX,
	                          KEYRING_PURPOSE_BACKUP};
	uint8_t keys[2][4][32];
	for (uint32_t id = 1; id <= 2; id++)
		for (size_t p = 0; p < 4; p++)
			assert_int_equal(keyring_derive(kr, id, purposes[p], keys[id - 1][p]), 0);
	for (size_t a = 0; a < 8; a++)
		for (size_t b = a + 1; b < 8; b++)
			assert_memory_not_equal(keys[a / 4][a % 4], keys[b / 4][b % 4], 32);
	assert_memory_equal(keyring_seal_key(kr, 1), keys[0][0], 32);
	assert_memory_equal(keyring_seal_key(kr, 2), keys[1][0], 32);
	/* Pinned derivation: HKDF-SHA256(salt "dropfix keyring v1", ikm KEY1, info
	 * "dropfix/v1/seal"), computed independently with Python hmac and `openssl kdf`. Changing the
	 * derivation would make every stored value unreadable. */
	uint8_t want[32];
	unhex("c0e6f465f7c7a8483ae3466d76517bb8b3eb444b4e968e2087a6b60044fac590", want, sizeof(want));
	assert_memory_equal(keys[0][0], want, 32);

	uint8_t out[32];
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(keyring_derive(kr, 1, "seals", out), -1);
	assert_int_equal(keyring_derive(kr, 1, NULL, out), -1);
	assert_int_equal(keyring_derive(kr, 3, KEYRING_PURPOSE_SEAL, out), -1);
	for (size_t i = 0; i < 32; i++)
		assert_int_equal(out[i], 0); /* wiped on failure */
	assert_null(keyring_seal_key(kr, 3));
	keyring_free(kr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gcm_known_answers),
	    cmocka_unit_test(test_hkdf_rfc5869),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_nonce_is_fresh),
	    cmocka_unit_test(test_exact_layout_and_ad),
	    cmocka_unit_test(test_tamper_every_byte),
	    cmocka_unit_test(test_moved_value_fails),
	    cmocka_unit_test(test_invalid_ad_refused),
	    cmocka_unit_test(test_unknown_key_id),
	    cmocka_unit_test(test_rotation_and_reseal),
	    cmocka_unit_test(test_derive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
