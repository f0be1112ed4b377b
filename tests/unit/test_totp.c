/* TOTP (src/auth/totp.c) and recovery codes (src/auth/recovery.c): RFC 4648 base32
 * vectors, RFC 6238 SHA-1 vectors, the ±1 step window, the replay guard, input
 * normalisation, a cross-check against Debian's oathtool on the fake clock, and
 * recovery code generation, normalisation and single use. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <liboath/oath.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Count liboath calls: totp.c's calls to oath_totp_generate land in this wrapper (the
 * header above has already declared the real function under its own name). */
static int oath_calls;
static int counting_totp_generate(const char *secret, size_t secret_length, time_t now, unsigned step,
                                  time_t start, unsigned digits, char *out)
{
	oath_calls++;
	return oath_totp_generate(secret, secret_length, now, step, start, digits, out);
}
#define oath_totp_generate counting_totp_generate
#include "auth/totp.c"
#undef oath_totp_generate

#include "auth/recovery.h"
#include "core/clock.h"

/* RFC 6238 appendix B: the SHA-1 seed is the ASCII string "12345678901234567890". */
static const uint8_t rfc_secret[TOTP_SECRET_BYTES] = "12345678901234567890";

/* ---- fake clock --------------------------------------------------------------------- */

static char clock_path[64];

/* Sets the fake clock (DROPFIX_TEST_CLOCK_FILE) to Unix time t. The file's mtime is set to
 * a fresh value each time so the clock module sees the change even when two writes fall
 * into the same filesystem timestamp tick. */
static void set_clock(int64_t t)
{
	static time_t stamp = 1000000;
	FILE *f = fopen(clock_path, "w");
	assert_non_null(f);
	fprintf(f, "%lld\n", (long long)t);
	assert_int_equal(fclose(f), 0);
	struct timespec ts[2] = {{stamp, 0}, {stamp, 0}};
	stamp++;
	assert_int_equal(utimensat(AT_FDCWD, clock_path, ts, 0), 0);
	assert_int_equal(clock_now_s(), t);
}

static int clock_setup(void **state)
{
	(void)state;
	snprintf(clock_path, sizeof(clock_path), "/tmp/dropfix-totp-clock-XXXXXX");
	int fd = mkstemp(clock_path);
	if (fd < 0)
		return -1;
	close(fd);
	setenv("DROPFIX_TEST_CLOCK_FILE", clock_path, 1);
	return 0;
}

static int clock_teardown(void **state)
{
	(void)state;
	unsetenv("DROPFIX_TEST_CLOCK_FILE");
	unlink(clock_path);
	return 0;
}

/* ---- base32 ------------------------------------------------------------------------- */

struct b32_vector {
	const char *plain, *padded, *bare;
};

/* RFC 4648 §10. */
static const struct b32_vector b32_vectors[] = {
    {"", "", ""},
    {"f", "MY======", "MY"},
    {"fo", "MZXQ====", "MZXQ"},
    {"foo", "MZXW6===", "MZXW6"},
    {"foob", "MZXW6YQ=", "MZXW6YQ"},
    {"fooba", "MZXW6YTB", "MZXW6YTB"},
    {"foobar", "MZXW6YTBOI======", "MZXW6YTBOI"},
};

static void test_base32_rfc4648(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(b32_vectors) / sizeof(b32_vectors[0]); i++) {
		const struct b32_vector *v = &b32_vectors[i];
		char enc[32];
		uint8_t dec[32];
		size_t pn = strlen(v->plain);
		assert_int_equal(totp_base32_encode((const uint8_t *)v->plain, pn, enc, sizeof(enc)),
		                 (int)strlen(v->bare));
		assert_string_equal(enc, v->bare);
		/* Padded and unpadded, upper and lower case all decode. */
		assert_int_equal(totp_base32_decode(v->padded, strlen(v->padded), dec, sizeof(dec)), (int)pn);
		assert_memory_equal(dec, v->plain, pn);
		assert_int_equal(totp_base32_decode(v->bare, strlen(v->bare), dec, sizeof(dec)), (int)pn);
		assert_memory_equal(dec, v->plain, pn);
		char lower[32];
		size_t k;
		for (k = 0; v->bare[k]; k++)
			lower[k] =
			    (char)((v->bare[k] >= 'A' && v->bare[k] <= 'Z') ? v->bare[k] + 32 : v->bare[k]);
		assert_int_equal(totp_base32_decode(lower, k, dec, sizeof(dec)), (int)pn);
		assert_memory_equal(dec, v->plain, pn);
	}
}

