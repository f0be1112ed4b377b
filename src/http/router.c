#include "http/router.h"

#include <string.h>

static router_auth_fn auth_fns[AUTH_WORKSPACE + 1];

static int state_changing(enum http_method m)
{
	return !(m & (HTTP_GET | HTTP_HEAD | HTTP_OPTIONS));
}

enum http_method router_method(const char *name)
{
	static const struct {
		const char *name;
		enum http_method m;
	} methods[] = {
		{"GET", HTTP_GET},     {"HEAD", HTTP_HEAD},     {"POST", HTTP_POST},       {"PUT", HTTP_PUT},
		{"PATCH", HTTP_PATCH}, {"DELETE", HTTP_DELETE}, {"OPTIONS", HTTP_OPTIONS},
	};
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(methods[i].name, name) == 0)
			return methods[i].m;
	return 0;
}

/* Matches one pattern against path; fills params when out is non-NULL. */
static int pattern_matches(const char *pattern, const char *path, size_t path_len, struct http_request *out)
{
	const char *p = pattern, *s = path, *end = path + path_len;
	int n_params = 0;
	while (*p && s < end) {
		if (*p != '/' || *s != '/')
			return 0;
		p++;
		s++;
		const char *pseg_end = strchr(p, '/');
		size_t pseg_len = pseg_end ? (size_t)(pseg_end - p) : strlen(p);
		const char *sseg_end = memchr(s, '/', (size_t)(end - s));
		size_t sseg_len = sseg_end ? (size_t)(sseg_end - s) : (size_t)(end - s);
		if (pseg_len > 0 && p[0] == ':') {
			if (sseg_len == 0 || n_params >= HTTP_MAX_PARAMS)
				return 0;
			if (out) {
				out->params[n_params].name = (struct str){p + 1, pseg_len - 1};
				out->params[n_params].value = (struct str){s, sseg_len};
			}
			n_params++;
		} else if (pseg_len != sseg_len || memcmp(p, s, pseg_len) != 0) {
			return 0;
		}
		p += pseg_len;
		s += sseg_len;
	}
	if (*p || s != end)
		return 0;
	if (out)
		out->n_params = n_params;
	return 1;
}

int router_match(const struct route *routes, size_t n, enum http_method method, const char *path,
		 struct http_request *req, struct router_match *m)
{
	size_t len = strlen(path);
	if (len > 1 && path[len - 1] == '/' && path[len - 2] != '/')
		len--;
	m->route = NULL;
	m->allowed = 0;
	for (size_t i = 0; i < n; i++) {
		const struct route *r = &routes[i];
		unsigned methods = r->methods;
		if (methods & HTTP_GET)
			methods |= HTTP_HEAD;
		if (!pattern_matches(r->pattern, path, len, NULL))
			continue;
		m->allowed |= methods;
		if (methods & method) {
			pattern_matches(r->pattern, path, len, req);
			m->route = r;
			return 0;
		}
	}
	return -1;
}

void router_set_auth(enum route_auth auth, router_auth_fn fn)
{
	if ((size_t)auth < sizeof(auth_fns) / sizeof(auth_fns[0]))
		auth_fns[auth] = fn;
}

int router_authorize(struct http_request *req, struct http_response *res)
{
	enum route_auth auth = req->route->auth;
	/* Public reads need nothing; a public state change (sign-in, sign-up, reset…) still
	 * passes the CSRF gate, which is the AUTH_PUBLIC authenticator. */
	if (auth == AUTH_PUBLIC && (!state_changing(req->method) || (req->route->flags & ROUTE_NO_CSRF)))
		return 0;
	router_auth_fn fn = (size_t)auth < sizeof(auth_fns) / sizeof(auth_fns[0]) ? auth_fns[auth] : NULL;
	if (!fn) {
		if (auth == AUTH_PUBLIC)
			http_reply_error(req, res, 403, "csrf", "this form cannot be checked; reload the page and try again", NULL);
		else
			http_reply_error(req, res, 401, "unauthenticated", "authentication required", NULL);
		return -1;
	}
	return fn(req, res);
}
