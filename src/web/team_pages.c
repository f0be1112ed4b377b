#include "web/team_pages.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/account.h"
#include "auth/auth_mail.h"
#include "auth/guard.h"
#include "auth/session.h"
#include "cli/install.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/parse.h"
#include "http/form.h"
#include "http/reqdb.h"
#include "http/views.h"
#include "mail/mail.h"
#include "web/permissions.h"
#include "web/shell.h"

#define HASH_BYTES crypto_hash_sha256_BYTES
#define HASH_HEX (2 * HASH_BYTES)

static const char *const role_order_sql =
    "CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 WHEN 'member' THEN 2 "
    "ELSE 3 END";

static json_t *jtext(struct store_rows *r, int col)
{
	size_t n = 0;
	const char *s = store_col_text(r, col, &n);
	json_t *j = s ? json_stringn(s, n) : NULL;
	return j ? j : json_string("");
}

static enum role col_role(struct store_rows *r, int col)
{
	size_t n = 0;
	const char *s = store_col_text(r, col, &n);
	return s ? guard_role_parse(s, n) : ROLE_NONE;
}

static json_t *day_json(int64_t ms)
{
	char t[32];
	if (ms <= 0 || clock_format_ms(ms, t, sizeof(t)) < 0)
		return json_string("");
	t[10] = '\0';
	return json_string(t);
}

/* Takes the workspace row's lock (PostgreSQL; SQLite's writer is single anyway). */
static int lock_ws(struct store_tx *tx)
{
	return store_exec(tx, "UPDATE workspaces SET updated_at = updated_at WHERE id = $1", STORE_NO_ARGS);
}

static int owner_count(struct store_tx *tx, int64_t *n)
{
	return store_query_i64(tx,
	                       "SELECT count(*) FROM memberships WHERE workspace_id = $1 AND role = 'owner'",
	                       STORE_NO_ARGS, n) < 0
	           ? -1
	           : 0;
}

/* The role and e-mail of account id in the transaction's workspace: 1, 0 (not a
 * member), -1. email needs LIMIT_MAIL_ADDR + 1 bytes. */
static int member_get(struct store_tx *tx, int64_t id, enum role *role, char *email)
{
	struct store_rows *r = NULL;
	if (store_query(tx,
	                "SELECT m.role, a.email FROM memberships m JOIN accounts a ON a.id = m.account_id "
	                "WHERE m.workspace_id = $1 AND m.account_id = $2",
	                STORE_ARGS(SP_I64(id)), &r) < 0)
		return -1;
	int st = store_step(r);
	if (st == 1) {
		*role = col_role(r, 0);
		size_t n = 0;
		const char *e = store_col_text(r, 1, &n);
		snprintf(email, LIMIT_MAIL_ADDR + 1, "%.*s", (int)(e ? n : 0), e ? e : "");
	}
	store_rows_close(r);
	return st;
}

static json_t *roles_json(enum role actor, enum role selected, int allow_owner)
{
	json_t *a = json_array();
	for (int r = ROLE_VIEWER; r <= ROLE_OWNER; r++) {
		if (r == ROLE_OWNER && !allow_owner)
			continue;
		if (r != ROLE_OWNER && r > ROLE_ADMIN)
			continue;
		(void)actor;
		json_array_append_new(a, json_pack("{s:s,s:b}", "name", guard_role_name((enum role)r),
		                                   "selected", r == (int)selected));
	}
	return a;
}

/* May actor change (or remove) a member whose role is target? owners = owner count. */
static int may_manage(enum role actor, enum role target, int64_t owners)
{
	if (!perm_allows(actor, PERM_TEAM_MANAGE))
		return 0;
	if (target == ROLE_OWNER && (!perm_allows(actor, PERM_TEAM_OWNERS) || owners <= 1))
		return 0;
	return 1;
}

