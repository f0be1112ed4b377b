/* Unit tests of src/web/charts.c: each chart is a trusted SVG fragment with its title,
 * description and numbers as text; user text is escaped; bad arguments give NULL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl/tmpl.h"
#include "web/charts.h"

/* The markup of fragment v as a NUL-terminated copy (caller frees). */
static char *markup(json_t *v)
{
	assert_non_null(v);
	assert_true(tmpl_is_trusted(v));
	size_t n = 0;
	const char *p = tmpl_trusted_html(v, &n);
	assert_non_null(p);
	char *out = malloc(n + 1);
	assert_non_null(out);
	memcpy(out, p, n);
	out[n] = '\0';
	return out;
}

static size_t count(const char *hay, const char *needle)
{
	size_t k = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		k++;
	return k;
}

static void test_nice_max(void **state)
{
	(void)state;
	assert_true(chart_nice_max(0) == 1);
	assert_true(chart_nice_max(-5) == 1);
	assert_true(chart_nice_max(NAN) == 1);
	assert_true(chart_nice_max(1) == 1);
	assert_true(chart_nice_max(1.5) == 2);
	assert_true(chart_nice_max(3) == 5);
	assert_true(chart_nice_max(7) == 10);
	assert_true(chart_nice_max(10) == 10);
	assert_true(chart_nice_max(11) == 20);
	assert_true(chart_nice_max(4999) == 5000);
	assert_true(chart_nice_max(5001) == 10000);
}

