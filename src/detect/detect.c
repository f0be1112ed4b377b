/* Churn detection (detect.h): kinds, bands, learning state, dismissal, signal history
 * and the health refresh after a dismissal. The detectors are in detect_signals.c, the
 * passes in detect_pass.c, settings in detect_settings.c, jobs in detect_jobs.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "detect/detect_int.h"
#include "store/store.h"

static const struct {
	const char *id;
	const char *title;
} kinds[DETECT_KIND_N] = {
    [DETECT_USAGE_DROP] = {"usage_drop", "Usage dropped"},
    [DETECT_GONE_QUIET] = {"gone_quiet", "Gone quiet"},
    [DETECT_SHORTER_SESSIONS] = {"shorter_sessions", "Shorter sessions"},
    [DETECT_FEATURE_ABANDONED] = {"feature_abandoned", "Feature abandoned"},
    [DETECT_CANCEL_INTENT] = {"cancel_intent", "Cancel intent"},
    [DETECT_FRICTION_SPIKE] = {"friction_spike", "Friction spike"},
    [DETECT_TRIAL_ENDING_INACTIVE] = {"trial_ending_inactive", "Trial ending, inactive"},
    [DETECT_DOWNGRADE] = {"downgrade", "Downgraded"},
    [DETECT_PAYMENT_FAILED] = {"payment_failed", "Payment failed"},
    [DETECT_SUBSCRIPTION_LAPSED] = {"subscription_lapsed", "Subscription lapsed"},
};

const char *detect_kind_id(enum detect_kind k)
{
	if ((int)k < 0 || k >= DETECT_KIND_N)
		return "unknown";
	return kinds[k].id;
}

const char *detect_kind_title(enum detect_kind k)
{
	if ((int)k < 0 || k >= DETECT_KIND_N)
		return "Unknown";
	return kinds[k].title;
}

int detect_kind_parse(const char *s, size_t n, enum detect_kind *out)
{
	if (!s)
		return -1;
	for (int i = 0; i < DETECT_KIND_N; i++) {
		if (strlen(kinds[i].id) == n && memcmp(kinds[i].id, s, n) == 0) {
			*out = (enum detect_kind)i;
			return 0;
		}
	}
	return -1;
}

const char *detect_band_id(enum detect_band b)
{
	switch (b) {
	case DETECT_HEALTHY:
		return "healthy";
	case DETECT_WATCH:
		return "watch";
	case DETECT_AT_RISK:
		return "at_risk";
	}
	return "healthy";
}

enum detect_band detect_band_of(int health)
{
	if (health >= 70)
		return DETECT_HEALTHY;
	if (health >= 40)
		return DETECT_WATCH;
	return DETECT_AT_RISK;
}

#define DAY_MS DETECT_DAY_MS

int detect_learning_get(struct store_tx *tx, int64_t now_ms, struct detect_learning *out)
{
	int64_t started = 0;
	int rc = store_query_i64(tx, "SELECT started_ms FROM detect_state WHERE workspace_id = $1", STORE_NO_ARGS,
				 &started);
	if (rc < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	out->days_needed = DETECT_LEARNING_DAYS;
	out->started_ms = rc == 1 ? started : 0;
	if (out->started_ms > 0 && now_ms > out->started_ms) {
		int64_t d = (now_ms - out->started_ms) / DAY_MS;
		out->days_done = d > out->days_needed ? out->days_needed : (int)d;
	}
	out->unlocked = out->started_ms > 0 && now_ms - out->started_ms >= (int64_t)out->days_needed * DAY_MS;
	return 0;
}

int detect_history_add(struct store_tx *tx, int64_t signal_id, int64_t at_ms, const char *change,
                       int64_t account_id, const char *detail)
{
	return store_exec(tx,
	                  "INSERT INTO signal_history (workspace_id, signal_id, seq, at_ms, change, account_id, detail) "
	                  "SELECT $1, $2, coalesce(max(h.seq), 0) + 1, CAST($3 AS BIGINT), CAST($4 AS TEXT), "
	                  "CAST($5 AS BIGINT), CAST($6 AS TEXT) FROM signal_history h WHERE h.workspace_id = $1 AND "
	                  "h.signal_id = $2",
	                  STORE_ARGS(SP_I64(signal_id), SP_I64(at_ms), SP_TEXT(change),
	                             account_id > 0 ? SP_I64(account_id) : SP_NULL, SP_TEXT(detail ? detail : "")));
}

int detect_health_refresh(struct store_tx *tx, const char *user_id, int64_t now_ms)
{
	struct detect_conf *c = malloc(sizeof(*c));
	struct store_rows *r = NULL;
	json_t *parts = NULL;
	char *text = NULL;
	int rc = -1, open[DETECT_KIND_N] = {0}, engagement = 0, found = 0, nopen = 0;
	int64_t mrr = 0, first_open = 0;
	if (!c || detect_conf_load(tx, c) < 0)
		goto done;
	if (store_query(tx, "SELECT parts, mrr FROM user_health WHERE workspace_id = $1 AND user_id = $2",
	                STORE_ARGS(SP_TEXT(user_id)), &r) < 0)
		goto done;
	int st = store_step(r);
	if (st < 0)
		goto done;
	if (st == 1) {
		size_t n = 0;
		const char *t = store_col_text(r, 0, &n);
		json_t *old = t ? json_loadb(t, n, 0, NULL) : NULL;
		engagement = (int)json_integer_value(json_object_get(old, "engagement"));
		json_decref(old);
		mrr = store_col_i64(r, 1);
		found = 1;
	}
	store_rows_close(r);
	r = NULL;
	if (!found) { /* never evaluated: the next pass writes it */
		rc = 0;
		goto done;
	}
	if (store_query(tx,
	                "SELECT kind, detected_ms FROM signals WHERE workspace_id = $1 AND user_id = $2 AND "
	                "state = 'open'",
	                STORE_ARGS(SP_TEXT(user_id)), &r) < 0)
		goto done;
	while ((st = store_step(r)) == 1) {
		size_t kn = 0;
		const char *k = store_col_text(r, 0, &kn);
		enum detect_kind kind;
		if (detect_kind_parse(k, kn, &kind) < 0 || open[kind])
			continue;
		open[kind] = 1;
		nopen++;
		if (!first_open || store_col_i64(r, 1) < first_open)
			first_open = store_col_i64(r, 1);
	}
	store_rows_close(r);
	r = NULL;
	if (st < 0)
		goto done;
	int h = detect_health(c, open, engagement, &parts);
	if (h < 0 || !(text = json_dumps(parts, JSON_COMPACT)))
		goto done;
	char okinds[DETECT_KIND_N * 24 + 2];
	size_t off = 0;
	okinds[0] = '\0';
	for (int k = 0; k < DETECT_KIND_N; k++)
		if (open[k]) {
			int w = snprintf(okinds + off, sizeof(okinds) - off, "%s%s,", off ? "" : ",",
			                 detect_kind_id((enum detect_kind)k));
			off += w > 0 ? (size_t)w : 0;
		}
	if (store_exec(tx,
	               "UPDATE user_health SET health = $3, band = $4, parts = $5, open_kinds = $6, open_count = $7, "
	               "worth = $8, first_open_ms = $9, evaluated_ms = $10 WHERE workspace_id = $1 AND user_id = $2",
	               STORE_ARGS(SP_TEXT(user_id), SP_I64(h), SP_TEXT(detect_band_id(detect_band_of(h))), SP_TEXT(text),
	                          SP_TEXT(okinds), SP_I64(nopen), SP_I64(nopen ? (100 - h) * mrr : 0),
	                          first_open ? SP_I64(first_open) : SP_NULL, SP_I64(now_ms))) < 0)
		goto done;
	rc = 0;
