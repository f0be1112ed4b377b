/* dropfix restore FILE: puts a backup (cmd_backup.c) back into an EMPTY installation.
 *
 * The file is read twice: a first pass authenticates every chunk (so a damaged or
 * foreign file, or a wrong master key, changes nothing), the second restores.
 *   SQLite:     into <data dir> when it holds no database: decrypted to a 0600 file
 *               beside the target, integrity-checked, linked into place.
 *   PostgreSQL: into an empty database (no table in schema public), piped into psql run
 *               as the owner role (DROPFIX_DATABASE_OWNER_URL) in one transaction, so the
 *               restored objects belong to it; then row-level security is checked on
 *               every tenant table.
 * In both cases the master key file must be the one the backup was made with: the
 * database's key-check value is verified at the end. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "cli/cli.h"
#include "cli/cmd_backup.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/str.h"
#include "crypto/backup_file.h"
#include "crypto/keyring.h"
#include "store/store.h"

#define RESTORE_KEY_CHECK_META "key_check"

#define say(out, ...) cli_say(out, "restore", __VA_ARGS__)

/* Writes all n bytes to fd. 0 or -1 (errno). */
static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Decrypts the backup at fd (from offset 0) into out_fd (-1: authenticate only).
 * 0 or -1 with err; *out_bytes is the plaintext size. */
static int decrypt_pass(int fd, const struct keyring *kr, int out_fd, const char *verb, uint64_t *out_bytes,
                        char *err, size_t errlen)
{
	struct backup_reader *r = NULL;
	struct cmd_backup_progress pr;
	uint64_t total = 0;
	int rc = -1;
	if (lseek(fd, 0, SEEK_SET) < 0) {
		snprintf(err, errlen, "cannot read the backup file: %s", strerror(errno));
		return -1;
	}
	if (backup_reader_open(fd, kr, &r, err, errlen) < 0)
		return -1;
	cmd_backup_progress_init(&pr, "restore", verb);
	for (;;) {
		const uint8_t *d;
		size_t n;
		int st = backup_reader_next(r, &d, &n, err, errlen);
		if (st < 0)
			goto done;
		if (st == 0)
			break;
		if (out_fd >= 0 && n && write_all(out_fd, d, n) < 0) {
			snprintf(err, errlen, "write failed: %s",
			         errno == EPIPE ? "psql stopped reading" : strerror(errno));
			goto done;
		}
		total += n;
		cmd_backup_progress_show(&pr, backup_reader_bytes(r), 0);
	}
	cmd_backup_progress_show(&pr, backup_reader_bytes(r), 1);
	*out_bytes = total;
	rc = 0;
done:
	backup_reader_free(r);
	return rc;
}

/* Pass 1: the whole file must authenticate before anything is written. 0 or -1. */
static int check_whole_file(int fd, const struct keyring *kr, uint64_t *bytes, char *err, size_t errlen)
{
	char why[600];
	if (decrypt_pass(fd, kr, -1, "checked", bytes, why, sizeof(why)) == 0)
		return 0;
	snprintf(err, errlen, "%.590s; nothing was restored", why);
	return -1;
}

/* Verifies the key-check value stored in the restored database (opened at url as
 * role). 0, or -1 with err saying what is wrong. */
static int verify_key_check(const char *url, enum store_role role, const struct keyring *kr, char *err,
                            size_t errlen)
{
	struct store *s = NULL;
	struct store_conn *c = NULL;
	struct store_tx *tx = NULL;
	char text[1024], why[512];
	int rc = -1, stale = 0;
	struct store_opts o = {.role = role, .skip_schema_check = 1};
	if (store_open(url, &o, &s, err, errlen) < 0 || store_conn_open(s, &c, err, errlen) < 0)
		goto done;
	int cur = 0, known = 0;
	if (store_schema_version(s, &cur, &known, err, errlen) < 0)
		goto done;
	if (cur > known) {
		snprintf(err, errlen,
		         "the backup has schema version %d, newer than this dropfix knows (%d): restore it "
		         "with a newer dropfix",
		         cur, known);
		goto done;
	}
	int found = -1;
	if (store_begin_global(c, STORE_READ, &tx) == 0)
		found = store_meta_get(tx, RESTORE_KEY_CHECK_META, text, sizeof(text));
	if (found < 0) {
		snprintf(err, errlen, "reading the restored key-check value: %s", store_errmsg(c));
		goto done;
	}
	if (found == 0) {
		rc = 0; /* a database backed up before its first start holds none: serve makes it */
		goto done;
	}
	if (keyring_verify_check(kr, text, &stale, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "the restored database does NOT match the master key file: %s", why);
		goto done;
	}
	rc = 0;
done:
	store_rollback(tx);
	store_conn_close(c);
	store_close(s);
	return rc;
}

