/* The group-commit ingestion writer (see ingest_writer.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/str.h"
#include "crypto/keyring.h"
#include "crypto/seal.h"
#include "http/metrics.h"
#include "ingest/ingest_identify.h"
#include "ingest/ingest_writer.h"
#include "jobs/job.h"
#include "web/live.h"

#define MINUTE_MS 60000LL
#define DAY_MS 86400000LL
#define RETRY_AFTER_S "1"

struct writer {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int running;
	int stopping;
	int paused;
	struct store *store;
	struct ingest_batch *head, *tail;
	struct flush_req *flushq; /* test builds: flush requests waiting */
	size_t capacity;
	size_t reserved; /* events reserved or queued and not yet answered */
};

static struct writer W = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* Counters exposed on /metrics (written by the writer thread, read at scrape time). */
static _Atomic uint64_t n_commits, n_acked_requests, n_acked_events, n_failed_requests, n_aggregations,
    n_aggregation_failures;
static _Atomic int aggregation_failing; /* 1 from a failed aggregation pass to the next good one */

static double read_counter(void *arg)
{
	return (double)atomic_load((_Atomic uint64_t *)arg);
}

/* The condition variable waits on the monotonic clock (aggregation deadlines); the
 * counters are registered once per process. */
static void cv_init(void)
{
	metrics_register_counter("dropfix_ingest_commits_total",
	                         "Group commits of the ingestion writer (each answers every request in it).",
	                         read_counter, &n_commits);
	metrics_register_counter("dropfix_ingest_acked_requests_total",
	                         "Ingestion requests answered 200 after their group committed.", read_counter,
	                         &n_acked_requests);
	metrics_register_counter("dropfix_ingest_acked_events_total",
	                         "Events in those requests (duplicates included).", read_counter, &n_acked_events);
	metrics_register_counter("dropfix_ingest_failed_requests_total",
	                         "Ingestion requests answered 503 or 500 because their group did not commit.",
	                         read_counter, &n_failed_requests);
	metrics_register_counter("dropfix_ingest_aggregations_total",
	                         "Aggregation passes over acknowledged events (sessions, daily aggregates).",
	                         read_counter, &n_aggregations);
	metrics_register_counter("dropfix_ingest_aggregation_failures_total",
	                         "Aggregation passes that failed (retried after 1 s; the events stay pending).",
	                         read_counter, &n_aggregation_failures);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_destroy(&W.cv);
	pthread_cond_init(&W.cv, &ca);
	pthread_condattr_destroy(&ca);
}

int ingest_writer_reserve(size_t n)
{
	int rc = -1;
	pthread_mutex_lock(&W.mu);
	if (W.running && !W.stopping && W.reserved + n <= W.capacity) {
		W.reserved += n;
		rc = 0;
	}
	pthread_mutex_unlock(&W.mu);
	return rc;
}

void ingest_writer_unreserve(size_t n)
{
	pthread_mutex_lock(&W.mu);
	W.reserved -= n < W.reserved ? n : W.reserved;
	pthread_mutex_unlock(&W.mu);
}

void ingest_writer_submit(struct ingest_batch *b)
{
	b->next = NULL;
	pthread_mutex_lock(&W.mu);
	if (W.tail)
		W.tail->next = b;
	else
		W.head = b;
	W.tail = b;
	pthread_cond_signal(&W.cv);
	pthread_mutex_unlock(&W.mu);
}

int ingest_writer_aggregation_failing(void)
{
	return atomic_load(&aggregation_failing);
}

size_t ingest_writer_depth(void)
{
	pthread_mutex_lock(&W.mu);
	size_t n = W.reserved;
	pthread_mutex_unlock(&W.mu);
	return n;
}

#ifdef DROPFIX_TEST_HOOKS
void ingest_writer_test_pause(int paused)
{
	pthread_mutex_lock(&W.mu);
	W.paused = paused;
	pthread_cond_signal(&W.cv);
	pthread_mutex_unlock(&W.mu);
}
#endif

/* Event ids: per workspace, ms * 1024 + counter (below 2^53 until 2248), above the
 * workspace's highest stored id, which is read once per workspace per process (so a
 * clock that stands still or steps back across a restart cannot reuse an id). */
struct ws_last {
	int64_t ws;
	int64_t last;
};
static struct ws_last *ids_tab;
static size_t ids_cap, ids_used;

static struct ws_last *ids_slot(int64_t ws)
{
	if ((ids_used + 1) * 2 > ids_cap) {
		size_t ncap = ids_cap ? ids_cap * 2 : 64;
		struct ws_last *nt = calloc(ncap, sizeof(*nt));
		if (!nt)
			return NULL;
		for (size_t i = 0; i < ids_cap; i++) {
			if (!ids_tab[i].ws)
				continue;
			size_t h = (size_t)ids_tab[i].ws & (ncap - 1);
			while (nt[h].ws)
				h = (h + 1) & (ncap - 1);
			nt[h] = ids_tab[i];
		}
		free(ids_tab);
		ids_tab = nt;
		ids_cap = ncap;
	}
	size_t h = (size_t)ws & (ids_cap - 1);
	while (ids_tab[h].ws && ids_tab[h].ws != ws)
		h = (h + 1) & (ids_cap - 1);
	return &ids_tab[h];
}

/* The next event id of tx's workspace. Returns 0 or -1. */
static int next_event_id(struct store_tx *tx, int64_t now_ms, int64_t *out)
{
	struct ws_last *slot = ids_slot(store_tx_workspace(tx));
	if (!slot)
		return -1;
	if (!slot->ws) {
		int64_t max = 0;
		if (store_query_i64(tx, "SELECT max(id) FROM events WHERE workspace_id = $1", STORE_NO_ARGS,
		                    &max) < 0)
			return -1;
		slot->ws = store_tx_workspace(tx);
		slot->last = max;
		ids_used++;
	}
	int64_t base = now_ms * 1024;
	slot->last = slot->last + 1 > base ? slot->last + 1 : base;
	*out = slot->last;
	return 0;
}

/* ---- per-user aggregates ---- */

struct day_acc {
	int64_t day;
	int64_t events, active_minutes, sessions, session_ms, api_errors, rage_clicks;
};

struct feat_acc {
	int64_t day;
	int64_t feature_id;
	int64_t count;
};

