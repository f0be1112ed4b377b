/* The ingestion writer (ARCHITECTURE §8 "Measured design notes", §8b "Failure"): ONE
 * thread per process, in two steps.
 *
 * Acknowledgement (per group commit): takes every batch queued since its last commit and
 * writes, in one transaction (one store_ws_rebind segment per workspace), only what
 * durability needs: the ingest_dedupe rows, the interned feature keys, anonymous-id links,
 * identify profiles (traits, sealed name and e-mail, trait history: the plain values
 * exist only in the request), the events and one ingest_pending row per
 * workspace segment packing the events with a user, the durable "still to aggregate"
 * marker. Only then it answers
 * each batch's suspended request: 200 {"accepted":n,"dropped":[…]} after the commit, 503
 * + Retry-After when it failed (nothing acknowledged). The live feed publishes here.
 *
 * Aggregation (same thread, so SQLite keeps one writer): when no batch arrived for 2 ms,
 * every 200 ms or every 20,000 events under load, on shutdown, and at start (whatever a
 * crash left pending), one transaction per workspace takes (deletes) up to 1024
 * ingest_pending rows, merges them per user, (user, day) and (user, day, feature) in
 * memory, writes one upsert per key to tracked_users (changed_ms = the aggregation time),
 * user_daily and user_daily_features. Aggregates therefore trail the 200 by a few
 * milliseconds when idle and up to ~0.2 s under load (test builds: POST /__test/ingest-flush
 * waits until everything pending is aggregated). Sessions are computed per user in event
 * time order over everything pending, as before over a group.
 *
 * What is computed here (ARCHITECTURE §8b "Ingestion vocabulary"), per user id:
 *   sessions        a new session when an event comes more than 30 minutes after the
 *                   user's latest event (events older than the latest join the current
 *                   session); session_seconds adds the gaps within a session.
 *   active minutes  a minute counts once, when an event lies in a later minute than
 *                   the latest counted one (late, out-of-order events do not add).
 *   de-duplication  message_id rows in ingest_dedupe for at least
 *                   INGEST_DEDUPE_WINDOW_MS (the purge job walks the event log, see
 *                   migration 0017); a duplicate is acknowledged but not stored again.
 * Anonymous events (no user_id) are stored without aggregates.
 * Identify (ingest_identify.h): name and e-mail are sealed into tracked_users (with the
 * e-mail blind index and email_verified = signed), each identify's traits are kept in
 * tracked_user_traits, and identify links its anonymous id to the user in
 * tracked_user_anon. In a linked_only batch (signing required, pk_) every other event's
 * user is the one its anonymous id was linked to by a signed identify, or none. A profile
 * an identify created before any aggregation has session_n 0.
 *
 * Prefix ingest_writer_. */
#ifndef DROPFIX_INGEST_WRITER_H
#define DROPFIX_INGEST_WRITER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http.h"
#include "store/store.h"

struct keyring;

#define INGEST_DEDUPE_WINDOW_MS (48LL * 3600 * 1000)
#define INGEST_SESSION_GAP_MS (30LL * 60 * 1000)
#define INGEST_DEDUPE_PURGE_PERIOD_MS (3600LL * 1000)

/* One validated, masked event. Strings are NUL-terminated and owned by the request
 * arena (alive until the deferred request is resumed). */
struct ingest_event {
	const char *type;    /* static: track, page, identify, click, submit, api, session */
	const char *name;    /* "" when none */
	const char *user_id; /* NULL when anonymous */
	const char *anonymous_id;
	const char *message_id; /* NULL when none */
	const char *props;      /* JSON object text */
	const char *traits;     /* identify: JSON object text without name/e-mail; else NULL */
	const char *feature;    /* feature key, or NULL */
	int64_t event_ms;
	int api_error; /* api event with status >= 400 */
	int rage;      /* click with rage: true */
	/* identify (ingest_identify.h): plain name and e-mail (arena; sealed by the writer,
	 * never stored plain) and whether the identify was signed (or sent with sk_). */
	const char *plain_name;  /* NULL when absent */
	const char *plain_email; /* NULL when absent */
	int signed_ok;
	/* writer scratch */
	int dup;
	int64_t feature_id;
	size_t order;
};

/* One request's accepted events, queued for the writer. */
struct ingest_batch {
	int64_t workspace_id;
	int64_t received_ms;
	struct ingest_event *ev; /* arena */
	size_t n;
	json_t *dropped; /* owned: the dropped array for the answer */
	struct http_deferred *d;
	const struct keyring *kr; /* seals tracked users' name and e-mail */
	/* 1 on a signing-required workspace with a pk_ key: events are attributed to a user
	 * only through an anonymous id a signed identify linked (else stored anonymous). */
	int linked_only;
	struct ingest_batch *next;
};

/* Starts the writer thread on s with room for queue_events queued events. Returns 0,
 * or -1 with err. One writer per process: a second start fails. */
int ingest_writer_start(struct store *s, size_t queue_events, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Commits and answers everything queued, then stops the thread. Call after the HTTP
 * server has stopped (it waits for suspended requests, which the writer answers).
 * No-op when not started. */
void ingest_writer_stop(void);
/* Reserves room for n events. Returns 0, or -1 when the queue is full or the writer
 * is not running (answer 503 + Retry-After; nothing was taken). */
int ingest_writer_reserve(size_t n) __attribute__((warn_unused_result));
/* Gives back n events reserved with ingest_writer_reserve that will not be submitted. */
void ingest_writer_unreserve(size_t n);
/* Queues b (its n events were reserved; b->d is the suspended request). The writer
 * takes ownership of b->dropped and answers b->d exactly once. */
void ingest_writer_submit(struct ingest_batch *b);
/* Events queued and not yet answered (for /readyz and metrics). */
size_t ingest_writer_depth(void);
/* 1 while the latest aggregation pass failed (acknowledged events wait in ingest_pending
 * and are retried; ingestion itself still answers), else 0. For /readyz. */
int ingest_writer_aggregation_failing(void);

/* Registers the recurring job that purges expired de-duplication rows
 * ("ingest.dedupe_purge", hourly). Call before starting job runners. Returns 0 or -1. */
int ingest_writer_jobs_register(void) __attribute__((warn_unused_result));

#ifdef DROPFIX_TEST_HOOKS
/* Test builds: while paused the writer takes nothing from the queue. */
void ingest_writer_test_pause(int paused);
/* Test builds: POST /__test/ingest-flush answers 200 {"ok":true,"aggregated":n} once
 * every event acknowledged before it is aggregated (503 when that failed). The env
 * DROPFIX_TEST_AGG_DELAY_MS (0-3600000) holds back aggregation (except flush and stop)
 * until the oldest pending acknowledgement is that old: the crash-recovery test. */
int ingest_writer_test_flush(struct http_request *req, struct http_response *res)
    __attribute__((warn_unused_result));
#endif

#endif
