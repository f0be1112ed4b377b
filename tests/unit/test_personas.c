/* src/sim/personas: the PRNG is deterministic and unbiased in range, histories are
 * deterministic per (seed, index), time-ordered, inside the window, and follow their
 * persona (gone quiet: nothing in the last 7 days; power > steady) and carry the signal
 * they are built for (dropping: last 7 days <= 40% of the weekly average before; trial:
 * trial_ends YYYY-MM-DD within 3 days of "now"; cancelling: downgrade pro/99 → basic/29
 * in the last week; steady: an idle day only after two active ones; mrr > 0 for paying
 * personas). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/clock.h"
#include "sim/personas.h"

#define NOW (INT64_C(1793000000000))
#define DAY (INT64_C(86400000))

struct col {
	json_t *all;
	int stop_after; /* emit returns -1 after this many (0: never) */
};

static int collect(void *ctx, json_t *ev)
{
	struct col *c = ctx;
	json_array_append_new(c->all, ev);
	return c->stop_after && (int)json_array_size(c->all) >= c->stop_after ? -1 : 0;
}

static json_t *history(uint64_t seed, int64_t index, int days, int64_t *n)
{
	struct col c = {json_array(), 0};
	*n = personas_user(seed, index, days, NOW, collect, &c);
	return c.all;
}

static void test_rng(void **state)
{
	(void)state;
	struct personas_rng a, b, c;
	personas_rng_seed(&a, 42, 1);
	personas_rng_seed(&b, 42, 1);
	personas_rng_seed(&c, 42, 2);
	int differs = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t x = personas_rng_next(&a);
		assert_int_equal(x, personas_rng_next(&b));
		differs |= x != personas_rng_next(&c);
	}
	assert_true(differs);
	int hist[7] = {0};
	for (int i = 0; i < 70000; i++) {
		uint64_t v = personas_rng_below(&a, 7);
		assert_true(v < 7);
		hist[v]++;
	}
	for (int i = 0; i < 7; i++)
		assert_true(hist[i] > 9000 && hist[i] < 11000);
	assert_int_equal(personas_rng_below(&a, 0), 0);
}

static void test_deterministic_and_ordered(void **state)
{
	(void)state;
	for (int64_t idx = 0; idx < PERSONAS_N; idx++) {
		int64_t n1, n2;
		json_t *h1 = history(9, idx, 21, &n1), *h2 = history(9, idx, 21, &n2);
		assert_true(n1 > 0);
		assert_int_equal(n1, (int64_t)json_array_size(h1));
		assert_true(json_equal(h1, h2));
		char prev[40] = "";
		for (size_t i = 0; i < json_array_size(h1); i++) {
			json_t *ev = json_array_get(h1, i);
			const char *ts = json_string_value(json_object_get(ev, "timestamp"));
			assert_non_null(ts);
			assert_true(strcmp(prev, ts) <= 0);
			snprintf(prev, sizeof(prev), "%s", ts);
			char lo[40], hi[40];
			assert_int_equal(clock_format_ms(NOW - 21 * DAY, lo, sizeof(lo)), 0);
			assert_int_equal(clock_format_ms(NOW, hi, sizeof(hi)), 0);
			assert_true(strcmp(ts, lo) >= 0 && strcmp(ts, hi) < 0);
			assert_non_null(json_string_value(json_object_get(ev, "message_id")));
			assert_true(strncmp(json_string_value(json_object_get(ev, "user_id")), "sim-", 4) ==
			            0);
		}
		if (personas_of(idx) == PERSONAS_QUIET) {
			char cut[40];
			assert_int_equal(clock_format_ms(NOW - 7 * DAY, cut, sizeof(cut)), 0);
			assert_true(strcmp(prev, cut) < 0);
		}
		json_t *other = history(10, idx, 21, &n2);
		assert_false(json_equal(h1, other));
		json_decref(h1);
		json_decref(h2);
		json_decref(other);
	}
	int64_t np, ns;
	json_t *p = history(9, PERSONAS_POWER, 21, &np), *s = history(9, PERSONAS_STEADY, 21, &ns);
	assert_true(np > 2 * ns);
	json_decref(p);
	json_decref(s);
}

