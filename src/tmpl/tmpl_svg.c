/* The SVG builder of the template engine (see tmpl.h: tmpl_svg_*): builds an SVG element
 * tree from allow-listed elements and attributes into a trusted fragment. */
#include "tmpl/tmpl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "tmpl/tmpl_int.h"

#define SVG_DEPTH_MAX 32

/* ---- SVG builder ------------------------------------------------------------------- */

static const char *const svg_elements[] = {
    "svg",  "g",      "defs",    "title", "desc",  "line",           "polyline", "polygon",  "path",
    "rect", "circle", "ellipse", "text",  "tspan", "linearGradient", "stop",     "clipPath",
};

static const char *const svg_attributes[] = {
    "viewBox",
    "width",
    "height",
    "x",
    "y",
    "x1",
    "y1",
    "x2",
    "y2",
    "cx",
    "cy",
    "r",
    "rx",
    "ry",
    "dx",
    "dy",
    "d",
    "points",
    "fill",
    "fill-opacity",
    "fill-rule",
    "stroke",
    "stroke-width",
    "stroke-opacity",
    "stroke-linecap",
    "stroke-linejoin",
    "stroke-dasharray",
    "opacity",
    "transform",
    "class",
    "id",
    "role",
    "aria-label",
    "aria-hidden",
    "aria-labelledby",
    "focusable",
    "text-anchor",
    "dominant-baseline",
    "font-size",
    "font-weight",
    "preserveAspectRatio",
    "shape-rendering",
    "vector-effect",
    "offset",
    "stop-color",
    "stop-opacity",
    "gradientUnits",
    "gradientTransform",
    "clip-path",
    "clipPathUnits",
};

struct tmpl_svg {
	struct buf b;
	const char *stack[SVG_DEPTH_MAX];
	unsigned depth;
	int start_open; /* the innermost start tag still takes attributes */
	int roots;
	int failed;
};

/* Returns the allow-listed spelling of name, or NULL. */
static const char *allowed(const char *const *list, size_t n, const char *name)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(list[i], name) == 0)
			return list[i];
	return NULL;
}

static int svg_fail(struct tmpl_svg *s)
{
	if (s)
		s->failed = 1;
	return -1;
}

struct tmpl_svg *tmpl_svg_new(void)
{
	struct tmpl_svg *s = calloc(1, sizeof(*s));
	if (s)
		buf_init(&s->b, LIMIT_TMPL_OUTPUT);
	return s;
}

static void svg_end_start_tag(struct tmpl_svg *s)
{
	if (s->start_open)
		buf_putc(&s->b, '>');
	s->start_open = 0;
}

int tmpl_svg_open(struct tmpl_svg *s, const char *el)
{
	if (!s || s->failed)
		return svg_fail(s);
	const char *name = allowed(svg_elements, sizeof(svg_elements) / sizeof(svg_elements[0]), el);
	if (!name || s->depth == SVG_DEPTH_MAX || (s->depth == 0 && (s->roots || strcmp(name, "svg") != 0)))
		return svg_fail(s);
	svg_end_start_tag(s);
	buf_putc(&s->b, '<');
	buf_puts(&s->b, name);
	if (s->depth == 0) {
		buf_puts(&s->b, " xmlns=\"http://www.w3.org/2000/svg\"");
		s->roots++;
	}
	s->stack[s->depth++] = name;
	s->start_open = 1;
	return s->b.oom ? svg_fail(s) : 0;
}

/* 1 when value may be written: no backslash (CSS escapes), and `url(` only as url(#id). */
static int svg_value_ok(const char *v)
{
	if (strchr(v, '\\'))
		return 0;
	if (!strcasestr(v, "url("))
		return 1;
	size_t n = strlen(v);
	if (n < 7 || strncmp(v, "url(#", 5) != 0 || v[n - 1] != ')')
		return 0;
	return tmpl_valid_simple_name(v + 5, n - 6);
}

