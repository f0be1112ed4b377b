/* Length-carrying strings from the network and a growable output buffer. */
#ifndef DROPFIX_STR_H
#define DROPFIX_STR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* A borrowed byte range; not NUL-terminated in general. */
struct str {
	const char *p;
	size_t n;
};

#define STR_LIT(s) ((struct str){(s), sizeof(s) - 1})
#define STR_FMT(s) (int)(s).n, (s).p

/* A growable output buffer. After any failed append, oom is set and further appends
 * are no-ops, so callers check once at the end. p is always NUL-terminated when
 * non-NULL. cap_limit (0 = none) bounds the total size; exceeding it also sets oom. */
struct buf {
	char *p;
	size_t n;
	size_t cap;
	size_t cap_limit;
	int oom;
};

struct str str_from_cstr(const char *s);
/* 1 when equal byte for byte (not constant time). */
int str_eq(struct str a, struct str b);
/* 1 when equal ignoring ASCII case. */
int str_eq_nocase(struct str a, struct str b);
int str_has_prefix(struct str s, struct str prefix);

void buf_init(struct buf *b, size_t cap_limit);
/* Appends n bytes; returns 0, or -1 (and sets oom) on allocation failure or limit. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Appends s with control characters, quotes and backslashes escaped (for logs/CLI). */
int buf_put_escaped(struct buf *b, const char *s, size_t n);
/* Takes ownership of the bytes: returns them (NUL-terminated) and resets b. */
char *buf_detach(struct buf *b, size_t *len);
void buf_reset(struct buf *b);
/* Frees the bytes; accepts a zeroed buf. */
void buf_free(struct buf *b);

#endif
