#include "cli/cmd_workspace_token.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "auth/account.h"
#include "auth/api_token.h"
#include "auth/guard.h"
#include "cli/cli.h"
#include "cli/opcli.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/parse.h"
#include "http/json.h"

#define MAX_ID INT64_C(9007199254740991)

void cmd_workspace_token_help(FILE *out)
{
	fprintf(
	    out,
	    "usage: dropfix workspace token create --workspace ID --account EMAIL --name NAME --role ROLE\n"
	    "                                      [--expires-days N]\n"
	    "       dropfix workspace token list --workspace ID [--json]\n"
	    "       dropfix workspace token revoke --workspace ID --id TOKEN_ID\n\n"
	    "  create  makes an API token for scripts (Authorization: Bearer dft_…, JSON API under\n"
	    "          /api/v1/w/ID/ only) and prints one JSON object {\"id\",\"display_prefix\",\n"
	    "          \"role\",\"expires_at\",\"token\"}: the token is shown only this once (only its\n"
	    "          hash is kept). ROLE is viewer, member or admin, at most the role of the\n"
	    "          member EMAIL, whom the token acts for: it stops working when that person\n"
	    "          leaves the workspace, and never acts above their current role.\n"
	    "          --expires-days N (1..%d): the token ends after N days (default: never).\n"
	    "  list    one line per token: id, name, prefix, role, created by, created, last\n"
	    "          used, expires, revoked (tab-separated, escaped), or JSON with --json.\n"
	    "  revoke  ends token TOKEN_ID of the workspace at once.\n"
	    "Every create and revoke is in the workspace audit log (actor: cli).\n",
	    API_TOKEN_MAX_DAYS);
	config_print_flags(out, CFG_STORE);
}

static int parse_id(const struct opcli *o, const char *flag, const char *s, int64_t *out)
{
	if (!s || parse_i64_cstr(s, 1, MAX_ID, out) < 0) {
		opcli_say(o, "%s needs a positive integer id", flag);
		return -1;
	}
	return 0;
}

/* The role of account acc in the ws transaction's workspace: ROLE_NONE when not a
 * member, -1 (as int) on a store failure. */
static int member_role(struct store_tx *tx, int64_t acc, enum role *role)
{
	struct store_rows *r = NULL;
	*role = ROLE_NONE;
	if (store_query(tx, "SELECT role FROM memberships WHERE workspace_id = $1 AND account_id = $2",
	                STORE_ARGS(SP_I64(acc)), &r) < 0)
		return -1;
	int st = store_step(r);
	if (st == 1) {
		size_t n = 0;
		const char *s = store_col_text(r, 0, &n);
		*role = s ? guard_role_parse(s, n) : ROLE_NONE;
	}
	store_rows_close(r);
	return st < 0 ? -1 : 0;
}

static int audit(struct opcli *o, struct store_tx *tx, const char *action, const char *target, json_t *detail)
{
	char *text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
	json_decref(detail);
	struct audit_event e = {
	    .actor_kind = AUDIT_ACTOR_CLI, .action = action, .target = target, .detail = text};
	int rc = text ? audit_append_ws(tx, o->in.keys, &e) : -1;
	free(text);
	return rc;
}

