/* Unit tests for src/http/form.c: urlencoded decoding, limits and strict binding. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "http/form.h"

/* ---- parsing: table ------------------------------------------------------------- */

struct parse_case {
	const char *in;
	const char *code;  /* NULL = success */
	const char *field; /* error pointer, or on success the expected pairs "n=v|n=v" */
};

static const struct parse_case parse_cases[] = {
    {"", NULL, ""},
    {"a=1&b=2", NULL, "a=1|b=2"},
    {"a=hello+world", NULL, "a=hello world"},
    {"a+b=c+", NULL, "a b=c "},
    {"a=%2B%2b", NULL, "a=++"},
    {"a=%26%3D", NULL, "a=&="}, /* encoded separators are data */
    {"%41%42=%c3%a9%C3%A9", NULL, "AB=\xc3\xa9\xc3\xa9"},
    {"a=", NULL, "a="},
    {"a", NULL, "a="}, /* missing '=': empty value */
    {"a&b", NULL, "a=|b="},
    {"=x", NULL, "=x"},             /* empty name (binding refuses it) */
    {"a=b=c", NULL, "a=b=c"},       /* first '=' splits */
    {"a=1&&b=2&", NULL, "a=1|b=2"}, /* empty pieces skipped */
    {"&&&", NULL, ""},
    {"a=1&a=2", NULL, "a=1|a=2"}, /* duplicates kept; binding decides */
    {"a=x;b=y", NULL, "a=x;b=y"}, /* ';' is not a separator */
    {"a=%e2%82%ac", NULL, "a=\xe2\x82\xac"},
    {"a=\xc3\xa9", NULL, "a=\xc3\xa9"}, /* raw UTF-8 passes */
    /* Malformed escapes: in a value (named), in a name (not named). */
    {"a=%zz", "invalid_form", "/a"},
    {"a=%4", "invalid_form", "/a"},
    {"a=%", "invalid_form", "/a"},
    {"a=x%4g", "invalid_form", "/a"},
    {"a=1&b=%%41", "invalid_form", "/b"},
    {"a%=1", "invalid_form", ""},
    {"%zz=1", "invalid_form", ""},
    /* NUL and invalid UTF-8. */
    {"a=%00", "invalid_field", "/a"},
    {"a=x%00y", "invalid_field", "/a"},
    {"a=%FF", "invalid_field", "/a"},
    {"a=%C0%AF", "invalid_field", "/a"},
    {"a=%ED%A0%80", "invalid_field", "/a"},
    {"a=%E2%82", "invalid_field", "/a"},
    {"a=\xff", "invalid_field", "/a"},
    {"a%FF=1", "invalid_form", ""},
    {"a%00=1", "invalid_form", ""},
    /* Pointers escape '/' and '~'. */
    {"a%2Fb~c=%zz", "invalid_form", "/a~1b~0c"},
};

/* Renders f's pairs as "n=v|n=v". */
static void render_pairs(const struct form *f, char *out, size_t outsz)
{
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < f->n; i++)
		buf_printf(&b, "%s%.*s=%.*s", i ? "|" : "", STR_FMT(f->pair[i].name),
		           STR_FMT(f->pair[i].value));
	assert_false(b.oom);
	snprintf(out, outsz, "%s", b.p ? b.p : "");
	buf_free(&b);
}

static void test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct form f;
		struct jsonin_error err = {0};
		int rc = form_parse(&f, c->in, strlen(c->in), LIMIT_BODY_FORM, &err);
		if (!c->code) {
			if (rc != 0)
				fail_msg("case %zu \"%s\": expected success, got %s: %s", i, c->in, err.code,
				         err.message);
			char got[512];
			render_pairs(&f, got, sizeof(got));
			if (strcmp(got, c->field) != 0)
				fail_msg("case %zu \"%s\": pairs \"%s\", want \"%s\"", i, c->in, got,
				         c->field);
		} else {
			if (rc != -1)
				fail_msg("case %zu \"%s\": expected %s", i, c->in, c->code);
			assert_string_equal(err.code, c->code);
			assert_string_equal(err.field, c->field);
			assert_int_equal(f.n, 0);
		}
		form_free(&f);
	}
}