/* Loads members and invitations into ctx. 0 or -1 (store). */
static int load_team(struct http_request *req, json_t *ctx)
{
	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	enum role actor = req->auth.role;
	int64_t owners = 0, now = clock_now_ms();
	char sql[512];
	if (req_begin_ws(req, STORE_READ, &tx) < 0)
		return -1;
	if (owner_count(tx, &owners) < 0)
		goto fail;
	json_t *members = json_array();
	json_object_set_new(ctx, "members", members);
	snprintf(
	    sql, sizeof(sql),
	    "SELECT a.id, a.name, a.email, m.role, m.created_at, a.totp_sealed IS NOT NULL FROM memberships "
	    "m "
	    "JOIN accounts a ON a.id = m.account_id WHERE m.workspace_id = $1 ORDER BY %s, a.email LIMIT $2",
	    role_order_sql);
	if (store_query(tx, sql, STORE_ARGS(SP_I64(LIMIT_TEAM_LIST)), &r) < 0)
		goto fail;
	int st;
	while ((st = store_step(r)) == 1) {
		int64_t id = store_col_i64(r, 0);
		enum role role = col_role(r, 3);
		int self = id == req->auth.account_id;
		int manage = may_manage(actor, role, owners);
		json_array_append_new(
		    members,
		    json_pack("{s:I,s:o,s:o,s:s,s:o,s:b,s:b,s:b,s:b,s:o}", "id", (json_int_t)id, "name",
		              jtext(r, 1), "email", jtext(r, 2), "role", guard_role_name(role), "joined",
		              day_json(store_col_i64(r, 4)), "has_2fa", store_col_i64(r, 5) != 0, "self",
		              self, "can_change", manage, "can_remove", manage && !self, "roles",
		              roles_json(actor, role, perm_allows(actor, PERM_TEAM_OWNERS))));
	}
	if (st < 0)
		goto fail;
	store_rows_close(r);
	r = NULL;

	json_t *invites = json_array();
	json_object_set_new(ctx, "invites", invites);
	if (store_query(tx,
	                "SELECT token_hash, email, role, expires_at FROM invites WHERE workspace_id = $1 "
	                "AND accepted_at IS NULL ORDER BY created_at DESC LIMIT $2",
	                STORE_ARGS(SP_I64(LIMIT_TEAM_LIST)), &r) < 0)
		goto fail;
	while ((st = store_step(r)) == 1) {
		size_t hn = 0;
		const void *h = store_col_blob(r, 0, &hn);
		char hex[HASH_HEX + 1] = "";
		if (h && hn == HASH_BYTES)
			sodium_bin2hex(hex, sizeof(hex), h, hn);
		enum role role = col_role(r, 2);
		int64_t exp = store_col_i64(r, 3);
		int can = perm_allows(actor, PERM_TEAM_INVITE) &&
		          (role != ROLE_OWNER || perm_allows(actor, PERM_TEAM_OWNERS));
		json_array_append_new(invites,
		                      json_pack("{s:s,s:o,s:s,s:o,s:b,s:b}", "id", hex, "email", jtext(r, 1),
		                                "role", guard_role_name(role), "expires", day_json(exp),
		                                "expired", exp <= now, "can_revoke", can));
	}
	if (st < 0)
		goto fail;
	store_rows_close(r);
	store_rollback(tx);
	int last_owner = actor == ROLE_OWNER && owners <= 1;
	json_object_set_new(ctx, "last_owner", json_boolean(last_owner));
	json_object_set_new(ctx, "has_invites", json_boolean(json_array_size(invites) > 0));
	return 0;
fail:
	store_rows_close(r);
	store_rollback(tx);
	return -1;
}

/* The team page; error (may be NULL) shown above the lists; form/errs keep what was
 * typed into the invitation form. */
static int render_team(struct http_request *req, struct http_response *res, int status, const char *error,
                       const char *email, enum role role, const char *email_error, const char *role_error)
{
	json_t *ctx = shell_context(req, res, "team");
	if (!ctx)
		return req_db_error(req, res);
	if (load_team(req, ctx) < 0) {
		json_decref(ctx);
		return req_db_error(req, res);
	}
	json_object_set_new(ctx, "title", json_string("Team"));
	json_object_set_new(ctx, "form", json_pack("{s:s}", "email", email ? email : ""));
	json_object_set_new(ctx, "invite_roles",
	                    roles_json(req->auth.role, role == ROLE_NONE ? ROLE_MEMBER : role,
	                               perm_allows(req->auth.role, PERM_TEAM_OWNERS)));
	json_object_set_new(ctx, "invite_days", json_integer(TEAM_INVITE_TTL_MS / 86400000));
	if (error)
		json_object_set_new(ctx, "team_error", json_string(error));
	if (email_error)
		shell_field_error(ctx, "email", email_error);
	if (role_error)
		shell_field_error(ctx, "role", role_error);
	return shell_render(req, res, status, "team_settings", ctx);
}

