/* Auto-escaping mustache-like templates (see tmpl.h for the language).
 *
 * A template compiles to a flat array of nodes; a section, block or parent node records
 * the index just past its body, so rendering is a loop over index ranges with recursion
 * only for nesting. Names stay in the template text (jansson looks keys up by length).
 * Rendering allocates nothing but the output buffer: the context stack and the block
 * override chain are fixed arrays bounded by LIMIT_TMPL_DEPTH. */
#include "tmpl/tmpl.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/limits.h"
#include "core/utf8.h"
#include "tmpl/tmpl_int.h"

#define TMPL_SOURCE_MAX (16u * 1024 * 1024) /* bytes of one template source */
#define TMPL_NAME_MAX 128                   /* bytes of a template, block or variable name */
#define TRUSTED_MARK_KEY "_tmpl_trusted"
#define TRUSTED_HTML_KEY "html"

#ifdef DROPFIX_TEST_HOOKS
void (*tmpl_test_var_hook)(const char *p, size_t n, int trusted);
#endif

enum node_kind { N_TEXT, N_VAR, N_SECTION, N_INVERTED, N_PARTIAL, N_PARENT, N_BLOCK };

struct node {
	uint8_t kind;
	uint8_t in_attr; /* N_VAR inside a quoted attribute value */
	uint32_t line;
	uint32_t off, len; /* N_TEXT: the bytes; others: the name; both in the template text */
	uint32_t end;      /* N_SECTION, N_INVERTED, N_PARENT, N_BLOCK: index just past the body */
	uint32_t target;   /* N_PARTIAL, N_PARENT: index of the template in the set */
};

struct tmpl {
	char *name; /* one allocation: name, NUL, text, NUL */
	const char *text;
	uint32_t text_len;
	struct node *nodes;
	uint32_t n_nodes, cap_nodes;
};

struct tmpl_set {
	struct tmpl *t;
	size_t n;
};

/* ---- Trusted marker ---------------------------------------------------------------- */

/* The private value whose identity marks a trusted fragment. Never freed (reachable from
 * this static), never exposed, so no other json_t can be the same pointer. */
static json_t *trusted_marker;
static pthread_once_t trusted_once = PTHREAD_ONCE_INIT;

static void trusted_marker_init(void)
{
	trusted_marker = json_array();
}

static json_t *get_trusted_marker(void)
{
	pthread_once(&trusted_once, trusted_marker_init);
	return trusted_marker;
}

const char *tmpl_trusted_html(const json_t *v, size_t *n)
{
	if (!json_is_object(v))
		return NULL;
	json_t *mark = json_object_get(v, TRUSTED_MARK_KEY);
	if (!mark || mark != get_trusted_marker())
		return NULL;
	json_t *html = json_object_get(v, TRUSTED_HTML_KEY);
	if (!json_is_string(html))
		return NULL;
	if (n)
		*n = json_string_length(html);
	return json_string_value(html);
}

int tmpl_is_trusted(const json_t *v)
{
	return tmpl_trusted_html(v, NULL) != NULL;
}

json_t *tmpl_trusted_new(const char *html, size_t n)
{
	json_t *mark = get_trusted_marker();
	json_t *o = json_object();
	if (!mark || !o)
		goto fail;
	if (json_object_set(o, TRUSTED_MARK_KEY, mark) < 0)
		goto fail;
	if (json_object_set_new(o, TRUSTED_HTML_KEY, json_stringn(html, n)) < 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* ---- Escaping ---------------------------------------------------------------------- */

/* Appends s[0..n) with & < > " ' (and NUL) replaced by entities. */
static void put_escaped(struct buf *b, const char *s, size_t n)
{
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		const char *rep;
		switch (s[i]) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		case '\0':
			rep = "\xef\xbf\xbd";
			break;
		default:
			continue;
		}
		buf_append(b, s + run, i - run);
		buf_puts(b, rep);
		run = i + 1;
	}
	buf_append(b, s + run, n - run);
}

