/* Unit tests for time zone name validation (src/core/tz.c): the name shape check, both
 * list formats, and the system list (Debian's tzdata is a build dependency of tests). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/tz.h"

#define S(x) (x), strlen(x)

static void test_shape(void **state)
{
	(void)state;
	assert_true(tz_name_shape_ok(S("Europe/Berlin")));
	assert_true(tz_name_shape_ok(S("America/Argentina/Buenos_Aires")));
	assert_true(tz_name_shape_ok(S("Etc/GMT+5")));
	assert_true(tz_name_shape_ok(S("UTC")));
	assert_false(tz_name_shape_ok(S("")));
	assert_false(tz_name_shape_ok(S("/etc/passwd")));
	assert_false(tz_name_shape_ok(S("../../etc/passwd")));
	assert_false(tz_name_shape_ok(S("Europe/../Berlin")));
	assert_false(tz_name_shape_ok(S("Europe//Berlin")));
	assert_false(tz_name_shape_ok(S("Europe/")));
	assert_false(tz_name_shape_ok(S("Europe/Berlin ")));
	assert_false(tz_name_shape_ok(S("Europe/Berlin\n")));
	assert_false(tz_name_shape_ok("Europe\0Berlin", 13));
	char longname[TZ_NAME_MAX + 2];
	memset(longname, 'A', sizeof(longname));
	assert_true(tz_name_shape_ok(longname, TZ_NAME_MAX));
	assert_false(tz_name_shape_ok(longname, TZ_NAME_MAX + 1));
}

static void test_parse_zi(void **state)
{
	(void)state;
	static const char zi[] = "# version test\n"
	                         "R d 1916 o - Jun 14 23s 1 S\n"
	                         "Z Europe/Berlin 0:53:28 - LMT 1893 Ap\n"
	                         "1 c CE%sT 1945 May 24 2\n"
	                         "Z Asia/Kolkata 5:53:28 - LMT 1854 Jun 28\r\n"
	                         "L Asia/Kolkata Asia/Calcutta\n"
	                         "L Europe/Berlin ../../etc/passwd\n"
	                         "Z Europe/Berlin 1 - CET\n"; /* duplicate */
	struct tz_list l;
	assert_int_equal(tz_list_parse(zi, sizeof(zi) - 1, 0, &l), 0);
	assert_int_equal(l.n_all, 4); /* Berlin, Kolkata, Calcutta, UTC */
	assert_int_equal(l.n_canon, 3);
	assert_true(tz_list_has(&l, S("Europe/Berlin")));
	assert_true(tz_list_has(&l, S("Asia/Calcutta")));
	assert_true(tz_list_has(&l, S("UTC")));
	assert_false(tz_list_has(&l, S("europe/berlin")));
	assert_false(tz_list_has(&l, S("../../etc/passwd")));
	assert_false(tz_list_has(&l, S("CE%sT")));
	for (size_t i = 1; i < l.n_canon; i++)
		assert_true(strcmp(l.canon[i - 1], l.canon[i]) < 0);
	tz_list_free(&l);
	tz_list_free(NULL);
}

static void test_parse_tab(void **state)
{
	(void)state;
	static const char tab[] = "# comment\n"
	                          "AD\t+4230+00131\tEurope/Andorra\n"
	                          "AE,OM\t+2518+05518\tAsia/Dubai\tCrozet\n"
	                          "broken-line\n";
	struct tz_list l;
	assert_int_equal(tz_list_parse(tab, sizeof(tab) - 1, 1, &l), 0);
	assert_int_equal(l.n_all, 3);
	assert_true(tz_list_has(&l, S("Asia/Dubai")));
	assert_true(tz_list_has(&l, S("Europe/Andorra")));
	assert_false(tz_list_has(&l, S("Crozet")));
	tz_list_free(&l);
}

static void test_system_list(void **state)
{
	(void)state;
	assert_true(tz_valid(S("UTC")));
	assert_true(tz_valid(S("Europe/Berlin")));
	assert_true(tz_valid(S("America/New_York")));
	assert_true(tz_valid(S("Asia/Kolkata")));
	assert_false(tz_valid(S("Mars/Olympus_Mons")));
	assert_false(tz_valid(S("../../../../etc/passwd")));
	assert_false(tz_valid(S("/usr/share/zoneinfo/UTC")));
	assert_false(tz_valid(S("posixrules/x")));
	assert_false(tz_valid(S("utc")));
	/* a file that exists under zoneinfo but is not a zone name */
	assert_false(tz_valid(S("tzdata.zi")));
	assert_false(tz_valid(S("zone1970.tab")));
	const char *const *names;
	size_t n = tz_canonical(&names);
	assert_true(n > 300);
	assert_string_not_equal(tz_source(), "");
	int has_utc = 0;
	for (size_t i = 0; i < n; i++) {
		assert_true(tz_valid(names[i], strlen(names[i])));
		if (strcmp(names[i], "UTC") == 0)
			has_utc = 1;
	}
	assert_true(has_utc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shape),
	    cmocka_unit_test(test_parse_zi),
	    cmocka_unit_test(test_parse_tab),
	    cmocka_unit_test(test_system_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
