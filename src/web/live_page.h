/* The live feed pages (issue 5 item 8): GET /w/:ws/live shows the latest events
 * (server-rendered, so it works without JavaScript) and /static/live.js keeps the list
 * current from GET /w/:ws/live/stream, a server-sent event stream of the workspace's
 * newly committed events (src/web/live.h). */
#ifndef DROPFIX_LIVE_PAGE_H
#define DROPFIX_LIVE_PAGE_H

#include "http/http.h"

/* GET /w/:ws/live (viewer): the latest LIMIT_LIVE_RECENT events, newest first. */
int live_page(struct http_request *req, struct http_response *res);
/* GET /w/:ws/live/stream (viewer): opens the event stream (503 + Retry-After beyond the
 * stream caps). */
int live_page_stream(struct http_request *req, struct http_response *res);

#endif
