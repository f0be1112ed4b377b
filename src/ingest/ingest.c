/* POST /v1/batch: key check, body decoding, per-event validation and masking, then the
 * hand-over to the group-commit writer (see ingest.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "cli/install.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/parse.h"
#include "http/health.h"
#include "http/json.h"
#include "http/reqdb.h"
#include "http/router.h"
#include "ingest/compat.h"
#include "ingest/ingest.h"
#include "ingest/ingest_config.h"
#include "ingest/ingest_identify.h"
#include "ingest/ingest_keycache.h"
#include "ingest/ingest_mask.h"
#include "ingest/ingest_rate.h"
#include "ingest/ingest_writer.h"
#include "web/keys_pages.h"

#define FEATURE_MAX 256
#define RETRY_AFTER_S "1"

/* ---- start / stop ---- */

/* AUTH_INGEST authenticator: ingestion keys travel in the body as often as in a header,
 * so the handler checks them itself (before looking at any event) and refuses with 401;
 * this gate only lets ingestion routes reach their handler. It answers nothing else:
 * a route of another class never uses it. */
static int ingest_auth(struct http_request *req, struct http_response *res)
{
	if (req->route && (req->route->handler == ingest_batch || compat_is_handler(req->route->handler)))
		return 0;
	http_reply_error(req, res, 401, "unauthenticated", "authentication required", NULL);
	return -1;
}

/* /readyz: the writer queue's depth; not ready while it is full (ingestion answers 503).
 * Also whether the aggregation is failing: reported, not a reason to take the server out
 * of a load balancer (events are still acknowledged durably and aggregated on retry). */
static int writer_ready(void *arg, json_t *detail, char *why, size_t whylen)
{
	size_t cap = (size_t)(uintptr_t)arg, depth = ingest_writer_depth();
	json_object_set_new(detail, "ingest_queue_depth", json_integer((json_int_t)depth));
	json_object_set_new(detail, "ingest_queue_capacity", json_integer((json_int_t)cap));
	json_object_set_new(detail, "ingest_aggregation_ok", json_boolean(!ingest_writer_aggregation_failing()));
	if (depth >= cap) {
		snprintf(why, whylen, "the ingestion writer queue is full");
		return -1;
	}
	return 0;
}

int ingest_start(const struct install *inst, const struct config *cfg, char *err, size_t errlen)
{
	if (ingest_writer_start(inst->store, (size_t)cfg->ingest_queue, err, errlen) < 0)
		return -1;
	router_set_auth(AUTH_INGEST, ingest_auth);
	if (health_register_check("ingest_writer", writer_ready, (void *)(uintptr_t)cfg->ingest_queue) < 0)
		log_json(LOG_WARN, "readiness check for the ingestion writer not registered (table full)",
		         NULL);
	return 0;
}

void ingest_stop(void)
{
	ingest_writer_stop();
}

int ingest_jobs_register(void)
{
	return ingest_writer_jobs_register();
}

/* ---- time ---- */

static int digits(const char *s, size_t n, size_t at, size_t len, int *out)
{
	int v = 0;
	if (at + len > n)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = s[at + i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*out = v;
	return 0;
}

int ingest_parse_time(const char *s, size_t n, int64_t *ms)
{
	int Y, M, D, h, mi, sec, frac = 0;
	if (digits(s, n, 0, 4, &Y) < 0 || n < 19 || s[4] != '-' || digits(s, n, 5, 2, &M) < 0 ||
	    s[7] != '-' || digits(s, n, 8, 2, &D) < 0 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    digits(s, n, 11, 2, &h) < 0 || s[13] != ':' || digits(s, n, 14, 2, &mi) < 0 || s[16] != ':' ||
	    digits(s, n, 17, 2, &sec) < 0)
		return -1;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (Y < 1970 || M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || mi > 59 || sec > 60)
		return -1;
	int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
	if (M == 2 && D == 29 && !leap)
		return -1;
	if (sec == 60)
		sec = 59;
	size_t i = 19;
	if (i < n && s[i] == '.') {
		i++;
		size_t nd = 0;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (nd < 3)
				frac = frac * 10 + (s[i] - '0');
			nd++;
			i++;
		}
		if (nd == 0 || nd > 9)
			return -1;
		for (; nd < 3; nd++)
			frac *= 10;
	}
	int64_t off_min = 0;
	if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i < n && (s[i] == '+' || s[i] == '-')) {
		int oh, om;
		int sign = s[i] == '-' ? -1 : 1;
		if (digits(s, n, i + 1, 2, &oh) < 0 || oh > 23)
			return -1;
		size_t j = i + 3;
		if (j < n && s[j] == ':')
			j++;
		if (digits(s, n, j, 2, &om) < 0 || om > 59)
			return -1;
		off_min = sign * (oh * 60 + om);
		i = j + 2;
	} else {
		return -1; /* UTC must be stated */
	}
	if (i != n)
		return -1;
	int64_t days = clock_days_from_civil(Y, M, D);
	*ms = ((days * 86400 + h * 3600 + mi * 60 + sec) - off_min * 60) * 1000 + frac;
	return 0;
}

