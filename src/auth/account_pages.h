/* Signed-in account settings (AUTH_SESSION pages):
 *
 *   GET      /account                      overview
 *   GET/POST /account/password             change password (current one needed; ends the
 *                                          other sessions and outstanding reset tokens)
 *   GET/POST /account/email                change e-mail (link to the new address; the old
 *                                          one is told when it changes)
 *   GET      /account/2fa                  on: status, disable, new recovery codes;
 *                                          off: a new secret as QR code (inline SVG) and
 *                                          manual key, with the confirmation form
 *   POST     /account/2fa/confirm          a code turns it on; the ten recovery codes once
 *   POST     /account/2fa/disable          password + code
 *   POST     /account/2fa/recovery         password; a new set of recovery codes
 *   GET      /account/sessions             active sessions
 *   POST     /account/sessions/:id/revoke  end one
 *   POST     /account/sessions/revoke-all  sign out everywhere (grace tokens included)
 *
 * Until it is confirmed, the new TOTP secret lives only in the enrolment form, sealed
 * (AES-256-GCM under the master keyring, bound to the account and the session, 30
 * minutes): nothing is stored before 2FA is on. Wrong current passwords and codes are
 * throttled per account. */
#ifndef DROPFIX_ACCOUNT_PAGES_H
#define DROPFIX_ACCOUNT_PAGES_H

#include "http/http.h"

#define ACCOUNT_ENROL_TTL_MS (INT64_C(30) * 60 * 1000)

int account_page_overview(struct http_request *req, struct http_response *res);
int account_page_password_form(struct http_request *req, struct http_response *res);
int account_page_password(struct http_request *req, struct http_response *res);
int account_page_email_form(struct http_request *req, struct http_response *res);
int account_page_email(struct http_request *req, struct http_response *res);
int account_page_2fa(struct http_request *req, struct http_response *res);
int account_page_2fa_confirm(struct http_request *req, struct http_response *res);
int account_page_2fa_disable(struct http_request *req, struct http_response *res);
int account_page_2fa_recovery(struct http_request *req, struct http_response *res);
int account_page_sessions(struct http_request *req, struct http_response *res);
int account_page_session_revoke(struct http_request *req, struct http_response *res);
int account_page_sessions_revoke_all(struct http_request *req, struct http_response *res);

#endif
