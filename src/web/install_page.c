#include "web/install_page.h"

#include <jansson.h>
#include <stdio.h>

#include "cli/install.h"
#include "core/clock.h"
#include "http/reqdb.h"
#include "http/sdk_serve.h"
#include "store/store.h"
#include "web/keys_pages.h"
#include "web/shell.h"

/* The workspace's current public key into out and the arrival time of its newest event
 * into *last_ms (0 when none yet). Returns 1 when there is a key, 0 when not, -1 on a store
 * error. */
static int load_state(struct http_request *req, struct keys_text *out, int64_t *last_ms)
{
	struct store_tx *tx = NULL;
	*last_ms = 0;
	if (req_begin_ws(req, STORE_READ, &tx) < 0)
		return -1;
	int have = keys_current_public(tx, req->inst->keys, req->auth.workspace_id, out);
	/* The newest event by the primary key (workspace_id, id): one index step, no scan. */
	if (have >= 0 &&
	    store_query_i64(tx,
	                    "SELECT received_ms FROM events WHERE workspace_id = $1 ORDER BY id DESC LIMIT 1",
	                    NULL, 0, last_ms) < 0)
		have = -1;
	store_rollback(tx);
	return have;
}

/* "2026-11-29 05:51 UTC", or JSON null for 0. */
static json_t *time_json(int64_t ms)
{
	char t[32], out[40];
	if (ms <= 0 || clock_format_ms(ms, t, sizeof(t)) < 0)
		return json_null();
	t[16] = '\0';
	t[10] = ' ';
	snprintf(out, sizeof(out), "%s UTC", t);
	return json_string(out);
}

int install_page(struct http_request *req, struct http_response *res)
{
	struct keys_text pk;
	char origin[256] = "", sri[128];
	int64_t last_ms = 0;
	int have = load_state(req, &pk, &last_ms);
	if (have < 0)
		return req_db_error(req, res);
	json_t *ctx = shell_context(req, res, "install");
	if (!ctx)
		return req_db_error(req, res);
	/* The script is served by this server: its public base URL, else this request's origin. */
	const char *base = req->cfg->base_url;
	if (!base || !*base) {
		if (http_request_origin(req, origin, sizeof(origin)) != 0)
			origin[0] = '\0';
		base = origin;
	}
	json_object_set_new(ctx, "title", json_string("Install"));
	json_object_set_new(ctx, "base", json_string(base));
	if (have)
		json_object_set_new(ctx, "public_key", json_string(pk.s));
	json_object_set_new(ctx, "last_event", time_json(last_ms));
	char status_url[96];
	snprintf(status_url, sizeof(status_url), "/api/v1/w/%lld/install/status", (long long)req->auth.workspace_id);
	json_object_set_new(ctx, "status_url", json_string(status_url));
	const struct sdk_file *rel = sdk_current_release();
	if (rel && sdk_sri(rel, sri, sizeof(sri)) == 0)
		json_object_set_new(ctx, "pinned", json_pack("{s:s,s:s}", "version", rel->name, "sri", sri));
	return shell_render(req, res, 200, "install", ctx);
}

/* ISO 8601 UTC of ms, or JSON null for 0. */
static json_t *iso_json(int64_t ms)
{
	char t[32];
	if (ms <= 0 || clock_format_ms(ms, t, sizeof(t)) < 0)
		return json_null();
	return json_string(t);
}

int install_status_api(struct http_request *req, struct http_response *res)
{
	struct store_tx *tx = NULL;
	int64_t n = 0, first_ms = 0, last_ms = 0;
	if (req_begin_ws(req, STORE_READ, &tx) < 0)
		return req_db_error(req, res);
	/* index steps on the primary key (workspace_id, id); the count stops at the cap + 1 */
	if (store_query_i64(tx,
	                    "SELECT count(*) FROM (SELECT id FROM events WHERE workspace_id = $1 LIMIT $2) capped",
	                    STORE_ARGS(SP_I64(INSTALL_STATUS_COUNT_CAP + 1)), &n) < 0 ||
	    (n > 0 &&
	     (store_query_i64(tx, "SELECT received_ms FROM events WHERE workspace_id = $1 ORDER BY id ASC LIMIT 1",
	                      STORE_NO_ARGS, &first_ms) < 0 ||
	      store_query_i64(tx, "SELECT received_ms FROM events WHERE workspace_id = $1 ORDER BY id DESC LIMIT 1",
	                      STORE_NO_ARGS, &last_ms) < 0))) {
		store_rollback(tx);
		return req_db_error(req, res);
	}
	store_rollback(tx);
	int capped = n > INSTALL_STATUS_COUNT_CAP;
	json_t *body = json_pack("{s:I, s:b, s:o, s:o}", "events", (json_int_t)(capped ? INSTALL_STATUS_COUNT_CAP : n),
	                         "events_capped", capped, "first_event_at", iso_json(first_ms), "last_event_at",
	                         iso_json(last_ms));
	if (!body)
		return http_reply_error(req, res, 503, "unavailable", "out of memory", NULL);
	return http_reply_json(res, 200, body);
}
