/* The master keyring (ARCHITECTURE §4, §8b "Key file format" / "Keys").
 *
 * master.key is a text file, one key per line, `<key id> <base64 of 32 bytes>\n`, key
 * ids positive decimal integers, unique; the LAST line is the active key (the one new
 * values are sealed under). Empty lines are ignored and a trailing "\r" is tolerated;
 * nothing else is. The file must be a regular file of mode 0600 or 0400.
 *
 * Keys are held in mlock'ed memory (where the system allows) and wiped on free. Each
 * master key yields per-purpose keys by HKDF-SHA256 (keyring_derive); the "seal" key is
 * derived once at load time.
 *
 * A loaded keyring is read-only and may be shared by threads; keyring_rotate and
 * keyring_retire change it and are for CLI paths that hold the only reference. */
#ifndef DROPFIX_KEYRING_H
#define DROPFIX_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#define KEYRING_KEY_BYTES 32
/* Largest key id accepted (fits a signed 32-bit database column). */
#define KEYRING_MAX_ID 2147483647u

/* Purposes for keyring_derive (an allow-list: another string is refused). */
#define KEYRING_PURPOSE_SEAL "seal"               /* AES-256-GCM data key (seal.c) */
#define KEYRING_PURPOSE_AUDIT "audit"             /* HMAC key of the audit chain */
#define KEYRING_PURPOSE_BLIND_INDEX "blind-index" /* keyed index over e-mails */
#define KEYRING_PURPOSE_BACKUP "backup"           /* backup file encryption */

struct keyring;

/* Reads and checks the keyring file at path. Refuses, with a one-line message in err
 * naming the file and the fix: a missing or unreadable file, something other than a
 * regular file, a mode other than 0600/0400, a file over LIMIT_KEYRING_FILE, a
 * malformed line, a key that is not 32 bytes, a duplicate id, no key at all. Never puts
 * key material in err. On success *out owns a new keyring (free with keyring_free). */
int keyring_load(const char *path, struct keyring **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Parses keyring text from memory (n bytes, need not be NUL-terminated); name is used
 * in messages and kept as the keyring's name. Same checks as keyring_load minus the
 * file ones. For tests and fuzzing; keyring_load uses it. */
int keyring_parse(const char *data, size_t n, const char *name, struct keyring **out, char *err,
                  size_t errlen) __attribute__((warn_unused_result));

/* Creates a new keyring file at path holding one random key with id 1: written to a
 * temporary file (O_CREAT|O_EXCL, mode 0600, fsync) and linked into place only if path
 * does not exist, then the directory is fsync'ed, so the file is either whole or absent.
 * Fails (err says so) when path already exists. On success *out owns the new keyring. */
int keyring_create(const char *path, struct keyring **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* keyring_load, or keyring_create when path does not exist (the embedded default;
 * *created is set to 1 so the caller can warn). Two processes racing here end with the
 * same file. */
int keyring_load_or_create(const char *path, struct keyring **out, int *created, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Appends a new random key with id max+1, which becomes active, to the file at path and
 * to kr. The file is re-read first and must still hold exactly kr's keys (otherwise
 * someone else changed it: reload and retry); the new file is written to a temporary
 * file (mode 0600, fsync) and renamed over path, then the directory is fsync'ed. kr is
 * changed only when the file was replaced. Sets *new_id. Refuses a symlink at path. */
int keyring_rotate(struct keyring *kr, const char *path, uint32_t *new_id, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Removes key id from the file at path and from kr (same re-read check and atomic
 * write as keyring_rotate). Refuses the active key and unknown ids. Checking that no
 * sealed value still uses the key is the caller's job. */
int keyring_retire(struct keyring *kr, const char *path, uint32_t id, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Wipes and frees. Accepts NULL. */
void keyring_free(struct keyring *kr);

/* The active key id (the last line of the file). */
uint32_t keyring_active_id(const struct keyring *kr);
/* Number of keys, and the id of the i-th one in file order (i < keyring_count). */
size_t keyring_count(const struct keyring *kr);
uint32_t keyring_id_at(const struct keyring *kr, size_t i);
/* 1 when the keyring holds key id, else 0. */
int keyring_has(const struct keyring *kr, uint32_t id);
/* The file name the keyring came from (borrowed, lives as long as kr). */
const char *keyring_name(const struct keyring *kr);

/* Writes the 32-byte key for purpose (one of KEYRING_PURPOSE_*) derived from master key
 * key_id by HKDF-SHA256 (salt "dropfix keyring v1", info "dropfix/v1/<purpose>").
 * Returns 0, or -1 (out wiped) for an unknown key id or purpose. The caller wipes out
 * with sodium_memzero after use. */
int keyring_derive(const struct keyring *kr, uint32_t key_id, const char *purpose,
                   uint8_t out[KEYRING_KEY_BYTES]) __attribute__((warn_unused_result));

/* Borrowed pointer to the derived "seal" key of key_id, or NULL when unknown. Only for
 * seal.c: never copy it out of mlock'ed memory for longer than one operation. */
const uint8_t *keyring_seal_key(const struct keyring *kr, uint32_t key_id);

/* Key-check value: a fixed plaintext sealed under the active key with the AD
 * `v1|installation|0|installation|key_check|master.key`. The store persists it at
 * first start; keyring_verify_check at every later start detects a wrong but
 * well-formed key file. *out_text is malloc'ed (free()); not secret. */
int keyring_make_check(const struct keyring *kr, char **out_text) __attribute__((warn_unused_result));

/* Returns 0 when text (from keyring_make_check) opens with this keyring and holds the
 * expected plaintext; *stale is set to 1 when it was sealed under a key other than the
 * active one (the caller should store a fresh keyring_make_check value, e.g. after
 * `keys rotate`, before that key is retired), else 0. Otherwise -1 with a one-line
 * message in err naming the key file (key id missing, or the key does not match). */
int keyring_verify_check(const struct keyring *kr, const char *text, int *stale, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