static void test_parse_embedded_nul_byte(void **state)
{
	(void)state;
	struct form f;
	struct jsonin_error err = {0};
	assert_int_equal(form_parse(&f, "a=x\0y", 5, 100, &err), -1);
	assert_string_equal(err.code, "invalid_field");
	assert_string_equal(err.field, "/a");
	form_free(&f);
	/* Only n bytes are read. */
	assert_int_equal(form_parse(&f, "a=1&b=%zz", 3, 100, &err), 0);
	assert_int_equal(f.n, 1);
	form_free(&f);
}

static void test_parse_limits(void **state)
{
	(void)state;
	struct form f;
	struct jsonin_error err = {0};
	struct buf b;

	/* Byte cap. */
	assert_int_equal(form_parse(&f, "a=1234", 6, 6, &err), 0);
	form_free(&f);
	assert_int_equal(form_parse(&f, "a=1234", 6, 5, &err), -1);
	assert_string_equal(err.code, "too_large");
	form_free(&f);

	/* Field count: LIMIT_FORM_FIELDS pairs pass, one more does not. */
	for (int extra = 0; extra <= 1; extra++) {
		buf_init(&b, 0);
		for (int i = 0; i < LIMIT_FORM_FIELDS + extra; i++)
			buf_printf(&b, "%sf%d=%d", i ? "&" : "", i, i);
		int rc = form_parse(&f, b.p, b.n, LIMIT_BODY_FORM, &err);
		if (extra) {
			assert_int_equal(rc, -1);
			assert_string_equal(err.code, "too_many_fields");
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(f.n, LIMIT_FORM_FIELDS);
		}
		form_free(&f);
		buf_free(&b);
	}

	/* Value length is the decoded length: %41 counts as one byte. */
	for (int extra = 0; extra <= 1; extra++) {
		buf_init(&b, 0);
		buf_puts(&b, "v=");
		for (int i = 0; i < LIMIT_FORM_VALUE + extra; i++)
			buf_puts(&b, i % 2 ? "%41" : "b");
		int rc = form_parse(&f, b.p, b.n, LIMIT_BODY_FORM, &err);
		if (extra) {
			assert_int_equal(rc, -1);
			assert_string_equal(err.code, "too_large");
			assert_string_equal(err.field, "/v");
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(f.pair[0].value.n, LIMIT_FORM_VALUE);
			assert_int_equal(f.pair[0].value.p[1], 'A');
		}
		form_free(&f);
		buf_free(&b);
	}

	/* Name length. */
	for (int extra = 0; extra <= 1; extra++) {
		buf_init(&b, 0);
		for (int i = 0; i < LIMIT_FORM_NAME + extra; i++)
			buf_putc(&b, 'n');
		buf_puts(&b, "=1");
		int rc = form_parse(&f, b.p, b.n, LIMIT_BODY_FORM, &err);
		assert_int_equal(rc, extra ? -1 : 0);
		if (extra)
			assert_string_equal(err.code, "invalid_form");
		form_free(&f);
		buf_free(&b);
	}
}

static void test_parse_query(void **state)
{
	(void)state;
	struct form f;
	struct jsonin_error err = {0};
	struct str v;
	assert_int_equal(form_parse_query(&f, "?status=at+risk&page=2", 22, &err), 0);
	assert_int_equal(f.n, 2);
	assert_int_equal(form_get(&f, "status", 0, &v), 0);
	assert_int_equal(v.n, 7);
	assert_memory_equal(v.p, "at risk", 7);
	form_free(&f);
	assert_int_equal(form_parse_query(&f, "page=2", 6, &err), 0);
	assert_int_equal(f.n, 1);
	form_free(&f);
	assert_int_equal(form_parse_query(&f, "?", 1, &err), 0);
	assert_int_equal(f.n, 0);
	form_free(&f);
	assert_int_equal(form_parse_query(&f, "", 0, &err), 0);
	form_free(&f);
	assert_int_equal(form_parse_query(&f, "?q=%G0", 6, &err), -1);
	assert_string_equal(err.code, "invalid_form");
	assert_string_equal(err.field, "/q");
	form_free(&f);
	form_free(&f); /* twice is fine */
}

static void test_count_and_get(void **state)
{
	(void)state;
	struct form f;
	struct jsonin_error err = {0};
	struct str v;
	const char *in = "r=a&x=1&r=b&r=";
	assert_int_equal(form_parse(&f, in, strlen(in), 100, &err), 0);
	assert_int_equal(form_count(&f, "r"), 3);
	assert_int_equal(form_count(&f, "x"), 1);
	assert_int_equal(form_count(&f, "nope"), 0);
	assert_int_equal(form_get(&f, "r", 1, &v), 0);
	assert_int_equal(v.n, 1);
	assert_int_equal(v.p[0], 'b');
	assert_int_equal(form_get(&f, "r", 2, &v), 0);
	assert_int_equal(v.n, 0);
	assert_int_equal(form_get(&f, "r", 3, &v), -1);
	assert_int_equal(form_get(&f, "nope", 0, &v), -1);
	form_free(&f);
}