static int cmp_user_events(const void *a, const void *b)
{
	const struct ingest_event *x = *(const struct ingest_event *const *)a;
	const struct ingest_event *y = *(const struct ingest_event *const *)b;
	int c = strcmp(x->user_id, y->user_id);
	if (c)
		return c;
	if (x->event_ms != y->event_ms)
		return x->event_ms < y->event_ms ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static struct day_acc *day_slot(struct day_acc **days, size_t *nd, size_t *cap, int64_t day)
{
	for (size_t i = 0; i < *nd; i++)
		if ((*days)[i].day == day)
			return &(*days)[i];
	if (*nd == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		struct day_acc *nv = realloc(*days, ncap * sizeof(*nv));
		if (!nv)
			return NULL;
		*days = nv;
		*cap = ncap;
	}
	struct day_acc *d = &(*days)[(*nd)++];
	memset(d, 0, sizeof(*d));
	d->day = day;
	return d;
}

static int feat_add(struct feat_acc **v, size_t *n, size_t *cap, int64_t day, int64_t fid)
{
	for (size_t i = 0; i < *n; i++) {
		if ((*v)[i].day == day && (*v)[i].feature_id == fid) {
			(*v)[i].count++;
			return 0;
		}
	}
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct feat_acc *nv = realloc(*v, ncap * sizeof(*nv));
		if (!nv)
			return -1;
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = (struct feat_acc){day, fid, 1};
	return 0;
}

/* Merges the traits of identify events (JSON object texts) over old (may be NULL).
 * Returns a malloc'ed JSON text or NULL on failure. */
static char *merge_traits(const char *old, size_t old_n, struct ingest_event **ev, size_t n)
{
	json_t *t = old && old_n ? json_loadb(old, old_n, 0, NULL) : NULL;
	if (!json_is_object(t)) {
		json_decref(t);
		t = json_object();
	}
	for (size_t i = 0; i < n && t; i++) {
		if (!ev[i]->traits || ev[i]->dup)
			continue;
		json_t *nt = json_loads(ev[i]->traits, 0, NULL);
		if (json_is_object(nt))
			json_object_update(t, nt);
		json_decref(nt);
	}
	char *s = t ? json_dumps(t, JSON_COMPACT) : NULL;
	json_decref(t);
	return s;
}

/* Seals one private trait of a tracked user (NULL text when plain is NULL). */
static int seal_trait(const struct keyring *kr, int64_t ws, const char *column, const char *row_key,
                      const char *plain, char **out)
{
	*out = NULL;
	if (!plain)
		return 0;
	struct seal_ad ad = {"workspace", ws, "tracked_users", column, row_key};
	size_t n = strlen(plain);
	if (n > LIMIT_SEALED_PLAIN)
		n = LIMIT_SEALED_PLAIN;
	return seal_value(kr, &ad, (const uint8_t *)plain, n, out);
}

/* The sealed name and e-mail, blind index and trait history of one user's identify
 * events (sorted by time: the latest name and e-mail win). */
struct user_private {
	char *name_sealed, *email_sealed;
	char bidx[INGEST_BIDX_HEX + 1];
	int64_t bidx_key, verified;
	int has_email;
};

static int user_private(struct store_tx *tx, const struct keyring *kr, int64_t ws, struct ingest_event **ev,
                        size_t n, struct user_private *p)
{
	const char *name = NULL, *email = NULL;
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < n; i++) {
		struct ingest_event *e = ev[i];
		if (e->dup || !e->traits)
			continue;
		if (e->plain_name)
			name = e->plain_name;
		if (e->plain_email) {
			email = e->plain_email;
			p->verified = e->signed_ok;
		}
		if (store_exec(tx,
		               "INSERT INTO tracked_user_traits (workspace_id, user_id, id, at_ms, signed, traits) "
		               "VALUES ($1, $2, $3, $4, $5, $6)",
		               STORE_ARGS(SP_TEXT(e->user_id), SP_I64(store_random_id()), SP_I64(e->event_ms),
		                          SP_I64(e->signed_ok), SP_TEXT(e->traits))) < 0)
			return -1;
	}
	if ((name || email) && !kr)
		return -1;
	char row_key[LIMIT_SEAL_AD_FIELD + 1];
	ingest_identify_row_key(ev[0]->user_id, row_key);
	if (seal_trait(kr, ws, "name_sealed", row_key, name, &p->name_sealed) < 0 ||
	    seal_trait(kr, ws, "email_sealed", row_key, email, &p->email_sealed) < 0)
		return -1;
	if (email) {
		p->has_email = 1;
		p->bidx_key = keyring_active_id(kr);
		if (ingest_identify_bidx(kr, (uint32_t)p->bidx_key, ws, email, strlen(email), p->bidx) < 0)
			return -1;
	}
	return 0;
}

/* Identify at acknowledgement time (the plain name and e-mail exist only in the request
 * arena, never on disk): merges one user's identify traits (events sorted by time, no
 * duplicates) into the profile, seals the latest name and e-mail, keeps the trait history
 * and sets changed_ms. A new profile starts with first_seen = last_seen = its first
 * identify and session_n = 0, which means "not aggregated yet": the aggregation pass then
 * takes the dates and session state from the events alone. */
static int profile_user(struct store_tx *tx, const struct keyring *kr, int64_t ws, struct ingest_event **ev,
                        size_t n, int64_t now_ms)
{
	struct user_private priv = {0};
	const char *uid = ev[0]->user_id;
	struct store_rows *r = NULL;
	char *traits = NULL;
	int rc = -1;
	if (store_query(tx, "SELECT traits FROM tracked_users WHERE workspace_id = $1 AND user_id = $2",
	                STORE_ARGS(SP_TEXT(uid)), &r) < 0)
		goto fail;
	int st = store_step(r);
	if (st < 0)
		goto fail;
	if (st == 1) {
		size_t tn = 0;
		const char *t = store_col_text(r, 0, &tn);
		traits = merge_traits(t, tn, ev, n);
	} else {
		traits = merge_traits(NULL, 0, ev, n);
	}
	store_rows_close(r);
	r = NULL;
	if (!traits || user_private(tx, kr, ws, ev, n, &priv) < 0)
		goto fail;
	char row_key[LIMIT_SEAL_AD_FIELD + 1];
	ingest_identify_row_key(uid, row_key);
	if (store_exec(
	        tx,
	        "INSERT INTO tracked_users (workspace_id, user_id, first_seen, last_seen, traits, row_key, "
	        "name_sealed, email_sealed, email_bidx, email_bidx_key, email_verified, changed_ms) "
	        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
	        "ON CONFLICT (workspace_id, user_id) DO UPDATE SET traits = excluded.traits, "
	        "row_key = excluded.row_key, "
	        "name_sealed = coalesce(excluded.name_sealed, tracked_users.name_sealed), "
	        "email_sealed = coalesce(excluded.email_sealed, tracked_users.email_sealed), "
	        "email_bidx = coalesce(excluded.email_bidx, tracked_users.email_bidx), "
	        "email_bidx_key = coalesce(excluded.email_bidx_key, tracked_users.email_bidx_key), "
	        "email_verified = CASE WHEN excluded.email_sealed IS NULL THEN tracked_users.email_verified "
	        "ELSE excluded.email_verified END, changed_ms = excluded.changed_ms",
	        STORE_ARGS(SP_TEXT(uid), SP_I64(ev[0]->event_ms), SP_I64(ev[0]->event_ms), SP_TEXT(traits),
	                   SP_TEXT(row_key), priv.name_sealed ? SP_TEXT(priv.name_sealed) : SP_NULL,
	                   priv.email_sealed ? SP_TEXT(priv.email_sealed) : SP_NULL,
	                   priv.has_email ? SP_TEXT(priv.bidx) : SP_NULL,
	                   priv.has_email ? SP_I64(priv.bidx_key) : SP_NULL, SP_I64(priv.verified),
	                   SP_I64(now_ms))) < 0)
		goto fail;
	rc = 0;
fail:
	store_rows_close(r);
	free(traits);
	free(priv.name_sealed);
	free(priv.email_sealed);
	return rc;
}

