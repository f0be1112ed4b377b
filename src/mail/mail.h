/* System e-mail (PRODUCT §11, §13): verification, password reset, invites and security
 * notices, sent through the installation's SMTP server or, when DROPFIX_SMTP_URL is unset,
 * written to the development outbox (src/mail/outbox.h).
 *
 * Messages are built here, never from caller-supplied header text: names, subjects and
 * extra header values that carry CR, LF or any other control character are refused, and
 * addresses pass a conservative addr-spec check, so header injection is impossible at
 * this boundary (callers validate at input too, to give users a useful error).
 * Non-ASCII display names and subjects become RFC 2047 encoded words (UTF-8, "B"); bodies
 * are UTF-8, quoted-printable, CRLF line ends; text + HTML is multipart/alternative.
 *
 * Transport (ARCHITECTURE §8b "Outbound"): libcurl, `smtps://` (implicit TLS) or `smtp://`
 * with STARTTLS required (a server that does not offer it fails the send: nothing goes out
 * in clear), TLS >= 1.2, peer and host name always verified (CA bundle from
 * DROPFIX_SMTP_CA_FILE when set, else the system store; there is no switch to turn
 * verification off), no proxy from the environment, credentials from the URL userinfo
 * (percent-decoded, wiped after use), connect and total timeouts.
 *
 * Thread-safe: any number of threads may call mail_send at once. */
#ifndef DROPFIX_MAIL_H
#define DROPFIX_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/limits.h"
#include "core/str.h"

struct tmpl_set;

/* An extra header. Names are allow-listed (case-insensitive): List-Unsubscribe,
 * List-Unsubscribe-Post. Values are printable ASCII (0x20-0x7e), at most
 * LIMIT_MAIL_HEADER_VALUE bytes. */
struct mail_header {
	const char *name;
	const char *value;
};

/* One message. Every string is borrowed, NUL-terminated UTF-8. */
struct mail_msg {
	const char *to_addr; /* required: an addr-spec accepted by mail_addr_valid */
	const char *to_name; /* optional display name (NULL or ""), <= LIMIT_MAIL_NAME bytes */
	const char *subject; /* required, <= LIMIT_MAIL_SUBJECT bytes */
	const char *text;    /* required plain-text body (LF or CRLF), <= LIMIT_MAIL_BODY bytes */
	const char *html;    /* optional HTML alternative, rendered with the template engine */
	const struct mail_header *headers; /* optional extra headers, at most LIMIT_MAIL_HEADERS */
	size_t n_headers;
	/* Optional, printable ASCII without spaces, <= LIMIT_MAIL_KEY bytes: the Message-ID
	 * local part (bytes other than [A-Za-z0-9_-] written as =XX), so a retried send of the
	 * same logical message carries the same Message-ID. NULL: a random one. */
	const char *idempotency_key;
};

/* Sends m as configured by cfg: over SMTP when cfg->smtp_url is set, else into
 * <cfg->data_dir>/outbox/. The From address is cfg->mail_from, else derived from the base
 * URL (mail_from_resolve). Returns 0 when the server accepted the message (or the outbox
 * file was written), or -1 with a one-line reason in err (errlen may be 0): an invalid
 * message (see mail_check), a bad setting, a connection, TLS, authentication or protocol
 * failure. A failed send may be retried with the same idempotency key. */
