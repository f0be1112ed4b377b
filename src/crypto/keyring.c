#include "crypto/keyring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/limits.h"
#include "core/parse.h"
#include "crypto/hkdf.h"
#include "crypto/seal.h"

struct keyring_key {
	uint32_t id;
	uint8_t master[KEYRING_KEY_BYTES];
	uint8_t seal[KEYRING_KEY_BYTES]; /* derived once: every seal/open needs it */
};

struct keyring {
	char *name;
	size_t n;                 /* keys[n - 1] is the active key */
	int locked;               /* keys is mlock'ed */
	struct keyring_key *keys; /* LIMIT_KEYRING_KEYS slots, never reallocated */
};

#define KR_HKDF_SALT "dropfix keyring v1"
#define KR_HKDF_INFO "dropfix/v1/"
#define KR_FIX_RESTORE "restore the file from your key backup"
/* Base64 (with padding) of 32 bytes is 44 characters. */
#define KR_B64_LEN 44
/* A formatted line: id (at most 10 digits), space, base64, newline. */
#define KR_LINE_MAX (10 + 1 + KR_B64_LEN + 1)

static const char *const kr_purposes[] = {
    KEYRING_PURPOSE_SEAL,
    KEYRING_PURPOSE_AUDIT,
    KEYRING_PURPOSE_BLIND_INDEX,
    KEYRING_PURPOSE_BACKUP,
};

static const struct seal_ad kr_check_ad = {
    .scope = "installation",
    .scope_id = 0,
    .table = "installation",
    .column = "key_check",
    .row_key = "master.key",
};
static const char kr_check_plain[] = "dropfix key check v1";

/* Fault injection for the file-writing and reading steps (tests only): when
 * kr_fault_at is n > 0, the n-th step counted by kr_fault() fails with EIO. */
#ifdef DROPFIX_TEST_HOOKS
static int kr_fault_at;
static int kr_fault_step;
static int kr_fault(void)
{
	if (kr_fault_at > 0 && ++kr_fault_step == kr_fault_at) {
		errno = EIO;
		return 1;
	}
	return 0;
}
#else
static inline int kr_fault(void)
{
	return 0;
}
#endif

static void kr_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void kr_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static struct keyring *kr_alloc(const char *name)
{
	struct keyring *kr = calloc(1, sizeof(*kr));
	if (!kr)
		return NULL;
	kr->name = strdup(name ? name : "(keyring)");
	kr->keys = calloc(LIMIT_KEYRING_KEYS, sizeof(*kr->keys));
	if (!kr->name || !kr->keys) {
		keyring_free(kr);
		return NULL;
	}
	/* Where RLIMIT_MEMLOCK allows; keys are wiped on free either way. */
	kr->locked = sodium_mlock(kr->keys, LIMIT_KEYRING_KEYS * sizeof(*kr->keys)) == 0;
	return kr;
}

void keyring_free(struct keyring *kr)
{
	if (!kr)
		return;
	if (kr->keys) {
		size_t len = LIMIT_KEYRING_KEYS * sizeof(*kr->keys);
		if (kr->locked)
			sodium_munlock(kr->keys, len); /* wipes, then unlocks */
		else
			sodium_memzero(kr->keys, len);
		free(kr->keys);
	}
	free(kr->name);
	free(kr);
}

static int kr_purpose_ok(const char *purpose)
{
	if (!purpose)
		return 0;
	for (size_t i = 0; i < sizeof(kr_purposes) / sizeof(kr_purposes[0]); i++)
		if (strcmp(purpose, kr_purposes[i]) == 0)
			return 1;
	return 0;
}

static int kr_derive_raw(const uint8_t master[KEYRING_KEY_BYTES], const char *purpose,
                         uint8_t out[KEYRING_KEY_BYTES])
{
	char info[64];
	int len = snprintf(info, sizeof(info), KR_HKDF_INFO "%s", purpose);
	if (len < 0 || (size_t)len >= sizeof(info))
		return -1;
	return hkdf_sha256((const uint8_t *)KR_HKDF_SALT, sizeof(KR_HKDF_SALT) - 1, master, KEYRING_KEY_BYTES,
	                   (const uint8_t *)info, (size_t)len, out, KEYRING_KEY_BYTES);
}

