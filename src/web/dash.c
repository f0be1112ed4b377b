#include "web/dash.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/install.h"
#include "core/clock.h"
#include "core/str.h"
#include "crypto/seal.h"
#include "detect/detect.h"
#include "http/reqdb.h"
#include "web/shell.h"

int dash_bad(struct dash_fail *f, const char *param, const char *message)
{
	f->status = 400;
	f->code = "invalid_parameter";
	snprintf(f->message, sizeof(f->message), "%s", message);
	snprintf(f->field, sizeof(f->field), "%s", param ? param : "");
	return 1;
}

int dash_not_found(struct dash_fail *f, const char *message)
{
	f->status = 404;
	f->code = "not_found";
	snprintf(f->message, sizeof(f->message), "%s", message);
	f->field[0] = '\0';
	return 1;
}

int dash_serve(struct http_request *req, struct http_response *res, int page, const char *active,
               const char *tmpl, const char *title, dash_build_fn build, dash_html_fn html)
{
	struct dash_fail f = {0};
	struct store_tx *tx = NULL;
	if (!page)
		req->wants_html = 0; /* the API answers JSON, errors included */
	json_t *out = page ? shell_context(req, res, active) : json_object();
	if (!out)
		return req_db_error(req, res);
	if (req_begin_ws(req, STORE_READ, &tx) < 0) {
		json_decref(out);
		return req_db_error(req, res);
	}
	int rc = build(req, tx, out, &f);
	store_rollback(tx);
	if (rc < 0) {
		json_decref(out);
		return req_db_error(req, res);
	}
	if (rc > 0) {
		json_decref(out);
		char ptr[72];
		snprintf(ptr, sizeof(ptr), "/%s", f.field);
		return http_reply_error(req, res, f.status, f.code, f.message, f.field[0] ? ptr : NULL);
	}
	if (!page)
		return http_reply_json(res, 200, out) < 0
		           ? http_reply_error(req, res, 500, "internal", "out of memory", NULL)
		           : 0;
	if (html && html(req, out) < 0) {
		json_decref(out);
		return http_reply_error(req, res, 500, "internal", "the page could not be built", NULL);
	}
	json_object_set_new(out, "title", json_string(title));
	return shell_render(req, res, 200, tmpl, out);
}

json_t *dash_when(int64_t ms)
{
	char t[32], out[40];
	if (ms <= 0 || clock_format_ms(ms, t, sizeof(t)) < 0)
		return json_string("");
	t[16] = '\0';
	t[10] = ' ';
	snprintf(out, sizeof(out), "%s UTC", t);
	return json_string(out);
}

void dash_day_text(int64_t day, char *out, size_t outlen)
{
	char t[32];
	if (clock_format_ms(day * 86400000LL, t, sizeof(t)) < 0) {
		snprintf(out, outlen, "%s", "");
		return;
	}
	t[10] = '\0';
	snprintf(out, outlen, "%s", t);
}

int64_t dash_today(void)
{
	int64_t ms = clock_now_ms();
	return ms >= 0 ? ms / 86400000LL : 0;
}

void dash_money(const char *currency, int64_t amount, char *out, size_t outlen)
{
	char digits[32], grouped[48];
	int neg = amount < 0;
	uint64_t u = neg ? (uint64_t)0 - (uint64_t)amount : (uint64_t)amount;
	snprintf(digits, sizeof(digits), "%" PRIu64, u);
	size_t n = strlen(digits), k = 0;
	for (size_t i = 0; i < n && k + 2 < sizeof(grouped); i++) {
		if (i > 0 && (n - i) % 3 == 0)
			grouped[k++] = ',';
		grouped[k++] = digits[i];
	}
	grouped[k] = '\0';
	snprintf(out, outlen, "%s %s%s", currency ? currency : "", neg ? "-" : "", grouped);
}

int dash_currency(struct store_tx *tx, char out[4])
{
	struct store_rows *r = NULL;
	memcpy(out, "USD", 4);
	if (store_query(tx, "SELECT w.currency FROM workspaces w WHERE w.id = $1", STORE_NO_ARGS, &r) < 0)
		return -1;
	int st = store_step(r);
	if (st == 1) {
		size_t n = 0;
		const char *c = store_col_text(r, 0, &n);
		if (c && n == 3)
			memcpy(out, c, 4);
	}
	store_rows_close(r);
	return st < 0 ? -1 : 0;
}

json_t *dash_unseal(struct http_request *req, const char *table, const char *column, const char *row_key,
                    const char *text)
{
	if (!text || !row_key)
		return json_string("");
	struct seal_ad ad = {"workspace", req->auth.workspace_id, table, column, row_key};
	uint8_t *p = NULL;
	size_t n = 0;
	if (seal_open(req->inst->keys, &ad, text, &p, &n) < 0)
		return json_string("(cannot be opened)");
	json_t *v = json_stringn((const char *)p, n);
	seal_plain_free(p, n);
	return v ? v : json_string("");
}

int dash_url_encode(struct buf *out, const char *p, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		           c == '-' || c == '.' || c == '_' || c == '~';
		if (keep ? buf_putc(out, (char)c) < 0
		         : (buf_putc(out, '%') < 0 || buf_putc(out, hex[c >> 4]) < 0 ||
		            buf_putc(out, hex[c & 15]) < 0))
			return -1;
	}
	return 0;
}

json_t *dash_user_path(int64_t ws, const char *uid, size_t n, const char *suffix)
{
	struct buf b;
	buf_init(&b, 0);
	char base[48];
	shell_ws_href(ws, base, sizeof(base));
	json_t *v = NULL;
	int rc = buf_printf(&b, "%s/users/", base);
	/* the server decodes the path before routing, so an id with a '/' goes in the query */
	if (memchr(uid, '/', n)) {
		if (rc == 0 && (buf_printf(&b, "-%s?id=", suffix) < 0 || dash_url_encode(&b, uid, n) < 0))
			rc = -1;
	} else if (rc == 0 && (dash_url_encode(&b, uid, n) < 0 || buf_puts(&b, suffix) < 0)) {
		rc = -1;
	}
	if (rc == 0)
		v = json_stringn(b.p, b.n);
	buf_free(&b);
	return v ? v : json_string("");
}

json_t *dash_user_href(int64_t ws, const char *uid, size_t n)
{
	return dash_user_path(ws, uid, n, "");
}

const char *dash_kind_title(const char *id, size_t n)
{
	enum detect_kind k;
	if (id && detect_kind_parse(id, n, &k) == 0)
		return detect_kind_title(k);
	return id ? id : "";
}

const char *dash_band_title(const char *id)
{
	if (!id)
		return "";
	if (strcmp(id, "healthy") == 0)
		return "Healthy";
	if (strcmp(id, "watch") == 0)
		return "Watch";
	if (strcmp(id, "at_risk") == 0)
		return "At risk";
	return id;
}
