#include "http/json.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/utf8.h"
#include "http/json_parse.h"

/* ---- JSON Pointer builder ------------------------------------------------------- */

void jsonin_ptr_init(struct jsonin_ptr *ptr)
{
	ptr->p[0] = '\0';
	ptr->n = 0;
	ptr->lost = 0;
}

void jsonin_ptr_push_key(struct jsonin_ptr *ptr, const char *key, size_t n)
{
	if (ptr->lost)
		goto lost;
	size_t need = 1;
	for (size_t i = 0; i < n; i++)
		need += (key[i] == '~' || key[i] == '/') ? 2 : 1;
	if (need >= sizeof(ptr->p) - ptr->n)
		goto lost;
	char *w = ptr->p + ptr->n;
	*w++ = '/';
	for (size_t i = 0; i < n; i++) {
		if (key[i] == '~') {
			*w++ = '~';
			*w++ = '0';
		} else if (key[i] == '/') {
			*w++ = '~';
			*w++ = '1';
		} else {
			*w++ = key[i];
		}
	}
	*w = '\0';
	ptr->n += need;
	return;
lost:
	ptr->lost++;
}

void jsonin_ptr_push_index(struct jsonin_ptr *ptr, size_t index)
{
	char tmp[24];
	int len = snprintf(tmp, sizeof(tmp), "%zu", index);
	jsonin_ptr_push_key(ptr, tmp, (size_t)len);
}

void jsonin_ptr_pop(struct jsonin_ptr *ptr)
{
	if (ptr->lost) {
		ptr->lost--;
		return;
	}
	/* Segments never contain a raw '/', it is escaped as "~1". */
	while (ptr->n > 0 && ptr->p[ptr->n - 1] != '/')
		ptr->n--;
	if (ptr->n > 0)
		ptr->n--;
	ptr->p[ptr->n] = '\0';
}

/* ---- Errors --------------------------------------------------------------------- */

void jsonin_error_set(struct jsonin_error *err, const char *code, const struct jsonin_ptr *at,
                      const char *fmt, ...)
{
	va_list ap;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	if (at)
		memcpy(err->field, at->p, at->n + 1);
	else
		err->field[0] = '\0';
}

int jsonin_error_status(const struct jsonin_error *err)
{
	if (!err->code)
		return 500;
	if (strcmp(err->code, "too_large") == 0 || strcmp(err->code, "too_many_fields") == 0)
		return 413;
	if (strcmp(err->code, "internal") == 0)
		return 500;
	return 400;
}

json_t *jsonin_error_json(const struct jsonin_error *err)
{
	json_t *inner = json_object();
	json_t *outer = json_object();
	if (!inner || !outer)
		goto fail;
	/* Every part is ours or validated UTF-8; should one not be, json_string* refuses it
	 * and we fall back rather than fail the whole reply. */
	json_t *code = json_string(err->code ? err->code : "internal");
	json_t *msg = json_string(err->message);
	if (!msg)
		msg = json_string("invalid request");
	if (json_object_set_new(inner, "code", code) < 0 || json_object_set_new(inner, "message", msg) < 0)
		goto fail;
	if (err->field[0] != '\0') {
		json_t *field = json_string(err->field);
		if (field && json_object_set_new(inner, "field", field) < 0)
			goto fail;
	}
	if (json_object_set_new(outer, "error", inner) < 0) {
		inner = NULL; /* set_new consumed it */
		goto fail;
	}
	return outer;
fail:
	json_decref(inner);
	json_decref(outer);
	return NULL;
}

static int dump_to_buf(const char *p, size_t n, void *data)
{
	return buf_append(data, p, n);
}

int jsonin_error_render(const struct jsonin_error *err, struct buf *out)
{
	json_t *j = jsonin_error_json(err);
	int rc = -1;
	if (!j) {
		out->oom = 1;
		goto fail;
	}
	if (json_dump_callback(j, dump_to_buf, out, JSON_COMPACT) < 0) {
		out->oom = 1;
		goto fail;
	}
	rc = 0;
fail:
	json_decref(j);
	return rc;
}

/* ---- Pre-scan ------------------------------------------------------------------- */

