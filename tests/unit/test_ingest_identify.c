/* ingest_identify: the published vectors of docs/signed-identify.md, the time window,
 * tampered traits, several live keys, trait text extraction, e-mail normalisation and
 * the sealing row key. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "ingest/ingest_identify.h"

struct vec {
	const char *secret, *user_id;
	int64_t signed_at;
	struct ingest_signed_traits t;
	const char *hash;
};

/* Same values as the json block in docs/signed-identify.md (the HTTP test checks that
 * block in five languages). */
static const struct vec vecs[] = {
    {"sk_test_4Xq9mZk2Lr8vN1pQ7sT3wY6bC0dF5gH8jK2mN4pR6tV", "user_123", 1767225600,
     {"jane@example.com", "pro", "4900", ""}, "78a928c88f63c8a516a00a9a7040f82b5ed42a6b7175b866f538b43ad46fcd1f"},
    {"sk_9fJ3kL0pQ2rS4tU6vW8xY1zA3bC5dE7fG9hI1jK3lM5", "42", 1767229199, {"", "", "", ""},
     "b7305f58ed504182a6c3e4f0b0bde9ea467dd48556bcc643338173b70e98aa05"},
    {"sk_Zz0_-Aa1Bb2Cc3Dd4Ee5Ff6Gg7Hh8Ii9Jj0Kk1Ll2Mm", "acct|7 Zo\xc3\xab", 1780000000,
     {"Zo\xc3\xab.M\xc3\xbcller@Example.org", "team-annual", "0", "2026-12-31T23:59:59Z"},
     "e7a9a0ae8d21dc78a13f578e0829ed1b40b6577197be29f7b768b5b936acf64b"},
};

static enum ingest_sign_result check(const struct vec *v, const char *key, const struct ingest_signed_traits *t,
                                     const char *hash, int64_t now)
{
	const char *keys[] = {key};
	return ingest_identify_verify(keys, 1, v->user_id, v->signed_at, t, hash, strlen(hash), now);
}

static void test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		const struct vec *v = &vecs[i];
		assert_int_equal(check(v, v->secret, &v->t, v->hash, v->signed_at), INGEST_SIGN_OK);
		/* another vector's key does not verify */
		const char *other = vecs[(i + 1) % 3].secret;
		assert_int_equal(check(v, other, &v->t, v->hash, v->signed_at), INGEST_SIGN_MISMATCH);
	}
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(ingest_identify_message("42", 1767229199, &vecs[1].t, &b), 0);
	assert_int_equal(b.n, strlen("v1\n42\n1767229199\n\n\n\n"));
	assert_memory_equal(b.p, "v1\n42\n1767229199\n\n\n\n", b.n);
	buf_free(&b);
}

static void test_window_and_tampering(void **state)
{
	(void)state;
	const struct vec *v = &vecs[0];
	assert_int_equal(check(v, v->secret, &v->t, v->hash, v->signed_at + 300), INGEST_SIGN_OK);
	assert_int_equal(check(v, v->secret, &v->t, v->hash, v->signed_at + 301), INGEST_SIGN_STALE);
	assert_int_equal(check(v, v->secret, &v->t, v->hash, v->signed_at - 60), INGEST_SIGN_OK);
	assert_int_equal(check(v, v->secret, &v->t, v->hash, v->signed_at - 61), INGEST_SIGN_FUTURE);
	struct ingest_signed_traits t = v->t;
	t.plan = "enterprise";
	assert_int_equal(check(v, v->secret, &t, v->hash, v->signed_at), INGEST_SIGN_MISMATCH);
	t = v->t;
	t.mrr = "4901";
	assert_int_equal(check(v, v->secret, &t, v->hash, v->signed_at), INGEST_SIGN_MISMATCH);
	t = v->t;
	t.email = "other@example.com";
	assert_int_equal(check(v, v->secret, &t, v->hash, v->signed_at), INGEST_SIGN_MISMATCH);
	/* uppercase hex is the same bytes; short, long and non-hex are refused */
	char up[65];
	for (size_t i = 0; i < 64; i++)
		up[i] = (v->hash[i] >= 'a' && v->hash[i] <= 'f') ? (char)(v->hash[i] - 32) : v->hash[i];
	up[64] = '\0';
	assert_int_equal(check(v, v->secret, &v->t, up, v->signed_at), INGEST_SIGN_OK);
	assert_int_equal(check(v, v->secret, &v->t, "78a928", v->signed_at), INGEST_SIGN_MISMATCH);
	char bad[65];
	memcpy(bad, v->hash, 65);
	bad[10] = 'g';
	assert_int_equal(check(v, v->secret, &v->t, bad, v->signed_at), INGEST_SIGN_MISMATCH);
	/* two live keys (rotation overlap): either verifies */
	const char *keys[] = {vecs[1].secret, v->secret};
	assert_int_equal(ingest_identify_verify(keys, 2, v->user_id, v->signed_at, &v->t, v->hash, 64, v->signed_at),
	                 INGEST_SIGN_OK);
	assert_int_equal(ingest_identify_verify(keys, 0, v->user_id, v->signed_at, &v->t, v->hash, 64, v->signed_at),
	                 INGEST_SIGN_MISMATCH);
}

static void test_traits(void **state)
{
	(void)state;
	char tmp[4][32];
	struct ingest_signed_traits t;
	json_t *j = json_loads("{\"email\":\"a@b.c\",\"plan\":\"pro\",\"mrr\":4900.0,\"trial_ends\":1700000000}", 0, NULL);
	assert_int_equal(ingest_identify_traits(j, &t, tmp), 0);
	assert_string_equal(t.email, "a@b.c");
	assert_string_equal(t.mrr, "4900");
	assert_string_equal(t.trial_ends, "1700000000");
	json_decref(j);
	j = json_loads("{\"mrr\":49.5}", 0, NULL);
	assert_int_equal(ingest_identify_traits(j, &t, tmp), -1);
	json_decref(j);
	j = json_loads("{\"plan\":true}", 0, NULL);
	assert_int_equal(ingest_identify_traits(j, &t, tmp), -1);
	json_decref(j);
	assert_int_equal(ingest_identify_traits(NULL, &t, tmp), 0);
	assert_string_equal(t.email, "");
	assert_string_equal(t.mrr, "");
}

static void test_norm_and_row_key(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(ingest_identify_email_norm(" Jane.Doe@Example.COM\t", 22, &b), 0);
	assert_string_equal(b.p, "jane.doe@example.com");
	assert_int_equal(ingest_identify_email_norm("\xc3\x89LO@x.io", 9, &b), 0);
	assert_string_equal(b.p, "\xc3\x89lo@x.io"); /* non-ASCII kept as given (no NFC) */
	buf_free(&b);
	char rk[LIMIT_SEAL_AD_FIELD + 1];
	ingest_identify_row_key("user_123", rk);
	assert_string_equal(rk, "user_123");
	ingest_identify_row_key("acct|7", rk);
	assert_int_equal(strncmp(rk, "h.", 2), 0);
	assert_int_equal(strlen(rk), 66);
	ingest_identify_row_key("h.abc", rk); /* cannot collide with a hashed key */
	assert_int_equal(strlen(rk), 66);
	ingest_identify_row_key("with space", rk);
	assert_int_equal(strncmp(rk, "h.", 2), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_window_and_tampering),
	    cmocka_unit_test(test_traits),
	    cmocka_unit_test(test_norm_and_row_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
