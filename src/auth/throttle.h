/* In-memory rate limits for sign-in and other account actions: a table of counters in
 * fixed windows, keyed by any string (a lower-cased e-mail address, a client IP, an
 * account id with a prefix naming the action).
 *
 * State lives in this process only: it is lost at restart, and with several `serve`
 * processes each keeps its own counts (an attacker spreading requests over N nodes gets N
 * times the limit; README says so). Keys are stored only as a keyed BLAKE2b hash
 * (random key per table), never as text, so the table holds no e-mail addresses.
 *
 * A counter is (window start, count). A window starts at the first hit after the
 * previous one ended and lasts window_ms; once count reaches the limit, checks fail until
 * the window ends (so the answer stays the same from that attempt on) and
 * *retry_after_s says how long that is. The table tracks at most max_keys keys; when
 * full it drops ended windows, then the entry whose window started first.
 *
 * Time comes from the caller (clock_now_ms(), the fake clock in tests). Thread-safe. */
#ifndef DROPFIX_THROTTLE_H
#define DROPFIX_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

struct throttle;

/* Returns a new table tracking at most max_keys keys (1..10,000,000), or NULL. */
struct throttle *throttle_new(size_t max_keys) __attribute__((warn_unused_result));
/* Frees the table; accepts NULL. */
void throttle_free(struct throttle *t);

/* 1 when key[0..n) is under limit (>= 1) in its current window at now_ms, else 0 and
 * *retry_after_s (may be NULL) set to the whole seconds until the window ends (>= 1).
 * Counts nothing. */
int throttle_check(struct throttle *t, const char *key, size_t n, int limit, int64_t now_ms,
                   int64_t *retry_after_s);
/* Counts one event for key (starting a new window when the last one ended) and returns
 * the count in the current window after it (0 when the table could not record it). */
int throttle_hit(struct throttle *t, const char *key, size_t n, int64_t window_ms, int64_t now_ms);
/* Check and count in one step: returns 1 (allowed, counted) or 0 (limited: nothing
 * counted, *retry_after_s set as throttle_check). */
int throttle_take(struct throttle *t, const char *key, size_t n, int limit, int64_t window_ms, int64_t now_ms,
                  int64_t *retry_after_s);
/* Forgets key (e.g. after a successful sign-in). */
void throttle_reset(struct throttle *t, const char *key, size_t n);
/* Keys currently tracked. */
size_t throttle_size(struct throttle *t);

#endif
