/* The one route table: every URL the server answers, with its auth class, minimum role
 * and body class. The router enforces auth before any handler; tests walk this table. */
#include "auth/staff.h"
#include "http/health.h"
#include "http/router.h"
#include "http/static.h"
#include "http/test_hooks.h"
#include "web/keys_pages.h"
#include "web/permissions.h"
#include "web/shell.h"
#include "web/team_pages.h"
#include "web/web_test_hooks.h"
#include "web/workspace_pages.h"

const struct route app_routes[] = {
	{HTTP_GET, "/healthz", health_livez, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, 0},
	{HTTP_GET, "/readyz", health_readyz, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, 0},
	{HTTP_GET, "/metrics", health_metrics, AUTH_METRICS, ROLE_NONE, BODY_SMALL, 0},
	{HTTP_GET, "/.well-known/security.txt", health_security_txt, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, 0},
	{HTTP_GET, "/static/:name", static_serve, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, 0},
	/* workspaces, keys, team */
	{HTTP_GET, "/w", workspace_page_list, AUTH_SESSION, ROLE_NONE, BODY_SMALL, ROUTE_HTML},
	{HTTP_POST, "/w", workspace_page_create, AUTH_SESSION, ROLE_NONE, BODY_FORM, ROUTE_HTML},
	{HTTP_GET, "/w/:ws", workspace_page_home, AUTH_WORKSPACE, PERM_MIN(WORKSPACE_VIEW), BODY_SMALL, ROUTE_HTML},
	{HTTP_GET, "/w/:ws/settings", workspace_page_settings, AUTH_WORKSPACE, PERM_MIN(WORKSPACE_VIEW), BODY_SMALL,
	 ROUTE_HTML},
	{HTTP_POST, "/w/:ws/settings", workspace_page_settings_save, AUTH_WORKSPACE, PERM_MIN(WORKSPACE_SETTINGS),
	 BODY_FORM, ROUTE_HTML},
	{HTTP_POST, "/w/:ws/settings/security", workspace_page_security_save, AUTH_WORKSPACE,
	 PERM_MIN(WORKSPACE_REQUIRE_2FA), BODY_FORM, ROUTE_HTML},
	{HTTP_GET, "/w/:ws/settings/delete", workspace_page_delete_form, AUTH_WORKSPACE, PERM_MIN(WORKSPACE_DELETE),
	 BODY_SMALL, ROUTE_HTML},
	{HTTP_POST, "/w/:ws/settings/delete", workspace_page_delete, AUTH_WORKSPACE, PERM_MIN(WORKSPACE_DELETE),
	 BODY_FORM, ROUTE_HTML},
	{HTTP_GET, "/w/:ws/settings/keys", keys_page, AUTH_WORKSPACE, PERM_MIN(KEYS_VIEW), BODY_SMALL, ROUTE_HTML},
	{HTTP_POST, "/w/:ws/settings/keys/rotate", keys_page_rotate, AUTH_WORKSPACE, PERM_MIN(KEYS_ROTATE), BODY_FORM,
	 ROUTE_HTML},
	{HTTP_GET, "/w/:ws/settings/team", team_page, AUTH_WORKSPACE, PERM_MIN(TEAM_VIEW), BODY_SMALL, ROUTE_HTML},
	{HTTP_POST, "/w/:ws/settings/team/invite", team_page_invite, AUTH_WORKSPACE, PERM_MIN(TEAM_INVITE), BODY_FORM,
	 ROUTE_HTML},
	{HTTP_POST, "/w/:ws/settings/team/invites/revoke", team_page_invite_revoke, AUTH_WORKSPACE,
	 PERM_MIN(TEAM_INVITE), BODY_FORM, ROUTE_HTML},
	{HTTP_POST, "/w/:ws/settings/team/role", team_page_role, AUTH_WORKSPACE, PERM_MIN(TEAM_MANAGE), BODY_FORM,
	 ROUTE_HTML},
	{HTTP_POST, "/w/:ws/settings/team/remove", team_page_remove, AUTH_WORKSPACE, PERM_MIN(TEAM_MANAGE), BODY_FORM,
	 ROUTE_HTML},
	{HTTP_POST, "/w/:ws/settings/team/leave", team_page_leave, AUTH_WORKSPACE, PERM_MIN(TEAM_LEAVE), BODY_FORM,
	 ROUTE_HTML},
	{HTTP_GET, "/auth/invite/:token", team_invite_page, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, ROUTE_HTML},
	{HTTP_POST, "/auth/invite/:token", team_invite_accept, AUTH_SESSION, ROLE_NONE, BODY_FORM, ROUTE_HTML},
	{HTTP_GET, "/staff", staff_page_health, AUTH_SESSION, ROLE_NONE, BODY_SMALL, ROUTE_HTML},
#ifdef DROPFIX_TEST_HOOKS
	{HTTP_GET, "/__test/routes", shell_test_routes, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, 0},
	{HTTP_POST, "/__test/session", webtest_session, AUTH_PUBLIC, ROLE_NONE, BODY_JSON, ROUTE_NO_CSRF},
	{HTTP_POST, "/__test/2fa", webtest_2fa, AUTH_PUBLIC, ROLE_NONE, BODY_JSON, ROUTE_NO_CSRF},
	{HTTP_POST, "/__test/keycheck", keys_test_check, AUTH_PUBLIC, ROLE_NONE, BODY_JSON, ROUTE_NO_CSRF},
	{HTTP_GET, "/__test/ws-rows/:id", webtest_ws_rows, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, 0},
#endif
#ifdef DROPFIX_TEST_HOOKS
	{HTTP_POST, "/__test/json", test_hook_json, AUTH_PUBLIC, ROLE_NONE, BODY_JSON, ROUTE_NO_CSRF},
	{HTTP_GET, "/__test/whoami", test_hook_whoami, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, 0},
	{HTTP_POST, "/__test/slow", test_hook_slow, AUTH_PUBLIC, ROLE_NONE, BODY_JSON, ROUTE_NO_CSRF},
#endif
};

const size_t app_routes_count = sizeof(app_routes) / sizeof(app_routes[0]);
