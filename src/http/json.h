/* JSON input: loading request bodies under our own limits, declarative binding into C
 * structs, JSON Pointer (RFC 6901) error locations and the pinned error envelope
 * {"error":{"code":"...","message":"...","field":"..."}} (ARCHITECTURE §8b "Errors").
 * Prefix jsonin_ (json_ belongs to jansson). */
#ifndef DROPFIX_HTTP_JSON_H
#define DROPFIX_HTTP_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

/* ---- JSON Pointer builder ------------------------------------------------------- */

/* Longest pointer an error can carry, NUL included. A segment that does not fit is
 * left out together with everything below it, so a pointer always names a real
 * location: the deepest one that fits. */
#define JSONIN_POINTER_MAX 256

struct jsonin_ptr {
	char p[JSONIN_POINTER_MAX]; /* NUL-terminated; "" is the whole document */
	size_t n;
	unsigned lost; /* segments pushed that did not fit */
};

/* Sets ptr to the empty pointer (the whole document). */
void jsonin_ptr_init(struct jsonin_ptr *ptr);
/* Appends "/" + key with "~" as "~0" and "/" as "~1". key need not be NUL-terminated. */
void jsonin_ptr_push_key(struct jsonin_ptr *ptr, const char *key, size_t n);
/* Appends "/" + the decimal index. */
void jsonin_ptr_push_index(struct jsonin_ptr *ptr, size_t index);
/* Removes the segment pushed last; no-op on the empty pointer. */
void jsonin_ptr_pop(struct jsonin_ptr *ptr);

/* ---- Errors --------------------------------------------------------------------- */

#define JSONIN_MESSAGE_MAX 160

/* One error, mapping 1:1 onto the error envelope. code is a static string (NULL while
 * no error was set): invalid_json, invalid_form, too_deep, too_large, too_many_fields,
 * duplicate_key, invalid_field, missing_field, unknown_field, internal. message is
 * English for humans and never quotes client bytes; field is a JSON Pointer or "" when
 * no single field is at fault. */
struct jsonin_error {
	const char *code;
	char message[JSONIN_MESSAGE_MAX];
	char field[JSONIN_POINTER_MAX];
};

