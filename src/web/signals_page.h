/* The signals page (PRODUCT §6 and §12, issue 6 item 5): every signal of the workspace,
 * filtered by state and kind, and the dismiss action. */
#ifndef DROPFIX_SIGNALS_PAGE_H
#define DROPFIX_SIGNALS_PAGE_H

#include "http/http.h"

/* GET /w/:ws/signals (viewers and up): ?state= open (default) | dismissed | resolved |
 * all, ?kind= <signal id>, ?page=N (LIMIT_ROWS_PER_PAGE a page, newest detected first).
 * An unknown value answers 400 naming the parameter. JSON twin GET /api/v1/w/:ws/signals:
 *   {"state","kind","page","per_page","has_next","signals":[{"id","user_id","user_href",
 *    "kind","title","state","severity","evidence","detected","dismissed","dismiss_reason",
 *    "resolved"}],"pager":{"prev","next"}}. */
int signals_page(struct http_request *req, struct http_response *res);
int signals_api(struct http_request *req, struct http_response *res);

/* POST /w/:ws/signals/:id/dismiss (members and up; form: reason optional, at most
 * DETECT_REASON_MAX bytes; next: a path inside this workspace to return to) → 303 with a
 * flash message; POST /api/v1/w/:ws/signals/:id/dismiss (JSON {"reason":"…"} or {}) →
 * 200 {"id","state":"dismissed"}. Both call detect_dismiss and audit "signal.dismiss"
 * (target: the signal id; detail: kind, user_id, reason). No open signal with that id in
 * this workspace: 404; viewers: 403. */
int signals_dismiss(struct http_request *req, struct http_response *res);
int signals_dismiss_api(struct http_request *req, struct http_response *res);

#endif
