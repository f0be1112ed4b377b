#include "http/static.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char *content_type(const char *name)
{
	static const struct {
		const char *ext;
		const char *type;
	} types[] = {
		{".css", "text/css; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
		{".txt", "text/plain; charset=utf-8"},
	};
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

int static_serve(struct http_request *req, struct http_response *res)
{
	struct str name = http_param(req, "name");
	for (size_t i = 0; i < static_files_count; i++) {
		const struct static_file *f = &static_files[i];
		if (!str_eq(name, str_from_cstr(f->name)))
			continue;
		unsigned char hash[16];
		char hex[2 * sizeof(hash) + 1], etag[sizeof(hex) + 2];
		crypto_generichash(hash, sizeof(hash), (const unsigned char *)f->data, f->len, NULL, 0);
		sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
		snprintf(etag, sizeof(etag), "\"%s\"", hex);
		http_set_header(res, "ETag", etag);
		http_set_header(res, "Cache-Control", "public, max-age=3600");
		const char *inm = http_header(req, "If-None-Match");
		if (inm && strcmp(inm, etag) == 0)
			return http_reply_text(res, 304, NULL, "", 0);
		return http_reply_text(res, 200, content_type(f->name), f->data, f->len);
	}
	return http_reply_error(req, res, 404, "not_found", "no such file", NULL);
}
