/* Embedded migrations: applied in order, each in its own transaction, recorded in
 * schema_migrations with a SHA-256 checksum of the file; a schema newer than this
 * binary, or an applied migration whose file changed, is refused. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "store/store_int.h"

#define MIGRATE_LOCK_KEY INT64_C(0x64726f7066697801) /* "dropfix" + 1: advisory lock */

static const struct store_migration *migrations_for(enum store_backend kind)
{
	return kind == STORE_SQLITE ? store_migrations_sqlite : store_migrations_pg;
}

int store_known_version(enum store_backend kind)
{
	int v = 0;
	for (const struct store_migration *m = migrations_for(kind); m->name; m++)
		v = m->version;
	return v;
}

static void checksum_hex(const struct store_migration *m, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)m->sql, m->len);
	sodium_bin2hex(out, 65, h, sizeof(h));
}

/* Reads the current version inside tx (0 when the schema table does not exist). */
static int current_in_tx(struct store_tx *tx, int *cur)
{
	int64_t exists = 0, v = 0;
	const char *probe = tx->c->s->kind == STORE_SQLITE
				    ? "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
				    : "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() "
				      "AND tablename = 'schema_migrations'";
	*cur = 0;
	struct store_rows *r;
	if (store_query_internal(tx, probe, STORE_NO_ARGS, &r) < 0)
		return -1;
	if (store_step(r) == 1)
		exists = store_col_i64(r, 0);
	store_rows_close(r);
	if (!exists)
		return 0;
	if (store_query_internal(tx, "SELECT coalesce(max(version), 0) FROM schema_migrations", STORE_NO_ARGS, &r) < 0)
		return -1;
	if (store_step(r) == 1)
		v = store_col_i64(r, 0);
	store_rows_close(r);
	if (tx->failed)
		return -1;
	*cur = (int)v;
	return 0;
}

int store_schema_current(struct store_conn *c, int *cur)
{
	struct store_tx *tx;
	if (store_begin_internal(c, STORE_READ, &tx) < 0)
		return -1;
	if (current_in_tx(tx, cur) < 0) {
		store_rollback(tx);
		return -1;
	}
	return store_commit(tx);
}

int store_schema_version(struct store *s, int *current, int *known, char *err, size_t errlen)
{
	struct store_conn *c;
	if (store_conn_open(s, &c, err, errlen) < 0)
		return -1;
	int rc = store_schema_current(c, current);
	if (rc < 0)
		snprintf(err, errlen, "reading the schema version: %s", store_errmsg(c));
	*known = store_known_version(s->kind);
	store_conn_close(c);
	return rc;
}

/* Applies m unless already applied (then verifies its checksum). 1 applied, 0 skipped,
 * -1 error (err set). */
static int apply_one(struct store_conn *c, const struct store_migration *m, int known, char *err, size_t errlen)
{
	struct store_tx *tx;
	char sum[65];
	checksum_hex(m, sum);
	if (store_begin_internal(c, STORE_WRITE, &tx) < 0) {
		snprintf(err, errlen, "%s: %s", m->name, store_errmsg(c));
		return -1;
	}
	if (c->s->kind == STORE_POSTGRES &&
	    store_exec_internal(tx, "SELECT pg_advisory_xact_lock($1)", STORE_ARGS(SP_I64(MIGRATE_LOCK_KEY))) < 0)
		goto fail;
	int cur;
	if (current_in_tx(tx, &cur) < 0)
		goto fail;
	if (cur > known) {
		snprintf(err, errlen,
			 "the database schema (version %d) is newer than this dropfix knows (version %d): upgrade dropfix",
			 cur, known);
		store_rollback(tx);
		c->err = STORE_E_SCHEMA;
		return -1;
	}
	if (cur > 0) {
		struct store_rows *r;
		if (store_query_internal(tx, "SELECT checksum FROM schema_migrations WHERE version = $1",
					 STORE_ARGS(SP_I64(m->version)), &r) < 0)
			goto fail;
		int found = store_step(r);
		int same = 0;
		if (found == 1) {
			size_t n;
			const char *v = store_col_text(r, 0, &n);
			same = v && n == 64 && memcmp(v, sum, 64) == 0;
		}
		store_rows_close(r);
		if (found < 0)
			goto fail;
		if (found == 1) {
			store_rollback(tx);
			if (!same) {
				snprintf(err, errlen,
					 "migration %s was changed after it was applied (checksum differs): "
					 "restore the original file or the database",
					 m->name);
				c->err = STORE_E_SCHEMA;
				return -1;
			}
			return 0;
		}
		if (m->version < cur) {
			snprintf(err, errlen, "migration %s is missing from the database, which is at version %d",
				 m->name, cur);
			store_rollback(tx);
			c->err = STORE_E_SCHEMA;
			return -1;
		}
	}
	int rc = c->s->kind == STORE_SQLITE ? store_sq_exec_script(c, m->sql) : store_pg_exec_script(c, m->sql);
	if (rc < 0)
		goto fail;
	if (store_exec_internal(tx,
				"INSERT INTO schema_migrations (version, name, applied_at, checksum) VALUES ($1, $2, $3, $4)",
				STORE_ARGS(SP_I64(m->version), SP_TEXT(m->name), SP_I64(clock_now_ms()), SP_TEXT(sum))) <
	    0)
		goto fail;
	if (store_commit(tx) < 0) {
		snprintf(err, errlen, "%s: %s", m->name, store_errmsg(c));
		return -1;
	}
	return 1;
fail:
	snprintf(err, errlen, "migration %s: %s", m->name, store_errmsg(c));
	store_rollback(tx);
	return -1;
}

int store_migrate(struct store *s, int *applied, char *err, size_t errlen)
{
	struct store_conn *c;
	int n = 0, rc = -1;
	if (applied)
		*applied = 0;
	if (store_conn_open(s, &c, err, errlen) < 0)
		return -1;
	int known = store_known_version(s->kind);
	for (const struct store_migration *m = migrations_for(s->kind); m->name; m++) {
		int r = apply_one(c, m, known, err, errlen);
		if (r < 0)
			goto done;
		n += r;
	}
	rc = 0;
done:
	if (applied)
		*applied = n;
	store_conn_close(c);
	return rc;
}