static int svg_attr_begin(struct tmpl_svg *s, const char *name)
{
	if (!s || s->failed || !s->start_open)
		return svg_fail(s);
	const char *a = allowed(svg_attributes, sizeof(svg_attributes) / sizeof(svg_attributes[0]), name);
	if (!a)
		return svg_fail(s);
	buf_putc(&s->b, ' ');
	buf_puts(&s->b, a);
	buf_puts(&s->b, "=\"");
	return 0;
}

static int svg_attr_end(struct tmpl_svg *s)
{
	buf_putc(&s->b, '"');
	return s->b.oom ? svg_fail(s) : 0;
}

int tmpl_svg_attr(struct tmpl_svg *s, const char *name, const char *value)
{
	if (!value || !svg_value_ok(value))
		return svg_fail(s);
	if (svg_attr_begin(s, name) < 0)
		return -1;
	tmpl_put_escaped_utf8(&s->b, value, strlen(value));
	return svg_attr_end(s);
}

/* Writes v with at most 3 decimals, trailing zeros trimmed; -1 when v is not finite. */
static int svg_put_num(struct buf *b, double v)
{
	char num[64];
	if (!isfinite(v) || fabs(v) > 1e15)
		return -1;
	int len = snprintf(num, sizeof(num), "%.3f", v);
	if (len <= 0 || (size_t)len >= sizeof(num))
		return -1;
	while (len > 0 && num[len - 1] == '0')
		len--;
	if (len > 0 && num[len - 1] == '.')
		len--;
	num[len] = '\0';
	buf_puts(b, strcmp(num, "-0") == 0 ? "0" : num);
	return 0;
}

int tmpl_svg_attr_num(struct tmpl_svg *s, const char *name, double v)
{
	if (!isfinite(v) || fabs(v) > 1e15)
		return svg_fail(s);
	if (svg_attr_begin(s, name) < 0)
		return -1;
	svg_put_num(&s->b, v);
	return svg_attr_end(s);
}

int tmpl_svg_attr_points(struct tmpl_svg *s, const char *name, const double *xy, size_t n_pairs)
{
	for (size_t i = 0; i < 2 * n_pairs; i++)
		if (!isfinite(xy[i]) || fabs(xy[i]) > 1e15)
			return svg_fail(s);
	if (svg_attr_begin(s, name) < 0)
		return -1;
	for (size_t i = 0; i < n_pairs; i++) {
		if (i)
			buf_putc(&s->b, ' ');
		svg_put_num(&s->b, xy[2 * i]);
		buf_putc(&s->b, ',');
		svg_put_num(&s->b, xy[2 * i + 1]);
	}
	return svg_attr_end(s);
}

int tmpl_svg_text(struct tmpl_svg *s, const char *text, size_t n)
{
	if (!s || s->failed || s->depth == 0 || (!text && n))
		return svg_fail(s);
	svg_end_start_tag(s);
	tmpl_put_escaped_utf8(&s->b, text, n);
	return s->b.oom ? svg_fail(s) : 0;
}

int tmpl_svg_close(struct tmpl_svg *s)
{
	if (!s || s->failed || s->depth == 0)
		return svg_fail(s);
	const char *name = s->stack[--s->depth];
	if (s->start_open) {
		buf_puts(&s->b, "/>");
		s->start_open = 0;
	} else {
		buf_puts(&s->b, "</");
		buf_puts(&s->b, name);
		buf_putc(&s->b, '>');
	}
	return s->b.oom ? svg_fail(s) : 0;
}

json_t *tmpl_svg_finish(struct tmpl_svg *s)
{
	json_t *frag = NULL;
	if (s && !s->failed && !s->b.oom && s->depth == 0 && s->roots == 1)
		frag = tmpl_trusted_new(s->b.p, s->b.n);
	tmpl_svg_free(s);
	return frag;
}

void tmpl_svg_free(struct tmpl_svg *s)
{
	if (!s)
		return;
	buf_free(&s->b);
	free(s);
}
