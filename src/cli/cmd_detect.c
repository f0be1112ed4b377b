/* dropfix detect: runs a detector pass over one workspace now (src/detect/detect.h) and
 * prints what it did; --report lists users' health and the signals (the quality harness
 * and operators read it); --dismiss dismisses one open signal (audited). A maintenance
 * path: workspace-scoped transactions on the named workspace only. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "cli/opcli.h"
#include "core/clock.h"
#include "core/parse.h"
#include "detect/detect.h"

#define WS_ID_MAX ((INT64_C(1) << 53) - 1)
#define REPORT_MAX 10000 /* users and signals a report lists */

void cmd_detect_help(FILE *out)
{
	fprintf(out,
	        "usage: dropfix detect --workspace ID [--full] [--report] [--json]\n"
	        "       dropfix detect --workspace ID --dismiss SIGNAL_ID [--reason TEXT]\n\n"
	        "Runs the churn detectors over one workspace now and prints what the pass did\n"
	        "(users evaluated, signals opened, resolved, updated) and the learning state.\n"
	        "  --full       every tracked user (the daily sweep), and today's trend point;\n"
	        "               without it: only users changed since the last pass\n"
	        "  --report     also list every user's health, band, MRR, worth and open\n"
	        "               signals (most worth saving first), and every signal with its\n"
	        "               state and evidence (at most %d of each)\n"
	        "  --no-pass    with --report: list without running a pass\n"
	        "  --json       one JSON object instead of text\n"
	        "  --dismiss ID dismiss open signal ID (recorded in the workspace audit log)\n"
	        "  --reason T   the reason kept with the dismissal (at most %d bytes)\n"
	        "Exit status 2 for bad usage, 1 for a missing workspace, an unknown signal or a\n"
	        "database error. docs/signals.md describes every signal.\n",
	        REPORT_MAX, DETECT_REASON_MAX);
	config_print_flags(out, CFG_STORE);
}

static json_t *col_json_text(struct store_rows *r, int col)
{
	size_t n = 0;
	const char *s = store_col_text(r, col, &n);
	return s ? json_stringn(s, n) : json_null();
}

/* Splits ",a,b," into a JSON array. */
static json_t *kinds_array(const char *s)
{
	json_t *a = json_array();
	while (a && s && *s) {
		const char *c = strchr(s, ',');
		size_t n = c ? (size_t)(c - s) : strlen(s);
		if (n && json_array_append_new(a, json_stringn(s, n)) < 0) {
			json_decref(a);
			return NULL;
		}
		s = c ? c + 1 : s + n;
	}
	return a;
}

/* Reads the report (users and signals) in one read transaction. */
static int report(struct opcli *o, int64_t ws, json_t *out)
{
	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	json_t *users = json_array(), *sigs = json_array(), *learn = NULL;
	struct detect_learning l;
	int st = 0;
	if (!users || !sigs || json_object_set_new(out, "users", users) < 0 ||
	    json_object_set_new(out, "signals", sigs) < 0)
		return -1;
	if (store_begin_ws(o->c, ws, STORE_READ, &tx) < 0 || detect_learning_get(tx, clock_now_ms(), &l) < 0)
		goto fail;
	learn = json_pack("{s:I, s:i, s:i, s:b}", "started_ms", (json_int_t)l.started_ms, "days_done", l.days_done,
	                  "days_needed", l.days_needed, "unlocked", l.unlocked);
	if (json_object_set_new(out, "learning", learn) < 0)
		goto fail;
	if (store_query(tx,
	                "SELECT user_id, health, band, open_kinds, plan, mrr, worth, first_open_ms, events_7d, "
	                "baseline_weekly, parts FROM user_health WHERE workspace_id = $1 ORDER BY worth DESC, "
	                "open_count DESC, first_open_ms DESC, user_id LIMIT $2",
	                STORE_ARGS(SP_I64(REPORT_MAX)), &r) < 0)
		goto fail;
	while ((st = store_step(r)) == 1) {
		size_t pn = 0, kn = 0;
		const char *kt = store_col_text(r, 3, &kn);
		json_t *kinds = kinds_array(kt);
		const char *pt = store_col_text(r, 10, &pn);
		json_t *parts = pt ? json_loadb(pt, pn, 0, NULL) : NULL;
		json_t *u = json_pack("{s:o, s:I, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:o}", "user_id",
		                      col_json_text(r, 0), "health", (json_int_t)store_col_i64(r, 1), "band",
		                      col_json_text(r, 2), "open", kinds, "plan",
		                      col_json_text(r, 4), "mrr", (json_int_t)store_col_i64(r, 5), "worth",
		                      (json_int_t)store_col_i64(r, 6), "first_open_ms",
		                      (json_int_t)store_col_i64(r, 7), "events_7d", (json_int_t)store_col_i64(r, 8),
		                      "baseline_weekly", (json_int_t)store_col_i64(r, 9), "parts",
		                      parts ? parts : json_null());
		if (json_array_append_new(users, u) < 0)
			goto fail;
	}
	store_rows_close(r);
	r = NULL;
	if (st < 0 ||
	    store_query(tx,
	                "SELECT id, user_id, kind, state, severity, evidence, detected_ms, resolved_ms, dismissed_ms, "
	                "cleared_ms FROM signals WHERE workspace_id = $1 ORDER BY detected_ms, id LIMIT $2",
	                STORE_ARGS(SP_I64(REPORT_MAX)), &r) < 0)
		goto fail;
	while ((st = store_step(r)) == 1) {
		size_t en = 0;
		const char *et = store_col_text(r, 5, &en);
		json_t *ev = et ? json_loadb(et, en, 0, NULL) : NULL;
		json_t *s = json_pack("{s:I, s:o, s:o, s:o, s:I, s:o, s:I, s:I, s:I, s:I}", "id",
		                      (json_int_t)store_col_i64(r, 0), "user_id", col_json_text(r, 1), "kind",
		                      col_json_text(r, 2), "state", col_json_text(r, 3), "severity",
		                      (json_int_t)store_col_i64(r, 4), "evidence", ev ? ev : json_object(),
		                      "detected_ms", (json_int_t)store_col_i64(r, 6), "resolved_ms",
		                      (json_int_t)store_col_i64(r, 7), "dismissed_ms", (json_int_t)store_col_i64(r, 8),
		                      "cleared_ms", (json_int_t)store_col_i64(r, 9));
		if (json_array_append_new(sigs, s) < 0)
			goto fail;
	}
	store_rows_close(r);
	r = NULL;
	if (st < 0)
		goto fail;
	store_rollback(tx);
	return 0;
fail:
	store_rows_close(r);
	store_rollback(tx);
	return -1;
}

