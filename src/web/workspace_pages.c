#include "web/workspace_pages.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/install.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/tz.h"
#include "http/form.h"
#include "http/json.h"
#include "http/reqdb.h"
#include "web/permissions.h"
#include "web/shell.h"

/* ISO 4217 active currency codes (2025), sorted. */
static const char *const currencies[] = {
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD",
    "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY",
    "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP",
    "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR",
    "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT",
    "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR",
    "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK",
    "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD",
    "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY",
    "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG",
    "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
};
#define N_CURRENCIES (sizeof(currencies) / sizeof(currencies[0]))

static int cmp_code(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int workspace_currency_valid(const char *s, size_t n)
{
	if (!s || n != 3)
		return 0;
	char key[4];
	memcpy(key, s, 3);
	key[3] = '\0';
	const char *k = key;
	return bsearch(&k, currencies, N_CURRENCIES, sizeof(currencies[0]), cmp_code) != NULL;
}

size_t workspace_currencies(const char *const **codes)
{
	*codes = currencies;
	return N_CURRENCIES;
}

const char *workspace_trim(const char *s, size_t *n)
{
	while (*n && (s[0] == ' ' || s[0] == '\t')) {
		s++;
		(*n)--;
	}
	while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
		(*n)--;
	return s;
}

const char *workspace_name_problem(const char *s, size_t n, int may_be_empty)
{
	if (n == 0)
		return may_be_empty ? NULL : "Enter a name.";
	if (n > LIMIT_WORKSPACE_NAME)
		return "Use at most 100 characters.";
	if (jsonin_text_check(s, n, JSONIN_NO_CTRL) != JSONIN_TEXT_OK)
		return "Use letters, digits and punctuation only (no control characters).";
	return NULL;
}

int workspace_check(const struct workspace_spec *s, struct workspace_errors *e)
{
	memset(e, 0, sizeof(*e));
	e->name = workspace_name_problem(s->name ? s->name : "", s->name ? strlen(s->name) : 0, 0);
	if (s->product_name)
		e->product_name = workspace_name_problem(s->product_name, strlen(s->product_name), 1);
	if (s->timezone && !tz_valid(s->timezone, strlen(s->timezone)))
		e->timezone = "Choose a time zone from the list (for example Europe/Berlin or UTC).";
	if (s->currency && !workspace_currency_valid(s->currency, strlen(s->currency)))
		e->currency = "Choose a currency from the list (an ISO 4217 code such as USD or EUR).";
	return (e->name || e->product_name || e->timezone || e->currency) ? -1 : 0;
}

int64_t workspace_count_for(struct store_tx *tx, int64_t account_id)
{
	int64_t n = 0;
	int rc = store_query_i64(tx, "SELECT count(*) FROM memberships WHERE account_id = $1",
	                         STORE_ARGS(SP_I64(account_id)), &n);
	return rc < 0 ? -1 : n;
}

int workspace_create(struct store_tx *tx, const struct keyring *kr, const struct workspace_spec *s,
                     int64_t owner_id, const struct workspace_actor *actor, struct workspace_created *out)
{
	memset(out, 0, sizeof(*out));
	const char *product = s->product_name && s->product_name[0] ? s->product_name : s->name;
	struct store_workspace_new w = {
	    .name = s->name,
	    .product_name = product,
	    .timezone = s->timezone ? s->timezone : "UTC",
	    .currency = s->currency ? s->currency : "USD",
	};
	int64_t id = 0;
	if (store_workspace_create(tx, &w, &id) < 0)
		return -1;
	if (store_exec(tx,
	               "INSERT INTO memberships (workspace_id, account_id, role, created_at) VALUES ($1, $2, "
	               "'owner', $3)",
	               STORE_ARGS(SP_I64(id), SP_I64(owner_id), SP_I64(clock_now_ms()))) < 0)
		return -1;
	if (keys_issue(tx, kr, id, KEYS_PUBLIC, &out->public_key) < 0 ||
	    keys_issue(tx, kr, id, KEYS_SECRET, &out->secret_key) < 0)
		goto fail;
	char detail[64];
	snprintf(detail, sizeof(detail), "{\"owner_account_id\":%" PRId64 "}", owner_id);
	struct audit_event e = {
	    .actor_kind = actor->kind,
	    .actor_id = actor->id,
	    .action = "workspace.created",
	    .target = s->name,
	    .detail = detail,
	    .ip = actor->ip,
	    .workspace_id = id,
	};
	if (audit_append_install(tx, kr, &e) < 0) {
		log_msg(LOG_ERROR, "audit append for a new workspace failed");
		goto fail;
	}
	out->id = id;
	return 0;
fail:
	keys_text_wipe(&out->public_key);
	keys_text_wipe(&out->secret_key);
	return -1;
}

/* ---- forms ---- */

struct ws_form {
	struct str csrf, name, product_name, timezone, currency;
};

static const struct jsonin_field ws_fields[] = {
    JSONIN_F_STR("_csrf", 0, 0, 128, struct ws_form, csrf),
    JSONIN_F_STR("name", 0, 0, 4096, struct ws_form, name),
    JSONIN_F_STR("product_name", 0, 0, 4096, struct ws_form, product_name),
    JSONIN_F_STR("timezone", 0, 0, 4096, struct ws_form, timezone),
    JSONIN_F_STR("currency", 0, 0, 4096, struct ws_form, currency),
};
static const struct jsonin_spec ws_spec = JSONIN_SPEC(ws_fields, JSONIN_STRICT);

/* Binds the form or answers 400. 0 or -1 (answered). */
static int bind_or_reply(struct http_request *req, struct http_response *res, const struct jsonin_spec *spec,
                         void *out, size_t size)
{
	struct jsonin_error jerr = {0};
	if (!req->form) {
		http_reply_error(req, res, 400, "invalid_form", "a form body is required", NULL);
		return -1;
	}
	if (form_bind(req->form, spec, out, size, NULL, &jerr) < 0) {
		http_reply_error(req, res, jsonin_error_status(&jerr), jerr.code, jerr.message,
		                 jerr.field[0] ? jerr.field : NULL);
		return -1;
	}
	return 0;
}

/* A NUL-terminated arena copy of the trimmed value. */
static char *trimmed(struct http_request *req, struct str v)
{
	size_t n = v.n;
	const char *p = v.p ? workspace_trim(v.p, &n) : "";
	char *c = arena_strndup(req->arena, p, n);
	return c ? c : (char *)"";
}

/* Adds the picker lists and the form values to ctx. */
static void add_pickers(json_t *ctx, const char *tz, const char *cur)
{
	const char *const *names;
	size_t n = tz_canonical(&names);
	json_t *tzs = json_array();
	int tz_listed = 0;
	for (size_t i = 0; i < n; i++) {
		int sel = tz && strcmp(names[i], tz) == 0;
		tz_listed |= sel;
		json_array_append_new(tzs, json_pack("{s:s,s:b}", "name", names[i], "selected", sel));
	}
	/* a valid link name (e.g. "US/Eastern") chosen elsewhere stays selectable */
	if (tz && tz[0] && !tz_listed && tz_valid(tz, strlen(tz)))
		json_array_insert_new(tzs, 0, json_pack("{s:s,s:b}", "name", tz, "selected", 1));
	json_object_set_new(ctx, "timezones", tzs);
	json_t *curs = json_array();
	for (size_t i = 0; i < N_CURRENCIES; i++)
		json_array_append_new(curs, json_pack("{s:s,s:b}", "code", currencies[i], "selected",
		                                      cur && strcmp(currencies[i], cur) == 0));
	json_object_set_new(ctx, "currencies", curs);
}

static void add_errors(json_t *ctx, const struct workspace_errors *e)
{
	if (e->name)
		shell_field_error(ctx, "name", e->name);
	if (e->product_name)
		shell_field_error(ctx, "product_name", e->product_name);
	if (e->timezone)
		shell_field_error(ctx, "timezone", e->timezone);
	if (e->currency)
		shell_field_error(ctx, "currency", e->currency);
}

static json_t *form_json(const struct workspace_spec *s)
{
	return json_pack("{s:s,s:s,s:s,s:s}", "name", s->name ? s->name : "", "product_name",
	                 s->product_name ? s->product_name : "", "timezone", s->timezone ? s->timezone : "",
	                 "currency", s->currency ? s->currency : "");
}

/* ---- /w ---- */

static int render_list(struct http_request *req, struct http_response *res, int status,
                       const struct workspace_spec *s, const struct workspace_errors *e,
                       const char *form_error)
{
	json_t *ctx = shell_context(req, res, "workspaces");
	if (!ctx)
		return req_db_error(req, res);
	json_object_set_new(ctx, "title", json_string("Workspaces"));
	json_object_set_new(ctx, "has_workspaces",
	                    json_boolean(json_array_size(json_object_get(ctx, "workspaces")) > 0));
	json_object_set_new(ctx, "form", form_json(s));
	add_pickers(ctx, s->timezone, s->currency);
	if (e)
		add_errors(ctx, e);
	if (form_error)
		shell_field_error(ctx, "form", form_error);
	return shell_render(req, res, status, "workspace_list", ctx);
}

int workspace_page_list(struct http_request *req, struct http_response *res)
{
	struct workspace_spec s = {.name = "", .product_name = "", .timezone = "UTC", .currency = "USD"};
	return render_list(req, res, 200, &s, NULL, NULL);
}

int workspace_page_create(struct http_request *req, struct http_response *res)
{
	struct ws_form f = {0};
	if (bind_or_reply(req, res, &ws_spec, &f, sizeof(f)) < 0)
		return 0;
	struct workspace_spec s = {
	    .name = trimmed(req, f.name),
	    .product_name = trimmed(req, f.product_name),
	    .timezone = f.timezone.n ? trimmed(req, f.timezone) : "UTC",
	    .currency = f.currency.n ? trimmed(req, f.currency) : "USD",
	};
	struct workspace_errors e;
	if (workspace_check(&s, &e) < 0)
		return render_list(req, res, 400, &s, &e, NULL);

	struct store_tx *tx = NULL;
	struct workspace_created made;
	memset(&made, 0, sizeof(made));
	if (req_begin_global(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	int64_t have = workspace_count_for(tx, req->auth.account_id);
	if (have < 0)
		goto fail;
	if (have >= LIMIT_WORKSPACES_PER_ACCOUNT) {
		store_rollback(tx);
		return render_list(req, res, 400, &s, NULL,
		                   "You belong to as many workspaces as one account may (100).");
	}
	struct workspace_actor actor = {AUDIT_ACTOR_ACCOUNT, req->auth.account_id,
	                                req->client_ip[0] ? req->client_ip : NULL};
	if (workspace_create(tx, req->inst->keys, &s, req->auth.account_id, &actor, &made) < 0)
		goto fail;
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	tx = NULL;
	/* The new workspace's page context (the shell shows it as current). */
	req->auth.workspace_id = made.id;
	req->auth.role = ROLE_OWNER;
	json_t *ctx = shell_context(req, res, "home");
	if (!ctx) {
		keys_text_wipe(&made.secret_key);
		return req_db_error(req, res);
	}
	json_object_set_new(ctx, "title", json_string("Workspace created"));
	json_object_set_new(ctx, "public_key", json_string(made.public_key.s));
	int rc =
	    shell_render_secret(req, res, 200, "workspace_created", ctx, "secret_key", made.secret_key.s);
	keys_text_wipe(&made.secret_key);
	return rc;
fail:
	keys_text_wipe(&made.secret_key);
	store_rollback(tx);
	return req_db_error(req, res);
}

/* The settings page with the form prefilled from s (NULL: the stored values). */
static int render_settings(struct http_request *req, struct http_response *res, int status,
                           const struct workspace_spec *s, const struct workspace_errors *e,
                           const char *twofa_error)
{
	json_t *ctx = shell_context(req, res, "settings");
	if (!ctx)
		return req_db_error(req, res);
	json_t *ws = json_object_get(ctx, "ws");
	struct workspace_spec stored = {
	    .name = json_string_value(json_object_get(ws, "name")),
	    .product_name = json_string_value(json_object_get(ws, "product_name")),
	    .timezone = json_string_value(json_object_get(ws, "timezone")),
	    .currency = json_string_value(json_object_get(ws, "currency")),
	};
	if (!s)
		s = &stored;
	json_object_set_new(ctx, "form", form_json(s));
	add_pickers(ctx, s->timezone, s->currency);
	if (e)
		add_errors(ctx, e);
	if (twofa_error)
		shell_field_error(ctx, "require_2fa", twofa_error);
	json_object_set_new(ctx, "title", json_string("Workspace settings"));
	json_object_set_new(ctx, "has_2fa", json_boolean(req->auth.has_2fa));
	return shell_render(req, res, status, "workspace_settings", ctx);
}

int workspace_page_settings(struct http_request *req, struct http_response *res)
{
	return render_settings(req, res, 200, NULL, NULL, NULL);
}

/* Reads the stored name/product/tz/currency of the transaction's workspace into
 * arena copies. 1, 0 (gone), -1. */
static int read_ws(struct http_request *req, struct store_tx *tx, struct workspace_spec *out,
                   int *require_2fa)
{
	struct store_rows *r = NULL;
	if (store_query(
	        tx,
	        "SELECT name, product_name, timezone, currency, require_2fa FROM workspaces WHERE id = $1",
	        STORE_NO_ARGS, &r) < 0)
		return -1;
	int st = store_step(r);
	if (st == 1) {
		const char **f[] = {&out->name, &out->product_name, &out->timezone, &out->currency};
		for (int i = 0; i < 4; i++) {
			size_t n = 0;
			const char *v = store_col_text(r, i, &n);
			*f[i] = arena_strndup(req->arena, v ? v : "", v ? n : 0);
			if (!*f[i])
				*f[i] = "";
		}
		if (require_2fa)
			*require_2fa = store_col_i64(r, 4) != 0;
	}
	store_rows_close(r);
	return st;
}

int workspace_page_settings_save(struct http_request *req, struct http_response *res)
{
	struct ws_form f = {0};
	if (!perm_allows(req->auth.role, PERM_WORKSPACE_SETTINGS))
		return http_reply_error(req, res, 403, "forbidden",
		                        "your role in this workspace does not allow this", NULL);
	if (bind_or_reply(req, res, &ws_spec, &f, sizeof(f)) < 0)
		return 0;
	struct workspace_spec s = {
	    .name = trimmed(req, f.name),
	    .product_name = trimmed(req, f.product_name),
	    .timezone = trimmed(req, f.timezone),
	    .currency = trimmed(req, f.currency),
	};
	struct workspace_errors e;
	if (workspace_check(&s, &e) < 0)
		return render_settings(req, res, 400, &s, &e, NULL);
	if (!s.product_name[0])
		s.product_name = s.name;
	char back[64];
	snprintf(back, sizeof(back), "/w/%" PRId64 "/settings", req->auth.workspace_id);

	struct store_tx *tx = NULL;
	struct workspace_spec old = {0};
	if (req_begin_ws(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	int st = read_ws(req, tx, &old, NULL);
	if (st <= 0)
		goto fail;
	json_t *changed = json_array();
	const char *names[] = {"name", "product_name", "timezone", "currency"};
	const char *was[] = {old.name, old.product_name, old.timezone, old.currency};
	const char *now[] = {s.name, s.product_name, s.timezone, s.currency};
	for (int i = 0; i < 4; i++)
		if (strcmp(was[i], now[i]) != 0)
			json_array_append_new(changed, json_string(names[i]));
	if (json_array_size(changed) == 0) {
		json_decref(changed);
		store_rollback(tx);
		return shell_redirect(req, res, back, FLASH_WS_SAVED);
	}
	if (store_exec(tx,
	               "UPDATE workspaces SET name = $2, product_name = $3, timezone = $4, currency = $5, "
	               "updated_at = $6 "
	               "WHERE id = $1",
	               STORE_ARGS(SP_TEXT(s.name), SP_TEXT(s.product_name), SP_TEXT(s.timezone),
	                          SP_TEXT(s.currency), SP_I64(clock_now_ms()))) < 0) {
		json_decref(changed);
		goto fail;
	}
	if (shell_audit(req, tx, "settings.changed", "workspace", json_pack("{s:o}", "changed", changed)) < 0)
		goto fail;
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	return shell_redirect(req, res, back, FLASH_WS_SAVED);
fail:
	store_rollback(tx);
	if (st == 0)
		return http_reply_error(req, res, 404, "not_found", "no such workspace", NULL);
	return req_db_error(req, res);
}

struct security_form {
	struct str csrf;
	int require_2fa;
};

static const struct jsonin_field security_fields[] = {
    JSONIN_F_STR("_csrf", 0, 0, 128, struct security_form, csrf),
    JSONIN_F_BOOL("require_2fa", 0, struct security_form, require_2fa),
};
static const struct jsonin_spec security_spec = JSONIN_SPEC(security_fields, JSONIN_STRICT);

int workspace_page_security_save(struct http_request *req, struct http_response *res)
{
	struct security_form f = {0};
	if (!perm_allows(req->auth.role, PERM_WORKSPACE_REQUIRE_2FA))
		return http_reply_error(req, res, 403, "forbidden",
		                        "your role in this workspace does not allow this", NULL);
	if (bind_or_reply(req, res, &security_spec, &f, sizeof(f)) < 0)
		return 0;
	if (f.require_2fa && !req->auth.has_2fa)
		return render_settings(
		    req, res, 400, NULL, NULL,
		    "Turn on two-factor authentication for your own account first, or you would lock "
		    "yourself out of this workspace.");
	char back[64];
	snprintf(back, sizeof(back), "/w/%" PRId64 "/settings", req->auth.workspace_id);
	struct store_tx *tx = NULL;
	int was = 0;
	struct workspace_spec old = {0};
	if (req_begin_ws(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	if (read_ws(req, tx, &old, &was) <= 0)
		goto fail;
	if (was == f.require_2fa) {
		store_rollback(tx);
		return shell_redirect(req, res, back,
		                      f.require_2fa ? FLASH_2FA_REQUIRED_ON : FLASH_2FA_REQUIRED_OFF);
	}
	if (store_exec(tx, "UPDATE workspaces SET require_2fa = $2, updated_at = $3 WHERE id = $1",
	               STORE_ARGS(SP_I64(f.require_2fa ? 1 : 0), SP_I64(clock_now_ms()))) < 0)
		goto fail;
	if (shell_audit(req, tx, "settings.changed", "require_2fa",
	                json_pack("{s:b}", "require_2fa", f.require_2fa)) < 0)
		goto fail;
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	return shell_redirect(req, res, back, f.require_2fa ? FLASH_2FA_REQUIRED_ON : FLASH_2FA_REQUIRED_OFF);
fail:
	store_rollback(tx);
	return req_db_error(req, res);
}

/* ---- deletion ---- */

static int render_delete(struct http_request *req, struct http_response *res, int status, const char *typed,
                         const char *error)
{
	json_t *ctx = shell_context(req, res, "settings");
	if (!ctx)
		return req_db_error(req, res);
	json_object_set_new(ctx, "title", json_string("Delete workspace"));
	json_object_set_new(ctx, "form", json_pack("{s:s}", "confirm", typed ? typed : ""));
	if (error)
		shell_field_error(ctx, "confirm", error);
	return shell_render(req, res, status, "workspace_delete", ctx);
}

int workspace_page_delete_form(struct http_request *req, struct http_response *res)
{
	return render_delete(req, res, 200, NULL, NULL);
}

struct delete_form {
	struct str csrf, confirm;
};

static const struct jsonin_field delete_fields[] = {
    JSONIN_F_STR("_csrf", 0, 0, 128, struct delete_form, csrf),
    JSONIN_F_STR("confirm", 0, 0, 4096, struct delete_form, confirm),
};
static const struct jsonin_spec delete_spec = JSONIN_SPEC(delete_fields, JSONIN_STRICT);

int workspace_page_delete(struct http_request *req, struct http_response *res)
{
	struct delete_form f = {0};
	if (!perm_allows(req->auth.role, PERM_WORKSPACE_DELETE))
		return http_reply_error(req, res, 403, "forbidden", "only an owner can delete the workspace",
		                        NULL);
	if (bind_or_reply(req, res, &delete_spec, &f, sizeof(f)) < 0)
		return 0;
	char *typed = trimmed(req, f.confirm);
	int64_t ws = req->auth.workspace_id;
	struct store_tx *tx = NULL;
	struct workspace_spec cur = {0};
	if (req_begin_global(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	struct store_rows *r = NULL;
	if (store_query(tx, "SELECT name FROM workspaces WHERE id = $1", STORE_ARGS(SP_I64(ws)), &r) < 0)
		goto fail;
	int st = store_step(r);
	if (st == 1) {
		size_t n = 0;
		const char *v = store_col_text(r, 0, &n);
		cur.name = arena_strndup(req->arena, v ? v : "", v ? n : 0);
	}
	store_rows_close(r);
	if (st < 0 || (st == 1 && !cur.name))
		goto fail;
	if (st == 0) {
		store_rollback(tx);
		return http_reply_error(req, res, 404, "not_found", "no such workspace", NULL);
	}
	if (strcmp(typed, cur.name) != 0) {
		store_rollback(tx);
		return render_delete(req, res, 400, typed,
		                     "Type the workspace name exactly as shown to confirm the deletion.");
	}
	if (store_workspace_delete(tx, ws) < 0)
		goto fail;
	if (shell_audit_install(req, tx, "workspace.deleted", cur.name, ws, NULL) < 0)
		goto fail;
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	log_json(LOG_INFO, "workspace deleted",
	         json_pack("{s:I,s:I,s:s}", "ws", (json_int_t)ws, "by", (json_int_t)req->auth.account_id,
	                   "rid", req->request_id));
	req->auth.workspace_id = 0;
	req->auth.role = ROLE_NONE;
	return shell_redirect(req, res, "/w", FLASH_WS_DELETED);
fail:
	store_rollback(tx);
	return req_db_error(req, res);
}
