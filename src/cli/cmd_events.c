/* dropfix events export: the stored events of one workspace as JSON lines, for operators
 * and data-subject requests. A maintenance path (ARCHITECTURE §8b) that needs no
 * cross-tenant access: one workspace-scoped read transaction on that workspace, read in
 * pages by keyset on the primary key (workspace_id, id) so memory stays flat however
 * many events there are. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opcli.h"
#include "core/clock.h"
#include "core/parse.h"
#include "ingest/ingest.h"

#define WS_ID_MAX ((INT64_C(1) << 53) - 1)
/* Events per page: one page of rows is all the export holds in memory at a time. */
#define EXPORT_PAGE 1000

void cmd_events_help(FILE *out)
{
	fprintf(out, "usage: dropfix events export --workspace ID [--since T] [options]\n\n"
	             "export  prints the workspace's stored events, oldest first (by storage order),\n"
	             "        one JSON object per line: message_id, type, name, user_id, anonymous_id,\n"
	             "        timestamp (ISO 8601 UTC, the event time), properties (identify events:\n"
	             "        their traits, stored without name and e-mail). Strings are JSON-encoded,\n"
	             "        so control characters are escaped. Absent ids are null.\n"
	             "  --workspace ID  the workspace (see `dropfix workspace list`)\n"
	             "  --since T       only events whose time is >= T; T is Unix milliseconds,\n"
	             "                  YYYY-MM-DD (UTC midnight) or an ISO 8601 time\n"
	             "                  (YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM))\n"
	             "Exit status 2 for bad usage, 1 for a missing workspace or a database error.\n");
	config_print_flags(out, CFG_STORE);
}

/* Unix milliseconds, YYYY-MM-DD, or an ISO 8601 time. Returns 0 or -1. */
static int parse_since(const char *s, int64_t *out)
{
	size_t n = strlen(s);
	if (n > 0 && n <= 16 && strspn(s, "0123456789") == n)
		return parse_i64(s, n, 0, INT64_C(253402300799999), out);
	if (n == 10) {
		char full[32];
		snprintf(full, sizeof(full), "%sT00:00:00Z", s);
		return ingest_parse_time(full, strlen(full), out);
	}
	return ingest_parse_time(s, n, out);
}

static json_t *text_or_null(struct store_rows *r, int col)
{
	size_t n = 0;
	const char *s = store_col_text(r, col, &n);
	return s ? json_stringn(s, n) : json_null();
}

/* One row as a JSON line on stdout. Returns 0 or -1 (out of memory, write error). */
static int put_row(struct store_rows *r)
{
	char ts[40];
	int64_t at = store_col_i64(r, 6);
	if (clock_format_ms(at, ts, sizeof(ts)) < 0)
		snprintf(ts, sizeof(ts), "%" PRId64, at);
	size_t pn = 0;
	const char *ptext = store_col_text(r, 7, &pn);
	json_t *props = ptext ? json_loadb(ptext, pn, 0, NULL) : NULL;
	if (!props) /* stored text is always JSON; keep it verbatim as a string if it is not */
		props = ptext ? json_stringn(ptext, pn) : json_object();
	json_t *o = json_object();
	int rc = -1;
	if (!o || !props)
		goto done;
	if (json_object_set_new(o, "message_id", text_or_null(r, 1)) < 0 ||
	    json_object_set_new(o, "type", text_or_null(r, 2)) < 0 ||
	    json_object_set_new(o, "name", text_or_null(r, 3)) < 0 ||
	    json_object_set_new(o, "user_id", text_or_null(r, 4)) < 0 ||
	    json_object_set_new(o, "anonymous_id", text_or_null(r, 5)) < 0 ||
	    json_object_set_new(o, "timestamp", json_string(ts)) < 0)
		goto done;
	rc = json_object_set(o, "properties", props);
	if (rc == 0)
		rc = json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0 &&
		             fputc('\n', stdout) != EOF
		         ? 0
		         : -1;
done:
	json_decref(props);
	json_decref(o);
	return rc;
}

static int do_export(struct opcli *o, int64_t ws, int64_t since)
{
	int rc = opcli_connect(o);
	if (rc)
		return rc;
	rc = 1;
	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	int64_t found = 0;
	if (store_begin_global(o->c, STORE_READ, &tx) < 0 ||
	    store_query_i64(tx, "SELECT count(*) FROM workspaces WHERE id = $1", STORE_ARGS(SP_I64(ws)),
	                    &found) < 0)
		return opcli_db_fail(o, "reading workspaces");
	store_rollback(tx);
	tx = NULL;
	if (found != 1) {
		opcli_say(o, "no workspace %" PRId64, ws);
		return 1;
	}
	if (store_begin_ws(o->c, ws, STORE_READ, &tx) < 0)
		return opcli_db_fail(o, "starting the transaction");
	int64_t after = -1, rows = 0;
	for (;;) {
		if (store_query(tx,
		                "SELECT id, message_id, type, name, user_id, anonymous_id, event_ms, "
		                "properties FROM events WHERE workspace_id = $1 AND id > $2 AND event_ms >= "
		                "$3 ORDER BY id LIMIT $4",
		                STORE_ARGS(SP_I64(after), SP_I64(since), SP_I64(EXPORT_PAGE)), &r) < 0) {
			rc = opcli_db_fail(o, "reading events");
			goto done;
		}
		int st, page = 0;
		while ((st = store_step(r)) == 1) {
			after = store_col_i64(r, 0);
			page++;
			if (put_row(r) < 0) {
				opcli_say(o, "writing the output failed");
				goto done;
			}
		}
		if (st < 0) {
			rc = opcli_db_fail(o, "reading events");
			goto done;
		}
		store_rows_close(r);
		r = NULL;
		rows += page;
		if (page < EXPORT_PAGE)
			break;
	}
	if (fflush(stdout) != 0) {
		opcli_say(o, "writing the output failed");
		goto done;
	}
	rc = 0;
done:
	store_rows_close(r);
	store_rollback(tx);
	return rc;
}

int cmd_events(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		cmd_events_help(stdout);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "export") != 0) {
		fprintf(stderr, "dropfix events: export (see --help)\n");
		return EXIT_USAGE;
	}
	const char *wsv = NULL, *sincev = NULL;
	struct opcli_flag flags[] = {{"--workspace", &wsv, NULL}, {"--since", &sincev, NULL}};
	struct opcli o;
	int npos = 0;
	int64_t ws = 0, since = 0;
	int rc = opcli_open(&o, "dropfix events export", argc, argv, 2, flags, 2, NULL, 0, &npos);
	if (rc == 0 && (!wsv || parse_i64_cstr(wsv, 1, WS_ID_MAX, &ws) < 0)) {
		opcli_say(&o, "needs --workspace ID (a positive integer)");
		rc = EXIT_USAGE;
	}
	if (rc == 0 && sincev && parse_since(sincev, &since) < 0) {
		opcli_say(&o, "--since: '%.64s' is not Unix milliseconds, YYYY-MM-DD or an ISO 8601 time",
		          sincev);
		rc = EXIT_USAGE;
	}
	if (rc == 0)
		rc = do_export(&o, ws, since);
	opcli_close(&o);
	return rc;
}
