#include "mail/mail.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/utf8.h"
#include "mail/outbox.h"
#include "tmpl/tmpl.h"

#define MAIL_CONNECT_TIMEOUT_MS 10000
#define MAIL_TOTAL_TIMEOUT_MS 60000
#define MAIL_WORD_BYTES 42 /* input bytes per encoded word: 56 base64 chars, 68-byte word */
#define MAIL_QP_LINE 75    /* content bytes per QP line; the soft break '=' makes 76 */
#define MAIL_FOLD_AT 78
#define MAIL_MSGID_MAX (3 * LIMIT_MAIL_KEY + LIMIT_MAIL_ADDR_DOMAIN + 8)

static const char *const allowed_headers[] = {"List-Unsubscribe", "List-Unsubscribe-Post"};

/* ---- validation ---------------------------------------------------------------- */

size_t mail_utf8_char(const char *s, size_t n, uint32_t *cp)
{
	int len = utf8_decode((const unsigned char *)s, n, cp);
	return len > 0 ? (size_t)len : 0;
}

/* 1 when s[0..n) is valid UTF-8 whose control characters are only those in allowed
 * (a string of C0 bytes, e.g. "\t\r\n"). C0, DEL and C1 are control characters. */
static int utf8_clean(const char *s, size_t n, const char *allowed)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		int len = utf8_decode(p + i, n - i, &cp);
		if (len < 0)
			return 0;
		if (cp < 0x20 && !(cp != 0 && strchr(allowed, (int)cp)))
			return 0;
		if (cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
			return 0;
		i += (size_t)len;
	}
	return 1;
}

int mail_text_valid(const char *s, size_t n)
{
	return s != NULL && utf8_clean(s, n, "");
}

