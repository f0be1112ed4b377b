/* GET /v1/config and the key resolution of ingestion (see ingest_config.h). */
#include "ingest/ingest_config.h"

#include <stdio.h>
#include <string.h>

#include "cli/install.h"
#include "core/clock.h"
#include "core/limits.h"
#include "http/json.h"
#include "http/reqdb.h"
#include "ingest/ingest_rate.h"
#include "store/store.h"

int ingest_config_key(struct http_request *req, const char *key, size_t n, int64_t now,
                      struct ingest_keycache_val *out)
{
	if (ingest_keycache_get(key, n, now, out) == 1)
		return 1;
	uint64_t gen = ingest_keycache_gen();
	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	if (req_begin_global(req, STORE_READ, &tx) < 0)
		return -1;
	int64_t until = INT64_MAX;
	memset(out, 0, sizeof(*out));
	int found = keys_lookup_until(tx, key, n, now, &out->ws, &out->kind, &until);
	if (found == 1) {
		if (store_query(tx,
		                "SELECT require_signed_identify, consent_required, honor_dnt FROM workspaces "
		                "WHERE id = $1",
		                STORE_ARGS(SP_I64(out->ws)), &r) < 0) {
			found = -1;
		} else {
			int st = store_step(r);
			if (st == 1) {
				out->require_signed = store_col_i64(r, 0) == 1;
				out->consent_required = store_col_i64(r, 1) == 1;
				out->honor_dnt = store_col_i64(r, 2) == 1;
			} else {
				found = st < 0 ? -1 : 0; /* the workspace went away */
			}
			store_rows_close(r);
		}
	}
	store_rollback(tx);
	if (found == 1)
		ingest_keycache_put(key, n, gen, until, out);
	return found;
}

static void cors(struct http_response *res)
{
	http_set_header(res, "Access-Control-Allow-Origin", "*");
	http_set_header(res, "Access-Control-Expose-Headers", "Retry-After");
}

static int refuse(struct http_request *req, struct http_response *res, int status, const char *code,
                  const char *msg, int64_t retry_s)
{
	http_reply_error(req, res, status, code, msg, status == 429 ? NULL : "/key");
	cors(res);
	http_set_header(res, "Cache-Control", "no-store");
	if (retry_s > 0) {
		char ra[24];
		snprintf(ra, sizeof(ra), "%lld", (long long)retry_s);
		http_set_header(res, "Retry-After", ra);
	}
	return 0;
}

int ingest_config(struct http_request *req, struct http_response *res)
{
	int64_t now = clock_now_ms();
	int64_t ipk = ingest_rate_ip_key(req->client_ip);
	int64_t wait = ingest_rate_blocked(ipk, now, LIMIT_INGEST_BADKEY_PER_S, LIMIT_INGEST_BADKEY_BURST);
	if (wait > 0)
		return refuse(req, res, 429, "rate_limited",
		              "too many requests with unknown keys from this address", wait);
	const char *key = http_query(req, "key");
	struct ingest_keycache_val v;
	int found = key ? ingest_config_key(req, key, strlen(key), now, &v) : 0;
	if (found < 0)
		return refuse(req, res, 503, "unavailable", "the database is not available; retry later", 1);
	if (found == 0) {
		(void)ingest_rate_take(ipk, 1, now, LIMIT_INGEST_BADKEY_PER_S, LIMIT_INGEST_BADKEY_BURST);
		return refuse(
		    req, res, 401, key ? "unknown_key" : "missing_key",
		    key ? "the key is not a live key of any workspace" : "a key is required (?key=pk_…)", 0);
	}
	if (v.kind == KEYS_SECRET)
		return refuse(req, res, 403, "secret_key_in_browser",
		              "a secret key must not be used from a browser; use the public key", 0);
	/* a live key: one token from the visitor's (workspace, IP) sub-bucket, like an event */
	wait = ingest_rate_ip_take(v.ws, req->client_ip, 1, now, req->cfg->ingest_ip_rate,
	                           req->cfg->ingest_ip_burst);
	if (wait > 0)
		return refuse(req, res, 429, "rate_limited",
		              "this address is sending requests to this workspace faster than allowed", wait);
	json_t *body =
	    json_pack("{s:b, s:b}", "consent_required", v.consent_required, "honor_dnt", v.honor_dnt);
	if (!body || http_reply_json(res, 200, body) < 0)
		return refuse(req, res, 503, "unavailable", "out of memory", 1);
	cors(res);
	http_set_header(res, "Cache-Control", "public, max-age=60");
	return 0;
}
