/* Route table matching and the auth gate every request passes before its handler. */
#ifndef DROPFIX_ROUTER_H
#define DROPFIX_ROUTER_H

#include <stddef.h>

#include "http/http.h"

/* The application's route table (routes.c) and its length. */
extern const struct route app_routes[];
extern const size_t app_routes_count;

struct router_match {
	const struct route *route; /* NULL when nothing matched */
	unsigned allowed;          /* methods of routes whose pattern matched the path */
};

/* Finds the route for method and path and fills req->params (borrowed from path).
 * One trailing slash is ignored ("/a/" matches "/a"). Returns 0 when a route matched;
 * -1 otherwise, with m->allowed non-zero when the path exists for other methods. */
int router_match(const struct route *routes, size_t n, enum http_method method, const char *path,
		 struct http_request *req, struct router_match *m);

/* An authenticator for one auth class: returns 0 to let the request through, or -1
 * after writing the refusal into res. */
typedef int (*router_auth_fn)(struct http_request *req, struct http_response *res);

/* Installs the authenticator for an auth class (modules call this at start-up). */
void router_set_auth(enum route_auth auth, router_auth_fn fn);

/* Runs the route's auth class. Classes without an authenticator fail closed (401).
 * Returns 0 to proceed, -1 when res holds the refusal. */
int router_authorize(struct http_request *req, struct http_response *res);

/* Parses a method name; returns 0 for unknown methods. */
enum http_method router_method(const char *name);

#endif