/* Waits for a child whose failure is already being reported. */
static void reap(pid_t pid, const char *tool)
{
	char ignored[128];
	if (cmd_backup_wait(pid, tool, ignored, sizeof(ignored)) < 0)
		return; /* the first error is the one reported */
}

/* ---- SQLite ---- */

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* 0 when the restored file is a sound SQLite database, else -1 with err. */
static int sqlite_check(const char *path, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "the restored file is not a SQLite database: %s",
		         db ? sqlite3_errmsg(db) : "?");
		goto done;
	}
	if (sqlite3_step(st) != SQLITE_ROW || !sqlite3_column_text(st, 0) ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
		snprintf(err, errlen, "the restored database fails its integrity check: %s",
		         sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0)
		                                    : sqlite3_errmsg(db));
		goto done;
	}
	rc = 0;
done:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

static int restore_sqlite(int fd, const struct config *cfg, const struct keyring *kr, uint64_t *bytes,
                          char *err, size_t errlen)
{
	const char *db = cfg->database_url + 7;
	char tmp[4096], dir[4096], side[4200];
	int out = -1, rc = -1;
	tmp[0] = '\0';
	static const char *const sides[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < sizeof(sides) / sizeof(sides[0]); i++) {
		snprintf(side, sizeof(side), "%s%s", db, sides[i]);
		if (exists(side)) {
			snprintf(err, errlen,
			         "refusing: %.400s already exists; restore into an empty data directory (or "
			         "move the "
			         "database files away first)",
			         side);
			return -1;
		}
	}
	if (check_whole_file(fd, kr, bytes, err, errlen) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s", db);
	int n = snprintf(tmp, sizeof(tmp), "%s/.dropfix-restore-XXXXXX", dirname(dir));
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		snprintf(err, errlen, "database path too long");
		return -1;
	}
	out = mkstemp(tmp); /* 0600 */
	if (out < 0) {
		snprintf(err, errlen, "cannot create a file beside %.400s: %s", db, strerror(errno));
		tmp[0] = '\0';
		goto done;
	}
	if (decrypt_pass(fd, kr, out, "restored", bytes, err, errlen) < 0)
		goto done;
	if (fsync(out) < 0) {
		snprintf(err, errlen, "cannot sync %.400s: %s", tmp, strerror(errno));
		goto done;
	}
	close(out);
	out = -1;
	if (sqlite_check(tmp, err, errlen) < 0)
		goto done;
	if (link(tmp, db) < 0) {
		snprintf(err, errlen, "cannot create %.400s: %s", db, strerror(errno));
		goto done;
	}
	unlink(tmp);
	tmp[0] = '\0';
	char url[4200];
	snprintf(url, sizeof(url), "sqlite:%s", db);
	if (verify_key_check(url, STORE_ROLE_APP, kr, err, errlen) < 0) {
		/* leave the directory as it was: empty */
		char why[600];
		snprintf(why, sizeof(why), "%.590s", err);
		for (size_t i = 0; i < sizeof(sides) / sizeof(sides[0]); i++) {
			snprintf(side, sizeof(side), "%s%s", db, sides[i]);
			unlink(side);
		}
		snprintf(err, errlen, "%s; the restored database was removed again", why);
		goto done;
	}
	rc = 0;
done:
	if (out >= 0)
		close(out);
	if (tmp[0])
		unlink(tmp);
	return rc;
}

/* ---- PostgreSQL ---- */

/* Tables in schema public of the target (owner URL). -1 on error (err set). */
static int64_t pg_table_count(struct store *s, char *err, size_t errlen)
{
	struct store_conn *c = NULL;
	struct store_tx *tx = NULL;
	int64_t n = -1;
	if (store_conn_open(s, &c, err, errlen) < 0)
		return -1;
	if (store_begin_global(c, STORE_READ, &tx) < 0 ||
	    store_query_i64(tx,
	                    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
	                    "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')",
	                    STORE_NO_ARGS, &n) != 1) {
		snprintf(err, errlen, "inspecting the target database: %s", store_errmsg(c));
		n = -1;
	}
	store_rollback(tx);
	store_conn_close(c);
	return n;
}

/* Every tenant table has ENABLE and FORCE ROW LEVEL SECURITY and every table belongs to
 * the connected (owner) role. 0 or -1 with err naming the first offender. */