/* ---- binding -------------------------------------------------------------------- */

struct signup {
	struct str email;
	struct str note;
	int64_t seats;
	int remember;
	struct str role;
};

static const struct jsonin_field signup_fields[] = {
    JSONIN_F_STR("email", JSONIN_REQUIRED | JSONIN_NO_CTRL, 3, 254, struct signup, email),
    JSONIN_F_STR("note", JSONIN_NO_CTRL | JSONIN_MULTILINE, 0, 10, struct signup, note),
    JSONIN_F_INT("seats", JSONIN_NULL_OK, 1, 100, struct signup, seats),
    JSONIN_F_BOOL("remember", 0, struct signup, remember),
    JSONIN_F_STR("role", JSONIN_MULTI | JSONIN_NO_CTRL, 1, 16, struct signup, role),
    JSONIN_F_CHECK("csrf", JSONIN_STRING, JSONIN_REQUIRED, 4, 4),
};
static const struct jsonin_spec signup_strict = JSONIN_SPEC(signup_fields, JSONIN_STRICT);
static const struct jsonin_spec signup_tolerant = JSONIN_SPEC(signup_fields, JSONIN_TOLERANT);

struct bind_case {
	const char *in;
	int strict;
	const char *code; /* NULL = success */
	const char *field;
};

static const struct bind_case bind_cases[] = {
    {"email=a%40b.c&csrf=abcd", 1, NULL, NULL},
    {"email=a%40b.c&csrf=abcd&note=hi%0D%0Athere&seats=3&remember=on&role=x&role=y", 1, NULL, NULL},
    /* Unknown names: typos and injected fields. */
    {"email=a%40b.c&csrf=abcd&emial=x", 1, "unknown_field", "/emial"},
    {"is_admin=1&email=a%40b.c&csrf=abcd", 1, "unknown_field", "/is_admin"},
    {"email=a%40b.c&csrf=abcd&=x", 1, "unknown_field", "/"},
    {"email=a%40b.c&csrf=abcd&a%2Fb=1", 1, "unknown_field", "/a~1b"},
    {"email=a%40b.c&csrf=abcd&Email=x", 1, "unknown_field", "/Email"},
    {"email=a%40b.c&csrf=abcd&emial=x", 0, NULL, NULL},
    /* Duplicates unless multi-valued, even when one value is empty. */
    {"email=a%40b.c&email=c%40d.e&csrf=abcd", 1, "duplicate_key", "/email"},
    {"email=a%40b.c&csrf=abcd&seats=&seats=2", 1, "duplicate_key", "/seats"},
    {"email=a%40b.c&csrf=abcd&role=a&role=b&role=c", 1, NULL, NULL},
    {"email=a%40b.c&csrf=abcd&role=a&role=", 1, "invalid_field", "/role"}, /* each checked */
    /* Missing. */
    {"csrf=abcd", 1, "missing_field", "/email"},
    {"email=a%40b.c", 1, "missing_field", "/csrf"},
    {"email=&csrf=abcd", 1, "invalid_field", "/email"}, /* present but too short */
    /* Integers: strict decimal, range, empty with NULL_OK is absent. */
    {"email=a%40b.c&csrf=abcd&seats=", 1, NULL, NULL},
    {"email=a%40b.c&csrf=abcd&seats=abc", 1, "invalid_field", "/seats"},
    {"email=a%40b.c&csrf=abcd&seats=+5", 1, "invalid_field", "/seats"},
    {"email=a%40b.c&csrf=abcd&seats=5.0", 1, "invalid_field", "/seats"},
    {"email=a%40b.c&csrf=abcd&seats=0x10", 1, "invalid_field", "/seats"},
    {"email=a%40b.c&csrf=abcd&seats=101", 1, "invalid_field", "/seats"},
    {"email=a%40b.c&csrf=abcd&seats=0", 1, "invalid_field", "/seats"},
    {"email=a%40b.c&csrf=abcd&seats=99999999999999999999999", 1, "invalid_field", "/seats"},
    /* Booleans. */
    {"email=a%40b.c&csrf=abcd&remember=yes", 1, "invalid_field", "/remember"},
    {"email=a%40b.c&csrf=abcd&remember=", 1, "invalid_field", "/remember"},
    {"email=a%40b.c&csrf=abcd&remember=false", 1, NULL, NULL},
    /* Text flags and lengths. */
    {"email=a%0Ab%40c&csrf=abcd", 1, "invalid_field", "/email"},
    {"email=a%40b.c&csrf=abcd&note=a%09b", 1, NULL, NULL},
    {"email=a%40b.c&csrf=abcd&note=a%1Bb", 1, "invalid_field", "/note"},
    {"email=a%40b.c&csrf=abcd&note=a%C2%85", 1, "invalid_field", "/note"},
    {"email=a%40b.c&csrf=abcd&note=0123456789", 1, NULL, NULL},
    {"email=a%40b.c&csrf=abcd&note=0123456789x", 1, "invalid_field", "/note"},
    {"email=a%40b.c&csrf=abc", 1, "invalid_field", "/csrf"},
};