/* One acknowledged event waiting for aggregation (a row of ingest_pending). */
struct pend {
	char *user_id; /* malloc'ed */
	int64_t id, event_ms, feature_id;
	int64_t api_error, rage;
};

static int cmp_pend(const void *a, const void *b)
{
	const struct pend *x = a, *y = b;
	int c = strcmp(x->user_id, y->user_id);
	if (c)
		return c;
	if (x->event_ms != y->event_ms)
		return x->event_ms < y->event_ms ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* ingest_pending.events: one entry per event with a user, each
 *   id, event_ms, feature_id  int64 little-endian
 *   flags                     1 byte: 1 = api error, 2 = rage click
 *   user id length            uint32 little-endian, then the user id bytes */
#define PEND_FIXED (3 * 8 + 1 + 4)

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int pend_pack(struct buf *b, int64_t id, const struct ingest_event *e)
{
	uint8_t h[PEND_FIXED];
	size_t un = strlen(e->user_id);
	put_le(h, (uint64_t)id, 8);
	put_le(h + 8, (uint64_t)e->event_ms, 8);
	put_le(h + 16, (uint64_t)e->feature_id, 8);
	h[24] = (uint8_t)((e->api_error ? 1 : 0) | (e->rage ? 2 : 0));
	put_le(h + 25, (uint64_t)un, 4);
	return buf_append(b, h, sizeof(h)) < 0 || buf_append(b, e->user_id, un) < 0 ? -1 : 0;
}

/* Appends the entries of one ingest_pending.events blob to *p (grown as needed).
 * Returns 0, or -1 (out of memory, or a malformed blob). */
static int pend_unpack(const uint8_t *b, size_t n, struct pend **p, size_t *np, size_t *cap)
{
	size_t at = 0;
	while (at < n) {
		if (n - at < PEND_FIXED)
			return -1;
		const uint8_t *h = b + at;
		uint64_t un = get_le(h + 25, 4);
		if (un == 0 || un > n - at - PEND_FIXED)
			return -1;
		if (*np == *cap) {
			size_t ncap = *cap ? *cap * 2 : 256;
			struct pend *nv = realloc(*p, ncap * sizeof(*nv));
			if (!nv)
				return -1;
			*p = nv;
			*cap = ncap;
		}
		struct pend *e = &(*p)[*np];
		memset(e, 0, sizeof(*e));
		e->user_id = strndup((const char *)h + PEND_FIXED, (size_t)un);
		if (!e->user_id)
			return -1;
		(*np)++;
		e->id = (int64_t)get_le(h, 8);
		e->event_ms = (int64_t)get_le(h + 8, 8);
		e->feature_id = (int64_t)get_le(h + 16, 8);
		e->api_error = h[24] & 1;
		e->rage = (h[24] >> 1) & 1;
		at += PEND_FIXED + (size_t)un;
	}
	return 0;
}

/* Aggregates one user's pending events (sorted by time): tracked_users' dates and session
 * state, user_daily and user_daily_features (one upsert per day and per (day, feature)).
 * changed_ms becomes now_ms, the time of this aggregation: the detector's incremental
 * pass looks at users changed past its watermark, and these aggregates changed now. */
static int agg_user(struct store_tx *tx, struct pend *p, size_t n, int64_t now_ms)
{
	const char *uid = p[0].user_id;
	struct store_rows *r = NULL;
	struct day_acc *days = NULL;
	struct feat_acc *feats = NULL;
	size_t nd = 0, dcap = 0, nf = 0, fcap = 0;
	int rc = -1, exists = 0;
	int64_t first_seen = 0, last_seen = 0, session_n = 0, session_start = 0, last_minute = 0;

	if (store_query(tx,
	                "SELECT first_seen, last_seen, session_n, session_start, last_minute "
	                "FROM tracked_users WHERE workspace_id = $1 AND user_id = $2",
	                STORE_ARGS(SP_TEXT(uid)), &r) < 0)
		goto fail;
	int st = store_step(r);
	if (st < 0)
		goto fail;
	/* session_n 0: a profile an identify created at acknowledgement, never aggregated */
	if (st == 1 && store_col_i64(r, 2) > 0) {
		exists = 1;
		first_seen = store_col_i64(r, 0);
		last_seen = store_col_i64(r, 1);
		session_n = store_col_i64(r, 2);
		session_start = store_col_i64(r, 3);
		last_minute = store_col_i64(r, 4);
	}
	store_rows_close(r);
	r = NULL;

	for (size_t i = 0; i < n; i++) {
		struct pend *e = &p[i];
		int64_t day = e->event_ms / DAY_MS;
		struct day_acc *d = day_slot(&days, &nd, &dcap, day);
		if (!d)
			goto fail;
		if (!exists || e->event_ms - last_seen > INGEST_SESSION_GAP_MS) {
			session_n++;
			session_start = e->event_ms;
			d->sessions++;
		} else if (e->event_ms > last_seen) {
			d->session_ms += e->event_ms - last_seen;
		}
		int64_t minute = e->event_ms / MINUTE_MS;
		if (!exists || minute > last_minute) {
			d->active_minutes++;
			last_minute = minute;
		}
		d->events++;
		d->api_errors += e->api_error;
		d->rage_clicks += e->rage;
		if (!exists) {
			first_seen = last_seen = e->event_ms;
			exists = 1;
		} else {
			if (e->event_ms < first_seen)
				first_seen = e->event_ms;
			if (e->event_ms > last_seen)
				last_seen = e->event_ms;
		}
		if (e->feature_id && feat_add(&feats, &nf, &fcap, day, e->feature_id) < 0)
			goto fail;
	}
	char row_key[LIMIT_SEAL_AD_FIELD + 1];
	ingest_identify_row_key(uid, row_key);
	if (store_exec(tx,
	               "INSERT INTO tracked_users (workspace_id, user_id, first_seen, last_seen, session_n, "
	               "session_start, last_minute, row_key, changed_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, "
	               "$8, $9) ON CONFLICT (workspace_id, user_id) DO UPDATE SET first_seen = "
	               "excluded.first_seen, last_seen = excluded.last_seen, session_n = excluded.session_n, "
	               "session_start = excluded.session_start, last_minute = excluded.last_minute, "
	               "changed_ms = excluded.changed_ms",
	               STORE_ARGS(SP_TEXT(uid), SP_I64(first_seen), SP_I64(last_seen), SP_I64(session_n),
	                          SP_I64(session_start), SP_I64(last_minute), SP_TEXT(row_key),
	                          SP_I64(now_ms))) < 0)
		goto fail;
	for (size_t i = 0; i < nd; i++) {
		struct day_acc *d = &days[i];
		if (store_exec(tx,
		               "INSERT INTO user_daily (workspace_id, user_id, day, events, active_minutes, "
		               "sessions, "
		               "session_seconds, api_errors, rage_clicks) VALUES ($1, $2, $3, $4, $5, $6, "
		               "$7, $8, $9) "
		               "ON CONFLICT (workspace_id, user_id, day) DO UPDATE SET "
		               "events = user_daily.events + excluded.events, "
		               "active_minutes = user_daily.active_minutes + excluded.active_minutes, "
		               "sessions = user_daily.sessions + excluded.sessions, "
		               "session_seconds = user_daily.session_seconds + excluded.session_seconds, "
		               "api_errors = user_daily.api_errors + excluded.api_errors, "
		               "rage_clicks = user_daily.rage_clicks + excluded.rage_clicks",
		               STORE_ARGS(SP_TEXT(uid), SP_I64(d->day), SP_I64(d->events),
		                          SP_I64(d->active_minutes), SP_I64(d->sessions),
		                          SP_I64((d->session_ms + 500) / 1000), SP_I64(d->api_errors),
		                          SP_I64(d->rage_clicks))) < 0)
			goto fail;
	}
	for (size_t i = 0; i < nf; i++) {
		if (store_exec(
		        tx,
		        "INSERT INTO user_daily_features (workspace_id, user_id, day, feature_id, count) "
		        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (workspace_id, user_id, day, feature_id) "
		        "DO UPDATE SET count = user_daily_features.count + excluded.count",
		        STORE_ARGS(SP_TEXT(uid), SP_I64(feats[i].day), SP_I64(feats[i].feature_id),
		                   SP_I64(feats[i].count))) < 0)
			goto fail;
	}
	rc = 0;
fail:
	store_rows_close(r);
	free(days);
	free(feats);
	return rc;
}

/* Anonymous-id links (tracked_user_anon). An identify with both ids links them (newest
 * wins; on a signing-required workspace only signed identify calls reach here from
 * browsers). In a linked_only batch every other event is attributed through a signed
 * link of its anonymous id, or stored anonymous: a declared user_id alone is not
 * trusted. *owned receives a malloc'ed user id that e->user_id then points to. */
static int link_or_resolve(struct store_tx *tx, const struct ingest_batch *b, struct ingest_event *e,
                           int64_t now_ms, char **owned)
{
	int identify = strcmp(e->type, "identify") == 0;
	*owned = NULL;
	if (identify && e->user_id && e->anonymous_id && (e->signed_ok || !b->linked_only))
		return store_exec(tx,
		                  "INSERT INTO tracked_user_anon (workspace_id, anonymous_id, user_id, signed, "
		                  "linked_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (workspace_id, anonymous_id) "
		                  "DO UPDATE SET user_id = excluded.user_id, signed = excluded.signed, "
		                  "linked_at = excluded.linked_at",
		                  STORE_ARGS(SP_TEXT(e->anonymous_id), SP_TEXT(e->user_id), SP_I64(e->signed_ok),
		                             SP_I64(now_ms)));
	if (!b->linked_only || (identify && e->signed_ok))
		return 0;
	e->user_id = NULL;
	if (!e->anonymous_id)
		return 0;
	struct store_rows *r = NULL;
	if (store_query(tx,
	                "SELECT user_id FROM tracked_user_anon WHERE workspace_id = $1 AND anonymous_id = $2 "
	                "AND signed = 1",
	                STORE_ARGS(SP_TEXT(e->anonymous_id)), &r) < 0)
		return -1;
	int st = store_step(r);
	if (st == 1) {
		size_t un = 0;
		const char *u = store_col_text(r, 0, &un);
		if (u && un)
			*owned = strndup(u, un);
		if (u && un && !*owned)
			st = -1;
		e->user_id = *owned;
	}
	store_rows_close(r);
	return st < 0 ? -1 : 0;
}

/* ---- one workspace segment ---- */

struct feat_cache {
	const char *key;
	int64_t id;
};

static int feature_id(struct store_tx *tx, const char *key, int64_t *out)
{
	int got = store_query_i64(tx, "SELECT id FROM feature_keys WHERE workspace_id = $1 AND key = $2",
	                          STORE_ARGS(SP_TEXT(key)), out);
	if (got != 0)
		return got < 0 ? -1 : 0;
	if (store_exec(tx,
	               "INSERT INTO feature_keys (workspace_id, key, id) VALUES ($1, $2, $3) "
	               "ON CONFLICT (workspace_id, key) DO NOTHING",
	               STORE_ARGS(SP_TEXT(key), SP_I64(store_random_id()))) < 0)
		return -1;
	got = store_query_i64(tx, "SELECT id FROM feature_keys WHERE workspace_id = $1 AND key = $2",
	                      STORE_ARGS(SP_TEXT(key)), out);
	return got == 1 ? 0 : -1;
}

static int write_segment(struct store_tx *tx, struct ingest_batch **v, size_t nb, int64_t now_ms)
{
	size_t total = 0;
	for (size_t i = 0; i < nb; i++)
		total += v[i]->n;
	struct ingest_event **users = total ? calloc(total, sizeof(*users)) : NULL;
	struct feat_cache *fc = total ? calloc(total, sizeof(*fc)) : NULL;
	char **owned = total ? calloc(total, sizeof(*owned)) : NULL;
	size_t nu = 0, nfc = 0, order = 0, nown = 0;
	int64_t seq = 0;
	struct buf pending;
	buf_init(&pending, 0);
	int rc = -1;
	if (total && (!users || !fc || !owned))
		goto fail;
	/* 1. de-duplication and feature keys */
	for (size_t b = 0; b < nb; b++) {
		for (size_t i = 0; i < v[b]->n; i++) {
			struct ingest_event *e = &v[b]->ev[i];
			e->dup = 0;
			e->feature_id = 0;
			e->order = order++;
			if (e->message_id) {
				if (store_exec(tx,
				               "INSERT INTO ingest_dedupe (workspace_id, message_id) VALUES ($1, "
				               "$2) ON CONFLICT (workspace_id, message_id) DO NOTHING",
				               STORE_ARGS(SP_TEXT(e->message_id))) < 0)
					goto fail;
				e->dup = store_changes(tx) == 0;
			}
			if (e->dup)
				continue;
			if (e->feature) {
				size_t k = 0;
				while (k < nfc && strcmp(fc[k].key, e->feature) != 0)
					k++;
				if (k == nfc) {
					fc[nfc].key = e->feature;
					if (feature_id(tx, e->feature, &fc[nfc].id) < 0)
						goto fail;
					nfc++;
				}
				e->feature_id = fc[k].id;
			}
			if (link_or_resolve(tx, v[b], e, now_ms, &owned[nown]) < 0)
				goto fail;
			if (owned[nown])
				nown++;
			if (e->user_id && e->traits)
				users[nu++] = e;
		}
	}
	/* 2. identify: the profile, sealed name and e-mail, trait history (ack time: the
	 * plain values are not stored anywhere the aggregation pass could read them) */
	if (nu)
		qsort(users, nu, sizeof(*users), cmp_user_events);
	for (size_t i = 0; i < nu;) {
		size_t j = i + 1;
		while (j < nu && strcmp(users[j]->user_id, users[i]->user_id) == 0)
			j++;
		if (profile_user(tx, v[0]->kr, v[0]->workspace_id, users + i, j - i, now_ms) < 0)
			goto fail;
		i = j;
	}
	/* 3. the events themselves and, for events with a user,
	 * the durable "still to aggregate" marker in the same transaction */
	for (size_t b = 0; b < nb; b++) {
		for (size_t i = 0; i < v[b]->n; i++) {
			struct ingest_event *e = &v[b]->ev[i];
			if (e->dup)
				continue;
			int64_t id;
			if (next_event_id(tx, now_ms, &id) < 0)
				goto fail;
			if (store_exec(tx,
			               "INSERT INTO events (workspace_id, id, user_id, anonymous_id, type, "
			               "name, properties, event_ms, received_ms, message_id, feature_id) "
			               "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
			               STORE_ARGS(SP_I64(id), e->user_id ? SP_TEXT(e->user_id) : SP_NULL,
			                          e->anonymous_id ? SP_TEXT(e->anonymous_id) : SP_NULL,
			                          SP_TEXT(e->type), SP_TEXT(e->name),
			                          SP_TEXT(e->props), SP_I64(e->event_ms),
			                          SP_I64(v[b]->received_ms),
			                          e->message_id ? SP_TEXT(e->message_id) : SP_NULL,
			                          SP_I64(e->feature_id))) < 0)
				goto fail;
			if (e->user_id) {
				if (!pending.n)
					seq = id;
				if (pend_pack(&pending, id, e) < 0)
					goto fail;
			}
		}
	}
	if (pending.n && store_exec(tx, "INSERT INTO ingest_pending (workspace_id, seq, events) VALUES ($1, $2, $3)",
	                            STORE_ARGS(SP_I64(seq), SP_BLOB(pending.p, pending.n))) < 0)
		goto fail;
	rc = 0;
fail:
	buf_free(&pending);
	free(users);
	free(fc);
	for (size_t i = 0; i < nown; i++)
		free(owned[i]);
	free(owned);
	return rc;
}

static int cmp_batch_ws(const void *a, const void *b)
{
	const struct ingest_batch *x = *(const struct ingest_batch *const *)a;
	const struct ingest_batch *y = *(const struct ingest_batch *const *)b;
	if (x->workspace_id != y->workspace_id)
		return x->workspace_id < y->workspace_id ? -1 : 1;
	return 0;
}

/* Writes every batch in v in one transaction. Returns 0 (committed) or -1. */
static int commit_group(struct store_conn *c, struct ingest_batch **v, size_t nb)
{
	struct store_tx *tx = NULL;
	int64_t now_ms = clock_now_ms();
	/* stable enough: batches of one workspace keep their queue order via mergesort-like
	 * insertion (nb is small); qsort is not stable, so sort indices by (ws, position) */
	for (size_t i = 1; i < nb; i++) {
		struct ingest_batch *x = v[i];
		size_t j = i;
		while (j > 0 && cmp_batch_ws(&v[j - 1], &x) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
	for (size_t a = 0; a < nb;) {
		size_t b = a + 1;
		while (b < nb && v[b]->workspace_id == v[a]->workspace_id)
			b++;
		if (!tx) {
			if (store_begin_ws(c, v[a]->workspace_id, STORE_WRITE, &tx) < 0)
				goto fail;
		} else if (store_ws_rebind(tx, v[a]->workspace_id) < 0) {
			goto fail;
		}
		if (write_segment(tx, v + a, b - a, now_ms) < 0)
			goto fail;
		a = b;
	}
	if (tx && store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	return 0;
fail:
	store_rollback(tx);
	return -1;
}

static void answer(struct ingest_batch *b, int ok, enum store_code why)
{
	struct http_response *res = http_deferred_response(b->d);
	struct http_request *req = http_deferred_request(b->d);
	if (ok && json_array_size(b->dropped) == 0) {
		/* the common answer, without building and dumping a JSON tree on the writer
		 * thread (every microsecond here delays the whole group) */
		char text[64];
		int k = snprintf(text, sizeof(text), "{\"accepted\":%zu,\"dropped\":[]}", b->n);
		if (http_reply_text(res, 200, "application/json", text, (size_t)k) < 0)
			http_reply_error(req, res, 500, "internal",
			                 "out of memory after the events were stored", NULL);
	} else if (ok) {
		json_t *body = json_pack("{s:I, s:O}", "accepted", (json_int_t)b->n, "dropped", b->dropped);
		if (!body || http_reply_json(res, 200, body) < 0)
			http_reply_error(req, res, 500, "internal",
			                 "out of memory after the events were stored", NULL);
	} else {
		int transient = why == STORE_E_UNAVAILABLE || why == STORE_E_BUSY ||
		                why == STORE_E_CONFLICT || why == STORE_E_NOMEM || why == STORE_E_CONSTRAINT;
		if (transient) {
			http_reply_error(req, res, 503, "unavailable",
			                 "the events could not be stored now; retry later", NULL);
			http_set_header(res, "Retry-After", RETRY_AFTER_S);
		} else {
			http_reply_error(req, res, 500, "internal", "the events could not be stored", NULL);
		}
	}
	http_set_header(res, "Access-Control-Allow-Origin", "*");
	json_decref(b->dropped);
	b->dropped = NULL;
	http_deferred_resume(b->d);
}

/* ---- aggregation of acknowledged events (same thread: SQLite keeps one writer) ---- */

/* Under load the aggregation pass runs every AGG_PERIOD_MS: each pass rewrites the pages
 * of every user it touches (tracked_users, its last_seen index, user_daily), so fewer,
 * larger passes write far fewer pages per event (measured: 40 ms -> 200 ms cut the
 * writer's CPU per single-event request by ~1 us) for aggregates ~0.2 s behind the 200
 * and a longer pause of the acknowledgements while a pass commits (p99 +1-2 ms).
 * Experiments may override both (the writer bench, bench/ingest_writer_bench.c). */
#ifndef AGG_PERIOD_MS
#define AGG_PERIOD_MS 200
#endif
#define AGG_IDLE_MS 2         /* no new batch for this long: aggregate now */
#define AGG_MAX_PENDING 20000 /* or as soon as this many events wait */
#ifndef AGG_CHUNK
#define AGG_CHUNK 1024 /* ingest_pending rows (ack segments) per aggregation transaction */
#endif
#define AGG_RETRY_MS 1000     /* after a failed aggregation */

/* Writer-thread state: the workspaces this process acknowledged events for since their
 * last aggregation (the durable truth is ingest_pending; this only says where to look). */
static struct {
	int64_t *ws;
	size_t n, cap;
	size_t pending;   /* events acknowledged since the last aggregation */
	int64_t since;    /* monotonic ms of the oldest of them (0: none) */
	int64_t retry_at; /* monotonic ms */
	int64_t delay_ms; /* test builds: DROPFIX_TEST_AGG_DELAY_MS */
	int recover;      /* look at every workspace (start: events acknowledged before a crash) */
} A;

static int64_t mono_ms(void)
{
	return clock_mono_ns() / 1000000;
}

static void agg_note_ws(int64_t ws)
{
	for (size_t i = 0; i < A.n; i++)
		if (A.ws[i] == ws)
			return;
	if (A.n == A.cap) {
		size_t ncap = A.cap ? A.cap * 2 : 16;
		int64_t *nv = realloc(A.ws, ncap * sizeof(*nv));
		if (!nv) {
			A.recover = 1; /* the rows are durable: find them by listing every workspace */
			return;
		}
		A.ws = nv;
		A.cap = ncap;
	}
	A.ws[A.n++] = ws;
}

/* Aggregates the events of up to AGG_CHUNK ingest_pending rows (one per acknowledged
 * workspace segment) of workspace ws in one transaction: takes (deletes) the oldest rows, merges per user, (user, day) and (user, day,
 * feature) in memory, one upsert per key, then commits. Deleting with RETURNING makes
 * the rows taken exactly once even when several processes share a PostgreSQL database.
 * *got receives the number of rows taken. Returns 0 or -1 (nothing changed). */
static int agg_workspace(struct store_conn *c, int64_t ws, size_t *got)
{
	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	struct pend *p = NULL;
	size_t n = 0, cap = 0, rows = 0;
	int rc = -1, st;
	int64_t now_ms = clock_now_ms();
	*got = 0;
	if (store_begin_ws(c, ws, STORE_WRITE, &tx) < 0)
		return -1;
	if (store_query(tx,
	                "DELETE FROM ingest_pending WHERE workspace_id = $1 AND seq IN (SELECT seq "
	                "FROM ingest_pending WHERE workspace_id = $1 ORDER BY seq LIMIT $2) RETURNING events",
	                STORE_ARGS(SP_I64(AGG_CHUNK)), &r) < 0)
		goto fail;
	while ((st = store_step(r)) == 1) {
		size_t bn = 0;
		const void *blob = store_col_blob(r, 0, &bn);
		if (blob && pend_unpack(blob, bn, &p, &n, &cap) < 0) {
			log_json(LOG_ERROR, "ingest writer: a malformed ingest_pending row", json_pack("{s:I}", "workspace", (json_int_t)ws));
			goto fail;
		}
		rows++;
	}
	if (st < 0)
		goto fail;
	store_rows_close(r);
	r = NULL;
	if (n)
		qsort(p, n, sizeof(*p), cmp_pend);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && strcmp(p[j].user_id, p[i].user_id) == 0)
			j++;
		if (agg_user(tx, p + i, j - i, now_ms) < 0)
			goto fail;
		i = j;
	}
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	tx = NULL;
	*got = rows;
	rc = 0;
fail:
	store_rows_close(r);
	store_rollback(tx);
	for (size_t i = 0; i < n; i++)
		free(p[i].user_id);
	free(p);
	return rc;
}

/* Aggregates the pending events of every noted workspace: one chunk each, or (all)
 * until none is left. A workspace whose aggregation fails stays noted (retried later)
 * and does not hold back the others; failures are logged here. *total receives the
 * ingest_pending rows taken. Returns 0, or -1 when anything failed. */
static int agg_run(struct store_conn *c, int all, size_t *total)
{
	int rc = 0;
	*total = 0;
	if (A.recover) {
		int64_t *ids = NULL;
		size_t n = 0;
		if (store_maint_workspaces(c, &ids, &n) < 0) {
			log_json(LOG_WARN, "ingest writer: listing workspaces to aggregate failed (retried later)",
			         json_pack("{s:s, s:s}", "code", store_code_name(store_errcode(c)), "error",
			                   store_errmsg(c)));
			return -1;
		}
		A.recover = 0;
		for (size_t i = 0; i < n; i++)
			agg_note_ws(ids[i]);
		free(ids);
	}
	for (size_t i = 0; i < A.n;) {
		size_t got = 0;
		int failed = 0;
		do {
			if (agg_workspace(c, A.ws[i], &got) < 0) {
				failed = 1;
				break;
			}
			*total += got;
		} while (all && got == AGG_CHUNK);
		if (failed) {
			log_json(LOG_WARN, "ingest writer: aggregation failed (retried later)",
			         json_pack("{s:I, s:s, s:s}", "workspace", (json_int_t)A.ws[i], "code",
			                   store_code_name(store_errcode(c)), "error", store_errmsg(c)));
			rc = -1;
			i++;
		} else if (got < AGG_CHUNK) {
			A.ws[i] = A.ws[--A.n];
		} else {
			i++;
		}
	}
	A.pending = 0;
	A.since = A.n ? mono_ms() : 0;
	return rc;
}

static int agg_wanted(void)
{
	return A.n > 0 || A.recover;
}

/* When an idle writer aggregates (monotonic ms). */
static int64_t agg_due(int64_t last_ack)
{
	int64_t due = last_ack + AGG_IDLE_MS;
	if (A.since + A.delay_ms > due)
		due = A.since + A.delay_ms;
	return A.retry_at > due ? A.retry_at : due;
}

/* A test build's flush request (POST /__test/ingest-flush), answered after everything
 * pending was aggregated. */
struct flush_req {
	struct http_deferred *d;
	struct flush_req *next;
};

static void answer_flush(struct flush_req *f, int ok, size_t total)
{
	while (f) {
		struct flush_req *next = f->next;
		struct http_response *res = http_deferred_response(f->d);
		if (ok)
			http_reply_json(res, 200, json_pack("{s:b, s:I}", "ok", 1, "aggregated", (json_int_t)total));
		else
			http_reply_error(http_deferred_request(f->d), res, 503, "unavailable",
			                 "the aggregation failed; retry later", NULL);
		http_deferred_resume(f->d);
		free(f);
		f = next;
	}
}

static void wait_until(int64_t due_ms)
{
	int64_t ns = due_ms * 1000000;
	struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
	pthread_cond_timedwait(&W.cv, &W.mu, &ts);
}

static int open_conn(struct store_conn **c)
{
	char err[256];
	if (*c)
		return 0;
	if (store_conn_open(W.store, c, err, sizeof(err)) < 0) {
		log_json(LOG_ERROR, "ingest writer: cannot open a connection", json_pack("{s:s}", "error", err));
		*c = NULL;
		return -1;
	}
	return 0;
}

/* Acknowledges one taken list of batches (commit, live feed, answers). */
static void ack_list(struct store_conn **c, struct ingest_batch *list, struct ingest_batch ***v, size_t *vcap)
{
	size_t nb = 0, events = 0;
	for (struct ingest_batch *b = list; b; b = b->next)
		nb++;
	if (nb > *vcap) {
		struct ingest_batch **nv = realloc(*v, nb * 2 * sizeof(*nv));
		if (nv) {
			*v = nv;
			*vcap = nb * 2;
		}
	}
	int ok = 0;
	enum store_code why = STORE_E_NOMEM;
	if (nb <= *vcap) {
		size_t i = 0;
		for (struct ingest_batch *b = list; b; b = b->next)
			(*v)[i++] = b;
		if (open_conn(c) < 0) {
			why = STORE_E_UNAVAILABLE;
		} else {
			ok = commit_group(*c, *v, nb) == 0;
			if (!ok) {
				why = store_errcode(*c);
				log_json(LOG_WARN, "ingest writer: commit failed",
				         json_pack("{s:s, s:s, s:I}", "code", store_code_name(why), "error",
				                   store_errmsg(*c), "batches", (json_int_t)nb));
				if (why == STORE_E_UNAVAILABLE) { /* reconnect next time */
					store_conn_close(*c);
					*c = NULL;
				}
			}
		}
	}
	/* the live feed: committed events, published before answering (the answer hands the
	 * batch's arena back to its request) */
	if (ok) {
		for (struct ingest_batch *b = list; b; b = b->next) {
			live_publish(b->workspace_id, b->ev, b->n);
			agg_note_ws(b->workspace_id);
			A.pending += b->n;
		}
		if (!A.since)
			A.since = mono_ms();
	}
	/* answer in queue order (list order) */
	for (struct ingest_batch *b = list, *next; b; b = next) {
		next = b->next;
		events += b->n;
		answer(b, ok, why);
	}
	if (ok) {
		atomic_fetch_add(&n_commits, 1);
		atomic_fetch_add(&n_acked_requests, nb);
		atomic_fetch_add(&n_acked_events, events);
	} else {
		atomic_fetch_add(&n_failed_requests, nb);
	}
	pthread_mutex_lock(&W.mu);
	W.reserved -= events < W.reserved ? events : W.reserved;
	pthread_mutex_unlock(&W.mu);
}

static void *writer_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "ingest-writer"); /* named in top, ps and perf */
	struct store_conn *c = NULL;
	size_t vcap = 0;
	struct ingest_batch **v = NULL;
	int64_t last_ack = 0;
	A.recover = 1; /* events acknowledged before a crash or a failed final aggregation */
	A.since = mono_ms();
	for (;;) {
		pthread_mutex_lock(&W.mu);
		for (;;) {
			if ((W.head && !W.paused) || W.flushq || W.stopping)
				break;
			if (!agg_wanted()) {
				pthread_cond_wait(&W.cv, &W.mu);
				continue;
			}
			int64_t due = agg_due(last_ack);
			if (mono_ms() >= due)
				break;
			wait_until(due);
		}
		struct ingest_batch *list = NULL;
		if (W.head && (!W.paused || W.stopping)) {
			list = W.head;
			W.head = W.tail = NULL;
		}
		struct flush_req *flush = W.flushq;
		W.flushq = NULL;
		int stop = W.stopping && !list;
		pthread_mutex_unlock(&W.mu);

		if (list) {
			ack_list(&c, list, &v, &vcap);
			last_ack = mono_ms();
		}
		/* aggregate: when asked (flush, stop), when idle, every AGG_PERIOD_MS or every
		 * AGG_MAX_PENDING events under load (never before the test delay) */
		int force = flush || stop, agg_ok = 1;
		size_t total = 0;
		int64_t now = mono_ms();
		if (agg_wanted() &&
		    (force || (now >= A.retry_at && now - A.since >= A.delay_ms &&
		               (!list || A.pending >= AGG_MAX_PENDING || now - A.since >= AGG_PERIOD_MS)))) {
			agg_ok = open_conn(&c) == 0 && agg_run(c, force, &total) == 0;
			atomic_fetch_add(&n_aggregations, 1);
			atomic_store(&aggregation_failing, !agg_ok);
			if (!agg_ok) { /* logged by agg_run or open_conn */
				atomic_fetch_add(&n_aggregation_failures, 1);
				A.retry_at = now + AGG_RETRY_MS;
				if (c && store_errcode(c) == STORE_E_UNAVAILABLE) {
					store_conn_close(c);
					c = NULL;
				}
			}
		}
		answer_flush(flush, agg_ok, total);
		if (stop)
			break;
	}
	free(v);
	store_conn_close(c);
	free(ids_tab);
	ids_tab = NULL;
	ids_cap = ids_used = 0;
	free(A.ws);
	memset(&A, 0, sizeof(A));
	return NULL;
}

