/* Workspaces: creation (shared by the dashboard, sign-up and `dropfix workspace
 * create`), the workspace list and home, settings (name, product name, time zone,
 * reporting currency, required 2FA) and deletion by an owner.
 *
 * A workspace is created with its owner's membership, a public and a secret key
 * (web/keys_pages.h) and a "workspace.created" row in the installation audit log, all in
 * one global write transaction. Deletion (store_workspace_delete) cascades to every row
 * of the workspace at once and is recorded in the installation log in the same
 * transaction. */
#ifndef DROPFIX_WORKSPACE_PAGES_H
#define DROPFIX_WORKSPACE_PAGES_H

#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "http/http.h"
#include "store/store.h"
#include "web/keys_pages.h"

struct keyring;

/* 1 when s[0..n) is an ISO 4217 currency code in our list (upper case), else 0. */
int workspace_currency_valid(const char *s, size_t n);
/* The list (borrowed, sorted) and its length. */
size_t workspace_currencies(const char *const **codes);

/* What a new workspace is made from; strings NUL-terminated, checked with
 * workspace_check. */
struct workspace_spec {
	const char *name;         /* 1..LIMIT_WORKSPACE_NAME bytes, no control characters */
	const char *product_name; /* 0..LIMIT_WORKSPACE_NAME bytes ("" = the name) */
	const char *timezone;     /* a tz database name (core/tz.h); NULL = "UTC" */
	const char *currency;     /* ISO 4217 from our list; NULL = "USD" */
};

/* Field-by-field verdicts of workspace_check: NULL when the field is fine, else an
 * English message for a person. */
struct workspace_errors {
	const char *name, *product_name, *timezone, *currency;
};

/* Checks a spec. Returns 0, or -1 with e filled. Names are taken as given: trim them
 * first (workspace_trim). */
int workspace_check(const struct workspace_spec *s, struct workspace_errors *e)
    __attribute__((warn_unused_result));
/* The message for a workspace name s[0..n) (NULL when fine). */
const char *workspace_name_problem(const char *s, size_t n, int may_be_empty);
/* Trims ASCII spaces and tabs at both ends of s[0..*n); returns the new start. */
const char *workspace_trim(const char *s, size_t *n);

/* Who creates a workspace (for the installation audit log). */
struct workspace_actor {
	enum audit_actor kind; /* AUDIT_ACTOR_ACCOUNT or AUDIT_ACTOR_CLI */
	int64_t id;            /* the account (0 for the CLI) */
	const char *ip;        /* client address or NULL */
};

struct workspace_created {
	int64_t id;
	struct keys_text public_key;
	struct keys_text secret_key; /* shown once; wipe with keys_text_wipe */
};

/* Creates the workspace described by s (checked) with owner_id as its owner, its keys
 * and the audit row, inside tx (a global write transaction). Returns 0 (out filled), or
 * -1 (store error; or the seal or the audit append failed, logged). */
int workspace_create(struct store_tx *tx, const struct keyring *kr, const struct workspace_spec *s,
                     int64_t owner_id, const struct workspace_actor *actor, struct workspace_created *out)
    __attribute__((warn_unused_result));

/* How many workspaces account_id belongs to: 0.. or -1 (store error). */
int64_t workspace_count_for(struct store_tx *tx, int64_t account_id) __attribute__((warn_unused_result));

/* ---- pages ---- */
/* GET /w: the caller's workspaces and the form for a new one. */
int workspace_page_list(struct http_request *req, struct http_response *res);
/* POST /w: creates a workspace; shows its keys once. */
int workspace_page_create(struct http_request *req, struct http_response *res);
/* GET /w/:ws/settings and POST (save name, product, time zone, currency). */
int workspace_page_settings(struct http_request *req, struct http_response *res);
int workspace_page_settings_save(struct http_request *req, struct http_response *res);
/* POST /w/:ws/settings/security: require_2fa on or off. */
int workspace_page_security_save(struct http_request *req, struct http_response *res);
/* GET /w/:ws/settings/delete (confirmation form) and POST (delete after typing the name). */
int workspace_page_delete_form(struct http_request *req, struct http_response *res);
int workspace_page_delete(struct http_request *req, struct http_response *res);

#endif
