/* The app-model review page (PRODUCT §5, issue 6 item 1): the workspace's features with
 * their names, 30-day usage, core, merge and hidden states, the founder's edits, and the
 * same data as JSON. One builder (appmodel_page.c) serves the page and the API. */
#ifndef DROPFIX_APPMODEL_PAGE_H
#define DROPFIX_APPMODEL_PAGE_H

#include "http/http.h"

/* GET /w/:ws/app-model — viewers and up. One page of LIMIT_ROWS_PER_PAGE features
 * (?page=N), most used first; for APPMODEL_EDIT roles, forms for each edit, and with
 * ?merge=ID the merge panel of that feature (a select of the other features). */
int appmodel_page(struct http_request *req, struct http_response *res);

/* GET /api/v1/w/:ws/app-model — the same data as JSON:
 * {"window_days":30, "reviewed":bool, "core_mode":"chosen"|"automatic", "total":N,
 *  "page":N, "per_page":N, "has_next":bool, "core_ids":[…],
 *  "features":[{"id","key","name","rule_name","renamed","users_30d","days_30d","core",
 *               "core_source":"chosen"|"automatic"|null,"core_choice":"yes"|"no"|"auto",
 *               "hidden","merged_into":id|null,"merged_into_name","counts_as"}]}
 * Errors: 400 invalid_parameter (page). */
int appmodel_page_api(struct http_request *req, struct http_response *res);

/* POST /w/:ws/app-model/:action — APPMODEL_EDIT (admin and up); form fields _csrf,
 * feature (id) and per action: rename (name; empty = back to the automatic name), merge
 * (into: a feature id), unmerge, hide, unhide, core (core = yes | no | auto). Audited
 * (appmodel.renamed / merged / unmerged / hidden / unhidden / core_set) and answered with
 * a redirect to the page; an invalid edit re-renders the page with 400 (404 for an unknown
 * feature or action). */
int appmodel_page_edit(struct http_request *req, struct http_response *res);

/* POST /api/v1/w/:ws/app-model/:action — the same edits for scripts: a JSON object
 * {"feature": id, "name"|"into"|"core": …}; answers 200 {"feature": {…}} (as the GET shows
 * it) or the error envelope (400 invalid_field naming the field, 404 not_found). */
int appmodel_page_api_edit(struct http_request *req, struct http_response *res);

#endif
