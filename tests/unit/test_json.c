/* Unit tests for src/http/json.c: loading limits, the depth pre-scan, error pointers,
 * binding (strict and tolerant), text checks and the error envelope. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "http/json.h"
#include "http/json_parse.h"

/* ---- helpers -------------------------------------------------------------------- */

/* Returns a malloc'd document: depth nested containers made of open/close, with inner
 * in the middle. For objects, open is "{\"k\":" and the innermost is "{}". */
static char *nest(int depth, const char *open, const char *inner, const char *close)
{
	struct buf b;
	buf_init(&b, 0);
	for (int i = 0; i < depth; i++)
		buf_puts(&b, open);
	buf_puts(&b, inner);
	for (int i = 0; i < depth; i++)
		buf_puts(&b, close);
	assert_false(b.oom);
	return buf_detach(&b, NULL);
}

/* Pointer with n segments "/seg". */
static char *repeat_ptr(int n, const char *seg)
{
	struct buf b;
	buf_init(&b, 0);
	for (int i = 0; i < n; i++)
		buf_printf(&b, "/%s", seg);
	if (n == 0)
		buf_puts(&b, "");
	assert_false(b.oom);
	return buf_detach(&b, NULL);
}

/* Loads doc[0..n) and checks the outcome: code NULL means success. */
static void check_load(const char *doc, size_t n, size_t cap, const char *code, const char *field,
                       const char *msg_part)
{
	json_t *j = (json_t *)1;
	struct jsonin_error err = {0};
	int rc = jsonin_load(doc, n, cap, &j, &err);
	if (!code) {
		if (rc != 0)
			fail_msg("doc %.60s: expected success, got %s: %s", doc, err.code, err.message);
		assert_non_null(j);
		json_decref(j);
		return;
	}
	if (rc != -1)
		fail_msg("doc %.60s: expected %s, loaded", doc, code);
	assert_null(j);
	assert_string_equal(err.code, code);
	if (field)
		assert_string_equal(err.field, field);
	if (msg_part && !strstr(err.message, msg_part))
		fail_msg("message \"%s\" lacks \"%s\"", err.message, msg_part);
}

/* ---- loading: table ------------------------------------------------------------- */

struct load_case {
	const char *doc;
	size_t len; /* 0 = strlen */
	const char *code;
	const char *field; /* NULL = don't care */
	const char *msg;   /* substring of the message, NULL = don't care */
};

static const struct load_case load_cases[] = {
    {"{}", 0, NULL, NULL, NULL},
    {"[]", 0, NULL, NULL, NULL},
    {" {\"a\": [1, 2.5, true, null, \"x\"]} \n", 0, NULL, NULL, NULL},
    {"", 0, "invalid_json", "", "empty"},
    {"1", 0, "invalid_json", "", NULL},
    {"\"abc\"", 0, "invalid_json", "", NULL},
    {"[1] [2]", 0, "invalid_json", "", NULL},
    {"[1,", 0, "invalid_json", "", NULL},
    {"{\"a\":}", 0, "invalid_json", "", NULL},
    {"[1,2]]", 0, "invalid_json", "", NULL},
    {"]", 0, "invalid_json", "", NULL},
    {"[\"abc", 0, "invalid_json", "", NULL},
    {"[\"a\\", 0, "invalid_json", "", NULL},
    /* NUL bytes, raw and after a backslash. */
    {"[1,\0]", 5, "invalid_json", "", "NUL byte at byte 3"},
    {"[\"a\0\"]", 6, "invalid_json", "", "NUL byte"},
    {"[\"a\\\0\"]", 7, "invalid_json", "", "NUL byte"},
    /* jansson 2.14 alone would accept this one: it skips a NUL after a literal. */
    {"[null\0]", 7, "invalid_json", "", "NUL byte at byte 5"},
    {"[\"\\u0000\"]", 0, "invalid_json", "", "\\u0000"},
    /* UTF-8: jansson's check, surfaced with our wording. */
    {"[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]", 0, NULL, NULL, NULL},
    {"[\"\xff\"]", 0, "invalid_json", "", "invalid UTF-8"},
    {"[\"\xc0\xaf\"]", 0, "invalid_json", "", "invalid UTF-8"},
    {"[\"\xed\xa0\x80\"]", 0, "invalid_json", "", "invalid UTF-8"},
    {"[\"\xe2\x82\"]", 0, "invalid_json", "", "invalid UTF-8"},
    {"[\"\\ud800\"]", 0, "invalid_json", "", NULL},
    {"[123456789012345678901234567890]", 0, "invalid_json", "", "out of range"},
    /* Client bytes never reach the message. */
    {"[1, xyzSECRET]", 0, "invalid_json", "", "line 1"},
    /* Duplicates at every level, with the pointer of the second occurrence. */
    {"{\"a\":1,\"a\":2}", 0, "duplicate_key", "/a", "duplicate"},
    {"{\"a\":1, \"a\" :2}", 0, "duplicate_key", "/a", NULL},
    {"{\"b\":{\"x\":1,\"x\":2}}", 0, "duplicate_key", "/b/x", NULL},
    {"{\"b\":[0,{\"x\":1},{\"y\":[],\"y\":2}]}", 0, "duplicate_key", "/b/2/y", NULL},
    {"[{\"k\":1},{\"k\":1,\"k\":2}]", 0, "duplicate_key", "/1/k", NULL},
    {"[[],[[],{\"a\":{\"c\":1,\"c\":1}}]]", 0, "duplicate_key", "/1/1/a/c", NULL},
    {"{\"a/b\":{\"~x\":1,\"~x\":2}}", 0, "duplicate_key", "/a~1b/~0x", NULL},
    {"{\"\\u00e9\":1,\"\xc3\xa9\":2}", 0, "duplicate_key", "/\xc3\xa9", NULL},
    {"{\"q\\\"\":1,\"q\\\"\":2}", 0, "duplicate_key", "/q\"", NULL},
    {"{\"s\":\"{[\\\"\",\"d\":{\"e\":0,\"e\":0}}", 0, "duplicate_key", "/d/e", NULL},
    {"{\"\":1,\"\":2}", 0, "duplicate_key", "/", NULL},
    /* Same key in sibling objects is fine. */
    {"[{\"a\":1},{\"a\":1}]", 0, NULL, NULL, NULL},
    {"{\"a\":{\"a\":{\"a\":1}}}", 0, NULL, NULL, NULL},
    /* Brackets inside strings do not count; escaped quotes do not end strings. */
    {"[\"[[[[[[[[[[[[[[[[[[[[[[[[[[\"]", 0, NULL, NULL, NULL},
    {"[\"\\\"[[[[[[[[[[[[[[[[[[[[[[[[\"]", 0, NULL, NULL, NULL},
    {"{\"[[[[[[[[[[[[[[[[[[[[\":\"}}}}}}}}\"}", 0, NULL, NULL, NULL},
};

