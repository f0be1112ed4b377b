/* The tenant guard: a small SQL tokenizer and walker that decides whether one
 * statement may run in a global, workspace or maintenance transaction.
 *
 * Rules (store.h has the caller's view):
 *  - one statement, starting with SELECT, INSERT, UPDATE, DELETE, WITH or VALUES;
 *    no set_config (the store alone sets the tenant); placeholders only `$N`.
 *  - global: every table named (after FROM, JOIN, INTO, UPDATE, USING) is a global
 *    table (store_global_tables) or a CTE of the statement.
 *  - workspace: every tenant table reference has, in its own query block, an AND-ed
 *    `workspace_id = $1` right after WHERE, AND or ON, qualified by the reference's
 *    alias (or name) unless it is the block's only table; no OR at that level.
 *    INSERT into a tenant table lists workspace_id first and every VALUES tuple (or
 *    the SELECT list) starts with `$1`. UPDATE may not assign workspace_id.
 * Anything the walker does not understand is refused, never waved through. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/limits.h"
#include "store/store_int.h"

enum tok_kind { T_END, T_IDENT, T_QIDENT, T_STRING, T_NUMBER, T_PARAM, T_PUNCT };

struct tok {
	enum tok_kind k;
	const char *p;
	size_t n;
	int param;
};

#define MAX_DEPTH 32
#define MAX_REFS 32
#define MAX_CONDS 32
#define MAX_CTES 16

struct ref {
	const char *name, *alias;
	size_t nn, an;
	int tenant;
	int insert; /* INSERT target: checked by shape, not by condition */
	int on_ok;  /* an ON condition of its own join filters it (not RIGHT/FULL) */
};

struct cond {
	const char *q; /* qualifier, NULL when unqualified */
	size_t qn;
	int on_ref; /* -1: in WHERE (filters every table); k: in the ON of ref k's join */
};

/* Where an AND-chain currently is in a block. */
enum { CL_NONE = -2, CL_WHERE = -1, CL_DEAD = -3 /* ON of a RIGHT/FULL join: filters nothing */ };

struct block {
	int query;   /* a query block: top level, or parentheses starting a statement or a FROM item */
	int in_from; /* inside a FROM/USING table list: a comma introduces another table */
	int clause;  /* CL_* or the ref index whose ON clause we are in */
	int nrefs, nconds;
	int has_or;
	int in_set;
	struct ref refs[MAX_REFS];
	struct cond conds[MAX_CONDS];
};

struct walker {
	struct tok *t;
	int nt;
	enum store_sql_ctx ctx;
	char *why;
	size_t whylen;
	struct {
		const char *p;
		size_t n;
	} ctes[MAX_CTES];
	int nctes;
	struct block *stack;
	int depth;
	int max_param;
};

