#include "web/users_page.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/install.h"
#include "core/limits.h"
#include "core/parse.h"
#include "detect/detect.h"
#include "ingest/ingest_identify.h"
#include "store/store.h"
#include "web/dash.h"
#include "web/shell.h"

#define PAGE_MAX 100000 /* ?page= bound: deeper than any useful offset */
#define PLAN_MAX 64     /* bytes of a ?plan= filter */

/* The row columns every statement below returns, in this order:
 * 0 user_id, 1 health (NULL = not evaluated), 2 band, 3 open_count, 4 open_kinds,
 * 5 first_seen, 6 last_seen, 7 traits, 8 row_key, 9 name_sealed, 10 email_sealed,
 * 11 email_verified, 12 events (sum of the daily aggregates). Parameters: $2 band,
 * $3 open_kinds LIKE pattern, $4 plan ('' = no filter), $5 limit, $6 offset. Each sort
 * orders inside a subquery on user_health (its indexes) before joining the 100 rows. */
enum sort { SORT_LAST_SEEN = 0, SORT_HEALTH, SORT_WORTH, SORT_MRR, SORT_PLAN, SORT_SIGNALS, SORT_N };

static const struct {
	const char *id, *label;
} sorts[SORT_N] = {
    [SORT_LAST_SEEN] = {"last_seen", "Last seen, newest first"},
    [SORT_HEALTH] = {"health", "Health, lowest first"},
    [SORT_WORTH] = {"worth", "Most worth saving first"},
    [SORT_MRR] = {"mrr", "MRR, highest first"},
    [SORT_PLAN] = {"plan", "Plan, A to Z"},
    [SORT_SIGNALS] = {"signals", "Open signals, most first"},
};