static void test_load_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(load_cases) / sizeof(load_cases[0]); i++) {
		const struct load_case *c = &load_cases[i];
		size_t n = c->len ? c->len : strlen(c->doc);
		check_load(c->doc, n, LIMIT_BODY_JSON_API, c->code, c->field, c->msg);
	}
}

static void test_load_message_hides_client_bytes(void **state)
{
	(void)state;
	struct jsonin_error err = {0};
	json_t *j;
	const char *doc = "{\"a\": tru\xff\x01xyzSECRET}";
	assert_int_equal(jsonin_load(doc, strlen(doc), 1000, &j, &err), -1);
	assert_null(strstr(err.message, "SECRET"));
	for (const char *m = err.message; *m; m++)
		assert_true(*m >= 0x20 && *m < 0x7f);
}

/* ---- depth ---------------------------------------------------------------------- */

static void test_depth_arrays(void **state)
{
	(void)state;
	char *ok = nest(LIMIT_JSON_DEPTH, "[", "", "]");
	char *deep = nest(LIMIT_JSON_DEPTH + 1, "[", "", "]");
	char *ptr = repeat_ptr(LIMIT_JSON_DEPTH, "0");
	check_load(ok, strlen(ok), 1 << 20, NULL, NULL, NULL);
	check_load(deep, strlen(deep), 1 << 20, "too_deep", ptr, "nesting deeper than 16 levels");
	free(ok);
	free(deep);
	free(ptr);
}

static void test_depth_objects(void **state)
{
	(void)state;
	/* {"k":{"k":...{}...}}: depth objects in total. */
	char *ok = nest(LIMIT_JSON_DEPTH - 1, "{\"k\":", "{}", "}");
	char *deep = nest(LIMIT_JSON_DEPTH, "{\"k\":", "{}", "}");
	char *ptr = repeat_ptr(LIMIT_JSON_DEPTH, "k");
	check_load(ok, strlen(ok), 1 << 20, NULL, NULL, NULL);
	check_load(deep, strlen(deep), 1 << 20, "too_deep", ptr, "nesting deeper than 16 levels");
	free(ok);
	free(deep);
	free(ptr);
}

static void test_depth_mixed_and_position(void **state)
{
	(void)state;
	/* Siblings before the deep branch move the index; keys with escapes decode. */
	char *inner = nest(LIMIT_JSON_DEPTH - 3, "[", "", "]");
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "{\"x\":[1,[],{\"a~/\\\"b\":%s}]}", inner);
	char *ok = buf_detach(&b, NULL);
	check_load(ok, strlen(ok), 1 << 20, NULL, NULL, NULL);
	free(inner);
	free(ok);

	inner = nest(LIMIT_JSON_DEPTH - 3, "[", "", "]");
	buf_init(&b, 0);
	buf_printf(&b, "{\"x\":[1,[],{\"a~/\\\"b\":[%s]}]}", inner);
	char *deep = buf_detach(&b, NULL);
	char *zeros = repeat_ptr(LIMIT_JSON_DEPTH - 3, "0");
	buf_init(&b, 0);
	buf_printf(&b, "/x/2/a~0~1\"b%s", zeros);
	char *ptr = buf_detach(&b, NULL);
	check_load(deep, strlen(deep), 1 << 20, "too_deep", ptr, "nesting deeper than 16 levels");
	free(inner);
	free(deep);
	free(zeros);
	free(ptr);
}

static void test_depth_strings_do_not_count(void **state)
{
	(void)state;
	/* 16 levels whose strings are full of brackets and escaped quotes. */
	char *ok = nest(LIMIT_JSON_DEPTH, "[\"[{\\\"[\",", "\"]}]\\\\\"", "]");
	check_load(ok, strlen(ok), 1 << 20, NULL, NULL, NULL);
	char *deep = nest(LIMIT_JSON_DEPTH + 1, "[\"[{\\\"[\",", "\"]}]\\\\\"", "]");
	check_load(deep, strlen(deep), 1 << 20, "too_deep", NULL, "nesting deeper than 16 levels");
	free(ok);
	free(deep);
}

static void test_depth_escaped_backslash_ends_string(void **state)
{
	(void)state;
	/* ["a\\", [[[...]]]]: the string ends after the escaped backslash, so the 16
	 * brackets that follow are real and make 17 levels — jansson alone would accept
	 * this (its limit is 2048), so only our pre-scan can refuse it. */
	char *tail = nest(LIMIT_JSON_DEPTH, "[", "", "]");
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "[\"a\\\\\",%s]", tail);
	char *doc = buf_detach(&b, NULL);
	json_error_t jerr;
	json_t *raw = json_loadb(doc, strlen(doc), 0, &jerr);
	assert_non_null(raw);
	json_decref(raw);
	char *zeros = repeat_ptr(LIMIT_JSON_DEPTH - 1, "0");
	buf_init(&b, 0);
	buf_printf(&b, "/1%s", zeros);
	char *ptr = buf_detach(&b, NULL);
	check_load(doc, strlen(doc), 1 << 20, "too_deep", ptr, NULL);
	free(tail);
	free(doc);
	free(zeros);
	free(ptr);
}

static void test_prescan_direct(void **state)
{
	(void)state;
	size_t off = 99;
	assert_int_equal(jsonin_prescan("[[]]", 4, 2, &off), JSONIN_SCAN_OK);
	assert_int_equal(jsonin_prescan("[[[]]]", 6, 2, &off), JSONIN_SCAN_TOO_DEEP);
	assert_int_equal(off, 2);
	assert_int_equal(jsonin_prescan("{\"a\":[{}]}", 10, 3, &off), JSONIN_SCAN_OK);
	assert_int_equal(jsonin_prescan("{\"a\":[{}]}", 10, 2, &off), JSONIN_SCAN_TOO_DEEP);
	assert_int_equal(off, 6);
	/* Depth is the maximum, not the count of brackets. */
	assert_int_equal(jsonin_prescan("[[],[],[],[]]", 13, 2, NULL), JSONIN_SCAN_OK);
	assert_int_equal(jsonin_prescan("\"[[[[\"", 6, 0, NULL), JSONIN_SCAN_OK);
	assert_int_equal(jsonin_prescan("[\"\\\"[[[\"]", 9, 1, NULL), JSONIN_SCAN_OK);
	assert_int_equal(jsonin_prescan("[\"\\\\\",[]]", 9, 1, &off), JSONIN_SCAN_TOO_DEEP);
	assert_int_equal(off, 6);
	assert_int_equal(jsonin_prescan("[1,\0]", 5, 4, &off), JSONIN_SCAN_NUL);
	assert_int_equal(off, 3);
	assert_int_equal(jsonin_prescan("[\"\\\0\"]", 6, 4, &off), JSONIN_SCAN_NUL);
	assert_int_equal(off, 3);
	/* Unterminated strings and stray closers are left to the parser. */
	assert_int_equal(jsonin_prescan("[\"[[[[[", 7, 1, NULL), JSONIN_SCAN_OK);
	assert_int_equal(jsonin_prescan("][[[[[", 6, 1, NULL), JSONIN_SCAN_OK);
	/* The scan looks at n bytes only. */
	assert_int_equal(jsonin_prescan("[[[", 1, 1, NULL), JSONIN_SCAN_OK);
}

