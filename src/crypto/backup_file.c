#include "crypto/backup_file.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "core/clock.h"
#include "crypto/hkdf.h"
#include "crypto/keyring.h"

#define BF_KEY_BYTES 32
#define BF_NONCE_BYTES 12
#define BF_AD_BYTES (BACKUP_HEADER_BYTES + 8 + 1)
#define BF_FILE_KEY_INFO "dropfix backup v1 file key"

struct backup_writer {
	int fd;
	int failed;
	EVP_CIPHER_CTX *ctx; /* holds the file key schedule */
	uint8_t header[BACKUP_HEADER_BYTES];
	uint32_t chunk_size;
	uint64_t index; /* next chunk index */
	uint64_t bytes; /* written to fd */
	uint8_t *plain; /* chunk_size bytes */
	size_t fill;
	uint8_t *rec; /* one record: head + ciphertext + tag */
};

struct backup_reader {
	int fd;
	int failed;
	int done;
	EVP_CIPHER_CTX *ctx;
	uint8_t header[BACKUP_HEADER_BYTES];
	struct backup_info info;
	uint64_t index;
	uint64_t bytes;
	uint8_t *plain;
	uint8_t *rec;
};

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, (uint32_t)(v >> 32));
	put_u32(p + 4, (uint32_t)v);
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

/* Writes all n bytes (retrying short writes and EINTR). 0 or -1 with errno. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (k == 0) {
			errno = EIO;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Reads up to n bytes, stopping early only at end of file. Returns the count or -1. */
static ssize_t read_full(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = read(fd, p + got, n - got);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	return (ssize_t)got;
}

/* Derives the per-file key from the keyring's backup key for key_id and salt, and sets
 * up ctx for encryption or decryption with it. 0 or -1. */
static int bf_init_cipher(const struct keyring *kr, uint32_t key_id, const uint8_t salt[BACKUP_SALT_BYTES],
                          int encrypt, EVP_CIPHER_CTX **out)
{
	uint8_t base[KEYRING_KEY_BYTES], file_key[BF_KEY_BYTES];
	EVP_CIPHER_CTX *ctx = NULL;
	int rc = -1;
	*out = NULL;
	if (keyring_derive(kr, key_id, KEYRING_PURPOSE_BACKUP, base) < 0)
		goto fail;
	if (hkdf_sha256(salt, BACKUP_SALT_BYTES, base, sizeof(base), (const uint8_t *)BF_FILE_KEY_INFO,
	                sizeof(BF_FILE_KEY_INFO) - 1, file_key, sizeof(file_key)) < 0)
		goto fail;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		goto fail;
	if (encrypt ? EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, file_key, NULL) != 1
	            : EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, file_key, NULL) != 1)
		goto fail;
	*out = ctx;
	ctx = NULL;
	rc = 0;
fail:
	EVP_CIPHER_CTX_free(ctx);
	sodium_memzero(base, sizeof(base));
	sodium_memzero(file_key, sizeof(file_key));
	return rc;
}

static void bf_nonce_ad(const uint8_t header[BACKUP_HEADER_BYTES], uint64_t index, uint8_t flags,
                        uint8_t nonce[BF_NONCE_BYTES], uint8_t ad[BF_AD_BYTES])
{
	memset(nonce, 0, 4);
	put_u64(nonce + 4, index);
	memcpy(ad, header, BACKUP_HEADER_BYTES);
	put_u64(ad + BACKUP_HEADER_BYTES, index);
	ad[BACKUP_HEADER_BYTES + 8] = flags;
}

/* ---- Writing ---- */

