#include "web/user_page.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/install.h"
#include "core/clock.h"
#include "core/limits.h"
#include "crypto/seal.h"
#include "detect/detect.h"
#include "http/form.h"
#include "http/json.h"
#include "http/reqdb.h"
#include "store/store.h"
#include "web/charts.h"
#include "web/dash.h"
#include "web/permissions.h"
#include "web/shell.h"

#define ACTIVITY_DAYS 35
#define TIMELINE_MAX 100
#define TIMELINE_WINDOW_MS (24 * 3600 * 1000LL) /* received before the user's last change */
#define TIMELINE_SKEW_MS (60 * 1000LL)          /* ids of processes whose clocks run ahead */
#define TIMELINE_SCAN_MAX 200000                /* workspace events read at most */
#define SIGNALS_MAX 100
#define TRAITS_MAX 50
#define NOTES_MAX 100
#define PROPS_SHOWN 600 /* bytes of an event's properties shown */

/* The user id this request names: ?id= on /users/-, else the path segment. 0, or -1
 * when it cannot be a user id. */
static int request_uid(struct http_request *req, struct str *out)
{
	struct str seg = http_param(req, "uid");
	const char *q = http_query(req, "id");
	if (seg.n == 1 && seg.p[0] == '-' && q && *q)
		*out = (struct str){q, strlen(q)};
	else
		*out = seg;
	return (out->n == 0 || out->n > LIMIT_INGEST_ID || memchr(out->p, '\0', out->n)) ? -1 : 0;
}

/* Any JSON value as display text: strings as is, others compact JSON. */
static json_t *value_text(json_t *v)
{
	if (json_is_string(v))
		return json_stringn(json_string_value(v), json_string_length(v));
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	json_t *t = json_string(s ? s : "");
	free(s);
	return t;
}

/* A trait as text, "" when absent. */
static json_t *trait_text(json_t *traits, const char *key)
{
	json_t *v = json_object_get(traits, key);
	return v ? value_text(v) : json_string("");
}

static json_t *traits_list(json_t *traits)
{
	json_t *list = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(traits, k, v)
	    json_array_append_new(list, json_pack("{s:s,s:o}", "key", k, "value", value_text(v)));
	return list;
}

static int load_user(struct http_request *req, struct store_tx *tx, struct str uid, json_t *out, int *found)
{
	struct store_rows *r = NULL;
	*found = 0;
	if (store_query(tx,
	                "SELECT user_id, first_seen, last_seen, traits, row_key, name_sealed, email_sealed, "
	                "email_verified "
	                "FROM tracked_users WHERE workspace_id = $1 AND user_id = $2",
	                STORE_ARGS(SP_TEXTN(uid.p, uid.n)), &r) < 0)
		return -1;
	int st = store_step(r);
	if (st == 1) {
		size_t tn = 0, rn = 0;
		const char *tt = store_col_text(r, 3, &tn);
		json_t *traits = tt ? json_loadb(tt, tn, 0, NULL) : NULL;
		if (!json_is_object(traits)) {
			json_decref(traits);
			traits = json_object();
		}
		const char *rk = store_col_text(r, 4, &rn);
		const char *nm = store_col_is_null(r, 5) ? NULL : store_col_text(r, 5, &rn);
		json_t *name = dash_unseal(req, "tracked_users", "name_sealed", rk, nm);
		rk = store_col_text(r, 4, &rn);
		const char *em = store_col_is_null(r, 6) ? NULL : store_col_text(r, 6, &rn);
		json_t *email = dash_unseal(req, "tracked_users", "email_sealed", rk, em);
		json_t *u =
		    json_pack("{s:s%,s:o,s:o,s:o,s:o,s:b,s:o,s:o,s:o,s:o,s:o,s:o}", "id", uid.p, uid.n,
		              "href", dash_user_href(req->auth.workspace_id, uid.p, uid.n), "notes_action",
		              dash_user_path(req->auth.workspace_id, uid.p, uid.n, "/notes"), "name", name,
		              "email", email, "unverified", em && store_col_i64(r, 7) != 1, "plan",
		              trait_text(traits, "plan"), "mrr", trait_text(traits, "mrr"), "trial_ends",
		              trait_text(traits, "trial_ends"), "first_seen", dash_when(store_col_i64(r, 1)),
		              "last_seen", dash_when(store_col_i64(r, 2)), "traits", traits_list(traits));
		json_decref(traits);
		if (!u) {
			store_rows_close(r);
			return -1;
		}
		json_object_set_new(out, "user", u);
		*found = 1;
	}
	store_rows_close(r);
	return st < 0 ? -1 : 0;
}

