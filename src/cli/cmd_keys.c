/* dropfix keys: the master keyring (ARCHITECTURE §4, §8b "Key file format", "Keys").
 *
 *   list            key ids, the active one, how many sealed values use each
 *   rotate          append a new active key and re-seal every registered value under it
 *                   (resumable: an interrupted run continues where it stopped)
 *   verify          open every registered value and report the ones that do not open
 *   retire ID       remove a key that no value uses any more
 *
 * Sealed values are found through the registry in src/store/sealed_columns.h. Work runs
 * in maintenance transactions (CLI only): on PostgreSQL as the maintenance role
 * (DROPFIX_DATABASE_MAINT_URL), on SQLite on the one database, in short batches with
 * the store's bounded writer wait, so a running server keeps writing in between. */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "cli/install.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/parse.h"
#include "core/str.h"
#include "crypto/keyring.h"
#include "crypto/seal.h"
#include "store/sealed_columns.h"
#include "store/store.h"

#define KEYS_BATCH_DEFAULT 500
#define KEYS_BATCH_MAX 10000
#define KEYS_META_ROTATION "key_rotation" /* id of the key a rotation re-seals under */
#define KEYS_META_CHECK "key_check"
#define KEYS_REPORT_MAX 20 /* failures printed one by one */
#define KEYS_TALLY_MAX (LIMIT_KEYRING_KEYS + 64)

/* ---- Output ---- */

#define say(out, ...) cli_say(out, "keys", __VA_ARGS__)

static void say_store(struct store_conn *c, const char *what)
{
	enum store_code code = store_errcode(c);
	if (code == STORE_OK)
		say(stderr, "%s: out of memory", what);
	else if (code == STORE_E_BUSY)
		say(stderr, "%s: %s (nothing is lost: run the command again)", what, store_errmsg(c));
	else
		say(stderr, "%s: %s (%s)", what, store_errmsg(c), store_code_name(code));
}

/* "table.column (pk=value, …)" with control characters escaped. */
static void describe_row(struct buf *b, const struct sealed_column *col, const struct sealed_row *row)
{
	buf_printf(b, "%s.%s (", col->table, col->column);
	for (size_t i = 0; i < row->npk; i++) {
		const struct store_param *p = &row->pk[i];
		buf_printf(b, "%s%s=", i ? ", " : "", col->pk[i].name);
		if (p->type == STORE_T_I64) {
			buf_printf(b, "%" PRId64, p->i);
		} else if (p->type == STORE_T_TEXT) {
			buf_putc(b, '"');
			buf_put_escaped(b, p->p, p->n);
			buf_putc(b, '"');
		} else {
			buf_puts(b, "x'");
			for (size_t k = 0; k < p->n; k++)
				buf_printf(b, "%02x", ((const uint8_t *)p->p)[k]);
			buf_putc(b, '\'');
		}
	}
	buf_putc(b, ')');
}

/* ---- Counting values per key id ---- */

struct tally {
	uint32_t ids[KEYS_TALLY_MAX];
	uint64_t counts[KEYS_TALLY_MAX];
	size_t n;
	uint64_t other;     /* values under ids beyond the table (never expected) */
	uint64_t malformed; /* not a sealed value at all */
	uint64_t total;
};

static void tally_add(struct tally *t, uint32_t id)
{
	t->total++;
	for (size_t i = 0; i < t->n; i++) {
		if (t->ids[i] == id) {
			t->counts[i]++;
			return;
		}
	}
	if (t->n == KEYS_TALLY_MAX) {
		t->other++;
		return;
	}
	t->ids[t->n] = id;
	t->counts[t->n++] = 1;
}

static uint64_t tally_get(const struct tally *t, uint32_t id)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->ids[i] == id)
			return t->counts[i];
	return 0;
}

/* ---- Walking every registered value ---- */

typedef int (*row_fn)(const struct sealed_column *col, const struct sealed_row *row, void *arg);

/* Calls fn for every value of every registered column, reading batches in short
 * maintenance read transactions. fn returning -1 stops the walk. 0 or -1 (reported). */
static int scan_all(struct store *s, size_t batch, row_fn fn, void *arg)
{
	struct store_conn *c = NULL;
	char err[512];
	int rc = -1;
	if (store_conn_open(s, &c, err, sizeof(err)) < 0) {
		say(stderr, "%s", err);
		return -1;
	}
	for (const struct sealed_column *col = sealed_columns; col->table; col++) {
		struct sealed_cursor cur = {0};
		for (;;) {
			struct store_tx *tx = NULL;
			struct sealed_batch b = {0};
			if (store_maint_begin(c, STORE_READ, &tx) < 0 ||
			    sealed_batch_fetch(tx, col, &cur, batch, &b) < 0) {
				say_store(c, "reading sealed values");
				store_rollback(tx);
				sealed_cursor_free(&cur);
				goto done;
			}
			store_rollback(tx); /* read only: ends the snapshot before the work */
			int stop = 0;
			for (size_t i = 0; i < b.n && !stop; i++)
				stop = fn(col, &b.rows[i], arg) < 0;
			size_t got = b.n;
			sealed_batch_free(&b);
			if (stop) {
				sealed_cursor_free(&cur);
				goto done;
			}
			if (got < batch)
				break;
		}
		sealed_cursor_free(&cur);
	}
	rc = 0;
done:
	store_conn_close(c);
	return rc;
}