/* ---- replies ---- */

static void cors(struct http_response *res)
{
	http_set_header(res, "Access-Control-Allow-Origin", "*");
	/* the SDK waits out a 429/503's Retry-After: let the browser show it to the script */
	http_set_header(res, "Access-Control-Expose-Headers", "Retry-After");
}

static int fail(struct http_request *req, struct http_response *res, int status, const char *code,
                const char *msg, const char *field)
{
	http_reply_error(req, res, status, code, msg, field);
	cors(res);
	if (status == 503)
		http_set_header(res, "Retry-After", RETRY_AFTER_S);
	return 0;
}

static int preflight(struct http_response *res)
{
	if (http_reply_text(res, 204, "text/plain", "", 0) < 0)
		return -1;
	cors(res);
	http_set_header(res, "Access-Control-Allow-Methods", "POST, OPTIONS");
	http_set_header(res, "Access-Control-Allow-Headers", "Content-Type, Content-Encoding, Authorization");
	http_set_header(res, "Access-Control-Max-Age", "86400");
	return 0;
}

/* ---- body ---- */

/* Inflates a gzip body into out (malloc'ed). Returns 0, 1 when over a cap (413),
 * -1 when not valid gzip (400), -2 out of memory. */
static int inflate_body(const char *p, size_t n, char **out, size_t *out_n)
{
	size_t cap = LIMIT_INGEST_INFLATED;
	if (n <= cap / LIMIT_INGEST_INFLATE_RATIO)
		cap = n * LIMIT_INGEST_INFLATE_RATIO;
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return -2;
	size_t size = n * 4 < 65536 ? 65536 : n * 4;
	if (size > cap + 1)
		size = cap + 1;
	char *buf = malloc(size);
	int rc = -2;
	if (!buf)
		goto done;
	zs.next_in = (Bytef *)p;
	zs.avail_in = (uInt)n;
	size_t have = 0;
	for (;;) {
		if (have == size) {
			if (size > cap) {
				rc = 1;
				goto done;
			}
			size_t nsize = size * 2 > cap + 1 ? cap + 1 : size * 2;
			char *nb = realloc(buf, nsize);
			if (!nb)
				goto done;
			buf = nb;
			size = nsize;
		}
		zs.next_out = (Bytef *)buf + have;
		zs.avail_out = (uInt)(size - have);
		int z = inflate(&zs, Z_NO_FLUSH);
		have = size - zs.avail_out;
		if (have > cap) {
			rc = 1;
			goto done;
		}
		if (z == Z_STREAM_END) {
			if (zs.avail_in != 0) {
				rc = -1; /* trailing data (a second member is not accepted) */
				goto done;
			}
			break;
		}
		if (z == Z_BUF_ERROR && zs.avail_in == 0) {
			rc = -1; /* truncated */
			goto done;
		}
		if (z != Z_OK && z != Z_BUF_ERROR) {
			rc = z == Z_MEM_ERROR ? -2 : -1;
			goto done;
		}
	}
	*out = buf;
	*out_n = have;
	buf = NULL;
	rc = 0;
done:
	free(buf);
	inflateEnd(&zs);
	return rc;
}

/* ---- events ---- */

struct ctx {
	struct http_request *req;
	int64_t now;
	int public_key;
	size_t max_props;
	size_t max_string;
	int64_t skew_ms;
	json_t *dropped;
	/* signed identify (ingest_identify.h) */
	int64_t ws;
	int require_signed; /* the workspace requires signed identify */
	int secret_key;     /* an sk_ request: its identify calls count as signed */
	int secrets_loaded;
	struct keys_text sk[4]; /* live sk_ keys (wiped by ctx_wipe) */
	size_t nsk;
};

