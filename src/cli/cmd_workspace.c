/* dropfix workspace create|list: workspaces from the host. `create` prints exactly one
 * JSON object {"id","public_key","secret_key"} on standard output (the secret key is
 * shown only there); a running server uses the new workspace and keys at once. */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/account.h"
#include "cli/cli.h"
#include "cli/cmd_workspace_token.h"
#include "cli/opcli.h"
#include "core/clock.h"
#include "web/workspace_pages.h"

void cmd_workspace_help(FILE *out)
{
	fprintf(
	    out,
	    "usage: dropfix workspace create --owner EMAIL --name NAME [--timezone TZ] [--product NAME]\n"
	    "                                [--currency CODE]\n"
	    "       dropfix workspace list [--json]\n"
	    "       dropfix workspace token create|list|revoke … (API tokens: see `dropfix workspace token --help`)\n\n"
	    "  create  makes a workspace owned by the account EMAIL (which must exist: see\n"
	    "          `dropfix account create`), with a public and a secret key, and prints one\n"
	    "          JSON object: {\"id\":…,\"public_key\":\"pk_…\",\"secret_key\":\"sk_…\"}. The secret\n"
	    "          key is shown only this once (it can be rotated on the keys page).\n"
	    "          --timezone is a tz database name (default UTC), --currency an ISO 4217 code\n"
	    "          (default USD), --product the product name (default: the workspace name).\n"
	    "  list    one line per workspace: id, name, time zone, currency, members, owners\n"
	    "          (tab-separated, control characters escaped), or a JSON array with --json.\n"
	    "Exit status 1 with \"server busy, retry\" when a server holds the database writer for\n"
	    "longer than the bounded wait.\n");
	config_print_flags(out, CFG_STORE);
}

static int do_create(struct opcli *o, const char *owner, const char *name, const char *tz,
                     const char *product, const char *currency)
{
	struct workspace_spec s = {.name = name,
	                           .product_name = product ? product : "",
	                           .timezone = tz ? tz : "UTC",
	                           .currency = currency ? currency : "USD"};
	struct workspace_errors e;
	if (workspace_check(&s, &e) < 0) {
		if (e.name)
			opcli_say(o, "--name: %s", e.name);
		if (e.product_name)
			opcli_say(o, "--product: %s", e.product_name);
		if (e.timezone)
			opcli_say(o, "--timezone: %s", e.timezone);
		if (e.currency)
			opcli_say(o, "--currency: %s", e.currency);
		return EXIT_USAGE;
	}
	char email[LIMIT_MAIL_ADDR + 1];
	if (account_email_normalize(owner, strlen(owner), email) < 0) {
		opcli_say(o, "--owner: '%.200s' is not an e-mail address", owner);
		return EXIT_USAGE;
	}
	int rc = opcli_connect(o);
	if (rc)
		return rc;
	rc = 1;
	struct store_tx *tx = NULL;
	struct account acc;
	struct workspace_created made;
	memset(&made, 0, sizeof(made));
	if (store_begin_global(o->c, STORE_WRITE, &tx) < 0)
		return opcli_db_fail(o, "starting the transaction");
	int found = account_find_by_email(tx, email, &acc);
	if (found <= 0) {
		if (found < 0)
			opcli_db_fail(o, "reading the owner");
		else
			opcli_say(o,
			          "--owner: no account with the address %s (create it with `dropfix account "
			          "create`)",
			          email);
		goto done;
	}
	struct workspace_actor actor = {AUDIT_ACTOR_CLI, 0, NULL};
	if (workspace_create(tx, o->in.keys, &s, acc.id, &actor, &made) < 0) {
		rc = opcli_db_fail(o, "creating the workspace");
		goto done;
	}
	rc = opcli_commit(o, &tx);
	if (rc)
		goto done;
	printf("{\"id\":%" PRId64 ",\"public_key\":\"%s\",\"secret_key\":\"%s\"}\n", made.id,
	       made.public_key.s, made.secret_key.s);
	rc = fflush(stdout) == 0 ? 0 : 1;
done:
	keys_text_wipe(&made.secret_key);
	store_rollback(tx);
	return rc;
}

