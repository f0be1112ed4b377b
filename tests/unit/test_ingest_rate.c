/* Unit tests for the ingestion token buckets (src/ingest/ingest_rate.h): the per-(workspace,
 * IP) sub-buckets take, refuse with the right wait and refill; pairs are independent; the
 * table stays fixed-size under many addresses, and an address that keeps sending is not
 * evicted by a crowd of one-off addresses (so a flooder cannot reset its own bucket by
 * spraying requests from other addresses into the same table). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "ingest/ingest_rate.c"

static int setup(void **state)
{
	(void)state;
	ingest_rate_reset();
	return 0;
}

static void t_take_refuse_refill(void **state)
{
	(void)state;
	assert_int_equal(ingest_rate_ip_take(1, "203.0.113.7", 40, 0, 5, 50), 0);
	assert_int_equal(ingest_rate_ip_take(1, "203.0.113.7", 10, 0, 5, 50), 0);
	assert_int_equal(ingest_rate_ip_take(1, "203.0.113.7", 10, 0, 5, 50), 2); /* 10 at 5/s */
	assert_int_equal(ingest_rate_ip_take(1, "203.0.113.7", 1, 0, 5, 50), 1);
	/* a cost above the burst waits for a full bucket */
	assert_int_equal(ingest_rate_ip_take(1, "203.0.113.7", 500, 0, 5, 50), 10);
	/* other address, other workspace: their own buckets */
	assert_int_equal(ingest_rate_ip_take(1, "198.51.100.9", 50, 0, 5, 50), 0);
	assert_int_equal(ingest_rate_ip_take(2, "203.0.113.7", 50, 0, 5, 50), 0);
	/* the workspace buckets are separate from the sub-buckets */
	assert_int_equal(ingest_rate_take(1, 50, 0, 5, 50), 0);
	/* refilled after 2 s */
	assert_int_equal(ingest_rate_ip_take(1, "203.0.113.7", 10, 2000, 5, 50), 0);
	assert_int_equal(ingest_rate_ip_take(1, "203.0.113.7", 1, 2000, 5, 50), 1);
	/* reset forgets */
	ingest_rate_reset();
	assert_int_equal(ingest_rate_ip_take(1, "203.0.113.7", 50, 2000, 5, 50), 0);
}

static void t_bounded_lru(void **state)
{
	(void)state;
	const char *flooder = "192.0.2.1";
	assert_int_equal(ingest_rate_ip_take(9, flooder, 1000, 0, 1, 1000), 0);
	char ip[32];
	size_t n = (size_t)INGEST_RATE_IP_SETS * INGEST_RATE_IP_WAYS * 8;
	for (size_t i = 0; i < n; i++) {
		int64_t t = (int64_t)(i / 1024) + 1; /* time moves on slowly (64 s in all) */
		snprintf(ip, sizeof(ip), "10.%zu.%zu.%zu", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		assert_int_equal(ingest_rate_ip_take(9, ip, i == 0 ? 1000 : 1, t, 1, 1000), 0);
		if (i % 8 == 0) /* the flooder keeps trying: still refused, still tracked */
			assert_true(ingest_rate_ip_take(9, flooder, 1000, t, 1, 1000) > 0);
	}
	/* the first one-off address emptied its bucket and was evicted long ago: it starts
	 * again with a full bucket (kept, it would hold about 64 tokens) */
	assert_int_equal(ingest_rate_ip_take(9, "10.0.0.0", 1000, n, 1, 1000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(t_take_refuse_refill, setup),
	    cmocka_unit_test_setup(t_bounded_lru, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
