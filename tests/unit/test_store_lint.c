/* Static checks of the store's rules:
 *  - every SQL string literal in src/ passes the tenant guard as it would in a workspace
 *    transaction: a statement naming a tenant table carries `workspace_id = $1`
 *    (literals marked cross-tenant are maintenance SQL and may not live in src/http/);
 *  - request handlers (src/http/) never reach the maintenance or internal store APIs;
 *  - migrations: no SECURITY DEFINER, no materialized views, PostgreSQL views only with
 *    security_invoker, no transaction control, no RLS switched off; both backends have
 *    the same migration versions;
 *  - the guard itself accepts and refuses what it should.
 * Runs from the repository root (as scripts/test.sh does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/str.h"
#include "store/store_int.h"

#define CROSS_TENANT_MARK "/*cross-tenant*/"
#define TENANT_SETTING_SQL "SELECT set_config('app.workspace_id', $1, true)"

/* ---- a small C lexer: string literals with adjacent-literal concatenation ---- */

struct literal {
	char *text;
	int line;
};

struct litlist {
	struct literal *v;
	size_t n, cap;
};

static void lit_push(struct litlist *l, struct buf *b, int line)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		assert_non_null(l->v);
	}
	size_t n;
	l->v[l->n].text = buf_detach(b, &n);
	if (!l->v[l->n].text)
		l->v[l->n].text = strdup("");
	l->v[l->n].line = line;
	l->n++;
}

static void lit_free(struct litlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].text);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Extracts string literals from C source (comments, char literals and #include lines
 * skipped; "a" "b" joined). */
static void extract_literals(const char *src, struct litlist *out)
{
	struct buf cur;
	buf_init(&cur, 0);
	int in_lit = 0, lit_line = 0, line = 1, line_start = 1;
	size_t i = 0, n = strlen(src);
	while (i < n) {
		char c = src[i];
		if (c == '\n') {
			line++;
			line_start = 1;
			i++;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || (c == '\\' && i + 1 < n && src[i + 1] == '\n')) {
			i += c == '\\' ? 1 : 1;
			continue;
		}
		if (c == '/' && i + 1 < n && src[i + 1] == '/') {
			while (i < n && src[i] != '\n')
				i++;
			continue;
		}
		if (c == '/' && i + 1 < n && src[i + 1] == '*') {
			i += 2;
			while (i + 1 < n && !(src[i] == '*' && src[i + 1] == '/')) {
				if (src[i] == '\n')
					line++;
				i++;
			}
			i += 2;
			continue;
		}
		if (line_start && c == '#' && strncmp(src + i, "#include", 8) == 0) {
			while (i < n && src[i] != '\n')
				i++;
			continue;
		}
		line_start = 0;
		if (c == '"') {
			if (!in_lit) {
				in_lit = 1;
				lit_line = line;
				buf_reset(&cur);
			}
			i++;
			while (i < n && src[i] != '"') {
				char ch = src[i];
				if (ch == '\\' && i + 1 < n) {
					char e = src[i + 1];
					ch = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
					if (e == '\n')
						line++;
					i += 2;
					if (e == '\n')
						continue;
				} else {
					if (ch == '\n')
						line++;
					i++;
				}
				buf_putc(&cur, ch);
			}
			i++;
			continue;
		}
		if (in_lit) {
			lit_push(out, &cur, lit_line);
			in_lit = 0;
		}
		if (c == '\'') {
			i++;
			while (i < n && src[i] != '\'') {
				if (src[i] == '\\')
					i++;
				i++;
			}
			i++;
			continue;
		}
		i++;
	}
	if (in_lit)
		lit_push(out, &cur, lit_line);
	buf_free(&cur);
}

static int word_at(const char *s, const char *w, int exact_case)
{
	size_t n = strlen(w);
	if (exact_case ? strncmp(s, w, n) != 0 : strncasecmp(s, w, n) != 0)
		return 0;
	return s[n] == ' ' || s[n] == '\n' || s[n] == '\t' || s[n] == '(' || s[n] == '\0';
}

