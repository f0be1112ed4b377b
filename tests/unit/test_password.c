/* Unit tests for src/auth/password (Argon2id hashing, rehash detection, the bounded
 * hasher queue) and for the sign-in check in src/auth/account that must do the same
 * work for an unknown address as for a wrong password (counted verifications). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/account.h"
#include "auth/password.h"
#include "crypto/keyring.h"
#include "store_testlib.h"

static void test_lengths(void **state)
{
	(void)state;
	assert_false(password_length_ok(0));
	assert_false(password_length_ok(9));
	assert_true(password_length_ok(10));
	assert_true(password_length_ok(1024));
	assert_false(password_length_ok(1025));
}

static void test_hash_and_verify(void **state)
{
	(void)state;
	char h1[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX];
	const char *pw = "correct horse battery staple";
	uint64_t hashes = password_test_hash_calls();
	assert_int_equal(password_hash(pw, strlen(pw), h1), PASSWORD_OK);
	assert_int_equal(password_hash(pw, strlen(pw), h2), PASSWORD_OK);
	assert_int_equal(password_test_hash_calls() - hashes, 2);
	assert_memory_equal(h1, PASSWORD_PREFIX, strlen(PASSWORD_PREFIX));
	assert_string_not_equal(h1, h2); /* random salt */
	/* Test builds hash with the argon2id minimum (compile-time): m=8 KiB, t=1. */
	assert_non_null(strstr(h1, "$m=8,t=1,p=1$"));
	assert_int_equal(password_opslimit(), crypto_pwhash_argon2id_OPSLIMIT_MIN);

	int rehash = -1;
	assert_int_equal(password_verify(h1, pw, strlen(pw), &rehash), PASSWORD_OK);
	assert_int_equal(rehash, 0);
	assert_int_equal(password_verify(h1, "correct horse battery stapl", 27, &rehash), PASSWORD_MISMATCH);
	/* Any bytes count, NUL included; no composition rules. */
	const char odd[] = "\0\x01\xff aaaaaaaaa";
	assert_int_equal(password_hash(odd, sizeof(odd) - 1, h2), PASSWORD_OK);
	assert_int_equal(password_verify(h2, odd, sizeof(odd) - 1, NULL), PASSWORD_OK);
	assert_int_equal(password_verify(h2, odd, 1, NULL), PASSWORD_MISMATCH);
}

static void test_rehash_when_parameters_change(void **state)
{
	(void)state;
	const char *pw = "a password of some length";
	char other[crypto_pwhash_STRBYTES];
	/* Stronger than this build's parameters: valid, but needs a rehash. */
	assert_int_equal(crypto_pwhash_str_alg(other, pw, strlen(pw), 2, 16384, crypto_pwhash_ALG_ARGON2ID13),
	                 0);
	int rehash = 0;
	assert_int_equal(password_verify(other, pw, strlen(pw), &rehash), PASSWORD_OK);
	assert_int_equal(rehash, 1);
	/* Argon2i is not what we store: treated as no hash at all (dummy check, mismatch). */
	assert_int_equal(crypto_pwhash_str_alg(other, pw, strlen(pw), 3, 16384, crypto_pwhash_ALG_ARGON2I13),
	                 0);
	assert_int_equal(password_verify(other, pw, strlen(pw), &rehash), PASSWORD_MISMATCH);
}

static void test_unknown_hash_costs_one_verification(void **state)
{
	(void)state;
	uint64_t v = password_test_verify_calls();
	assert_int_equal(password_verify(NULL, "whatever password", 17, NULL), PASSWORD_MISMATCH);
	assert_int_equal(password_test_verify_calls() - v, 1);
	assert_int_equal(password_verify("", "whatever password", 17, NULL), PASSWORD_MISMATCH);
	assert_int_equal(password_verify("$2y$10$notargon", "whatever password", 17, NULL),
	                 PASSWORD_MISMATCH);
	assert_int_equal(password_test_verify_calls() - v, 3);
}

