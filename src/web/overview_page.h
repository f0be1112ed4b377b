/* The workspace overview (PRODUCT §12, issue 6 item 5): learning progress, or health
 * bands, MRR at risk, the top users to save, open signals by kind and 30/90-day trends. */
#ifndef DROPFIX_OVERVIEW_PAGE_H
#define DROPFIX_OVERVIEW_PAGE_H

#include "http/http.h"

/* GET /w/:ws (viewers and up): the overview page. JSON twin GET /api/v1/w/:ws/overview:
 *   {"currency":"USD","has_events":bool,"public_key":"pk_…" (only without events),
 *    "learning":{"locked":bool,"started":"…"|"","days_done":n,"days_needed":7,"days_left":n},
 *    "bands":{"healthy":n,"watch":n,"at_risk":n,"total":n},
 *    "mrr_at_risk":n,"mrr_at_risk_text":"USD 1,234",
 *    "top":[{"user_id","href","health","band","band_title","mrr","mrr_text","worth","kinds":["Gone
 * quiet",…]}], "signal_counts":[{"kind","title","count"}] (every kind), "open_signals":n,
 *    "trend":[{"day":"2026-11-01","users","healthy","watch","at_risk","open_signals","mrr_at_risk"}]
 *    (the last 90 days present in workspace_daily, oldest first)}. */
int overview_page(struct http_request *req, struct http_response *res);
int overview_api(struct http_request *req, struct http_response *res);

#endif
