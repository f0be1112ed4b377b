/* Embedded static assets served under /static/ (stylesheets, later images). */
#ifndef DROPFIX_STATIC_H
#define DROPFIX_STATIC_H

#include <stddef.h>

#include "http/http.h"

struct static_file {
	const char *name; /* file name, e.g. "app.css" */
	const char *data;
	size_t len;
};

/* Generated from the files in static/ (mk/static.mk), terminated by a zeroed entry. */
extern const struct static_file static_files[];
extern const size_t static_files_count;

/* GET /static/:name — the embedded file with its type, a strong ETag and a one-hour
 * cache; 304 for a matching If-None-Match; 404 for unknown names. */
int static_serve(struct http_request *req, struct http_response *res);

#endif
