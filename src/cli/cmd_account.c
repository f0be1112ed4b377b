/* dropfix account create|reset-password|disable-2fa: founder accounts from the host
 * (the operator vouches for the address: CLI-made accounts are verified). Passwords come
 * on standard input. Every change is in the installation audit log. */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/account.h"
#include "auth/password.h"
#include "cli/cli.h"
#include "cli/opcli.h"
#include "http/json.h"
#include "mail/mail.h"

void cmd_account_help(FILE *out)
{
	fprintf(out,
	        "usage: dropfix account create --email E --name N        (password on standard input)\n"
	        "       dropfix account reset-password --email E         (new password on standard input)\n"
	        "       dropfix account disable-2fa --email E\n\n"
	        "Manages founder accounts from the host; every change is written to the installation\n"
	        "audit log.\n"
	        "  create          makes an account whose address counts as verified (no e-mail is sent).\n"
	        "  reset-password  sets a new password and signs the account out everywhere (outstanding\n"
	        "                  reset links stop working).\n"
	        "  disable-2fa     turns two-factor authentication off for an owner who lost their\n"
	        "                  authenticator and recovery codes, and signs them out everywhere.\n"
	        "Passwords are %d to %d bytes, read from standard input up to its end (one trailing\n"
	        "line end is dropped), e.g.  printf '%%s' \"$PW\" | dropfix account create …; on a\n"
	        "terminal you are asked for it. Exit status 1 with \"server busy, retry\" when a server\n"
	        "holds the database writer for longer than the bounded wait.\n",
	        LIMIT_PASSWORD_MIN, LIMIT_PASSWORD_MAX);
	config_print_flags(out, CFG_STORE);
}

/* Reads, checks and hashes the password from standard input. 0 or exit status. */
static int password_from_stdin(const struct opcli *o, char hash[PASSWORD_HASH_MAX])
{
	char pw[LIMIT_PASSWORD_MAX + 2];
	long n = opcli_read_password(pw, sizeof(pw));
	int rc = EXIT_USAGE;
	if (n < 0) {
		opcli_say(o, "cannot read the password from standard input");
		rc = 1;
	} else if (!password_length_ok((size_t)n)) {
		opcli_say(o, "the password must be %d to %d bytes (got %ld)", LIMIT_PASSWORD_MIN,
		          LIMIT_PASSWORD_MAX, n);
	} else {
		enum password_result pr = password_hash(pw, (size_t)n, hash);
		rc = pr == PASSWORD_OK ? 0 : 1;
		if (rc)
			opcli_say(o, "password hashing failed");
	}
	sodium_memzero(pw, sizeof(pw));
	return rc;
}

/* Finds the account of a typed address. 1, 0 (said so), -1 (store; said so). */
static int find(const struct opcli *o, struct store_tx *tx, const char *typed, struct account *acc)
{
	char email[LIMIT_MAIL_ADDR + 1];
	if (account_email_normalize(typed, strlen(typed), email) < 0) {
		opcli_say(o, "'%.200s' is not an e-mail address", typed);
		return 0;
	}
	int found = account_find_by_email(tx, email, acc);
	if (found < 0)
		opcli_db_fail(o, "reading the account");
	else if (found == 0)
		opcli_say(o, "no account with the address %s", email);
	return found;
}

