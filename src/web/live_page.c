#include "web/live_page.h"

#include <jansson.h>
#include <string.h>

#include "core/clock.h"
#include "core/limits.h"
#include "http/reqdb.h"
#include "store/store.h"
#include "web/shell.h"

/* Loads the latest events into ctx.events. 0, or -1 on a store failure. */
static int load(struct http_request *req, json_t *ctx)
{
	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	int rc = -1;
	if (req_begin_ws(req, STORE_READ, &tx) < 0)
		return -1;
	if (store_query(tx,
	                "SELECT type, name, user_id, event_ms FROM events WHERE workspace_id = $1 "
	                "ORDER BY id DESC LIMIT $2",
	                STORE_ARGS(SP_I64(LIMIT_LIVE_RECENT)), &r) < 0)
		goto done;
	json_t *list = json_array();
	if (!list || json_object_set_new(ctx, "events", list) < 0)
		goto done;
	int st;
	while ((st = store_step(r)) == 1) {
		size_t tn = 0, nn = 0, un = 0;
		const char *type = store_col_text(r, 0, &tn);
		const char *name = store_col_text(r, 1, &nn);
		const char *user = store_col_is_null(r, 2) ? NULL : store_col_text(r, 2, &un);
		char iso[32], when[40];
		if (clock_format_ms(store_col_i64(r, 3), iso, sizeof(iso)) < 0) {
			iso[0] = when[0] = '\0';
		} else {
			memcpy(when, iso, 19);
			when[10] = ' ';
			memcpy(when + 19, " UTC", 5);
		}
		json_t *row = json_pack("{s:s%, s:s%, s:s%, s:s, s:s}", "type", type ? type : "", tn, "name",
		                        name ? name : "", nn, "user", user ? user : "", un, "iso", iso, "when", when);
		if (!row || json_array_append_new(list, row) < 0)
			goto done;
	}
	if (st < 0)
		goto done;
	rc = 0;
done:
	store_rows_close(r);
	store_rollback(tx);
	return rc;
}

int live_page(struct http_request *req, struct http_response *res)
{
	json_t *ctx = shell_context(req, res, "live");
	if (!ctx)
		return req_db_error(req, res);
	json_object_set_new(ctx, "title", json_string("Live events"));
	json_object_set_new(ctx, "recent", json_integer(LIMIT_LIVE_RECENT));
	if (load(req, ctx) < 0) {
		json_decref(ctx);
		return req_db_error(req, res);
	}
	return shell_render(req, res, 200, "live", ctx);
}

int live_page_stream(struct http_request *req, struct http_response *res)
{
	struct http_stream *st = http_stream_open(req, res, req->auth.workspace_id);
	if (!st)
		return 0; /* res holds the refusal */
	/* reconnect after 5 s; the comment makes the headers and a first chunk go out now */
	static const char hello[] = "retry: 5000\n: live\n\n";
	if (http_stream_send(st, hello, sizeof(hello) - 1) < 0)
		return 0; /* cannot happen on an empty stream; it would end at once */
	return 0;
}