static void ctx_wipe(struct ctx *c)
{
	for (size_t i = 0; i < sizeof(c->sk) / sizeof(c->sk[0]); i++)
		keys_text_wipe(&c->sk[i]);
	c->nsk = 0;
}

static const char *const types[] = {"track", "page", "identify", "click", "submit", "api", "session"};

static int drop(struct ctx *c, size_t index, const char *code, const char *field)
{
	char ptr[64];
	snprintf(ptr, sizeof(ptr), "/batch/%zu%s%s", index, field ? "/" : "", field ? field : "");
	json_t *d = json_pack("{s:I, s:s, s:s}", "index", (json_int_t)index, "code", code, "field", ptr);
	if (!d || json_array_append_new(c->dropped, d) < 0)
		return -1;
	return 0;
}

static char *adup(struct ctx *c, const char *s, size_t n)
{
	return arena_strndup(c->req->arena, s, n);
}

/* An id field: a string (or an integer, as some clients send) of 1..LIMIT_INGEST_ID
 * bytes. Returns 1 present (*out set), 0 absent, -1 invalid. */
static int id_field(struct ctx *c, json_t *ev, const char *name, const char **out)
{
	json_t *v = json_object_get(ev, name);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	char tmp[32];
	const char *s;
	size_t n;
	if (json_is_string(v)) {
		s = json_string_value(v);
		n = json_string_length(v);
	} else if (json_is_integer(v)) {
		n = (size_t)snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v));
		s = tmp;
	} else {
		return -1;
	}
	if (n == 0)
		return 0;
	if (n > LIMIT_INGEST_ID || memchr(s, '\0', n) ||
	    jsonin_text_check(s, n, JSONIN_NO_CTRL) != JSONIN_TEXT_OK)
		return -1;
	*out = adup(c, s, n);
	return *out ? 1 : -1;
}

/* A masked, cut copy of a string field into the arena ("" when absent). */
static const char *text_field(struct ctx *c, const char *s, size_t n, size_t max, int as_path)
{
	struct buf b;
	buf_init(&b, 0);
	size_t cut = ingest_mask_utf8_cut(s, n, max);
	int rc = as_path ? ingest_mask_path(s, cut, max, &b) : ingest_mask_text(s, cut, &b);
	const char *out = rc == 0 ? adup(c, b.p ? b.p : "", b.n) : NULL;
	buf_free(&b);
	return out;
}

/* v as compact JSON text in the arena. Most properties fit the stack buffer, which saves
 * a malloc/free pair per event on the hot path; larger ones go through json_dumps. */
static const char *json_text(struct ctx *c, json_t *v)
{
	char small[1024];
	size_t need = json_dumpb(v, small, sizeof(small), JSON_COMPACT);
	if (need > 0 && need <= sizeof(small))
		return adup(c, small, need);
	char *s = json_dumps(v, JSON_COMPACT);
	if (!s)
		return NULL;
	const char *out = adup(c, s, strlen(s));
	free(s);
	return out;
}

static int is_name_or_email(const char *k)
{
	static const char *const names[] = {"name",       "email",     "e-mail",    "mail",
	                                    "first_name", "last_name", "firstName", "lastName",
	                                    "firstname",  "lastname",  "full_name", "fullName"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(k, names[i]) == 0)
			return 1;
	return 0;
}

static const char *str_prop(json_t *props, const char *k, size_t *n)
{
	json_t *v = props ? json_object_get(props, k) : NULL;
	if (!json_is_string(v))
		return NULL;
	*n = json_string_length(v);
	return json_string_value(v);
}

/* Signed identify (PRODUCT §2): checks dropfix_hash/dropfix_signed_at against the live
 * sk_ keys, applies the workspace's "require signed identify" setting, and takes the
 * plain name and e-mail aside for sealing. A presented signature that does not verify
 * drops the event on any workspace. Returns 1 go on, 0 dropped (recorded), -1 error. */