/* RFC 5322 atext. */
static int is_atext(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static int is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

int mail_addr_valid(const char *addr)
{
	if (!addr)
		return 0;
	size_t n = strnlen(addr, LIMIT_MAIL_ADDR + 1);
	if (n == 0 || n > LIMIT_MAIL_ADDR)
		return 0;
	const char *at = strchr(addr, '@');
	if (!at || strchr(at + 1, '@'))
		return 0;
	size_t ln = (size_t)(at - addr), dn = n - ln - 1;
	if (ln == 0 || ln > LIMIT_MAIL_ADDR_LOCAL || dn == 0 || dn > LIMIT_MAIL_ADDR_DOMAIN)
		return 0;
	/* local part: dot-atom */
	for (size_t i = 0; i < ln; i++) {
		unsigned char c = (unsigned char)addr[i];
		if (c == '.') {
			if (i == 0 || i + 1 == ln || addr[i + 1] == '.')
				return 0;
		} else if (!is_atext(c)) {
			return 0;
		}
	}
	/* domain: LDH labels; the last one not all digits (no IP addresses) */
	const char *d = at + 1;
	size_t label = 0;
	int digits_only = 1;
	for (size_t i = 0; i <= dn; i++) {
		unsigned char c = i < dn ? (unsigned char)d[i] : '.';
		if (c == '.') {
			if (label == 0 || label > 63 || d[i - 1] == '-' || d[i - label] == '-')
				return 0;
			label = 0;
			if (i < dn)
				digits_only = 1;
		} else if (is_ldh(c)) {
			label++;
			if (!(c >= '0' && c <= '9'))
				digits_only = 0;
		} else {
			return 0;
		}
	}
	return !digits_only;
}

/* 1 when s is a printable ASCII string (0x20-0x7e) of at most max bytes. */
static int printable_ascii(const char *s, size_t max)
{
	size_t i = 0;
	for (; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e || i >= max)
			return 0;
	return 1;
}

/* Returns the canonical spelling of an allow-listed header name, or NULL. */
static const char *allowed_header(const char *name)
{
	for (size_t i = 0; i < sizeof(allowed_headers) / sizeof(allowed_headers[0]); i++)
		if (strcasecmp(name, allowed_headers[i]) == 0)
			return allowed_headers[i];
	return NULL;
}

int mail_check(const struct mail_msg *m, char *err, size_t errlen)
{
	const char *why = NULL;
	if (!m || !m->to_addr || !mail_addr_valid(m->to_addr))
		why = "to_addr: not a valid e-mail address";
	else if (m->to_name && (strnlen(m->to_name, LIMIT_MAIL_NAME + 1) > LIMIT_MAIL_NAME ||
	                        !mail_text_valid(m->to_name, strlen(m->to_name))))
		why = "to_name: control characters, invalid UTF-8 or too long";
	else if (!m->subject || !m->subject[0] ||
	         strnlen(m->subject, LIMIT_MAIL_SUBJECT + 1) > LIMIT_MAIL_SUBJECT ||
	         !mail_text_valid(m->subject, strlen(m->subject)))
		why = "subject: empty, control characters, invalid UTF-8 or too long";
	else if (!m->text || strnlen(m->text, LIMIT_MAIL_BODY + 1) > LIMIT_MAIL_BODY ||
	         !utf8_clean(m->text, strlen(m->text), "\t\r\n"))
		why = "text: missing, too long, invalid UTF-8 or control characters";
	else if (m->html && (strnlen(m->html, LIMIT_MAIL_BODY + 1) > LIMIT_MAIL_BODY ||
	                     !utf8_clean(m->html, strlen(m->html), "\t\r\n")))
		why = "html: too long, invalid UTF-8 or control characters";
	else if (m->n_headers > LIMIT_MAIL_HEADERS || (m->n_headers && !m->headers))
		why = "headers: too many";
	else if (m->idempotency_key &&
	         (!m->idempotency_key[0] || !printable_ascii(m->idempotency_key, LIMIT_MAIL_KEY) ||
	          strchr(m->idempotency_key, ' ')))
		why = "idempotency_key: expected 1-200 printable ASCII characters without spaces";
	for (size_t i = 0; !why && i < m->n_headers; i++) {
		const struct mail_header *h = &m->headers[i];
		if (!h->name || !allowed_header(h->name))
			why = "headers: name not allowed";
		else if (!h->value || !printable_ascii(h->value, LIMIT_MAIL_HEADER_VALUE))
			why = "headers: value must be printable ASCII";
		for (size_t j = 0; !why && j < i; j++)
			if (strcasecmp(m->headers[j].name, h->name) == 0)
				why = "headers: duplicate name";
	}
	if (why) {
		if (errlen)
			snprintf(err, errlen, "mail: %s", why);
		return -1;
	}
	return 0;
}

/* ---- encoders ------------------------------------------------------------------ */

int mail_encode_words(const char *s, size_t n, struct buf *out)
{
	char b64[sodium_base64_ENCODED_LEN(MAIL_WORD_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	size_t i = 0;
	do {
		size_t take = n - i < MAIL_WORD_BYTES ? n - i : MAIL_WORD_BYTES;
		/* never split a character: back up to the start of the next one */
		while (i + take < n && take > 0 && ((unsigned char)s[i + take] & 0xc0) == 0x80)
			take--;
		if (take == 0) /* not UTF-8; cannot happen after validation */
			take = n - i < MAIL_WORD_BYTES ? n - i : MAIL_WORD_BYTES;
		sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)s + i, take,
		                  sodium_base64_VARIANT_ORIGINAL);
		if (i)
			buf_puts(out, "\r\n ");
		buf_printf(out, "=?UTF-8?B?%s?=", b64);
		i += take;
	} while (i < n);
	return out->oom ? -1 : 0;
}

int mail_qp_encode(const char *s, size_t n, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' || c == '\n') {
			buf_append(out, "\r\n", 2);
			col = 0;
			i += (c == '\r' && i + 1 < n && s[i + 1] == '\n') ? 2 : 1;
			continue;
		}
		int at_eol = i + 1 == n || s[i + 1] == '\r' || s[i + 1] == '\n';
		int literal;
		for (;;) {
			literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_eol);
			if (col == 0 &&
			    (c == '.' || (c == 'F' && n - i >= 5 && memcmp(s + i, "From ", 5) == 0)))
				literal = 0;
			if (col + (literal ? 1 : 3) <= MAIL_QP_LINE)
				break;
			buf_append(out, "=\r\n", 3);
			col = 0;
		}
		if (literal) {
			buf_putc(out, (char)c);
			col++;
		} else {
			char e[3] = {'=', hex[c >> 4], hex[c & 15]};
			buf_append(out, e, 3);
			col += 3;
		}
		i++;
	}
	return out->oom ? -1 : 0;
}

