/* Test-build-only routes for the workspace, team and operator tests (compiled only with
 * -DDROPFIX_TEST_HOOKS; the release binary has none of them). They shortcut what other
 * tests prove through the real pages (sign-in, 2FA enrolment), so these tests can focus
 * on authorisation. */
#ifndef DROPFIX_WEB_TEST_HOOKS_H
#define DROPFIX_WEB_TEST_HOOKS_H

#include "http/http.h"

#ifdef DROPFIX_TEST_HOOKS
/* POST /__test/session {"email"}: a fully signed-in session for that account:
 * {"account_id", "cookie": "<name>=<token>", "csrf"}. 404 when there is no account. */
int webtest_session(struct http_request *req, struct http_response *res);
/* POST /__test/2fa {"email", "on": bool}: turns TOTP on (a random seed) or off. */
int webtest_2fa(struct http_request *req, struct http_response *res);
/* GET /__test/ws-rows/:id: rows that still belong to workspace id, per table, and
 * whether its id is retired: {"workspaces":n, "memberships":n, …, "retired":bool}. */
int webtest_ws_rows(struct http_request *req, struct http_response *res);
#endif

#endif
