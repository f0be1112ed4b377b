/* Positive key-lookup cache for ingestion (see ingest_keycache.h). */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "ingest/ingest_keycache.h"

#define HASH_BYTES 32

struct entry {
	uint8_t h[HASH_BYTES];
	int used;
	int64_t born_mono_ms;
	int64_t expires_at; /* wall ms */
	struct ingest_keycache_val v;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static uint8_t hkey[crypto_generichash_KEYBYTES];
static struct entry tab[INGEST_KEYCACHE_SLOTS];
static uint64_t generation;

static void init_key(void)
{
	if (sodium_init() < 0)
		abort(); /* libsodium cannot run: nothing secret can work */
	randombytes_buf(hkey, sizeof(hkey));
}

static size_t hash_of(const char *key, size_t n, uint8_t h[HASH_BYTES])
{
	pthread_once(&once, init_key);
	crypto_generichash(h, HASH_BYTES, (const unsigned char *)key, n, hkey, sizeof(hkey));
	uint64_t x;
	memcpy(&x, h, sizeof(x));
	return (size_t)(x & (INGEST_KEYCACHE_SLOTS - 1));
}

static int64_t mono_ms(void)
{
	return clock_mono_ns() / 1000000;
}

/* get at an explicit monotonic time (unit tests). */
static int get_at(const char *key, size_t n, int64_t now_ms, int64_t mono, struct ingest_keycache_val *out)
{
	uint8_t h[HASH_BYTES];
	size_t i = hash_of(key, n, h);
	int hit = 0;
	pthread_mutex_lock(&mu);
	struct entry *e = &tab[i];
	if (e->used && sodium_memcmp(e->h, h, HASH_BYTES) == 0) {
		if (mono - e->born_mono_ms < INGEST_KEYCACHE_TTL_MS && mono >= e->born_mono_ms &&
		    now_ms < e->expires_at) {
			*out = e->v;
			hit = 1;
		} else {
			e->used = 0;
		}
	}
	pthread_mutex_unlock(&mu);
	return hit;
}

int ingest_keycache_get(const char *key, size_t n, int64_t now_ms, struct ingest_keycache_val *out)
{
	return get_at(key, n, now_ms, mono_ms(), out);
}

uint64_t ingest_keycache_gen(void)
{
	pthread_mutex_lock(&mu);
	uint64_t g = generation;
	pthread_mutex_unlock(&mu);
	return g;
}

static void put_at(const char *key, size_t n, uint64_t gen, int64_t expires_at, int64_t mono,
                   const struct ingest_keycache_val *v)
{
	uint8_t h[HASH_BYTES];
	size_t i = hash_of(key, n, h);
	pthread_mutex_lock(&mu);
	if (gen == generation) {
		struct entry *e = &tab[i];
		memcpy(e->h, h, HASH_BYTES);
		e->used = 1;
		e->born_mono_ms = mono;
		e->expires_at = expires_at;
		e->v = *v;
	}
	pthread_mutex_unlock(&mu);
}

void ingest_keycache_put(const char *key, size_t n, uint64_t gen, int64_t expires_at,
                         const struct ingest_keycache_val *v)
{
	put_at(key, n, gen, expires_at, mono_ms(), v);
}

void ingest_keycache_clear(void)
{
	pthread_mutex_lock(&mu);
	generation++;
	memset(tab, 0, sizeof(tab));
	pthread_mutex_unlock(&mu);
}
