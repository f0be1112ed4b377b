/* Operators (PRODUCT §14): accounts flagged as staff. Operator powers need the staff flag
 * AND two-factor authentication, both read from the database by the session guard on
 * every request (struct http_auth is_staff / has_2fa), so revoking the flag or turning
 * 2FA off takes effect on the next request. Staff see installation health without
 * customer data (GET /staff).
 *
 * The flag is set only from the host (`dropfix staff grant|revoke|list`), audited in the
 * installation log. When staff last used their powers (accounts.staff_used_at, to the
 * minute) is router-style bookkeeping, written even on GET. */
#ifndef DROPFIX_STAFF_H
#define DROPFIX_STAFF_H

#include <stdint.h>

#include "http/http.h"
#include "store/store.h"

#define STAFF_USE_PRECISION_MS (INT64_C(60) * 1000)

/* 1 when the caller has operator powers on this request (staff flag and 2FA), else 0.
 * Records the use (at most once per STAFF_USE_PRECISION_MS). */
int staff_check(struct http_request *req);
/* staff_check, answering 403 when it fails. Returns 0 to go on, -1 when res holds the
 * refusal. */
int staff_require(struct http_request *req, struct http_response *res);

/* Sets or clears the staff flag of account id (global write transaction). Returns 1
 * when it changed, 0 when it already had that value, -1 on error. */
int staff_set(struct store_tx *tx, int64_t id, int on) __attribute__((warn_unused_result));

/* GET /staff: installation health (counts and queue depth, no customer data). */
int staff_page_health(struct http_request *req, struct http_response *res);

#endif
