/* The encrypted backup container: round trips at chunk boundaries, and refusal of every
 * truncation, every flipped byte, swapped / dropped / duplicated chunks, trailing data,
 * a wrong key and a missing key id; write errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crypto/backup_file.c" /* reaches the static header helpers */
#include "crypto/keyring.h"

#define KEY1 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY2 "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
#define KEY3 "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8="

static struct keyring *ring(const char *text)
{
	struct keyring *kr = NULL;
	char err[512] = "";
	if (keyring_parse(text, strlen(text), "test.key", &kr, err, sizeof(err)) != 0)
		fail_msg("keyring_parse: %s", err);
	return kr;
}

struct blob {
	uint8_t *p;
	size_t n;
};

static int mem_fd(const uint8_t *p, size_t n)
{
	int fd = memfd_create("backup-test", 0);
	assert_true(fd >= 0);
	if (n)
		assert_int_equal(write(fd, p, n), (ssize_t)n);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static struct blob read_back(int fd)
{
	struct blob b = {0};
	off_t end = lseek(fd, 0, SEEK_END);
	assert_true(end >= 0);
	b.n = (size_t)end;
	b.p = malloc(b.n ? b.n : 1);
	assert_non_null(b.p);
	assert_int_equal(pread(fd, b.p, b.n, 0), (ssize_t)b.n);
	return b;
}

/* Encrypts plain (n bytes) with chunk size cs, written in pieces of `piece` bytes. */
static struct blob make_backup(const struct keyring *kr, const uint8_t *plain, size_t n, uint32_t cs,
                               size_t piece)
{
	char err[256] = "";
	int fd = mem_fd(NULL, 0);
	struct backup_writer *w = NULL;
	if (backup_writer_open(fd, kr, BACKUP_KIND_SQLITE, 7, cs, &w, err, sizeof(err)) != 0)
		fail_msg("writer_open: %s", err);
	for (size_t off = 0; off < n;) {
		size_t k = n - off < piece ? n - off : piece;
		assert_int_equal(backup_writer_write(w, plain + off, k, err, sizeof(err)), 0);
		off += k;
	}
	assert_int_equal(backup_writer_finish(w, err, sizeof(err)), 0);
	uint64_t bytes = backup_writer_bytes(w);
	backup_writer_free(w);
	struct blob b = read_back(fd);
	close(fd);
	assert_int_equal(b.n, bytes);
	return b;
}

/* Decrypts a file: returns 0 with the plaintext in *out (caller frees), or -1 with err. */
static int open_backup(const struct keyring *kr, const uint8_t *p, size_t n, struct blob *out, char *err,
                       size_t errlen)
{
	int fd = mem_fd(p, n);
	struct backup_reader *r = NULL;
	int rc = -1;
	out->p = NULL;
	out->n = 0;
	if (backup_reader_open(fd, kr, &r, err, errlen) < 0)
		goto done;
	for (;;) {
		const uint8_t *d;
		size_t k;
		int st = backup_reader_next(r, &d, &k, err, errlen);
		if (st < 0)
			goto done;
		if (st == 0)
			break;
		uint8_t *np = realloc(out->p, out->n + k + 1);
		assert_non_null(np);
		out->p = np;
		if (k)
			memcpy(out->p + out->n, d, k);
		out->n += k;
	}
	/* once at the end, it stays there */
	const uint8_t *d;
	size_t k;
	assert_int_equal(backup_reader_next(r, &d, &k, err, errlen), 0);
	rc = 0;
done:
	if (rc < 0) {
		free(out->p);
		out->p = NULL;
		out->n = 0;
	}
	backup_reader_free(r);
	close(fd);
	return rc;
}

static uint8_t *pattern(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 131 + (i >> 8));
	return p;
}

