/* Unit tests for ingestion's pure parts: masking (card numbers by Luhn, e-mails,
 * token-like strings), path templating, JSON masking, and the ISO 8601 parser. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "ingest/ingest_mask.h"

static char *mask(const char *s)
{
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(ingest_mask_text(s, strlen(s), &b), 0);
	return buf_detach(&b, NULL) ?: strdup("");
}

static char *path(const char *s, size_t max)
{
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(ingest_mask_path(s, strlen(s), max, &b), 0);
	return buf_detach(&b, NULL);
}

#define ASSERT_MASK(in, want)                                                                                \
	do {                                                                                                 \
		char *got_ = mask(in);                                                                       \
		assert_string_equal(got_, want);                                                             \
		free(got_);                                                                                  \
	} while (0)

#define ASSERT_PATH(in, want)                                                                                \
	do {                                                                                                 \
		char *got_ = path(in, 1024);                                                                 \
		assert_string_equal(got_, want);                                                             \
		free(got_);                                                                                  \
	} while (0)

static void test_cards(void **state)
{
	(void)state;
	ASSERT_MASK("card 4242424242424242 ok", "card [card] ok");
	ASSERT_MASK("4111 1111 1111 1111", "[card]");
	ASSERT_MASK("4111-1111-1111-1111.", "[card].");
	ASSERT_MASK("4111 1111 1111 1112", "4111 1111 1111 1112"); /* Luhn fails */
	ASSERT_MASK("order 123456789012", "order 123456789012");   /* 12 digits */
	ASSERT_MASK("1234567890123456789012345", "1234567890123456789012345");
}

static void test_emails(void **state)
{
	(void)state;
	ASSERT_MASK("write to Jane.Doe+x@mail.example.co.uk today", "write to [email] today");
	ASSERT_MASK("a@b.c", "a@b.c"); /* one-letter TLD */
	ASSERT_MASK("@handle and x@y", "@handle and x@y");
	ASSERT_MASK("me@example.com.", "[email].");
}

static void test_tokens(void **state)
{
	(void)state;
	ASSERT_MASK("key sk_live_51Habcdefghijklmnop1234567890 end", "key [token] end");
	ASSERT_MASK("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc123def456", "Bearer [token]");
	ASSERT_MASK("a perfectly ordinary sentence without secrets",
	            "a perfectly ordinary sentence without secrets");
	ASSERT_MASK("internationalization-localization", "internationalization-localization"); /* no digit */
	ASSERT_MASK("", "");
	assert_false(ingest_mask_needed("plain words", 11));
	assert_true(ingest_mask_needed("x@example.com", 13));
}

static void test_paths(void **state)
{
	(void)state;
	ASSERT_PATH("/users/12345/edit?tab=2#top", "/users/:id/edit");
	ASSERT_PATH("/t/550e8400-e29b-41d4-a716-446655440000", "/t/:id");
	ASSERT_PATH("/blob/9f86d081884c7d65", "/blob/:id");
	ASSERT_PATH("/invite/AbCdEf1234567890xyz", "/invite/:id");
	ASSERT_PATH("/u/jane@example.com/settings", "/u/:id/settings");
	ASSERT_PATH("https://app.example.com/projects/7/", "/projects/:id/");
	ASSERT_PATH("/settings/billing", "/settings/billing");
	ASSERT_PATH("/v2/api", "/v2/api");
	ASSERT_PATH("relative/42", "/relative/:id");
	ASSERT_PATH("", "/");
	char *cut = path("/aaaa/bbbb/cccc", 10);
	assert_string_equal(cut, "/aaaa/bbbb");
	free(cut);
}

static void test_json(void **state)
{
	(void)state;
	json_t *in = json_pack("{s:s, s:s, s:{s:[s, i]}, s:b}", "note", "mail jane@example.com", "path",
	                       "/a/123?q=1", "deep", "list", "4242424242424242", 7, "flag", 1);
	json_t *out = ingest_mask_json(in, 1024);
	assert_non_null(out);
	char *s = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"deep\":{\"list\":[\"[card]\",7]},\"flag\":true,\"note\":\"mail "
	                       "[email]\",\"path\":\"/a/:id\"}");
	free(s);
	json_decref(out);
	json_decref(in);
	/* keys are masked too */
	in = json_pack("{s:b}", "jane@example.com", 1);
	out = ingest_mask_json(in, 1024);
	assert_true(json_is_true(json_object_get(out, "[email]")));
	assert_int_equal(json_object_size(out), 1);
	json_decref(out);
	json_decref(in);
	/* strings are cut at a UTF-8 boundary before masking */
	in = json_pack("{s:s}", "k", "\xc3\xa9\xc3\xa9\xc3\xa9");
	out = ingest_mask_json(in, 5);
	assert_string_equal(json_string_value(json_object_get(out, "k")), "\xc3\xa9\xc3\xa9");
	json_decref(out);
	json_decref(in);
}

static void test_time(void **state)
{
	(void)state;
	int64_t ms = 0;
#define T(s) ingest_parse_time((s), strlen(s), &ms)
	assert_int_equal(T("2026-11-02T09:00:00Z"), 0);
	assert_int_equal(ms, INT64_C(1793610000000));
	assert_int_equal(T("2026-11-02T09:00:00.123Z"), 0);
	assert_int_equal(ms, INT64_C(1793610000123));
	assert_int_equal(T("2026-11-02T10:30:00+01:30"), 0);
	assert_int_equal(ms, INT64_C(1793610000000));
	assert_int_equal(T("2026-11-02 09:00:00.5-0000"), 0);
	assert_int_equal(ms, INT64_C(1793610000500));
	assert_int_equal(T("2024-02-29T00:00:00Z"), 0);
	assert_int_equal(T("2025-02-29T00:00:00Z"), -1);
	assert_int_equal(T("2026-13-01T00:00:00Z"), -1);
	assert_int_equal(T("2026-11-02T09:00:00"), -1); /* zone required */
	assert_int_equal(T("2026-11-02T24:00:00Z"), -1);
	assert_int_equal(T("1969-12-31T23:59:59Z"), -1);
	assert_int_equal(T("2026-11-02T09:00:00Zjunk"), -1);
	assert_int_equal(T("yesterday"), -1);
	assert_int_equal(T(""), -1);
#undef T
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cards), cmocka_unit_test(test_emails), cmocka_unit_test(test_tokens),
	    cmocka_unit_test(test_paths), cmocka_unit_test(test_json),   cmocka_unit_test(test_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
