/* dropfix simulate: synthetic user histories (src/sim/personas.h) posted to a running
 * server's /v1/batch with the workspace's secret key, exactly as a server-side client
 * would send them. Posting over HTTP is the only supported path: it exercises the real
 * ingestion (masking, sessions, aggregates, de-duplication) and needs no database access.
 *
 * The secret key: it is shown once when the workspace is created (or rotated on the keys
 * page) and stored only in a form that cannot be read back, so the operator supplies it:
 * DROPFIX_SIMULATE_KEY (preferred: not visible in the process list) or --key. */
#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/opcli.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/parse.h"
#include "core/str.h"
#include "sim/personas.h"

#define WS_ID_MAX ((INT64_C(1) << 53) - 1)
#define SIM_BATCH 500  /* events per POST (the server's default cap) */
#define SIM_ATTEMPTS 8 /* tries per batch on 429, 503 and network errors */
#define SIM_RETRY_MAX_MS 30000
#define SIM_REPLY_MAX 65536
#define SIM_KEY_MAX 256

void cmd_simulate_help(FILE *out)
{
	fprintf(out,
	        "usage: dropfix simulate --workspace ID --users N --days D --seed S --via-http URL\n"
	        "                        [--key sk_…]\n\n"
	        "Generates deterministic synthetic histories (the same seed gives the same events,\n"
	        "message_ids included, so a re-run is de-duplicated) for N users over the D days\n"
	        "ending now, assigned round robin to seven personas: steady, power, dropping,\n"
	        "gone_quiet (nothing in the last 7 days), trial (never activated), cancelling\n"
	        "(visits /billing and /cancel in the last third), payment (payment trouble comes\n"
	        "later; for now only traits: card_expires). Each user gets one identify (plan, mrr,\n"
	        "signup_at, name, e-mail) and page, click, api and track events; user ids are\n"
	        "sim-<persona>-<n>.\n\n"
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

struct sim {
	const char *url; /* …/v1/batch */
	struct curl_slist *headers;
	CURL *curl;
	json_t *batch;
	struct personas_rng jitter;
	int64_t batches, accepted, dropped, events;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct buf *b = ud;
	return buf_append(b, p, size * n) == 0 ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	int64_t *retry_s = ud;
	size_t len = size * n;
	static const char name[] = "retry-after:";
	if (len > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0) {
		const char *v = p + sizeof(name) - 1;
		size_t vn = len - (sizeof(name) - 1);
		while (vn && (*v == ' ' || *v == '\t'))
			v++, vn--;
		while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' '))
			vn--;
		int64_t s;
		if (parse_i64(v, vn, 0, 86400, &s) == 0)
			*retry_s = s;
	}
	return len;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Posts the pending batch. Returns 0, or -1 after printing why. */
static int flush_batch(struct sim *s)
{
	if (json_array_size(s->batch) == 0)
		return 0;
	char sent[40];
	if (clock_format_ms(clock_now_ms(), sent, sizeof(sent)) < 0)
		return -1;
	json_t *doc = json_pack("{s:s, s:O}", "sent_at", sent, "batch", s->batch);
	char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!body) {
		fprintf(stderr, "dropfix simulate: out of memory\n");
		return -1;
	}
	size_t n = json_array_size(s->batch);
	struct buf reply;
	buf_init(&reply, SIM_REPLY_MAX);
	int rc = -1;
	long status = 0;
	for (int attempt = 0; attempt < SIM_ATTEMPTS; attempt++) {
		int64_t retry_s = -1;
		buf_reset(&reply);
		reply.oom = 0;
		curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
		curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, &reply);
		curl_easy_setopt(s->curl, CURLOPT_HEADERDATA, &retry_s);
		CURLcode cc = curl_easy_perform(s->curl);
		status = 0;
		if (cc == CURLE_OK)
			curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
		if (status == 200) {
			json_t *j = json_loadb(reply.p ? reply.p : "", reply.n, 0, NULL);
			json_t *acc = json_object_get(j, "accepted");
			s->accepted += json_is_integer(acc) ? json_integer_value(acc) : (json_int_t)n;
			s->dropped += (int64_t)json_array_size(json_object_get(j, "dropped"));
			json_decref(j);
			s->batches++;
			rc = 0;
			break;
		}
		if (cc == CURLE_OK && status != 429 && status != 503) {
			fprintf(stderr, "dropfix simulate: the server answered %ld: ", status);
			opcli_put(stderr, reply.p ? reply.p : "");
			fputc('\n', stderr);
			break;
		}
		if (attempt + 1 == SIM_ATTEMPTS) {
			if (cc != CURLE_OK)
				fprintf(stderr, "dropfix simulate: %s: %s (gave up after %d tries)\n", s->url,
				        curl_easy_strerror(cc), SIM_ATTEMPTS);
			else
				fprintf(stderr, "dropfix simulate: still %ld after %d tries\n", status,
				        SIM_ATTEMPTS);
			break;
		}
		/* Retry-After when given, else exponential backoff from 250 ms, with jitter */
		int64_t wait = retry_s >= 0 ? retry_s * 1000 : (INT64_C(250) << attempt);
		wait += (int64_t)personas_rng_below(&s->jitter, 250);
		sleep_ms(wait > SIM_RETRY_MAX_MS ? SIM_RETRY_MAX_MS : wait);
	}
	free(body);
	buf_free(&reply);
	json_array_clear(s->batch);
	return rc;
}

