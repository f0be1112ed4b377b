/* Token buckets per workspace (see ingest_rate.h). */
#include <pthread.h>
#include <stdlib.h>

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

int64_t ingest_rate_take(int64_t ws, size_t cost, int64_t now_ms, int64_t rate, int64_t burst)
{
	int64_t wait = 0;
	pthread_mutex_lock(&mu);
	struct bucket *b = refill(ws, now_ms, rate, burst);
	if (!b) { /* out of memory: do not refuse service over our own bookkeeping */
		pthread_mutex_unlock(&mu);
		return 0;
	}
	double need = (double)cost;
	if (need <= b->tokens) {
		b->tokens -= need;
	} else {
		double missing = (need > (double)burst ? (double)burst : need) - b->tokens;
		wait = wait_seconds(missing, rate);
	}
	pthread_mutex_unlock(&mu);
	return wait;
}

void ingest_rate_reset(void)
{
	pthread_mutex_lock(&mu);
	free(tab);
	tab = NULL;
	cap = used = 0;
	pthread_mutex_unlock(&mu);
}
