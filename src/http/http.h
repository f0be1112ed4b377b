/* HTTP request/response types shared by the server, the router and every handler. */
#ifndef DROPFIX_HTTP_H
#define DROPFIX_HTTP_H

#include <jansson.h>
#include <netinet/in.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/str.h"

struct MHD_Connection;
struct install;

enum http_method {
	HTTP_GET = 1 << 0,
	HTTP_HEAD = 1 << 1,
	HTTP_POST = 1 << 2,
	HTTP_PUT = 1 << 3,
	HTTP_PATCH = 1 << 4,
	HTTP_DELETE = 1 << 5,
	HTTP_OPTIONS = 1 << 6,
};

/* Who may call a route; the router enforces it before the handler runs. */
enum route_auth {
	AUTH_PUBLIC,    /* anyone (health, static, sign-in pages) */
	AUTH_METRICS,   /* loopback without trusted proxies, or DROPFIX_METRICS_TOKEN */
	AUTH_INGEST,    /* a workspace ingest key (pk_/sk_), checked by the ingest module */
	AUTH_SESSION,   /* a signed-in founder session, CSRF on state changes */
	AUTH_WORKSPACE, /* a session (or API token) with membership of /w/<id>/ and min_role */
};

enum role { ROLE_NONE = 0, ROLE_VIEWER, ROLE_MEMBER, ROLE_ADMIN, ROLE_OWNER };

/* Request body size classes (limits.h). Unknown routes get BODY_SMALL. */
enum body_class { BODY_SMALL, BODY_FORM, BODY_JSON, BODY_INGEST };

struct http_request;
struct http_response;
typedef int (*http_handler)(struct http_request *req, struct http_response *res);

enum route_flags {
	ROUTE_HTML = 1 << 0,        /* a browser page: errors render as HTML */
	ROUTE_NO_CSRF = 1 << 1,     /* test-build routes only: outside the CSRF gate */
	ROUTE_2FA_PENDING = 1 << 2, /* reachable with a session still at the 2FA step */
};

struct route {
	unsigned methods;    /* enum http_method bits; GET routes also answer HEAD */
	const char *pattern; /* "/w/:ws/users/:id"; `:name` matches one segment */
	http_handler handler;
	enum route_auth auth;
	enum role min_role;
	enum body_class body;
	unsigned flags;
};

#define HTTP_MAX_PARAMS 6
#define HTTP_MAX_RESPONSE_HEADERS 12

struct http_param {
	struct str name;
	struct str value; /* borrowed from the request path */
};

/* Who is calling, filled by the router's authenticators before the handler runs. */
struct http_auth {
	int64_t account_id;   /* 0 when not signed in */
	int64_t session_id;
	int stage;            /* 1 = fully signed in; 0 = second factor pending */
	int is_staff;
	int has_2fa;
	int64_t workspace_id; /* AUTH_WORKSPACE routes: the member's workspace */
	enum role role;
	char csrf[64];        /* the token forms must echo (signed in or not) */
	int64_t api_token_id; /* set when an API token (not a session) authenticated the request */
};

struct http_request {
	struct arena *arena;       /* freed when the request completes */
	const struct config *cfg;
	const struct install *inst; /* store and keyring; NULL in unit tests */
	struct http_auth auth;
	struct form *form;         /* parsed urlencoded body, or NULL */
	const struct route *route; /* NULL until routed */
	enum http_method method;
	const char *method_name;
	const char *path;          /* decoded path, no query */
	struct http_param params[HTTP_MAX_PARAMS];
	int n_params;
	struct buf body;
	char request_id[17];
	char client_ip[INET6_ADDRSTRLEN];
	int peer_loopback;         /* the TCP peer (not X-Forwarded-For) is loopback */
	int wants_html;
	struct MHD_Connection *conn;
};

struct http_response {
	int status;
	const char *content_type; /* static string */
	struct buf body;
	struct {
		const char *name; /* static string */
		char *value;      /* owned */
	} headers[HTTP_MAX_RESPONSE_HEADERS];
	int n_headers;
	int close;                /* send Connection: close */
};

/* Returns the first value of request header name (case-insensitive), or NULL. Borrowed. */
const char *http_header(const struct http_request *req, const char *name);
/* Returns the value of cookie name, or NULL. Borrowed. */
const char *http_cookie(const struct http_request *req, const char *name);
/* Returns the value of query argument name, or NULL. Borrowed. */
const char *http_query(const struct http_request *req, const char *name);
/* Returns the path parameter name from the route pattern, or an empty str. */
struct str http_param(const struct http_request *req, const char *name);