static void test_errors(void **state)
{
	(void)state;
	struct col c = {json_array(), 5};
	assert_int_equal(personas_user(1, 1, 14, NOW, collect, &c), -1); /* emit stops it */
	assert_int_equal(json_array_size(c.all), 5);
	assert_int_equal(personas_user(1, -1, 14, NOW, collect, &c), -1);
	assert_int_equal(personas_user(1, 1, 0, NOW, collect, &c), -1);
	assert_int_equal(personas_user(1, 1, 3651, NOW, collect, &c), -1);
	assert_int_equal(personas_user(1, 1, 14, 1000, collect, &c), -1);
	assert_int_equal(personas_user(1, 1, 14, NOW, NULL, NULL), -1);
	json_decref(c.all);
	assert_string_equal(personas_name(PERSONAS_QUIET), "gone_quiet");
	assert_string_equal(personas_name(PERSONAS_N), "unknown");
	assert_int_equal(personas_of(PERSONAS_N + 3), 3);
}

static int64_t ts_ms(json_t *ev)
{
	/* "YYYY-MM-DDTHH:MM:SS.mmmZ" → ms, by comparing against formatted bounds is clumsy;
	 * parse the fields instead */
	const char *t = json_string_value(json_object_get(ev, "timestamp"));
	assert_non_null(t);
	int y, mo, d, h, mi, sec, ms;
	assert_int_equal(sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &y, &mo, &d, &h, &mi, &sec, &ms), 7);
	y -= mo <= 2;
	int64_t era = y / 400, yoe = y - era * 400;
	int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
	return ((days * 24 + h) * 60 + mi) * 60000 + sec * 1000 + ms;
}

static void test_personas_carry_signals(void **state)
{
	(void)state;
	for (int64_t idx = 0; idx < 4 * PERSONAS_N; idx++) {
		int64_t n;
		json_t *h = history(7, idx, 45, &n);
		enum personas_kind k = personas_of(idx);
		int64_t before = 0, recent = 0, idle_run = 0, max_idle = 0, prev_day = -1;
		json_t *first_id = NULL, *last_id = NULL;
		for (size_t i = 0; i < json_array_size(h); i++) {
			json_t *ev = json_array_get(h, i);
			int64_t at = ts_ms(ev);
			if (strcmp(json_string_value(json_object_get(ev, "type")), "identify") == 0) {
				if (!first_id)
					first_id = ev;
				last_id = ev;
				continue;
			}
			if (at >= NOW - 7 * DAY)
				recent++;
			else if (at >= NOW - 35 * DAY)
				before++;
			int64_t pd = (at - (NOW - 45 * DAY)) / DAY; /* the persona's day index */
			if (prev_day >= 0 && pd > prev_day + 1) {
				idle_run = pd - prev_day - 1;
				if (idle_run > max_idle)
					max_idle = idle_run;
			}
			prev_day = pd;
		}
		json_t *t = json_object_get(first_id, "traits");
		assert_non_null(t);
		const char *plan = json_string_value(json_object_get(t, "plan"));
		int64_t mrr = json_integer_value(json_object_get(t, "mrr"));
		if (k == PERSONAS_TRIAL) {
			assert_string_equal(plan, "trial");
			const char *te = json_string_value(json_object_get(t, "trial_ends"));
			assert_non_null(te);
			assert_int_equal(strlen(te), 10);
			char full[40];
			snprintf(full, sizeof(full), "%sT00:00:00.000Z", te);
			json_t *tmp = json_pack("{s:s}", "timestamp", full);
			int64_t end_day = ts_ms(tmp) / DAY;
			json_decref(tmp);
			assert_true(end_day - NOW / DAY >= 0 && end_day - NOW / DAY <= 3);
		} else {
			assert_true(mrr > 0);
		}
		if (k == PERSONAS_DROPPING)
			assert_true(recent * 100 <= 40 * before * 7 / 28);
		if (k == PERSONAS_STEADY || k == PERSONAS_POWER || k == PERSONAS_PAYMENT)
			assert_true(max_idle <= 1);
		if (k == PERSONAS_CANCEL) {
			assert_ptr_not_equal(first_id, last_id);
			assert_true(ts_ms(last_id) >= NOW - 7 * DAY);
			json_t *lt = json_object_get(last_id, "traits");
			assert_string_equal(json_string_value(json_object_get(t, "plan")), "pro");
			assert_int_equal(json_integer_value(json_object_get(t, "mrr")), 99);
			assert_string_equal(json_string_value(json_object_get(lt, "plan")), "basic");
			assert_int_equal(json_integer_value(json_object_get(lt, "mrr")), 29);
		} else {
			assert_ptr_equal(first_id, last_id);
		}
		json_decref(h);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rng),
	    cmocka_unit_test(test_deterministic_and_ordered),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_personas_carry_signals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
