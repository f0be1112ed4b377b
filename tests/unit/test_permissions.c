/* Unit tests for the permission table (src/web/permissions.c): its shape, the role
 * order, and that docs/roles.md shows the same table (DROPFIX_WRITE_DOCS=1 rewrites
 * the docs table from the code instead of failing). Also walks the route table: every
 * workspace route names a real least role. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/router.h"
#include "web/permissions.h"

#define DOC_PATH "docs/roles.md"
#define BEGIN_MARK "<!-- perm-table:begin (generated from src/web/permissions.h; do not edit by hand) -->\n"
#define END_MARK "<!-- perm-table:end -->"

static void test_table_shape(void **state)
{
	(void)state;
	assert_true(perm_count >= 10);
	for (size_t i = 0; i < perm_count; i++) {
		const struct perm_entry *e = &perm_table[i];
		assert_int_equal(e->perm, (int)i);
		assert_true(e->min_role >= ROLE_VIEWER && e->min_role <= ROLE_OWNER);
		assert_non_null(e->description);
		assert_true(strlen(e->description) > 10);
		assert_null(strchr(e->description, '|'));
		for (const char *p = e->id; *p; p++)
			assert_true((*p >= 'a' && *p <= 'z') || *p == '.' || *p == '_' ||
			            (*p >= '0' && *p <= '9'));
		assert_non_null(strchr(e->id, '.'));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(e->id, perm_table[j].id);
		assert_ptr_equal(perm_find(e->id), e);
	}
	assert_null(perm_find("nope.nothing"));
}

static void test_allows(void **state)
{
	(void)state;
	for (size_t i = 0; i < perm_count; i++) {
		enum perm p = perm_table[i].perm;
		assert_false(perm_allows(ROLE_NONE, p));
		assert_true(perm_allows(ROLE_OWNER, p)); /* owner: everything */
		/* monotone: a higher role may do what a lower one may */
		for (int r = ROLE_VIEWER; r < ROLE_OWNER; r++)
			if (perm_allows((enum role)r, p))
				assert_true(perm_allows((enum role)(r + 1), p));
	}
	assert_false(perm_allows(ROLE_OWNER + 1, PERM_WORKSPACE_VIEW));
	assert_false(perm_allows(ROLE_OWNER, PERM_COUNT_));
	/* PRODUCT §13 pinned facts */
	assert_true(perm_allows(ROLE_VIEWER, PERM_WORKSPACE_VIEW));
	assert_false(perm_allows(ROLE_VIEWER, PERM_WORKSPACE_SETTINGS));
	assert_false(perm_allows(ROLE_MEMBER, PERM_WORKSPACE_SETTINGS));
	assert_true(perm_allows(ROLE_ADMIN, PERM_WORKSPACE_SETTINGS));
	assert_true(perm_allows(ROLE_ADMIN, PERM_KEYS_ROTATE));
	assert_false(perm_allows(ROLE_MEMBER, PERM_KEYS_ROTATE));
	assert_true(perm_allows(ROLE_ADMIN, PERM_TEAM_INVITE));
	assert_false(perm_allows(ROLE_ADMIN, PERM_TEAM_OWNERS)); /* an admin cannot make owners */
	assert_false(perm_allows(ROLE_ADMIN, PERM_WORKSPACE_DELETE));
	assert_true(perm_allows(ROLE_MEMBER, PERM_SIGNALS_ACT));
	assert_false(perm_allows(ROLE_VIEWER, PERM_SIGNALS_ACT));
	assert_int_equal(PERM_MIN(KEYS_ROTATE), ROLE_ADMIN);
	assert_int_equal(PERM_MIN(WORKSPACE_DELETE), ROLE_OWNER);
}

static char *read_all(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(1 << 20);
	size_t got = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	if (buf)
		buf[got] = '\0';
	*n = got;
	return buf;
}

static void test_docs_agree(void **state)
{
	(void)state;
	size_t n = 0;
	char *doc = read_all(DOC_PATH, &n);
	if (!doc)
		fail_msg("cannot read %s (run the tests from the repository root)", DOC_PATH);
	char *b = strstr(doc, BEGIN_MARK);
	char *e = b ? strstr(b, END_MARK) : NULL;
	if (!b || !e)
		fail_msg("%s lacks the perm-table markers", DOC_PATH);
	b += strlen(BEGIN_MARK);
	struct buf want;
	buf_init(&want, 0);
	assert_int_equal(perm_render_markdown(&want), 0);
	size_t have_n = (size_t)(e - b);
	int same = have_n == want.n && memcmp(b, want.p, want.n) == 0;
	if (!same && getenv("DROPFIX_WRITE_DOCS")) {
		FILE *f = fopen(DOC_PATH, "wb");
		assert_non_null(f);
		fwrite(doc, 1, (size_t)(b - doc), f);
		fwrite(want.p, 1, want.n, f);
		fwrite(e, 1, n - (size_t)(e - doc), f);
		assert_int_equal(fclose(f), 0);
		fprintf(stderr, "rewrote the table in %s\n", DOC_PATH);
		same = 1;
	}
	if (!same)
		fprintf(stderr,
		        "%s disagrees with src/web/permissions.h; expected table:\n%s\n"
		        "(regenerate: DROPFIX_WRITE_DOCS=1 build/test/unit/test_permissions)\n",
		        DOC_PATH, want.p);
	buf_free(&want);
	free(doc);
	assert_true(same);
}

/* Every workspace route carries a least role; every state-changing one needs more than
 * nothing, and no route below /w/:ws/ escapes the workspace authenticator. */
static void test_routes(void **state)
{
	(void)state;
	int ws_routes = 0;
	for (size_t i = 0; i < app_routes_count; i++) {
		const struct route *r = &app_routes[i];
		if (strncmp(r->pattern, "/w/:ws", 6) == 0 || strncmp(r->pattern, "/api/v1/w/:ws", 13) == 0) {
			ws_routes++;
			if (r->auth != AUTH_WORKSPACE)
				fail_msg("%s is under a workspace but not AUTH_WORKSPACE", r->pattern);
			assert_true(r->min_role >= ROLE_VIEWER && r->min_role <= ROLE_OWNER);
		}
		if (r->auth == AUTH_WORKSPACE && strstr(r->pattern, ":ws") == NULL)
			fail_msg("%s is AUTH_WORKSPACE without a :ws parameter", r->pattern);
	}
	assert_true(ws_routes >= 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_shape),
	    cmocka_unit_test(test_allows),
	    cmocka_unit_test(test_docs_agree),
	    cmocka_unit_test(test_routes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
