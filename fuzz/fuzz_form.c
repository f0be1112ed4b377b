/* Fuzz target for src/http/form.c: parse (as a body and as a query) and bind strictly
 * and tolerantly against a fixed spec. Besides "no crash, no leak" it checks the limits
 * on every decoded pair, that re-encoding the pairs and parsing again gives the same
 * pairs, that strict binding accepts a subset of tolerant binding, and that every error
 * renders an envelope that parses back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "http/form.h"
#include "fuzz.h"

static void check_error(const struct jsonin_error *err)
{
	static const char *codes[] = {"invalid_form",  "too_large",     "too_many_fields", "duplicate_key",
	                              "invalid_field", "missing_field", "unknown_field",   "internal"};
	int known = 0;
	CHECK(err->code);
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		known |= strcmp(err->code, codes[i]) == 0;
	CHECK(known);
	for (const char *m = err->message; *m; m++)
		CHECK((unsigned char)*m >= 0x20 && (unsigned char)*m < 0x7f);
	CHECK(err->field[0] == '\0' || err->field[0] == '/');
	struct buf b;
	buf_init(&b, 0);
	if (jsonin_error_render(err, &b) == 0) {
		json_error_t jerr;
		json_t *back = json_loadb(b.p, b.n, JSON_REJECT_DUPLICATES, &jerr);
		CHECK(back);
		json_t *f = json_object_get(json_object_get(back, "error"), "field");
		if (f)
			CHECK(strcmp(json_string_value(f), err->field) == 0);
		json_decref(back);
	}
	buf_free(&b);
}

/* Percent-encodes every byte that is not alphanumeric; spaces alternate between '+'
 * and "%20" so both decodings are exercised. */
static void encode(struct buf *b, struct str s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
			buf_putc(b, (char)c);
		} else if (c == ' ' && (i & 1)) {
			buf_putc(b, '+');
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			buf_append(b, e, 3);
		}
	}
}

struct target {
	struct str name;
	struct str note;
	int64_t n;
	int on;
	struct str tag;
};

static const struct jsonin_field fields[] = {
    JSONIN_F_STR("name", JSONIN_REQUIRED | JSONIN_NO_CTRL, 1, 20, struct target, name),
    JSONIN_F_STR("note", JSONIN_NO_CTRL | JSONIN_MULTILINE | JSONIN_TRUNCATE, 0, 5, struct target, note),
    JSONIN_F_INT("n", JSONIN_NULL_OK, -50, 50, struct target, n),
    JSONIN_F_BOOL("on", 0, struct target, on),
    JSONIN_F_STR("tag", JSONIN_MULTI, 1, 8, struct target, tag),
    JSONIN_F_CHECK("a/b", JSONIN_STRING, 0, 0, 3),
};
static const struct jsonin_spec strict_spec = JSONIN_SPEC(fields, JSONIN_STRICT);
static const struct jsonin_spec tolerant_spec = JSONIN_SPEC(fields, JSONIN_TOLERANT);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct form f;
	struct jsonin_error err;

	struct form q;
	int qrc = form_parse_query(&q, p, size, &err);
	if (qrc < 0)
		check_error(&err);
	form_free(&q);

	if (form_parse(&f, p, size, LIMIT_BODY_FORM, &err) < 0) {
		check_error(&err);
		CHECK(f.n == 0 && f.mem == NULL);
		return 0;
	}
	CHECK(f.n <= LIMIT_FORM_FIELDS);
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < f.n; i++) {
		struct form_pair *pr = &f.pair[i];
		CHECK(pr->name.n <= LIMIT_FORM_NAME && pr->value.n <= LIMIT_FORM_VALUE);
		CHECK(jsonin_text_check(pr->name.p, pr->name.n, 0) == JSONIN_TEXT_OK);
		CHECK(jsonin_text_check(pr->value.p, pr->value.n, 0) == JSONIN_TEXT_OK);
		if (i)
			buf_putc(&b, '&');
		encode(&b, pr->name);
		buf_putc(&b, '=');
		encode(&b, pr->value);
	}
	CHECK(!b.oom);

	/* Round trip: the canonical encoding parses back to the same pairs. An empty name
	 * with an empty value encodes as "=", which still parses as one pair. */
	struct form g;
	CHECK(form_parse(&g, b.p ? b.p : "", b.n, SIZE_MAX, &err) == 0);
	CHECK(g.n == f.n);
	for (size_t i = 0; i < f.n; i++) {
		CHECK(str_eq(f.pair[i].name, g.pair[i].name));
		CHECK(str_eq(f.pair[i].value, g.pair[i].value));
	}
	form_free(&g);
	buf_free(&b);

	struct target t;
	uint64_t present;
	int s = form_bind(&f, &strict_spec, &t, sizeof(t), &present, &err);
	if (s < 0) {
		check_error(&err);
	} else {
		CHECK(present & 1);
		CHECK(t.name.n >= 1 && t.name.n <= 20);
		CHECK(jsonin_text_check(t.name.p, t.name.n, JSONIN_NO_CTRL) == JSONIN_TEXT_OK);
		if (present & 2)
			CHECK(t.note.n <= 5 &&
			      jsonin_text_check(t.note.p, t.note.n, JSONIN_NO_CTRL | JSONIN_MULTILINE) ==
			          JSONIN_TEXT_OK);
		if (present & 4)
			CHECK(t.n >= -50 && t.n <= 50);
		if (present & 16)
			CHECK(t.tag.n >= 1 && t.tag.n <= 8);
	}
	int tol = form_bind(&f, &tolerant_spec, &t, sizeof(t), NULL, &err);
	if (tol < 0)
		check_error(&err);
	CHECK(s < 0 || tol == 0);
	form_free(&f);
	return 0;
}
