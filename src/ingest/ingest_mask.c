/* Masking and path templating at ingest (see ingest_mask.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest_mask.h"

enum { M_NONE = 0, M_CARD, M_EMAIL, M_TOKEN };

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_local_char(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static int is_domain_char(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '.' || c == '-';
}

static int is_token_char(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.' || c == '+' || c == '/' ||
	       c == '=';
}

static int luhn_ok(const unsigned char *digits, size_t n)
{
	int sum = 0;
	for (size_t i = 0; i < n; i++) {
		int d = digits[n - 1 - i];
		if (i % 2 == 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return sum % 10 == 0;
}

/* Card numbers: maximal runs of digits with single ' ' or '-' between digits. */
static void mark_cards(const unsigned char *p, size_t n, unsigned char *m)
{
	size_t i = 0;
	while (i < n) {
		if (!is_digit(p[i]) || (i > 0 && (is_digit(p[i - 1]) || is_alpha(p[i - 1])))) {
			i++;
			continue;
		}
		unsigned char digits[20];
		size_t nd = 0, j = i, end = i;
		int too_many = 0;
		while (j < n) {
			if (is_digit(p[j])) {
				if (nd < sizeof(digits))
					digits[nd] = (unsigned char)(p[j] - '0');
				else
					too_many = 1;
				nd++;
				end = ++j;
			} else if ((p[j] == ' ' || p[j] == '-') && j + 1 < n && is_digit(p[j + 1])) {
				j++;
			} else {
				break;
			}
		}
		if (!too_many && nd >= 13 && nd <= 19 && !(end < n && is_alpha(p[end])) &&
		    luhn_ok(digits, nd))
			memset(m + i, M_CARD, end - i);
		i = end > i ? end : i + 1;
	}
}

static void mark_emails(const unsigned char *p, size_t n, unsigned char *m)
{
	for (size_t at = 1; at + 1 < n; at++) {
		if (p[at] != '@' || m[at])
			continue;
		size_t s = at;
		while (s > 0 && is_local_char(p[s - 1]) && !m[s - 1])
			s--;
		size_t e = at + 1;
		while (e < n && is_domain_char(p[e]))
			e++;
		while (e > at + 1 && (p[e - 1] == '.' || p[e - 1] == '-'))
			e--;
		if (s == at || e == at + 1)
			continue;
		/* the domain needs a dot followed by a TLD of 2+ letters */
		size_t dot = e;
		while (dot > at + 1 && p[dot - 1] != '.')
			dot--;
		if (dot <= at + 2 || e - dot < 2)
			continue;
		int tld_ok = 1;
		for (size_t k = dot; k < e; k++)
			if (!is_alpha(p[k]))
				tld_ok = 0;
		if (!tld_ok)
			continue;
		memset(m + s, M_EMAIL, e - s);
		at = e;
	}
}

static void mark_tokens(const unsigned char *p, size_t n, unsigned char *m)
{
	size_t i = 0;
	while (i < n) {
		if (!is_token_char(p[i]) || m[i]) {
			i++;
			continue;
		}
		size_t j = i;
		int letters = 0, digits = 0;
		while (j < n && is_token_char(p[j]) && !m[j]) {
			letters |= is_alpha(p[j]);
			digits |= is_digit(p[j]);
			j++;
		}
		if (j - i >= INGEST_MASK_TOKEN_MIN && letters && digits)
			memset(m + i, M_TOKEN, j - i);
		i = j;
	}
}

/* Marks p[0..n) into m (n bytes). */
static void mark_all(const unsigned char *p, size_t n, unsigned char *m)
{
	memset(m, 0, n);
	mark_cards(p, n, m);
	mark_emails(p, n, m);
	mark_tokens(p, n, m);
}

int ingest_mask_needed(const char *p, size_t n)
{
	if (n == 0)
		return 0;
	unsigned char small[256];
	unsigned char *m = n <= sizeof(small) ? small : malloc(n);
	if (!m)
		return 1;
	mark_all((const unsigned char *)p, n, m);
	int any = memchr(m, M_CARD, n) || memchr(m, M_EMAIL, n) || memchr(m, M_TOKEN, n);
	if (m != small)
		free(m);
	return any;
}

/* One masking pass of p[0..n) appended to out. *changed says whether anything was masked. */
static int mask_pass(const char *p, size_t n, struct buf *out, int *changed)
{
	*changed = 0;
	if (n == 0)
		return out->oom ? -1 : 0;
	unsigned char small[256];
	unsigned char *m = n <= sizeof(small) ? small : malloc(n);
	if (!m) {
		out->oom = 1;
		return -1;
	}
	mark_all((const unsigned char *)p, n, m);
	static const char *const repl[] = {NULL, "[card]", "[email]", "[token]"};
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && m[j] == m[i])
			j++;
		if (m[i] == M_NONE) {
			buf_append(out, p + i, j - i);
		} else {
			buf_puts(out, repl[m[i]]);
			*changed = 1;
		}
		i = j;
	}
	if (m != small)
		free(m);
	return out->oom ? -1 : 0;
}

/* A mask can change the context of its neighbours (a digit run that was too long, or
 * followed by a letter, may become a card number once a token next to it is replaced),
 * so masking repeats until nothing is left to mask. Every pass replaces at least one
 * run of ordinary characters and never touches a replacement, so it ends; the bound
 * is a safety net. */