/* Appends a display name as a phrase: atoms as they are, other printable ASCII as a
 * quoted string, anything else (or text that looks like an encoded word) as encoded
 * words. name is valid (mail_text_valid). */
static void put_phrase(struct buf *out, const char *name)
{
	size_t n = strlen(name);
	int ascii = 1, atoms = n > 0 && name[0] != ' ' && name[n - 1] != ' ';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c >= 0x80)
			ascii = 0;
		if (!(is_atext(c) || (c == ' ' && name[i + 1] != ' ')))
			atoms = 0;
	}
	if (!ascii || strstr(name, "=?")) {
		mail_encode_words(name, n, out);
	} else if (atoms) {
		buf_append(out, name, n);
	} else {
		buf_putc(out, '"');
		for (size_t i = 0; i < n; i++) {
			if (name[i] == '"' || name[i] == '\\')
				buf_putc(out, '\\');
			buf_putc(out, name[i]);
		}
		buf_putc(out, '"');
	}
}

/* "Name: phrase <addr>" or "Name: addr", CRLF-terminated. */
static void put_mailbox(struct buf *out, const char *hname, const char *name, const char *addr)
{
	buf_printf(out, "%s: ", hname);
	if (name && name[0]) {
		put_phrase(out, name);
		buf_printf(out, " <%s>\r\n", addr);
	} else {
		buf_printf(out, "%s\r\n", addr);
	}
}

/* "Subject: …" CRLF. Printable ASCII is folded at spaces to keep lines near 78 bytes;
 * anything else (and text with leading or trailing spaces) becomes encoded words. subject is valid
 * (mail_text_valid). */
static void put_subject(struct buf *out, const char *subject)
{
	size_t n = strlen(subject);
	int ascii = 1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)subject[i] >= 0x80)
			ascii = 0;
	buf_puts(out, "Subject: ");
	/* leading and trailing spaces would be lost by readers: keep them inside words */
	if (!ascii || strstr(subject, "=?") || subject[0] == ' ' || subject[n - 1] == ' ') {
		mail_encode_words(subject, n, out);
		buf_puts(out, "\r\n");
		return;
	}
	size_t col = 9;
	for (size_t i = 0; i < n; i++) {
		if (subject[i] == ' ' && i + 1 < n && subject[i + 1] != ' ' && col > 9) {
			size_t run = 1;
			while (i + run < n && subject[i + run] != ' ')
				run++;
			if (col + run > MAIL_FOLD_AT) {
				buf_puts(out, "\r\n");
				col = 0;
			}
		}
		buf_putc(out, subject[i]);
		col++;
	}
	buf_puts(out, "\r\n");
}

/* RFC 5322 date-time in UTC. */
static int put_date(struct buf *out, int64_t now_ms)
{
	static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)(now_ms / 1000);
	struct tm tm;
	if (now_ms < 0 || !gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999)
		return -1;
	buf_printf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", wd[tm.tm_wday], tm.tm_mday,
	           mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return 0;
}

/* Writes "<local@domain>" into id: local from key (bytes outside [A-Za-z0-9_-] as =XX),
 * or 32 random hex digits. */
static void make_message_id(char *id, size_t idlen, const char *key, const char *domain)
{
	static const char hex[] = "0123456789abcdef";
	char local[3 * LIMIT_MAIL_KEY + 1];
	size_t o = 0;
	if (key) {
		for (const char *p = key; *p && o + 4 < sizeof(local); p++) {
			unsigned char c = (unsigned char)*p;
			if (isalnum(c) || c == '_' || c == '-') {
				local[o++] = (char)c;
			} else {
				local[o++] = '=';
				local[o++] = "0123456789ABCDEF"[c >> 4];
				local[o++] = "0123456789ABCDEF"[c & 15];
			}
		}
	} else {
		unsigned char rnd[16];
		randombytes_buf(rnd, sizeof(rnd));
		for (size_t i = 0; i < sizeof(rnd); i++) {
			local[o++] = hex[rnd[i] >> 4];
			local[o++] = hex[rnd[i] & 15];
		}
	}
	local[o] = '\0';
	snprintf(id, idlen, "<%s@%s>", local, domain);
}