static int count_fn(const struct sealed_column *col, const struct sealed_row *row, void *arg)
{
	(void)col;
	struct tally *t = arg;
	uint32_t id = 0;
	if (seal_key_id(row->text, &id) < 0)
		t->malformed++;
	else
		tally_add(t, id);
	return 0;
}

/* Why a value does not open, for the report. */
static const char *open_failure(const struct keyring *kr, const char *text)
{
	uint32_t id = 0;
	if (seal_key_id(text, &id) < 0)
		return "not a sealed value";
	if (!keyring_has(kr, id))
		return "sealed under a key id the key file does not hold";
	return "does not open (changed, damaged, or moved from another row)";
}

struct verify_state {
	const struct keyring *kr;
	struct tally t;
	uint64_t failed;
	int dump; /* test builds: print every plaintext */
};

static void report_failure(uint64_t nth, const struct sealed_column *col, const struct sealed_row *row,
                           const char *why)
{
	if (nth > KEYS_REPORT_MAX)
		return;
	struct buf b;
	buf_init(&b, 0);
	describe_row(&b, col, row);
	if (nth == KEYS_REPORT_MAX)
		say(stderr, "FAILED %s: %s (further failures are counted, not listed)", b.p ? b.p : "?", why);
	else
		say(stderr, "FAILED %s: %s", b.p ? b.p : "?", why);
	buf_free(&b);
}

static int verify_fn(const struct sealed_column *col, const struct sealed_row *row, void *arg)
{
	struct verify_state *v = arg;
	struct seal_ad ad;
	uint8_t *plain = NULL;
	size_t n = 0;
	count_fn(col, row, &v->t);
	sealed_row_ad(col, row, &ad);
	if (seal_open(v->kr, &ad, row->text, &plain, &n) < 0) {
		v->failed++;
		report_failure(v->failed, col, row, open_failure(v->kr, row->text));
		return 0;
	}
	if (v->dump) {
		struct buf b;
		buf_init(&b, 0);
		describe_row(&b, col, row);
		buf_putc(&b, '\t');
		buf_put_escaped(&b, (const char *)plain, n);
		printf("%s\n", b.p ? b.p : "");
		buf_free(&b);
	}
	seal_plain_free(plain, n);
	return 0;
}

/* ---- installation_meta helpers (global transactions) ---- */

/* Reads key into out. 1 found, 0 absent, -1 error (reported). */
static int meta_get(struct store *s, const char *key, char *out, size_t outlen)
{
	struct store_conn *c = NULL;
	struct store_tx *tx = NULL;
	char err[512];
	if (store_conn_open(s, &c, err, sizeof(err)) < 0) {
		say(stderr, "%s", err);
		return -1;
	}
	int found = -1;
	if (store_begin_global(c, STORE_READ, &tx) == 0)
		found = store_meta_get(tx, key, out, outlen);
	if (found < 0)
		say_store(c, "reading installation_meta");
	store_rollback(tx);
	store_conn_close(c);
	return found;
}

/* Sets key to value, or deletes it when value is NULL. 0 or -1 (reported). */
static int meta_put(struct store *s, const char *key, const char *value)
{
	struct store_conn *c = NULL;
	struct store_tx *tx = NULL;
	char err[512];
	int rc = -1;
	if (store_conn_open(s, &c, err, sizeof(err)) < 0) {
		say(stderr, "%s", err);
		return -1;
	}
	if (store_begin_global(c, STORE_WRITE, &tx) < 0)
		goto fail;
	if (value ? store_meta_set(tx, key, value) < 0
	          : store_exec(tx, "DELETE FROM installation_meta WHERE key = $1", STORE_ARGS(SP_TEXT(key))) <
	                0)
		goto fail;
	int crc = store_commit(tx);
	tx = NULL;
	if (crc < 0)
		goto fail;
	rc = 0;
	goto done;
fail:
	say_store(c, "writing installation_meta");
done:
	store_rollback(tx);
	store_conn_close(c);
	return rc;
}

/* Stores a fresh key-check value sealed under the active key. 0 or -1 (reported). */
static int remake_key_check(struct install *in)
{
	char *text = NULL;
	if (keyring_make_check(in->keys, &text) < 0) {
		say(stderr, "cannot seal the key-check value");
		return -1;
	}
	int rc = meta_put(in->store, KEYS_META_CHECK, text);
	free(text);
	return rc;
}

