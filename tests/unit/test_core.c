/* Unit tests for src/core: strings and buffers, arena, strict parsers, config, clock. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/parse.h"
#include "core/str.h"

static void test_buf_grows_and_caps(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 10);
	assert_int_equal(buf_puts(&b, "hello"), 0);
	assert_int_equal(buf_printf(&b, "%d", 1234), 0);
	assert_string_equal(b.p, "hello1234");
	assert_int_equal(buf_puts(&b, "xx"), -1); /* 11 > cap 10 */
	assert_true(b.oom);
	assert_int_equal(buf_puts(&b, "y"), -1); /* sticky */
	buf_free(&b);

	buf_init(&b, 0);
	for (int i = 0; i < 10000; i++)
		buf_putc(&b, 'a');
	assert_int_equal(b.n, 10000);
	assert_false(b.oom);
	size_t n;
	char *p = buf_detach(&b, &n);
	assert_int_equal(n, 10000);
	assert_null(b.p);
	free(p);
}

static void test_buf_escaped(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(buf_put_escaped(&b, "a\"b\\c\nd\x01", 8), 0);
	assert_string_equal(b.p, "a\\\"b\\\\c\\x0ad\\x01");
	buf_free(&b);
}

static void test_str(void **state)
{
	(void)state;
	assert_true(str_eq(STR_LIT("abc"), str_from_cstr("abc")));
	assert_false(str_eq(STR_LIT("abc"), STR_LIT("abd")));
	assert_true(str_eq_nocase(STR_LIT("Host"), STR_LIT("hOST")));
	assert_true(str_has_prefix(STR_LIT("/w/1"), STR_LIT("/w/")));
	assert_false(str_has_prefix(STR_LIT("/"), STR_LIT("/w/")));
}

static void test_arena(void **state)
{
	(void)state;
	struct arena *a = arena_new(64 * 1024);
	assert_non_null(a);
	char *s = arena_strndup(a, "hello world", 5);
	assert_string_equal(s, "hello");
	void *big = arena_alloc(a, 40 * 1024);
	assert_non_null(big);
	assert_null(arena_alloc(a, 40 * 1024)); /* over the cap */
	assert_true(arena_used(a) <= 64 * 1024);
	arena_free(a);
	arena_free(NULL);

	/* the thread keeps a freed 4 KB chunk for the next arena: what it hands out again is
	 * zeroed (a request never sees the last request's bytes) */
	a = arena_new(64 * 1024);
	unsigned char *p = arena_alloc(a, 1000);
	assert_non_null(p);
	memset(p, 0xAB, 1000);
	arena_free(a);
	a = arena_new(64 * 1024);
	unsigned char *q = arena_alloc(a, 1000);
	assert_non_null(q);
	for (size_t i = 0; i < 1000; i++)
		assert_int_equal(q[i], 0);
	arena_free(a);
}

