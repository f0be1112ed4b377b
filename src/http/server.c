#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/parse.h"
#include "http/form.h"
#include "http/metrics.h"
#include "http/router.h"

struct http_server {
	struct MHD_Daemon *daemon;
	const struct install *inst;
	int64_t body_deadline_ms;
	const struct config *cfg;
	const struct route *routes;
	size_t n_routes;
	atomic_long in_flight;
	char *tls_cert_pem;
	char *tls_key_pem;
};

/* Per-request state, created by the URI-log callback, freed on completion. */
struct request_ctx {
	struct http_request req;
	struct http_response res;
	struct http_server *server;
	int64_t start_ns;
	size_t body_limit;
	int state; /* 0 new, 1 reading body, 2 responded, 3 refused mid-body, 4 deferred, 5 resumed,
		    * 6 event stream opened by the handler (http_stream_open) */
	struct http_stream *stream; /* state 6: the open event stream, unlinked on completion */
	int status;
	size_t discarded;           /* body bytes dropped after a mid-body refusal */
	int refuse_status;          /* the refusal to send once the body has ended */
	const char *refuse_code;
	const char *refuse_message;
	size_t bytes_out;
};

static const char CSP[] = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
			  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

size_t http_body_limit(enum body_class c)
{
	switch (c) {
	case BODY_FORM:
		return LIMIT_BODY_FORM;
	case BODY_JSON:
		return LIMIT_BODY_JSON_API;
	case BODY_INGEST:
		return LIMIT_BODY_INGEST;
	case BODY_SMALL:
	default:
		return LIMIT_BODY_SMALL;
	}
}

const char *http_header(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_cookie(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

const char *http_query(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct str http_param(const struct http_request *req, const char *name)
{
	struct str want = str_from_cstr(name);
	for (int i = 0; i < req->n_params; i++)
		if (str_eq(req->params[i].name, want))
			return req->params[i].value;
	return (struct str){"", 0};
}

/* ---- header inspection for the first call ---- */

struct header_scan {
	int content_length_count;
	int transfer_encoding_count;
	const char *transfer_encoding;
	const char *content_length;
	int host_count;
	struct buf xff; /* every X-Forwarded-For value, comma-joined */
};

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	struct header_scan *h = cls;
	if (strcasecmp(key, "Content-Length") == 0) {
		h->content_length_count++;
		h->content_length = value;
	} else if (strcasecmp(key, "Transfer-Encoding") == 0) {
		h->transfer_encoding_count++;
		h->transfer_encoding = value;
	} else if (strcasecmp(key, "Host") == 0) {
		h->host_count++;
	} else if (strcasecmp(key, "X-Forwarded-For") == 0 && value) {
		if (h->xff.n)
			buf_putc(&h->xff, ',');
		buf_puts(&h->xff, value);
	}
	return MHD_YES;
}

static int is_loopback_name(const char *host, size_t n)
{
	static const char *const names[] = {"localhost", "127.0.0.1", "[::1]"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && strncasecmp(host, names[i], n) == 0)
			return 1;
	return 0;
}

/* 1 when the Host header names this installation. */
static int host_allowed(const struct config *cfg, const char *host)
{
	if (strcasecmp(host, cfg->base_host) == 0)
		return 1;
	if (!cfg->listen_loopback)
		return 0;
	/* development: loopback names on any port */
	size_t n = strlen(host);
	const char *colon = host[0] == '[' ? strchr(host, ']') : strrchr(host, ':');
	if (host[0] == '[' && colon)
		colon = colon[1] == ':' ? colon + 1 : (colon[1] ? NULL : colon + 1);
	size_t name_len = colon ? (size_t)(colon - host) : n;
	if (colon && *colon == ':') {
		int64_t port;
		if (parse_i64_cstr(colon + 1, 1, 65535, &port) < 0)
			return 0;
	}
	return is_loopback_name(host, name_len);
}

/* Sets req->client_ip: the peer, or behind trusted proxies the right-most X-Forwarded-For
 * address that is not itself a trusted proxy. */
static void resolve_client_ip(struct request_ctx *ctx, const char *xff)
{
	struct http_request *req = &ctx->req;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	int family = AF_UNSPEC;
	unsigned char addr[16] = {0};
	if (ci && ci->client_addr) {
		family = ci->client_addr->sa_family;
		if (family == AF_INET) {
			memcpy(addr, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, 4);
			req->peer_loopback = addr[0] == 127;
		} else if (family == AF_INET6) {
			memcpy(addr, &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr, 16);
			req->peer_loopback = IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)addr);
		}
		inet_ntop(family, addr, req->client_ip, sizeof(req->client_ip));
	}
	const struct config *cfg = ctx->server->cfg;
	if (!xff || !*xff || cfg->n_trusted_proxies == 0 || !config_is_trusted_proxy(cfg, family, addr))
		return;
	size_t end = strlen(xff);
	while (end > 0) {
		size_t start = end;
		while (start > 0 && xff[start - 1] != ',')
			start--;
		char one[INET6_ADDRSTRLEN + 1];
		size_t a = start, b = end;
		while (a < b && (xff[a] == ' ' || xff[a] == '\t'))
			a++;
		while (b > a && (xff[b - 1] == ' ' || xff[b - 1] == '\t'))
			b--;
		if (b - a == 0 || b - a >= sizeof(one))
			return; /* malformed: keep the proxy's address */
		memcpy(one, xff + a, b - a);
		one[b - a] = '\0';
		unsigned char cand[16] = {0};
		int cfam = inet_pton(AF_INET, one, cand) == 1 ? AF_INET : inet_pton(AF_INET6, one, cand) == 1 ? AF_INET6 : 0;
		if (!cfam)
			return;
		inet_ntop(cfam, cand, req->client_ip, sizeof(req->client_ip));
		if (!config_is_trusted_proxy(cfg, cfam, cand))
			return;
		end = start > 0 ? start - 1 : 0;
	}
}