static struct keyring_key *kr_find(const struct keyring *kr, uint32_t id)
{
	for (size_t i = 0; kr && i < kr->n; i++)
		if (kr->keys[i].id == id)
			return &kr->keys[i];
	return NULL;
}

/* Fills the next slot with id and master (or random bytes when master is NULL) and
 * derives its seal key. The caller has checked the count and the id. */
static int kr_add(struct keyring *kr, uint32_t id, const uint8_t *master)
{
	struct keyring_key *k = &kr->keys[kr->n];
	k->id = id;
	if (master)
		memcpy(k->master, master, KEYRING_KEY_BYTES);
	else
		randombytes_buf(k->master, KEYRING_KEY_BYTES);
	if (kr_derive_raw(k->master, KEYRING_PURPOSE_SEAL, k->seal) < 0) {
		sodium_memzero(k, sizeof(*k));
		return -1;
	}
	kr->n++;
	return 0;
}

static uint32_t kr_max_id(const struct keyring *kr)
{
	uint32_t max = 0;
	for (size_t i = 0; i < kr->n; i++)
		if (kr->keys[i].id > max)
			max = kr->keys[i].id;
	return max;
}

/* Parses one non-empty line (no newline, no trailing CR) into kr. */
static int kr_parse_line(struct keyring *kr, const char *p, size_t len, size_t line_no, char *err,
                         size_t errlen)
{
	/* Room for the longest line's decoded bytes, so an over-long key is reported as
	 * a wrong length rather than as malformed. */
	uint8_t bin[LIMIT_KEYRING_LINE / 4 * 3 + 3];
	size_t bin_len = 0;
	int64_t id;
	int rc = -1;

	const char *sp = len <= LIMIT_KEYRING_LINE ? memchr(p, ' ', len) : NULL;
	if (!sp || sp == p || memchr(sp + 1, ' ', len - (size_t)(sp + 1 - p))) {
		kr_err(err, errlen,
		       "master key file %s line %zu is malformed (expected \"<key id> <base64 of 32 "
		       "bytes>\"); " KR_FIX_RESTORE,
		       kr->name, line_no);
		goto fail;
	}
	if (parse_i64(p, (size_t)(sp - p), 1, KEYRING_MAX_ID, &id) < 0) {
		kr_err(err, errlen,
		       "master key file %s line %zu: the key id must be a whole number from 1 to "
		       "%u; " KR_FIX_RESTORE,
		       kr->name, line_no, KEYRING_MAX_ID);
		goto fail;
	}
	const char *b64 = sp + 1;
	size_t b64_len = len - (size_t)(b64 - p);
	if (sodium_base642bin(bin, sizeof(bin), b64, b64_len, NULL, &bin_len, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0) {
		kr_err(err, errlen,
		       "master key file %s line %zu: the key is not valid base64; " KR_FIX_RESTORE, kr->name,
		       line_no);
		goto fail;
	}
	if (bin_len != KEYRING_KEY_BYTES) {
		kr_err(err, errlen,
		       "master key file %s line %zu: the key is %zu bytes, expected %d; " KR_FIX_RESTORE,
		       kr->name, line_no, bin_len, KEYRING_KEY_BYTES);
		goto fail;
	}
	if (kr_find(kr, (uint32_t)id)) {
		kr_err(err, errlen,
		       "master key file %s line %zu: key id %u appears more than once; " KR_FIX_RESTORE,
		       kr->name, line_no, (uint32_t)id);
		goto fail;
	}
	if (kr->n >= LIMIT_KEYRING_KEYS) {
		kr_err(err, errlen,
		       "master key file %s holds more than %d keys; retire keys no value uses any more",
		       kr->name, LIMIT_KEYRING_KEYS);
		goto fail;
	}
	if (kr_add(kr, (uint32_t)id, bin) < 0) {
		kr_err(err, errlen, "master key file %s: deriving keys failed (out of memory?)", kr->name);
		goto fail;
	}
	rc = 0;
fail:
	sodium_memzero(bin, sizeof(bin));
	return rc;
}

int keyring_parse(const char *data, size_t n, const char *name, struct keyring **out, char *err,
                  size_t errlen)
{
	struct keyring *kr = NULL;
	size_t line_no = 0;

	*out = NULL;
	if (sodium_init() < 0) {
		kr_err(err, errlen, "libsodium failed to initialise");
		return -1;
	}
	kr = kr_alloc(name);
	if (!kr) {
		kr_err(err, errlen, "master key file %s: out of memory", name ? name : "(keyring)");
		return -1;
	}
	if (!data && n)
		goto malformed;
	if (n > LIMIT_KEYRING_FILE) {
		kr_err(err, errlen,
		       "master key file %s is larger than %d bytes, so it is not a DropFix "
		       "keyring; " KR_FIX_RESTORE,
		       kr->name, LIMIT_KEYRING_FILE);
		goto fail;
	}
	for (size_t pos = 0; pos < n;) {
		const char *line = data + pos;
		const char *nl = memchr(line, '\n', n - pos);
		size_t len = nl ? (size_t)(nl - line) : n - pos;
		pos += len + (nl ? 1 : 0);
		line_no++;
		if (len && line[len - 1] == '\r')
			len--;
		if (len == 0)
			continue;
		if (kr_parse_line(kr, line, len, line_no, err, errlen) < 0)
			goto fail;
	}
	if (kr->n == 0) {
		kr_err(err, errlen, "master key file %s holds no key; " KR_FIX_RESTORE, kr->name);
		goto fail;
	}
	*out = kr;
	return 0;
malformed:
	kr_err(err, errlen, "master key file %s is malformed; " KR_FIX_RESTORE, kr->name);
fail:
	keyring_free(kr);
	return -1;
}

/* Reads the whole file into a malloc'ed buffer after the file checks. The caller wipes
 * and frees *data. */
static int kr_read_file(const char *path, char **data, size_t *n, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd = -1;

	*data = NULL;
	*n = 0;
	/* O_NONBLOCK: a FIFO at path must not hang us before fstat says what it is. */
	fd = kr_fault() ? -1 : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT || e == ENOTDIR)
			kr_err(err, errlen,
			       "master key file %s does not exist; restore it from your key backup, or set "
			       "DROPFIX_MASTER_KEY_FILE to where it is",
			       path);
		else if (e == EACCES || e == EPERM)
			kr_err(err, errlen,
			       "master key file %s cannot be read (%s); make it owned by the user running "
			       "dropfix (chown) and run: chmod 600 %s",
			       path, strerror(e), path);
		else
			kr_err(err, errlen, "master key file %s cannot be opened: %s", path, strerror(e));
		goto fail;
	}
	if (fstat(fd, &st) < 0) {
		kr_err(err, errlen, "master key file %s: fstat failed: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		kr_err(err, errlen,
		       "master key file %s is not a regular file; set DROPFIX_MASTER_KEY_FILE to the key "
		       "file itself",
		       path);
		goto fail;
	}
	unsigned mode = (unsigned)(st.st_mode & 07777);
	if (mode & 077) {
		kr_err(err, errlen,
		       "master key file %s has mode %04o: it must not be readable or writable by group or "
		       "others; run: chmod 600 %s",
		       path, mode, path);
		goto fail;
	}
	if (mode != 0600 && mode != 0400) {
		kr_err(err, errlen,
		       "master key file %s has mode %04o, expected 0600 or 0400; run: chmod 600 %s", path,
		       mode, path);
		goto fail;
	}
	if (st.st_size > LIMIT_KEYRING_FILE) {
		kr_err(err, errlen,
		       "master key file %s is larger than %d bytes, so it is not a DropFix "
		       "keyring; " KR_FIX_RESTORE,
		       path, LIMIT_KEYRING_FILE);
		goto fail;
	}
	buf = malloc(LIMIT_KEYRING_FILE + 1);
	if (!buf) {
		kr_err(err, errlen, "master key file %s: out of memory", path);
		goto fail;
	}
	for (;;) {
		ssize_t r = kr_fault() ? -1 : read(fd, buf + len, LIMIT_KEYRING_FILE + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			kr_err(err, errlen, "master key file %s cannot be read: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > LIMIT_KEYRING_FILE) {
			kr_err(err, errlen,
			       "master key file %s is larger than %d bytes, so it is not a DropFix "
			       "keyring; " KR_FIX_RESTORE,
			       path, LIMIT_KEYRING_FILE);
			goto fail;
		}
	}
	close(fd);
	*data = buf;
	*n = len;
	return 0;
fail:
	if (buf) {
		sodium_memzero(buf, len);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	return -1;
}

int keyring_load(const char *path, struct keyring **out, char *err, size_t errlen)
{
	char *data = NULL;
	size_t n = 0;
	*out = NULL;
	if (!path || !*path) {
		kr_err(err, errlen, "no master key file given; set DROPFIX_MASTER_KEY_FILE");
		return -1;
	}
	if (kr_read_file(path, &data, &n, err, errlen) < 0)
		return -1;
	int rc = keyring_parse(data, n, path, out, err, errlen);
	sodium_memzero(data, n);
	free(data);
	return rc;
}

/* Formats kr as file text into a malloc'ed, NUL-terminated buffer of *len bytes (the
 * caller wipes and frees it). */
static char *kr_format(const struct keyring *kr, size_t *len)
{
	size_t cap = kr->n * KR_LINE_MAX + 1;
	char *text = malloc(cap);
	size_t pos = 0;
	if (!text)
		return NULL;
	for (size_t i = 0; i < kr->n; i++) {
		char b64[KR_B64_LEN + 1];
		sodium_bin2base64(b64, sizeof(b64), kr->keys[i].master, KEYRING_KEY_BYTES,
		                  sodium_base64_VARIANT_ORIGINAL);
		int w = snprintf(text + pos, cap - pos, "%u %s\n", kr->keys[i].id, b64);
		sodium_memzero(b64, sizeof(b64));
		if (w < 0 || (size_t)w >= cap - pos) {
			sodium_memzero(text, cap);
			free(text);
			return NULL;
		}
		pos += (size_t)w;
	}
	*len = pos;
	return text;
}

/* The directory part of path ("." when there is none), malloc'ed. */
static char *kr_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static int kr_fsync_dir(const char *path)
{
	char *dir = kr_dirname(path);
	int rc = -1;
	if (!dir)
		return -1;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		if (!kr_fault() && fsync(fd) == 0)
			rc = 0;
		close(fd);
	}
	free(dir);
	return rc;
}