/* Counts jansson's allocations to prove the pre-scan refuses before jansson runs. */
static size_t alloc_count;
static size_t alloc_fail_at; /* fail the nth allocation (1-based), 0 = never */
static void *count_malloc(size_t n)
{
	alloc_count++;
	if (alloc_fail_at && alloc_count == alloc_fail_at)
		return NULL;
	return malloc(n);
}

static void test_refusals_before_jansson(void **state)
{
	(void)state;
	char *deep = nest(LIMIT_JSON_DEPTH + 1, "[", "", "]");
	struct jsonin_error err = {0};
	json_t *j;
	json_set_alloc_funcs(count_malloc, free);
	alloc_count = 0;
	alloc_fail_at = 0;
	assert_int_equal(jsonin_load(deep, strlen(deep), 1 << 20, &j, &err), -1);
	assert_string_equal(err.code, "too_deep");
	/* The pointer is built by decoding keys, but arrays need no allocation at all. */
	assert_int_equal(alloc_count, 0);
	assert_int_equal(jsonin_load("[1,\0]", 5, 100, &j, &err), -1);
	assert_int_equal(jsonin_load("[1,2]", 5, 4, &j, &err), -1);
	assert_string_equal(err.code, "too_large");
	assert_int_equal(alloc_count, 0);
	json_set_alloc_funcs(malloc, free);
	free(deep);
}

static void test_load_out_of_memory(void **state)
{
	(void)state;
	const char *doc = "{\"a\":[1,2,{\"b\":\"ccccccccccccccccccccccccccccccc\"}],\"d\":{\"e\":null}}";
	json_set_alloc_funcs(count_malloc, free);
	int failures = 0;
	for (size_t k = 1; k < 200; k++) {
		struct jsonin_error err = {0};
		json_t *j = NULL;
		alloc_count = 0;
		alloc_fail_at = k;
		int rc = jsonin_load(doc, strlen(doc), 1000, &j, &err);
		if (rc == 0) {
			json_decref(j);
			if (alloc_count < k)
				break; /* every allocation has been failed once */
			continue;
		}
		failures++;
		assert_null(j);
		assert_non_null(err.code);
	}
	alloc_fail_at = 0;
	json_set_alloc_funcs(malloc, free);
	assert_true(failures > 3);
}

static void test_byte_cap(void **state)
{
	(void)state;
	const char *doc = "{\"a\":\"bcd\"}"; /* 11 bytes */
	check_load(doc, 11, 11, NULL, NULL, NULL);
	check_load(doc, 11, 10, "too_large", "", "larger than 10 bytes");
	check_load(doc, 11, 0, "too_large", "", NULL);
}

/* ---- the parser behind jsonin_load (json_parse.c) --------------------------------- */

/* Documents the parser must accept, each compared with what jansson builds: same
 * types (integer vs real), same values, same key order. */
static const char *const parse_same[] = {
    "{\"key\":\"sk_abc\",\"batch\":[{\"type\":\"track\",\"user_id\":\"u42\",\"properties\":{\"n\":123}}]}",
    "[9223372036854775807,-9223372036854775808,-0,0,1,-1]",
    "[1.5,-0.0,0.25e1,1E+2,1e-2,2.2250738585072014e-308,1e308,1e-400,-1e-400]",
    "[0.1000000000000000055511151231257827021181583404541015625000000000000000000000001]",
    "[\"\\\"\\\\\\/"
    "\\b\\f\\n\\r\\t\",\"\\u0041\\u00e9\\u20ac\\ud83d\\ude00\\uDBFF\\uDFFF\",\"\\u007f\\u0080\"]",
    "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\x7f\"]",
    "{\"a\\n\":{\"b\\t\":\"c\\u00e9\",\"b\\t2\":[\"\\\"\"]},\"a\\n2\":\"\\u00e9\\u00e9\"}",
    "{\"z\":1,\"a\":2,\"m\":{\"y\":true,\"b\":false,\"n\":null}}",
    " \t\r\n[ \t\r\n1 \t\r\n, \t\r\n{ \"a\" \t\r\n: \t\r\n[] \t\r\n} \t\r\n] \t\r\n",
    "[[],{},[[]],[{}],\"\",{\"\":\"\"}]",
};

static void test_parse_matches_jansson(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(parse_same) / sizeof(parse_same[0]); i++) {
		const char *doc = parse_same[i];
		json_error_t jerr;
		json_t *ref = json_loadb(doc, strlen(doc), JSON_REJECT_DUPLICATES, &jerr);
		if (!ref)
			fail_msg("case %zu: jansson refuses it: %s", i, jerr.text);
		json_t *j = NULL;
		struct jsonin_error err = {0};
		if (jsonin_load(doc, strlen(doc), LIMIT_BODY_JSON_API, &j, &err) != 0)
			fail_msg("case %zu: refused: %s: %s", i, err.code, err.message);
		assert_true(json_equal(j, ref));
		char *a = json_dumps(j, JSON_COMPACT);
		char *b = json_dumps(ref, JSON_COMPACT);
		assert_string_equal(a, b);
		free(a);
		free(b);
		json_decref(j);
		json_decref(ref);
	}
}

static void test_parse_values(void **state)
{
	(void)state;
	const char *doc = "[9223372036854775807,-9223372036854775808,-0,1e-400,1.0,"
	                  "\"\\ud83d\\ude00\",\"a\\u0000b\"]";
	json_t *j = NULL;
	struct jsonin_error err = {0};
	/* The last string holds \u0000: refused. Without it the rest loads. */
	assert_int_equal(jsonin_load(doc, strlen(doc), 1000, &j, &err), -1);
	assert_string_equal(err.code, "invalid_json");
	assert_non_null(strstr(err.message, "\\u0000"));
	doc = "[9223372036854775807,-9223372036854775808,-0,1e-400,1.0,\"\\ud83d\\ude00\"]";
	assert_int_equal(jsonin_load(doc, strlen(doc), 1000, &j, &err), 0);
	assert_true(json_is_integer(json_array_get(j, 0)));
	assert_true(json_integer_value(json_array_get(j, 0)) == INT64_MAX);
	assert_true(json_integer_value(json_array_get(j, 1)) == INT64_MIN);
	assert_true(json_is_integer(json_array_get(j, 2)));
	assert_true(json_integer_value(json_array_get(j, 2)) == 0);
	assert_true(json_is_real(json_array_get(j, 3)));
	assert_true(json_real_value(json_array_get(j, 3)) == 0.0); /* underflow is accepted */
	assert_true(json_is_real(json_array_get(j, 4)));           /* 1.0 is a real, not 1 */
	assert_int_equal(json_string_length(json_array_get(j, 5)), 4);
	assert_memory_equal(json_string_value(json_array_get(j, 5)), "\xf0\x9f\x98\x80", 4);
	json_decref(j);
}

