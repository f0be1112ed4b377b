/* Fuzz target for src/core/utf8.c. Compares utf8_decode at every offset, and utf8_valid
 * over the whole input, with a simple reference: a sequence is valid when the code point
 * its bits spell is a scalar value (not a surrogate, <= U+10FFFF) whose canonical
 * encoding is exactly those bytes (which rules out overlong forms). */
#include <stdint.h>
#include <string.h>

#include "core/utf8.h"
#include "fuzz.h"

#include "../tests/lib/utf8_ref.h"

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
