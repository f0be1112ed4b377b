/* Unit tests for the ingestion key cache (src/ingest/ingest_keycache.h): only what was
 * put is found, entries end at the TTL (monotonic) and at the key's own expiry (wall),
 * a clear empties the cache, and a lookup that started before a clear cannot fill it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "ingest/ingest_keycache.c"

static const char *K1 = "pk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
static const char *K2 = "sk_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";

static int setup(void **state)
{
	(void)state;
	ingest_keycache_clear();
	return 0;
}

static void t_hit_and_miss(void **state)
{
	(void)state;
	struct ingest_keycache_val v = {.ws = 7, .kind = KEYS_SECRET, .require_signed = 1}, out = {0};
	assert_int_equal(get_at(K1, strlen(K1), 1000, 0, &out), 0);
	put_at(K1, strlen(K1), ingest_keycache_gen(), INT64_MAX, 0, &v);
	assert_int_equal(get_at(K1, strlen(K1), 1000, 10, &out), 1);
	assert_int_equal(out.ws, 7);
	assert_int_equal(out.kind, KEYS_SECRET);
	assert_int_equal(out.require_signed, 1);
	/* another key, and a one-character change of the same key, miss */
	assert_int_equal(get_at(K2, strlen(K2), 1000, 10, &out), 0);
	assert_int_equal(get_at(K1, strlen(K1) - 1, 1000, 10, &out), 0);
}

static void t_ttl(void **state)
{
	(void)state;
	struct ingest_keycache_val v = {.ws = 3, .kind = KEYS_PUBLIC}, out;
	put_at(K1, strlen(K1), ingest_keycache_gen(), INT64_MAX, 5000, &v);
	assert_int_equal(get_at(K1, strlen(K1), 0, 5000 + INGEST_KEYCACHE_TTL_MS - 1, &out), 1);
	assert_int_equal(get_at(K1, strlen(K1), 0, 5000 + INGEST_KEYCACHE_TTL_MS, &out), 0);
	/* gone for good (dropped on the expired read) */
	assert_int_equal(get_at(K1, strlen(K1), 0, 5001, &out), 0);
	/* a monotonic time before the entry's birth is not trusted either */
	put_at(K1, strlen(K1), ingest_keycache_gen(), INT64_MAX, 5000, &v);
	assert_int_equal(get_at(K1, strlen(K1), 0, 4999, &out), 0);
}

static void t_key_expiry(void **state)
{
	(void)state;
	struct ingest_keycache_val v = {.ws = 3, .kind = KEYS_PUBLIC}, out;
	put_at(K1, strlen(K1), ingest_keycache_gen(), 2000000, 0, &v);
	assert_int_equal(get_at(K1, strlen(K1), 1999999, 1, &out), 1);
	assert_int_equal(get_at(K1, strlen(K1), 2000000, 1, &out), 0);
}

static void t_clear_and_generation(void **state)
{
	(void)state;
	struct ingest_keycache_val v = {.ws = 3, .kind = KEYS_PUBLIC}, out;
	put_at(K1, strlen(K1), ingest_keycache_gen(), INT64_MAX, 0, &v);
	uint64_t before = ingest_keycache_gen(); /* a lookup starts */
	ingest_keycache_clear();                 /* the keys page rotates meanwhile */
	assert_int_equal(get_at(K1, strlen(K1), 0, 1, &out), 0);
	put_at(K2, strlen(K2), before, INT64_MAX, 0, &v); /* the stale lookup's answer */
	assert_int_equal(get_at(K2, strlen(K2), 0, 1, &out), 0);
	put_at(K2, strlen(K2), ingest_keycache_gen(), INT64_MAX, 0, &v);
	assert_int_equal(get_at(K2, strlen(K2), 0, 1, &out), 1);
}

static void t_public_wrappers(void **state)
{
	(void)state;
	struct ingest_keycache_val v = {.ws = 11, .kind = KEYS_PUBLIC}, out;
	ingest_keycache_put(K2, strlen(K2), ingest_keycache_gen(), INT64_MAX, &v);
	assert_int_equal(ingest_keycache_get(K2, strlen(K2), 0, &out), 1);
	assert_int_equal(out.ws, 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(t_hit_and_miss, setup),
	    cmocka_unit_test_setup(t_ttl, setup),
	    cmocka_unit_test_setup(t_key_expiry, setup),
	    cmocka_unit_test_setup(t_clear_and_generation, setup),
	    cmocka_unit_test_setup(t_public_wrappers, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