void tmpl_put_escaped_utf8(struct buf *b, const char *text, size_t n)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t run = 0, i = 0;
	while (i < n) {
		unsigned char ch = s[i];
		int r = utf8_decode(s + i, n - i, NULL);
		size_t len = r > 0 ? (size_t)r : 0;
		if (len > 1 ||
		    (len == 1 && ch != 0x7f && (ch >= 0x20 || ch == '\t' || ch == '\n' || ch == '\r'))) {
			i += len; /* kept in the run; put_escaped handles the five characters */
			continue;
		}
		put_escaped(b, text + run, i - run);
		buf_puts(b, "\xef\xbf\xbd");
		run = ++i;
	}
	put_escaped(b, text + run, n - run);
}

/* ---- Compiler ---------------------------------------------------------------------- */

enum html_state { HS_TEXT, HS_TAG, HS_DQ, HS_SQ, HS_COMMENT };

struct open_frame {
	uint32_t node;
	uint32_t line;
};

struct compiler {
	struct tmpl *t;
	const char *s;
	size_t n;
	enum html_state hs;
	struct open_frame open[LIMIT_TMPL_DEPTH];
	unsigned depth;
	char *err;
	size_t err_size;
};

static int compile_fail(struct compiler *c, uint32_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int compile_fail(struct compiler *c, uint32_t line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err && c->err_size)
		snprintf(c->err, c->err_size, "%s:%u: %s", c->t->name, (unsigned)line, msg);
	return -1;
}

static int name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '-';
}

int tmpl_valid_simple_name(const char *p, size_t n)
{
	if (n == 0 || n > TMPL_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!name_char(p[i]))
			return 0;
	return 1;
}

/* 1 when p[0..n) is "." or simple names joined by single dots. */
static int valid_path(const char *p, size_t n)
{
	if (n == 1 && p[0] == '.')
		return 1;
	if (n == 0 || n > TMPL_NAME_MAX)
		return 0;
	size_t seg = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '.') {
			if (seg == 0)
				return 0;
			seg = 0;
		} else if (name_char(p[i])) {
			seg++;
		} else {
			return 0;
		}
	}
	return seg > 0;
}

static uint32_t count_nl(const char *p, size_t n)
{
	uint32_t k = 0;
	for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
		k++;
	return k;
}

static int add_node(struct compiler *c, const struct node *nd)
{
	struct tmpl *t = c->t;
	if (t->n_nodes == t->cap_nodes) {
		uint32_t cap = t->cap_nodes ? t->cap_nodes * 2 : 32;
		struct node *p = realloc(t->nodes, (size_t)cap * sizeof(*p));
		if (!p)
			return compile_fail(c, nd->line, "out of memory");
		t->nodes = p;
		t->cap_nodes = cap;
	}
	t->nodes[t->n_nodes++] = *nd;
	return 0;
}

static int in_parent_body(const struct compiler *c)
{
	return c->depth && c->t->nodes[c->open[c->depth - 1].node].kind == N_PARENT;
}

/* Follows the HTML tokenizer coarsely through template text, so that a variable can be
 * placed: element content, quoted attribute value, or inside a tag (refused). Sections
 * do not change the state: their bodies are assumed to be balanced, as ours are. */
static void html_track(struct compiler *c, size_t from, size_t to)
{
	const char *s = c->s;
	for (size_t i = from; i < to; i++) {
		char ch = s[i];
		switch (c->hs) {
		case HS_TEXT:
			if (ch != '<')
				break;
			if (to - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
				c->hs = HS_COMMENT;
				i += 3;
			} else if (i + 1 == to || s[i + 1] == '/' || s[i + 1] == '!' || s[i + 1] == '?' ||
			           ((s[i + 1] | 0x20) >= 'a' && (s[i + 1] | 0x20) <= 'z')) {
				c->hs = HS_TAG;
			}
			break;
		case HS_TAG:
			if (ch == '"')
				c->hs = HS_DQ;
			else if (ch == '\'')
				c->hs = HS_SQ;
			else if (ch == '>')
				c->hs = HS_TEXT;
			break;
		case HS_DQ:
			if (ch == '"')
				c->hs = HS_TAG;
			break;
		case HS_SQ:
			if (ch == '\'')
				c->hs = HS_TAG;
			break;
		case HS_COMMENT:
			if (ch == '>' && i >= 2 && s[i - 1] == '-' && s[i - 2] == '-')
				c->hs = HS_TEXT;
			break;
		}
	}
}

