/* Unit tests for src/auth/throttle: fixed windows, the same answer from the limit on,
 * Retry-After, window end, take vs check/hit, reset, a full table, threads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "auth/throttle.h"

#define WIN 900000 /* 15 minutes */
#define T0 INT64_C(1800000000000)

static int hit(struct throttle *t, const char *k, int64_t now)
{
	return throttle_hit(t, k, strlen(k), WIN, now);
}

static int check(struct throttle *t, const char *k, int limit, int64_t now, int64_t *retry)
{
	return throttle_check(t, k, strlen(k), limit, now, retry);
}

static void test_limit_and_retry_after(void **state)
{
	(void)state;
	struct throttle *t = throttle_new(1000);
	assert_non_null(t);
	int64_t retry = -1;
	for (int i = 1; i <= 10; i++) {
		assert_int_equal(check(t, "signin:a@example.com", 10, T0 + i, &retry), 1);
		assert_int_equal(hit(t, "signin:a@example.com", T0 + i), i);
	}
	/* From the limit on, every check says no, with the time left in the window. */
	for (int i = 0; i < 10; i++) {
		retry = -1;
		assert_int_equal(check(t, "signin:a@example.com", 10, T0 + 1000 + i * 1000, &retry), 0);
		assert_true(retry >= 1 && retry <= WIN / 1000);
	}
	assert_int_equal(check(t, "signin:a@example.com", 10, T0 + 1, &retry), 0);
	assert_int_equal(retry, (WIN - 0) / 1000); /* window started at T0 + 1 */
	assert_int_equal(check(t, "signin:a@example.com", 10, T0 + WIN - 500, &retry), 0);
	assert_int_equal(retry, 1); /* rounded up, never 0 */
	/* Another key is not affected. */
	assert_int_equal(check(t, "signin:b@example.com", 10, T0 + 5000, &retry), 1);
	/* The window ends: allowed again, and a new hit starts a new window. */
	assert_int_equal(check(t, "signin:a@example.com", 10, T0 + 1 + WIN, &retry), 1);
	assert_int_equal(hit(t, "signin:a@example.com", T0 + 1 + WIN), 1);
	/* A clock that went backwards does not keep a key locked. */
	assert_int_equal(hit(t, "c", T0 + 5 * WIN), 1);
	assert_int_equal(check(t, "c", 1, T0 + 5 * WIN, &retry), 0);
	assert_int_equal(check(t, "c", 1, T0, &retry), 1);
	throttle_free(t);
}

static void test_take_counts_only_allowed(void **state)
{
	(void)state;
	struct throttle *t = throttle_new(100);
	int64_t retry = 0;
	for (int i = 0; i < 3; i++)
		assert_int_equal(throttle_take(t, "ip:127.0.0.1", 12, 3, WIN, T0, &retry), 1);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(throttle_take(t, "ip:127.0.0.1", 12, 3, WIN, T0 + 10, &retry), 0);
		assert_int_equal(retry, (WIN - 10 + 999) / 1000);
	}
	/* Refused takes did not count: the next window allows exactly 3 again. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(throttle_take(t, "ip:127.0.0.1", 12, 3, WIN, T0 + WIN + i, &retry), 1);
	assert_int_equal(throttle_take(t, "ip:127.0.0.1", 12, 3, WIN, T0 + WIN + 5, &retry), 0);
	throttle_free(t);
}

static void test_reset_and_size(void **state)
{
	(void)state;
	struct throttle *t = throttle_new(100);
	int64_t retry = 0;
	for (int i = 0; i < 5; i++)
		hit(t, "k", T0);
	assert_int_equal(check(t, "k", 5, T0, &retry), 0);
	assert_int_equal(throttle_size(t), 1);
	throttle_reset(t, "k", 1);
	assert_int_equal(throttle_size(t), 0);
	assert_int_equal(check(t, "k", 5, T0, &retry), 1);
	throttle_reset(t, "absent", 6); /* no-op */
	/* Keys are bytes: no confusion between "k" and "k\0" or case variants. */
	hit(t, "K", T0);
	assert_int_equal(check(t, "k", 1, T0, &retry), 1);
	throttle_free(t);
	throttle_free(NULL);
	assert_null(throttle_new(0));
}

static void test_full_table(void **state)
{
	(void)state;
	struct throttle *t = throttle_new(4);
	int64_t retry = 0;
	char k[16];
	/* Four live keys; the oldest window is evicted for a fifth. */
	for (int i = 0; i < 4; i++) {
		snprintf(k, sizeof(k), "key%d", i);
		hit(t, k, T0 + i);
	}
	assert_int_equal(throttle_size(t), 4);
	hit(t, "key4", T0 + 10);
	assert_int_equal(throttle_size(t), 4);
	assert_int_equal(check(t, "key0", 1, T0 + 11, &retry), 1); /* evicted */
	assert_int_equal(check(t, "key1", 1, T0 + 11, &retry), 0);
	assert_int_equal(check(t, "key4", 1, T0 + 11, &retry), 0);
	/* Ended windows go first: after the window, the table empties out. */
	hit(t, "late", T0 + 10 + WIN);
	assert_int_equal(throttle_size(t), 1);
	throttle_free(t);
}

struct worker_arg {
	struct throttle *t;
	int allowed;
};

static void *worker(void *p)
{
	struct worker_arg *a = p;
	int64_t retry;
	for (int i = 0; i < 1000; i++)
		a->allowed += throttle_take(a->t, "shared", 6, 1500, WIN, T0, &retry);
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	struct throttle *t = throttle_new(100);
	pthread_t th[4];
	struct worker_arg args[4];
	for (int i = 0; i < 4; i++) {
		args[i] = (struct worker_arg){t, 0};
		assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
	}
	int total = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		total += args[i].allowed;
	}
	assert_int_equal(total, 1500); /* exactly the limit across threads */
	throttle_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_limit_and_retry_after),
	    cmocka_unit_test(test_take_counts_only_allowed),
	    cmocka_unit_test(test_reset_and_size),
	    cmocka_unit_test(test_full_table),
	    cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
