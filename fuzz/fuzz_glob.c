/* Fuzz target for detect_glob (src/detect/detect_settings.c), the cancel-intent pattern
 * matcher: input = pattern, a NUL byte, subject. The answer must equal a reference
 * dynamic-programming matcher (O(len(p) x len(s)), no backtracking), and the matcher
 * must stay fast on patterns up to DETECT_PATTERN_MAX bytes against subjects of a few
 * KiB whatever the stars (libFuzzer's timeout catches a blow-up). */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detect_int.h"
#include "fuzz.h"

/* dp[j] = pattern prefix of length i matches subject prefix of length j */
static int reference(const char *p, size_t pn, const char *s, size_t sn)
{
	unsigned char *prev = calloc(sn + 1, 1), *cur = calloc(sn + 1, 1);
	CHECK(prev && cur);
	prev[0] = 1;
	for (size_t i = 1; i <= pn; i++) {
		char c = p[i - 1];
		cur[0] = c == '*' && prev[0];
		for (size_t j = 1; j <= sn; j++) {
			if (c == '*')
				cur[j] = prev[j] || cur[j - 1];
			else
				cur[j] = prev[j - 1] && (c == '?' || tolower((unsigned char)c) == tolower((unsigned char)s[j - 1]));
		}
		unsigned char *t = prev;
		prev = cur;
		cur = t;
	}
	int r = prev[sn];
	free(prev);
	free(cur);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	if (!nul)
		return 0;
	size_t pn = (size_t)(nul - data);
	if (pn > DETECT_PATTERN_MAX)
		pn = DETECT_PATTERN_MAX;
	const char *p = (const char *)data, *s = (const char *)nul + 1;
	size_t sn = size - (size_t)(nul - data) - 1;
	if (sn > 8192)
		sn = 8192;
	int got = detect_glob(p, pn, s, sn);
	CHECK(got == 0 || got == 1);
	CHECK(got == reference(p, pn, s, sn));
	return 0;
}