struct parse_bad {
	const char *doc;
	const char *code;
	const char *msg; /* substring, NULL = don't care */
};

static const struct parse_bad parse_bad_cases[] = {
    /* Integers one past json_int_t and reals that overflow. */
    {"[9223372036854775808]", "invalid_json", "out of range at byte 1"},
    {"[-9223372036854775809]", "invalid_json", "out of range"},
    {"[1e309]", "invalid_json", "out of range"},
    {"[-1e309]", "invalid_json", "out of range"},
    {"[1000000000000000000000000000000000000000000000000000000000000000000000000000000e300]", "invalid_json",
     "out of range"},
    /* JSON number grammar only. */
    {"[01]", "invalid_json", "byte 1"},
    {"[-01]", "invalid_json", NULL},
    {"[+1]", "invalid_json", NULL},
    {"[.5]", "invalid_json", NULL},
    {"[1.]", "invalid_json", NULL},
    {"[1.e5]", "invalid_json", NULL},
    {"[1e]", "invalid_json", NULL},
    {"[1e+]", "invalid_json", NULL},
    {"[-]", "invalid_json", NULL},
    {"[1.5.5]", "invalid_json", NULL},
    {"[0x10]", "invalid_json", NULL},
    {"[NaN]", "invalid_json", NULL},
    {"[Infinity]", "invalid_json", NULL},
    {"[1", "invalid_json", NULL},
    {"[-", "invalid_json", NULL},
    /* Literals are whole words. */
    {"[truex]", "invalid_json", NULL},
    {"[True]", "invalid_json", NULL},
    {"[nul]", "invalid_json", NULL},
    {"[true1]", "invalid_json", NULL},
    /* Strings. */
    {"[\"a\tb\"]", "invalid_json", "line 1, column 4"},
    {"[\"a\nb\"]", "invalid_json", "line 1"},
    {"[\"\\x\"]", "invalid_json", "invalid escape"},
    {"[\"\\u12\"]", "invalid_json", "invalid escape"},
    {"[\"\\u12g4\"]", "invalid_json", NULL},
    {"[\"\\udc00\"]", "invalid_json", "surrogate"},
    {"[\"\\ud800x\"]", "invalid_json", "surrogate"},
    {"[\"\\ud800\\u0041\"]", "invalid_json", "surrogate"},
    {"[\"\\ud800\\ud800\"]", "invalid_json", "surrogate"},
    {"[\"\\ud800\\", "invalid_json", NULL},
    {"[\"\\", "invalid_json", NULL},
    {"[\"\xf4\x90\x80\x80\"]", "invalid_json", "invalid UTF-8 at byte 2"},
    {"[\"\xe0\x80\x80\"]", "invalid_json", "invalid UTF-8"},
    {"[\"\x80\"]", "invalid_json", "invalid UTF-8"},
    {"[\"\\n\xff\"]", "invalid_json", "invalid UTF-8"}, /* on the slow (escape) path */
    {"{\"\\u0000\":1}", "invalid_json", "\\u0000"},
    /* Structure and the top level. */
    {"{\"a\":1,}", "invalid_json", NULL},
    {"[1,]", "invalid_json", NULL},
    {"[,1]", "invalid_json", NULL},
    {"{\"a\" 1}", "invalid_json", NULL},
    {"{1:1}", "invalid_json", NULL},
    {"{\"a\":1 \"b\":2}", "invalid_json", NULL},
    {"[1 2]", "invalid_json", NULL},
    {"{\"a\":1]", "invalid_json", NULL},
    {"[}", "invalid_json", NULL},
    {"null", "invalid_json", NULL},
    {"true", "invalid_json", NULL},
    {"  ", "invalid_json", NULL},
    {"\xef\xbb\xbf[]", "invalid_json", NULL}, /* no BOM */
    {"[]\f", "invalid_json", NULL},           /* form feed is not whitespace */
    {"[]\n\n  x", "invalid_json", "line 3, column 3"},
    {"{}{}", "invalid_json", NULL},
    /* The first error in document order wins: a duplicate before bad syntax ... */
    {"{\"a\":1,\"a\":[1,}", "duplicate_key", "at byte 10"},
    /* ... and bad syntax before a duplicate. */
    {"{\"a\":[1,],\"a\":1}", "invalid_json", NULL},
    /* The duplicate is found before the ':' and value are read. */
    {"{\"a\":1,\"a\"", "duplicate_key", NULL},
    /* Escaped and raw spellings of one key are the same key. */
    {"{\"\\u00e9\\ud83d\\ude00\":1,\"\xc3\xa9\xf0\x9f\x98\x80\":2}", "duplicate_key", NULL},
    {"{\"a\\/b\":1,\"a/b\":2}", "duplicate_key", NULL},
};

static void test_parse_refusals(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(parse_bad_cases) / sizeof(parse_bad_cases[0]); i++) {
		const struct parse_bad *c = &parse_bad_cases[i];
		json_error_t jerr;
		json_t *ref = json_loadb(c->doc, strlen(c->doc), JSON_REJECT_DUPLICATES, &jerr);
		if (ref)
			fail_msg("case %zu: jansson accepts it, the case is wrong", i);
		/* Same class as jansson. */
		assert_int_equal(strcmp(c->code, "duplicate_key") == 0,
		                 json_error_code(&jerr) == json_error_duplicate_key);
		check_load(c->doc, strlen(c->doc), LIMIT_BODY_JSON_API, c->code, NULL, c->msg);
	}
}

static void test_parse_duplicate_pointer_after_escaped_keys(void **state)
{
	(void)state;
	/* The key of each open member is held (decoded) while its value parses; the
	 * pointer names the decoded keys, the offset is where jansson reports it. */
	const char *doc = "{\"x\\n\":{\"\\u00e9\":[0,{\"q\\\"\":1,\"q\\u0022\":2}]}}";
	json_error_t jerr;
	assert_null(json_loadb(doc, strlen(doc), JSON_REJECT_DUPLICATES, &jerr));
	assert_int_equal(jerr.position, 38);
	check_load(doc, strlen(doc), LIMIT_BODY_JSON_API, "duplicate_key", "/x\n/\xc3\xa9/1/q\"",
	           "at byte 38");
}

