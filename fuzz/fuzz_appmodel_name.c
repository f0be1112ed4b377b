/* Fuzz target for src/appmodel/appmodel_rules.c and the name check: any bytes as a feature
 * key either get a rule name (0: no control characters or NUL, bounded length, the same
 * name on a second call) or are malformed (-1: the name is the key itself, byte for
 * byte); the PII check answers 0 or 1 and never passes a key holding '@' or a run of six
 * digits; a name that passes appmodel_name_ok is at most APPMODEL_NAME_MAX bytes without
 * control characters. Nothing leaks (ASan). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "appmodel/appmodel.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *key = (const char *)data;
	struct buf a, b;
	buf_init(&a, 0);
	buf_init(&b, 0);
	int rc = appmodel_rule_name(key, size, &a);
	CHECK(rc == 0 || rc == -1);
	CHECK(!a.oom);
	if (rc < 0) {
		CHECK(a.n == size);
		CHECK(size == 0 || memcmp(a.p, key, size) == 0);
	} else {
		CHECK(a.n > 0 && a.n <= 2 * size + 16);
		for (size_t i = 0; i < a.n; i++)
			CHECK((unsigned char)a.p[i] >= 0x20 && (unsigned char)a.p[i] != 0x7f);
	}
	/* deterministic, and a reused buffer starts empty */
	buf_puts(&b, "left over");
	CHECK(appmodel_rule_name(key, size, &b) == rc);
	CHECK(b.n == a.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0));
	buf_free(&a);
	buf_free(&b);

	int pf = appmodel_pii_free(key, size);
	CHECK(pf == 0 || pf == 1);
	if (pf) {
		size_t run = 0;
		for (size_t i = 0; i < size; i++) {
			CHECK(data[i] != '@');
			run = (data[i] >= '0' && data[i] <= '9') ? run + 1 : 0;
			CHECK(run < 6);
		}
	}
	if (appmodel_name_ok(key, size)) {
		CHECK(size <= APPMODEL_NAME_MAX);
		for (size_t i = 0; i < size; i++)
			CHECK(data[i] >= 0x20 && data[i] != 0x7f);
	}
	return 0;
}