static void test_round_trip(void **state)
{
	(void)state;
	struct keyring *kr = ring("1 " KEY1 "\n2 " KEY2 "\n");
	const uint32_t cs = 16;
	const size_t sizes[] = {0, 1, 15, 16, 17, 31, 32, 33, 16 * 5 + 3};
	const size_t pieces[] = {1, 7, 16, 1000};
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (size_t q = 0; q < sizeof(pieces) / sizeof(pieces[0]); q++) {
			uint8_t *plain = pattern(sizes[s]);
			struct blob b = make_backup(kr, plain, sizes[s], cs, pieces[q]);
			/* header + one record per chunk; the final chunk carries the rest */
			size_t chunks = sizes[s] == 0 ? 1 : (sizes[s] + cs - 1) / cs;
			assert_int_equal(b.n, BACKUP_HEADER_BYTES + sizes[s] +
			                          chunks * (BACKUP_RECORD_HEAD + BACKUP_TAG_BYTES));
			struct blob out;
			char err[256] = "";
			if (open_backup(kr, b.p, b.n, &out, err, sizeof(err)) != 0)
				fail_msg("size %zu piece %zu: %s", sizes[s], pieces[q], err);
			assert_int_equal(out.n, sizes[s]);
			if (sizes[s])
				assert_memory_equal(out.p, plain, sizes[s]);
			free(out.p);
			free(b.p);
			free(plain);
		}
	}
	keyring_free(kr);
}

static void test_default_chunks_and_info(void **state)
{
	(void)state;
	struct keyring *kr = ring("3 " KEY3 "\n5 " KEY1 "\n");
	size_t n = 3 * BACKUP_CHUNK_DEFAULT + 12345;
	uint8_t *plain = pattern(n);
	struct blob b = make_backup(kr, plain, n, 0, 50000);
	/* header fields */
	int fd = mem_fd(b.p, b.n);
	struct backup_info info;
	char err[256] = "";
	assert_int_equal(backup_read_info(fd, &info, err, sizeof(err)), 0);
	close(fd);
	assert_int_equal(info.kind, BACKUP_KIND_SQLITE);
	assert_int_equal(info.key_id, 5); /* the active key */
	assert_int_equal(info.chunk_size, BACKUP_CHUNK_DEFAULT);
	assert_int_equal(info.schema_version, 7);
	assert_true(info.created_ms > 0);
	struct blob out;
	assert_int_equal(open_backup(kr, b.p, b.n, &out, err, sizeof(err)), 0);
	assert_int_equal(out.n, n);
	assert_memory_equal(out.p, plain, n);
	/* The file never holds the master key bytes, the derived keys or the plaintext. */
	assert_null(memmem(b.p, b.n, KEY1, strlen(KEY1)));
	uint8_t raw[32];
	for (int i = 0; i < 32; i++)
		raw[i] = (uint8_t)i; /* KEY1 decoded */
	assert_null(memmem(b.p, b.n, raw, sizeof(raw)));
	assert_null(memmem(b.p, b.n, plain + 1000, 64));
	/* An older key still in the ring opens files made under it. */
	struct keyring *older = ring("3 " KEY3 "\n");
	struct blob b3 = make_backup(older, plain, 100, 0, 100);
	struct blob out3;
	assert_int_equal(open_backup(kr, b3.p, b3.n, &out3, err, sizeof(err)), 0);
	assert_int_equal(out3.n, 100);
	free(out3.p);
	free(b3.p);
	keyring_free(older);
	free(out.p);
	free(b.p);
	free(plain);
	keyring_free(kr);
}

static void test_truncated_refused(void **state)
{
	(void)state;
	struct keyring *kr = ring("1 " KEY1 "\n");
	uint8_t *plain = pattern(70);
	struct blob b = make_backup(kr, plain, 70, 16, 70);
	for (size_t cut = 0; cut < b.n; cut++) {
		struct blob out;
		char err[256] = "";
		if (open_backup(kr, b.p, cut, &out, err, sizeof(err)) == 0)
			fail_msg("a file cut to %zu of %zu bytes opened", cut, b.n);
		assert_true(err[0] != '\0');
		if (cut >= BACKUP_HEADER_BYTES && cut % 37 == 0)
			assert_non_null(strstr(err, "truncated"));
	}
	free(b.p);
	free(plain);
	keyring_free(kr);
}

