/* The app model's deterministic naming rules and the PII check (appmodel.h).
 *
 * A feature key is "<type> <rest>" (src/ingest/ingest.c builds them). Names by type:
 *
 *   key                                       name
 *   ----------------------------------------  -------------------------------
 *   api POST /api/invoices                    Create invoice
 *   api GET /api/invoices                     List invoices
 *   api GET /api/v2/invoices/:id              View invoice
 *   api PUT|PATCH /api/invoices/:id           Update invoice
 *   api DELETE /api/invoices/:id              Delete invoice
 *   api PUT /api/settings                     Update settings
 *   api GET /api/me                           View me
 *   api GET /projects/:id/members             List project members
 *   api POST /projects/:id/members            Create project member
 *   api POST /api/invoices/:id/send           Send invoice
 *   api OPTIONS /x                            Call x
 *   api GET /api                              API GET /api
 *   page /                                    Page: Home
 *   page /projects                            Page: Projects
 *   page /projects/:id/settings               Page: Project settings
 *   page /settings/billing                    Page: Settings billing
 *   page /:id                                 Page: /:id
 *   click Export CSV                          Click: Export CSV
 *   submit Sign in                            Form: Sign in
 *   track Signed up                           Signed up
 *
 * API rules. Segments of the path (query cut) are split on '/'; empty segments,
 * "api" and version segments ("v1", "v2.1") are dropped; a parameter segment starts
 * with ':' or '*' or is wrapped in {} or []. The resource r is the last non-parameter
 * segment; "item" means the path ends with a parameter. Words: '-', '_', '.' and
 * camelCase boundaries become spaces, all lower case.
 *   verb: POST Create, PUT/PATCH Update, DELETE Delete, GET/HEAD List (collection: r
 *   looks plural and the path does not end with a parameter) or View, others Call.
 *   noun: singular(r) for an item, for POST and for View; r as written otherwise.
 *   nested: when r follows a parameter that follows a literal segment p, the noun is
 *   prefixed by singular(p) ("project members"); a POST to a nested segment that does
 *   not look plural is an action on p: "<R> <singular(p)>" ("Send invoice").
 *   no segments left: "API <METHOD> <path>".
 * singular(w): "ies" → "y"; "sses", "shes", "ches", "xes", "zes" and consonant + "uses"
 * lose "es"; words ending in "ss", "us" or "is" stay; another final "s" is dropped.
 *
 * Page rules: "/" is "Home"; literal segments in order, each a word group as above, one
 * followed by a parameter singularised; parameters dropped; the first letter upper
 * case; nothing left (only parameters): the path itself. Prefix "Page: ".
 *
 * Malformed keys (no "<type> " prefix, unknown type, empty rest, control characters,
 * an api key without "METHOD /path", a page key not starting with '/') are -1 and the
 * name is the key itself. */
#include <string.h>

#include "appmodel/appmodel.h"

#define RULE_SEG_MAX 64 /* segments considered in one path */

struct seg {
	const char *p;
	size_t n;
	int param;
};

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_upper(unsigned char c)
{
	return c >= 'A' && c <= 'Z';
}

static char lower(char c)
{
	return is_upper((unsigned char)c) ? (char)(c - 'A' + 'a') : c;
}

static int has_ctl(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] == 0x7f)
			return 1;
	return 0;
}

