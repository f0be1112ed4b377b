/* Inline SVG charts for the dashboard (PRODUCT §12): built only through the trusted
 * fragment builder tmpl_svg_* (src/tmpl/tmpl.h), so a chart is a template value whose
 * every text and attribute is escaped. No chart library, no script, no style=: colours
 * come from classes styled in static/app.css ("chart-*").
 *
 * Every chart is an <svg role="img"> labelled by its own <title> and <desc> (ids
 * "<id>-t" and "<id>-d"), and carries its numbers as visible <text> labels, so it reads
 * without colour and without the picture. All functions return a new trusted fragment
 * (a reference for a template variable), or NULL on bad arguments (an id that is not
 * 1..32 bytes of [a-z0-9-], a NULL text, a non-finite number) or out of memory. */
#ifndef DROPFIX_CHARTS_H
#define DROPFIX_CHARTS_H

#include <jansson.h>
#include <stddef.h>

#define CHART_MAX_POINTS 400 /* values in a line chart or rows of a bar chart */

/* A line with the area under it over n (1..CHART_MAX_POINTS) values >= 0, drawn left to
 * right; x_first / x_last label the two ends of the x axis (e.g. dates). With has_band
 * a band from band_lo to band_hi (a baseline) is drawn behind the line and named by
 * band_label in a legend text. The y axis runs from 0 to a rounded maximum of the data
 * and the band, labelled at 0 and at the top. */
struct chart_line_spec {
	const char *id;
	const char *title;
	const char *desc;
	const double *values;
	size_t n;
	const char *x_first;
	const char *x_last;
	int has_band;
	double band_lo;
	double band_hi;
	const char *band_label; /* may be NULL when !has_band */
};
json_t *chart_line(const struct chart_line_spec *s) __attribute__((warn_unused_result));

/* Horizontal bars: one row per label (n 1..CHART_MAX_POINTS) with its value >= 0 as a
 * bar scaled to the largest value and as text at the bar's end. */
json_t *chart_bars(const char *id, const char *title, const char *desc, const char *const *labels,
                   const double *values, size_t n) __attribute__((warn_unused_result));

/* One bar split into n (1..8) segments proportional to values >= 0, segment i with
 * class classes[i] (each [a-z0-9-]+), and a legend line "label value" per segment
 * under it. All zero: an empty track. */
json_t *chart_stack(const char *id, const char *title, const char *desc, const char *const *labels,
                    const char *const *classes, const double *values, size_t n)
    __attribute__((warn_unused_result));

/* A progress bar: done of needed (needed >= 1; done clamped to 0..needed), with the
 * text "<done> of <needed> <unit>". */
json_t *chart_progress(const char *id, const char *title, int done, int needed, const char *unit)
    __attribute__((warn_unused_result));

/* The rounded axis top for a maximum m: the smallest of 1, 2, 5 × 10^k that is >= m
 * (at least 1). */
double chart_nice_max(double m);

#endif