static int emit_text(struct compiler *c, size_t from, size_t to, uint32_t line)
{
	if (from >= to)
		return 0;
	if (in_parent_body(c)) {
		for (size_t i = from; i < to; i++) {
			char ch = c->s[i];
			if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r')
				return compile_fail(
				    c, line + count_nl(c->s + from, i - from),
				    "only {{$block}} sections may appear directly inside {{<parent}}");
		}
		return 0;
	}
	html_track(c, from, to);
	struct node nd = {.kind = N_TEXT, .line = line, .off = (uint32_t)from, .len = (uint32_t)(to - from)};
	return add_node(c, &nd);
}

/* Trims spaces, tabs and newlines around p[*from..*to). */
static void trim(const char *p, size_t *from, size_t *to)
{
	while (*from < *to && strchr(" \t\r\n", p[*from]))
		(*from)++;
	while (*to > *from && strchr(" \t\r\n", p[*to - 1]))
		(*to)--;
}

static int compile_tag(struct compiler *c, char sigil, size_t ns, size_t ne, uint32_t line)
{
	const char *name = c->s + ns;
	size_t nlen = ne - ns;
	struct node nd = {.line = line, .off = (uint32_t)ns, .len = (uint32_t)nlen};
	int path = 0;
	switch (sigil) {
	case '#':
		nd.kind = N_SECTION;
		path = 1;
		break;
	case '^':
		nd.kind = N_INVERTED;
		path = 1;
		break;
	case '$':
		nd.kind = N_BLOCK;
		break;
	case '<':
		nd.kind = N_PARENT;
		break;
	case '>':
		nd.kind = N_PARTIAL;
		break;
	case '/':
		path = 1;
		break;
	default:
		nd.kind = N_VAR;
		path = 1;
		break;
	}
	if (path ? !valid_path(name, nlen) : !tmpl_valid_simple_name(name, nlen))
		return compile_fail(c, line,
		                    "invalid name in tag (use [A-Za-z0-9_-], dots between path segments)");

	if (sigil == '/') {
		if (c->depth == 0)
			return compile_fail(c, line, "{{/%.*s}} closes nothing", (int)nlen, name);
		struct open_frame *top = &c->open[c->depth - 1];
		struct node *open = &c->t->nodes[top->node];
		if (open->len != nlen || memcmp(c->s + open->off, name, nlen) != 0)
			return compile_fail(c, line, "{{/%.*s}} does not match '%.*s' opened at line %u",
			                    (int)nlen, name, (int)open->len, c->s + open->off,
			                    (unsigned)top->line);
		open->end = c->t->n_nodes;
		c->depth--;
		return 0;
	}
	if (in_parent_body(c) && nd.kind != N_BLOCK)
		return compile_fail(c, line,
		                    "only {{$block}} sections may appear directly inside {{<parent}}");
	if (nd.kind == N_VAR) {
		if (c->hs == HS_TAG)
			return compile_fail(c, line,
			                    "{{%.*s}} inside a tag must be in a quoted attribute value",
			                    (int)nlen, name);
		nd.in_attr = c->hs == HS_DQ || c->hs == HS_SQ;
		return add_node(c, &nd);
	}
	if (nd.kind == N_PARTIAL)
		return add_node(c, &nd);
	if (c->depth == LIMIT_TMPL_DEPTH)
		return compile_fail(c, line, "sections nested deeper than %d", LIMIT_TMPL_DEPTH);
	if (add_node(c, &nd) < 0)
		return -1;
	c->open[c->depth].node = c->t->n_nodes - 1;
	c->open[c->depth].line = line;
	c->depth++;
	return 0;
}