int ingest_writer_start(struct store *s, size_t queue_events, char *err, size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, cv_init);
	pthread_mutex_lock(&W.mu);
	if (W.running) {
		pthread_mutex_unlock(&W.mu);
		snprintf(err, errlen, "the ingestion writer is already running");
		return -1;
	}
	memset(&A, 0, sizeof(A));
#ifdef DROPFIX_TEST_HOOKS
	const char *delay = getenv("DROPFIX_TEST_AGG_DELAY_MS");
	if (delay && parse_i64_cstr(delay, 0, 3600 * 1000, &A.delay_ms) < 0) {
		pthread_mutex_unlock(&W.mu);
		snprintf(err, errlen, "DROPFIX_TEST_AGG_DELAY_MS must be 0-3600000");
		return -1;
	}
#endif
	W.store = s;
	W.capacity = queue_events;
	W.stopping = 0;
	W.paused = 0;
	W.reserved = 0;
	W.head = W.tail = NULL;
	W.flushq = NULL;
	if (pthread_create(&W.thread, NULL, writer_main, NULL) != 0) {
		pthread_mutex_unlock(&W.mu);
		snprintf(err, errlen, "cannot start the ingestion writer thread");
		return -1;
	}
	W.running = 1;
	pthread_mutex_unlock(&W.mu);
	return 0;
}

