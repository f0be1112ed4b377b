/* The workspace's API tokens (src/auth/api_token.h): the settings page
 * /w/:ws/settings/tokens (list, create — the new token shown once on the answering page —
 * and revoke), the same as JSON under /api/v1/w/:ws/tokens, and /api/v1/w/:ws/whoami.
 * Every token route needs TOKENS_MANAGE (admin); a token's role is at most the creator's
 * own role and at most admin. Creation and revocation are audited (apitoken.created,
 * apitoken.revoked) with the display prefix, never the token. */
#ifndef DROPFIX_TOKENS_PAGE_H
#define DROPFIX_TOKENS_PAGE_H

#include "http/http.h"

/* GET /w/:ws/settings/tokens */
int tokens_page(struct http_request *req, struct http_response *res);
/* POST /w/:ws/settings/tokens (form: name, role) */
int tokens_page_create(struct http_request *req, struct http_response *res);
/* POST /w/:ws/settings/tokens/:id/revoke */
int tokens_page_revoke(struct http_request *req, struct http_response *res);

/* GET /api/v1/w/:ws/tokens: {"tokens":[{id,name,display_prefix,role,created_by,
 * created_at,last_used_at,expires_at,revoked_at}]} (times in ms since the epoch). */
int tokens_api_list(struct http_request *req, struct http_response *res);
/* POST /api/v1/w/:ws/tokens, JSON {"name","role"}: 201 {"id","name","role",
 * "display_prefix","created_at","token"} — the only time the token is shown. */
int tokens_api_create(struct http_request *req, struct http_response *res);
/* POST /api/v1/w/:ws/tokens/:id/revoke: 200 {"id","revoked":true}; 404 when no live
 * token of this workspace has that id. */
int tokens_api_revoke(struct http_request *req, struct http_response *res);

/* GET /api/v1/w/:ws/whoami: {"workspace_id","role","via":"token"|"session"} (for
 * scripts checking their token, and for tests). */
int tokens_api_whoami(struct http_request *req, struct http_response *res);

#endif
