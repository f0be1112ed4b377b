/* Private to src/tmpl: what the template engine (tmpl.c) and the SVG builder
 * (tmpl_svg.c) share. Not for use outside src/tmpl. */
#ifndef DROPFIX_TMPL_INT_H
#define DROPFIX_TMPL_INT_H

#include <jansson.h>
#include <stddef.h>

#include "core/str.h"

/* Returns a new trusted fragment holding a copy of html[0..n) (valid UTF-8), or NULL. */
json_t *tmpl_trusted_new(const char *html, size_t n);
/* Appends text[0..n) HTML-escaped to b, replacing invalid UTF-8 and control characters
 * (except tab, newline, carriage return) by U+FFFD, so the result is valid UTF-8 text. */
void tmpl_put_escaped_utf8(struct buf *b, const char *text, size_t n);

/* 1 when p[0..n) is [A-Za-z0-9_-]+ of at most TMPL_NAME_MAX (128) bytes. */
int tmpl_valid_simple_name(const char *p, size_t n);

#endif
