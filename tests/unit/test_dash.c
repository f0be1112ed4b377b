/* Unit tests of src/web/dash.c: money and day formatting, percent-encoding of user ids in
 * links (an id with '/' goes in the query), kind and band titles, parameter failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/str.h"
#include "web/dash.h"

static void test_money(void **state)
{
	(void)state;
	char out[64];
	dash_money("USD", 0, out, sizeof(out));
	assert_string_equal(out, "USD 0");
	dash_money("EUR", 999, out, sizeof(out));
	assert_string_equal(out, "EUR 999");
	dash_money("USD", 1234, out, sizeof(out));
	assert_string_equal(out, "USD 1,234");
	dash_money("USD", 1234567, out, sizeof(out));
	assert_string_equal(out, "USD 1,234,567");
	dash_money("USD", -1000, out, sizeof(out));
	assert_string_equal(out, "USD -1,000");
	dash_money("USD", INT64_MIN, out, sizeof(out));
	assert_string_equal(out, "USD -9,223,372,036,854,775,808");
}

static void test_day_text(void **state)
{
	(void)state;
	char out[16];
	dash_day_text(0, out, sizeof(out));
	assert_string_equal(out, "1970-01-01");
	dash_day_text(20786, out, sizeof(out));
	assert_string_equal(out, "2026-11-29");
	json_t *w = dash_when(0);
	assert_string_equal(json_string_value(w), "");
	json_decref(w);
	w = dash_when(1764402660000LL); /* 2025-11-29T07:51:00Z */
	assert_string_equal(json_string_value(w), "2025-11-29 07:51 UTC");
	json_decref(w);
}

static void test_user_links(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	const char id[] = "a b/<c>\"&~_.-é";
	assert_int_equal(dash_url_encode(&b, id, strlen(id)), 0);
	assert_int_equal(b.n, strlen("a%20b%2F%3Cc%3E%22%26~_.-%C3%A9"));
	assert_memory_equal(b.p, "a%20b%2F%3Cc%3E%22%26~_.-%C3%A9", b.n);
	buf_free(&b);

	json_t *h = dash_user_href(42, "alice", 5);
	assert_string_equal(json_string_value(h), "/w/42/users/alice");
	json_decref(h);
	h = dash_user_path(42, "a&b", 3, "/notes");
	assert_string_equal(json_string_value(h), "/w/42/users/a%26b/notes");
	json_decref(h);
	/* a '/' cannot travel in a path segment (the server decodes the path first) */
	h = dash_user_href(42, "x</script>", 10);
	assert_string_equal(json_string_value(h), "/w/42/users/-?id=x%3C%2Fscript%3E");
	json_decref(h);
	h = dash_user_path(42, "org/1", 5, "/notes");
	assert_string_equal(json_string_value(h), "/w/42/users/-/notes?id=org%2F1");
	json_decref(h);
}

static void test_titles_and_failures(void **state)
{
	(void)state;
	assert_string_equal(dash_kind_title("gone_quiet", 10), "Gone quiet");
	assert_string_equal(dash_kind_title("gone_quiet,x", 10), "Gone quiet");
	assert_string_equal(dash_kind_title("nope", 4), "nope");
	assert_string_equal(dash_band_title("at_risk"), "At risk");
	assert_string_equal(dash_band_title("healthy"), "Healthy");
	assert_string_equal(dash_band_title(NULL), "");
	struct dash_fail f = {0};
	assert_int_equal(dash_bad(&f, "sort", "sort: one of …"), 1);
	assert_int_equal(f.status, 400);
	assert_string_equal(f.code, "invalid_parameter");
	assert_string_equal(f.field, "sort");
	assert_int_equal(dash_not_found(&f, "no such user"), 1);
	assert_int_equal(f.status, 404);
	assert_string_equal(f.field, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_money),
	    cmocka_unit_test(test_day_text),
	    cmocka_unit_test(test_user_links),
	    cmocka_unit_test(test_titles_and_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