static void test_parse_depth_guard(void **state)
{
	(void)state;
	/* jsonin_load's prescan refuses depth first; the parser's own guard still holds. */
	json_t *j = (json_t *)1;
	struct jsonparse_error perr;
	assert_int_equal(jsonparse_load("[[[1]]]", 7, 3, &j, &perr), JSONPARSE_OK);
	json_decref(j);
	assert_int_equal(jsonparse_load("[[[[1]]]]", 9, 3, &j, &perr), JSONPARSE_TOO_DEEP);
	assert_null(j);
	assert_int_equal(perr.off, 3);
	assert_int_equal(jsonparse_load("{\"a\":{\"b\":{}}}", 14, 2, &j, &perr), JSONPARSE_TOO_DEEP);
	assert_int_equal(perr.off, 10);
	assert_null(j);
}

/* A long real (past the parser's stack copy) and escapes everywhere: every allocation,
 * including the parser's scratch and copy, fails once; never a leak or a crash, and
 * the failure is reported as internal. */
static void test_parse_out_of_memory_paths(void **state)
{
	(void)state;
	const char *doc =
	    "{\"k\\n\":[\"v\\u00e9\",1.00000000000000000000000000000000000000000000000000000000000000001,"
	    "{\"a\":\"\\t\",\"b\":[true,null,-5]}],\"z\":\"plain\"}";
	json_set_alloc_funcs(count_malloc, free);
	size_t k;
	for (k = 1; k < 400; k++) {
		struct jsonin_error err = {0};
		json_t *j = NULL;
		alloc_count = 0;
		alloc_fail_at = k;
		int rc = jsonin_load(doc, strlen(doc), 1000, &j, &err);
		if (rc == 0) {
			json_decref(j);
			assert_true(alloc_count < k); /* only when no allocation was failed */
			break;
		}
		assert_null(j);
		assert_string_equal(err.code, "internal");
	}
	alloc_fail_at = 0;
	json_set_alloc_funcs(malloc, free);
	assert_true(k > 10 && k < 400);
}

/* ---- pointers ------------------------------------------------------------------- */

static void test_pointer_escaping(void **state)
{
	(void)state;
	struct jsonin_ptr p;
	jsonin_ptr_init(&p);
	assert_string_equal(p.p, "");
	jsonin_ptr_push_key(&p, "batch", 5);
	jsonin_ptr_push_index(&p, 3);
	jsonin_ptr_push_key(&p, "timestamp", 9);
	assert_string_equal(p.p, "/batch/3/timestamp");
	assert_int_equal(p.n, strlen(p.p));
	jsonin_ptr_pop(&p);
	jsonin_ptr_push_key(&p, "a~b/c", 5);
	assert_string_equal(p.p, "/batch/3/a~0b~1c");
	jsonin_ptr_pop(&p);
	jsonin_ptr_push_key(&p, "~1", 2); /* must not read back as "/" */
	assert_string_equal(p.p, "/batch/3/~01");
	jsonin_ptr_pop(&p);
	jsonin_ptr_push_key(&p, "", 0);
	assert_string_equal(p.p, "/batch/3/");
	jsonin_ptr_pop(&p);
	jsonin_ptr_push_key(&p, "//", 2);
	assert_string_equal(p.p, "/batch/3/~1~1");
	jsonin_ptr_pop(&p);
	jsonin_ptr_pop(&p);
	jsonin_ptr_pop(&p);
	assert_string_equal(p.p, "");
	jsonin_ptr_pop(&p); /* no-op */
	assert_string_equal(p.p, "");
	assert_int_equal(p.n, 0);
}

static void test_pointer_overflow_keeps_a_true_prefix(void **state)
{
	(void)state;
	struct jsonin_ptr p;
	char big[400];
	memset(big, 'x', sizeof(big));
	jsonin_ptr_init(&p);
	jsonin_ptr_push_key(&p, "batch", 5);
	jsonin_ptr_push_key(&p, big, sizeof(big)); /* does not fit */
	assert_string_equal(p.p, "/batch");
	jsonin_ptr_push_key(&p, "a", 1); /* below a lost segment: also left out */
	assert_string_equal(p.p, "/batch");
	jsonin_ptr_pop(&p);
	jsonin_ptr_pop(&p);
	assert_string_equal(p.p, "/batch");
	jsonin_ptr_pop(&p);
	assert_string_equal(p.p, "");
	/* Exactly filling the buffer works; one more byte does not. */
	jsonin_ptr_push_key(&p, big, JSONIN_POINTER_MAX - 2);
	assert_int_equal(p.n, JSONIN_POINTER_MAX - 1);
	assert_int_equal(p.lost, 0);
	jsonin_ptr_pop(&p);
	jsonin_ptr_push_key(&p, big, JSONIN_POINTER_MAX - 1);
	assert_int_equal(p.n, 0);
	assert_int_equal(p.lost, 1);
	/* Escapes count double. */
	jsonin_ptr_pop(&p);
	memset(big, '/', sizeof(big));
	jsonin_ptr_push_key(&p, big, (JSONIN_POINTER_MAX - 2) / 2);
	assert_int_equal(p.lost, 0);
	assert_int_equal(p.n, 1 + 2 * ((JSONIN_POINTER_MAX - 2) / 2));
	jsonin_ptr_pop(&p);
	jsonin_ptr_push_key(&p, big, (JSONIN_POINTER_MAX - 2) / 2 + 1);
	assert_int_equal(p.lost, 1);
}

/* ---- error envelope ------------------------------------------------------------- */