/* Byte classes for the scanner: what matters outside and inside strings. */
enum { C_NONE = 0, C_QUOTE, C_BSLASH, C_OPEN, C_CLOSE, C_NUL };

static const unsigned char scan_class[256] = {
    [0] = C_NUL,    ['"'] = C_QUOTE, ['\\'] = C_BSLASH, ['{'] = C_OPEN,
    ['['] = C_OPEN, ['}'] = C_CLOSE, [']'] = C_CLOSE,
};

enum jsonin_scan jsonin_prescan(const char *p, size_t n, size_t max_depth, size_t *bad_off)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t depth = 0;
	size_t i = 0;
	enum jsonin_scan r = JSONIN_SCAN_OK;

	while (i < n) {
		switch (scan_class[s[i]]) {
		case C_QUOTE:
			/* Inside a string only '"', '\\' and NUL matter. */
			for (i++;; i++) {
				if (i >= n)
					return JSONIN_SCAN_OK; /* unterminated: the parser refuses it */
				unsigned char k = scan_class[s[i]];
				if (k == C_QUOTE)
					break;
				if (k == C_NUL)
					goto nul;
				if (k == C_BSLASH) {
					i++;
					if (i < n && s[i] == 0)
						goto nul;
				}
			}
			break;
		case C_OPEN:
			if (++depth > max_depth) {
				r = JSONIN_SCAN_TOO_DEEP;
				goto out;
			}
			break;
		case C_CLOSE:
			if (depth == 0)
				return JSONIN_SCAN_OK; /* stray closer: the parser stops here too */
			depth--;
			break;
		case C_NUL:
			goto nul;
		default:
			break;
		}
		i++;
	}
	return JSONIN_SCAN_OK;
nul:
	r = JSONIN_SCAN_NUL;
out:
	if (bad_off)
		*bad_off = i;
	return r;
}

/* Error path only: re-walks p[0..stop) tracking each open container's current key or
 * index and writes the pointer to the innermost selected location into ptr. Keys are
 * decoded by jansson itself, so escapes in keys come out right. Returns 0, or -1 when
 * the text before stop is not regular enough to name a location. */
struct path_frame {
	int is_obj;
	int want_key;
	size_t index;
	size_t key_off;
	size_t key_len; /* 0 = no key yet; includes the quotes */
};