void ingest_writer_stop(void)
{
	pthread_mutex_lock(&W.mu);
	if (!W.running) {
		pthread_mutex_unlock(&W.mu);
		return;
	}
	W.stopping = 1;
	W.paused = 0;
	pthread_cond_signal(&W.cv);
	pthread_mutex_unlock(&W.mu);
	pthread_join(W.thread, NULL);
	pthread_mutex_lock(&W.mu);
	W.running = 0;
	pthread_mutex_unlock(&W.mu);
}

#ifdef DROPFIX_TEST_HOOKS
int ingest_writer_test_flush(struct http_request *req, struct http_response *res)
{
	struct flush_req *f = calloc(1, sizeof(*f));
	if (!f)
		return http_reply_error(req, res, 503, "unavailable", "out of memory", NULL);
	f->d = http_defer(req);
	if (!f->d) {
		free(f);
		return http_reply_error(req, res, 500, "internal", "cannot defer the reply", NULL);
	}
	pthread_mutex_lock(&W.mu);
	int queued = W.running && !W.stopping;
	if (queued) {
		f->next = W.flushq;
		W.flushq = f;
		pthread_cond_signal(&W.cv);
	}
	pthread_mutex_unlock(&W.mu);
	if (!queued) {
		http_reply_error(req, http_deferred_response(f->d), 503, "unavailable",
		                 "the ingestion writer is not running", NULL);
		http_deferred_resume(f->d);
		free(f);
	}
	return 0;
}
#endif