/* parts {"base":100,"signals":[{"kind","weight","counted"}],"engagement":e} → rows. */
static json_t *parts_list(const char *text, size_t n)
{
	json_t *parts = text ? json_loadb(text, n, 0, NULL) : NULL;
	json_t *list = json_array();
	char v[48];
	json_t *base = json_object_get(parts, "base");
	snprintf(v, sizeof(v), "%" JSON_INTEGER_FORMAT,
	         json_is_integer(base) ? json_integer_value(base) : 100);
	json_array_append_new(list, json_pack("{s:s,s:s,s:b}", "label", "Start", "value", v, "counted", 1));
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(parts, "signals"), i, s)
	{
		const char *k = json_string_value(json_object_get(s, "kind"));
		int counted = json_is_true(json_object_get(s, "counted")) ||
		              json_integer_value(json_object_get(s, "counted")) == 1;
		snprintf(v, sizeof(v), "-%" JSON_INTEGER_FORMAT,
		         json_integer_value(json_object_get(s, "weight")));
		json_array_append_new(list, json_pack("{s:s,s:s,s:b}", "label",
		                                      dash_kind_title(k, k ? strlen(k) : 0), "value", v,
		                                      "counted", counted));
	}
	json_t *e = json_object_get(parts, "engagement");
	if (json_is_integer(e)) {
		snprintf(v, sizeof(v), "%+" JSON_INTEGER_FORMAT, json_integer_value(e));
		json_array_append_new(list, json_pack("{s:s,s:s,s:b}", "label",
		                                      "Engagement (recent activity vs. baseline)", "value", v,
		                                      "counted", 1));
	}
	json_decref(parts);
	return list;
}

static int load_health(struct store_tx *tx, struct str uid, json_t *out, int64_t *baseline)
{
	struct store_rows *r = NULL;
	*baseline = 0;
	if (store_query(
	        tx,
	        "SELECT health, band, parts, events_7d, baseline_weekly, evaluated_ms FROM user_health WHERE "
	        "workspace_id = $1 AND user_id = $2",
	        STORE_ARGS(SP_TEXTN(uid.p, uid.n)), &r) < 0)
		return -1;
	int st = store_step(r);
	json_t *h = json_null();
	if (st == 1) {
		size_t bn = 0, pn = 0;
		const char *band = store_col_text(r, 1, &bn);
		const char *parts = store_col_text(r, 2, &pn);
		*baseline = store_col_i64(r, 4);
		h = json_pack("{s:I,s:s,s:s,s:o,s:I,s:I,s:o}", "score", (json_int_t)store_col_i64(r, 0),
		              "band", band ? band : "", "band_title", dash_band_title(band), "parts",
		              parts_list(parts, pn), "events_7d", (json_int_t)store_col_i64(r, 3),
		              "baseline_weekly", (json_int_t)*baseline, "evaluated",
		              dash_when(store_col_i64(r, 5)));
	}
	store_rows_close(r);
	if (st < 0 || !h)
		return -1;
	json_object_set_new(out, "health", h);
	return 0;
}

