/* A UTF-8 reference for tests of src/core/utf8.c (tests/unit/test_utf8.c and
 * fuzz/fuzz_utf8.c): decoding by re-encoding, written independently of the module. */
#ifndef DROPFIX_TEST_UTF8_REF_H
#define DROPFIX_TEST_UTF8_REF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Canonical encoding of cp into out (4 bytes); its length. */
static inline int encode(uint32_t cp, unsigned char *out)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | (cp >> 12));
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | (cp >> 18));
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Reference: the sequence at p[0..n) is valid with length L when some scalar value
 * (not a surrogate, <= U+10FFFF) encodes canonically to exactly p[0..L). Works from the
 * lead byte's declared length only to pick the candidate code point. */
static inline int reference(const unsigned char *p, size_t n, uint32_t *cp)
{
	if (n == 0)
		return -1;
	int len = p[0] < 0x80 ? 1 : (p[0] >> 5) == 6 ? 2 : (p[0] >> 4) == 14 ? 3 : (p[0] >> 3) == 30 ? 4 : 0;
	if (len == 0 || (size_t)len > n)
		return -1;
	uint32_t v = len == 1 ? p[0] : (uint32_t)(p[0] & (0x7f >> len));
	for (int i = 1; i < len; i++)
		v = (v << 6) | (p[i] & 0x3f);
	if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return -1;
	unsigned char enc[4];
	if (encode(v, enc) != len || memcmp(enc, p, (size_t)len) != 0)
		return -1;
	*cp = v;
	return len;
}

#endif
