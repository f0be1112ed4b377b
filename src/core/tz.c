#include "core/tz.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define TZ_FILE_MAX (4 * 1024 * 1024) /* tzdata.zi is ~110 KiB */

static const struct {
	const char *path;
	int kind; /* 0 tzdata.zi, 1 zone*.tab */
} tz_files[] = {
    {"/usr/share/zoneinfo/tzdata.zi", 0},
    {"/usr/share/zoneinfo/zone1970.tab", 1},
    {"/usr/share/zoneinfo/zone.tab", 1},
};

static pthread_once_t tz_once = PTHREAD_ONCE_INIT;
static struct tz_list tz_sys;
static const char *tz_src = "";

int tz_name_shape_ok(const char *s, size_t n)
{
	if (!s || n == 0 || n > TZ_NAME_MAX || s[0] == '/' || s[n - 1] == '/')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		         c == '/' || c == '_' || c == '+' || c == '-';
		if (!ok)
			return 0;
		if (c == '/' && s[i + 1] == '/') /* i + 1 < n: the last byte is not '/' */
			return 0;
	}
	return 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct vec {
	char **v;
	size_t n, cap;
};

static int vec_push(struct vec *v, const char *s, size_t n)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 256;
		char **nv = realloc(v->v, cap * sizeof(*nv));
		if (!nv)
			return -1;
		v->v = nv;
		v->cap = cap;
	}
	char *c = malloc(n + 1);
	if (!c)
		return -1;
	memcpy(c, s, n);
	c[n] = '\0';
	v->v[v->n++] = c;
	return 0;
}

/* Sorts and removes duplicates. */
static void vec_finish(struct vec *v)
{
	if (v->n == 0)
		return;
	qsort(v->v, v->n, sizeof(*v->v), cmp_str);
	size_t w = 1;
	for (size_t i = 1; i < v->n; i++) {
		if (strcmp(v->v[i], v->v[w - 1]) == 0)
			free(v->v[i]);
		else
			v->v[w++] = v->v[i];
	}
	v->n = w;
}

static void vec_free(struct vec *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	memset(v, 0, sizeof(*v));
}

/* The idx-th whitespace-separated field of line[0..n) (0-based). */
static int field(const char *line, size_t n, int idx, const char **f, size_t *fn)
{
	size_t i = 0;
	for (int k = 0;; k++) {
		while (i < n && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i >= n)
			return -1;
		size_t start = i;
		while (i < n && line[i] != ' ' && line[i] != '\t')
			i++;
		if (k == idx) {
			*f = line + start;
			*fn = i - start;
			return 0;
		}
	}
}

int tz_list_parse(const char *p, size_t n, int kind, struct tz_list *out)
{
	struct vec all = {0}, canon = {0};
	memset(out, 0, sizeof(*out));
	size_t i = 0;
	while (i < n) {
		const char *line = p + i;
		const char *nl = memchr(line, '\n', n - i);
		size_t ln = nl ? (size_t)(nl - line) : n - i;
		i += ln + 1;
		if (ln && line[ln - 1] == '\r')
			ln--;
		if (ln == 0 || line[0] == '#')
			continue;
		const char *f;
		size_t fn;
		int is_canon = 0;
		if (kind == 0) {
			if (ln < 2 || line[1] != ' ' || (line[0] != 'Z' && line[0] != 'L'))
				continue;
			is_canon = line[0] == 'Z';
			if (field(line, ln, is_canon ? 1 : 2, &f, &fn) < 0)
				continue;
		} else {
			if (field(line, ln, 2, &f, &fn) < 0)
				continue;
			is_canon = 1;
		}
		if (!tz_name_shape_ok(f, fn))
			continue;
		if (vec_push(&all, f, fn) < 0 || (is_canon && vec_push(&canon, f, fn) < 0))
			goto oom;
	}
	if (vec_push(&all, "UTC", 3) < 0 || vec_push(&canon, "UTC", 3) < 0)
		goto oom;
	vec_finish(&all);
	vec_finish(&canon);
	out->all = all.v;
	out->n_all = all.n;
	out->canon = canon.v;
	out->n_canon = canon.n;
	return 0;
oom:
	vec_free(&all);
	vec_free(&canon);
	return -1;
}

int tz_list_has(const struct tz_list *l, const char *s, size_t n)
{
	if (!l->n_all || n > TZ_NAME_MAX)
		return 0;
	char key[TZ_NAME_MAX + 1];
	memcpy(key, s, n);
	key[n] = '\0';
	const char *k = key;
	return bsearch(&k, l->all, l->n_all, sizeof(*l->all), cmp_str) != NULL;
}

void tz_list_free(struct tz_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_all; i++)
		free(l->all[i]);
	for (size_t i = 0; i < l->n_canon; i++)
		free(l->canon[i]);
	free(l->all);
	free(l->canon);
	memset(l, 0, sizeof(*l));
}

/* Reads a whole file of at most TZ_FILE_MAX bytes. Returns a malloc'ed buffer or NULL. */
static char *read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(TZ_FILE_MAX);
	size_t got = buf ? fread(buf, 1, TZ_FILE_MAX, f) : 0;
	int too_big = got == TZ_FILE_MAX;
	fclose(f);
	if (!buf || too_big || got == 0) {
		free(buf);
		return NULL;
	}
	*n = got;
	return buf;
}

static void tz_load(void)
{
	for (size_t i = 0; i < sizeof(tz_files) / sizeof(tz_files[0]); i++) {
		size_t n = 0;
		char *text = read_file(tz_files[i].path, &n);
		if (!text)
			continue;
		struct tz_list l;
		int rc = tz_list_parse(text, n, tz_files[i].kind, &l);
		free(text);
		if (rc == 0 && l.n_all > 1) {
			tz_sys = l;
			tz_src = tz_files[i].path;
			return;
		}
		if (rc == 0)
			tz_list_free(&l);
	}
	log_msg(LOG_WARN,
	        "no time zone list found under /usr/share/zoneinfo (install tzdata): only UTC is accepted");
	static char utc[] = "UTC";
	static char *one[] = {utc};
	tz_sys.all = one;
	tz_sys.n_all = 1;
	tz_sys.canon = one;
	tz_sys.n_canon = 1;
}

int tz_valid(const char *s, size_t n)
{
	if (!tz_name_shape_ok(s, n))
		return 0;
	pthread_once(&tz_once, tz_load);
	return tz_list_has(&tz_sys, s, n);
}

size_t tz_canonical(const char *const **names)
{
	pthread_once(&tz_once, tz_load);
	*names = (const char *const *)tz_sys.canon;
	return tz_sys.n_canon;
}

const char *tz_source(void)
{
	pthread_once(&tz_once, tz_load);
	return tz_src;
}
