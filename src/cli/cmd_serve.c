/* dropfix serve: the HTTP server plus (unless --no-jobs) the background jobs. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "http/health.h"
#include "http/router.h"
#include "http/server.h"
#include "http/views.h"

enum { SHUTDOWN_GRACE_MS = 20000 };

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

	if (views_init(err, sizeof(err)) < 0) {
		fprintf(stderr, "dropfix serve: templates: %s\n", err);
		goto done;
	}
	router_set_auth(AUTH_METRICS, health_metrics_auth);
	if (http_server_start(&cfg, app_routes, app_routes_count, &server, err, sizeof(err)) < 0) {
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
	views_free();
	config_free(&cfg);
	return rc;
}
