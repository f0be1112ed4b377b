/* Unit tests for src/mail: address validation, header-injection refusal, RFC 2047 and
 * quoted-printable encoders against known encodings, MIME structure, the SMTP URL parser,
 * the sender setting, notices and the development outbox (write, list, read, parse). */
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
#include <unistd.h>

#include "mail/mail.c"
#include "mail/outbox.c"
#include "tmpl/tmpl.h"

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* ---- addresses ----------------------------------------------------------------- */

static void test_addr_table(void **state)
{
	(void)state;
	static const char *const good[] = {
	    "a@b",
	    "ann@example.com",
	    "first.last@sub.example.co.uk",
	    "user+tag@example.com",
	    "o'brien@example.ie",
	    "x!#$%&'*+-/=?^_`{|}~@example.com",
	    "UPPER@EXAMPLE.COM",
	    "a@xn--bcher-kva.example",
	    "a1@1.2.3.example",
	    "a@x1",
	    "a@a-b.c-d.e",
	};
	static const char *const bad[] = {
	    "",
	    "plain",
	    "@example.com",
	    "ann@",
	    "ann@@example.com",
	    "a@b@c",
	    ".ann@example.com",
	    "ann.@example.com",
	    "a..b@example.com",
	    "\"quoted\"@example.com",
	    "ann (comment)@example.com",
	    "ann @example.com",
	    "ann@ example.com",
	    "ann@exa mple.com",
	    "ann@example.com.",
	    "ann@.example.com",
	    "ann@example..com",
	    "ann@-example.com",
	    "ann@example-.com",
	    "ann@exam_ple.com",
	    "ann@[127.0.0.1]",
	    "ann@1.2.3.4",
	    "ann@123",
	    "ann@example.123",
	    "ann@example.com\r\nBcc: x@y.z",
	    "ann@example.com\n",
	    "ann\r@example.com",
	    "ann@example.com>",
	    "<ann@example.com>",
	    "ann,bob@example.com",
	    "ann;@example.com",
	    "ann\\@example.com",
	    "jöe@example.com",
	    "joe@exämple.com",
	    "a\x7f@example.com",
	    "a\t@example.com",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!mail_addr_valid(good[i]))
			fail_msg("refused good address %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mail_addr_valid(bad[i]))
			fail_msg("accepted bad address %s", bad[i]);
	assert_false(mail_addr_valid(NULL));

	/* lengths: local part 64, labels 63, domain 255, whole 254 */
	char addr[600];
	char *l64 = repeat('l', 64), *l65 = repeat('l', 65), *lab63 = repeat('d', 63),
	     *lab64 = repeat('d', 64);
	snprintf(addr, sizeof(addr), "%s@example.com", l64);
	assert_true(mail_addr_valid(addr));
	snprintf(addr, sizeof(addr), "%s@example.com", l65);
	assert_false(mail_addr_valid(addr));
	snprintf(addr, sizeof(addr), "a@%s.com", lab63);
	assert_true(mail_addr_valid(addr));
	snprintf(addr, sizeof(addr), "a@%s.com", lab64);
	assert_false(mail_addr_valid(addr));
	/* 64 + 1 + 189 = 254 accepted; 255 refused */
	snprintf(addr, sizeof(addr), "%s@%s.%s.%.61s", l64, lab63, lab63, lab63);
	assert_int_equal(strlen(addr), 254);
	assert_true(mail_addr_valid(addr));
	snprintf(addr, sizeof(addr), "%s@%s.%s.%.62s", l64, lab63, lab63, lab63);
	assert_false(mail_addr_valid(addr));
	free(l64);
	free(l65);
	free(lab63);
	free(lab64);
}

static void test_text_valid(void **state)
{
	(void)state;
	static const char *const good[] = {"Ann", "Zoë Ångström", "日本語", "O'Brien, \"Jr.\"", "emoji 😀",
	                                   ""};
	static const char *const bad[] = {
	    "a\rb",
	    "a\nb",
	    "a\r\nBcc: x",
	    "tab\there",
	    "nul?\x01",
	    "del\x7f",
	    "nel\xc2\x85", /* U+0085 NEL, a C1 control */
	    "csi\xc2\x9b",
	    "bad\xff",
	    "trunc\xc3",
	    "overlong\xc0\xaf",
	    "surrogate\xed\xa0\x80",
	    "toobig\xf4\x90\x80\x80",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!mail_text_valid(good[i], strlen(good[i])))
			fail_msg("refused good text #%zu", i);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mail_text_valid(bad[i], strlen(bad[i])))
			fail_msg("accepted bad text #%zu", i);
}

/* ---- encoders ------------------------------------------------------------------ */

static char *words(const char *s)
{
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(mail_encode_words(s, strlen(s), &b), 0);
	return buf_detach(&b, NULL);
}

static char *decode_words(const char *s)
{
	struct buf b;
	buf_init(&b, 0);
	/* the reader sees unfolded header values: CRLF removed, the space kept */
	char *unfolded = strdup(s);
	size_t o = 0;
	for (size_t i = 0; s[i]; i++)
		if (!(s[i] == '\r' && s[i + 1] == '\n') && !(s[i] == '\n' && i && s[i - 1] == '\r'))
			unfolded[o++] = s[i];
	unfolded[o] = '\0';
	assert_int_equal(outbox_decode_words(unfolded, o, &b), 0);
	free(unfolded);
	return buf_detach(&b, NULL);
}

