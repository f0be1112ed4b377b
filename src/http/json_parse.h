/* A recursive-descent JSON parser over a buffer that builds jansson values directly.
 * It accepts and builds exactly what json_loadb(p, n, JSON_REJECT_DUPLICATES, ...)
 * does (checked by fuzz/fuzz_json_parse.c), without jansson's byte-at-a-time stream
 * lexer. jsonin_load (json.c) is its one caller and maps its errors to the envelope.
 * Prefix jsonparse_. */
#ifndef DROPFIX_HTTP_JSON_PARSE_H
#define DROPFIX_HTTP_JSON_PARSE_H

#include <jansson.h>
#include <stddef.h>

enum jsonparse_status {
	JSONPARSE_OK = 0,
	JSONPARSE_SYNTAX,     /* grammar, trailing data, top level not an object or array */
	JSONPARSE_UTF8,       /* invalid UTF-8 inside a string */
	JSONPARSE_NUL_ESCAPE, /* "\u0000" in a string or key */
	JSONPARSE_RANGE,      /* integer outside json_int_t, or a real that overflows */
	JSONPARSE_DUPLICATE,  /* a key repeated in one object (byte-exact after decoding) */
	JSONPARSE_TOO_DEEP,   /* a container opened more than max_depth levels deep */
	JSONPARSE_NOMEM,      /* an allocation failed */
};

struct jsonparse_error {
	enum jsonparse_status status;
	size_t off;         /* byte offset in the input; for DUPLICATE just after the key's
	                     * closing quote (where jansson reports it) */
	const char *reason; /* static English text, never client bytes */
};

/* Parses p[0..n) (need not be NUL-terminated; a NUL byte is refused as jansson's
 * syntax would). Top level must be an object or an array; whitespace is space, tab,
 * LF, CR. Returns JSONPARSE_OK with a new reference in *out, or another status with
 * *out NULL, err filled and nothing leaked. Recursion is bounded by max_depth. Scratch
 * memory (only for strings with escapes) comes from jansson's allocator. */
enum jsonparse_status jsonparse_load(const char *p, size_t n, size_t max_depth, json_t **out,
                                     struct jsonparse_error *err) __attribute__((warn_unused_result));

#endif
