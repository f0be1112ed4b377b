/* Backups (`dropfix backup`, `dropfix restore`, and the automatic backup that `serve`
 * takes before migrating an existing SQLite database). Shared by cmd_backup.c and
 * cmd_restore.c; the container format is src/crypto/backup_file.h. */
#ifndef DROPFIX_CMD_BACKUP_H
#define DROPFIX_CMD_BACKUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct config;
struct keyring;

/* Writes an encrypted snapshot of the SQLite database file db_path (VACUUM INTO a
 * temporary file beside it, then encrypted under kr's active key) to out_path, which
 * is created with mode 0600 and must not exist ("-": standard output). schema_version
 * goes into the header. progress: show bytes written on stderr. Returns 0, or -1 with
 * a one-line message in err (nothing is left at out_path). */
int cmd_backup_sqlite(const char *db_path, const struct keyring *kr, int schema_version, const char *out_path,
                      int progress, char *err, size_t errlen) __attribute__((warn_unused_result));

/* The automatic backup before migrations (install.c): writes
 * <data dir>/backups/pre-migrate-<version>-<UTC time>.dfbackup for a SQLite database at
 * schema version `current`. Fills path (the file written). Returns 0 or -1 with err. */
int cmd_backup_pre_migrate(const struct config *cfg, const struct keyring *kr, int current, char *path,
                           size_t pathlen, char *err, size_t errlen) __attribute__((warn_unused_result));

/* ---- Helpers shared with cmd_restore.c ---- */

/* Splits a postgres:// URL into a libpq keyword/value connection string without the
 * password (safe for a command line) and the password (empty when none). conninfo and
 * password are malloc'ed; the caller frees them (wiping the password). 0 or -1 with err. */
int cmd_backup_pg_conninfo(const char *url, char **conninfo, char **password, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Starts a PostgreSQL client tool ("pg_dump", "psql"): the newest
 * /usr/lib/postgresql/<N>/bin/<tool>, else the one on PATH. argv[0] is replaced by the
 * path used. The child gets PGPASSWORD=password (when non-empty) in its environment;
 * stdin_fd/stdout_fd (-1: inherit) become its standard input/output. Returns 0 and
 * *pid, or -1 with err. */
int cmd_backup_spawn_pg(const char *tool, char **argv, const char *password, int stdin_fd, int stdout_fd,
                        pid_t *pid, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Waits for pid; returns 0 when it exited with status 0, else -1 with err naming tool. */
int cmd_backup_wait(pid_t pid, const char *tool, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Progress on stderr: "dropfix <cmd>: <verb> <n> bytes". Prints at most every 100 ms on a
 * terminal (rewriting the line), every 2 s otherwise; final = 1 always prints. */
struct cmd_backup_progress {
	const char *cmd;
	const char *verb;
	int64_t last_ns;
	int tty;
	int printed;
};
void cmd_backup_progress_init(struct cmd_backup_progress *p, const char *cmd, const char *verb);
void cmd_backup_progress_show(struct cmd_backup_progress *p, uint64_t bytes, int final);

#endif