/* ---- the bounded queue ---- */

struct waiter {
	pthread_t th;
	enum password_result r;
};

static void *hash_thread(void *p)
{
	struct waiter *w = p;
	char h[PASSWORD_HASH_MAX];
	w->r = password_hash("queued password", 15, h);
	return NULL;
}

static void test_queue_full_is_busy(void **state)
{
	(void)state;
	char h[PASSWORD_HASH_MAX];
	/* Every hasher busy: callers queue; beyond the queue, busy at once. */
	password_test_hold_slots(LIMIT_PASSWORD_HASHERS);
	struct waiter w[LIMIT_PASSWORD_QUEUE];
	for (int i = 0; i < LIMIT_PASSWORD_QUEUE; i++)
		assert_int_equal(pthread_create(&w[i].th, NULL, hash_thread, &w[i]), 0);
	/* Wait until all of them are queued (the gate counts them). */
	for (int tries = 0; tries < 2000 && password_test_waiting() < LIMIT_PASSWORD_QUEUE; tries++)
		usleep(1000);
	assert_int_equal(password_test_waiting(), LIMIT_PASSWORD_QUEUE);
	int64_t t0 = (int64_t)time(NULL);
	assert_int_equal(password_hash("one too many", 12, h), PASSWORD_BUSY);
	assert_int_equal(password_verify(NULL, "one too many", 12, NULL), PASSWORD_BUSY);
	assert_true((int64_t)time(NULL) - t0 <= 1); /* refused at once, not after the wait */
	password_test_hold_slots(0);
	for (int i = 0; i < LIMIT_PASSWORD_QUEUE; i++) {
		pthread_join(w[i].th, NULL);
		assert_int_equal(w[i].r, PASSWORD_OK);
	}
	assert_int_equal(password_hash("after the queue drained", 23, h), PASSWORD_OK);
}

/* ---- same work for unknown addresses (account_authenticate) ---- */

static void test_same_work_unknown_or_wrong(void **state)
{
	enum store_backend kind = TDB_KIND(state);
	struct tdb t;
	assert_int_equal(tdb_open(&t, kind), 0);
	char hash[PASSWORD_HASH_MAX];
	const char *pw = "the right password";
	assert_int_equal(password_hash(pw, strlen(pw), hash), PASSWORD_OK);
	struct store_tx *tx = NULL;
	int64_t id = 0, id2 = 0;
	assert_int_equal(store_begin_global(t.c, STORE_WRITE, &tx), 0);
	struct account_new a = {
	    .email = "ann@example.test", .name = "Ann", .password_hash = hash, .verified = 1};
	assert_int_equal(account_create(tx, &a, &id), 0);
	assert_int_equal(account_create(tx, &a, &id2), ACCOUNT_E_EXISTS);
	struct account_new nopw = {.email = "nopw@example.test", .name = "No Password"};
	assert_int_equal(account_create(tx, &nopw, &id2), 0);
	assert_int_equal(store_commit(tx), 0);

	struct account out;
	int rehash;
	uint64_t v0 = password_test_verify_calls(), h0 = password_test_hash_calls();
	assert_int_equal(account_authenticate(t.c, "nobody@example.test", pw, strlen(pw), &out, &rehash),
	                 PASSWORD_MISMATCH);
	assert_int_equal(out.id, 0);
	uint64_t v1 = password_test_verify_calls();
	assert_int_equal(account_authenticate(t.c, "ann@example.test", "a wrong password", 16, &out, &rehash),
	                 PASSWORD_MISMATCH);
	assert_int_equal(out.id, id);
	uint64_t v2 = password_test_verify_calls();
	assert_int_equal(account_authenticate(t.c, "nopw@example.test", pw, strlen(pw), &out, &rehash),
	                 PASSWORD_MISMATCH);
	uint64_t v3 = password_test_verify_calls();
	assert_int_equal(account_authenticate(t.c, "ann@example.test", pw, strlen(pw), &out, &rehash),
	                 PASSWORD_OK);
	uint64_t v4 = password_test_verify_calls();
	/* Exactly one Argon2id verification each way, and no hashing. */
	assert_int_equal(v1 - v0, 1);
	assert_int_equal(v2 - v1, 1);
	assert_int_equal(v3 - v2, 1);
	assert_int_equal(v4 - v3, 1);
	assert_int_equal(password_test_hash_calls(), h0);
	assert_int_equal(out.id, id);
	assert_true(out.verified);
	assert_int_equal(rehash, 0);

	/* A disabled account: the right password is a mismatch, same single verification. */
	assert_int_equal(store_begin_global(t.c, STORE_WRITE, &tx), 0);
	assert_int_equal(
	    store_exec(tx, "UPDATE accounts SET disabled_at = 1 WHERE id = $1", STORE_ARGS(SP_I64(id))), 0);
	assert_int_equal(store_commit(tx), 0);
	assert_int_equal(account_authenticate(t.c, "ann@example.test", pw, strlen(pw), &out, &rehash),
	                 PASSWORD_MISMATCH);
	assert_int_equal(password_test_verify_calls() - v4, 1);
	tdb_close(&t);
}

