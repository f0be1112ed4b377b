/* Unit tests for src/ingest/compat.c: URL path and origin extraction, where each dialect
 * finds its body key, the Segment and PostHog event mappings at their edges, and the
 * translation errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ingest/compat.c" /* statics: url_path, url_origin */

static void expect_str(json_t *v, const char *want)
{
	if (!want) {
		assert_null(v);
		return;
	}
	assert_non_null(v);
	assert_true(json_is_string(v));
	assert_string_equal(json_string_value(v), want);
}

static void check_path(const char *in, const char *want)
{
	json_t *u = json_string(in);
	json_t *p = url_path(u);
	expect_str(p, want);
	json_decref(p);
	json_decref(u);
}

static void check_origin(const char *in, const char *want)
{
	json_t *u = json_string(in);
	json_t *o = url_origin(u);
	expect_str(o, want);
	json_decref(o);
	json_decref(u);
}

static void test_urls(void **state)
{
	(void)state;
	check_path("https://app.example.com/a/b?x=1#f", "/a/b");
	check_path("https://app.example.com", "/");
	check_path("https://app.example.com?x", "/");
	check_path("/settings?tab=2", "/settings");
	check_path("?only=query", "/");
	check_path("relative/path#x", "relative/path");
	check_origin("https://www.example.com/landing?utm=1", "https://www.example.com");
	check_origin("http://h:8080?q", "http://h:8080");
	check_origin("/just/a/path", NULL);
	check_origin("://nohost", NULL);
	json_t *n = json_integer(5);
	assert_null(url_path(n));
	assert_null(url_origin(n));
	json_decref(n);
}

static json_t *load(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	assert_non_null(j);
	return j;
}

static void test_body_keys(void **state)
{
	(void)state;
	json_t *d = load("{\"key\":\"a\",\"writeKey\":\"b\",\"api_key\":\"c\",\"token\":\"d\"}");
	expect_str(compat_body_key(d, INGEST_NATIVE), "a");
	expect_str(compat_body_key(d, INGEST_SEGMENT_TRACK), "b");
	expect_str(compat_body_key(d, INGEST_POSTHOG), "c");
	json_decref(d);
	d = load("{\"writeKey\":\"b\",\"token\":\"d\"}");
	expect_str(compat_body_key(d, INGEST_NATIVE), "b");
	expect_str(compat_body_key(d, INGEST_POSTHOG), "d");
	json_decref(d);
	d = load("{}");
	assert_null(compat_body_key(d, INGEST_SEGMENT_PAGE));
	json_decref(d);
}

static json_t *translate(const char *body, enum ingest_dialect d, int basic)
{
	json_t *doc = load(body), *batch = NULL;
	struct compat_err err = {0};
	assert_int_equal(compat_translate(doc, d, basic, &batch, &err), 0);
	json_decref(doc);
	assert_true(json_is_array(batch));
	return batch;
}

static void test_native_or_segment(void **state)
{
	(void)state;
	/* ours: passed through untouched */
	json_t *b =
	    translate("{\"key\":\"k\",\"batch\":[{\"type\":\"track\",\"user_id\":\"u\",\"userId\":\"x\"}]}",
	              INGEST_NATIVE, 0);
	expect_str(json_object_get(json_array_get(b, 0), "user_id"), "u");
	json_decref(b);
	/* a Basic-auth key or writeKey without key: Segment's camelCase */
	static const char *const seg[] = {
	    "{\"batch\":[{\"type\":\"track\",\"userId\":\"x\",\"event\":\"E\"}]}",
	    "{\"writeKey\":\"w\",\"batch\":[{\"type\":\"track\",\"userId\":\"x\",\"event\":\"E\"}]}"};
	for (int i = 0; i < 2; i++) {
		b = translate(seg[i], INGEST_NATIVE, i == 0);
		json_t *e = json_array_get(b, 0);
		expect_str(json_object_get(e, "user_id"), "x");
		expect_str(json_object_get(e, "name"), "E");
		json_decref(b);
	}
}