static void test_encode_words_known(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"Grüße", "=?UTF-8?B?R3LDvMOfZQ==?="},
	    {"Zoë Ångström", "=?UTF-8?B?Wm/DqyDDhW5nc3Ryw7Zt?="},
	    {"日本語のテキスト", "=?UTF-8?B?5pel5pys6Kqe44Gu44OG44Kt44K544OI?="},
	    /* 61 bytes: the first word stops before the € it would cut (40 bytes, not 42) */
	    {"a€€€€€€€€€€€€€€€€€€€€",
	     "=?UTF-8?B?YeKCrOKCrOKCrOKCrOKCrOKCrOKCrOKCrOKCrOKCrOKCrOKCrOKCrA==?=\r\n"
	     " =?UTF-8?B?4oKs4oKs4oKs4oKs4oKs4oKs4oKs?="},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = words(cases[i].in);
		assert_string_equal(got, cases[i].out);
		char *back = decode_words(got);
		assert_string_equal(back, cases[i].in);
		free(back);
		free(got);
	}
}

static void test_encode_words_long(void **state)
{
	(void)state;
	/* every encoded word <= 75 bytes and made of whole characters, round trip exact */
	const char *pieces[] = {"ü", "€", "😀", "a", " ", "日"};
	char s[LIMIT_MAIL_SUBJECT + 1];
	size_t n = 0;
	for (size_t k = 0; n + 4 < LIMIT_MAIL_SUBJECT; k = (k * 7 + 3) % 6) {
		memcpy(s + n, pieces[k], strlen(pieces[k]));
		n += strlen(pieces[k]);
	}
	s[n] = '\0';
	char *got = words(s);
	size_t nwords = 0;
	for (char *line = got; line;) {
		char *end = strstr(line, "\r\n");
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *w = line[0] == ' ' ? line + 1 : line;
		size_t wl = len - (size_t)(w - line);
		assert_true(wl <= 75);
		assert_true(len <= 78);
		assert_memory_equal(w, "=?UTF-8?B?", 10);
		assert_memory_equal(w + wl - 2, "?=", 2);
		/* the word on its own decodes to valid UTF-8 */
		char *one = strndup(w, wl);
		char *dec = decode_words(one);
		assert_true(mail_text_valid(dec, strlen(dec)));
		free(dec);
		free(one);
		nwords++;
		line = end ? end + 2 : NULL;
	}
	assert_true(nwords > 5);
	char *back = decode_words(got);
	assert_string_equal(back, s);
	free(back);
	free(got);
}

static char *qp(const char *s)
{
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(mail_qp_encode(s, strlen(s), &b), 0);
	return buf_detach(&b, NULL);
}

static void test_qp_known(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"hello", "hello"},
	    {"a=b", "a=3Db"},
	    {"café", "caf=C3=A9"},
	    {"trailing \nspace\t", "trailing=20\r\nspace=09"},
	    {"lf\nand\r\ncrlf\rcr", "lf\r\nand\r\ncrlf\r\ncr"},
	    {".hidden\n.", "=2Ehidden\r\n=2E"},
	    {"From me\nFrom", "=46rom me\r\nFrom"},
	    {"tab\tinside", "tab\tinside"},
	    {"ctl\x01", "ctl=01"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = qp(cases[i].in);
		assert_string_equal(got, cases[i].out);
		free(got);
	}
	/* soft breaks: 75 content bytes and "=" per line */
	char *a100 = repeat('a', 100);
	char *got = qp(a100);
	char want[200];
	snprintf(want, sizeof(want), "%.75s=\r\n%.25s", a100, a100);
	assert_string_equal(got, want);
	free(got);
	free(a100);
	/* an escape is never split by a soft break */
	char *mix = repeat('a', 74);
	char buf74[100];
	snprintf(buf74, sizeof(buf74), "%s=", mix);
	got = qp(buf74);
	snprintf(want, sizeof(want), "%s=\r\n=3D", mix);
	assert_string_equal(got, want);
	free(got);
	free(mix);
}

static void test_qp_roundtrip(void **state)
{
	(void)state;
	struct buf src;
	buf_init(&src, 0);
	uint32_t x = 12345;
	for (int i = 0; i < 20000; i++) {
		x = x * 1103515245 + 12345;
		unsigned char c = (unsigned char)(x >> 16);
		if (c == '\r')
			c = '\n';
		if (c == 0)
			c = ' ';
		buf_putc(&src, (char)c);
	}
	struct buf enc, dec;
	buf_init(&enc, 0);
	buf_init(&dec, 0);
	assert_int_equal(mail_qp_encode(src.p, src.n, &enc), 0);
	/* lines <= 76, only CRLF line ends, only printable ASCII and tab */
	size_t col = 0;
	for (size_t i = 0; i < enc.n; i++) {
		unsigned char c = (unsigned char)enc.p[i];
		if (c == '\r') {
			assert_int_equal(enc.p[i + 1], '\n');
			assert_true(i == 0 || (enc.p[i - 1] != ' ' && enc.p[i - 1] != '\t'));
			col = 0;
			i++;
			continue;
		}
		assert_true((c >= 0x20 && c < 0x7f) || c == '\t');
		assert_false(c == '.' && col == 0);
		col++;
		assert_true(col <= 76);
	}
	assert_int_equal(outbox_qp_decode(enc.p, enc.n, &dec), 0);
	assert_int_equal(dec.n, src.n);
	assert_memory_equal(dec.p, src.p, src.n);
	buf_free(&src);
	buf_free(&enc);
	buf_free(&dec);
}

