/* Subcommands of the dropfix binary. Each returns the process exit status:
 * 0 success, 1 failure at run time, 2 bad usage or configuration. */
#ifndef DROPFIX_CLI_H
#define DROPFIX_CLI_H

#include <stdio.h>

#define EXIT_USAGE 2

struct command {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
	const char *summary;
	void (*help)(FILE *out);
};

/* The command table, terminated by a zeroed entry. */
extern const struct command cli_commands[];

int cmd_serve(int argc, char **argv);
void cmd_serve_help(FILE *out);
int cmd_worker(int argc, char **argv);
void cmd_worker_help(FILE *out);
int cmd_migrate(int argc, char **argv);
void cmd_migrate_help(FILE *out);
int cmd_outbox(int argc, char **argv);
void cmd_outbox_help(FILE *out);
int cmd_keys(int argc, char **argv);
void cmd_keys_help(FILE *out);
int cmd_backup(int argc, char **argv);
void cmd_backup_help(FILE *out);
int cmd_restore(int argc, char **argv);
void cmd_restore_help(FILE *out);
int cmd_audit(int argc, char **argv);
void cmd_audit_help(FILE *out);
int cmd_account(int argc, char **argv);
void cmd_account_help(FILE *out);
int cmd_workspace(int argc, char **argv);
void cmd_workspace_help(FILE *out);
int cmd_staff(int argc, char **argv);
void cmd_staff_help(FILE *out);
int cmd_events(int argc, char **argv);
void cmd_events_help(FILE *out);
int cmd_simulate(int argc, char **argv);
void cmd_simulate_help(FILE *out);
int cmd_demo(int argc, char **argv);
void cmd_demo_help(FILE *out);
int cmd_detect(int argc, char **argv);
void cmd_detect_help(FILE *out);

/* Prints "dropfix <command>: <message>" on out, control characters in the message
 * escaped (messages may quote file names and input). */
void cli_say(FILE *out, const char *command, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* 1 when argv holds -h or --help. */
int cli_wants_help(int argc, char **argv);

#endif