static int refuse(struct walker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct walker *w, const char *fmt, ...)
{
	if (w->why && w->whylen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(w->why, w->whylen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int is_ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_ident_char(unsigned char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

/* Splits sql into tokens (comments and whitespace dropped). Returns the count or -1. */
static int tokenize(struct walker *w, const char *sql)
{
	size_t len = strlen(sql);
	if (len > (size_t)LIMIT_SQL_LENGTH)
		return refuse(w, "statement longer than %d bytes", LIMIT_SQL_LENGTH);
	w->t = calloc(len + 1, sizeof(*w->t));
	if (!w->t)
		return refuse(w, "out of memory");
	int nt = 0;
	const char *s = sql;
	size_t i = 0;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
			i++;
			continue;
		}
		if (c == '-' && i + 1 < len && s[i + 1] == '-') {
			while (i < len && s[i] != '\n')
				i++;
			continue;
		}
		if (c == '/' && i + 1 < len && s[i + 1] == '*') {
			const char *end = strstr(s + i + 2, "*/");
			if (!end)
				return refuse(w, "unterminated comment");
			i = (size_t)(end - s) + 2;
			continue;
		}
		struct tok *t = &w->t[nt++];
		t->p = s + i;
		if (is_ident_start(c)) {
			size_t j = i;
			while (j < len && is_ident_char((unsigned char)s[j]))
				j++;
			if (j < len && s[j] == '\'')
				return refuse(w, "prefixed string literals (E'', X'', B'') are not allowed");
			t->k = T_IDENT;
			t->n = j - i;
			i = j;
		} else if (c == '"') {
			size_t j = i + 1;
			while (j < len && s[j] != '"')
				j++;
			if (j >= len || j == i + 1)
				return refuse(w, "bad quoted identifier");
			if (j + 1 < len && s[j + 1] == '"')
				return refuse(w, "quoted identifiers with quotes are not allowed");
			t->k = T_QIDENT;
			t->p = s + i + 1;
			t->n = j - i - 1;
			i = j + 1;
		} else if (c == '\'') {
			size_t j = i + 1;
			for (;;) {
				if (j >= len)
					return refuse(w, "unterminated string literal");
				if (s[j] == '\'') {
					if (j + 1 < len && s[j + 1] == '\'') {
						j += 2;
						continue;
					}
					break;
				}
				j++;
			}
			t->k = T_STRING;
			t->n = j + 1 - i;
			i = j + 1;
		} else if (c >= '0' && c <= '9') {
			size_t j = i;
			while (j < len && (is_ident_char((unsigned char)s[j]) || s[j] == '.'))
				j++;
			t->k = T_NUMBER;
			t->n = j - i;
			i = j;
		} else if (c == '$') {
			size_t j = i + 1;
			long v = 0;
			while (j < len && s[j] >= '0' && s[j] <= '9' && v <= LIMIT_SQL_VARIABLES) {
				v = v * 10 + (s[j] - '0');
				j++;
			}
			if (j == i + 1 || v < 1 || v > LIMIT_SQL_VARIABLES || (j < len && is_ident_char((unsigned char)s[j])))
				return refuse(w, "placeholders must be $1..$%d (no dollar quoting)", LIMIT_SQL_VARIABLES);
			t->k = T_PARAM;
			t->param = (int)v;
			if (t->param > w->max_param)
				w->max_param = t->param;
			t->n = j - i;
			i = j;
		} else if (c == '`' || c == '[' || c == '\\' || c >= 0x80 || c < 0x20) {
			return refuse(w, "unexpected character in statement");
		} else if (c == '?' || c == ':' || c == '@') {
			return refuse(w, "only $N placeholders (no ?, :name, @name; use CAST rather than ::)");
		} else {
			t->k = T_PUNCT;
			t->n = 1;
			i++;
		}
	}
	w->t[nt].k = T_END;
	w->t[nt].p = s + len;
	w->nt = nt;
	return nt;
}

static int kw(const struct tok *t, const char *word)
{
	size_t n = strlen(word);
	return t->k == T_IDENT && t->n == n && strncasecmp(t->p, word, n) == 0;
}

static int punct(const struct tok *t, char ch)
{
	return t->k == T_PUNCT && t->p[0] == ch;
}

static int is_name(const struct tok *t)
{
	return t->k == T_IDENT || t->k == T_QIDENT;
}

static int name_eq(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && strncasecmp(a, b, an) == 0;
}

/* Words that end a table reference instead of naming its alias. */
static int reserved_after_table(const struct tok *t)
{
	static const char *const words[] = {
		"where", "join", "on", "left", "right", "inner", "outer", "full", "cross", "natural",
		"using", "set", "order", "group", "limit", "offset", "having", "window", "union",
		"except", "intersect", "returning", "values", "select", "default", "for", "indexed",
		"not", "do", "as", "lateral", "fetch", NULL,
	};
	if (t->k != T_IDENT)
		return 0;
	for (int i = 0; words[i]; i++)
		if (kw(t, words[i]))
			return 1;
	return 0;
}

/* Tokens that may follow `workspace_id = $1` in an AND-chain. */
static int cond_terminator(const struct tok *t)
{
	static const char *const words[] = {
		"and", "order", "group", "limit", "returning", "union", "except", "intersect",
		"window", "having", "offset", "for", "join", "left", "inner", "cross", "right",
		"full", "natural", "where", "on", "do", NULL,
	};
	if (t->k == T_END || punct(t, ')') || punct(t, ';'))
		return 1;
	for (int i = 0; words[i]; i++)
		if (kw(t, words[i]))
			return 1;
	return 0;
}

static int is_cte(const struct walker *w, const char *p, size_t n)
{
	for (int i = 0; i < w->nctes; i++)
		if (name_eq(w->ctes[i].p, w->ctes[i].n, p, n))
			return 1;
	return 0;
}

/* System catalogs hold no tenant data (the store's own schema checks read them). */
static int is_catalog(const char *p, size_t n)
{
	return (n > 7 && strncasecmp(p, "sqlite_", 7) == 0) || (n > 3 && strncasecmp(p, "pg_", 3) == 0) ||
	       name_eq(p, n, "information_schema", 18);
}

/* Finds CTE names: `name [(cols)] AS [[NOT] MATERIALIZED] (`. */
static int collect_ctes(struct walker *w)
{
	for (int i = 0; i + 2 < w->nt; i++) {
		if (!is_name(&w->t[i]))
			continue;
		int j = i + 1;
		if (punct(&w->t[j], '(')) {
			int d = 0;
			for (; j < w->nt; j++) {
				if (punct(&w->t[j], '('))
					d++;
				else if (punct(&w->t[j], ')') && --d == 0)
					break;
			}
			j++;
		}
		if (j >= w->nt || !kw(&w->t[j], "as"))
			continue;
		j++;
		if (kw(&w->t[j], "not"))
			j++;
		if (kw(&w->t[j], "materialized"))
			j++;
		if (!punct(&w->t[j], '('))
			continue;
		if (w->nctes >= MAX_CTES)
			return refuse(w, "too many common table expressions");
		w->ctes[w->nctes].p = w->t[i].p;
		w->ctes[w->nctes].n = w->t[i].n;
		w->nctes++;
	}
	return 0;
}

/* Skips a balanced parenthesis group starting at i ('('); returns the index after it. */
static int skip_parens(const struct walker *w, int i)
{
	int d = 0;
	for (; i < w->nt; i++) {
		if (punct(&w->t[i], '('))
			d++;
		else if (punct(&w->t[i], ')') && --d == 0)
			return i + 1;
	}
	return w->nt;
}

/* INSERT INTO tenant: `(workspace_id, …) VALUES ($1, …), …` or `(workspace_id, …) SELECT
 * $1, …`. i is the index after the table name (and alias). */
static int check_insert_shape(struct walker *w, int i, const struct ref *r)
{
	if (!punct(&w->t[i], '(') || !kw(&w->t[i + 1], "workspace_id") ||
	    !(punct(&w->t[i + 2], ',') || punct(&w->t[i + 2], ')')))
		return refuse(w, "an insert into %.*s must list workspace_id as its first column", (int)r->nn, r->name);
	i = skip_parens(w, i);
	if (kw(&w->t[i], "select")) {
		if (w->t[i + 1].k != T_PARAM || w->t[i + 1].param != 1 || !punct(&w->t[i + 2], ','))
			return refuse(w, "an insert into %.*s from a SELECT must select $1 first", (int)r->nn, r->name);
		return 0;
	}
	if (!kw(&w->t[i], "values"))
		return refuse(w, "an insert into %.*s needs VALUES or SELECT", (int)r->nn, r->name);
	i++;
	if (w->t[i].k == T_END && w->ctx == STORE_SQL_WS_STATIC)
		return 0; /* tuples appended at run time; the run-time guard checks them */
	int tuples = 0;
	for (;;) {
		if (!punct(&w->t[i], '(') || w->t[i + 1].k != T_PARAM || w->t[i + 1].param != 1 ||
		    !(punct(&w->t[i + 2], ',') || punct(&w->t[i + 2], ')')))
			return refuse(w, "every VALUES tuple for %.*s must start with $1", (int)r->nn, r->name);
		tuples++;
		i = skip_parens(w, i);
		if (!punct(&w->t[i], ','))
			break;
		i++;
	}
	return tuples > 0 ? 0 : refuse(w, "an insert without VALUES tuples");
}

static int add_ref(struct walker *w, struct block *b, int *ip, int insert, int on_ok)
{
	int i = *ip;
	if (kw(&w->t[i], "only") || kw(&w->t[i], "lateral"))
		i++;
	if (!is_name(&w->t[i])) {
		*ip = i;
		return 0; /* derived table or something else: its own block is checked */
	}
	const struct tok *name = &w->t[i];
	int catalog_schema = 0;
	if (punct(&w->t[i + 1], '.') && is_name(&w->t[i + 2])) {
		catalog_schema = is_catalog(name->p, name->n);
		i += 2;
		name = &w->t[i];
	}
	i++;
	if (!insert && punct(&w->t[i], '(')) {
		*ip = i; /* table-valued function */
		return 0;
	}
	if (b->nrefs >= MAX_REFS)
		return refuse(w, "too many tables in one query block");
	struct ref *r = &b->refs[b->nrefs++];
	memset(r, 0, sizeof(*r));
	r->name = name->p;
	r->nn = name->n;
	r->insert = insert;
	r->on_ok = on_ok;
	r->tenant = !store_is_global_table(name->p, name->n) && !is_cte(w, name->p, name->n) &&
		    !catalog_schema && !is_catalog(name->p, name->n);
	if (kw(&w->t[i], "as"))
		i++;
	if (is_name(&w->t[i]) && !reserved_after_table(&w->t[i])) {
		r->alias = w->t[i].p;
		r->an = w->t[i].n;
		i++;
	}
	if (w->ctx == STORE_SQL_GLOBAL && r->tenant)
		return refuse(w, "a global transaction may not touch tenant table %.*s", (int)r->nn, r->name);
	if (insert && r->tenant && (w->ctx == STORE_SQL_WS || w->ctx == STORE_SQL_WS_STATIC) &&
	    check_insert_shape(w, i, r) < 0)
		return -1;
	*ip = i;
	return 0;
}

static int eval_block(struct walker *w, struct block *b)
{
	if (w->ctx != STORE_SQL_WS && w->ctx != STORE_SQL_WS_STATIC)
		return 0;
	for (int i = 0; i < b->nrefs; i++) {
		const struct ref *r = &b->refs[i];
		if (!r->tenant || r->insert)
			continue;
		if (b->has_or)
			return refuse(w, "OR beside the tenant condition of %.*s: parenthesize the alternatives",
				      (int)r->nn, r->name);
		const char *q = r->alias ? r->alias : r->name;
		size_t qn = r->alias ? r->an : r->nn;
		int ok = 0;
		for (int k = 0; k < b->nconds && !ok; k++) {
			const struct cond *cd = &b->conds[k];
			if (cd->on_ref != CL_WHERE && cd->on_ref != i)
				continue; /* an ON clause filters only its own join's table */
			ok = cd->q ? name_eq(cd->q, cd->qn, q, qn) : b->nrefs == 1;
		}
		if (!ok)
			return refuse(w,
				      "tenant table %.*s lacks an AND-ed `%.*s%sworkspace_id = $1` in its WHERE "
				      "(or its own JOIN's ON)",
				      (int)r->nn, r->name, b->nrefs == 1 ? 0 : (int)qn, q, b->nrefs == 1 ? "" : ".");
	}
	return 0;
}

/* At a WHERE/AND/ON token i: records `[q.]workspace_id = $1` when it follows. */
static void note_condition(struct walker *w, struct block *b, int i)
{
	int j = i + 1;
	const char *q = NULL;
	size_t qn = 0;
	if (is_name(&w->t[j]) && punct(&w->t[j + 1], '.')) {
		q = w->t[j].p;
		qn = w->t[j].n;
		j += 2;
	}
	if (!kw(&w->t[j], "workspace_id") || !punct(&w->t[j + 1], '=') || w->t[j + 2].k != T_PARAM ||
	    w->t[j + 2].param != 1 || !cond_terminator(&w->t[j + 3]))
		return;
	if (b->nconds >= MAX_CONDS || b->clause == CL_NONE || b->clause == CL_DEAD)
		return;
	b->conds[b->nconds].q = q;
	b->conds[b->nconds].qn = qn;
	b->conds[b->nconds].on_ref = b->clause;
	b->nconds++;
}

/* Words that start a statement (so a parenthesis starting with one is a query block). */
static int starts_statement(const struct tok *t)
{
	return kw(t, "select") || kw(t, "with") || kw(t, "values") || kw(t, "insert") || kw(t, "update") ||
	       kw(t, "delete");
}

/* Clause words that end a FROM list / a WHERE or ON chain. */
static int ends_from(const struct tok *t)
{
	static const char *const words[] = {"where", "group", "order", "having", "limit", "offset", "window",
					    "returning", "set", "values", "fetch", "for", "select", NULL};
	for (int i = 0; words[i]; i++)
		if (kw(t, words[i]))
			return 1;
	return 0;
}

static void reset_block(struct block *b, int query)
{
	memset(b, 0, sizeof(*b));
	b->query = query;
	b->clause = CL_NONE;
}

static int walk(struct walker *w)
{
	struct block *b = &w->stack[0];
	reset_block(b, 1);
	w->depth = 0;
	for (int i = 0; i < w->nt;) {
		const struct tok *t = &w->t[i];
		const struct tok *prev = i > 0 ? &w->t[i - 1] : NULL;
		b = &w->stack[w->depth];
		if (punct(t, '(')) {
			if (w->depth + 1 >= MAX_DEPTH)
				return refuse(w, "statement nested too deeply");
			/* a parenthesized FROM item (a join group or derived table) holds tables too */
			int from_item = b->in_from && prev &&
					(kw(prev, "from") || kw(prev, "join") || punct(prev, ',') || kw(prev, "lateral"));
			struct block *nb = &w->stack[++w->depth];
			reset_block(nb, starts_statement(&w->t[i + 1]) || from_item);
			nb->in_from = from_item && !starts_statement(&w->t[i + 1]);
			i++;
			if (nb->in_from) {
				int j = i;
				if (add_ref(w, nb, &j, 0, 0) < 0)
					return -1;
				i = j;
			}
			continue;
		}
		if (punct(t, ')')) {
			if (w->depth == 0)
				return refuse(w, "unbalanced parentheses");
			if (eval_block(w, b) < 0)
				return -1;
			w->depth--;
			i++;
			continue;
		}
		if (punct(t, ';')) {
			if (w->t[i + 1].k != T_END)
				return refuse(w, "one statement per call");
			i++;
			continue;
		}
		if (t->k != T_IDENT) {
			if (b->in_set && (w->ctx == STORE_SQL_WS || w->ctx == STORE_SQL_WS_STATIC) && punct(t, ',') &&
			    kw(&w->t[i + 1], "workspace_id") && punct(&w->t[i + 2], '='))
				return refuse(w, "assigning workspace_id is refused");
			if (punct(t, ',') && b->query && b->in_from) {
				int j = i + 1;
				if (add_ref(w, b, &j, 0, 0) < 0)
					return -1;
				i = j;
				continue;
			}
			i++;
			continue;
		}
		if (kw(t, "set_config"))
			return refuse(w, "set_config is reserved to the store (the tenant is set by the handle)");
		if (ends_from(t)) {
			b->in_from = 0;
			b->clause = CL_NONE;
		}
		if (kw(t, "or")) {
			b->has_or = 1;
		} else if (kw(t, "union") || kw(t, "intersect") || kw(t, "except")) {
			if (eval_block(w, b) < 0)
				return -1;
			reset_block(b, b->query);
		} else if (kw(t, "where")) {
			b->in_set = 0;
			b->clause = CL_WHERE;
			note_condition(w, b, i);
		} else if (kw(t, "on")) {
			if (kw(&w->t[i + 1], "conflict")) {
				b->clause = CL_NONE;
			} else {
				int k = b->nrefs - 1;
				b->clause = k >= 0 && b->refs[k].on_ok ? k : CL_DEAD;
				note_condition(w, b, i);
			}
		} else if (kw(t, "and")) {
			note_condition(w, b, i);
		} else if (kw(t, "set")) {
			b->in_set = 1;
			if ((w->ctx == STORE_SQL_WS || w->ctx == STORE_SQL_WS_STATIC) && kw(&w->t[i + 1], "workspace_id") &&
			    punct(&w->t[i + 2], '='))
				return refuse(w, "assigning workspace_id is refused");
		} else if (b->query && (kw(t, "from") || kw(t, "join") || kw(t, "using"))) {
			b->in_set = 0;
			if (kw(t, "from") && prev && kw(prev, "distinct")) {
				i++;
				continue;
			}
			int on_ok = 0;
			if (kw(t, "join")) {
				const struct tok *jk = prev && kw(prev, "outer") && i > 1 ? &w->t[i - 2] : prev;
				on_ok = !(jk && (kw(jk, "right") || kw(jk, "full")));
				b->clause = CL_NONE;
			}
			if (!kw(t, "using") || !punct(&w->t[i + 1], '('))
				b->in_from = 1;
			int j = i + 1;
			if (add_ref(w, b, &j, 0, on_ok) < 0)
				return -1;
			i = j;
			continue;
		} else if (b->query && kw(t, "into")) {
			int j = i + 1;
			if (add_ref(w, b, &j, 1, 0) < 0)
				return -1;
			i = j;
			continue;
		} else if (b->query && kw(t, "update") && !(prev && (kw(prev, "do") || kw(prev, "for")))) {
			int j = i + 1;
			if (kw(&w->t[j], "or"))
				return refuse(w, "the SQLite-only UPDATE OR … is refused; use ON CONFLICT");
			if (add_ref(w, b, &j, 0, 0) < 0)
				return -1;
			i = j;
			continue;
		} else if (kw(t, "returning")) {
			b->in_set = 0;
		}
		i++;
	}
	if (w->depth != 0)
		return refuse(w, "unbalanced parentheses");
	return eval_block(w, &w->stack[0]);
}

int store_sql_check(const char *sql, enum store_sql_ctx ctx, int *max_param, char *why, size_t whylen)
{
	struct walker w;
	memset(&w, 0, sizeof(w));
	w.ctx = ctx;
	w.why = why;
	w.whylen = whylen;
	int rc = -1;
	if (why && whylen)
		why[0] = '\0';
	if (!sql) {
		refuse(&w, "no statement");
		goto done;
	}
	if (tokenize(&w, sql) < 0)
		goto done;
	if (w.nt == 0) {
		refuse(&w, "empty statement");
		goto done;
	}
	const struct tok *first = &w.t[0];
	if (!(kw(first, "select") || kw(first, "insert") || kw(first, "update") || kw(first, "delete") ||
	      kw(first, "with") || kw(first, "values"))) {
		refuse(&w, "only SELECT, INSERT, UPDATE, DELETE, WITH and VALUES statements go through the store");
		goto done;
	}
	w.stack = calloc(MAX_DEPTH, sizeof(*w.stack));
	if (!w.stack) {
		refuse(&w, "out of memory");
		goto done;
	}
	if (collect_ctes(&w) < 0 || walk(&w) < 0)
		goto done;
	if (max_param)
		*max_param = w.max_param;
	rc = 0;
done:
	free(w.stack);
	free(w.t);
	return rc;
}