static int pg_check_restored(struct store *s, char *err, size_t errlen)
{
	struct store_conn *c = NULL;
	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	int rc = -1, tables = 0;
	if (store_conn_open(s, &c, err, errlen) < 0)
		return -1;
	if (store_begin_global(c, STORE_READ, &tx) < 0 ||
	    store_query(tx,
	                "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
	                "pg_get_userbyid(c.relowner) = current_user FROM pg_class c "
	                "JOIN pg_namespace n ON n.oid = c.relnamespace "
	                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname",
	                STORE_NO_ARGS, &r) < 0) {
		snprintf(err, errlen, "inspecting the restored database: %s", store_errmsg(c));
		goto done;
	}
	int st;
	while ((st = store_step(r)) == 1) {
		size_t n;
		const char *name = store_col_text(r, 0, &n);
		tables++;
		if (!store_col_i64(r, 3)) {
			snprintf(err, errlen, "restored table %s does not belong to the owner role", name);
			goto done;
		}
		if (!store_is_global_table(name, n) && !(store_col_i64(r, 1) && store_col_i64(r, 2))) {
			snprintf(
			    err, errlen,
			    "row-level security is not intact on restored tenant table %s (ENABLE and FORCE "
			    "ROW LEVEL SECURITY expected)",
			    name);
			goto done;
		}
	}
	if (st < 0 || tables == 0) {
		snprintf(err, errlen, "inspecting the restored database: %s",
		         st < 0 ? store_errmsg(c) : "no tables");
		goto done;
	}
	rc = 0;
done:
	store_rows_close(r);
	store_rollback(tx);
	store_conn_close(c);
	return rc;
}

static int restore_pg(int fd, const struct config *cfg, const struct keyring *kr, uint32_t schema_version,
                      uint64_t *bytes, char *err, size_t errlen)
{
	const char *owner_url = cfg->database_owner_url && cfg->database_owner_url[0]
	                            ? cfg->database_owner_url
	                            : cfg->database_url;
	struct store *s = NULL;
	char *conninfo = NULL, *password = NULL, *dbarg = NULL;
	int pipefd[2] = {-1, -1}, devnull = -1, rc = -1;
	pid_t pid = -1;
	struct store_opts o = {.role = STORE_ROLE_OWNER, .skip_schema_check = 1};
	if (store_open(owner_url, &o, &s, err, errlen) < 0)
		goto done;
	int cur = 0, known = 0;
	if (store_schema_version(s, &cur, &known, err, errlen) < 0)
		goto done;
	if (schema_version > (uint32_t)known) {
		snprintf(err, errlen,
		         "the backup has schema version %" PRIu32 ", newer than this dropfix knows (%d): "
		         "restore it with a newer dropfix",
		         schema_version, known);
		goto done;
	}
	int64_t tables = pg_table_count(s, err, errlen);
	if (tables < 0)
		goto done;
	if (tables > 0) {
		snprintf(err, errlen,
		         "refusing: the target database already has %" PRId64
		         " table(s); restore into an empty database (CREATE DATABASE … OWNER <owner role>)",
		         tables);
		goto done;
	}
	if (check_whole_file(fd, kr, bytes, err, errlen) < 0)
		goto done;
	if (cmd_backup_pg_conninfo(owner_url, &conninfo, &password, err, errlen) < 0)
		goto done;
	size_t n = strlen(conninfo) + sizeof("--dbname=");
	dbarg = malloc(n);
	if (!dbarg) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	snprintf(dbarg, n, "--dbname=%s", conninfo);
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot set up psql: %s", strerror(errno));
		goto done;
	}
	/* one transaction: a failure anywhere leaves the database empty */
	char *argv[] = {"psql",
	                "--no-psqlrc",
	                "--quiet",
	                "--no-password",
	                "--set=ON_ERROR_STOP=1",
	                "--single-transaction",
	                dbarg,
	                NULL};
	if (cmd_backup_spawn_pg("psql", argv, password, pipefd[0], devnull, &pid, err, errlen) < 0)
		goto done;
	close(pipefd[0]);
	pipefd[0] = -1;
	if (decrypt_pass(fd, kr, pipefd[1], "restored", bytes, err, errlen) < 0) {
		/* kill before closing its input, so psql never sees an end of input to commit */
		kill(pid, SIGKILL);
		reap(pid, "psql");
		pid = -1;
		goto done;
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	int wrc = cmd_backup_wait(pid, "psql", err, errlen);
	pid = -1;
	if (wrc < 0)
		goto done;
	if (pg_check_restored(s, err, errlen) < 0)
		goto done;
	if (verify_key_check(cfg->database_url, STORE_ROLE_APP, kr, err, errlen) < 0)
		goto done;
	rc = 0;
done:
	if (pid > 0) {
		kill(pid, SIGKILL);
		reap(pid, "psql");
	}
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (devnull >= 0)
		close(devnull);
	store_close(s);
	free(conninfo);
	free(dbarg);
	if (password) {
		sodium_memzero(password, strlen(password));
		free(password);
	}
	return rc;
}