/* ---- responses ---- */

static int wants_html(const char *accept)
{
	return accept && strstr(accept, "text/html") != NULL;
}

static void response_reset(struct http_response *res)
{
	for (int i = 0; i < res->n_headers; i++)
		free(res->headers[i].value);
	res->n_headers = 0;
	buf_free(&res->body);
	res->status = 0;
	res->content_type = NULL;
}

static void add_common_headers(struct request_ctx *ctx, struct MHD_Response *r);

/* Builds the MHD response from ctx->res, adds the headers every response carries, and
 * queues it. Returns the MHD result. */
static enum MHD_Result send_response(struct request_ctx *ctx)
{
	struct http_response *res = &ctx->res;
	if (res->body.oom) {
		response_reset(res);
		http_reply_error(&ctx->req, res, 500, "internal", "response too large", NULL);
	}
	size_t len = res->body.n;
	char *body = buf_detach(&res->body, NULL);
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body ? body : (char *)"", body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	if (res->content_type)
		MHD_add_response_header(r, "Content-Type", res->content_type);
	add_common_headers(ctx, r);
	ctx->status = res->status ? res->status : 500;
	ctx->bytes_out = len;
	ctx->state = 2;
	enum MHD_Result ok = MHD_queue_response(ctx->req.conn, (unsigned)ctx->status, r);
	MHD_destroy_response(r);
	return ok;
}

/* The headers every response carries, then the handler's own, Cache-Control: no-store
 * unless it set one, the request id and Connection: close when asked. */
static void add_common_headers(struct request_ctx *ctx, struct MHD_Response *r)
{
	struct http_response *res = &ctx->res;
	const struct config *cfg = ctx->server->cfg;
	MHD_add_response_header(r, "Content-Security-Policy", CSP);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
	if (cfg->base_url_https)
		MHD_add_response_header(r, "Strict-Transport-Security", "max-age=63072000; includeSubDomains");
	int has_cache_control = 0;
	for (int i = 0; i < res->n_headers; i++) {
		if (strcasecmp(res->headers[i].name, "Cache-Control") == 0)
			has_cache_control = 1;
		MHD_add_response_header(r, res->headers[i].name, res->headers[i].value);
	}
	if (!has_cache_control)
		MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Request-Id", ctx->req.request_id);
	if (res->close)
		MHD_add_response_header(r, "Connection", "close");
}

static enum MHD_Result reject(struct request_ctx *ctx, int status, const char *code, const char *message)
{
	response_reset(&ctx->res);
	http_reply_error(&ctx->req, &ctx->res, status, code, message, NULL);
	ctx->res.close = 1;
	return send_response(ctx);
}

/* ---- deferred replies (suspended connections) ---- */

struct http_deferred *http_defer(struct http_request *req)
{
	struct request_ctx *ctx = (struct request_ctx *)req; /* req is the first member */
	if (ctx->state != 1)
		return NULL;
	MHD_suspend_connection(req->conn);
	ctx->state = 4;
	return (struct http_deferred *)ctx;
}

struct http_response *http_deferred_response(struct http_deferred *d)
{
	return &((struct request_ctx *)d)->res;
}

struct http_request *http_deferred_request(struct http_deferred *d)
{
	return &((struct request_ctx *)d)->req;
}