static int compile_one(struct tmpl *t, char *err, size_t err_size)
{
	struct compiler c = {.t = t, .s = t->text, .n = t->text_len, .err = err, .err_size = err_size};
	const char *s = c.s;
	size_t n = c.n, pos = 0;
	uint32_t line = 1; /* line of s[pos] */
	for (;;) {
		const char *open = memmem(s + pos, n - pos, "{{", 2);
		if (!open)
			break;
		size_t ts = (size_t)(open - s);
		uint32_t tline = line + count_nl(s + pos, ts - pos);
		const char *close = memmem(s + ts + 2, n - ts - 2, "}}", 2);
		if (!close)
			return compile_fail(&c, tline, "unclosed tag: '{{' without '}}'");
		size_t cs = ts + 2, ce = (size_t)(close - s), te = ce + 2;
		char sigil = cs < ce ? s[cs] : '\0';
		if (sigil == '{' || sigil == '&')
			return compile_fail(&c, tline,
			                    "raw output ({{{x}}} or {{&x}}) does not exist: "
			                    "variables are always escaped");
		if (sigil == '=')
			return compile_fail(&c, tline, "delimiter changes ({{=...=}}) are not supported");
		int is_var = !strchr("#^/!<>$", sigil) || sigil == '\0';

		/* A non-variable tag alone on its line takes the whole line with it. */
		size_t text_end = ts, next = te;
		if (!is_var) {
			size_t ls = ts, rs = te;
			while (ls > pos && (s[ls - 1] == ' ' || s[ls - 1] == '\t'))
				ls--;
			while (rs < n && (s[rs] == ' ' || s[rs] == '\t'))
				rs++;
			int left = ls == 0 || s[ls - 1] == '\n';
			int right =
			    rs == n || s[rs] == '\n' || (s[rs] == '\r' && rs + 1 < n && s[rs + 1] == '\n');
			if (left && right) {
				text_end = ls;
				next = rs == n ? n : rs + (s[rs] == '\r' ? 2 : 1);
			}
		}
		if (emit_text(&c, pos, text_end, line) < 0)
			return -1;
		if (sigil != '!') {
			size_t ns = is_var ? cs : cs + 1, ne = ce;
			trim(s, &ns, &ne);
			if (compile_tag(&c, is_var ? '\0' : sigil, ns, ne, tline) < 0)
				return -1;
		}
		line = tline + count_nl(s + ts, next - ts);
		pos = next;
	}
	if (emit_text(&c, pos, n, line) < 0)
		return -1;
	if (c.depth) {
		const struct open_frame *top = &c.open[c.depth - 1];
		const struct node *nd = &t->nodes[top->node];
		return compile_fail(&c, top->line, "'%.*s' is never closed", (int)nd->len, s + nd->off);
	}
	return 0;
}

static const struct tmpl *find_tmpl(const struct tmpl_set *set, const char *name, size_t n, uint32_t *idx)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct tmpl *t = &set->t[i];
		if (strlen(t->name) == n && memcmp(t->name, name, n) == 0) {
			if (idx)
				*idx = (uint32_t)i;
			return t;
		}
	}
	return NULL;
}

/* Resolves every partial and parent to a template index. */
static int link_set(struct tmpl_set *set, char *err, size_t err_size)
{
	for (size_t i = 0; i < set->n; i++) {
		struct tmpl *t = &set->t[i];
		for (uint32_t k = 0; k < t->n_nodes; k++) {
			struct node *nd = &t->nodes[k];
			if (nd->kind != N_PARTIAL && nd->kind != N_PARENT)
				continue;
			if (!find_tmpl(set, t->text + nd->off, nd->len, &nd->target)) {
				struct compiler c = {.t = t, .err = err, .err_size = err_size};
				return compile_fail(&c, nd->line, "unknown %s '%.*s'",
				                    nd->kind == N_PARTIAL ? "partial" : "parent",
				                    (int)nd->len, t->text + nd->off);
			}
		}
	}
	return 0;
}