/* ---- the purge job ---- */

#define PURGE_CHUNK 1000 /* events walked per transaction */

/* One short transaction of the purge (the ingest writer waits for at most one): walks up
 * to PURGE_CHUNK events of workspace ws from its ingest_dedupe_purge cursor to cutoff_id,
 * deletes each one's message_id from ingest_dedupe and advances the cursor. mids is
 * scratch room for PURGE_CHUNK strings (left all NULL). *walked receives the events
 * walked (fewer than PURGE_CHUNK: the edge is reached); *deleted grows by the rows
 * deleted once committed. Returns 0 or -1. */
static int purge_chunk(struct store_conn *c, int64_t ws, int64_t cutoff_id, char **mids, size_t *walked,
                       int64_t *deleted)
{
	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	int64_t cursor = 0, last = -1, gone = 0;
	size_t n = 0;
	int st, rc = -1;
	*walked = 0;
	if (store_begin_ws(c, ws, STORE_WRITE, &tx) < 0 ||
	    store_query_i64(tx, "SELECT through_id FROM ingest_dedupe_purge WHERE workspace_id = $1", STORE_NO_ARGS,
	                    &cursor) < 0 ||
	    store_query(tx,
	                "SELECT id, message_id FROM events WHERE workspace_id = $1 AND id >= $2 AND id < $3 "
	                "ORDER BY id LIMIT $4",
	                STORE_ARGS(SP_I64(cursor), SP_I64(cutoff_id), SP_I64(PURGE_CHUNK)), &r) < 0)
		goto fail;
	while ((st = store_step(r)) == 1) {
		(*walked)++;
		last = store_col_i64(r, 0);
		size_t mn = 0;
		const char *m = store_col_text(r, 1, &mn);
		if (m && !(mids[n++] = strndup(m, mn)))
			goto fail;
	}
	if (st < 0)
		goto fail;
	store_rows_close(r);
	r = NULL;
	for (size_t i = 0; i < n; i++) {
		if (store_exec(tx, "DELETE FROM ingest_dedupe WHERE workspace_id = $1 AND message_id = $2",
		               STORE_ARGS(SP_TEXT(mids[i]))) < 0)
			goto fail;
		gone += store_changes(tx);
	}
	/* a short chunk reached the edge: everything below cutoff_id is done */
	int64_t through = *walked < PURGE_CHUNK ? cutoff_id : last + 1;
	if (through > cursor &&
	    store_exec(tx,
	               "INSERT INTO ingest_dedupe_purge (workspace_id, through_id) VALUES ($1, $2) "
	               "ON CONFLICT (workspace_id) DO UPDATE SET through_id = excluded.through_id",
	               STORE_ARGS(SP_I64(through))) < 0)
		goto fail;
	rc = store_commit(tx);
	tx = NULL;
	if (rc == 0)
		*deleted += gone;
fail:
	store_rows_close(r);
	store_rollback(tx);
	for (size_t i = 0; i < n; i++) {
		free(mids[i]);
		mids[i] = NULL;
	}
	return rc;
}

