#include "auth/staff.h"

#include <stdio.h>

#include "auth/session.h"
#include "cli/install.h"
#include "core/clock.h"
#include "core/log.h"
#include "http/reqdb.h"
#include "web/shell.h"

/* Records the use: one conditional UPDATE, router-style bookkeeping (allowed on GET). */
static void record_use(struct http_request *req)
{
	struct store_conn *c = req_conn(req);
	struct store_tx *tx = NULL;
	int64_t now = clock_now_ms();
	if (!c || store_begin_global(c, STORE_WRITE, &tx) < 0)
		goto fail;
	if (store_exec(tx,
	               "UPDATE accounts SET staff_used_at = $2 WHERE id = $1 AND is_staff = 1 "
	               "AND (staff_used_at IS NULL OR staff_used_at <= $3)",
	               STORE_ARGS(SP_I64(req->auth.account_id), SP_I64(now),
	                          SP_I64(now - STAFF_USE_PRECISION_MS))) < 0 ||
	    store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	return;
fail:
	store_rollback(tx);
	log_json(LOG_WARN, "recording staff use failed", json_pack("{s:s}", "rid", req->request_id));
}

int staff_check(struct http_request *req)
{
	if (!req->auth.account_id || req->auth.stage != SESSION_FULL || !req->auth.is_staff ||
	    !req->auth.has_2fa)
		return 0;
	record_use(req);
	return 1;
}

int staff_require(struct http_request *req, struct http_response *res)
{
	if (staff_check(req))
		return 0;
	if (req->auth.is_staff && !req->auth.has_2fa)
		http_reply_error(
		    req, res, 403, "2fa_required",
		    "operator powers need two-factor authentication: turn it on in your account settings",
		    NULL);
	else
		http_reply_error(req, res, 403, "forbidden", "this page is for the installation's operators",
		                 NULL);
	return -1;
}

int staff_set(struct store_tx *tx, int64_t id, int on)
{
	if (store_exec(tx,
	               "UPDATE accounts SET is_staff = $2, updated_at = $3 WHERE id = $1 AND is_staff <> $2",
	               STORE_ARGS(SP_I64(id), SP_I64(on ? 1 : 0), SP_I64(clock_now_ms()))) < 0)
		return -1;
	return store_changes(tx) > 0 ? 1 : 0;
}

/* Counts shown on the health page: label and query (no customer data, only totals). */
static const struct {
	const char *key, *label, *sql;
	int with_now;
} health_counts[] = {
    {"accounts", "Accounts", "SELECT count(*) FROM accounts", 0},
    {"staff", "Operator accounts", "SELECT count(*) FROM accounts WHERE is_staff = 1", 0},
    {"workspaces", "Workspaces", "SELECT count(*) FROM workspaces", 0},
    {"memberships", "Memberships", "SELECT count(*) FROM memberships", 0},
    {"sessions", "Active sessions", "SELECT count(*) FROM sessions WHERE expires_at > $1", 1},
    {"jobs_queued", "Jobs queued", "SELECT count(*) FROM jobs WHERE done_at IS NULL", 0},
    {"jobs_due", "Jobs due now", "SELECT count(*) FROM jobs WHERE done_at IS NULL AND run_at <= $1", 1},
    {"jobs_running", "Jobs running (leased)",
     "SELECT count(*) FROM jobs WHERE done_at IS NULL AND locked_until IS NOT NULL AND locked_until > $1", 1},
    {"jobs_dead", "Dead jobs (kept 30 days)", "SELECT count(*) FROM jobs WHERE dead_at IS NOT NULL", 0},
};

int staff_page_health(struct http_request *req, struct http_response *res)
{
	if (staff_require(req, res) < 0)
		return 0;
	json_t *ctx = shell_context(req, res, "staff");
	if (!ctx)
		return req_db_error(req, res);
	struct store_tx *tx = NULL;
	json_t *rows = json_array();
	json_object_set_new(ctx, "counts", rows);
	int64_t now = clock_now_ms();
	if (req_begin_global(req, STORE_READ, &tx) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(health_counts) / sizeof(health_counts[0]); i++) {
		int64_t n = 0;
		int rc = health_counts[i].with_now
		             ? store_query_i64(tx, health_counts[i].sql, STORE_ARGS(SP_I64(now)), &n)
		             : store_query_i64(tx, health_counts[i].sql, STORE_NO_ARGS, &n);
		if (rc < 0)
			goto fail;
		json_array_append_new(rows, json_pack("{s:s,s:s,s:I}", "key", health_counts[i].key, "label",
		                                      health_counts[i].label, "value", (json_int_t)n));
	}
	store_rollback(tx);
	tx = NULL;
	int current = 0, known = 0;
	int64_t wal = 0;
	char err[256];
	if (req->inst && store_schema_version(req->inst->store, &current, &known, err, sizeof(err)) == 0)
		json_object_set_new(ctx, "schema",
		                    json_pack("{s:i,s:i}", "current", current, "known", known));
	if (req->inst && store_wal_bytes(req->inst->store, &wal) == 0)
		json_object_set_new(ctx, "wal_kib", json_integer(wal / 1024));
	json_object_set_new(ctx, "backend",
	                    json_string(req->inst && store_backend(req->inst->store) == STORE_POSTGRES
	                                    ? "PostgreSQL"
	                                    : "SQLite"));
	json_object_set_new(ctx, "title", json_string("Installation health"));
	return shell_render(req, res, 200, "shell_staff", ctx);
fail:
	store_rollback(tx);
	json_decref(ctx);
	return req_db_error(req, res);
}