int tmpl_set_compile(const struct tmpl_source *src, size_t n, struct tmpl_set **out, char *err,
                     size_t err_size)
{
	*out = NULL;
	if (err && err_size)
		err[0] = '\0';
	struct tmpl_set *set = calloc(1, sizeof(*set));
	if (!set || !(set->t = calloc(n ? n : 1, sizeof(*set->t))))
		goto oom;
	for (size_t i = 0; i < n; i++) {
		const char *name = src[i].name ? src[i].name : "";
		size_t nlen = strlen(name);
		if (!tmpl_valid_simple_name(name, nlen)) {
			if (err && err_size)
				snprintf(err, err_size, "template name '%.*s' is invalid (use [A-Za-z0-9_-])",
				         (int)(nlen > TMPL_NAME_MAX ? TMPL_NAME_MAX : nlen), name);
			goto fail;
		}
		if (find_tmpl(set, name, nlen, NULL)) {
			if (err && err_size)
				snprintf(err, err_size, "template '%s' is defined twice", name);
			goto fail;
		}
		if (src[i].len > TMPL_SOURCE_MAX) {
			if (err && err_size)
				snprintf(err, err_size, "%s: template larger than %u bytes", name,
				         TMPL_SOURCE_MAX);
			goto fail;
		}
		struct tmpl *t = &set->t[set->n];
		if (!(t->name = malloc(nlen + 1 + src[i].len + 1)))
			goto oom;
		set->n++;
		memcpy(t->name, name, nlen + 1);
		char *text = t->name + nlen + 1;
		if (src[i].len)
			memcpy(text, src[i].text, src[i].len);
		text[src[i].len] = '\0';
		t->text = text;
		t->text_len = (uint32_t)src[i].len;
		if (compile_one(t, err, err_size) < 0)
			goto fail;
	}
	if (link_set(set, err, err_size) < 0)
		goto fail;
	*out = set;
	return 0;
oom:
	if (err && err_size)
		snprintf(err, err_size, "out of memory");
fail:
	tmpl_set_free(set);
	return -1;
}

int tmpl_set_load_embedded(struct tmpl_set **out, char *err, size_t err_size)
{
	return tmpl_set_compile(tmpl_embedded, tmpl_embedded_count, out, err, err_size);
}

void tmpl_set_free(struct tmpl_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++) {
		free(set->t[i].name);
		free(set->t[i].nodes);
	}
	free(set->t);
	free(set);
}

int tmpl_set_has(const struct tmpl_set *set, const char *name)
{
	return set && name && find_tmpl(set, name, strlen(name), NULL) != NULL;
}

const struct tmpl_source *tmpl_embedded_find(const char *name)
{
	for (size_t i = 0; name && i < tmpl_embedded_count; i++)
		if (strcmp(tmpl_embedded[i].name, name) == 0)
			return &tmpl_embedded[i];
	return NULL;
}

/* ---- Renderer ---------------------------------------------------------------------- */

enum render_err { RERR_NONE, RERR_NOT_FOUND, RERR_DEPTH, RERR_STEPS, RERR_OUTPUT };

/* Overrides supplied by one {{<parent}}: the blocks in nodes [begin, end) of t. */
struct override {
	const struct tmpl *t;
	uint32_t begin, end;
};

struct render {
	const struct tmpl_set *set;
	struct buf *out;
	json_t *stack[LIMIT_TMPL_DEPTH + 1];
	unsigned sp;
	struct override chain[LIMIT_TMPL_DEPTH];
	unsigned n_chain;
	unsigned depth;
	uint64_t steps;
	enum render_err err;
};