static int path_at(const char *p, size_t n, size_t stop, struct jsonin_ptr *ptr)
{
	struct path_frame fr[LIMIT_JSON_DEPTH];
	size_t depth = 0;
	const unsigned char *s = (const unsigned char *)p;
	if (stop > n)
		return -1;
	for (size_t i = 0; i < stop; i++) {
		switch (s[i]) {
		case '"': {
			size_t start = i;
			for (i++; i < n && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			if (i >= n)
				return -1;
			if (depth > 0 && fr[depth - 1].is_obj && fr[depth - 1].want_key) {
				fr[depth - 1].key_off = start;
				fr[depth - 1].key_len = i + 1 - start;
				fr[depth - 1].want_key = 0;
			}
			break;
		}
		case '{':
		case '[':
			if (depth == LIMIT_JSON_DEPTH)
				return -1;
			fr[depth].is_obj = s[i] == '{';
			fr[depth].want_key = s[i] == '{';
			fr[depth].index = 0;
			fr[depth].key_len = 0;
			depth++;
			break;
		case '}':
		case ']':
			if (depth == 0)
				return -1;
			depth--;
			break;
		case ',':
			if (depth > 0) {
				if (fr[depth - 1].is_obj)
					fr[depth - 1].want_key = 1;
				else
					fr[depth - 1].index++;
			}
			break;
		default:
			break;
		}
	}
	jsonin_ptr_init(ptr);
	for (size_t d = 0; d < depth; d++) {
		if (!fr[d].is_obj) {
			jsonin_ptr_push_index(ptr, fr[d].index);
			continue;
		}
		if (fr[d].key_len == 0)
			return -1;
		json_error_t jerr;
		json_t *k = json_loadb(p + fr[d].key_off, fr[d].key_len, JSON_DECODE_ANY, &jerr);
		if (!json_is_string(k)) {
			json_decref(k);
			return -1;
		}
		jsonin_ptr_push_key(ptr, json_string_value(k), json_string_length(k));
		json_decref(k);
	}
	return 0;
}

/* Sets err->field to the location at stop, when one can be named. */
static void error_field_at(struct jsonin_error *err, const char *p, size_t n, size_t stop)
{
	struct jsonin_ptr ptr;
	if (path_at(p, n, stop, &ptr) == 0)
		memcpy(err->field, ptr.p, ptr.n + 1);
}

/* ---- Loading -------------------------------------------------------------------- */

/* 1-based line and byte column of offset off, for messages. */
static void line_col(const char *p, size_t off, size_t *line, size_t *col)
{
	size_t l = 1, last = 0;
	for (size_t i = 0; i < off; i++) {
		if (p[i] == '\n') {
			l++;
			last = i + 1;
		}
	}
	*line = l;
	*col = off - last + 1;
}

int jsonin_load(const char *p, size_t n, size_t max_bytes, json_t **out, struct jsonin_error *err)
{
	struct jsonparse_error perr;
	size_t off = 0;
	size_t line, col;

	*out = NULL;
	if (n > max_bytes) {
		jsonin_error_set(err, "too_large", NULL, "body larger than %zu bytes", max_bytes);
		goto fail;
	}
	if (n == 0) {
		jsonin_error_set(err, "invalid_json", NULL, "body is empty");
		goto fail;
	}
	switch (jsonin_prescan(p, n, LIMIT_JSON_DEPTH, &off)) {
	case JSONIN_SCAN_OK:
		break;
	case JSONIN_SCAN_TOO_DEEP:
		jsonin_error_set(err, "too_deep", NULL, "nesting deeper than %d levels at byte %zu",
		                 LIMIT_JSON_DEPTH, off);
		error_field_at(err, p, n, off);
		goto fail;
	case JSONIN_SCAN_NUL:
		jsonin_error_set(err, "invalid_json", NULL, "NUL byte at byte %zu", off);
		goto fail;
	}

	switch (jsonparse_load(p, n, LIMIT_JSON_DEPTH, out, &perr)) {
	case JSONPARSE_OK:
		return 0;
	case JSONPARSE_DUPLICATE:
		jsonin_error_set(err, "duplicate_key", NULL, "duplicate key at byte %zu", perr.off);
		/* perr.off is just after the second occurrence of the key. */
		error_field_at(err, p, n, perr.off);
		break;
	case JSONPARSE_NOMEM:
		jsonin_error_set(err, "internal", NULL, "out of memory");
		break;
	case JSONPARSE_TOO_DEEP:
		jsonin_error_set(err, "too_deep", NULL, "nesting deeper than %d levels at byte %zu",
		                 LIMIT_JSON_DEPTH, perr.off);
		error_field_at(err, p, n, perr.off);
		break;
	case JSONPARSE_UTF8:
		jsonin_error_set(err, "invalid_json", NULL, "invalid UTF-8 at byte %zu", perr.off);
		break;
	case JSONPARSE_NUL_ESCAPE:
		jsonin_error_set(err, "invalid_json", NULL, "\\u0000 is not allowed in strings (byte %zu)",
		                 perr.off);
		break;
	case JSONPARSE_RANGE:
		jsonin_error_set(err, "invalid_json", NULL, "number out of range at byte %zu", perr.off);
		break;
	case JSONPARSE_SYNTAX:
	default:
		line_col(p, perr.off, &line, &col);
		jsonin_error_set(err, "invalid_json", NULL,
		                 "invalid JSON at line %zu, column %zu (byte %zu): %s", line, col, perr.off,
		                 perr.reason ? perr.reason : "syntax error");
		break;
	}
fail:
	return -1;
}

/* ---- Text checks ---------------------------------------------------------------- */

enum jsonin_text jsonin_text_check(const char *p, size_t n, unsigned flags)
{
	const unsigned char *s = (const unsigned char *)p;
	int no_ctrl = (flags & JSONIN_NO_CTRL) != 0;
	int multiline = (flags & JSONIN_MULTILINE) != 0;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		if (c < 0x80) {
			if (c == 0)
				return JSONIN_TEXT_BAD_UTF8;
			if (no_ctrl && (c < 0x20 || c == 0x7f) &&
			    !(multiline && (c == '\t' || c == '\n' || c == '\r')))
				return JSONIN_TEXT_CONTROL;
			i++;
			continue;
		}
		uint32_t cp;
		int len = utf8_decode(s + i, n - i, &cp);
		if (len < 0)
			return JSONIN_TEXT_BAD_UTF8; /* continuation byte, C0/C1 lead, > F4, overlong, ... */
		if (no_ctrl && cp >= 0x80 && cp <= 0x9f)
			return JSONIN_TEXT_CONTROL;
		i += (size_t)len;
	}
	return JSONIN_TEXT_OK;
}

