/* dropfix staff grant EMAIL | revoke EMAIL | list: the installation's operators (PRODUCT
 * §14). The flag is only half of operator powers: the account must also use two-factor
 * authentication, checked on every request (src/auth/staff.h). Changes are audited in
 * the installation log. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "auth/account.h"
#include "auth/staff.h"
#include "cli/cli.h"
#include "cli/opcli.h"
#include "core/clock.h"

void cmd_staff_help(FILE *out)
{
	fprintf(out, "usage: dropfix staff grant EMAIL | revoke EMAIL | list\n\n"
	             "  grant EMAIL   flags the account as an operator (staff). Operator powers (the /staff\n"
	             "                page) stay off until the account uses two-factor authentication.\n"
	             "  revoke EMAIL  removes the flag; it takes effect on the account's next request.\n"
	             "  list          every operator: e-mail, name, 2FA status and when operator powers\n"
	             "                were last used (tab-separated, control characters escaped).\n"
	             "Changes are written to the installation audit log. Exit status 1 with \"server busy,\n"
	             "retry\" when a server holds the database writer for longer than the bounded wait.\n");
	config_print_flags(out, CFG_STORE);
}

static int do_set(struct opcli *o, const char *typed, int on)
{
	char email[LIMIT_MAIL_ADDR + 1], detail[64];
	if (account_email_normalize(typed, strlen(typed), email) < 0) {
		opcli_say(o, "'%.200s' is not an e-mail address", typed);
		return EXIT_USAGE;
	}
	int rc = opcli_connect(o);
	if (rc)
		return rc;
	rc = 1;
	struct store_tx *tx = NULL;
	struct account acc;
	if (store_begin_global(o->c, STORE_WRITE, &tx) < 0)
		return opcli_db_fail(o, "starting the transaction");
	int found = account_find_by_email(tx, email, &acc);
	if (found <= 0) {
		if (found < 0)
			opcli_db_fail(o, "reading the account");
		else
			opcli_say(o, "no account with the address %s", email);
		goto done;
	}
	int changed = staff_set(tx, acc.id, on);
	if (changed < 0) {
		rc = opcli_db_fail(o, "changing the staff flag");
		goto done;
	}
	if (changed) {
		snprintf(detail, sizeof(detail), "{\"account_id\":%" PRId64 "}", acc.id);
		if (opcli_audit(o, tx, on ? "staff.flag_set" : "staff.flag_cleared", acc.email, 0, detail) <
		    0)
			goto done;
		rc = opcli_commit(o, &tx);
		if (rc)
			goto done;
	}
	opcli_put(stdout, acc.email);
	if (on)
		printf(changed ? " is now an operator" : " was an operator already");
	else
		printf(changed ? " is no longer an operator" : " was not an operator");
	printf("\n");
	if (on && !acc.has_2fa)
		printf(
		    "note: operator powers stay off until this account turns on two-factor authentication\n");
	rc = 0;
done:
	store_rollback(tx);
	return rc;
}

static int do_list(struct opcli *o)
{
	int rc = opcli_connect(o);
	if (rc)
		return rc;
	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	rc = 1;
	if (store_begin_global(o->c, STORE_READ, &tx) < 0)
		return opcli_db_fail(o, "starting the transaction");
	if (store_query(
	        tx,
	        "SELECT email, name, totp_sealed IS NOT NULL, staff_used_at FROM accounts WHERE is_staff = 1 "
	        "ORDER BY email",
	        STORE_NO_ARGS, &r) < 0) {
		rc = opcli_db_fail(o, "listing operators");
		goto done;
	}
	printf("EMAIL\tNAME\t2FA\tLAST USE\n");
	int st;
	while ((st = store_step(r)) == 1) {
		size_t n = 0;
		opcli_put(stdout, store_col_text(r, 0, &n));
		putchar('\t');
		opcli_put(stdout, store_col_text(r, 1, &n));
		printf("\t%s\t", store_col_i64(r, 2) ? "on" : "off (no operator powers)");
		char when[32];
		int64_t used = store_col_i64(r, 3);
		if (!store_col_is_null(r, 3) && clock_format_ms(used, when, sizeof(when)) == 0)
			printf("%s\n", when);
		else
			printf("never\n");
	}
	if (st < 0) {
		rc = opcli_db_fail(o, "listing operators");
		goto done;
	}
	rc = 0;
done:
	store_rows_close(r);
	store_rollback(tx);
	return rc;
}

int cmd_staff(int argc, char **argv)
{
	static const char *const subs[] = {"grant", "revoke", "list"};
	char prog[64];
	int code = 0;
	int sub = opcli_subcommand(argc, argv, "staff", subs, 3, "grant EMAIL, revoke EMAIL or list",
	                           cmd_staff_help, prog, sizeof(prog), &code);
	if (sub < 0)
		return code;
	int grant = sub == 0, list = sub == 2;
	const char *pos[1] = {NULL};
	int npos = 0;
	struct opcli o;
	int rc = opcli_open(&o, prog, argc, argv, 2, NULL, 0, pos, list ? 0 : 1, &npos);
	if (rc == 0 && !list && npos != 1) {
		opcli_say(&o, "needs the account's e-mail address: dropfix staff %s EMAIL", subs[sub]);
		rc = EXIT_USAGE;
	}
	if (rc == 0)
		rc = list ? do_list(&o) : do_set(&o, pos[0], grant);
	opcli_close(&o);
	return rc;
}