static void test_error_envelope(void **state)
{
	(void)state;
	struct jsonin_error err = {0};
	struct jsonin_ptr at;
	struct buf b;
	jsonin_ptr_init(&at);
	jsonin_ptr_push_key(&at, "a/\"b", 4);
	jsonin_error_set(&err, "invalid_field", &at, "must be at most %d bytes", 5);
	buf_init(&b, 0);
	assert_int_equal(jsonin_error_render(&err, &b), 0);
	assert_string_equal(b.p,
	                    "{\"error\":{\"code\":\"invalid_field\",\"message\":\"must be at most 5 bytes\","
	                    "\"field\":\"/a~1\\\"b\"}}");
	buf_free(&b);
	assert_int_equal(jsonin_error_status(&err), 400);

	jsonin_error_set(&err, "too_large", NULL, "body larger than %d bytes", 10);
	buf_init(&b, 0);
	assert_int_equal(jsonin_error_render(&err, &b), 0);
	assert_string_equal(b.p,
	                    "{\"error\":{\"code\":\"too_large\",\"message\":\"body larger than 10 bytes\"}}");
	buf_free(&b);
	assert_int_equal(jsonin_error_status(&err), 413);

	jsonin_error_set(&err, "too_many_fields", NULL, "x");
	assert_int_equal(jsonin_error_status(&err), 413);
	jsonin_error_set(&err, "internal", NULL, "out of memory");
	assert_int_equal(jsonin_error_status(&err), 500);

	/* A field that is not valid UTF-8 is left out rather than failing the reply. */
	jsonin_error_set(&err, "unknown_field", NULL, "unknown field");
	memcpy(err.field, "/\xff", 3);
	json_t *j = jsonin_error_json(&err);
	assert_non_null(j);
	assert_null(json_object_get(json_object_get(j, "error"), "field"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
	                    "unknown_field");
	json_decref(j);

	/* Appends to what is already in the buffer; a capped buffer reports failure. */
	buf_init(&b, 8);
	assert_int_equal(jsonin_error_render(&err, &b), -1);
	assert_true(b.oom);
	buf_free(&b);
}

/* ---- text checks ---------------------------------------------------------------- */

struct text_case {
	const char *s;
	size_t len; /* 0 = strlen */
	unsigned flags;
	enum jsonin_text want;
};

static const struct text_case text_cases[] = {
    {"plain", 0, JSONIN_NO_CTRL, JSONIN_TEXT_OK},
    {"", 0, JSONIN_NO_CTRL, JSONIN_TEXT_OK},
    {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf", 0, JSONIN_NO_CTRL, JSONIN_TEXT_OK},
    {"\xef\xbb\xbf", 0, 0, JSONIN_TEXT_OK},
    {"a\0b", 3, 0, JSONIN_TEXT_BAD_UTF8},
    {"\xff", 0, 0, JSONIN_TEXT_BAD_UTF8},
    {"\x80", 0, 0, JSONIN_TEXT_BAD_UTF8},
    {"\xc0\xaf", 0, 0, JSONIN_TEXT_BAD_UTF8},         /* overlong '/' */
    {"\xc1\xbf", 0, 0, JSONIN_TEXT_BAD_UTF8},         /* overlong */
    {"\xe0\x80\xaf", 0, 0, JSONIN_TEXT_BAD_UTF8},     /* overlong */
    {"\xf0\x80\x80\xaf", 0, 0, JSONIN_TEXT_BAD_UTF8}, /* overlong */
    {"\xed\xa0\x80", 0, 0, JSONIN_TEXT_BAD_UTF8},     /* surrogate */
    {"\xed\x9f\xbf", 0, 0, JSONIN_TEXT_OK},           /* U+D7FF */
    {"\xf4\x90\x80\x80", 0, 0, JSONIN_TEXT_BAD_UTF8}, /* > U+10FFFF */
    {"\xf5\x80\x80\x80", 0, 0, JSONIN_TEXT_BAD_UTF8},
    {"\xe2\x82", 0, 0, JSONIN_TEXT_BAD_UTF8}, /* cut */
    {"\xe2\x28\xa1", 0, 0, JSONIN_TEXT_BAD_UTF8},
    {"a\nb", 0, 0, JSONIN_TEXT_OK},
    {"a\nb", 0, JSONIN_NO_CTRL, JSONIN_TEXT_CONTROL},
    {"a\nb\r\tc", 0, JSONIN_NO_CTRL | JSONIN_MULTILINE, JSONIN_TEXT_OK},
    {"a\x1b", 0, JSONIN_NO_CTRL | JSONIN_MULTILINE, JSONIN_TEXT_CONTROL},
    {"a\x7f", 0, JSONIN_NO_CTRL, JSONIN_TEXT_CONTROL},
    {"a\xc2\x85", 0, JSONIN_NO_CTRL, JSONIN_TEXT_CONTROL}, /* NEL, C1 */
    {"a\xc2\xa0", 0, JSONIN_NO_CTRL, JSONIN_TEXT_OK},      /* NBSP is text */
};

static void test_text_check(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]); i++) {
		const struct text_case *c = &text_cases[i];
		size_t n = c->len ? c->len : strlen(c->s);
		if (jsonin_text_check(c->s, n, c->flags) != c->want)
			fail_msg("text case %zu: want %d", i, (int)c->want);
	}
}

/* ---- binding -------------------------------------------------------------------- */

struct acct {
	struct str name;
	struct str bio;
	int64_t age;
	int admin;
	json_t *tags;
	json_t *meta;
	json_t *extra;
};

static const struct jsonin_field acct_fields[] = {
    JSONIN_F_STR("name", JSONIN_REQUIRED | JSONIN_NO_CTRL, 1, 8, struct acct, name),
    JSONIN_F_STR("bio", JSONIN_NO_CTRL | JSONIN_MULTILINE | JSONIN_NULL_OK, 0, 20, struct acct, bio),
    JSONIN_F_INT("age", 0, 0, 150, struct acct, age),
    JSONIN_F_BOOL("admin", 0, struct acct, admin),
    JSONIN_F_JSON("tags", JSONIN_ARRAY, 0, 0, 3, struct acct, tags),
    JSONIN_F_JSON("meta", JSONIN_OBJECT, 0, 1, 0, struct acct, meta),
    JSONIN_F_JSON("extra", JSONIN_ANY, 0, 0, 0, struct acct, extra),
    JSONIN_F_CHECK("a/b~c", JSONIN_INT, 0, -5, 5),
};
static const struct jsonin_spec acct_strict = JSONIN_SPEC(acct_fields, JSONIN_STRICT);
static const struct jsonin_spec acct_tolerant = JSONIN_SPEC(acct_fields, JSONIN_TOLERANT);

struct bind_case {
	const char *doc;
	int strict; /* 1 strict, 0 tolerant */
	const char *code;
	const char *field;
	const char *msg;
};

