#include "http/form.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"

/* Decodes s[0..n) into dst ('+' -> space, %XX -> byte). dst has room for n bytes.
 * Returns the decoded length, or -1 on a malformed escape. */
static ptrdiff_t decode(const char *s, size_t n, char *dst)
{
	char *w = dst;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '+') {
			*w++ = ' ';
		} else if (c == '%') {
			if (n - i < 3)
				return -1;
			int hi = parse_hex_digit((unsigned char)s[i + 1]);
			int lo = parse_hex_digit((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			*w++ = (char)(hi << 4 | lo);
			i += 2;
		} else {
			*w++ = (char)c;
		}
	}
	return w - dst;
}

void form_free(struct form *f)
{
	free(f->mem);
	f->mem = NULL;
	f->n = 0;
}

int form_parse(struct form *f, const char *p, size_t n, size_t max_bytes, struct jsonin_error *err)
{
	struct jsonin_ptr at;
	char *w;

	f->n = 0;
	f->mem = NULL;
	if (n > max_bytes) {
		jsonin_error_set(err, "too_large", NULL, "body larger than %zu bytes", max_bytes);
		goto fail;
	}
	if (n == 0)
		return 0;
	/* Decoded text never outgrows its encoding, so one block of n bytes holds it all. */
	f->mem = malloc(n);
	if (!f->mem) {
		jsonin_error_set(err, "internal", NULL, "out of memory");
		goto fail;
	}
	w = f->mem;
	for (size_t i = 0; i < n;) {
		const char *piece = p + i;
		const char *amp = memchr(piece, '&', n - i);
		size_t plen = amp ? (size_t)(amp - piece) : n - i;
		i += plen + 1;
		if (plen == 0)
			continue;
		const char *eq = memchr(piece, '=', plen);
		size_t nlen = eq ? (size_t)(eq - piece) : plen;
		const char *val = eq ? eq + 1 : piece + plen;
		size_t vlen = plen - nlen - (eq ? 1 : 0);

		if (f->n == LIMIT_FORM_FIELDS) {
			jsonin_error_set(err, "too_many_fields", NULL, "more than %d fields",
			                 LIMIT_FORM_FIELDS);
			goto fail;
		}
		struct form_pair *pr = &f->pair[f->n];
		ptrdiff_t dn = decode(piece, nlen, w);
		if (dn < 0) {
			jsonin_error_set(err, "invalid_form", NULL,
			                 "malformed percent escape in a field name");
			goto fail;
		}
		if ((size_t)dn > LIMIT_FORM_NAME) {
			jsonin_error_set(err, "invalid_form", NULL, "field name longer than %d bytes",
			                 LIMIT_FORM_NAME);
			goto fail;
		}
		if (jsonin_text_check(w, (size_t)dn, 0) != JSONIN_TEXT_OK) {
			jsonin_error_set(err, "invalid_form", NULL,
			                 "field name is not valid UTF-8 or holds NUL");
			goto fail;
		}
		pr->name = (struct str){w, (size_t)dn};
		w += dn;
		jsonin_ptr_init(&at);
		jsonin_ptr_push_key(&at, pr->name.p, pr->name.n);

		ptrdiff_t dv = decode(val, vlen, w);
		if (dv < 0) {
			jsonin_error_set(err, "invalid_form", &at, "malformed percent escape");
			goto fail;
		}
		if ((size_t)dv > LIMIT_FORM_VALUE) {
			jsonin_error_set(err, "too_large", &at, "value longer than %d bytes",
			                 LIMIT_FORM_VALUE);
			goto fail;
		}
		if (jsonin_text_check(w, (size_t)dv, 0) != JSONIN_TEXT_OK) {
			jsonin_error_set(err, "invalid_field", &at, "must be valid UTF-8 without NUL");
			goto fail;
		}
		pr->value = (struct str){w, (size_t)dv};
		w += dv;
		f->n++;
	}
	return 0;
fail:
	form_free(f);
	return -1;
}

int form_parse_query(struct form *f, const char *p, size_t n, struct jsonin_error *err)
{
	if (n > 0 && p[0] == '?') {
		p++;
		n--;
	}
	return form_parse(f, p, n, LIMIT_URI_BYTES, err);
}

size_t form_count(const struct form *f, const char *name)
{
	struct str key = str_from_cstr(name);
	size_t c = 0;
	for (size_t i = 0; i < f->n; i++)
		c += (size_t)str_eq(f->pair[i].name, key);
	return c;
}

