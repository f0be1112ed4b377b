/* Segment and PostHog wire formats → our events (see compat.h, docs/ingestion.md).
 * Translation only: every value is copied by reference into a new event object and
 * validated, capped and masked afterwards by the native pipeline, exactly like ours. */
#include <sodium.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "ingest/compat.h"

/* ---- handlers ---- */

int compat_segment_track(struct http_request *req, struct http_response *res)
{
	return ingest_handle(req, res, INGEST_SEGMENT_TRACK);
}

int compat_segment_identify(struct http_request *req, struct http_response *res)
{
	return ingest_handle(req, res, INGEST_SEGMENT_IDENTIFY);
}

int compat_segment_page(struct http_request *req, struct http_response *res)
{
	return ingest_handle(req, res, INGEST_SEGMENT_PAGE);
}

int compat_posthog(struct http_request *req, struct http_response *res)
{
	return ingest_handle(req, res, INGEST_POSTHOG);
}

int compat_is_handler(http_handler h)
{
	return h == compat_segment_track || h == compat_segment_identify || h == compat_segment_page ||
	       h == compat_posthog;
}

/* ---- keys ---- */

/* Longest Basic credential we decode: a key and a colon, base64 (keys are far shorter). */
#define BASIC_MAX 512

int compat_basic_key(struct http_request *req, const char **key, size_t *n)
{
	const char *a = http_header(req, "Authorization");
	if (!a || strncasecmp(a, "Basic ", 6) != 0)
		return 0;
	const char *b64 = a + 6;
	while (*b64 == ' ')
		b64++;
	size_t b64n = strlen(b64);
	while (b64n && b64[b64n - 1] == ' ')
		b64n--;
	if (b64n == 0 || b64n > BASIC_MAX)
		return 0;
	unsigned char raw[BASIC_MAX];
	size_t raw_n = 0;
	if (sodium_base642bin(raw, sizeof(raw), b64, b64n, NULL, &raw_n, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0)
		return 0;
	const unsigned char *colon = memchr(raw, ':', raw_n);
	size_t user_n = colon ? (size_t)(colon - raw) : raw_n;
	char *user = user_n ? arena_strndup(req->arena, (const char *)raw, user_n) : NULL;
	sodium_memzero(raw, sizeof(raw)); /* the password part, if a client sent one */
	if (!user)
		return 0;
	*key = user;
	*n = user_n;
	return 1;
}

json_t *compat_body_key(json_t *doc, enum ingest_dialect d)
{
	json_t *k = NULL;
	switch (d) {
	case INGEST_NATIVE:
		k = json_object_get(doc, "key");
		return k ? k : json_object_get(doc, "writeKey");
	case INGEST_SEGMENT_TRACK:
	case INGEST_SEGMENT_IDENTIFY:
	case INGEST_SEGMENT_PAGE:
		k = json_object_get(doc, "writeKey");
		return k ? k : json_object_get(doc, "key");
	case INGEST_POSTHOG:
		k = json_object_get(doc, "api_key");
		return k ? k : json_object_get(doc, "token");
	}
	return NULL;
}

/* ---- translation helpers ---- */

/* Copies src[skey] into dst[dkey] when present and not null. Returns 0 or -1 (OOM). */
static int copy(json_t *dst, const char *dkey, json_t *src, const char *skey)
{
	json_t *v = json_is_object(src) ? json_object_get(src, skey) : NULL;
	if (!v || json_is_null(v))
		return 0;
	return json_object_set(dst, dkey, v);
}

static json_t *obj_at(json_t *o, const char *k)
{
	json_t *v = json_is_object(o) ? json_object_get(o, k) : NULL;
	return json_is_object(v) ? v : NULL;
}

static json_t *str_at(json_t *o, const char *k)
{
	json_t *v = json_is_object(o) ? json_object_get(o, k) : NULL;
	return json_is_string(v) && json_string_length(v) > 0 ? v : NULL;
}

/* The path of a URL ("https://h/a/b?q#f" → "/a/b"; "/a?q" → "/a"), a new string or NULL
 * when u is not a string; "/" when the URL has no path. */
static json_t *url_path(json_t *u)
{
	if (!json_is_string(u))
		return NULL;
	const char *s = json_string_value(u);
	size_t n = json_string_length(u);
	const char *scheme = n > 3 ? strstr(s, "://") : NULL;
	if (scheme) {
		const char *host = scheme + 3;
		const char *slash = memchr(host, '/', n - (size_t)(host - s));
		if (!slash)
			return json_string("/");
		n -= (size_t)(slash - s);
		s = slash;
	}
	size_t end = 0;
	while (end < n && s[end] != '?' && s[end] != '#')
		end++;
	if (end == 0)
		return json_string("/");
	return json_stringn(s, end);
}

/* The origin of a URL ("https://h:8080/a?q" → "https://h:8080"), a new string, or NULL
 * when u is not an absolute URL (page referrers are stored as their origin only). */
static json_t *url_origin(json_t *u)
{
	if (!json_is_string(u))
		return NULL;
	const char *s = json_string_value(u);
	size_t n = json_string_length(u);
	const char *scheme = n > 3 ? strstr(s, "://") : NULL;
	if (!scheme || scheme == s)
		return NULL;
	size_t end = (size_t)(scheme + 3 - s);
	while (end < n && s[end] != '/' && s[end] != '?' && s[end] != '#')
		end++;
	return json_stringn(s, end);
}

/* Sets dst[k] to the origin of the URL u when it has one. Returns 0 or -1 (OOM). */
static int set_origin(json_t *dst, const char *k, json_t *u)
{
	json_t *o = url_origin(u);
	return o ? json_object_set_new(dst, k, o) : 0;
}

/* A copy of the object props without PostHog's `$`-prefixed library keys ($lib, $set, …):
 * those describe the client, not the founder's event. New reference or NULL (OOM). */
static json_t *without_dollar(json_t *props)
{
	json_t *out = json_object();
	if (!out || !json_is_object(props))
		return out;
	const char *k;
	json_t *v;
	json_object_foreach(props, k, v)
	{
		if (k[0] == '$')
			continue;
		if (json_object_set(out, k, v) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/* ---- Segment ---- */

/* One Segment event (camelCase) → ours. type is forced for /v1/track, /identify, /page,
 * else taken from the event; a type we do not know (screen, group, alias) is kept so
 * the pipeline reports it in `dropped`. Returns a new reference or NULL (OOM). */
static json_t *segment_event(json_t *in, const char *type)
{
	if (!json_is_object(in))
		return json_incref(in); /* the pipeline drops it with its index */
	json_t *e = json_object();
	if (!e)
		return NULL;
	json_t *t = type ? NULL : json_object_get(in, "type");
	int rc = type ? json_object_set_new(e, "type", json_string(type)) : copy(e, "type", in, "type");
	const char *ty = type ? type : json_is_string(t) ? json_string_value(t) : "";
	rc |= copy(e, "user_id", in, "userId");
	rc |= copy(e, "anonymous_id", in, "anonymousId");
	rc |= copy(e, "message_id", in, "messageId");
	rc |= copy(e, "timestamp", in, "timestamp");
	if (strcmp(ty, "track") == 0) {
		rc |= copy(e, "name", in, "event");
		rc |= copy(e, "properties", in, "properties");
	} else if (strcmp(ty, "identify") == 0) {
		json_t *traits = obj_at(in, "traits");
		if (!traits)
			traits = obj_at(obj_at(in, "context"), "traits");
		if (traits)
			rc |= json_object_set(e, "traits", traits);
	} else if (strcmp(ty, "page") == 0) {
		json_t *props = obj_at(in, "properties");
		json_t *cpage = obj_at(obj_at(in, "context"), "page");
		json_t *out = json_object(); /* our page vocabulary only: a url's query stays out */
		if (!out) {
			json_decref(e);
			return NULL;
		}
		json_t *path = str_at(props, "path");
		json_t *p = path ? url_path(path) : NULL;
		if (!p && (path = str_at(cpage, "path")) != NULL)
			p = url_path(path);
		if (!p && (path = str_at(props, "url")) != NULL)
			p = url_path(path);
		if (!p && (path = str_at(cpage, "url")) != NULL)
			p = url_path(path);
		if (p) {
			rc |= json_object_set(e, "name", p);
			rc |= json_object_set_new(out, "path", p);
		}
		rc |= copy(out, "title", str_at(props, "title") ? props : cpage, "title");
		rc |= set_origin(out, "referrer",
		                 str_at(props, "referrer") ? str_at(props, "referrer")
		                                           : str_at(cpage, "referrer"));
		rc |= copy(out, "name", in, "name");
		rc |= copy(out, "category", in, "category");
		rc |= json_object_set_new(e, "properties", out);
	}
	if (rc) {
		json_decref(e);
		return NULL;
	}
	return e;
}

/* ---- PostHog ---- */

/* One PostHog event → ours: $pageview → page, $autocapture → click, $identify → identify
 * with $set as traits, any other `$` event kept under its own name (the pipeline drops
 * it as an unknown type), the rest → track. distinct_id is the user id (server clients
 * capture for known users; $anon_distinct_id links the anonymous one). New reference or
 * NULL (OOM). */
static json_t *posthog_event(json_t *in)
{
	if (!json_is_object(in))
		return json_incref(in);
	json_t *e = json_object();
	if (!e)
		return NULL;
	json_t *props = obj_at(in, "properties");
	json_t *ev = json_object_get(in, "event");
	const char *name = json_is_string(ev) ? json_string_value(ev) : "";
	int rc = 0;
	if (json_object_get(in, "distinct_id"))
		rc |= copy(e, "user_id", in, "distinct_id");
	else
		rc |= copy(e, "user_id", props, "distinct_id");
	rc |= copy(e, "anonymous_id", props, "$anon_distinct_id");
	rc |= copy(e, "message_id", in, "uuid");
	rc |= copy(e, "timestamp", in, "timestamp");
	if (!json_is_string(ev)) {
		rc |= copy(e, "type", in, "event"); /* missing or not a string: dropped as such */
	} else if (strcmp(name, "$pageview") == 0) {
		rc |= json_object_set_new(e, "type", json_string("page"));
		json_t *out = json_object();
		json_t *p = url_path(str_at(props, "$current_url"));
		if (!p)
			p = url_path(str_at(props, "$pathname"));
		if (!out) {
			json_decref(p);
			json_decref(e);
			return NULL;
		}
		if (p) {
			rc |= json_object_set(e, "name", p);
			rc |= json_object_set_new(out, "path", p);
		}
		rc |= copy(out, "title", props, "title");
		rc |= set_origin(out, "referrer", str_at(props, "$referrer"));
		rc |= json_object_set_new(e, "properties", out);
	} else if (strcmp(name, "$autocapture") == 0) {
		rc |= json_object_set_new(e, "type", json_string("click"));
		json_t *out = json_object();
		json_t *els = json_object_get(props ? props : in, "$elements");
		json_t *el = json_is_array(els) ? json_array_get(els, 0) : NULL;
		json_t *text = str_at(props, "$el_text");
		if (!text)
			text = str_at(el, "$el_text");
		json_t *p = url_path(str_at(props, "$current_url"));
		if (!out) {
			json_decref(p);
			json_decref(e);
			return NULL;
		}
		if (text) {
			rc |= json_object_set(e, "name", text);
			rc |= json_object_set(out, "text", text);
		}
		rc |= copy(out, "tag", el, "tag_name");
		if (p)
			rc |= json_object_set_new(out, "path", p);
		rc |= json_object_set_new(e, "properties", out);
	} else if (strcmp(name, "$identify") == 0 || strcmp(name, "$set") == 0) {
		rc |= json_object_set_new(e, "type", json_string("identify"));
		json_t *set = obj_at(props, "$set");
		if (!set)
			set = obj_at(in, "$set");
		if (set)
			rc |= json_object_set(e, "traits", set);
	} else if (name[0] == '$') {
		rc |= json_object_set(e, "type", ev);
	} else {
		rc |= json_object_set_new(e, "type", json_string("track"));
		rc |= json_object_set(e, "name", ev);
		rc |= json_object_set_new(e, "properties", without_dollar(props));
	}
	if (rc) {
		json_decref(e);
		return NULL;
	}
	return e;
}

/* ---- translate ---- */

static int err_set(struct compat_err *err, int status, const char *code, const char *message,
                   const char *field)
{
	err->status = status;
	err->code = code;
	err->message = message;
	err->field = field;
	return -1;
}

static int oom(struct compat_err *err)
{
	return err_set(err, 503, "unavailable", "out of memory", NULL);
}

/* Maps every element of arr with fn into a new array. */
static int map_array(json_t *arr, json_t *(*fn)(json_t *, const char *), const char *type, json_t **batch,
                     struct compat_err *err)
{
	json_t *out = json_array();
	if (!out)
		return oom(err);
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (json_array_append_new(out, fn(v, type)) < 0) {
			json_decref(out);
			return oom(err);
		}
	}
	*batch = out;
	return 0;
}

static json_t *posthog_adapter(json_t *in, const char *unused)
{
	(void)unused;
	return posthog_event(in);
}

static int one(json_t *ev, json_t **batch, struct compat_err *err)
{
	json_t *out = ev ? json_array() : NULL;
	if (!ev || !out || json_array_append_new(out, ev) < 0) {
		json_decref(out);
		return oom(err);
	}
	*batch = out;
	return 0;
}

static int batch_array(json_t *doc, json_t **arr, struct compat_err *err)
{
	*arr = json_object_get(doc, "batch");
	if (!*arr)
		return err_set(err, 400, "missing_field", "batch is required", "/batch");
	if (!json_is_array(*arr))
		return err_set(err, 400, "invalid_field", "batch must be an array of events", "/batch");
	return 0;
}

int compat_translate(json_t *doc, enum ingest_dialect d, int basic_key, json_t **batch,
                     struct compat_err *err)
{
	json_t *arr = NULL;
	*batch = NULL;
	switch (d) {
	case INGEST_NATIVE: {
		if (batch_array(doc, &arr, err) < 0)
			return -1;
		int segment = basic_key || (!json_object_get(doc, "key") && json_object_get(doc, "writeKey"));
		if (!segment) {
			*batch = json_incref(arr);
			return 0;
		}
		return map_array(arr, segment_event, NULL, batch, err);
	}
	case INGEST_SEGMENT_TRACK:
		return one(segment_event(doc, "track"), batch, err);
	case INGEST_SEGMENT_IDENTIFY:
		return one(segment_event(doc, "identify"), batch, err);
	case INGEST_SEGMENT_PAGE:
		return one(segment_event(doc, "page"), batch, err);
	case INGEST_POSTHOG:
		if (json_object_get(doc, "batch")) {
			if (batch_array(doc, &arr, err) < 0)
				return -1;
			return map_array(arr, posthog_adapter, NULL, batch, err);
		}
		if (!json_object_get(doc, "event"))
			return err_set(err, 400, "missing_field", "batch or event is required", "/batch");
		return one(posthog_event(doc), batch, err);
	}
	return err_set(err, 400, "invalid_field", "unknown dialect", NULL);
}
