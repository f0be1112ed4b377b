/* dropfix backup: a consistent, encrypted snapshot of the database that never contains
 * the master key (ARCHITECTURE §8b "Keys").
 *   SQLite:     VACUUM INTO a temporary file beside the database (one read transaction,
 *               so a consistent snapshot while the server keeps writing), then encrypted.
 *   PostgreSQL: pg_dump (plain format, --no-owner, one repeatable-read snapshot) run as
 *               the maintenance role (BYPASSRLS, so row-level security hides no row),
 *               its output streamed into the encrypter; nothing is written unencrypted.
 * The file is written under a temporary name (mode 0600), synced, then linked into place,
 * so a backup file that exists is whole. Format: src/crypto/backup_file.h. */
#include "cli/cmd_backup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>
#include <sqlite3.h>

#include "cli/cli.h"
#include "cli/install.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/str.h"
#include "crypto/backup_file.h"
#include "crypto/keyring.h"
#include "store/store.h"

extern char **environ;

#define BACKUP_IO_BLOCK (256 * 1024)
#define BACKUP_SNAPSHOT_WAIT_MS 10000

#define say(out, ...) cli_say(out, "backup", __VA_ARGS__)

/* Waits for a child whose failure is already being reported. */
static void reap(pid_t pid, const char *tool)
{
	char ignored[128];
	if (cmd_backup_wait(pid, tool, ignored, sizeof(ignored)) < 0)
		return; /* the first error is the one reported */
}

/* ---- Progress ---- */

void cmd_backup_progress_init(struct cmd_backup_progress *p, const char *cmd, const char *verb)
{
	memset(p, 0, sizeof(*p));
	p->cmd = cmd;
	p->verb = verb;
	p->tty = isatty(STDERR_FILENO);
	p->last_ns = clock_mono_ns();
}

void cmd_backup_progress_show(struct cmd_backup_progress *p, uint64_t bytes, int final)
{
	int64_t now = clock_mono_ns();
	if (!final && now - p->last_ns < (p->tty ? 100000000LL : 2000000000LL))
		return;
	p->last_ns = now;
	fprintf(stderr, "%sdropfix %s: %s %" PRIu64 " bytes (%.1f MiB)%s", p->tty ? "\r" : "", p->cmd,
	        p->verb, bytes, (double)bytes / (1024.0 * 1024.0), p->tty && !final ? "" : "\n");
	fflush(stderr);
	p->printed = 1;
}

/* ---- Output file ---- */

struct outfile {
	int fd;
	int is_stdout;
	char tmp[4096];  /* temporary name while writing */
	char path[4096]; /* final name */
};

/* Opens out_path for writing: a fresh 0600 temporary file in its directory, or
 * standard output for "-". 0 or -1 with err. */