/* 1 when a literal is (the start of) an SQL statement. */
static int looks_like_sql(const char *s)
{
	while (*s == ' ' || *s == '\n' || *s == '\t')
		s++;
	static const char *const kws[] = {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH", NULL};
	for (int i = 0; kws[i]; i++)
		if (word_at(s, kws[i], 1))
			return 1;
	/* lower-case SQL: stronger patterns, so prose ("Select a plan") is not taken */
	if (word_at(s, "insert", 0) && strncasecmp(s + 6, " into ", 6) == 0)
		return 1;
	if (word_at(s, "delete", 0) && strncasecmp(s + 6, " from ", 6) == 0)
		return 1;
	if (word_at(s, "select", 0) && strcasestr(s, " from "))
		return 1;
	if (word_at(s, "update", 0) && strcasestr(s, " set "))
		return 1;
	if (word_at(s, "with", 0) && strcasestr(s, " as ("))
		return 1;
	return 0;
}

struct lint {
	int sql_seen;
	int cross_tenant;
	int problems;
	char report[8192];
	size_t rlen;
};

static void lint_note(struct lint *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lint_note(struct lint *L, const char *fmt, ...)
{
	L->problems++;
	if (L->rlen >= sizeof(L->report) - 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(L->report + L->rlen, sizeof(L->report) - L->rlen, fmt, ap);
	va_end(ap);
	if (k > 0)
		L->rlen += (size_t)k < sizeof(L->report) - L->rlen ? (size_t)k : sizeof(L->report) - L->rlen - 1;
}

static void lint_source(struct lint *L, const char *path, const char *src)
{
	struct litlist lits = {0};
	extract_literals(src, &lits);
	int in_http = strstr(path, "src/http/") != NULL;
	for (size_t i = 0; i < lits.n; i++) {
		const char *sql = lits.v[i].text;
		if (!looks_like_sql(sql))
			continue;
		L->sql_seen++;
		if (strstr(sql, CROSS_TENANT_MARK)) {
			L->cross_tenant++;
			if (in_http)
				lint_note(L, "%s:%d: cross-tenant SQL in a request handler\n", path, lits.v[i].line);
			continue;
		}
		/* the one place the tenant is set: the PostgreSQL backend's scoped handle */
		if (strcmp(path, "src/store/store_pg.c") == 0 && strcmp(sql, TENANT_SETTING_SQL) == 0)
			continue;
		char why[256];
		if (store_sql_check(sql, STORE_SQL_WS_STATIC, NULL, why, sizeof(why)) < 0)
			lint_note(L, "%s:%d: %s\n    %.200s\n", path, lits.v[i].line, why, sql);
	}
	lit_free(&lits);
	if (in_http) {
		static const char *const banned[] = {"store_maint_", "store_begin_internal", "store_exec_internal",
						     "store_query_internal", "store/store_int.h", NULL};
		for (int k = 0; banned[k]; k++)
			if (strstr(src, banned[k]))
				lint_note(L, "%s: request handlers may not use %s (CLI/worker only)\n", path, banned[k]);
	}
}

static char *read_file(const char *path)
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

static void walk_dir(struct lint *L, const char *dir, int *files)
{
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("cannot open %s (run from the repository root)", dir);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		struct stat st;
		if (stat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			walk_dir(L, path, files);
			continue;
		}
		size_t ln = strlen(e->d_name);
		if (ln < 3 || (strcmp(e->d_name + ln - 2, ".c") != 0 && strcmp(e->d_name + ln - 2, ".h") != 0))
			continue;
		char *src = read_file(path);
		assert_non_null(src);
		lint_source(L, path, src);
		free(src);
		(*files)++;
	}
	closedir(d);
}

static void test_sql_literals_in_src(void **state)
{
	(void)state;
	struct lint L = {0};
	int files = 0;
	walk_dir(&L, "src", &files);
	if (L.problems)
		fail_msg("%d SQL problem(s):\n%s", L.problems, L.report);
	assert_true(files > 10);
	assert_true(L.sql_seen >= 8); /* the store's own statements at least: not vacuous */
}

/* The lint catches what it should: a synthetic source file. */
static void test_lint_self_check(void **state)
{
	(void)state;
	struct lint L = {0};
	const char *bad = "#include \"store/store.h\"\n"
			  "static const char *ok = \"SELECT name FROM workspaces WHERE id = $1\";\n"
			  "int f(struct store_tx *tx) {\n"
			  "  char c = '\"';\n"
			  "  return store_exec(tx, \"DELETE FROM workspace_secrets \"\n"
			  "                        /* split */ \"WHERE name = $2\", 0, 0); // \"SELECT * FROM x\"\n"
			  "}\n"
			  "static const char *lower = \"select count(*) from workspace_secrets\";\n"
			  "static const char *prose = \"Select a plan, or Update your card\";\n"
			  "static const char *ins = \"INSERT INTO workspace_secrets (workspace_id, name) VALUES \";\n"
			  "static const char *x = \"SELECT a FROM workspace_secrets /*cross-tenant*/\";\n";
	lint_source(&L, "src/jobs/fake.c", bad);
	assert_int_equal(L.sql_seen, 5);
	assert_int_equal(L.problems, 2); /* the split DELETE and the lower-case select */
	assert_non_null(strstr(L.report, "src/jobs/fake.c:5:"));
	assert_non_null(strstr(L.report, "src/jobs/fake.c:8:"));
	assert_int_equal(L.cross_tenant, 1);
	struct lint H = {0};
	lint_source(&H, "src/http/fake.c", bad);
	assert_int_equal(H.problems, 3);
	struct lint M = {0};
	lint_source(&M, "src/http/h.c", "int f(void) { return store_maint_workspaces(0, 0, 0); }");
	assert_int_equal(M.problems, 1);
}

/* ---- the guard's verdicts ---- */

static void test_guard_verdicts(void **state)
{
	(void)state;
	static const char *const ws_ok[] = {
		"SELECT sealed FROM workspace_secrets WHERE workspace_id = $1 AND name = $2",
		"SELECT sealed FROM workspace_secrets WHERE name = $2 AND workspace_id = $1",
		"SELECT s.sealed FROM workspace_secrets AS s WHERE s.workspace_id = $1",
		"SELECT a.x FROM t1 a JOIN t2 b ON b.workspace_id = $1 AND b.k = a.k WHERE a.workspace_id = $1",
		"SELECT x FROM t1 WHERE workspace_id = $1 AND (a = 1 OR b = 2) ORDER BY x LIMIT 5",
		"SELECT x FROM t1 WHERE workspace_id = $1 UNION ALL SELECT y FROM t2 WHERE workspace_id = $1",
		"UPDATE t1 SET a = $2, b = $3 WHERE workspace_id = $1 AND id = $4",
		"DELETE FROM t1 WHERE workspace_id = $1 AND day < $2",
		"INSERT INTO t1 (workspace_id, a) VALUES ($1, $2), ($1, $3) ON CONFLICT (workspace_id, a) DO UPDATE SET n = t1.n + 1",
		"INSERT INTO t1 (workspace_id, a) SELECT $1, name FROM accounts WHERE id = $2",
		"WITH x AS (SELECT a FROM t1 WHERE workspace_id = $1) SELECT count(*) FROM x",
		"SELECT count(*) FROM workspaces w WHERE w.id = $1",
		"SELECT extract(epoch FROM now())",
		"SELECT x FROM t1 WHERE workspace_id = $1 AND y IS DISTINCT FROM $2",
		"SELECT id FROM jobs WHERE run_at <= $2 FOR UPDATE SKIP LOCKED",
		"SELECT x FROM t1 WHERE workspace_id = $1 AND k IN (SELECT k FROM t2 WHERE workspace_id = $1);",
		"SELECT count(*) FROM sqlite_master",
		"SELECT value FROM json_each($2)",
		"SELECT a.x FROM t1 a LEFT JOIN t2 b ON b.workspace_id = $1 AND b.k = a.k WHERE a.workspace_id = $1",
		"SELECT a.x FROM t1 a, t2 b WHERE a.workspace_id = $1 AND b.workspace_id = $1",
		"SELECT a.x FROM t1 a LEFT OUTER JOIN t2 b ON b.workspace_id = $1 WHERE a.workspace_id = $1",
		"DELETE FROM t1 WHERE workspace_id = $1 AND k IN (SELECT k FROM t2 WHERE workspace_id = $1)",
		"SELECT a.id FROM workspaces w JOIN memberships m ON m.workspace_id = w.id, accounts a WHERE a.id = m.account_id",
		"SELECT d.n FROM (SELECT count(*) AS n FROM t1 WHERE workspace_id = $1) AS d, t2 WHERE t2.workspace_id = $1",
		"SELECT x FROM t1 WHERE workspace_id = $1 ORDER BY a, b LIMIT 10",
		NULL,
	};
	static const char *const ws_bad[] = {
		"SELECT sealed FROM workspace_secrets",
		"SELECT sealed FROM workspace_secrets WHERE workspace_id = $2",
		"SELECT sealed FROM workspace_secrets WHERE workspace_id >= $1",
		"SELECT sealed FROM workspace_secrets WHERE workspace_id = $1 OR name = $2",
		"SELECT sealed FROM workspace_secrets WHERE (workspace_id = $1 OR 1 = 1)",
		"SELECT a.x FROM t1 a JOIN t2 b ON b.k = a.k WHERE a.workspace_id = $1",
		"SELECT a.x FROM t1 a, t2 b WHERE workspace_id = $1",
		"SELECT x FROM t1 WHERE workspace_id = $1 UNION SELECT y FROM t2",
		"SELECT x FROM t1 WHERE k IN (SELECT k FROM t2) AND workspace_id = $1",
		"SELECT workspace_id = $1 FROM t1",
		"UPDATE t1 SET workspace_id = $2 WHERE workspace_id = $1",
		"UPDATE t1 SET a = 1",
		"INSERT INTO t1 (a, workspace_id) VALUES ($2, $1)",
		"INSERT INTO t1 (workspace_id, a) VALUES ($2, $1)",
		"INSERT INTO t1 DEFAULT VALUES",
		"INSERT INTO t1 (workspace_id) VALUES ($1), ($2)",
		"INSERT INTO t1 (workspace_id, a) SELECT workspace_id, a FROM t2",
		"WITH x AS (SELECT a FROM t1) SELECT count(*) FROM x",
		"SELECT set_config('app.workspace_id', $2, true)",
		"SELECT 1; SELECT 2",
		"PRAGMA writable_schema = ON",
		"CREATE TABLE t (a)",
		"SELECT $$x$$",
		"SELECT ?",
		"SELECT $0",
		"SELECT 'unterminated",
		"SELECT x FROM \"t1\" WHERE a = 1",
		"SELECT x FROM public.t1",
		"UPDATE OR REPLACE t1 SET a = 1 WHERE workspace_id = $1",
		"SELECT x FROM t1 WHERE workspace_id = $1 AND y = (1",
		"SELECT x FROM t1 WHERE workspace_id = $1 AND y = 1)",
		"",
		"SELECT s.sealed FROM workspaces w JOIN memberships m ON m.workspace_id = w.id, workspace_secrets s",
		"SELECT s.sealed FROM workspaces w JOIN memberships m ON m.workspace_id = w.id, workspace_secrets s WHERE w.id = $1",
		"SELECT a.x FROM t1 a LEFT JOIN t2 b ON a.workspace_id = $1 AND b.workspace_id = $1",
		"SELECT b.x FROM t1 a RIGHT JOIN t2 b ON b.workspace_id = $1 WHERE a.workspace_id = $1",
		"SELECT b.x FROM t1 a FULL OUTER JOIN t2 b ON b.workspace_id = $1 AND a.workspace_id = $1",
		"WITH x AS (DELETE FROM t1 RETURNING *) SELECT * FROM x",
		"WITH x AS (UPDATE t1 SET a = 1 RETURNING *) SELECT * FROM x",
		"SELECT * FROM (t1 a JOIN t2 b ON b.workspace_id = $1) WHERE a.workspace_id = $1",
		"SELECT * FROM t0 z, (t1 a JOIN t2 b ON b.workspace_id = $1 AND a.workspace_id = $1) WHERE z.workspace_id = $1",
		"SELECT * FROM t1 a JOIN t2 b USING (workspace_id) WHERE a.workspace_id = $1",
		"DELETE FROM t1 USING t2 WHERE t1.workspace_id = $1",
		"SELECT x FROM t1 WHERE workspace_id = $1 AND x IN (SELECT y FROM t2 GROUP BY y HAVING workspace_id = $1)",
		NULL,
	};
	char why[256];
	int maxp;
	for (int i = 0; ws_ok[i]; i++)
		if (store_sql_check(ws_ok[i], STORE_SQL_WS, &maxp, why, sizeof(why)) != 0)
			fail_msg("refused: %s: %s", ws_ok[i], why);
	for (int i = 0; ws_bad[i]; i++)
		if (store_sql_check(ws_bad[i], STORE_SQL_WS, &maxp, why, sizeof(why)) == 0)
			fail_msg("accepted: %s", ws_bad[i]);
	assert_int_equal(store_sql_check("SELECT $3, $1", STORE_SQL_GLOBAL, &maxp, why, sizeof(why)), 0);
	assert_int_equal(maxp, 3);
	/* global: only global tables */
	assert_int_equal(store_sql_check("SELECT email FROM accounts a JOIN memberships m ON m.account_id = a.id",
					 STORE_SQL_GLOBAL, NULL, why, sizeof(why)),
			 0);
	assert_int_equal(store_sql_check("SELECT 1 FROM accounts WHERE id IN (SELECT x FROM t1 WHERE workspace_id = $1)",
					 STORE_SQL_GLOBAL, NULL, why, sizeof(why)),
			 -1);
	assert_non_null(strstr(why, "t1"));
	assert_int_equal(store_sql_check("SELECT 1 FROM accounts a JOIN memberships m ON m.account_id = a.id, workspace_secrets s",
					 STORE_SQL_GLOBAL, NULL, why, sizeof(why)),
			 -1);
	assert_int_equal(store_sql_check("WITH d AS (DELETE FROM workspace_secrets RETURNING name) SELECT name FROM d",
					 STORE_SQL_GLOBAL, NULL, why, sizeof(why)),
			 -1);
	/* maintenance: kinds only */
	assert_int_equal(store_sql_check("DELETE FROM t1 WHERE day < $1", STORE_SQL_MAINT, NULL, why, sizeof(why)), 0);
	assert_int_equal(store_sql_check("DROP TABLE t1", STORE_SQL_MAINT, NULL, why, sizeof(why)), -1);
	/* static mode: the multi-row INSERT prefix */
	assert_int_equal(store_sql_check("INSERT INTO t1 (workspace_id, a) VALUES ", STORE_SQL_WS_STATIC, NULL, why, sizeof(why)),
			 0);
	assert_int_equal(store_sql_check("INSERT INTO t1 (workspace_id, a) VALUES ", STORE_SQL_WS, NULL, why, sizeof(why)), -1);
}

/* ---- migrations ---- */

/* Lower-cased copy with comments removed and whitespace collapsed. */
static char *normalize_sql(const char *s)
{
	struct buf b;
	buf_init(&b, 0);
	int space = 0;
	for (size_t i = 0; s[i];) {
		if (s[i] == '-' && s[i + 1] == '-') {
			while (s[i] && s[i] != '\n')
				i++;
			continue;
		}
		if (s[i] == '/' && s[i + 1] == '*') {
			const char *e = strstr(s + i + 2, "*/");
			i = e ? (size_t)(e - s) + 2 : strlen(s);
			continue;
		}
		if (isspace((unsigned char)s[i])) {
			space = 1;
			i++;
			continue;
		}
		if (space && b.n)
			buf_putc(&b, ' ');
		space = 0;
		buf_putc(&b, (char)tolower((unsigned char)s[i]));
		i++;
	}
	size_t n;
	char *out = buf_detach(&b, &n);
	return out ? out : strdup("");
}

/* Returns the number of problems in one migration (reason appended to report). */
static int lint_migration(const char *name, const char *sql, int pg, char *report, size_t rlen)
{
	char *norm = normalize_sql(sql);
	int problems = 0;
	size_t used = strlen(report);
#define BAD(...)                                                                          \
	do {                                                                              \
		problems++;                                                               \
		if (used < rlen)                                                          \
			used += (size_t)snprintf(report + used, rlen - used, __VA_ARGS__); \
	} while (0)
	static const char *const banned[] = {"security definer", "materialized view", "disable row level security",
					     "no force row level security", "bypassrls", "set role",
					     "set session authorization", NULL};
	for (int i = 0; banned[i]; i++)
		if (strstr(norm, banned[i]))
			BAD("%s: contains \"%s\"\n", name, banned[i]);
	/* statements one by one: transaction control, views */
	char *save = NULL;
	for (char *st = strtok_r(norm, ";", &save); st; st = strtok_r(NULL, ";", &save)) {
		while (*st == ' ')
			st++;
		if (strncmp(st, "begin", 5) == 0 || strncmp(st, "commit", 6) == 0 || strncmp(st, "rollback", 8) == 0 ||
		    strncmp(st, "start transaction", 17) == 0 || strncmp(st, "end", 3) == 0)
			BAD("%s: transaction control inside a migration (each runs in its own transaction)\n", name);
		int view = strncmp(st, "create view", 11) == 0 || strncmp(st, "create or replace view", 22) == 0 ||
			   strncmp(st, "create temp view", 16) == 0;
		if (view && pg && !strstr(st, "security_invoker = true") && !strstr(st, "security_invoker=true") &&
		    !strstr(st, "security_invoker = on") && !strstr(st, "security_invoker=on"))
			BAD("%s: a view without WITH (security_invoker = true)\n", name);
	}
	free(norm);
	return problems;
#undef BAD
}

static void test_migrations_lint(void **state)
{
	(void)state;
	char report[4096] = "";
	int problems = 0, n_sqlite = 0, n_pg = 0;
	for (const struct store_migration *m = store_migrations_sqlite; m->name; m++, n_sqlite++)
		problems += lint_migration(m->name, m->sql, 0, report, sizeof(report));
	for (const struct store_migration *m = store_migrations_pg; m->name; m++, n_pg++)
		problems += lint_migration(m->name, m->sql, 1, report, sizeof(report));
	if (problems)
		fail_msg("%s", report);
	assert_true(n_sqlite >= 1);
	assert_int_equal(n_sqlite, n_pg);
	for (int i = 0; i < n_sqlite; i++) {
		assert_int_equal(store_migrations_sqlite[i].version, store_migrations_pg[i].version);
		assert_string_equal(store_migrations_sqlite[i].name, store_migrations_pg[i].name);
		if (i > 0)
			assert_true(store_migrations_pg[i].version > store_migrations_pg[i - 1].version);
		assert_int_equal(strlen(store_migrations_pg[i].sql), store_migrations_pg[i].len);
	}
	/* and the lint itself bites */
	char r2[2048] = "";
	assert_int_equal(lint_migration("x", "CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY   DEFINER AS 'select 1';", 1,
					r2, sizeof(r2)),
			 1);
	assert_int_equal(lint_migration("x", "CREATE MATERIALIZED VIEW v AS SELECT 1;", 1, r2, sizeof(r2)), 1);
	assert_int_equal(lint_migration("x", "CREATE VIEW v AS SELECT 1;", 1, r2, sizeof(r2)), 1);
	assert_int_equal(lint_migration("x", "CREATE VIEW v WITH (security_invoker = true) AS SELECT 1;", 1, r2, sizeof(r2)),
			 0);
	assert_int_equal(lint_migration("x", "-- security definer in a comment is fine\nCREATE TABLE t (a int);", 1, r2,
					sizeof(r2)),
			 0);
	assert_int_equal(lint_migration("x", "CREATE TABLE t (a int);\nCOMMIT;", 0, r2, sizeof(r2)), 1);
	assert_int_equal(lint_migration("x", "ALTER TABLE t NO FORCE ROW LEVEL SECURITY;", 1, r2, sizeof(r2)), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guard_verdicts),
		cmocka_unit_test(test_lint_self_check),
		cmocka_unit_test(test_sql_literals_in_src),
		cmocka_unit_test(test_migrations_lint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