/* Writes kr to path through a temporary file in the same directory. exclusive: link the
 * temporary file into place only if path does not exist (create); otherwise rename it
 * over path (rotate, retire). */
static int kr_write_file(const char *path, const struct keyring *kr, int exclusive, char *err, size_t errlen)
{
	char *text = NULL;
	size_t text_len = 0;
	char *tmp = NULL;
	int fd = -1;
	int tmp_exists = 0;
	int rc = -1;

	text = kr_format(kr, &text_len);
	size_t tmp_cap = strlen(path) + 32;
	tmp = malloc(tmp_cap);
	if (!text || !tmp) {
		kr_err(err, errlen, "master key file %s: out of memory", path);
		goto fail;
	}
	uint8_t rnd[8];
	randombytes_buf(rnd, sizeof(rnd));
	char hex[sizeof(rnd) * 2 + 1];
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	snprintf(tmp, tmp_cap, "%s.tmp-%s", path, hex);

	fd = kr_fault() ? -1 : open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		kr_err(err, errlen,
		       "cannot write master key file %s (creating %s: %s); check that the directory exists "
		       "and is writable",
		       path, tmp, strerror(errno));
		goto fail;
	}
	tmp_exists = 1;
	/* The umask may have removed bits; the mode must be exactly 0600. */
	if (kr_fault() || fchmod(fd, 0600) < 0)
		goto io_fail;
	for (size_t off = 0; off < text_len;) {
		ssize_t w = kr_fault() ? -1 : write(fd, text + off, text_len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto io_fail;
		off += (size_t)w;
	}
	if (kr_fault() || fsync(fd) < 0)
		goto io_fail;
	int cfd = fd;
	fd = -1;
	if (close(cfd) < 0)
		goto io_fail;
	if (exclusive) {
		if (kr_fault() || link(tmp, path) < 0) {
			if (errno == EEXIST)
				kr_err(err, errlen,
				       "master key file %s already exists; it was not overwritten", path);
			else
				kr_err(err, errlen, "cannot create master key file %s: %s", path,
				       strerror(errno));
			goto fail;
		}
		/* The key now lives at path; a leftover link would be a second copy. */
		if (unlink(tmp) == 0)
			tmp_exists = 0;
	} else {
		if (kr_fault() || rename(tmp, path) < 0) {
			kr_err(err, errlen, "cannot replace master key file %s: %s", path, strerror(errno));
			goto fail;
		}
		tmp_exists = 0;
	}
	if (kr_fsync_dir(path) < 0) {
		kr_err(err, errlen,
		       "master key file %s was written but its directory could not be synced (%s); check the "
		       "disk, then load the file again",
		       path, strerror(errno));
		goto fail;
	}
	rc = 0;
	goto done;
io_fail:
	kr_err(err, errlen, "cannot write %s: %s; check free disk space", tmp, strerror(errno));
fail:
done:
	if (fd >= 0)
		close(fd);
	if (tmp_exists)
		unlink(tmp);
	free(tmp);
	if (text) {
		sodium_memzero(text, text_len);
		free(text);
	}
	return rc;
}

