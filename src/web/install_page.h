/* The install page of a workspace (PRODUCT §2, issue 5): the tracking snippets. */
#ifndef DROPFIX_INSTALL_PAGE_H
#define DROPFIX_INSTALL_PAGE_H

#include "http/http.h"

/* GET /w/:ws/install — viewers and up: whether events arrive yet (the newest one's
 * arrival time, else "waiting for your first event" with a "check again" link; with
 * JavaScript the status turns to "Receiving events" by itself, see install_status_api), the unversioned script tag with the
 * workspace's current public key (receives patches), and the tag pinned to the current
 * release with its SRI hash (sha384 of the exact served file) and the note that pinning or
 * bundling opts out of automatic patches. */
int install_page(struct http_request *req, struct http_response *res);

/* GET /api/v1/w/:ws/install/status — users.view and up: whether events arrive yet, for the
 * install page's live check (/static/install-check.js polls it every few seconds):
 * 200 {"events": n, "events_capped": bool, "first_event_at": ISO|null, "last_event_at":
 * ISO|null} where n counts stored events up to INSTALL_STATUS_COUNT_CAP (events_capped
 * when there are more); the times are arrival times. Read-only, index steps only. */
int install_status_api(struct http_request *req, struct http_response *res);

#define INSTALL_STATUS_COUNT_CAP 1000

#endif