int form_get(const struct form *f, const char *name, size_t nth, struct str *value)
{
	struct str key = str_from_cstr(name);
	for (size_t i = 0; i < f->n; i++) {
		if (!str_eq(f->pair[i].name, key))
			continue;
		if (nth-- == 0) {
			*value = f->pair[i].value;
			return 0;
		}
	}
	return -1;
}

/* Checks one value against f and, when first is set, stores it. */
static int bind_value(const struct jsonin_field *fd, struct str v, void *out, int first,
                      const struct jsonin_ptr *at, struct jsonin_error *err)
{
	switch (fd->type) {
	case JSONIN_STRING:
		if (jsonin_check_string(fd, &v, at, err) < 0)
			return -1;
		if (first && fd->offset != JSONIN_NO_OUT)
			memcpy((char *)out + fd->offset, &v, sizeof(v));
		return 0;
	case JSONIN_INT: {
		int64_t i;
		if (parse_i64(v.p, v.n, INT64_MIN, INT64_MAX, &i) < 0) {
			jsonin_error_set(err, "invalid_field", at, "must be an integer");
			return -1;
		}
		if (i < fd->min || i > fd->max) {
			jsonin_error_set(err, "invalid_field", at, "must be between %" PRId64 " and %" PRId64,
			                 fd->min, fd->max);
			return -1;
		}
		if (first && fd->offset != JSONIN_NO_OUT)
			memcpy((char *)out + fd->offset, &i, sizeof(i));
		return 0;
	}
	case JSONIN_BOOL: {
		int b;
		if (str_eq(v, STR_LIT("on")) || str_eq(v, STR_LIT("1")) || str_eq(v, STR_LIT("true")))
			b = 1;
		else if (str_eq(v, STR_LIT("off")) || str_eq(v, STR_LIT("0")) || str_eq(v, STR_LIT("false")))
			b = 0;
		else {
			jsonin_error_set(err, "invalid_field", at, "must be on/off, 1/0 or true/false");
			return -1;
		}
		if (first && fd->offset != JSONIN_NO_OUT)
			memcpy((char *)out + fd->offset, &b, sizeof(b));
		return 0;
	}
	default:
		abort(); /* rejected by the spec check */
	}
}

int form_bind(const struct form *f, const struct jsonin_spec *spec, void *out, size_t out_size,
              uint64_t *present, struct jsonin_error *err)
{
	struct jsonin_ptr at;
	uint64_t seen = 0;  /* fields with a value stored */
	uint64_t given = 0; /* fields named at all, for duplicates */

	jsonin_spec_assert(spec, out_size);
	for (size_t k = 0; k < spec->n; k++) {
		enum jsonin_type t = spec->fields[k].type;
		if (t != JSONIN_STRING && t != JSONIN_INT && t != JSONIN_BOOL)
			abort();
	}
	if (present)
		*present = 0;
	for (size_t i = 0; i < f->n; i++) {
		const struct form_pair *pr = &f->pair[i];
		size_t k;
		for (k = 0; k < spec->n; k++)
			if (str_eq(pr->name, str_from_cstr(spec->fields[k].name)))
				break;
		jsonin_ptr_init(&at);
		jsonin_ptr_push_key(&at, pr->name.p, pr->name.n);
		if (k == spec->n) {
			if (spec->mode == JSONIN_TOLERANT)
				continue;
			jsonin_error_set(err, "unknown_field", &at, "unknown field");
			return -1;
		}
		const struct jsonin_field *fd = &spec->fields[k];
		uint64_t bit = (uint64_t)1 << k;
		if ((given & bit) && !(fd->flags & JSONIN_MULTI)) {
			jsonin_error_set(err, "duplicate_key", &at, "field given more than once");
			return -1;
		}
		given |= bit;
		if (pr->value.n == 0 && (fd->flags & JSONIN_NULL_OK))
			continue;
		if (bind_value(fd, pr->value, out, !(seen & bit), &at, err) < 0)
			return -1;
		seen |= bit;
	}
	for (size_t k = 0; k < spec->n; k++) {
		const struct jsonin_field *fd = &spec->fields[k];
		if ((fd->flags & JSONIN_REQUIRED) && !(seen & ((uint64_t)1 << k))) {
			jsonin_ptr_init(&at);
			jsonin_ptr_push_key(&at, fd->name, strlen(fd->name));
			jsonin_error_set(err, "missing_field", &at, "required");
			return -1;
		}
	}
	if (present)
		*present = seen;
	return 0;
}
