/* Shared plumbing of the operator commands (`dropfix account|workspace|staff`): argument
 * splitting (own flags vs settings for config_load), opening the installation, the
 * "server busy, retry" answer, escaped output and reading a password from standard
 * input. */
#ifndef DROPFIX_OPCLI_H
#define DROPFIX_OPCLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "audit/audit.h"
#include "cli/install.h"
#include "core/config.h"
#include "store/store.h"

struct opcli {
	const char *prog; /* "dropfix account create", for messages */
	struct config cfg;
	struct install in;
	struct store_conn *c;
};

/* One flag of a subcommand: "--name VALUE" / "--name=VALUE" (value != NULL) or a
 * boolean "--name" (flag != NULL). */
struct opcli_flag {
	const char *name; /* with the dashes: "--email" */
	const char **value;
	int *flag;
};

/* Picks the subcommand of `dropfix CMD SUB …` (argv[0] is CMD) from subs[0..n): returns
 * its index and writes "dropfix CMD SUB" to prog (progn bytes). Returns -1 with *exit_code
 * set when the command ends here: --help anywhere or no SUB writes help() to stdout (exit
 * 0) or, without SUB, to stderr (EXIT_USAGE); an unknown SUB prints "dropfix CMD: choices
 * (see --help)" to stderr (EXIT_USAGE). */
int opcli_subcommand(int argc, char **argv, const char *cmd, const char *const *subs, size_t n,
                     const char *choices, void (*help)(FILE *), char *prog, size_t progn, int *exit_code)
    __attribute__((warn_unused_result));

/* Parses argv[first..argc) of a subcommand: its own flags (flags[0..n)), up to max_pos
 * positional arguments (pos[], *npos), and everything else (settings like --data-dir,
 * with their values) for config_load, which loads and validates the settings. Returns 0,
 * or EXIT_USAGE after printing why. Call opcli_close in every case. */
int opcli_open(struct opcli *o, const char *prog, int argc, char **argv, int first,
               const struct opcli_flag *flags, size_t n, const char **pos, int max_pos, int *npos)
    __attribute__((warn_unused_result));
/* Opens the installation (SQLite: migrating and creating the key on a fresh install, as
 * `serve` does) and one store connection (o->c). Returns 0, or 1 after printing why
 * ("server busy, retry" when the database writer stayed busy past the bounded wait). */
int opcli_connect(struct opcli *o) __attribute__((warn_unused_result));
/* Closes the connection and the installation, frees the settings. Accepts a zeroed o. */
void opcli_close(struct opcli *o);

/* Prints "<prog>: <message>" to stderr with control characters escaped. */
void opcli_say(const struct opcli *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports a failed store call on o->c: "server busy, retry" for STORE_E_BUSY, else the
 * store's message (escaped). Returns 1 (the exit status). */
int opcli_db_fail(const struct opcli *o, const char *what);
/* Writes s to f with control characters, quotes and backslashes escaped. */
void opcli_put(FILE *f, const char *s);

/* Reads a password from standard input into out (cap bytes): everything up to EOF,
 * without one trailing "\n" or "\r\n"; on a terminal, one line with echo off after a
 * prompt on stderr. Returns its length (may be > LIMIT_PASSWORD_MAX: then out holds a
 * truncated copy and the caller refuses it), or -1 on a read error. Wipe out after use. */
long opcli_read_password(char *out, size_t cap);

/* Commits *tx, which is NULL afterwards either way. Returns 0, or the exit status 1 after
 * reporting the failure as opcli_db_fail(o, "committing") does. */
int opcli_commit(const struct opcli *o, struct store_tx **tx) __attribute__((warn_unused_result));

/* Appends an installation audit event by the CLI inside tx. Returns 0 or -1. */
int opcli_audit(const struct opcli *o, struct store_tx *tx, const char *action, const char *target,
                int64_t ws, const char *detail) __attribute__((warn_unused_result));

#endif
