/* Fuzz target for src/core/utf8.c. Compares utf8_decode at every offset, and utf8_valid
 * over the whole input, with a simple reference: a sequence is valid when the code point
 * its bits spell is a scalar value (not a surrogate, <= U+10FFFF) whose canonical
 * encoding is exactly those bytes (which rules out overlong forms). */
#include <stdint.h>
#include <string.h>

#include "core/utf8.h"
#include "fuzz.h"

static int encode(uint32_t cp, unsigned char *out)
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

static int reference(const unsigned char *p, size_t n, uint32_t *cp)
{
	if (n == 0)
		return -1;
	int len = p[0] < 0x80 ? 1 : (p[0] >> 5) == 6 ? 2 : (p[0] >> 4) == 14 ? 3 : (p[0] >> 3) == 30 ? 4 : 0;
	if (len == 0 || (size_t)len > n)
		return -1;
	uint32_t v = len == 1 ? p[0] : (uint32_t)(p[0] & (0x7f >> len));
	for (int i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		v = (v << 6) | (p[i] & 0x3f);
	}
	if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return -1;
	unsigned char enc[4];
	if (encode(v, enc) != len || memcmp(enc, p, (size_t)len) != 0)
		return -1;
	*cp = v;
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int all_valid = 1;
	for (size_t i = 0; i < size; i++) {
		uint32_t c1 = 0xffffffffu, c2 = 0;
		int r1 = utf8_decode(data + i, size - i, &c1);
		int r2 = reference(data + i, size - i, &c2);
		CHECK(r1 == r2);
		if (r1 > 0) {
			CHECK(c1 == c2);
			CHECK(utf8_decode(data + i, (size_t)r1 - 1, &c1) == -1); /* one byte short */
		} else {
			CHECK(c1 == 0xffffffffu); /* untouched */
		}
	}
	/* utf8_valid agrees with walking the input sequence by sequence */
	for (size_t i = 0; i < size;) {
		uint32_t cp;
		int r = reference(data + i, size - i, &cp);
		if (r < 0) {
			all_valid = 0;
			break;
		}
		i += (size_t)r;
	}
	CHECK(utf8_valid((const char *)data, size) == all_valid);
	return 0;
}