/* ---- Binding -------------------------------------------------------------------- */

void jsonin_spec_assert(const struct jsonin_spec *spec, size_t out_size)
{
	if (!spec || spec->n > 64 || (spec->n && !spec->fields) ||
	    (spec->mode != JSONIN_STRICT && spec->mode != JSONIN_TOLERANT))
		abort();
	for (size_t i = 0; i < spec->n; i++) {
		const struct jsonin_field *f = &spec->fields[i];
		int container = f->type == JSONIN_ARRAY || f->type == JSONIN_OBJECT;
		if (!f->name || f->type < JSONIN_STRING || f->type > JSONIN_ANY)
			abort();
		if (f->min > f->max && !(container && f->max == 0))
			abort();
		if (f->type == JSONIN_STRING && (f->max < 1 || f->min < 0))
			abort();
		if (container && (f->min < 0 || f->max < 0))
			abort();
		if (f->offset != JSONIN_NO_OUT && (f->offset > out_size || f->size > out_size - f->offset))
			abort();
	}
}

int jsonin_check_string(const struct jsonin_field *f, struct str *v, const struct jsonin_ptr *at,
                        struct jsonin_error *err)
{
	if (v->n > (uint64_t)f->max) {
		if (!(f->flags & JSONIN_TRUNCATE)) {
			jsonin_error_set(err, "invalid_field", at, "must be at most %" PRId64 " bytes",
			                 f->max);
			return -1;
		}
		/* Cut before a whole code point: back off continuation bytes. */
		size_t cut = (size_t)f->max;
		while (cut > 0 && ((unsigned char)v->p[cut] & 0xc0) == 0x80)
			cut--;
		v->n = cut;
	}
	if (v->n < (uint64_t)f->min) {
		jsonin_error_set(err, "invalid_field", at, "must be at least %" PRId64 " bytes", f->min);
		return -1;
	}
	switch (jsonin_text_check(v->p, v->n, f->flags)) {
	case JSONIN_TEXT_OK:
		return 0;
	case JSONIN_TEXT_BAD_UTF8:
		jsonin_error_set(err, "invalid_field", at, "must be valid UTF-8 without NUL");
		return -1;
	case JSONIN_TEXT_CONTROL:
		jsonin_error_set(err, "invalid_field", at, "must not contain control characters");
		return -1;
	}
	return -1;
}

static void store(void *out, const struct jsonin_field *f, const void *val)
{
	if (f->offset != JSONIN_NO_OUT)
		memcpy((char *)out + f->offset, val, f->size);
}

static const char *type_name(enum jsonin_type t)
{
	switch (t) {
	case JSONIN_STRING:
		return "a string";
	case JSONIN_INT:
		return "an integer";
	case JSONIN_BOOL:
		return "true or false";
	case JSONIN_OBJECT:
		return "an object";
	case JSONIN_ARRAY:
		return "an array";
	case JSONIN_ANY:
		return "a value";
	}
	return "a value";
}

