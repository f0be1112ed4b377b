/* Per-workspace ingestion rate limits (PRODUCT §3, issue 5 item 7): one token bucket per
 * workspace in this process, refilled at DROPFIX_INGEST_RATE events per second up to
 * DROPFIX_INGEST_BURST events. A request costs the number of events in its batch and is
 * checked after the key (so only real workspaces get buckets) and before any event is
 * validated; a refused request answers 429 with Retry-After. Buckets are per process:
 * with N serve nodes a workspace may reach N times the rate. Time comes from
 * clock_now_ms (the fake clock in tests). The same table holds per-IP buckets for
 * requests with unknown keys (LIMIT_INGEST_BADKEY_*).
 *
 * Per-IP sub-buckets (ARCHITECTURE §8b "Unauthenticated ingest work"): inside a
 * workspace's bucket, browser (pk_) traffic is also charged to a bucket per (workspace,
 * client IP) with its own rate and burst (DROPFIX_INGEST_IP_RATE / _IP_BURST), so one
 * visitor cannot exhaust the workspace's bucket for every other visitor. sk_ traffic (the
 * founder's servers, imports) is not sub-bucketed. Memory is bounded: a fixed table of
 * INGEST_RATE_IP_SETS sets of INGEST_RATE_IP_WAYS entries, the least recently used entry
 * of a full set evicted (an evicted pair starts again with a full bucket). Entries hold a
 * keyed hash of (workspace, IP) under a per-process random key, never the address.
 * Prefix ingest_rate_. */
#ifndef DROPFIX_INGEST_RATE_H
#define DROPFIX_INGEST_RATE_H

#include <stddef.h>
#include <stdint.h>

/* Takes cost tokens from ws's bucket at now_ms (rate per second, burst capacity).
 * Returns 0 when allowed, or the seconds to wait (>= 1) before the batch would fit.
 * A cost above burst can never fit: it returns the time to refill a full bucket. */
int64_t ingest_rate_take(int64_t ws, size_t cost, int64_t now_ms, int64_t rate, int64_t burst);
/* Refills the bucket of key at now_ms and returns 0 when it holds at least one token,
 * else the seconds until it will (nothing is taken). For the per-IP limit on unknown
 * keys: checked before a body is inflated or parsed, charged (ingest_rate_take, cost 1)
 * only when the key turns out unknown. */
int64_t ingest_rate_blocked(int64_t key, int64_t now_ms, int64_t rate, int64_t burst);
/* A bucket key for a client address (a 63-bit hash with the top bit set, so it never
 * collides with a workspace id, which is below 2^53). */
int64_t ingest_rate_ip_key(const char *ip);
/* Sub-bucket table geometry: INGEST_RATE_IP_SETS * INGEST_RATE_IP_WAYS entries. */
#define INGEST_RATE_IP_SETS 2048 /* a power of two */
#define INGEST_RATE_IP_WAYS 4

/* Takes cost tokens from the (ws, ip) sub-bucket at now_ms (rate per second, burst
 * capacity), the same way as ingest_rate_take. Returns 0 when allowed, else the seconds
 * to wait (>= 1). Check it before ingest_rate_take so a refused visitor does not use up
 * the workspace's tokens. */
int64_t ingest_rate_ip_take(int64_t ws, const char *ip, size_t cost, int64_t now_ms, int64_t rate,
                            int64_t burst);
/* Forgets every bucket and sub-bucket (tests, shutdown). */
void ingest_rate_reset(void);

#endif