static int load_activity(struct store_tx *tx, struct str uid, int64_t baseline, json_t *out)
{
	struct store_rows *r = NULL;
	int64_t today = dash_today(), from = today - ACTIVITY_DAYS + 1, counts[ACTIVITY_DAYS] = {0};
	if (store_query(tx,
	                "SELECT day, events FROM user_daily WHERE workspace_id = $1 AND user_id = $2 AND day "
	                ">= $3 AND "
	                "day <= $4",
	                STORE_ARGS(SP_TEXTN(uid.p, uid.n), SP_I64(from), SP_I64(today)), &r) < 0)
		return -1;
	int st;
	while ((st = store_step(r)) == 1) {
		int64_t d = store_col_i64(r, 0);
		if (d >= from && d <= today)
			counts[d - from] = store_col_i64(r, 1);
	}
	store_rows_close(r);
	if (st < 0)
		return -1;
	json_t *days = json_array();
	for (int i = 0; days && i < ACTIVITY_DAYS; i++) {
		char t[16];
		dash_day_text(from + i, t, sizeof(t));
		json_array_append_new(days,
		                      json_pack("{s:s,s:I}", "day", t, "events", (json_int_t)counts[i]));
	}
	json_t *a = json_pack("{s:o,s:I,s:f}", "days", days, "baseline_weekly", (json_int_t)baseline,
	                      "baseline_daily", (double)baseline / 7.0);
	if (!a)
		return -1;
	json_object_set_new(out, "activity", a);
	return 0;
}

/* evidence {"text": …, numbers…} → evidence text and [{"name","value"}]. */
static void evidence_into(json_t *sig, const char *text, size_t n)
{
	json_t *ev = text ? json_loadb(text, n, 0, NULL) : NULL;
	json_t *nums = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(ev, k, v)
	{
		if (strcmp(k, "text") != 0)
			json_array_append_new(nums,
			                      json_pack("{s:s,s:o}", "name", k, "value", value_text(v)));
	}
	json_t *t = json_object_get(ev, "text");
	json_object_set_new(sig, "evidence", json_string(json_is_string(t) ? json_string_value(t) : ""));
	json_object_set_new(sig, "numbers", nums);
	json_decref(ev);
}

static int load_signals(struct store_tx *tx, struct str uid, json_t *out)
{
	struct store_rows *r = NULL;
	json_t *list = json_array(), *by_id = json_object();
	int rc = -1;
	if (!list || !by_id || json_object_set_new(out, "signals", list) < 0) {
		json_decref(by_id);
		return -1;
	}
	if (store_query(tx,
	                "SELECT id, kind, state, severity, evidence, detected_ms, updated_ms, resolved_ms, "
	                "dismissed_ms, "
	                "dismiss_reason FROM signals WHERE workspace_id = $1 AND user_id = $2 ORDER BY "
	                "detected_ms DESC, "
	                "id DESC LIMIT $3",
	                STORE_ARGS(SP_TEXTN(uid.p, uid.n), SP_I64(SIGNALS_MAX)), &r) < 0)
		goto done;
	int st;
	while ((st = store_step(r)) == 1) {
		size_t kn = 0, sn = 0, en = 0, dn = 0;
		const char *kind = store_col_text(r, 1, &kn);
		const char *state = store_col_text(r, 2, &sn);
		const char *ev = store_col_text(r, 4, &en);
		const char *why = store_col_is_null(r, 9) ? "" : store_col_text(r, 9, &dn);
		json_t *s = json_pack(
		    "{s:I,s:s%,s:s,s:s%,s:I,s:o,s:o,s:o,s:o,s:s,s:b,s:[]}", "id",
		    (json_int_t)store_col_i64(r, 0), "kind", kind ? kind : "", kn, "title",
		    dash_kind_title(kind, kn), "state", state ? state : "", sn, "severity",
		    (json_int_t)store_col_i64(r, 3), "detected", dash_when(store_col_i64(r, 5)), "updated",
		    dash_when(store_col_i64(r, 6)), "resolved", dash_when(store_col_i64(r, 7)), "dismissed",
		    dash_when(store_col_i64(r, 8)), "dismiss_reason", why ? why : "", "open",
		    state && strcmp(state, "open") == 0, "history");
		if (!s || json_array_append_new(list, s) < 0)
			goto done;
		evidence_into(s, ev, en);
		char key[32];
		snprintf(key, sizeof(key), "%" PRId64, store_col_i64(r, 0));
		json_object_set(by_id, key, s);
	}
	store_rows_close(r);
	r = NULL;
	if (st < 0)
		goto done;
	if (store_query(
	        tx,
	        "SELECT signal_id, at_ms, change, detail FROM signal_history WHERE workspace_id = $1 AND "
	        "signal_id IN "
	        "(SELECT id FROM signals WHERE workspace_id = $1 AND user_id = $2) ORDER BY signal_id, seq",
	        STORE_ARGS(SP_TEXTN(uid.p, uid.n)), &r) < 0)
		goto done;
	while ((st = store_step(r)) == 1) {
		char key[32];
		snprintf(key, sizeof(key), "%" PRId64, store_col_i64(r, 0));
		json_t *s = json_object_get(by_id, key);
		if (!s)
			continue;
		size_t cn = 0, dn = 0;
		const char *ch = store_col_text(r, 2, &cn);
		const char *de = store_col_text(r, 3, &dn);
		json_array_append_new(json_object_get(s, "history"),
		                      json_pack("{s:o,s:s%,s:s%}", "at", dash_when(store_col_i64(r, 1)),
		                                "change", ch ? ch : "", cn, "detail", de ? de : "", dn));
	}
	if (st < 0)
		goto done;
	rc = 0;
done:
	store_rows_close(r);
	json_decref(by_id);
	return rc;
}