static json_t *lookup(const struct render *r, const char *name, size_t n)
{
	if (n == 1 && name[0] == '.')
		return r->sp ? r->stack[r->sp - 1] : NULL;
	const char *dot = memchr(name, '.', n);
	size_t seg = dot ? (size_t)(dot - name) : n;
	json_t *v = NULL;
	for (unsigned k = r->sp; k-- > 0 && !v;)
		if (json_is_object(r->stack[k]))
			v = json_object_getn(r->stack[k], name, seg);
	while (v && seg < n) {
		name += seg + 1;
		n -= seg + 1;
		dot = memchr(name, '.', n);
		seg = dot ? (size_t)(dot - name) : n;
		v = json_is_object(v) ? json_object_getn(v, name, seg) : NULL;
	}
	return v;
}

static int falsy(const json_t *v)
{
	return !v || json_is_null(v) || json_is_false(v) ||
	       (json_is_string(v) && json_string_length(v) == 0) ||
	       (json_is_array(v) && json_array_size(v) == 0) ||
	       (json_is_object(v) && json_object_size(v) == 0);
}

/* Formats a real as the shorter of %.15g and %.17g that reads back exactly. */
static void format_real(double d, char *out, size_t size)
{
	snprintf(out, size, "%.15g", d);
	if (strtod(out, NULL) != d)
		snprintf(out, size, "%.17g", d);
}

static void emit_value(struct render *r, const json_t *v, int in_attr)
{
	struct buf *b = r->out;
	size_t start = b->n;
	int trusted = 0;
	char num[40];
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_STRING:
		put_escaped(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		put_escaped(b, num, strlen(num));
		break;
	case JSON_REAL:
		format_real(json_real_value(v), num, sizeof(num));
		put_escaped(b, num, strlen(num));
		break;
	case JSON_TRUE:
		buf_puts(b, "true");
		break;
	case JSON_FALSE:
		buf_puts(b, "false");
		break;
	case JSON_OBJECT: {
		size_t n;
		const char *html = tmpl_trusted_html(v, &n);
		if (html && !in_attr) {
			buf_append(b, html, n);
			trusted = 1;
		} else if (html) {
			put_escaped(b, html, n);
		}
		break;
	}
	default:
		break;
	}
#ifdef DROPFIX_TEST_HOOKS
	if (tmpl_test_var_hook && !b->oom)
		tmpl_test_var_hook(b->p ? b->p + start : "", b->n - start, trusted);
#else
	(void)start;
	(void)trusted;
#endif
}

static int render_range(struct render *r, const struct tmpl *t, uint32_t i, uint32_t end);

static int enter(struct render *r)
{
	if (r->depth == LIMIT_TMPL_DEPTH) {
		r->err = RERR_DEPTH;
		return -1;
	}
	r->depth++;
	return 0;
}

static int render_section(struct render *r, const struct tmpl *t, const struct node *nd, json_t *v)
{
	if (enter(r) < 0)
		return -1;
	int rc = 0;
	uint32_t body = (uint32_t)(nd - t->nodes) + 1;
	if (json_is_array(v)) {
		size_t n = json_array_size(v);
		for (size_t k = 0; k < n && rc == 0; k++) {
			if (++r->steps > LIMIT_TMPL_STEPS) {
				r->err = RERR_STEPS;
				rc = -1;
				break;
			}
			r->stack[r->sp++] = json_array_get(v, k);
			rc = render_range(r, t, body, nd->end);
			r->sp--;
		}
	} else {
		r->stack[r->sp++] = v;
		rc = render_range(r, t, body, nd->end);
		r->sp--;
	}
	r->depth--;
	return rc;
}

/* Finds the override of block name: the outermost (most-derived page) wins. */
static int find_override(const struct render *r, const char *name, size_t n, const struct tmpl **t,
                         const struct node **blk)
{
	for (unsigned k = 0; k < r->n_chain; k++) {
		const struct override *o = &r->chain[k];
		for (uint32_t i = o->begin; i < o->end;
		     i = o->t->nodes[i].kind == N_BLOCK ? o->t->nodes[i].end : i + 1) {
			const struct node *nd = &o->t->nodes[i];
			if (nd->kind == N_BLOCK && nd->len == n &&
			    memcmp(o->t->text + nd->off, name, n) == 0) {
				*t = o->t;
				*blk = nd;
				return 1;
			}
		}
	}
	return 0;
}

