/* Database access from request handlers: one store connection per server thread,
 * opened on first use, and transactions whose mode follows the request method — GET and
 * HEAD handlers only ever get read-only transactions (ARCHITECTURE §8b "Requests"). */
#ifndef DROPFIX_REQDB_H
#define DROPFIX_REQDB_H

#include "http/http.h"
#include "store/store.h"

/* The calling thread's connection to req->inst's store, or NULL (err logged) when it
 * cannot be opened. Borrowed; closed when the thread exits. */
struct store_conn *req_conn(struct http_request *req);
/* Begins a global transaction. mode is downgraded to nothing: a WRITE on a GET/HEAD
 * request is refused (-1), so a state change on GET fails loudly. Returns 0 or -1. */
int req_begin_global(struct http_request *req, enum store_mode mode, struct store_tx **out)
	__attribute__((warn_unused_result));
/* Begins a transaction scoped to req->auth.workspace_id (set by the router for
 * workspace routes), with the same mode rule. Returns 0 or -1. */
int req_begin_ws(struct http_request *req, enum store_mode mode, struct store_tx **out)
	__attribute__((warn_unused_result));
/* Replies for a failed store call on this thread's connection: 503 + Retry-After when
 * the database is unavailable or busy, 409 for a conflict, 500 otherwise. Returns 0. */
int req_db_error(struct http_request *req, struct http_response *res);

#endif
