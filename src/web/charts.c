#include "web/charts.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tmpl/tmpl.h"

#define LINE_W 600.0
#define LINE_H 220.0
#define PLOT_L 48.0
#define PLOT_R 592.0
#define PLOT_T 12.0
#define PLOT_B 176.0

#define BAR_W 600.0
#define BAR_ROW 26.0
#define BAR_LABEL_W 190.0
#define BAR_VALUE_W 70.0
#define STACK_W 360.0 /* narrow: the stack sits in a half-width panel */

static int id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0 || n > 32)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return 1;
}

static int values_ok(const double *v, size_t n)
{
	if (!v)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(v[i]) || v[i] < 0)
			return 0;
	return 1;
}

/* A number as short text: integers without decimals, others with one. */
static void num_text(double v, char *out, size_t outlen)
{
	if (fabs(v - round(v)) < 1e-9 && fabs(v) < 1e15)
		snprintf(out, outlen, "%.0f", v);
	else
		snprintf(out, outlen, "%.1f", v);
}

double chart_nice_max(double m)
{
	if (!isfinite(m) || m <= 1)
		return 1;
	double p = pow(10, floor(log10(m)));
	static const double steps[] = {1, 2, 5, 10};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (steps[i] * p >= m - 1e-9)
			return steps[i] * p;
	return 10 * p;
}

/* Opens <svg> with its viewBox, role and labels, and writes <title> and <desc>. */
static void open_root(struct tmpl_svg *s, const char *id, const char *title, const char *desc, double w,
                      double h, const char *cls)
{
	char vb[64], t_id[40], d_id[40], both[84];
	snprintf(vb, sizeof(vb), "0 0 %.0f %.0f", w, h);
	snprintf(t_id, sizeof(t_id), "%s-t", id);
	snprintf(d_id, sizeof(d_id), "%s-d", id);
	snprintf(both, sizeof(both), "%s %s", t_id, d_id);
	tmpl_svg_open(s, "svg");
	tmpl_svg_attr(s, "viewBox", vb);
	tmpl_svg_attr(s, "class", cls);
	tmpl_svg_attr(s, "role", "img");
	tmpl_svg_attr(s, "aria-labelledby", both);
	tmpl_svg_attr(s, "preserveAspectRatio", "xMinYMin meet");
	tmpl_svg_open(s, "title");
	tmpl_svg_attr(s, "id", t_id);
	tmpl_svg_text(s, title, strlen(title));
	tmpl_svg_close(s);
	tmpl_svg_open(s, "desc");
	tmpl_svg_attr(s, "id", d_id);
	tmpl_svg_text(s, desc, strlen(desc));
	tmpl_svg_close(s);
}

static void text_at(struct tmpl_svg *s, double x, double y, const char *anchor, const char *cls,
                    const char *t)
{
	tmpl_svg_open(s, "text");
	tmpl_svg_attr_num(s, "x", x);
	tmpl_svg_attr_num(s, "y", y);
	if (anchor)
		tmpl_svg_attr(s, "text-anchor", anchor);
	tmpl_svg_attr(s, "class", cls);
	tmpl_svg_text(s, t, strlen(t));
	tmpl_svg_close(s);
}

static void rect(struct tmpl_svg *s, double x, double y, double w, double h, const char *cls)
{
	tmpl_svg_open(s, "rect");
	tmpl_svg_attr_num(s, "x", x);
	tmpl_svg_attr_num(s, "y", y);
	tmpl_svg_attr_num(s, "width", w < 0 ? 0 : w);
	tmpl_svg_attr_num(s, "height", h < 0 ? 0 : h);
	tmpl_svg_attr(s, "class", cls);
	tmpl_svg_close(s);
}

static void hline(struct tmpl_svg *s, double x1, double x2, double y, const char *cls)
{
	tmpl_svg_open(s, "line");
	tmpl_svg_attr_num(s, "x1", x1);
	tmpl_svg_attr_num(s, "x2", x2);
	tmpl_svg_attr_num(s, "y1", y);
	tmpl_svg_attr_num(s, "y2", y);
	tmpl_svg_attr(s, "class", cls);
	tmpl_svg_close(s);
}