static int identify_check(struct ctx *c, json_t *traits, const char *pname, size_t index,
                          struct ingest_event *e)
{
	json_t *h = traits ? json_object_get(traits, "dropfix_hash") : NULL;
	json_t *sa = traits ? json_object_get(traits, "dropfix_signed_at") : NULL;
	char fh[64], fs[64];
	snprintf(fh, sizeof(fh), "%s/dropfix_hash", pname);
	snprintf(fs, sizeof(fs), "%s/dropfix_signed_at", pname);
	if (h && !json_is_null(h)) {
		struct ingest_signed_traits t;
		char tmp[4][32];
		int64_t at = 0;
		if (!e->user_id)
			return drop(c, index, "missing_field", "user_id") < 0 ? -1 : 0;
		if (!json_is_string(h))
			return drop(c, index, "invalid_signature", fh) < 0 ? -1 : 0;
		if (json_is_integer(sa))
			at = json_integer_value(sa);
		else if (!json_is_string(sa) ||
		         parse_i64(json_string_value(sa), json_string_length(sa), 0, INT64_MAX / 2, &at) < 0)
			return drop(c, index, "invalid_signature", fs) < 0 ? -1 : 0;
		if (ingest_identify_traits(traits, &t, tmp) < 0)
			return drop(c, index, "invalid_signature", pname) < 0 ? -1 : 0;
		if (!c->secrets_loaded) {
			struct store_tx *tx = NULL;
			if (req_begin_global(c->req, STORE_READ, &tx) < 0)
				return -1;
			int lr = keys_live_secrets(tx, c->req->inst->keys, c->ws, c->now, c->sk,
			                           sizeof(c->sk) / sizeof(c->sk[0]), &c->nsk);
			store_rollback(tx);
			if (lr < 0)
				return -1;
			c->secrets_loaded = 1;
		}
		const char *keys[sizeof(c->sk) / sizeof(c->sk[0])];
		for (size_t i = 0; i < c->nsk; i++)
			keys[i] = c->sk[i].s;
		switch (ingest_identify_verify(keys, c->nsk, e->user_id, at, &t, json_string_value(h),
		                               json_string_length(h), clock_now_s())) {
		case INGEST_SIGN_OK:
			e->signed_ok = 1;
			break;
		case INGEST_SIGN_STALE:
			return drop(c, index, "signature_expired", fs) < 0 ? -1 : 0;
		case INGEST_SIGN_FUTURE:
			return drop(c, index, "signature_in_future", fs) < 0 ? -1 : 0;
		default:
			return drop(c, index, "invalid_signature", fh) < 0 ? -1 : 0;
		}
	} else if (c->secret_key) {
		e->signed_ok = 1; /* the request is authenticated by the signing secret itself */
	} else if (c->require_signed) {
		return drop(c, index, "unsigned_identify", pname) < 0 ? -1 : 0;
	}
	json_t *em = traits ? json_object_get(traits, "email") : NULL;
	json_t *nm = traits ? json_object_get(traits, "name") : NULL;
	if (json_is_string(em) && json_string_length(em) > 0) {
		size_t n = ingest_mask_utf8_cut(json_string_value(em), json_string_length(em), c->max_string);
		if (!(e->plain_email = adup(c, json_string_value(em), n)))
			return -1;
	}
	if (json_is_string(nm) && json_string_length(nm) > 0) {
		size_t n = ingest_mask_utf8_cut(json_string_value(nm), json_string_length(nm), c->max_string);
		if (!(e->plain_name = adup(c, json_string_value(nm), n)))
			return -1;
	}
	return 1;
}

/* Validates and converts one event. Returns 1 accepted (*e filled), 0 dropped (recorded),
 * -1 out of memory. */