int mail_send(const struct config *cfg, const struct mail_msg *m, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Checks every field of m against the rules above without sending. Returns 0, or -1 with
 * a reason naming the field in err. */
int mail_check(const struct mail_msg *m, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Builds the complete RFC 5322 message for m (checked as mail_check) from the sender
 * from_name (may be NULL) / from_addr at time now_ms (Unix ms), with CRLF line ends,
 * appending it to out. The MIME boundary and, without an idempotency key, the Message-ID
 * are random. Returns 0, or -1 with err. */
int mail_format(const struct mail_msg *m, const char *from_name, const char *from_addr, int64_t now_ms,
                struct buf *out, char *err, size_t errlen) __attribute__((warn_unused_result));

/* 1 when addr is an address we send to: local@domain, ASCII only, the local part a
 * dot-atom (RFC 5322 atext, no quotes, comments or spaces) of at most
 * LIMIT_MAIL_ADDR_LOCAL bytes, the domain LDH labels (letters, digits, inner hyphens,
 * 1-63 bytes each, dot-separated, no trailing dot, the last label not all digits) of at
 * most LIMIT_MAIL_ADDR_DOMAIN bytes, the whole at most LIMIT_MAIL_ADDR bytes. Else 0. */
int mail_addr_valid(const char *addr);

/* 1 when s[0..n) is valid UTF-8 without control characters (C0, DEL, C1): fit for a
 * display name or a subject. Else 0. */
int mail_text_valid(const char *s, size_t n);

/* Decodes one UTF-8 character at s[0..n) (n > 0). Returns its length (1-4) and sets
 * *cp, or 0 when the bytes there are not well-formed UTF-8 (overlong, surrogate, above
 * U+10FFFF, truncated). */
size_t mail_utf8_char(const char *s, size_t n, uint32_t *cp);

/* Parses a From setting, "addr" or "Display Name <addr>" (the name may be in double
 * quotes, without backslashes or inner quotes), into name (may come back "") and addr.
 * Returns 0, or -1 when malformed, when the name or address is invalid, or does not fit. */
int mail_from_parse(const char *from, char *name, size_t namelen, char *addr, size_t addrlen)
    __attribute__((warn_unused_result));

/* The config_validator_fn of DROPFIX_MAIL_FROM: 0 when value parses (mail_from_parse),
 * else -1 with msg "expected an address or \"Name <address>\"". */
int mail_from_validate(const char *value, char *msg, size_t msglen);
/* Registers mail's setting checks with core/config (config_set_validator). Call once at
 * start-up, before any configuration is validated. */
void mail_config_register(void);

/* The sender for cfg: cfg->mail_from when set, else "DropFix <dropfix@HOST>" with HOST
 * the base URL's host name, or "localhost" when the base URL is unset or its host is an
 * IP address. Returns 0, or -1 with err when DROPFIX_MAIL_FROM is invalid. */
int mail_from_resolve(const struct config *cfg, char *name, size_t namelen, char *addr, size_t addrlen,
                      char *err, size_t errlen) __attribute__((warn_unused_result));

/* Appends s[0..n) (valid UTF-8) as RFC 2047 encoded words "=?UTF-8?B?…?=", each at most
 * 75 bytes and holding whole characters, separated by a folding "\r\n ". Returns 0, or -1
 * when out ran out of memory. */
int mail_encode_words(const char *s, size_t n, struct buf *out);

/* Appends s[0..n) quoted-printable encoded (RFC 2045): lines of at most 76 bytes, line
 * breaks in s (CRLF, LF or CR) become CRLF, trailing spaces and tabs, a leading '.' and a
 * leading "From " are encoded. Returns 0, or -1 when out ran out of memory. */
int mail_qp_encode(const char *s, size_t n, struct buf *out);

/* A system notice rendered from one set of data into a plain-text and an HTML body, so
 * both alternatives say the same thing: a heading, paragraphs, an optional call to
 * action (a button and its link) and an optional footer line. */
struct mail_notice {
	const char *heading;
	const char *const *paragraphs;
	size_t n_paragraphs;
	const char *action_label; /* optional; with action_url */
	const char *action_url;   /* http:// or https:// (built from the base URL) */
	const char *footer;       /* optional: why the recipient gets this mail */
};

/* Renders n with the embedded template "mail_notice" from set, appending the plain text
 * to text and the HTML to html. Returns 0, or -1 (a bad action URL, a render failure or
 * out of memory). */
int mail_notice_render(const struct tmpl_set *set, const struct mail_notice *n, struct buf *text,
                       struct buf *html) __attribute__((warn_unused_result));

#endif
