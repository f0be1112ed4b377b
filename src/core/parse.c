#include "core/parse.h"

#include <string.h>

int parse_i64(const char *s, size_t n, int64_t min, int64_t max, int64_t *out)
{
	if (!s || n == 0 || n > 20)
		return -1;
	size_t i = 0;
	int neg = 0;
	if (s[0] == '-') {
		neg = 1;
		i = 1;
		if (n == 1)
			return -1;
	}
	/* Accumulate as a negative number so INT64_MIN parses. */
	int64_t v = 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		int d = s[i] - '0';
		if (v < (INT64_MIN + d) / 10)
			return -1;
		v = v * 10 - d;
	}
	if (!neg) {
		if (v == INT64_MIN)
			return -1;
		v = -v;
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_i64_cstr(const char *s, int64_t min, int64_t max, int64_t *out)
{
	return s ? parse_i64(s, strlen(s), min, max, out) : -1;
}

int parse_host_port(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon;
	const char *h = s;
	size_t hn;
	if (!s)
		return -1;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return -1;
		h = s + 1;
		hn = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -1;
		hn = (size_t)(colon - s);
	}
	if (hn == 0 || hn >= hostlen)
		return -1;
	int64_t p;
	if (parse_i64_cstr(colon + 1, 1, 65535, &p) < 0)
		return -1;
	memcpy(host, h, hn);
	host[hn] = '\0';
	*port = (uint16_t)p;
	return 0;
}

int parse_hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
