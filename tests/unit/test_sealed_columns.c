/* The sealed-column registry (src/store/sealed_columns.h) stays complete and true:
 *  - every column named `sealed` or `*_sealed` that the migrations declare (both
 *    backends, read as text: CREATE TABLE, ALTER TABLE … ADD COLUMN / RENAME) is
 *    registered, and every registered column exists there;
 *  - on a migrated database (SQLite, and PostgreSQL when the test cluster is up) the
 *    same holds for the real schema, each entry's primary key is the table's primary
 *    key, and the batch walk and update run against it;
 *  - the checker itself finds an unregistered column in a synthetic migration.
 * Runs from the repository root (as scripts/test.sh does). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "crypto/keyring.h"
#include "crypto/seal.h"
#include "store/sealed_columns.h"
#include "store_testlib.h"

static int sealed_name(const char *s)
{
	size_t n = strlen(s);
	return strcmp(s, "sealed") == 0 || (n > 7 && strcmp(s + n - 7, "_sealed") == 0);
}

/* ---- Migration text: a tiny DDL reader ---- */

struct coldef {
	char table[64];
	char column[64];
};

struct colset {
	struct coldef v[256];
	size_t n;
};

static void set_add(struct colset *s, const char *t, const char *c)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].table, t) == 0 && strcmp(s->v[i].column, c) == 0)
			return;
	assert_true(s->n < sizeof(s->v) / sizeof(s->v[0]));
	snprintf(s->v[s->n].table, sizeof(s->v[0].table), "%s", t);
	snprintf(s->v[s->n].column, sizeof(s->v[0].column), "%s", c);
	s->n++;
}

static void set_rename_table(struct colset *s, const char *from, const char *to)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].table, from) == 0)
			snprintf(s->v[i].table, sizeof(s->v[0].table), "%s", to);
}

static void set_drop_table(struct colset *s, const char *t)
{
	for (size_t i = 0; i < s->n;)
		if (strcmp(s->v[i].table, t) == 0)
			s->v[i] = s->v[--s->n];
		else
			i++;
}

static void set_rename_column(struct colset *s, const char *t, const char *from, const char *to)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].table, t) == 0 && strcmp(s->v[i].column, from) == 0)
			snprintf(s->v[i].column, sizeof(s->v[0].column), "%s", to);
}

/* Tokens of a statement: identifiers/keywords (lower-cased, quotes dropped) and single
 * punctuation characters; comments and string literals skipped. */
struct toks {
	char v[4096][64];
	size_t n;
};

static void tokenize(const char *s, size_t len, struct toks *t)
{
	t->n = 0;
	for (size_t i = 0; i < len && t->n < 4096;) {
		char c = s[i];
		if (c == '-' && i + 1 < len && s[i + 1] == '-') {
			while (i < len && s[i] != '\n')
				i++;
		} else if (c == '/' && i + 1 < len && s[i + 1] == '*') {
			i += 2;
			while (i + 1 < len && !(s[i] == '*' && s[i + 1] == '/'))
				i++;
			i += 2;
		} else if (c == '\'') {
			i++;
			while (i < len && s[i] != '\'')
				i++;
			i++;
		} else if (isalnum((unsigned char)c) || c == '_' || c == '"') {
			size_t k = 0;
			while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '"')) {
				if (s[i] != '"' && k < 63)
					t->v[t->n][k++] = (char)tolower((unsigned char)s[i]);
				i++;
			}
			t->v[t->n][k] = '\0';
			t->n++;
		} else if (isspace((unsigned char)c)) {
			i++;
		} else {
			t->v[t->n][0] = c;
			t->v[t->n][1] = '\0';
			t->n++;
			i++;
		}
	}
}

static int is(const struct toks *t, size_t i, const char *w)
{
	return i < t->n && strcmp(t->v[i], w) == 0;
}