static const struct bind_case bind_cases[] = {
    {"{\"name\":\"ann\"}", 1, NULL, NULL, NULL},
    {"{\"name\":\"ann\",\"bio\":\"l1\\nl2\\tx\",\"age\":150,\"admin\":true,\"tags\":[1,2,3],"
     "\"meta\":{\"k\":1},\"extra\":null,\"a/b~c\":-5}",
     1, NULL, NULL, NULL},
    /* Strict: unknown fields, first in document order, pointer escaped. */
    {"{\"name\":\"ann\",\"nmae\":1}", 1, "unknown_field", "/nmae", "unknown field"},
    {"{\"zz\":1,\"name\":\"ann\",\"aa\":2}", 1, "unknown_field", "/zz", NULL},
    {"{\"name\":\"ann\",\"a~b/c\":1}", 1, "unknown_field", "/a~0b~1c", NULL},
    {"{\"name\":\"ann\",\"\":1}", 1, "unknown_field", "/", NULL},
    {"{\"name\":\"ann\",\"Name\":1}", 1, "unknown_field", "/Name", NULL},
    /* Tolerant: unknown ignored, types still checked. */
    {"{\"name\":\"ann\",\"nmae\":1,\"x\":{\"y\":[]}}", 0, NULL, NULL, NULL},
    {"{\"name\":5,\"nmae\":1}", 0, "invalid_field", "/name", "must be a string"},
    /* Missing and wrong types. */
    {"{}", 1, "missing_field", "/name", "required"},
    {"{\"age\":3}", 0, "missing_field", "/name", NULL},
    {"{\"name\":null}", 1, "invalid_field", "/name", "must be a string"},
    {"{\"name\":\"ann\",\"bio\":null}", 1, NULL, NULL, NULL},
    {"{\"name\":\"ann\",\"age\":\"5\"}", 1, "invalid_field", "/age", "must be an integer"},
    {"{\"name\":\"ann\",\"age\":5.0}", 1, "invalid_field", "/age", "must be an integer"},
    {"{\"name\":\"ann\",\"age\":null}", 1, "invalid_field", "/age", NULL},
    {"{\"name\":\"ann\",\"admin\":1}", 1, "invalid_field", "/admin", "true or false"},
    {"{\"name\":\"ann\",\"tags\":{}}", 1, "invalid_field", "/tags", "must be an array"},
    {"{\"name\":\"ann\",\"meta\":[]}", 1, "invalid_field", "/meta", "must be an object"},
    {"{\"name\":[\"ann\"]}", 1, "invalid_field", "/name", NULL},
    {"{\"name\":\"ann\",\"a/b~c\":\"1\"}", 1, "invalid_field", "/a~1b~0c", NULL},
    /* Ranges and lengths, at and past the bounds. */
    {"{\"name\":\"ann\",\"age\":0}", 1, NULL, NULL, NULL},
    {"{\"name\":\"ann\",\"age\":-1}", 1, "invalid_field", "/age", "between 0 and 150"},
    {"{\"name\":\"ann\",\"age\":151}", 1, "invalid_field", "/age", NULL},
    {"{\"name\":\"ann\",\"a/b~c\":6}", 1, "invalid_field", "/a~1b~0c", "between -5 and 5"},
    {"{\"name\":\"12345678\"}", 1, NULL, NULL, NULL},
    {"{\"name\":\"123456789\"}", 1, "invalid_field", "/name", "at most 8 bytes"},
    {"{\"name\":\"\"}", 1, "invalid_field", "/name", "at least 1 bytes"},
    {"{\"name\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}", 1, NULL, NULL, NULL},
    {"{\"name\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9x\"}", 1, "invalid_field", "/name", NULL},
    {"{\"name\":\"ann\",\"tags\":[1,2,3,4]}", 1, "invalid_field", "/tags", "at most 3 elements"},
    {"{\"name\":\"ann\",\"meta\":{}}", 1, "invalid_field", "/meta", "at least 1 members"},
    /* Control characters. */
    {"{\"name\":\"a\\nb\"}", 1, "invalid_field", "/name", "control"},
    {"{\"name\":\"a\\u007f\"}", 1, "invalid_field", "/name", "control"},
    {"{\"name\":\"a\\u0085\"}", 1, "invalid_field", "/name", "control"},
    {"{\"name\":\"a\",\"bio\":\"x\\u001by\"}", 1, "invalid_field", "/bio", "control"},
    {"{\"name\":\"a\",\"bio\":\"x\\r\\ny\"}", 1, NULL, NULL, NULL},
    /* Not an object. */
    {"[]", 1, "invalid_field", "", "must be a JSON object"},
};

static void run_bind_case(size_t idx, const struct bind_case *c)
{
	struct jsonin_error err = {0};
	json_t *doc;
	struct acct a;
	uint64_t present = 99;
	memset(&a, 0, sizeof(a));
	if (jsonin_load(c->doc, strlen(c->doc), 4096, &doc, &err) < 0)
		fail_msg("bind case %zu: load failed: %s", idx, err.message);
	int rc =
	    jsonin_bind(doc, c->strict ? &acct_strict : &acct_tolerant, &a, sizeof(a), &present, NULL, &err);
	if (!c->code) {
		if (rc != 0)
			fail_msg("bind case %zu (%s): expected success, got %s %s: %s", idx, c->doc, err.code,
			         err.field, err.message);
	} else {
		if (rc != -1)
			fail_msg("bind case %zu (%s): expected %s", idx, c->doc, c->code);
		assert_string_equal(err.code, c->code);
		assert_string_equal(err.field, c->field);
		if (c->msg && !strstr(err.message, c->msg))
			fail_msg("bind case %zu: message \"%s\" lacks \"%s\"", idx, err.message, c->msg);
		assert_int_equal(present, 0);
	}
	json_decref(doc);
}

static void test_bind_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bind_cases) / sizeof(bind_cases[0]); i++)
		run_bind_case(i, &bind_cases[i]);
}

static void test_bind_values_and_present(void **state)
{
	(void)state;
	const char *s = "{\"name\":\"ann\",\"bio\":null,\"age\":42,\"admin\":false,\"tags\":[1],"
	                "\"extra\":{\"z\":1},\"a/b~c\":2}";
	struct jsonin_error err = {0};
	json_t *doc;
	struct acct a;
	uint64_t present;
	memset(&a, 0xAB, sizeof(a));
	assert_int_equal(jsonin_load(s, strlen(s), 4096, &doc, &err), 0);
	assert_int_equal(jsonin_bind(doc, &acct_strict, &a, sizeof(a), &present, NULL, &err), 0);
	assert_int_equal(a.name.n, 3);
	assert_memory_equal(a.name.p, "ann", 3);
	/* Borrowed, not copied. */
	assert_ptr_equal(a.name.p, json_string_value(json_object_get(doc, "name")));
	assert_int_equal(a.age, 42);
	assert_int_equal(a.admin, 0);
	assert_ptr_equal(a.tags, json_object_get(doc, "tags"));
	assert_ptr_equal(a.extra, json_object_get(doc, "extra"));
	/* bio was null with NULL_OK: absent, target untouched; meta absent too. */
	assert_int_equal(present, (1u << 0) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 6) | (1u << 7));
	uint64_t untouched;
	memset(&untouched, 0xAB, sizeof(untouched));
	assert_memory_equal(&a.bio.n, &untouched, sizeof(a.bio.n));
	json_decref(doc);
}

static void test_bind_field_count(void **state)
{
	(void)state;
	/* Strict: more than LIMIT_JSON_FIELDS members is refused as such (before the unknown
	 * field check); exactly at the limit it is the unknown field that is reported. */
	for (int extra = 0; extra <= 1; extra++) {
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string("ann"));
		for (int i = 1; i < LIMIT_JSON_FIELDS + extra; i++) {
			char k[16];
			snprintf(k, sizeof(k), "k%d", i);
			json_object_set_new(o, k, json_integer(i));
		}
		struct jsonin_error err = {0};
		struct acct a;
		assert_int_equal(jsonin_bind(o, &acct_strict, &a, sizeof(a), NULL, NULL, &err), -1);
		assert_string_equal(err.code, extra ? "too_many_fields" : "unknown_field");
		assert_string_equal(err.field, extra ? "" : "/k1");
		/* Tolerant ignores them all. */
		assert_int_equal(jsonin_bind(o, &acct_tolerant, &a, sizeof(a), NULL, NULL, &err), 0);
		json_decref(o);
	}
}