json_t *chart_line(const struct chart_line_spec *c)
{
	if (!c || !id_ok(c->id) || !c->title || !c->desc || !c->x_first || !c->x_last || c->n == 0 ||
	    c->n > CHART_MAX_POINTS || !values_ok(c->values, c->n))
		return NULL;
	if (c->has_band && (!c->band_label || !isfinite(c->band_lo) || !isfinite(c->band_hi) ||
	                    c->band_lo < 0 || c->band_hi < c->band_lo))
		return NULL;
	double m = 0;
	for (size_t i = 0; i < c->n; i++)
		if (c->values[i] > m)
			m = c->values[i];
	if (c->has_band && c->band_hi > m)
		m = c->band_hi;
	double top = chart_nice_max(m);
	double pw = PLOT_R - PLOT_L, ph = PLOT_B - PLOT_T;
#define YOF(v) (PLOT_B - (v) / top * ph)
#define XOF(i) (c->n == 1 ? PLOT_L + pw / 2 : PLOT_L + (double)(i)*pw / (double)(c->n - 1))
	struct tmpl_svg *s = tmpl_svg_new();
	if (!s)
		return NULL;
	open_root(s, c->id, c->title, c->desc, LINE_W, LINE_H, "chart chart-line");
	char t[48];
	/* axis: grid at 0, half and top, labelled at 0 and top */
	hline(s, PLOT_L, PLOT_R, YOF(0), "chart-axis");
	hline(s, PLOT_L, PLOT_R, YOF(top / 2), "chart-grid");
	hline(s, PLOT_L, PLOT_R, YOF(top), "chart-grid");
	text_at(s, PLOT_L - 6, YOF(0) + 4, "end", "chart-label", "0");
	num_text(top, t, sizeof(t));
	text_at(s, PLOT_L - 6, YOF(top) + 4, "end", "chart-label", t);
	if (c->has_band) {
		double y1 = YOF(c->band_hi), y2 = YOF(c->band_lo);
		if (y2 - y1 < 2) { /* a band of one value still shows as a thin strip */
			y1 -= 1;
			y2 += 1;
		}
		rect(s, PLOT_L, y1, pw, y2 - y1, "chart-band");
	}
	/* the area under the line, then the line */
	double xy[2 * (CHART_MAX_POINTS + 2)];
	size_t k = 0;
	xy[k++] = XOF(0);
	xy[k++] = YOF(0);
	for (size_t i = 0; i < c->n; i++) {
		xy[k++] = XOF(i);
		xy[k++] = YOF(c->values[i]);
	}
	xy[k++] = XOF(c->n - 1);
	xy[k++] = YOF(0);
	tmpl_svg_open(s, "polygon");
	tmpl_svg_attr_points(s, "points", xy, k / 2);
	tmpl_svg_attr(s, "class", "chart-area");
	tmpl_svg_close(s);
	tmpl_svg_open(s, "polyline");
	tmpl_svg_attr_points(s, "points", xy + 2, c->n);
	tmpl_svg_attr(s, "class", "chart-stroke");
	tmpl_svg_attr(s, "fill", "none");
	tmpl_svg_close(s);
	if (c->n == 1) {
		tmpl_svg_open(s, "circle");
		tmpl_svg_attr_num(s, "cx", XOF(0));
		tmpl_svg_attr_num(s, "cy", YOF(c->values[0]));
		tmpl_svg_attr_num(s, "r", 3);
		tmpl_svg_attr(s, "class", "chart-dot");
		tmpl_svg_close(s);
	}
	/* x labels, last value, legend */
	text_at(s, PLOT_L, PLOT_B + 16, "start", "chart-label", c->x_first);
	text_at(s, PLOT_R, PLOT_B + 16, "end", "chart-label", c->x_last);
	char legend[160];
	num_text(c->values[c->n - 1], t, sizeof(t));
	if (c->has_band) {
		char lo[32], hi[32];
		num_text(c->band_lo, lo, sizeof(lo));
		num_text(c->band_hi, hi, sizeof(hi));
		snprintf(legend, sizeof(legend), "Latest: %s. Shaded: %s (%s to %s).", t, c->band_label, lo,
		         hi);
	} else {
		snprintf(legend, sizeof(legend), "Latest: %s.", t);
	}
	text_at(s, PLOT_L, LINE_H - 6, "start", "chart-label", legend);
	tmpl_svg_close(s);
#undef YOF
#undef XOF
	return tmpl_svg_finish(s);
}