/* Appends one body part: headers and the quoted-printable body. In a multipart body the
 * CRLF before the next delimiter belongs to the delimiter, so the part's text comes back
 * exactly; a single-part message gets a final CRLF when the text has none. */
static void put_part(struct buf *out, const char *type, const char *body, int final_crlf)
{
	buf_printf(out,
	           "Content-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
	           type);
	mail_qp_encode(body, strlen(body), out);
	if (final_crlf && (out->n < 2 || memcmp(out->p + out->n - 2, "\r\n", 2) != 0))
		buf_puts(out, "\r\n");
}

static int format_msg(const struct mail_msg *m, const char *from_name, const char *from_addr, int64_t now_ms,
                      struct buf *out, char *msgid, size_t msgidlen, char *err, size_t errlen)
{
	if (mail_check(m, err, errlen) < 0)
		return -1;
	if (!from_addr || !mail_addr_valid(from_addr) ||
	    (from_name &&
	     (strlen(from_name) > LIMIT_MAIL_NAME || !mail_text_valid(from_name, strlen(from_name))))) {
		if (errlen)
			snprintf(err, errlen, "mail: the sender address or name is invalid");
		return -1;
	}
	make_message_id(msgid, msgidlen, m->idempotency_key, strchr(from_addr, '@') + 1);
	size_t start = out->n;
	put_mailbox(out, "From", from_name, from_addr);
	put_mailbox(out, "To", m->to_name, m->to_addr);
	put_subject(out, m->subject);
	if (put_date(out, now_ms) < 0) {
		if (errlen)
			snprintf(err, errlen, "mail: the clock is out of range");
		goto fail;
	}
	buf_printf(out, "Message-ID: %s\r\nMIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n", msgid);
	for (size_t i = 0; i < m->n_headers; i++)
		buf_printf(out, "%s: %s\r\n", allowed_header(m->headers[i].name), m->headers[i].value);
	if (!m->html) {
		put_part(out, "text/plain", m->text, 1);
	} else {
		/* "=_" never occurs in quoted-printable text, so the boundary cannot either. */
		unsigned char rnd[12];
		char boundary[40];
		randombytes_buf(rnd, sizeof(rnd));
		memcpy(boundary, "=_dropfix_", 10);
		sodium_bin2hex(boundary + 10, sizeof(boundary) - 10, rnd, sizeof(rnd));
		buf_printf(out, "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n\r\n", boundary);
		buf_printf(out, "This is a message in MIME format: a plain-text and an HTML version.\r\n");
		buf_printf(out, "\r\n--%s\r\n", boundary);
		put_part(out, "text/plain", m->text, 0);
		buf_printf(out, "\r\n--%s\r\n", boundary);
		put_part(out, "text/html", m->html, 0);
		buf_printf(out, "\r\n--%s--\r\n", boundary);
	}
	if (out->oom || out->n - start > LIMIT_MAIL_MESSAGE) {
		if (errlen)
			snprintf(err, errlen, "mail: message too large or out of memory");
		goto fail;
	}
	return 0;
fail:
	if (!out->oom && out->p) {
		out->n = start;
		out->p[start] = '\0';
	}
	return -1;
}

int mail_format(const struct mail_msg *m, const char *from_name, const char *from_addr, int64_t now_ms,
                struct buf *out, char *err, size_t errlen)
{
	char msgid[MAIL_MSGID_MAX];
	return format_msg(m, from_name, from_addr, now_ms, out, msgid, sizeof(msgid), err, errlen);
}

/* ---- sender -------------------------------------------------------------------- */

