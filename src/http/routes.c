/* The one route table: every URL the server answers, with its auth class, minimum role
 * and body class. The router enforces auth before any handler; tests walk this table. */
#include "http/health.h"
#include "http/router.h"
#include "http/static.h"
#include "http/test_hooks.h"

const struct route app_routes[] = {
	{HTTP_GET, "/healthz", health_livez, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, 0},
	{HTTP_GET, "/readyz", health_readyz, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, 0},
	{HTTP_GET, "/metrics", health_metrics, AUTH_METRICS, ROLE_NONE, BODY_SMALL, 0},
	{HTTP_GET, "/.well-known/security.txt", health_security_txt, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, 0},
	{HTTP_GET, "/static/:name", static_serve, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, 0},
#ifdef DROPFIX_TEST_HOOKS
	{HTTP_POST, "/__test/json", test_hook_json, AUTH_PUBLIC, ROLE_NONE, BODY_JSON, ROUTE_NO_CSRF},
	{HTTP_GET, "/__test/whoami", test_hook_whoami, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, 0},
	{HTTP_POST, "/__test/slow", test_hook_slow, AUTH_PUBLIC, ROLE_NONE, BODY_JSON, ROUTE_NO_CSRF},
#endif
};

const size_t app_routes_count = sizeof(app_routes) / sizeof(app_routes[0]);