/* Key id the stored key-check value is sealed under; 0 when absent or unreadable. */
static uint32_t key_check_id(struct store *s)
{
	char text[1024];
	uint32_t id = 0;
	if (meta_get(s, KEYS_META_CHECK, text, sizeof(text)) == 1 && seal_key_id(text, &id) == 0)
		return id;
	return 0;
}

/* ---- list ---- */

static int keys_list(struct install *in, size_t batch)
{
	struct tally *t = calloc(1, sizeof(*t));
	if (!t) {
		say(stderr, "out of memory");
		return 1;
	}
	int rc = 1;
	if (scan_all(in->store, batch, count_fn, t) < 0)
		goto done;
	const struct keyring *kr = in->keys;
	uint32_t active = keyring_active_id(kr), check = key_check_id(in->store);
	printf("key file: %s\n", keyring_name(kr));
	printf("%8s  %-8s  %13s\n", "key id", "state", "sealed values");
	for (size_t i = 0; i < keyring_count(kr); i++) {
		uint32_t id = keyring_id_at(kr, i);
		uint64_t n = tally_get(t, id);
		printf("%8" PRIu32 "  %-8s  %13" PRIu64 "%s\n", id,
		       id == active ? "active"
		       : n          ? "in use"
		                    : "unused",
		       n, id == check ? "  (key-check value)" : "");
	}
	int missing = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (!keyring_has(kr, t->ids[i])) {
			printf("%8" PRIu32 "  %-8s  %13" PRIu64
			       "  NOT IN THE KEY FILE: these values cannot be opened\n",
			       t->ids[i], "missing", t->counts[i]);
			missing = 1;
		}
	}
	if (t->malformed)
		printf("%8s  %-8s  %13" PRIu64 "  not sealed values (damaged)\n", "-", "invalid",
		       t->malformed);
	size_t ncols = 0;
	while (sealed_columns[ncols].table)
		ncols++;
	printf("%" PRIu64 " sealed value%s in %zu registered column%s\n", t->total + t->malformed,
	       t->total + t->malformed == 1 ? "" : "s", ncols, ncols == 1 ? "" : "s");
	rc = missing || t->malformed ? 1 : 0;
done:
	free(t);
	return rc;
}

/* ---- verify ---- */

static int keys_verify(struct install *in, size_t batch, int dump)
{
	struct verify_state *v = calloc(1, sizeof(*v));
	if (!v) {
		say(stderr, "out of memory");
		return 1;
	}
	v->kr = in->keys;
	v->dump = dump;
	int rc = 1;
	if (scan_all(in->store, batch, verify_fn, v) < 0)
		goto done;
	if (dump) {
		rc = v->failed ? 1 : 0;
		goto done;
	}
	uint64_t total = v->t.total + v->t.malformed;
	if (v->failed) {
		printf("%" PRIu64 " of %" PRIu64 " sealed values do NOT open with %s\n", v->failed, total,
		       keyring_name(in->keys));
		goto done;
	}
	printf("all %" PRIu64 " sealed values open with %s", total, keyring_name(in->keys));
	for (size_t i = 0; i < v->t.n; i++)
		printf("%s key %" PRIu32 ": %" PRIu64, i ? "," : ";", v->t.ids[i], v->t.counts[i]);
	printf("\nkey-check value: matches (key %" PRIu32 ")\n", key_check_id(in->store));
	rc = 0;
done:
	free(v);
	return rc;
}

/* ---- rotate ---- */

struct rot_stats {
	uint64_t checked, resealed, already, changed, failed;
	unsigned batches;
	int64_t last_print_ns;
};

#ifdef DROPFIX_TEST_HOOKS
/* Test builds: DROPFIX_TEST_KEYS_STOP_AFTER=K kills the process (SIGKILL, like kill -9)
 * right after the K-th committed batch, to test resuming. */
static void test_stop_after(unsigned batches)
{
	const char *v = getenv("DROPFIX_TEST_KEYS_STOP_AFTER");
	int64_t k = 0;
	if (v && parse_i64_cstr(v, 1, 1000000, &k) == 0 && batches >= (unsigned)k) {
		fflush(NULL);
		raise(SIGKILL);
	}
}
#endif

/* SELECT count(*) of a column's values, for progress. -1 when unknown. */
static int64_t column_count(struct store_conn *c, const struct sealed_column *col)
{
	struct store_tx *tx = NULL;
	struct buf sql;
	int64_t n = -1;
	buf_init(&sql, 0);
	buf_printf(&sql, "SELECT count(*) FROM %s WHERE %s IS NOT NULL /*cross-tenant*/", col->table,
	           col->column);
	if (sql.p && !sql.oom && store_maint_begin(c, STORE_READ, &tx) == 0 &&
	    store_query_i64(tx, sql.p, STORE_NO_ARGS, &n) != 1)
		n = -1;
	store_rollback(tx);
	buf_free(&sql);
	return n;
}

