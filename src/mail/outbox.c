#include "mail/outbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/parse.h"
#include "mail/mail.h"

#define OUTBOX_MAX_HEADERS 128
#define OUTBOX_MAX_FILES 100000

static unsigned long outbox_seq;

/* ---- writing ------------------------------------------------------------------- */

/* Creates dir (mode 0700) when missing; refuses a non-directory. */
static int ensure_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "outbox: cannot create %.300s: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "outbox: %.300s is not a directory", dir);
		return -1;
	}
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int outbox_write(const char *data_dir, const char *msg, size_t len, int64_t now_ms, char *name,
                 size_t name_len, char *err, size_t errlen)
{
	char dir[4096], tmp[OUTBOX_NAME_MAX];
	int dfd = -1, fd = -1, rc = -1, linked = 0;
	tmp[0] = '\0';
	if (name_len < OUTBOX_NAME_MAX || now_ms < 0 || len > LIMIT_MAIL_MESSAGE) {
		snprintf(err, errlen, "outbox: bad arguments");
		return -1;
	}
	if (snprintf(dir, sizeof(dir), "%s/%s", data_dir, OUTBOX_DIR) >= (int)sizeof(dir)) {
		snprintf(err, errlen, "outbox: data directory path too long");
		return -1;
	}
	if (ensure_dir(data_dir, err, errlen) < 0 || ensure_dir(dir, err, errlen) < 0)
		return -1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(err, errlen, "outbox: cannot open %.300s: %s", dir, strerror(errno));
		goto done;
	}
	unsigned char rnd[8];
	char rhex[17];
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(rhex, sizeof(rhex), rnd, sizeof(rnd));
	snprintf(tmp, sizeof(tmp), ".tmp-%s", rhex);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600) < 0 || write_all(fd, msg, len) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "outbox: cannot write in %.300s: %s", dir, strerror(errno));
		goto done;
	}
	close(fd);
	fd = -1;
	/* link(2) fails instead of replacing, so concurrent writers never overwrite each other. */
	for (int tries = 0; tries < 10000 && !linked; tries++) {
		unsigned long seq = __atomic_fetch_add(&outbox_seq, 1, __ATOMIC_RELAXED);
		snprintf(name, name_len, "%013lld-%04lu.eml", (long long)now_ms, seq % 1000000);
		if (linkat(dfd, tmp, dfd, name, 0) == 0)
			linked = 1;
		else if (errno != EEXIST)
			break;
	}
	if (!linked) {
		snprintf(err, errlen, "outbox: cannot name the message in %.300s: %s", dir, strerror(errno));
		goto done;
	}
	fsync(dfd);
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0) {
		if (tmp[0])
			unlinkat(dfd, tmp, 0);
		close(dfd);
	}
	if (rc < 0 && name_len)
		name[0] = '\0';
	return rc;
}

/* ---- listing ------------------------------------------------------------------- */

/* Parses "<13 digits>-<4-6 digits>.eml". Returns 0 or -1. */
static int parse_name(const char *s, int64_t *ms, int64_t *seq)
{
	size_t n = strlen(s);
	if (n < 13 + 1 + 4 + 4 || n > 13 + 1 + 6 + 4 || s[13] != '-' || strcmp(s + n - 4, ".eml") != 0)
		return -1;
	if (parse_i64(s, 13, 0, INT64_MAX, ms) < 0 || parse_i64(s + 14, n - 18, 0, 999999, seq) < 0)
		return -1;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct outbox_entry *x = a, *y = b;
	if (x->ms != y->ms)
		return x->ms < y->ms ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return strcmp(x->name, y->name);
}

