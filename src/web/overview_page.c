#include "web/overview_page.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/install.h"
#include "core/clock.h"
#include "detect/detect.h"
#include "store/store.h"
#include "web/charts.h"
#include "web/dash.h"
#include "web/keys_pages.h"

#define TOP_N 3
#define TREND_DAYS 90

static int load_bands(struct store_tx *tx, json_t *out)
{
	struct store_rows *r = NULL;
	int64_t h = 0, w = 0, a = 0;
	if (store_query(tx, "SELECT band, count(*) FROM user_health WHERE workspace_id = $1 GROUP BY band",
	                STORE_NO_ARGS, &r) < 0)
		return -1;
	int st;
	while ((st = store_step(r)) == 1) {
		size_t n = 0;
		const char *b = store_col_text(r, 0, &n);
		int64_t c = store_col_i64(r, 1);
		if (b && strcmp(b, "healthy") == 0)
			h = c;
		else if (b && strcmp(b, "watch") == 0)
			w = c;
		else if (b && strcmp(b, "at_risk") == 0)
			a = c;
	}
	store_rows_close(r);
	if (st < 0)
		return -1;
	json_object_set_new(out, "bands",
	                    json_pack("{s:I,s:I,s:I,s:I}", "healthy", (json_int_t)h, "watch", (json_int_t)w,
	                              "at_risk", (json_int_t)a, "total", (json_int_t)(h + w + a)));
	return 0;
}

/* ",a,b," → ["Title a", "Title b"] */
static json_t *kind_titles(const char *kinds, size_t n)
{
	json_t *list = json_array();
	size_t i = 0;
	while (list && i < n) {
		while (i < n && kinds[i] == ',')
			i++;
		size_t j = i;
		while (j < n && kinds[j] != ',')
			j++;
		if (j > i)
			json_array_append_new(list, json_string(dash_kind_title(kinds + i, j - i)));
		i = j;
	}
	return list;
}

static int load_top(struct http_request *req, struct store_tx *tx, const char *cur, json_t *out)
{
	struct store_rows *r = NULL;
	json_t *top = json_array();
	if (!top || json_object_set_new(out, "top", top) < 0)
		return -1;
	if (store_query(tx,
	                "SELECT user_id, health, band, mrr, worth, open_kinds FROM user_health WHERE "
	                "workspace_id = $1 AND +open_count > 0 ORDER BY worth DESC, first_open_ms LIMIT $2",
	                STORE_ARGS(SP_I64(TOP_N)), &r) < 0)
		return -1;
	int st;
	while ((st = store_step(r)) == 1) {
		size_t un = 0, bn = 0, kn = 0;
		const char *uid = store_col_text(r, 0, &un);
		const char *band = store_col_text(r, 2, &bn);
		const char *kinds = store_col_text(r, 5, &kn);
		char money[64];
		dash_money(cur, store_col_i64(r, 3), money, sizeof(money));
		json_t *row = json_pack(
		    "{s:s%,s:o,s:I,s:s,s:s,s:I,s:s,s:I,s:o}", "user_id", uid ? uid : "", un, "href",
		    dash_user_href(req->auth.workspace_id, uid ? uid : "", un), "health",
		    (json_int_t)store_col_i64(r, 1), "band", band ? band : "", "band_title",
		    dash_band_title(band), "mrr", (json_int_t)store_col_i64(r, 3), "mrr_text", money, "worth",
		    (json_int_t)store_col_i64(r, 4), "kinds", kind_titles(kinds ? kinds : "", kn));
		if (!row || json_array_append_new(top, row) < 0) {
			store_rows_close(r);
			return -1;
		}
	}
	store_rows_close(r);
	return st < 0 ? -1 : 0;
}

static int load_counts(struct store_tx *tx, json_t *out)
{
	struct store_rows *r = NULL;
	int64_t counts[DETECT_KIND_N] = {0}, total = 0;
	if (store_query(
	        tx,
	        "SELECT kind, count(*) FROM signals WHERE workspace_id = $1 AND state = 'open' GROUP BY kind",
	        STORE_NO_ARGS, &r) < 0)
		return -1;
	int st;
	while ((st = store_step(r)) == 1) {
		size_t n = 0;
		const char *k = store_col_text(r, 0, &n);
		enum detect_kind kind;
		if (k && detect_kind_parse(k, n, &kind) == 0) {
			counts[kind] = store_col_i64(r, 1);
			total += counts[kind];
		}
	}
	store_rows_close(r);
	if (st < 0)
		return -1;
	json_t *list = json_array();
	for (int k = 0; list && k < DETECT_KIND_N; k++)
		json_array_append_new(
		    list, json_pack("{s:s,s:s,s:I}", "kind", detect_kind_id((enum detect_kind)k), "title",
		                    detect_kind_title((enum detect_kind)k), "count", (json_int_t)counts[k]));
	json_object_set_new(out, "signal_counts", list);
	json_object_set_new(out, "open_signals", json_integer(total));
	return 0;
}

