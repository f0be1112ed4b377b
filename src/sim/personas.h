/* Synthetic user histories for `dropfix simulate`: a seeded PRNG of our own (splitmix64)
 * and seven personas whose events follow PRODUCT §3's vocabulary in the SDK's wire
 * format (page, click, api, track, plus one identify). Deterministic: the same seed,
 * user index, day count and "now" give byte-identical events, message_ids included
 * (so a re-run is de-duplicated by the server). */
#ifndef DROPFIX_SIM_PERSONAS_H
#define DROPFIX_SIM_PERSONAS_H

#include <jansson.h>
#include <stdint.h>

enum personas_kind {
	PERSONAS_STEADY = 0, /* most days, a dozen events */
	PERSONAS_POWER,      /* nearly every day, several sessions, many features and API calls */
	PERSONAS_DROPPING,   /* steady, then a few short visits in the last 7 days (<= 40% of before) */
	PERSONAS_QUIET,      /* normal, then nothing at all in the last 7 days */
	PERSONAS_TRIAL,      /* trial signup 12 days before the end (trial_ends in 2-3 days), never activated */
	PERSONAS_CANCEL,     /* normal, then visits /billing and /cancel in the last third and
	                      * downgrades (pro, mrr 99 -> basic, 29) 4 days before the end */
	PERSONAS_PAYMENT,    /* steady usage; payment trouble comes later (traits only for now) */
	PERSONAS_N,
};

/* splitmix64 state. */
struct personas_rng {
	uint64_t s;
};

/* Seeds r for one stream of one seed (streams do not overlap in practice). */
void personas_rng_seed(struct personas_rng *r, uint64_t seed, uint64_t stream);
/* The next 64 random bits. */
uint64_t personas_rng_next(struct personas_rng *r);
/* A uniform integer in [0, n) (n > 0; 0 when n is 0). */
uint64_t personas_rng_below(struct personas_rng *r, uint64_t n);

/* Stable lower-case persona name ("steady", "power", "dropping", "gone_quiet",
 * "trial", "cancelling", "payment"). Returns a static string. */
const char *personas_name(enum personas_kind k);
/* The persona of the index-th simulated user (round robin, so every persona appears once
 * users >= PERSONAS_N). */
enum personas_kind personas_of(int64_t index);

/* Receives one event (takes ownership of ev). Returns 0, or -1 to stop. */
typedef int (*personas_emit_fn)(void *ctx, json_t *ev);

/* Generates the history of user index (0-based) over the `days` days ending at now_ms
 * (day windows [now - (days - d) * 24h, now - (days - d - 1) * 24h)), every event
 * strictly before now_ms, in time order, and hands each event to emit. The user id is
 * "sim-<persona>-<index, 4 digits>". days in [1, 3650]. Returns the number of events
 * emitted, or -1 (out of memory, bad arguments, or emit returned -1). */
int64_t personas_user(uint64_t seed, int64_t index, int days, int64_t now_ms, personas_emit_fn emit,
                      void *ctx) __attribute__((warn_unused_result));

#endif