static void test_every_flipped_byte_refused(void **state)
{
	(void)state;
	struct keyring *kr = ring("1 " KEY1 "\n");
	uint8_t *plain = pattern(40);
	struct blob b = make_backup(kr, plain, 40, 16, 40);
	for (size_t i = 0; i < b.n; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			b.p[i] ^= (uint8_t)(1u << bit);
			struct blob out;
			char err[256] = "";
			if (open_backup(kr, b.p, b.n, &out, err, sizeof(err)) == 0)
				fail_msg("flipping bit %d of byte %zu went unnoticed", bit, i);
			b.p[i] ^= (uint8_t)(1u << bit);
		}
	}
	/* unchanged, it still opens */
	struct blob out;
	char err[256] = "";
	assert_int_equal(open_backup(kr, b.p, b.n, &out, err, sizeof(err)), 0);
	free(out.p);
	free(b.p);
	free(plain);
	keyring_free(kr);
}

/* Records of a file with chunk size 16 and 48 bytes of plaintext: three records of
 * 16 + 21 bytes each. */
#define REC (BACKUP_RECORD_HEAD + 16 + BACKUP_TAG_BYTES)

static void test_chunk_surgery_refused(void **state)
{
	(void)state;
	struct keyring *kr = ring("1 " KEY1 "\n");
	uint8_t *plain = pattern(48);
	struct blob b = make_backup(kr, plain, 48, 16, 48);
	assert_int_equal(b.n, BACKUP_HEADER_BYTES + 3 * REC);
	uint8_t *h = b.p, *r0 = b.p + BACKUP_HEADER_BYTES, *r1 = r0 + REC, *r2 = r1 + REC;
	uint8_t *m = malloc(b.n + 2 * REC);
	assert_non_null(m);
	struct blob out;
	char err[256];

	/* swap records 0 and 1 */
	memcpy(m, h, BACKUP_HEADER_BYTES);
	memcpy(m + BACKUP_HEADER_BYTES, r1, REC);
	memcpy(m + BACKUP_HEADER_BYTES + REC, r0, REC);
	memcpy(m + BACKUP_HEADER_BYTES + 2 * REC, r2, REC);
	assert_int_equal(open_backup(kr, m, b.n, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "does not decrypt"));

	/* drop the middle record */
	memcpy(m, h, BACKUP_HEADER_BYTES);
	memcpy(m + BACKUP_HEADER_BYTES, r0, REC);
	memcpy(m + BACKUP_HEADER_BYTES + REC, r2, REC);
	assert_int_equal(open_backup(kr, m, b.n - REC, &out, err, sizeof(err)), -1);

	/* drop the final record (a clean cut at a record boundary) */
	assert_int_equal(open_backup(kr, b.p, b.n - REC, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "truncated"));

	/* duplicate a record */
	memcpy(m, h, BACKUP_HEADER_BYTES);
	memcpy(m + BACKUP_HEADER_BYTES, r0, REC);
	memcpy(m + BACKUP_HEADER_BYTES + REC, r0, REC);
	memcpy(m + BACKUP_HEADER_BYTES + 2 * REC, r1, REC);
	memcpy(m + BACKUP_HEADER_BYTES + 3 * REC, r2, REC);
	assert_int_equal(open_backup(kr, m, b.n + REC, &out, err, sizeof(err)), -1);

	/* mark a middle record final (flag is authenticated) */
	memcpy(m, b.p, b.n);
	m[BACKUP_HEADER_BYTES] |= BACKUP_FLAG_FINAL;
	assert_int_equal(open_backup(kr, m, b.n, &out, err, sizeof(err)), -1);

	/* trailing bytes after the final record */
	memcpy(m, b.p, b.n);
	m[b.n] = 0;
	assert_int_equal(open_backup(kr, m, b.n + 1, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "after its final chunk"));

	/* a record from another file made with the same key, at the same position */
	struct blob other = make_backup(kr, plain, 48, 16, 48);
	memcpy(m, b.p, b.n);
	memcpy(m + BACKUP_HEADER_BYTES + REC, other.p + BACKUP_HEADER_BYTES + REC, REC);
	assert_int_equal(open_backup(kr, m, b.n, &out, err, sizeof(err)), -1);

	/* a length larger than the chunk size is refused before reading it */
	memcpy(m, b.p, b.n);
	put_u32(m + BACKUP_HEADER_BYTES + 1, 17);
	assert_int_equal(open_backup(kr, m, b.n, &out, err, sizeof(err)), -1);

	free(other.p);
	free(m);
	free(b.p);
	free(plain);
	keyring_free(kr);
}