/* ---- account tokens and recovery codes (the stored side of the pages) ---- */

static void test_tokens_single_use(void **state)
{
	enum store_backend kind = TDB_KIND(state);
	struct tdb t;
	assert_int_equal(tdb_open(&t, kind), 0);
	struct store_tx *tx = NULL;
	int64_t id = 0, got = 0;
	struct account_token vt, rt, st;
	char email[LIMIT_MAIL_ADDR + 1];
	char err[200];

	/* Setup token: issued while no account exists, claimed once, inside the sign-up. */
	assert_int_equal(account_setup_token_issue(t.s, &st, err, sizeof(err)), 1);
	assert_int_equal(store_begin_global(t.c, STORE_WRITE, &tx), 0);
	assert_int_equal(account_setup_token_claim(tx, "wrong-token-wrong-token-wrong-token-wrong-t"), 0);
	assert_int_equal(account_setup_token_claim(tx, st.text), 1);
	assert_int_equal(account_setup_token_claim(tx, st.text), 0);
	struct account_new a = {.email = "bo@example.test", .name = "Bo"};
	assert_int_equal(account_create(tx, &a, &id), 0);
	assert_int_equal(account_verification_create(tx, id, "bo@example.test", &vt), 0);
	assert_int_equal(account_reset_create(tx, id, &rt), 0);
	assert_int_equal(store_commit(tx), 0);
	assert_int_equal(account_setup_token_issue(t.s, &st, err, sizeof(err)), 0); /* accounts exist */

	assert_int_equal(store_begin_global(t.c, STORE_WRITE, &tx), 0);
	assert_int_equal(account_verification_peek(tx, vt.text, &got, email), 1);
	assert_int_equal(account_verification_peek(tx, vt.text, &got, email), 1); /* peeking uses nothing */
	assert_int_equal(account_verification_consume(tx, vt.text, &got, email), 1);
	assert_int_equal(got, id);
	assert_string_equal(email, "bo@example.test");
	assert_int_equal(account_verification_consume(tx, vt.text, &got, email), 0);
	assert_int_equal(account_verification_peek(tx, "short", &got, email), 0);
	assert_int_equal(account_reset_consume(tx, rt.text, &got), 1);
	assert_int_equal(account_reset_consume(tx, rt.text, &got), 0);
	/* A new password ends outstanding reset tokens. */
	assert_int_equal(account_reset_create(tx, id, &rt), 0);
	assert_int_equal(account_set_password(tx, id, "$argon2id$x", 0), 0);
	assert_int_equal(account_reset_peek(tx, rt.text, &got), 0);
	/* The failed sign-in alert: once per hour. */
	assert_int_equal(account_claim_failed_alert(tx, id), 1);
	assert_int_equal(account_claim_failed_alert(tx, id), 0);
	assert_int_equal(store_commit(tx), 0);
	tdb_close(&t);
}