static void print_text(const json_t *out)
{
	const json_t *pass = json_object_get(out, "pass");
	if (json_is_object(pass))
		printf("%s pass: %" JSON_INTEGER_FORMAT " users evaluated, %" JSON_INTEGER_FORMAT
		       " signals opened, %" JSON_INTEGER_FORMAT " resolved, %" JSON_INTEGER_FORMAT
		       " updated in %.3f s\n",
		       json_string_value(json_object_get(pass, "kind")), json_integer_value(json_object_get(pass, "users")),
		       json_integer_value(json_object_get(pass, "opened")),
		       json_integer_value(json_object_get(pass, "resolved")),
		       json_integer_value(json_object_get(pass, "updated")),
		       json_real_value(json_object_get(pass, "seconds")));
	const json_t *l = json_object_get(out, "learning");
	if (json_is_object(l))
		printf("learning: %s (day %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT ")\n",
		       json_is_true(json_object_get(l, "unlocked")) ? "signals unlocked" : "still learning",
		       json_integer_value(json_object_get(l, "days_done")),
		       json_integer_value(json_object_get(l, "days_needed")));
	size_t i;
	json_t *u;
	json_array_foreach(json_object_get(out, "users"), i, u)
	{
		printf("%-8s %3" JSON_INTEGER_FORMAT " worth %-8" JSON_INTEGER_FORMAT " ",
		       json_string_value(json_object_get(u, "band")), json_integer_value(json_object_get(u, "health")),
		       json_integer_value(json_object_get(u, "worth")));
		opcli_put(stdout, json_string_value(json_object_get(u, "user_id")));
		size_t j;
		json_t *k;
		json_array_foreach(json_object_get(u, "open"), j, k) printf(" %s", json_string_value(k));
		putchar('\n');
	}
	json_array_foreach(json_object_get(out, "signals"), i, u)
	{
		printf("signal %" JSON_INTEGER_FORMAT " %s %s sev %" JSON_INTEGER_FORMAT " ",
		       json_integer_value(json_object_get(u, "id")), json_string_value(json_object_get(u, "kind")),
		       json_string_value(json_object_get(u, "state")), json_integer_value(json_object_get(u, "severity")));
		opcli_put(stdout, json_string_value(json_object_get(u, "user_id")));
		fputs(": ", stdout);
		opcli_put(stdout, json_string_value(json_object_get(json_object_get(u, "evidence"), "text")));
		putchar('\n');
	}
}

static int do_dismiss(struct opcli *o, int64_t ws, int64_t sid, const char *reason)
{
	struct store_tx *tx = NULL;
	if (store_begin_ws(o->c, ws, STORE_WRITE, &tx) < 0)
		return opcli_db_fail(o, "starting the transaction");
	int r = detect_dismiss(tx, sid, 0, reason);
	if (r == 1) {
		store_rollback(tx);
		opcli_say(o, "no open signal %" PRId64 " in workspace %" PRId64, sid, ws);
		return 1;
	}
	char target[32];
	snprintf(target, sizeof(target), "signal:%" PRId64, sid);
	json_t *d = json_pack("{s:I, s:s}", "signal_id", (json_int_t)sid, "reason", reason ? reason : "");
	char *detail = d ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	struct audit_event e = {.actor_kind = AUDIT_ACTOR_CLI, .action = "signal.dismissed", .target = target,
	                        .detail = detail};
	if (r < 0 || !detail || audit_append_ws(tx, o->in.keys, &e) < 0) {
		free(detail);
		store_rollback(tx);
		return opcli_db_fail(o, "dismissing the signal");
	}
	free(detail);
	if (store_commit(tx) < 0)
		return opcli_db_fail(o, "dismissing the signal");
	printf("signal %" PRId64 " dismissed\n", sid);
	return 0;
}