static const char *const sql_by_sort[SORT_N] = {
    [SORT_LAST_SEEN] =
        "SELECT t.user_id, h.health, h.band, h.open_count, h.open_kinds, t.first_seen, t.last_seen, "
        "t.traits, "
        "t.row_key, t.name_sealed, t.email_sealed, t.email_verified, (SELECT coalesce(sum(d.events), 0) FROM "
        "user_daily d WHERE d.workspace_id = $1 AND d.user_id = t.user_id) FROM (SELECT user_id, first_seen, "
        "last_seen, traits, row_key, name_sealed, email_sealed, email_verified FROM tracked_users WHERE "
        "workspace_id = $1 AND $2 = '' AND $3 = '' AND $4 = '' ORDER BY last_seen DESC, user_id LIMIT $5 "
        "OFFSET "
        "$6) t LEFT JOIN user_health h ON h.workspace_id = $1 AND h.user_id = t.user_id ORDER BY t.last_seen "
        "DESC, t.user_id",
    [SORT_HEALTH] =
        "SELECT h.user_id, h.health, h.band, h.open_count, h.open_kinds, t.first_seen, t.last_seen, "
        "t.traits, "
        "t.row_key, t.name_sealed, t.email_sealed, t.email_verified, (SELECT coalesce(sum(d.events), 0) FROM "
        "user_daily d WHERE d.workspace_id = $1 AND d.user_id = h.user_id) FROM (SELECT user_id, health, "
        "band, "
        "open_count, open_kinds FROM user_health WHERE workspace_id = $1 AND ($2 = '' OR band = $2) AND ($3 "
        "= "
        "'' OR open_kinds LIKE $3) AND ($4 = '' OR plan = $4) ORDER BY health, user_id LIMIT $5 OFFSET $6) h "
        "JOIN tracked_users t ON t.workspace_id = $1 AND t.user_id = h.user_id ORDER BY h.health, h.user_id",
    [SORT_WORTH] =
        "SELECT h.user_id, h.health, h.band, h.open_count, h.open_kinds, t.first_seen, t.last_seen, "
        "t.traits, "
        "t.row_key, t.name_sealed, t.email_sealed, t.email_verified, (SELECT coalesce(sum(d.events), 0) FROM "
        "user_daily d WHERE d.workspace_id = $1 AND d.user_id = h.user_id) FROM (SELECT user_id, health, "
        "band, "
        "open_count, open_kinds, worth, first_open_ms FROM user_health WHERE workspace_id = $1 AND ($2 = '' "
        "OR "
        "band = $2) AND ($3 = '' OR open_kinds LIKE $3) AND ($4 = '' OR plan = $4) ORDER BY worth DESC, "
        "first_open_ms, user_id LIMIT $5 OFFSET $6) h JOIN tracked_users t ON t.workspace_id = $1 AND "
        "t.user_id "
        "= h.user_id ORDER BY h.worth DESC, h.first_open_ms, h.user_id",
    [SORT_MRR] =
        "SELECT h.user_id, h.health, h.band, h.open_count, h.open_kinds, t.first_seen, t.last_seen, "
        "t.traits, "
        "t.row_key, t.name_sealed, t.email_sealed, t.email_verified, (SELECT coalesce(sum(d.events), 0) FROM "
        "user_daily d WHERE d.workspace_id = $1 AND d.user_id = h.user_id) FROM (SELECT user_id, health, "
        "band, "
        "open_count, open_kinds, mrr FROM user_health WHERE workspace_id = $1 AND ($2 = '' OR band = $2) AND "
        "($3 = '' OR open_kinds LIKE $3) AND ($4 = '' OR plan = $4) ORDER BY mrr DESC, user_id LIMIT $5 "
        "OFFSET "
        "$6) h JOIN tracked_users t ON t.workspace_id = $1 AND t.user_id = h.user_id ORDER BY h.mrr DESC, "
        "h.user_id",
    [SORT_PLAN] =
        "SELECT h.user_id, h.health, h.band, h.open_count, h.open_kinds, t.first_seen, t.last_seen, "
        "t.traits, "
        "t.row_key, t.name_sealed, t.email_sealed, t.email_verified, (SELECT coalesce(sum(d.events), 0) FROM "
        "user_daily d WHERE d.workspace_id = $1 AND d.user_id = h.user_id) FROM (SELECT user_id, health, "
        "band, "
        "open_count, open_kinds, plan FROM user_health WHERE workspace_id = $1 AND ($2 = '' OR band = $2) "
        "AND "
        "($3 = '' OR open_kinds LIKE $3) AND ($4 = '' OR plan = $4) ORDER BY plan, user_id LIMIT $5 OFFSET "
        "$6) "
        "h JOIN tracked_users t ON t.workspace_id = $1 AND t.user_id = h.user_id ORDER BY h.plan, h.user_id",
    [SORT_SIGNALS] =
        "SELECT h.user_id, h.health, h.band, h.open_count, h.open_kinds, t.first_seen, t.last_seen, "
        "t.traits, "
        "t.row_key, t.name_sealed, t.email_sealed, t.email_verified, (SELECT coalesce(sum(d.events), 0) FROM "
        "user_daily d WHERE d.workspace_id = $1 AND d.user_id = h.user_id) FROM (SELECT user_id, health, "
        "band, "
        "open_count, open_kinds FROM user_health WHERE workspace_id = $1 AND ($2 = '' OR band = $2) AND ($3 "
        "= "
        "'' OR open_kinds LIKE $3) AND ($4 = '' OR plan = $4) ORDER BY open_count DESC, health, user_id "
        "LIMIT "
        "$5 OFFSET $6) h JOIN tracked_users t ON t.workspace_id = $1 AND t.user_id = h.user_id ORDER BY "
        "h.open_count DESC, h.health, h.user_id",
};

/* Last seen with a filter: walks tracked_users_last_seen newest first (CROSS JOIN keeps
 * SQLite's loop order) and probes each user's health until the page is full. */
