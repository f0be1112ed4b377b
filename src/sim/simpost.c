#include "sim/simpost.h"

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/clock.h"
#include "core/parse.h"
#include "core/str.h"

#define SIM_ATTEMPTS 8 /* tries per batch on 429, 503 and network errors */
#define SIM_RETRY_MAX_MS 30000
#define SIM_REPLY_MAX 65536

struct sim {
	const char *prog;
	FILE *diag;
	struct curl_slist *headers;
	CURL *curl;
	json_t *batch;
	struct personas_rng jitter;
	struct simpost_stats *st;
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

/* Prints the start of the server's answer with control characters escaped. */
static void put_reply(FILE *f, const struct buf *reply)
{
	struct buf b;
	size_t n = reply->p ? reply->n : 0;
	buf_init(&b, SIM_REPLY_MAX * 4);
	buf_put_escaped(&b, reply->p ? reply->p : "", n > 400 ? 400 : n);
	fputs(b.p ? b.p : "", f);
	if (n > 400)
		fputs("…", f);
	buf_free(&b);
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
		fprintf(s->diag, "%s: out of memory\n", s->prog);
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
			s->st->accepted += json_is_integer(acc) ? json_integer_value(acc) : (json_int_t)n;
			s->st->dropped += (int64_t)json_array_size(json_object_get(j, "dropped"));
			json_decref(j);
			s->st->batches++;
			rc = 0;
			break;
		}
		if (cc == CURLE_OK && status != 429 && status != 503) {
			fprintf(s->diag, "%s: the server answered %ld: ", s->prog, status);
			put_reply(s->diag, &reply);
			fputc('\n', s->diag);
			break;
		}
		if (attempt + 1 == SIM_ATTEMPTS) {
			if (cc != CURLE_OK)
				fprintf(s->diag, "%s: %s: %s (gave up after %d tries)\n", s->prog, s->st->url,
				        curl_easy_strerror(cc), SIM_ATTEMPTS);
			else
				fprintf(s->diag, "%s: still %ld after %d tries\n", s->prog, status, SIM_ATTEMPTS);
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
	s->st->events++;
	return json_array_size(s->batch) >= SIMPOST_BATCH ? flush_batch(s) : 0;
}

int simpost_run(const char *prog, FILE *diag, const char *base_url, const char *key, int64_t users, int64_t days,
                int64_t seed, struct simpost_stats *st)
{
	struct sim s;
	memset(&s, 0, sizeof(s));
	memset(st, 0, sizeof(*st));
	s.prog = prog;
	s.diag = diag;
	s.st = st;
	char auth[SIMPOST_KEY_MAX + 32];
	size_t bn = strlen(base_url);
	while (bn && base_url[bn - 1] == '/')
		bn--;
	if (bn + sizeof("/v1/batch") > sizeof(st->url))
		return -2;
	if (strlen(key) > SIMPOST_KEY_MAX) {
		fprintf(diag, "%s: the secret key is too long\n", prog);
		return -1;
	}
	snprintf(st->url, sizeof(st->url), "%.*s/v1/batch", (int)bn, base_url);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
	int rc = -1, curl_up = 0;
	personas_rng_seed(&s.jitter, (uint64_t)seed, 0);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto done;
	curl_up = 1;
	s.curl = curl_easy_init();
	s.batch = json_array();
	s.headers = curl_slist_append(NULL, "Content-Type: application/json");
	struct curl_slist *h2 = s.headers ? curl_slist_append(s.headers, auth) : NULL;
	if (!s.curl || !s.batch || !h2) {
		fprintf(diag, "%s: out of memory\n", prog);
		goto done;
	}
	s.headers = h2;
	curl_easy_setopt(s.curl, CURLOPT_URL, st->url);
	curl_easy_setopt(s.curl, CURLOPT_HTTPHEADER, s.headers);
	curl_easy_setopt(s.curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(s.curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(s.curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(s.curl, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(s.curl, CURLOPT_NOSIGNAL, 1L);
	int64_t now = clock_now_ms();
	for (int64_t i = 0; i < users; i++) {
		int64_t before = st->events;
		if (personas_user((uint64_t)seed, i, (int)days, now, on_event, &s) < 0)
			goto done;
		st->users[personas_of(i)]++;
		st->per_events[personas_of(i)] += st->events - before;
	}
	if (flush_batch(&s) < 0)
		goto done;
	rc = 0;
done:
	sodium_memzero(auth, sizeof(auth));
	curl_slist_free_all(s.headers); /* its copy of the header is freed, not wiped: libcurl owns it */
	if (s.curl)
		curl_easy_cleanup(s.curl);
	json_decref(s.batch);
	if (curl_up)
		curl_global_cleanup();
	return rc;
}