static int one_event(struct ctx *c, json_t *ev, size_t index, struct ingest_event *e)
{
	memset(e, 0, sizeof(*e));
	if (!json_is_object(ev))
		return drop(c, index, "invalid_field", NULL) < 0 ? -1 : 0;
	json_t *t = json_object_get(ev, "type");
	if (!t || json_is_null(t))
		return drop(c, index, "missing_field", "type") < 0 ? -1 : 0;
	if (!json_is_string(t))
		return drop(c, index, "invalid_field", "type") < 0 ? -1 : 0;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(json_string_value(t), types[i]) == 0)
			e->type = types[i];
	if (!e->type)
		return drop(c, index, "invalid_field", "type") < 0 ? -1 : 0;

	int r = id_field(c, ev, "user_id", &e->user_id);
	if (r < 0)
		return drop(c, index, "invalid_field", "user_id") < 0 ? -1 : 0;
	r = id_field(c, ev, "anonymous_id", &e->anonymous_id);
	if (r < 0)
		return drop(c, index, "invalid_field", "anonymous_id") < 0 ? -1 : 0;
	if (!e->user_id && !e->anonymous_id)
		return drop(c, index, "missing_field", "user_id") < 0 ? -1 : 0;
	r = id_field(c, ev, "message_id", &e->message_id);
	if (r < 0)
		return drop(c, index, "invalid_field", "message_id") < 0 ? -1 : 0;

	json_t *ts = json_object_get(ev, "timestamp");
	if (!ts || json_is_null(ts)) {
		e->event_ms = c->now;
	} else if (json_is_string(ts)) {
		if (ingest_parse_time(json_string_value(ts), json_string_length(ts), &e->event_ms) < 0)
			return drop(c, index, "invalid_field", "timestamp") < 0 ? -1 : 0;
	} else if (json_is_integer(ts) && json_integer_value(ts) >= 0 &&
	           json_integer_value(ts) < INT64_C(253402300800000)) {
		e->event_ms = json_integer_value(ts);
	} else {
		return drop(c, index, "invalid_field", "timestamp") < 0 ? -1 : 0;
	}
	if (e->event_ms > c->now + c->skew_ms)
		e->event_ms = c->now; /* far future: clamped to the time received */
	if (c->public_key && e->event_ms < c->now - LIMIT_INGEST_PAST_PK_MS)
		return drop(c, index, "too_old", "timestamp") < 0 ? -1 : 0;

	int identify = strcmp(e->type, "identify") == 0;
	const char *pname = identify ? "traits" : "properties";
	json_t *props = json_object_get(ev, pname);
	if (identify && (!props || json_is_null(props))) {
		props = json_object_get(ev, "properties");
		pname = "properties";
	}
	if (props && json_is_null(props))
		props = NULL;
	if (props && !json_is_object(props))
		return drop(c, index, "invalid_field", pname) < 0 ? -1 : 0;
	if (props && json_object_size(props) > c->max_props)
		return drop(c, index, "too_many_fields", pname) < 0 ? -1 : 0;

	if (identify) {
		int ir = identify_check(c, props, pname, index, e);
		if (ir <= 0)
			return ir;
	}
	json_t *masked = props ? ingest_mask_json(props, c->max_string) : json_object();
	if (!masked)
		return -1;
	if (identify) {
		const char *k;
		void *tmp;
		json_t *v;
		json_object_foreach_safe(masked, tmp, k, v)
		{
			(void)v;
			if (is_name_or_email(k) || strncmp(k, "dropfix_", 8) == 0)
				json_object_del(masked, k);
		}
	}
	e->props = json_text(c, masked);
	if (identify && e->props)
		e->traits = e->props;

	/* name and feature key by type */
	json_t *nm = json_object_get(ev, "name");
	const char *name = json_is_string(nm) ? json_string_value(nm) : "";
	size_t name_n = json_is_string(nm) ? json_string_length(nm) : 0;
	char feature[2 * FEATURE_MAX + 32];
	feature[0] = '\0';
	size_t pn = 0;
	const char *p;
	if (strcmp(e->type, "page") == 0) {
		if (!name_n && (p = str_prop(props, "path", &pn)) != NULL) {
			name = p;
			name_n = pn;
		}
		e->name = text_field(c, name, name_n, c->max_string, 1);
		if (e->name)
			snprintf(feature, sizeof(feature), "page %s", e->name);
	} else if (strcmp(e->type, "api") == 0) {
		size_t mn = 0;
		const char *method = str_prop(props, "method", &mn);
		char m[16] = "GET";
		if (method && mn > 0 && mn < sizeof(m)) {
			for (size_t i = 0; i < mn; i++)
				m[i] = (method[i] >= 'a' && method[i] <= 'z') ? (char)(method[i] - 32)
				                                              : method[i];
			m[mn] = '\0';
			for (size_t i = 0; i < mn; i++)
				if (m[i] < 'A' || m[i] > 'Z')
					snprintf(m, sizeof(m), "OTHER");
		}
		p = str_prop(props, "path", &pn);
		if (!p && name_n) { /* "METHOD /path" */
			const char *sp = memchr(name, ' ', name_n);
			p = sp ? sp + 1 : name;
			pn = sp ? name_n - (size_t)(sp + 1 - name) : name_n;
		}
		const char *path = text_field(c, p ? p : "/", p ? pn : 1, c->max_string, 1);
		if (path) {
			char full[FEATURE_MAX + 1];
			snprintf(full, sizeof(full), "%s %s", m, path);
			e->name = adup(c, full, strlen(full));
			snprintf(feature, sizeof(feature), "api %s", full);
		}
		json_t *status = props ? json_object_get(props, "status") : NULL;
		e->api_error = json_is_integer(status) && json_integer_value(status) >= 400;
	} else {
		e->name = text_field(c, name, name_n, LIMIT_INGEST_NAME, 0);
		if (e->name && e->name[0] &&
		    (strcmp(e->type, "track") == 0 || strcmp(e->type, "click") == 0 ||
		     strcmp(e->type, "submit") == 0))
			snprintf(feature, sizeof(feature), "%s %s", e->type, e->name);
		if (strcmp(e->type, "click") == 0)
			e->rage = json_is_true(props ? json_object_get(props, "rage") : NULL);
	}
	json_decref(masked);
	if (!e->props || !e->name)
		return -1;
	if (feature[0]) {
		size_t fn = ingest_mask_utf8_cut(feature, strlen(feature), FEATURE_MAX);
		e->feature = adup(c, feature, fn);
		if (!e->feature)
			return -1;
	}
	return 1;
}