static const char sql_last_seen_filtered[] =
    "SELECT h.user_id, h.health, h.band, h.open_count, h.open_kinds, t.first_seen, t.last_seen, t.traits, "
    "t.row_key, t.name_sealed, t.email_sealed, t.email_verified, (SELECT coalesce(sum(d.events), 0) FROM "
    "user_daily d WHERE d.workspace_id = $1 AND d.user_id = t.user_id) FROM tracked_users t CROSS JOIN "
    "user_health h WHERE t.workspace_id = $1 AND h.workspace_id = $1 AND h.user_id = t.user_id AND ($2 = '' "
    "OR "
    "h.band = $2) AND ($3 = '' OR h.open_kinds LIKE $3) AND ($4 = '' OR h.plan = $4) ORDER BY t.last_seen "
    "DESC, "
    "t.user_id LIMIT $5 OFFSET $6";

/* Small filtered sets (at most SMALL_SET users match the most selective filter): the set
 * is read through that filter's index and sorted whole, since walking a sort index and
 * probing would visit most users to fill a page. $7 names the sort; $2 band, $4 plan as
 * above; $3 is the LIKE pattern, except in sql_small_kind where it is the kind id (an
 * open signal of it: at most one live per user and kind). */
#define SMALL_SET 5000
static const char sql_small_kind[] =
    "SELECT h.user_id, h.health, h.band, h.open_count, h.open_kinds, t.first_seen, t.last_seen, "
    "t.traits, t.row_key, t.name_sealed, t.email_sealed, t.email_verified, (SELECT "
    "coalesce(sum(d.events), 0) FROM user_daily d WHERE d.workspace_id = $1 AND d.user_id = h.user_id) "
    "FROM signals s JOIN user_health h ON h.workspace_id = $1 AND h.user_id = s.user_id JOIN "
    "tracked_users t ON t.workspace_id = $1 AND t.user_id = s.user_id WHERE s.workspace_id = $1 AND "
    "s.state = 'open' AND s.kind = $3 AND ($2 = '' OR h.band = $2) AND ($4 = '' OR h.plan = $4) ORDER BY "
    "CASE WHEN $7 = 'last_seen' THEN t.last_seen END DESC, CASE WHEN $7 = 'health' THEN h.health END, "
    "CASE WHEN $7 = 'worth' THEN h.worth END DESC, CASE WHEN $7 = 'worth' THEN h.first_open_ms END, CASE "
    "WHEN $7 = 'mrr' THEN h.mrr END DESC, CASE WHEN $7 = 'plan' THEN h.plan END, CASE WHEN $7 = "
    "'signals' THEN h.open_count END DESC, CASE WHEN $7 = 'signals' THEN h.health END, h.user_id LIMIT "
    "$5 OFFSET $6";
static const char sql_small_plan[] =
    "SELECT h.user_id, h.health, h.band, h.open_count, h.open_kinds, t.first_seen, t.last_seen, "
    "t.traits, t.row_key, t.name_sealed, t.email_sealed, t.email_verified, (SELECT "
    "coalesce(sum(d.events), 0) FROM user_daily d WHERE d.workspace_id = $1 AND d.user_id = h.user_id) "
    "FROM user_health h JOIN tracked_users t ON t.workspace_id = $1 AND t.user_id = h.user_id WHERE "
    "h.workspace_id = $1 AND h.plan = $4 AND ($2 = '' OR h.band = $2) AND ($3 = '' OR h.open_kinds LIKE "
    "$3) ORDER BY CASE WHEN $7 = 'last_seen' THEN t.last_seen END DESC, CASE WHEN $7 = 'health' THEN "
    "h.health END, CASE WHEN $7 = 'worth' THEN h.worth END DESC, CASE WHEN $7 = 'worth' THEN "
    "h.first_open_ms END, CASE WHEN $7 = 'mrr' THEN h.mrr END DESC, CASE WHEN $7 = 'plan' THEN h.plan "
    "END, CASE WHEN $7 = 'signals' THEN h.open_count END DESC, CASE WHEN $7 = 'signals' THEN h.health "
    "END, h.user_id LIMIT $5 OFFSET $6";