static void test_parse_i64(void **state)
{
	(void)state;
	int64_t v;
	assert_int_equal(parse_i64_cstr("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_i64_cstr("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(parse_i64_cstr("9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
	assert_true(v == INT64_MAX);
	const char *bad[] = {"", "-", "+1", " 1", "1 ", "1x", "0x10", "9223372036854775808", "99999999999999999999", "11"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_i64_cstr(bad[i], INT64_MIN, 10, &v), -1);
	assert_int_equal(parse_i64_cstr("10", 0, 10, &v), 0);
	assert_int_equal(parse_i64_cstr(NULL, 0, 10, &v), -1);
}

static void test_parse_host_port(void **state)
{
	(void)state;
	char host[64];
	uint16_t port;
	assert_int_equal(parse_host_port("127.0.0.1:8080", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 8080);
	assert_int_equal(parse_host_port("[::1]:443", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(parse_host_port("host:0", host, sizeof(host), &port), -1);
	assert_int_equal(parse_host_port("host:65536", host, sizeof(host), &port), -1);
	assert_int_equal(parse_host_port(":80", host, sizeof(host), &port), -1);
	assert_int_equal(parse_host_port("[::1]443", host, sizeof(host), &port), -1);
	assert_int_equal(parse_host_port("nocolon", host, sizeof(host), &port), -1);
}

static void test_cidr(void **state)
{
	(void)state;
	struct cidr r;
	unsigned char a[16];
	assert_int_equal(config_parse_cidr("10.0.0.0/8", &r), 0);
	inet_pton(AF_INET, "10.200.3.4", a);
	assert_true(cidr_contains(&r, AF_INET, a));
	inet_pton(AF_INET, "11.0.0.1", a);
	assert_false(cidr_contains(&r, AF_INET, a));
	assert_int_equal(config_parse_cidr("192.168.1.1", &r), 0);
	assert_int_equal(r.prefix, 32);
	assert_int_equal(config_parse_cidr("fd00::/8", &r), 0);
	inet_pton(AF_INET6, "fd12::1", a);
	assert_true(cidr_contains(&r, AF_INET6, a));
	assert_false(cidr_contains(&r, AF_INET, a));
	assert_int_equal(config_parse_cidr("10.0.0.0/33", &r), -1);
	assert_int_equal(config_parse_cidr("10.0.0/8", &r), -1);
	assert_int_equal(config_parse_cidr("", &r), -1);
}

static int load(struct config *c, const char **args, int n, char *err)
{
	int rc = config_load(c, n, (char **)args, CFG_SERVE, err, 256);
	if (rc == 0)
		rc = config_validate(c, CFG_SERVE, err, 256);
	return rc;
}

static int validator_calls;
static char validator_seen[64];

static int fake_validator(const char *value, char *msg, size_t msglen)
{
	validator_calls++;
	snprintf(validator_seen, sizeof(validator_seen), "%s", value);
	if (strcmp(value, "bad") == 0) {
		snprintf(msg, msglen, "not like that");
		return -1;
	}
	return 0;
}

/* A registered check runs for the commands its setting applies to, only on a set,
 * non-empty value, and its reason comes back prefixed with the setting's name. */
static void test_config_validator_hook(void **state)
{
	(void)state;
	char err[256];
	struct config c;
	unsetenv("DROPFIX_MAIL_FROM");
	unsetenv("DROPFIX_BASE_URL");
	unsetenv("DROPFIX_LISTEN");
	config_set_validator("DROPFIX_MAIL_FROM", fake_validator);

	validator_calls = 0;
	const char *ok[] = {"outbox", "--mail-from", "fine"};
	assert_int_equal(config_load(&c, 3, (char **)ok, CFG_MAIL, err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, CFG_MAIL, err, sizeof(err)), 0);
	assert_int_equal(validator_calls, 1);
	assert_string_equal(validator_seen, "fine");
	config_free(&c);

	const char *bad[] = {"outbox", "--mail-from", "bad"};
	assert_int_equal(config_load(&c, 3, (char **)bad, CFG_MAIL, err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, CFG_MAIL, err, sizeof(err)), -1);
	assert_string_equal(err, "DROPFIX_MAIL_FROM: not like that");
	assert_int_equal(validator_calls, 2);
	/* a command the setting does not apply to never runs the check */
	assert_int_equal(config_validate(&c, CFG_STORE, err, sizeof(err)), 0);
	assert_int_equal(validator_calls, 2);
	config_free(&c);

	const char *empty[] = {"outbox", "--mail-from", ""};
	assert_int_equal(config_load(&c, 3, (char **)empty, CFG_MAIL, err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, CFG_MAIL, err, sizeof(err)), 0);
	assert_int_equal(validator_calls, 2);
	config_free(&c);
}

static void test_config_defaults_and_rules(void **state)
{
	(void)state;
	char err[256];
	struct config c;
	unsetenv("DROPFIX_BASE_URL");
	unsetenv("DROPFIX_LISTEN");
	const char *a1[] = {"serve", "--data-dir", "/tmp/x"};
	assert_int_equal(load(&c, a1, 3, err), 0);
	assert_string_equal(c.listen_host, "127.0.0.1");
	assert_int_equal(c.listen_port, 8080);
	assert_string_equal(c.base_url, "http://127.0.0.1:8080");
	assert_string_equal(c.database_url, "sqlite:/tmp/x/dropfix.db");
	assert_string_equal(c.master_key_file, "/tmp/x/master.key");
	assert_false(c.base_url_https);
	config_free(&c);

	const char *a2[] = {"serve", "--listen=0.0.0.0:80"};
	assert_int_equal(load(&c, a2, 2, err), -1);
	assert_non_null(strstr(err, "DROPFIX_BASE_URL"));
	config_free(&c);

	const char *a3[] = {"serve", "--listen=0.0.0.0:80", "--base-url", "https://churn.example.com/"};
	assert_int_equal(load(&c, a3, 4, err), 0);
	assert_true(c.base_url_https);
	assert_string_equal(c.base_host, "churn.example.com");
	assert_string_equal(c.base_url, "https://churn.example.com");
	config_free(&c);

	const char *a4[] = {"serve", "--base-url", "https://user@evil.example"};
	assert_int_equal(load(&c, a4, 3, err), -1);
	config_free(&c);

	const char *a5[] = {"serve", "--listen"};
	assert_int_equal(load(&c, a5, 2, err), -1);
	assert_non_null(strstr(err, "needs a value"));
	config_free(&c);

	setenv("DROPFIX_HTTP_THREADS", "65", 1);
	const char *a6[] = {"serve"};
	assert_int_equal(load(&c, a6, 1, err), -1);
	assert_non_null(strstr(err, "DROPFIX_HTTP_THREADS"));
	unsetenv("DROPFIX_HTTP_THREADS");
	config_free(&c);
}

static void test_clock_format(void **state)
{
	(void)state;
	char out[32];
	assert_int_equal(clock_format_ms(0, out, sizeof(out)), 0);
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
	assert_int_equal(clock_format_ms(INT64_C(1700000000123), out, sizeof(out)), 0);
	assert_string_equal(out, "2023-11-14T22:13:20.123Z");
	assert_int_equal(clock_format_ms(-1, out, sizeof(out)), -1);
	assert_int_equal(clock_format_ms(0, out, 10), -1);
}

static void test_clock_days_from_civil(void **state)
{
	(void)state;
	assert_int_equal(clock_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(clock_days_from_civil(1969, 12, 31), -1);
	assert_int_equal(clock_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(clock_days_from_civil(2023, 11, 14), 19675);
	assert_int_equal(clock_days_from_civil(2024, 2, 29), 19782);
	assert_int_equal(clock_days_from_civil(9999, 12, 31), 2932896);
	assert_int_equal(clock_days_from_civil(1600, 1, 1), -135140);
}

static void test_clock_fake(void **state)
{
	(void)state;
	char err[256];
	char path[] = "/tmp/dropfix-clock-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs("1600000000.25\n", f);
	fclose(f);
	setenv("DROPFIX_TEST_CLOCK_FILE", path, 1);
	int rc = clock_init(err, sizeof(err));
	if (clock_fake_supported()) {
		assert_int_equal(rc, 0);
		assert_true(clock_now_ms() == INT64_C(1600000000250));
		assert_true(clock_now_s() == INT64_C(1600000000));
	} else {
		assert_int_equal(rc, -1);
		assert_non_null(strstr(err, "release build"));
	}
	f = fopen(path, "w");
	fputs("garbage", f);
	fclose(f);
	/* a fresh process would refuse it at start */
	if (clock_fake_supported())
		assert_int_equal(clock_init(err, sizeof(err)), -1);
	unsetenv("DROPFIX_TEST_CLOCK_FILE");
	unlink(path);
	assert_true(clock_now_ms() > INT64_C(1700000000000)); /* real time again */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_grows_and_caps), cmocka_unit_test(test_buf_escaped),
		cmocka_unit_test(test_str),                cmocka_unit_test(test_arena),
		cmocka_unit_test(test_parse_i64),          cmocka_unit_test(test_parse_host_port),
		cmocka_unit_test(test_cidr),               cmocka_unit_test(test_config_defaults_and_rules),
		cmocka_unit_test(test_config_validator_hook),
		cmocka_unit_test(test_clock_format),       cmocka_unit_test(test_clock_fake),
		cmocka_unit_test(test_clock_days_from_civil),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
