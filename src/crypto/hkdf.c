#include "crypto/hkdf.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sodium.h>

int hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len, const uint8_t *info,
                size_t info_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *ctx = NULL;
	OSSL_PARAM params[5];
	size_t np = 0;
	int rc = -1;

	if (!out || out_len == 0 || out_len > HKDF_SHA256_MAX_OUT)
		return -1;
	if ((!salt && salt_len) || (!ikm && ikm_len) || (!info && info_len))
		goto fail;
	kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
	if (!kdf)
		goto fail;
	ctx = EVP_KDF_CTX_new(kdf);
	if (!ctx)
		goto fail;
	/* OpenSSL takes non-const pointers in OSSL_PARAM but only reads these. */
	params[np++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[np++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
	/* An absent salt is HMAC with an empty key, which equals HashLen zero bytes. */
	if (salt_len)
		params[np++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
	if (info_len)
		params[np++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
	params[np] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, out_len, params) != 1)
		goto fail;
	rc = 0;
fail:
	if (rc != 0)
		sodium_memzero(out, out_len);
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}