int mail_from_parse(const char *from, char *name, size_t namelen, char *addr, size_t addrlen)
{
	if (!from || namelen == 0 || addrlen == 0)
		return -1;
	name[0] = addr[0] = '\0';
	size_t n = strnlen(from, LIMIT_MAIL_NAME + LIMIT_MAIL_ADDR + 8);
	while (n && from[n - 1] == ' ')
		n--;
	while (n && *from == ' ')
		from++, n--;
	const char *a = from, *nm = NULL;
	size_t an = n, nn = 0;
	if (n && from[n - 1] == '>') {
		const char *lt = memrchr(from, '<', n);
		if (!lt)
			return -1;
		a = lt + 1;
		an = (size_t)(from + n - 1 - a);
		nm = from;
		nn = (size_t)(lt - from);
		while (nn && nm[nn - 1] == ' ')
			nn--;
		if (nn >= 2 && nm[0] == '"' && nm[nn - 1] == '"') {
			nm++;
			nn -= 2;
			if (memchr(nm, '"', nn) || memchr(nm, '\\', nn))
				return -1;
		}
	}
	if (an == 0 || an >= addrlen || nn >= namelen || nn > LIMIT_MAIL_NAME)
		return -1;
	memcpy(addr, a, an);
	addr[an] = '\0';
	if (nn)
		memcpy(name, nm, nn);
	name[nn] = '\0';
	if (!mail_addr_valid(addr) || !mail_text_valid(name, nn) || memchr(name, '<', nn) ||
	    memchr(name, '>', nn)) {
		name[0] = addr[0] = '\0';
		return -1;
	}
	return 0;
}

int mail_from_validate(const char *value, char *msg, size_t msglen)
{
	char name[LIMIT_MAIL_NAME + 1], addr[LIMIT_MAIL_ADDR + 1];
	if (mail_from_parse(value, name, sizeof(name), addr, sizeof(addr)) == 0)
		return 0;
	snprintf(msg, msglen, "expected an address or \"Name <address>\"");
	return -1;
}

void mail_config_register(void)
{
	config_set_validator("DROPFIX_MAIL_FROM", mail_from_validate);
}

int mail_from_resolve(const struct config *cfg, char *name, size_t namelen, char *addr, size_t addrlen,
                      char *err, size_t errlen)
{
	if (cfg->mail_from && cfg->mail_from[0]) {
		if (mail_from_parse(cfg->mail_from, name, namelen, addr, addrlen) < 0) {
			if (errlen)
				snprintf(err, errlen,
				         "DROPFIX_MAIL_FROM: expected an address or \"Name <address>\" "
				         "(ASCII address, no "
				         "control characters)");
			return -1;
		}
		return 0;
	}
	char host[LIMIT_MAIL_ADDR_DOMAIN + 1] = "localhost";
	const char *u = cfg->base_url ? strstr(cfg->base_url, "://") : NULL;
	if (u) {
		u += 3;
		size_t hn = strcspn(u, ":/?#@[");
		int ip = 1;
		for (size_t i = 0; i < hn; i++)
			if (!isdigit((unsigned char)u[i]) && u[i] != '.')
				ip = 0;
		if (hn > 0 && hn < sizeof(host) && !ip && u[hn] != '@' && u[hn] != '[') {
			for (size_t i = 0; i < hn; i++)
				host[i] = (char)tolower((unsigned char)u[i]);
			host[hn] = '\0';
		}
	}
	if (snprintf(addr, addrlen, "dropfix@%s", host) >= (int)addrlen || !mail_addr_valid(addr))
		snprintf(addr, addrlen, "dropfix@localhost");
	snprintf(name, namelen, "DropFix");
	return 0;
}

/* ---- SMTP transport ------------------------------------------------------------ */

