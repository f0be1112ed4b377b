/* Fuzz target for src/ingest/ingest_mask.c and ingest_parse_time: masking arbitrary bytes
 * leaves nothing that would be masked again, path templating yields a bounded path with
 * no query or fragment, JSON masking of any document round-trips through jansson, and
 * parsed timestamps are never before the epoch. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "ingest/ingest_mask.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct buf b;
	buf_init(&b, 0);
	CHECK(ingest_mask_text(p, size, &b) == 0);
	CHECK(!ingest_mask_needed(b.p ? b.p : "", b.n));
	buf_free(&b);

	buf_init(&b, 0);
	size_t max = 64 + size % 64;
	CHECK(ingest_mask_path(p, size, max, &b) == 0);
	CHECK(b.n >= 1 && b.p[0] == '/');
	CHECK(b.n <= max + 1);
	CHECK(!memchr(b.p, '?', b.n) && !memchr(b.p, '#', b.n));
	buf_free(&b);

	int64_t ms = -1;
	if (ingest_parse_time(p, size, &ms) == 0)
		CHECK(ms >= 0);

	json_t *doc = json_loadb(p, size, JSON_DECODE_ANY, NULL);
	if (doc) {
		json_t *m = ingest_mask_json(doc, 32);
		CHECK(m);
		char *s = json_dumps(m, JSON_COMPACT | JSON_ENCODE_ANY);
		CHECK(s);
		free(s);
		json_decref(m);
		json_decref(doc);
	}
	return 0;
}
