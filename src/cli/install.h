/* Opening an installation: settings, data directory, master keyring and store, with the
 * start-up safety checks every command shares (serve, worker, keys, backup, …). */
#ifndef DROPFIX_INSTALL_H
#define DROPFIX_INSTALL_H

#include <stddef.h>

#include "core/config.h"
#include "crypto/keyring.h"
#include "store/store.h"

struct install {
	const struct config *cfg; /* borrowed */
	struct store *store;
	struct keyring *keys;
	int key_created;          /* the master key file was created by this start */
};

enum install_flags {
	INSTALL_MIGRATE = 1 << 0,    /* apply pending migrations (SQLite default at serve) */
	INSTALL_CREATE_KEY = 1 << 1, /* create master.key when absent on a new database */
	INSTALL_NO_STORE = 1 << 2,   /* keyring only */
	INSTALL_OLD_SCHEMA_OK = 1 << 3, /* without INSTALL_MIGRATE: accept an older schema (backup) */
};

/* Opens cfg's installation as role. Creates the data directory (0700) when missing.
 * Refuses to go on, with a one-line message naming the file and the fix, when the key
 * file is missing for a database that already holds sealed data, unreadable, malformed,
 * readable by group or others, or does not match the database's key-check value; and
 * when the schema is newer than this binary or (without INSTALL_MIGRATE or
 * INSTALL_OLD_SCHEMA_OK) older. With INSTALL_MIGRATE, an existing SQLite database is
 * first backed up to <data dir>/backups/pre-migrate-<version>-<time>.dfbackup.
 * Returns 0, or -1 with err. */
int install_open(struct install *in, const struct config *cfg, enum store_role role, unsigned flags, char *err,
		 size_t errlen) __attribute__((warn_unused_result));
/* Closes the store and wipes the keyring. Accepts a zeroed install. */
void install_close(struct install *in);

#endif