void http_deferred_resume(struct http_deferred *d)
{
	struct request_ctx *ctx = (struct request_ctx *)d;
	struct MHD_Connection *conn = ctx->req.conn;
	ctx->state = 5;
	/* ctx may be freed inside this call: nothing of it is read afterwards */
	MHD_resume_connection(conn);
}

/* ---- event streams (server-sent events) ----
 *
 * One lock (S.mu) guards the registry and every stream's queue and flags. The content
 * reader runs on the connection's MHD thread: it hands out queued bytes, or, with none
 * queued, suspends the connection itself and returns 0. Only a stream whose reader set
 * `suspended` is resumed, and the flag is cleared in the same locked region, so a
 * connection is never resumed before it was suspended nor resumed twice. A stream is
 * freed when both the connection (on_request_done, which also unlinks it) and the MHD
 * response (its free callback) have let go of it; publishers reach streams only through
 * the registry under the lock, so none can hold a stream that is being freed. Closing
 * streams never suspend again, so after http_server_stop has ended them no connection
 * is left suspended when MHD_stop_daemon runs. */

struct http_stream {
	struct MHD_Connection *conn; /* NULL once the request completed */
	int64_t tag;
	char *buf; /* LIMIT_LIVE_BUFFER bytes; [off, n) still to send */
	size_t n, off;
	int suspended; /* the reader suspended the connection and nobody resumed it yet */
	int closing;   /* end once the queue has drained */
	int failed;    /* overflowed: end at once */
	int refs;      /* the connection and the MHD response */
	int64_t opened_ns; /* clock_mono_ns at open: ended after S.max_age_ms */
	struct http_stream *next;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC; wakes the heartbeat thread to quit */
	int cv_ready;
	struct http_stream *head;
	size_t count;
	int stopping; /* refuse new streams */
	int ping_running, ping_quit;
	int64_t ping_ms;
	int64_t max_age_ms;
	pthread_t ping_thread;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

static const char STREAM_PING[] = ": ping\n\n";
static const char STREAM_BYE[] = "event: bye\ndata: {}\n\n";

/* Locked. Resumes st's connection if (and only if) its reader suspended it. */
static void stream_wake(struct http_stream *st)
{
	if (st->suspended && st->conn) {
		st->suspended = 0;
		MHD_resume_connection(st->conn);
	}
}

/* Locked. Drops one reference; frees st at the last. */
static void stream_unref(struct http_stream *st)
{
	if (--st->refs > 0)
		return;
	free(st->buf);
	free(st);
}

/* Locked. Appends n bytes to st's queue and wakes it. 0, or -1 when st is ending or
 * would overflow (then it is marked failed and woken so its reader ends it). */
static int stream_queue(struct http_stream *st, const char *data, size_t n)
{
	if (st->failed || st->closing || !st->conn)
		return -1;
	if (st->off > 0) {
		memmove(st->buf, st->buf + st->off, st->n - st->off);
		st->n -= st->off;
		st->off = 0;
	}
	if (n > LIMIT_LIVE_BUFFER - st->n) {
		st->failed = 1;
		stream_wake(st);
		return -1;
	}
	memcpy(st->buf + st->n, data, n);
	st->n += n;
	stream_wake(st);
	return 0;
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *out, size_t max)
{
	(void)pos;
	struct http_stream *st = cls;
	ssize_t rc;
	pthread_mutex_lock(&S.mu);
	if (st->failed) {
		rc = MHD_CONTENT_READER_END_WITH_ERROR;
	} else if (st->n > st->off) {
		size_t k = st->n - st->off < max ? st->n - st->off : max;
		memcpy(out, st->buf + st->off, k);
		st->off += k;
		if (st->off == st->n)
			st->off = st->n = 0;
		rc = (ssize_t)k;
	} else if (st->closing || !st->conn) {
		rc = MHD_CONTENT_READER_END_OF_STREAM;
	} else {
		/* nothing queued: park the connection until a publisher (or the heartbeat,
		 * or shutdown) queues bytes and resumes it */
		st->suspended = 1;
		MHD_suspend_connection(st->conn);
		rc = 0;
	}
	pthread_mutex_unlock(&S.mu);
	return rc;
}

static void stream_response_free(void *cls)
{
	pthread_mutex_lock(&S.mu);
	stream_unref(cls);
	pthread_mutex_unlock(&S.mu);
}

/* Unlinks ctx's stream at request completion. */
static void stream_detach(struct request_ctx *ctx)
{
	struct http_stream *st = ctx->stream;
	if (!st)
		return;
	pthread_mutex_lock(&S.mu);
	for (struct http_stream **pp = &S.head; *pp; pp = &(*pp)->next) {
		if (*pp == st) {
			*pp = st->next;
			S.count--;
			break;
		}
	}
	st->conn = NULL;
	st->suspended = 0;
	stream_unref(st);
	pthread_mutex_unlock(&S.mu);
	ctx->stream = NULL;
}

static size_t count_locked(int64_t tag)
{
	if (tag == 0)
		return S.count;
	size_t n = 0;
	for (struct http_stream *st = S.head; st; st = st->next)
		if (st->tag == tag)
			n++;
	return n;
}

struct http_stream *http_stream_open(struct http_request *req, struct http_response *res, int64_t tag)
{
	struct request_ctx *ctx = (struct request_ctx *)req; /* req is the first member */
	if (ctx->state != 1 || ctx->stream) {
		http_reply_error(req, res, 500, "internal", "an event stream cannot be opened here", NULL);
		return NULL;
	}
	struct http_stream *st = calloc(1, sizeof(*st));
	char *buf = malloc(LIMIT_LIVE_BUFFER);
	if (!st || !buf) {
		free(st);
		free(buf);
		http_reply_error(req, res, 503, "unavailable", "out of memory", NULL);
		http_set_header(res, "Retry-After", "5");
		return NULL;
	}
	pthread_mutex_lock(&S.mu);
	if (S.stopping || S.count >= LIMIT_LIVE_STREAMS || count_locked(tag) >= LIMIT_LIVE_STREAMS_PER_WS) {
		int stopping = S.stopping;
		pthread_mutex_unlock(&S.mu);
		free(st);
		free(buf);
		http_reply_error(req, res, 503, "unavailable",
				 stopping ? "the server is stopping" : "too many live streams are open; retry later", NULL);
		http_set_header(res, "Retry-After", stopping ? "5" : "30");
		return NULL;
	}
	st->conn = req->conn;
	st->tag = tag;
	st->buf = buf;
	st->refs = 1; /* the connection's */
	st->opened_ns = clock_mono_ns();
	st->next = S.head;
	S.head = st;
	S.count++;
	pthread_mutex_unlock(&S.mu);
	ctx->stream = st;
	ctx->state = 6;
	return st;
}

int http_stream_send(struct http_stream *st, const char *data, size_t n)
{
	pthread_mutex_lock(&S.mu);
	int rc = stream_queue(st, data, n);
	pthread_mutex_unlock(&S.mu);
	return rc;
}

size_t http_stream_broadcast(int64_t tag, const char *data, size_t n)
{
	size_t took = 0;
	pthread_mutex_lock(&S.mu);
	for (struct http_stream *st = S.head; st; st = st->next)
		if (st->tag == tag && stream_queue(st, data, n) == 0)
			took++;
	pthread_mutex_unlock(&S.mu);
	return took;
}

size_t http_stream_count(int64_t tag)
{
	pthread_mutex_lock(&S.mu);
	size_t n = count_locked(tag);
	pthread_mutex_unlock(&S.mu);
	return n;
}

/* Queues the handler's stream as the reply (state 6). */
static enum MHD_Result send_stream(struct request_ctx *ctx)
{
	struct http_stream *st = ctx->stream;
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_reader, st,
								    stream_response_free);
	if (!r) {
		pthread_mutex_lock(&S.mu);
		st->failed = 1;
		pthread_mutex_unlock(&S.mu);
		ctx->state = 1;
		response_reset(&ctx->res);
		http_reply_error(&ctx->req, &ctx->res, 503, "unavailable", "out of memory", NULL);
		return send_response(ctx);
	}
	pthread_mutex_lock(&S.mu);
	st->refs++; /* the response's, dropped by stream_response_free */
	pthread_mutex_unlock(&S.mu);
	MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	ctx->res.status = 200;
	add_common_headers(ctx, r);
	ctx->status = 200;
	enum MHD_Result ok = MHD_queue_response(ctx->req.conn, 200, r);
	MHD_destroy_response(r);
	return ok;
}