/* ---- The command ---- */

void cmd_restore_help(FILE *out)
{
	fprintf(out, "usage: dropfix restore FILE [options]\n\n"
	             "Restores a backup made by `dropfix backup` into an EMPTY installation:\n"
	             "  SQLite: the data directory must hold no database (dropfix.db); it is created.\n"
	             "  PostgreSQL: the database must be empty (create it OWNER the owner role); the\n"
	             "  restore runs psql as the owner role (DROPFIX_DATABASE_OWNER_URL, else\n"
	             "  DROPFIX_DATABASE_URL) in one transaction, and checks row-level security after.\n"
	             "The master key file (DROPFIX_MASTER_KEY_FILE) must be the one the backup was made\n"
	             "with: the whole file is authenticated before anything is written, and the restored\n"
	             "database's key-check value must match it. Backups are useless without the key.\n");
	config_print_flags(out, CFG_STORE);
}

int cmd_restore(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		cmd_restore_help(stdout);
		return 0;
	}
	struct config cfg;
	struct keyring *kr = NULL;
	char err[768];
	const char *file = NULL;
	int rc = EXIT_USAGE, nargs = 0, fd = -1;
	memset(&cfg, 0, sizeof(cfg));
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args) {
		say(stderr, "out of memory");
		return 1;
	}
	args[nargs++] = argv[0];
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-' && !file) {
			file = argv[i];
		} else if (argv[i][0] != '-') {
			say(stderr, "unexpected argument '%.64s' (see dropfix restore --help)", argv[i]);
			goto done;
		} else {
			args[nargs++] = argv[i];
			if (!strchr(argv[i], '=') && i + 1 < argc && argv[i + 1][0] != '-')
				args[nargs++] = argv[++i];
		}
	}
	if (!file) {
		say(stderr, "which backup file? (dropfix restore FILE)");
		goto done;
	}
	if (config_load(&cfg, nargs, args, CFG_STORE, err, sizeof(err)) < 0 ||
	    config_validate(&cfg, CFG_STORE, err, sizeof(err)) < 0 || clock_init(err, sizeof(err)) < 0) {
		say(stderr, "%s", err);
		goto done;
	}
	rc = 1;
	signal(SIGPIPE, SIG_IGN); /* a psql that stops reading is an error to report, not a kill */
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		say(stderr, "cannot open %s: %s", file, strerror(errno));
		goto done;
	}
	struct backup_info info;
	if (backup_read_info(fd, &info, err, sizeof(err)) < 0) {
		say(stderr, "%s: %s", file, err);
		goto done;
	}
	int sqlite = strncmp(cfg.database_url, "sqlite:", 7) == 0;
	if (sqlite != (info.kind == BACKUP_KIND_SQLITE)) {
		say(stderr, "%s is a %s backup, but DROPFIX_DATABASE_URL is a %s database", file,
		    info.kind == BACKUP_KIND_SQLITE ? "SQLite" : "PostgreSQL",
		    sqlite ? "SQLite" : "PostgreSQL");
		goto done;
	}
	if (mkdir(cfg.data_dir, 0700) < 0 && errno != EEXIST) {
		say(stderr, "cannot create %s: %s", cfg.data_dir, strerror(errno));
		goto done;
	}
	struct stat st;
	if (stat(cfg.master_key_file, &st) < 0) {
		say(stderr,
		    "the master key file %s is missing: put the key file the backup was made with there (or "
		    "set "
		    "DROPFIX_MASTER_KEY_FILE); a backup cannot be restored without it",
		    cfg.master_key_file);
		goto done;
	}
	if (keyring_load(cfg.master_key_file, &kr, err, sizeof(err)) < 0) {
		say(stderr, "%s", err);
		goto done;
	}
	uint64_t bytes = 0;
	int r = sqlite ? restore_sqlite(fd, &cfg, kr, &bytes, err, sizeof(err))
	               : restore_pg(fd, &cfg, kr, info.schema_version, &bytes, err, sizeof(err));
	if (r < 0) {
		say(stderr, "%s", err);
		goto done;
	}
	char when[32] = "?";
	if (clock_format_ms(info.created_ms, when, sizeof(when)) < 0)
		snprintf(when, sizeof(when), "?");
	say(stdout,
	    "restored %s (taken %s, schema version %" PRIu32 ", %" PRIu64
	    " bytes); the key-check value matches %s. Next: `dropfix keys verify` opens every sealed value; "
	    "`dropfix serve` migrates an older schema at start (PostgreSQL: `dropfix migrate`)",
	    file, when, info.schema_version, bytes, cfg.master_key_file);
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	keyring_free(kr);
	config_free(&cfg);
	free(args);
	return rc;
}
