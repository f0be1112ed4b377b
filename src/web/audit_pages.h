/* The workspace audit log in the dashboard (issue 4 item 8): owners and admins view it
 * newest first, page by page, filter it, and export it as CSV (spreadsheet formulas
 * neutralised) or JSON lines. Reading only: both routes are GETs with read-only
 * transactions, so an export is not itself recorded here.
 *
 * Filters come from the query string, each validated strictly (a bad value is a field
 * error on the page, or a 400 on the export, never a store call):
 *   action  an action name or a prefix of one ("auth." or "keys.rotated"):
 *           0..AUDIT_ACTION_MAX bytes of a-z 0-9 '.' '_'
 *   since   YYYY-MM-DD (UTC): rows at or after 00:00 that day
 *   until   YYYY-MM-DD (UTC): rows before 00:00 the day after (the day is included)
 *   actor   an account id (0: the CLI and the system)
 *   page    1..AUDIT_PAGES_MAX (page only)
 *   format  csv | json (export only; required) */
#ifndef DROPFIX_AUDIT_PAGES_H
#define DROPFIX_AUDIT_PAGES_H

#include "http/http.h"

#define AUDIT_PAGES_MAX 100000 /* highest page number (offset stays far below the query cap) */

/* GET /w/:ws/settings/audit: the filter form and one page (LIMIT_ROWS_PER_PAGE rows) of
 * the workspace log with previous/next links. Bad filters: the form with field errors
 * and status 400. Always returns 0. */
int audit_page(struct http_request *req, struct http_response *res);

/* GET /w/:ws/settings/audit/export?format=csv|json&<filters>: every matching row (at
 * most LIMIT_AUDIT_EXPORT_ROWS, newest first) as an attachment, text/csv or
 * application/x-ndjson; header X-DropFix-Export-Truncated: 1 when the cap cut it.
 * Always returns 0. */
int audit_page_export(struct http_request *req, struct http_response *res);

#endif