static int load_trend(struct store_tx *tx, json_t *out)
{
	struct store_rows *r = NULL;
	json_t *list = json_array();
	if (!list || json_object_set_new(out, "trend", list) < 0)
		return -1;
	if (store_query(
	        tx,
	        "SELECT day, users, healthy, watch, at_risk, open_signals, mrr_at_risk FROM workspace_daily "
	        "WHERE workspace_id = $1 AND day > $2 ORDER BY day",
	        STORE_ARGS(SP_I64(dash_today() - TREND_DAYS)), &r) < 0)
		return -1;
	int st;
	while ((st = store_step(r)) == 1) {
		char day[16];
		dash_day_text(store_col_i64(r, 0), day, sizeof(day));
		json_t *row = json_pack(
		    "{s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "day", day, "users", (json_int_t)store_col_i64(r, 1),
		    "healthy", (json_int_t)store_col_i64(r, 2), "watch", (json_int_t)store_col_i64(r, 3),
		    "at_risk", (json_int_t)store_col_i64(r, 4), "open_signals",
		    (json_int_t)store_col_i64(r, 5), "mrr_at_risk", (json_int_t)store_col_i64(r, 6));
		if (!row || json_array_append_new(list, row) < 0) {
			store_rows_close(r);
			return -1;
		}
	}
	store_rows_close(r);
	return st < 0 ? -1 : 0;
}

static int build(struct http_request *req, struct store_tx *tx, json_t *out, struct dash_fail *f)
{
	(void)f;
	char cur[4];
	struct detect_learning l;
	int64_t any = 0, mrr = 0;
	if (dash_currency(tx, cur) < 0 || detect_learning_get(tx, clock_now_ms(), &l) < 0)
		return -1;
	int e =
	    store_query_i64(tx, "SELECT 1 FROM events WHERE workspace_id = $1 LIMIT 1", STORE_NO_ARGS, &any);
	if (e < 0)
		return -1;
	json_object_set_new(out, "currency", json_string(cur));
	json_object_set_new(out, "has_events", json_boolean(e == 1));
	if (e != 1) {
		struct keys_text pk;
		int have = keys_current_public(tx, req->inst->keys, req->auth.workspace_id, &pk);
		if (have < 0)
			return -1;
		if (have)
			json_object_set_new(out, "public_key", json_string(pk.s));
	}
	json_t *learning = json_pack("{s:b,s:o,s:i,s:i,s:i}", "locked", !l.unlocked, "started",
	                             dash_when(l.started_ms), "days_done", l.days_done, "days_needed",
	                             l.days_needed, "days_left", l.days_needed - l.days_done);
	json_object_set_new(out, "learning", learning);
	if (load_bands(tx, out) < 0 || load_top(req, tx, cur, out) < 0 || load_counts(tx, out) < 0 ||
	    load_trend(tx, out) < 0)
		return -1;
	if (store_query_i64(
	        tx,
	        "SELECT coalesce(sum(mrr), 0) FROM user_health WHERE workspace_id = $1 AND band IN "
	        "('watch', 'at_risk') AND open_count > 0",
	        STORE_NO_ARGS, &mrr) < 0)
		return -1;
	char money[64];
	dash_money(cur, mrr, money, sizeof(money));
	json_object_set_new(out, "mrr_at_risk", json_integer(mrr));
	json_object_set_new(out, "mrr_at_risk_text", json_string(money));
	return 0;
}

