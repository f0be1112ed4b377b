/* application/x-www-form-urlencoded bodies and query strings: a bounded list of
 * decoded (name, value) pairs and binding to the same field specs as JSON (json.h),
 * with the same error struct. */
#ifndef DROPFIX_HTTP_FORM_H
#define DROPFIX_HTTP_FORM_H

#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"
#include "core/str.h"
#include "http/json.h"

struct form_pair {
	struct str name;  /* decoded, valid UTF-8, no NUL, at most LIMIT_FORM_NAME bytes */
	struct str value; /* decoded, valid UTF-8, no NUL, at most LIMIT_FORM_VALUE bytes */
};

/* Pairs in input order, duplicates kept. Strings point into mem, owned by the form. */
struct form {
	struct form_pair pair[LIMIT_FORM_FIELDS];
	size_t n;
	char *mem;
};

/* Parses p[0..n). Pairs are split on '&' (empty pieces skipped), name and value on the
 * first '=' (a piece without '=' is a name with an empty value), '+' is a space, "%XX"
 * is one byte. Refuses: more than max_bytes (too_large), a '%' not followed by two hex
 * digits (invalid_form), a name longer than LIMIT_FORM_NAME or a name that is not
 * valid UTF-8 / holds NUL (invalid_form), the same for a value (too_large /
 * invalid_field, field = "/<name>"), more than LIMIT_FORM_FIELDS pairs
 * (too_many_fields). Returns 0, or -1 with err filled; f is then empty. Free f with
 * form_free in both cases. */
int form_parse(struct form *f, const char *p, size_t n, size_t max_bytes, struct jsonin_error *err)
    __attribute__((warn_unused_result));
/* Same for a URI query: the bytes after '?' (a leading '?' is skipped), at most
 * LIMIT_URI_BYTES. */
int form_parse_query(struct form *f, const char *p, size_t n, struct jsonin_error *err)
    __attribute__((warn_unused_result));
/* Frees what f owns and empties it; accepts a zeroed or freed form. */
void form_free(struct form *f);

/* Number of pairs named name. */
size_t form_count(const struct form *f, const char *name);
/* Sets *value to the nth (from 0) value named name (borrowed from f). Returns 0, or -1
 * when there is no such value. */
int form_get(const struct form *f, const char *name, size_t nth, struct str *value)
    __attribute__((warn_unused_result));

/* Binds f to spec like jsonin_bind does for a JSON object: STRING, INT (strict decimal,
 * parse_i64) and BOOL (on/1/true, off/0/false) fields only — another type in spec is a
 * bug and aborts. Strict mode refuses unknown names (unknown_field, "/<name>"); a name
 * given twice is refused (duplicate_key) unless its field has JSONIN_MULTI, whose values
 * are each checked and whose first value is written (read the rest with form_get).
 * JSONIN_NULL_OK makes an empty value count as absent. Values are borrowed from f.
 * Returns 0, or -1 with err filled (out may be partly written). */
int form_bind(const struct form *f, const struct jsonin_spec *spec, void *out, size_t out_size,
              uint64_t *present, struct jsonin_error *err) __attribute__((warn_unused_result));

#endif
