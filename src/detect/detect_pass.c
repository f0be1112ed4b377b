/* The detector passes (detect.h: detect_run_full, detect_run_incremental): users in
 * batches of PASS_BATCH, each batch read in one read transaction (range queries over
 * the (workspace_id, user_id, …) keys), evaluated outside any transaction, and written
 * in one short write transaction (signal transitions, history, user_health). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "detect/detect_int.h"
#include "store/store.h"

/* PostgreSQL advisory lock key of a workspace's detector writes: base + workspace id
 * (ids < 2^53; the audit log uses 0x41… + id). */
#define DETECT_LOCK_BASE INT64_C(0x4400000000000000)
/* Users changed this close to "now" are looked at again by the next incremental pass
 * (a writer transaction may commit an older changed_ms after we read). */
#define WATERMARK_LAG_MS 2000

/* Evaluates one user and writes its transitions and health (write tx). */
static int apply_user(struct pass *p, struct store_tx *tx, struct batch *b, struct buser *bu)
{
	struct detect_user u = {
	    .user_id = bu->id,
	    .first_day = bu->first_seen / DETECT_DAY_MS,
	    .last_day = bu->last_seen / DETECT_DAY_MS,
	    .days = bu->nd ? &b->days[bu->d0] : NULL,
	    .nd = bu->nd,
	    .uses = bu->nu ? &b->uses[bu->u0] : NULL,
	    .nuses = bu->nu,
	    .plan = bu->plan,
	    .mrr = bu->mrr,
	    .trial_end_day = bu->trial_end_day,
	    .down_ms = bu->down_ms,
	    .down_from_mrr = bu->down_from_mrr,
	    .down_to_mrr = bu->down_to_mrr,
	    .down_from_plan = bu->down_from_plan,
	    .down_to_plan = bu->down_to_plan,
	};
	struct detect_hit hits[DETECT_KIND_N];
	struct detect_agg a;
	detect_user_agg(&p->env, &u, &a);
	if (detect_evaluate_user(&p->env, &u, hits) < 0)
		return -1;
	int rc = -1, open[DETECT_KIND_N] = {0};
	int64_t first_open = 0;
	char *ev = NULL;
	json_t *parts = NULL;
	int has_detector[DETECT_KIND_N] = {0};
	for (size_t i = 0; i < detect_detector_n; i++)
		has_detector[detect_detectors[i].kind] = 1;
	for (int k = 0; k < DETECT_KIND_N; k++) {
		struct detect_hit *h = &hits[k];
		int64_t sid = bu->live_id[k];
		const char *kid = detect_kind_id((enum detect_kind)k);
		free(ev);
		ev = h->fires ? json_dumps(h->evidence, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		if (h->fires && !ev)
			goto fail;
		const char *text = h->fires ? json_string_value(json_object_get(h->evidence, "text")) : NULL;
		if (!has_detector[k]) { /* Stripe kinds: kept as they are */
			if (bu->live_state[k] == 1) {
				open[k] = 1;
				if (!first_open || bu->live_detected[k] < first_open)
					first_open = bu->live_detected[k];
			}
			continue;
		}
		if (h->fires && bu->live_state[k] == 0) {
			sid = store_random_id();
			/* a concurrent pass may have opened it since we read (write transactions of a
			 * workspace are serialised: SQLite's one writer, the advisory lock on PostgreSQL) */
			if (store_exec(tx,
			               "INSERT INTO signals (workspace_id, id, user_id, kind, state, severity, evidence, "
			               "detected_ms, updated_ms) SELECT $1, $2, $3, $4, 'open', $5, $6, $7, $7 WHERE NOT "
			               "EXISTS (SELECT 1 FROM signals s WHERE s.workspace_id = $1 AND s.user_id = $3 AND "
			               "s.kind = $4 AND (s.state = 'open' OR (s.state = 'dismissed' AND s.cleared_ms IS NULL)))",
			               STORE_ARGS(SP_I64(sid), SP_TEXT(bu->id), SP_TEXT(kid), SP_I64(h->severity),
			                          SP_TEXT(ev), SP_I64(p->now_ms))) < 0)
				goto fail;
			if (store_changes(tx) == 0)
				continue; /* health follows at the next pass */
			if (detect_history_add(tx, sid, p->now_ms, "opened", 0, text) < 0)
				goto fail;
			p->st->opened++;
			open[k] = 1;
			if (!first_open || p->now_ms < first_open)
				first_open = p->now_ms;
		} else if (h->fires && bu->live_state[k] == 1) {
			open[k] = 1;
			if (!first_open || bu->live_detected[k] < first_open)
				first_open = bu->live_detected[k];
			if (strcmp(text ? text : "", bu->live_text[k] ? bu->live_text[k] : "") != 0 ||
			    h->severity != bu->live_sev[k]) {
				if (store_exec(tx,
				               "UPDATE signals SET evidence = $2, severity = $3, updated_ms = $4 WHERE "
				               "workspace_id = $1 AND id = $5 AND state = 'open'",
				               STORE_ARGS(SP_TEXT(ev), SP_I64(h->severity), SP_I64(p->now_ms), SP_I64(sid))) < 0)
					goto fail;
				if (h->severity != bu->live_sev[k] && detect_history_add(tx, sid, p->now_ms, "updated", 0, text) < 0)
					goto fail;
				p->st->updated++;
			}
		} else if (!h->fires && bu->live_state[k] == 1) {
			if (store_exec(tx,
			               "UPDATE signals SET state = 'resolved', resolved_ms = $2, cleared_ms = $2, "
			               "updated_ms = $2 WHERE workspace_id = $1 AND id = $3 AND state = 'open'",
			               STORE_ARGS(SP_I64(p->now_ms), SP_I64(sid))) < 0)
				goto fail;
			if (store_changes(tx) > 0) {
				if (detect_history_add(tx, sid, p->now_ms, "resolved", 0, "the condition cleared") < 0)
					goto fail;
				p->st->resolved++;
			}
		} else if (!h->fires && bu->live_state[k] == 2) {
			if (store_exec(tx,
			               "UPDATE signals SET cleared_ms = $2, updated_ms = $2 WHERE workspace_id = $1 AND "
			               "id = $3 AND state = 'dismissed' AND cleared_ms IS NULL",
			               STORE_ARGS(SP_I64(p->now_ms), SP_I64(sid))) < 0 ||
			    detect_history_add(tx, sid, p->now_ms, "cleared", 0, "the condition cleared") < 0)
				goto fail;
		}
	}
	int e = detect_engagement(&a);
	int health = detect_health(&p->conf, open, e, &parts);
	if (health < 0)
		goto fail;
	char kinds[DETECT_KIND_N * 24 + 2];
	size_t off = 0;
	int nopen = 0;
	kinds[0] = '\0';
	for (int k = 0; k < DETECT_KIND_N; k++)
		if (open[k]) {
			int w = snprintf(kinds + off, sizeof(kinds) - off, "%s%s,", off ? "" : ",",
			                 detect_kind_id((enum detect_kind)k));
			off += w > 0 ? (size_t)w : 0;
			nopen++;
		}
	enum detect_band band = detect_band_of(health);
	int64_t worth = nopen ? (int64_t)(100 - health) * bu->mrr : 0;
	free(ev);
	ev = json_dumps(parts, JSON_COMPACT);
	if (!ev)
		goto fail;
	if (store_exec(tx,
	               "INSERT INTO user_health (workspace_id, user_id, health, band, parts, open_kinds, open_count, "
	               "plan, mrr, worth, first_open_ms, events_7d, baseline_weekly, evaluated_ms) VALUES ($1, $2, "
	               "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (workspace_id, user_id) DO "
	               "UPDATE SET health = excluded.health, band = excluded.band, parts = excluded.parts, "
	               "open_kinds = excluded.open_kinds, open_count = excluded.open_count, plan = excluded.plan, "
	               "mrr = excluded.mrr, worth = excluded.worth, first_open_ms = excluded.first_open_ms, "
	               "events_7d = excluded.events_7d, baseline_weekly = excluded.baseline_weekly, "
	               "evaluated_ms = excluded.evaluated_ms",
	               STORE_ARGS(SP_TEXT(bu->id), SP_I64(health), SP_TEXT(detect_band_id(band)), SP_TEXT(ev),
	                          SP_TEXT(kinds), SP_I64(nopen), SP_TEXT(bu->plan ? bu->plan : ""), SP_I64(bu->mrr),
	                          SP_I64(worth), first_open ? SP_I64(first_open) : SP_NULL, SP_I64(a.recent_events),
	                          SP_I64(a.baseline_weekly), SP_I64(p->now_ms))) < 0)
		goto fail;
	p->st->users++;
	p->users++;
	p->active += a.recent_events > 0;
	p->band[band]++;
	p->open_signals += nopen;
	p->mrr_total += bu->mrr;
	if (nopen && band != DETECT_HEALTHY)
		p->mrr_at_risk += bu->mrr;
	rc = 0;
fail:
	free(ev);
	json_decref(parts);
	for (int k = 0; k < DETECT_KIND_N; k++)
		json_decref(hits[k].evidence);
	return rc;
}

/* Writes one batch in one write transaction. */
static int write_batch(struct pass *p, struct batch *b, char *err, size_t errlen)
{
	struct store_tx *tx = NULL;
	if (store_begin_ws(p->c, p->ws, STORE_WRITE, &tx) < 0)
		goto fail;
	if (store_tx_backend(tx) == STORE_POSTGRES &&
	    store_exec(tx, "SELECT pg_advisory_xact_lock($2 + $1)", STORE_ARGS(SP_I64(DETECT_LOCK_BASE))) < 0)
		goto fail;
	for (size_t i = 0; i < b->n; i++)
		if (apply_user(p, tx, b, &b->u[i]) < 0)
			goto fail;
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "detect: writing results: %s", store_errmsg(p->c));
	store_rollback(tx);
	return -1;
}