static void test_bind_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bind_cases) / sizeof(bind_cases[0]); i++) {
		const struct bind_case *c = &bind_cases[i];
		struct form f;
		struct jsonin_error err = {0};
		struct signup s;
		uint64_t present = 77;
		memset(&s, 0, sizeof(s));
		if (form_parse(&f, c->in, strlen(c->in), LIMIT_BODY_FORM, &err) < 0)
			fail_msg("case %zu: parse failed: %s %s", i, err.code, err.message);
		int rc = form_bind(&f, c->strict ? &signup_strict : &signup_tolerant, &s, sizeof(s), &present,
		                   &err);
		if (!c->code) {
			if (rc != 0)
				fail_msg("case %zu \"%s\": expected success, got %s %s: %s", i, c->in,
				         err.code, err.field, err.message);
		} else {
			if (rc != -1)
				fail_msg("case %zu \"%s\": expected %s", i, c->in, c->code);
			assert_string_equal(err.code, c->code);
			assert_string_equal(err.field, c->field);
			assert_int_equal(present, 0);
		}
		form_free(&f);
	}
}

static void test_bind_values(void **state)
{
	(void)state;
	const char *in = "role=admin&email=a%40b.c&seats=&remember=1&role=viewer&csrf=abcd&note=x+y";
	struct form f;
	struct jsonin_error err = {0};
	struct signup s;
	uint64_t present;
	memset(&s, 0, sizeof(s));
	s.seats = -7;
	assert_int_equal(form_parse(&f, in, strlen(in), LIMIT_BODY_FORM, &err), 0);
	assert_int_equal(form_bind(&f, &signup_strict, &s, sizeof(s), &present, &err), 0);
	assert_int_equal(s.email.n, 5);
	assert_memory_equal(s.email.p, "a@b.c", 5);
	assert_int_equal(s.note.n, 3);
	assert_memory_equal(s.note.p, "x y", 3);
	assert_int_equal(s.seats, -7); /* empty with NULL_OK: absent, untouched */
	assert_int_equal(s.remember, 1);
	assert_int_equal(s.role.n, 5); /* first value of a multi field */
	assert_memory_equal(s.role.p, "admin", 5);
	assert_int_equal(present, (1u << 0) | (1u << 1) | (1u << 3) | (1u << 4) | (1u << 5));
	struct str v;
	assert_int_equal(form_get(&f, "role", 1, &v), 0);
	assert_memory_equal(v.p, "viewer", 6);
	form_free(&f);

	/* Error envelope from a form error. */
	assert_int_equal(form_parse(&f, "a%2Fb=1", 7, 100, &err), 0);
	assert_int_equal(form_bind(&f, &signup_strict, &s, sizeof(s), NULL, &err), -1);
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(jsonin_error_render(&err, &b), 0);
	assert_string_equal(
	    b.p,
	    "{\"error\":{\"code\":\"unknown_field\",\"message\":\"unknown field\",\"field\":\"/a~1b\"}}");
	buf_free(&b);
	form_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_table),   cmocka_unit_test(test_parse_embedded_nul_byte),
	    cmocka_unit_test(test_parse_limits),  cmocka_unit_test(test_parse_query),
	    cmocka_unit_test(test_count_and_get), cmocka_unit_test(test_bind_table),
	    cmocka_unit_test(test_bind_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