static void *ping_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&S.mu);
	while (!S.ping_quit) {
		int64_t due = clock_mono_ns() + S.ping_ms * 1000000;
		struct timespec ts = {(time_t)(due / 1000000000), (long)(due % 1000000000)};
		while (!S.ping_quit && clock_mono_ns() < due)
			pthread_cond_timedwait(&S.cv, &S.mu, &ts);
		if (S.ping_quit)
			break;
		/* a dead client's connection fails on this write and is closed; a stream past
		 * its age ends, so the browser reconnects and its session and membership are
		 * checked again (a signed-out or removed member stops receiving) */
		int64_t now = clock_mono_ns();
		for (struct http_stream *st = S.head; st; st = st->next) {
			(void)stream_queue(st, STREAM_PING, sizeof(STREAM_PING) - 1);
			if (!st->closing && now - st->opened_ns >= S.max_age_ms * 1000000) {
				st->closing = 1;
				stream_wake(st);
			}
		}
	}
	pthread_mutex_unlock(&S.mu);
	return NULL;
}

/* Starts the heartbeat thread (once per process). 0 or -1. */
static int streams_start(char *err, size_t errlen)
{
	pthread_mutex_lock(&S.mu);
	S.stopping = 0;
	if (S.ping_running) {
		pthread_mutex_unlock(&S.mu);
		return 0;
	}
	if (!S.cv_ready) {
		pthread_condattr_t a;
		pthread_condattr_init(&a);
		pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
		int crc = pthread_cond_init(&S.cv, &a);
		pthread_condattr_destroy(&a);
		if (crc != 0) {
			pthread_mutex_unlock(&S.mu);
			snprintf(err, errlen, "cannot start the stream heartbeat");
			return -1;
		}
		S.cv_ready = 1;
	}
	S.ping_ms = LIMIT_LIVE_PING_MS;
	S.max_age_ms = LIMIT_LIVE_MAX_AGE_MS;
#ifdef DROPFIX_TEST_HOOKS
	int64_t v;
	if (parse_i64_cstr(getenv("DROPFIX_TEST_LIVE_PING_MS"), 10, LIMIT_LIVE_PING_MS, &v) == 0)
		S.ping_ms = v;
	if (parse_i64_cstr(getenv("DROPFIX_TEST_LIVE_MAX_AGE_MS"), 10, LIMIT_LIVE_MAX_AGE_MS, &v) == 0)
		S.max_age_ms = v;
#endif
	S.ping_quit = 0;
	if (pthread_create(&S.ping_thread, NULL, ping_main, NULL) != 0) {
		pthread_mutex_unlock(&S.mu);
		snprintf(err, errlen, "cannot start the stream heartbeat");
		return -1;
	}
	S.ping_running = 1;
	pthread_mutex_unlock(&S.mu);
	return 0;
}

