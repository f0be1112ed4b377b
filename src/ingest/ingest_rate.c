/* Token buckets per workspace (see ingest_rate.h). */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest_rate.h"

struct bucket {
	int64_t ws; /* 0 = empty slot */
	double tokens;
	int64_t last_ms;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct bucket *tab;
static size_t cap, used;

static struct bucket *slot(int64_t ws)
{
	if ((used + 1) * 2 > cap) {
		size_t ncap = cap ? cap * 2 : 256;
		struct bucket *nt = calloc(ncap, sizeof(*nt));
		if (!nt)
			return NULL;
		for (size_t i = 0; i < cap; i++) {
			if (!tab[i].ws)
				continue;
			size_t h = ((size_t)tab[i].ws * 0x9E3779B97F4A7C15ull) & (ncap - 1);
			while (nt[h].ws)
				h = (h + 1) & (ncap - 1);
			nt[h] = tab[i];
		}
		free(tab);
		tab = nt;
		cap = ncap;
	}
	size_t h = ((size_t)ws * 0x9E3779B97F4A7C15ull) & (cap - 1);
	while (tab[h].ws && tab[h].ws != ws)
		h = (h + 1) & (cap - 1);
	return &tab[h];
}

/* Whole seconds (at least 1) until missing tokens have been refilled at rate/s. */
static int64_t wait_seconds(double missing, int64_t rate)
{
	double s = missing / (double)rate;
	int64_t w = (int64_t)s;
	if ((double)w < s)
		w++;
	return w < 1 ? 1 : w;
}

/* The refilled bucket of ws, or NULL when out of memory. Called with mu held. */
static struct bucket *refill(int64_t ws, int64_t now_ms, int64_t rate, int64_t burst)
{
	struct bucket *b = slot(ws);
	if (!b)
		return NULL;
	if (!b->ws) {
		b->ws = ws;
		b->tokens = (double)burst;
		b->last_ms = now_ms;
		used++;
	}
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * (double)rate / 1000.0;
		if (b->tokens > (double)burst)
			b->tokens = (double)burst;
		b->last_ms = now_ms;
	}
	return b;
}

int64_t ingest_rate_blocked(int64_t key, int64_t now_ms, int64_t rate, int64_t burst)
{
	int64_t wait = 0;
	pthread_mutex_lock(&mu);
	struct bucket *b = refill(key, now_ms, rate, burst);
	if (b && b->tokens < 1.0)
		wait = wait_seconds(1.0 - b->tokens, rate);
	pthread_mutex_unlock(&mu);
	return wait;
}

int64_t ingest_rate_ip_key(const char *ip)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)ip; *p; p++) {
		h ^= *p;
		h *= 1099511628211ull;
	}
	return (int64_t)((h >> 1) | (1ull << 62));
}

/* Takes need tokens from a refilled bucket (or computes the wait). Called with mu held. */
static int64_t take_tokens(double *tokens, size_t cost, int64_t rate, int64_t burst)
{
	double need = (double)cost;
	if (need <= *tokens) {
		*tokens -= need;
		return 0;
	}
	double missing = (need > (double)burst ? (double)burst : need) - *tokens;
	return wait_seconds(missing, rate);
}

/* ---- per-(workspace, IP) sub-buckets ---- */

struct sub {
	uint64_t tag; /* keyed hash of (ws, ip); 0 = empty */
	double tokens;
	int64_t last_ms;
	uint64_t used; /* sub_clock at the last take: LRU order without ties (many takes share a ms) */
};

static struct sub subs[INGEST_RATE_IP_SETS][INGEST_RATE_IP_WAYS];
static uint64_t sub_clock; /* counts takes; under mu */
static unsigned char sub_key[crypto_shorthash_KEYBYTES];
static pthread_once_t sub_once = PTHREAD_ONCE_INIT;

static void sub_init_key(void)
{
	if (sodium_init() < 0)
		abort(); /* libsodium cannot run: nothing secret can work */
	randombytes_buf(sub_key, sizeof(sub_key));
}

static uint64_t sub_tag(int64_t ws, const char *ip)
{
	unsigned char in[8 + 64], out[crypto_shorthash_BYTES];
	size_t n = strnlen(ip, 64);
	uint64_t w = (uint64_t)ws, h;
	for (int i = 0; i < 8; i++)
		in[i] = (unsigned char)(w >> (8 * i));
	memcpy(in + 8, ip, n);
	pthread_once(&sub_once, sub_init_key);
	crypto_shorthash(out, in, 8 + n, sub_key);
	memcpy(&h, out, sizeof(h));
	return h ? h : 1;
}

int64_t ingest_rate_ip_take(int64_t ws, const char *ip, size_t cost, int64_t now_ms, int64_t rate,
                            int64_t burst)
{
	uint64_t tag = sub_tag(ws, ip ? ip : "");
	struct sub *set = subs[tag & (INGEST_RATE_IP_SETS - 1)];
	pthread_mutex_lock(&mu);
	struct sub *e = NULL, *victim = &set[0];
	for (int i = 0; i < INGEST_RATE_IP_WAYS; i++) {
		if (set[i].tag == tag) {
			e = &set[i];
			break;
		}
		if (victim->tag && (!set[i].tag || set[i].used < victim->used))
			victim = &set[i];
	}
	if (!e) { /* a new pair, or one evicted earlier: a full bucket */
		e = victim;
		e->tag = tag;
		e->tokens = (double)burst;
		e->last_ms = now_ms;
	}
	if (now_ms > e->last_ms) {
		e->tokens += (double)(now_ms - e->last_ms) * (double)rate / 1000.0;
		if (e->tokens > (double)burst)
			e->tokens = (double)burst;
		e->last_ms = now_ms;
	}
	e->used = ++sub_clock;
	int64_t wait = take_tokens(&e->tokens, cost, rate, burst);
	pthread_mutex_unlock(&mu);
	return wait;
}

int64_t ingest_rate_take(int64_t ws, size_t cost, int64_t now_ms, int64_t rate, int64_t burst)
{
	int64_t wait = 0;
	pthread_mutex_lock(&mu);
	struct bucket *b = refill(ws, now_ms, rate, burst);
	if (!b) { /* out of memory: do not refuse service over our own bookkeeping */
		pthread_mutex_unlock(&mu);
		return 0;
	}
	wait = take_tokens(&b->tokens, cost, rate, burst);
	pthread_mutex_unlock(&mu);
	return wait;
}

void ingest_rate_reset(void)
{
	pthread_mutex_lock(&mu);
	free(tab);
	tab = NULL;
	cap = used = 0;
	memset(subs, 0, sizeof(subs));
	sub_clock = 0;
	pthread_mutex_unlock(&mu);
}
