#include "crypto/seal.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "crypto/keyring.h"

#define SEAL_KEY_BYTES 32
#define SEAL_BIN_MAX (LIMIT_SEALED_PLAIN + SEAL_OVERHEAD)
/* "v1|" + scope + "|" + int64 + "|" + three fields with separators. */
#define SEAL_AD_MAX (3 + 16 + 1 + 20 + 3 * (1 + LIMIT_SEAL_AD_FIELD) + 1)

static const char *const seal_scopes[] = {"workspace", "account", "installation"};

/* AES-256-GCM encryption with an explicit key and IV (any IV length OpenSSL accepts;
 * sealed values use 12 bytes, the test vectors also others). ct receives n bytes. */
static int seal_gcm_encrypt(const uint8_t key[SEAL_KEY_BYTES], const uint8_t *iv, size_t iv_len,
                            const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t n, uint8_t *ct,
                            uint8_t tag[SEAL_TAG_BYTES])
{
	EVP_CIPHER_CTX *ctx = NULL;
	int len = 0;
	int rc = -1;

	if (iv_len == 0 || iv_len > INT_MAX || aad_len > INT_MAX || n > INT_MAX)
		return -1;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		goto fail;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1)
		goto fail;
	if (iv_len != SEAL_NONCE_BYTES &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)iv_len, NULL) != 1)
		goto fail;
	if (EVP_EncryptInit_ex(ctx, NULL, NULL, key, iv) != 1)
		goto fail;
	if (aad_len && EVP_EncryptUpdate(ctx, NULL, &len, aad, (int)aad_len) != 1)
		goto fail;
	if (n && (EVP_EncryptUpdate(ctx, ct, &len, pt, (int)n) != 1 || (size_t)len != n))
		goto fail;
	if (EVP_EncryptFinal_ex(ctx, ct + n, &len) != 1 || len != 0)
		goto fail;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_BYTES, tag) != 1)
		goto fail;
	rc = 0;
fail:
	EVP_CIPHER_CTX_free(ctx); /* also cleanses the key schedule */
	return rc;
}

/* AES-256-GCM decryption; returns 0 only when the tag verifies. On failure pt may hold
 * unauthenticated bytes: the caller wipes it. */
static int seal_gcm_decrypt(const uint8_t key[SEAL_KEY_BYTES], const uint8_t *iv, size_t iv_len,
                            const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t n,
                            const uint8_t tag[SEAL_TAG_BYTES], uint8_t *pt)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t tag_copy[SEAL_TAG_BYTES];
	int len = 0;
	int rc = -1;

	if (iv_len == 0 || iv_len > INT_MAX || aad_len > INT_MAX || n > INT_MAX)
		return -1;
	memcpy(tag_copy, tag, SEAL_TAG_BYTES); /* the ctrl takes a non-const pointer */
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		goto fail;
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1)
		goto fail;
	if (iv_len != SEAL_NONCE_BYTES &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)iv_len, NULL) != 1)
		goto fail;
	if (EVP_DecryptInit_ex(ctx, NULL, NULL, key, iv) != 1)
		goto fail;
	if (aad_len && EVP_DecryptUpdate(ctx, NULL, &len, aad, (int)aad_len) != 1)
		goto fail;
	if (n && (EVP_DecryptUpdate(ctx, pt, &len, ct, (int)n) != 1 || (size_t)len != n))
		goto fail;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_BYTES, tag_copy) != 1)
		goto fail;
	if (EVP_DecryptFinal_ex(ctx, pt + n, &len) != 1 || len != 0)
		goto fail;
	rc = 0;
fail:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

static int seal_scope_ok(const char *scope)
{
	if (!scope)
		return 0;
	for (size_t i = 0; i < sizeof(seal_scopes) / sizeof(seal_scopes[0]); i++)
		if (strcmp(scope, seal_scopes[i]) == 0)
			return 1;
	return 0;
}

/* Table and column names: [a-z0-9_]{1,LIMIT_SEAL_AD_FIELD}. */
static int seal_ident_ok(const char *s)
{
	size_t len = s ? strnlen(s, LIMIT_SEAL_AD_FIELD + 1) : 0;
	if (len == 0 || len > LIMIT_SEAL_AD_FIELD)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

/* Row keys: printable ASCII without '|', 1..LIMIT_SEAL_AD_FIELD bytes. */
static int seal_row_key_ok(const char *s)
{
	size_t len = s ? strnlen(s, LIMIT_SEAL_AD_FIELD + 1) : 0;
	if (len == 0 || len > LIMIT_SEAL_AD_FIELD)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '|')
			return 0;
	return 1;
}

/* Builds the associated data string into out (SEAL_AD_MAX bytes); returns its length
 * or -1 when ad is invalid. */
static int seal_ad_format(const struct seal_ad *ad, char out[SEAL_AD_MAX])
{
	if (!ad || !seal_scope_ok(ad->scope) || !seal_ident_ok(ad->table) || !seal_ident_ok(ad->column) ||
	    !seal_row_key_ok(ad->row_key))
		return -1;
	int len = snprintf(out, SEAL_AD_MAX, "v1|%s|%" PRId64 "|%s|%s|%s", ad->scope, ad->scope_id, ad->table,
	                   ad->column, ad->row_key);
	if (len < 0 || len >= SEAL_AD_MAX)
		return -1;
	return len;
}

/* Decodes a sealed text into a malloc'ed binary of *bin_len bytes, checking the prefix,
 * the size bounds and the version byte. */