static void test_wrong_key_refused(void **state)
{
	(void)state;
	struct keyring *kr = ring("1 " KEY1 "\n");
	struct keyring *wrong = ring("1 " KEY2 "\n");
	struct keyring *other_id = ring("2 " KEY1 "\n");
	uint8_t *plain = pattern(100);
	struct blob b = make_backup(kr, plain, 100, 0, 100);
	struct blob out;
	char err[256] = "";
	assert_int_equal(open_backup(wrong, b.p, b.n, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "does not decrypt with this master key"));
	assert_int_equal(open_backup(other_id, b.p, b.n, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "key id 1"));
	assert_non_null(strstr(err, "test.key"));
	free(b.p);
	free(plain);
	keyring_free(kr);
	keyring_free(wrong);
	keyring_free(other_id);
}

static void test_bad_headers(void **state)
{
	(void)state;
	struct keyring *kr = ring("1 " KEY1 "\n");
	struct blob b = make_backup(kr, (const uint8_t *)"x", 1, 0, 1);
	struct backup_info info;
	char err[256];
	int fd;
	/* not a backup at all */
	fd = mem_fd((const uint8_t *)"SQLite format 3", 15);
	assert_int_equal(backup_read_info(fd, &info, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a DropFix backup"));
	close(fd);
	uint8_t h[BACKUP_HEADER_BYTES];
	memcpy(h, b.p, sizeof(h));
	h[8] = 2; /* a future version */
	fd = mem_fd(h, sizeof(h));
	assert_int_equal(backup_read_info(fd, &info, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "version 2"));
	close(fd);
	memcpy(h, b.p, sizeof(h));
	put_u32(h + 16, LIMIT_BACKUP_CHUNK + 1); /* chunk size over the limit: no huge allocation */
	fd = mem_fd(h, sizeof(h));
	assert_int_equal(backup_read_info(fd, &info, err, sizeof(err)), -1);
	close(fd);
	memcpy(h, b.p, sizeof(h));
	h[9] = 9;
	fd = mem_fd(h, sizeof(h));
	assert_int_equal(backup_read_info(fd, &info, err, sizeof(err)), -1);
	close(fd);
	free(b.p);
	keyring_free(kr);
}

static void test_write_errors(void **state)
{
	(void)state;
	struct keyring *kr = ring("1 " KEY1 "\n");
	char err[256] = "";
	struct backup_writer *w = NULL;
	/* a full disk */
	int fd = open("/dev/full", O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(backup_writer_open(fd, kr, BACKUP_KIND_PG_SQL, 1, 16, &w, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "write failed"));
	assert_null(w);
	close(fd);
	/* a reader that goes away mid-way (a closed pipe) */
	int p[2];
	assert_int_equal(pipe(p), 0);
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(backup_writer_open(p[1], kr, BACKUP_KIND_PG_SQL, 1, 16, &w, err, sizeof(err)), 0);
	close(p[0]);
	uint8_t buf[64] = {0};
	assert_int_equal(backup_writer_write(w, buf, sizeof(buf), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "write failed"));
	/* a failed writer stays failed */
	assert_int_equal(backup_writer_write(w, buf, 1, err, sizeof(err)), -1);
	assert_int_equal(backup_writer_finish(w, err, sizeof(err)), -1);
	backup_writer_free(w);
	close(p[1]);
	/* bad arguments */
	assert_int_equal(
	    backup_writer_open(1, kr, BACKUP_KIND_SQLITE, 1, LIMIT_BACKUP_CHUNK + 1, &w, err, sizeof(err)),
	    -1);
	assert_int_equal(backup_writer_open(1, kr, (enum backup_kind)9, 1, 0, &w, err, sizeof(err)), -1);
	backup_writer_free(NULL);
	backup_reader_free(NULL);
	keyring_free(kr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_default_chunks_and_info),
	    cmocka_unit_test(test_truncated_refused),
	    cmocka_unit_test(test_every_flipped_byte_refused),
	    cmocka_unit_test(test_chunk_surgery_refused),
	    cmocka_unit_test(test_wrong_key_refused),
	    cmocka_unit_test(test_bad_headers),
	    cmocka_unit_test(test_write_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