static void progress(struct rot_stats *st, const struct sealed_column *col, int64_t total, int force)
{
	int64_t now = clock_mono_ns();
	int tty = isatty(STDERR_FILENO);
	if (!force && now - st->last_print_ns < (tty ? 100000000 : 2000000000LL))
		return;
	st->last_print_ns = now;
	char of[32] = "";
	if (total >= 0)
		snprintf(of, sizeof(of), "/%" PRId64, total);
	fprintf(stderr, "%sdropfix keys: %s.%s: %" PRIu64 "%s checked, %" PRIu64 " re-sealed%s",
	        tty ? "\r" : "", col->table, col->column, st->checked, of, st->resealed,
	        tty && !force ? "" : "\n");
	fflush(stderr);
}

/* Re-seals one column under the active key, batch by batch. 0, or -1 (reported) when
 * the database failed; values that do not open are counted in st->failed. */
static int rotate_column(struct store_conn *c, const struct keyring *kr, const struct sealed_column *col,
                         size_t batch, struct rot_stats *total)
{
	struct sealed_cursor cur = {0};
	struct rot_stats st = {.last_print_ns = clock_mono_ns()};
	int rc = -1;
	int64_t n_values = column_count(c, col);
	uint32_t active = keyring_active_id(kr);
	const struct sealed_row *pend_rows[SEALED_UPDATE_MAX];
	const char *pend_texts[SEALED_UPDATE_MAX];
	size_t npend = 0;
	for (;;) {
		struct store_tx *tx = NULL;
		struct sealed_batch b = {0};
		if (store_maint_begin(c, STORE_WRITE, &tx) < 0 ||
		    sealed_batch_fetch(tx, col, &cur, batch, &b) < 0) {
			say_store(c, "re-sealing");
			store_rollback(tx);
			goto done;
		}
		int poisoned = 0;
		for (size_t i = 0; i <= b.n && !poisoned; i++) {
			/* write the pending re-sealed values when full or at the end of the batch */
			if (npend == SEALED_UPDATE_MAX || (i == b.n && npend)) {
				int u = sealed_rows_update(tx, col, pend_rows, pend_texts, npend, active);
				if (u < 0)
					poisoned = 1; /* store_commit reports it */
				else {
					st.resealed += (uint64_t)u;
					st.changed +=
					    npend -
					    (size_t)u; /* rewritten meanwhile: re-checked at the end */
				}
				for (size_t k = 0; k < npend; k++)
					free((char *)pend_texts[k]);
				npend = 0;
			}
			if (i == b.n || poisoned)
				break;
			const struct sealed_row *row = &b.rows[i];
			struct seal_ad ad;
			char *fresh = NULL;
			int already = 0;
			sealed_row_ad(col, row, &ad);
			st.checked++;
			if (seal_reseal(kr, &ad, row->text, &fresh, &already) < 0) {
				st.failed++;
				report_failure(total->failed + st.failed, col, row,
				               open_failure(kr, row->text));
				continue;
			}
			if (already) {
				st.already++;
				continue;
			}
			pend_rows[npend] = row;
			pend_texts[npend++] = fresh;
		}
		for (size_t k = 0; k < npend; k++)
			free((char *)pend_texts[k]);
		npend = 0;
		size_t got = b.n;
		sealed_batch_free(&b);
		if (store_commit(tx) < 0) {
			say_store(c, "re-sealing");
			goto done;
		}
		if (got == 0)
			break;
		st.batches++;
		total->batches++;
		progress(&st, col, n_values, 0);
#ifdef DROPFIX_TEST_HOOKS
		test_stop_after(total->batches);
#endif
		if (got < batch)
			break;
	}
	rc = 0;
done:
	if (st.checked)
		progress(&st, col, n_values, 1);
	total->checked += st.checked;
	total->resealed += st.resealed;
	total->already += st.already;
	total->changed += st.changed;
	total->failed += st.failed;
	sealed_cursor_free(&cur);
	return rc;
}

/* Records a master-key operation in the installation audit log (actor: the CLI).
 * Returns 0, or -1 with the reason printed. */
static int audit_key_event(struct install *in, const char *action, uint32_t key_id)
{
	char err[256], detail[64], target[32];
	struct store_conn *c = NULL;
	struct store_tx *tx = NULL;
	snprintf(detail, sizeof(detail), "{\"key_id\":%" PRIu32 "}", key_id);
	snprintf(target, sizeof(target), "master key %" PRIu32, key_id);
	struct audit_event e = {.actor_kind = AUDIT_ACTOR_CLI, .action = action, .target = target, .detail = detail};
	if (store_conn_open(in->store, &c, err, sizeof(err)) < 0) {
		say(stderr, "audit log: %s", err);
		return -1;
	}
	int rc = -1;
	if (store_begin_global(c, STORE_WRITE, &tx) == 0 && audit_append_install(tx, in->keys, &e) == 0 &&
	    store_commit(tx) == 0)
		rc = 0;
	else
		say(stderr, "audit log: cannot record %s (%s)", action, store_code_name(store_errcode(c)));
	if (rc < 0)
		store_rollback(tx);
	store_conn_close(c);
	return rc;
}

