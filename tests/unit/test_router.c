/* Unit tests for the router: matching, parameters, methods, the fail-closed auth gate,
 * and a walk over the application's route table. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "http/router.h"

static int h_dummy(struct http_request *req, struct http_response *res)
{
	(void)req;
	(void)res;
	return 0;
}

static const struct route table[] = {
	{HTTP_GET, "/", h_dummy, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, 0},
	{HTTP_GET, "/w/:ws", h_dummy, AUTH_WORKSPACE, ROLE_VIEWER, BODY_SMALL, 0},
	{HTTP_GET, "/w/:ws/users/:id", h_dummy, AUTH_WORKSPACE, ROLE_VIEWER, BODY_SMALL, 0},
	{HTTP_POST, "/w/:ws/users/:id", h_dummy, AUTH_WORKSPACE, ROLE_MEMBER, BODY_FORM, 0},
	{HTTP_POST, "/v1/batch", h_dummy, AUTH_INGEST, ROLE_NONE, BODY_INGEST, 0},
};
#define N (sizeof(table) / sizeof(table[0]))

static void test_match_params(void **state)
{
	(void)state;
	struct http_request req;
	struct router_match m;
	memset(&req, 0, sizeof(req));
	assert_int_equal(router_match(table, N, HTTP_GET, "/w/42/users/u-7", &req, &m), 0);
	assert_ptr_equal(m.route, &table[2]);
	assert_int_equal(req.n_params, 2);
	assert_true(str_eq(http_param(&req, "ws"), STR_LIT("42")));
	assert_true(str_eq(http_param(&req, "id"), STR_LIT("u-7")));
	assert_int_equal(http_param(&req, "nope").n, 0);

	assert_int_equal(router_match(table, N, HTTP_POST, "/w/42/users/u-7", &req, &m), 0);
	assert_ptr_equal(m.route, &table[3]);
	assert_int_equal(router_match(table, N, HTTP_GET, "/", &req, &m), 0);
	assert_ptr_equal(m.route, &table[0]);
}

static void test_no_match(void **state)
{
	(void)state;
	struct http_request req;
	struct router_match m;
	memset(&req, 0, sizeof(req));
	const char *paths[] = {"/w", "/w/", "/w//users/1", "/w/1/users", "/w/1/users/1/x", "/x", "//", "/v1/batchx", ""};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_int_equal(router_match(table, N, HTTP_GET, paths[i], &req, &m), -1);
		assert_null(m.route);
	}
}

static void test_trailing_slash_and_methods(void **state)
{
	(void)state;
	struct http_request req;
	struct router_match m;
	memset(&req, 0, sizeof(req));
	assert_int_equal(router_match(table, N, HTTP_POST, "/v1/batch/", &req, &m), 0);
	assert_int_equal(router_match(table, N, HTTP_HEAD, "/w/1", &req, &m), 0); /* HEAD rides on GET */
	assert_int_equal(router_match(table, N, HTTP_DELETE, "/v1/batch", &req, &m), -1);
	assert_int_equal(m.allowed, HTTP_POST);
	assert_int_equal(router_match(table, N, HTTP_DELETE, "/w/1/users/2", &req, &m), -1);
	assert_int_equal(m.allowed, HTTP_GET | HTTP_HEAD | HTTP_POST);
	assert_int_equal(router_method("GET"), HTTP_GET);
	assert_int_equal(router_method("get"), 0);
	assert_int_equal(router_method("BREW"), 0);
}

static void test_public_state_change_needs_csrf_gate(void **state)
{
	(void)state;
	static const struct route form = {HTTP_POST, "/auth/login", h_dummy, AUTH_PUBLIC, ROLE_NONE, BODY_FORM, 0};
	struct http_request req;
	struct http_response res;
	memset(&req, 0, sizeof(req));
	memset(&res, 0, sizeof(res));
	req.route = &form;
	req.method = HTTP_POST;
	assert_int_equal(router_authorize(&req, &res), -1); /* no CSRF authenticator: refused */
	assert_int_equal(res.status, 403);
	buf_free(&res.body);
	memset(&res, 0, sizeof(res));
	req.method = HTTP_GET;
	assert_int_equal(router_authorize(&req, &res), 0);
}

static void test_auth_fails_closed(void **state)
{
	(void)state;
	struct http_request req;
	struct http_response res;
	memset(&req, 0, sizeof(req));
	memset(&res, 0, sizeof(res));
	req.route = &table[1]; /* AUTH_WORKSPACE, no authenticator installed here */
	assert_int_equal(router_authorize(&req, &res), -1);
	assert_int_equal(res.status, 401);
	buf_free(&res.body);
	memset(&res, 0, sizeof(res));
	req.route = &table[0];
	req.method = HTTP_GET;
	assert_int_equal(router_authorize(&req, &res), 0);
	assert_int_equal(res.status, 0);
}

/* Every route of the application: a handler, a well-formed unique pattern, sane classes,
 * and state-changing methods never public without a reason listed here. */
static void test_app_route_table(void **state)
{
	(void)state;
	assert_true(app_routes_count > 0);
	for (size_t i = 0; i < app_routes_count; i++) {
		const struct route *r = &app_routes[i];
		assert_non_null(r->handler);
		assert_non_null(r->pattern);
		assert_true(r->pattern[0] == '/');
		assert_true(r->methods != 0);
		assert_null(strstr(r->pattern, "//"));
		if (r->auth == AUTH_WORKSPACE)
			assert_true(r->min_role >= ROLE_VIEWER);
		if (r->methods & HTTP_GET)
			assert_int_equal(r->body, BODY_SMALL);
		int test_only = strncmp(r->pattern, "/__test/", 8) == 0;
		if (r->flags & ROUTE_NO_CSRF)
			assert_true(test_only); /* only test-build routes skip the CSRF gate */
		for (size_t j = 0; j < i; j++)
			assert_false(strcmp(app_routes[j].pattern, r->pattern) == 0 && (app_routes[j].methods & r->methods));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_params),
		cmocka_unit_test(test_no_match),
		cmocka_unit_test(test_trailing_slash_and_methods),
		cmocka_unit_test(test_auth_fails_closed),
		cmocka_unit_test(test_public_state_change_needs_csrf_gate),
		cmocka_unit_test(test_app_route_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