/* ---- the handler ---- */

static int bearer_key(struct http_request *req, const char **key, size_t *n)
{
	const char *a = http_header(req, "Authorization");
	if (!a)
		return 0;
	if (strncasecmp(a, "Bearer ", 7) != 0)
		return 0; /* other schemes are the compatibility endpoints' business */
	*key = a + 7;
	while (**key == ' ')
		(*key)++;
	*n = strlen(*key);
	while (*n && (*key)[*n - 1] == ' ')
		(*n)--;
	return 1;
}

/* The per-IP limit on requests with unknown keys (ARCHITECTURE §8b "Unauthenticated
 * ingest work"): checked before the body is inflated or parsed, charged per 401. */
static void charge_unknown_key(struct http_request *req, int64_t now)
{
	(void)ingest_rate_take(ingest_rate_ip_key(req->client_ip), 1, now, LIMIT_INGEST_BADKEY_PER_S,
	                       LIMIT_INGEST_BADKEY_BURST);
}

/* Resolves a key, and reads the workspace's "require signed identify" and "consent
 * required" settings (keys page) in the same read transaction; a live key's answer is
 * cached for at most INGEST_KEYCACHE_TTL_MS (ingest_config_key, ingest_keycache.h), unknown
 * keys are never cached. Returns 0 (ok), or replies (401/403/503) and returns -1. */
static int check_key(struct http_request *req, struct http_response *res, const char *key, size_t n,
                     int64_t now, int64_t *ws, enum keys_kind *kind, int *require_signed,
                     int *consent_required)
{
	struct ingest_keycache_val hit;
	int found = ingest_config_key(req, key, n, now, &hit);
	if (found == 1) {
		*ws = hit.ws;
		*kind = hit.kind;
		*require_signed = hit.require_signed;
		*consent_required = hit.consent_required;
	}
	if (found < 0) {
		fail(req, res, 503, "unavailable", "the database is not available; retry later", NULL);
		return -1;
	}
	if (found == 0) {
		charge_unknown_key(req, now);
		fail(req, res, 401, "unknown_key", "the key is not a live key of any workspace", "/key");
		return -1;
	}
	if (*kind == KEYS_SECRET && http_header(req, "Origin")) {
		fail(req, res, 403, "secret_key_in_browser",
		     "a secret key must not be used from a browser; use the public key", "/key");
		return -1;
	}
	return 0;
}

int ingest_batch(struct http_request *req, struct http_response *res)
{
	return ingest_handle(req, res, INGEST_NATIVE);
}

