#include "core/arena.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct chunk {
	struct chunk *next;
	size_t size;
	size_t used;
	alignas(max_align_t) unsigned char data[];
};

struct arena {
	struct chunk *head;
	size_t limit;
	size_t total;
};

enum { ARENA_CHUNK = 4 * 1024 }; /* most requests need one chunk; larger ones grow */

/* Freed ARENA_CHUNK chunks are kept per thread (up to ARENA_SPARE_MAX) for the thread's
 * next arenas instead of a malloc/free pair of 4 KB per request: an HTTP thread has many
 * requests in flight at once (suspended while the ingestion writer commits), so one
 * spare slot is not enough. Freed with the thread. Contents are not wiped here: every
 * arena_alloc zeroes what it hands out. */
enum { ARENA_SPARE_MAX = 64 };

struct spares {
	size_t n;
	struct chunk *v[ARENA_SPARE_MAX];
};

static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static int spare_ok;

static void spares_free(void *p)
{
	struct spares *s = p;
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s);
}

static void spare_init(void)
{
	spare_ok = pthread_key_create(&spare_key, spares_free) == 0;
}

static struct chunk *spare_take(void)
{
	pthread_once(&spare_once, spare_init);
	struct spares *s = spare_ok ? pthread_getspecific(spare_key) : NULL;
	return s && s->n ? s->v[--s->n] : NULL;
}

/* Keeps c for the thread's next arenas when it is a standard chunk and there is room;
 * returns 1 when kept. */
static int spare_keep(struct chunk *c)
{
	if (c->size != ARENA_CHUNK)
		return 0;
	pthread_once(&spare_once, spare_init);
	if (!spare_ok)
		return 0;
	struct spares *s = pthread_getspecific(spare_key);
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s || pthread_setspecific(spare_key, s) != 0) {
			free(s);
			return 0;
		}
	}
	if (s->n == ARENA_SPARE_MAX)
		return 0;
	s->v[s->n++] = c;
	return 1;
}

struct arena *arena_new(size_t limit)
{
	struct arena *a = calloc(1, sizeof(*a));
	if (a)
		a->limit = limit;
	return a;
}

void *arena_alloc(struct arena *a, size_t n)
{
	const size_t align = alignof(max_align_t);
	if (n > SIZE_MAX - align)
		return NULL;
	n = (n + align - 1) & ~(align - 1);
	if (n == 0)
		n = align;
	struct chunk *c = a->head;
	if (!c || c->size - c->used < n) {
		size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		if (size > a->limit - a->total || a->total > a->limit)
			return NULL;
		c = size == ARENA_CHUNK ? spare_take() : NULL;
		if (!c)
			c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->next = a->head;
		c->size = size;
		c->used = 0;
		a->head = c;
		a->total += size;
	}
	void *p = c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	if (n == SIZE_MAX)
		return NULL;
	char *p = arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

size_t arena_used(const struct arena *a)
{
	return a->total;
}

void arena_free(struct arena *a)
{
	if (!a)
		return;
	struct chunk *c = a->head;
	while (c) {
		struct chunk *next = c->next;
		if (!spare_keep(c))
			free(c);
		c = next;
	}
	free(a);
}
