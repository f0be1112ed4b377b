/* The compiled HTML templates of the running server (one set per process). */
#ifndef DROPFIX_VIEWS_H
#define DROPFIX_VIEWS_H

#include <stddef.h>

#include "tmpl/tmpl.h"

/* Compiles the embedded templates once. Returns 0, or -1 with the template error. */
int views_init(char *err, size_t errlen) __attribute__((warn_unused_result));
/* The compiled set, or NULL before views_init. Borrowed; thread-safe to render. */
const struct tmpl_set *views(void);
/* Frees the set. */
void views_free(void);

#endif
