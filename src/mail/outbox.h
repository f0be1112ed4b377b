/* The development outbox: with DROPFIX_SMTP_URL unset, mail_send writes each message as
 * an .eml file into <data dir>/outbox/ instead of sending it, and `dropfix outbox` lists
 * and prints them (so a founder on a development install, and the tests, can follow a
 * verification link). Not meant for production: nothing is ever delivered from it.
 *
 * Files are named "<ms timestamp, 13 digits>-<seq, at least 4 digits>.eml", mode 0600,
 * written to a temporary file and linked into place, so a reader never sees half a
 * message and two writers never overwrite each other.
 *
 * The reader is a small MIME parser for the messages mail_format builds (headers,
 * RFC 2047 words in B or Q encoding, one level of multipart, quoted-printable and base64
 * bodies). Files are read with a size cap (LIMIT_MAIL_MESSAGE) and treated as untrusted. */
#ifndef DROPFIX_OUTBOX_H
#define DROPFIX_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

#define OUTBOX_DIR "outbox"
#define OUTBOX_NAME_MAX 64

/* Writes msg[0..len) as a new file in <data_dir>/outbox/ (creating data_dir and outbox
 * with mode 0700 when missing), dated now_ms. Sets name (name_len >= OUTBOX_NAME_MAX)
 * to the file name. Returns 0, or -1 with err. */
int outbox_write(const char *data_dir, const char *msg, size_t len, int64_t now_ms, char *name,
                 size_t name_len, char *err, size_t errlen) __attribute__((warn_unused_result));

struct outbox_entry {
	char name[OUTBOX_NAME_MAX]; /* file name inside the outbox */
	int64_t ms;                 /* from the name */
	int64_t seq;
};

/* Lists the messages in <data_dir>/outbox/, oldest first. Sets *out (free() it) and *n
 * (0 and NULL when the outbox is missing or empty). Returns 0, or -1 with err. */
int outbox_list(const char *data_dir, struct outbox_entry **out, size_t *n, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* A parsed message; every string is owned, NUL-terminated, decoded to UTF-8 where the
 * message said how (header words, transfer encodings), and "" when absent. */
struct outbox_msg {
	char *from;
	char *to;
	char *subject;
	char *date;
	char *message_id;
	char *text; /* the text/plain body */
	char *html; /* the text/html body */
};

/* Parses an RFC 5322 message of at most LIMIT_MAIL_MESSAGE bytes into out. Returns 0, or
 * -1 with err when it is malformed or memory runs out (out is then empty). */
int outbox_parse(const char *p, size_t n, struct outbox_msg *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Reads and parses the outbox file name (as listed) from <data_dir>/outbox/. Returns 0,
 * or -1 with err (a name that is not an outbox file name, a missing, oversized or
 * non-regular file, a malformed message). */
int outbox_read(const char *data_dir, const char *name, struct outbox_msg *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Frees the strings of m and zeroes it; accepts a zeroed or NULL m. */
void outbox_msg_free(struct outbox_msg *m);

/* Appends the decoded text of an unfolded header value s[0..n): RFC 2047 encoded words
 * ("=?charset?B|Q?…?=", UTF-8 and US-ASCII charsets) are decoded, whitespace between two
 * adjacent words is dropped, anything else is copied. Returns 0, or -1 on out of memory. */
int outbox_decode_words(const char *s, size_t n, struct buf *out);

/* Appends the quoted-printable decoding of s[0..n) (soft breaks removed, CRLF kept as
 * LF). Malformed escapes are copied as they are. Returns 0, or -1 on out of memory. */
int outbox_qp_decode(const char *s, size_t n, struct buf *out);

#endif
