/* Unit tests for API tokens (src/auth/api_token.h) on SQLite and PostgreSQL: the token
 * shape (one spelling per token), only the hash and a display prefix stored, lookup of
 * live tokens only (revoked, expired, creator removed or disabled: not found), the role
 * capped by the creator's current role, revocation scoped to the workspace, touch and
 * the list. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "auth/api_token.h"
#include "store_testlib.h"

struct fx {
	struct tdb t;
	int64_t ws_a, ws_b, owner, member;
};

static void must(int rc, struct fx *f, const char *what)
{
	if (rc < 0)
		fail_msg("%s: %s", what, store_errmsg(f->t.c));
}

static void add_account(struct fx *f, struct store_tx *tx, int64_t id, const char *email, const char *name)
{
	must(store_exec(
	         tx,
	         "INSERT INTO accounts (id, email, name, created_at, updated_at) VALUES ($1, $2, $3, 1, 1)",
	         STORE_ARGS(SP_I64(id), SP_TEXT(email), SP_TEXT(name))),
	     f, "account");
}

static void add_member(struct fx *f, struct store_tx *tx, int64_t ws, int64_t acc, const char *role)
{
	must(
	    store_exec(
	        tx,
	        "INSERT INTO memberships (workspace_id, account_id, role, created_at) VALUES ($1, $2, $3, 1)",
	        STORE_ARGS(SP_I64(ws), SP_I64(acc), SP_TEXT(role))),
	    f, "membership");
}

static void fx_open(struct fx *f, enum store_backend kind)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(tdb_open(&f->t, kind), 0);
	struct store_tx *tx = NULL;
	assert_int_equal(store_begin_global(f->t.c, STORE_WRITE, &tx), 0);
	struct store_workspace_new w = {
	    .name = "A", .product_name = "A", .timezone = "UTC", .currency = "USD"};
	must(store_workspace_create(tx, &w, &f->ws_a), f, "ws a");
	w.name = "B";
	must(store_workspace_create(tx, &w, &f->ws_b), f, "ws b");
	f->owner = 101;
	f->member = 102;
	add_account(f, tx, f->owner, "owner@example.test", "Olga Owner");
	add_account(f, tx, f->member, "member@example.test", "");
	add_member(f, tx, f->ws_a, f->owner, "owner");
	add_member(f, tx, f->ws_b, f->owner, "owner");
	add_member(f, tx, f->ws_a, f->member, "member");
	assert_int_equal(store_commit(tx), 0);
}

static void fx_close(struct fx *f)
{
	tdb_close(&f->t);
}

/* Creates a token in a global write transaction. */
static void make(struct fx *f, int64_t ws, int64_t acc, enum role role, struct api_token_text *tok,
                 int64_t *id)
{
	struct store_tx *tx = NULL;
	char display[API_TOKEN_DISPLAY_CHARS + 1];
	assert_int_equal(store_begin_global(f->t.c, STORE_WRITE, &tx), 0);
	must(api_token_create(tx, ws, acc, "script", 6, role, 1000, 0, tok, id, display), f, "create");
	assert_int_equal(store_commit(tx), 0);
	assert_memory_equal(display, tok->s, API_TOKEN_DISPLAY_CHARS);
	assert_int_equal(strlen(display), API_TOKEN_DISPLAY_CHARS);
}

static int lookup(struct fx *f, const char *s, int64_t now, struct api_token_auth *out)
{
	struct store_tx *tx = NULL;
	assert_int_equal(store_begin_global(f->t.c, STORE_READ, &tx), 0);
	int rc = api_token_lookup(tx, s, strlen(s), now, out);
	store_rollback(tx);
	return rc;
}

static void exec_global(struct fx *f, const char *sql, const struct store_param *p, size_t n)
{
	struct store_tx *tx = NULL;
	assert_int_equal(store_begin_global(f->t.c, STORE_WRITE, &tx), 0);
	must(store_exec(tx, sql, p, n), f, sql);
	assert_int_equal(store_commit(tx), 0);
}