struct smtp_target {
	char url[600];   /* scheme://host[:port]/ehlo-domain, without credentials */
	char where[300]; /* host[:port], for messages */
	char user[256];
	char pass[256];
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..n) into out; refuses control characters and bad escapes. */
static int pct_decode(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f || o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* Parses DROPFIX_SMTP_URL: smtp[s]://[user[:password]@]host[:port][/]. */
static int smtp_parse_url(const char *u, const char *ehlo, struct smtp_target *t, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	const char *scheme, *rest;
	if (strncmp(u, "smtps://", 8) == 0)
		scheme = "smtps", rest = u + 8;
	else if (strncmp(u, "smtp://", 7) == 0)
		scheme = "smtp", rest = u + 7;
	else
		goto bad;
	size_t an = strcspn(rest, "/?#");
	if (rest[an] && strcmp(rest + an, "/") != 0)
		goto bad;
	const char *at = memrchr(rest, '@', an);
	const char *hp = at ? at + 1 : rest;
	size_t hn = (size_t)(rest + an - hp);
	if (at) {
		const char *colon = memchr(rest, ':', (size_t)(at - rest));
		size_t un = colon ? (size_t)(colon - rest) : (size_t)(at - rest);
		if (pct_decode(rest, un, t->user, sizeof(t->user)) < 0 ||
		    (colon && pct_decode(colon + 1, (size_t)(at - colon - 1), t->pass, sizeof(t->pass)) < 0))
			goto bad;
	}
	if (hn == 0 || hn >= sizeof(t->where))
		goto bad;
	for (size_t i = 0; i < hn; i++)
		if (!(is_ldh((unsigned char)hp[i]) || hp[i] == '.' || hp[i] == ':' || hp[i] == '[' ||
		      hp[i] == ']'))
			goto bad;
	memcpy(t->where, hp, hn);
	t->where[hn] = '\0';
	if (snprintf(t->url, sizeof(t->url), "%s://%s/%s", scheme, t->where, ehlo) >= (int)sizeof(t->url))
		goto bad;
	return 0;
bad:
	sodium_memzero(t, sizeof(*t));
	if (errlen)
		snprintf(err, errlen,
		         "DROPFIX_SMTP_URL: expected smtps://[user[:password]@]host[:port] or smtp://… "
		         "(STARTTLS required), with special characters percent-encoded");
	return -1;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct upload {
	const char *p;
	size_t n, off;
};

static size_t upload_read(char *dst, size_t size, size_t nitems, void *userdata)
{
	struct upload *u = userdata;
	size_t room = size * nitems, left = u->n - u->off;
	size_t k = room < left ? room : left;
	memcpy(dst, u->p + u->off, k);
	u->off += k;
	return k;
}

#define SETOPT(h, opt, val)                                                                                  \
	do {                                                                                                 \
		if (curl_easy_setopt((h), (opt), (val)) != CURLE_OK) {                                       \
			snprintf(err, errlen, "mail: libcurl refused %s", #opt);                             \
			goto done;                                                                           \
		}                                                                                            \
	} while (0)

static int smtp_send(const struct config *cfg, const char *from_addr, const char *to_addr,
                     const struct buf *msg, char *err, size_t errlen)
{
	struct smtp_target t;
	CURL *h = NULL;
	struct curl_slist *rcpt = NULL;
	char ebuf[CURL_ERROR_SIZE] = "";
	char mfrom[LIMIT_MAIL_ADDR + 3], mto[LIMIT_MAIL_ADDR + 3];
	int rc = -1;
	if (smtp_parse_url(cfg->smtp_url, strchr(from_addr, '@') + 1, &t, err, errlen) < 0)
		return -1;
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK || !(h = curl_easy_init())) {
		snprintf(err, errlen, "mail: cannot initialise libcurl");
		goto done;
	}
	snprintf(mfrom, sizeof(mfrom), "<%s>", from_addr);
	snprintf(mto, sizeof(mto), "<%s>", to_addr);
	if (!(rcpt = curl_slist_append(NULL, mto))) {
		snprintf(err, errlen, "mail: out of memory");
		goto done;
	}
	struct upload up = {msg->p, msg->n, 0};
	SETOPT(h, CURLOPT_ERRORBUFFER, ebuf);
	SETOPT(h, CURLOPT_URL, t.url);
	SETOPT(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	SETOPT(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	SETOPT(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cfg->smtp_ca_file && cfg->smtp_ca_file[0])
		SETOPT(h, CURLOPT_CAINFO, cfg->smtp_ca_file);
	SETOPT(h, CURLOPT_PROXY, "");
	SETOPT(h, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, (long)MAIL_CONNECT_TIMEOUT_MS);
	SETOPT(h, CURLOPT_TIMEOUT_MS, (long)MAIL_TOTAL_TIMEOUT_MS);
	if (t.user[0]) {
		SETOPT(h, CURLOPT_USERNAME, t.user);
		SETOPT(h, CURLOPT_PASSWORD, t.pass);
	}
	SETOPT(h, CURLOPT_MAIL_FROM, mfrom);
	SETOPT(h, CURLOPT_MAIL_RCPT, rcpt);
	SETOPT(h, CURLOPT_READFUNCTION, upload_read);
	SETOPT(h, CURLOPT_READDATA, &up);
	SETOPT(h, CURLOPT_UPLOAD, 1L);
	CURLcode res = curl_easy_perform(h);
	if (res != CURLE_OK) {
		snprintf(err, errlen, "mail: SMTP via %s failed: %s%s%s", t.where, curl_easy_strerror(res),
		         ebuf[0] ? ": " : "", ebuf);
		goto done;
	}
	rc = 0;
done:
	/* libcurl keeps copies of the credentials in the handle until cleanup */
	curl_easy_cleanup(h);
	curl_slist_free_all(rcpt);
	sodium_memzero(&t, sizeof(t));
	return rc;
}

int mail_send(const struct config *cfg, const struct mail_msg *m, char *err, size_t errlen)
{
	char tmp_err[512];
	if (!errlen || !err) {
		err = tmp_err;
		errlen = sizeof(tmp_err);
	}
	char from_name[LIMIT_MAIL_NAME + 1], from_addr[LIMIT_MAIL_ADDR + 1], msgid[MAIL_MSGID_MAX];
	struct buf msg;
	int rc = -1;
	buf_init(&msg, LIMIT_MAIL_MESSAGE + 64 * 1024);
	if (sodium_init() < 0) {
		snprintf(err, errlen, "mail: libsodium failed to initialise");
		goto done;
	}
	int64_t now = clock_now_ms();
	if (mail_from_resolve(cfg, from_name, sizeof(from_name), from_addr, sizeof(from_addr), err, errlen) <
	        0 ||
	    format_msg(m, from_name, from_addr, now, &msg, msgid, sizeof(msgid), err, errlen) < 0)
		goto done;
	if (cfg->smtp_url && cfg->smtp_url[0]) {
		if (smtp_send(cfg, from_addr, m->to_addr, &msg, err, errlen) < 0) {
			log_json(LOG_WARN, "mail not sent",
			         json_pack("{s:s,s:s}", "message_id", msgid, "error", err));
			goto done;
		}
		log_json(LOG_INFO, "mail sent", json_pack("{s:s,s:s}", "via", "smtp", "message_id", msgid));
	} else {
		char name[OUTBOX_NAME_MAX];
		if (!cfg->data_dir ||
		    outbox_write(cfg->data_dir, msg.p, msg.n, now, name, sizeof(name), err, errlen) < 0)
			goto done;
		log_json(LOG_INFO, "mail written to the development outbox",
		         json_pack("{s:s,s:s,s:s}", "via", "outbox", "file", name, "message_id", msgid));
	}
	rc = 0;
done:
	buf_free(&msg);
	return rc;
}

/* ---- notices ------------------------------------------------------------------- */

/* 1 when url is an http(s) URL without spaces or control characters. */
static int link_ok(const char *url)
{
	if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
		return 0;
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return 0;
	return 1;
}

int mail_notice_render(const struct tmpl_set *set, const struct mail_notice *n, struct buf *text,
                       struct buf *html)
{
	int rc = -1;
	json_t *ctx = NULL, *paras = NULL;
	if (!n->heading || (n->action_url && (!n->action_label || !link_ok(n->action_url))))
		return -1;
	ctx = json_object();
	paras = json_array();
	if (!ctx || !paras)
		goto done;
	buf_printf(text, "%s\n\n", n->heading);
	for (size_t i = 0; i < n->n_paragraphs; i++) {
		if (!n->paragraphs[i] || json_array_append_new(paras, json_string(n->paragraphs[i])) < 0)
			goto done;
		buf_printf(text, "%s\n\n", n->paragraphs[i]);
	}
	if (json_object_set_new(ctx, "heading", json_string(n->heading)) < 0 ||
	    json_object_set(ctx, "paragraphs", paras) < 0)
		goto done;
	if (n->action_url) {
		buf_printf(text, "%s:\n%s\n\n", n->action_label, n->action_url);
		if (json_object_set_new(
		        ctx, "action",
		        json_pack("{s:s,s:s}", "url", n->action_url, "label", n->action_label)) < 0)
			goto done;
	}
	if (n->footer) {
		buf_printf(text, "-- \n%s\n", n->footer);
		if (json_object_set_new(ctx, "footer", json_string(n->footer)) < 0)
			goto done;
	}
	if (text->oom || tmpl_render(set, "mail_notice", ctx, html) < 0)
		goto done;
	rc = 0;
done:
	json_decref(paras);
	json_decref(ctx);
	return rc;
}