static int seal_decode(const char *text, uint8_t **bin, size_t *bin_len)
{
	const size_t plen = sizeof(SEAL_TEXT_PREFIX) - 1;
	*bin = NULL;
	*bin_len = 0;
	if (!text)
		return -1;
	size_t len = strnlen(text, SEAL_TEXT_MAX + 1);
	if (len > SEAL_TEXT_MAX || len < plen || memcmp(text, SEAL_TEXT_PREFIX, plen) != 0)
		return -1;
	size_t b64_len = len - plen;
	/* Upper bound of the decoded size; the check above keeps it <= SEAL_BIN_MAX + 1. */
	size_t cap = b64_len / 4 * 3 + 3;
	uint8_t *b = malloc(cap);
	size_t n = 0;
	if (!b)
		return -1;
	if (sodium_base642bin(b, cap, text + plen, b64_len, NULL, &n, NULL,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n < SEAL_OVERHEAD || n > SEAL_BIN_MAX || b[0] != SEAL_VERSION) {
		free(b);
		return -1;
	}
	*bin = b;
	*bin_len = n;
	return 0;
}

static uint32_t seal_bin_key_id(const uint8_t *bin)
{
	return (uint32_t)bin[1] << 24 | (uint32_t)bin[2] << 16 | (uint32_t)bin[3] << 8 | (uint32_t)bin[4];
}

int seal_value(const struct keyring *kr, const struct seal_ad *ad, const uint8_t *plain, size_t n,
               char **out_text)
{
	char ad_text[SEAL_AD_MAX];
	uint8_t *bin = NULL;
	char *text = NULL;
	int rc = -1;

	*out_text = NULL;
	int ad_len = seal_ad_format(ad, ad_text);
	uint32_t id = keyring_active_id(kr);
	const uint8_t *key = keyring_seal_key(kr, id);
	if (ad_len < 0 || !key || n > LIMIT_SEALED_PLAIN || (!plain && n))
		goto fail;
	size_t bin_len = SEAL_OVERHEAD + n;
	bin = malloc(bin_len);
	if (!bin)
		goto fail;
	bin[0] = SEAL_VERSION;
	bin[1] = (uint8_t)(id >> 24);
	bin[2] = (uint8_t)(id >> 16);
	bin[3] = (uint8_t)(id >> 8);
	bin[4] = (uint8_t)id;
	randombytes_buf(bin + 5, SEAL_NONCE_BYTES);
	if (seal_gcm_encrypt(key, bin + 5, SEAL_NONCE_BYTES, (const uint8_t *)ad_text, (size_t)ad_len, plain,
	                     n, bin + SEAL_HEADER_BYTES, bin + SEAL_HEADER_BYTES + n) < 0)
		goto fail;
	const size_t plen = sizeof(SEAL_TEXT_PREFIX) - 1;
	size_t b64_size = sodium_base64_encoded_len(bin_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	text = malloc(plen + b64_size);
	if (!text)
		goto fail;
	memcpy(text, SEAL_TEXT_PREFIX, plen);
	sodium_bin2base64(text + plen, b64_size, bin, bin_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	*out_text = text;
	text = NULL;
	rc = 0;
fail:
	free(text);
	free(bin);
	return rc;
}

int seal_open(const struct keyring *kr, const struct seal_ad *ad, const char *text, uint8_t **plain,
              size_t *n)
{
	char ad_text[SEAL_AD_MAX];
	uint8_t *bin = NULL;
	size_t bin_len = 0;
	uint8_t *out = NULL;
	size_t ct_len = 0;
	int rc = -1;

	*plain = NULL;
	*n = 0;
	int ad_len = seal_ad_format(ad, ad_text);
	if (ad_len < 0 || seal_decode(text, &bin, &bin_len) < 0)
		goto fail;
	const uint8_t *key = keyring_seal_key(kr, seal_bin_key_id(bin));
	if (!key)
		goto fail;
	ct_len = bin_len - SEAL_OVERHEAD;
	out = malloc(ct_len + 1);
	if (!out)
		goto fail;
	if (seal_gcm_decrypt(key, bin + 5, SEAL_NONCE_BYTES, (const uint8_t *)ad_text, (size_t)ad_len,
	                     bin + SEAL_HEADER_BYTES, ct_len, bin + SEAL_HEADER_BYTES + ct_len, out) < 0)
		goto fail;
	out[ct_len] = '\0';
	*plain = out;
	*n = ct_len;
	out = NULL;
	rc = 0;
fail:
	if (out) {
		sodium_memzero(out, ct_len + 1);
		free(out);
	}
	free(bin);
	return rc;
}

int seal_key_id(const char *text, uint32_t *id)
{
	uint8_t *bin = NULL;
	size_t bin_len = 0;
	if (seal_decode(text, &bin, &bin_len) < 0)
		return -1;
	*id = seal_bin_key_id(bin);
	free(bin);
	return 0;
}

int seal_reseal(const struct keyring *kr, const struct seal_ad *ad, const char *text, char **new_text,
                int *already_active)
{
	uint8_t *plain = NULL;
	size_t n = 0;
	uint32_t id = 0;
	int rc = -1;

	*new_text = NULL;
	*already_active = 0;
	if (seal_key_id(text, &id) < 0 || seal_open(kr, ad, text, &plain, &n) < 0)
		goto fail;
	if (id == keyring_active_id(kr)) {
		*already_active = 1;
		rc = 0;
		goto fail;
	}
	if (seal_value(kr, ad, plain, n, new_text) < 0)
		goto fail;
	rc = 0;
fail:
	seal_plain_free(plain, n);
	return rc;
}

void seal_plain_free(uint8_t *p, size_t n)
{
	if (!p)
		return;
	sodium_memzero(p, n + 1);
	free(p);
}
