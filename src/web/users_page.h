/* The Users page of a workspace (PRODUCT §4 and §12; issue 5 item 8, issue 6 item 5):
 * the tracked users with their health, sortable, filterable and searchable. */
#ifndef DROPFIX_USERS_PAGE_H
#define DROPFIX_USERS_PAGE_H

#include "http/http.h"

/* GET /w/:ws/users — viewers and up: one page of LIMIT_ROWS_PER_PAGE tracked users
 * (?page=N), sorted by ?sort= last_seen (default, newest first), health (lowest first),
 * worth ((100 - health) × MRR, most first), mrr, plan or signals (open signals, most
 * first); filtered by ?band= healthy|watch|at_risk, ?kind= <signal id> (an open signal of
 * that kind) and ?plan= <exact plan>; or the one user whose id, or e-mail (when ?q= holds
 * an '@': the blind index after normalisation), is exactly ?q=. A parameter with an
 * unknown value answers 400 naming it. The health sorts and every filter list users the
 * detector has evaluated (user_health); last_seen without a filter lists every user.
 * Each row: user id (linked to the user page), name and e-mail (sealed: opened for the
 * page; an unsigned e-mail marked unverified), plan and MRR (identify traits), first and
 * last seen, events (sum of the daily aggregates), health, band, open signal kinds.
 *
 * GET /api/v1/w/:ws/users — the same as JSON: {"users":[{"id","href","name","email",
 * "unverified","plan","mrr","first_seen","last_seen","events","health"|null,"band",
 * "band_title","open_signals","kinds":[{"kind","title"}]}],"q","searched","sort","band",
 * "kind","plan","filtered","page","per_page","has_next","has_rows","pager":{"prev","next"}}. */
int users_page(struct http_request *req, struct http_response *res);
int users_api(struct http_request *req, struct http_response *res);

#endif