static const char sql_small_band[] =
    "SELECT h.user_id, h.health, h.band, h.open_count, h.open_kinds, t.first_seen, t.last_seen, "
    "t.traits, t.row_key, t.name_sealed, t.email_sealed, t.email_verified, (SELECT "
    "coalesce(sum(d.events), 0) FROM user_daily d WHERE d.workspace_id = $1 AND d.user_id = h.user_id) "
    "FROM user_health h JOIN tracked_users t ON t.workspace_id = $1 AND t.user_id = h.user_id WHERE "
    "h.workspace_id = $1 AND h.band = $2 AND ($3 = '' OR h.open_kinds LIKE $3) AND ($4 = '' OR h.plan = "
    "$4) ORDER BY CASE WHEN $7 = 'last_seen' THEN t.last_seen END DESC, CASE WHEN $7 = 'health' THEN "
    "h.health END, CASE WHEN $7 = 'worth' THEN h.worth END DESC, CASE WHEN $7 = 'worth' THEN "
    "h.first_open_ms END, CASE WHEN $7 = 'mrr' THEN h.mrr END DESC, CASE WHEN $7 = 'plan' THEN h.plan "
    "END, CASE WHEN $7 = 'signals' THEN h.open_count END DESC, CASE WHEN $7 = 'signals' THEN h.health "
    "END, h.user_id LIMIT $5 OFFSET $6";

/* One exact user ($2). */
static const char sql_one[] =
    "SELECT t.user_id, h.health, h.band, h.open_count, h.open_kinds, t.first_seen, t.last_seen, t.traits, "
    "t.row_key, t.name_sealed, t.email_sealed, t.email_verified, (SELECT coalesce(sum(d.events), 0) FROM "
    "user_daily d WHERE d.workspace_id = $1 AND d.user_id = t.user_id) FROM tracked_users t LEFT JOIN "
    "user_health h ON h.workspace_id = $1 AND h.user_id = t.user_id WHERE t.workspace_id = $1 AND t.user_id "
    "= $2";

struct params {
	const char *q;
	enum sort sort;
	const char *band;
	const char *kind;
	const char *plan;
	int64_t page;
	char like[40];
};

/* A trait shown as text: a string as is, a number formatted, anything else "". */
static json_t *trait_text(json_t *traits, const char *key)
{
	json_t *v = json_object_get(traits, key);
	char num[64];
	if (json_is_string(v))
		return json_stringn(json_string_value(v), json_string_length(v));
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return json_string(num);
	}
	if (json_is_real(v)) {
		snprintf(num, sizeof(num), "%.2f", json_real_value(v));
		return json_string(num);
	}
	return json_string("");
}

/* ",a,b," → ["Title a", …] as [{"kind","title"}]. */
static json_t *kinds_json(const char *kinds, size_t n)
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
			json_array_append_new(list, json_pack("{s:s%,s:s}", "kind", kinds + i, j - i, "title",
			                                      dash_kind_title(kinds + i, j - i)));
		i = j;
	}
	return list;
}

