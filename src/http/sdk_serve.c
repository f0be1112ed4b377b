#include "http/sdk_serve.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define SDK_TYPE "text/javascript; charset=utf-8"

const struct sdk_file *sdk_file_find(struct str name)
{
	for (size_t i = 0; i < sdk_files_count; i++)
		if (str_eq(name, str_from_cstr(sdk_files[i].name)))
			return &sdk_files[i];
	return NULL;
}

const struct sdk_file *sdk_current_release(void)
{
	const struct sdk_file *latest = sdk_file_find(str_from_cstr("latest"));
	for (size_t i = 0; latest && i < sdk_files_count; i++) {
		const struct sdk_file *f = &sdk_files[i];
		if (f != latest && f->len == latest->len && memcmp(f->data, latest->data, f->len) == 0)
			return f;
	}
	return NULL;
}

int sdk_sri(const struct sdk_file *f, char *out, size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	const char prefix[] = "sha384-";
	size_t b64 = sodium_base64_ENCODED_LEN(48, sodium_base64_VARIANT_ORIGINAL);
	if (outlen < sizeof(prefix) - 1 + b64)
		return -1;
	if (EVP_Digest(f->data, f->len, md, &mdlen, EVP_sha384(), NULL) != 1 || mdlen != 48)
		return -1;
	memcpy(out, prefix, sizeof(prefix) - 1);
	sodium_bin2base64(out + sizeof(prefix) - 1, outlen - (sizeof(prefix) - 1), md, mdlen,
	                  sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

/* 1 when the If-None-Match value lists etag (or is "*"). */
static int etag_matches(const char *inm, const char *etag)
{
	if (!inm)
		return 0;
	if (strcmp(inm, "*") == 0)
		return 1;
	return strstr(inm, etag) != NULL; /* etag is quoted hex: cannot match part of another */
}

static int serve(struct http_request *req, struct http_response *res, const struct sdk_file *f,
                 const char *cache_control)
{
	unsigned char hash[16];
	char hex[2 * sizeof(hash) + 1], etag[sizeof(hex) + 2];
	crypto_generichash(hash, sizeof(hash), (const unsigned char *)f->data, f->len, NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
	snprintf(etag, sizeof(etag), "\"%s\"", hex);
	/* Founders' pages on any origin load the script (and may check its SRI hash, which
	 * needs CORS); it carries no credentials and no per-user data. */
	if (http_set_header(res, "ETag", etag) != 0 ||
	    http_set_header(res, "Cache-Control", cache_control) != 0 ||
	    http_set_header(res, "Access-Control-Allow-Origin", "*") != 0 ||
	    http_set_header(res, "Cross-Origin-Resource-Policy", "cross-origin") != 0)
		return http_reply_error(req, res, 500, "internal", "response headers", NULL);
	if (etag_matches(http_header(req, "If-None-Match"), etag))
		return http_reply_text(res, 304, NULL, "", 0);
	return http_reply_text(res, 200, SDK_TYPE, f->data, f->len);
}

int sdk_serve_latest(struct http_request *req, struct http_response *res)
{
	const struct sdk_file *f = sdk_file_find(str_from_cstr("latest"));
	if (!f)
		return http_reply_error(req, res, 404, "not_found", "no SDK build embedded", NULL);
	return serve(req, res, f, "public, max-age=300");
}

int sdk_serve_version(struct http_request *req, struct http_response *res)
{
	struct str v = http_param(req, "version");
	/* Only "v<digits and dots>": "latest" is not a version URL. */
	int ok = v.n >= 2 && v.n <= 32 && v.p[0] == 'v';
	for (size_t i = 1; ok && i < v.n; i++)
		ok = (v.p[i] >= '0' && v.p[i] <= '9') || v.p[i] == '.';
	const struct sdk_file *f = ok ? sdk_file_find(v) : NULL;
	if (!f)
		return http_reply_error(req, res, 404, "not_found", "no such SDK version", NULL);
	return serve(req, res, f, "public, max-age=31536000, immutable");
}