static int keys_rotate(struct install *in, size_t batch, int add_only)
{
	struct keyring *kr = in->keys;
	const char *path = in->cfg->master_key_file;
	char err[512], marker[32];
	struct store_conn *c = NULL;
	struct tally *t = NULL;
	int rc = 1;
	int found = meta_get(in->store, KEYS_META_ROTATION, marker, sizeof(marker));
	if (found < 0)
		return 1;
	int64_t pending = 0;
	if (found && parse_i64_cstr(marker, 1, KEYRING_MAX_ID, &pending) < 0)
		pending = 0;
	uint32_t active = keyring_active_id(kr);
	if (pending && (uint32_t)pending == active) {
		say(stdout, "resuming the rotation to key %" PRIu32 " (no new key added)", active);
	} else {
		uint32_t old = active;
		if (keyring_rotate(kr, path, &active, err, sizeof(err)) < 0) {
			say(stderr, "%s", err);
			return 1;
		}
		snprintf(marker, sizeof(marker), "%" PRIu32, active);
		say(stdout, "added key %" PRIu32 " to %s; it is now the active key (was %" PRIu32 ")", active,
		    path, old);
		if (meta_put(in->store, KEYS_META_ROTATION, marker) < 0)
			return 1;
	}
	if (add_only) {
		say(stdout,
		    "restart every dropfix process (serve, worker) so each loads key %" PRIu32
		    ", then run `dropfix keys rotate` to re-seal every value under it",
		    active);
		return 0;
	}
	say(stdout,
	    "re-sealing every sealed value under key %" PRIu32
	    "; dropfix processes started before this rotation cannot open re-sealed values until restarted",
	    active);
	if (store_conn_open(in->store, &c, err, sizeof(err)) < 0) {
		say(stderr, "%s", err);
		return 1;
	}
	struct rot_stats st = {0};
	int64_t t0 = clock_mono_ns();
	for (const struct sealed_column *col = sealed_columns; col->table; col++)
		if (rotate_column(c, kr, col, batch, &st) < 0)
			goto done;
	if (remake_key_check(in) < 0)
		goto done;
	double secs = (double)(clock_mono_ns() - t0) / 1e9;
	say(stdout,
	    "checked %" PRIu64 " sealed values in %.2f s: %" PRIu64 " re-sealed, %" PRIu64
	    " already under key %" PRIu32 ", %" PRIu64 " changed meanwhile, %" PRIu64 " do not open",
	    st.checked, secs, st.resealed, st.already, active, st.changed, st.failed);

	/* The final check: no value may still use an older key. */
	t = calloc(1, sizeof(*t));
	if (!t) {
		say(stderr, "out of memory");
		goto done;
	}
	if (scan_all(in->store, batch, count_fn, t) < 0)
		goto done;
	uint64_t old_left = t->total - tally_get(t, active);
	if (old_left || t->malformed || st.failed) {
		say(stderr,
		    "%" PRIu64 " sealed value(s) still use an older key and %" PRIu64
		    " do not open: fix those (see above), restart processes still using the old key file, "
		    "and run "
		    "`dropfix keys rotate` again",
		    old_left, st.failed + t->malformed);
		goto done;
	}
	if (meta_put(in->store, KEYS_META_ROTATION, NULL) < 0)
		goto done;
	struct buf ids;
	buf_init(&ids, 0);
	for (size_t i = 0; i < keyring_count(kr); i++) {
		uint32_t id = keyring_id_at(kr, i);
		if (id != active)
			buf_printf(&ids, "%s%" PRIu32, ids.n ? ", " : "", id);
	}
	if (audit_key_event(in, "keys.rotated", active) < 0)
		goto done;
	say(stdout, "done: every sealed value and the key-check value use key %" PRIu32, active);
	if (ids.n)
		say(stdout,
		    "no value uses key(s) %s any more: retire each with `dropfix keys retire ID` (backups "
		    "taken "
		    "before this rotation need the old key to restore: keep a copy of the old key file with "
		    "them)",
		    ids.p);
	buf_free(&ids);
	rc = 0;
done:
	free(t);
	store_conn_close(c);
	return rc;
}

/* ---- retire ---- */