static int do_create(struct opcli *o, int64_t ws, const char *email_in, const char *name, const char *role_s,
                     const char *days_s)
{
	int64_t days = 0;
	enum role role = role_s ? api_token_role_parse(role_s, strlen(role_s)) : ROLE_NONE;
	char email[LIMIT_MAIL_ADDR + 1];
	size_t name_n = name ? strlen(name) : 0;
	if (name_n == 0 || name_n > API_TOKEN_NAME_MAX ||
	    jsonin_text_check(name, name_n, JSONIN_NO_CTRL) != JSONIN_TEXT_OK) {
		opcli_say(o, "--name: 1 to %d bytes of text without control characters", API_TOKEN_NAME_MAX);
		return EXIT_USAGE;
	}
	if (role == ROLE_NONE) {
		opcli_say(o, "--role: viewer, member or admin");
		return EXIT_USAGE;
	}
	if (days_s && parse_i64_cstr(days_s, 1, API_TOKEN_MAX_DAYS, &days) < 0) {
		opcli_say(o, "--expires-days: a whole number of days from 1 to %d", API_TOKEN_MAX_DAYS);
		return EXIT_USAGE;
	}
	if (!email_in || account_email_normalize(email_in, strlen(email_in), email) < 0) {
		opcli_say(o, "--account: '%.200s' is not an e-mail address", email_in ? email_in : "");
		return EXIT_USAGE;
	}
	int rc = opcli_connect(o);
	if (rc)
		return rc;
	rc = 1;
	struct store_tx *tx = NULL;
	struct account acc;
	struct api_token_text tok;
	char display[API_TOKEN_DISPLAY_CHARS + 1] = "";
	int64_t id = 0, now = clock_now_ms(), exists = 0;
	enum role mine = ROLE_NONE;
	memset(&tok, 0, sizeof(tok));
	/* the account first, in a global read (its SQL does not take the workspace as $1) */
	if (store_begin_global(o->c, STORE_READ, &tx) < 0)
		return opcli_db_fail(o, "starting the transaction");
	int found = account_find_by_email(tx, email, &acc);
	store_rollback(tx);
	tx = NULL;
	if (found < 0)
		return opcli_db_fail(o, "reading the account");
	if (store_begin_ws(o->c, ws, STORE_WRITE, &tx) < 0)
		return opcli_db_fail(o, "starting the transaction");
	if (store_query_i64(tx, "SELECT count(*) FROM workspaces WHERE id = $1", STORE_NO_ARGS, &exists) <
	    0) {
		rc = opcli_db_fail(o, "reading the workspace");
		goto done;
	}
	if (!exists) {
		opcli_say(o, "--workspace: no workspace %" PRId64, ws);
		goto done;
	}
	if (found == 1 && member_role(tx, acc.id, &mine) < 0) {
		rc = opcli_db_fail(o, "reading the account");
		goto done;
	}
	if (found == 0 || mine == ROLE_NONE) {
		opcli_say(o, "--account: %s is not a member of workspace %" PRId64, email, ws);
		goto done;
	}
	if (role > mine) {
		opcli_say(o, "--role: %s is above the %s role of %s", guard_role_name(role),
		          guard_role_name(mine), email);
		rc = EXIT_USAGE;
		goto done;
	}
	int64_t expires_at = days ? now + days * INT64_C(86400000) : 0;
	if (api_token_create(tx, ws, acc.id, name, name_n, role, now, expires_at, &tok, &id, display) < 0 ||
	    audit(o, tx, "apitoken.created", display,
	          json_pack("{s:s,s:s,s:s,s:s}", "display_prefix", display, "name", name, "role",
	                    guard_role_name(role), "account", email)) < 0) {
		rc = opcli_db_fail(o, "creating the token");
		goto done;
	}
	rc = opcli_commit(o, &tx);
	if (rc)
		goto done;
	if (expires_at)
		printf("{\"id\":%" PRId64 ",\"display_prefix\":\"%s\",\"role\":\"%s\",\"expires_at\":%" PRId64
		       ",\"token\":\"%s\"}\n",
		       id, display, guard_role_name(role), expires_at, tok.s);
	else
		printf("{\"id\":%" PRId64 ",\"display_prefix\":\"%s\",\"role\":\"%s\",\"expires_at\":null,"
		       "\"token\":\"%s\"}\n",
		       id, display, guard_role_name(role), tok.s);
	rc = fflush(stdout) == 0 ? 0 : 1;
done:
	api_token_wipe(&tok);
	store_rollback(tx);
	return rc;
}

static void put_time(json_t *ms)
{
	char t[32];
	if (json_is_integer(ms) && clock_format_ms(json_integer_value(ms), t, sizeof(t)) == 0)
		fputs(t, stdout);
	else
		putchar('-');
}