static void test_bind_long_unknown_key_pointer(void **state)
{
	(void)state;
	/* A key too long for the pointer leaves the pointer at the enclosing object. */
	json_t *o = json_object();
	char key[600];
	memset(key, 'q', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	json_object_set_new(o, key, json_true());
	struct jsonin_ptr at;
	jsonin_ptr_init(&at);
	jsonin_ptr_push_key(&at, "batch", 5);
	jsonin_ptr_push_index(&at, 7);
	struct jsonin_error err = {0};
	struct acct a;
	assert_int_equal(jsonin_bind(o, &acct_strict, &a, sizeof(a), NULL, &at, &err), -1);
	assert_string_equal(err.code, "unknown_field");
	assert_string_equal(err.field, "/batch/7");
	assert_string_equal(at.p, "/batch/7"); /* restored */
	assert_int_equal(at.lost, 0);
	json_decref(o);
}

/* Ingestion-like nested binding: a tolerant event spec that truncates properties and
 * refuses oversized ids, errors named /batch/<i>/<field>. */
struct event {
	struct str type;
	struct str user_id;
	struct str label;
	int64_t timestamp;
	json_t *properties;
};

static const struct jsonin_field event_fields[] = {
    JSONIN_F_STR("type", JSONIN_REQUIRED | JSONIN_NO_CTRL, 1, 32, struct event, type),
    JSONIN_F_STR("userId", JSONIN_NULL_OK | JSONIN_NO_CTRL, 1, 16, struct event, user_id),
    JSONIN_F_STR("label", JSONIN_TRUNCATE, 0, 5, struct event, label),
    JSONIN_F_INT("timestamp", 0, 0, INT64_MAX, struct event, timestamp),
    JSONIN_F_JSON("properties", JSONIN_OBJECT, JSONIN_NULL_OK, 0, 0, struct event, properties),
};
static const struct jsonin_spec event_spec = JSONIN_SPEC(event_fields, JSONIN_TOLERANT);

struct batch {
	json_t *batch;
};
static const struct jsonin_field batch_fields[] = {
    JSONIN_F_JSON("batch", JSONIN_ARRAY, JSONIN_REQUIRED, 1, 100, struct batch, batch),
};
static const struct jsonin_spec batch_spec = JSONIN_SPEC(batch_fields, JSONIN_TOLERANT);

static void test_bind_nested_batch(void **state)
{
	(void)state;
	const char *doc = "{\"batch\":["
	                  "{\"type\":\"track\",\"label\":\"abcdefgh\",\"context\":{}},"
	                  "{\"type\":\"page\",\"userId\":null,\"label\":\"ab\xc3\xa9\xc3\xa9\"},"
	                  "{\"type\":\"track\",\"label\":\"\xe2\x82\xac\xe2\x82\xac\"},"
	                  "{\"type\":\"track\",\"timestamp\":\"yesterday\"},"
	                  "{\"type\":\"track\",\"userId\":\"0123456789abcdefX\"},"
	                  "{\"userId\":\"u\"}"
	                  "],\"sentAt\":\"x\"}";
	static const struct {
		const char *code, *field, *label;
	} want[] = {
	    {NULL, NULL, "abcde"},
	    {NULL, NULL, "ab\xc3\xa9"},   /* cut before the second é, not inside it */
	    {NULL, NULL, "\xe2\x82\xac"}, /* 6 bytes -> 3 */
	    {"invalid_field", "/batch/3/timestamp", NULL},
	    {"invalid_field", "/batch/4/userId", NULL}, /* ids are refused, not cut */
	    {"missing_field", "/batch/5/type", NULL},
	};
	struct jsonin_error err = {0};
	json_t *root;
	struct batch b;
	struct jsonin_ptr at;
	assert_int_equal(jsonin_load(doc, strlen(doc), LIMIT_BODY_INGEST, &root, &err), 0);
	assert_int_equal(jsonin_bind(root, &batch_spec, &b, sizeof(b), NULL, NULL, &err), 0);
	assert_int_equal(json_array_size(b.batch), 6);
	jsonin_ptr_init(&at);
	jsonin_ptr_push_key(&at, "batch", 5);
	size_t i;
	json_t *ev;
	json_array_foreach(b.batch, i, ev)
	{
		struct event e;
		memset(&e, 0, sizeof(e));
		jsonin_ptr_push_index(&at, i);
		int rc = jsonin_bind(ev, &event_spec, &e, sizeof(e), NULL, &at, &err);
		jsonin_ptr_pop(&at);
		if (!want[i].code) {
			assert_int_equal(rc, 0);
			assert_int_equal(e.label.n, strlen(want[i].label));
			assert_memory_equal(e.label.p, want[i].label, e.label.n);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(err.code, want[i].code);
			assert_string_equal(err.field, want[i].field);
		}
		assert_string_equal(at.p, "/batch");
	}
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_load_table),
	    cmocka_unit_test(test_load_message_hides_client_bytes),
	    cmocka_unit_test(test_depth_arrays),
	    cmocka_unit_test(test_depth_objects),
	    cmocka_unit_test(test_depth_mixed_and_position),
	    cmocka_unit_test(test_depth_strings_do_not_count),
	    cmocka_unit_test(test_depth_escaped_backslash_ends_string),
	    cmocka_unit_test(test_prescan_direct),
	    cmocka_unit_test(test_refusals_before_jansson),
	    cmocka_unit_test(test_load_out_of_memory),
	    cmocka_unit_test(test_byte_cap),
	    cmocka_unit_test(test_parse_matches_jansson),
	    cmocka_unit_test(test_parse_values),
	    cmocka_unit_test(test_parse_refusals),
	    cmocka_unit_test(test_parse_duplicate_pointer_after_escaped_keys),
	    cmocka_unit_test(test_parse_depth_guard),
	    cmocka_unit_test(test_parse_out_of_memory_paths),
	    cmocka_unit_test(test_pointer_escaping),
	    cmocka_unit_test(test_pointer_overflow_keeps_a_true_prefix),
	    cmocka_unit_test(test_error_envelope),
	    cmocka_unit_test(test_text_check),
	    cmocka_unit_test(test_bind_table),
	    cmocka_unit_test(test_bind_values_and_present),
	    cmocka_unit_test(test_bind_field_count),
	    cmocka_unit_test(test_bind_long_unknown_key_pointer),
	    cmocka_unit_test(test_bind_nested_batch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