static int do_list(struct opcli *o, int as_json)
{
	int rc = opcli_connect(o);
	if (rc)
		return rc;
	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	json_t *all = json_array();
	rc = 1;
	if (store_begin_global(o->c, STORE_READ, &tx) < 0) {
		rc = opcli_db_fail(o, "starting the transaction");
		goto done;
	}
	/* one row per (workspace, member), owners and counts folded here */
	if (store_query(tx,
	                "SELECT w.id, w.name, w.timezone, w.currency, m.role, a.email FROM workspaces w "
	                "LEFT JOIN memberships m ON m.workspace_id = w.id LEFT JOIN accounts a ON a.id = "
	                "m.account_id "
	                "ORDER BY w.id, a.email",
	                STORE_NO_ARGS, &r) < 0) {
		rc = opcli_db_fail(o, "listing workspaces");
		goto done;
	}
	int st;
	json_t *cur = NULL;
	while ((st = store_step(r)) == 1) {
		int64_t id = store_col_i64(r, 0);
		if (!cur || json_integer_value(json_object_get(cur, "id")) != id) {
			size_t n0 = 0, n1 = 0, n2 = 0;
			const char *name = store_col_text(r, 1, &n0), *tz = store_col_text(r, 2, &n1),
			           *cy = store_col_text(r, 3, &n2);
			cur = json_pack("{s:I,s:s%,s:s%,s:s%,s:I,s:[]}", "id", (json_int_t)id, "name",
			                name ? name : "", n0, "timezone", tz ? tz : "", n1, "currency",
			                cy ? cy : "", n2, "members", (json_int_t)0, "owners");
			if (!cur)
				goto done;
			json_array_append_new(all, cur);
		}
		if (!store_col_is_null(r, 4)) {
			json_object_set_new(
			    cur, "members",
			    json_integer(json_integer_value(json_object_get(cur, "members")) + 1));
			size_t rn = 0, en = 0;
			const char *role = store_col_text(r, 4, &rn), *em = store_col_text(r, 5, &en);
			if (role && rn == 5 && memcmp(role, "owner", 5) == 0 && em)
				json_array_append_new(json_object_get(cur, "owners"), json_stringn(em, en));
		}
	}
	if (st < 0) {
		rc = opcli_db_fail(o, "listing workspaces");
		goto done;
	}
	if (as_json) {
		char *text = json_dumps(all, JSON_COMPACT | JSON_ENSURE_ASCII);
		if (!text)
			goto done;
		printf("%s\n", text);
		free(text);
	} else {
		printf("ID\tNAME\tTIME ZONE\tCURRENCY\tMEMBERS\tOWNERS\n");
		size_t i;
		json_t *w;
		json_array_foreach(all, i, w)
		{
			printf("%" PRId64 "\t", (int64_t)json_integer_value(json_object_get(w, "id")));
			opcli_put(stdout, json_string_value(json_object_get(w, "name")));
			putchar('\t');
			opcli_put(stdout, json_string_value(json_object_get(w, "timezone")));
			putchar('\t');
			opcli_put(stdout, json_string_value(json_object_get(w, "currency")));
			printf("\t%" PRId64 "\t", (int64_t)json_integer_value(json_object_get(w, "members")));
			size_t k;
			json_t *e;
			json_array_foreach(json_object_get(w, "owners"), k, e)
			{
				if (k)
					putchar(',');
				opcli_put(stdout, json_string_value(e));
			}
			putchar('\n');
		}
	}
	rc = 0;
done:
	store_rows_close(r);
	store_rollback(tx);
	json_decref(all);
	return rc;
}

int cmd_workspace(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "token") == 0)
		return cmd_workspace_token(argc - 1, argv + 1);
	static const char *const subs[] = {"create", "list"};
	char prog[64];
	int code = 0;
	int sub = opcli_subcommand(argc, argv, "workspace", subs, 2, "create or list", cmd_workspace_help, prog,
	                           sizeof(prog), &code);
	if (sub < 0)
		return code;
	int create = sub == 0;
	const char *owner = NULL, *name = NULL, *tz = NULL, *product = NULL, *currency = NULL;
	int as_json = 0;
	struct opcli_flag cflags[] = {{"--owner", &owner, NULL},
	                              {"--name", &name, NULL},
	                              {"--timezone", &tz, NULL},
	                              {"--product", &product, NULL},
	                              {"--currency", &currency, NULL}};
	struct opcli_flag lflags[] = {{"--json", NULL, &as_json}};
	struct opcli o;
	int npos = 0;
	int rc = create ? opcli_open(&o, prog, argc, argv, 2, cflags, 5, NULL, 0, &npos)
	                : opcli_open(&o, prog, argc, argv, 2, lflags, 1, NULL, 0, &npos);
	if (rc == 0 && create && (!owner || !name)) {
		opcli_say(&o, "needs --owner EMAIL and --name NAME");
		rc = EXIT_USAGE;
	}
	if (rc == 0)
		rc = create ? do_create(&o, owner, name, tz, product, currency) : do_list(&o, as_json);
	opcli_close(&o);
	return rc;
}
