/* The browser SDK served by the server itself (PRODUCT §2 "Versioning"): the built files of
 * sdk/dist/ embedded at build time (mk/sdk.mk), so make needs no Node. */
#ifndef DROPFIX_SDK_SERVE_H
#define DROPFIX_SDK_SERVE_H

#include <stddef.h>

#include "http/http.h"

struct sdk_file {
	const char *name; /* "latest" (sdk/dist/dropfix.js) or "v<semver>" (sdk/dist/v<semver>/) */
	const char *data;
	size_t len;
};

/* Generated from sdk/dist/ (mk/sdk.mk), terminated by a zeroed entry; "latest" first, then
 * every released version in name order. */
extern const struct sdk_file sdk_files[];
extern const size_t sdk_files_count;

/* Returns the embedded file named name ("latest" or "v1.2.3"), or NULL. Borrowed, static. */
const struct sdk_file *sdk_file_find(struct str name);

/* Returns the released build whose bytes are the latest build's (the version the unversioned
 * URL serves now), or NULL when the latest build is not released. Borrowed, static. */
const struct sdk_file *sdk_current_release(void);

/* Writes f's Subresource Integrity value "sha384-<base64>" (72 characters) into out.
 * Returns 0, or -1 when outlen is too small or the digest failed. */
int sdk_sri(const struct sdk_file *f, char *out, size_t outlen) __attribute__((warn_unused_result));

/* GET /sdk/dropfix.js — the latest build: JavaScript, a 5-minute cache with a strong ETag
 * (304 on If-None-Match) so patches reach every page soon, CORS open to any origin. */
int sdk_serve_latest(struct http_request *req, struct http_response *res);

/* GET /sdk/:version/dropfix.js — one released build (":version" is "v<semver>"), immutable
 * and cached for a year; 404 for a version never released. */
int sdk_serve_version(struct http_request *req, struct http_response *res);

#endif