json_t *chart_bars(const char *id, const char *title, const char *desc, const char *const *labels,
                   const double *values, size_t n)
{
	if (!id_ok(id) || !title || !desc || !labels || n == 0 || n > CHART_MAX_POINTS ||
	    !values_ok(values, n))
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!labels[i])
			return NULL;
	double m = 0;
	for (size_t i = 0; i < n; i++)
		if (values[i] > m)
			m = values[i];
	double h = (double)n * BAR_ROW + 4;
	double span = BAR_W - BAR_LABEL_W - BAR_VALUE_W;
	struct tmpl_svg *s = tmpl_svg_new();
	if (!s)
		return NULL;
	open_root(s, id, title, desc, BAR_W, h, "chart chart-bars");
	char t[48];
	for (size_t i = 0; i < n; i++) {
		double y = (double)i * BAR_ROW + 2;
		double w = m > 0 ? values[i] / m * span : 0;
		text_at(s, BAR_LABEL_W - 8, y + 16, "end", "chart-label", labels[i]);
		rect(s, BAR_LABEL_W, y + 3, w, BAR_ROW - 8, "chart-bar");
		num_text(values[i], t, sizeof(t));
		text_at(s, BAR_LABEL_W + w + 6, y + 16, "start", "chart-label", t);
	}
	tmpl_svg_close(s);
	return tmpl_svg_finish(s);
}

json_t *chart_stack(const char *id, const char *title, const char *desc, const char *const *labels,
                    const char *const *classes, const double *values, size_t n)
{
	if (!id_ok(id) || !title || !desc || !labels || !classes || n == 0 || n > 8 || !values_ok(values, n))
		return NULL;
	double total = 0;
	for (size_t i = 0; i < n; i++) {
		if (!labels[i] || !classes[i] || !id_ok(classes[i]))
			return NULL;
		total += values[i];
	}
	double w = STACK_W, bar_h = 24, h = bar_h + 8 + 22;
	struct tmpl_svg *s = tmpl_svg_new();
	if (!s)
		return NULL;
	open_root(s, id, title, desc, w, h, "chart chart-stack");
	rect(s, 0, 0, w, bar_h, "chart-track");
	double x = 0;
	char cls[48], t[48], legend[96];
	for (size_t i = 0; i < n && total > 0; i++) {
		double seg = values[i] / total * w;
		snprintf(cls, sizeof(cls), "chart-seg %s", classes[i]);
		rect(s, x, 0, seg, bar_h, cls);
		x += seg;
	}
	/* legend: one text per segment, spread evenly */
	double step = w / (double)n;
	for (size_t i = 0; i < n; i++) {
		num_text(values[i], t, sizeof(t));
		snprintf(legend, sizeof(legend), "%s %s", labels[i], t);
		snprintf(cls, sizeof(cls), "chart-key %s", classes[i]);
		rect(s, (double)i * step, bar_h + 12, 10, 10, cls);
		text_at(s, (double)i * step + 14, bar_h + 21, "start", "chart-label", legend);
	}
	tmpl_svg_close(s);
	return tmpl_svg_finish(s);
}

json_t *chart_progress(const char *id, const char *title, int done, int needed, const char *unit)
{
	if (!id_ok(id) || !title || !unit || needed < 1)
		return NULL;
	if (done < 0)
		done = 0;
	if (done > needed)
		done = needed;
	char text[96];
	snprintf(text, sizeof(text), "%d of %d %s", done, needed, unit);
	struct tmpl_svg *s = tmpl_svg_new();
	if (!s)
		return NULL;
	double w = 400, bar_h = 20;
	open_root(s, id, title, text, w, bar_h + 24, "chart chart-progress");
	rect(s, 0, 0, w, bar_h, "chart-track");
	rect(s, 0, 0, w * done / needed, bar_h, "chart-fill");
	text_at(s, 0, bar_h + 18, "start", "chart-label", text);
	tmpl_svg_close(s);
	return tmpl_svg_finish(s);
}