static int keys_retire(struct install *in, size_t batch, uint32_t id)
{
	struct keyring *kr = in->keys;
	char err[512];
	if (!keyring_has(kr, id)) {
		say(stderr, "key %" PRIu32 " is not in %s (see `dropfix keys list`)", id, keyring_name(kr));
		return 1;
	}
	if (id == keyring_active_id(kr)) {
		say(stderr,
		    "key %" PRIu32 " is the active key: rotate first (`dropfix keys rotate`), then retire it",
		    id);
		return 1;
	}
	struct tally *t = calloc(1, sizeof(*t));
	if (!t) {
		say(stderr, "out of memory");
		return 1;
	}
	int rc = 1;
	if (scan_all(in->store, batch, count_fn, t) < 0)
		goto done;
	uint64_t n = tally_get(t, id);
	if (n) {
		say(stderr,
		    "refusing: %" PRIu64 " sealed value%s still use%s key %" PRIu32
		    "; run `dropfix keys rotate` to re-seal them first",
		    n, n == 1 ? "" : "s", n == 1 ? "s" : "", id);
		goto done;
	}
	int64_t audit_rows = 0;
	struct store_conn *c = NULL;
	int audit_rc = store_conn_open(in->store, &c, err, sizeof(err)) < 0 ? -1 : audit_key_rows(c, id, &audit_rows);
	store_conn_close(c);
	if (audit_rc < 0) {
		say(stderr, "cannot count the audit rows made with key %" PRIu32 ": %s", id, err);
		goto done;
	}
	if (audit_rows > 0) {
		say(stderr,
		    "refusing: %" PRId64 " audit log row%s carry an HMAC made with key %" PRIu32
		    "; audit rows are never re-keyed, so the key stays in the keyring for `dropfix audit verify` "
		    "(it seals nothing new)",
		    audit_rows, audit_rows == 1 ? "" : "s", id);
		goto done;
	}
	if (key_check_id(in->store) == id && remake_key_check(in) < 0)
		goto done;
	if (keyring_retire(kr, in->cfg->master_key_file, id, err, sizeof(err)) < 0) {
		say(stderr, "%s", err);
		goto done;
	}
	if (audit_key_event(in, "keys.retired", id) < 0)
		goto done;
	say(stdout,
	    "retired key %" PRIu32 " from %s; backups encrypted under key %" PRIu32
	    " can only be restored with a copy of the old key file",
	    id, in->cfg->master_key_file, id);
	rc = 0;
done:
	free(t);
	return rc;
}

/* ---- Test builds: seeding sealed values ---- */

#ifdef DROPFIX_TEST_HOOKS
static int seal_text(const struct keyring *kr, const char *scope, int64_t scope_id, const char *table,
                     const char *column, const char *row_key, const char *plain, char **out)
{
	struct seal_ad ad = {scope, scope_id, table, column, row_key};
	return seal_value(kr, &ad, (const uint8_t *)plain, strlen(plain), out);
}

/* Creates 3 workspaces holding n workspace secrets, plus n/10+1 (at most 1000) TOTP
 * seeds and as many sealed signing keys, all under the active key. Plaintexts are
 * "dropfix-test-secret-<i>", "totp-seed-<i>" and "sk-signing-<i>". */
