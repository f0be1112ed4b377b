/* dropfix demo: a populated dashboard for a newcomer within a minute of `make run`.
 *
 * Creates (or finds) the verified founder account demo@dropfix.local and its workspace
 * "Demo", fills the workspace with simulated history through the real ingestion path
 * (sim/simpost.h posting to a private loopback ingestion server started in this process,
 * the same HTTP path `dropfix simulate` uses), runs the detector's full pass and prints
 * the sign-in address, the credentials and the workspace's address.
 *
 * A second run finds the demo, keeps its data, sets a new password (only a hash of the
 * first one is stored, so it cannot be shown again) and runs detection again; --fresh
 * deletes the demo workspace first and simulates again (the history ends "now").
 * Works with a server running on the same database (every write is a short
 * transaction with the store's bounded wait) and with none. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth/account.h"
#include "auth/password.h"
#include "cli/cli.h"
#include "cli/opcli.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/parse.h"
#include "detect/detect.h"
#include "http/server.h"
#include "ingest/ingest.h"
#include "sim/personas.h"
#include "sim/simpost.h"
#include "web/keys_pages.h"
#include "web/workspace_pages.h"

#define DEMO_PROG "dropfix demo"
#define DEMO_EMAIL "demo@dropfix.local"
#define DEMO_NAME "Demo Founder"
#define DEMO_WORKSPACE "Demo"
#define DEMO_PRODUCT "Demo App"
#define DEMO_USERS 60
#define DEMO_DAYS 60
#define DEMO_SEED 42
#define DEMO_PASSWORD_LEN 20
#define DEMO_PORT_TRIES 5

void cmd_demo_help(FILE *out)
{
	fprintf(out,
	        "usage: dropfix demo [--users N] [--days D] [--seed S] [--fresh] [settings, e.g. --data-dir DIR]\n\n"
	        "Makes a demo you can sign in to: the verified account %s (password printed\n"
	        "once), its workspace \"%s\" with D days of simulated history for N users (seven\n"
	        "personas, as `dropfix simulate`; posted through the real ingestion path by a\n"
	        "private loopback server this command starts and stops), then the detector's full\n"
	        "pass. Prints the sign-in address (DROPFIX_BASE_URL, else the listen address), the\n"
	        "e-mail, the password and the workspace's address. Start the server with `make run`\n"
	        "(or `dropfix serve`) before or after: both may run at the same time.\n\n"
	        "A second run keeps the demo workspace and its data, sets a NEW password (only a\n"
	        "hash of the old one is stored, so it cannot be printed again) and runs detection\n"
	        "again. --fresh deletes the demo workspace first and simulates a new history\n"
	        "ending now.\n\n"
	        "  --users N   1-%d (default %d)   --days D  8-%d (default %d)\n"
	        "  --seed S    0-2^63 (default %d)\n"
	        "Exit status 2 for bad usage, 1 on failure (\"server busy, retry\" when a server holds\n"
	        "the database writer past the bounded wait).\n",
	        DEMO_EMAIL, DEMO_WORKSPACE, LIMIT_SIM_USERS, DEMO_USERS, LIMIT_SIM_DAYS, DEMO_DAYS, DEMO_SEED);
	config_print_flags(out, CFG_STORE);
}

/* A random password of DEMO_PASSWORD_LEN characters from an alphabet without look-alikes
 * (about 5.4 bits each: over 100 bits). */
static void make_password(char out[DEMO_PASSWORD_LEN + 1])
{
	static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	for (int i = 0; i < DEMO_PASSWORD_LEN; i++)
		out[i] = alphabet[randombytes_uniform((uint32_t)(sizeof(alphabet) - 1))];
	out[DEMO_PASSWORD_LEN] = '\0';
}

/* The demo workspace owned by account_id: 1 (*ws set), 0 none, -1 store error. */
static int find_workspace(struct store_tx *tx, int64_t account_id, int64_t *ws)
{
	struct store_rows *r = NULL;
	if (store_query(tx,
	                "SELECT w.id FROM workspaces w JOIN memberships m ON m.workspace_id = w.id "
	                "WHERE m.account_id = $1 AND m.role = 'owner' AND w.name = $2 ORDER BY w.id LIMIT 1",
	                STORE_ARGS(SP_I64(account_id), SP_TEXT(DEMO_WORKSPACE)), &r) < 0)
		return -1;
	int st = store_step(r);
	if (st == 1)
		*ws = store_col_i64(r, 0);
	store_rows_close(r);
	return st;
}

