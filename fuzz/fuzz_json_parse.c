/* Differential fuzz target for jsonin_load's own parser (src/http/json_parse.c)
 * against jansson's json_loadb(..., JSON_REJECT_DUPLICATES): after the refusals both
 * share (size, empty, NUL byte, depth: jsonin_prescan), for every input
 * - jsonin_load succeeds iff jansson does,
 * - on success the trees are json_equal and dump to the same compact text (same value
 *   types, same key order, same reals),
 * - on failure the error class matches: duplicate_key iff jansson's duplicate key (at
 *   the same byte offset, so the same field pointer), else invalid_json. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "http/json.h"
#include "fuzz.h"

#define CAP (1u << 20)

static void check_same_text(json_t *a, json_t *b)
{
	char *da = json_dumps(a, JSON_COMPACT);
	char *db = json_dumps(b, JSON_COMPACT);
	CHECK(da && db);
	CHECK(strcmp(da, db) == 0);
	free(da);
	free(db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	json_t *doc = NULL;
	struct jsonin_error err = {0};
	int rc = jsonin_load(p, size, CAP, &doc, &err);

	/* Refusals made before any parser runs are the same for both by construction. */
	if (size > CAP) {
		CHECK(rc < 0 && strcmp(err.code, "too_large") == 0);
		return 0;
	}
	if (size == 0) {
		CHECK(rc < 0 && strcmp(err.code, "invalid_json") == 0);
		return 0;
	}
	switch (jsonin_prescan(p, size, LIMIT_JSON_DEPTH, NULL)) {
	case JSONIN_SCAN_NUL:
		CHECK(rc < 0 && strcmp(err.code, "invalid_json") == 0);
		return 0;
	case JSONIN_SCAN_TOO_DEEP:
		CHECK(rc < 0 && strcmp(err.code, "too_deep") == 0);
		return 0;
	case JSONIN_SCAN_OK:
		break;
	}

	json_error_t jerr;
	json_t *ref = json_loadb(p, size, JSON_REJECT_DUPLICATES, &jerr);
	if (ref) {
		if (rc != 0) {
			fprintf(stderr, "we refused what jansson accepts: %s: %s\n", err.code, err.message);
			abort();
		}
		CHECK(doc != NULL);
		CHECK(json_equal(doc, ref));
		check_same_text(doc, ref);
		json_decref(doc);
		json_decref(ref);
		return 0;
	}
	if (rc == 0) {
		fprintf(stderr, "we accepted what jansson refuses: %s\n", jerr.text);
		abort();
	}
	CHECK(doc == NULL);
	enum json_error_code jc = json_error_code(&jerr);
	/* The prescan bounds depth far below jansson's limit; no allocation fails here. */
	CHECK(jc != json_error_stack_overflow && jc != json_error_out_of_memory);
	if (jc == json_error_duplicate_key) {
		if (strcmp(err.code, "duplicate_key") != 0) {
			fprintf(stderr, "jansson: duplicate key; we: %s: %s\n", err.code, err.message);
			abort();
		}
		/* Same byte offset, hence the same pointer from the same mapping. */
		char want[64];
		snprintf(want, sizeof(want), "duplicate key at byte %d", jerr.position);
		CHECK(strcmp(err.message, want) == 0);
		/* A pointer too long to carry stops at the deepest location that fits (may be
		 * the root, ""); a short document always fits. */
		if (size < 100)
			CHECK(err.field[0] == '/');
	} else {
		if (strcmp(err.code, "invalid_json") != 0) {
			fprintf(stderr, "jansson: %s; we: %s: %s\n", jerr.text, err.code, err.message);
			abort();
		}
	}
	return 0;
}
