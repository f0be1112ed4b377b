/* dropfix: one binary, many subcommands (see `dropfix help`). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "mail/mail.h"

#ifndef DROPFIX_VERSION
#define DROPFIX_VERSION "0.1.0"
#endif

static int cmd_version(int argc, char **argv);
static void cmd_version_help(FILE *out);
static int cmd_help(int argc, char **argv);
static void cmd_help_help(FILE *out);

const struct command cli_commands[] = {
	{"serve", cmd_serve, "run the HTTP server and (unless --no-jobs) the background jobs", cmd_serve_help},
	{"worker", cmd_worker, "run background jobs only (scale-out, PostgreSQL)", cmd_worker_help},
	{"migrate", cmd_migrate, "apply database migrations", cmd_migrate_help},
	{"outbox", cmd_outbox, "list and print the development outbox (mail while no SMTP server is set)", cmd_outbox_help},
	{"keys", cmd_keys, "manage the master keyring (rotate, retire, list)", cmd_keys_help},
	{"backup", cmd_backup, "write an encrypted, consistent snapshot of the database", cmd_backup_help},
	{"restore", cmd_restore, "restore a snapshot into an empty data directory", cmd_restore_help},
	{"audit", cmd_audit, "verify the audit log chains; list and export audit rows", cmd_audit_help},
	{"account", cmd_account, "founder accounts from the host (create, reset-password, disable-2fa)", cmd_account_help},
	{"workspace", cmd_workspace, "create and list workspaces (prints the new keys)", cmd_workspace_help},
	{"events", cmd_events, "export a workspace's stored events as JSON lines", cmd_events_help},
	{"simulate", cmd_simulate, "post synthetic user histories (personas) to a server", cmd_simulate_help},
	/* demo (issue 6, helper B) */
	{"demo", cmd_demo, "a demo workspace with simulated history and sign-in details", cmd_demo_help},
	/* detect (issue 6, helper D) */
	{"detect", cmd_detect, "run the churn detectors over a workspace now; report health and signals", cmd_detect_help},
	{"staff", cmd_staff, "grant, revoke and list operator (staff) accounts", cmd_staff_help},
	{"version", cmd_version, "print the version", cmd_version_help},
	{"help", cmd_help, "show help for a command, or `help config` for every setting", cmd_help_help},
	{0},
};

int cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: dropfix COMMAND [options]\n\nCommands:\n");
	for (const struct command *c = cli_commands; c->name; c++)
		fprintf(out, "  %-9s %s\n", c->name, c->summary);
	fprintf(out, "\nEvery command takes --help. Settings come from DROPFIX_* variables or flags;\n"
		     "`dropfix help config` lists them.\n");
}

static void cmd_version_help(FILE *out)
{
	fprintf(out, "usage: dropfix version\n\nPrints the version and build kind.\n");
}

static int cmd_version(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		cmd_version_help(stdout);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "dropfix version: takes no arguments\n");
		return EXIT_USAGE;
	}
#ifdef DROPFIX_TEST_HOOKS
	printf("dropfix %s (test build)\n", DROPFIX_VERSION);
#else
	printf("dropfix %s\n", DROPFIX_VERSION);
#endif
	return 0;
}

static void cmd_help_help(FILE *out)
{
	fprintf(out, "usage: dropfix help [COMMAND | config]\n");
}

static int cmd_help(int argc, char **argv)
{
	if (argc < 2 || cli_wants_help(argc, argv)) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "config") == 0) {
		config_print_markdown(stdout);
		return 0;
	}
	for (const struct command *c = cli_commands; c->name; c++) {
		if (strcmp(c->name, argv[1]) == 0) {
			c->help(stdout);
			return 0;
		}
	}
	fprintf(stderr, "dropfix help: unknown command '%.64s'\n", argv[1]);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	/* feature modules' setting checks, before any command loads its configuration */
	mail_config_register();
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(1, argv + 1);
	for (const struct command *c = cli_commands; c->name; c++)
		if (strcmp(c->name, argv[1]) == 0)
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "dropfix: unknown command '%.64s' (see dropfix help)\n", argv[1]);
	return EXIT_USAGE;
}