int keyring_create(const char *path, struct keyring **out, char *err, size_t errlen)
{
	struct keyring *kr = NULL;
	*out = NULL;
	if (!path || !*path) {
		kr_err(err, errlen, "no master key file given; set DROPFIX_MASTER_KEY_FILE");
		return -1;
	}
	if (sodium_init() < 0) {
		kr_err(err, errlen, "libsodium failed to initialise");
		return -1;
	}
	kr = kr_alloc(path);
	if (!kr || kr_add(kr, 1, NULL) < 0) {
		kr_err(err, errlen, "master key file %s: out of memory", path);
		goto fail;
	}
	if (kr_write_file(path, kr, 1, err, errlen) < 0)
		goto fail;
	*out = kr;
	return 0;
fail:
	keyring_free(kr);
	return -1;
}

int keyring_load_or_create(const char *path, struct keyring **out, int *created, char *err, size_t errlen)
{
	*created = 0;
	*out = NULL;
	if (!path || !*path) {
		kr_err(err, errlen, "no master key file given; set DROPFIX_MASTER_KEY_FILE");
		return -1;
	}
	struct stat st;
	if (lstat(path, &st) < 0 && errno == ENOENT) {
		if (keyring_create(path, out, err, errlen) == 0) {
			*created = 1;
			return 0;
		}
		/* Another process may have created it meanwhile: then load theirs. */
		if (lstat(path, &st) < 0)
			return -1;
	}
	return keyring_load(path, out, err, errlen);
}