/* Applies one statement to the set of sealed-named columns. */
static void apply_statement(struct colset *s, const struct toks *t)
{
	size_t i = 0;
	if (is(t, 0, "create") && is(t, 1, "table")) {
		i = 2;
		if (is(t, i, "if") && is(t, i + 1, "not") && is(t, i + 2, "exists"))
			i += 3;
		if (is(t, i + 1, "."))
			i += 2; /* schema-qualified */
		const char *table = t->v[i++];
		if (!is(t, i, "("))
			return;
		int depth = 0, at_start = 1;
		for (i++; i < t->n; i++) {
			if (is(t, i, "(")) {
				depth++;
			} else if (is(t, i, ")")) {
				if (depth-- == 0)
					break;
			} else if (depth == 0 && is(t, i, ",")) {
				at_start = 1;
				continue;
			} else if (at_start && depth == 0) {
				static const char *const constraint[] = {
				    "primary", "unique", "foreign", "check", "constraint", "exclude", NULL};
				int is_constraint = 0;
				for (int k = 0; constraint[k]; k++)
					is_constraint |= is(t, i, constraint[k]);
				if (!is_constraint && sealed_name(t->v[i]))
					set_add(s, table, t->v[i]);
			}
			at_start = 0;
		}
		return;
	}
	if (is(t, 0, "drop") && is(t, 1, "table")) {
		i = 2;
		if (is(t, i, "if") && is(t, i + 1, "exists"))
			i += 2;
		set_drop_table(s, t->v[i]);
		return;
	}
	if (is(t, 0, "alter") && is(t, 1, "table")) {
		i = 2;
		if (is(t, i, "if") && is(t, i + 1, "exists"))
			i += 2;
		if (is(t, i, "only"))
			i++;
		const char *table = t->v[i++];
		if (is(t, i, "rename") && is(t, i + 1, "to")) {
			set_rename_table(s, table, t->v[i + 2]);
		} else if (is(t, i, "rename")) {
			size_t k = i + 1 + (is(t, i + 1, "column") ? 1 : 0);
			if (is(t, k + 1, "to"))
				set_rename_column(s, table, t->v[k], t->v[k + 2]);
		} else {
			/* ADD [COLUMN] [IF NOT EXISTS] name …, possibly several, comma-separated */
			for (; i < t->n; i++) {
				if (!is(t, i, "add"))
					continue;
				size_t k = i + 1;
				if (is(t, k, "column"))
					k++;
				if (is(t, k, "if") && is(t, k + 1, "not") && is(t, k + 2, "exists"))
					k += 3;
				if (k < t->n && sealed_name(t->v[k]))
					set_add(s, table, t->v[k]);
			}
		}
	}
}

/* Blanks out SQL comments (line and block) outside string literals, in place. */
static void strip_comments(char *s)
{
	int q = 0;
	for (char *p = s; *p; p++) {
		if (*p == '\'')
			q = !q;
		else if (!q && p[0] == '-' && p[1] == '-')
			while (*p && *p != '\n')
				*p++ = ' ';
		else if (!q && p[0] == '/' && p[1] == '*') {
			while (*p && !(p[0] == '*' && p[1] == '/'))
				*p++ = ' ';
			if (*p) {
				*p++ = ' ';
				*p = ' ';
			}
		}
		if (!*p)
			break;
	}
}

