/* Fuzz target for src/ingest/compat.c: any JSON body, in every dialect, either translates
 * into an array of events (the forced type of /v1/track, /v1/identify, /v1/page kept;
 * every path set by a translation is non-empty with no query or fragment; a
 * referrer is an origin without a path) or fails with a 400/503 error naming a field, and
 * leaks nothing (ASan). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/json.h"
#include "ingest/compat.h"
#include "fuzz.h"

static void check_path(json_t *v)
{
	if (!v)
		return;
	CHECK(json_is_string(v));
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	CHECK(n >= 1); /* a relative path is made absolute by ingest_mask_path later */
	CHECK(!memchr(s, '?', n) && !memchr(s, '#', n));
}

static void check_event(json_t *in, json_t *e, const char *forced)
{
	if (!json_is_object(e))
		return;
	json_t *t = json_object_get(e, "type");
	if (forced)
		CHECK(json_is_string(t) && strcmp(json_string_value(t), forced) == 0);
	json_t *props = json_object_get(e, "properties");
	json_t *type_in = json_is_object(in) ? json_object_get(in, "type") : NULL;
	(void)type_in;
	if (json_is_string(t) && strcmp(json_string_value(t), "page") == 0 && json_is_object(props)) {
		check_path(json_object_get(props, "path"));
		json_t *ref = json_object_get(props, "referrer");
		if (ref && !json_equal(ref, json_object_get(json_object_get(in, "properties"), "referrer"))) {
			CHECK(json_is_string(ref));
			const char *r = strstr(json_string_value(ref), "://");
			CHECK(r && !strchr(r + 3, '/') && !strchr(r + 3, '?') && !strchr(r + 3, '#'));
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = NULL;
	struct jsonin_error jerr = {0};
	if (jsonin_load((const char *)data, size, 1 << 20, &doc, &jerr) < 0)
		return 0;
	if (!json_is_object(doc)) {
		json_decref(doc);
		return 0;
	}
	static const enum ingest_dialect ds[] = {INGEST_NATIVE, INGEST_SEGMENT_TRACK, INGEST_SEGMENT_IDENTIFY,
	                                         INGEST_SEGMENT_PAGE, INGEST_POSTHOG};
	static const char *const forced[] = {NULL, "track", "identify", "page", NULL};
	for (size_t i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
		for (int basic = 0; basic < 2; basic++) {
			json_t *batch = NULL;
			struct compat_err err = {0};
			(void)compat_body_key(doc, ds[i]);
			if (compat_translate(doc, ds[i], basic, &batch, &err) < 0) {
				CHECK(batch == NULL);
				CHECK(err.status == 400 || err.status == 503);
				CHECK(err.code && err.message);
				continue;
			}
			CHECK(json_is_array(batch));
			if (forced[i]) {
				CHECK(json_array_size(batch) == 1);
				check_event(doc, json_array_get(batch, 0), forced[i]);
			} else {
				json_t *in = json_object_get(doc, "batch");
				size_t k;
				json_t *e;
				json_array_foreach(batch, k, e)
				{
					check_event(json_is_array(in) ? json_array_get(in, k) : doc, e, NULL);
				}
			}
			json_decref(batch);
		}
	}
	json_decref(doc);
	return 0;
}
