/* dropfix worker: runs the background jobs in the foreground (scale-out next to
 * `serve --no-jobs`), until SIGTERM or SIGINT. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/install.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/parse.h"
#include "detect/detect.h"
#include "ingest/ingest.h"
#include "jobs/job.h"
#include "store/store.h"

void cmd_worker_help(FILE *out)
{
	fprintf(out, "usage: dropfix worker [options]\n\n"
	             "Runs background jobs (recurring housekeeping and queued work) until SIGTERM or\n"
	             "SIGINT, then finishes the job in hand and exits 0. Any number of workers and\n"
	             "`serve` processes may share one PostgreSQL database: each job runs once per\n"
	             "claim, and a job whose worker dies is taken over when its lease runs out. On\n"
	             "the embedded SQLite database `serve` already runs the jobs; a separate worker\n"
	             "is allowed but not needed. The schema must be current (`dropfix migrate`;\n"
	             "SQLite databases are migrated automatically).\n\nOptions:\n");
	config_print_flags(out, CFG_WORKER);
#ifdef DROPFIX_TEST_HOOKS
	fprintf(out, "\nTest build only:\n"
	             "  --test-enqueue TYPE:N[:JSON]  enqueue N jobs of TYPE (payload JSON) due now, print\n"
	             "                                their count and exit\n"
	             "  --test-dump                   print every job as a JSON line and exit\n"
	             "  environment: DROPFIX_TEST_JOB_LOG, DROPFIX_TEST_JOB_LEASE_MS,\n"
	             "  DROPFIX_TEST_JOB_POLL_MS, DROPFIX_TEST_JOB_TICK_MS (src/jobs/job_builtin.c)\n");
#endif
}

/* Opens the installation for worker use (install_open: master key and key check;
 * migrates the embedded SQLite, requires a current schema on PostgreSQL). Returns 0 or
 * -1 (message printed). */
static int open_install(const struct config *cfg, struct install *in)
{
	char err[512];
	unsigned flags = INSTALL_CREATE_KEY | (strncmp(cfg->database_url, "sqlite:", 7) == 0 ? INSTALL_MIGRATE : 0);
	if (install_open(in, cfg, STORE_ROLE_APP, flags, err, sizeof(err)) < 0) {
		fprintf(stderr, "dropfix worker: %s\n", err);
		return -1;
	}
	return 0;
}

#ifdef DROPFIX_TEST_HOOKS
/* --test-enqueue TYPE:N[:JSON] */
static int test_enqueue(struct store *s, const char *spec)
{
	char type[JOB_TYPE_MAX + 1];
	const char *c1 = strchr(spec, ':');
	if (!c1 || (size_t)(c1 - spec) > JOB_TYPE_MAX) {
		fprintf(stderr, "dropfix worker: --test-enqueue TYPE:N[:JSON]\n");
		return EXIT_USAGE;
	}
	memcpy(type, spec, (size_t)(c1 - spec));
	type[c1 - spec] = '\0';
	const char *c2 = strchr(c1 + 1, ':');
	const char *payload = c2 ? c2 + 1 : NULL;
	int64_t n;
	if (parse_i64(c1 + 1, c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1), 1, 100000, &n) < 0) {
		fprintf(stderr, "dropfix worker: --test-enqueue: N must be 1..100000\n");
		return EXIT_USAGE;
	}
	char err[256], nonce[128];
	job_worker_id(nonce, sizeof(nonce)); /* host:pid:random, unique per call */
	for (char *p = nonce; *p; p++)
		if (*p == ':')
			*p = '-';
	struct store_conn *c = NULL;
	struct store_tx *tx = NULL;
	int64_t done = 0;
	if (store_conn_open(s, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "dropfix worker: %s\n", err);
		return 1;
	}
	int64_t now = clock_now_ms();
	for (int64_t i = 0; i < n; i++) {
		if (!tx && store_begin_global(c, STORE_WRITE, &tx) < 0)
			goto fail;
		char part[160], key[JOB_KEY_MAX + 1];
		snprintf(part, sizeof(part), "%s-%lld", nonce, (long long)i);
		if (job_key_format(key, sizeof(key), type, 0, part) < 0 ||
		    job_enqueue(tx, type, 0, now, key, payload, NULL) < 0)
			goto fail;
		if ((i + 1) % 500 == 0 || i + 1 == n) {
			if (store_commit(tx) < 0) {
				tx = NULL;
				goto fail;
			}
			tx = NULL;
			done = i + 1;
		}
	}
	printf("%lld\n", (long long)done);
	store_conn_close(c);
	return 0;
