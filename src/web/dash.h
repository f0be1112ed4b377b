/* What the dashboard pages (overview, users, user detail, signals, detection settings;
 * issue 6, PRODUCT §12) share: one data builder per page serves both the HTML page
 * under /w/:ws/… and its JSON twin under /api/v1/w/:ws/…, plus small formatting helpers.
 *
 * A builder reads in the read-only workspace transaction it is given and adds its keys
 * to out (for a page: the shell context; for the API: an empty object). It returns 0,
 * 1 when the request is at fault (fail filled: status 400 naming the parameter, or 404),
 * or -1 on a store failure. The HTML path then lets the page add what only HTML needs
 * (charts, forms) and renders the template; the JSON path replies with out as is. */
#ifndef DROPFIX_DASH_H
#define DROPFIX_DASH_H

#include <jansson.h>
#include <stdint.h>

#include "http/http.h"
#include "store/store.h"

struct dash_fail {
	int status;       /* 400 or 404 */
	const char *code; /* "invalid_parameter", "not_found" */
	char message[200];
	char field[64]; /* the parameter's name, "" when none */
};

typedef int (*dash_build_fn)(struct http_request *req, struct store_tx *tx, json_t *out, struct dash_fail *f);
/* HTML only: adds charts and other page-only values to ctx. 0 or -1 (out of memory). */
typedef int (*dash_html_fn)(struct http_request *req, json_t *ctx);

/* Fills f as a 400 for query parameter `param` with a message. Returns 1 (for
 * `return dash_bad(...)` in a builder). */
int dash_bad(struct dash_fail *f, const char *param, const char *message);
/* Fills f as a 404 with a message. Returns 1. */
int dash_not_found(struct dash_fail *f, const char *message);

/* Serves a dashboard GET: as an HTML page (template tmpl, nav entry active, <title> title,
 * html may be NULL) when page is 1, else as JSON. Always returns 0. */
int dash_serve(struct http_request *req, struct http_response *res, int page, const char *active,
               const char *tmpl, const char *title, dash_build_fn build, dash_html_fn html);

/* A time in ms as "2026-11-29 05:51 UTC" (a new JSON string; "" when out of range). */
json_t *dash_when(int64_t ms);
/* A day number (days since 1970-01-01) as "2026-11-29" into out (>= 11 bytes). */
void dash_day_text(int64_t day, char *out, size_t outlen);
/* Today's day number from the clock. */
int64_t dash_today(void);
/* An amount in whole currency units as "USD 1,234" into out. */
void dash_money(const char *currency, int64_t amount, char *out, size_t outlen);
/* The workspace's reporting currency (ISO code) into out (4 bytes), "USD" when unset.
 * Returns 0 or -1. */
int dash_currency(struct store_tx *tx, char out[4]) __attribute__((warn_unused_result));

/* A sealed column of a row of tx's workspace opened as a new JSON string: "" when text is
 * NULL, "(cannot be opened)" when it does not open. */
json_t *dash_unseal(struct http_request *req, const char *table, const char *column, const char *row_key,
                    const char *text);

/* The href of tracked user uid in workspace ws ("/w/<ws>/users/<uid percent-encoded>",
 * or "/w/<ws>/users/-?id=<uid percent-encoded>" when uid holds a '/', which a path
 * segment cannot carry because the server decodes the path before routing) as a new
 * JSON string. */
json_t *dash_user_href(int64_t ws, const char *uid, size_t n);
/* The same with a path suffix ("/notes") before any query. */
json_t *dash_user_path(int64_t ws, const char *uid, size_t n, const char *suffix);

/* Appends p[0..n) percent-encoded for a URL path segment or query value (unreserved
 * characters kept) to out. Returns 0 or -1 (out of memory). */
int dash_url_encode(struct buf *out, const char *p, size_t n) __attribute__((warn_unused_result));

/* The title of a kind id ("usage_drop" → "Usage dropped"); the id itself when unknown. */
const char *dash_kind_title(const char *id, size_t n);
/* Band id to words: "healthy" → "Healthy", "watch" → "Watch", "at_risk" → "At risk". */
const char *dash_band_title(const char *id);

#endif