/* Purges the de-duplication rows of workspace ws's events received before cutoff_id
 * (event ids are ms * 1024 + counter, so an id below cutoff_id was received before the
 * window's edge), chunk by chunk. Erasing events (a later feature) must delete their
 * message ids too. Returns 0 or -1 (err set). */
static int purge_workspace(struct store_conn *c, int64_t ws, int64_t cutoff_id, int64_t *deleted, char *err,
                           size_t errlen)
{
	char **mids = calloc(PURGE_CHUNK, sizeof(*mids));
	size_t walked = PURGE_CHUNK;
	if (!mids) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (walked == PURGE_CHUNK) {
		if (purge_chunk(c, ws, cutoff_id, mids, &walked, deleted) < 0) {
			snprintf(err, errlen, "purging de-duplication rows of workspace %lld: %s", (long long)ws,
			         store_errmsg(c));
			free(mids);
			return -1;
		}
	}
	free(mids);
	return 0;
}

static enum job_status job_dedupe_purge(const struct job *j, char *err, size_t errlen)
{
	int64_t *ids = NULL;
	size_t n = 0;
	int64_t deleted = 0, cutoff_id = (clock_now_ms() - INGEST_DEDUPE_WINDOW_MS) * 1024;
	if (store_maint_workspaces(j->conn, &ids, &n) < 0) {
		snprintf(err, errlen, "listing workspaces: %s", store_errmsg(j->conn));
		return JOB_FAILED;
	}
	for (size_t i = 0; i < n; i++) {
		if (purge_workspace(j->conn, ids[i], cutoff_id, &deleted, err, errlen) < 0) {
			free(ids);
			return JOB_FAILED;
		}
	}
	free(ids);
	log_json(deleted ? LOG_INFO : LOG_DEBUG, "expired de-duplication rows purged",
	         json_pack("{s:I}", "deleted", (json_int_t)deleted));
	return JOB_OK;
}

int ingest_writer_jobs_register(void)
{
	if (job_register("ingest.dedupe_purge", job_dedupe_purge, 10 * 60 * 1000, 3) < 0 ||
	    job_register_recurring("ingest.dedupe_purge", INGEST_DEDUPE_PURGE_PERIOD_MS, 0) < 0)
		return -1;
	return 0;
}
