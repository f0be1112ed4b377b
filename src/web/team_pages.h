/* Team and roles (PRODUCT §13): the team page of a workspace, invitations by e-mail, role
 * changes, removal and leaving, and accepting an invitation.
 *
 * Rules (the permission table in web/permissions.h, checked here per target):
 *   - owners and admins invite (7-day tokens, only their SHA-256 stored in `invites`);
 *     only an owner invites an owner, promotes to owner, or demotes / removes an owner;
 *   - the last owner can neither leave nor be demoted or removed;
 *   - an invitation link opens a confirmation page (GET never changes anything: mail
 *     scanners prefetch links); its button POSTs, and only a signed-in account with a
 *     verified address equal to the invited one may accept (CLI-made accounts are
 *     verified); an existing member keeps their role.
 * Every change goes into the workspace audit log in the transaction that makes it.
 * Team changes take the workspace row's lock first (an UPDATE on workspaces), so two
 * owners demoting each other at once on PostgreSQL cannot leave none. */
#ifndef DROPFIX_TEAM_PAGES_H
#define DROPFIX_TEAM_PAGES_H

#include <stdint.h>

#include "http/http.h"
#include "store/store.h"

#define TEAM_INVITE_TTL_MS (INT64_C(7) * 24 * 3600 * 1000)

/* GET /w/:ws/settings/team: members, roles, pending invitations, forms. */
int team_page(struct http_request *req, struct http_response *res);
/* POST /w/:ws/settings/team/invite (email, role). */
int team_page_invite(struct http_request *req, struct http_response *res);
/* POST /w/:ws/settings/team/invites/revoke (invite = hex of the token hash). */
int team_page_invite_revoke(struct http_request *req, struct http_response *res);
/* POST /w/:ws/settings/team/role (account, role). */
int team_page_role(struct http_request *req, struct http_response *res);
/* POST /w/:ws/settings/team/remove (account). */
int team_page_remove(struct http_request *req, struct http_response *res);
/* POST /w/:ws/settings/team/leave. */
int team_page_leave(struct http_request *req, struct http_response *res);

/* GET /auth/invite/:token (public): what the invitation is for and what to do next —
 * sign in or sign up with the invited address, or the accept button. */
int team_invite_page(struct http_request *req, struct http_response *res);
/* POST /auth/invite/:token (signed in): accepts. */
int team_invite_accept(struct http_request *req, struct http_response *res);

#endif