static void test_decode_words_forms(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"=?utf-8?q?caf=C3=A9_au_lait?=", "café au lait"},
	    {"=?UTF-8?B?R3LDvMOfZQ==?= =?UTF-8?B?IQ==?=", "Grüße!"},
	    {"Hello =?UTF-8?B?R3LDvMOfZQ==?= there", "Hello Grüße there"},
	    {"not =?a word", "not =?a word"},
	    {"=?ISO-8859-1?Q?caf=E9?=", "=?ISO-8859-1?Q?caf=E9?="}, /* other charsets stay as they are */
	    {"=?UTF-8?B?!!!!?=", "=?UTF-8?B?!!!!?="},
	    {"plain  text", "plain  text"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;
		buf_init(&b, 0);
		assert_int_equal(outbox_decode_words(cases[i].in, strlen(cases[i].in), &b), 0);
		assert_string_equal(b.p ? b.p : "", cases[i].out);
		buf_free(&b);
	}
}

/* ---- messages ------------------------------------------------------------------ */

static const struct mail_msg base_msg = {
    .to_addr = "ann@example.com",
    .to_name = "Ann Example",
    .subject = "Confirm your address",
    .text = "Hello Ann,\nconfirm here:\nhttps://dropfix.example/auth/verify?token=abc\n",
    .html =
        "<p>Hello Ann,</p>\n<p><a href=\"https://dropfix.example/auth/verify?token=abc\">Confirm</a></p>\n",
    .idempotency_key = "verify:42:7",
};

static char *format_ok(const struct mail_msg *m, int64_t now_ms)
{
	struct buf b;
	char err[256];
	buf_init(&b, 0);
	if (mail_format(m, "DropFix", "dropfix@dropfix.example", now_ms, &b, err, sizeof(err)) != 0)
		fail_msg("mail_format: %s", err);
	return buf_detach(&b, NULL);
}

/* The value of header name in a message (first line only), or NULL. */
static char *header_line(const char *msg, const char *name)
{
	size_t nl = strlen(name);
	const char *end = strstr(msg, "\r\n\r\n");
	for (const char *p = msg; p && p < end; p = strstr(p, "\r\n") ? strstr(p, "\r\n") + 2 : NULL) {
		if (strncmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *e = strstr(p, "\r\n");
			return strndup(p + nl + 2, (size_t)(e - p - nl - 2));
		}
	}
	return NULL;
}

static void test_format_structure(void **state)
{
	(void)state;
	char *msg = format_ok(&base_msg, INT64_C(1764395464123));
	/* CRLF only, lines <= 998, headers first */
	for (size_t i = 0, col = 0; msg[i]; i++) {
		if (msg[i] == '\n')
			assert_true(i > 0 && msg[i - 1] == '\r');
		if (msg[i] == '\r')
			assert_int_equal(msg[i + 1], '\n');
		col = msg[i] == '\n' ? 0 : col + 1;
		assert_true(col <= 998);
		assert_true((unsigned char)msg[i] < 0x80);
	}
	char *h;
	assert_string_equal(h = header_line(msg, "From"), "DropFix <dropfix@dropfix.example>");
	free(h);
	assert_string_equal(h = header_line(msg, "To"), "Ann Example <ann@example.com>");
	free(h);
	assert_string_equal(h = header_line(msg, "Subject"), "Confirm your address");
	free(h);
	assert_string_equal(h = header_line(msg, "Date"), "Sat, 29 Nov 2025 05:51:04 +0000");
	free(h);
	assert_string_equal(h = header_line(msg, "Message-ID"), "<verify=3A42=3A7@dropfix.example>");
	free(h);
	assert_string_equal(h = header_line(msg, "MIME-Version"), "1.0");
	free(h);
	assert_string_equal(h = header_line(msg, "Auto-Submitted"), "auto-generated");
	free(h);
	h = header_line(msg, "Content-Type");
	assert_string_equal(h, "multipart/alternative;"); /* folded: the boundary is on the next line */
	free(h);
	const char *bp = strstr(msg, "multipart/alternative;\r\n boundary=\"=_dropfix_");
	assert_non_null(bp);
	char boundary[64];
	assert_int_equal(header_param("x; boundary=", "boundary", boundary, sizeof(boundary)), -1);
	char unfolded[128];
	snprintf(unfolded, sizeof(unfolded), "multipart/alternative;%.*s",
	         (int)(strstr(bp, "\"\r\n") + 1 - (bp + 24)),
	         bp + 24); /* bp + 24 is the space after the CRLF */
	assert_int_equal(header_param(unfolded, "boundary", boundary, sizeof(boundary)), 0);
	assert_int_equal(strlen(boundary), strlen("=_dropfix_") + 24);
	/* exactly: two delimiters and one close, text before html, each quoted-printable */
	char delim[80], close[80];
	snprintf(delim, sizeof(delim), "\r\n--%s\r\n", boundary);
	snprintf(close, sizeof(close), "\r\n--%s--\r\n", boundary);
	const char *d1 = strstr(msg, delim);
	assert_non_null(d1);
	const char *d2 = strstr(d1 + 1, delim);
	assert_non_null(d2);
	assert_null(strstr(d2 + 1, delim));
	const char *c = strstr(msg, close);
	assert_non_null(c);
	assert_true(c > d2);
	assert_string_equal(c + strlen(close), "");
	static const char text_head[] =
	    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
	static const char html_head[] =
	    "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
	assert_memory_equal(d1 + strlen(delim), text_head, strlen(text_head));
	assert_memory_equal(d2 + strlen(delim), html_head, strlen(html_head));
	/* the reader gets back what went in */
	struct outbox_msg m;
	char err[256];
	if (outbox_parse(msg, strlen(msg), &m, err, sizeof(err)) != 0)
		fail_msg("outbox_parse: %s", err);
	assert_string_equal(m.text, base_msg.text);
	assert_string_equal(m.html, base_msg.html);
	assert_string_equal(m.subject, base_msg.subject);
	assert_string_equal(m.to, "Ann Example <ann@example.com>");
	outbox_msg_free(&m);
	free(msg);

	/* text only: one part, no multipart */
	struct mail_msg t = base_msg;
	t.html = NULL;
	t.idempotency_key = NULL;
	msg = format_ok(&t, 0);
	assert_string_equal(h = header_line(msg, "Content-Type"), "text/plain; charset=utf-8");
	free(h);
	assert_string_equal(h = header_line(msg, "Content-Transfer-Encoding"), "quoted-printable");
	free(h);
	assert_string_equal(h = header_line(msg, "Date"), "Thu, 01 Jan 1970 00:00:00 +0000");
	free(h);
	h = header_line(msg, "Message-ID"); /* random: 32 hex digits */
	assert_int_equal(strlen(h), 1 + 32 + 1 + strlen("dropfix.example") + 1);
	assert_int_equal(strspn(h + 1, "0123456789abcdef"), 32);
	free(h);
	assert_null(strstr(msg, "multipart"));
	free(msg);
}