/* One trend chart over the last `days` points of ctx.trend for field. */
static json_t *trend_chart(json_t *trend, size_t days, const char *field, const char *id, const char *title,
                           const char *what)
{
	size_t n = json_array_size(trend), from = n > days ? n - days : 0;
	if (n == 0)
		return NULL;
	double v[TREND_DAYS];
	size_t k = 0;
	for (size_t i = from; i < n && k < TREND_DAYS; i++)
		v[k++] = (double)json_integer_value(json_object_get(json_array_get(trend, i), field));
	const char *first = json_string_value(json_object_get(json_array_get(trend, from), "day"));
	const char *last = json_string_value(json_object_get(json_array_get(trend, n - 1), "day"));
	char desc[200];
	snprintf(desc, sizeof(desc), "%s per day from %s to %s (%zu days with data).", what,
	         first ? first : "", last ? last : "", k);
	struct chart_line_spec c = {.id = id,
	                            .title = title,
	                            .desc = desc,
	                            .values = v,
	                            .n = k,
	                            .x_first = first ? first : "",
	                            .x_last = last ? last : ""};
	return chart_line(&c);
}

static int html(struct http_request *req, json_t *ctx)
{
	(void)req;
	json_object_set_new(ctx, "has_top", json_boolean(json_array_size(json_object_get(ctx, "top")) > 0));
	json_t *learning = json_object_get(ctx, "learning");
	if (json_is_true(json_object_get(learning, "locked"))) {
		json_t *p =
		    chart_progress("learn", "Learning progress",
		                   (int)json_integer_value(json_object_get(learning, "days_done")),
		                   (int)json_integer_value(json_object_get(learning, "days_needed")), "days");
		if (!p)
			return -1;
		json_object_set_new(learning, "chart", p);
	}
	json_t *bands = json_object_get(ctx, "bands");
	const char *labels[3] = {"Healthy", "Watch", "At risk"};
	const char *classes[3] = {"band-healthy", "band-watch", "band-at-risk"};
	double v[3] = {(double)json_integer_value(json_object_get(bands, "healthy")),
	               (double)json_integer_value(json_object_get(bands, "watch")),
	               (double)json_integer_value(json_object_get(bands, "at_risk"))};
	char desc[160];
	snprintf(desc, sizeof(desc), "%.0f healthy, %.0f watch, %.0f at risk.", v[0], v[1], v[2]);
	json_t *stack = chart_stack("bands", "Users by health band", desc, labels, classes, v, 3);
	if (!stack)
		return -1;
	json_object_set_new(ctx, "bands_chart", stack);
	/* open signals by kind: the kinds that have any */
	json_t *counts = json_object_get(ctx, "signal_counts");
	const char *kl[DETECT_KIND_N];
	double kv[DETECT_KIND_N];
	size_t kn = 0;
	for (size_t i = 0; i < json_array_size(counts) && kn < DETECT_KIND_N; i++) {
		json_t *c = json_array_get(counts, i);
		if (json_integer_value(json_object_get(c, "count")) <= 0)
			continue;
		kl[kn] = json_string_value(json_object_get(c, "title"));
		kv[kn++] = (double)json_integer_value(json_object_get(c, "count"));
	}
	if (kn > 0) {
		json_t *bars = chart_bars("kinds", "Open signals by kind",
		                          "The number of open signals of each kind.", kl, kv, kn);
		if (!bars)
			return -1;
		json_object_set_new(ctx, "kinds_chart", bars);
	}
	json_t *trend = json_object_get(ctx, "trend");
	if (json_array_size(trend) > 0) {
		json_t *charts =
		    json_pack("{s:o*,s:o*,s:o*,s:o*}", "risk30",
		              trend_chart(trend, 30, "at_risk", "risk30", "At-risk users, last 30 days",
		                          "Users in the at-risk band"),
		              "mrr30",
		              trend_chart(trend, 30, "mrr_at_risk", "mrr30", "MRR at risk, last 30 days",
		                          "MRR of users in watch or at risk with an open signal"),
		              "risk90",
		              trend_chart(trend, 90, "at_risk", "risk90", "At-risk users, last 90 days",
		                          "Users in the at-risk band"),
		              "mrr90",
		              trend_chart(trend, 90, "mrr_at_risk", "mrr90", "MRR at risk, last 90 days",
		                          "MRR of users in watch or at risk with an open signal"));
		if (!charts)
			return -1;
		json_object_set_new(ctx, "trend_charts", charts);
	}
	return 0;
}

int overview_page(struct http_request *req, struct http_response *res)
{
	return dash_serve(req, res, 1, "home", "overview", "Overview", build, html);
}

int overview_api(struct http_request *req, struct http_response *res)
{
	return dash_serve(req, res, 0, NULL, NULL, NULL, build, NULL);
}