/* The user's latest events. There is deliberately no (user, id) index on events: it
 * would cost the ingest writer a random-position write per event (it doubled the
 * writer's cost per event). Event ids grow with the time received (ms * 1024 + a
 * counter), so the read walks the workspace's events received in the TIMELINE_WINDOW_MS
 * before the user's last change (tracked_users.changed_ms, else last_seen), newest
 * first, at most TIMELINE_SCAN_MAX rows, and keeps the user's. */
static int load_events(struct store_tx *tx, struct str uid, json_t *out)
{
	struct store_rows *r = NULL;
	json_t *list = json_array();
	if (!list || json_object_set_new(out, "events", list) < 0)
		return -1;
	int64_t last = 0;
	if (store_query_i64(tx,
	                    "SELECT CASE WHEN changed_ms > last_seen THEN changed_ms ELSE last_seen END FROM "
	                    "tracked_users WHERE workspace_id = $1 AND user_id = $2",
	                    STORE_ARGS(SP_TEXTN(uid.p, uid.n)), &last) < 0)
		return -1;
	if (last <= 0)
		return 0;
	int64_t hi = (last + TIMELINE_SKEW_MS) * 1024, lo = (last - TIMELINE_WINDOW_MS) * 1024;
	json_object_set_new(out, "events_window_hours", json_integer(TIMELINE_WINDOW_MS / 3600000));
	if (store_query(tx,
	                "SELECT type, name, properties, event_ms FROM (SELECT id, user_id, type, name, "
	                "properties, event_ms FROM events WHERE workspace_id = $1 AND id >= $3 AND id < $4 "
	                "ORDER BY id DESC LIMIT $5) recent WHERE user_id = $2 ORDER BY id DESC LIMIT $6",
	                STORE_ARGS(SP_TEXTN(uid.p, uid.n), SP_I64(lo), SP_I64(hi), SP_I64(TIMELINE_SCAN_MAX),
	                           SP_I64(TIMELINE_MAX)),
	                &r) < 0)
		return -1;
	int st;
	while ((st = store_step(r)) == 1) {
		size_t tn = 0, nn = 0, pn = 0;
		const char *type = store_col_text(r, 0, &tn);
		const char *name = store_col_text(r, 1, &nn);
		const char *props = store_col_text(r, 2, &pn);
		if (!props || (pn == 2 && memcmp(props, "{}", 2) == 0))
			props = "", pn = 0;
		int cut = pn > PROPS_SHOWN;
		if (cut) { /* cut at a UTF-8 boundary */
			pn = PROPS_SHOWN;
			while (pn > 0 && ((unsigned char)props[pn] & 0xC0) == 0x80)
				pn--;
		}
		json_t *e = json_pack("{s:s%,s:s%,s:o,s:s%,s:b}", "type", type ? type : "", tn, "name",
		                      name ? name : "", nn, "when", dash_when(store_col_i64(r, 3)),
		                      "properties", props, pn, "cut", cut);
		if (!e || json_array_append_new(list, e) < 0) {
			store_rows_close(r);
			return -1;
		}
	}
	store_rows_close(r);
	return st < 0 ? -1 : 0;
}