static json_t *row_json(struct http_request *req, struct store_rows *r)
{
	size_t idn = 0, tn = 0, bn = 0, kn = 0;
	const char *id = store_col_text(r, 0, &idn);
	int evaluated = !store_col_is_null(r, 1);
	const char *band = evaluated ? store_col_text(r, 2, &bn) : NULL;
	const char *kinds = evaluated ? store_col_text(r, 4, &kn) : NULL;
	const char *traits_text = store_col_text(r, 7, &tn);
	json_t *traits = traits_text ? json_loadb(traits_text, tn, 0, NULL) : NULL;
	json_t *row = json_pack(
	    "{s:s%,s:o,s:o,s:o,s:o,s:o,s:I,s:o,s:s,s:s,s:I,s:o}", "id", id ? id : "", idn, "href",
	    dash_user_href(req->auth.workspace_id, id ? id : "", idn), "plan", trait_text(traits, "plan"),
	    "mrr", trait_text(traits, "mrr"), "first_seen", dash_when(store_col_i64(r, 5)), "last_seen",
	    dash_when(store_col_i64(r, 6)), "events", (json_int_t)store_col_i64(r, 12), "health",
	    evaluated ? json_integer(store_col_i64(r, 1)) : json_null(), "band", band ? band : "",
	    "band_title", band ? dash_band_title(band) : "", "open_signals",
	    (json_int_t)(evaluated ? store_col_i64(r, 3) : 0), "kinds", kinds_json(kinds ? kinds : "", kn));
	json_decref(traits);
	const char *rk = store_col_text(r, 8, &tn);
	const char *nm = store_col_is_null(r, 9) ? NULL : store_col_text(r, 9, &tn);
	const char *em = store_col_is_null(r, 10) ? NULL : store_col_text(r, 10, &tn);
	if (row &&
	    (json_object_set_new(row, "name", dash_unseal(req, "tracked_users", "name_sealed", rk, nm)) < 0 ||
	     json_object_set_new(row, "email", dash_unseal(req, "tracked_users", "email_sealed", rk, em)) <
	         0 ||
	     json_object_set_new(row, "unverified", json_boolean(em && store_col_i64(r, 11) != 1)) < 0)) {
		json_decref(row);
		return NULL;
	}
	return row;
}

/* Reads and checks the query parameters. 0, or 1 with f filled. */
static int read_params(struct http_request *req, struct params *p, struct dash_fail *f)
{
	memset(p, 0, sizeof(*p));
	p->page = 1;
	const char *v;
	p->q = http_query(req, "q");
	if (p->q && !*p->q)
		p->q = NULL;
	if (p->q && strlen(p->q) > LIMIT_INGEST_ID)
		return dash_bad(f, "q", "q: a user id or e-mail has at most 256 bytes");
	if ((v = http_query(req, "page")) && *v && parse_i64_cstr(v, 1, PAGE_MAX, &p->page) < 0)
		return dash_bad(f, "page", "page: a whole number from 1 to 100000");
	p->sort = SORT_LAST_SEEN;
	if ((v = http_query(req, "sort")) && *v) {
		int found = 0;
		for (int i = 0; i < SORT_N && !found; i++)
			if (strcmp(v, sorts[i].id) == 0)
				p->sort = (enum sort)i, found = 1;
		if (!found)
			return dash_bad(f, "sort",
			                "sort: one of last_seen, health, worth, mrr, plan, signals");
	}
	p->band = "";
	if ((v = http_query(req, "band")) && *v) {
		if (strcmp(v, "healthy") != 0 && strcmp(v, "watch") != 0 && strcmp(v, "at_risk") != 0)
			return dash_bad(f, "band", "band: one of healthy, watch, at_risk");
		p->band = v;
	}
	p->kind = "";
	if ((v = http_query(req, "kind")) && *v) {
		enum detect_kind k;
		if (detect_kind_parse(v, strlen(v), &k) < 0)
			return dash_bad(f, "kind", "kind: a signal id such as usage_drop or gone_quiet");
		p->kind = detect_kind_id(k);
		snprintf(p->like, sizeof(p->like), "%%,%s,%%", p->kind);
	}
	p->plan = "";
	if ((v = http_query(req, "plan")) && *v) {
		if (strlen(v) > PLAN_MAX)
			return dash_bad(f, "plan", "plan: at most 64 bytes");
		p->plan = v;
	}
	return 0;
}

/* "/w/<ws>/users?sort=…&band=…&page=…" with the current filters, sort s and page pg
 * (the default sort and page 1 left out). */