int outbox_list(const char *data_dir, struct outbox_entry **out, size_t *n, char *err, size_t errlen)
{
	char dir[4096];
	struct outbox_entry *v = NULL;
	size_t cnt = 0, cap = 0;
	*out = NULL;
	*n = 0;
	if (snprintf(dir, sizeof(dir), "%s/%s", data_dir, OUTBOX_DIR) >= (int)sizeof(dir)) {
		snprintf(err, errlen, "outbox: data directory path too long");
		return -1;
	}
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "outbox: cannot read %.300s: %s", dir, strerror(errno));
		return -1;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		int64_t ms, seq;
		if (strlen(de->d_name) >= OUTBOX_NAME_MAX || parse_name(de->d_name, &ms, &seq) < 0)
			continue;
		if (cnt == OUTBOX_MAX_FILES) {
			snprintf(err, errlen, "outbox: more than %d messages in %.300s; delete old ones",
			         OUTBOX_MAX_FILES, dir);
			goto fail;
		}
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct outbox_entry *nv = realloc(v, ncap * sizeof(*v));
			if (!nv) {
				snprintf(err, errlen, "outbox: out of memory");
				goto fail;
			}
			v = nv;
			cap = ncap;
		}
		memcpy(v[cnt].name, de->d_name, strlen(de->d_name) + 1);
		v[cnt].ms = ms;
		v[cnt].seq = seq;
		cnt++;
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), entry_cmp);
	*out = v;
	*n = cnt;
	return 0;
fail:
	closedir(d);
	free(v);
	return -1;
}

/* ---- decoding ------------------------------------------------------------------ */

static int hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int outbox_qp_decode(const char *s, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '=') {
			if (i + 1 < n && s[i + 1] == '\n') {
				i += 1;
				continue;
			}
			if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
				i += 2;
				continue;
			}
			int hi = i + 2 < n ? hex_digit((unsigned char)s[i + 1]) : -1;
			int lo = i + 2 < n ? hex_digit((unsigned char)s[i + 2]) : -1;
			if (hi >= 0 && lo >= 0) {
				buf_putc(out, (char)(hi * 16 + lo));
				i += 2;
				continue;
			}
		} else if (c == '\r' && i + 1 < n && s[i + 1] == '\n') {
			continue;
		}
		buf_putc(out, (char)c);
	}
	return out->oom ? -1 : 0;
}

/* Decodes the text of one encoded word (encoding 'B' or 'Q') into out. */
static int decode_word_text(char enc, const char *s, size_t n, struct buf *out)
{
	if (enc == 'B' || enc == 'b') {
		unsigned char bin[256];
		size_t bl;
		if (n > 340 || sodium_base642bin(bin, sizeof(bin), s, n, NULL, &bl, NULL,
		                                 sodium_base64_VARIANT_ORIGINAL) != 0)
			return -1;
		buf_append(out, bin, bl);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '_') {
			buf_putc(out, ' ');
		} else if (s[i] == '=' && i + 2 < n && hex_digit((unsigned char)s[i + 1]) >= 0 &&
		           hex_digit((unsigned char)s[i + 2]) >= 0) {
			buf_putc(out, (char)(hex_digit((unsigned char)s[i + 1]) * 16 +
			                     hex_digit((unsigned char)s[i + 2])));
			i += 2;
		} else {
			buf_putc(out, s[i]);
		}
	}
	return 0;
}

/* Recognises an encoded word at s[0..n). Returns its length and decodes it into out (when
 * its charset is UTF-8 or US-ASCII), or returns 0 (nothing appended) when it is none. */
static size_t try_word(const char *s, size_t n, struct buf *out)
{
	if (n < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	const char *q1 = memchr(s + 2, '?', n - 2);
	if (!q1 || q1 + 3 >= s + n || q1[2] != '?')
		return 0;
	char enc = q1[1];
	if (enc != 'B' && enc != 'b' && enc != 'Q' && enc != 'q')
		return 0;
	const char *text = q1 + 3;
	const char *end = NULL;
	for (const char *p = text; p + 1 < s + n; p++) {
		if (p[0] == '?' && p[1] == '=') {
			end = p;
			break;
		}
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			return 0;
	}
	if (!end)
		return 0;
	size_t csl = (size_t)(q1 - (s + 2));
	const char *star = memchr(s + 2, '*', csl);
	if (star)
		csl = (size_t)(star - (s + 2));
	int known = (csl == 5 && strncasecmp(s + 2, "utf-8", 5) == 0) ||
	            (csl == 8 && strncasecmp(s + 2, "us-ascii", 8) == 0);
	if (!known)
		return 0;
	size_t mark = out->n;
	if (decode_word_text(enc, text, (size_t)(end - text), out) < 0) {
		if (!out->oom && out->p) {
			out->n = mark;
			out->p[mark] = '\0';
		}
		return 0;
	}
	return (size_t)(end + 2 - s);
}

static int is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int outbox_decode_words(const char *s, size_t n, struct buf *out)
{
	int prev_word = 0;
	struct buf word;
	buf_init(&word, 0);
	for (size_t i = 0; i < n;) {
		size_t ws = i;
		while (i < n && is_wsp(s[i]))
			i++;
		size_t wl = 0;
		if (i < n) {
			buf_reset(&word);
			wl = try_word(s + i, n - i, &word);
			if (word.oom)
				out->oom = 1;
		}
		if (wl) {
			/* whitespace between two adjacent encoded words is not part of the text */
			if (!prev_word)
				buf_append(out, s + ws, i - ws);
			buf_append(out, word.p ? word.p : "", word.n);
			i += wl;
			prev_word = 1;
			continue;
		}
		buf_append(out, s + ws, i - ws);
		while (i < n && !is_wsp(s[i]))
			buf_putc(out, s[i++]);
		prev_word = 0;
	}
	if (word.oom)
		out->oom = 1;
	buf_free(&word);
	return out->oom ? -1 : 0;
}

/* ---- parsing ------------------------------------------------------------------- */

struct hdr {
	struct str name;
	char *value; /* unfolded */
};

struct hdrs {
	struct hdr v[OUTBOX_MAX_HEADERS];
	size_t n;
};

static void hdrs_free(struct hdrs *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].value);
	h->n = 0;
}