static int load_traits(struct store_tx *tx, struct str uid, json_t *out)
{
	struct store_rows *r = NULL;
	json_t *list = json_array();
	if (!list || json_object_set_new(out, "trait_history", list) < 0)
		return -1;
	if (store_query(tx,
	                "SELECT at_ms, signed, traits FROM tracked_user_traits WHERE workspace_id = $1 AND "
	                "user_id = $2 "
	                "ORDER BY id DESC LIMIT $3",
	                STORE_ARGS(SP_TEXTN(uid.p, uid.n), SP_I64(TRAITS_MAX)), &r) < 0)
		return -1;
	int st;
	while ((st = store_step(r)) == 1) {
		size_t tn = 0;
		const char *t = store_col_text(r, 2, &tn);
		json_t *e = json_pack("{s:o,s:b,s:s%}", "at", dash_when(store_col_i64(r, 0)), "signed",
		                      store_col_i64(r, 1) == 1, "traits", t ? t : "", tn);
		if (!e || json_array_append_new(list, e) < 0) {
			store_rows_close(r);
			return -1;
		}
	}
	store_rows_close(r);
	return st < 0 ? -1 : 0;
}

static int load_notes(struct http_request *req, struct store_tx *tx, struct str uid, json_t *out)
{
	struct store_rows *r = NULL;
	json_t *list = json_array();
	if (!list || json_object_set_new(out, "notes", list) < 0)
		return -1;
	if (store_query(
	        tx,
	        "SELECT n.id, n.body_sealed, n.created_at, a.name, a.email FROM user_notes n LEFT JOIN "
	        "accounts a ON a.id = n.account_id WHERE n.workspace_id = $1 AND n.user_id = $2 ORDER BY "
	        "n.created_at DESC, n.id DESC LIMIT $3",
	        STORE_ARGS(SP_TEXTN(uid.p, uid.n), SP_I64(NOTES_MAX)), &r) < 0)
		return -1;
	int st;
	while ((st = store_step(r)) == 1) {
		size_t bn = 0, an = 0;
		char key[32];
		snprintf(key, sizeof(key), "%" PRId64, store_col_i64(r, 0));
		const char *body = store_col_text(r, 1, &bn);
		const char *author = store_col_is_null(r, 3) ? NULL : store_col_text(r, 3, &an);
		if (!author || !*author)
			author = store_col_is_null(r, 4) ? "(a former member)" : store_col_text(r, 4, &an);
		json_t *e = json_pack("{s:I,s:s,s:o,s:o}", "id", (json_int_t)store_col_i64(r, 0), "author",
		                      author, "created", dash_when(store_col_i64(r, 2)), "body",
		                      dash_unseal(req, "user_notes", "body_sealed", key, body));
		if (!e || json_array_append_new(list, e) < 0) {
			store_rows_close(r);
			return -1;
		}
	}
	store_rows_close(r);
	return st < 0 ? -1 : 0;
}

static int build(struct http_request *req, struct store_tx *tx, json_t *out, struct dash_fail *f)
{
	struct str uid;
	int found = 0;
	int64_t baseline = 0;
	if (request_uid(req, &uid) < 0)
		return dash_not_found(f, "no such user in this workspace");
	if (load_user(req, tx, uid, out, &found) < 0)
		return -1;
	if (!found)
		return dash_not_found(f, "no such user in this workspace");
	if (load_health(tx, uid, out, &baseline) < 0 || load_activity(tx, uid, baseline, out) < 0 ||
	    load_signals(tx, uid, out) < 0 || load_events(tx, uid, out) < 0 ||
	    load_traits(tx, uid, out) < 0 || load_notes(req, tx, uid, out) < 0)
		return -1;
	return 0;
}

