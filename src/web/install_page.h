/* The install page of a workspace (PRODUCT §2, issue 5): the tracking snippets. */
#ifndef DROPFIX_INSTALL_PAGE_H
#define DROPFIX_INSTALL_PAGE_H

#include "http/http.h"

/* GET /w/:ws/install — viewers and up: whether events arrive yet (the newest one's
 * arrival time, else "waiting for your first event"), the unversioned script tag with the
 * workspace's current public key (receives patches), and the tag pinned to the current
 * release with its SRI hash (sha384 of the exact served file) and the note that pinning or
 * bundling opts out of automatic patches. */
int install_page(struct http_request *req, struct http_response *res);

#endif