/* The one pipeline for every dialect; compat.h translates the others' keys and events. */
int ingest_handle(struct http_request *req, struct http_response *res, enum ingest_dialect dialect)
{
	if (req->method == HTTP_OPTIONS)
		return preflight(res);
	int64_t now = clock_now_ms();
	int64_t ws = 0;
	enum keys_kind kind = KEYS_PUBLIC;
	int require_signed = 0, consent_required = 0;
	const char *key = NULL;
	size_t key_n = 0;
	int64_t ip_wait = ingest_rate_blocked(ingest_rate_ip_key(req->client_ip), now,
	                                      LIMIT_INGEST_BADKEY_PER_S, LIMIT_INGEST_BADKEY_BURST);
	if (ip_wait > 0) {
		char ra[24];
		snprintf(ra, sizeof(ra), "%lld", (long long)ip_wait);
		fail(req, res, 429, "rate_limited", "too many requests with unknown keys from this address",
		     NULL);
		http_set_header(res, "Retry-After", ra);
		return 0;
	}
	int have_key = bearer_key(req, &key, &key_n), basic_key = 0;
	if (!have_key)
		have_key = basic_key = compat_basic_key(req, &key, &key_n);
	if (have_key && check_key(req, res, key, key_n, now, &ws, &kind, &require_signed, &consent_required) < 0)
		return 0;

	const char *enc = http_header(req, "Content-Encoding");
	const char *body = req->body.p ? req->body.p : "";
	size_t body_n = req->body.n;
	char *inflated = NULL;
	if (enc && strcasecmp(enc, "gzip") == 0) {
		size_t in_n = 0;
		int z = inflate_body(body, body_n, &inflated, &in_n);
		if (z == 1)
			return fail(req, res, 413, "too_large",
			            "the body is larger than allowed once inflated", NULL);
		if (z == -1)
			return fail(req, res, 400, "invalid_gzip", "the body is not valid gzip", NULL);
		if (z < 0)
			return fail(req, res, 503, "unavailable", "out of memory", NULL);
		body = inflated;
		body_n = in_n;
	} else if (enc && strcasecmp(enc, "identity") != 0) {
		return fail(req, res, 415, "unsupported_encoding",
		            "Content-Encoding must be gzip or identity", NULL);
	}

	json_t *doc = NULL;
	struct jsonin_error jerr = {0};
	int loaded = jsonin_load(body, body_n, LIMIT_INGEST_INFLATED, &doc, &jerr);
	free(inflated);
	if (loaded < 0)
		return fail(req, res, jsonin_error_status(&jerr), jerr.code, jerr.message,
		            jerr.field[0] ? jerr.field : NULL);
	struct ingest_batch *b = NULL;
	json_t *dropped = NULL, *batch = NULL;
	if (!json_is_object(doc)) {
		fail(req, res, 400, "invalid_json", "the body must be a JSON object", NULL);
		goto done;
	}
	if (!have_key) {
		json_t *k = compat_body_key(doc, dialect);
		if (!k) {
			charge_unknown_key(req, now);
			fail(req, res, 401, "missing_key",
			     "a key is required (\"key\" or Authorization: Bearer)", "/key");
			goto done;
		}
		if (!json_is_string(k)) {
			charge_unknown_key(req, now);
			fail(req, res, 401, "unknown_key", "the key is not a live key of any workspace",
			     "/key");
			goto done;
		}
		if (check_key(req, res, json_string_value(k), json_string_length(k), now, &ws, &kind,
		              &require_signed, &consent_required) < 0)
			goto done;
	}
	struct compat_err cerr = {0};
	if (compat_translate(doc, dialect, basic_key, &batch, &cerr) < 0) {
		fail(req, res, cerr.status, cerr.code, cerr.message, cerr.field);
		goto done;
	}
	size_t n = json_array_size(batch);
	if (n > (size_t)req->cfg->ingest_max_events) {
		fail(req, res, 413, "too_many_events", "the batch holds more events than allowed", "/batch");
		goto done;
	}
	/* pk_ (browser) traffic: the visitor's (workspace, client IP) sub-bucket first, so one
	 * visitor cannot use up the workspace's bucket (ingest_rate.h) */
	int64_t ip_wait_s = kind == KEYS_PUBLIC ? ingest_rate_ip_take(ws, req->client_ip, n ? n : 1, now,
	                                                              req->cfg->ingest_ip_rate,
	                                                              req->cfg->ingest_ip_burst)
	                                        : 0;
	int64_t wait_s = ip_wait_s > 0 ? ip_wait_s
	                               : ingest_rate_take(ws, n ? n : 1, now, req->cfg->ingest_rate, req->cfg->ingest_burst);
	if (wait_s > 0) {
		char ra[24];
		snprintf(ra, sizeof(ra), "%lld", (long long)wait_s);
		fail(req, res, 429, "rate_limited",
		     ip_wait_s > 0 ? "this address is sending events to this workspace faster than allowed"
		                   : "this workspace is sending events faster than its rate limit",
		     NULL);
		http_set_header(res, "Retry-After", ra);
		goto done;
	}
	dropped = json_array();
	b = arena_alloc(req->arena, sizeof(*b));
	struct ingest_event *ev = n ? arena_alloc(req->arena, n * sizeof(*ev)) : NULL;
	if (!dropped || !b || (n && !ev)) {
		fail(req, res, 503, "unavailable", "out of memory", NULL);
		goto done;
	}
	memset(b, 0, sizeof(*b));
	struct ctx c = {
	    .req = req,
	    .now = now,
	    .public_key = kind == KEYS_PUBLIC,
	    .max_props = (size_t)req->cfg->ingest_max_properties,
	    .max_string = (size_t)req->cfg->ingest_max_string,
	    .skew_ms = (int64_t)req->cfg->ingest_skew_s * 1000,
	    .dropped = dropped,
	    .ws = ws,
	    .require_signed = require_signed,
	    .secret_key = kind == KEYS_SECRET,
	};
	size_t accepted = 0;
	/* consent mode (ingest_config.h): a browser batch counts only with the SDK's consent flag */
	int no_consent = consent_required && kind == KEYS_PUBLIC && !json_is_true(json_object_get(doc, "consent"));
	for (size_t i = 0; i < n; i++) {
		int r = no_consent ? (drop(&c, i, "no_consent", NULL) < 0 ? -1 : 0)
		                   : one_event(&c, json_array_get(batch, i), i, &ev[accepted]);
		if (r < 0) {
			ctx_wipe(&c);
			fail(req, res, 503, "unavailable", "out of memory", NULL);
			goto done;
		}
		accepted += (size_t)r;
	}
	ctx_wipe(&c);
	if (accepted == 0 && n > 0) {
		json_t *first = json_array_get(dropped, 0);
		struct jsonin_error e = {0};
		struct jsonin_ptr at;
		jsonin_ptr_init(&at);
		jsonin_error_set(&e, "invalid_field", NULL,
		                 "no event in the batch is acceptable (%zu dropped)", n);
		json_t *env = jsonin_error_json(&e);
		if (env) {
			json_t *err = json_object_get(env, "error");
			json_object_set(err, "code", json_object_get(first, "code"));
			json_object_set(err, "field", json_object_get(first, "field"));
			json_object_set_new(env, "accepted", json_integer(0));
			json_object_set(env, "dropped", dropped);
		}
		if (!env || http_reply_json(res, 400, env) < 0)
			fail(req, res, 400, "invalid_field", "no event in the batch is acceptable", "/batch");
		cors(res);
		goto done;
	}
	if (accepted == 0) { /* an empty batch: nothing to store */
		http_reply_json(res, 200, json_pack("{s:i, s:[]}", "accepted", 0, "dropped"));
		cors(res);
		goto done;
	}
	if (ingest_writer_reserve(accepted) < 0) {
		fail(req, res, 503, "unavailable", "too many events are waiting to be stored; retry later",
		     NULL);
		goto done;
	}
	b->workspace_id = ws;
	b->received_ms = now;
	b->ev = ev;
	b->n = accepted;
	b->kr = req->inst->keys;
	b->linked_only = require_signed && kind == KEYS_PUBLIC;
	b->dropped = dropped;
	dropped = NULL;
	json_decref(batch);
	batch = NULL;
	json_decref(doc);
	doc = NULL;
	b->d = http_defer(req);
	if (!b->d) { /* not reachable from the router; answer rather than lose the batch */
		ingest_writer_unreserve(accepted);
		json_decref(b->dropped);
		return fail(req, res, 500, "internal", "cannot defer the reply", NULL);
	}
	ingest_writer_submit(b);
	return 0;
done:
	json_decref(dropped);
	json_decref(batch);
	json_decref(doc);
	return 0;
}

#ifdef DROPFIX_TEST_HOOKS
int ingest_test_pause(struct http_request *req, struct http_response *res)
{
	json_t *doc = NULL;
	struct jsonin_error err = {0};
	if (jsonin_load(req->body.p ? req->body.p : "", req->body.n, 1024, &doc, &err) < 0)
		return http_reply_error(req, res, 400, err.code, err.message, NULL);
	int paused = json_is_true(json_object_get(doc, "paused"));
	json_decref(doc);
	ingest_writer_test_pause(paused);
	return http_reply_json(
	    res, 200, json_pack("{s:b, s:I}", "paused", paused, "depth", (json_int_t)ingest_writer_depth()));
}
#endif