static int bind_one(const struct jsonin_field *f, json_t *v, void *out, const struct jsonin_ptr *at,
                    struct jsonin_error *err)
{
	switch (f->type) {
	case JSONIN_STRING: {
		if (!json_is_string(v))
			break;
		struct str s = {json_string_value(v), json_string_length(v)};
		if (jsonin_check_string(f, &s, at, err) < 0)
			return -1;
		store(out, f, &s);
		return 0;
	}
	case JSONIN_INT: {
		if (!json_is_integer(v))
			break;
		int64_t i = (int64_t)json_integer_value(v);
		if (i < f->min || i > f->max) {
			jsonin_error_set(err, "invalid_field", at, "must be between %" PRId64 " and %" PRId64,
			                 f->min, f->max);
			return -1;
		}
		store(out, f, &i);
		return 0;
	}
	case JSONIN_BOOL: {
		if (!json_is_boolean(v))
			break;
		int b = json_is_true(v);
		store(out, f, &b);
		return 0;
	}
	case JSONIN_OBJECT:
	case JSONIN_ARRAY: {
		size_t count;
		if (f->type == JSONIN_OBJECT && json_is_object(v))
			count = json_object_size(v);
		else if (f->type == JSONIN_ARRAY && json_is_array(v))
			count = json_array_size(v);
		else
			break;
		const char *unit = f->type == JSONIN_OBJECT ? "members" : "elements";
		if (count < (uint64_t)f->min) {
			jsonin_error_set(err, "invalid_field", at, "must have at least %" PRId64 " %s",
			                 f->min, unit);
			return -1;
		}
		if (f->max > 0 && count > (uint64_t)f->max) {
			jsonin_error_set(err, "invalid_field", at, "must have at most %" PRId64 " %s", f->max,
			                 unit);
			return -1;
		}
		store(out, f, &v);
		return 0;
	}
	case JSONIN_ANY:
		store(out, f, &v);
		return 0;
	}
	jsonin_error_set(err, "invalid_field", at, "must be %s", type_name(f->type));
	return -1;
}

int jsonin_bind(json_t *obj, const struct jsonin_spec *spec, void *out, size_t out_size, uint64_t *present,
                struct jsonin_ptr *at, struct jsonin_error *err)
{
	struct jsonin_ptr root;
	json_t *vals[64];
	size_t known = 0;
	uint64_t seen = 0;
	int rc = -1;

	jsonin_spec_assert(spec, out_size);
	if (!at) {
		jsonin_ptr_init(&root);
		at = &root;
	}
	if (present)
		*present = 0;
	if (!json_is_object(obj)) {
		jsonin_error_set(err, "invalid_field", at, "must be a JSON object");
		return -1;
	}
	if (spec->mode == JSONIN_STRICT && json_object_size(obj) > LIMIT_JSON_FIELDS) {
		jsonin_error_set(err, "too_many_fields", at, "more than %d fields", LIMIT_JSON_FIELDS);
		return -1;
	}
	for (size_t i = 0; i < spec->n; i++) {
		vals[i] = json_object_get(obj, spec->fields[i].name);
		if (vals[i])
			known++;
	}
	if (spec->mode == JSONIN_STRICT && known < json_object_size(obj)) {
		/* Report the first member in document order that the spec lacks. */
		const char *key;
		size_t klen;
		json_t *v;
		json_object_keylen_foreach(obj, key, klen, v)
		{
			size_t i;
			for (i = 0; i < spec->n; i++)
				if (strlen(spec->fields[i].name) == klen &&
				    memcmp(spec->fields[i].name, key, klen) == 0)
					break;
			if (i == spec->n) {
				jsonin_ptr_push_key(at, key, klen);
				jsonin_error_set(err, "unknown_field", at, "unknown field");
				jsonin_ptr_pop(at);
				return -1;
			}
		}
	}
	for (size_t i = 0; i < spec->n; i++) {
		const struct jsonin_field *f = &spec->fields[i];
		json_t *v = vals[i];
		if (v && json_is_null(v) && (f->flags & JSONIN_NULL_OK))
			v = NULL;
		jsonin_ptr_push_key(at, f->name, strlen(f->name));
		if (!v) {
			if (f->flags & JSONIN_REQUIRED) {
				jsonin_error_set(err, "missing_field", at, "required");
				goto pop;
			}
			jsonin_ptr_pop(at);
			continue;
		}
		if (bind_one(f, v, out, at, err) < 0)
			goto pop;
		jsonin_ptr_pop(at);
		seen |= (uint64_t)1 << i;
	}
	if (present)
		*present = seen;
	return 0;
pop:
	jsonin_ptr_pop(at);
	return rc;
}