/* Reads detect_state and the learning start (read tx). first_seen_min: the smallest
 * first_seen of the users this pass looks at (0 = none). */
static int pass_state(struct pass *p, struct store_tx *tx, int64_t *started, int64_t *watermark)
{
	struct store_rows *r = NULL;
	*started = *watermark = 0;
	if (store_query(tx, "SELECT started_ms, watermark_ms FROM detect_state WHERE workspace_id = $1", STORE_NO_ARGS,
	                &r) < 0)
		return -1;
	int st = store_step(r);
	if (st == 1) {
		*started = store_col_i64(r, 0);
		*watermark = store_col_i64(r, 1);
	}
	store_rows_close(r);
	(void)p;
	return st < 0 ? -1 : 0;
}

static void pass_unlock(struct pass *p, int64_t started)
{
	p->env.unlocked = started > 0 && p->now_ms - started >= DETECT_LEARNING_DAYS * DETECT_DAY_MS;
}

static int save_state(struct pass *p, int full, int64_t started, int64_t watermark)
{
	struct store_tx *tx = NULL;
	if (store_begin_ws(p->c, p->ws, STORE_WRITE, &tx) < 0)
		return -1;
	const char *sql = full ? "INSERT INTO detect_state (workspace_id, started_ms, watermark_ms, last_full_ms) "
	                         "VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id) DO UPDATE SET "
	                         "started_ms = excluded.started_ms, watermark_ms = excluded.watermark_ms, "
	                         "last_full_ms = excluded.last_full_ms"
	                       : "INSERT INTO detect_state (workspace_id, started_ms, watermark_ms, last_incremental_ms) "
	                         "VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id) DO UPDATE SET "
	                         "started_ms = excluded.started_ms, watermark_ms = excluded.watermark_ms, "
	                         "last_incremental_ms = excluded.last_incremental_ms";
	if (store_exec(tx, sql, STORE_ARGS(SP_I64(started), SP_I64(watermark), SP_I64(p->now_ms))) < 0)
		goto fail;
	if (p->core_json && store_exec(tx, "UPDATE detect_state SET core = $2 WHERE workspace_id = $1",
	                               STORE_ARGS(SP_TEXT(p->core_json))) < 0)
		goto fail;
	if (full &&
	    store_exec(tx,
	               "INSERT INTO workspace_daily (workspace_id, day, users, active_users, healthy, watch, at_risk, "
	               "open_signals, mrr_total, mrr_at_risk) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
	               "ON CONFLICT (workspace_id, day) DO UPDATE SET users = excluded.users, "
	               "active_users = excluded.active_users, healthy = excluded.healthy, watch = excluded.watch, "
	               "at_risk = excluded.at_risk, open_signals = excluded.open_signals, "
	               "mrr_total = excluded.mrr_total, mrr_at_risk = excluded.mrr_at_risk",
	               STORE_ARGS(SP_I64(p->today), SP_I64(p->users), SP_I64(p->active), SP_I64(p->band[0]),
	                          SP_I64(p->band[1]), SP_I64(p->band[2]), SP_I64(p->open_signals),
	                          SP_I64(p->mrr_total), SP_I64(p->mrr_at_risk))) < 0)
		goto fail;
	return store_commit(tx);
fail:
	store_rollback(tx);
	return -1;
}