static void test_segment_events(void **state)
{
	(void)state;
	json_t *b =
	    translate("{\"type\":\"identify\",\"userId\":\"u\",\"context\":{\"traits\":{\"plan\":\"p\"}}}",
	              INGEST_SEGMENT_TRACK, 0);
	json_t *e = json_array_get(b, 0);
	expect_str(json_object_get(e, "type"), "track"); /* the route decides */
	assert_null(json_object_get(e, "traits"));
	json_decref(b);
	b = translate("{\"userId\":\"u\",\"context\":{\"traits\":{\"plan\":\"p\"}}}", INGEST_SEGMENT_IDENTIFY,
	              0);
	e = json_array_get(b, 0);
	expect_str(json_object_get(json_object_get(e, "traits"), "plan"), "p");
	json_decref(b);
	b = translate("{\"anonymousId\":\"a\",\"properties\":{\"search\":\"?secret=1\",\"referrer\":\"https:/"
	              "/r.example/x\"},"
	              "\"context\":{\"page\":{\"url\":\"https://h/p/1?secret=2\"}}}",
	              INGEST_SEGMENT_PAGE, 0);
	e = json_array_get(b, 0);
	expect_str(json_object_get(e, "name"), "/p/1");
	json_t *props = json_object_get(e, "properties");
	expect_str(json_object_get(props, "referrer"), "https://r.example");
	assert_null(json_object_get(props, "search"));
	json_decref(b);
	/* unknown Segment types stay as they are, for the pipeline to drop */
	b = translate("{\"writeKey\":\"w\",\"batch\":[{\"type\":\"screen\",\"userId\":\"u\"},7]}",
	              INGEST_NATIVE, 0);
	expect_str(json_object_get(json_array_get(b, 0), "type"), "screen");
	assert_true(json_is_integer(json_array_get(b, 1)));
	json_decref(b);
}

static void test_posthog_events(void **state)
{
	(void)state;
	json_t *b = translate(
	    "{\"api_key\":\"k\",\"batch\":["
	    "{\"event\":\"$pageview\",\"properties\":{\"distinct_id\":\"d\",\"$pathname\":\"/x?y\"}},"
	    "{\"event\":\"$set\",\"distinct_id\":\"d\",\"$set\":{\"plan\":\"p\"}},"
	    "{\"event\":\"$autocapture\",\"distinct_id\":\"d\",\"properties\":{\"$elements\":[{\"tag_name\":"
	    "\"a\",\"$el_text\":\"Go\"}]}},"
	    "{\"event\":\"$groupidentify\",\"distinct_id\":\"d\"},"
	    "{\"event\":\"done\",\"distinct_id\":\"d\",\"properties\":{\"$lib\":\"x\",\"n\":1}},"
	    "{\"distinct_id\":\"d\"}]}",
	    INGEST_POSTHOG, 0);
	assert_int_equal(json_array_size(b), 6);
	json_t *e = json_array_get(b, 0);
	expect_str(json_object_get(e, "type"), "page");
	expect_str(json_object_get(e, "user_id"), "d");
	expect_str(json_object_get(e, "name"), "/x");
	e = json_array_get(b, 1);
	expect_str(json_object_get(e, "type"), "identify");
	expect_str(json_object_get(json_object_get(e, "traits"), "plan"), "p");
	e = json_array_get(b, 2);
	expect_str(json_object_get(e, "type"), "click");
	expect_str(json_object_get(e, "name"), "Go");
	expect_str(json_object_get(json_object_get(e, "properties"), "tag"), "a");
	expect_str(json_object_get(json_array_get(b, 3), "type"), "$groupidentify");
	e = json_array_get(b, 4);
	expect_str(json_object_get(e, "type"), "track");
	assert_null(json_object_get(json_object_get(e, "properties"), "$lib"));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(e, "properties"), "n")), 1);
	assert_null(json_object_get(json_array_get(b, 5), "type")); /* no event: dropped later */
	json_decref(b);
}

static void test_errors(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		enum ingest_dialect d;
		const char *code;
	} cases[] = {
	    {"{\"key\":\"k\"}", INGEST_NATIVE, "missing_field"},
	    {"{\"key\":\"k\",\"batch\":{}}", INGEST_NATIVE, "invalid_field"},
	    {"{\"api_key\":\"k\"}", INGEST_POSTHOG, "missing_field"},
	    {"{\"api_key\":\"k\",\"batch\":\"x\"}", INGEST_POSTHOG, "invalid_field"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *doc = load(cases[i].body), *batch = NULL;
		struct compat_err err = {0};
		assert_int_equal(compat_translate(doc, cases[i].d, 0, &batch, &err), -1);
		assert_null(batch);
		assert_int_equal(err.status, 400);
		assert_string_equal(err.code, cases[i].code);
		assert_string_equal(err.field, "/batch");
		json_decref(doc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_urls),
	    cmocka_unit_test(test_body_keys),
	    cmocka_unit_test(test_native_or_segment),
	    cmocka_unit_test(test_segment_events),
	    cmocka_unit_test(test_posthog_events),
	    cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