int ingest_mask_text(const char *p, size_t n, struct buf *out)
{
	int changed = 0;
	size_t start = out->n;
	if (mask_pass(p, n, out, &changed) < 0)
		return -1;
	for (int round = 0; changed && round < 16; round++) {
		struct buf again;
		buf_init(&again, 0);
		const char *q = out->p + start;
		size_t qn = out->n - start;
		if (!ingest_mask_needed(q, qn) || mask_pass(q, qn, &again, &changed) < 0) {
			int oom = again.oom;
			buf_free(&again);
			if (oom) {
				out->oom = 1;
				return -1;
			}
			break;
		}
		out->n = start;
		buf_append(out, again.p ? again.p : "", again.n);
		buf_free(&again);
		if (out->oom)
			return -1;
	}
	return 0;
}

static int is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int segment_is_id(const unsigned char *s, size_t n)
{
	if (n == 0)
		return 0;
	size_t digits = 0, letters = 0, hex = 0, dashes = 0, other = 0;
	for (size_t i = 0; i < n; i++) {
		if (is_digit(s[i]))
			digits++;
		else if (is_alpha(s[i]))
			letters++;
		else if (s[i] == '-')
			dashes++;
		else if (s[i] == '@')
			return 1;
		else
			other++;
		if (is_hex(s[i]))
			hex++;
	}
	if (digits == n)
		return 1;
	if (n == 36 && dashes == 4 && hex == 32 && s[8] == '-' && s[13] == '-' && s[18] == '-' &&
	    s[23] == '-')
		return 1;
	if (hex == n && n >= 12 && digits > 0)
		return 1;
	if (n >= 16 && digits > 0 && letters > 0)
		return 1;
	(void)other;
	return 0;
}

int ingest_mask_path(const char *p, size_t n, size_t max_bytes, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)p;
	/* cut query and fragment */
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '?' || s[i] == '#') {
			n = i;
			break;
		}
	}
	/* cut scheme://host */
	const char *sep = n >= 3 ? memmem(p, n, "://", 3) : NULL;
	if (sep) {
		size_t k = (size_t)(sep - p) + 3;
		while (k < n && s[k] != '/')
			k++;
		s += k;
		n -= k;
	}
	size_t start_len = out->n;
	if (n == 0 || s[0] != '/')
		buf_putc(out, '/');
	size_t i = 0;
	while (i < n) {
		if (s[i] == '/') {
			size_t j = i + 1;
			while (j < n && s[j] != '/')
				j++;
			const unsigned char *seg = s + i + 1;
			size_t sn = j - i - 1;
			size_t add = 1 + (segment_is_id(seg, sn) ? 3 : sn);
			if (out->n - start_len + add > max_bytes)
				break;
			buf_putc(out, '/');
			if (segment_is_id(seg, sn))
				buf_puts(out, ":id");
			else if (ingest_mask_needed((const char *)seg, sn))
				buf_puts(out, ":id");
			else
				buf_append(out, seg, sn);
			i = j;
		} else {
			size_t j = i;
			while (j < n && s[j] != '/')
				j++;
			if (out->n - start_len + (j - i) > max_bytes)
				break;
			if (segment_is_id(s + i, j - i) || ingest_mask_needed((const char *)s + i, j - i))
				buf_puts(out, ":id");
			else
				buf_append(out, s + i, j - i);
			i = j;
		}
	}
	if (out->n == start_len) /* the first segment alone was over max_bytes */
		buf_putc(out, '/');
	return out->oom ? -1 : 0;
}

size_t ingest_mask_utf8_cut(const char *p, size_t n, size_t max)
{
	if (n <= max)
		return n;
	size_t k = max;
	while (k > 0 && ((unsigned char)p[k] & 0xC0) == 0x80)
		k--;
	return k;
}

static int key_is_path(const char *k)
{
	return strcmp(k, "path") == 0 || strcmp(k, "url") == 0 || strcmp(k, "pathname") == 0;
}

static json_t *mask_string(const char *s, size_t n, size_t max_string, int as_path)
{
	struct buf b;
	buf_init(&b, 0);
	size_t cut = ingest_mask_utf8_cut(s, n, max_string);
	int rc = as_path ? ingest_mask_path(s, cut, max_string, &b) : ingest_mask_text(s, cut, &b);
	json_t *v = NULL;
	if (rc == 0)
		v = json_stringn(b.p ? b.p : "", b.n);
	buf_free(&b);
	return v;
}

static json_t *mask_value(json_t *v, size_t max_string, int as_path)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return mask_string(json_string_value(v), json_string_length(v), max_string, as_path);
	case JSON_OBJECT: {
		json_t *o = json_object();
		const char *k;
		json_t *x;
		if (!o)
			return NULL;
		json_object_foreach(v, k, x)
		{
			size_t kn = strlen(k);
			size_t cut = ingest_mask_utf8_cut(k, kn, max_string);
			struct buf key;
			buf_init(&key, 0);
			json_t *mx = NULL;
			if (ingest_mask_text(k, cut, &key) == 0)
				mx = mask_value(x, max_string, key_is_path(k));
			/* keys are masked too (an e-mail used as a property name) */
			if (!mx || json_object_setn_new(o, key.p ? key.p : "", key.n, mx) < 0) {
				buf_free(&key);
				json_decref(o);
				return NULL;
			}
			buf_free(&key);
		}
		return o;
	}
	case JSON_ARRAY: {
		json_t *a = json_array();
		size_t i;
		json_t *x;
		if (!a)
			return NULL;
		json_array_foreach(v, i, x)
		{
			json_t *mx = mask_value(x, max_string, as_path);
			if (!mx || json_array_append_new(a, mx) < 0) {
				json_decref(a);
				return NULL;
			}
		}
		return a;
	}
	default:
		return json_deep_copy(v);
	}
}

json_t *ingest_mask_json(json_t *v, size_t max_string)
{
	return v ? mask_value(v, max_string, 0) : NULL;
}
