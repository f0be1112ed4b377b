/* Posting simulated histories (sim/personas.h) to a server's /v1/batch with a workspace's
 * secret key, as a server-side client would: batches of up to SIMPOST_BATCH events,
 * retried with backoff on 429, 503 and network errors. Shared by `dropfix simulate`
 * (any server) and `dropfix demo` (its own loopback ingestion server), so both go
 * through the real ingestion (masking, sessions, aggregates, de-duplication).
 *
 * Prefix simpost_. */
#ifndef DROPFIX_SIM_SIMPOST_H
#define DROPFIX_SIM_SIMPOST_H

#include <stdint.h>
#include <stdio.h>

#include "sim/personas.h"

#define SIMPOST_BATCH 500 /* events per POST (the server's default cap) */
#define SIMPOST_KEY_MAX 256

/* What a run sent. */
struct simpost_stats {
	char url[2048];                /* the …/v1/batch URL posted to */
	int64_t users[PERSONAS_N];     /* users per persona */
	int64_t per_events[PERSONAS_N]; /* events per persona */
	int64_t events, batches, accepted, dropped;
};

/* Generates users (>= 1) histories over days (1..LIMIT_SIM_DAYS) ending at clock_now_ms()
 * with seed and posts them to base_url (http:// or https://, without /v1/batch) with
 * the secret key key (sk_…, at most SIMPOST_KEY_MAX bytes; the copy in the request header
 * is wiped where we own it). Messages go to diag prefixed by prog. Returns 0 (st filled),
 * -1 after printing why (the server refused a batch, stayed unreachable, out of memory),
 * or -2 when base_url is too long. st is filled as far as the run got in every case. */
int simpost_run(const char *prog, FILE *diag, const char *base_url, const char *key, int64_t users, int64_t days,
                int64_t seed, struct simpost_stats *st) __attribute__((warn_unused_result));

#endif
