/* Fuzz target for src/http/json.c: load + strict and tolerant binding against fixed
 * specs. Besides "no crash, no leak" it checks that
 * - our depth pre-scan agrees with the depth of what jansson parses (both ways),
 * - jsonin_load refuses only what jansson refuses or what our limits refuse,
 * - every error renders an envelope that parses back, with a valid pointer, and a
 *   duplicate_key / too_deep pointer names a location that exists in the document. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "http/json.h"
#include "fuzz.h"

static size_t depth_of(const json_t *v)
{
	size_t max = 0;
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			size_t d = depth_of(json_array_get(v, i));
			max = d > max ? d : max;
		}
		return max + 1;
	}
	if (json_is_object(v)) {
		const char *k;
		json_t *m;
		json_object_foreach((json_t *)v, k, m)
		{
			size_t d = depth_of(m);
			max = d > max ? d : max;
		}
		return max + 1;
	}
	return 0;
}

/* Resolves an RFC 6901 pointer in doc; NULL when it names nothing. */
static json_t *resolve(json_t *doc, const char *ptr)
{
	char seg[JSONIN_POINTER_MAX];
	json_t *cur = doc;
	const char *p = ptr;
	if (*p == '\0')
		return doc;
	CHECK(*p == '/');
	while (*p == '/') {
		size_t n = 0;
		for (p++; *p && *p != '/'; p++) {
			if (*p == '~') {
				p++;
				CHECK(*p == '0' || *p == '1'); /* our pointers only escape these */
				seg[n++] = *p == '0' ? '~' : '/';
			} else {
				seg[n++] = *p;
			}
		}
		if (json_is_object(cur)) {
			cur = json_object_getn(cur, seg, n);
		} else if (json_is_array(cur)) {
			seg[n] = '\0';
			char *end;
			unsigned long i = strtoul(seg, &end, 10);
			if (n == 0 || *end != '\0')
				return NULL;
			cur = json_array_get(cur, i);
		} else {
			return NULL;
		}
		if (!cur)
			return NULL;
	}
	return cur;
}

static int printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static void check_error(const struct jsonin_error *err)
{
	static const char *codes[] = {"invalid_json",    "too_deep",      "too_large",
	                              "too_many_fields", "duplicate_key", "invalid_field",
	                              "missing_field",   "unknown_field", "internal"};
	int known = 0;
	CHECK(err->code);
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		known |= strcmp(err->code, codes[i]) == 0;
	CHECK(known);
	CHECK(printable(err->message)); /* never client bytes */
	CHECK(err->field[0] == '\0' || err->field[0] == '/');

	struct buf b;
	buf_init(&b, 0);
	if (jsonin_error_render(err, &b) == 0) {
		json_error_t jerr;
		json_t *back = json_loadb(b.p, b.n, JSON_REJECT_DUPLICATES, &jerr);
		CHECK(back);
		json_t *e = json_object_get(back, "error");
		CHECK(strcmp(json_string_value(json_object_get(e, "code")), err->code) == 0);
		json_t *f = json_object_get(e, "field");
		if (f)
			CHECK(strcmp(json_string_value(f), err->field) == 0);
		json_decref(back);
	}
	buf_free(&b);
}

struct event {
	struct str type;
	struct str user_id;
	struct str label;
	int64_t ts;
	int flag;
	json_t *props;
	json_t *any;
};

static const struct jsonin_field event_fields[] = {
    JSONIN_F_STR("type", JSONIN_REQUIRED | JSONIN_NO_CTRL, 1, 32, struct event, type),
    JSONIN_F_STR("userId", JSONIN_NULL_OK | JSONIN_NO_CTRL, 1, 16, struct event, user_id),
    JSONIN_F_STR("label", JSONIN_TRUNCATE | JSONIN_NO_CTRL | JSONIN_MULTILINE, 0, 7, struct event, label),
    JSONIN_F_INT("timestamp", 0, -1000, 1000000, struct event, ts),
    JSONIN_F_BOOL("flag", 0, struct event, flag),
    JSONIN_F_JSON("properties", JSONIN_OBJECT, JSONIN_NULL_OK, 0, 8, struct event, props),
    JSONIN_F_JSON("x", JSONIN_ANY, 0, 0, 0, struct event, any),
};
static const struct jsonin_spec event_strict = JSONIN_SPEC(event_fields, JSONIN_STRICT);
static const struct jsonin_spec event_tolerant = JSONIN_SPEC(event_fields, JSONIN_TOLERANT);