static void test_recovery_codes_once(void **state)
{
	enum store_backend kind = TDB_KIND(state);
	struct tdb t;
	assert_int_equal(tdb_open(&t, kind), 0);
	struct keyring *kr = NULL;
	char err[200];
	uint8_t key[32];
	char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)], text[128];
	randombytes_buf(key, sizeof(key));
	sodium_bin2base64(b64, sizeof(b64), key, sizeof(key), sodium_base64_VARIANT_ORIGINAL);
	snprintf(text, sizeof(text), "1 %s\n", b64);
	assert_int_equal(keyring_parse(text, strlen(text), "test.key", &kr, err, sizeof(err)), 0);
	struct store_tx *tx = NULL;
	int64_t id = 0;
	uint8_t secret[TOTP_SECRET_BYTES], back[TOTP_SECRET_BYTES];
	int64_t last = 0;
	struct recovery_set codes;
	assert_int_equal(totp_secret_generate(secret), 0);
	assert_int_equal(recovery_generate(&codes), 0);
	assert_int_equal(store_begin_global(t.c, STORE_WRITE, &tx), 0);
	struct account_new a = {.email = "cy@example.test", .name = "Cy"};
	assert_int_equal(account_create(tx, &a, &id), 0);
	assert_int_equal(account_recovery_use(tx, id, codes.display[0], RECOVERY_DISPLAY_LEN),
	                 0); /* 2FA off */
	assert_int_equal(account_totp_enable(tx, kr, id, secret, 1000, &codes), 0);
	assert_int_equal(account_totp_load(tx, kr, id, back, &last), 1);
	assert_memory_equal(back, secret, TOTP_SECRET_BYTES);
	assert_int_equal(last, 1000);
	assert_int_equal(account_totp_record_step(tx, id, 1000), 0); /* replay */
	assert_int_equal(account_totp_record_step(tx, id, 1001), 1);
	assert_int_equal(account_recovery_left(tx, id), 10);
	assert_int_equal(account_recovery_use(tx, id, codes.display[3], RECOVERY_DISPLAY_LEN), 1);
	assert_int_equal(account_recovery_use(tx, id, codes.display[3], RECOVERY_DISPLAY_LEN), 0);
	assert_int_equal(account_recovery_use(tx, id, "2222-2222-2222-2222", 19), 0);
	assert_int_equal(account_recovery_left(tx, id), 9);
	assert_int_equal(account_totp_disable(tx, id), 0);
	assert_int_equal(account_totp_load(tx, kr, id, back, &last), 0);
	assert_int_equal(account_recovery_use(tx, id, codes.display[4], RECOVERY_DISPLAY_LEN), 0);
	assert_int_equal(store_commit(tx), 0);
	recovery_set_wipe(&codes);
	keyring_free(kr);
	tdb_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lengths),
	    cmocka_unit_test(test_hash_and_verify),
	    cmocka_unit_test(test_rehash_when_parameters_change),
	    cmocka_unit_test(test_unknown_hash_costs_one_verification),
	    cmocka_unit_test(test_queue_full_is_busy),
	    cmocka_unit_test_prestate(test_same_work_unknown_or_wrong, (void *)&tdb_sqlite),
	    cmocka_unit_test_prestate(test_same_work_unknown_or_wrong, (void *)&tdb_pg),
	    cmocka_unit_test_prestate(test_tokens_single_use, (void *)&tdb_sqlite),
	    cmocka_unit_test_prestate(test_tokens_single_use, (void *)&tdb_pg),
	    cmocka_unit_test_prestate(test_recovery_codes_once, (void *)&tdb_sqlite),
	    cmocka_unit_test_prestate(test_recovery_codes_once, (void *)&tdb_pg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
