/* Unit tests for the ingestion writer's ingest_pending blob (src/ingest/ingest_writer.c,
 * included to reach its statics): packed entries come back as they went in, and a
 * truncated or inconsistent blob is refused instead of read past its end. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../src/ingest/ingest_writer.c"

static void free_pend(struct pend *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(p[i].user_id);
	free(p);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct ingest_event ev[3] = {
	    {.user_id = "u-1", .event_ms = 1764400000123, .feature_id = 42, .api_error = 1},
	    {.user_id = "a user id with spaces and \xc3\xa9", .event_ms = 5, .rage = 1},
	    {.user_id = "x", .event_ms = INT64_MAX, .feature_id = -7, .api_error = 1, .rage = 1},
	};
	int64_t ids[3] = {1024, 1025, (int64_t)1 << 52};
	struct buf b;
	buf_init(&b, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pend_pack(&b, ids[i], &ev[i]), 0);
	struct pend *p = NULL;
	size_t n = 0, cap = 0;
	assert_int_equal(pend_unpack((const uint8_t *)b.p, b.n, &p, &n, &cap), 0);
	assert_int_equal(n, 3);
	for (int i = 0; i < 3; i++) {
		assert_string_equal(p[i].user_id, ev[i].user_id);
		assert_int_equal(p[i].id, ids[i]);
		assert_int_equal(p[i].event_ms, ev[i].event_ms);
		assert_int_equal(p[i].feature_id, ev[i].feature_id);
		assert_int_equal(p[i].api_error, ev[i].api_error);
		assert_int_equal(p[i].rage, ev[i].rage);
	}
	/* a second blob appends to the same array */
	assert_int_equal(pend_unpack((const uint8_t *)b.p, b.n, &p, &n, &cap), 0);
	assert_int_equal(n, 6);
	assert_string_equal(p[5].user_id, "x");
	free_pend(p, n);
	buf_free(&b);
}

static void test_malformed(void **state)
{
	(void)state;
	struct ingest_event ev = {.user_id = "user-7", .event_ms = 9};
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(pend_pack(&b, 1, &ev), 0);
	/* every truncation of a one-entry blob is refused */
	for (size_t cut = 1; cut < b.n; cut++) {
		struct pend *p = NULL;
		size_t n = 0, cap = 0;
		assert_int_equal(pend_unpack((const uint8_t *)b.p, cut, &p, &n, &cap), -1);
		free_pend(p, n);
	}
	/* a length beyond the blob, and a zero length */
	uint8_t *raw = (uint8_t *)b.p;
	raw[25] = 0xff;
	struct pend *p = NULL;
	size_t n = 0, cap = 0;
	assert_int_equal(pend_unpack(raw, b.n, &p, &n, &cap), -1);
	free_pend(p, n);
	memset(raw + 25, 0, 4);
	p = NULL;
	n = cap = 0;
	assert_int_equal(pend_unpack(raw, b.n, &p, &n, &cap), -1);
	free_pend(p, n);
	/* empty: nothing */
	p = NULL;
	n = cap = 0;
	assert_int_equal(pend_unpack(raw, 0, &p, &n, &cap), 0);
	assert_int_equal(n, 0);
	buf_free(&b);
}

static void test_order(void **state)
{
	(void)state;
	struct pend v[4] = {{.user_id = "b", .id = 4, .event_ms = 10},
	                    {.user_id = "a", .id = 3, .event_ms = 20},
	                    {.user_id = "a", .id = 2, .event_ms = 10},
	                    {.user_id = "a", .id = 1, .event_ms = 20}};
	qsort(v, 4, sizeof(*v), cmp_pend);
	/* per user, by event time, then id */
	assert_int_equal(v[0].id, 2);
	assert_int_equal(v[1].id, 1);
	assert_int_equal(v[2].id, 3);
	assert_int_equal(v[3].id, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