/* Shutdown: no new streams; every open one gets "event: bye" and ends once drained. */
static void streams_end_all(void)
{
	pthread_mutex_lock(&S.mu);
	S.stopping = 1;
	for (struct http_stream *st = S.head; st; st = st->next) {
		(void)stream_queue(st, STREAM_BYE, sizeof(STREAM_BYE) - 1);
		st->closing = 1;
		stream_wake(st);
	}
	pthread_mutex_unlock(&S.mu);
}

static void streams_stop_ping(void)
{
	pthread_mutex_lock(&S.mu);
	int running = S.ping_running;
	S.ping_quit = 1;
	if (S.cv_ready)
		pthread_cond_broadcast(&S.cv);
	pthread_mutex_unlock(&S.mu);
	if (running)
		pthread_join(S.ping_thread, NULL);
	pthread_mutex_lock(&S.mu);
	S.ping_running = 0;
	pthread_mutex_unlock(&S.mu);
}

/* ---- the request lifecycle ---- */

/* Records a refusal decided while the body is still arriving; sent when it ends. */
static void refuse_after_body(struct request_ctx *ctx, int status, const char *code, const char *message)
{
	ctx->state = 3;
	ctx->refuse_status = status;
	ctx->refuse_code = code;
	ctx->refuse_message = message;
	buf_free(&ctx->req.body);
}

/* Request ids: unique, not secret — a random per-thread prefix and a counter, so the
 * hot path makes no system call for randomness. */
static void next_request_id(char out[17])
{
	static _Thread_local uint32_t prefix;
	static _Thread_local uint32_t counter;
	if (!prefix)
		prefix = randombytes_random() | 1u;
	snprintf(out, 17, "%08x%08x", prefix, ++counter);
}

static void *on_request_start(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)uri; /* never logged: tokens travel in URLs */
	struct http_server *s = cls;
	struct request_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return NULL;
	ctx->req.arena = arena_new(LIMIT_ARENA_BYTES);
	if (!ctx->req.arena) {
		free(ctx);
		return NULL;
	}
	ctx->server = s;
	ctx->start_ns = clock_mono_ns();
	ctx->req.cfg = s->cfg;
	ctx->req.inst = s->inst;
	ctx->req.conn = conn;
	next_request_id(ctx->req.request_id);
	atomic_fetch_add(&s->in_flight, 1);
	return ctx;
}