static int kr_same(const struct keyring *a, const struct keyring *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (a->keys[i].id != b->keys[i].id ||
		    sodium_memcmp(a->keys[i].master, b->keys[i].master, KEYRING_KEY_BYTES) != 0)
			return 0;
	return 1;
}

/* Loads the file again for a change and checks it still matches kr. */
static int kr_reload_same(const struct keyring *kr, const char *path, struct keyring **cur, char *err,
                          size_t errlen)
{
	struct stat st;
	*cur = NULL;
	if (!path || !*path) {
		kr_err(err, errlen, "no master key file given; set DROPFIX_MASTER_KEY_FILE");
		return -1;
	}
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		kr_err(err, errlen,
		       "master key file %s is a symbolic link; set DROPFIX_MASTER_KEY_FILE to the file it "
		       "points to and run the command again",
		       path);
		return -1;
	}
	if (keyring_load(path, cur, err, errlen) < 0)
		return -1;
	if (!kr_same(kr, *cur)) {
		kr_err(err, errlen, "master key file %s changed since it was loaded; run the command again",
		       path);
		keyring_free(*cur);
		*cur = NULL;
		return -1;
	}
	return 0;
}

/* Moves cur's contents into kr and frees kr's old contents. */
static void kr_take(struct keyring *kr, struct keyring *cur)
{
	struct keyring old = *kr;
	*kr = *cur;
	*cur = old;
	keyring_free(cur);
}

int keyring_rotate(struct keyring *kr, const char *path, uint32_t *new_id, char *err, size_t errlen)
{
	struct keyring *cur = NULL;
	if (kr_reload_same(kr, path, &cur, err, errlen) < 0)
		return -1;
	uint32_t id = kr_max_id(cur);
	if (cur->n >= LIMIT_KEYRING_KEYS || id >= KEYRING_MAX_ID) {
		kr_err(err, errlen,
		       "master key file %s has no room for another key (at most %d keys, ids up to %u); "
		       "retire keys no value uses any more",
		       path, LIMIT_KEYRING_KEYS, KEYRING_MAX_ID);
		goto fail;
	}
	id++;
	if (kr_add(cur, id, NULL) < 0) {
		kr_err(err, errlen, "master key file %s: deriving keys failed (out of memory?)", path);
		goto fail;
	}
	if (kr_write_file(path, cur, 0, err, errlen) < 0)
		goto fail;
	kr_take(kr, cur);
	*new_id = id;
	return 0;
fail:
	keyring_free(cur);
	return -1;
}