static int outfile_open(struct outfile *o, const char *out_path, char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	o->fd = -1;
	if (strcmp(out_path, "-") == 0) {
		if (isatty(STDOUT_FILENO)) {
			snprintf(err, errlen, "refusing to write a backup to a terminal (use --out FILE)");
			return -1;
		}
		o->fd = STDOUT_FILENO;
		o->is_stdout = 1;
		return 0;
	}
	struct stat st;
	if (lstat(out_path, &st) == 0) {
		snprintf(err, errlen, "%s already exists: choose another --out", out_path);
		return -1;
	}
	char dir[4096];
	int n = snprintf(o->path, sizeof(o->path), "%s", out_path);
	if (n < 0 || (size_t)n >= sizeof(o->path)) {
		snprintf(err, errlen, "output path too long");
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", out_path);
	const char *d = dirname(dir);
	n = snprintf(o->tmp, sizeof(o->tmp), "%s/.dropfix-backup-XXXXXX", d);
	if (n < 0 || (size_t)n >= sizeof(o->tmp)) {
		snprintf(err, errlen, "output path too long");
		return -1;
	}
	o->fd = mkstemp(o->tmp); /* mode 0600 */
	if (o->fd < 0) {
		snprintf(err, errlen, "cannot create a file in %s: %s", d, strerror(errno));
		o->tmp[0] = '\0';
		return -1;
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	int fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* Syncs the file and links it into place (failing when the name appeared meanwhile).
 * 0 or -1 with err. */
static int outfile_commit(struct outfile *o, char *err, size_t errlen)
{
	if (o->is_stdout)
		return 0;
	if (fsync(o->fd) < 0) {
		snprintf(err, errlen, "cannot sync %s: %s", o->tmp, strerror(errno));
		return -1;
	}
	if (link(o->tmp, o->path) < 0) {
		snprintf(err, errlen, "cannot create %s: %s", o->path, strerror(errno));
		return -1;
	}
	unlink(o->tmp);
	o->tmp[0] = '\0';
	(void)fsync_dir_of(o->path);
	return 0;
}

/* Closes, removing the temporary file when not committed. */
static void outfile_close(struct outfile *o)
{
	if (!o->is_stdout && o->fd >= 0)
		close(o->fd);
	if (o->tmp[0])
		unlink(o->tmp);
	o->fd = -1;
	o->tmp[0] = '\0';
}

/* Streams fd to the writer until end of file. 0 or -1 with err. */
static int copy_into(int fd, struct backup_writer *w, struct cmd_backup_progress *pr, char *err,
                     size_t errlen)
{
	uint8_t *buf = malloc(BACKUP_IO_BLOCK);
	int rc = -1;
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (;;) {
		ssize_t k = read(fd, buf, BACKUP_IO_BLOCK);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(err, errlen, "read failed: %s", strerror(errno));
			goto done;
		}
		if (k == 0)
			break;
		if (backup_writer_write(w, buf, (size_t)k, err, errlen) < 0)
			goto done;
		if (pr)
			cmd_backup_progress_show(pr, backup_writer_bytes(w), 0);
	}
	rc = 0;
done:
	sodium_memzero(buf, BACKUP_IO_BLOCK);
	free(buf);
	return rc;
}

/* ---- SQLite ---- */

/* VACUUM INTO a fresh 0600 file beside db_path; returns an fd open on the snapshot
 * (already unlinked, so no plaintext copy outlives the process), or -1 with err. */
static int sqlite_snapshot(const char *db_path, char *err, size_t errlen)
{
	char dir[4096], tmp[4096];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int fd = -1, rfd = -1;
	snprintf(dir, sizeof(dir), "%s", db_path);
	int n = snprintf(tmp, sizeof(tmp), "%s/.dropfix-snapshot-XXXXXX", dirname(dir));
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		snprintf(err, errlen, "database path too long");
		return -1;
	}
	fd = mkstemp(tmp); /* empty, mode 0600: VACUUM INTO accepts an empty file */
	if (fd < 0) {
		snprintf(err, errlen, "cannot create a snapshot file beside %s: %s", db_path,
		         strerror(errno));
		return -1;
	}
	int rc = sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", db_path,
		         db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(db, BACKUP_SNAPSHOT_WAIT_MS);
	if (sqlite3_prepare_v2(db, "VACUUM INTO ?1", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, tmp, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE) {
		snprintf(err, errlen, "snapshot of %s failed: %s", db_path, sqlite3_errmsg(db));
		goto fail;
	}
	rfd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (rfd < 0) {
		snprintf(err, errlen, "cannot read the snapshot: %s", strerror(errno));
		goto fail;
	}
fail:
	sqlite3_finalize(st);
	sqlite3_close(db);
	close(fd);
	unlink(tmp);
	return rfd;
}

int cmd_backup_sqlite(const char *db_path, const struct keyring *kr, int schema_version, const char *out_path,
                      int progress, char *err, size_t errlen)
{
	struct outfile o;
	struct backup_writer *w = NULL;
	struct cmd_backup_progress pr;
	int snap = -1, rc = -1;
	struct stat st;
	if (stat(db_path, &st) < 0 || st.st_size == 0) {
		snprintf(err, errlen, "no database at %s", db_path);
		return -1;
	}
	if (outfile_open(&o, out_path, err, errlen) < 0)
		return -1;
	snap = sqlite_snapshot(db_path, err, errlen);
	if (snap < 0)
		goto done;
	cmd_backup_progress_init(&pr, "backup", "written");
	if (backup_writer_open(o.fd, kr, BACKUP_KIND_SQLITE, (uint32_t)schema_version, 0, &w, err, errlen) <
	        0 ||
	    copy_into(snap, w, progress ? &pr : NULL, err, errlen) < 0 ||
	    backup_writer_finish(w, err, errlen) < 0)
		goto done;
	if (outfile_commit(&o, err, errlen) < 0)
		goto done;
	if (progress)
		cmd_backup_progress_show(&pr, backup_writer_bytes(w), 1);
	rc = 0;
done:
	if (snap >= 0)
		close(snap);
	backup_writer_free(w);
	outfile_close(&o);
	return rc;
}

/* "<dir>/<prefix><UTC time>.dfbackup" into out. 0 or -1. */
static int stamped_path(const char *dir, const char *prefix, char *out, size_t outlen)
{
	time_t now = (time_t)clock_now_s();
	struct tm tm;
	char stamp[32];
	if (!gmtime_r(&now, &tm) || strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
		return -1;
	int n = snprintf(out, outlen, "%s/%s%s.dfbackup", dir, prefix, stamp);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* Creates <data dir>/backups (0700) and fills dir. 0 or -1 with err. */
static int backups_dir(const struct config *cfg, char *dir, size_t dirlen, char *err, size_t errlen)
{
	int n = snprintf(dir, dirlen, "%s/backups", cfg->data_dir);
	if (n < 0 || (size_t)n >= dirlen) {
		snprintf(err, errlen, "data directory path too long");
		return -1;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int cmd_backup_pre_migrate(const struct config *cfg, const struct keyring *kr, int current, char *path,
                           size_t pathlen, char *err, size_t errlen)
{
	char dir[4096], prefix[48];
	if (strncmp(cfg->database_url, "sqlite:", 7) != 0) {
		snprintf(err, errlen, "automatic backups are for the embedded SQLite database");
		return -1;
	}
	if (backups_dir(cfg, dir, sizeof(dir), err, errlen) < 0)
		return -1;
	snprintf(prefix, sizeof(prefix), "pre-migrate-%d-", current);
	if (stamped_path(dir, prefix, path, pathlen) < 0) {
		snprintf(err, errlen, "backup path too long");
		return -1;
	}
	return cmd_backup_sqlite(cfg->database_url + 7, kr, current, path, 0, err, errlen);
}

/* ---- PostgreSQL ---- */

/* Appends key='value' (libpq quoting) to b. */
static void put_conn_kv(struct buf *b, const char *key, const char *val)
{
	buf_printf(b, "%s%s='", b->n ? " " : "", key);
	for (const char *p = val; *p; p++) {
		if (*p == '\'' || *p == '\\')
			buf_putc(b, '\\');
		buf_putc(b, *p);
	}
	buf_putc(b, '\'');
}

int cmd_backup_pg_conninfo(const char *url, char **conninfo, char **password, char *err, size_t errlen)
{
	char *perr = NULL;
	struct buf b;
	*conninfo = NULL;
	*password = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &perr);
	if (!opts) {
		snprintf(err, errlen, "cannot parse the database URL%s%s", perr ? ": " : "",
		         perr ? perr : "");
		PQfreemem(perr);
		return -1;
	}
	buf_init(&b, 0);
	const char *pw = "";
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val)
			continue;
		if (strcmp(o->keyword, "password") == 0)
			pw = o->val;
		else
			put_conn_kv(&b, o->keyword, o->val);
	}
	*password = strdup(pw);
	size_t len;
	*conninfo = b.oom ? NULL : buf_detach(&b, &len);
	buf_free(&b);
	if (opts) {
		for (PQconninfoOption *o = opts; o->keyword; o++)
			if (o->val && strcmp(o->keyword, "password") == 0)
				sodium_memzero(o->val, strlen(o->val));
		PQconninfoFree(opts);
	}
	if (!*conninfo || !*password) {
		free(*conninfo);
		free(*password);
		*conninfo = *password = NULL;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* The newest /usr/lib/postgresql/<N>/bin/<tool> into out; 0 when none (use PATH). */
static int find_pg_tool(const char *tool, char *out, size_t outlen)
{
	for (int v = 30; v >= 9; v--) {
		snprintf(out, outlen, "/usr/lib/postgresql/%d/bin/%s", v, tool);
		if (access(out, X_OK) == 0)
			return 1;
	}
	return 0;
}

int cmd_backup_spawn_pg(const char *tool, char **argv, const char *password, int stdin_fd, int stdout_fd,
                        pid_t *pid, char *err, size_t errlen)
{
	char path[256];
	char **envp = NULL;
	char *pwvar = NULL;
	posix_spawn_file_actions_t fa;
	int rc = -1, fa_ok = 0;
	size_t ne = 0, k = 0;
	while (environ[ne])
		ne++;
	envp = calloc(ne + 2, sizeof(*envp));
	if (!envp)
		goto nomem;
	for (size_t i = 0; i < ne; i++)
		if (strncmp(environ[i], "PGPASSWORD=", 11) != 0)
			envp[k++] = environ[i];
	if (password && password[0]) {
		size_t n = strlen(password) + sizeof("PGPASSWORD=");
		pwvar = malloc(n);
		if (!pwvar)
			goto nomem;
		snprintf(pwvar, n, "PGPASSWORD=%s", password);
		envp[k++] = pwvar;
	}
	envp[k] = NULL;
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto nomem;
	fa_ok = 1;
	if ((stdin_fd >= 0 && posix_spawn_file_actions_adddup2(&fa, stdin_fd, STDIN_FILENO) != 0) ||
	    (stdout_fd >= 0 && posix_spawn_file_actions_adddup2(&fa, stdout_fd, STDOUT_FILENO) != 0))
		goto nomem;
	int found = find_pg_tool(tool, path, sizeof(path));
	argv[0] = found ? path : (char *)tool;
	int e = found ? posix_spawn(pid, path, &fa, NULL, argv, envp)
	              : posix_spawnp(pid, tool, &fa, NULL, argv, envp);
	if (e != 0) {
		snprintf(err, errlen, "cannot run %s: %s (install postgresql-client)", tool, strerror(e));
		goto done;
	}
	rc = 0;
	goto done;
nomem:
	snprintf(err, errlen, "cannot start %s: out of memory", tool);
done:
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (pwvar) {
		sodium_memzero(pwvar, strlen(pwvar));
		free(pwvar);
	}
	free(envp);
	return rc;
}

int cmd_backup_wait(pid_t pid, const char *tool, char *err, size_t errlen)
{
	int status = 0;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			snprintf(err, errlen, "waiting for %s: %s", tool, strerror(errno));
			return -1;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		snprintf(err, errlen, "%s failed (exit status %d; its messages are above)", tool,
		         WEXITSTATUS(status));
	else
		snprintf(err, errlen, "%s was stopped by signal %d", tool,
		         WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return -1;
}

/* pg_dump as the maintenance role, streamed into the encrypter. 0 or -1 with err. */
static int backup_pg(const struct config *cfg, const struct keyring *kr, int schema_version,
                     const char *out_path, char *err, size_t errlen)
{
	const char *url = cfg->database_maint_url && cfg->database_maint_url[0] ? cfg->database_maint_url
	                                                                        : cfg->database_url;
	char *conninfo = NULL, *password = NULL, *dbarg = NULL;
	struct outfile o;
	struct backup_writer *w = NULL;
	struct cmd_backup_progress pr;
	int pipefd[2] = {-1, -1};
	pid_t pid = -1;
	int rc = -1;
	memset(&o, 0, sizeof(o));
	o.fd = -1;
	if (cmd_backup_pg_conninfo(url, &conninfo, &password, err, errlen) < 0)
		return -1;
	size_t n = strlen(conninfo) + sizeof("--dbname=");
	dbarg = malloc(n);
	if (!dbarg) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	snprintf(dbarg, n, "--dbname=%s", conninfo);
	if (outfile_open(&o, out_path, err, errlen) < 0)
		goto done;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto done;
	}
	/* plain SQL; objects owned by whoever restores it; privileges kept (the app and
	 * maintenance roles' grants); no password prompt */
	char *argv[] = {
	    "pg_dump", "--format=plain", "--no-owner", "--no-password", "--quote-all-identifiers", dbarg,
	    NULL};
	if (cmd_backup_spawn_pg("pg_dump", argv, password, -1, pipefd[1], &pid, err, errlen) < 0)
		goto done;
	close(pipefd[1]);
	pipefd[1] = -1;
	cmd_backup_progress_init(&pr, "backup", "written");
	if (backup_writer_open(o.fd, kr, BACKUP_KIND_PG_SQL, (uint32_t)schema_version, 0, &w, err, errlen) <
	        0 ||
	    copy_into(pipefd[0], w, &pr, err, errlen) < 0) {
		kill(pid, SIGTERM);
		reap(pid, "pg_dump");
		pid = -1;
		goto done;
	}
	int wrc = cmd_backup_wait(pid, "pg_dump", err, errlen);
	pid = -1;
	if (wrc < 0)
		goto done;
	if (backup_writer_finish(w, err, errlen) < 0 || outfile_commit(&o, err, errlen) < 0)
		goto done;
	cmd_backup_progress_show(&pr, backup_writer_bytes(w), 1);
	rc = 0;
done:
	if (pid > 0) {
		kill(pid, SIGTERM);
		reap(pid, "pg_dump");
	}
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	backup_writer_free(w);
	outfile_close(&o);
	free(conninfo);
	free(dbarg);
	if (password) {
		sodium_memzero(password, strlen(password));
		free(password);
	}
	return rc;
}

/* ---- The command ---- */

void cmd_backup_help(FILE *out)
{
	fprintf(out,
	        "usage: dropfix backup [--out FILE] [options]\n\n"
	        "Writes a consistent snapshot of the database, encrypted (AES-256-GCM) under a key\n"
	        "derived from the active master key. The backup never contains the master key: keep\n"
	        "a copy of the key file (DROPFIX_MASTER_KEY_FILE) somewhere else; without it the\n"
	        "backup cannot be restored. Restore with `dropfix restore FILE`.\n"
	        "SQLite: taken while the server runs (one read transaction). PostgreSQL: pg_dump as the\n"
	        "maintenance role (DROPFIX_DATABASE_MAINT_URL, BYPASSRLS); needs postgresql-client.\n"
	        "Progress (bytes written) goes to stderr.\n\n"
	        "  --out FILE           where to write (mode 0600; must not exist; - for standard\n"
	        "                       output). Default: <data dir>/backups/dropfix-<UTC time>.dfbackup\n");
	config_print_flags(out, CFG_STORE);
}

int cmd_backup(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		cmd_backup_help(stdout);
		return 0;
	}
	struct config cfg;
	struct install in;
	char err[512], path[4096];
	const char *out = NULL;
	int rc = EXIT_USAGE, nargs = 0;
	memset(&cfg, 0, sizeof(cfg));
	memset(&in, 0, sizeof(in));
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args) {
		say(stderr, "out of memory");
		return 1;
	}
	args[nargs++] = argv[0];
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--out") == 0 || strncmp(argv[i], "--out=", 6) == 0) {
			out = argv[i][5] == '=' ? argv[i] + 6 : (i + 1 < argc ? argv[++i] : NULL);
			if (!out || !out[0]) {
				say(stderr, "--out needs a file name");
				goto done;
			}
		} else if (argv[i][0] != '-') {
			say(stderr, "unexpected argument '%.64s' (see dropfix backup --help)", argv[i]);
			goto done;
		} else {
			args[nargs++] = argv[i];
			if (!strchr(argv[i], '=') && i + 1 < argc && argv[i + 1][0] != '-')
				args[nargs++] = argv[++i];
		}
	}
	if (config_load(&cfg, nargs, args, CFG_STORE, err, sizeof(err)) < 0 ||
	    config_validate(&cfg, CFG_STORE, err, sizeof(err)) < 0 || clock_init(err, sizeof(err)) < 0) {
		say(stderr, "%s", err);
		goto done;
	}
	rc = 1;
	signal(SIGPIPE, SIG_IGN); /* --out - into a closed pipe: an error to report */
	int sqlite = strncmp(cfg.database_url, "sqlite:", 7) == 0;
	struct stat st;
	if (sqlite && (stat(cfg.database_url + 7, &st) < 0 || st.st_size == 0)) {
		say(stderr, "no database at %s (check DROPFIX_DATA_DIR / DROPFIX_DATABASE_URL)",
		    cfg.database_url + 7);
		goto done;
	}
	/* Opening checks the master key against the database's key-check value, so a backup
	 * is never encrypted under a key that does not belong to it. */
	if (install_open(&in, &cfg, STORE_ROLE_MAINT, INSTALL_OLD_SCHEMA_OK, err, sizeof(err)) < 0) {
		say(stderr, "%s", err);
		goto done;
	}
	int cur = 0, known = 0;
	if (store_schema_version(in.store, &cur, &known, err, sizeof(err)) < 0) {
		say(stderr, "%s", err);
		goto done;
	}
	if (!out) {
		char dir[4096];
		if (backups_dir(&cfg, dir, sizeof(dir), err, sizeof(err)) < 0 ||
		    stamped_path(dir, "dropfix-", path, sizeof(path)) < 0) {
			say(stderr, "%s", err[0] ? err : "backup path too long");
			goto done;
		}
		out = path;
	}
	int brc = sqlite ? cmd_backup_sqlite(cfg.database_url + 7, in.keys, cur, out, 1, err, sizeof(err))
	                 : backup_pg(&cfg, in.keys, cur, out, err, sizeof(err));
	if (brc < 0) {
		say(stderr, "%s", err);
		goto done;
	}
	say(stderr,
	    "wrote %s (schema version %d, encrypted under master key %" PRIu32
	    "); it can only be restored with that key: keep a copy of %s apart from your backups",
	    strcmp(out, "-") == 0 ? "standard output" : out, cur, keyring_active_id(in.keys),
	    cfg.master_key_file);
	if (strcmp(out, "-") != 0)
		printf("%s\n", out);
	rc = 0;
done:
	install_close(&in);
	config_free(&cfg);
	free(args);
	return rc;
}
