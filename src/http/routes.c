/* The one route table: every URL the server answers, with its auth class, minimum role
 * and body class. The router enforces auth before any handler; tests walk this table. */
#include "auth/account_pages.h"
#include "auth/auth_pages.h"
#include "auth/staff.h"
#include "http/health.h"
#include "http/router.h"
#include "http/sdk_serve.h"
#include "http/static.h"
#include "http/test_hooks.h"
#include "ingest/compat.h"
#include "ingest/ingest.h"
#include "ingest/ingest_config.h"
#include "ingest/ingest_identify.h"
#include "ingest/ingest_writer.h"
#include "web/appmodel_page.h"
#include "web/audit_pages.h"
#include "web/detect_settings_page.h"
#include "web/install_page.h"
#include "web/keys_pages.h"
#include "web/live_page.h"
#include "web/overview_page.h"
#include "web/permissions.h"
#include "web/shell.h"
#include "web/signals_page.h"
#include "web/team_pages.h"
#include "web/tokens_page.h"
#include "web/user_page.h"
#include "web/users_page.h"
#include "web/web_test_hooks.h"
#include "web/workspace_pages.h"

const struct route app_routes[] = {
	/* first: router_match tries patterns in table order, and these take by far the most
	 * requests (no earlier pattern could match them, so the order changes nothing else) */
	/* ingestion (src/ingest): keys checked by the handler (AUTH_INGEST), CORS, OPTIONS preflight */
	{HTTP_POST | HTTP_OPTIONS, "/v1/batch", ingest_batch, AUTH_INGEST, ROLE_NONE, BODY_INGEST, 0},
	/* the workspace's privacy settings for the SDK (src/ingest/ingest_config.h): public, CORS,
	 * cacheable, per-IP limited like unknown keys; the key is checked by the handler */
	{HTTP_GET, "/v1/config", ingest_config, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, 0},
	/* compatibility clients into the same pipeline (src/ingest/compat.h): Segment, PostHog */
	{HTTP_POST | HTTP_OPTIONS, "/v1/track", compat_segment_track, AUTH_INGEST, ROLE_NONE, BODY_INGEST, 0},
	{HTTP_POST | HTTP_OPTIONS, "/v1/identify", compat_segment_identify, AUTH_INGEST, ROLE_NONE, BODY_INGEST, 0},
	{HTTP_POST | HTTP_OPTIONS, "/v1/page", compat_segment_page, AUTH_INGEST, ROLE_NONE, BODY_INGEST, 0},
	{HTTP_POST | HTTP_OPTIONS, "/batch", compat_posthog, AUTH_INGEST, ROLE_NONE, BODY_INGEST, 0},
	{HTTP_POST | HTTP_OPTIONS, "/capture", compat_posthog, AUTH_INGEST, ROLE_NONE, BODY_INGEST, 0},
	{HTTP_POST | HTTP_OPTIONS, "/e", compat_posthog, AUTH_INGEST, ROLE_NONE, BODY_INGEST, 0},
	{HTTP_POST | HTTP_OPTIONS, "/i/v0/e", compat_posthog, AUTH_INGEST, ROLE_NONE, BODY_INGEST, 0},
	{HTTP_GET, "/healthz", health_livez, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, 0},
	{HTTP_GET, "/readyz", health_readyz, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, 0},
	{HTTP_GET, "/metrics", health_metrics, AUTH_METRICS, ROLE_NONE, BODY_SMALL, 0},
	{HTTP_GET, "/.well-known/security.txt", health_security_txt, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, 0},
	{HTTP_GET, "/static/:name", static_serve, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, 0},
	/* SDK: the browser script, latest (short cache) and every released version (immutable) */
	{HTTP_GET, "/sdk/dropfix.js", sdk_serve_latest, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, 0},
	{HTTP_GET, "/sdk/:version/dropfix.js", sdk_serve_version, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, 0},
	/* dashboard (issue 6): overview (GET /w/:ws below), users, user detail + notes, signals +
	 * dismiss, detection settings; each page's JSON from the same builder under /api/v1/w/:ws
	 * (src/web/overview_page.c, users_page.c, user_page.c, signals_page.c,
	 * detect_settings_page.c) */
	{HTTP_GET, "/w/:ws/users", users_page, AUTH_WORKSPACE, PERM_MIN(USERS_VIEW), BODY_SMALL, ROUTE_HTML},
	{HTTP_GET, "/w/:ws/users/:uid", user_page, AUTH_WORKSPACE, PERM_MIN(USERS_VIEW), BODY_SMALL, ROUTE_HTML},
	{HTTP_POST, "/w/:ws/users/:uid/notes", user_note_add, AUTH_WORKSPACE, PERM_MIN(SIGNALS_ACT), BODY_FORM,
	 ROUTE_HTML},
	{HTTP_GET, "/w/:ws/signals", signals_page, AUTH_WORKSPACE, PERM_MIN(USERS_VIEW), BODY_SMALL, ROUTE_HTML},
	{HTTP_POST, "/w/:ws/signals/:id/dismiss", signals_dismiss, AUTH_WORKSPACE, PERM_MIN(SIGNALS_ACT), BODY_FORM,
	 ROUTE_HTML},
	{HTTP_GET, "/w/:ws/settings/detection", detect_settings_page, AUTH_WORKSPACE, PERM_MIN(USERS_VIEW), BODY_SMALL,
	 ROUTE_HTML},
	{HTTP_POST, "/w/:ws/settings/detection", detect_settings_save, AUTH_WORKSPACE, PERM_MIN(DETECTION_SETTINGS),
	 BODY_FORM, ROUTE_HTML},
	{HTTP_GET, "/api/v1/w/:ws/overview", overview_api, AUTH_WORKSPACE, PERM_MIN(USERS_VIEW), BODY_SMALL, 0},
	{HTTP_GET, "/api/v1/w/:ws/users", users_api, AUTH_WORKSPACE, PERM_MIN(USERS_VIEW), BODY_SMALL, 0},
	{HTTP_GET, "/api/v1/w/:ws/users/:uid", user_api, AUTH_WORKSPACE, PERM_MIN(USERS_VIEW), BODY_SMALL, 0},
	{HTTP_POST, "/api/v1/w/:ws/users/:uid/notes", user_note_add_api, AUTH_WORKSPACE, PERM_MIN(SIGNALS_ACT),
	 BODY_JSON, 0},
	{HTTP_GET, "/api/v1/w/:ws/signals", signals_api, AUTH_WORKSPACE, PERM_MIN(USERS_VIEW), BODY_SMALL, 0},
	{HTTP_POST, "/api/v1/w/:ws/signals/:id/dismiss", signals_dismiss_api, AUTH_WORKSPACE, PERM_MIN(SIGNALS_ACT),
	 BODY_JSON, 0},
	{HTTP_GET, "/api/v1/w/:ws/settings/detection", detect_settings_api, AUTH_WORKSPACE, PERM_MIN(USERS_VIEW),
	 BODY_SMALL, 0},
	{HTTP_POST, "/api/v1/w/:ws/settings/detection", detect_settings_save_api, AUTH_WORKSPACE,
	 PERM_MIN(DETECTION_SETTINGS), BODY_JSON, 0},
	{HTTP_GET, "/w/:ws/install", install_page, AUTH_WORKSPACE, PERM_MIN(WORKSPACE_VIEW), BODY_SMALL, ROUTE_HTML},
	/* the install page's live check (static/install-check.js polls it) */
	{HTTP_GET, "/api/v1/w/:ws/install/status", install_status_api, AUTH_WORKSPACE, PERM_MIN(USERS_VIEW), BODY_SMALL,
	 0},
	/* live feed (src/web/live_page.c): the page, and its server-sent event stream */
	{HTTP_GET, "/w/:ws/live", live_page, AUTH_WORKSPACE, PERM_MIN(WORKSPACE_VIEW), BODY_SMALL, ROUTE_HTML},
	{HTTP_GET, "/w/:ws/live/stream", live_page_stream, AUTH_WORKSPACE, PERM_MIN(WORKSPACE_VIEW), BODY_SMALL,
	 ROUTE_HTML},
	/* app model review (src/web/appmodel_page.c): the page, its edits, its JSON */
	{HTTP_GET, "/w/:ws/app-model", appmodel_page, AUTH_WORKSPACE, PERM_MIN(USERS_VIEW), BODY_SMALL, ROUTE_HTML},
	{HTTP_POST, "/w/:ws/app-model/:action", appmodel_page_edit, AUTH_WORKSPACE, PERM_MIN(APPMODEL_EDIT), BODY_FORM,
	 ROUTE_HTML},
	{HTTP_GET, "/api/v1/w/:ws/app-model", appmodel_page_api, AUTH_WORKSPACE, PERM_MIN(USERS_VIEW), BODY_SMALL, 0},
	{HTTP_POST, "/api/v1/w/:ws/app-model/:action", appmodel_page_api_edit, AUTH_WORKSPACE, PERM_MIN(APPMODEL_EDIT),
	 BODY_JSON, 0},
	/* accounts: sign-up, sign-in, reset, 2FA, account settings */
	{HTTP_GET, "/", auth_page_home, AUTH_SESSION, ROLE_NONE, BODY_SMALL, ROUTE_HTML},
	{HTTP_GET, "/auth/signup", auth_page_signup_form, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, ROUTE_HTML},
	{HTTP_POST, "/auth/signup", auth_page_signup, AUTH_PUBLIC, ROLE_NONE, BODY_FORM, ROUTE_HTML},
	{HTTP_GET, "/auth/verify", auth_page_verify_form, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, ROUTE_HTML},
	{HTTP_POST, "/auth/verify", auth_page_verify, AUTH_PUBLIC, ROLE_NONE, BODY_FORM, ROUTE_HTML},
	{HTTP_GET, "/auth/login", auth_page_login_form, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, ROUTE_HTML},
	{HTTP_POST, "/auth/login", auth_page_login, AUTH_PUBLIC, ROLE_NONE, BODY_FORM, ROUTE_HTML},
	{HTTP_GET, "/auth/2fa", auth_page_2fa_form, AUTH_SESSION, ROLE_NONE, BODY_SMALL, ROUTE_HTML | ROUTE_2FA_PENDING},
	{HTTP_POST, "/auth/2fa", auth_page_2fa, AUTH_SESSION, ROLE_NONE, BODY_FORM, ROUTE_HTML | ROUTE_2FA_PENDING},
	{HTTP_POST, "/auth/logout", auth_page_logout, AUTH_SESSION, ROLE_NONE, BODY_FORM, ROUTE_HTML | ROUTE_2FA_PENDING},
	{HTTP_GET, "/auth/reset", auth_page_reset_form, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, ROUTE_HTML},
	{HTTP_POST, "/auth/reset", auth_page_reset, AUTH_PUBLIC, ROLE_NONE, BODY_FORM, ROUTE_HTML},
	{HTTP_GET, "/auth/reset/confirm", auth_page_reset_confirm_form, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, ROUTE_HTML},
	{HTTP_POST, "/auth/reset/confirm", auth_page_reset_confirm, AUTH_PUBLIC, ROLE_NONE, BODY_FORM, ROUTE_HTML},
	{HTTP_GET, "/account", account_page_overview, AUTH_SESSION, ROLE_NONE, BODY_SMALL, ROUTE_HTML},
	{HTTP_GET, "/account/password", account_page_password_form, AUTH_SESSION, ROLE_NONE, BODY_SMALL, ROUTE_HTML},
	{HTTP_POST, "/account/password", account_page_password, AUTH_SESSION, ROLE_NONE, BODY_FORM, ROUTE_HTML},
	{HTTP_GET, "/account/email", account_page_email_form, AUTH_SESSION, ROLE_NONE, BODY_SMALL, ROUTE_HTML},
	{HTTP_POST, "/account/email", account_page_email, AUTH_SESSION, ROLE_NONE, BODY_FORM, ROUTE_HTML},
	{HTTP_GET, "/account/2fa", account_page_2fa, AUTH_SESSION, ROLE_NONE, BODY_SMALL, ROUTE_HTML},
	{HTTP_POST, "/account/2fa/confirm", account_page_2fa_confirm, AUTH_SESSION, ROLE_NONE, BODY_FORM, ROUTE_HTML},
	{HTTP_POST, "/account/2fa/disable", account_page_2fa_disable, AUTH_SESSION, ROLE_NONE, BODY_FORM, ROUTE_HTML},
	{HTTP_POST, "/account/2fa/recovery", account_page_2fa_recovery, AUTH_SESSION, ROLE_NONE, BODY_FORM, ROUTE_HTML},
	{HTTP_GET, "/account/sessions", account_page_sessions, AUTH_SESSION, ROLE_NONE, BODY_SMALL, ROUTE_HTML},
	{HTTP_POST, "/account/sessions/revoke-all", account_page_sessions_revoke_all, AUTH_SESSION, ROLE_NONE, BODY_FORM,
	 ROUTE_HTML},
	{HTTP_POST, "/account/sessions/:id/revoke", account_page_session_revoke, AUTH_SESSION, ROLE_NONE, BODY_FORM,
	 ROUTE_HTML},
	/* workspaces, keys, team */
	{HTTP_GET, "/w", workspace_page_list, AUTH_SESSION, ROLE_NONE, BODY_SMALL, ROUTE_HTML},
	{HTTP_POST, "/w", workspace_page_create, AUTH_SESSION, ROLE_NONE, BODY_FORM, ROUTE_HTML},
	{HTTP_GET, "/w/:ws", overview_page, AUTH_WORKSPACE, PERM_MIN(WORKSPACE_VIEW), BODY_SMALL, ROUTE_HTML},
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
	{HTTP_POST, "/w/:ws/settings/keys/signing", keys_page_signing, AUTH_WORKSPACE, PERM_MIN(KEYS_ROTATE),
	 BODY_FORM, ROUTE_HTML},
	{HTTP_POST, "/w/:ws/settings/keys/privacy", keys_page_privacy, AUTH_WORKSPACE, PERM_MIN(KEYS_ROTATE),
	 BODY_FORM, ROUTE_HTML},
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
	/* workspace audit log */
	{HTTP_GET, "/w/:ws/settings/audit", audit_page, AUTH_WORKSPACE, PERM_MIN(AUDIT_VIEW), BODY_SMALL, ROUTE_HTML},
	{HTTP_GET, "/w/:ws/settings/audit/export", audit_page_export, AUTH_WORKSPACE, PERM_MIN(AUDIT_VIEW), BODY_SMALL,
	 ROUTE_HTML},
	/* API tokens (src/web/tokens_page.c, src/auth/api_token.c; the guard accepts a bearer
	 * token on /api/v1/w/ routes): settings page, JSON API, whoami */
	{HTTP_GET, "/w/:ws/settings/tokens", tokens_page, AUTH_WORKSPACE, PERM_MIN(TOKENS_MANAGE), BODY_SMALL,
	 ROUTE_HTML},
	{HTTP_POST, "/w/:ws/settings/tokens", tokens_page_create, AUTH_WORKSPACE, PERM_MIN(TOKENS_MANAGE), BODY_FORM,
	 ROUTE_HTML},
	{HTTP_POST, "/w/:ws/settings/tokens/:id/revoke", tokens_page_revoke, AUTH_WORKSPACE, PERM_MIN(TOKENS_MANAGE),
	 BODY_FORM, ROUTE_HTML},
	{HTTP_GET, "/api/v1/w/:ws/whoami", tokens_api_whoami, AUTH_WORKSPACE, PERM_MIN(WORKSPACE_VIEW), BODY_SMALL, 0},
	{HTTP_GET, "/api/v1/w/:ws/tokens", tokens_api_list, AUTH_WORKSPACE, PERM_MIN(TOKENS_MANAGE), BODY_SMALL, 0},
	{HTTP_POST, "/api/v1/w/:ws/tokens", tokens_api_create, AUTH_WORKSPACE, PERM_MIN(TOKENS_MANAGE), BODY_JSON, 0},
	{HTTP_POST, "/api/v1/w/:ws/tokens/:id/revoke", tokens_api_revoke, AUTH_WORKSPACE, PERM_MIN(TOKENS_MANAGE),
	 BODY_JSON, 0},
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
	{HTTP_POST, "/__test/deferred", test_hook_deferred, AUTH_PUBLIC, ROLE_NONE, BODY_JSON, ROUTE_NO_CSRF},
	{HTTP_POST, "/__test/slow", test_hook_slow, AUTH_PUBLIC, ROLE_NONE, BODY_JSON, ROUTE_NO_CSRF},
	{HTTP_POST, "/__test/ingest-pause", ingest_test_pause, AUTH_PUBLIC, ROLE_NONE, BODY_JSON, ROUTE_NO_CSRF},
	{HTTP_POST, "/__test/ingest-flush", ingest_writer_test_flush, AUTH_PUBLIC, ROLE_NONE, BODY_SMALL, ROUTE_NO_CSRF},
	{HTTP_POST, "/__test/user-by-email", ingest_identify_test_lookup, AUTH_PUBLIC, ROLE_NONE, BODY_JSON,
	 ROUTE_NO_CSRF},
#endif
};

const size_t app_routes_count = sizeof(app_routes) / sizeof(app_routes[0]);