static void test_format_non_ascii(void **state)
{
	(void)state;
	struct mail_msg m = base_msg;
	m.to_name = "Zoë Ångström";
	m.subject = "Grüße";
	char *msg = format_ok(&m, 0), *h;
	assert_string_equal(h = header_line(msg, "To"), "=?UTF-8?B?Wm/DqyDDhW5nc3Ryw7Zt?= <ann@example.com>");
	free(h);
	assert_string_equal(h = header_line(msg, "Subject"), "=?UTF-8?B?R3LDvMOfZQ==?=");
	free(h);
	free(msg);
	/* ASCII names with specials are quoted; text that looks like an encoded word is encoded */
	m.to_name = "Doe, \"J\" \\ Jr.";
	m.subject = "=?UTF-8?B?R3LDvMOfZQ==?=";
	msg = format_ok(&m, 0);
	assert_string_equal(h = header_line(msg, "To"), "\"Doe, \\\"J\\\" \\\\ Jr.\" <ann@example.com>");
	free(h);
	struct outbox_msg om;
	char err[128];
	assert_int_equal(outbox_parse(msg, strlen(msg), &om, err, sizeof(err)), 0);
	assert_string_equal(om.subject, "=?UTF-8?B?R3LDvMOfZQ==?=");
	outbox_msg_free(&om);
	free(msg);
	/* leading or trailing spaces survive (inside encoded words); bodies without a final
	 * line break come back exactly from a multipart message */
	m.subject = " padded ";
	m.text = "no final newline";
	m.html = "<p>x</p>";
	msg = format_ok(&m, 0);
	assert_string_equal(h = header_line(msg, "Subject"), "=?UTF-8?B?IHBhZGRlZCA=?=");
	free(h);
	assert_int_equal(outbox_parse(msg, strlen(msg), &om, err, sizeof(err)), 0);
	assert_string_equal(om.subject, " padded ");
	assert_string_equal(om.text, "no final newline");
	assert_string_equal(om.html, "<p>x</p>");
	outbox_msg_free(&om);
	free(msg);
	m.html = NULL; /* single part: the message still ends with CRLF */
	msg = format_ok(&m, 0);
	assert_int_equal(strcmp(msg + strlen(msg) - 18, "no final newline\r\n"), 0);
	free(msg);
	m.text = base_msg.text;
	/* a long ASCII subject folds at spaces and unfolds to itself */
	m.to_name = NULL;
	m.subject = "This is a rather long subject line that goes on and on, past the seventy-eight "
	            "column mark that RFC 5322 recommends, so it has to be folded";
	msg = format_ok(&m, 0);
	assert_string_equal(h = header_line(msg, "To"), "ann@example.com");
	free(h);
	const char *s = strstr(msg, "Subject: ");
	const char *e = strstr(s, "\r\nDate:");
	for (const char *p = s; p < e; p = strstr(p, "\r\n") + 2)
		assert_true((size_t)(strstr(p, "\r\n") - p) <= 78);
	assert_int_equal(outbox_parse(msg, strlen(msg), &om, err, sizeof(err)), 0);
	assert_string_equal(om.subject, m.subject);
	outbox_msg_free(&om);
	free(msg);
}