static int html(struct http_request *req, json_t *ctx)
{
	json_t *a = json_object_get(ctx, "activity");
	json_t *days = json_object_get(a, "days");
	double v[ACTIVITY_DAYS];
	size_t n = 0;
	for (size_t i = 0; i < json_array_size(days) && n < ACTIVITY_DAYS; i++)
		v[n++] = (double)json_integer_value(json_object_get(json_array_get(days, i), "events"));
	if (n == 0)
		return -1;
	int64_t base = json_integer_value(json_object_get(a, "baseline_weekly"));
	char desc[240];
	double daily = (double)base / 7.0;
	snprintf(desc, sizeof(desc), "Events per day over the last %zu days. %s", n,
	         base > 0
	             ? "The shaded band runs from half the user's usual daily average (where usage counts as "
	               "dropped) up to that average."
	             : "No baseline yet.");
	struct chart_line_spec c = {
	    .id = "activity",
	    .title = "Activity, last 35 days",
	    .desc = desc,
	    .values = v,
	    .n = n,
	    .x_first = json_string_value(json_object_get(json_array_get(days, 0), "day")),
	    .x_last = json_string_value(json_object_get(json_array_get(days, n - 1), "day")),
	    .has_band = base > 0,
	    .band_lo = daily / 2,
	    .band_hi = daily,
	    .band_label = "usual daily events down to half",
	};
	json_t *chart = chart_line(&c);
	if (!chart)
		return -1;
	json_object_set_new(ctx, "activity_chart", chart);
	json_object_set_new(ctx, "can_act", json_boolean(perm_allows(req->auth.role, PERM_SIGNALS_ACT)));
	json_object_set_new(ctx, "note_max", json_integer(USER_NOTE_MAX));
	json_object_set_new(ctx, "reason_max", json_integer(DETECT_REASON_MAX));
	json_object_set_new(ctx, "has_signals",
	                    json_boolean(json_array_size(json_object_get(ctx, "signals")) > 0));
	json_object_set_new(ctx, "has_events_list",
	                    json_boolean(json_array_size(json_object_get(ctx, "events")) > 0));
	return 0;
}

int user_page(struct http_request *req, struct http_response *res)
{
	return dash_serve(req, res, 1, "users", "user", "User", build, html);
}

int user_api(struct http_request *req, struct http_response *res)
{
	return dash_serve(req, res, 0, NULL, NULL, NULL, build, NULL);
}

/* ---- notes ---- */

/* Adds the note; 0 with *id, 1 (f filled), -1 store/seal failure. */
static int add_note(struct http_request *req, struct str uid, struct str body, int64_t *id,
                    struct dash_fail *f)
{
	struct store_tx *tx = NULL;
	char *sealed = NULL;
	int64_t exists = 0, next = 0;
	if (body.n == 0 || body.n > USER_NOTE_MAX)
		return dash_bad(f, "body", "body: a note has 1 to 2000 bytes");
	if (req_begin_ws(req, STORE_WRITE, &tx) < 0)
		return -1;
	int e = store_query_i64(tx, "SELECT 1 FROM tracked_users WHERE workspace_id = $1 AND user_id = $2",
	                        STORE_ARGS(SP_TEXTN(uid.p, uid.n)), &exists);
	if (e < 0)
		goto fail;
	if (e == 0) {
		store_rollback(tx);
		return dash_not_found(f, "no such user in this workspace");
	}
	next = store_random_id(); /* random: concurrent notes never race for an id */
	char key[32];
	snprintf(key, sizeof(key), "%" PRId64, next);
	struct seal_ad ad = {"workspace", req->auth.workspace_id, "user_notes", "body_sealed", key};
	if (seal_value(req->inst->keys, &ad, (const uint8_t *)body.p, body.n, &sealed) < 0)
		goto fail;
	if (store_exec(tx,
	               "INSERT INTO user_notes (workspace_id, id, user_id, account_id, body_sealed, "
	               "created_at) VALUES "
	               "($1, $2, $3, $4, $5, $6)",
	               STORE_ARGS(SP_I64(next), SP_TEXTN(uid.p, uid.n), SP_I64(req->auth.account_id),
	                          SP_TEXT(sealed), SP_I64(clock_now_ms()))) < 0)
		goto fail;
	char target[LIMIT_INGEST_ID + 1];
	snprintf(target, sizeof(target), "%.*s", (int)uid.n, uid.p);
	if (shell_audit(req, tx, "note.added", target,
	                json_pack("{s:I,s:I}", "note_id", (json_int_t)next, "bytes", (json_int_t)body.n)) < 0)
		goto fail;
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	free(sealed);
	*id = next;
	return 0;
fail:
	store_rollback(tx);
	free(sealed);
	return -1;
}