static void on_request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
			    enum MHD_RequestTerminationCode toe)
{
	(void)conn;
	struct http_server *s = cls;
	struct request_ctx *ctx = *con_cls;
	if (!ctx)
		return;
	int64_t dur_us = (clock_mono_ns() - ctx->start_ns) / 1000;
	const char *pattern = ctx->req.route ? ctx->req.route->pattern : "(none)";
	metrics_observe_request(ctx->req.route ? (int)(ctx->req.route - s->routes) : -1, ctx->status, dur_us);
	if (log_enabled(LOG_INFO)) {
		json_t *f = json_pack("{s:s, s:s, s:i, s:f, s:s, s:I, s:I}", "route", pattern, "method",
				      ctx->req.method_name ? ctx->req.method_name : "", "status", ctx->status, "ms",
				      (double)dur_us / 1000.0, "rid", ctx->req.request_id, "bytes_in",
				      (json_int_t)ctx->req.body.n, "bytes_out", (json_int_t)ctx->bytes_out);
		if (f && toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
			json_object_set_new(f, "aborted", json_true());
		log_json(LOG_INFO, "request", f);
	}
	stream_detach(ctx);
	response_reset(&ctx->res);
	if (ctx->req.form)
		form_free(ctx->req.form);
	buf_free(&ctx->req.body);
	arena_free(ctx->req.arena);
	free(ctx);
	*con_cls = NULL;
	atomic_fetch_sub(&s->in_flight, 1);
}

/* First call: headers are in. Rejects ambiguity, routes, applies the body limit. */
static enum MHD_Result first_call(struct request_ctx *ctx, const char *url, const char *method,
				  const char *version)
{
	struct http_request *req = &ctx->req;
	const struct config *cfg = ctx->server->cfg;
	req->method_name = arena_strndup(req->arena, method, strlen(method));
	req->method = router_method(method);
	req->wants_html = wants_html(http_header(req, "Accept"));

	struct header_scan h = {0};
	buf_init(&h.xff, 4096);
	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, scan_header, &h);
	resolve_client_ip(ctx, h.xff.oom ? NULL : h.xff.p);
	buf_free(&h.xff);

	if (h.content_length_count > 1)
		return reject(ctx, 400, "bad_request", "more than one Content-Length header");
	if (h.transfer_encoding_count > 1)
		return reject(ctx, 400, "bad_request", "more than one Transfer-Encoding header");
	if (h.transfer_encoding_count && h.content_length_count)
		return reject(ctx, 400, "bad_request", "Content-Length together with Transfer-Encoding");
	if (h.transfer_encoding_count && strcasecmp(h.transfer_encoding, "chunked") != 0)
		return reject(ctx, 400, "bad_request", "Transfer-Encoding other than chunked");
	int http11 = strcmp(version, "HTTP/1.1") == 0;
	const char *host = http_header(req, "Host");
	if (h.host_count > 1 || (http11 && (!host || !*host)))
		return reject(ctx, 400, "bad_request", "HTTP/1.1 needs exactly one Host header");
	if (host && !host_allowed(cfg, host))
		return reject(ctx, 400, "bad_host", "the Host header does not name this installation");

	size_t path_len = strlen(url);
	if (path_len > LIMIT_URI_BYTES)
		return reject(ctx, 414, "uri_too_long", "the request path is too long");
	req->path = arena_strndup(req->arena, url, path_len);
	if (!req->path)
		return reject(ctx, 500, "internal", "out of memory");

	struct router_match m;
	router_match(ctx->server->routes, ctx->server->n_routes, req->method, req->path, req, &m);
	req->route = m.route;
	ctx->body_limit = http_body_limit(m.route ? m.route->body : BODY_SMALL);
	if (m.route && (m.route->flags & ROUTE_HTML))
		req->wants_html = 1;

	if (h.content_length_count) {
		int64_t cl;
		if (parse_i64_cstr(h.content_length, 0, INT64_MAX, &cl) < 0)
			return reject(ctx, 400, "bad_request", "Content-Length is not a number");
		if ((uint64_t)cl > ctx->body_limit)
			return reject(ctx, 413, "payload_too_large", "the request body is larger than this endpoint accepts");
	}
	buf_init(&req->body, ctx->body_limit);
	ctx->state = 1;
	return MHD_YES;
}

