/* Unit tests for src/core/utf8.c: known sequences, every edge of the strict rules, and
 * an exhaustive comparison of all 1-, 2- and 3-byte inputs (and every code point's
 * encoding) against a reference that works by re-encoding. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "core/utf8.h"

#include "../lib/utf8_ref.h"

static void expect(const char *s, size_t n, int len, uint32_t cp)
{
	uint32_t got = 0xdeadbeef;
	assert_int_equal(utf8_decode((const unsigned char *)s, n, &got), len);
	if (len > 0)
		assert_int_equal(got, cp);
	else
		assert_int_equal(got, 0xdeadbeef); /* untouched when invalid */
}

static void test_known(void **state)
{
	(void)state;
	expect("A", 1, 1, 'A');
	expect("", 1, 1, 0); /* NUL is a valid one-byte character */
	expect("\x7f", 1, 1, 0x7f);
	expect("\xc2\x80", 2, 2, 0x80);
	expect("\xc3\xa9xyz", 5, 2, 0xe9); /* only the first character */
	expect("\xdf\xbf", 2, 2, 0x7ff);
	expect("\xe0\xa0\x80", 3, 3, 0x800);
	expect("\xe2\x82\xac", 3, 3, 0x20ac);
	expect("\xed\x9f\xbf", 3, 3, 0xd7ff);  /* just below the surrogates */
	expect("\xee\x80\x80", 3, 3, 0xe000);  /* just above them */
	expect("\xef\xbf\xbd", 3, 3, 0xfffd);
	expect("\xef\xbf\xbf", 3, 3, 0xffff);
	expect("\xf0\x90\x80\x80", 4, 4, 0x10000);
	expect("\xf0\x9f\x98\x80", 4, 4, 0x1f600);
	expect("\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff); /* max code point */
	assert_int_equal(utf8_decode((const unsigned char *)"\xe2\x82\xac", 3, NULL), 3);
}

static void test_invalid(void **state)
{
	(void)state;
	expect("", 0, -1, 0);                 /* empty */
	expect("\x80", 1, -1, 0);             /* stray continuation */
	expect("\xbf", 1, -1, 0);
	expect("\xc0\x80", 2, -1, 0);         /* overlong NUL */
	expect("\xc0\xaf", 2, -1, 0);         /* overlong '/' */
	expect("\xc1\xbf", 2, -1, 0);         /* overlong U+007F */
	expect("\xe0\x80\x80", 3, -1, 0);     /* overlong NUL, 3 bytes */
	expect("\xe0\x9f\xbf", 3, -1, 0);     /* overlong U+07FF */
	expect("\xf0\x80\x80\x80", 4, -1, 0); /* overlong NUL, 4 bytes */
	expect("\xf0\x8f\xbf\xbf", 4, -1, 0); /* overlong U+FFFF */
	expect("\xed\xa0\x80", 3, -1, 0);     /* U+D800 high surrogate */
	expect("\xed\xaf\xbf", 3, -1, 0);     /* U+DBFF */
	expect("\xed\xb0\x80", 3, -1, 0);     /* U+DC00 low surrogate */
	expect("\xed\xbf\xbf", 3, -1, 0);     /* U+DFFF */
	expect("\xf4\x90\x80\x80", 4, -1, 0); /* U+110000 */
	expect("\xf5\x80\x80\x80", 4, -1, 0); /* lead F5 */
	expect("\xf7\xbf\xbf\xbf", 4, -1, 0); /* U+1FFFFF */
	expect("\xf8\x88\x80\x80\x80", 5, -1, 0); /* 5-byte form */
	expect("\xfc\x84\x80\x80\x80\x80", 6, -1, 0);
	expect("\xfe", 1, -1, 0);
	expect("\xff", 1, -1, 0);
	/* truncated: the length given is shorter than the sequence */
	expect("\xc3\xa9", 1, -1, 0);
	expect("\xe2\x82\xac", 2, -1, 0);
	expect("\xe2\x82\xac", 1, -1, 0);
	expect("\xf0\x9f\x98\x80", 3, -1, 0);
	/* truncated: a non-continuation byte where one is due */
	expect("\xc3" "A", 2, -1, 0);
	expect("\xe2\x82" "A", 3, -1, 0);
	expect("\xf0\x9f\x98" "A", 4, -1, 0);
	expect("\xe2\xc3\xa9", 3, -1, 0);
}

static void test_valid(void **state)
{
	(void)state;
	assert_int_equal(utf8_valid("", 0), 1);
	assert_int_equal(utf8_valid("plain ascii", 11), 1);
	assert_int_equal(utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14), 1);
	assert_int_equal(utf8_valid("a\0b", 3), 1);
	assert_int_equal(utf8_valid("caf\xc3", 4), 0);            /* truncated at the end */
	assert_int_equal(utf8_valid("\xed\xa0\x80\xed\xb0\x80", 6), 0); /* CESU-8 pair */
	assert_int_equal(utf8_valid("ok\xc0\x80", 4), 0);
	assert_int_equal(utf8_valid("\xf4\x8f\xbf\xbf", 4), 1);
	assert_int_equal(utf8_valid("\xf4\x90\x80\x80", 4), 0);
	assert_int_equal(utf8_valid("x\x80y", 3), 0);
}

/* Every code point encodes to a sequence that decodes back to it, or (surrogates) is
 * refused. */
static void test_every_code_point(void **state)
{
	(void)state;
	for (uint32_t v = 0; v <= 0x10ffff; v++) {
		unsigned char enc[4];
		int len = encode(v, enc);
		uint32_t got = 0;
		int r = utf8_decode(enc, (size_t)len, &got);
		if (v >= 0xd800 && v <= 0xdfff) {
			assert_int_equal(r, -1);
			continue;
		}
		assert_int_equal(r, len);
		assert_int_equal(got, v);
		assert_int_equal(utf8_decode(enc, (size_t)len - 1, &got), -1); /* truncated by one */
	}
}

/* All inputs of 1, 2 and 3 bytes, and 4-byte inputs over every lead byte with a sample
 * of continuations, agree with the reference. */
static void test_against_reference(void **state)
{
	(void)state;
	unsigned char b[4];
	for (uint32_t x = 0; x < (1u << 24); x++) {
		b[0] = (unsigned char)(x >> 16), b[1] = (unsigned char)(x >> 8), b[2] = (unsigned char)x;
		for (size_t n = 1; n <= 3; n++) {
			if (n < 3 && (x & ((1u << (8 * (3 - n))) - 1)) != 0)
				continue; /* shorter lengths: each prefix once */
			uint32_t c1 = 0, c2 = 0;
			int r1 = utf8_decode(b, n, &c1), r2 = reference(b, n, &c2);
			assert_int_equal(r1, r2);
			if (r1 > 0)
				assert_int_equal(c1, c2);
		}
	}
	static const unsigned char tails[] = {0x00, 0x3f, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff};
	for (unsigned lead = 0xe0; lead <= 0xff; lead++)
		for (size_t i = 0; i < sizeof(tails); i++)
			for (size_t j = 0; j < sizeof(tails); j++)
				for (size_t k = 0; k < sizeof(tails); k++) {
					b[0] = (unsigned char)lead, b[1] = tails[i], b[2] = tails[j], b[3] = tails[k];
					uint32_t c1 = 0, c2 = 0;
					int r1 = utf8_decode(b, 4, &c1), r2 = reference(b, 4, &c2);
					assert_int_equal(r1, r2);
					if (r1 > 0)
						assert_int_equal(c1, c2);
				}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_every_code_point),
		cmocka_unit_test(test_against_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
