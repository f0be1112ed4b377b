#include "web/install_page.h"

#include <jansson.h>
#include <stdio.h>

#include "cli/install.h"
#include "http/reqdb.h"
#include "http/sdk_serve.h"
#include "store/store.h"
#include "web/keys_pages.h"
#include "web/shell.h"

/* The workspace's current public key into out; 1 when there is one, 0 when not, -1 on a
 * store error. */
static int current_pk(struct http_request *req, struct keys_text *out)
{
	struct store_tx *tx = NULL;
	if (req_begin_ws(req, STORE_READ, &tx) < 0)
		return -1;
	int have = keys_current_public(tx, req->inst->keys, req->auth.workspace_id, out);
	store_rollback(tx);
	return have;
}

int install_page(struct http_request *req, struct http_response *res)
{
	struct keys_text pk;
	char origin[256] = "", sri[128];
	int have = current_pk(req, &pk);
	if (have < 0)
		return req_db_error(req, res);
	json_t *ctx = shell_context(req, res, NULL);
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
	const struct sdk_file *rel = sdk_current_release();
	if (rel && sdk_sri(rel, sri, sizeof(sri)) == 0)
		json_object_set_new(ctx, "pinned", json_pack("{s:s,s:s}", "version", rel->name, "sri", sri));
	return shell_render(req, res, 200, "install", ctx);
}
