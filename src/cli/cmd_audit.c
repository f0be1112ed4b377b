/* dropfix audit: verify the audit chains, list and export audit rows (operator CLI).
 * A maintenance path (ARCHITECTURE §8b): it crosses tenants by listing the workspaces
 * and opening one workspace-scoped transaction per workspace, as the app role. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "cli/install.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/parse.h"
#include "core/str.h"

#define WS_ID_MAX ((INT64_C(1) << 53) - 1)

void cmd_audit_help(FILE *out)
{
	fprintf(
	    out,
	    "usage: dropfix audit verify [options]\n"
	    "       dropfix audit list [--workspace ID] [filters] [--limit N] [--oldest-first] [--json] "
	    "[options]\n"
	    "       dropfix audit export [--workspace ID] [filters] [--oldest-first] [--json] [options]\n\n"
	    "verify  recomputes the HMAC chain of the installation audit log and of every\n"
	    "        workspace's log, and prints for each its length and head (seq and mac\n"
	    "        prefix). Exit status 1, naming the log and the first bad seq, when a row was\n"
	    "        edited, deleted or reordered. A chain cannot show rows cut off its end: keep\n"
	    "        the printed heads and compare them with a later run.\n"
	    "list    prints rows, newest first (the installation log without --workspace);\n"
	    "        control characters are escaped. --json prints JSON lines.\n"
	    "export  writes every matching row (at most %d) as CSV (spreadsheet formulas\n"
	    "        neutralised) or, with --json, JSON lines, to standard output, which must\n"
	    "        not be a terminal (rows are written as stored).\n\n"
	    "Filters:\n"
	    "  --action PREFIX      actions starting with PREFIX (e.g. auth. or 2fa.enabled)\n"
	    "  --actor ID           rows whose actor is account ID (0: CLI and system)\n"
	    "  --since T, --until T at >= T, at < T; T is Unix milliseconds, YYYY-MM-DD or\n"
	    "                       YYYY-MM-DDTHH:MM:SS[.mmm]Z (UTC)\n"
	    "  --limit N            rows to list (1-%d, default %d)\n\n",
	    LIMIT_AUDIT_EXPORT_ROWS, LIMIT_AUDIT_QUERY_ROWS, LIMIT_ROWS_PER_PAGE);
	config_print_flags(out, CFG_STORE);
#ifdef DROPFIX_TEST_HOOKS
	fprintf(out, "\nTest build only:\n"
	             "  dropfix audit test-append (--workspace ID | --install) --action A [--actor-kind K]\n"
	             "        [--actor-id N] [--target T] [--detail JSON] [--ip IP] [--about-workspace ID]\n"
	             "        [--count N]     appends N events (one transaction each)\n"
	             "  dropfix audit test-workspace create NAME | delete ID\n"
	             "        creates / deletes a workspace, recording workspace.created / .deleted in the\n"
	             "        installation log in the same transaction; create prints the id\n");
#endif
}

struct opts {
	const char *sub;
	int64_t workspace; /* 0 = installation log */
	struct audit_filter f;
	int json;
#ifdef DROPFIX_TEST_HOOKS
	int install;
	const char *action, *actor_kind, *target, *detail, *ip, *arg;
	int64_t actor_id, about_ws, count;
#endif
};

static int num(const char *s, size_t n, int64_t min, int64_t max, int64_t *out)
{
	return parse_i64(s, n, min, max, out);
}

