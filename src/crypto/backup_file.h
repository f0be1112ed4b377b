/* The encrypted backup container (`*.dfbackup`, ARCHITECTURE §8b "Keys": backups never
 * contain the master key, and are useless without it).
 *
 * Layout (all integers big-endian):
 *   header, BACKUP_HEADER_BYTES:
 *     magic "DFBACKUP" (8) | version 1 (1) | kind (1) | reserved 0 (2) | key id (4) |
 *     chunk size (4) | schema version (4) | created at, Unix ms (8) | salt (32)
 *   then records, one per chunk, in order:
 *     flags (1; bit 0 = final chunk) | plaintext length (4) | ciphertext | tag (16)
 *
 * Each chunk is AES-256-GCM under a per-file key = HKDF-SHA256(salt, backup key of key
 * id, "dropfix backup v1 file key"), where the backup key is keyring_derive(kr, id,
 * KEYRING_PURPOSE_BACKUP). The nonce is 4 zero bytes + the chunk index (the key is
 * unique per file, so nonces never repeat under one key). The associated data is the
 * whole header + chunk index (8) + flags (1), so a changed header, a reordered,
 * dropped or duplicated chunk, a changed flag and a cut-off file all fail to open:
 * every file ends with exactly one final chunk (possibly empty) and nothing after it.
 *
 * Plaintext reaches the reader's caller one authenticated chunk at a time: a consumer
 * that must not act on a prefix of a damaged file reads it twice (verify, then use). */
#ifndef DROPFIX_BACKUP_FILE_H
#define DROPFIX_BACKUP_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

struct keyring;
struct backup_writer;
struct backup_reader;

#define BACKUP_MAGIC "DFBACKUP"
#define BACKUP_VERSION 1
#define BACKUP_HEADER_BYTES 64
#define BACKUP_SALT_BYTES 32
#define BACKUP_TAG_BYTES 16
#define BACKUP_RECORD_HEAD 5 /* flags + length */
#define BACKUP_CHUNK_DEFAULT (64 * 1024)
#define BACKUP_FLAG_FINAL 0x01

/* What the plaintext is. */
enum backup_kind {
	BACKUP_KIND_SQLITE = 1, /* a SQLite database file (VACUUM INTO snapshot) */
	BACKUP_KIND_PG_SQL = 2, /* a plain-format pg_dump script */
};

struct backup_info {
	enum backup_kind kind;
	uint32_t key_id;         /* master key the file is encrypted under */
	uint32_t chunk_size;     /* largest plaintext chunk */
	uint32_t schema_version; /* schema version of the database when it was taken */
	int64_t created_ms;      /* Unix milliseconds */
};

/* Starts a backup on fd (any writable descriptor; written sequentially, never seeked):
 * writes the header for kind/schema_version under the keyring's active key with a fresh
 * random salt. chunk_size 0 means BACKUP_CHUNK_DEFAULT; otherwise 1..LIMIT_BACKUP_CHUNK.
 * fd stays the caller's. Returns 0 and *out (free with backup_writer_free), or -1 with a
 * one-line message in err (never key material). */
int backup_writer_open(int fd, const struct keyring *kr, enum backup_kind kind, uint32_t schema_version,
                       uint32_t chunk_size, struct backup_writer **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Appends n bytes of plaintext, writing every full chunk. Returns 0, or -1 with err (a
 * failed writer refuses every later call). */
int backup_writer_write(struct backup_writer *w, const void *data, size_t n, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Writes the buffered rest as the final chunk. The caller then fsyncs and closes fd.
 * Returns 0, or -1 with err. */
int backup_writer_finish(struct backup_writer *w, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Bytes written to fd so far (header and records). */
uint64_t backup_writer_bytes(const struct backup_writer *w);
/* Wipes the file key and buffer, frees. Accepts NULL. */
void backup_writer_free(struct backup_writer *w);

/* Reads and checks the header from fd without a keyring (for messages: which key id
 * and kind a file needs). Returns 0, or -1 with err for a file that is not a DropFix
 * backup, of an unknown version or kind, or with an out-of-range chunk size. */
int backup_read_info(int fd, struct backup_info *info, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Starts reading a backup from fd (read sequentially from its current offset): checks
 * the header and derives the file key. Refuses, with a message saying what to do, a
 * file whose key id the keyring lacks. Returns 0 and *out (free with
 * backup_reader_free), or -1 with err. */
int backup_reader_open(int fd, const struct keyring *kr, struct backup_reader **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
const struct backup_info *backup_reader_info(const struct backup_reader *r);
/* Reads and authenticates the next chunk. Returns 1 with *data and *n (borrowed until the
 * next call; *n may be 0), 0 at the authenticated end of the file (the final chunk was
 * read and nothing follows it), or -1 with err: a wrong key, a changed, reordered,
 * truncated or extended file, or a read error. After -1 every call returns -1. */
int backup_reader_next(struct backup_reader *r, const uint8_t **data, size_t *n, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Bytes consumed from fd so far. */
uint64_t backup_reader_bytes(const struct backup_reader *r);
/* Wipes and frees. Accepts NULL. */
void backup_reader_free(struct backup_reader *r);

#endif
