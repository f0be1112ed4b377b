/* Routes that exist only in test builds (-DDROPFIX_TEST_HOOKS): they let black-box
 * tests reach the JSON loader, the client-IP logic and the clock through real HTTP. */
#ifndef DROPFIX_TEST_HOOKS_H
#define DROPFIX_TEST_HOOKS_H

#include "http/http.h"

#ifdef DROPFIX_TEST_HOOKS
/* POST: loads the body with the strict JSON loader; 200 {"ok":true,"bytes":n} or the error. */
int test_hook_json(struct http_request *req, struct http_response *res);
/* GET: {"client_ip":…, "now_ms":…} as the server sees them. */
int test_hook_whoami(struct http_request *req, struct http_response *res);
/* POST: answers from another thread after ?ms= milliseconds (deferred reply). */
int test_hook_deferred(struct http_request *req, struct http_response *res);
/* POST: sleeps ?ms= (0–5000) milliseconds, then answers 200 (shutdown tests). */
int test_hook_slow(struct http_request *req, struct http_response *res);
#endif

#endif
