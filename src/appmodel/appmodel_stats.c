/* The app model's 30-day usage figures (users_30d, days_30d per feature, and the
 * workspace's active user-days), read from user_daily_features and user_daily.
 *
 * On a large workspace that read scans millions of rows (about 1.3 s for 6.4 million on
 * SQLite on the reference machine), too slow for every incremental detector pass. So a
 * result that counted at least stats_cache_min_rows user-days is kept in a small
 * process-wide cache for APPMODEL_STATS_TTL_NS of monotonic time, keyed by workspace and
 * day: figures of a big workspace may lag by up to that long (the automatic core set
 * moves slowly anyway). Small workspaces (and so the tests) are always read fresh.
 * Founder edits are never cached (appmodel_load reads app_features every time). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "appmodel/appmodel_int.h"
#include "core/clock.h"
#include "store/store.h"

#define APPMODEL_WINDOW_DAYS 30
#define APPMODEL_STATS_SLOTS 32                         /* workspaces cached at once */
#define APPMODEL_STATS_TTL_NS (10LL * 60 * 1000000000LL) /* 10 minutes */

static int64_t stats_cache_min_rows = 200000; /* user-days; a test may lower it */

struct slot {
	int64_t ws, today, made_ns;
	int with_users;
	struct appmodel_stats s;
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct slot cache[APPMODEL_STATS_SLOTS];

void appmodel_stats_free(struct appmodel_stats *s)
{
	if (!s)
		return;
	free(s->f);
	memset(s, 0, sizeof(*s));
}

static int copy_stats(const struct appmodel_stats *from, struct appmodel_stats *to)
{
	memset(to, 0, sizeof(*to));
	if (from->n) {
		to->f = malloc(from->n * sizeof(*to->f));
		if (!to->f)
			return -1;
		memcpy(to->f, from->f, from->n * sizeof(*to->f));
	}
	to->n = from->n;
	to->total = from->total;
	return 0;
}

/* 1 and a copy in out when a fresh entry exists (with the users when asked); 0 when
 * not; -1 out of memory. */
static int cache_get(int64_t ws, int64_t today, int with_users, int64_t now, struct appmodel_stats *out)
{
	int rc = 0;
	pthread_mutex_lock(&cache_mu);
	for (size_t i = 0; i < APPMODEL_STATS_SLOTS; i++) {
		struct slot *c = &cache[i];
		if (c->ws == ws && c->today == today && c->with_users >= with_users &&
		    now - c->made_ns < APPMODEL_STATS_TTL_NS) {
			rc = copy_stats(&c->s, out) < 0 ? -1 : 1;
			break;
		}
	}
	pthread_mutex_unlock(&cache_mu);
	return rc;
}

static void cache_put(int64_t ws, int64_t today, int with_users, int64_t now, const struct appmodel_stats *s)
{
	struct appmodel_stats copy;
	if (copy_stats(s, &copy) < 0)
		return; /* not cached; the caller has its figures */
	pthread_mutex_lock(&cache_mu);
	size_t at = 0;
	for (size_t i = 0; i < APPMODEL_STATS_SLOTS; i++) {
		if (cache[i].ws == ws) {
			at = i;
			break;
		}
		if (cache[i].made_ns < cache[at].made_ns)
			at = i; /* the oldest (or an empty slot) */
	}
	appmodel_stats_free(&cache[at].s);
	cache[at] = (struct slot){ws, today, now, with_users, copy};
	pthread_mutex_unlock(&cache_mu);
}

int appmodel_stats_load(struct store_tx *tx, int64_t today, int with_users, struct appmodel_stats *out)
{
	int64_t ws = store_tx_workspace(tx), now = clock_mono_ns();
	int64_t from = today - (APPMODEL_WINDOW_DAYS - 1);
	memset(out, 0, sizeof(*out));
	int got = cache_get(ws, today, with_users, now, out);
	if (got != 0)
		return got < 0 ? -1 : 0;
	struct store_rows *r = NULL;
	size_t cap = 0;
	int64_t rows = 0;
	/* Users per feature through a (feature, user) grouping: on PostgreSQL about twice as
	 * fast as COUNT(DISTINCT) (hash aggregate instead of a sort), the same on SQLite. */
	int qrc = with_users
	              ? store_query(tx,
	                            "SELECT feature_id, COUNT(*), SUM(d) FROM (SELECT feature_id, user_id, "
	                            "COUNT(*) AS d FROM user_daily_features WHERE workspace_id = $1 AND day >= $2 "
	                            "AND day <= $3 GROUP BY feature_id, user_id) u GROUP BY feature_id ORDER BY "
	                            "feature_id",
	                            STORE_ARGS(SP_I64(from), SP_I64(today)), &r)
	              : store_query(tx,
	                            "SELECT feature_id, 0, COUNT(*) FROM user_daily_features WHERE workspace_id = "
	                            "$1 AND day >= $2 AND day <= $3 GROUP BY feature_id ORDER BY feature_id",
	                            STORE_ARGS(SP_I64(from), SP_I64(today)), &r);
	if (qrc < 0)
		goto fail;
	int st;
	while ((st = store_step(r)) == 1) {
		if (out->n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct appmodel_stat *nf = realloc(out->f, nc * sizeof(*nf));
			if (!nf)
				goto fail;
			out->f = nf;
			cap = nc;
		}
		struct appmodel_stat *f = &out->f[out->n++];
		f->id = store_col_i64(r, 0);
		f->users = store_col_i64(r, 1);
		f->days = store_col_i64(r, 2);
		rows += f->days;
	}
	store_rows_close(r);
	r = NULL;
	if (st < 0)
		goto fail;
	if (store_query_i64(tx, "SELECT COUNT(*) FROM user_daily WHERE workspace_id = $1 AND day >= $2 AND day <= $3",
	                    STORE_ARGS(SP_I64(from), SP_I64(today)), &out->total) < 0)
		goto fail;
	if (rows >= stats_cache_min_rows)
		cache_put(ws, today, with_users, now, out);
	return 0;
fail:
	store_rows_close(r);
	appmodel_stats_free(out);
	return -1;
}

const struct appmodel_stat *appmodel_stats_find(const struct appmodel_stats *s, int64_t id)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->f[mid].id == id)
			return &s->f[mid];
		if (s->f[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
