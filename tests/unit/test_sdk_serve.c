/* src/http/sdk_serve.c: the embedded SDK builds, the current release and its SRI value. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "http/sdk_serve.h"

static void latest_and_releases_embedded(void **state)
{
	(void)state;
	const struct sdk_file *latest = sdk_file_find(str_from_cstr("latest"));
	assert_non_null(latest);
	assert_true(latest->len > 1000);
	assert_non_null(strstr(latest->data, "DropFix"));
	assert_true(sdk_files_count >= 2);
	for (size_t i = 0; i < sdk_files_count; i++) {
		const char *n = sdk_files[i].name;
		assert_true(strcmp(n, "latest") == 0 || (n[0] == 'v' && strchr(n, '.') != NULL));
	}
	assert_non_null(sdk_file_find(str_from_cstr("v1.0.0")));
	assert_null(sdk_file_find(str_from_cstr("v0.0.0")));
	assert_null(sdk_file_find(str_from_cstr("")));
}

static void current_release_is_latest_bytes(void **state)
{
	(void)state;
	const struct sdk_file *latest = sdk_file_find(str_from_cstr("latest"));
	const struct sdk_file *cur = sdk_current_release();
	assert_non_null(cur);
	assert_ptr_not_equal(cur, latest);
	assert_int_equal(cur->name[0], 'v');
	assert_int_equal(cur->len, latest->len);
	assert_memory_equal(cur->data, latest->data, cur->len);
}

static void sri_known_vector(void **state)
{
	(void)state;
	const struct sdk_file abc = {"x", "abc", 3};
	char out[128];
	assert_int_equal(sdk_sri(&abc, out, sizeof(out)), 0);
	assert_string_equal(out, "sha384-ywB1P0WjXou1oD1pmsZQBycsMqsO3tFjGotgWkP/W+2AhgcroefMI1i67KE0yCWn");
	/* 7 + 64 characters + NUL is the least that fits */
	char small[72];
	assert_int_equal(sdk_sri(&abc, small, sizeof(small)), 0);
	assert_string_equal(small, out);
	assert_int_equal(sdk_sri(&abc, small, sizeof(small) - 1), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(latest_and_releases_embedded),
	    cmocka_unit_test(current_release_is_latest_bytes),
	    cmocka_unit_test(sri_known_vector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