static int seg_is_version(const char *p, size_t n)
{
	if (n < 2 || (p[0] != 'v' && p[0] != 'V') || !is_digit((unsigned char)p[1]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!is_digit((unsigned char)p[i]) && p[i] != '.')
			return 0;
	return 1;
}

static int seg_is_param(const char *p, size_t n)
{
	if (n == 0)
		return 0;
	if (p[0] == ':' || p[0] == '*')
		return 1;
	return n >= 2 && ((p[0] == '{' && p[n - 1] == '}') || (p[0] == '[' && p[n - 1] == ']'));
}

/* Splits path p[0..n) into segments (query cut); api: drops "api" and versions. */
static size_t split(const char *p, size_t n, int api, struct seg *out, size_t cap)
{
	const char *q = memchr(p, '?', n);
	if (q)
		n = (size_t)(q - p);
	size_t k = 0, i = 0;
	while (i < n && k < cap) {
		while (i < n && p[i] == '/')
			i++;
		size_t j = i;
		while (j < n && p[j] != '/')
			j++;
		if (j > i) {
			const char *s = p + i;
			size_t sn = j - i;
			int drop = api && ((sn == 3 && (s[0] == 'a' || s[0] == 'A') && lower(s[1]) == 'p' &&
			                    lower(s[2]) == 'i') ||
			                   seg_is_version(s, sn));
			if (!drop)
				out[k++] = (struct seg){s, sn, seg_is_param(s, sn)};
		}
		i = j;
	}
	return k;
}

/* Length of w without its plural ending, and the replacement ending ("y" or ""). */
static size_t singular_len(const char *w, size_t n, const char **add)
{
	*add = "";
	if (n > 3 && memcmp(w + n - 3, "ies", 3) == 0) {
		*add = "y";
		return n - 3;
	}
	static const char *const es[] = {"sses", "shes", "ches"};
	for (size_t i = 0; i < 3; i++)
		if (n > 4 && memcmp(w + n - 4, es[i], 4) == 0)
			return n - 2;
	if (n > 3 && (memcmp(w + n - 3, "xes", 3) == 0 || memcmp(w + n - 3, "zes", 3) == 0))
		return n - 2;
	if (n > 4 && memcmp(w + n - 4, "uses", 4) == 0 && !strchr("aeiou", w[n - 5]))
		return n - 2; /* statuses, bonuses (houses, causes: below) */
	if (n >= 2 && (memcmp(w + n - 2, "ss", 2) == 0 || memcmp(w + n - 2, "us", 2) == 0 ||
	               memcmp(w + n - 2, "is", 2) == 0))
		return n;
	if (n > 1 && w[n - 1] == 's')
		return n - 1;
	return n;
}

/* Appends the words of a segment (lower case, separators to spaces), singularised when
 * asked; cap: upper-case the first letter. */
static void put_words(struct buf *b, const char *p, size_t n, int sing, int cap)
{
	struct buf w;
	buf_init(&w, 0);
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '-' || c == '_' || c == '.') {
			if (w.n && w.p[w.n - 1] != ' ')
				buf_putc(&w, ' ');
			continue;
		}
		if (is_upper((unsigned char)c) && i > 0 && !is_upper((unsigned char)p[i - 1]) &&
		    is_alpha((unsigned char)p[i - 1]) && w.n && w.p[w.n - 1] != ' ')
			buf_putc(&w, ' ');
		buf_putc(&w, lower(c));
	}
	while (w.n && w.p[w.n - 1] == ' ')
		w.n--;
	if (w.oom) {
		b->oom = 1;
		buf_free(&w);
		return;
	}
	size_t len = w.n;
	const char *add = "";
	if (sing && len) {
		/* the last word only */
		size_t ws = len;
		while (ws > 0 && w.p[ws - 1] != ' ')
			ws--;
		len = ws + singular_len(w.p + ws, len - ws, &add);
	}
	if (len) {
		if (cap && w.p[0] >= 'a' && w.p[0] <= 'z')
			w.p[0] = (char)(w.p[0] - 'a' + 'A');
		buf_append(b, w.p, len);
		buf_puts(b, add);
	}
	buf_free(&w);
}

/* 1 when the words of p[0..n) would change when singularised (looks plural). */
static int looks_plural(const char *p, size_t n)
{
	struct buf a, s;
	buf_init(&a, 0);
	buf_init(&s, 0);
	put_words(&a, p, n, 0, 0);
	put_words(&s, p, n, 1, 0);
	int r = !a.oom && !s.oom && (a.n != s.n || (a.n && memcmp(a.p, s.p, a.n) != 0));
	buf_free(&a);
	buf_free(&s);
	return r;
}

static int name_api(const char *rest, size_t n, struct buf *out)
{
	const char *sp = memchr(rest, ' ', n);
	if (!sp || sp == rest)
		return -1;
	size_t mn = (size_t)(sp - rest);
	const char *path = sp + 1;
	size_t pn = n - mn - 1;
	if (pn == 0 || path[0] != '/')
		return -1;
	for (size_t i = 0; i < mn; i++)
		if (!is_upper((unsigned char)rest[i]))
			return -1;
	struct seg s[RULE_SEG_MAX];
	size_t k = split(path, pn, 1, s, RULE_SEG_MAX);
	size_t r = k;
	while (r > 0 && s[r - 1].param)
		r--;
	if (r == 0) {
		buf_puts(out, "API ");
		buf_append(out, rest, n);
		return out->oom ? -1 : 0;
	}
	r--; /* index of the resource */
	int item = r + 1 < k;
	int nested = r >= 2 && s[r - 1].param && !s[r - 2].param;
	int plural = looks_plural(s[r].p, s[r].n);
#define M(lit) (mn == sizeof(lit) - 1 && memcmp(rest, lit, mn) == 0)
	const char *verb;
	int sing;
	if (M("POST")) {
		if (nested && !item && !plural) { /* an action on the parent item */
			put_words(out, s[r].p, s[r].n, 0, 1);
			buf_putc(out, ' ');
			put_words(out, s[r - 2].p, s[r - 2].n, 1, 0);
			return out->oom ? -1 : 0;
		}
		verb = "Create";
		sing = 1;
	} else if (M("PUT") || M("PATCH")) {
		verb = "Update";
		sing = item;
	} else if (M("DELETE")) {
		verb = "Delete";
		sing = item;
	} else if (M("GET") || M("HEAD")) {
		int list = !item && plural;
		verb = list ? "List" : "View";
		sing = !list;
	} else {
		verb = "Call";
		sing = item;
	}
#undef M
	buf_puts(out, verb);
	buf_putc(out, ' ');
	if (nested) {
		put_words(out, s[r - 2].p, s[r - 2].n, 1, 0);
		buf_putc(out, ' ');
	}
	put_words(out, s[r].p, s[r].n, sing, 0);
	return out->oom ? -1 : 0;
}