static int do_create(struct opcli *o, const char *typed_email, const char *name)
{
	char email[LIMIT_MAIL_ADDR + 1], hash[PASSWORD_HASH_MAX], detail[64];
	struct store_tx *tx = NULL;
	int64_t id = 0;
	int rc;
	if (account_email_normalize(typed_email, strlen(typed_email), email) < 0) {
		opcli_say(o, "--email: '%.200s' is not an e-mail address", typed_email);
		return EXIT_USAGE;
	}
	size_t nl = strlen(name);
	if (nl == 0 || nl > LIMIT_ACCOUNT_NAME ||
	    jsonin_text_check(name, nl, JSONIN_NO_CTRL) != JSONIN_TEXT_OK) {
		opcli_say(o, "--name: 1 to %d bytes of text without control characters", LIMIT_ACCOUNT_NAME);
		return EXIT_USAGE;
	}
	if ((rc = password_from_stdin(o, hash)) != 0)
		return rc;
	rc = 1;
	if (store_begin_global(o->c, STORE_WRITE, &tx) < 0) {
		rc = opcli_db_fail(o, "starting the transaction");
		goto done;
	}
	struct account_new an = {.email = email, .name = name, .password_hash = hash, .verified = 1};
	int made = account_create(tx, &an, &id);
	if (made == ACCOUNT_E_EXISTS) {
		opcli_say(o, "an account with the address %s exists already", email);
		goto done;
	}
	if (made < 0) {
		rc = opcli_db_fail(o, "creating the account");
		goto done;
	}
	snprintf(detail, sizeof(detail), "{\"account_id\":%" PRId64 "}", id);
	if (opcli_audit(o, tx, "account.created", email, 0, detail) < 0)
		goto done;
	rc = opcli_commit(o, &tx);
	if (rc)
		goto done;
	json_t *j = json_pack("{s:I,s:s,s:b}", "id", (json_int_t)id, "email", email, "verified", 1);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (text)
		printf("%s\n", text);
	free(text);
	json_decref(j);
	rc = text ? 0 : 1;
done:
	store_rollback(tx);
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

static int do_reset_password(struct opcli *o, const char *typed_email)
{
	char hash[PASSWORD_HASH_MAX], detail[64];
	struct store_tx *tx = NULL;
	struct account acc;
	int rc;
	if ((rc = password_from_stdin(o, hash)) != 0)
		return rc;
	rc = 1;
	if (store_begin_global(o->c, STORE_WRITE, &tx) < 0) {
		rc = opcli_db_fail(o, "starting the transaction");
		goto done;
	}
	if (find(o, tx, typed_email, &acc) <= 0)
		goto done;
	if (account_set_password(tx, acc.id, hash, 0) < 0) {
		rc = opcli_db_fail(o, "setting the password");
		goto done;
	}
	snprintf(detail, sizeof(detail), "{\"account_id\":%" PRId64 "}", acc.id);
	if (opcli_audit(o, tx, "auth.password_reset", acc.email, 0, detail) < 0)
		goto done;
	rc = opcli_commit(o, &tx);
	if (rc)
		goto done;
	printf("password changed for ");
	opcli_put(stdout, acc.email);
	printf("; every session of the account was signed out\n");
	rc = 0;
done:
	store_rollback(tx);
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

static int do_disable_2fa(struct opcli *o, const char *typed_email)
{
	struct store_tx *tx = NULL;
	struct account acc;
	char detail[64];
	int rc = 1;
	if (store_begin_global(o->c, STORE_WRITE, &tx) < 0)
		return opcli_db_fail(o, "starting the transaction");
	if (find(o, tx, typed_email, &acc) <= 0)
		goto done;
	if (!acc.has_2fa) {
		printf("two-factor authentication is already off for ");
		opcli_put(stdout, acc.email);
		printf("\n");
		rc = 0;
		goto done;
	}
	if (account_totp_disable(tx, acc.id) < 0 || session_revoke_all(tx, acc.id, 0) < 0) {
		rc = opcli_db_fail(o, "turning 2FA off");
		goto done;
	}
	snprintf(detail, sizeof(detail), "{\"account_id\":%" PRId64 ",\"reason\":\"operator\"}", acc.id);
	if (opcli_audit(o, tx, "2fa.disabled", acc.email, 0, detail) < 0)
		goto done;
	rc = opcli_commit(o, &tx);
	if (rc)
		goto done;
	printf("two-factor authentication is off for ");
	opcli_put(stdout, acc.email);
	printf("; every session was signed out. Ask them to sign in and turn it on again.\n");
	rc = 0;
done:
	store_rollback(tx);
	return rc;
}

int cmd_account(int argc, char **argv)
{
	static const char *const subs[] = {"create", "reset-password", "disable-2fa"};
	char prog[64];
	int code = 0;
	int sub = opcli_subcommand(argc, argv, "account", subs, 3, "create, reset-password or disable-2fa",
	                           cmd_account_help, prog, sizeof(prog), &code);
	if (sub < 0)
		return code;
	const char *email = NULL, *name = NULL;
	struct opcli_flag flags[] = {{"--email", &email, NULL}, {"--name", &name, NULL}};
	int create = sub == 0, reset = sub == 1;
	struct opcli o;
	int npos = 0;
	int rc = opcli_open(&o, prog, argc, argv, 2, flags, create ? 2 : 1, NULL, 0, &npos);
	if (rc == 0 && (!email || (create && !name))) {
		opcli_say(&o, create ? "needs --email and --name" : "needs --email");
		rc = EXIT_USAGE;
	}
	if (rc == 0)
		rc = opcli_connect(&o);
	if (rc == 0) {
		if (create) {
			rc = do_create(&o, email, name);
		} else if (reset) {
			rc = do_reset_password(&o, email);
		} else {
			rc = do_disable_2fa(&o, email);
		}
	}
	opcli_close(&o);
	return rc;
}