static int min_pos(int64_t a, int64_t b)
{
	return a > 0 && (b <= 0 || a < b);
}

/* The watermark after a pass that saw changed_ms up to max_seen. */
static int64_t next_watermark(const struct pass *p, int64_t old, int64_t max_seen)
{
	int64_t w = max_seen < p->now_ms - WATERMARK_LAG_MS ? max_seen : p->now_ms - WATERMARK_LAG_MS;
	return w > old ? w : old;
}

/* Frees what the batch holds: its users' data and the three arrays (b itself is the caller's). */
static void batch_free(struct batch *b)
{
	detect_batch_clear(b);
	free(b->u);
	free(b->days);
	free(b->uses);
}

static int pass_init(struct pass *p, struct store_conn *c, int64_t ws, struct detect_stats *st)
{
	memset(p, 0, sizeof(*p));
	memset(st, 0, sizeof(*st));
	p->c = c;
	p->ws = ws;
	p->st = st;
	p->now_ms = clock_now_ms();
	p->today = p->now_ms / DETECT_DAY_MS;
	return 0;
}

int detect_run_full(struct store_conn *c, int64_t ws, struct detect_stats *st, char *err, size_t errlen)
{
	struct pass p;
	struct batch b = {0};
	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	char *last = strdup("");
	int rc = -1;
	int64_t started = 0, watermark = 0, fs_min = 0, max_changed = 0;
	(void)pass_init(&p, c, ws, st);
	b.u = calloc(PASS_BATCH, sizeof(b.u[0]));
	if (!b.u || !last) {
		snprintf(err, errlen, "detect: out of memory");
		goto done;
	}
	if (store_begin_ws(c, ws, STORE_READ, &tx) < 0 || detect_pass_setup(&p, tx, 0) < 0 ||
	    pass_state(&p, tx, &started, &watermark) < 0 ||
	    store_query_i64(tx, "SELECT min(first_seen) FROM tracked_users WHERE workspace_id = $1", STORE_NO_ARGS,
	                    &fs_min) < 0)
		goto store_fail;
	store_rollback(tx);
	tx = NULL;
	if (min_pos(fs_min, started))
		started = fs_min;
	pass_unlock(&p, started);
	for (;;) {
		char *lo = NULL;
		if (store_begin_ws(c, ws, STORE_READ, &tx) < 0 ||
		    store_query(tx,
		                "SELECT user_id, first_seen, last_seen, traits, changed_ms FROM tracked_users WHERE "
		                "workspace_id = $1 AND user_id > $2 ORDER BY user_id LIMIT 500",
		                STORE_ARGS(SP_TEXT(last)), &r) < 0)
			goto store_fail;
		int s = 0;
		while (b.n < PASS_BATCH && (s = store_step(r)) == 1) {
			if (detect_batch_add_user(&b, r) < 0)
				goto store_fail;
			if (store_col_i64(r, 4) > max_changed)
				max_changed = store_col_i64(r, 4);
			if (!lo)
				lo = strdup(b.u[0].id);
			free(last);
			last = strdup(b.u[b.n - 1].id);
			if (!lo || !last)
				goto store_fail;
		}
		store_rows_close(r);
		r = NULL;
		if (s < 0) {
			free(lo);
			goto store_fail;
		}
		if (b.n == 0) {
			store_rollback(tx);
			tx = NULL;
			free(lo);
			break;
		}
		detect_batch_sort(&b);
		int lr = detect_batch_load(&p, &b, tx, lo, last);
		free(lo);
		if (lr < 0)
			goto store_fail;
		store_rollback(tx);
		tx = NULL;
		size_t got = b.n;
		if (write_batch(&p, &b, err, errlen) < 0)
			goto done;
		detect_batch_clear(&b);
		if (got < PASS_BATCH)
			break;
	}
	if (save_state(&p, 1, started, next_watermark(&p, watermark, max_changed)) < 0)
		goto store_fail;
	rc = 0;
	goto done;
store_fail:
	snprintf(err, errlen, "detect: %s", store_errmsg(c));
done:
	store_rows_close(r);
	store_rollback(tx);
	batch_free(&b);
	free(last);
	detect_pass_free(&p);
	return rc;
}

