/* THE permission table: every action a workspace role may take, with the least role
 * that may take it (PRODUCT §13: owner > admin > member > viewer, least privilege by
 * default). The route table uses PERM_MIN(X) as a route's min_role, so the router's
 * coarse check and the handlers' fine-grained checks (perm_allows) read the same
 * table. docs/roles.md carries the same table (perm_render_markdown writes it;
 * tests/unit/test_permissions.c fails when they differ).
 *
 * To add an action: one PERM_ROW line below (name, dotted id, least role, what it
 * allows), then regenerate the docs table:
 *   DROPFIX_WRITE_DOCS=1 build/test/unit/test_permissions */
#ifndef DROPFIX_PERMISSIONS_H
#define DROPFIX_PERMISSIONS_H

#include "core/str.h"
#include "http/http.h"

/* X(NAME, "id", least role, "description") */
#define PERM_TABLE(X)                                                                                        \
	X(WORKSPACE_VIEW, "workspace.view", ROLE_VIEWER,                                                     \
	  "See the workspace overview, its settings and keys")                                               \
	X(WORKSPACE_SETTINGS, "workspace.settings", ROLE_ADMIN,                                              \
	  "Change the workspace name, product name, time zone and reporting currency")                       \
	X(WORKSPACE_REQUIRE_2FA, "workspace.require_2fa", ROLE_ADMIN,                                        \
	  "Require two-factor authentication of every member")                                               \
	X(WORKSPACE_DELETE, "workspace.delete", ROLE_OWNER, "Delete the workspace and all its data")         \
	X(KEYS_VIEW, "keys.view", ROLE_VIEWER, "See the public key and when the keys were issued")           \
	X(KEYS_ROTATE, "keys.rotate", ROLE_ADMIN,                                                            \
	  "Rotate the public key (pk_) or the secret key (sk_); the new secret key is shown once")           \
	X(TEAM_VIEW, "team.view", ROLE_VIEWER, "See the members, their roles and pending invites")           \
	X(TEAM_INVITE, "team.invite", ROLE_ADMIN,                                                            \
	  "Invite people as admin, member or viewer; revoke invites")                                        \
	X(TEAM_MANAGE, "team.manage", ROLE_ADMIN,                                                            \
	  "Change the role of admins, members and viewers (up to admin); remove them")                       \
	X(TEAM_OWNERS, "team.owners", ROLE_OWNER,                                                            \
	  "Invite owners, promote to owner, demote or remove an owner (never the last one)")                 \
	X(TEAM_LEAVE, "team.leave", ROLE_VIEWER, "Leave the workspace (not as its last owner)")              \
	X(AUDIT_VIEW, "audit.view", ROLE_ADMIN, "View, filter and export the workspace audit log")           \
	X(USERS_VIEW, "users.view", ROLE_VIEWER, "See tracked users, signals, health and drafts")            \
	X(SIGNALS_ACT, "signals.act", ROLE_MEMBER, "Act on signals, write notes, edit and send drafts")      \
	X(APPMODEL_EDIT, "appmodel.edit", ROLE_ADMIN,                                                        \
	  "Rename, merge, hide and mark core the features of the app model")                                 \
	X(DETECTION_SETTINGS, "detection.settings", ROLE_ADMIN,                                              \
	  "Change signal thresholds, health weights and cancel-intent patterns")                             \
	X(TOKENS_MANAGE, "tokens.manage", ROLE_ADMIN,                                                        \
	  "Create, list and revoke the workspace's API tokens (never above one's own role)")                 \
	X(INTEGRATIONS_MANAGE, "integrations.manage", ROLE_ADMIN,                                            \
	  "Connect and disconnect integrations (Gmail, Slack, AI provider) and notifications")               \
	X(BILLING_KEYS, "billing.keys", ROLE_OWNER, "Connect, replace or remove the Stripe key")             \
	X(DATA_EXPORT, "data.export", ROLE_OWNER, "Export or erase a tracked user's data; export all data")

#define PERM_ENUM_(name, id, role, desc) PERM_##name,
enum perm { PERM_TABLE(PERM_ENUM_) PERM_COUNT_ };
#undef PERM_ENUM_

/* Compile-time least roles, for the route table: PERM_MIN(KEYS_ROTATE). */
#define PERM_MIN_ENUM_(name, id, role, desc) PERM_MIN_##name = (role),
enum perm_min { PERM_TABLE(PERM_MIN_ENUM_) PERM_MIN_COUNT_ };
#undef PERM_MIN_ENUM_
#define PERM_MIN(name) ((enum role)PERM_MIN_##name)

struct perm_entry {
	enum perm perm;
	const char *id;     /* "keys.rotate" */
	enum role min_role; /* the least role allowed */
	const char *description;
};

/* The table, in declaration order; perm_table[p].perm == p. */
extern const struct perm_entry perm_table[];
extern const size_t perm_count;

/* 1 when role r may take action p (r >= the action's least role), else 0. ROLE_NONE
 * may take nothing. */
int perm_allows(enum role r, enum perm p);
/* The entry for a dotted id, or NULL. */
const struct perm_entry *perm_find(const char *id);
/* Appends the Markdown table (header + one row per action) that docs/roles.md holds
 * between its perm-table markers. Returns 0 or -1 (out of memory). */
int perm_render_markdown(struct buf *out) __attribute__((warn_unused_result));

#endif
