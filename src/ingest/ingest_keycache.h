/* Positive cache of ingestion key lookups (issue 5 performance; ARCHITECTURE §8b "Order
 * and freshness"). Without it every POST /v1/batch opened a read transaction to resolve
 * its key. Rules:
 *   - Only live keys are cached (a lookup that found nothing is never cached), so a key
 *     that the CLI or the keys page creates works at once.
 *   - An entry lives at most INGEST_KEYCACHE_TTL_MS of monotonic time and never past the
 *     key's own expires_at (wall clock, clock_now_ms): a key whose grace period ends
 *     stops at its expiry exactly. A key removed or revoked, or a workspace deleted, by
 *     another process (the CLI, another node, SQL) stops working within
 *     INGEST_KEYCACHE_TTL_MS; the same for a change of "require signed identify" or of
 *     the privacy settings (consent required, honour DNT/GPC) made elsewhere.
 *   - This process's keys page (rotation, the signing and privacy settings) calls
 *     ingest_keycache_clear after its commit, so in-process changes apply at once.
 *     A lookup that started before a clear never fills the cache (generation check).
 * Entries are keyed by a keyed BLAKE2b hash of the key text (per-process random key); the
 * key text itself is not kept. Thread-safe. Prefix ingest_keycache_. */
#ifndef DROPFIX_INGEST_KEYCACHE_H
#define DROPFIX_INGEST_KEYCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "web/keys_pages.h"

/* The longest a cached positive lookup is trusted (monotonic ms). */
#define INGEST_KEYCACHE_TTL_MS 1000
/* Slots in the direct-mapped table (a power of two). */
#define INGEST_KEYCACHE_SLOTS 1024

/* What a live key resolved to. */
struct ingest_keycache_val {
	int64_t ws;
	enum keys_kind kind;
	int require_signed; /* the workspace's "require signed identify" setting */
	int consent_required; /* browser privacy settings (keys page, migration 0010) */
	int honor_dnt;
};

/* Looks key[0..n) up at wall time now_ms. Returns 1 (fresh entry: *out set) or 0. */
int ingest_keycache_get(const char *key, size_t n, int64_t now_ms, struct ingest_keycache_val *out);
/* The current generation: take it BEFORE the database lookup and pass it to put. */
uint64_t ingest_keycache_gen(void);
/* Caches a live key (expires_at: its wall-clock expiry in ms, INT64_MAX for none). Does
 * nothing when a clear happened since gen was taken. */
void ingest_keycache_put(const char *key, size_t n, uint64_t gen, int64_t expires_at,
                         const struct ingest_keycache_val *v);
/* Forgets every entry (key rotation or a signing-setting change in this process). */
void ingest_keycache_clear(void);

#endif