static void test_base32_refused(void **state)
{
	(void)state;
	uint8_t dec[32];
	const char *bad[] = {
	    "M",                /* 1 character encodes no byte string */
	    "MZX",              /* 3 */
	    "MZXW6Y",           /* 6 */
	    "MZ",               /* 'f' with a trailing bit set: not canonical */
	    "MY=",              /* short padding */
	    "MY=======",        /* long padding */
	    "MZXW6YTB========", /* padding after a full group */
	    "MY==MY==",         /* data after padding */
	    "MZ1W",             /* '1' is not base32 */
	    "MZXW6YT0",         /* '0' either */
	    "MZ-XW",            /* nor '-' */
	    "MZ\nXW",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(totp_base32_decode(bad[i], strlen(bad[i]), dec, sizeof(dec)), -1);
	/* Output bound. */
	assert_int_equal(totp_base32_decode("MZXW6YTBOI", 10, dec, 5), -1);
	assert_int_equal(totp_base32_decode("MZXW6YTBOI", 10, dec, 6), 6);
	char small[8];
	assert_int_equal(totp_base32_encode((const uint8_t *)"fooba", 5, small, 8), -1);
	assert_string_equal(small, "");
	char fits[9];
	assert_int_equal(totp_base32_encode((const uint8_t *)"fooba", 5, fits, sizeof(fits)), 8);
	assert_string_equal(fits, "MZXW6YTB");
}

static void test_base32_grouped(void **state)
{
	(void)state;
	char g[TOTP_BASE32_GROUPED_LEN + 1];
	assert_int_equal(totp_base32_group(rfc_secret, g, sizeof(g)), 0);
	assert_string_equal(g, "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ");
	assert_int_equal(strlen(g), TOTP_BASE32_GROUPED_LEN);
	/* The grouped display form decodes back to the secret. */
	uint8_t back[TOTP_SECRET_BYTES];
	assert_int_equal(totp_base32_decode(g, strlen(g), back, sizeof(back)), TOTP_SECRET_BYTES);
	assert_memory_equal(back, rfc_secret, TOTP_SECRET_BYTES);
	assert_int_equal(totp_base32_group(rfc_secret, g, TOTP_BASE32_GROUPED_LEN), -1);
}

static void test_secret_generate(void **state)
{
	(void)state;
	uint8_t a[TOTP_SECRET_BYTES], b[TOTP_SECRET_BYTES];
	static const uint8_t zero[TOTP_SECRET_BYTES];
	assert_int_equal(totp_secret_generate(a), 0);
	assert_int_equal(totp_secret_generate(b), 0);
	assert_memory_not_equal(a, b, TOTP_SECRET_BYTES);
	assert_memory_not_equal(a, zero, TOTP_SECRET_BYTES);
	char enc[TOTP_BASE32_LEN + 1];
	assert_int_equal(totp_base32_encode(a, sizeof(a), enc, sizeof(enc)), TOTP_BASE32_LEN);
	uint8_t back[TOTP_SECRET_BYTES];
	assert_int_equal(totp_base32_decode(enc, TOTP_BASE32_LEN, back, sizeof(back)), TOTP_SECRET_BYTES);
	assert_memory_equal(a, back, TOTP_SECRET_BYTES);
}

/* ---- key URI ------------------------------------------------------------------------ */

static void test_uri(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(totp_uri("DropFix", "ann+x@example.com", rfc_secret, &b), 0);
	assert_string_equal(b.p, "otpauth://totp/DropFix:ann%2Bx%40example.com"
	                         "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=DropFix"
	                         "&algorithm=SHA1&digits=6&period=30");
	buf_reset(&b);
	assert_int_equal(totp_uri("Drop Fix & Co", "a.b_c-d~e@x.io", rfc_secret, &b), 0);
	assert_string_equal(b.p, "otpauth://totp/Drop%20Fix%20%26%20Co:a.b_c-d~e%40x.io"
	                         "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Drop%20Fix%20%26%20Co"
	                         "&algorithm=SHA1&digits=6&period=30");
	buf_reset(&b);
	/* Non-ASCII is percent-encoded byte by byte. */
	assert_int_equal(totp_uri("DropFix", "j\xc3\xa9@x.io", rfc_secret, &b), 0);
	assert_non_null(strstr(b.p, "DropFix:j%C3%A9%40x.io?"));
	buf_reset(&b);

	char longest[LIMIT_TOTP_LABEL + 2];
	memset(longest, 'a', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	const char *bad_labels[] = {"", "a:b", "a\nb", "a\x7f", longest, NULL};
	for (size_t i = 0; i < sizeof(bad_labels) / sizeof(bad_labels[0]); i++) {
		assert_int_equal(totp_uri("DropFix", bad_labels[i], rfc_secret, &b), -1);
		assert_int_equal(totp_uri(bad_labels[i], "ann@example.com", rfc_secret, &b), -1);
	}
	assert_int_equal(b.n, 0);
	longest[LIMIT_TOTP_LABEL] = '\0';
	assert_int_equal(totp_uri("DropFix", longest, rfc_secret, &b), 0);
	buf_free(&b);
}

/* ---- RFC 6238 ------------------------------------------------------------------------ */

struct rfc_vector {
	int64_t t;
	const char *code8;
};

/* RFC 6238 appendix B, SHA-1 column (8 digits). */
static const struct rfc_vector rfc_vectors[] = {
    {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
    {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
};

static void test_rfc6238(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rfc_vectors) / sizeof(rfc_vectors[0]); i++) {
		const struct rfc_vector *v = &rfc_vectors[i];
		const char *six = v->code8 + 2; /* the 6-digit code is the last 6 digits */
		char code[TOTP_DIGITS + 1];
		assert_int_equal(totp_generate(rfc_secret, v->t, code), 0);
		assert_string_equal(code, six);
		/* And the verifier on the (fake) clock at that time accepts it, at that step. */
		set_clock(v->t);
		int64_t step = -1;
		assert_int_equal(totp_verify(rfc_secret, six, 6, TOTP_NO_STEP, &step), TOTP_ACCEPTED);
		assert_int_equal(step, v->t / 30);
		char spaced[8] = {six[0], six[1], six[2], ' ', six[3], six[4], six[5], '\0'};
		step = -1;
		assert_int_equal(totp_verify(rfc_secret, spaced, 7, TOTP_NO_STEP, &step), TOTP_ACCEPTED);
		assert_int_equal(step, v->t / 30);
		/* The 8-digit form is not a 6-digit code. */
		assert_int_equal(totp_verify(rfc_secret, v->code8, 8, TOTP_NO_STEP, &step), TOTP_MALFORMED);
	}
}

/* ---- window and replay --------------------------------------------------------------- */

static void code_at_step(int64_t step, char code[TOTP_DIGITS + 1])
{
	assert_int_equal(totp_generate(rfc_secret, step * 30, code), 0);
}

static void test_window(void **state)
{
	(void)state;
	const int64_t t = 1700000015; /* inside step 56666667 */
	const int64_t s = t / 30;
	char c[5][TOTP_DIGITS + 1]; /* steps s-2 .. s+2 */
	for (int k = 0; k < 5; k++)
		code_at_step(s - 2 + k, c[k]);
	/* The test means something only if the five codes differ. */
	for (int a = 0; a < 5; a++)
		for (int b = a + 1; b < 5; b++)
			assert_string_not_equal(c[a], c[b]);
	set_clock(t);
	for (int k = 1; k <= 3; k++) {
		int64_t step = -1;
		oath_calls = 0;
		assert_int_equal(totp_verify(rfc_secret, c[k], 6, TOTP_NO_STEP, &step), TOTP_ACCEPTED);
		assert_int_equal(step, s - 2 + k);
		assert_int_equal(oath_calls, 3); /* the whole window, whichever step matched */
	}
	int64_t untouched = 12345;
	oath_calls = 0;
	assert_int_equal(totp_verify(rfc_secret, c[0], 6, TOTP_NO_STEP, &untouched), TOTP_WRONG);
	assert_int_equal(totp_verify(rfc_secret, c[4], 6, TOTP_NO_STEP, &untouched), TOTP_WRONG);
	assert_int_equal(untouched, 12345);
	assert_int_equal(oath_calls, 6);
	/* A code from the next step becomes current when the clock gets there; at the last
	 * second of step s the window still is s-1..s+1. */
	set_clock(s * 30 + 29);
	assert_int_equal(totp_verify(rfc_secret, c[4], 6, TOTP_NO_STEP, &untouched), TOTP_WRONG);
	set_clock(s * 30 + 30);
	assert_int_equal(totp_verify(rfc_secret, c[4], 6, TOTP_NO_STEP, &untouched), TOTP_ACCEPTED);
	assert_int_equal(untouched, s + 2);
	assert_int_equal(totp_verify(rfc_secret, c[1], 6, TOTP_NO_STEP, &untouched),
	                 TOTP_WRONG); /* now s+1-2 */
	/* A wrong code of the right shape. */
	set_clock(t);
	char wrong[TOTP_DIGITS + 1] = "000000";
	for (int k = 0; k < 5; k++)
		if (strcmp(wrong, c[k]) == 0)
			wrong[0] = '1';
	assert_int_equal(totp_verify(rfc_secret, wrong, 6, TOTP_NO_STEP, &untouched), TOTP_WRONG);
}

static void test_replay(void **state)
{
	(void)state;
	const int64_t t = 1700000015;
	const int64_t s = t / 30;
	char prev[TOTP_DIGITS + 1], cur[TOTP_DIGITS + 1], next[TOTP_DIGITS + 1];
	code_at_step(s - 1, prev);
	code_at_step(s, cur);
	code_at_step(s + 1, next);
	set_clock(t);
	int64_t last = TOTP_NO_STEP;
	/* First use: accepted; the caller stores the step. */
	assert_int_equal(totp_verify(rfc_secret, cur, 6, last, &last), TOTP_ACCEPTED);
	assert_int_equal(last, s);
	/* The same code again, in the same window: refused. */
	int64_t keep = last;
	assert_int_equal(totp_verify(rfc_secret, cur, 6, last, &keep), TOTP_REPLAYED);
	assert_int_equal(totp_verify(rfc_secret, "123 456", 7, last, &keep), TOTP_WRONG);
	/* An earlier, never used code is refused too (it is at or before the last step). */
	assert_int_equal(totp_verify(rfc_secret, prev, 6, last, &keep), TOTP_REPLAYED);
	assert_int_equal(keep, s);
	/* In the next window the used code would still be inside ±1: refused. */
	set_clock(t + 30);
	assert_int_equal(totp_verify(rfc_secret, cur, 6, last, &keep), TOTP_REPLAYED);
	/* A later step is fine, once. */
	set_clock(t);
	assert_int_equal(totp_verify(rfc_secret, next, 6, last, &last), TOTP_ACCEPTED);
	assert_int_equal(last, s + 1);
	assert_int_equal(totp_verify(rfc_secret, next, 6, last, &keep), TOTP_REPLAYED);
	/* The current code is now before the last step: refused as well. */
	assert_int_equal(totp_verify(rfc_secret, cur, 6, last, &keep), TOTP_REPLAYED);
}

static void test_malformed(void **state)
{
	(void)state;
	set_clock(59); /* "287082" is the right code here */
	int64_t step = -1;
	assert_int_equal(totp_verify(rfc_secret, "287082", 6, TOTP_NO_STEP, &step), TOTP_ACCEPTED);
	const char *bad[] = {
	    "",        "28708",    "2870822",  "28 7082", "2870 82", "287-082",  "287  082",     " 287082",
	    "287082 ", "287082\n", "28708a",   "+28708",  "-28708",  "287\t082", "２８７０８２", "287.082",
	    "0x1234",  "287082 0", "        ",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		oath_calls = 0;
		assert_int_equal(totp_verify(rfc_secret, bad[i], strlen(bad[i]), TOTP_NO_STEP, &step),
		                 TOTP_MALFORMED);
		assert_int_equal(oath_calls, 0);
	}
	/* An embedded NUL and a length that does not match the text. */
	assert_int_equal(totp_verify(rfc_secret,
	                             "287\x00"
	                             "082",
	                             7, TOTP_NO_STEP, &step),
	                 TOTP_MALFORMED);
	assert_int_equal(totp_verify(rfc_secret,
	                             "28\x00"
	                             "082",
	                             6, TOTP_NO_STEP, &step),
	                 TOTP_MALFORMED);
	assert_int_equal(totp_verify(rfc_secret, "287082", 5, TOTP_NO_STEP, &step), TOTP_MALFORMED);
	assert_int_equal(totp_verify(rfc_secret, NULL, 0, TOTP_NO_STEP, &step), TOTP_MALFORMED);
	assert_int_equal(totp_verify(NULL, "287082", 6, TOTP_NO_STEP, &step), TOTP_ERROR);
}

/* ---- oathtool cross-check ------------------------------------------------------------ */

/* Runs Debian's oathtool for base32 key at Unix time t, with the given step offset, and
 * writes the 6-digit code into code. */
static void oathtool_code(const char *key, int64_t t, char code[TOTP_DIGITS + 1])
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "oathtool --totp --base32 --digits=6 --now '@%lld' %s 2>&1", (long long)t,
	         key);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char line[128] = "";
	char *got = fgets(line, sizeof(line), p);
	int rc = pclose(p);
	if (!got || rc != 0)
		fail_msg("oathtool failed (is Debian's oathtool installed? scripts/install-deps.sh): %s",
		         line);
	line[strcspn(line, "\n")] = '\0';
	assert_int_equal(strlen(line), TOTP_DIGITS);
	memcpy(code, line, TOTP_DIGITS + 1);
}