static int on_event(void *ctx, json_t *ev)
{
	struct sim *s = ctx;
	if (json_array_append_new(s->batch, ev) < 0)
		return -1;
	s->events++;
	return json_array_size(s->batch) >= SIM_BATCH ? flush_batch(s) : 0;
}

static int run(const char *base, const char *key, int64_t ws, int64_t users, int64_t days, int64_t seed)
{
	struct sim s;
	memset(&s, 0, sizeof(s));
	char url[2048], auth[SIM_KEY_MAX + 32];
	size_t bn = strlen(base);
	while (bn && base[bn - 1] == '/')
		bn--;
	if (bn + sizeof("/v1/batch") > sizeof(url)) {
		fprintf(stderr, "dropfix simulate: --via-http URL too long\n");
		return EXIT_USAGE;
	}
	snprintf(url, sizeof(url), "%.*s/v1/batch", (int)bn, base);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
	int rc = 1;
	int64_t per_users[PERSONAS_N] = {0}, per_events[PERSONAS_N] = {0};
	s.url = url;
	personas_rng_seed(&s.jitter, (uint64_t)seed, 0);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto done;
	s.curl = curl_easy_init();
	s.batch = json_array();
	s.headers = curl_slist_append(NULL, "Content-Type: application/json");
	struct curl_slist *h2 = s.headers ? curl_slist_append(s.headers, auth) : NULL;
	if (!s.curl || !s.batch || !h2) {
		fprintf(stderr, "dropfix simulate: out of memory\n");
		goto done;
	}
	s.headers = h2;
	curl_easy_setopt(s.curl, CURLOPT_URL, url);
	curl_easy_setopt(s.curl, CURLOPT_HTTPHEADER, s.headers);
	curl_easy_setopt(s.curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(s.curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(s.curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(s.curl, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(s.curl, CURLOPT_NOSIGNAL, 1L);
	int64_t now = clock_now_ms();
	for (int64_t i = 0; i < users; i++) {
		int64_t before = s.events;
		if (personas_user((uint64_t)seed, i, (int)days, now, on_event, &s) < 0)
			goto done;
		per_users[personas_of(i)]++;
		per_events[personas_of(i)] += s.events - before;
	}
	if (flush_batch(&s) < 0)
		goto done;
	printf("simulated %" PRId64 " users over %" PRId64 " days (seed %" PRId64 ") for workspace %" PRId64
	       " via %s\n",
	       users, days, seed, ws, url);
	for (int k = 0; k < PERSONAS_N; k++)
		if (per_users[k])
			printf("  %-11s %6" PRId64 " users %8" PRId64 " events\n",
			       personas_name((enum personas_kind)k), per_users[k], per_events[k]);
	printf("total: %" PRId64 " events in %" PRId64 " batches, %" PRId64 " accepted, %" PRId64
	       " dropped\n",
	       s.events, s.batches, s.accepted, s.dropped);
	rc = fflush(stdout) == 0 ? 0 : 1;
done:
	if (rc != 0 && s.events)
		fprintf(stderr, "dropfix simulate: stopped after %" PRId64 " accepted events\n", s.accepted);
	sodium_memzero(auth, sizeof(auth));
	curl_slist_free_all(s.headers); /* its copy of the header is freed, not wiped: libcurl owns it */
	if (s.curl)
		curl_easy_cleanup(s.curl);
	json_decref(s.batch);
	curl_global_cleanup();
	return rc;
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