int keyring_retire(struct keyring *kr, const char *path, uint32_t id, char *err, size_t errlen)
{
	struct keyring *cur = NULL;
	if (kr_reload_same(kr, path, &cur, err, errlen) < 0)
		return -1;
	size_t i = 0;
	while (i < cur->n && cur->keys[i].id != id)
		i++;
	if (i == cur->n) {
		kr_err(err, errlen, "master key file %s holds no key id %u", path, id);
		goto fail;
	}
	if (i == cur->n - 1) {
		kr_err(err, errlen,
		       "key id %u is the active key of %s and cannot be retired; rotate first so another key "
		       "becomes active",
		       id, path);
		goto fail;
	}
	memmove(&cur->keys[i], &cur->keys[i + 1], (cur->n - i - 1) * sizeof(cur->keys[0]));
	cur->n--;
	sodium_memzero(&cur->keys[cur->n], sizeof(cur->keys[0]));
	if (kr_write_file(path, cur, 0, err, errlen) < 0)
		goto fail;
	kr_take(kr, cur);
	return 0;
fail:
	keyring_free(cur);
	return -1;
}

uint32_t keyring_active_id(const struct keyring *kr)
{
	return kr && kr->n ? kr->keys[kr->n - 1].id : 0;
}

size_t keyring_count(const struct keyring *kr)
{
	return kr ? kr->n : 0;
}

uint32_t keyring_id_at(const struct keyring *kr, size_t i)
{
	return kr && i < kr->n ? kr->keys[i].id : 0;
}

int keyring_has(const struct keyring *kr, uint32_t id)
{
	return kr_find(kr, id) != NULL;
}

const char *keyring_name(const struct keyring *kr)
{
	return kr ? kr->name : NULL;
}

int keyring_derive(const struct keyring *kr, uint32_t key_id, const char *purpose,
                   uint8_t out[KEYRING_KEY_BYTES])
{
	const struct keyring_key *k = kr_find(kr, key_id);
	if (!k || !kr_purpose_ok(purpose)) {
		sodium_memzero(out, KEYRING_KEY_BYTES);
		return -1;
	}
	return kr_derive_raw(k->master, purpose, out);
}

const uint8_t *keyring_seal_key(const struct keyring *kr, uint32_t key_id)
{
	const struct keyring_key *k = kr_find(kr, key_id);
	return k ? k->seal : NULL;
}

int keyring_make_check(const struct keyring *kr, char **out_text)
{
	return seal_value(kr, &kr_check_ad, (const uint8_t *)kr_check_plain, sizeof(kr_check_plain) - 1,
	                  out_text);
}

int keyring_verify_check(const struct keyring *kr, const char *text, int *stale, char *err, size_t errlen)
{
	uint32_t id = 0;
	uint8_t *plain = NULL;
	size_t n = 0;
	int rc = -1;

	*stale = 0;
	if (!kr || seal_key_id(text, &id) < 0) {
		kr_err(err, errlen,
		       "the stored key-check value is malformed; the database does not look like one written "
		       "by DropFix");
		return -1;
	}
	if (!keyring_has(kr, id)) {
		kr_err(err, errlen,
		       "master key file %s has no key id %u, which sealed this installation's "
		       "data; " KR_FIX_RESTORE,
		       kr->name, id);
		return -1;
	}
	if (seal_open(kr, &kr_check_ad, text, &plain, &n) < 0 || n != sizeof(kr_check_plain) - 1 ||
	    memcmp(plain, kr_check_plain, n) != 0) {
		kr_err(err, errlen,
		       "master key file %s does not match this installation's data (key id %u is a different "
		       "key); " KR_FIX_RESTORE,
		       kr->name, id);
		goto fail;
	}
	*stale = id != keyring_active_id(kr);
	rc = 0;
fail:
	seal_plain_free(plain, n);
	return rc;
}