/* Fills err: code (a static string), field from at (NULL = none), printf message. */
void jsonin_error_set(struct jsonin_error *err, const char *code, const struct jsonin_ptr *at,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* HTTP status for err: 413 for too_large and too_many_fields, 500 for internal, else 400. */
int jsonin_error_status(const struct jsonin_error *err);
/* Returns a new reference to {"error":{"code","message"[,"field"]}}, or NULL on OOM.
 * field is left out when empty. */
json_t *jsonin_error_json(const struct jsonin_error *err) __attribute__((warn_unused_result));
/* Appends the same envelope, compact, to out. Returns 0, or -1 on OOM (out->oom set). */
int jsonin_error_render(const struct jsonin_error *err, struct buf *out) __attribute__((warn_unused_result));

/* ---- Loading -------------------------------------------------------------------- */

enum jsonin_scan {
	JSONIN_SCAN_OK = 0,
	JSONIN_SCAN_TOO_DEEP, /* a bracket opened more than max_depth levels deep */
	JSONIN_SCAN_NUL,      /* a NUL byte */
};

/* One linear pass over p[0..n), no allocation: tracks strings and escapes and counts
 * bracket depth outside strings. Returns JSONIN_SCAN_OK, or the first problem with
 * *bad_off (may be NULL) set to its byte offset. Says nothing else about validity:
 * text it stops understanding (a stray closer, an unterminated string) is left for
 * the parser to refuse. Depth counts like jansson: "[]" is 1, a scalar 0. */
enum jsonin_scan jsonin_prescan(const char *p, size_t n, size_t max_depth, size_t *bad_off);

/* Loads one JSON object or array from a request body. Refuses, in this order: more
 * than max_bytes (too_large), a NUL byte or nesting deeper than LIMIT_JSON_DEPTH
 * (invalid_json / too_deep, both before jansson allocates anything), then what jansson
 * refuses: syntax, trailing data, invalid UTF-8, "\u0000" (invalid_json), duplicate
 * keys at any level (duplicate_key, field = pointer to the second occurrence).
 * Returns 0 and a new reference in *out, or -1 with err filled. */
int jsonin_load(const char *p, size_t n, size_t max_bytes, json_t **out, struct jsonin_error *err)
    __attribute__((warn_unused_result));

/* ---- Text checks ---------------------------------------------------------------- */

enum jsonin_text {
	JSONIN_TEXT_OK = 0,
	JSONIN_TEXT_BAD_UTF8, /* invalid UTF-8 (overlong, surrogate, > U+10FFFF, cut) or NUL */
	JSONIN_TEXT_CONTROL,  /* a control character refused by JSONIN_NO_CTRL */
};

/* Checks p[0..n): valid UTF-8 without NUL; with JSONIN_NO_CTRL in flags also without
 * C0, DEL or C1 control characters (JSONIN_MULTILINE lets tab, LF and CR through). */
enum jsonin_text jsonin_text_check(const char *p, size_t n, unsigned flags);

/* ---- Binding -------------------------------------------------------------------- */

enum jsonin_type {
	JSONIN_STRING = 1, /* target struct str (borrowed from the document / form) */
	JSONIN_INT,        /* target int64_t; JSON integers only, 1.0 and "1" are refused */
	JSONIN_BOOL,       /* target int (0/1); forms: on/1/true and off/0/false */
	JSONIN_OBJECT,     /* target json_t * (borrowed); JSON only */
	JSONIN_ARRAY,      /* target json_t * (borrowed); JSON only */
	JSONIN_ANY,        /* target json_t * (borrowed), any value including null; JSON only */
};

/* Field flags. */
#define JSONIN_REQUIRED 0x01u  /* absent (or absent-by-NULL_OK) -> missing_field */
#define JSONIN_NO_CTRL 0x02u   /* string: refuse control characters */
#define JSONIN_MULTILINE 0x04u /* with JSONIN_NO_CTRL: allow tab, LF, CR */
#define JSONIN_TRUNCATE 0x08u  /* string: cut to max bytes at a UTF-8 boundary, not refuse */
#define JSONIN_NULL_OK 0x10u   /* JSON null or an empty form value counts as absent */
#define JSONIN_MULTI 0x20u     /* forms: the name may repeat (first value is written) */

enum jsonin_mode {
	JSONIN_STRICT = 1, /* unknown fields refused; at most LIMIT_JSON_FIELDS members */
	JSONIN_TOLERANT,   /* unknown fields ignored (ingestion) */
};

#define JSONIN_NO_OUT ((size_t)-1)

/* One expected field. min/max bound: STRING byte length (max >= 1 required), INT the
 * value, ARRAY the element count, OBJECT the member count (for ARRAY/OBJECT max 0 means
 * no bound); unused for BOOL and ANY. Build entries with the JSONIN_F_* macros, which
 * check the target member's type at compile time. */
struct jsonin_field {
	const char *name;
	enum jsonin_type type;
	unsigned flags;
	int64_t min;
	int64_t max;
	size_t offset; /* into the caller's struct, or JSONIN_NO_OUT */
	size_t size;   /* sizeof the target member */
};

/* A spec: at most 64 fields (one bit each in the `present` mask). */
struct jsonin_spec {
	const struct jsonin_field *fields;
	size_t n;
	enum jsonin_mode mode;
};

/* Offset of T.m, or a compile error when T.m is not of type `type`. */
#define JSONIN_OFF_(T, m, type) (offsetof(T, m) + 0 * sizeof(char[_Generic(((T *)0)->m, type : 1)]))
#define JSONIN_F_STR(nm, fl, lo, hi, T, m)                                                                   \
	{                                                                                                    \
		(nm), JSONIN_STRING, (fl), (lo), (hi), JSONIN_OFF_(T, m, struct str), sizeof(struct str)     \
	}
#define JSONIN_F_INT(nm, fl, lo, hi, T, m)                                                                   \
	{                                                                                                    \
		(nm), JSONIN_INT, (fl), (lo), (hi), JSONIN_OFF_(T, m, int64_t), sizeof(int64_t)              \
	}
#define JSONIN_F_BOOL(nm, fl, T, m)                                                                          \
	{                                                                                                    \
		(nm), JSONIN_BOOL, (fl), 0, 0, JSONIN_OFF_(T, m, int), sizeof(int)                           \
	}
/* ty is JSONIN_OBJECT, JSONIN_ARRAY or JSONIN_ANY. */
#define JSONIN_F_JSON(nm, ty, fl, lo, hi, T, m)                                                              \
	{                                                                                                    \
		(nm), (ty), (fl), (lo), (hi), JSONIN_OFF_(T, m, json_t *), sizeof(json_t *)                  \
	}
/* A field that is checked but not stored. */
#define JSONIN_F_CHECK(nm, ty, fl, lo, hi)                                                                   \
	{                                                                                                    \
		(nm), (ty), (fl), (lo), (hi), JSONIN_NO_OUT, 0                                               \
	}
#define JSONIN_SPEC(arr, md)                                                                                 \
	{                                                                                                    \
		(arr), sizeof(arr) / sizeof((arr)[0]), (md)                                                  \
	}

/* Binds the members of obj to spec, writing values into out (out_size bytes; a spec
 * whose targets do not fit is a bug and aborts). Strings and json_t values are
 * borrowed from obj and die with it. Bit i of *present (may be NULL) is set when
 * spec->fields[i] was given. at (may be NULL = the document root) is where obj sits,
 * so errors name e.g. /batch/3/timestamp; it is restored before returning. Errors in
 * order: obj not an object (invalid_field), strict and more than LIMIT_JSON_FIELDS
 * members (too_many_fields), strict and an unknown member (unknown_field, the first in
 * document order), then per spec field in spec order: missing_field or invalid_field
 * (wrong type, out of range, too short/long, control character). On error out may be
 * partly written. Returns 0, or -1 with err filled. */
int jsonin_bind(json_t *obj, const struct jsonin_spec *spec, void *out, size_t out_size, uint64_t *present,
                struct jsonin_ptr *at, struct jsonin_error *err) __attribute__((warn_unused_result));

/* Shared with form.c: checks one string value against f (length, truncation, text
 * flags) and stores it as *v (which may be shortened by JSONIN_TRUNCATE). at names the
 * field. Returns 0, or -1 with err filled (invalid_field). */
int jsonin_check_string(const struct jsonin_field *f, struct str *v, const struct jsonin_ptr *at,
                        struct jsonin_error *err) __attribute__((warn_unused_result));
/* Aborts when spec is malformed (a programming error, not bad input). */
void jsonin_spec_assert(const struct jsonin_spec *spec, size_t out_size);

#endif