static void test_injection_refused(void **state)
{
	(void)state;
	struct mail_msg bad[16];
	size_t n = 0;
	for (size_t i = 0; i < 16; i++)
		bad[i] = base_msg;
	bad[n++].to_name = "Ann\r\nBcc: victim@example.com";
	bad[n++].to_name = "Ann\nBcc: victim@example.com";
	bad[n++].to_name = "Ann\rX";
	bad[n++].subject = "Hi\r\nBcc: victim@example.com";
	bad[n++].subject = "Hi\nX-Evil: 1";
	bad[n++].subject = "nel\xc2\x85X"; /* U+0085 NEL, a C1 line break */
	bad[n++].to_addr = "ann@example.com\r\nBcc: victim@example.com";
	bad[n++].to_addr = "ann@example.com>\r\nRCPT TO:<victim@example.com";
	bad[n++].to_addr = "Ann <ann@example.com>";
	bad[n++].subject = "";
	bad[n++].text = "bad \x1b[31m escape";
	bad[n++].idempotency_key = "key with space";
	bad[n++].idempotency_key = "key\r\nX: y";
	static const struct mail_header evil[] = {{"Bcc", "victim@example.com"}};
	static const struct mail_header crlf[] = {
	    {"List-Unsubscribe", "<https://x.example/u>\r\nBcc: v@x.y"}};
	static const struct mail_header dup[] = {{"List-Unsubscribe", "<https://x.example/u>"},
	                                         {"list-unsubscribe", "<https://x.example/v>"}};
	bad[n].headers = evil, bad[n++].n_headers = 1;
	bad[n].headers = crlf, bad[n++].n_headers = 1;
	bad[n].headers = dup, bad[n++].n_headers = 2;
	assert_int_equal(n, 16);
	for (size_t i = 0; i < n; i++) {
		char err[256] = "";
		if (mail_check(&bad[i], err, sizeof(err)) != -1)
			fail_msg("mail_check accepted bad message #%zu", i);
		assert_int_equal(strncmp(err, "mail: ", 6), 0);
		struct buf b;
		buf_init(&b, 0);
		buf_puts(&b, "KEEP");
		assert_int_equal(
		    mail_format(&bad[i], "DropFix", "dropfix@x.example", 0, &b, err, sizeof(err)), -1);
		assert_string_equal(b.p, "KEEP"); /* nothing appended */
		buf_free(&b);
	}
	/* a bad sender is refused too */
	struct buf b;
	char err[128];
	buf_init(&b, 0);
	assert_int_equal(mail_format(&base_msg, "Drop\r\nFix", "dropfix@x.example", 0, &b, err, sizeof(err)),
	                 -1);
	assert_int_equal(mail_format(&base_msg, "DropFix", "dropfix@x.example\r\n", 0, &b, err, sizeof(err)),
	                 -1);
	assert_int_equal(b.n, 0);
	buf_free(&b);
	assert_int_equal(mail_check(NULL, err, sizeof(err)), -1);
}