int backup_writer_open(int fd, const struct keyring *kr, enum backup_kind kind, uint32_t schema_version,
                       uint32_t chunk_size, struct backup_writer **out, char *err, size_t errlen)
{
	struct backup_writer *w = NULL;
	*out = NULL;
	if (chunk_size == 0)
		chunk_size = BACKUP_CHUNK_DEFAULT;
	if (chunk_size > LIMIT_BACKUP_CHUNK || (kind != BACKUP_KIND_SQLITE && kind != BACKUP_KIND_PG_SQL)) {
		snprintf(err, errlen, "backup: bad chunk size or kind");
		return -1;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		goto nomem;
	w->fd = fd;
	w->chunk_size = chunk_size;
	w->plain = malloc(chunk_size);
	w->rec = malloc(BACKUP_RECORD_HEAD + (size_t)chunk_size + BACKUP_TAG_BYTES);
	if (!w->plain || !w->rec)
		goto nomem;
	uint32_t key_id = keyring_active_id(kr);
	uint8_t *h = w->header;
	memcpy(h, BACKUP_MAGIC, 8);
	h[8] = BACKUP_VERSION;
	h[9] = (uint8_t)kind;
	h[10] = h[11] = 0;
	put_u32(h + 12, key_id);
	put_u32(h + 16, chunk_size);
	put_u32(h + 20, schema_version);
	put_u64(h + 24, (uint64_t)clock_now_ms());
	randombytes_buf(h + 32, BACKUP_SALT_BYTES);
	if (bf_init_cipher(kr, key_id, h + 32, 1, &w->ctx) < 0) {
		snprintf(err, errlen, "backup: cannot derive the backup key from %s", keyring_name(kr));
		goto fail;
	}
	if (write_all(fd, h, BACKUP_HEADER_BYTES) < 0) {
		snprintf(err, errlen, "backup: write failed: %s", strerror(errno));
		goto fail;
	}
	w->bytes = BACKUP_HEADER_BYTES;
	*out = w;
	return 0;
nomem:
	snprintf(err, errlen, "backup: out of memory");
fail:
	backup_writer_free(w);
	return -1;
}

/* Encrypts and writes the buffered plaintext as chunk w->index. */
static int bw_flush(struct backup_writer *w, int final, char *err, size_t errlen)
{
	uint8_t nonce[BF_NONCE_BYTES], ad[BF_AD_BYTES];
	uint8_t flags = final ? BACKUP_FLAG_FINAL : 0;
	uint8_t *ct = w->rec + BACKUP_RECORD_HEAD;
	int len = 0;
	bf_nonce_ad(w->header, w->index, flags, nonce, ad);
	w->rec[0] = flags;
	put_u32(w->rec + 1, (uint32_t)w->fill);
	if (EVP_EncryptInit_ex(w->ctx, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_EncryptUpdate(w->ctx, NULL, &len, ad, (int)sizeof(ad)) != 1 ||
	    (w->fill &&
	     (EVP_EncryptUpdate(w->ctx, ct, &len, w->plain, (int)w->fill) != 1 || (size_t)len != w->fill)) ||
	    EVP_EncryptFinal_ex(w->ctx, ct + w->fill, &len) != 1 || len != 0 ||
	    EVP_CIPHER_CTX_ctrl(w->ctx, EVP_CTRL_GCM_GET_TAG, BACKUP_TAG_BYTES, ct + w->fill) != 1) {
		snprintf(err, errlen, "backup: encryption failed");
		return -1;
	}
	size_t n = BACKUP_RECORD_HEAD + w->fill + BACKUP_TAG_BYTES;
	if (write_all(w->fd, w->rec, n) < 0) {
		snprintf(err, errlen, "backup: write failed: %s", strerror(errno));
		return -1;
	}
	w->bytes += n;
	w->index++;
	sodium_memzero(w->plain, w->fill);
	w->fill = 0;
	return 0;
}

int backup_writer_write(struct backup_writer *w, const void *data, size_t n, char *err, size_t errlen)
{
	const uint8_t *p = data;
	if (w->failed) {
		snprintf(err, errlen, "backup: writer already failed");
		return -1;
	}
	while (n > 0) {
		size_t room = w->chunk_size - w->fill;
		size_t k = n < room ? n : room;
		memcpy(w->plain + w->fill, p, k);
		w->fill += k;
		p += k;
		n -= k;
		/* A full chunk is written only once more data follows, so the final chunk
		 * always carries data when there is any. */
		if (w->fill == w->chunk_size && n > 0 && bw_flush(w, 0, err, errlen) < 0) {
			w->failed = 1;
			return -1;
		}
	}
	return 0;
}

int backup_writer_finish(struct backup_writer *w, char *err, size_t errlen)
{
	if (w->failed) {
		snprintf(err, errlen, "backup: writer already failed");
		return -1;
	}
	if (bw_flush(w, 1, err, errlen) < 0) {
		w->failed = 1;
		return -1;
	}
	w->failed = 1; /* finished: nothing more may be written */
	return 0;
}

uint64_t backup_writer_bytes(const struct backup_writer *w)
{
	return w->bytes;
}

void backup_writer_free(struct backup_writer *w)
{
	if (!w)
		return;
	EVP_CIPHER_CTX_free(w->ctx);
	if (w->plain) {
		sodium_memzero(w->plain, w->chunk_size);
		free(w->plain);
	}
	free(w->rec);
	free(w);
}

/* ---- Reading ---- */

static int bf_parse_header(const uint8_t *h, struct backup_info *info, char *err, size_t errlen)
{
	if (memcmp(h, BACKUP_MAGIC, 8) != 0) {
		snprintf(err, errlen, "not a DropFix backup file (bad magic)");
		return -1;
	}
	if (h[8] != BACKUP_VERSION) {
		snprintf(err, errlen,
		         "backup file format version %u is not supported by this dropfix (it reads %d)", h[8],
		         BACKUP_VERSION);
		return -1;
	}
	if ((h[9] != BACKUP_KIND_SQLITE && h[9] != BACKUP_KIND_PG_SQL) || h[10] || h[11]) {
		snprintf(err, errlen, "backup file: unknown content kind %u", h[9]);
		return -1;
	}
	info->kind = (enum backup_kind)h[9];
	info->key_id = get_u32(h + 12);
	info->chunk_size = get_u32(h + 16);
	info->schema_version = get_u32(h + 20);
	uint64_t created = get_u64(h + 24);
	info->created_ms = created > INT64_MAX ? INT64_MAX : (int64_t)created;
	if (info->key_id == 0 || info->key_id > KEYRING_MAX_ID || info->chunk_size == 0 ||
	    info->chunk_size > LIMIT_BACKUP_CHUNK) {
		snprintf(err, errlen, "backup file: damaged header (key id or chunk size out of range)");
		return -1;
	}
	return 0;
}

static int bf_read_header(int fd, uint8_t h[BACKUP_HEADER_BYTES], char *err, size_t errlen)
{
	ssize_t k = read_full(fd, h, BACKUP_HEADER_BYTES);
	if (k < 0) {
		snprintf(err, errlen, "backup file: read failed: %s", strerror(errno));
		return -1;
	}
	if (k < BACKUP_HEADER_BYTES) {
		snprintf(err, errlen, "not a DropFix backup file (shorter than its header)");
		return -1;
	}
	return 0;
}

int backup_read_info(int fd, struct backup_info *info, char *err, size_t errlen)
{
	uint8_t h[BACKUP_HEADER_BYTES];
	memset(info, 0, sizeof(*info));
	if (bf_read_header(fd, h, err, errlen) < 0)
		return -1;
	return bf_parse_header(h, info, err, errlen);
}

int backup_reader_open(int fd, const struct keyring *kr, struct backup_reader **out, char *err, size_t errlen)
{
	struct backup_reader *r = NULL;
	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		goto nomem;
	r->fd = fd;
	if (bf_read_header(fd, r->header, err, errlen) < 0 ||
	    bf_parse_header(r->header, &r->info, err, errlen) < 0)
		goto fail;
	r->bytes = BACKUP_HEADER_BYTES;
	if (!keyring_has(kr, r->info.key_id)) {
		snprintf(err, errlen,
		         "the backup is encrypted under master key id %u, which %s does not hold: use the "
		         "key file "
		         "that was in use when the backup was taken",
		         r->info.key_id, keyring_name(kr));
		goto fail;
	}
	r->plain = malloc(r->info.chunk_size);
	r->rec = malloc((size_t)r->info.chunk_size + BACKUP_TAG_BYTES);
	if (!r->plain || !r->rec)
		goto nomem;
	if (bf_init_cipher(kr, r->info.key_id, r->header + 32, 0, &r->ctx) < 0) {
		snprintf(err, errlen, "backup: cannot derive the backup key from %s", keyring_name(kr));
		goto fail;
	}
	*out = r;
	return 0;
nomem:
	snprintf(err, errlen, "backup: out of memory");
fail:
	backup_reader_free(r);
	return -1;
}

const struct backup_info *backup_reader_info(const struct backup_reader *r)
{
	return &r->info;
}

static int br_fail(struct backup_reader *r, char *err, size_t errlen, const char *msg)
{
	r->failed = 1;
	snprintf(err, errlen, "%s", msg);
	return -1;
}

#define BR_TRUNCATED "the backup file is truncated (it ends before its final chunk)"
#define BR_DAMAGED                                                                                           \
	"the backup does not decrypt with this master key: the key file is not the one the backup was "      \
	"made with, or the file was changed or damaged"

int backup_reader_next(struct backup_reader *r, const uint8_t **data, size_t *n, char *err, size_t errlen)
{
	uint8_t head[BACKUP_RECORD_HEAD], nonce[BF_NONCE_BYTES], ad[BF_AD_BYTES], extra;
	*data = NULL;
	*n = 0;
	if (r->failed) {
		snprintf(err, errlen, "backup: reader already failed");
		return -1;
	}
	if (r->done) {
		/* The final chunk must be the last bytes of the file. */
		ssize_t k = read_full(r->fd, &extra, 1);
		if (k != 0)
			return br_fail(r, err, errlen,
			               k < 0 ? "backup file: read failed"
			                     : "the backup file has data after its final chunk");
		return 0;
	}
	ssize_t k = read_full(r->fd, head, sizeof(head));
	if (k < 0)
		return br_fail(r, err, errlen, "backup file: read failed");
	if ((size_t)k < sizeof(head))
		return br_fail(r, err, errlen, BR_TRUNCATED);
	uint8_t flags = head[0];
	uint32_t len = get_u32(head + 1);
	if ((flags & ~BACKUP_FLAG_FINAL) || len > r->info.chunk_size)
		return br_fail(r, err, errlen, BR_DAMAGED);
	size_t want = (size_t)len + BACKUP_TAG_BYTES;
	k = read_full(r->fd, r->rec, want);
	if (k < 0)
		return br_fail(r, err, errlen, "backup file: read failed");
	if ((size_t)k < want)
		return br_fail(r, err, errlen, BR_TRUNCATED);
	r->bytes += sizeof(head) + want;

	bf_nonce_ad(r->header, r->index, flags, nonce, ad);
	int outl = 0;
	int ok = EVP_DecryptInit_ex(r->ctx, NULL, NULL, NULL, nonce) == 1 &&
	         EVP_DecryptUpdate(r->ctx, NULL, &outl, ad, (int)sizeof(ad)) == 1 &&
	         (len == 0 || (EVP_DecryptUpdate(r->ctx, r->plain, &outl, r->rec, (int)len) == 1 &&
	                       (uint32_t)outl == len)) &&
	         EVP_CIPHER_CTX_ctrl(r->ctx, EVP_CTRL_GCM_SET_TAG, BACKUP_TAG_BYTES, r->rec + len) == 1 &&
	         EVP_DecryptFinal_ex(r->ctx, r->plain + len, &outl) == 1;
	if (!ok) {
		sodium_memzero(r->plain, r->info.chunk_size);
		return br_fail(r, err, errlen, BR_DAMAGED);
	}
	r->index++;
	if (flags & BACKUP_FLAG_FINAL)
		r->done = 1;
	*data = r->plain;
	*n = len;
	return 1;
}

uint64_t backup_reader_bytes(const struct backup_reader *r)
{
	return r->bytes;
}

void backup_reader_free(struct backup_reader *r)
{
	if (!r)
		return;
	EVP_CIPHER_CTX_free(r->ctx);
	if (r->plain) {
		sodium_memzero(r->plain, r->info.chunk_size);
		free(r->plain);
	}
	free(r->rec);
	free(r);
}