static int render_range(struct render *r, const struct tmpl *t, uint32_t i, uint32_t end)
{
	while (i < end) {
		if (++r->steps > LIMIT_TMPL_STEPS) {
			r->err = RERR_STEPS;
			return -1;
		}
		if (r->out->oom) {
			r->err = RERR_OUTPUT;
			return -1;
		}
		const struct node *nd = &t->nodes[i];
		const char *name = t->text + nd->off;
		switch (nd->kind) {
		case N_TEXT:
			buf_append(r->out, name, nd->len);
			i++;
			break;
		case N_VAR:
			emit_value(r, lookup(r, name, nd->len), nd->in_attr);
			i++;
			break;
		case N_SECTION:
		case N_INVERTED: {
			json_t *v = lookup(r, name, nd->len);
			if (nd->kind == N_SECTION && !falsy(v) && render_section(r, t, nd, v) < 0)
				return -1;
			if (nd->kind == N_INVERTED && falsy(v)) {
				if (enter(r) < 0 || render_range(r, t, i + 1, nd->end) < 0)
					return -1;
				r->depth--;
			}
			i = nd->end;
			break;
		}
		case N_PARTIAL: {
			const struct tmpl *p = &r->set->t[nd->target];
			if (enter(r) < 0 || render_range(r, p, 0, p->n_nodes) < 0)
				return -1;
			r->depth--;
			i++;
			break;
		}
		case N_PARENT: {
			const struct tmpl *p = &r->set->t[nd->target];
			if (enter(r) < 0)
				return -1;
			r->chain[r->n_chain++] = (struct override){t, i + 1, nd->end};
			int rc = render_range(r, p, 0, p->n_nodes);
			r->n_chain--;
			r->depth--;
			if (rc < 0)
				return -1;
			i = nd->end;
			break;
		}
		case N_BLOCK: {
			const struct tmpl *bt = t;
			const struct node *blk = nd;
			find_override(r, name, nd->len, &bt, &blk);
			if (enter(r) < 0 ||
			    render_range(r, bt, (uint32_t)(blk - bt->nodes) + 1, blk->end) < 0)
				return -1;
			r->depth--;
			i = nd->end;
			break;
		}
		default:
			abort(); /* the compiler makes no other node */
		}
	}
	if (r->out->oom) {
		r->err = RERR_OUTPUT;
		return -1;
	}
	return 0;
}

/* tmpl_render, also telling why it failed (for tests). */
static int render_named(const struct tmpl_set *set, const char *name, json_t *ctx, struct buf *out,
                        enum render_err *why)
{
	struct render r = {.set = set, .out = out};
	const struct tmpl *t = set && name ? find_tmpl(set, name, strlen(name), NULL) : NULL;
	int rc = -1;
	if (!t) {
		r.err = RERR_NOT_FOUND;
		goto done;
	}
	if (out->oom) {
		r.err = RERR_OUTPUT;
		goto done;
	}
	size_t saved = out->cap_limit;
	size_t cap = out->n > SIZE_MAX - LIMIT_TMPL_OUTPUT ? SIZE_MAX : out->n + LIMIT_TMPL_OUTPUT;
	if (!saved || saved > cap)
		out->cap_limit = cap;
	if (ctx)
		r.stack[r.sp++] = ctx;
	rc = render_range(&r, t, 0, t->n_nodes);
	out->cap_limit = saved;
done:
	if (why)
		*why = r.err;
	return rc;
}

int tmpl_render(const struct tmpl_set *set, const char *name, json_t *ctx, struct buf *out)
{
	return render_named(set, name, ctx, out, NULL);
}

int tmpl_render_error_page(const struct tmpl_set *set, int status, const char *title, const char *message,
                           struct buf *out)
{
	json_t *ctx =
	    json_pack("{s:i, s:s, s:s?}", "status", status, "title", title ? title : "", "message", message);
	if (!ctx)
		return -1;
	int rc = tmpl_render(set, "error", ctx, out);
	json_decref(ctx);
	return rc;
}