static void test_extra_headers(void **state)
{
	(void)state;
	static const struct mail_header hs[] = {
	    {"list-unsubscribe", "<https://dropfix.example/u/abc>, <mailto:u@dropfix.example>"},
	    {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
	};
	struct mail_msg m = base_msg;
	m.headers = hs;
	m.n_headers = 2;
	char *msg = format_ok(&m, 0), *h;
	assert_string_equal(h = header_line(msg, "List-Unsubscribe"), hs[0].value);
	free(h);
	assert_string_equal(h = header_line(msg, "List-Unsubscribe-Post"), hs[1].value);
	free(h);
	free(msg);
	char *long_value = repeat('v', LIMIT_MAIL_HEADER_VALUE + 1);
	struct mail_header big = {"List-Unsubscribe", long_value};
	m.headers = &big;
	m.n_headers = 1;
	char err[128];
	assert_int_equal(mail_check(&m, err, sizeof(err)), -1);
	long_value[LIMIT_MAIL_HEADER_VALUE] = '\0';
	assert_int_equal(mail_check(&m, err, sizeof(err)), 0);
	free(long_value);
	m.n_headers = LIMIT_MAIL_HEADERS + 1;
	assert_int_equal(mail_check(&m, err, sizeof(err)), -1);
}

static void test_limits_and_oom(void **state)
{
	(void)state;
	struct mail_msg m = base_msg;
	char err[128];
	char *s = repeat('s', LIMIT_MAIL_SUBJECT + 1);
	m.subject = s;
	assert_int_equal(mail_check(&m, err, sizeof(err)), -1);
	s[LIMIT_MAIL_SUBJECT] = '\0';
	assert_int_equal(mail_check(&m, err, sizeof(err)), 0);
	free(s);
	m = base_msg;
	char *body = repeat('b', LIMIT_MAIL_BODY + 1);
	m.text = body;
	assert_int_equal(mail_check(&m, err, sizeof(err)), -1);
	body[LIMIT_MAIL_BODY] = '\0';
	assert_int_equal(mail_check(&m, err, sizeof(err)), 0);
	/* a buffer that cannot grow: -1, never a partial message reported as success */
	struct buf b;
	buf_init(&b, 1000);
	assert_int_equal(mail_format(&m, "DropFix", "dropfix@x.example", 0, &b, err, sizeof(err)), -1);
	buf_free(&b);
	free(body);
	char *key = repeat('k', LIMIT_MAIL_KEY + 1);
	m = base_msg;
	m.idempotency_key = key;
	assert_int_equal(mail_check(&m, err, sizeof(err)), -1);
	key[LIMIT_MAIL_KEY] = '\0';
	char *msg = format_ok(&m, 0), *h = header_line(msg, "Message-ID");
	assert_int_equal(strlen(h), LIMIT_MAIL_KEY + strlen("<@dropfix.example>"));
	free(h);
	free(msg);
	free(key);
}

/* ---- sender and SMTP URL ------------------------------------------------------- */

static void test_from_parse(void **state)
{
	(void)state;
	char name[LIMIT_MAIL_NAME + 1], addr[LIMIT_MAIL_ADDR + 1];
	assert_int_equal(
	    mail_from_parse("DropFix <dropfix@example.com>", name, sizeof(name), addr, sizeof(addr)), 0);
	assert_string_equal(name, "DropFix");
	assert_string_equal(addr, "dropfix@example.com");
	assert_int_equal(mail_from_parse("  noreply@example.com ", name, sizeof(name), addr, sizeof(addr)),
	                 0);
	assert_string_equal(name, "");
	assert_string_equal(addr, "noreply@example.com");
	assert_int_equal(
	    mail_from_parse("\"Acme, Inc.\" <a@example.com>", name, sizeof(name), addr, sizeof(addr)), 0);
	assert_string_equal(name, "Acme, Inc.");
	assert_int_equal(mail_from_parse("Zoë <z@example.com>", name, sizeof(name), addr, sizeof(addr)), 0);
	assert_string_equal(name, "Zoë");
	static const char *const bad[] = {
	    "",
	    "DropFix",
	    "DropFix <>",
	    "DropFix <a@b",
	    "<a@b> x",
	    "Drop\r\nFix <a@example.com>",
	    "DropFix <a@example.com>\r\nBcc: v@x.y",
	    "\"Drop\"Fix\" <a@example.com>",
	    "a <b> <c@example.com>",
	    "DropFix <bad address@example.com>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mail_from_parse(bad[i], name, sizeof(name), addr, sizeof(addr)) == 0)
			fail_msg("accepted From %s", bad[i]);
}

/* mail registers the DROPFIX_MAIL_FROM check with core/config; the message is the one
 * config_validate always gave. */
static void test_from_validator_registered(void **state)
{
	(void)state;
	char msg[128], err[256];
	assert_int_equal(mail_from_validate("Ops <ops@example.com>", msg, sizeof(msg)), 0);
	assert_int_equal(mail_from_validate("ops@example.com", msg, sizeof(msg)), 0);
	assert_int_equal(mail_from_validate("Ops <ops@exa mple.com>", msg, sizeof(msg)), -1);
	unsetenv("DROPFIX_MAIL_FROM");
	mail_config_register();
	struct config c;
	const char *bad[] = {"outbox", "--mail-from", "Ops <ops@exa mple.com>"};
	assert_int_equal(config_load(&c, 3, (char **)bad, CFG_MAIL, err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, CFG_MAIL, err, sizeof(err)), -1);
	assert_string_equal(err, "DROPFIX_MAIL_FROM: expected an address or \"Name <address>\"");
	config_free(&c);
	const char *good[] = {"outbox", "--mail-from", "Ops <ops@example.com>"};
	assert_int_equal(config_load(&c, 3, (char **)good, CFG_MAIL, err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, CFG_MAIL, err, sizeof(err)), 0);
	config_free(&c);
}

static void test_from_resolve(void **state)
{
	(void)state;
	static const struct {
		const char *base, *addr;
	} cases[] = {
	    {NULL, "dropfix@localhost"},
	    {"http://127.0.0.1:8080", "dropfix@localhost"},
	    {"http://[::1]:8080", "dropfix@localhost"},
	    {"https://DropFix.Example.com", "dropfix@dropfix.example.com"},
	    {"https://app.example.com:8443/base", "dropfix@app.example.com"},
	    {"https://under_score.example", "dropfix@localhost"},
	};
	char name[LIMIT_MAIL_NAME + 1], addr[LIMIT_MAIL_ADDR + 1], err[256];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config cfg = {0};
		cfg.base_url = (char *)cases[i].base;
		assert_int_equal(
		    mail_from_resolve(&cfg, name, sizeof(name), addr, sizeof(addr), err, sizeof(err)), 0);
		assert_string_equal(name, "DropFix");
		assert_string_equal(addr, cases[i].addr);
	}
	struct config cfg = {0};
	cfg.mail_from = "Support <support@example.org>";
	assert_int_equal(mail_from_resolve(&cfg, name, sizeof(name), addr, sizeof(addr), err, sizeof(err)),
	                 0);
	assert_string_equal(name, "Support");
	assert_string_equal(addr, "support@example.org");
	cfg.mail_from = "not an address";
	assert_int_equal(mail_from_resolve(&cfg, name, sizeof(name), addr, sizeof(addr), err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "DROPFIX_MAIL_FROM"));
}

static void test_smtp_url(void **state)
{
	(void)state;
	struct smtp_target t;
	char err[256];
	assert_int_equal(
	    smtp_parse_url("smtp://user:p%40ss%3Aw@127.0.0.1:2525", "x.example", &t, err, sizeof(err)), 0);
	assert_string_equal(t.url, "smtp://127.0.0.1:2525/x.example");
	assert_string_equal(t.where, "127.0.0.1:2525");
	assert_string_equal(t.user, "user");
	assert_string_equal(t.pass, "p@ss:w");
	assert_null(strstr(t.url, "user")); /* credentials never travel in the URL or messages */
	assert_int_equal(smtp_parse_url("smtps://mail.example.com/", "x.example", &t, err, sizeof(err)), 0);
	assert_string_equal(t.url, "smtps://mail.example.com/x.example");
	assert_string_equal(t.user, "");
	assert_int_equal(smtp_parse_url("smtps://a%40b.c@[::1]:465", "x", &t, err, sizeof(err)), 0);
	assert_string_equal(t.user, "a@b.c");
	assert_string_equal(t.where, "[::1]:465");
	static const char *const bad[] = {
	    "http://mail.example.com",
	    "smtp:/mail.example.com",
	    "smtp://",
	    "smtp://u:p@",
	    "smtp://mail.example.com/path",
	    "smtp://mail.example.com?x=1",
	    "smtp://u:p%0d%0a@host",
	    "smtp://u:%zz@host",
	    "smtp://u:p%4@host",
	    "smtp://ho st:25",
	    "SMTPS://host",
	    "smtp://host/#frag",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (smtp_parse_url(bad[i], "x", &t, err, sizeof(err)) == 0)
			fail_msg("accepted SMTP URL %s", bad[i]);
		assert_non_null(strstr(err, "DROPFIX_SMTP_URL"));
		assert_string_equal(t.pass, ""); /* wiped */
	}
}

/* ---- notices ------------------------------------------------------------------- */

static void test_notice(void **state)
{
	(void)state;
	struct tmpl_set *set;
	char err[256];
	if (tmpl_set_load_embedded(&set, err, sizeof(err)) != 0)
		fail_msg("templates: %s", err);
	const char *paras[] = {"Hello <Ann> & co.", "Second \"paragraph\"."};
	struct mail_notice n = {
	    .heading = "Reset your password",
	    .paragraphs = paras,
	    .n_paragraphs = 2,
	    .action_label = "Choose a new password",
	    .action_url = "https://dropfix.example/auth/reset?token=t0k&x=1",
	    .footer = "You asked for this.",
	};
	struct buf text, html;
	buf_init(&text, 0);
	buf_init(&html, 0);
	assert_int_equal(mail_notice_render(set, &n, &text, &html), 0);
	assert_string_equal(text.p,
	                    "Reset your password\n\nHello <Ann> & co.\n\nSecond \"paragraph\".\n\n"
	                    "Choose a new password:\nhttps://dropfix.example/auth/reset?token=t0k&x=1\n\n"
	                    "-- \nYou asked for this.\n");
	assert_non_null(strstr(html.p, "<h1>Reset your password</h1>"));
	assert_non_null(strstr(html.p, "<p>Hello &lt;Ann&gt; &amp; co.</p>"));
	assert_non_null(strstr(html.p, "<a href=\"https://dropfix.example/auth/reset?token=t0k&amp;x=1\">"));
	assert_non_null(strstr(html.p, "You asked for this."));
	assert_null(strstr(html.p, "{{"));
	/* links must be http(s) */
	static const char *const bad_urls[] = {"javascript:alert(1)", "//evil.example", "https://a b",
	                                       "https://x\r\n"};
	for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
		n.action_url = bad_urls[i];
		assert_int_equal(mail_notice_render(set, &n, &text, &html), -1);
	}
	n.action_url = "https://ok.example";
	n.action_label = NULL;
	assert_int_equal(mail_notice_render(set, &n, &text, &html), -1);
	buf_free(&text);
	buf_free(&html);
	tmpl_set_free(set);
}