static int run(struct opcli *o, int64_t ws, int full, int do_report, int no_pass, int as_json)
{
	int rc = opcli_connect(o);
	if (rc)
		return rc;
	struct store_tx *tx = NULL;
	int64_t found = 0;
	if (store_begin_global(o->c, STORE_READ, &tx) < 0 ||
	    store_query_i64(tx, "SELECT count(*) FROM workspaces WHERE id = $1", STORE_ARGS(SP_I64(ws)), &found) < 0)
		return opcli_db_fail(o, "reading workspaces");
	store_rollback(tx);
	if (found != 1) {
		opcli_say(o, "no workspace %" PRId64, ws);
		return 1;
	}
	json_t *out = json_pack("{s:I}", "workspace", (json_int_t)ws);
	if (!out)
		return 1;
	rc = 1;
	if (!no_pass) {
		struct detect_stats st;
		char err[256];
		int64_t t0 = clock_mono_ns();
		int r = full ? detect_run_full(o->c, ws, &st, err, sizeof(err))
		             : detect_run_incremental(o->c, ws, &st, err, sizeof(err));
		double secs = (double)(clock_mono_ns() - t0) / 1e9;
		if (r < 0) {
			opcli_say(o, "%s", err);
			goto done;
		}
		if (json_object_set_new(out, "pass",
		                        json_pack("{s:s, s:I, s:I, s:I, s:I, s:f}", "kind", full ? "full" : "incremental",
		                                  "users", (json_int_t)st.users, "opened", (json_int_t)st.opened,
		                                  "resolved", (json_int_t)st.resolved, "updated", (json_int_t)st.updated,
		                                  "seconds", secs)) < 0)
			goto done;
	}
	if (do_report) {
		if (report(o, ws, out) < 0) {
			rc = opcli_db_fail(o, "reading the report");
			goto done;
		}
	} else {
		struct detect_learning l;
		if (store_begin_ws(o->c, ws, STORE_READ, &tx) < 0 || detect_learning_get(tx, clock_now_ms(), &l) < 0) {
			store_rollback(tx);
			rc = opcli_db_fail(o, "reading the learning state");
			goto done;
		}
		store_rollback(tx);
		if (json_object_set_new(out, "learning",
		                        json_pack("{s:I, s:i, s:i, s:b}", "started_ms", (json_int_t)l.started_ms, "days_done",
		                                  l.days_done, "days_needed", l.days_needed, "unlocked", l.unlocked)) < 0)
			goto done;
	}
	if (as_json) {
		if (json_dumpf(out, stdout, JSON_COMPACT) < 0)
			goto done;
		putchar('\n');
	} else {
		print_text(out);
	}
	rc = fflush(stdout) == 0 ? 0 : 1;
done:
	json_decref(out);
	return rc;
}

int cmd_detect(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		cmd_detect_help(stdout);
		return 0;
	}
	const char *wsv = NULL, *dismissv = NULL, *reason = NULL;
	int full = 0, do_report = 0, as_json = 0, no_pass = 0;
	struct opcli_flag flags[] = {{"--workspace", &wsv, NULL}, {"--full", NULL, &full},
	                             {"--report", NULL, &do_report}, {"--json", NULL, &as_json},
	                             {"--no-pass", NULL, &no_pass}, {"--dismiss", &dismissv, NULL},
	                             {"--reason", &reason, NULL}};
	struct opcli o;
	int npos = 0;
	int64_t ws = 0, sid = 0;
	int rc = opcli_open(&o, "dropfix detect", argc, argv, 1, flags, sizeof(flags) / sizeof(flags[0]), NULL, 0,
	                    &npos);
	if (rc == 0 && (!wsv || parse_i64_cstr(wsv, 1, WS_ID_MAX, &ws) < 0)) {
		opcli_say(&o, "needs --workspace ID (a positive integer)");
		rc = EXIT_USAGE;
	}
	if (rc == 0 && dismissv && parse_i64_cstr(dismissv, 1, INT64_MAX, &sid) < 0) {
		opcli_say(&o, "--dismiss: a signal id (a positive integer)");
		rc = EXIT_USAGE;
	}
	if (rc == 0 && reason && (!dismissv || strlen(reason) > DETECT_REASON_MAX)) {
		opcli_say(&o, "--reason: only with --dismiss, at most %d bytes", DETECT_REASON_MAX);
		rc = EXIT_USAGE;
	}
	if (rc == 0 && no_pass && !do_report) {
		opcli_say(&o, "--no-pass: only with --report");
		rc = EXIT_USAGE;
	}
	if (rc == 0 && dismissv) {
		rc = opcli_connect(&o);
		if (rc == 0)
			rc = do_dismiss(&o, ws, sid, reason);
	} else if (rc == 0) {
		rc = run(&o, ws, full, do_report, no_pass, as_json);
	}
	opcli_close(&o);
	return rc;
}
