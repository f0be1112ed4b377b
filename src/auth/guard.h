/* The router's authenticators for browser and API callers: the CSRF gate for public
 * forms, signed-in sessions (with rotation and touch as router bookkeeping), workspace
 * membership and roles. Installed once at start by guard_install(). */
#ifndef DROPFIX_GUARD_H
#define DROPFIX_GUARD_H

#include "http/http.h"

/* Installs the authenticators for AUTH_PUBLIC (state changes), AUTH_SESSION and
 * AUTH_WORKSPACE into the router. */
void guard_install(void);
/* For a public page that shows a form: returns the pre-sign-in CSRF token, setting the
 * double-submit cookie on res when the browser has none yet. Borrowed from req. */
const char *guard_anon_csrf(struct http_request *req, struct http_response *res);
/* The CSRF token to put in forms for this request (signed in or not; "" for an API
 * token request, which sets no cookie). */
const char *guard_csrf_token(struct http_request *req, struct http_response *res);
/* Parses a role name ("owner", "admin", "member", "viewer"); ROLE_NONE when unknown. */
enum role guard_role_parse(const char *s, size_t n);
/* The name of a role. */
const char *guard_role_name(enum role r);

#endif
