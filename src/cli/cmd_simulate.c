/* dropfix simulate: synthetic user histories (src/sim/personas.h) posted to a running
 * server's /v1/batch with the workspace's secret key, exactly as a server-side client
 * would send them. Posting over HTTP is the only supported path: it exercises the real
 * ingestion (masking, sessions, aggregates, de-duplication) and needs no database access.
 *
 * The secret key: it is shown once when the workspace is created (or rotated on the keys
 * page) and stored only in a form that cannot be read back, so the operator supplies it:
 * DROPFIX_SIMULATE_KEY (preferred: not visible in the process list) or --key.
 * The posting itself is sim/simpost.h (shared with `dropfix demo`). */
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opcli.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/parse.h"
#include "core/str.h"
#include "sim/personas.h"
#include "sim/simpost.h"

#define WS_ID_MAX ((INT64_C(1) << 53) - 1)
#define SIM_BATCH SIMPOST_BATCH
#define SIM_KEY_MAX SIMPOST_KEY_MAX

void cmd_simulate_help(FILE *out)
{
	fprintf(out,
	        "usage: dropfix simulate --workspace ID --users N --days D --seed S --via-http URL\n"
	        "                        [--key sk_…]\n\n"
	        "Generates deterministic synthetic histories (the same seed gives the same events,\n"
	        "message_ids included, so a re-run is de-duplicated) for N users over the D days\n"
	        "ending now, assigned round robin to seven personas: steady, power, dropping,\n"
	        "gone_quiet (nothing in the last 7 days), trial (never activated), cancelling\n"
	        "(visits /billing and /cancel in the last third and downgrades pro to basic in the\n"
	        "last week), payment (payment trouble comes later; for now only traits:\n"
	        "card_expires). Each user gets an identify (plan, mrr, signup_at, name, e-mail;\n"
	        "trial_ends for the trial persona; the cancelling persona a second one) and page,\n"
	        "click, api and track events; user ids are sim-<persona>-<n>.\n\n"
	        "  --via-http URL  the server to post to (URL/v1/batch, batches of up to %d events,\n"
	        "                  retried with backoff on 429, 503 and network errors). Required:\n"
	        "                  writing to the database directly is not supported.\n"
	        "  --key sk_…      the workspace's secret key; better: set DROPFIX_SIMULATE_KEY (a\n"
	        "                  flag shows in the process list). It is shown only when the\n"
	        "                  workspace is created or the key rotated; it cannot be read back.\n"
	        "                  The key decides the workspace the events land in; --workspace\n"
	        "                  names it in the summary and must be the key's workspace.\n"
	        "  --users N       1-%d      --days D  1-%d      --seed S  0-2^63\n\n"
	        "Prints a summary: users and events per persona, batches, accepted events.\n"
	        "Exit status 2 for bad usage, 1 when the server refuses a batch or stays unreachable.\n",
	        SIM_BATCH, LIMIT_SIM_USERS, LIMIT_SIM_DAYS);
}

static int run(const char *base, const char *key, int64_t ws, int64_t users, int64_t days, int64_t seed)
{
	struct simpost_stats st;
	int r = simpost_run("dropfix simulate", stderr, base, key, users, days, seed, &st);
	if (r == -2) {
		fprintf(stderr, "dropfix simulate: --via-http URL too long\n");
		return EXIT_USAGE;
	}
	if (r < 0) {
		if (st.events)
			fprintf(stderr, "dropfix simulate: stopped after %" PRId64 " accepted events\n", st.accepted);
		return 1;
	}
	printf("simulated %" PRId64 " users over %" PRId64 " days (seed %" PRId64 ") for workspace %" PRId64
	       " via %s\n",
	       users, days, seed, ws, st.url);
	for (int k = 0; k < PERSONAS_N; k++)
		if (st.users[k])
			printf("  %-11s %6" PRId64 " users %8" PRId64 " events\n",
			       personas_name((enum personas_kind)k), st.users[k], st.per_events[k]);
	printf("total: %" PRId64 " events in %" PRId64 " batches, %" PRId64 " accepted, %" PRId64
	       " dropped\n",
	       st.events, st.batches, st.accepted, st.dropped);
	return fflush(stdout) == 0 ? 0 : 1;
}

int cmd_simulate(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		cmd_simulate_help(stdout);
		return 0;
	}
	const char *wsv = NULL, *usersv = NULL, *daysv = NULL, *seedv = NULL, *via = NULL, *keyv = NULL;
	struct opcli_flag flags[] = {{"--workspace", &wsv, NULL}, {"--users", &usersv, NULL},
	                             {"--days", &daysv, NULL},    {"--seed", &seedv, NULL},
	                             {"--via-http", &via, NULL},  {"--key", &keyv, NULL}};
	struct opcli o;
	int npos = 0;
	int64_t ws = 0, users = 0, days = 0, seed = 0;
	char key[SIM_KEY_MAX + 1] = "";
	int rc = opcli_open(&o, "dropfix simulate", argc, argv, 1, flags, 6, NULL, 0, &npos);
	if (rc != 0)
		goto done;
	rc = EXIT_USAGE;
	if (!wsv || parse_i64_cstr(wsv, 1, WS_ID_MAX, &ws) < 0) {
		opcli_say(&o, "needs --workspace ID (a positive integer)");
		goto done;
	}
	if (!usersv || parse_i64_cstr(usersv, 1, LIMIT_SIM_USERS, &users) < 0) {
		opcli_say(&o, "needs --users N (1-%d)", LIMIT_SIM_USERS);
		goto done;
	}
	if (!daysv || parse_i64_cstr(daysv, 1, LIMIT_SIM_DAYS, &days) < 0) {
		opcli_say(&o, "needs --days D (1-%d)", LIMIT_SIM_DAYS);
		goto done;
	}
	if (!seedv || parse_i64_cstr(seedv, 0, INT64_MAX, &seed) < 0) {
		opcli_say(&o, "needs --seed S (a non-negative integer)");
		goto done;
	}
	if (!via) {
		opcli_say(&o, "needs --via-http URL: events are posted to a running server's /v1/batch "
		              "(writing to the database directly is not supported)");
		goto done;
	}
	if (strncmp(via, "http://", 7) != 0 && strncmp(via, "https://", 8) != 0) {
		opcli_say(&o, "--via-http: an http:// or https:// URL");
		goto done;
	}
	const char *k = keyv ? keyv : getenv("DROPFIX_SIMULATE_KEY");
	if (!k || strncmp(k, "sk_", 3) != 0 || strlen(k) > SIM_KEY_MAX || k[strcspn(k, "\r\n \t")] != '\0') {
		opcli_say(&o, "needs the workspace's secret key (sk_…) in DROPFIX_SIMULATE_KEY or --key");
		goto done;
	}
	memcpy(key, k, strlen(k) + 1);
	if (clock_now_ms() < days * 86400 * 1000) {
		opcli_say(&o, "the clock is before the simulated window");
		goto done;
	}
	rc = run(via, key, ws, users, days, seed);
done:
	sodium_memzero(key, sizeof(key));
	opcli_close(&o);
	return rc;
}