static void t_shape(void **state)
{
	(void)state;
	struct api_token_text a, b;
	api_token_generate(&a);
	api_token_generate(&b);
	assert_int_equal(strlen(a.s), API_TOKEN_CHARS);
	assert_memory_equal(a.s, "dft_", 4);
	assert_true(api_token_shape_ok(a.s, strlen(a.s)));
	assert_string_not_equal(a.s, b.s);
	/* another spelling of the same 32 bytes (other unused trailing bits) is refused */
	char c[API_TOKEN_CHARS + 1];
	memcpy(c, a.s, sizeof(c));
	const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	int v = (int)(strchr(alpha, c[API_TOKEN_CHARS - 1]) - alpha);
	c[API_TOKEN_CHARS - 1] = alpha[v | 1];
	assert_false(api_token_shape_ok(c, strlen(c)));
	/* wrong prefix, length, alphabet */
	memcpy(c, a.s, sizeof(c));
	c[0] = 'x';
	assert_false(api_token_shape_ok(c, strlen(c)));
	assert_false(api_token_shape_ok(a.s, strlen(a.s) - 1));
	assert_false(api_token_shape_ok("sk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 46));
	memcpy(c, a.s, sizeof(c));
	c[10] = '+';
	assert_false(api_token_shape_ok(c, strlen(c)));
	assert_false(api_token_shape_ok(NULL, 0));
	api_token_wipe(&a);
	assert_int_equal(a.s[0], 0);
	assert_int_equal(api_token_role_parse("owner", 5), ROLE_NONE);
	assert_int_equal(api_token_role_parse("admin", 5), ROLE_ADMIN);
	assert_int_equal(api_token_role_parse("viewer", 6), ROLE_VIEWER);
	assert_int_equal(api_token_role_parse("", 0), ROLE_NONE);
}

static void t_create_lookup(void **state)
{
	struct fx f;
	fx_open(&f, TDB_KIND(state));
	struct api_token_text tok;
	struct api_token_auth a;
	int64_t id = 0;
	make(&f, f.ws_a, f.owner, ROLE_ADMIN, &tok, &id);
	assert_true(id > 0);
	assert_int_equal(lookup(&f, tok.s, 2000, &a), 1);
	assert_int_equal(a.id, id);
	assert_int_equal(a.workspace_id, f.ws_a);
	assert_int_equal(a.account_id, f.owner);
	assert_int_equal(a.role, ROLE_ADMIN);
	assert_int_equal(a.last_used_at, 0);
	assert_memory_equal(a.display, tok.s, API_TOKEN_DISPLAY_CHARS);

	/* only the hash is stored: no text column holds the token */
	struct store_tx *tx = NULL;
	int64_t n = -1;
	assert_int_equal(store_begin_global(f.t.c, STORE_READ, &tx), 0);
	must(store_query_i64(
	         tx,
	         "SELECT count(*) FROM api_tokens WHERE name = $1 OR scopes = $1 OR display_prefix = $1 OR "
	         "role = $1",
	         STORE_ARGS(SP_TEXT(tok.s)), &n),
	     &f, "scan");
	assert_int_equal(n, 0);
	struct store_rows *r = NULL;
	must(store_query(tx, "SELECT token_hash FROM api_tokens WHERE id = $1", STORE_ARGS(SP_I64(id)), &r),
	     &f, "hash");
	assert_int_equal(store_step(r), 1);
	size_t hn = 0;
	const void *h = store_col_blob(r, 0, &hn);
	assert_int_equal(hn, 32);
	assert_true(memmem(h, hn, tok.s + 4, 8) == NULL);
	store_rows_close(r);
	store_rollback(tx);

	/* a one-character change, another well-formed token, garbage: not found */
	struct api_token_text other;
	api_token_generate(&other);
	assert_int_equal(lookup(&f, other.s, 2000, &a), 0);
	assert_int_equal(lookup(&f, "dft_garbage", 2000, &a), 0);
	assert_int_equal(lookup(&f, "", 2000, &a), 0);

	/* bad input to create */
	struct api_token_text bad;
	assert_int_equal(store_begin_global(f.t.c, STORE_WRITE, &tx), 0);
	assert_int_equal(api_token_create(tx, f.ws_a, f.owner, "x", 1, ROLE_OWNER, 1, 0, &bad, NULL, NULL),
	                 -1);
	assert_int_equal(api_token_create(tx, f.ws_a, f.owner, "", 0, ROLE_VIEWER, 1, 0, &bad, NULL, NULL),
	                 -1);
	store_rollback(tx);
	fx_close(&f);
}

static void t_role_capped_and_creator(void **state)
{
	struct fx f;
	fx_open(&f, TDB_KIND(state));
	struct api_token_text tok;
	struct api_token_auth a;
	int64_t id;
	/* an admin token made for a member acts as a member */
	make(&f, f.ws_a, f.member, ROLE_ADMIN, &tok, &id);
	assert_int_equal(lookup(&f, tok.s, 2000, &a), 1);
	assert_int_equal(a.role, ROLE_MEMBER);
	/* demoted to viewer: the token follows */
	exec_global(&f, "UPDATE memberships SET role = 'viewer' WHERE account_id = $1",
	            STORE_ARGS(SP_I64(f.member)));
	assert_int_equal(lookup(&f, tok.s, 2000, &a), 1);
	assert_int_equal(a.role, ROLE_VIEWER);
	/* disabled account: no longer authenticates */
	exec_global(&f, "UPDATE accounts SET disabled_at = 5 WHERE id = $1", STORE_ARGS(SP_I64(f.member)));
	assert_int_equal(lookup(&f, tok.s, 2000, &a), 0);
	exec_global(&f, "UPDATE accounts SET disabled_at = NULL WHERE id = $1", STORE_ARGS(SP_I64(f.member)));
	assert_int_equal(lookup(&f, tok.s, 2000, &a), 1);
	/* removed from the workspace: gone */
	exec_global(&f, "DELETE FROM memberships WHERE account_id = $1", STORE_ARGS(SP_I64(f.member)));
	assert_int_equal(lookup(&f, tok.s, 2000, &a), 0);
	/* account deleted (account_id set to NULL): gone */
	struct api_token_text tok2;
	make(&f, f.ws_b, f.owner, ROLE_VIEWER, &tok2, &id);
	assert_int_equal(lookup(&f, tok2.s, 2000, &a), 1);
	assert_int_equal(a.workspace_id, f.ws_b);
	exec_global(&f, "DELETE FROM accounts WHERE id = $1", STORE_ARGS(SP_I64(f.owner)));
	assert_int_equal(lookup(&f, tok2.s, 2000, &a), 0);
	fx_close(&f);
}

static void t_revoke_expire_touch_list(void **state)
{
	struct fx f;
	fx_open(&f, TDB_KIND(state));
	struct api_token_text t1, t2;
	struct api_token_auth a;
	int64_t id1, id2;
	make(&f, f.ws_a, f.owner, ROLE_VIEWER, &t1, &id1);
	make(&f, f.ws_a, f.owner, ROLE_MEMBER, &t2, &id2);

	/* touch */
	struct store_tx *tx = NULL;
	assert_int_equal(store_begin_global(f.t.c, STORE_WRITE, &tx), 0);
	must(api_token_touch(tx, id1, 5000), &f, "touch");
	assert_int_equal(store_commit(tx), 0);
	assert_int_equal(lookup(&f, t1.s, 6000, &a), 1);
	assert_int_equal(a.last_used_at, 5000);

	/* revoke in another workspace: nothing */
	char display[API_TOKEN_DISPLAY_CHARS + 1] = "";
	assert_int_equal(store_begin_global(f.t.c, STORE_WRITE, &tx), 0);
	assert_int_equal(api_token_revoke(tx, f.ws_b, id1, 7000, display), 0);
	assert_int_equal(store_commit(tx), 0);
	assert_int_equal(lookup(&f, t1.s, 7000, &a), 1);
	/* revoke in its own workspace, through a workspace-scoped transaction */
	assert_int_equal(store_begin_ws(f.t.c, f.ws_a, STORE_WRITE, &tx), 0);
	assert_int_equal(api_token_revoke(tx, f.ws_a, id1, 7000, display), 1);
	assert_int_equal(store_commit(tx), 0);
	assert_memory_equal(display, t1.s, API_TOKEN_DISPLAY_CHARS);
	assert_int_equal(lookup(&f, t1.s, 7001, &a), 0);
	assert_int_equal(store_begin_ws(f.t.c, f.ws_a, STORE_WRITE, &tx), 0);
	assert_int_equal(api_token_revoke(tx, f.ws_a, id1, 7002, display), 0); /* once */
	store_rollback(tx);

	/* expiry */
	assert_int_equal(lookup(&f, t2.s, 8000, &a), 1);
	exec_global(&f, "UPDATE api_tokens SET expires_at = 9000 WHERE id = $1", STORE_ARGS(SP_I64(id2)));
	assert_int_equal(lookup(&f, t2.s, 8999, &a), 1);
	assert_int_equal(lookup(&f, t2.s, 9000, &a), 0);

	/* an expiry given at creation */
	struct api_token_text t3;
	int64_t id3;
	assert_int_equal(store_begin_global(f.t.c, STORE_WRITE, &tx), 0);
	must(api_token_create(tx, f.ws_b, f.owner, "temp", 4, ROLE_VIEWER, 1000, 3000, &t3, &id3, NULL), &f,
	     "create");
	assert_int_equal(store_commit(tx), 0);
	assert_int_equal(lookup(&f, t3.s, 2999, &a), 1);
	assert_int_equal(lookup(&f, t3.s, 3000, &a), 0);
	exec_global(&f, "DELETE FROM api_tokens WHERE id = $1", STORE_ARGS(SP_I64(id3)));

	/* the list, read in a workspace transaction */
	assert_int_equal(store_begin_ws(f.t.c, f.ws_a, STORE_READ, &tx), 0);
	json_t *list = api_token_list(tx, f.ws_a, 10);
	store_rollback(tx);
	assert_non_null(list);
	assert_int_equal(json_array_size(list), 2);
	size_t i;
	json_t *row;
	int seen = 0;
	json_array_foreach(list, i, row)
	{
		int64_t rid = json_integer_value(json_object_get(row, "id"));
		assert_string_equal(json_string_value(json_object_get(row, "created_by")), "Olga Owner");
		assert_string_equal(json_string_value(json_object_get(row, "name")), "script");
		assert_int_equal(json_string_length(json_object_get(row, "display_prefix")),
		                 API_TOKEN_DISPLAY_CHARS);
		if (rid == id1) {
			seen |= 1;
			assert_string_equal(json_string_value(json_object_get(row, "role")), "viewer");
			assert_int_equal(json_integer_value(json_object_get(row, "revoked_at")), 7000);
			assert_int_equal(json_integer_value(json_object_get(row, "last_used_at")), 5000);
		} else if (rid == id2) {
			seen |= 2;
			assert_true(json_is_null(json_object_get(row, "revoked_at")));
			assert_true(json_is_null(json_object_get(row, "last_used_at")));
		}
		/* no token text in the list */
		char *dump = json_dumps(row, 0);
		assert_null(strstr(dump, t1.s));
		assert_null(strstr(dump, t2.s));
		free(dump);
	}
	assert_int_equal(seen, 3);
	json_decref(list);
	/* the other workspace's list is empty */
	assert_int_equal(store_begin_ws(f.t.c, f.ws_b, STORE_READ, &tx), 0);
	list = api_token_list(tx, f.ws_b, 10);
	store_rollback(tx);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_shape),
	    cmocka_unit_test_prestate(t_create_lookup, (void *)&tdb_sqlite),
	    cmocka_unit_test_prestate(t_create_lookup, (void *)&tdb_pg),
	    cmocka_unit_test_prestate(t_role_capped_and_creator, (void *)&tdb_sqlite),
	    cmocka_unit_test_prestate(t_role_capped_and_creator, (void *)&tdb_pg),
	    cmocka_unit_test_prestate(t_revoke_expire_touch_list, (void *)&tdb_sqlite),
	    cmocka_unit_test_prestate(t_revoke_expire_touch_list, (void *)&tdb_pg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
