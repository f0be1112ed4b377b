#include "auth/password.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"

#ifdef DROPFIX_TEST_HOOKS
/* Test builds hash with the argon2id minimum: compile-time only, never a setting. */
#define PW_OPSLIMIT crypto_pwhash_argon2id_OPSLIMIT_MIN
#define PW_MEMLIMIT crypto_pwhash_argon2id_MEMLIMIT_MIN
#else
#define PW_OPSLIMIT crypto_pwhash_OPSLIMIT_INTERACTIVE
#define PW_MEMLIMIT crypto_pwhash_MEMLIMIT_INTERACTIVE
#endif

_Static_assert(LIMIT_PASSWORD_MIN >= crypto_pwhash_PASSWD_MIN, "password minimum");
_Static_assert(LIMIT_PASSWORD_MAX <= crypto_pwhash_PASSWD_MAX, "password maximum");

/* The hasher gate: a counting semaphore with a bounded wait queue. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv; /* on CLOCK_MONOTONIC, made by gate_init_once */
static pthread_once_t gate_once = PTHREAD_ONCE_INIT;
static int gate_active;
static int gate_waiting;
#ifdef DROPFIX_TEST_HOOKS
static int gate_held;
static _Atomic uint64_t verify_calls;
static _Atomic uint64_t hash_calls;
#endif

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc = -1;
static char dummy_hash[PASSWORD_HASH_MAX];

/* Starts libsodium and makes the dummy hash (of 32 random bytes nobody knows) with the
 * current parameters, so verifying against it costs what a real verification costs. */
static void password_init_once(void)
{
	if (sodium_init() < 0)
		return;
	unsigned char pw[32];
	randombytes_buf(pw, sizeof(pw));
	int rc = crypto_pwhash_str_alg(dummy_hash, (const char *)pw, sizeof(pw), PW_OPSLIMIT, PW_MEMLIMIT,
	                               crypto_pwhash_ALG_ARGON2ID13);
	sodium_memzero(pw, sizeof(pw));
	init_rc = rc == 0 ? 0 : -1;
}

static int password_init(void)
{
	pthread_once(&init_once, password_init_once);
	return init_rc;
}

int password_length_ok(size_t n)
{
	return n >= LIMIT_PASSWORD_MIN && n <= LIMIT_PASSWORD_MAX;
}

unsigned long long password_opslimit(void)
{
	return PW_OPSLIMIT;
}

size_t password_memlimit(void)
{
	return PW_MEMLIMIT;
}

static void gate_init_once(void)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&gate_cv, &attr);
	pthread_condattr_destroy(&attr);
}

/* Takes a hasher slot, waiting in the bounded queue. Returns 0, or -1 (busy). */
static int gate_enter(void)
{
	pthread_once(&gate_once, gate_init_once);
	int64_t until_ns = clock_mono_ns() + (int64_t)LIMIT_PASSWORD_WAIT_MS * 1000000;
	struct timespec deadline = {.tv_sec = (time_t)(until_ns / 1000000000),
	                            .tv_nsec = (long)(until_ns % 1000000000)};
	int rc = 0;
	pthread_mutex_lock(&gate_mu);
	if (gate_active >= LIMIT_PASSWORD_HASHERS) {
		if (gate_waiting >= LIMIT_PASSWORD_QUEUE) {
			rc = -1;
			goto out;
		}
		gate_waiting++;
		while (gate_active >= LIMIT_PASSWORD_HASHERS && rc == 0)
			if (pthread_cond_timedwait(&gate_cv, &gate_mu, &deadline) == ETIMEDOUT)
				rc = gate_active >= LIMIT_PASSWORD_HASHERS ? -1 : 0;
		gate_waiting--;
		if (rc < 0)
			goto out;
	}
	gate_active++;
out:
	pthread_mutex_unlock(&gate_mu);
	return rc;
}

static void gate_leave(void)
{
	pthread_mutex_lock(&gate_mu);
	gate_active--;
	pthread_cond_signal(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
}

enum password_result password_hash(const char *pw, size_t n, char out[PASSWORD_HASH_MAX])
{
	out[0] = '\0';
	if (password_init() < 0)
		return PASSWORD_ERROR;
	if (gate_enter() < 0)
		return PASSWORD_BUSY;
#ifdef DROPFIX_TEST_HOOKS
	atomic_fetch_add(&hash_calls, 1);
#endif
	int rc = crypto_pwhash_str_alg(out, pw, n, PW_OPSLIMIT, PW_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13);
	gate_leave();
	if (rc != 0) {
		out[0] = '\0';
		return PASSWORD_ERROR;
	}
	return PASSWORD_OK;
}

enum password_result password_verify(const char *stored, const char *pw, size_t n, int *needs_rehash)
{
	if (needs_rehash)
		*needs_rehash = 0;
	if (password_init() < 0)
		return PASSWORD_ERROR;
	int real = stored && strncmp(stored, PASSWORD_PREFIX, sizeof(PASSWORD_PREFIX) - 1) == 0 &&
	           strlen(stored) < PASSWORD_HASH_MAX;
	if (gate_enter() < 0)
		return PASSWORD_BUSY;
#ifdef DROPFIX_TEST_HOOKS
	atomic_fetch_add(&verify_calls, 1);
#endif
	int rc = crypto_pwhash_str_verify(real ? stored : dummy_hash, pw, n);
	gate_leave();
	if (!real || rc != 0)
		return PASSWORD_MISMATCH;
	if (needs_rehash)
		*needs_rehash = crypto_pwhash_str_needs_rehash(stored, PW_OPSLIMIT, PW_MEMLIMIT) != 0;
	return PASSWORD_OK;
}

#ifdef DROPFIX_TEST_HOOKS
uint64_t password_test_verify_calls(void)
{
	return atomic_load(&verify_calls);
}

uint64_t password_test_hash_calls(void)
{
	return atomic_load(&hash_calls);
}

int password_test_hold_slots(int n)
{
	pthread_once(&gate_once, gate_init_once);
	pthread_mutex_lock(&gate_mu);
	gate_active += n - gate_held;
	gate_held = n;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
	return 0;
}

int password_test_waiting(void)
{
	pthread_mutex_lock(&gate_mu);
	int n = gate_waiting;
	pthread_mutex_unlock(&gate_mu);
	return n;
}
#endif
