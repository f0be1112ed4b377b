/* Native ingestion: POST /v1/batch (PRODUCT §3, ARCHITECTURE §8b "Credentials at
 * ingest", "Errors", "Unauthenticated ingest work").
 *
 * Order of work for one request:
 *   1. CORS: every answer carries Access-Control-Allow-Origin: * (no credentials);
 *      OPTIONS is the preflight (204).
 *   2. The key from `Authorization: Bearer` is checked before the body is read; a key
 *      in the body (`"key"`) is checked right after the JSON loads, before any event is
 *      looked at. Unknown → 401; sk_ with an Origin header → 403. Live keys are cached
 *      (ingest_keycache.h): a key revoked or removed by another process, or a workspace
 *      deleted, stops working within INGEST_KEYCACHE_TTL_MS (1 s); a new key works at
 *      once (unknown keys are never cached); this process's keys page clears the cache.
 *   3. Body: `Content-Encoding: gzip` is inflated in a stream with an absolute cap
 *      (LIMIT_INGEST_INFLATED) and a ratio cap (LIMIT_INGEST_INFLATE_RATIO) → 413.
 *      Any content type is read as JSON (the beacon form sends text/plain).
 *   3b. Rate limit: the batch's event count is taken from the workspace's token bucket
 *      (ingest_rate.h) → 429 + Retry-After when it does not fit; pk_ requests first from
 *      their (workspace, client IP) sub-bucket (DROPFIX_INGEST_IP_RATE / _IP_BURST).
 *   3c. Consent mode (ingest_config.h): on a workspace that requires consent, a pk_
 *      batch without "consent": true has every event dropped as no_consent.
 *   4. Events are bound tolerantly (unknown fields ignored, strings cut at
 *      DROPFIX_INGEST_MAX_STRING), validated one by one; a bad event is dropped with a
 *      JSON Pointer, the others are accepted. Nothing acceptable → 400.
 *   5. Masking and path templating (ingest_mask.h), feature keys, identify traits
 *      without name and e-mail (those go sealed to tracked_users). Signed identify
 *      (ingest_identify.h, docs/signed-identify.md): a dropfix_hash is checked against
 *      the live sk_ keys (a failure drops the event); on a workspace requiring signing
 *      an unsigned pk_ identify is dropped as unsigned_identify and the batch is marked
 *      linked_only for the writer's attribution rule.
 *   6. The accepted events are queued to the writer (ingest_writer.h) and the request
 *      is suspended; it is answered after the commit. Queue full → 503 + Retry-After.
 *      What the 200 survives depends on DROPFIX_SQLITE_SYNCHRONOUS: FULL (default), a
 *      process crash and a power loss; NORMAL (WAL), a process crash only (after a power
 *      loss the last acknowledged commits may roll back). PostgreSQL: its synchronous_commit.
 *
 * Prefix ingest_. */
#ifndef DROPFIX_INGEST_H
#define DROPFIX_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "http/http.h"

struct install;

/* Starts ingestion for serve: the writer thread on inst->store (queue from cfg) and the
 * AUTH_INGEST authenticator. Returns 0, or -1 with err. */
int ingest_start(const struct install *inst, const struct config *cfg, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Stops the writer after answering everything queued. Call after http_server_stop. */
void ingest_stop(void);
/* Registers ingestion's background jobs (serve and worker, before the job runner). */
int ingest_jobs_register(void) __attribute__((warn_unused_result));

/* POST|OPTIONS /v1/batch (native body, or Segment's batch shape: see compat.h). */
int ingest_batch(struct http_request *req, struct http_response *res);

/* Which client's wire format a request speaks (src/ingest/compat.h translates). */
enum ingest_dialect {
	INGEST_NATIVE,           /* /v1/batch: ours, or Segment's batch told apart by its fields */
	INGEST_SEGMENT_TRACK,    /* Segment /v1/track: one event */
	INGEST_SEGMENT_IDENTIFY, /* Segment /v1/identify: one event */
	INGEST_SEGMENT_PAGE,     /* Segment /v1/page: one event */
	INGEST_POSTHOG,          /* PostHog /batch, /capture, /e, /i/v0/e */
};

/* The whole ingestion pipeline (key, body, rate limit, validation, masking, dedupe,
 * durable writer) for one request in the given dialect: the dialect only changes where
 * the key is found and how the body becomes a batch of our events. Always returns 0
 * after replying or deferring the reply. */
int ingest_handle(struct http_request *req, struct http_response *res, enum ingest_dialect dialect);

/* Parses an ISO 8601 UTC timestamp "YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)" (a space is
 * accepted for T) into Unix ms. Returns 0 or -1. */
int ingest_parse_time(const char *s, size_t n, int64_t *ms) __attribute__((warn_unused_result));

#ifdef DROPFIX_TEST_HOOKS
/* POST /__test/ingest-pause {"paused":true|false}: holds the writer (queue-full tests). */
int ingest_test_pause(struct http_request *req, struct http_response *res);
#endif

#endif