fail:
	fprintf(stderr, "dropfix worker: enqueue failed after %lld: %s\n", (long long)done,
	        store_errcode(c) ? store_errmsg(c) : "bad type, key or payload");
	store_rollback(tx);
	store_conn_close(c);
	return 1;
}

/* --test-dump: every job as one JSON line. */
static int test_dump(struct store *s)
{
	char err[256];
	struct store_conn *c = NULL;
	struct store_tx *tx = NULL;
	struct store_rows *rows = NULL;
	int rc = 1;
	if (store_conn_open(s, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "dropfix worker: %s\n", err);
		return 1;
	}
	if (store_begin_global(c, STORE_READ, &tx) < 0 ||
	    store_query(tx,
	                "SELECT id, type, idempotency_key, attempts, max_attempts, run_at, done_at, dead_at, "
	                "locked_by, locked_until, last_error, payload FROM jobs ORDER BY id",
	                STORE_NO_ARGS, &rows) < 0)
		goto done;
	int st;
	while ((st = store_step(rows)) == 1) {
		json_t *o = json_object();
		static const char *const names[] = {"id",           "type",         "key",        "attempts",
		                                    "max_attempts", "run_at",       "done_at",    "dead_at",
		                                    "locked_by",    "locked_until", "last_error", "payload"};
		for (int i = 0; i < 12; i++) {
			json_t *v;
			size_t len = 0;
			if (store_col_is_null(rows, i))
				v = json_null();
			else if (i == 1 || i == 2 || i == 8 || i == 10 || i == 11) {
				const char *t = store_col_text(rows, i, &len);
				v = json_stringn(t, len);
			} else {
				v = json_integer(store_col_i64(rows, i));
			}
			json_object_set_new(o, names[i], v);
		}
		char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (line)
			printf("%s\n", line);
		free(line);
		json_decref(o);
	}
	if (st == 0)
		rc = 0;
done:
	if (rc)
		fprintf(stderr, "dropfix worker: %s\n", store_errmsg(c));
	store_rows_close(rows);
	store_rollback(tx);
	store_conn_close(c);
	return rc;
}
#endif

int cmd_worker(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		cmd_worker_help(stdout);
		return 0;
	}
	/* Take our own flags out before the settings parser sees argv. */
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args)
		return 1;
	int nargs = 0;
	const char *enqueue = NULL;
	int dump = 0;
	for (int i = 0; i < argc; i++) {
#ifdef DROPFIX_TEST_HOOKS
		if (i > 0 && strcmp(argv[i], "--test-enqueue") == 0 && i + 1 < argc) {
			enqueue = argv[++i];
			continue;
		}
		if (i > 0 && strcmp(argv[i], "--test-dump") == 0) {
			dump = 1;
			continue;
		}
#endif
		args[nargs++] = argv[i];
	}
	char err[512];
	struct config cfg;
	struct install inst = {0};
	struct store *s = NULL;
	struct job_runner *r = NULL;
	int rc = EXIT_USAGE;
	if (config_load(&cfg, nargs, args, CFG_WORKER, err, sizeof(err)) < 0 ||
	    config_validate(&cfg, CFG_WORKER, err, sizeof(err)) < 0 || clock_init(err, sizeof(err)) < 0) {
		fprintf(stderr, "dropfix worker: %s\n", err);
		goto done;
	}
	rc = 1;
	if (job_builtin_register() < 0 || ingest_jobs_register() < 0 || detect_jobs_register() < 0) {
		fprintf(stderr, "dropfix worker: cannot register the built-in jobs\n");
		goto done;
	}
	if (open_install(&cfg, &inst) < 0)
		goto done;
	s = inst.store;
#ifdef DROPFIX_TEST_HOOKS
	if (enqueue) {
		rc = test_enqueue(s, enqueue);
		goto done;
	}
	if (dump) {
		rc = test_dump(s);
		goto done;
	}
#else
	(void)enqueue;
	(void)dump;
#endif

	/* Block the stop signals in every thread; this one waits for them. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (job_runner_start(s, NULL, &r, err, sizeof(err)) < 0) {
		fprintf(stderr, "dropfix worker: %s\n", err);
		goto done;
	}
	int sig = 0;
	while (sigwait(&stop, &sig) != 0)
		;
	log_json(LOG_INFO, "stopping", json_pack("{s:s}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"));
	job_runner_stop(r);
	r = NULL;
	rc = 0;
done:
	job_runner_stop(r);
	install_close(&inst);
	config_free(&cfg);
	free(args);
	return rc;
}