done:
	store_rows_close(r);
	json_decref(parts);
	free(text);
	free(c);
	return rc;
}

int detect_dismiss(struct store_tx *tx, int64_t signal_id, int64_t account_id, const char *reason)
{
	size_t rn = reason ? strlen(reason) : 0;
	if (rn > DETECT_REASON_MAX)
		return -1;
	struct store_rows *r = NULL;
	char *user = NULL;
	int64_t now = clock_now_ms();
	if (store_query(tx, "SELECT user_id FROM signals WHERE workspace_id = $1 AND id = $2 AND state = 'open'",
	                STORE_ARGS(SP_I64(signal_id)), &r) < 0)
		return -1;
	int st = store_step(r);
	if (st == 1) {
		size_t n = 0;
		const char *u = store_col_text(r, 0, &n);
		user = strndup(u ? u : "", n);
	}
	store_rows_close(r);
	if (st < 0 || (st == 1 && !user))
		goto fail;
	if (st == 0)
		return 1;
	if (store_exec(tx,
	               "UPDATE signals SET state = 'dismissed', dismissed_ms = $2, dismissed_by = $3, "
	               "dismiss_reason = $4, updated_ms = $2 WHERE workspace_id = $1 AND id = $5 AND state = 'open'",
	               STORE_ARGS(SP_I64(now), account_id > 0 ? SP_I64(account_id) : SP_NULL,
	                          rn ? SP_TEXT(reason) : SP_NULL, SP_I64(signal_id))) < 0 ||
	    detect_history_add(tx, signal_id, now, "dismissed", account_id, reason) < 0 ||
	    detect_health_refresh(tx, user, now) < 0)
		goto fail;
	free(user);
	return 0;
fail:
	free(user);
	return -1;
}