static int name_page(const char *path, size_t n, struct buf *out)
{
	if (path[0] != '/')
		return -1;
	struct seg s[RULE_SEG_MAX];
	size_t k = split(path, n, 0, s, RULE_SEG_MAX);
	buf_puts(out, "Page: ");
	if (k == 0) {
		buf_puts(out, "Home");
		return out->oom ? -1 : 0;
	}
	size_t before = out->n;
	for (size_t i = 0; i < k; i++) {
		if (s[i].param)
			continue;
		if (out->n > before)
			buf_putc(out, ' ');
		int sing = i + 1 < k && s[i + 1].param;
		put_words(out, s[i].p, s[i].n, sing, out->n == before);
	}
	if (out->n == before)
		buf_append(out, path, n);
	return out->oom ? -1 : 0;
}

int appmodel_rule_name(const char *key, size_t n, struct buf *out)
{
	if (out->p) {
		out->n = 0;
		out->p[0] = '\0';
	}
	out->oom = 0;
	const char *sp = key ? memchr(key, ' ', n) : NULL;
	int rc = -1;
	if (!sp || sp == key || has_ctl(key, n) || memchr(key, '\0', n))
		goto done;
	size_t tn = (size_t)(sp - key);
	const char *rest = sp + 1;
	size_t rn = n - tn - 1;
	if (rn == 0)
		goto done;
	if (tn == 3 && memcmp(key, "api", 3) == 0) {
		rc = name_api(rest, rn, out);
	} else if (tn == 4 && memcmp(key, "page", 4) == 0) {
		rc = name_page(rest, rn, out);
	} else if (tn == 5 && memcmp(key, "click", 5) == 0) {
		buf_puts(out, "Click: ");
		buf_append(out, rest, rn);
		rc = out->oom ? -1 : 0;
	} else if (tn == 6 && memcmp(key, "submit", 6) == 0) {
		buf_puts(out, "Form: ");
		buf_append(out, rest, rn);
		rc = out->oom ? -1 : 0;
	} else if (tn == 5 && memcmp(key, "track", 5) == 0) {
		buf_append(out, rest, rn);
		rc = out->oom ? -1 : 0;
	}
done:
	if (rc < 0) {
		if (out->p) {
			out->n = 0;
			out->p[0] = '\0';
		}
		out->oom = 0;
		if (key)
			buf_append(out, key, n);
	}
	return rc;
}

/* ---- PII check ----
 * Refused: any '@' (e-mail); a run of 6+ digits; a number of 7+ digits written with
 * spaces, dashes, dots, parentheses or a leading '+' between them (phone, card, date);
 * a run of 12+ letters and digits holding both (token-like); a run of 16+ hex digits;
 * control characters. The masks ingestion leaves ("[email]", "[card]", "[token]") are
 * fine. */
int appmodel_pii_free(const char *key, size_t n)
{
	if (!key)
		return 0;
	const unsigned char *s = (const unsigned char *)key;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '@' || s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	for (size_t i = 0; i < n;) {
		if (!is_digit(s[i]) && s[i] != '+' && s[i] != '(') {
			i++;
			continue;
		}
		/* a number with separators */
		size_t j = i, digits = 0, run = 0, maxrun = 0;
		while (j < n) {
			if (is_digit(s[j])) {
				digits++;
				run++;
				maxrun = run > maxrun ? run : maxrun;
			} else if (s[j] == ' ' || s[j] == '-' || s[j] == '.' || s[j] == '(' || s[j] == ')' ||
			           (s[j] == '+' && j == i)) {
				run = 0;
			} else {
				break;
			}
			j++;
		}
		if (maxrun >= 6 || digits >= 7)
			return 0;
		i = j > i ? j : i + 1;
	}
	for (size_t i = 0; i < n;) {
		size_t j = i, letters = 0, digits = 0, hex = 0;
		while (j < n && (is_alpha(s[j]) || is_digit(s[j]))) {
			letters += is_alpha(s[j]) ? 1 : 0;
			digits += is_digit(s[j]) ? 1 : 0;
			unsigned char c = (unsigned char)lower((char)s[j]);
			hex += (is_digit(c) || (c >= 'a' && c <= 'f')) ? 1 : 0;
			j++;
		}
		size_t len = j - i;
		if ((len >= 12 && letters && digits) || (len >= 16 && hex == len))
			return 0;
		i = j > i ? j : i + 1;
	}
	return 1;
}

/* The built-in provider: the rule names. */
static int rules_name(void *ctx, const char *const *keys, size_t n, char **names)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		struct buf b;
		buf_init(&b, 0);
		if (appmodel_rule_name(keys[i], strlen(keys[i]), &b) < 0 || b.oom) {
			buf_free(&b);
			names[i] = NULL;
			continue;
		}
		names[i] = buf_detach(&b, NULL);
	}
	return 0;
}

const struct appmodel_namer appmodel_rules_namer = {"rules", rules_name, NULL};
