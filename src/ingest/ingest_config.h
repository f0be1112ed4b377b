/* The workspace's browser-privacy settings at ingest (PRODUCT §2 "consent mode", "DNT/GPC
 * when the founder enables it"; migration 0010, set on the keys page):
 *   consent_required  the SDK stores nothing in the browser and sends nothing until the
 *                     page calls DropFix.optIn(); the server drops pk_ events whose batch
 *                     does not carry "consent": true (code no_consent); sk_ is exempt.
 *   honor_dnt         the SDK sends nothing from a browser with Do-Not-Track ("1") or
 *                     Global Privacy Control.
 *
 * GET /v1/config?key=pk_… tells the SDK these settings before it stores or sends anything:
 * 200 {"consent_required":bool,"honor_dnt":bool}, public, CORS (any origin, no
 * credentials), Cache-Control: public, max-age=60. Per client IP it is limited like
 * ingestion requests with unknown keys (429 + Retry-After before the key is looked up; an
 * unknown key is charged and answered 401), and a live key's request costs one token of
 * the visitor's (workspace, IP) sub-bucket (ingest_rate.h; 429 when empty); a secret key
 * is refused (403).
 *
 * ingest_config_key is the one key resolution of ingestion (ingest.c's key check calls
 * it too): the positive key cache (ingest_keycache.h), else one global read transaction
 * for the key and the workspace's settings. Prefix ingest_config_. */
#ifndef DROPFIX_INGEST_CONFIG_H
#define DROPFIX_INGEST_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "http/http.h"
#include "ingest/ingest_keycache.h"

/* Resolves key[0..n) at wall time now (ms) into *out (workspace, kind and the workspace's
 * settings). Returns 1 live key, 0 unknown (never cached), -1 store error. */
int ingest_config_key(struct http_request *req, const char *key, size_t n, int64_t now,
                      struct ingest_keycache_val *out) __attribute__((warn_unused_result));

/* GET /v1/config: see above. */
int ingest_config(struct http_request *req, struct http_response *res);

#endif