static int test_seed(struct install *in, int64_t n)
{
	const struct keyring *kr = in->keys;
	struct store_conn *c = NULL;
	struct store_tx *tx = NULL;
	char err[512], kid[16], name[64], rk[64], plain[64], hex[65];
	int64_t ws[3];
	int rc = 1;
	snprintf(kid, sizeof(kid), "%" PRIu32, keyring_active_id(kr));
	if (store_conn_open(in->store, &c, err, sizeof(err)) < 0) {
		say(stderr, "%s", err);
		return 1;
	}
	if (store_begin_global(c, STORE_WRITE, &tx) < 0)
		goto db_fail;
	for (int w = 0; w < 3; w++) {
		char wname[32];
		snprintf(wname, sizeof(wname), "Seed %d", w + 1);
		struct store_workspace_new nw = {wname, "Seed product", "UTC", "USD"};
		if (store_workspace_create(tx, &nw, &ws[w]) < 0)
			goto db_fail;
	}
	int64_t m = n / 10 + 1 > 1000 ? 1000 : n / 10 + 1;
	int64_t now = clock_now_ms();
	for (int64_t i = 0; i < m; i++) {
		char *s1 = NULL, *s2 = NULL, email[64], idtext[24];
		uint8_t hash[32];
		int64_t id = store_random_id();
		snprintf(idtext, sizeof(idtext), "%" PRId64, id);
		snprintf(email, sizeof(email), "seed-%" PRId64 "@example.test", id);
		snprintf(plain, sizeof(plain), "totp-seed-%" PRId64, i);
		randombytes_buf(hash, sizeof(hash));
		for (size_t k = 0; k < sizeof(hash); k++)
			snprintf(hex + 2 * k, 3, "%02x", hash[k]);
		if (seal_text(kr, "account", id, "accounts", "totp_sealed", idtext, plain, &s1) < 0)
			goto seal_fail;
		snprintf(plain, sizeof(plain), "sk-signing-%" PRId64, i);
		if (seal_text(kr, "workspace", ws[i % 3], "workspace_keys", "sealed", hex, plain, &s2) < 0) {
			free(s1);
			goto seal_fail;
		}
		int bad =
		    store_exec(tx,
		               "INSERT INTO accounts (id, email, name, totp_sealed, created_at, updated_at) "
		               "VALUES ($1, $2, '', $3, $4, $4)",
		               STORE_ARGS(SP_I64(id), SP_TEXT(email), SP_TEXT(s1), SP_I64(now))) < 0 ||
		    store_exec(tx,
		               "INSERT INTO workspace_keys (key_hash, workspace_id, kind, sealed, key_id, "
		               "created_at) "
		               "VALUES ($1, $2, 'sk', $3, $4, $5)",
		               STORE_ARGS(SP_BLOB(hash, sizeof(hash)), SP_I64(ws[i % 3]), SP_TEXT(s2),
		                          SP_TEXT(kid), SP_I64(now))) < 0;
		free(s1);
		free(s2);
		if (bad)
			goto db_fail;
	}
	int crc = store_commit(tx);
	tx = NULL;
	if (crc < 0)
		goto db_fail;
	for (int w = 0; w < 3; w++) {
		int64_t in_tx = 0;
		for (int64_t i = w; i < n; i += 3) {
			char *s = NULL;
			if (!tx && store_begin_ws(c, ws[w], STORE_WRITE, &tx) < 0)
				goto db_fail;
			snprintf(name, sizeof(name), "secret-%" PRId64, i);
			snprintf(rk, sizeof(rk), "rk-%" PRId64, i);
			snprintf(plain, sizeof(plain), "dropfix-test-secret-%" PRId64, i);
			if (seal_text(kr, "workspace", ws[w], "workspace_secrets", "sealed", rk, plain, &s) <
			    0)
				goto seal_fail;
			int bad =
			    store_exec(
			        tx,
			        "INSERT INTO workspace_secrets (workspace_id, name, row_key, sealed, key_id, "
			        "updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
			        STORE_ARGS(SP_TEXT(name), SP_TEXT(rk), SP_TEXT(s), SP_TEXT(kid),
			                   SP_I64(now))) < 0;
			free(s);
			if (bad)
				goto db_fail;
			if (++in_tx == 1000) {
				crc = store_commit(tx);
				tx = NULL;
				in_tx = 0;
				if (crc < 0)
					goto db_fail;
			}
		}
		if (tx) {
			crc = store_commit(tx);
			tx = NULL;
			if (crc < 0)
				goto db_fail;
		}
	}
	printf("seeded %" PRId64 " workspace secrets, %" PRId64 " TOTP seeds and %" PRId64
	       " signing keys in 3 workspaces under key %s\n",
	       n, m, m, kid);
	rc = 0;
	goto done;
seal_fail:
	say(stderr, "sealing failed");
	goto done;
db_fail:
	say_store(c, "seeding");
done:
	store_rollback(tx);
	store_conn_close(c);
	return rc;
}
#endif

/* ---- Command line ---- */

struct keys_sub {
	const char *name;
	const char *usage;
	const char *text;
};

static const struct keys_sub keys_subs[] = {
    {"list", "dropfix keys list [options]",
     "Lists the keys of the master key file: which one is active, and how many sealed values use\n"
     "each (counted by reading the key id of every registered sealed value). Exit status 1 when\n"
     "some value uses a key id the file does not hold, or is damaged.\n"},
    {"rotate", "dropfix keys rotate [--add-only] [--batch N] [options]",
     "Appends a new random key to the master key file (written atomically; it becomes the active\n"
     "key), then re-seals every sealed value under it, N rows per transaction (default 500), and\n"
     "stores a fresh key-check value. An interrupted rotation is resumed by running the command\n"
     "again: no second key is added and values already under the new key are skipped. At the end\n"
     "it checks that no value uses an older key and names the keys that can be retired.\n"
     "Processes that loaded the key file earlier cannot open re-sealed values: restart them.\n"
     "Several nodes: `keys rotate --add-only` first, restart every node, then `keys rotate`,\n"
     "then `keys retire` the old ids (ARCHITECTURE §8b).\n"
     "On PostgreSQL this runs as the maintenance role (DROPFIX_DATABASE_MAINT_URL). When a server\n"
     "holds the SQLite writer lock too long it stops with \"server busy, retry\" (exit 1): run it\n"
     "again to continue.\n\n"
     "  --add-only           only add the new active key (step 1 with several nodes)\n"
     "  --batch N            rows per transaction, 1-10000 (default 500)\n"},
    {"verify", "dropfix keys verify [--batch N] [options]",
     "Opens every registered sealed value with the master key file and reports each one that does\n"
     "not open (its table and primary key, and why). Exit status 1 when any fails.\n"},
    {"retire", "dropfix keys retire ID [options]",
     "Removes key ID from the master key file. Refuses the active key, and any key that a sealed\n"
     "value still uses (every registered value is read first). Backups encrypted under that key\n"
     "can only be restored with a copy of the old key file.\n"},
    {0},
};