struct top {
	json_t *batch;
	struct str key;
};
static const struct jsonin_field top_fields[] = {
    JSONIN_F_JSON("batch", JSONIN_ARRAY, JSONIN_REQUIRED, 1, 50, struct top, batch),
    JSONIN_F_STR("writeKey", 0, 1, 64, struct top, key),
};
static const struct jsonin_spec top_tolerant = JSONIN_SPEC(top_fields, JSONIN_TOLERANT);

static void check_bound_string(const struct jsonin_field *f, struct str s)
{
	CHECK(s.n <= (uint64_t)f->max && s.n >= (uint64_t)f->min);
	CHECK(jsonin_text_check(s.p, s.n, f->flags) == JSONIN_TEXT_OK);
}

static void bind_event(json_t *ev, struct jsonin_ptr *at)
{
	struct event e;
	struct jsonin_error err;
	uint64_t present;
	size_t mark = at->n;
	int strict = jsonin_bind(ev, &event_strict, &e, sizeof(e), &present, at, &err);
	CHECK(at->n == mark);
	if (strict < 0) {
		check_error(&err);
		CHECK(strncmp(err.field, at->p, at->n) == 0); /* errors sit below `at` */
	} else {
		if (present & 1)
			check_bound_string(&event_fields[0], e.type);
		if (present & 4)
			check_bound_string(&event_fields[2], e.label);
	}
	int tolerant = jsonin_bind(ev, &event_tolerant, &e, sizeof(e), &present, at, &err);
	CHECK(at->n == mark);
	if (tolerant < 0)
		check_error(&err);
	/* Strict accepts a subset of what tolerant accepts. */
	CHECK(strict < 0 || tolerant == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	json_error_t jerr;

	/* Reference: jansson alone, no duplicate check, its own depth limit. */
	json_t *raw = json_loadb(p, size, 0, &jerr);
	enum jsonin_scan sc = jsonin_prescan(p, size, LIMIT_JSON_DEPTH, NULL);
	/* jansson 2.14 skips a raw NUL after a literal ("[null\0]" parses); we refuse every
	 * NUL byte, so such documents are ours to refuse and say nothing about depth. */
	int has_nul = memchr(p, 0, size) != NULL;
	if (raw && !has_nul) {
		size_t d = depth_of(raw);
		CHECK(sc != JSONIN_SCAN_NUL);
		CHECK((sc == JSONIN_SCAN_TOO_DEEP) == (d > LIMIT_JSON_DEPTH));
	}
	if (raw && has_nul)
		CHECK(sc != JSONIN_SCAN_OK);

	json_t *doc = NULL;
	struct jsonin_error err;
	int rc = jsonin_load(p, size, 8192, &doc, &err);
	if (rc < 0) {
		CHECK(doc == NULL);
		check_error(&err);
		/* We may refuse what jansson took only for our own limits. */
		if (raw)
			CHECK(strcmp(err.code, "too_deep") == 0 || strcmp(err.code, "duplicate_key") == 0 ||
			      strcmp(err.code, "too_large") == 0 ||
			      (has_nul && strcmp(err.code, "invalid_json") == 0));
		if (strcmp(err.code, "duplicate_key") == 0) {
			/* A pointer too long to carry stops at the deepest location that fits;
			 * a short document always fits. */
			if (size < 100)
				CHECK(err.field[0] == '/');
			if (raw)
				CHECK(resolve(raw, err.field) != NULL);
		}
		if (raw && strcmp(err.code, "too_deep") == 0 && err.field[0] != '\0') {
			json_t *at = resolve(raw, err.field);
			CHECK(at && (json_is_array(at) || json_is_object(at)));
		}
		json_decref(raw);
		return 0;
	}
	CHECK(raw != NULL); /* we never accept what jansson refuses */
	CHECK(depth_of(doc) <= LIMIT_JSON_DEPTH);
	json_decref(raw);

	/* The whole document as one strictly bound event, and as an ingestion batch. */
	struct jsonin_ptr at;
	jsonin_ptr_init(&at);
	bind_event(doc, &at);

	struct top t;
	if (jsonin_bind(doc, &top_tolerant, &t, sizeof(t), NULL, NULL, &err) == 0) {
		size_t i;
		json_t *ev;
		jsonin_ptr_push_key(&at, "batch", 5);
		json_array_foreach(t.batch, i, ev)
		{
			jsonin_ptr_push_index(&at, i);
			bind_event(ev, &at);
			jsonin_ptr_pop(&at);
		}
		jsonin_ptr_pop(&at);
		CHECK(at.n == 0);
	} else {
		check_error(&err);
	}
	json_decref(doc);
	return 0;
}