static int do_list(struct opcli *o, int64_t ws, int as_json)
{
	int rc = opcli_connect(o);
	if (rc)
		return rc;
	struct store_tx *tx = NULL;
	if (store_begin_ws(o->c, ws, STORE_READ, &tx) < 0)
		return opcli_db_fail(o, "starting the transaction");
	json_t *list = api_token_list(tx, ws, LIMIT_API_TOKENS_LISTED);
	if (!list) {
		rc = opcli_db_fail(o, "listing tokens");
		store_rollback(tx);
		return rc;
	}
	store_rollback(tx);
	if (as_json) {
		char *text = json_dumps(list, JSON_COMPACT | JSON_ENSURE_ASCII);
		if (text)
			printf("%s\n", text);
		free(text);
		rc = text ? 0 : 1;
	} else {
		printf("ID\tNAME\tPREFIX\tROLE\tCREATED BY\tCREATED\tLAST USED\tEXPIRES\tREVOKED\n");
		size_t i;
		json_t *t;
		json_array_foreach(list, i, t)
		{
			printf("%" PRId64 "\t", (int64_t)json_integer_value(json_object_get(t, "id")));
			static const char *const text_cols[] = {"name", "display_prefix", "role",
			                                        "created_by"};
			for (size_t k = 0; k < 4; k++) {
				opcli_put(stdout, json_string_value(json_object_get(t, text_cols[k])));
				putchar('\t');
			}
			static const char *const time_cols[] = {"created_at", "last_used_at", "expires_at",
			                                        "revoked_at"};
			for (size_t k = 0; k < 4; k++) {
				put_time(json_object_get(t, time_cols[k]));
				putchar(k < 3 ? '\t' : '\n');
			}
		}
		rc = 0;
	}
	json_decref(list);
	return fflush(stdout) == 0 ? rc : 1;
}

static int do_revoke(struct opcli *o, int64_t ws, int64_t id)
{
	int rc = opcli_connect(o);
	if (rc)
		return rc;
	struct store_tx *tx = NULL;
	char display[API_TOKEN_DISPLAY_CHARS + 1] = "";
	if (store_begin_ws(o->c, ws, STORE_WRITE, &tx) < 0)
		return opcli_db_fail(o, "starting the transaction");
	int st = api_token_revoke(tx, ws, id, clock_now_ms(), display);
	if (st == 0) {
		store_rollback(tx);
		opcli_say(o, "no live token %" PRId64 " in workspace %" PRId64, id, ws);
		return 1;
	}
	if (st < 0 ||
	    audit(o, tx, "apitoken.revoked", display,
	          json_pack("{s:s,s:I}", "display_prefix", display, "id", (json_int_t)id)) < 0 ||
	    store_commit(tx) < 0) {
		rc = opcli_db_fail(o, "revoking the token");
		store_rollback(tx);
		return rc;
	}
	printf("revoked %s…\n", display);
	return fflush(stdout) == 0 ? 0 : 1;
}

int cmd_workspace_token(int argc, char **argv)
{
	static const char *const subs[] = {"create", "list", "revoke"};
	char prog[64];
	int code = 0;
	int sub = opcli_subcommand(argc, argv, "workspace token", subs, 3, "create, list or revoke",
	                           cmd_workspace_token_help, prog, sizeof(prog), &code);
	if (sub < 0)
		return code;
	int create = sub == 0, list = sub == 1, revoke = sub == 2;
	const char *ws_s = NULL, *email = NULL, *name = NULL, *role = NULL, *days = NULL, *id_s = NULL;
	int as_json = 0;
	struct opcli_flag cflags[] = {{"--workspace", &ws_s, NULL},
	                              {"--account", &email, NULL},
	                              {"--name", &name, NULL},
	                              {"--role", &role, NULL},
	                              {"--expires-days", &days, NULL}};
	struct opcli_flag lflags[] = {{"--workspace", &ws_s, NULL}, {"--json", NULL, &as_json}};
	struct opcli_flag rflags[] = {{"--workspace", &ws_s, NULL}, {"--id", &id_s, NULL}};
	struct opcli o;
	int npos = 0;
	int rc = create ? opcli_open(&o, prog, argc, argv, 2, cflags, 5, NULL, 0, &npos)
	         : list ? opcli_open(&o, prog, argc, argv, 2, lflags, 2, NULL, 0, &npos)
	                : opcli_open(&o, prog, argc, argv, 2, rflags, 2, NULL, 0, &npos);
	int64_t ws = 0, id = 0;
	if (rc == 0 && parse_id(&o, "--workspace", ws_s, &ws) < 0)
		rc = EXIT_USAGE;
	if (rc == 0 && revoke && parse_id(&o, "--id", id_s, &id) < 0)
		rc = EXIT_USAGE;
	if (rc == 0 && create && (!email || !name || !role)) {
		opcli_say(&o, "needs --account EMAIL, --name NAME and --role ROLE");
		rc = EXIT_USAGE;
	}
	if (rc == 0)
		rc = create ? do_create(&o, ws, email, name, role, days)
		     : list ? do_list(&o, ws, as_json)
		            : do_revoke(&o, ws, id);
	opcli_close(&o);
	return rc;
}