/* Adds a response header (value copied). Returns 0 or -1 when full or out of memory. */
int http_set_header(struct http_response *res, const char *name, const char *value);
/* Sets status and a JSON body (takes ownership of body). Returns 0 or -1. */
int http_reply_json(struct http_response *res, int status, json_t *body);
/* Sets status and a text body with the given content type (copied). Returns 0 or -1. */
int http_reply_text(struct http_response *res, int status, const char *content_type, const char *text,
		    size_t n);
/* Replies with the pinned error envelope {"error":{"code","message","field"}} or, for a
 * browser, an HTML error page. field (a JSON Pointer) may be NULL. Always returns 0. */
int http_reply_error(struct http_request *req, struct http_response *res, int status, const char *code,
		     const char *message, const char *field);

/* Replies with a redirect to a same-site path (303 See Other). Returns 0. */
int http_redirect(struct http_response *res, const char *location);
/* 1 when s is a safe relative return-to path: starts with one '/', no "//" or "/\"
 * prefix, no scheme, no control characters, at most 512 bytes. */
int http_safe_return_path(const char *s);
/* The request's own origin ("http://host[:port]") into out. Returns 0 or -1. */
int http_request_origin(const struct http_request *req, char *out, size_t outlen);

/* Deferred replies (the group-commit writer): a handler calls http_defer, hands the
 * handle to another thread and returns 0 at once; that thread fills the response
 * (http_deferred_response) and calls http_deferred_resume exactly once, after which the
 * handle, the request and the response are no longer its to touch. The connection is
 * suspended in between (it does not time out; shutdown waits for it). */
struct http_deferred;
/* Suspends req's connection. Returns the handle, or NULL when not called from a handler. */
struct http_deferred *http_defer(struct http_request *req);
/* The response to fill before resuming. */
struct http_response *http_deferred_response(struct http_deferred *d);
/* The request (read what you need before resuming). */
struct http_request *http_deferred_request(struct http_deferred *d);
/* Sends the filled response. Thread-safe; call once. */
void http_deferred_resume(struct http_deferred *d);

/* Server-sent event streams (the live feed). A GET handler calls http_stream_open and
 * returns 0: the reply becomes text/event-stream (security headers, Cache-Control:
 * no-store, X-Accel-Buffering: no) that stays open. Bytes are queued per stream (at most
 * LIMIT_LIVE_BUFFER; a stream whose client reads too slowly to keep under that is
 * ended) and sent as they come; in between the connection is suspended. Every stream
 * gets a ": ping" comment every LIMIT_LIVE_PING_MS (so a dead client is noticed when the
 * write fails), and ends after LIMIT_LIVE_MAX_AGE_MS (the browser reconnects, so its
 * session and membership are checked again); http_server_stop sends each one
 * "event: bye", lets it drain and end before the daemon stops. Streams carry a tag (the
 * workspace id) that publishers address; open streams are capped at LIMIT_LIVE_STREAMS
 * in all and LIMIT_LIVE_STREAMS_PER_WS per tag. */
struct http_stream;
/* Turns req's reply into an event stream tagged tag. Returns the stream, or NULL with
 * res filled (503 + Retry-After when a cap is reached or the server is stopping; 500
 * when not called from a handler or out of memory); the handler returns 0 either way.
 * The handle is the handler's only until it returns (http_stream_send). */
struct http_stream *http_stream_open(struct http_request *req, struct http_response *res, int64_t tag)
    __attribute__((warn_unused_result));
/* Queues n bytes on a stream just opened, from the handler that opened it (e.g. a
 * "retry:" line). Returns 0, or -1 when the buffer would overflow (the stream ends). */
int http_stream_send(struct http_stream *st, const char *data, size_t n) __attribute__((warn_unused_result));
/* Queues n bytes (whole SSE messages) on every open stream tagged tag, from any thread,
 * without blocking on clients. Returns how many streams took them. */
size_t http_stream_broadcast(int64_t tag, const char *data, size_t n);
/* Open streams with tag (tag 0: all). */
size_t http_stream_count(int64_t tag);

/* Body limit in bytes for a class. */
size_t http_body_limit(enum body_class c);

#endif
