/* Strict, bounded parsers for untrusted text (OpenBSD strtonum style). */
#ifndef DROPFIX_PARSE_H
#define DROPFIX_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Parses all of s[0..n) as a decimal integer in [min, max]: no sign for unsigned, no
 * spaces, no leading '+', no trailing bytes. Returns 0 and sets *out, or -1. */
int parse_i64(const char *s, size_t n, int64_t min, int64_t max, int64_t *out)
	__attribute__((warn_unused_result));
/* Same, for a NUL-terminated string. */
int parse_i64_cstr(const char *s, int64_t min, int64_t max, int64_t *out)
	__attribute__((warn_unused_result));

/* Parses "host:port" or "[v6]:port" into host (NUL-terminated, brackets removed) and
 * port. Returns 0, or -1 when malformed or host does not fit hostlen. */
int parse_host_port(const char *s, char *host, size_t hostlen, uint16_t *port)
	__attribute__((warn_unused_result));

/* The value of one hexadecimal digit (0-9, a-f, A-F), or -1. */
int parse_hex_digit(unsigned char c);

#endif
