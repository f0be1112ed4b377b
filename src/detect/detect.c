/* Churn detection: kinds, bands, learning state (detect.h). The passes, settings and
 * jobs live in detect_*.c of this module. */
#include <stdio.h>
#include <string.h>

#include "detect/detect.h"
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

#define DAY_MS (86400LL * 1000)

int detect_learning_get(struct store_tx *tx, int64_t now_ms, struct detect_learning *out)
{
	int64_t started = 0;
	int rc = store_query_i64(tx, "SELECT started_ms FROM detect_state WHERE workspace_id = $1", STORE_NO_ARGS,
				 &started);
	if (rc < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	out->days_needed = 7;
	out->started_ms = rc == 1 ? started : 0;
	if (out->started_ms > 0 && now_ms > out->started_ms) {
		int64_t d = (now_ms - out->started_ms) / DAY_MS;
		out->days_done = d > out->days_needed ? out->days_needed : (int)d;
	}
	out->unlocked = out->started_ms > 0 && out->days_done >= out->days_needed;
	return 0;
}

/* ---- Temporary: replaced by the real passes (detect_pass.c) ---- */

int detect_run_incremental(struct store_conn *c, int64_t ws, struct detect_stats *st, char *err, size_t errlen)
{
	(void)c, (void)ws;
	memset(st, 0, sizeof(*st));
	snprintf(err, errlen, "not built yet");
	return -1;
}

int detect_run_full(struct store_conn *c, int64_t ws, struct detect_stats *st, char *err, size_t errlen)
{
	(void)c, (void)ws;
	memset(st, 0, sizeof(*st));
	snprintf(err, errlen, "not built yet");
	return -1;
}

int detect_dismiss(struct store_tx *tx, int64_t signal_id, int64_t account_id, const char *reason)
{
	(void)tx, (void)signal_id, (void)account_id, (void)reason;
	return -1;
}

json_t *detect_settings_get(struct store_tx *tx)
{
	(void)tx;
	return NULL;
}

int detect_settings_set(struct store_tx *tx, const json_t *changes, char *msg, size_t msglen)
{
	(void)tx, (void)changes;
	snprintf(msg, msglen, "not built yet");
	return -1;
}

int detect_jobs_register(void)
{
	return 0;
}