static void test_oathtool(void **state)
{
	(void)state;
	static const int64_t times[] = {59,         1111111109, 1234567890, 1700000000,
	                                1764399064, 2000000000, 4102444799};
	for (int round = 0; round < 2; round++) {
		uint8_t secret[TOTP_SECRET_BYTES];
		if (round == 0)
			memcpy(secret, rfc_secret, sizeof(secret));
		else
			assert_int_equal(totp_secret_generate(secret), 0);
		char key[TOTP_BASE32_LEN + 1];
		assert_int_equal(totp_base32_encode(secret, sizeof(secret), key, sizeof(key)),
		                 TOTP_BASE32_LEN);
		for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
			const int64_t t = times[i];
			const int64_t s = t / 30;
			char now_code[TOTP_DIGITS + 1], before[TOTP_DIGITS + 1], after[TOTP_DIGITS + 1],
			    far[TOTP_DIGITS + 1], ours[TOTP_DIGITS + 1];
			oathtool_code(key, t, now_code);
			oathtool_code(key, t - 30, before);
			oathtool_code(key, t + 30, after);
			oathtool_code(key, t + 60, far);
			assert_int_equal(totp_generate(secret, t, ours), 0);
			assert_string_equal(ours, now_code);
			set_clock(t);
			int64_t step = -1;
			assert_int_equal(totp_verify(secret, now_code, 6, TOTP_NO_STEP, &step),
			                 TOTP_ACCEPTED);
			assert_int_equal(step, s);
			if (strcmp(before, now_code) != 0 && strcmp(before, after) != 0) {
				assert_int_equal(totp_verify(secret, before, 6, TOTP_NO_STEP, &step),
				                 TOTP_ACCEPTED);
				assert_int_equal(step, s - 1);
			}
			if (strcmp(after, now_code) != 0 && strcmp(after, before) != 0) {
				assert_int_equal(totp_verify(secret, after, 6, TOTP_NO_STEP, &step),
				                 TOTP_ACCEPTED);
				assert_int_equal(step, s + 1);
			}
			if (strcmp(far, now_code) && strcmp(far, before) && strcmp(far, after))
				assert_int_equal(totp_verify(secret, far, 6, TOTP_NO_STEP, &step),
				                 TOTP_WRONG);
			/* Used once, refused after (unless it is also the next step's code). */
			if (strcmp(now_code, after) != 0)
				assert_int_equal(totp_verify(secret, now_code, 6, s, &step), TOTP_REPLAYED);
		}
		sodium_memzero(secret, sizeof(secret));
	}
}