static json_t *list_href(struct http_request *req, const struct params *p, enum sort s, int64_t pg)
{
	struct buf b;
	char base[48];
	buf_init(&b, 0);
	shell_ws_href(req->auth.workspace_id, base, sizeof(base));
	int rc = buf_printf(&b, "%s/users", base);
	char sep = '?';
	if (rc == 0 && s != SORT_LAST_SEEN) {
		rc = buf_printf(&b, "%csort=%s", sep, sorts[s].id);
		sep = '&';
	}
	const char *names[3] = {"band", "kind", "plan"};
	const char *vals[3] = {p->band, p->kind, p->plan};
	for (int i = 0; i < 3 && rc == 0; i++) {
		if (!*vals[i])
			continue;
		rc = (buf_printf(&b, "%c%s=", sep, names[i]) < 0 ||
		      dash_url_encode(&b, vals[i], strlen(vals[i])) < 0)
		         ? -1
		         : 0;
		sep = '&';
	}
	if (rc == 0 && pg > 1)
		rc = buf_printf(&b, "%cpage=%" PRId64, sep, pg);
	json_t *v = rc == 0 ? json_stringn(b.p, b.n) : NULL;
	buf_free(&b);
	return v;
}

/* SMALL_SET; test builds take DROPFIX_TEST_USERS_SMALL_SET (-1: never the small-set
 * statements), so tests on a few users can check both plans give the same rows. */
static int64_t small_set_max(void)
{
#ifdef DROPFIX_TEST_HOOKS
	int64_t v;
	if (parse_i64_cstr(getenv("DROPFIX_TEST_USERS_SMALL_SET"), -1, INT64_MAX, &v) == 0)
		return v;
#endif
	return SMALL_SET;
}

/* The small-set statement for the most selective filter when it matches at most SMALL_SET
 * users (counted on that filter's index), else *out = NULL. 0 or -1. */
static int pick_small(struct store_tx *tx, const struct params *p, const char **out)
{
	/* each filter set: how many rows its index holds, and the small-set query over it */
	const struct {
		const char *value, *count_sql, *small_sql;
	} f[] = {
	    {p->kind, "SELECT count(*) FROM signals WHERE workspace_id = $1 AND state = 'open' AND kind = $2",
	     sql_small_kind},
	    {p->plan, "SELECT count(*) FROM user_health WHERE workspace_id = $1 AND plan = $2", sql_small_plan},
	    {p->band, "SELECT count(*) FROM user_health WHERE workspace_id = $1 AND band = $2", sql_small_band},
	};
	int64_t best = INT64_MAX, n = 0;
	*out = NULL;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (!*f[i].value)
			continue;
		if (store_query_i64(tx, f[i].count_sql, STORE_ARGS(SP_TEXT(f[i].value)), &n) < 0)
			return -1;
		if (n < best)
			best = n, *out = f[i].small_sql;
	}
	if (best > small_set_max())
		*out = NULL;
	return 0;
}

