/* Pages before and around sign-in (ARCHITECTURE §8b URLs under /auth/…), plus the
 * helpers the signed-in account pages (account_pages.h) share with them.
 *
 *   GET/POST /auth/signup          name, e-mail, password, product name; DROPFIX_SIGNUP
 *                                  first (setup token) / invite (invite token) / open
 *   GET/POST /auth/verify          confirmation page whose button POSTs (single use)
 *   GET/POST /auth/login           password step; a relative `next`
 *   GET/POST /auth/2fa             second step (TOTP or recovery code)
 *   POST     /auth/logout
 *   GET/POST /auth/reset           request a reset link (1 hour, single use)
 *   GET/POST /auth/reset/confirm   new password; ends every session and reset token
 *   GET      /                     first workspace, or the "no workspace yet" page
 *
 * Sign-up and reset requests answer the same whether or not the address has an account;
 * mail goes out in the background (auth_mail.h). Sign-in throttling: per client IP
 * before any hashing, per submitted e-mail (lower-cased, trimmed) whether or not it has
 * an account (throttle.h; in memory, per process). */
#ifndef DROPFIX_AUTH_PAGES_H
#define DROPFIX_AUTH_PAGES_H

#include <jansson.h>

#include "core/str.h"
#include "http/http.h"
#include "store/store.h"

struct install;
struct keyring;
struct mail_notice;
struct throttle;

/* Handlers (routes.c). */
int auth_page_home(struct http_request *req, struct http_response *res);
int auth_page_signup_form(struct http_request *req, struct http_response *res);
int auth_page_signup(struct http_request *req, struct http_response *res);
int auth_page_verify_form(struct http_request *req, struct http_response *res);
int auth_page_verify(struct http_request *req, struct http_response *res);
int auth_page_login_form(struct http_request *req, struct http_response *res);
int auth_page_login(struct http_request *req, struct http_response *res);
int auth_page_2fa_form(struct http_request *req, struct http_response *res);
int auth_page_2fa(struct http_request *req, struct http_response *res);
int auth_page_logout(struct http_request *req, struct http_response *res);
int auth_page_reset_form(struct http_request *req, struct http_response *res);
int auth_page_reset(struct http_request *req, struct http_response *res);
int auth_page_reset_confirm_form(struct http_request *req, struct http_response *res);
int auth_page_reset_confirm(struct http_request *req, struct http_response *res);

/* ---- serve start and stop ---- */

/* At serve start: with DROPFIX_SIGNUP=first and no account yet, issues the one-time
 * setup token and prints it (with the sign-up link) to standard error, once. Returns 0,
 * or -1 with err. */
int auth_pages_start(const struct install *inst, const struct config *cfg, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* At serve stop: lets queued account mail go out (bounded), stops the mail sender. */
void auth_pages_stop(void);

/* ---- invitations (sign-up with ?invite=) ---- */

/* Decides whether an invitation token lets email (normalised) sign up, inside the
 * sign-up write transaction: 1 yes, 0 no (unknown, expired, accepted, another
 * address), -1 store error. The default looks the token's SHA-256 up in `invites`
 * (unaccepted, unexpired, same address); the team module may install its own. */
typedef int (*auth_invite_check_fn)(struct store_tx *tx, const char *token, const char *email);
void auth_pages_set_invite_check(auth_invite_check_fn fn);

/* ---- helpers shared with account_pages.c ---- */

/* The process's throttle table (created on first use; lives until exit). */
struct throttle *auth_page_throttle(void);
/* Renders template name with ctx (ownership taken; adds csrf, signed_in, account
 * e-mail) as the response with status. Always returns 0. */
int auth_page_render(struct http_request *req, struct http_response *res, int status, const char *name,
                     json_t *ctx);
/* Adds the form field name to ctx.fields: label, input type, autocomplete token, the
 * value to show again (NULL for passwords) and an error message (NULL: none). */
void auth_page_field(json_t *ctx, const char *name, const char *label, const char *type,
                     const char *autocomplete, struct str value, const char *error);
/* Binds req->form: every name in names[0..n) is an optional string of at most
 * LIMIT_FORM_VALUE bytes, `_csrf` allowed, anything else refused; values into out[i]
 * (empty when absent). Replies 400 and returns -1 when the form is malformed. */
int auth_page_bind(struct http_request *req, struct http_response *res, const char *const *names, size_t n,
                   struct str *out) __attribute__((warn_unused_result));
/* Sets Retry-After: seconds. */
void auth_page_retry_after(struct http_response *res, int64_t seconds);
/* Sets the session cookie (max age: the absolute lifetime), or clears it (token NULL). */
void auth_page_session_cookie(struct http_request *req, struct http_response *res, const char *token);
/* Appends an installation audit row for the caller inside tx: actor = account_id
 * (0: system), target and detail (JSON object text) may be NULL. Returns 0 or -1. */
int auth_page_audit(struct store_tx *tx, struct http_request *req, int64_t account_id, const char *action,
                    const char *target, const char *detail) __attribute__((warn_unused_result));
/* After a commit: the same event into the log of every workspace the account belongs
 * to (best effort; failures are logged). */
void auth_page_audit_ws(struct http_request *req, int64_t account_id, const char *action, const char *target);
/* Queues a notice mail to to (name may be NULL); when path is set, the call to action
 * links to <DROPFIX_BASE_URL><path><token>. Returns 0 or -1 (logged). */
int auth_page_notify(struct http_request *req, const char *to, const char *name, const char *subject,
                     const char *heading, const char *const *paragraphs, size_t n_paragraphs,
                     const char *action_label, const char *path, const char *token);
/* The second factor inside write transaction tx: code is a TOTP code ("123456") or a
 * recovery code. On success records the TOTP step (replays refused) or uses up the
 * recovery code. Returns 1 (accepted; *via_recovery set), 0 (wrong, replayed or 2FA
 * off), -1 (store error or a seed that does not open). */
int auth_page_second_factor(struct store_tx *tx, const struct keyring *kr, int64_t account_id,
                            struct str code, int *via_recovery) __attribute__((warn_unused_result));
/* Copies s into the request arena as a C string ("" on failure). */
const char *auth_page_cstr(struct http_request *req, struct str s);

#endif
