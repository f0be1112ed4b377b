/* Response builders shared by every handler. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "http/error_page.h"

int http_set_header(struct http_response *res, const char *name, const char *value)
{
	if (res->n_headers >= HTTP_MAX_RESPONSE_HEADERS)
		return -1;
	char *v = strdup(value);
	if (!v)
		return -1;
	res->headers[res->n_headers].name = name;
	res->headers[res->n_headers].value = v;
	res->n_headers++;
	return 0;
}

int http_reply_text(struct http_response *res, int status, const char *content_type, const char *text, size_t n)
{
	buf_reset(&res->body);
	res->status = status;
	res->content_type = content_type;
	return buf_append(&res->body, text, n);
}

int http_reply_json(struct http_response *res, int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(body);
	if (!text) {
		res->status = 500;
		return -1;
	}
	int rc = http_reply_text(res, status, "application/json", text, strlen(text));
	free(text);
	return rc;
}

int http_reply_error(struct http_request *req, struct http_response *res, int status, const char *code,
		     const char *message, const char *field)
{
	buf_reset(&res->body);
	if (req && req->wants_html) {
		res->status = status;
		res->content_type = "text/html; charset=utf-8";
		if (error_page_render(status, code, message, &res->body) == 0)
			return 0;
		buf_reset(&res->body);
	}
	json_t *err = json_pack("{s:s, s:s}", "code", code, "message", message);
	if (err && field)
		json_object_set_new(err, "field", json_string(field));
	http_reply_json(res, status, json_pack("{s:o}", "error", err));
	return 0;
}

int http_redirect(struct http_response *res, const char *location)
{
	buf_reset(&res->body);
	res->status = 303;
	res->content_type = NULL;
	http_set_header(res, "Location", location);
	return 0;
}

int http_safe_return_path(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 512 || s[0] != '/')
		return 0;
	if (n > 1 && (s[1] == '/' || s[1] == '\\'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == '\\')
			return 0;
	}
	return 1;
}

int http_request_origin(const struct http_request *req, char *out, size_t outlen)
{
	const char *host = http_header(req, "Host");
	if (!host)
		return -1;
	int n = snprintf(out, outlen, "%s://%s", req->cfg->base_url_https ? "https" : "http", host);
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}
