#include "cli/install.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmd_backup.h"
#include "core/log.h"

#define KEY_CHECK_META "key_check"

static int ensure_data_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "DROPFIX_DATA_DIR: %s is not a directory", dir);
			return -1;
		}
		return 0;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "DROPFIX_DATA_DIR: cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* 1 when the database already holds a key-check value (so sealed data may exist);
 * 0 when not; -1 on a database error (err set). */
static int has_key_check(struct install *in, char *err, size_t errlen)
{
	struct store_conn *c = NULL;
	struct store_tx *tx = NULL;
	char stored[1024];
	int found = -1;
	if (store_conn_open(in->store, &c, err, errlen) < 0)
		return -1;
	if (store_begin_global(c, STORE_READ, &tx) == 0)
		found = store_meta_get(tx, KEY_CHECK_META, stored, sizeof(stored));
	if (found < 0)
		snprintf(err, errlen, "database: %s (%s)", store_errmsg(c), store_code_name(store_errcode(c)));
	store_rollback(tx);
	store_conn_close(c);
	return found;
}

/* Loads the keyring, or creates it when allowed and nothing was sealed yet. */
static int open_keyring(struct install *in, unsigned flags, int sealed_data, char *err, size_t errlen)
{
	const char *file = in->cfg->master_key_file;
	struct stat st;
	if (stat(file, &st) == 0 || !(flags & INSTALL_CREATE_KEY))
		return keyring_load(file, &in->keys, err, errlen);
	if (sealed_data) {
		snprintf(err, errlen,
			 "master key file %s is missing but the database already holds data sealed with a master "
			 "key: restore the key file from your backup (or copy it from another node), or point "
			 "DROPFIX_MASTER_KEY_FILE at it",
			 file);
		return -1;
	}
	if (keyring_create(file, &in->keys, err, errlen) < 0)
		return -1;
	in->key_created = 1;
	log_json(LOG_WARN, "created a new master key: back it up separately from the data", json_pack("{s:s}", "file", file));
	return 0;
}

/* Reads or stores the key-check value; refuses a key that does not match. */
static int check_master_key(struct install *in, char *err, size_t errlen)
{
	struct store_conn *c = NULL;
	struct store_tx *tx = NULL;
	char *fresh = NULL;
	char stored[1024];
	int rc = -1;
	if (store_conn_open(in->store, &c, err, errlen) < 0)
		return -1;
	if (store_begin_global(c, STORE_WRITE, &tx) < 0)
		goto db_fail;
	int found = store_meta_get(tx, KEY_CHECK_META, stored, sizeof(stored));
	if (found < 0)
		goto db_fail;
	int stale = 0;
	if (found) {
		if (keyring_verify_check(in->keys, stored, &stale, err, errlen) < 0) {
			store_rollback(tx);
			tx = NULL;
			goto done;
		}
	}
	if (!found || stale) {
		if (keyring_make_check(in->keys, &fresh) < 0) {
			snprintf(err, errlen, "cannot seal the key-check value");
			goto done;
		}
		if (store_meta_set(tx, KEY_CHECK_META, fresh) < 0)
			goto db_fail;
	}
	if (store_commit(tx) < 0) {
		tx = NULL;
		goto db_fail;
	}
	tx = NULL;
	rc = 0;
	goto done;
db_fail:
	snprintf(err, errlen, "database: %s (%s)", store_errmsg(c), store_code_name(store_errcode(c)));
done:
	store_rollback(tx);
	store_conn_close(c);
	free(fresh);
	return rc;
}

/* SQLite: before migrating a database that has a schema, check the key and back it up
 * (<data dir>/backups/pre-migrate-…); a failed backup stops the migration. */
static int backup_before_migrate(struct install *in, char *err, size_t errlen)
{
	int current = 0, known = 0;
	char path[4096];
	if (store_backend(in->store) != STORE_SQLITE)
		return 0;
	if (store_schema_version(in->store, &current, &known, err, errlen) < 0)
		return -1;
	if (current <= 0 || current >= known)
		return 0;
	if (check_master_key(in, err, errlen) < 0)
		return -1;
	if (cmd_backup_pre_migrate(in->cfg, in->keys, current, path, sizeof(path), err, errlen) < 0) {
		char why[512];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "not migrating: the backup before migrating failed: %s", why);
		return -1;
	}
	log_json(LOG_INFO, "backed up the database before migrating",
		 json_pack("{s:s, s:i, s:i}", "file", path, "from_version", current, "to_version", known));
	return 0;
}

int install_open(struct install *in, const struct config *cfg, enum store_role role, unsigned flags, char *err,
		 size_t errlen)
{
	memset(in, 0, sizeof(*in));
	in->cfg = cfg;
	if (ensure_data_dir(cfg->data_dir, err, errlen) < 0)
		return -1;

	if (flags & INSTALL_NO_STORE)
		return keyring_load(cfg->master_key_file, &in->keys, err, errlen);

	struct store_opts opts = {.role = role,
	                          .sqlite_sync_normal = cfg->sqlite_synchronous &&
	                                                strcmp(cfg->sqlite_synchronous, "NORMAL") == 0};
	const char *url = cfg->database_url;
	if (role == STORE_ROLE_OWNER && cfg->database_owner_url && cfg->database_owner_url[0])
		url = cfg->database_owner_url;
	if (role == STORE_ROLE_MAINT && cfg->database_maint_url && cfg->database_maint_url[0])
		url = cfg->database_maint_url;
	if (store_open(url, &opts, &in->store, err, errlen) < 0)
		goto fail;
	/* The key comes before migrating: the pre-migration backup is sealed with it. */
	int current = 0, known = 0;
	if (store_schema_version(in->store, &current, &known, err, errlen) < 0)
		goto fail;
	int sealed_data = current > 0 ? has_key_check(in, err, errlen) : 0;
	if (sealed_data < 0 || open_keyring(in, flags, sealed_data, err, errlen) < 0)
		goto fail;
	if (flags & INSTALL_MIGRATE) {
		int applied = 0;
		if (backup_before_migrate(in, err, errlen) < 0)
			goto fail;
		if (store_migrate(in->store, &applied, err, errlen) < 0)
			goto fail;
		if (applied)
			log_json(LOG_INFO, "migrations applied", json_pack("{s:i}", "count", applied));
	} else if (current < known && !(flags & INSTALL_OLD_SCHEMA_OK)) {
		snprintf(err, errlen, "the database schema is at version %d, this binary needs %d: run `dropfix migrate`",
			 current, known);
		goto fail;
	}
	if (check_master_key(in, err, errlen) < 0)
		goto fail;
	return 0;
fail:
	install_close(in);
	return -1;
}

void install_close(struct install *in)
{
	if (!in)
		return;
	store_close(in->store);
	keyring_free(in->keys);
	in->store = NULL;
	in->keys = NULL;
}
