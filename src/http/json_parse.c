#include "http/json_parse.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"
#include "core/utf8.h"

struct parser {
	const unsigned char *s;
	size_t n;
	size_t i; /* next byte to read */
	size_t depth;
	size_t max_depth;
	/* Decoded strings with escapes live here, as a stack: the key of each open object
	 * member stays below `top` while its value is parsed. Decoded text is never longer
	 * than its source and the held keys are disjoint spans of the input, so n bytes
	 * always suffice; allocated on the first escape only. */
	char *scratch;
	size_t top;
	json_malloc_t mallocf;
	json_free_t freef;
	struct jsonparse_error *err;
};

static int fail(struct parser *ps, enum jsonparse_status st, size_t off, const char *reason)
{
	ps->err->status = st;
	ps->err->off = off;
	ps->err->reason = reason;
	return -1;
}

static inline void skip_ws(struct parser *ps)
{
	const unsigned char *s = ps->s;
	size_t i = ps->i;
	while (i < ps->n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
		i++;
	ps->i = i;
}

/* The 4 hex digits at s[i..i+4) into *v; -1 when cut short or not hex. */
static int hex4(const unsigned char *s, size_t n, size_t i, uint32_t *v)
{
	uint32_t r = 0;
	if (i > n || n - i < 4)
		return -1;
	for (size_t k = 0; k < 4; k++) {
		int h = parse_hex_digit(s[i + k]);
		if (h < 0)
			return -1;
		r = (r << 4) | (uint32_t)h;
	}
	*v = r;
	return 0;
}

/* Writes cp (a scalar value, not a surrogate, <= U+10FFFF) as UTF-8; returns bytes. */
static size_t utf8_put(char *w, uint32_t cp)
{
	if (cp < 0x80) {
		w[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		w[0] = (char)(0xc0 | (cp >> 6));
		w[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		w[0] = (char)(0xe0 | (cp >> 12));
		w[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		w[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	w[0] = (char)(0xf0 | (cp >> 18));
	w[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	w[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	w[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decodes the escape at s[i] == '\\' into w. Advances *pi past it and *pw past what
 * was written. */
static int decode_escape(struct parser *ps, size_t *pi, char **pw)
{
	const unsigned char *s = ps->s;
	size_t n = ps->n;
	size_t i = *pi;
	char *w = *pw;
	uint32_t v, v2;

	if (i + 1 >= n)
		return fail(ps, JSONPARSE_SYNTAX, n, "premature end of input");
	switch (s[i + 1]) {
	case '"':
	case '\\':
	case '/':
		*w++ = (char)s[i + 1];
		break;
	case 'b':
		*w++ = '\b';
		break;
	case 'f':
		*w++ = '\f';
		break;
	case 'n':
		*w++ = '\n';
		break;
	case 'r':
		*w++ = '\r';
		break;
	case 't':
		*w++ = '\t';
		break;
	case 'u':
		if (hex4(s, n, i + 2, &v) < 0)
			return fail(ps, JSONPARSE_SYNTAX, i, "invalid escape");
		i += 6;
		if (v >= 0xd800 && v <= 0xdbff) {
			if (!(i + 1 < n && s[i] == '\\' && s[i + 1] == 'u'))
				return fail(ps, JSONPARSE_SYNTAX, i,
				            "invalid Unicode escape (lone surrogate)");
			if (hex4(s, n, i + 2, &v2) < 0)
				return fail(ps, JSONPARSE_SYNTAX, i, "invalid escape");
			if (v2 < 0xdc00 || v2 > 0xdfff)
				return fail(ps, JSONPARSE_SYNTAX, i,
				            "invalid Unicode escape (bad surrogate pair)");
			i += 6;
			v = ((v - 0xd800) << 10) + (v2 - 0xdc00) + 0x10000;
		} else if (v >= 0xdc00 && v <= 0xdfff) {
			return fail(ps, JSONPARSE_SYNTAX, i - 6, "invalid Unicode escape (lone surrogate)");
		} else if (v == 0) {
			return fail(ps, JSONPARSE_NUL_ESCAPE, i - 6, "\\u0000 in a string");
		}
		*pw = w + utf8_put(w, v);
		*pi = i;
		return 0;
	default:
		return fail(ps, JSONPARSE_SYNTAX, i, "invalid escape");
	}
	*pw = w;
	*pi = i + 2;
	return 0;
}

/* Parses the string whose opening quote is at s[ps->i]. On success (*val, *len) is the
 * decoded text: borrowed from the input when it has no escape, else at scratch[top..]
 * (valid until the next string is decoded at the same top). */
static int parse_string(struct parser *ps, const char **val, size_t *len)
{
	const unsigned char *s = ps->s;
	size_t n = ps->n;
	size_t start = ps->i + 1;
	size_t i = start;

	/* Fast path: no escapes, the text is the input itself. */
	for (;;) {
		if (i >= n)
			return fail(ps, JSONPARSE_SYNTAX, n, "premature end of input");
		unsigned char c = s[i];
		if (c == '"') {
			*val = (const char *)s + start;
			*len = i - start;
			ps->i = i + 1;
			return 0;
		}
		if (c == '\\')
			break;
		if (c < 0x20)
			return fail(ps, JSONPARSE_SYNTAX, i, "control character in string");
		if (c < 0x80) {
			i++;
			continue;
		}
		int l = utf8_decode(s + i, n - i, NULL);
		if (l < 0)
			return fail(ps, JSONPARSE_UTF8, i, "invalid UTF-8");
		i += (size_t)l;
	}

	/* Slow path: decode into the scratch stack. */
	if (!ps->scratch) {
		ps->scratch = ps->mallocf(ps->n);
		if (!ps->scratch)
			return fail(ps, JSONPARSE_NOMEM, i, "out of memory");
	}
	char *base = ps->scratch + ps->top;
	char *w = base;
	memcpy(w, s + start, i - start);
	w += i - start;
	for (;;) {
		if (i >= n)
			return fail(ps, JSONPARSE_SYNTAX, n, "premature end of input");
		unsigned char c = s[i];
		if (c == '"')
			break;
		if (c == '\\') {
			if (decode_escape(ps, &i, &w) < 0)
				return -1;
			continue;
		}
		if (c < 0x20)
			return fail(ps, JSONPARSE_SYNTAX, i, "control character in string");
		if (c < 0x80) {
			*w++ = (char)c;
			i++;
			continue;
		}
		int l = utf8_decode(s + i, n - i, NULL);
		if (l < 0)
			return fail(ps, JSONPARSE_UTF8, i, "invalid UTF-8");
		memcpy(w, s + i, (size_t)l);
		w += l;
		i += (size_t)l;
	}
	*val = base;
	*len = (size_t)(w - base);
	ps->i = i + 1;
	return 0;
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* A number at s[ps->i] ('-' or a digit): JSON grammar only. An integer becomes
 * json_integer (refused outside json_int_t), anything with a fraction or exponent
 * json_real via strtod (refused when it overflows to infinity, accepted when it
 * underflows, as jansson does). */
static int parse_number(struct parser *ps, json_t **out)
{
	const unsigned char *s = ps->s;
	size_t n = ps->n;
	size_t start = ps->i;
	size_t i = start;
	int neg = 0, is_real = 0;

	if (s[i] == '-') {
		neg = 1;
		i++;
	}
	if (i < n && s[i] == '0') {
		i++;
		if (i < n && is_digit(s[i]))
			return fail(ps, JSONPARSE_SYNTAX, start, "invalid number (leading zero)");
	} else if (i < n && is_digit(s[i])) {
		while (i < n && is_digit(s[i]))
			i++;
	} else {
		return fail(ps, JSONPARSE_SYNTAX, start, "invalid number");
	}
	size_t int_end = i;
	if (i < n && s[i] == '.') {
		i++;
		if (!(i < n && is_digit(s[i])))
			return fail(ps, JSONPARSE_SYNTAX, start, "invalid number");
		while (i < n && is_digit(s[i]))
			i++;
		is_real = 1;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (!(i < n && is_digit(s[i])))
			return fail(ps, JSONPARSE_SYNTAX, start, "invalid number");
		while (i < n && is_digit(s[i]))
			i++;
		is_real = 1;
	}

	if (!is_real) {
		uint64_t u = 0;
		const uint64_t lim = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
		for (size_t k = start + (size_t)neg; k < int_end; k++) {
			unsigned d = (unsigned)(s[k] - '0');
			if (u > (lim - d) / 10)
				return fail(ps, JSONPARSE_RANGE, start, "integer out of range");
			u = u * 10 + d;
		}
		json_int_t v;
		if (neg)
			v = u == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(json_int_t)u;
		else
			v = (json_int_t)u;
		*out = json_integer(v);
		if (!*out)
			return fail(ps, JSONPARSE_NOMEM, start, "out of memory");
		ps->i = i;
		return 0;
	}

	/* strtod needs a NUL-terminated copy; the grammar above makes it consume all. */
	char small[64];
	char *buf = small;
	size_t len = i - start;
	if (len >= sizeof(small)) {
		buf = ps->mallocf(len + 1);
		if (!buf)
			return fail(ps, JSONPARSE_NOMEM, start, "out of memory");
	}
	memcpy(buf, s + start, len);
	buf[len] = '\0';
	errno = 0;
	double d = strtod(buf, NULL);
	int overflow = (d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE;
	if (buf != small)
		ps->freef(buf);
	if (overflow)
		return fail(ps, JSONPARSE_RANGE, start, "real number out of range");
	*out = json_real(d);
	if (!*out)
		return fail(ps, JSONPARSE_NOMEM, start, "out of memory");
	ps->i = i;
	return 0;
}

static int is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int parse_value(struct parser *ps, json_t **out);

/* After a member or an element: a ',' (skipped with the whitespace after it) returns 1,
 * the closer (skipped) 0, anything else fails with `expected` and returns -1. */
static int next_or_close(struct parser *ps, unsigned char close, const char *expected)
{
	skip_ws(ps);
	if (ps->i < ps->n && ps->s[ps->i] == ',') {
		ps->i++;
		skip_ws(ps);
		return 1;
	}
	if (ps->i < ps->n && ps->s[ps->i] == close) {
		ps->i++;
		return 0;
	}
	return fail(ps, JSONPARSE_SYNTAX, ps->i, ps->i < ps->n ? expected : "premature end of input");
}

static int parse_object(struct parser *ps, json_t **out)
{
	json_t *obj = json_object();
	json_t *v = NULL;
	if (!obj)
		return fail(ps, JSONPARSE_NOMEM, ps->i, "out of memory");
	ps->i++;
	skip_ws(ps);
	if (ps->i < ps->n && ps->s[ps->i] == '}') {
		ps->i++;
		goto done;
	}
	for (;;) {
		const char *key;
		size_t klen;
		if (ps->i >= ps->n) {
			fail(ps, JSONPARSE_SYNTAX, ps->i, "premature end of input");
			goto fail;
		}
		if (ps->s[ps->i] != '"') {
			fail(ps, JSONPARSE_SYNTAX, ps->i, "string or '}' expected");
			goto fail;
		}
		if (parse_string(ps, &key, &klen) < 0)
			goto fail;
		if (json_object_getn(obj, key, klen)) {
			fail(ps, JSONPARSE_DUPLICATE, ps->i, "duplicate object key");
			goto fail;
		}
		skip_ws(ps);
		if (ps->i >= ps->n || ps->s[ps->i] != ':') {
			fail(ps, JSONPARSE_SYNTAX, ps->i, "':' expected");
			goto fail;
		}
		ps->i++;
		skip_ws(ps);
		/* A decoded key sits at scratch[top..]: keep it there while the value parses. */
		size_t saved_top = ps->top;
		if (ps->scratch && key == ps->scratch + ps->top)
			ps->top += klen;
		int rc = parse_value(ps, &v);
		ps->top = saved_top;
		if (rc < 0)
			goto fail;
		if (json_object_setn_new_nocheck(obj, key, klen, v) < 0) {
			/* jansson released v. */
			fail(ps, JSONPARSE_NOMEM, ps->i, "out of memory");
			goto fail;
		}
		int more = next_or_close(ps, '}', "',' or '}' expected");
		if (more < 0)
			goto fail;
		if (!more)
			break;
	}
done:
	*out = obj;
	return 0;
fail:
	json_decref(obj);
	return -1;
}

static int parse_array(struct parser *ps, json_t **out)
{
	json_t *arr = json_array();
	json_t *v = NULL;
	if (!arr)
		return fail(ps, JSONPARSE_NOMEM, ps->i, "out of memory");
	ps->i++;
	skip_ws(ps);
	if (ps->i < ps->n && ps->s[ps->i] == ']') {
		ps->i++;
		goto done;
	}
	for (;;) {
		if (parse_value(ps, &v) < 0)
			goto fail;
		if (json_array_append_new(arr, v) < 0) {
			/* jansson released v. */
			fail(ps, JSONPARSE_NOMEM, ps->i, "out of memory");
			goto fail;
		}
		int more = next_or_close(ps, ']', "',' or ']' expected");
		if (more < 0)
			goto fail;
		if (!more)
			break;
	}
done:
	*out = arr;
	return 0;
fail:
	json_decref(arr);
	return -1;
}

/* One value starting at s[ps->i] (whitespace already skipped). */
static int parse_value(struct parser *ps, json_t **out)
{
	const unsigned char *s = ps->s;
	size_t i = ps->i;

	if (i >= ps->n)
		return fail(ps, JSONPARSE_SYNTAX, i, "premature end of input");
	unsigned char c = s[i];
	if (c == '{' || c == '[') {
		/* The prescan already refused deeper documents; this is defence in depth. */
		if (ps->depth >= ps->max_depth)
			return fail(ps, JSONPARSE_TOO_DEEP, i, "nesting too deep");
		ps->depth++;
		int rc = c == '{' ? parse_object(ps, out) : parse_array(ps, out);
		ps->depth--;
		return rc;
	}
	if (c == '"') {
		const char *str;
		size_t len;
		if (parse_string(ps, &str, &len) < 0)
			return -1;
		*out = json_stringn_nocheck(str, len);
		if (!*out)
			return fail(ps, JSONPARSE_NOMEM, i, "out of memory");
		return 0;
	}
	if (c == '-' || is_digit(c))
		return parse_number(ps, out);
	if (is_alpha(c)) {
		/* Like jansson, the whole run of letters is one token. */
		size_t j = i;
		while (j < ps->n && is_alpha(s[j]))
			j++;
		size_t len = j - i;
		if (len == 4 && memcmp(s + i, "true", 4) == 0)
			*out = json_true();
		else if (len == 5 && memcmp(s + i, "false", 5) == 0)
			*out = json_false();
		else if (len == 4 && memcmp(s + i, "null", 4) == 0)
			*out = json_null();
		else
			return fail(ps, JSONPARSE_SYNTAX, i, "invalid token");
		ps->i = j;
		return 0;
	}
	return fail(ps, JSONPARSE_SYNTAX, i, "unexpected token");
}

enum jsonparse_status jsonparse_load(const char *p, size_t n, size_t max_depth, json_t **out,
                                     struct jsonparse_error *err)
{
	struct parser ps = {
	    .s = (const unsigned char *)p,
	    .n = n,
	    .max_depth = max_depth,
	    .err = err,
	};
	json_t *v = NULL;

	*out = NULL;
	err->status = JSONPARSE_OK;
	err->off = 0;
	err->reason = NULL;
	json_get_alloc_funcs(&ps.mallocf, &ps.freef);

	skip_ws(&ps);
	if (ps.i >= n || (ps.s[ps.i] != '{' && ps.s[ps.i] != '[')) {
		fail(&ps, JSONPARSE_SYNTAX, ps.i, "'[' or '{' expected");
		goto fail;
	}
	if (parse_value(&ps, &v) < 0)
		goto fail;
	skip_ws(&ps);
	if (ps.i < n) {
		fail(&ps, JSONPARSE_SYNTAX, ps.i, "end of input expected");
		goto fail;
	}
	if (ps.scratch)
		ps.freef(ps.scratch);
	*out = v;
	return JSONPARSE_OK;
fail:
	json_decref(v);
	if (ps.scratch)
		ps.freef(ps.scratch);
	return err->status;
}