int detect_run_incremental(struct store_conn *c, int64_t ws, struct detect_stats *st, char *err, size_t errlen)
{
	struct pass p;
	struct batch b = {0};
	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	char **ids = NULL;
	size_t nids = 0, cap = 0;
	int rc = -1;
	int64_t started = 0, watermark = 0, max_changed = 0;
	(void)pass_init(&p, c, ws, st);
	b.u = calloc(PASS_BATCH, sizeof(b.u[0]));
	if (!b.u) {
		snprintf(err, errlen, "detect: out of memory");
		goto done;
	}
	if (store_begin_ws(c, ws, STORE_READ, &tx) < 0 || pass_state(&p, tx, &started, &watermark) < 0 ||
	    store_query(tx,
	                "SELECT user_id, first_seen, changed_ms FROM tracked_users WHERE workspace_id = $1 AND "
	                "changed_ms > $2",
	                STORE_ARGS(SP_I64(watermark)), &r) < 0)
		goto store_fail;
	int s;
	while ((s = store_step(r)) == 1) {
		size_t idn = 0;
		const char *id = store_col_text(r, 0, &idn);
		if (detect_grow((void **)&ids, &cap, nids + 1, sizeof(ids[0])) < 0 || !(ids[nids] = strndup(id ? id : "", idn)))
			goto store_fail;
		nids++;
		if (min_pos(store_col_i64(r, 1), started))
			started = store_col_i64(r, 1);
		if (store_col_i64(r, 2) > max_changed)
			max_changed = store_col_i64(r, 2);
	}
	store_rows_close(r);
	r = NULL;
	if (s < 0)
		goto store_fail;
	if (nids == 0) { /* nothing changed: no setup, no writes */
		rc = 0;
		goto done;
	}
	if (detect_pass_setup(&p, tx, 1) < 0)
		goto store_fail;
	store_rollback(tx);
	tx = NULL;
	pass_unlock(&p, started);
	for (size_t i = 0; i < nids; i += PASS_BATCH) {
		size_t end = i + PASS_BATCH < nids ? i + PASS_BATCH : nids;
		if (store_begin_ws(c, ws, STORE_READ, &tx) < 0)
			goto store_fail;
		for (size_t j = i; j < end; j++) {
			if (store_query(tx,
			                "SELECT user_id, first_seen, last_seen, traits FROM tracked_users WHERE "
			                "workspace_id = $1 AND user_id = $2",
			                STORE_ARGS(SP_TEXT(ids[j])), &r) < 0)
				goto store_fail;
			s = store_step(r);
			if (s < 0 || (s == 1 && detect_batch_add_user(&b, r) < 0))
				goto store_fail;
			store_rows_close(r);
			r = NULL;
		}
		detect_batch_sort(&b);
		for (size_t j = 0; j < b.n; j++)
			if (detect_batch_load(&p, &b, tx, b.u[j].id, b.u[j].id) < 0)
				goto store_fail;
		store_rollback(tx);
		tx = NULL;
		if (write_batch(&p, &b, err, errlen) < 0)
			goto done;
		detect_batch_clear(&b);
	}
	if (save_state(&p, 0, started, next_watermark(&p, watermark, max_changed)) < 0)
		goto store_fail;
	rc = 0;
	goto done;
store_fail:
	snprintf(err, errlen, "detect: %s", store_errmsg(c));
done:
	store_rows_close(r);
	store_rollback(tx);
	batch_free(&b);
	for (size_t i = 0; i < nids; i++)
		free(ids[i]);
	free(ids);
	detect_pass_free(&p);
	return rc;
}