static int build(struct http_request *req, struct store_tx *tx, json_t *out, struct dash_fail *f)
{
	struct params p;
	struct store_rows *r = NULL;
	char *by_email = NULL;
	int rc = -1;
	if (read_params(req, &p, f) != 0)
		return 1;
	const char *q = p.q;
	if (q && strchr(q, '@')) { /* an exact e-mail: the blind index names the user */
		int found = ingest_identify_find_email(tx, req->inst->keys, req->auth.workspace_id, q,
		                                       strlen(q), &by_email);
		if (found < 0)
			return -1;
		if (found == 1)
			q = by_email;
	}
	int filtered = *p.band || *p.kind || *p.plan;
	int qrc;
	const char *small = NULL;
	if (!q && filtered && pick_small(tx, &p, &small) < 0)
		return -1;
	int64_t limit = LIMIT_ROWS_PER_PAGE + 1, offset = (p.page - 1) * LIMIT_ROWS_PER_PAGE;
	if (q)
		qrc = store_query(tx, sql_one, STORE_ARGS(SP_TEXT(q)), &r);
	else if (small)
		qrc = store_query(
		    tx, small,
		    STORE_ARGS(SP_TEXT(p.band), SP_TEXT(small == sql_small_kind ? p.kind : p.like),
		               SP_TEXT(p.plan), SP_I64(limit), SP_I64(offset), SP_TEXT(sorts[p.sort].id)),
		    &r);
	else
		qrc = store_query(
		    tx, p.sort == SORT_LAST_SEEN && filtered ? sql_last_seen_filtered : sql_by_sort[p.sort],
		    STORE_ARGS(SP_TEXT(p.band), SP_TEXT(p.like), SP_TEXT(p.plan), SP_I64(limit),
		               SP_I64(offset)),
		    &r);
	if (qrc < 0)
		goto done;
	json_t *list = json_array();
	if (!list || json_object_set_new(out, "users", list) < 0)
		goto done;
	int st, n = 0, has_next = 0;
	while ((st = store_step(r)) == 1) {
		if (++n > LIMIT_ROWS_PER_PAGE) {
			has_next = 1;
			continue;
		}
		json_t *row = row_json(req, r);
		if (!row || json_array_append_new(list, row) < 0)
			goto done;
	}
	if (st < 0)
		goto done;
	json_object_set_new(out, "q", json_string(p.q ? p.q : ""));
	json_object_set_new(out, "searched", json_boolean(p.q != NULL));
	json_object_set_new(out, "sort", json_string(sorts[p.sort].id));
	json_object_set_new(out, "band", json_string(p.band));
	json_object_set_new(out, "kind", json_string(p.kind));
	json_object_set_new(out, "plan", json_string(p.plan));
	json_object_set_new(out, "filtered", json_boolean(filtered));
	json_object_set_new(out, "page", json_integer(p.page));
	json_object_set_new(out, "per_page", json_integer(LIMIT_ROWS_PER_PAGE));
	json_object_set_new(out, "has_next", json_boolean(has_next));
	json_object_set_new(out, "has_rows", json_boolean(n > 0));
	if (!p.q && (p.page > 1 || has_next)) {
		json_t *pager = json_object();
		if (p.page > 1)
			json_object_set_new(pager, "prev", list_href(req, &p, p.sort, p.page - 1));
		if (has_next)
			json_object_set_new(pager, "next", list_href(req, &p, p.sort, p.page + 1));
		json_object_set_new(out, "pager", pager);
	}
	rc = 0;
done:
	store_rows_close(r);
	free(by_email);
	return rc;
}

/* The filter form's choices, with the current ones marked. */
static int html(struct http_request *req, json_t *ctx)
{
	(void)req;
	const char *sort = json_string_value(json_object_get(ctx, "sort"));
	const char *band = json_string_value(json_object_get(ctx, "band"));
	const char *kind = json_string_value(json_object_get(ctx, "kind"));
	json_t *s = json_array(), *b = json_array(), *k = json_array();
	if (!s || !b || !k) {
		json_decref(s), json_decref(b), json_decref(k);
		return -1;
	}
	for (int i = 0; i < SORT_N; i++)
		json_array_append_new(s,
		                      json_pack("{s:s,s:s,s:b}", "id", sorts[i].id, "label", sorts[i].label,
		                                "selected", sort && strcmp(sort, sorts[i].id) == 0));
	static const char *const bands[3] = {"healthy", "watch", "at_risk"};
	for (int i = 0; i < 3; i++)
		json_array_append_new(b, json_pack("{s:s,s:s,s:b}", "id", bands[i], "label",
		                                   dash_band_title(bands[i]), "selected",
		                                   band && strcmp(band, bands[i]) == 0));
	for (int i = 0; i < DETECT_KIND_N; i++) {
		const char *id = detect_kind_id((enum detect_kind)i);
		json_array_append_new(k, json_pack("{s:s,s:s,s:b}", "id", id, "label",
		                                   detect_kind_title((enum detect_kind)i), "selected",
		                                   kind && strcmp(kind, id) == 0));
	}
	json_object_set_new(ctx, "sort_options", s);
	json_object_set_new(ctx, "band_options", b);
	json_object_set_new(ctx, "kind_options", k);
	return 0;
}

int users_page(struct http_request *req, struct http_response *res)
{
	return dash_serve(req, res, 1, "users", "users", "Users", build, html);
}

int users_api(struct http_request *req, struct http_response *res)
{
	return dash_serve(req, res, 0, NULL, NULL, NULL, build, NULL);
}
