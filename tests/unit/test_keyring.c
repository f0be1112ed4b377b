/* The master keyring: parsing, file checks and their messages, creation, rotation,
 * retirement, I/O failures at every step, the key-check value. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "crypto/keyring.c" /* reaches kr_fault_at */

#define KEY1 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY2 "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
#define KEY3 "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8="

struct fx {
	char dir[256];
	char path[300];
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *base = getenv("DROPFIX_TEST_TMP");
	snprintf(f->dir, sizeof(f->dir), "%s/keyring.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/master.key", f->dir);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	DIR *d = opendir(f->dir);
	struct dirent *e;
	char p[600];
	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
		if (unlink(p) < 0)
			rmdir(p);
	}
	if (d)
		closedir(d);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	unlink(path);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* Reads a whole small file into a malloc'ed string (NULL when absent). */
static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	if (!fp)
		return NULL;
	char *buf = calloc(1, 70000);
	size_t n = fread(buf, 1, 69999, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* Number of entries in dir besides "." and "..". */
static int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* ---- parsing ---- */

static void test_parse_valid(void **state)
{
	(void)state;
	struct keyring *kr = NULL;
	char err[512] = "";
	const char *t = "1 " KEY1 "\n2 " KEY2 "\n3 " KEY3 "\n";
	assert_int_equal(keyring_parse(t, strlen(t), "test.key", &kr, err, sizeof(err)), 0);
	assert_int_equal(keyring_count(kr), 3);
	assert_int_equal(keyring_id_at(kr, 0), 1);
	assert_int_equal(keyring_id_at(kr, 2), 3);
	assert_int_equal(keyring_id_at(kr, 3), 0);
	assert_int_equal(keyring_active_id(kr), 3);
	assert_true(keyring_has(kr, 2));
	assert_false(keyring_has(kr, 4));
	assert_string_equal(keyring_name(kr), "test.key");
	keyring_free(kr);

	/* Blank lines, CRLF and a missing final newline are tolerated. */
	t = "\n1 " KEY1 "\r\n\n3 " KEY3;
	assert_int_equal(keyring_parse(t, strlen(t), "test.key", &kr, err, sizeof(err)), 0);
	assert_int_equal(keyring_count(kr), 2);
	assert_int_equal(keyring_active_id(kr), 3);
	keyring_free(kr);

	/* The active key is the last line, not the largest id. */
	t = "5 " KEY1 "\n2 " KEY2 "\n";
	assert_int_equal(keyring_parse(t, strlen(t), "test.key", &kr, err, sizeof(err)), 0);
	assert_int_equal(keyring_active_id(kr), 2);
	keyring_free(kr);

	/* Largest allowed id. */
	t = "2147483647 " KEY1 "\n";
	assert_int_equal(keyring_parse(t, strlen(t), "test.key", &kr, err, sizeof(err)), 0);
	assert_int_equal(keyring_active_id(kr), 2147483647u);
	keyring_free(kr);
}

struct bad_case {
	const char *text;
	const char *msg;
};

static void test_parse_errors(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
	    {"", "holds no key"},
	    {"\n\r\n\n", "holds no key"},
	    {"1" KEY1 "\n", "line 1 is malformed"},
	    {"1  " KEY1 "\n", "line 1 is malformed"},
	    {" 1 " KEY1 "\n", "line 1 is malformed"},
	    {"1 " KEY1 " \n", "line 1 is malformed"},
	    {"1\t" KEY1 "\n", "line 1 is malformed"},
	    {"1 " KEY1 " 2\n", "line 1 is malformed"},
	    {"1 " KEY1 "\n# comment\n", "line 2: the key id must be"},
	    {"1 " KEY1 "\n#comment\n", "line 2 is malformed"},
	    {"0 " KEY1 "\n", "line 1: the key id must be a whole number from 1 to 2147483647"},
	    {"-1 " KEY1 "\n", "line 1: the key id must be"},
	    {"+1 " KEY1 "\n", "line 1: the key id must be"},
	    {"1a " KEY1 "\n", "line 1: the key id must be"},
	    {"x " KEY1 "\n", "line 1: the key id must be"},
	    {"2147483648 " KEY1 "\n", "line 1: the key id must be"},
	    {"99999999999999999999999 " KEY1 "\n", "line 1: the key id must be"},
	    {"1 " KEY1 "\n2 short\n", "line 2: the key is not valid base64"},
	    {"1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n", "line 1: the key is not valid base64"},
	    {"1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-=\n", "line 1: the key is not valid base64"},
	    {"1 AAAA\n", "line 1: the key is 3 bytes, expected 32"},
	    {"1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n", "the key is 31 bytes, expected 32"},
	    {"1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n", "the key is 33 bytes, expected 32"},
	    {"1 " KEY1 "\n1 " KEY2 "\n", "line 2: key id 1 appears more than once"},
	    {"01 " KEY1 "\n1 " KEY2 "\n", "line 2: key id 1 appears more than once"},
	    {"3 " KEY1 "\n2 " KEY2 "\n3 " KEY1 "\n", "line 3: key id 3 appears more than once"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct keyring *kr = (struct keyring *)1;
		char err[512] = "";
		if (keyring_parse(cases[i].text, strlen(cases[i].text), "test.key", &kr, err, sizeof(err)) ==
		    0)
			fail_msg("case %zu parsed", i);
		assert_null(kr);
		assert_contains(err, "master key file test.key");
		assert_contains(err, cases[i].msg);
		assert_null(strchr(err, '\n'));
		/* Never a piece of a key in a message. */
		assert_null(strstr(err, "AAECAwQF"));
		assert_null(strstr(err, "ICEiIyQl"));
	}

	/* A NUL byte inside a line. */
	char nul[] = "1 " KEY1 "\n";
	nul[5] = '\0';
	struct keyring *kr = NULL;
	char err[512] = "";
	assert_int_equal(keyring_parse(nul, sizeof(nul) - 1, "test.key", &kr, err, sizeof(err)), -1);
	assert_contains(err, "line 1");

	/* An over-long line. */
	char *line = malloc(LIMIT_KEYRING_LINE + 8);
	memset(line, 'A', LIMIT_KEYRING_LINE + 7);
	memcpy(line, "1 ", 2);
	line[LIMIT_KEYRING_LINE + 7] = '\0';
	assert_int_equal(keyring_parse(line, strlen(line), "test.key", &kr, err, sizeof(err)), -1);
	assert_contains(err, "line 1 is malformed");
	free(line);

	/* Too many keys, and the largest number accepted. */
	size_t cap = (LIMIT_KEYRING_KEYS + 1) * 60;
	char *many = malloc(cap);
	size_t pos = 0;
	for (int i = 1; i <= LIMIT_KEYRING_KEYS + 1; i++)
		pos += (size_t)snprintf(many + pos, cap - pos, "%d %s\n", i, KEY1);
	assert_int_equal(keyring_parse(many, pos, "test.key", &kr, err, sizeof(err)), -1);
	assert_contains(err, "more than 256 keys");
	size_t last = pos - strlen(KEY1) - 5; /* drop the 257th line */
	while (many[last - 1] != '\n')
		last--;
	assert_int_equal(keyring_parse(many, last, "test.key", &kr, err, sizeof(err)), 0);
	assert_int_equal(keyring_count(kr), LIMIT_KEYRING_KEYS);
	assert_int_equal(keyring_active_id(kr), LIMIT_KEYRING_KEYS);
	keyring_free(kr);
	free(many);

	/* Larger than the file limit. */
	char *huge = calloc(1, LIMIT_KEYRING_FILE + 2);
	memset(huge, '\n', LIMIT_KEYRING_FILE + 1);
	assert_int_equal(keyring_parse(huge, LIMIT_KEYRING_FILE + 1, "test.key", &kr, err, sizeof(err)), -1);
	assert_contains(err, "larger than 65536 bytes");
	free(huge);
}

/* ---- file checks ---- */

static void test_load_file_checks(void **state)
{
	struct fx *f = *state;
	struct keyring *kr = NULL;
	char err[1024] = "";
	char want[700];

	/* Missing. */
	assert_int_equal(keyring_load(f->path, &kr, err, sizeof(err)), -1);
	assert_null(kr);
	assert_contains(err, f->path);
	assert_contains(err, "does not exist");

	/* Readable or writable by group or others. */
	const mode_t loose[] = {0644, 0640, 0604, 0660, 0606, 0602, 0620, 0666, 0444};
	for (size_t i = 0; i < sizeof(loose) / sizeof(loose[0]); i++) {
		write_file(f->path, "1 " KEY1 "\n", loose[i]);
		assert_int_equal(keyring_load(f->path, &kr, err, sizeof(err)), -1);
		assert_null(kr);
		assert_contains(err, "must not be readable or writable by group or others");
		snprintf(want, sizeof(want), "run: chmod 600 %s", f->path);
		assert_contains(err, want);
		assert_null(strchr(err, '\n'));
	}
	/* Other odd modes. */
	const mode_t odd[] = {0700, 0200, 0000, 0500, 04600};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		write_file(f->path, "1 " KEY1 "\n", odd[i]);
		assert_int_equal(keyring_load(f->path, &kr, err, sizeof(err)), -1);
		assert_contains(err, "expected 0600 or 0400");
		assert_contains(err, want);
	}
	/* 0600 and 0400 load. */
	write_file(f->path, "1 " KEY1 "\n2 " KEY2 "\n", 0600);
	assert_int_equal(keyring_load(f->path, &kr, err, sizeof(err)), 0);
	assert_int_equal(keyring_active_id(kr), 2);
	assert_string_equal(keyring_name(kr), f->path);
	keyring_free(kr);
	write_file(f->path, "1 " KEY1 "\n", 0400);
	assert_int_equal(keyring_load(f->path, &kr, err, sizeof(err)), 0);
	keyring_free(kr);

	/* Malformed content through a file: the message names the file. */
	write_file(f->path, "1 " KEY1 "\n1 " KEY2 "\n", 0600);
	assert_int_equal(keyring_load(f->path, &kr, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "master key file %s line 2: key id 1 appears more than once", f->path);
	assert_contains(err, want);

	/* Not a regular file: a directory, a FIFO (must not block). */
	char other[400];
	snprintf(other, sizeof(other), "%s/dir.key", f->dir);
	assert_int_equal(mkdir(other, 0700), 0);
	assert_int_equal(keyring_load(other, &kr, err, sizeof(err)), -1);
	assert_contains(err, other);
	assert_contains(err, "is not a regular file");
	snprintf(other, sizeof(other), "%s/fifo.key", f->dir);
	assert_int_equal(mkfifo(other, 0600), 0);
	assert_int_equal(keyring_load(other, &kr, err, sizeof(err)), -1);
	assert_contains(err, "is not a regular file");

	/* A symlink to a good file loads (systemd credentials, deploy layouts). */
	write_file(f->path, "1 " KEY1 "\n", 0600);
	snprintf(other, sizeof(other), "%s/link.key", f->dir);
	assert_int_equal(symlink(f->path, other), 0);
	assert_int_equal(keyring_load(other, &kr, err, sizeof(err)), 0);
	keyring_free(kr);

	/* Too large on disk. */
	char *big = malloc(LIMIT_KEYRING_FILE + 2);
	memset(big, '\n', LIMIT_KEYRING_FILE + 1);
	big[LIMIT_KEYRING_FILE + 1] = '\0';
	write_file(f->path, big, 0600);
	free(big);
	assert_int_equal(keyring_load(f->path, &kr, err, sizeof(err)), -1);
	assert_contains(err, "larger than 65536 bytes");

	/* Unreadable: an I/O error on open or read. (Root reads any mode, so EACCES is
	 * checked only when not root.) */
	write_file(f->path, "1 " KEY1 "\n", 0600);
	kr_fault_step = 0;
	kr_fault_at = 1;
	assert_int_equal(keyring_load(f->path, &kr, err, sizeof(err)), -1);
	assert_contains(err, f->path);
	assert_contains(err, "cannot be opened");
	kr_fault_step = 0;
	kr_fault_at = 2;
	assert_int_equal(keyring_load(f->path, &kr, err, sizeof(err)), -1);
	assert_contains(err, "cannot be read");
	kr_fault_at = 0;
	if (geteuid() != 0) {
		write_file(f->path, "1 " KEY1 "\n", 0000);
		assert_int_equal(keyring_load(f->path, &kr, err, sizeof(err)), -1);
		assert_contains(err, "cannot be read");
		assert_contains(err, "chmod 600");
	}

	assert_int_equal(keyring_load("", &kr, err, sizeof(err)), -1);
	assert_contains(err, "DROPFIX_MASTER_KEY_FILE");
}

/* ---- creation ---- */

static void test_create(void **state)
{
	struct fx *f = *state;
	struct keyring *kr = NULL, *back = NULL;
	char err[1024] = "";
	struct stat st;
	uint8_t a[32], b[32];

	mode_t old = umask(0022);
	assert_int_equal(keyring_create(f->path, &kr, err, sizeof(err)), 0);
	umask(old);
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(dir_entries(f->dir), 1); /* no temporary file left */
	assert_int_equal(keyring_count(kr), 1);
	assert_int_equal(keyring_active_id(kr), 1);

	/* The file holds one well-formed line and loads back to the same key. */
	char *text = slurp(f->path);
	assert_int_equal(strlen(text), 2 + 44 + 1);
	assert_true(strncmp(text, "1 ", 2) == 0);
	assert_int_equal(text[46], '\n');
	assert_int_equal(keyring_load(f->path, &back, err, sizeof(err)), 0);
	assert_int_equal(keyring_derive(kr, 1, KEYRING_PURPOSE_AUDIT, a), 0);
	assert_int_equal(keyring_derive(back, 1, KEYRING_PURPOSE_AUDIT, b), 0);
	assert_memory_equal(a, b, 32);
	keyring_free(back);

	/* Never overwrites. */
	struct keyring *again = (struct keyring *)1;
	assert_int_equal(keyring_create(f->path, &again, err, sizeof(err)), -1);
	assert_null(again);
	assert_contains(err, f->path);
	assert_contains(err, "already exists");
	char *text2 = slurp(f->path);
	assert_string_equal(text, text2);
	assert_int_equal(dir_entries(f->dir), 1);
	free(text2);
	free(text);
	keyring_free(kr);

	/* Two creations give different keys. */
	char p2[400];
	snprintf(p2, sizeof(p2), "%s/second.key", f->dir);
	/* A restrictive umask still yields exactly 0600. */
	old = umask(0277);
	assert_int_equal(keyring_create(p2, &back, err, sizeof(err)), 0);
	umask(old);
	assert_int_equal(stat(p2, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(keyring_derive(back, 1, KEYRING_PURPOSE_AUDIT, b), 0);
	assert_memory_not_equal(a, b, 32);
	keyring_free(back);

	/* Missing directory. */
	snprintf(p2, sizeof(p2), "%s/nope/master.key", f->dir);
	assert_int_equal(keyring_create(p2, &back, err, sizeof(err)), -1);
	assert_contains(err, "nope/master.key");
}

static void test_load_or_create(void **state)
{
	struct fx *f = *state;
	struct keyring *kr = NULL, *kr2 = NULL;
	char err[1024] = "";
	int created = -1;
	uint8_t a[32], b[32];
	assert_int_equal(keyring_load_or_create(f->path, &kr, &created, err, sizeof(err)), 0);
	assert_int_equal(created, 1);
	assert_int_equal(keyring_load_or_create(f->path, &kr2, &created, err, sizeof(err)), 0);
	assert_int_equal(created, 0);
	assert_int_equal(keyring_derive(kr, 1, KEYRING_PURPOSE_BACKUP, a), 0);
	assert_int_equal(keyring_derive(kr2, 1, KEYRING_PURPOSE_BACKUP, b), 0);
	assert_memory_equal(a, b, 32);
	keyring_free(kr);
	keyring_free(kr2);
	/* An existing bad file is reported, never replaced. */
	write_file(f->path, "1 " KEY1 "\n", 0644);
	assert_int_equal(keyring_load_or_create(f->path, &kr, &created, err, sizeof(err)), -1);
	assert_int_equal(created, 0);
	assert_contains(err, "chmod 600");
	char *t = slurp(f->path);
	assert_string_equal(t, "1 " KEY1 "\n");
	free(t);
}

/* ---- rotation and retirement ---- */

static const struct seal_ad ad = {"workspace", 9, "profiles", "email", "u-1"};

static void test_rotate_retire(void **state)
{
	struct fx *f = *state;
	struct keyring *kr = NULL, *back = NULL;
	char err[1024] = "";
	uint32_t id = 0;
	struct stat st;
	char *sealed = NULL, *resealed = NULL;
	uint8_t *plain = NULL;
	size_t n = 0;
	int active = 0;

	write_file(f->path, "1 " KEY1 "\n", 0400);
	assert_int_equal(keyring_load(f->path, &kr, err, sizeof(err)), 0);
	assert_int_equal(seal_value(kr, &ad, (const uint8_t *)"a@b.example", 11, &sealed), 0);

	assert_int_equal(keyring_rotate(kr, f->path, &id, err, sizeof(err)), 0);
	assert_int_equal(id, 2);
	assert_int_equal(keyring_active_id(kr), 2);
	assert_int_equal(keyring_count(kr), 2);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(dir_entries(f->dir), 1);
	char *text = slurp(f->path);
	assert_true(strncmp(text, "1 " KEY1 "\n2 ", strlen("1 " KEY1 "\n2 ")) == 0);
	assert_int_equal(strlen(text), strlen("1 " KEY1 "\n") + 2 + 44 + 1);
	free(text);
	assert_int_equal(keyring_load(f->path, &back, err, sizeof(err)), 0);
	assert_true(kr_same(kr, back));
	keyring_free(back);

	/* Old values still open; re-seal moves them to key 2. */
	assert_int_equal(seal_open(kr, &ad, sealed, &plain, &n), 0);
	seal_plain_free(plain, n);
	assert_int_equal(seal_reseal(kr, &ad, sealed, &resealed, &active), 0);
	assert_int_equal(active, 0);
	assert_int_equal(seal_key_id(resealed, &id), 0);
	assert_int_equal(id, 2);

	assert_int_equal(keyring_rotate(kr, f->path, &id, err, sizeof(err)), 0);
	assert_int_equal(id, 3);

	/* Retire: not the active key, not an unknown id; the file is untouched then. */
	char *before = slurp(f->path);
	assert_int_equal(keyring_retire(kr, f->path, 3, err, sizeof(err)), -1);
	assert_contains(err, "key id 3 is the active key");
	assert_int_equal(keyring_retire(kr, f->path, 9, err, sizeof(err)), -1);
	assert_contains(err, "holds no key id 9");
	char *after = slurp(f->path);
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_int_equal(keyring_count(kr), 3);

	assert_int_equal(keyring_retire(kr, f->path, 1, err, sizeof(err)), 0);
	assert_int_equal(keyring_count(kr), 2);
	assert_int_equal(keyring_id_at(kr, 0), 2);
	assert_int_equal(keyring_active_id(kr), 3);
	assert_false(keyring_has(kr, 1));
	text = slurp(f->path);
	assert_true(strncmp(text, "2 ", 2) == 0);
	assert_null(strstr(text, KEY1));
	free(text);
	assert_int_equal(keyring_load(f->path, &back, err, sizeof(err)), 0);
	assert_true(kr_same(kr, back));
	keyring_free(back);
	/* The value re-sealed under key 2 opens; the old one no longer does. */
	assert_int_equal(seal_open(kr, &ad, resealed, &plain, &n), 0);
	assert_memory_equal(plain, "a@b.example", 11);
	seal_plain_free(plain, n);
	assert_int_equal(seal_open(kr, &ad, sealed, &plain, &n), -1);
	assert_int_equal(dir_entries(f->dir), 1);

	free(sealed);
	free(resealed);
	keyring_free(kr);
}

static void test_rotate_refusals(void **state)
{
	struct fx *f = *state;
	struct keyring *a = NULL, *b = NULL;
	char err[1024] = "";
	uint32_t id = 0;

	write_file(f->path, "1 " KEY1 "\n", 0600);
	assert_int_equal(keyring_load(f->path, &a, err, sizeof(err)), 0);
	assert_int_equal(keyring_load(f->path, &b, err, sizeof(err)), 0);
	/* b rotates; a's view is stale and must not clobber b's key. */
	assert_int_equal(keyring_rotate(b, f->path, &id, err, sizeof(err)), 0);
	assert_int_equal(keyring_rotate(a, f->path, &id, err, sizeof(err)), -1);
	assert_contains(err, "changed since it was loaded");
	assert_int_equal(keyring_retire(a, f->path, 1, err, sizeof(err)), -1);
	assert_contains(err, "changed since it was loaded");
	assert_int_equal(keyring_count(a), 1);
	keyring_free(a);

	/* A symlink is not replaced. */
	char link[400];
	snprintf(link, sizeof(link), "%s/link.key", f->dir);
	assert_int_equal(symlink(f->path, link), 0);
	assert_int_equal(keyring_load(link, &a, err, sizeof(err)), 0);
	assert_int_equal(keyring_rotate(a, link, &id, err, sizeof(err)), -1);
	assert_contains(err, "is a symbolic link");
	keyring_free(a);
	keyring_free(b);

	/* No id left after the largest. */
	write_file(f->path, "2147483647 " KEY1 "\n", 0600);
	assert_int_equal(keyring_load(f->path, &a, err, sizeof(err)), 0);
	assert_int_equal(keyring_rotate(a, f->path, &id, err, sizeof(err)), -1);
	assert_contains(err, "no room for another key");
	keyring_free(a);

	/* A file that went bad since loading is reported as such. */
	write_file(f->path, "1 " KEY1 "\n", 0600);
	assert_int_equal(keyring_load(f->path, &a, err, sizeof(err)), 0);
	assert_int_equal(chmod(f->path, 0644), 0);
	assert_int_equal(keyring_rotate(a, f->path, &id, err, sizeof(err)), -1);
	assert_contains(err, "chmod 600");
	keyring_free(a);
}

/* Every I/O step of a rotation fails in turn: the key file is then either untouched or
 * (directory fsync, the last step) already replaced and reported as such; the
 * in-memory keyring changes only on success; no temporary file is left behind. */
static void test_rotate_io_faults(void **state)
{
	struct fx *f = *state;
	char err[1024] = "";
	int failures = 0;
	int step;
	for (step = 1; step < 50; step++) {
		struct keyring *kr = NULL;
		uint32_t id = 0;
		write_file(f->path, "1 " KEY1 "\n", 0600);
		char *orig = slurp(f->path);
		assert_int_equal(keyring_load(f->path, &kr, err, sizeof(err)), 0);
		kr_fault_step = 0;
		kr_fault_at = step;
		int rc = keyring_rotate(kr, f->path, &id, err, sizeof(err));
		kr_fault_at = 0;
		assert_int_equal(dir_entries(f->dir), 1);
		char *now = slurp(f->path);
		if (rc == 0) {
			assert_int_equal(keyring_active_id(kr), 2);
			free(orig);
			free(now);
			keyring_free(kr);
			break;
		}
		failures++;
		assert_int_equal(keyring_count(kr), 1);
		assert_int_equal(keyring_active_id(kr), 1);
		if (strcmp(orig, now) != 0)
			assert_contains(err, "could not be synced");
		assert_null(strchr(err, '\n'));
		free(orig);
		free(now);
		keyring_free(kr);
	}
	/* open, read, read-to-EOF (reload), open tmp, fchmod, write, fsync, rename, dir fsync. */
	assert_int_equal(failures, 9);
	assert_true(step < 50);
}

static void test_create_io_faults(void **state)
{
	struct fx *f = *state;
	char err[1024] = "";
	int failures = 0;
	for (int step = 1; step < 50; step++) {
		struct keyring *kr = NULL;
		unlink(f->path);
		kr_fault_step = 0;
		kr_fault_at = step;
		int rc = keyring_create(f->path, &kr, err, sizeof(err));
		kr_fault_at = 0;
		if (rc == 0) {
			keyring_free(kr);
			break;
		}
		failures++;
		assert_null(kr);
		assert_int_equal(dir_entries(f->dir), access(f->path, F_OK) == 0 ? 1 : 0);
		if (access(f->path, F_OK) == 0)
			assert_contains(err, "could not be synced");
	}
	/* open tmp, fchmod, write, fsync, link, dir fsync. */
	assert_int_equal(failures, 6);
}

/* ---- the key-check value ---- */

static void test_key_check(void **state)
{
	struct fx *f = *state;
	struct keyring *kr = NULL, *wrong = NULL, *other = NULL;
	char err[1024] = "";
	char *check = NULL, *check2 = NULL;
	int stale = -1;
	uint32_t id = 0;

	write_file(f->path, "1 " KEY1 "\n", 0600);
	assert_int_equal(keyring_load(f->path, &kr, err, sizeof(err)), 0);
	assert_int_equal(keyring_make_check(kr, &check), 0);
	assert_true(strncmp(check, "s1.", 3) == 0);
	assert_int_equal(keyring_verify_check(kr, check, &stale, err, sizeof(err)), 0);
	assert_int_equal(stale, 0);

	/* A well-formed but wrong key under the same id. */
	const char *w = "1 " KEY2 "\n";
	assert_int_equal(keyring_parse(w, strlen(w), "wrong.key", &wrong, err, sizeof(err)), 0);
	assert_int_equal(keyring_verify_check(wrong, check, &stale, err, sizeof(err)), -1);
	assert_contains(err, "master key file wrong.key does not match this installation's data");
	/* A keyring without the id. */
	const char *o = "2 " KEY1 "\n";
	assert_int_equal(keyring_parse(o, strlen(o), "other.key", &other, err, sizeof(err)), 0);
	assert_int_equal(keyring_verify_check(other, check, &stale, err, sizeof(err)), -1);
	assert_contains(err, "master key file other.key has no key id 1");
	/* Garbage or a changed value. */
	assert_int_equal(keyring_verify_check(kr, "not sealed", &stale, err, sizeof(err)), -1);
	assert_contains(err, "malformed");
	assert_int_equal(keyring_verify_check(kr, NULL, &stale, err, sizeof(err)), -1);
	char *bad = strdup(check);
	bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A';
	assert_int_equal(keyring_verify_check(kr, bad, &stale, err, sizeof(err)), -1);
	free(bad);
	/* Another sealed value under the same key is not a check value. */
	const struct seal_ad some = {"installation", 0, "installation", "key_check", "other"};
	char *notcheck = NULL;
	assert_int_equal(seal_value(kr, &some, (const uint8_t *)"x", 1, &notcheck), 0);
	assert_int_equal(keyring_verify_check(kr, notcheck, &stale, err, sizeof(err)), -1);
	free(notcheck);

	/* After rotation the old check still verifies but is stale; a new one is not. */
	assert_int_equal(keyring_rotate(kr, f->path, &id, err, sizeof(err)), 0);
	assert_int_equal(keyring_verify_check(kr, check, &stale, err, sizeof(err)), 0);
	assert_int_equal(stale, 1);
	assert_int_equal(keyring_make_check(kr, &check2), 0);
	assert_int_equal(seal_key_id(check2, &id), 0);
	assert_int_equal(id, 2);
	assert_int_equal(keyring_verify_check(kr, check2, &stale, err, sizeof(err)), 0);
	assert_int_equal(stale, 0);
	assert_int_equal(keyring_retire(kr, f->path, 1, err, sizeof(err)), 0);
	assert_int_equal(keyring_verify_check(kr, check2, &stale, err, sizeof(err)), 0);
	assert_int_equal(keyring_verify_check(kr, check, &stale, err, sizeof(err)), -1);
	assert_contains(err, "has no key id 1");

	free(check);
	free(check2);
	keyring_free(kr);
	keyring_free(wrong);
	keyring_free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_valid),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test_setup_teardown(test_load_file_checks, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_create, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_load_or_create, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_rotate_retire, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_rotate_refusals, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_rotate_io_faults, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_create_io_faults, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_key_check, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
