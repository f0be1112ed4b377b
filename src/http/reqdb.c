#include "http/reqdb.h"

#include <pthread.h>

#include "cli/install.h"
#include "core/log.h"

static pthread_key_t conn_key;
static pthread_once_t conn_once = PTHREAD_ONCE_INIT;

static void conn_destroy(void *p)
{
	store_conn_close(p);
}

static void conn_key_init(void)
{
	pthread_key_create(&conn_key, conn_destroy);
}

struct store_conn *req_conn(struct http_request *req)
{
	if (!req->inst || !req->inst->store)
		return NULL;
	pthread_once(&conn_once, conn_key_init);
	struct store_conn *c = pthread_getspecific(conn_key);
	if (c && store_errcode(c) == STORE_E_UNAVAILABLE) {
		/* the connection broke: start again on the next request's terms */
		store_conn_close(c);
		pthread_setspecific(conn_key, NULL);
		c = NULL;
	}
	if (!c) {
		char err[256];
		if (store_conn_open(req->inst->store, &c, err, sizeof(err)) < 0) {
			log_json(LOG_ERROR, "database connection failed", json_pack("{s:s}", "error", err));
			return NULL;
		}
		pthread_setspecific(conn_key, c);
	}
	return c;
}

static int mode_allowed(const struct http_request *req, enum store_mode mode)
{
	if (mode == STORE_WRITE && (req->method & (HTTP_GET | HTTP_HEAD))) {
		log_json(LOG_ERROR, "write transaction refused on a GET request",
			 json_pack("{s:s}", "route", req->route ? req->route->pattern : ""));
		return 0;
	}
	return 1;
}

int req_begin_global(struct http_request *req, enum store_mode mode, struct store_tx **out)
{
	struct store_conn *c = req_conn(req);
	if (!c || !mode_allowed(req, mode))
		return -1;
	return store_begin_global(c, mode, out);
}

int req_begin_ws(struct http_request *req, enum store_mode mode, struct store_tx **out)
{
	struct store_conn *c = req_conn(req);
	if (!c || !mode_allowed(req, mode) || req->auth.workspace_id <= 0)
		return -1;
	return store_begin_ws(c, req->auth.workspace_id, mode, out);
}

int req_db_error(struct http_request *req, struct http_response *res)
{
	struct store_conn *c = req_conn(req);
	enum store_code code = c ? store_errcode(c) : STORE_E_UNAVAILABLE;
	switch (code) {
	case STORE_E_UNAVAILABLE:
	case STORE_E_BUSY:
		http_set_header(res, "Retry-After", "2");
		return http_reply_error(req, res, 503, "unavailable", "the database is busy or unavailable; retry shortly",
					NULL);
	case STORE_E_CONFLICT:
		return http_reply_error(req, res, 409, "conflict", "a concurrent change got there first; retry", NULL);
	default:
		log_json(LOG_ERROR, "database error",
			 json_pack("{s:s, s:s}", "code", store_code_name(code), "error", c ? store_errmsg(c) : ""));
		return http_reply_error(req, res, 500, "internal", "internal error", NULL);
	}
}