/* Body complete: authorise and run the handler. */
static enum MHD_Result dispatch(struct request_ctx *ctx)
{
	struct http_request *req = &ctx->req;
	struct http_response *res = &ctx->res;
	if (!req->route) {
		struct router_match m;
		router_match(ctx->server->routes, ctx->server->n_routes, req->method, req->path, req, &m);
		if (m.allowed) {
			struct buf allow;
			buf_init(&allow, 256);
			static const char *const names[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
			for (int i = 0; i < 7; i++) {
				if (m.allowed & (1u << i)) {
					if (allow.n)
						buf_puts(&allow, ", ");
					buf_puts(&allow, names[i]);
				}
			}
			http_reply_error(req, res, 405, "method_not_allowed", "this method is not allowed here", NULL);
			http_set_header(res, "Allow", allow.p ? allow.p : "");
			buf_free(&allow);
		} else {
			http_reply_error(req, res, 404, "not_found", "no such page", NULL);
		}
		return send_response(ctx);
	}
	const char *ctype = http_header(req, "Content-Type");
	if (req->body.n && ctype && strncasecmp(ctype, "application/x-www-form-urlencoded", 33) == 0) {
		struct jsonin_error ferr = {0};
		req->form = arena_alloc(req->arena, sizeof(*req->form));
		if (!req->form) {
			http_reply_error(req, res, 503, "unavailable", "out of memory", NULL);
			return send_response(ctx);
		}
		if (form_parse(req->form, req->body.p, req->body.n, ctx->body_limit, &ferr) < 0) {
			http_reply_error(req, res, jsonin_error_status(&ferr), ferr.code, ferr.message,
					 ferr.field[0] ? ferr.field : NULL);
			return send_response(ctx);
		}
	}
	if (router_authorize(req, res) == 0) {
		int hrc = req->route->handler(req, res);
		if (ctx->state == 4 || ctx->state == 5)
			return MHD_YES; /* deferred: another thread answers and resumes (maybe already) */
		if (ctx->state == 6)
			return send_stream(ctx);
		if (hrc < 0 && res->status == 0)
			http_reply_error(req, res, 500, "internal", "internal error", NULL);
	}
	if (res->status == 0)
		http_reply_error(req, res, 500, "internal", "the handler produced no response", NULL);
	return send_response(ctx);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	(void)cls;
	(void)conn;
	struct request_ctx *ctx = *con_cls;
	if (!ctx)
		return MHD_NO; /* out of memory at request start: drop the connection */
	if (ctx->state == 2 || ctx->state == 6) {
		*upload_data_size = 0; /* already answered; discard what else arrives */
		return MHD_YES;
	}
	if (ctx->state == 0)
		return first_call(ctx, url, method, version);
	if (ctx->state == 5) {
		/* resumed after a deferred reply: libmicrohttpd calls again with no upload */
		*upload_data_size = 0;
		if (ctx->res.status == 0)
			http_reply_error(&ctx->req, &ctx->res, 500, "internal", "the deferred reply produced no response", NULL);
		return send_response(ctx);
	}
	if (ctx->state == 4) {
		*upload_data_size = 0;
		return MHD_YES;
	}

	int64_t elapsed_ms = (clock_mono_ns() - ctx->start_ns) / 1000000;
	if (ctx->state == 3) {
		/* libmicrohttpd can only queue a response once the body has ended: drop what
		 * arrives, bounded in bytes and time, then answer. */
		if (*upload_data_size) {
			ctx->discarded += *upload_data_size;
			*upload_data_size = 0;
			if (ctx->discarded > 4 * LIMIT_BODY_INGEST || elapsed_ms > ctx->server->body_deadline_ms)
				return MHD_NO;
			return MHD_YES;
		}
		return reject(ctx, ctx->refuse_status, ctx->refuse_code, ctx->refuse_message);
	}
	if (*upload_data_size) {
		if (elapsed_ms > ctx->server->body_deadline_ms)
			refuse_after_body(ctx, 408, "request_timeout", "the request body took too long to arrive");
		else if (ctx->req.body.n + *upload_data_size > ctx->body_limit)
			refuse_after_body(ctx, 413, "payload_too_large", "the request body is larger than this endpoint accepts");
		else if (buf_append(&ctx->req.body, upload_data, *upload_data_size) < 0)
			refuse_after_body(ctx, 503, "unavailable", "out of memory");
		*upload_data_size = 0;
		if (ctx->state == 3 && elapsed_ms > ctx->server->body_deadline_ms)
			return MHD_NO;
		return MHD_YES;
	}
	return dispatch(ctx);
}

static char *read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	struct buf b;
	buf_init(&b, 1024 * 1024);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	if (b.oom) {
		snprintf(err, errlen, "%s is too large", path);
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static void wipe_free(char *p)
{
	if (p) {
		sodium_memzero(p, strlen(p));
		free(p);
	}
}

int http_server_start(const struct config *cfg, const struct install *inst, const struct route *routes,
		      size_t n_routes, struct http_server **out, char *err, size_t errlen)
{
	struct http_server *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->cfg = cfg;
	s->inst = inst;
	s->routes = routes;
	s->n_routes = n_routes;
	s->body_deadline_ms = LIMIT_BODY_DEADLINE_MS;
#ifdef DROPFIX_TEST_HOOKS
	int64_t deadline;
	if (parse_i64_cstr(getenv("DROPFIX_TEST_BODY_DEADLINE_MS"), 1, LIMIT_BODY_DEADLINE_MS, &deadline) == 0)
		s->body_deadline_ms = deadline;
#endif
	metrics_init(routes, n_routes);

	struct sockaddr_storage sa;
	memset(&sa, 0, sizeof(sa));
	const char *host = strcmp(cfg->listen_host, "localhost") == 0 ? "127.0.0.1" : cfg->listen_host;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&sa)->sin_addr) == 1) {
		((struct sockaddr_in *)&sa)->sin_family = AF_INET;
		((struct sockaddr_in *)&sa)->sin_port = htons(cfg->listen_port);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&sa)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&sa)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&sa)->sin6_port = htons(cfg->listen_port);
		flags |= MHD_USE_IPv6;
	} else {
		snprintf(err, errlen, "DROPFIX_LISTEN: cannot use host %s", cfg->listen_host);
		free(s);
		return -1;
	}
	struct MHD_OptionItem tls_opts[4];
	memset(tls_opts, 0, sizeof(tls_opts));
	tls_opts[0].option = MHD_OPTION_END;
	if (cfg->tls_cert && cfg->tls_cert[0]) {
		s->tls_cert_pem = read_file(cfg->tls_cert, err, errlen);
		if (!s->tls_cert_pem)
			goto fail;
		s->tls_key_pem = read_file(cfg->tls_key, err, errlen);
		if (!s->tls_key_pem)
			goto fail;
		flags |= MHD_USE_TLS;
		tls_opts[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert_pem};
		tls_opts[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key_pem};
		tls_opts[2] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
						      (void *)"SECURE256:+SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE"};
		tls_opts[3] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	}
	/* Behind trusted proxies every connection comes from a proxy's address: the per-client
	 * connection limit belongs to the proxy (docs/nginx/dropfix.conf limit_conn). */
	unsigned per_ip_limit = cfg->n_trusted_proxies ? 0 : (unsigned)LIMIT_CONNECTIONS_PER_IP;
	s->daemon = MHD_start_daemon(
		flags, cfg->listen_port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->http_threads, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)LIMIT_CONN_MEMORY, MHD_OPTION_CONNECTION_LIMIT, (unsigned)LIMIT_CONNECTIONS,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip_limit, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)LIMIT_IDLE_TIMEOUT_S, MHD_OPTION_STRICT_FOR_CLIENT, (int)1, MHD_OPTION_URI_LOG_CALLBACK,
		on_request_start, s, MHD_OPTION_NOTIFY_COMPLETED, on_request_done, s, MHD_OPTION_LISTEN_BACKLOG_SIZE,
		(unsigned)1024, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
	if (!s->daemon) {
		snprintf(err, errlen, "cannot listen on %s (address in use, not local, or bad TLS files?)", cfg->listen);
		goto fail;
	}
	if (streams_start(err, errlen) < 0) {
		MHD_stop_daemon(s->daemon);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	wipe_free(s->tls_cert_pem);
	wipe_free(s->tls_key_pem);
	free(s);
	return -1;
}

long http_server_in_flight(const struct http_server *s)
{
	return atomic_load(&s->in_flight);
}

int http_server_stop(struct http_server *s, int grace_ms)
{
	if (!s)
		return 0;
	MHD_socket fd = MHD_quiesce_daemon(s->daemon);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	/* end every event stream first: a suspended connection never times out, and
	 * MHD_stop_daemon must not run while any is suspended */
	streams_end_all();
	int64_t deadline = clock_mono_ns() + (int64_t)grace_ms * 1000000;
	while (atomic_load(&s->in_flight) > 0 && clock_mono_ns() < deadline)
		usleep(10000);
	long left = atomic_load(&s->in_flight);
	streams_stop_ping();
	MHD_stop_daemon(s->daemon);
	wipe_free(s->tls_cert_pem);
	wipe_free(s->tls_key_pem);
	free(s);
	return (int)left;
}
