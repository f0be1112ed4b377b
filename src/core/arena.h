/* Per-request arena: many small allocations, freed in one place (h2o mem pool). */
#ifndef DROPFIX_ARENA_H
#define DROPFIX_ARENA_H

#include <stddef.h>

struct arena;

/* Returns a new arena whose total size is capped at limit bytes, or NULL. */
struct arena *arena_new(size_t limit) __attribute__((warn_unused_result));
/* Returns zeroed, max-aligned memory owned by the arena, or NULL when the cap is hit. */
void *arena_alloc(struct arena *a, size_t n) __attribute__((warn_unused_result));
/* Copies n bytes and a NUL into the arena; NULL on failure. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
/* Bytes handed out so far. */
size_t arena_used(const struct arena *a);
/* Frees every allocation; accepts NULL. */
void arena_free(struct arena *a);

#endif
