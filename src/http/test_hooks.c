#include "http/test_hooks.h"

#ifdef DROPFIX_TEST_HOOKS
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/limits.h"
#include "core/parse.h"
#include "http/json.h"

int test_hook_json(struct http_request *req, struct http_response *res)
{
	json_t *doc = NULL;
	struct jsonin_error err = {0};
	if (jsonin_load(req->body.p ? req->body.p : "", req->body.n, LIMIT_BODY_JSON_API, &doc, &err) < 0)
		return http_reply_json(res, jsonin_error_status(&err), jsonin_error_json(&err));
	json_decref(doc);
	return http_reply_json(res, 200, json_pack("{s:b, s:I}", "ok", 1, "bytes", (json_int_t)req->body.n));
}

int test_hook_whoami(struct http_request *req, struct http_response *res)
{
	return http_reply_json(res, 200, json_pack("{s:s, s:I}", "client_ip", req->client_ip, "now_ms",
						   (json_int_t)clock_now_ms()));
}

int test_hook_slow(struct http_request *req, struct http_response *res)
{
	int64_t ms = 0;
	const char *q = http_query(req, "ms");
	if (q && parse_i64_cstr(q, 0, 5000, &ms) < 0)
		return http_reply_error(req, res, 400, "invalid_field", "ms must be 0-5000", "/ms");
	usleep((useconds_t)ms * 1000);
	return http_reply_json(res, 200, json_pack("{s:b, s:I}", "ok", 1, "bytes", (json_int_t)req->body.n));
}
struct deferred_job {
	struct http_deferred *d;
	int64_t ms;
};

static void *deferred_thread(void *arg)
{
	struct deferred_job *j = arg;
	usleep((useconds_t)j->ms * 1000);
	struct http_response *res = http_deferred_response(j->d);
	http_reply_json(res, 200, json_pack("{s:b, s:s}", "ok", 1, "from", "another thread"));
	http_deferred_resume(j->d);
	free(j);
	return NULL;
}

int test_hook_deferred(struct http_request *req, struct http_response *res)
{
	int64_t ms = 0;
	const char *q = http_query(req, "ms");
	if (q && parse_i64_cstr(q, 0, 5000, &ms) < 0)
		return http_reply_error(req, res, 400, "invalid_field", "ms must be 0-5000", "/ms");
	struct deferred_job *j = calloc(1, sizeof(*j));
	if (!j)
		return -1;
	j->ms = ms;
	j->d = http_defer(req);
	pthread_t t;
	if (!j->d || pthread_create(&t, NULL, deferred_thread, j) != 0) {
		free(j);
		return http_reply_error(req, res, 500, "internal", "cannot defer", NULL);
	}
	pthread_detach(t);
	return 0;
}
#else
typedef int test_hooks_absent; /* ISO C wants a non-empty translation unit */
#endif