int team_page(struct http_request *req, struct http_response *res)
{
	return render_team(req, res, 200, NULL, NULL, ROLE_NONE, NULL, NULL);
}

static void team_href(const struct http_request *req, char *out, size_t n)
{
	snprintf(out, n, "/w/%" PRId64 "/settings/team", req->auth.workspace_id);
}

static int bind_form(struct http_request *req, struct http_response *res, const struct jsonin_spec *spec,
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

/* ---- invitations ---- */

struct invite_form {
	struct str csrf, email, role;
};

static const struct jsonin_field invite_fields[] = {
    JSONIN_F_STR("_csrf", 0, 0, 128, struct invite_form, csrf),
    JSONIN_F_STR("email", 0, 0, 1024, struct invite_form, email),
    JSONIN_F_STR("role", 0, 0, 32, struct invite_form, role),
};
static const struct jsonin_spec invite_spec = JSONIN_SPEC(invite_fields, JSONIN_STRICT);

/* Queues the invitation mail. 0 or -1. */
static int send_invite(struct http_request *req, const char *email, const char *ws_name, enum role role,
                       const char *inviter, const char *token)
{
	char heading[LIMIT_WORKSPACE_NAME + 64], subject[LIMIT_WORKSPACE_NAME + 64];
	char p1[LIMIT_WORKSPACE_NAME + LIMIT_ACCOUNT_NAME + LIMIT_MAIL_ADDR + 128];
	struct buf url;
	snprintf(heading, sizeof(heading), "You are invited to %s", ws_name);
	snprintf(subject, sizeof(subject), "Invitation to %s on DropFix", ws_name);
	snprintf(p1, sizeof(p1),
	         "%s invited you to the DropFix workspace \xe2\x80\x9c%s\xe2\x80\x9d as %s %s.", inviter,
	         ws_name, role == ROLE_ADMIN || role == ROLE_OWNER ? "an" : "a", guard_role_name(role));
	const char *paras[] = {
	    p1,
	    "Open the invitation to accept it. It works once and expires in 7 days. If you have no DropFix "
	    "account "
	    "yet, you can create one there with this e-mail address.",
	};
	buf_init(&url, 4096);
	buf_printf(&url, "%s/auth/invite/%s", req->cfg->base_url ? req->cfg->base_url : "", token);
	struct mail_notice n = {
	    .heading = heading,
	    .paragraphs = paras,
	    .n_paragraphs = 2,
	    .action_label = "View the invitation",
	    .action_url = url.p,
	    .footer =
	        "You get this e-mail because someone invited this address to a DropFix workspace. If you did "
	        "not expect it, you can ignore it.",
	};
	int rc = url.oom ? -1 : auth_mail_queue(req->cfg, email, NULL, subject, &n);
	if (url.p)
		sodium_memzero(url.p, url.n);
	buf_free(&url);
	return rc;
}

int team_page_invite(struct http_request *req, struct http_response *res)
{
	struct invite_form f = {0};
	enum role actor = req->auth.role;
	if (!perm_allows(actor, PERM_TEAM_INVITE))
		return http_reply_error(req, res, 403, "forbidden",
		                        "your role in this workspace does not allow this", NULL);
	if (bind_form(req, res, &invite_spec, &f, sizeof(f)) < 0)
		return 0;
	char email[LIMIT_MAIL_ADDR + 1];
	const char *typed = f.email.p ? arena_strndup(req->arena, f.email.p, f.email.n) : "";
	enum role role = guard_role_parse(f.role.p ? f.role.p : "", f.role.n);
	const char *email_error = NULL, *role_error = NULL;
	if (account_email_normalize(f.email.p ? f.email.p : "", f.email.n, email) < 0)
		email_error = "Enter a valid e-mail address, like name@example.com.";
	if (role == ROLE_NONE)
		role_error = "Choose a role.";
	if (email_error || role_error)
		return render_team(req, res, 400, NULL, typed, role, email_error, role_error);
	if (role == ROLE_OWNER && !perm_allows(actor, PERM_TEAM_OWNERS))
		return render_team(req, res, 403, NULL, typed, role, NULL,
		                   "Only an owner can invite an owner.");

	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	char token[SESSION_TOKEN_CHARS + 1];
	uint8_t h[HASH_BYTES];
	char ws_name[LIMIT_WORKSPACE_NAME + 1] = "", inviter[LIMIT_ACCOUNT_NAME + LIMIT_MAIL_ADDR + 8] = "";
	int64_t now = clock_now_ms(), pending = 0, is_member = 0;
	session_random_token(token);
	crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
	if (req_begin_ws(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	if (lock_ws(tx) < 0)
		goto fail;
	if (store_query_i64(tx,
	                    "SELECT count(*) FROM memberships m JOIN accounts a ON a.id = m.account_id "
	                    "WHERE m.workspace_id = $1 AND a.email = $2",
	                    STORE_ARGS(SP_TEXT(email)), &is_member) < 0)
		goto fail;
	if (is_member) {
		store_rollback(tx);
		return render_team(req, res, 400, NULL, typed, role, "This person is already a member.",
		                   NULL);
	}
	if (store_exec(tx,
	               "DELETE FROM invites WHERE workspace_id = $1 AND email = $2 AND accepted_at IS NULL",
	               STORE_ARGS(SP_TEXT(email))) < 0)
		goto fail;
	if (store_query_i64(tx,
	                    "SELECT count(*) FROM invites WHERE workspace_id = $1 AND accepted_at IS NULL "
	                    "AND expires_at > $2",
	                    STORE_ARGS(SP_I64(now)), &pending) < 0)
		goto fail;
	if (pending >= LIMIT_PENDING_INVITES) {
		store_rollback(tx);
		return render_team(req, res, 400,
		                   "This workspace has too many open invitations: revoke some first.", typed,
		                   role, NULL, NULL);
	}
	if (store_exec(tx,
	               "INSERT INTO invites (token_hash, workspace_id, email, role, invited_by, created_at, "
	               "expires_at) "
	               "VALUES ($2, $1, $3, $4, $5, $6, $7)",
	               STORE_ARGS(SP_BLOB(h, sizeof(h)), SP_TEXT(email), SP_TEXT(guard_role_name(role)),
	                          SP_I64(req->auth.account_id), SP_I64(now),
	                          SP_I64(now + TEAM_INVITE_TTL_MS))) < 0)
		goto fail;
	if (store_query(tx,
	                "SELECT w.name, a.name, a.email FROM workspaces w JOIN accounts a ON a.id = $2 WHERE "
	                "w.id = $1",
	                STORE_ARGS(SP_I64(req->auth.account_id)), &r) < 0)
		goto fail;
	if (store_step(r) == 1) {
		size_t wn = 0, an = 0, en = 0;
		const char *w = store_col_text(r, 0, &wn), *a = store_col_text(r, 1, &an),
		           *e = store_col_text(r, 2, &en);
		snprintf(ws_name, sizeof(ws_name), "%.*s", (int)wn, w ? w : "");
		if (an)
			snprintf(inviter, sizeof(inviter), "%.*s (%.*s)", (int)an, a, (int)en, e ? e : "");
		else
			snprintf(inviter, sizeof(inviter), "%.*s", (int)en, e ? e : "");
	}
	store_rows_close(r);
	r = NULL;
	if (shell_audit(req, tx, "invite.created", email, json_pack("{s:s}", "role", guard_role_name(role))) <
	    0)
		goto fail;
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	char back[64];
	team_href(req, back, sizeof(back));
	int sent = send_invite(req, email, ws_name, role, inviter[0] ? inviter : "A teammate", token);
	sodium_memzero(token, sizeof(token));
	return shell_redirect(req, res, back, sent == 0 ? FLASH_INVITE_SENT : FLASH_INVITE_MAIL_FAILED);
fail:
	sodium_memzero(token, sizeof(token));
	store_rows_close(r);
	store_rollback(tx);
	return req_db_error(req, res);
}

struct revoke_form {
	struct str csrf, invite;
};

static const struct jsonin_field revoke_fields[] = {
    JSONIN_F_STR("_csrf", 0, 0, 128, struct revoke_form, csrf),
    JSONIN_F_STR("invite", JSONIN_REQUIRED, HASH_HEX, HASH_HEX, struct revoke_form, invite),
};
static const struct jsonin_spec revoke_spec = JSONIN_SPEC(revoke_fields, JSONIN_STRICT);

int team_page_invite_revoke(struct http_request *req, struct http_response *res)
{
	struct revoke_form f = {0};
	uint8_t h[HASH_BYTES];
	size_t hn = 0;
	if (!perm_allows(req->auth.role, PERM_TEAM_INVITE))
		return http_reply_error(req, res, 403, "forbidden",
		                        "your role in this workspace does not allow this", NULL);
	if (bind_form(req, res, &revoke_spec, &f, sizeof(f)) < 0)
		return 0;
	if (sodium_hex2bin(h, sizeof(h), f.invite.p, f.invite.n, NULL, &hn, NULL) != 0 || hn != HASH_BYTES)
		return http_reply_error(req, res, 400, "invalid_field", "not an invitation id", "/invite");
	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	char email[LIMIT_MAIL_ADDR + 1] = "";
	enum role role = ROLE_NONE;
	if (req_begin_ws(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	if (store_query(tx,
	                "SELECT email, role FROM invites WHERE workspace_id = $1 AND token_hash = $2 AND "
	                "accepted_at IS NULL",
	                STORE_ARGS(SP_BLOB(h, sizeof(h))), &r) < 0)
		goto fail;
	int st = store_step(r);
	if (st == 1) {
		size_t n = 0;
		const char *e = store_col_text(r, 0, &n);
		snprintf(email, sizeof(email), "%.*s", (int)n, e ? e : "");
		role = col_role(r, 1);
	}
	store_rows_close(r);
	r = NULL;
	if (st < 0)
		goto fail;
	if (st == 0) {
		store_rollback(tx);
		return render_team(req, res, 404, "That invitation does not exist any more.", NULL, ROLE_NONE,
		                   NULL, NULL);
	}
	if (role == ROLE_OWNER && !perm_allows(req->auth.role, PERM_TEAM_OWNERS)) {
		store_rollback(tx);
		return render_team(req, res, 403, "Only an owner can revoke an invitation for an owner.",
		                   NULL, ROLE_NONE, NULL, NULL);
	}
	if (store_exec(tx, "DELETE FROM invites WHERE workspace_id = $1 AND token_hash = $2",
	               STORE_ARGS(SP_BLOB(h, sizeof(h)))) < 0)
		goto fail;
	if (shell_audit(req, tx, "invite.revoked", email, json_pack("{s:s}", "role", guard_role_name(role))) <
	    0)
		goto fail;
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	char back[64];
	team_href(req, back, sizeof(back));
	return shell_redirect(req, res, back, FLASH_INVITE_REVOKED);
fail:
	store_rows_close(r);
	store_rollback(tx);
	return req_db_error(req, res);
}

/* ---- members ---- */

struct member_form {
	struct str csrf;
	int64_t account;
	struct str role;
};

static const struct jsonin_field member_fields[] = {
    JSONIN_F_STR("_csrf", 0, 0, 128, struct member_form, csrf),
    JSONIN_F_INT("account", JSONIN_REQUIRED, 1, INT64_C(9007199254740991), struct member_form, account),
    JSONIN_F_STR("role", 0, 0, 32, struct member_form, role),
};
static const struct jsonin_spec member_spec = JSONIN_SPEC(member_fields, JSONIN_STRICT);

/* Shared by role change (new_role set) and removal (ROLE_NONE). */
static int change_member(struct http_request *req, struct http_response *res, int64_t target_id,
                         enum role new_role, int leaving)
{
	enum role actor = req->auth.role;
	struct store_tx *tx = NULL;
	enum role cur = ROLE_NONE;
	char email[LIMIT_MAIL_ADDR + 1] = "";
	int64_t owners = 0;
	const char *refusal = NULL;
	int refusal_status = 403;
	if (req_begin_ws(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	if (lock_ws(tx) < 0)
		goto fail;
	int st = member_get(tx, target_id, &cur, email);
	if (st < 0 || owner_count(tx, &owners) < 0)
		goto fail;
	if (st == 0) {
		refusal = "That person is not a member of this workspace.";
		refusal_status = 404;
	} else if (leaving) {
		if (cur == ROLE_OWNER && owners <= 1) {
			refusal = "You are the last owner: make someone else an owner first, or delete the "
			          "workspace.";
			refusal_status = 409;
		}
	} else if (!perm_allows(actor, PERM_TEAM_MANAGE)) {
		refusal = "Your role does not allow changing the team.";
	} else if ((cur == ROLE_OWNER || new_role == ROLE_OWNER) && !perm_allows(actor, PERM_TEAM_OWNERS)) {
		refusal = "Only an owner can make someone an owner, or change or remove an owner.";
	} else if (cur == ROLE_OWNER && new_role != ROLE_OWNER && owners <= 1) {
		refusal = "This is the last owner of the workspace: make someone else an owner first.";
		refusal_status = 409;
	}
	if (refusal) {
		store_rollback(tx);
		return render_team(req, res, refusal_status, refusal, NULL, ROLE_NONE, NULL, NULL);
	}
	char back[64];
	team_href(req, back, sizeof(back));
	if (new_role != ROLE_NONE && new_role == cur) {
		store_rollback(tx);
		return shell_redirect(req, res, back, FLASH_ROLE_CHANGED);
	}
	if (new_role != ROLE_NONE) {
		if (store_exec(tx,
		               "UPDATE memberships SET role = $3 WHERE workspace_id = $1 AND account_id = $2",
		               STORE_ARGS(SP_I64(target_id), SP_TEXT(guard_role_name(new_role)))) < 0)
			goto fail;
		if (shell_audit(req, tx, "member.role_changed", email,
		                json_pack("{s:I,s:s,s:s}", "account_id", (json_int_t)target_id, "from",
		                          guard_role_name(cur), "to", guard_role_name(new_role))) < 0)
			goto fail;
	} else {
		if (store_exec(tx, "DELETE FROM memberships WHERE workspace_id = $1 AND account_id = $2",
		               STORE_ARGS(SP_I64(target_id))) < 0)
			goto fail;
		if (shell_audit(req, tx, "member.removed", email,
		                json_pack("{s:I,s:s,s:b}", "account_id", (json_int_t)target_id, "role",
		                          guard_role_name(cur), "left", leaving)) < 0)
			goto fail;
	}
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	if (leaving)
		return shell_redirect(req, res, "/w", FLASH_LEFT_WORKSPACE);
	return shell_redirect(req, res, back,
	                      new_role != ROLE_NONE ? FLASH_ROLE_CHANGED : FLASH_MEMBER_REMOVED);
fail:
	store_rollback(tx);
	return req_db_error(req, res);
}

int team_page_role(struct http_request *req, struct http_response *res)
{
	struct member_form f = {0};
	if (bind_form(req, res, &member_spec, &f, sizeof(f)) < 0)
		return 0;
	enum role role = guard_role_parse(f.role.p ? f.role.p : "", f.role.n);
	if (role == ROLE_NONE)
		return http_reply_error(req, res, 400, "invalid_field",
		                        "role must be owner, admin, member or viewer", "/role");
	return change_member(req, res, f.account, role, 0);
}

int team_page_remove(struct http_request *req, struct http_response *res)
{
	struct member_form f = {0};
	if (bind_form(req, res, &member_spec, &f, sizeof(f)) < 0)
		return 0;
	if (f.account == req->auth.account_id)
		return render_team(req, res, 400, "To leave the workspace yourself, use Leave workspace.",
		                   NULL, ROLE_NONE, NULL, NULL);
	return change_member(req, res, f.account, ROLE_NONE, 0);
}

struct leave_form {
	struct str csrf;
};

static const struct jsonin_field leave_fields[] = {
    JSONIN_F_STR("_csrf", 0, 0, 128, struct leave_form, csrf),
};
static const struct jsonin_spec leave_spec = JSONIN_SPEC(leave_fields, JSONIN_STRICT);

int team_page_leave(struct http_request *req, struct http_response *res)
{
	struct leave_form f = {0};
	if (req->form && bind_form(req, res, &leave_spec, &f, sizeof(f)) < 0)
		return 0;
	return change_member(req, res, req->auth.account_id, ROLE_NONE, 1);
}

/* ---- accepting ---- */

struct invite_info {
	int64_t ws;
	char email[LIMIT_MAIL_ADDR + 1];
	enum role role;
	int64_t expires_at, accepted_at;
	char ws_name[LIMIT_WORKSPACE_NAME + 1];
	char inviter[LIMIT_ACCOUNT_NAME + 1];
};

/* 1 when token (a route parameter) has the shape of a token, with its hash in h. */
static int token_hash(struct str token, uint8_t h[HASH_BYTES])
{
	if (token.n != SESSION_TOKEN_CHARS)
		return 0;
	for (size_t i = 0; i < token.n; i++) {
		char c = token.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return 0;
	}
	crypto_hash_sha256(h, (const unsigned char *)token.p, token.n);
	return 1;
}

/* Reads the invitation with hash h (global transaction): 1, 0 (unknown), -1. */
static int invite_read(struct store_tx *tx, const uint8_t h[HASH_BYTES], struct invite_info *out)
{
	struct store_rows *r = NULL;
	memset(out, 0, sizeof(*out));
	if (store_query(tx,
	                "SELECT i.workspace_id, i.email, i.role, i.expires_at, i.accepted_at, w.name, a.name "
	                "FROM invites i JOIN workspaces w ON w.id = i.workspace_id "
	                "LEFT JOIN accounts a ON a.id = i.invited_by WHERE i.token_hash = $1",
	                STORE_ARGS(SP_BLOB(h, HASH_BYTES)), &r) < 0)
		return -1;
	int st = store_step(r);
	if (st == 1) {
		size_t n = 0;
		const char *s;
		out->ws = store_col_i64(r, 0);
		s = store_col_text(r, 1, &n);
		snprintf(out->email, sizeof(out->email), "%.*s", (int)n, s ? s : "");
		out->role = col_role(r, 2);
		out->expires_at = store_col_i64(r, 3);
		out->accepted_at = store_col_i64(r, 4);
		s = store_col_text(r, 5, &n);
		snprintf(out->ws_name, sizeof(out->ws_name), "%.*s", (int)n, s ? s : "");
		s = store_col_text(r, 6, &n);
		snprintf(out->inviter, sizeof(out->inviter), "%.*s", (int)n, s ? s : "");
	}
	store_rows_close(r);
	return st;
}

/* Renders the public invitation page (layout only, no shell). */
static int render_invite(struct http_request *req, struct http_response *res, int status, json_t *ctx)
{
	const struct tmpl_set *set = views();
	buf_reset(&res->body);
	if (!set || tmpl_render(set, "team_invite", ctx, &res->body) < 0) {
		json_decref(ctx);
		buf_reset(&res->body);
		return http_reply_error(req, res, 500, "internal", "the page could not be rendered", NULL);
	}
	json_decref(ctx);
	res->status = status;
	res->content_type = "text/html; charset=utf-8";
	return 0;
}

static int invite_gone(struct http_request *req, struct http_response *res, int status, const char *why)
{
	return render_invite(
	    req, res, status,
	    json_pack("{s:s,s:b,s:s}", "title", "Invitation not valid", "gone", 1, "message", why));
}

int team_invite_page(struct http_request *req, struct http_response *res)
{
	struct str token = http_param(req, "token");
	uint8_t h[HASH_BYTES];
	if (!token_hash(token, h))
		return invite_gone(req, res, 404,
		                   "This invitation link is not valid. Check that you copied all of it.");
	struct store_tx *tx = NULL;
	struct invite_info inv;
	struct session_info si;
	struct account acc;
	int signed_in = 0;
	int64_t now = clock_now_ms();
	if (req_begin_global(req, STORE_READ, &tx) < 0)
		return req_db_error(req, res);
	int st = invite_read(tx, h, &inv);
	if (st == 1) {
		/* Who is looking (read only: the guard does the bookkeeping on signed-in routes). */
		const char *cookie = http_cookie(req, session_cookie_name(req->cfg));
		int found = cookie ? session_lookup(tx, cookie, now, &si) : 0;
		if (found < 0)
			st = -1;
		else if (found == 1 && si.stage == SESSION_FULL) {
			int got = account_get(tx, si.account_id, &acc);
			if (got < 0)
				st = -1;
			signed_in = got == 1;
		}
	}
	store_rollback(tx);
	if (st < 0)
		return req_db_error(req, res);
	if (st == 0)
		return invite_gone(req, res, 404,
		                   "This invitation does not exist: it may have been revoked.");
	if (inv.accepted_at)
		return invite_gone(req, res, 410, "This invitation was accepted already.");
	if (inv.expires_at <= now)
		return invite_gone(req, res, 410, "This invitation has expired. Ask for a new one.");

	char path[96], login[160], signup[160];
	snprintf(path, sizeof(path), "/auth/invite/%.*s", (int)token.n, token.p);
	snprintf(login, sizeof(login), "/auth/login?next=%s", path);
	snprintf(signup, sizeof(signup), "/auth/signup?invite=%.*s", (int)token.n, token.p);
	json_t *ctx = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "title", "Invitation", "ws_name",
	                        inv.ws_name, "role", guard_role_name(inv.role), "email", inv.email, "action",
	                        path, "inviter", inv.inviter, "expires", day_json(inv.expires_at));
	const char *state;
	if (!signed_in) {
		state = "anonymous";
		json_object_set_new(ctx, "login", json_string(login));
		json_object_set_new(ctx, "signup", json_string(signup));
	} else if (strcmp(acc.email, inv.email) != 0) {
		state = "other";
		json_object_set_new(ctx, "me", json_string(acc.email));
	} else if (!acc.verified) {
		state = "unverified";
	} else {
		state = "ready";
		json_object_set_new(ctx, "csrf", json_string(si.csrf));
	}
	json_object_set_new(ctx, state, json_true());
	sodium_memzero(&si, sizeof(si));
	return render_invite(req, res, 200, ctx);
}

int team_invite_accept(struct http_request *req, struct http_response *res)
{
	struct str token = http_param(req, "token");
	uint8_t h[HASH_BYTES];
	if (!token_hash(token, h))
		return invite_gone(req, res, 404,
		                   "This invitation link is not valid. Check that you copied all of it.");
	struct store_tx *tx = NULL;
	struct invite_info inv;
	struct account acc;
	int64_t now = clock_now_ms();
	if (req_begin_global(req, STORE_READ, &tx) < 0)
		return req_db_error(req, res);
	int st = invite_read(tx, h, &inv);
	int got = st == 1 ? account_get(tx, req->auth.account_id, &acc) : 0;
	store_rollback(tx);
	tx = NULL;
	if (st < 0 || got < 0)
		return req_db_error(req, res);
	if (st == 0)
		return invite_gone(req, res, 404,
		                   "This invitation does not exist: it may have been revoked.");
	if (inv.accepted_at)
		return invite_gone(req, res, 410, "This invitation was accepted already.");
	if (inv.expires_at <= now)
		return invite_gone(req, res, 410, "This invitation has expired. Ask for a new one.");
	if (got != 1 || strcmp(acc.email, inv.email) != 0)
		return invite_gone(
		    req, res, 403,
		    "This invitation was sent to another e-mail address. Sign in with that address to accept "
		    "it.");
	if (!acc.verified)
		return invite_gone(
		    req, res, 403,
		    "Verify your e-mail address first (use the link we sent you), then open the invitation "
		    "again.");

	req->auth.workspace_id = inv.ws;
	int64_t existing = 0;
	if (req_begin_ws(req, STORE_WRITE, &tx) < 0)
		return req_db_error(req, res);
	if (lock_ws(tx) < 0 ||
	    store_exec(tx,
	               "UPDATE invites SET accepted_at = $3 WHERE workspace_id = $1 AND token_hash = $2 "
	               "AND accepted_at IS NULL AND expires_at > $3",
	               STORE_ARGS(SP_BLOB(h, HASH_BYTES), SP_I64(now))) < 0)
		goto fail;
	if (store_changes(tx) != 1) {
		store_rollback(tx);
		return invite_gone(req, res, 410, "This invitation was accepted already or has expired.");
	}
	if (store_query_i64(tx,
	                    "SELECT count(*) FROM memberships WHERE workspace_id = $1 AND account_id = $2",
	                    STORE_ARGS(SP_I64(acc.id)), &existing) < 0)
		goto fail;
	if (!existing &&
	    store_exec(tx,
	               "INSERT INTO memberships (workspace_id, account_id, role, created_at) VALUES ($1, $2, "
	               "$3, $4)",
	               STORE_ARGS(SP_I64(acc.id), SP_TEXT(guard_role_name(inv.role)), SP_I64(now))) < 0)
		goto fail;
	if (shell_audit(req, tx, "invite.accepted", inv.email,
	                json_pack("{s:s,s:b}", "role", guard_role_name(inv.role), "already_member",
	                          existing != 0)) < 0)
		goto fail;
	if (!existing && shell_audit(req, tx, "member.added", inv.email,
	                             json_pack("{s:I,s:s}", "account_id", (json_int_t)acc.id, "role",
	                                       guard_role_name(inv.role))) < 0)
		goto fail;
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto fail;
	}
	char dest[48];
	shell_ws_href(inv.ws, dest, sizeof(dest));
	return shell_redirect(req, res, dest, existing ? FLASH_ALREADY_MEMBER : FLASH_INVITE_ACCEPTED);
fail:
	store_rollback(tx);
	return req_db_error(req, res);
}
