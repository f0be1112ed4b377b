/* dropfix migrate: applies the database migrations embedded in this binary. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/str.h"
#include "store/store.h"

#define MIGRATE_WAIT_MS 10000

void cmd_migrate_help(FILE *out)
{
	fprintf(out,
		"usage: dropfix migrate [--status] [options]\n\n"
		"Applies the pending migrations embedded in this binary, in order, each in its own\n"
		"transaction, and records them in schema_migrations. Refuses a database whose schema\n"
		"is newer than this binary, or whose applied migrations were changed.\n"
		"`serve` migrates the embedded SQLite database by itself; on PostgreSQL run this once\n"
		"per upgrade, as the schema owner role (DROPFIX_DATABASE_OWNER_URL, else\n"
		"DROPFIX_DATABASE_URL; see docs/postgres.md).\n"
		"When a server holds the SQLite writer lock for more than %d s, it stops with\n"
		"\"server busy, retry\" (exit status 1).\n\n"
		"  --status             print the schema version and the pending count, change nothing\n",
		MIGRATE_WAIT_MS / 1000);
	config_print_flags(out, CFG_STORE);
}

/* Prints "dropfix migrate: <msg>" with control characters escaped. */
static void say(FILE *out, const char *msg)
{
	struct buf b;
	buf_init(&b, 4096);
	buf_put_escaped(&b, msg, strlen(msg));
	fprintf(out, "dropfix migrate: %s\n", b.p ? b.p : "");
	buf_free(&b);
}

/* Creates the directory of a SQLite file when it is missing (one level, mode 0700). */
static int ensure_sqlite_dir(const char *path, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return 0;
	char dir[4096];
	size_t n = (size_t)(slash - path);
	if (n >= sizeof(dir)) {
		snprintf(err, errlen, "database path too long");
		return -1;
	}
	memcpy(dir, path, n);
	dir[n] = '\0';
	struct stat st;
	if (stat(dir, &st) == 0)
		return 0;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %.300s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int cmd_migrate(int argc, char **argv)
{
	struct config cfg;
	struct store *s = NULL;
	char err[512];
	int status_only = 0, rc = 1;
	if (cli_wants_help(argc, argv)) {
		cmd_migrate_help(stdout);
		return 0;
	}
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args) {
		say(stderr, "out of memory");
		return 1;
	}
	int nargs = 0;
	for (int i = 0; i < argc; i++) {
		if (i > 0 && strcmp(argv[i], "--status") == 0)
			status_only = 1;
		else
			args[nargs++] = argv[i];
	}
	memset(&cfg, 0, sizeof(cfg));
	if (config_load(&cfg, nargs, args, CFG_STORE, err, sizeof(err)) < 0 ||
	    config_validate(&cfg, CFG_STORE, err, sizeof(err)) < 0) {
		say(stderr, err);
		rc = EXIT_USAGE;
		goto done;
	}
	if (clock_init(err, sizeof(err)) < 0) {
		say(stderr, err);
		rc = EXIT_USAGE;
		goto done;
	}
	const char *url = cfg.database_url;
	int sqlite = strncmp(url, "sqlite:", 7) == 0;
	if (cfg.database_owner_url && cfg.database_owner_url[0]) {
		if (sqlite || (strncmp(cfg.database_owner_url, "postgres://", 11) != 0 &&
			       strncmp(cfg.database_owner_url, "postgresql://", 13) != 0)) {
			say(stderr, "DROPFIX_DATABASE_OWNER_URL: a postgres:// URL, used only with a PostgreSQL database");
			rc = EXIT_USAGE;
			goto done;
		}
		url = cfg.database_owner_url;
	}
	if (sqlite && ensure_sqlite_dir(url + 7, err, sizeof(err)) < 0) {
		say(stderr, err);
		goto done;
	}
	struct store_opts opts = {.role = STORE_ROLE_OWNER, .write_wait_ms = MIGRATE_WAIT_MS, .skip_schema_check = 1};
	if (store_open(url, &opts, &s, err, sizeof(err)) < 0) {
		say(stderr, err);
		goto done;
	}
	int cur = 0, known = 0;
	if (status_only) {
		if (store_schema_version(s, &cur, &known, err, sizeof(err)) < 0) {
			say(stderr, err);
			goto done;
		}
		printf("schema version %d; this dropfix knows version %d; %s\n", cur, known,
		       cur > known   ? "the database is NEWER than this binary (upgrade dropfix)"
		       : cur < known ? "migrations pending (run dropfix migrate)"
				     : "up to date");
		rc = cur > known ? 1 : 0;
		goto done;
	}
	int applied = 0;
	if (store_migrate(s, &applied, err, sizeof(err)) < 0) {
		say(stderr, err);
		goto done;
	}
	if (store_schema_version(s, &cur, &known, err, sizeof(err)) < 0) {
		say(stderr, err);
		goto done;
	}
	printf("dropfix migrate: applied %d migration%s; schema version %d\n", applied, applied == 1 ? "" : "s", cur);
	rc = 0;
done:
	store_close(s);
	config_free(&cfg);
	free(args);
	return rc;
}
