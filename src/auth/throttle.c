#include "auth/throttle.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define THROTTLE_HASH_BYTES 16

struct entry {
	unsigned char h[THROTTLE_HASH_BYTES];
	int64_t window_start;
	int64_t window_ms;
	int count;
	struct entry *next;
};

struct throttle {
	pthread_mutex_t mu;
	unsigned char key[crypto_generichash_KEYBYTES];
	struct entry **buckets;
	size_t n_buckets; /* a power of two */
	size_t n;
	size_t max_keys;
};

struct throttle *throttle_new(size_t max_keys)
{
	if (max_keys < 1 || max_keys > 10000000 || sodium_init() < 0)
		return NULL;
	struct throttle *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	size_t nb = 64;
	while (nb < max_keys / 2 && nb < ((size_t)1 << 22))
		nb <<= 1;
	t->buckets = calloc(nb, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	t->n_buckets = nb;
	t->max_keys = max_keys;
	randombytes_buf(t->key, sizeof(t->key));
	pthread_mutex_init(&t->mu, NULL);
	return t;
}

void throttle_free(struct throttle *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_buckets; i++) {
		struct entry *e = t->buckets[i];
		while (e) {
			struct entry *next = e->next;
			free(e);
			e = next;
		}
	}
	free(t->buckets);
	pthread_mutex_destroy(&t->mu);
	sodium_memzero(t->key, sizeof(t->key));
	free(t);
}

static void key_hash(const struct throttle *t, const char *key, size_t n,
                     unsigned char h[THROTTLE_HASH_BYTES])
{
	crypto_generichash(h, THROTTLE_HASH_BYTES, (const unsigned char *)key, n, t->key, sizeof(t->key));
}

static size_t bucket_of(const struct throttle *t, const unsigned char h[THROTTLE_HASH_BYTES])
{
	size_t b;
	memcpy(&b, h, sizeof(b));
	return b & (t->n_buckets - 1);
}

static struct entry *find(struct throttle *t, const unsigned char h[THROTTLE_HASH_BYTES],
                          struct entry ***link_out)
{
	struct entry **link = &t->buckets[bucket_of(t, h)];
	for (; *link; link = &(*link)->next) {
		if (memcmp((*link)->h, h, THROTTLE_HASH_BYTES) == 0) {
			if (link_out)
				*link_out = link;
			return *link;
		}
	}
	return NULL;
}

static int ended(const struct entry *e, int64_t now)
{
	return now >= e->window_start + e->window_ms || now < e->window_start;
}

/* Makes room for one more entry: drops ended windows, then (still full) the entry whose
 * window started first. O(table) but only when the table is full. */
static void make_room(struct throttle *t, int64_t now)
{
	struct entry **oldest = NULL;
	for (size_t i = 0; i < t->n_buckets; i++) {
		struct entry **link = &t->buckets[i];
		while (*link) {
			if (ended(*link, now)) {
				struct entry *dead = *link;
				*link = dead->next;
				free(dead);
				t->n--;
				continue;
			}
			if (!oldest || (*link)->window_start < (*oldest)->window_start)
				oldest = link;
			link = &(*link)->next;
		}
	}
	if (t->n >= t->max_keys && oldest) {
		struct entry *dead = *oldest;
		*oldest = dead->next;
		free(dead);
		t->n--;
	}
}

static int64_t retry_seconds(const struct entry *e, int64_t now)
{
	int64_t ms = e->window_start + e->window_ms - now;
	int64_t s = (ms + 999) / 1000;
	return s < 1 ? 1 : s;
}

/* Under t->mu: 1 when under limit, else 0 with *retry set. */
static int check_locked(struct throttle *t, const unsigned char h[THROTTLE_HASH_BYTES], int limit,
                        int64_t now, int64_t *retry)
{
	struct entry *e = find(t, h, NULL);
	if (!e || ended(e, now) || e->count < limit)
		return 1;
	if (retry)
		*retry = retry_seconds(e, now);
	return 0;
}

/* Under t->mu: counts one event; returns the count, or 0 when out of memory. */
static int hit_locked(struct throttle *t, const unsigned char h[THROTTLE_HASH_BYTES], int64_t window_ms,
                      int64_t now)
{
	struct entry *e = find(t, h, NULL);
	if (!e) {
		if (t->n >= t->max_keys)
			make_room(t, now);
		e = calloc(1, sizeof(*e));
		if (!e)
			return 0;
		memcpy(e->h, h, THROTTLE_HASH_BYTES);
		size_t b = bucket_of(t, h);
		e->next = t->buckets[b];
		t->buckets[b] = e;
		t->n++;
		e->window_start = now;
		e->window_ms = window_ms;
	} else if (ended(e, now)) {
		e->window_start = now;
		e->window_ms = window_ms;
		e->count = 0;
	}
	if (e->count < 0x7fffffff)
		e->count++;
	return e->count;
}

int throttle_check(struct throttle *t, const char *key, size_t n, int limit, int64_t now_ms,
                   int64_t *retry_after_s)
{
	unsigned char h[THROTTLE_HASH_BYTES];
	key_hash(t, key, n, h);
	pthread_mutex_lock(&t->mu);
	int ok = check_locked(t, h, limit, now_ms, retry_after_s);
	pthread_mutex_unlock(&t->mu);
	return ok;
}

int throttle_hit(struct throttle *t, const char *key, size_t n, int64_t window_ms, int64_t now_ms)
{
	unsigned char h[THROTTLE_HASH_BYTES];
	key_hash(t, key, n, h);
	pthread_mutex_lock(&t->mu);
	int count = hit_locked(t, h, window_ms, now_ms);
	pthread_mutex_unlock(&t->mu);
	return count;
}

int throttle_take(struct throttle *t, const char *key, size_t n, int limit, int64_t window_ms, int64_t now_ms,
                  int64_t *retry_after_s)
{
	unsigned char h[THROTTLE_HASH_BYTES];
	key_hash(t, key, n, h);
	pthread_mutex_lock(&t->mu);
	int ok = check_locked(t, h, limit, now_ms, retry_after_s);
	if (ok)
		hit_locked(t, h, window_ms, now_ms);
	pthread_mutex_unlock(&t->mu);
	return ok;
}

void throttle_reset(struct throttle *t, const char *key, size_t n)
{
	unsigned char h[THROTTLE_HASH_BYTES];
	key_hash(t, key, n, h);
	pthread_mutex_lock(&t->mu);
	struct entry **link = NULL;
	struct entry *e = find(t, h, &link);
	if (e) {
		*link = e->next;
		free(e);
		t->n--;
	}
	pthread_mutex_unlock(&t->mu);
}

size_t throttle_size(struct throttle *t)
{
	pthread_mutex_lock(&t->mu);
	size_t n = t->n;
	pthread_mutex_unlock(&t->mu);
	return n;
}