/* ---- outbox -------------------------------------------------------------------- */

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/dropfix-mail-XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static void rm_rf(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_outbox_roundtrip(void **state)
{
	(void)state;
	char *base = make_tmpdir();
	char data[512];
	snprintf(data, sizeof(data), "%s/data", base); /* created on first write */
	struct outbox_entry *v;
	size_t n;
	char err[256], name[OUTBOX_NAME_MAX], name2[OUTBOX_NAME_MAX];
	assert_int_equal(outbox_list(data, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_null(v);

	struct mail_msg m = base_msg;
	m.to_name = "Zoë";
	m.subject = "Grüße 1";
	char *msg = format_ok(&m, 1000);
	assert_int_equal(outbox_write(data, msg, strlen(msg), 1000, name, sizeof(name), err, sizeof(err)), 0);
	m.subject = "second";
	char *msg2 = format_ok(&m, 1000);
	/* same millisecond: a different name, never an overwrite */
	assert_int_equal(outbox_write(data, msg2, strlen(msg2), 1000, name2, sizeof(name2), err, sizeof(err)),
	                 0);
	assert_string_not_equal(name, name2);
	assert_int_equal(strncmp(name, "0000000001000-", 14), 0);

	char path[700];
	struct stat st;
	snprintf(path, sizeof(path), "%s/outbox/%s", data, name);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/outbox", data);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* no temporary files left behind */
	DIR *d = opendir(path);
	struct dirent *de;
	int files = 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			files++;
		else
			assert_true(strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0);
	closedir(d);
	assert_int_equal(files, 2);

	/* stray files are ignored by the listing */
	snprintf(path, sizeof(path), "%s/outbox/notes.txt", data);
	FILE *f = fopen(path, "w");
	fputs("x", f);
	fclose(f);
	assert_int_equal(outbox_list(data, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, name);
	assert_string_equal(v[1].name, name2);
	struct outbox_msg om;
	assert_int_equal(outbox_read(data, v[0].name, &om, err, sizeof(err)), 0);
	assert_string_equal(om.subject, "Grüße 1");
	assert_string_equal(om.to, "Zoë <ann@example.com>");
	assert_string_equal(om.text, base_msg.text);
	outbox_msg_free(&om);
	free(v);

	/* names that are not outbox names are refused (no path traversal) */
	static const char *const bad_names[] = {"../data/x.eml", "notes.txt", "0000000001000-0000.eml/..",
	                                        "0000000001000-00.eml", ""};
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		assert_int_equal(outbox_read(data, bad_names[i], &om, err, sizeof(err)), -1);
	/* a symlink in the outbox is not followed */
	snprintf(path, sizeof(path), "%s/outbox/0000000009999-0000.eml", data);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(outbox_read(data, "0000000009999-0000.eml", &om, err, sizeof(err)), -1);
	free(msg);
	free(msg2);
	rm_rf(base);
	free(base);
}

static void test_parse_untrusted(void **state)
{
	(void)state;
	struct outbox_msg om;
	char err[128];
	/* control characters survive decoding but strings stay valid UTF-8 */
	const char *m1 = "Subject: =?UTF-8?Q?a=0Db=1B?= \xff\r\nTo: x@y.z\r\n\r\nbody \xc3\r\n";
	assert_int_equal(outbox_parse(m1, strlen(m1), &om, err, sizeof(err)), 0);
	assert_string_equal(om.subject, "a\rb\x1b \xef\xbf\xbd");
	assert_string_equal(om.text, "body \xef\xbf\xbd\n");
	outbox_msg_free(&om);
	/* multipart without its closing delimiter, or without a boundary: malformed */
	const char *m2 = "Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\n\r\nx\r\n";
	assert_int_equal(outbox_parse(m2, strlen(m2), &om, err, sizeof(err)), -1);
	const char *m3 = "Content-Type: multipart/alternative\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n";
	assert_int_equal(outbox_parse(m3, strlen(m3), &om, err, sizeof(err)), -1);
	const char *m4 = "no colon here\r\n\r\n";
	assert_int_equal(outbox_parse(m4, strlen(m4), &om, err, sizeof(err)), -1);
	/* base64 part */
	const char *m5 =
	    "Content-Type: multipart/alternative; boundary=zz\r\n\r\npreamble\r\n--zz\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	    "R3LDvMOf\r\nZQ==\r\n--zz--\r\n";
	assert_int_equal(outbox_parse(m5, strlen(m5), &om, err, sizeof(err)), 0);
	assert_string_equal(om.text, "Grüße");
	assert_string_equal(om.html, "");
	outbox_msg_free(&om);
}

static void test_send_outbox_and_refused_smtp(void **state)
{
	(void)state;
	char *base = make_tmpdir();
	struct config cfg = {0};
	cfg.data_dir = base;
	cfg.base_url = "https://dropfix.example";
	char err[512];
	assert_int_equal(mail_send(&cfg, &base_msg, err, sizeof(err)), 0);
	struct outbox_entry *v;
	size_t n;
	assert_int_equal(outbox_list(base, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	struct outbox_msg om;
	assert_int_equal(outbox_read(base, v[0].name, &om, err, sizeof(err)), 0);
	assert_string_equal(om.from, "DropFix <dropfix@dropfix.example>");
	assert_string_equal(om.message_id, "<verify=3A42=3A7@dropfix.example>");
	outbox_msg_free(&om);
	free(v);
	/* an invalid message is refused before anything is written */
	struct mail_msg bad = base_msg;
	bad.subject = "x\r\nBcc: v@x.y";
	assert_int_equal(mail_send(&cfg, &bad, err, sizeof(err)), -1);
	assert_int_equal(outbox_list(base, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	free(v);
	/* SMTP to a closed port fails; the error names the server but not the password */
	cfg.smtp_url = "smtp://user:s3cret@127.0.0.1:1";
	assert_int_equal(mail_send(&cfg, &base_msg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "127.0.0.1:1"));
	assert_null(strstr(err, "s3cret"));
	cfg.smtp_url = "smtp://bad host";
	assert_int_equal(mail_send(&cfg, &base_msg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "DROPFIX_SMTP_URL"));
	rm_rf(base);
	free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addr_table),
	    cmocka_unit_test(test_text_valid),
	    cmocka_unit_test(test_encode_words_known),
	    cmocka_unit_test(test_encode_words_long),
	    cmocka_unit_test(test_qp_known),
	    cmocka_unit_test(test_qp_roundtrip),
	    cmocka_unit_test(test_decode_words_forms),
	    cmocka_unit_test(test_format_structure),
	    cmocka_unit_test(test_format_non_ascii),
	    cmocka_unit_test(test_injection_refused),
	    cmocka_unit_test(test_extra_headers),
	    cmocka_unit_test(test_limits_and_oom),
	    cmocka_unit_test(test_from_parse),
	    cmocka_unit_test(test_from_resolve),
	    cmocka_unit_test(test_from_validator_registered),
	    cmocka_unit_test(test_smtp_url),
	    cmocka_unit_test(test_notice),
	    cmocka_unit_test(test_outbox_roundtrip),
	    cmocka_unit_test(test_parse_untrusted),
	    cmocka_unit_test(test_send_outbox_and_refused_smtp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
