/* The HTTP server: libmicrohttpd daemon, first-call hardening, body limits and
 * deadlines, the router gate, security headers, access log, graceful shutdown. */
#ifndef DROPFIX_SERVER_H
#define DROPFIX_SERVER_H

#include <stddef.h>

#include "core/config.h"
#include "http/http.h"

struct http_server;

/* Starts listening on cfg->listen (TLS when cfg has a cert) and serving routes; every
 * request sees inst (store and keyring; may be NULL). cfg, inst and routes must outlive
 * the server. Returns 0, or -1 with a reason in err. */
int http_server_start(const struct config *cfg, const struct install *inst, const struct route *routes,
		      size_t n_routes, struct http_server **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Stops accepting, waits up to grace_ms for requests in flight, then stops the daemon
 * and frees the server. Accepts NULL. Returns the number of requests still in flight
 * when the grace period ran out (0 on a clean stop). */
int http_server_stop(struct http_server *s, int grace_ms);
/* Requests currently being processed. */
long http_server_in_flight(const struct http_server *s);

#endif
