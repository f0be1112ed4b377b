/* dropfix serve: the HTTP server plus (unless --no-jobs) the background jobs. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "auth/auth_pages.h"
#include "auth/guard.h"
#include "cli/install.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "http/health.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/server.h"
#include "http/views.h"
#include "detect/detect.h"
#include "ingest/ingest.h"
#include "jobs/job.h"

enum { SHUTDOWN_GRACE_MS = 20000 };

/* Readiness: the database answers a trivial query on a fresh connection. */
static int database_ready(void *arg, json_t *detail, char *why, size_t whylen)
{
	struct store *store = arg;
	struct store_conn *c = NULL;
	struct store_tx *tx = NULL;
	int64_t one = 0;
	int rc = -1;
	if (store_conn_open(store, &c, why, whylen) < 0)
		return -1;
	if (store_begin_global(c, STORE_READ, &tx) == 0 && store_query_i64(tx, "SELECT 1", STORE_NO_ARGS, &one) == 1 &&
	    one == 1)
		rc = 0;
	else
		snprintf(why, whylen, "%s", store_code_name(store_errcode(c)));
	store_rollback(tx);
	store_conn_close(c);
	int64_t wal = 0;
	if (store_wal_bytes(store, &wal) == 0 && store_backend(store) == STORE_SQLITE)
		json_object_set_new(detail, "wal_bytes", json_integer(wal));
	return rc;
}

static double wal_bytes_gauge(void *arg)
{
	int64_t wal = 0;
	return store_wal_bytes(arg, &wal) == 0 ? (double)wal : -1;
}

void cmd_serve_help(FILE *out)
{
	fprintf(out, "usage: dropfix serve [options]\n\n"
		     "Serves the dashboard, the ingestion API and the SDK; runs background jobs\n"
		     "unless --no-jobs. SIGTERM or SIGINT stops accepting connections, finishes the\n"
		     "requests in flight and exits 0.\n\nOptions:\n"
		     "  --no-jobs            serve HTTP only (scale-out: run `dropfix worker` elsewhere)\n");
	config_print_flags(out, CFG_SERVE);
}

int cmd_serve(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		cmd_serve_help(stdout);
		return 0;
	}
	char err[512];
	struct config cfg;
	int rc = 1;
	struct http_server *server = NULL;
	struct job_runner *jobs = NULL;
	if (config_load(&cfg, argc, argv, CFG_SERVE, err, sizeof(err)) < 0 ||
	    config_validate(&cfg, CFG_SERVE, err, sizeof(err)) < 0 || clock_init(err, sizeof(err)) < 0) {
		fprintf(stderr, "dropfix serve: %s\n", err);
		config_free(&cfg);
		return EXIT_USAGE;
	}

	/* Block the stop signals in every thread; this one waits for them. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct install inst;
	int embedded = strncmp(cfg.database_url, "sqlite:", 7) == 0;
	unsigned flags = INSTALL_CREATE_KEY | (embedded ? INSTALL_MIGRATE : 0);
	if (install_open(&inst, &cfg, STORE_ROLE_APP, flags, err, sizeof(err)) < 0) {
		fprintf(stderr, "dropfix serve: %s\n", err);
		config_free(&cfg);
		return 1;
	}
	if (ingest_start(&inst, &cfg, err, sizeof(err)) < 0 || ingest_jobs_register() < 0) {
		fprintf(stderr, "dropfix serve: ingestion: %s\n", err);
		goto done;
	}
	health_register_check("database", database_ready, inst.store);
	if (embedded)
		metrics_register_gauge("dropfix_sqlite_wal_bytes", "Size of the SQLite write-ahead log.", wal_bytes_gauge,
				       inst.store);
	if (views_init(err, sizeof(err)) < 0) {
		fprintf(stderr, "dropfix serve: templates: %s\n", err);
		goto done;
	}
	if (!cfg.no_jobs && (job_builtin_register() < 0 || detect_jobs_register() < 0 || job_runner_start(inst.store, NULL, &jobs, err, sizeof(err)) < 0)) {
		fprintf(stderr, "dropfix serve: jobs: %s\n", err);
		goto done;
	}
	if (auth_pages_start(&inst, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "dropfix serve: %s\n", err);
		goto done;
	}
	router_set_auth(AUTH_METRICS, health_metrics_auth);
	guard_install();
	if (http_server_start(&cfg, &inst, app_routes, app_routes_count, &server, err, sizeof(err)) < 0) {
		fprintf(stderr, "dropfix serve: %s\n", err);
		goto done;
	}
	log_json(LOG_INFO, "listening",
		 json_pack("{s:s, s:s, s:b}", "listen", cfg.listen, "base_url", cfg.base_url, "tls",
			   cfg.tls_cert && cfg.tls_cert[0]));

	int sig = 0;
	while (sigwait(&stop, &sig) != 0)
		;
	log_json(LOG_INFO, "stopping", json_pack("{s:s, s:I}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT",
						 "in_flight", (json_int_t)http_server_in_flight(server)));
	int left = http_server_stop(server, SHUTDOWN_GRACE_MS);
	server = NULL;
	if (left > 0)
		log_json(LOG_WARN, "stopped with requests unfinished", json_pack("{s:i}", "in_flight", left));
	else
		log_json(LOG_INFO, "stopped", NULL);
	rc = 0;
done:
	http_server_stop(server, 0);
	ingest_stop();
	job_runner_stop(jobs);
	auth_pages_stop();
	views_free();
	install_close(&inst);
	config_free(&cfg);
	return rc;
}