void cmd_keys_help(FILE *out)
{
	fprintf(out, "usage: dropfix keys COMMAND [options]\n\n"
	             "Manages the master key file (DROPFIX_MASTER_KEY_FILE): one key per line, the last one\n"
	             "active. Commands:\n");
	for (const struct keys_sub *s = keys_subs; s->name; s++)
		fprintf(out, "  %s\n", s->usage);
	fprintf(out, "\n`dropfix keys COMMAND --help` explains each. Bad usage exits 2.\n\n");
	config_print_flags(out, CFG_STORE);
}

static void sub_help(FILE *out, const struct keys_sub *s)
{
	fprintf(out, "usage: %s\n\n%s\n", s->usage, s->text);
	config_print_flags(out, CFG_STORE);
}

int cmd_keys(int argc, char **argv)
{
	if (argc < 2) {
		cmd_keys_help(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
		cmd_keys_help(stdout);
		return 0;
	}
	const struct keys_sub *sub = NULL;
	for (const struct keys_sub *s = keys_subs; s->name; s++)
		if (strcmp(s->name, name) == 0)
			sub = s;
	int64_t seed = 0;
	int dump = 0;
#ifdef DROPFIX_TEST_HOOKS
	if (strcmp(name, "--test-seed") == 0 && argc > 2 &&
	    parse_i64_cstr(argv[2], 1, 10000000, &seed) == 0) {
		argv++;
		argc--;
	} else if (strcmp(name, "--test-dump") == 0) {
		dump = 1;
	} else
#endif
	    if (!sub) {
		say(stderr, "unknown command '%.64s' (see dropfix keys --help)", name);
		return EXIT_USAGE;
	}
	if (cli_wants_help(argc - 1, argv + 1)) {
		if (sub)
			sub_help(stdout, sub);
		return 0;
	}

	char **args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args) {
		say(stderr, "out of memory");
		return 1;
	}
	struct config cfg;
	struct install in;
	memset(&cfg, 0, sizeof(cfg));
	memset(&in, 0, sizeof(in));
	char err[512];
	int rc = EXIT_USAGE, nargs = 0, add_only = 0, have_id = 0;
	int64_t batch = KEYS_BATCH_DEFAULT, id = 0;
	int is = sub && strcmp(sub->name, "rotate") == 0, ir = sub && strcmp(sub->name, "retire") == 0;
	args[nargs++] = argv[0];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (is && strcmp(a, "--add-only") == 0) {
			add_only = 1;
		} else if (strcmp(a, "--batch") == 0 || strncmp(a, "--batch=", 8) == 0) {
			const char *v = a[7] == '=' ? a + 8 : (i + 1 < argc ? argv[++i] : NULL);
			if (!v || parse_i64_cstr(v, 1, KEYS_BATCH_MAX, &batch) < 0) {
				say(stderr, "--batch needs a whole number from 1 to %d", KEYS_BATCH_MAX);
				goto done;
			}
		} else if (ir && !have_id && a[0] != '-') {
			if (parse_i64_cstr(a, 1, KEYRING_MAX_ID, &id) < 0) {
				say(stderr, "retire: ID must be a key id (a whole number from 1 to %u)",
				    KEYRING_MAX_ID);
				goto done;
			}
			have_id = 1;
		} else if (a[0] != '-') {
			say(stderr, "unexpected argument '%.64s' (see dropfix keys %s --help)", a, name);
			goto done;
		} else {
			args[nargs++] = argv[i];
			/* a flag's separate value goes to config_load with it */
			if (!strchr(a, '=') && i + 1 < argc && argv[i + 1][0] != '-')
				args[nargs++] = argv[++i];
		}
	}
	if (ir && !have_id) {
		say(stderr, "retire needs the key id to remove (dropfix keys retire ID)");
		goto done;
	}
	if (config_load(&cfg, nargs, args, CFG_STORE, err, sizeof(err)) < 0 ||
	    config_validate(&cfg, CFG_STORE, err, sizeof(err)) < 0 || clock_init(err, sizeof(err)) < 0) {
		say(stderr, "%s", err);
		goto done;
	}
	rc = 1;
	if (install_open(&in, &cfg, STORE_ROLE_MAINT, 0, err, sizeof(err)) < 0) {
		say(stderr, "%s", err);
		goto done;
	}
	if (seed)
#ifdef DROPFIX_TEST_HOOKS
		rc = test_seed(&in, seed);
#else
		rc = 1;
#endif
	else if (dump)
		rc = keys_verify(&in, (size_t)batch, 1);
	else if (strcmp(sub->name, "list") == 0)
		rc = keys_list(&in, (size_t)batch);
	else if (strcmp(sub->name, "rotate") == 0)
		rc = keys_rotate(&in, (size_t)batch, add_only);
	else if (strcmp(sub->name, "verify") == 0)
		rc = keys_verify(&in, (size_t)batch, 0);
	else
		rc = keys_retire(&in, (size_t)batch, (uint32_t)id);
done:
	install_close(&in);
	config_free(&cfg);
	free(args);
	return rc;
}
