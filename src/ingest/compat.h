/* Compatibility dialects for ingestion (PRODUCT §3, ARCHITECTURE §8b): Segment's HTTP
 * tracking API and PostHog's capture API, translated into our event vocabulary and
 * then handed to the one pipeline (ingest_handle in ingest.h), so they get the same key
 * rules, rate limits, validation, masking, de-duplication and durable writer. The
 * mapping table is docs/ingestion.md.
 *
 * Prefix compat_. */
#ifndef DROPFIX_INGEST_COMPAT_H
#define DROPFIX_INGEST_COMPAT_H

#include <jansson.h>
#include <stddef.h>

#include "http/http.h"
#include "ingest/ingest.h"

/* POST|OPTIONS /v1/track, /v1/identify, /v1/page (Segment, one event each). */
int compat_segment_track(struct http_request *req, struct http_response *res);
int compat_segment_identify(struct http_request *req, struct http_response *res);
int compat_segment_page(struct http_request *req, struct http_response *res);
/* POST|OPTIONS /batch, /capture, /e, /i/v0/e (PostHog: a `batch` array or one event). */
int compat_posthog(struct http_request *req, struct http_response *res);

/* Returns 1 when h is one of the handlers above (the AUTH_INGEST gate lets them in:
 * each checks the key itself through ingest_handle), else 0. */
int compat_is_handler(http_handler h);

/* The key as the Basic-auth user (`Authorization: Basic base64("sk_…:")`, Segment's
 * write key). Returns 1 with *key (in the request arena, *n bytes) set, 0 when there is
 * no such header or it does not decode to a non-empty user. */
int compat_basic_key(struct http_request *req, const char **key, size_t *n);

/* The key carried in the body for this dialect (`key`, Segment's `writeKey`, PostHog's
 * `api_key`). Returns a borrowed reference into doc, or NULL when absent. */
json_t *compat_body_key(json_t *doc, enum ingest_dialect d);

struct compat_err {
	int status;          /* 400, or 503 when out of memory */
	const char *code;    /* static */
	const char *message; /* static */
	const char *field;   /* static JSON Pointer or NULL */
};

/* Turns the body doc into an array of events in our vocabulary. For INGEST_NATIVE the
 * body is Segment's when the key came as the Basic-auth user (basic_key) or the body has
 * `writeKey` and no `key`; otherwise it is ours and its `batch` is used as is.
 * Returns 0 with *batch a new reference (the caller decrefs), or -1 with err filled. */
int compat_translate(json_t *doc, enum ingest_dialect d, int basic_key, json_t **batch,
                     struct compat_err *err) __attribute__((warn_unused_result));

#endif