int user_note_add(struct http_request *req, struct http_response *res)
{
	struct str uid, body = {"", 0};
	struct dash_fail f = {0};
	int64_t id = 0;
	if (request_uid(req, &uid) < 0)
		return http_reply_error(req, res, 404, "not_found", "no such user in this workspace", NULL);
	if (!perm_allows(req->auth.role, PERM_SIGNALS_ACT))
		return http_reply_error(req, res, 403, "forbidden",
		                        "your role in this workspace does not allow this", NULL);
	if (!req->form || form_count(req->form, "body") != 1 || form_get(req->form, "body", 0, &body) < 0)
		return http_reply_error(req, res, 400, "invalid_parameter",
		                        "body: a note has 1 to 2000 bytes", "/body");
	int rc = add_note(req, uid, body, &id, &f);
	if (rc < 0)
		return req_db_error(req, res);
	if (rc > 0)
		return http_reply_error(req, res, f.status, f.code, f.message, f.field[0] ? "/body" : NULL);
	json_t *href = dash_user_href(req->auth.workspace_id, uid.p, uid.n);
	char loc[1024];
	snprintf(loc, sizeof(loc), "%s#notes", json_string_value(href) ? json_string_value(href) : "/");
	json_decref(href);
	return shell_redirect(req, res, loc, FLASH_NOTE_ADDED);
}

int user_note_add_api(struct http_request *req, struct http_response *res)
{
	struct str uid, body = {"", 0};
	struct dash_fail f = {0};
	struct jsonin_error err = {0};
	json_t *doc = NULL;
	int64_t id = 0;
	req->wants_html = 0;
	if (request_uid(req, &uid) < 0)
		return http_reply_error(req, res, 404, "not_found", "no such user in this workspace", NULL);
	if (!perm_allows(req->auth.role, PERM_SIGNALS_ACT))
		return http_reply_error(req, res, 403, "forbidden",
		                        "your role in this workspace does not allow this", NULL);
	if (jsonin_load(req->body.p, req->body.n, http_body_limit(BODY_JSON), &doc, &err) < 0)
		return http_reply_json(res, jsonin_error_status(&err), jsonin_error_json(&err));
	json_t *b = json_object_get(doc, "body");
	if (!json_is_object(doc) || json_object_size(doc) != 1 || !json_is_string(b)) {
		json_decref(doc);
		return http_reply_error(req, res, 400, "invalid_field", "expected {\"body\": \"…\"}",
		                        "/body");
	}
	body = (struct str){json_string_value(b), json_string_length(b)};
	int rc = add_note(req, uid, body, &id, &f);
	json_decref(doc);
	if (rc < 0)
		return req_db_error(req, res);
	if (rc > 0)
		return http_reply_error(req, res, f.status, f.code, f.message, f.field[0] ? "/body" : NULL);
	return http_reply_json(res, 201, json_pack("{s:I}", "id", (json_int_t)id));
}