struct demo_made {
	int64_t account_id, ws;
	int account_new, ws_new;
	char password[DEMO_PASSWORD_LEN + 1];
	struct workspace_created created; /* when ws_new: the keys (secret key wiped at the end) */
};

/* Step 1, one global write transaction: the account (created, or given a new password)
 * and the workspace (found, or created; with fresh an existing one is deleted first).
 * Returns 0 or an exit status after printing why. */
static int prepare(struct opcli *o, int fresh, struct demo_made *m)
{
	char hash[PASSWORD_HASH_MAX], detail[96];
	struct store_tx *tx = NULL;
	int rc = 1;
	make_password(m->password);
	if (password_hash(m->password, strlen(m->password), hash) != PASSWORD_OK) {
		opcli_say(o, "password hashing failed");
		return 1;
	}
	if (store_begin_global(o->c, STORE_WRITE, &tx) < 0) {
		rc = opcli_db_fail(o, "starting the transaction");
		goto done;
	}
	struct account acc;
	int found = account_find_by_email(tx, DEMO_EMAIL, &acc);
	if (found < 0) {
		rc = opcli_db_fail(o, "reading the demo account");
		goto done;
	}
	if (found == 0) {
		struct account_new an = {.email = DEMO_EMAIL, .name = DEMO_NAME, .password_hash = hash, .verified = 1};
		if (account_create(tx, &an, &m->account_id) != 0) {
			rc = opcli_db_fail(o, "creating the demo account");
			goto done;
		}
		m->account_new = 1;
		snprintf(detail, sizeof(detail), "{\"account_id\":%" PRId64 ",\"demo\":true}", m->account_id);
		if (opcli_audit(o, tx, "account.created", DEMO_EMAIL, 0, detail) < 0)
			goto done;
	} else {
		m->account_id = acc.id;
		if (account_set_password(tx, acc.id, hash, 0) < 0 || (!acc.verified && account_set_verified(tx, acc.id) < 0)) {
			rc = opcli_db_fail(o, "setting the demo account's password");
			goto done;
		}
		snprintf(detail, sizeof(detail), "{\"account_id\":%" PRId64 ",\"demo\":true}", acc.id);
		if (opcli_audit(o, tx, "auth.password_reset", DEMO_EMAIL, 0, detail) < 0)
			goto done;
	}
	int have = find_workspace(tx, m->account_id, &m->ws);
	if (have < 0) {
		rc = opcli_db_fail(o, "reading the demo workspace");
		goto done;
	}
	if (have == 1 && fresh) {
		snprintf(detail, sizeof(detail), "{\"workspace_id\":%" PRId64 ",\"demo\":true}", m->ws);
		if (store_workspace_delete(tx, m->ws) < 0) {
			rc = opcli_db_fail(o, "deleting the old demo workspace");
			goto done;
		}
		if (opcli_audit(o, tx, "workspace.deleted", DEMO_WORKSPACE, m->ws, detail) < 0)
			goto done;
		have = 0;
	}
	if (have == 0) {
		struct workspace_spec s = {
		    .name = DEMO_WORKSPACE, .product_name = DEMO_PRODUCT, .timezone = "UTC", .currency = "USD"};
		struct workspace_actor actor = {AUDIT_ACTOR_CLI, 0, NULL};
		if (workspace_create(tx, o->in.keys, &s, m->account_id, &actor, &m->created) < 0) {
			rc = opcli_db_fail(o, "creating the demo workspace");
			goto done;
		}
		m->ws = m->created.id;
		m->ws_new = 1;
	}
	rc = opcli_commit(o, &tx);
	if (rc)
		goto done;
	rc = 0;
done:
	store_rollback(tx);
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

/* A loopback TCP port nobody listens on right now (0 when none was found). */
static unsigned free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(sa);
	unsigned port = 0;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* The private ingestion server's only route. */
static const struct route demo_routes[] = {
    {HTTP_POST, "/v1/batch", ingest_batch, AUTH_INGEST, ROLE_NONE, BODY_INGEST, 0},
};

/* Step 2: the simulated history through a private loopback ingestion server (the real
 * /v1/batch path: masking, sessions, aggregates), started and stopped here. Returns 0
 * or 1 after printing why. */
static int simulate(struct opcli *o, const struct config *serve_cfg, const struct demo_made *m, int64_t users,
                    int64_t days, int64_t seed, struct simpost_stats *st)
{
	char err[512], listen[64], base[96];
	struct http_server *srv = NULL;
	int rc = 1, ingesting = 0;
	/* a copy of the settings for the private server: loopback, no TLS, no rate limit
	 * (the owned strings stay the originals' and are freed with them); the store is
	 * o's (its data directory or database URL) */
	struct config pc = *serve_cfg;
	pc.tls_cert = NULL;
	pc.tls_key = NULL;
	pc.n_trusted_proxies = 0;
	pc.listen_loopback = 1;
	pc.base_url_https = 0;
	pc.http_threads = 2;
	pc.ingest_rate = 10000000;
	pc.ingest_burst = 100000000;
	if (pc.ingest_max_events < SIMPOST_BATCH)
		pc.ingest_max_events = SIMPOST_BATCH;
	pc.ingest_skew_s = 60;
	if (ingest_start(&o->in, &pc, err, sizeof(err)) < 0) {
		opcli_say(o, "ingestion: %s", err);
		return 1;
	}
	ingesting = 1;
	for (int tries = 0; tries < DEMO_PORT_TRIES && !srv; tries++) {
		unsigned port = free_port();
		if (port == 0)
			continue;
		snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
		snprintf(pc.listen_host, sizeof(pc.listen_host), "127.0.0.1");
		snprintf(pc.base_host, sizeof(pc.base_host), "127.0.0.1:%u", port);
		pc.listen_port = (uint16_t)port;
		pc.listen = listen;
		if (http_server_start(&pc, &o->in, demo_routes, sizeof(demo_routes) / sizeof(demo_routes[0]), &srv,
		                      err, sizeof(err)) < 0)
			srv = NULL;
		else
			snprintf(base, sizeof(base), "http://%s", listen);
	}
	if (!srv) {
		opcli_say(o, "cannot start the private ingestion server: %s", err);
		goto done;
	}
	if (simpost_run(DEMO_PROG, stderr, base, m->created.secret_key.s, users, days, seed, st) != 0)
		goto done;
	rc = 0;
done:
	http_server_stop(srv, 5000);
	if (ingesting)
		ingest_stop();
	return rc;
}

/* After a failed simulation: deletes the half-filled demo workspace so the next run
 * starts over (a failure here is reported; --fresh does the same). */
static void drop_workspace(struct opcli *o, int64_t ws)
{
	struct store_tx *tx = NULL;
	int ok = store_begin_global(o->c, STORE_WRITE, &tx) == 0;
	if (ok && store_workspace_delete(tx, ws) < 0) {
		store_rollback(tx);
		ok = 0;
	} else if (ok && store_commit(tx) < 0) {
		ok = 0;
	}
	if (!ok) {
		opcli_say(o, "the demo workspace %" PRId64 " is incomplete: run `dropfix demo --fresh`", ws);
		return;
	}
	opcli_say(o, "removed the incomplete demo workspace; run `dropfix demo` again");
}

int cmd_demo(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		cmd_demo_help(stdout);
		return 0;
	}
	const char *usersv = NULL, *daysv = NULL, *seedv = NULL;
	int fresh = 0;
	struct opcli_flag flags[] = {{"--users", &usersv, NULL},
	                             {"--days", &daysv, NULL},
	                             {"--seed", &seedv, NULL},
	                             {"--fresh", NULL, &fresh}};
	struct opcli o;
	struct demo_made m;
	struct config serve_cfg;
	int serve_loaded = 0;
	memset(&m, 0, sizeof(m));
	memset(&serve_cfg, 0, sizeof(serve_cfg));
	int npos = 0;
	int64_t users = DEMO_USERS, days = DEMO_DAYS, seed = DEMO_SEED;
	int64_t t0 = clock_mono_ns();
	int rc = opcli_open(&o, DEMO_PROG, argc, argv, 1, flags, sizeof(flags) / sizeof(flags[0]), NULL, 0, &npos);
	if (rc != 0)
		goto done;
	rc = EXIT_USAGE;
	if (usersv && parse_i64_cstr(usersv, 1, LIMIT_SIM_USERS, &users) < 0) {
		opcli_say(&o, "--users: 1-%d", LIMIT_SIM_USERS);
		goto done;
	}
	/* at least the 7-day learning window plus a day, so signals can show */
	if (daysv && parse_i64_cstr(daysv, 8, LIMIT_SIM_DAYS, &days) < 0) {
		opcli_say(&o, "--days: 8-%d", LIMIT_SIM_DAYS);
		goto done;
	}
	if (seedv && parse_i64_cstr(seedv, 0, INT64_MAX, &seed) < 0) {
		opcli_say(&o, "--seed: a non-negative integer");
		goto done;
	}
	if (clock_now_ms() < days * 86400 * 1000) {
		opcli_say(&o, "the clock is before the simulated window");
		goto done;
	}
	/* the serve settings from the environment, as `make run` sees them: the sign-in
	 * address (DROPFIX_BASE_URL, else DROPFIX_LISTEN) and the ingestion limits */
	char *env_argv[] = {argv[0], NULL};
	char err[512];
	serve_loaded = 1;
	if (config_load(&serve_cfg, 1, env_argv, CFG_SERVE, err, sizeof(err)) < 0 ||
	    config_validate(&serve_cfg, CFG_SERVE, err, sizeof(err)) < 0) {
		opcli_say(&o, "%s", err);
		goto done;
	}
	if (!log_enabled(LOG_DEBUG))
		log_set_level(LOG_WARN); /* the private server's access log is noise here */
	if ((rc = opcli_connect(&o)) != 0)
		goto done;
	if ((rc = prepare(&o, fresh, &m)) != 0)
		goto done;
	rc = 1;
	if (m.ws_new) {
		struct simpost_stats st;
		if (simulate(&o, &serve_cfg, &m, users, days, seed, &st) != 0) {
			drop_workspace(&o, m.ws);
			goto done;
		}
		printf("Simulated %" PRId64 " users over %" PRId64 " days: %" PRId64 " events (%" PRId64
		       " accepted)\n",
		       users, days, st.events, st.accepted);
		fflush(stdout);
	} else {
		printf("The demo workspace exists (id %" PRId64 "): kept its data; the password below is new "
		       "(--fresh simulates again)\n",
		       m.ws);
	}
	struct detect_stats ds;
	memset(&ds, 0, sizeof(ds));
	int64_t d0 = clock_mono_ns();
	if (detect_run_full(o.c, m.ws, &ds, err, sizeof(err)) < 0) {
		opcli_say(&o, "detection did not run: %s (the dashboard fills in when the server's jobs run it)",
		          err);
	} else {
		printf("Detection: %" PRId64 " users evaluated, %" PRId64 " signals opened in %.1f s\n", ds.users,
		       ds.opened, (double)(clock_mono_ns() - d0) / 1e9);
	}
	const char *base = serve_cfg.base_url ? serve_cfg.base_url : "";
	size_t bn = strlen(base);
	while (bn && base[bn - 1] == '/')
		bn--;
	printf("\nSign in:   %.*s/auth/login\n", (int)bn, base);
	printf("E-mail:    %s\n", DEMO_EMAIL);
	printf("Password:  %s\n", m.password);
	printf("Workspace: %.*s/w/%" PRId64 "\n", (int)bn, base, m.ws);
	printf("(ready in %.1f s; start the server with `make run` if it is not running)\n",
	       (double)(clock_mono_ns() - t0) / 1e9);
	rc = fflush(stdout) == 0 ? 0 : 1;
done:
	sodium_memzero(m.password, sizeof(m.password));
	keys_text_wipe(&m.created.secret_key);
	opcli_close(&o);
	if (serve_loaded)
		config_free(&serve_cfg);
	return rc;
}