static const char *hdr_get(const struct hdrs *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (str_eq_nocase(h->v[i].name, str_from_cstr(name)))
			return h->v[i].value;
	return NULL;
}

/* Parses the header block at p[0..n). Sets *body to the offset of the body. */
static int parse_headers(const char *p, size_t n, struct hdrs *h, size_t *body)
{
	size_t i = 0;
	h->n = 0;
	for (;;) {
		if (i >= n) {
			*body = n;
			return 0;
		}
		if (p[i] == '\n' || (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')) {
			*body = i + (p[i] == '\r' ? 2 : 1);
			return 0;
		}
		size_t colon = i;
		while (colon < n && p[colon] != ':' && p[colon] != '\n')
			colon++;
		if (colon >= n || p[colon] != ':' || colon == i || h->n == OUTBOX_MAX_HEADERS)
			return -1;
		struct buf v;
		buf_init(&v, LIMIT_MAIL_MESSAGE);
		size_t j = colon + 1;
		while (j < n && (p[j] == ' ' || p[j] == '\t'))
			j++;
		for (;;) {
			size_t eol = j;
			while (eol < n && p[eol] != '\n')
				eol++;
			size_t end = eol > j && p[eol - 1] == '\r' ? eol - 1 : eol;
			buf_append(&v, p + j, end - j);
			j = eol < n ? eol + 1 : n;
			if (j < n && (p[j] == ' ' || p[j] == '\t'))
				continue; /* folded: the CRLF goes, the whitespace stays */
			break;
		}
		if (v.oom) {
			buf_free(&v);
			return -1;
		}
		h->v[h->n].name = (struct str){p + i, colon - i};
		h->v[h->n].value = buf_detach(&v, NULL);
		if (!h->v[h->n].value)
			return -1;
		h->n++;
		i = j;
	}
}

/* Copies the value of parameter param (e.g. "boundary") of a header value into out. */
static int header_param(const char *value, const char *param, char *out, size_t outlen)
{
	size_t pl = strlen(param);
	for (const char *p = strchr(value, ';'); p; p = strchr(p + 1, ';')) {
		const char *q = p + 1;
		while (*q == ' ' || *q == '\t')
			q++;
		if (strncasecmp(q, param, pl) != 0 || q[pl] != '=')
			continue;
		q += pl + 1;
		size_t len;
		if (*q == '"') {
			q++;
			const char *e = strchr(q, '"');
			if (!e)
				return -1;
			len = (size_t)(e - q);
		} else {
			len = strcspn(q, "; \t");
		}
		if (len == 0 || len >= outlen)
			return -1;
		memcpy(out, q, len);
		out[len] = '\0';
		return 0;
	}
	return -1;
}

/* 1 when the header value's media type is type ("text/plain"). */
static int media_is(const char *ct, const char *type)
{
	if (!ct)
		return strcmp(type, "text/plain") == 0;
	while (*ct == ' ')
		ct++;
	size_t tl = strlen(type);
	return strncasecmp(ct, type, tl) == 0 && (ct[tl] == '\0' || ct[tl] == ';' || ct[tl] == ' ');
}

/* Decodes a part body by its Content-Transfer-Encoding into a new string. */
static char *decode_body(const char *cte, const char *p, size_t n)
{
	struct buf b;
	buf_init(&b, LIMIT_MAIL_MESSAGE);
	while (cte && (*cte == ' ' || *cte == '\t'))
		cte++;
	if (cte && strncasecmp(cte, "quoted-printable", 16) == 0) {
		outbox_qp_decode(p, n, &b);
	} else if (cte && strncasecmp(cte, "base64", 6) == 0) {
		unsigned char *bin = malloc(n / 4 * 3 + 3);
		size_t bl = 0;
		if (!bin || sodium_base642bin(bin, n / 4 * 3 + 3, p, n, " \t\r\n", &bl, NULL,
		                              sodium_base64_VARIANT_ORIGINAL) != 0) {
			free(bin);
			buf_free(&b);
			return NULL;
		}
		buf_append(&b, bin, bl);
		free(bin);
	} else {
		for (size_t i = 0; i < n; i++)
			if (!(p[i] == '\r' && i + 1 < n && p[i + 1] == '\n'))
				buf_putc(&b, p[i]);
	}
	if (b.oom) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

/* Stores the decoded body of a leaf part in m->text or m->html (first of each wins). */
static int take_leaf(const struct hdrs *h, const char *body, size_t n, struct outbox_msg *m)
{
	const char *ct = hdr_get(h, "Content-Type");
	char **slot = media_is(ct, "text/plain") ? &m->text : media_is(ct, "text/html") ? &m->html : NULL;
	if (!slot || *slot)
		return 0;
	*slot = decode_body(hdr_get(h, "Content-Transfer-Encoding"), body, n);
	return *slot ? 0 : -1;
}

/* Splits a multipart body at its boundary and takes each leaf part. */
static int take_multipart(const char *boundary, const char *p, size_t n, struct outbox_msg *m)
{
	size_t bl = strlen(boundary);
	size_t part_start = 0;
	int in_part = 0, closed = 0;
	for (size_t i = 0; i < n && !closed;) {
		size_t eol = i;
		while (eol < n && p[eol] != '\n')
			eol++;
		size_t end = eol;
		while (end > i && (p[end - 1] == '\r' || p[end - 1] == ' ' || p[end - 1] == '\t'))
			end--;
		size_t len = end - i;
		int delim =
		    len >= bl + 2 && p[i] == '-' && p[i + 1] == '-' && memcmp(p + i + 2, boundary, bl) == 0 &&
		    (len == bl + 2 || (len == bl + 4 && p[i + bl + 2] == '-' && p[i + bl + 3] == '-'));
		if (delim) {
			if (in_part) {
				/* the line break before the delimiter belongs to it */
				size_t pe = i;
				if (pe > part_start && p[pe - 1] == '\n')
					pe--;
				if (pe > part_start && p[pe - 1] == '\r')
					pe--;
				struct hdrs h;
				size_t body;
				int rc = parse_headers(p + part_start, pe - part_start, &h, &body);
				if (rc == 0)
					rc = take_leaf(&h, p + part_start + body, pe - part_start - body, m);
				hdrs_free(&h);
				if (rc < 0)
					return -1;
			}
			closed = len == bl + 4;
			in_part = 1;
			part_start = eol < n ? eol + 1 : n;
		}
		i = eol < n ? eol + 1 : n;
	}
	return closed ? 0 : -1;
}

static char *decoded_header(const struct hdrs *h, const char *name)
{
	const char *v = hdr_get(h, name);
	struct buf b;
	buf_init(&b, LIMIT_MAIL_MESSAGE);
	if (v)
		outbox_decode_words(v, strlen(v), &b);
	else
		buf_puts(&b, "");
	if (b.oom) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

/* Replaces *s by a copy where every byte that is not part of well-formed UTF-8 became
 * U+FFFD, so the fields are always valid UTF-8 (for JSON and terminals). */
static int make_utf8(char **s)
{
	size_t n = strlen(*s);
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = mail_utf8_char(*s + i, n - i, &cp);
		if (len == 0) {
			buf_puts(&b, "\xEF\xBF\xBD");
			i++;
		} else {
			buf_append(&b, *s + i, len);
			i += len;
		}
	}
	if (b.oom) {
		buf_free(&b);
		return -1;
	}
	free(*s);
	*s = buf_detach(&b, NULL);
	return *s ? 0 : -1;
}

void outbox_msg_free(struct outbox_msg *m)
{
	if (!m)
		return;
	free(m->from);
	free(m->to);
	free(m->subject);
	free(m->date);
	free(m->message_id);
	free(m->text);
	free(m->html);
	memset(m, 0, sizeof(*m));
}

int outbox_parse(const char *p, size_t n, struct outbox_msg *out, char *err, size_t errlen)
{
	struct hdrs *h = calloc(1, sizeof(*h));
	size_t body;
	memset(out, 0, sizeof(*out));
	if (!h) {
		snprintf(err, errlen, "outbox: out of memory");
		return -1;
	}
	if (n > LIMIT_MAIL_MESSAGE || parse_headers(p, n, h, &body) < 0) {
		snprintf(err, errlen, "outbox: malformed message header");
		goto fail;
	}
	out->from = decoded_header(h, "From");
	out->to = decoded_header(h, "To");
	out->subject = decoded_header(h, "Subject");
	out->date = decoded_header(h, "Date");
	out->message_id = decoded_header(h, "Message-ID");
	if (!out->from || !out->to || !out->subject || !out->date || !out->message_id) {
		snprintf(err, errlen, "outbox: out of memory");
		goto fail;
	}
	const char *ct = hdr_get(h, "Content-Type");
	char boundary[80];
	int rc;
	if (ct && media_is(ct, "multipart/alternative")) {
		rc = header_param(ct, "boundary", boundary, sizeof(boundary));
		if (rc == 0)
			rc = take_multipart(boundary, p + body, n - body, out);
	} else {
		rc = take_leaf(h, p + body, n - body, out);
	}
	if (rc < 0) {
		snprintf(err, errlen, "outbox: malformed message body");
		goto fail;
	}
	if ((!out->text && !(out->text = strdup(""))) || (!out->html && !(out->html = strdup("")))) {
		snprintf(err, errlen, "outbox: out of memory");
		goto fail;
	}
	char **fields[] = {&out->from,       &out->to,   &out->subject, &out->date,
	                   &out->message_id, &out->text, &out->html};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (make_utf8(fields[i]) < 0) {
			snprintf(err, errlen, "outbox: out of memory");
			goto fail;
		}
	}
	hdrs_free(h);
	free(h);
	return 0;
fail:
	hdrs_free(h);
	free(h);
	outbox_msg_free(out);
	return -1;
}

int outbox_read(const char *data_dir, const char *name, struct outbox_msg *out, char *err, size_t errlen)
{
	char path[4096];
	int64_t ms, seq;
	char *data = NULL;
	int fd = -1, rc = -1;
	memset(out, 0, sizeof(*out));
	if (!name || strlen(name) >= OUTBOX_NAME_MAX || parse_name(name, &ms, &seq) < 0) {
		snprintf(err, errlen, "outbox: not an outbox file name");
		return -1;
	}
	if (snprintf(path, sizeof(path), "%s/%s/%s", data_dir, OUTBOX_DIR, name) >= (int)sizeof(path)) {
		snprintf(err, errlen, "outbox: path too long");
		return -1;
	}
	struct stat st;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "outbox: cannot open %.300s: %s", path, strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > LIMIT_MAIL_MESSAGE) {
		snprintf(err, errlen, "outbox: %.300s is not a regular file of at most %d bytes", path,
		         LIMIT_MAIL_MESSAGE);
		goto done;
	}
	size_t size = (size_t)st.st_size, got = 0;
	data = malloc(size + 1);
	if (!data) {
		snprintf(err, errlen, "outbox: out of memory");
		goto done;
	}
	while (got < size) {
		ssize_t r = read(fd, data + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got != size) {
		snprintf(err, errlen, "outbox: cannot read %.300s", path);
		goto done;
	}
	data[size] = '\0';
	rc = outbox_parse(data, size, out, err, errlen);
done:
	if (fd >= 0)
		close(fd);
	free(data);
	return rc;
}
