/* The Users page of a workspace (PRODUCT §4, issue 5 item 8): the tracked users. */
#ifndef DROPFIX_USERS_PAGE_H
#define DROPFIX_USERS_PAGE_H

#include "http/http.h"

/* GET /w/:ws/users — viewers and up: tracked users, most recently seen first, one page of
 * LIMIT_ROWS_PER_PAGE (?page=N), or the one user whose id, or e-mail (when ?q= holds an
 * '@': the blind index after normalisation), is exactly ?q=. Each row: user id, name and
 * e-mail (sealed; opened for the page, an unsigned e-mail marked unverified), plan and MRR
 * (from the identify traits), first and last seen, events (the sum of the user's daily
 * aggregates). Stored text is shown as text (the template escapes it). */
int users_page(struct http_request *req, struct http_response *res);

#endif
