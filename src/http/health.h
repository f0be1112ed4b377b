/* Operational endpoints: /healthz, /readyz, /metrics, /.well-known/security.txt. */
#ifndef DROPFIX_HEALTH_H
#define DROPFIX_HEALTH_H

#include "http/http.h"

/* A readiness check: returns 0 when healthy, else -1 with a short reason in why. It may
 * add numbers (queue depth, …) to detail. */
typedef int (*health_check_fn)(void *arg, json_t *detail, char *why, size_t whylen);

/* Registers a readiness check under name (static string). Returns 0 or -1 when full. */
int health_register_check(const char *name, health_check_fn fn, void *arg);

int health_livez(struct http_request *req, struct http_response *res);
int health_readyz(struct http_request *req, struct http_response *res);
int health_metrics(struct http_request *req, struct http_response *res);
int health_security_txt(struct http_request *req, struct http_response *res);
/* Authenticator for AUTH_METRICS routes. */
int health_metrics_auth(struct http_request *req, struct http_response *res);

#endif