static void test_line_with_band(void **state)
{
	(void)state;
	double v[5] = {0, 10, 20, 5, 15};
	struct chart_line_spec c = {.id = "act",
	                            .title = "Activity <script>alert(1)</script>",
	                            .desc = "Daily events \"><img src=x onerror=alert(1)>",
	                            .values = v,
	                            .n = 5,
	                            .x_first = "2026-10-01",
	                            .x_last = "2026-11-04",
	                            .has_band = 1,
	                            .band_lo = 8,
	                            .band_hi = 12,
	                            .band_label = "usual range"};
	json_t *f = chart_line(&c);
	char *m = markup(f);
	assert_non_null(strstr(m, "<svg"));
	assert_non_null(strstr(m, "role=\"img\""));
	assert_non_null(strstr(m, "aria-labelledby=\"act-t act-d\""));
	assert_non_null(
	    strstr(m, "<title id=\"act-t\">Activity &lt;script&gt;alert(1)&lt;/script&gt;</title>"));
	assert_non_null(strstr(m, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
	assert_null(strstr(m, "<script"));
	assert_null(strstr(m, "<img"));
	assert_null(strstr(m, "style="));
	assert_int_equal(count(m, "class=\"chart-band\""), 1);
	assert_int_equal(count(m, "<polyline"), 1);
	assert_int_equal(count(m, "<polygon"), 1);
	assert_non_null(strstr(m, ">2026-10-01</text>"));
	assert_non_null(strstr(m, ">2026-11-04</text>"));
	/* the y axis tops at the rounded maximum (20), the legend names the band */
	assert_non_null(strstr(m, ">20</text>"));
	assert_non_null(strstr(m, "Latest: 15. Shaded: usual range (8 to 12)."));
	/* the polyline has 5 points; the first at x=48 (plot left), y at the bottom (176) */
	const char *pl = strstr(m, "<polyline points=\"");
	assert_non_null(pl);
	assert_int_equal(strncmp(pl + 18, "48,176 ", 7), 0);
	free(m);
	json_decref(f);

	/* one value: a dot; no band */
	double one = 3;
	struct chart_line_spec d = {
	    .id = "x1", .title = "t", .desc = "d", .values = &one, .n = 1, .x_first = "a", .x_last = "b"};
	f = chart_line(&d);
	m = markup(f);
	assert_int_equal(count(m, "<circle"), 1);
	assert_int_equal(count(m, "chart-band"), 0);
	free(m);
	json_decref(f);
}

static void test_line_refuses(void **state)
{
	(void)state;
	double v[2] = {1, 2}, bad[2] = {1, NAN}, neg[2] = {1, -1};
	struct chart_line_spec c = {
	    .id = "ok", .title = "t", .desc = "d", .values = v, .n = 2, .x_first = "a", .x_last = "b"};
	json_t *f = chart_line(&c);
	assert_non_null(f);
	json_decref(f);
	struct chart_line_spec e = c;
	e.id = "Bad Id";
	assert_null(chart_line(&e));
	e = c;
	e.id = "\"><x";
	assert_null(chart_line(&e));
	e = c;
	e.values = bad;
	assert_null(chart_line(&e));
	e = c;
	e.values = neg;
	assert_null(chart_line(&e));
	e = c;
	e.n = 0;
	assert_null(chart_line(&e));
	e = c;
	e.n = CHART_MAX_POINTS + 1;
	assert_null(chart_line(&e));
	e = c;
	e.has_band = 1; /* no label */
	assert_null(chart_line(&e));
	e.band_label = "b";
	e.band_lo = 5;
	e.band_hi = 4;
	assert_null(chart_line(&e));
	e = c;
	e.title = NULL;
	assert_null(chart_line(&e));
	assert_null(chart_line(NULL));
}

static void test_bars(void **state)
{
	(void)state;
	const char *labels[3] = {"Usage dropped", "Gone <b>quiet</b>", "Cancel intent"};
	double v[3] = {4, 0, 2};
	json_t *f = chart_bars("kinds", "Open signals by kind", "Counts", labels, v, 3);
	char *m = markup(f);
	assert_int_equal(count(m, "class=\"chart-bar\""), 3);
	assert_non_null(strstr(m, ">Gone &lt;b&gt;quiet&lt;/b&gt;</text>"));
	assert_non_null(strstr(m, ">4</text>"));
	assert_non_null(strstr(m, ">0</text>"));
	/* the largest value spans the full width (600 - 190 - 70 = 340); the zero bar is 0 */
	assert_non_null(strstr(m, "width=\"340\""));
	assert_non_null(strstr(m, "width=\"170\""));
	assert_non_null(strstr(m, "width=\"0\""));
	free(m);
	json_decref(f);
	const char *nul[1] = {NULL};
	assert_null(chart_bars("k", "t", "d", nul, v, 1));
	assert_null(chart_bars("k", "t", "d", labels, v, 0));
}

static void test_stack(void **state)
{
	(void)state;
	const char *labels[3] = {"Healthy", "Watch", "At risk"};
	const char *classes[3] = {"band-healthy", "band-watch", "band-at-risk"};
	double v[3] = {6, 3, 1};
	json_t *f =
	    chart_stack("bands", "Health bands", "6 healthy, 3 watch, 1 at risk", labels, classes, v, 3);
	char *m = markup(f);
	assert_non_null(strstr(m, "class=\"chart-seg band-healthy\""));
	/* 6, 3 and 1 of 10 over the 360 units of the bar */
	assert_non_null(strstr(m, "width=\"216\""));
	assert_non_null(strstr(m, "width=\"108\""));
	assert_non_null(strstr(m, "width=\"36\""));
	assert_non_null(strstr(m, ">At risk 1</text>"));
	free(m);
	json_decref(f);
	double z[3] = {0, 0, 0};
	f = chart_stack("bands", "t", "d", labels, classes, z, 3);
	m = markup(f);
	assert_int_equal(count(m, "chart-seg"), 0);
	assert_non_null(strstr(m, ">Healthy 0</text>"));
	free(m);
	json_decref(f);
	const char *badcls[3] = {"band healthy", "w", "r"};
	assert_null(chart_stack("bands", "t", "d", labels, badcls, v, 3));
}

static void test_progress(void **state)
{
	(void)state;
	json_t *f = chart_progress("learn", "Learning", 3, 7, "days");
	char *m = markup(f);
	assert_non_null(strstr(m, ">3 of 7 days</text>"));
	assert_non_null(strstr(m, "<desc id=\"learn-d\">3 of 7 days</desc>"));
	/* 3/7 of 400 */
	assert_non_null(strstr(m, "width=\"171.429\""));
	free(m);
	json_decref(f);
	f = chart_progress("learn", "Learning", 12, 7, "days");
	m = markup(f);
	assert_non_null(strstr(m, ">7 of 7 days</text>"));
	free(m);
	json_decref(f);
	assert_null(chart_progress("learn", "t", 1, 0, "days"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nice_max),     cmocka_unit_test(test_line_with_band),
	    cmocka_unit_test(test_line_refuses), cmocka_unit_test(test_bars),
	    cmocka_unit_test(test_stack),        cmocka_unit_test(test_progress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