/* ---- recovery codes ------------------------------------------------------------------ */

static void sha256_hex(const char *data, size_t n, char hex[65])
{
	unsigned char md[32];
	unsigned int len = 0;
	assert_int_equal(EVP_Digest(data, n, md, &len, EVP_sha256(), NULL), 1);
	assert_int_equal(len, 32);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static void test_recovery_alphabet(void **state)
{
	(void)state;
	const char *a = RECOVERY_ALPHABET;
	assert_int_equal(strlen(a), 32);
	for (int i = 0; i < 32; i++) {
		assert_null(strchr("0O1I", a[i]));
		assert_null(strchr(a + i + 1, a[i])); /* distinct */
	}
	/* ≥ 80 bits: 32^16 = 2^80. */
	int bits = 0;
	for (int n = RECOVERY_ALPHABET_SIZE; n > 1; n /= 2)
		bits++;
	assert_true(bits * RECOVERY_SYMBOLS >= 80);
}

static void test_recovery_generate(void **state)
{
	(void)state;
	struct recovery_set set;
	assert_int_equal(recovery_generate(&set), 0);
	for (int i = 0; i < RECOVERY_CODE_COUNT; i++) {
		const char *d = set.display[i];
		assert_int_equal(strlen(d), RECOVERY_DISPLAY_LEN);
		char canon[RECOVERY_SYMBOLS + 1];
		size_t o = 0;
		for (int k = 0; k < RECOVERY_DISPLAY_LEN; k++) {
			if (k % 5 == 4) {
				assert_int_equal(d[k], '-');
				continue;
			}
			assert_non_null(strchr(RECOVERY_ALPHABET, d[k]));
			canon[o++] = d[k];
		}
		canon[o] = '\0';
		assert_int_equal(o, RECOVERY_SYMBOLS);
		/* The stored hash is SHA-256 of the 16 canonical symbols (checked with OpenSSL). */
		char hex[65];
		sha256_hex(canon, RECOVERY_SYMBOLS, hex);
		assert_string_equal(set.hash_hex[i], hex);
		for (int j = 0; j < i; j++) {
			assert_string_not_equal(set.display[i], set.display[j]);
			assert_string_not_equal(set.hash_hex[i], set.hash_hex[j]);
		}
	}
	/* Over 20 sets (3,200 symbols) every symbol of the alphabet shows up: the generator
	 * uses the whole alphabet (a missing one has probability ~ 32 × (31/32)^3200). */
	int seen[256] = {0};
	for (int r = 0; r < 20; r++) {
		struct recovery_set other;
		assert_int_equal(recovery_generate(&other), 0);
		for (int i = 0; i < RECOVERY_CODE_COUNT; i++) {
			assert_string_not_equal(other.display[i], set.display[i]);
			for (const char *p = other.display[i]; *p; p++)
				seen[(unsigned char)*p]++;
		}
		recovery_set_wipe(&other);
	}
	for (const char *p = RECOVERY_ALPHABET; *p; p++)
		assert_true(seen[(unsigned char)*p] > 0);
	recovery_set_wipe(&set);
	static const struct recovery_set zero;
	assert_memory_equal(&set, &zero, sizeof(set));
	recovery_set_wipe(NULL);
}

static void test_recovery_single_use(void **state)
{
	(void)state;
	struct recovery_set set;
	assert_int_equal(recovery_generate(&set), 0);
	/* What the accounts code stores: the hashes; a used one is deleted (NULL here). */
	const char *stored[RECOVERY_CODE_COUNT];
	for (int i = 0; i < RECOVERY_CODE_COUNT; i++)
		stored[i] = set.hash_hex[i];
	for (int i = RECOVERY_CODE_COUNT - 1; i >= 0; i--) {
		const char *d = set.display[i];
		assert_int_equal(recovery_match(d, strlen(d), stored, RECOVERY_CODE_COUNT), i);
		stored[i] = NULL; /* the caller deletes the matched row */
		assert_int_equal(recovery_match(d, strlen(d), stored, RECOVERY_CODE_COUNT), -1);
	}
	recovery_set_wipe(&set);
}

static void test_recovery_normalise(void **state)
{
	(void)state;
	struct recovery_set set;
	assert_int_equal(recovery_generate(&set), 0);
	const char *stored[RECOVERY_CODE_COUNT];
	for (int i = 0; i < RECOVERY_CODE_COUNT; i++)
		stored[i] = set.hash_hex[i];
	const char *d = set.display[3];
	char v[64];
	/* lower case, no dashes */
	size_t o = 0;
	for (const char *p = d; *p; p++)
		if (*p != '-')
			v[o++] = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
	assert_int_equal(recovery_match(v, o, stored, RECOVERY_CODE_COUNT), 3);
	/* spaces instead of dashes, surrounding spaces, mixed case */
	snprintf(v, sizeof(v), "  %.4s %.4s %.4s %.4s ", d, d + 5, d + 10, d + 15);
	v[3] = (char)((v[3] >= 'A' && v[3] <= 'Z') ? v[3] + 32 : v[3]);
	assert_int_equal(recovery_match(v, strlen(v), stored, RECOVERY_CODE_COUNT), 3);
	/* recovery_hash gives the stored form */
	char hex[RECOVERY_HASH_HEX_LEN + 1];
	assert_int_equal(recovery_hash(v, strlen(v), hex), 0);
	assert_string_equal(hex, set.hash_hex[3]);
	/* stored hashes in upper-case hex still match */
	char upper[RECOVERY_HASH_HEX_LEN + 1];
	for (int k = 0; k <= RECOVERY_HASH_HEX_LEN; k++)
		upper[k] =
		    (char)((set.hash_hex[3][k] >= 'a' && set.hash_hex[3][k] <= 'f') ? set.hash_hex[3][k] - 32
		                                                                    : set.hash_hex[3][k]);
	const char *one[] = {"not a hash", upper};
	assert_int_equal(recovery_match(d, strlen(d), one, 2), 1);

	/* Refused: one symbol short or long, look-alikes, other characters, too long. */
	char mod[32];
	snprintf(mod, sizeof(mod), "%.18s", d);
	assert_int_equal(recovery_match(mod, strlen(mod), stored, RECOVERY_CODE_COUNT), -1);
	snprintf(mod, sizeof(mod), "%sA", d);
	assert_int_equal(recovery_match(mod, strlen(mod), stored, RECOVERY_CODE_COUNT), -1);
	const char lookalikes[] = "0O1I_.";
	for (const char *c = lookalikes; *c; c++) {
		snprintf(mod, sizeof(mod), "%s", d);
		mod[0] = *c;
		assert_int_equal(recovery_match(mod, strlen(mod), stored, RECOVERY_CODE_COUNT), -1);
	}
	char dashes[LIMIT_RECOVERY_INPUT + 2];
	memset(dashes, '-', sizeof(dashes));
	memcpy(dashes, d, RECOVERY_DISPLAY_LEN);
	assert_int_equal(recovery_match(dashes, LIMIT_RECOVERY_INPUT, stored, RECOVERY_CODE_COUNT), 3);
	assert_int_equal(recovery_match(dashes, LIMIT_RECOVERY_INPUT + 1, stored, RECOVERY_CODE_COUNT), -1);
	assert_int_equal(recovery_match(NULL, 0, stored, RECOVERY_CODE_COUNT), -1);
	assert_int_equal(recovery_match(d, strlen(d), NULL, 0), -1);

	/* A well-formed code that is not in the set. */
	struct recovery_set other;
	assert_int_equal(recovery_generate(&other), 0);
	for (int i = 0; i < RECOVERY_CODE_COUNT; i++)
		assert_int_equal(
		    recovery_match(other.display[i], RECOVERY_DISPLAY_LEN, stored, RECOVERY_CODE_COUNT), -1);
	recovery_set_wipe(&other);
	recovery_set_wipe(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base32_rfc4648),
	    cmocka_unit_test(test_base32_refused),
	    cmocka_unit_test(test_base32_grouped),
	    cmocka_unit_test(test_secret_generate),
	    cmocka_unit_test(test_uri),
	    cmocka_unit_test(test_rfc6238),
	    cmocka_unit_test(test_window),
	    cmocka_unit_test(test_replay),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_oathtool),
	    cmocka_unit_test(test_recovery_alphabet),
	    cmocka_unit_test(test_recovery_generate),
	    cmocka_unit_test(test_recovery_single_use),
	    cmocka_unit_test(test_recovery_normalise),
	};
	return cmocka_run_group_tests(tests, clock_setup, clock_teardown);
}