/* Unix milliseconds, YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SS[.mmm]Z. */
static int parse_time(const char *s, int64_t *out)
{
	size_t n = strlen(s);
	if (n > 0 && n <= 16 && s[0] >= '0' && s[0] <= '9' && strchr(s, '-') == NULL)
		return parse_i64(s, n, 0, INT64_C(253402300799999), out);
	int64_t y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
	if (n < 10 || s[4] != '-' || s[7] != '-' || num(s, 4, 1970, 9999, &y) < 0 ||
	    num(s + 5, 2, 1, 12, &mo) < 0 || num(s + 8, 2, 1, 31, &d) < 0)
		return -1;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
		return -1;
	if (n > 10) {
		if (n < 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' || num(s + 11, 2, 0, 23, &h) < 0 ||
		    num(s + 14, 2, 0, 59, &mi) < 0 || num(s + 17, 2, 0, 59, &sec) < 0)
			return -1;
		size_t i = 19;
		if (s[i] == '.') {
			if (n < 24 || num(s + 20, 3, 0, 999, &ms) < 0)
				return -1;
			i = 23;
		}
		if (s[i] != 'Z' || i + 1 != n)
			return -1;
	}
	*out = ((clock_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + sec * 1000 + ms;
	return 0;
}

/* Takes the audit flags out of argv (the rest goes to the settings parser). Returns 0,
 * or EXIT_USAGE with a message printed. */
static int parse_args(int argc, char **argv, struct opts *o, char **rest, int *nrest)
{
	memset(o, 0, sizeof(*o));
	o->f = AUDIT_FILTER_ALL;
	rest[(*nrest)++] = argv[0];
	int i = 1;
	if (i < argc && argv[i][0] != '-')
		o->sub = argv[i++];
	for (; i < argc; i++) {
		const char *a = argv[i];
		const char *eq = strchr(a, '=');
		size_t an = eq ? (size_t)(eq - a) : strlen(a);
#define FLAG(name) (an == sizeof(name) - 1 && strncmp(a, name, an) == 0)
#define VALUE() (eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL))
		const char *v = NULL;
		if (FLAG("--json") && !eq) {
			o->json = 1;
		} else if (FLAG("--oldest-first") && !eq) {
			o->f.oldest_first = 1;
		} else if (FLAG("--workspace")) {
			if (!(v = VALUE()) || parse_i64_cstr(v, 1, WS_ID_MAX, &o->workspace) < 0)
				goto bad;
		} else if (FLAG("--action")) {
			if (!(v = VALUE()))
				goto bad;
			o->f.action_prefix = v;
#ifdef DROPFIX_TEST_HOOKS
			o->action = v;
#endif
		} else if (FLAG("--actor")) {
			if (!(v = VALUE()) || parse_i64_cstr(v, 0, WS_ID_MAX, &o->f.actor_id) < 0)
				goto bad;
		} else if (FLAG("--since")) {
			if (!(v = VALUE()) || parse_time(v, &o->f.since_ms) < 0)
				goto bad;
		} else if (FLAG("--until")) {
			if (!(v = VALUE()) || parse_time(v, &o->f.until_ms) < 0)
				goto bad;
		} else if (FLAG("--limit")) {
			if (!(v = VALUE()) || parse_i64_cstr(v, 1, LIMIT_AUDIT_QUERY_ROWS, &o->f.limit) < 0)
				goto bad;
#ifdef DROPFIX_TEST_HOOKS
		} else if (FLAG("--install") && !eq) {
			o->install = 1;
		} else if (FLAG("--actor-kind")) {
			if (!(o->actor_kind = VALUE()))
				goto bad;
		} else if (FLAG("--actor-id")) {
			if (!(v = VALUE()) || parse_i64_cstr(v, 0, WS_ID_MAX, &o->actor_id) < 0)
				goto bad;
		} else if (FLAG("--target")) {
			if (!(o->target = VALUE()))
				goto bad;
		} else if (FLAG("--detail")) {
			if (!(o->detail = VALUE()))
				goto bad;
		} else if (FLAG("--ip")) {
			if (!(o->ip = VALUE()))
				goto bad;
		} else if (FLAG("--about-workspace")) {
			if (!(v = VALUE()) || parse_i64_cstr(v, 0, WS_ID_MAX, &o->about_ws) < 0)
				goto bad;
		} else if (FLAG("--count")) {
			if (!(v = VALUE()) || parse_i64_cstr(v, 1, 100000, &o->count) < 0)
				goto bad;
		} else if (a[0] != '-' && !o->arg && o->sub && strcmp(o->sub, "test-workspace") == 0) {
			o->arg = a;
			if (i + 1 < argc && argv[i + 1][0] != '-' && !o->target) {
				o->target = argv[++i]; /* test-workspace create NAME / delete ID */
			}
#endif
		} else {
			rest[(*nrest)++] = argv[i];
		}
		continue;
	bad:
		fprintf(stderr, "dropfix audit: bad or missing value for %.*s (see --help)\n",
		        (int)(an > 40 ? 40 : an), a);
		return EXIT_USAGE;
#undef FLAG
#undef VALUE
	}
	return 0;
}

static void db_error(const char *what, struct store_conn *c)
{
	struct buf b;
	buf_init(&b, 4096);
	const char *m = c ? store_errmsg(c) : "";
	audit_put_escaped(&b, m, strlen(m));
	fprintf(stderr, "dropfix audit: %s: %s (%s)\n", what, b.p ? b.p : "",
	        store_code_name(c ? store_errcode(c) : STORE_E_UNAVAILABLE));
	buf_free(&b);
}

static void print_verify(const char *log, const struct audit_verify *v)
{
	if (v->ok && v->rows == 0)
		printf("%s: 0 rows (empty): ok\n", log);
	else if (v->ok)
		printf("%s: %lld rows, head seq %lld mac %.16s: ok\n", log, (long long)v->rows,
		       (long long)v->head_seq, v->head_mac);
	else
		printf("%s: FAILED at seq %lld: %s (verified up to seq %lld)\n", log, (long long)v->bad_seq,
		       v->why, (long long)v->head_seq);
}

static int do_verify(struct install *in)
{
	char err[256];
	struct store_conn *c = NULL;
	struct store_tx *tx = NULL;
	int64_t *ids = NULL;
	size_t nids = 0, failed = 0, logs = 0;
	int64_t rows = 0;
	int rc = 1;
	struct audit_verify v;
	if (store_conn_open(in->store, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "dropfix audit: %s\n", err);
		return 1;
	}
	if (store_begin_global(c, STORE_READ, &tx) < 0 || audit_verify_install(tx, in->keys, &v) < 0) {
		db_error("installation log", c);
		goto done;
	}
	store_rollback(tx);
	tx = NULL;
	print_verify("installation log", &v);
	logs++;
	rows += v.rows;
	failed += !v.ok;
	if (store_maint_workspaces(c, &ids, &nids) < 0) {
		db_error("listing workspaces", c);
		goto done;
	}
	for (size_t i = 0; i < nids; i++) {
		char name[64];
		snprintf(name, sizeof(name), "workspace %lld log", (long long)ids[i]);
		if (store_begin_ws(c, ids[i], STORE_READ, &tx) < 0 || audit_verify_ws(tx, in->keys, &v) < 0) {
			db_error(name, c);
			goto done;
		}
		store_rollback(tx);
		tx = NULL;
		print_verify(name, &v);
		logs++;
		rows += v.rows;
		failed += !v.ok;
	}
	if (failed) {
		fprintf(stderr, "dropfix audit verify: %zu of %zu logs FAILED\n", failed, logs);
		rc = 1;
	} else {
		printf("dropfix audit verify: %zu logs, %lld rows, every chain verified\n", logs,
		       (long long)rows);
		rc = 0;
	}
done:
	store_rollback(tx);
	store_conn_close(c);
	free(ids);
	return rc;
}

static void print_rows_text(const struct audit_rows *rows, int install)
{
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < rows->n; i++) {
		const struct audit_row *w = &rows->v[i];
		char at[40];
		if (clock_format_ms(w->at, at, sizeof(at)) < 0)
			snprintf(at, sizeof(at), "%lld", (long long)w->at);
		buf_reset(&b);
		buf_printf(&b, "#%lld %s ", (long long)w->seq, at);
		audit_put_escaped(&b, w->actor_kind, strlen(w->actor_kind));
		buf_printf(&b, ":%lld ", (long long)w->actor_id);
		audit_put_escaped(&b, w->action, strlen(w->action));
		buf_puts(&b, " target=\"");
		audit_put_escaped(&b, w->target, strlen(w->target));
		buf_puts(&b, "\" detail=\"");
		audit_put_escaped(&b, w->detail, strlen(w->detail));
		buf_putc(&b, '"');
		if (w->ip[0]) {
			buf_puts(&b, " ip=");
			audit_put_escaped(&b, w->ip, strlen(w->ip));
		}
		if (install && w->workspace_id)
			buf_printf(&b, " workspace=%lld", (long long)w->workspace_id);
		if (b.p)
			printf("%s\n", b.p);
	}
	buf_free(&b);
}

/* Begins the transaction for the log o names: a global one, or a workspace one after
 * checking that the workspace exists. 0, or 1 with a message printed. */
static int begin_log(struct store_conn *c, const struct opts *o, enum store_mode mode, struct store_tx **tx)
{
	if (!o->workspace)
		return store_begin_global(c, mode, tx) < 0 ? (db_error("installation log", c), 1) : 0;
	int64_t n = 0;
	if (store_begin_global(c, STORE_READ, tx) < 0 ||
	    store_query_i64(*tx, "SELECT count(*) FROM workspaces WHERE id = $1",
	                    STORE_ARGS(SP_I64(o->workspace)), &n) < 0) {
		db_error("workspaces", c);
		return 1;
	}
	store_rollback(*tx);
	*tx = NULL;
	if (n != 1) {
		fprintf(stderr, "dropfix audit: no workspace %lld\n", (long long)o->workspace);
		return 1;
	}
	if (store_begin_ws(c, o->workspace, mode, tx) < 0) {
		db_error("workspace log", c);
		return 1;
	}
	return 0;
}

static int do_read(struct install *in, const struct opts *o, int export)
{
	char err[256];
	struct store_conn *c = NULL;
	struct store_tx *tx = NULL;
	struct audit_rows rows = {0};
	struct buf out;
	int rc = 1;
	buf_init(&out, 0);
	if (store_conn_open(in->store, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "dropfix audit: %s\n", err);
		return 1;
	}
	if (begin_log(c, o, STORE_READ, &tx) != 0)
		goto done;
	int qrc;
	if (export) {
		int truncated = 0;
		enum audit_format fmt = o->json ? AUDIT_JSONL : AUDIT_CSV;
		qrc = o->workspace ? audit_export_ws(tx, &o->f, fmt, &out, &truncated)
		                   : audit_export_install(tx, &o->f, fmt, &out, &truncated);
		if (qrc == 0 && truncated)
			fprintf(stderr,
			        "dropfix audit: export cut at %d rows; narrow it with --since/--until\n",
			        LIMIT_AUDIT_EXPORT_ROWS);
	} else {
		qrc = o->workspace ? audit_query_ws(tx, &o->f, &rows) : audit_query_install(tx, &o->f, &rows);
		if (qrc == 0 && o->json)
			qrc = audit_render(&out, rows.v, rows.n, AUDIT_JSONL, !o->workspace, 0);
	}
	if (qrc < 0) {
		if (store_errcode(c) != STORE_OK)
			db_error("reading the audit log", c);
		else
			fprintf(stderr, "dropfix audit: bad filter (action prefix: a-z 0-9 . _)\n");
		goto done;
	}
	if (!export && !o->json)
		print_rows_text(&rows, !o->workspace);
	else if (out.n)
		fwrite(out.p, 1, out.n, stdout);
	rc = 0;
done:
	store_rollback(tx);
	store_conn_close(c);
	audit_rows_free(&rows);
	buf_free(&out);
	return rc;
}

#ifdef DROPFIX_TEST_HOOKS
static int test_append(struct install *in, const struct opts *o)
{
	char err[256];
	struct store_conn *c = NULL;
	struct store_tx *tx = NULL;
	int rc = 1;
	enum audit_actor kind = AUDIT_ACTOR_CLI;
	if (o->actor_kind) {
		int found = 0;
		for (int k = AUDIT_ACTOR_SYSTEM; k <= AUDIT_ACTOR_CLI; k++)
			if (strcmp(o->actor_kind, audit_actor_name((enum audit_actor)k)) == 0)
				kind = (enum audit_actor)k, found = 1;
		if (!found) {
			fprintf(stderr, "dropfix audit: --actor-kind system|account|staff|cli\n");
			return EXIT_USAGE;
		}
	}
	if (!o->action || (!o->install && !o->workspace)) {
		fprintf(stderr,
		        "dropfix audit test-append: --action and --workspace ID or --install are required\n");
		return EXIT_USAGE;
	}
	struct audit_event e = {
	    .actor_kind = kind,
	    .actor_id = o->actor_id,
	    .action = o->action,
	    .target = o->target,
	    .detail = o->detail,
	    .ip = o->ip,
	    .workspace_id = o->about_ws,
	};
	if (store_conn_open(in->store, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "dropfix audit: %s\n", err);
		return 1;
	}
	int64_t count = o->count ? o->count : 1, done = 0;
	for (; done < count; done++) {
		if (begin_log(c, o, STORE_WRITE, &tx) != 0)
			goto out;
		int arc =
		    o->workspace ? audit_append_ws(tx, in->keys, &e) : audit_append_install(tx, in->keys, &e);
		if (arc < 0 || store_commit(tx) < 0) {
			tx = arc < 0 ? tx : NULL;
			if (store_errcode(c) != STORE_OK)
				db_error("append", c);
			else
				fprintf(stderr, "dropfix audit: event refused (see the log line)\n");
			goto out;
		}
		tx = NULL;
	}
	printf("%lld\n", (long long)done);
	rc = 0;
out:
	store_rollback(tx);
	store_conn_close(c);
	return rc;
}

static int test_workspace(struct install *in, const struct opts *o)
{
	char err[256];
	struct store_conn *c = NULL;
	struct store_tx *tx = NULL;
	int rc = 1;
	int create = o->arg && strcmp(o->arg, "create") == 0;
	int64_t id = 0;
	if (!o->arg || !o->target || (!create && strcmp(o->arg, "delete") != 0) ||
	    (!create && parse_i64_cstr(o->target, 1, WS_ID_MAX, &id) < 0)) {
		fprintf(stderr, "dropfix audit test-workspace create NAME | delete ID\n");
		return EXIT_USAGE;
	}
	if (store_conn_open(in->store, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "dropfix audit: %s\n", err);
		return 1;
	}
	if (store_begin_global(c, STORE_WRITE, &tx) < 0)
		goto fail;
	if (create) {
		struct store_workspace_new w = {
		    .name = o->target, .product_name = "", .timezone = "UTC", .currency = "USD"};
		if (store_workspace_create(tx, &w, &id) < 0)
			goto fail;
	} else if (store_workspace_delete(tx, id) < 0) {
		goto fail;
	}
	struct audit_event e = {
	    .actor_kind = AUDIT_ACTOR_CLI,
	    .action = create ? "workspace.created" : "workspace.deleted",
	    .target = create ? o->target : "",
	    .workspace_id = id,
	};
	if (audit_append_install(tx, in->keys, &e) < 0)
		goto fail;
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	tx = NULL;
	if (create)
		printf("%lld\n", (long long)id);
	rc = 0;
	goto out;
fail:
	db_error("test-workspace", c);
out:
	store_rollback(tx);
	store_conn_close(c);
	return rc;
}
#endif

int cmd_audit(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		cmd_audit_help(stdout);
		return 0;
	}
	struct opts o;
	struct config cfg;
	struct install in;
	char err[512];
	int rc = EXIT_USAGE;
	memset(&cfg, 0, sizeof(cfg));
	memset(&in, 0, sizeof(in));
	char **rest = calloc((size_t)argc + 1, sizeof(*rest));
	if (!rest)
		return 1;
	int nrest = 0;
	if (parse_args(argc, argv, &o, rest, &nrest) != 0)
		goto done;
	int verify = o.sub && strcmp(o.sub, "verify") == 0;
	int list = o.sub && strcmp(o.sub, "list") == 0;
	int export = o.sub && strcmp(o.sub, "export") == 0;
	int test = 0;
#ifdef DROPFIX_TEST_HOOKS
	test = o.sub && (strcmp(o.sub, "test-append") == 0 || strcmp(o.sub, "test-workspace") == 0);
#endif
	if (!verify && !list && !export && !test) {
		fprintf(stderr, "dropfix audit: verify, list or export (see --help)\n");
		goto done;
	}
	if (config_load(&cfg, nrest, rest, CFG_STORE, err, sizeof(err)) < 0 ||
	    config_validate(&cfg, CFG_STORE, err, sizeof(err)) < 0 || clock_init(err, sizeof(err)) < 0) {
		fprintf(stderr, "dropfix audit: %s\n", err);
		goto done;
	}
	rc = 1;
	if (export && isatty(STDOUT_FILENO)) {
		/* exported text is written as stored, control characters included */
		fprintf(
		    stderr,
		    "dropfix audit export: redirect the output to a file (or use `dropfix audit list`)\n");
		goto done;
	}
	unsigned flags = 0;
	if (test && strncmp(cfg.database_url, "sqlite:", 7) == 0)
		flags = INSTALL_MIGRATE | INSTALL_CREATE_KEY;
	if (install_open(&in, &cfg, STORE_ROLE_APP, flags, err, sizeof(err)) < 0) {
		struct buf b;
		buf_init(&b, 4096);
		audit_put_escaped(&b, err, strlen(err));
		fprintf(stderr, "dropfix audit: %s\n", b.p ? b.p : "");
		buf_free(&b);
		goto done;
	}
	if (verify)
		rc = do_verify(&in);
	else if (list || export)
		rc = do_read(&in, &o, export);
#ifdef DROPFIX_TEST_HOOKS
	else if (strcmp(o.sub, "test-append") == 0)
		rc = test_append(&in, &o);
	else
		rc = test_workspace(&in, &o);
#endif
done:
	install_close(&in);
	config_free(&cfg);
	free(rest);
	return rc;
}