static void apply_text(struct colset *s, const char *orig)
{
	static struct toks t;
	char *text = strdup(orig);
	assert_non_null(text);
	strip_comments(text);
	const char *p = text;
	for (;;) {
		/* statements end at ';' outside quotes (no dollar-quoting in our migrations) */
		const char *e = p;
		int q = 0;
		while (*e && (q || *e != ';')) {
			if (*e == '\'')
				q = !q;
			e++;
		}
		tokenize(p, (size_t)(e - p), &t);
		if (t.n)
			apply_statement(s, &t);
		if (!*e)
			break;
		p = e + 1;
	}
	free(text);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct buf b;
	buf_init(&b, 0);
	char tmp[8192];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	size_t len;
	return buf_detach(&b, &len);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads every migration of one backend in order into s. Returns the file count. */
static int read_migrations(const char *dir, struct colset *s)
{
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("cannot open %s (run from the repository root)", dir);
	char *names[256];
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < 256) {
		size_t ln = strlen(e->d_name);
		if (ln > 4 && strcmp(e->d_name + ln - 4, ".sql") == 0)
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (size_t i = 0; i < n; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		char *text = slurp(path);
		assert_non_null(text);
		apply_text(s, text);
		free(text);
		free(names[i]);
	}
	return (int)n;
}

static void check_against_registry(const struct colset *s, const char *where)
{
	for (size_t i = 0; i < s->n; i++)
		if (!sealed_column_find(s->v[i].table, s->v[i].column))
			fail_msg(
			    "%s declares %s.%s, a sealed column missing from the registry in "
			    "src/store/sealed_columns.c: register it so `dropfix keys rotate` re-seals it",
			    where, s->v[i].table, s->v[i].column);
	for (const struct sealed_column *c = sealed_columns; c->table; c++) {
		int found = 0;
		for (size_t i = 0; i < s->n; i++)
			found |=
			    strcmp(s->v[i].table, c->table) == 0 && strcmp(s->v[i].column, c->column) == 0;
		if (!found)
			fail_msg("the registry names %s.%s, which %s does not declare", c->table, c->column,
			         where);
	}
}

static void test_registry_shape(void **state)
{
	(void)state;
	size_t n = 0;
	for (const struct sealed_column *c = sealed_columns; c->table; c++, n++) {
		char why[256] = "";
		if (sealed_column_check(c, why, sizeof(why)) < 0)
			fail_msg("registry entry %zu: %s", n, why);
		assert_ptr_equal(sealed_column_find(c->table, c->column), c);
		for (const struct sealed_column *d = c + 1; d->table; d++)
			assert_false(strcmp(c->table, d->table) == 0 && strcmp(c->column, d->column) == 0);
	}
	assert_true(n >= 2);
	assert_null(sealed_column_find("workspace_secrets", "name"));
	/* the checker refuses what would break the SQL it builds */
	struct sealed_column bad = sealed_columns[0];
	char why[256];
	bad.table = "x; DROP TABLE y";
	assert_int_equal(sealed_column_check(&bad, why, sizeof(why)), -1);
	bad = sealed_columns[0];
	bad.scope = "tenant";
	assert_int_equal(sealed_column_check(&bad, why, sizeof(why)), -1);
	bad = sealed_columns[0];
	bad.scope_col = NULL;
	assert_int_equal(sealed_column_check(&bad, why, sizeof(why)), -1);
	bad = sealed_columns[0];
	memset(bad.pk, 0, sizeof(bad.pk));
	assert_int_equal(sealed_column_check(&bad, why, sizeof(why)), -1);
}

static void test_migrations_declare_only_registered(void **state)
{
	(void)state;
	static struct colset sq, pg;
	memset(&sq, 0, sizeof(sq));
	memset(&pg, 0, sizeof(pg));
	assert_true(read_migrations("migrations/sqlite", &sq) >= 1);
	assert_true(read_migrations("migrations/pg", &pg) >= 1);
	check_against_registry(&sq, "migrations/sqlite");
	check_against_registry(&pg, "migrations/pg");
}

/* The reader finds what it must, so the test above can fail. */
static void test_checker_self_check(void **state)
{
	(void)state;
	static struct colset s;
	memset(&s, 0, sizeof(s));
	apply_text(&s, "-- sealed in a comment; not a column\n"
	               "CREATE TABLE IF NOT EXISTS notes (\n"
	               "  workspace_id bigint NOT NULL, id bigint NOT NULL,\n"
	               "  body_sealed text, sealed_at bigint, note text DEFAULT 'sealed',\n"
	               "  PRIMARY KEY (workspace_id, id), CHECK (body_sealed <> '')\n"
	               ");\n"
	               "ALTER TABLE accounts ADD COLUMN backup_codes_sealed TEXT;\n"
	               "ALTER TABLE old_t ADD sealed text;\n"
	               "ALTER TABLE old_t RENAME TO new_t;\n"
	               "CREATE TABLE gone (x_sealed TEXT); DROP TABLE gone;\n"
	               "ALTER TABLE notes RENAME COLUMN body_sealed TO text_sealed;\n");
	assert_int_equal(s.n, 3);
	int notes = 0, acc = 0, newt = 0;
	for (size_t i = 0; i < s.n; i++) {
		notes |= strcmp(s.v[i].table, "notes") == 0 && strcmp(s.v[i].column, "text_sealed") == 0;
		acc |= strcmp(s.v[i].table, "accounts") == 0 &&
		       strcmp(s.v[i].column, "backup_codes_sealed") == 0;
		newt |= strcmp(s.v[i].table, "new_t") == 0 && strcmp(s.v[i].column, "sealed") == 0;
	}
	assert_true(notes && acc && newt);
	assert_null(sealed_column_find("notes", "text_sealed"));
}

/* ---- The real schema ---- */

static void real_schema(void **state)
{
	enum store_backend kind = TDB_KIND(state);
	struct tdb t;
	char err[512] = "";
	assert_int_equal(tdb_create(&t, kind), 0);
	struct store *s = NULL;
	struct store_opts o = {.role = STORE_ROLE_MAINT};
	if (store_open(t.url_maint, &o, &s, err, sizeof(err)) < 0)
		fail_msg("open as maintenance: %s", err);
	struct store_conn *c = NULL;
	assert_int_equal(store_conn_open(s, &c, err, sizeof(err)), 0);
	struct store_tx *tx = NULL;
	struct store_rows *r = NULL;
	assert_int_equal(store_maint_begin(c, STORE_READ, &tx), 0);
	const char *cols_sql =
	    kind == STORE_SQLITE ? "SELECT m.name, p.name FROM sqlite_schema m, pragma_table_info(m.name) p "
	                           "WHERE m.type = 'table' /*cross-tenant*/"
	                         : "SELECT table_name, column_name FROM information_schema.columns "
	                           "WHERE table_schema = 'public' /*cross-tenant*/";
	if (store_query(tx, cols_sql, STORE_NO_ARGS, &r) < 0)
		fail_msg("columns: %s", store_errmsg(c));
	static struct colset real;
	memset(&real, 0, sizeof(real));
	int st, ncols = 0;
	while ((st = store_step(r)) == 1) {
		size_t n;
		char table[64], col[64];
		snprintf(table, sizeof(table), "%s", store_col_text(r, 0, &n));
		snprintf(col, sizeof(col), "%s", store_col_text(r, 1, &n));
		ncols++;
		if (sealed_name(col))
			set_add(&real, table, col);
	}
	assert_int_equal(st, 0);
	store_rows_close(r);
	assert_true(ncols > 30); /* not vacuous */
	check_against_registry(&real, kind == STORE_SQLITE ? "the migrated SQLite schema"
	                                                   : "the migrated PostgreSQL schema");

	/* each entry's primary key is the table's primary key, in order */
	const char *pk_sql =
	    kind == STORE_SQLITE
	        ? "SELECT name FROM pragma_table_info($1) WHERE pk > 0 ORDER BY pk /*cross-tenant*/"
	        : "SELECT k.column_name FROM information_schema.table_constraints c "
	          "JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name "
	          "AND k.table_name = c.table_name AND k.table_schema = c.table_schema "
	          "WHERE c.table_schema = 'public' AND c.table_name = $1 "
	          "AND c.constraint_type = 'PRIMARY KEY' ORDER BY k.ordinal_position /*cross-tenant*/";
	for (const struct sealed_column *sc = sealed_columns; sc->table; sc++) {
		if (store_query(tx, pk_sql, STORE_ARGS(SP_TEXT(sc->table)), &r) < 0)
			fail_msg("primary key of %s: %s", sc->table, store_errmsg(c));
		size_t k = 0;
		while ((st = store_step(r)) == 1) {
			size_t n;
			const char *name = store_col_text(r, 0, &n);
			if (k >= SEALED_MAX_PK || !sc->pk[k].name || strcmp(sc->pk[k].name, name) != 0)
				fail_msg(
				    "%s.%s: registry primary key differs from the table's (column %zu is %s)",
				    sc->table, sc->column, k, name);
			k++;
		}
		assert_int_equal(st, 0);
		store_rows_close(r);
		if (k == 0 || (k < SEALED_MAX_PK && sc->pk[k].name))
			fail_msg("%s.%s: registry primary key has more columns than the table's", sc->table,
			         sc->column);
	}
	store_rollback(tx);

	/* the walk runs on every entry (SQL valid against the schema) */
	for (const struct sealed_column *sc = sealed_columns; sc->table; sc++) {
		struct sealed_cursor cur = {0};
		struct sealed_batch b = {0};
		assert_int_equal(store_maint_begin(c, STORE_READ, &tx), 0);
		if (sealed_batch_fetch(tx, sc, &cur, 10, &b) < 0)
			fail_msg("%s.%s: walk failed: %s", sc->table, sc->column, store_errmsg(c));
		assert_int_equal(b.n, 0);
		store_rollback(tx);
		sealed_batch_free(&b);
		sealed_cursor_free(&cur);
	}
	store_conn_close(c);
	store_close(s);
	tdb_close(&t);
}

/* A full walk: rows in two workspaces, batches smaller than the data, a composite key
 * with text, the cursor resuming after the last row, the compare-and-set update. */
static void walk_and_update(void **state)
{
	enum store_backend kind = TDB_KIND(state);
	struct tdb t;
	char err[512] = "";
	assert_int_equal(tdb_create(&t, kind), 0);
	struct store *s = NULL;
	struct store_opts o = {.role = STORE_ROLE_MAINT};
	assert_int_equal(store_open(t.url_maint, &o, &s, err, sizeof(err)), 0);
	struct store_conn *c = NULL;
	assert_int_equal(store_conn_open(s, &c, err, sizeof(err)), 0);
	struct keyring *kr = NULL;
	const char *ring = "1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
	assert_int_equal(keyring_parse(ring, strlen(ring), "t.key", &kr, err, sizeof(err)), 0);
	const struct sealed_column *sc = sealed_column_find("workspace_secrets", "sealed");
	assert_non_null(sc);
	struct store_tx *tx = NULL;
	int64_t ws[2];
	assert_int_equal(store_begin_global(c, STORE_WRITE, &tx), 0);
	for (int w = 0; w < 2; w++) {
		struct store_workspace_new nw = {"W", "P", "UTC", "USD"};
		assert_int_equal(store_workspace_create(tx, &nw, &ws[w]), 0);
	}
	assert_int_equal(store_commit(tx), 0);
	const int per = 7;
	for (int w = 0; w < 2; w++) {
		assert_int_equal(store_begin_ws(c, ws[w], STORE_WRITE, &tx), 0);
		for (int i = 0; i < per; i++) {
			char name[32], rk[48], *text = NULL;
			snprintf(name, sizeof(name), "n%d", i);
			snprintf(rk, sizeof(rk), "rk%d-%d", w, i);
			struct seal_ad ad = {"workspace", ws[w], "workspace_secrets", "sealed", rk};
			assert_int_equal(seal_value(kr, &ad, (const uint8_t *)name, strlen(name), &text), 0);
			assert_int_equal(
			    store_exec(
			        tx,
			        "INSERT INTO workspace_secrets (workspace_id, name, row_key, sealed, key_id, "
			        "updated_at) VALUES ($1, $2, $3, $4, '1', 0)",
			        STORE_ARGS(SP_TEXT(name), SP_TEXT(rk), SP_TEXT(text))),
			    0);
			free(text);
		}
		assert_int_equal(store_commit(tx), 0);
	}
	struct sealed_cursor cur = {0};
	int seen = 0, batches = 0, full = 0;
	for (;;) {
		struct sealed_batch b = {0};
		assert_int_equal(store_maint_begin(c, STORE_WRITE, &tx), 0);
		assert_int_equal(sealed_batch_fetch(tx, sc, &cur, 3, &b), 0);
		for (size_t i = 0; i < b.n; i++) {
			struct seal_ad ad;
			uint8_t *plain = NULL;
			size_t n = 0;
			sealed_row_ad(sc, &b.rows[i], &ad);
			assert_int_equal(seal_open(kr, &ad, b.rows[i].text, &plain, &n), 0);
			assert_int_equal(b.rows[i].scope_id, b.rows[i].pk[0].i);
			seal_plain_free(plain, n);
			/* update the first row of each batch to a marker, then try again with the
			 * stale value: the compare-and-set leaves it alone */
			if (i == 0) {
				assert_int_equal(sealed_row_update(tx, sc, &b.rows[i], "s1.marker", 9), 1);
				assert_int_equal(sealed_row_update(tx, sc, &b.rows[i], "s1.other", 9), 0);
			}
			seen++;
		}
		if (b.n == 3) {
			/* several rows in one statement; row 0 holds the marker now, so its stale
			 * old text leaves it alone */
			const struct sealed_row *rs[3] = {&b.rows[0], &b.rows[1], &b.rows[2]};
			const char *texts[3] = {"s1.lost", "s1.multi", "s1.multi"};
			assert_int_equal(sealed_rows_update(tx, sc, rs, texts, 3, 8), 2);
			full++;
		}
		assert_int_equal(store_commit(tx), 0);
		size_t got = b.n;
		sealed_batch_free(&b);
		if (got == 0)
			break;
		batches++;
	}
	sealed_cursor_free(&cur);
	assert_int_equal(seen, 2 * per);
	assert_int_equal(batches, (2 * per + 2) / 3);
	int64_t marked = 0;
	assert_int_equal(store_maint_begin(c, STORE_READ, &tx), 0);
	assert_int_equal(
	    store_query_i64(
	        tx,
	        "SELECT count(*) FROM workspace_secrets WHERE sealed = 's1.marker' AND key_id = '9' "
	        "/*cross-tenant*/",
	        STORE_NO_ARGS, &marked),
	    1);
	int64_t multi = 0, lost = 0;
	assert_int_equal(
	    store_query_i64(
	        tx,
	        "SELECT count(*) FROM workspace_secrets WHERE sealed = 's1.multi' AND key_id = '8' "
	        "/*cross-tenant*/",
	        STORE_NO_ARGS, &multi),
	    1);
	assert_int_equal(
	    store_query_i64(
	        tx, "SELECT count(*) FROM workspace_secrets WHERE sealed = 's1.lost' /*cross-tenant*/",
	        STORE_NO_ARGS, &lost),
	    1);
	store_rollback(tx);
	assert_int_equal(marked, batches);
	assert_int_equal(multi, 2 * full);
	assert_true(full >= 3);
	assert_int_equal(lost, 0);
	keyring_free(kr);
	store_conn_close(c);
	store_close(s);
	tdb_close(&t);
}

int main(void)
{
	(void)tdb_open; /* store_testlib.h helper this file does not need */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_registry_shape),
	    cmocka_unit_test(test_migrations_declare_only_registered),
	    cmocka_unit_test(test_checker_self_check),
	    cmocka_unit_test_prestate_setup_teardown(real_schema, NULL, NULL, (void *)&tdb_sqlite),
	    cmocka_unit_test_prestate_setup_teardown(real_schema, NULL, NULL, (void *)&tdb_pg),
	    cmocka_unit_test_prestate_setup_teardown(walk_and_update, NULL, NULL, (void *)&tdb_sqlite),
	    cmocka_unit_test_prestate_setup_teardown(walk_and_update, NULL, NULL, (void *)&tdb_pg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
