/* Strict UTF-8 decoding (RFC 3629): the one decoder every module uses. Overlong forms,
 * UTF-16 surrogates (U+D800..U+DFFF), code points above U+10FFFF, stray continuation
 * bytes and truncated sequences are all invalid. */
#ifndef DROPFIX_UTF8_H
#define DROPFIX_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the one character at p[0..n). Returns its length in bytes (1..4) and sets
 * *cp to its code point, or returns -1 (and leaves *cp unchanged) when p[0..n) does not
 * start with a well-formed sequence, including when n is 0. cp may be NULL. */
int utf8_decode(const unsigned char *p, size_t n, uint32_t *cp);
/* 1 when p[0..n) is entirely well-formed UTF-8, 0 otherwise. NUL bytes (U+0000) are
 * valid UTF-8; callers that refuse them check separately. */
int utf8_valid(const char *p, size_t n);

#endif
