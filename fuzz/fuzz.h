/* What every fuzz target shares: libFuzzer's entry point and CHECK, the property check
 * that aborts (a crash libFuzzer reports, with the input saved) when c is false. */
#ifndef DROPFIX_FUZZ_H
#define DROPFIX_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define CHECK(c)                                                                                             \
	do {                                                                                                 \
		if (!(c))                                                                                    \
			abort();                                                                             \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
