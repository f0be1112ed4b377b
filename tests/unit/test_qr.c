/* QR codes as trusted SVG (src/auth/qr.c): the fragment's structure, its module matrix
 * against libqrencode's, the quiet zone, escaping of the label, insertion by the template
 * engine, refusals, and a round trip through an independent decoder (rsvg-convert to PNG,
 * then zbarimg). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/qr.c" /* reaches qr_encode */
#include "auth/totp.h"

#define URI                                                                                                  \
	"otpauth://totp/DropFix:ann%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=DropFix"    \
	"&algorithm=SHA1&digits=6&period=30"
#define LABEL "Scan with your authenticator app"

/* Returns the value of attribute name in the first start tag of element el in html, as a
 * malloc'ed string, or NULL. */
static char *attr_of(const char *html, const char *el, const char *name)
{
	char open[32], key[48];
	snprintf(open, sizeof(open), "<%s ", el);
	snprintf(key, sizeof(key), " %s=\"", name);
	const char *tag = strstr(html, open);
	if (!tag)
		return NULL;
	const char *end = strchr(tag, '>');
	const char *a = strstr(tag, key);
	if (!a || !end || a > end)
		return NULL;
	a += strlen(key);
	const char *q = strchr(a, '"');
	return q ? strndup(a, (size_t)(q - a)) : NULL;
}

/* Parses path data of the form M<x> <y>h<len>v1h-<len>z… into a size×size matrix of
 * dark modules (1) (the renderer's own format; anything else fails the test). */
static void parse_path(const char *d, unsigned char *m, int size)
{
	memset(m, 0, (size_t)size * (size_t)size);
	const char *p = d;
	while (*p) {
		int x, y, len, len2, used = 0;
		if (sscanf(p, "M%d %dh%dv1h-%dz%n", &x, &y, &len, &len2, &used) != 4 || used == 0)
			fail_msg("unexpected path data at: %.40s", p);
		assert_int_equal(len, len2);
		assert_true(len > 0 && x >= 0 && y >= 0 && x + len <= size && y < size);
		for (int k = 0; k < len; k++) {
			assert_int_equal(m[y * size + x + k], 0); /* runs do not overlap */
			m[y * size + x + k] = 1;
		}
		p += used;
	}
}

static void test_structure_and_matrix(void **state)
{
	(void)state;
	json_t *frag = qr_svg(URI, strlen(URI), LABEL);
	assert_non_null(frag);
	assert_true(tmpl_is_trusted(frag));
	size_t n = 0;
	const char *html = tmpl_trusted_html(frag, &n);
	assert_non_null(html);
	assert_int_equal(strlen(html), n);

	/* One svg, one title, one rect, one path. */
	assert_true(strncmp(html, "<svg xmlns=\"http://www.w3.org/2000/svg\" ", 40) == 0);
	assert_string_equal(html + n - 6, "</svg>");
	const char *els[] = {"<svg", "<title>", "<rect ", "<path "};
	for (size_t i = 0; i < sizeof(els) / sizeof(els[0]); i++) {
		const char *first = strstr(html, els[i]);
		assert_non_null(first);
		assert_null(strstr(first + 1, els[i]));
	}
	char *role = attr_of(html, "svg", "role");
	char *aria = attr_of(html, "svg", "aria-label");
	assert_string_equal(role, "img");
	assert_string_equal(aria, LABEL);
	assert_non_null(strstr(html, "<title>" LABEL "</title>"));
	free(role);
	free(aria);

	/* The module matrix is libqrencode's for the same text at level M. */
	QRcode *q = QRcode_encodeString8bit(URI, 0, QR_ECLEVEL_M);
	assert_non_null(q);
	const int w = q->width;
	const int size = w + 2 * QR_QUIET_ZONE;
	char expect[64];
	char *vb = attr_of(html, "svg", "viewBox");
	snprintf(expect, sizeof(expect), "0 0 %d %d", size, size);
	assert_string_equal(vb, expect);
	free(vb);
	char *width = attr_of(html, "svg", "width");
	snprintf(expect, sizeof(expect), "%d", size * QR_MODULE_PX);
	assert_string_equal(width, expect);
	free(width);
	/* The white background covers the whole symbol including the quiet zone. */
	char *rw = attr_of(html, "rect", "width"), *rh = attr_of(html, "rect", "height"),
	     *rf = attr_of(html, "rect", "fill");
	snprintf(expect, sizeof(expect), "%d", size);
	assert_string_equal(rw, expect);
	assert_string_equal(rh, expect);
	assert_string_equal(rf, "#fff");
	free(rw);
	free(rh);
	free(rf);
	char *pf = attr_of(html, "path", "fill");
	assert_string_equal(pf, "#000");
	free(pf);

	char *d = attr_of(html, "path", "d");
	assert_non_null(d);
	for (const char *c = d; *c; c++)
		assert_non_null(strchr("0123456789 Mhvz-", *c));
	unsigned char *m = malloc((size_t)size * (size_t)size);
	assert_non_null(m);
	parse_path(d, m, size);
	int dark = 0;
	for (int y = 0; y < size; y++)
		for (int x = 0; x < size; x++) {
			int in = x >= QR_QUIET_ZONE && x < QR_QUIET_ZONE + w && y >= QR_QUIET_ZONE &&
			         y < QR_QUIET_ZONE + w;
			int want = in ? (q->data[(y - QR_QUIET_ZONE) * w + (x - QR_QUIET_ZONE)] & 1) : 0;
			assert_int_equal(m[y * size + x], want); /* quiet zone is all white */
			dark += m[y * size + x];
		}
	assert_true(dark > w * w / 4); /* not a blank picture */
	/* The three finder patterns: a 7-module dark run on the symbol's first row. */
	assert_non_null(strstr(d, "M4 4h7v1h-7z"));
	free(m);
	free(d);
	QRcode_free(q);
	json_decref(frag);
}

static void test_label_escaped(void **state)
{
	(void)state;
	const char *label = "<script>alert(\"x\")</script> & 'y'";
	json_t *frag = qr_svg("hello", 5, label);
	assert_non_null(frag);
	size_t n;
	const char *html = tmpl_trusted_html(frag, &n);
	assert_null(strstr(html, "<script"));
	assert_non_null(strstr(
	    html, "aria-label=\"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;\""));
	assert_non_null(strstr(
	    html, "<title>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;</title>"));
	json_decref(frag);
}

static void test_template_inserts_fragment(void **state)
{
	(void)state;
	static const char page[] = "<div class=\"enrol\">{{qr}}</div><p>{{key}}</p>";
	struct tmpl_source src = {"enrol", page, sizeof(page) - 1};
	struct tmpl_set *set = NULL;
	char err[256];
	assert_int_equal(tmpl_set_compile(&src, 1, &set, err, sizeof(err)), 0);
	json_t *frag = qr_svg(URI, strlen(URI), LABEL);
	assert_non_null(frag);
	size_t n;
	const char *svg = tmpl_trusted_html(frag, &n);
	json_t *ctx = json_object();
	json_object_set_new(ctx, "qr", frag);
	json_object_set_new(ctx, "key", json_string("GEZD GNBV"));
	struct buf out;
	buf_init(&out, 0);
	assert_int_equal(tmpl_render(set, "enrol", ctx, &out), 0);
	assert_true(strncmp(out.p, "<div class=\"enrol\"><svg ", 24) == 0);
	assert_non_null(strstr(out.p, svg)); /* copied verbatim, not escaped */
	assert_non_null(strstr(out.p, "</svg></div><p>GEZD GNBV</p>"));
	/* A deep copy is just an object: it prints nothing. */
	buf_reset(&out);
	json_object_set_new(ctx, "qr", json_deep_copy(frag));
	assert_int_equal(tmpl_render(set, "enrol", ctx, &out), 0);
	assert_string_equal(out.p, "<div class=\"enrol\"></div><p>GEZD GNBV</p>");
	buf_free(&out);
	json_decref(ctx);
	tmpl_set_free(set);
}

static void test_refused(void **state)
{
	(void)state;
	assert_null(qr_svg(NULL, 0, LABEL));
	assert_null(qr_svg("", 0, LABEL));
	assert_null(qr_svg("abc", 3, ""));
	assert_null(qr_svg("abc", 3, NULL));
	assert_null(qr_svg("a\0c", 3, LABEL)); /* NUL inside */
	char *big = malloc(LIMIT_QR_TEXT + 2);
	assert_non_null(big);
	memset(big, 'a', LIMIT_QR_TEXT + 1);
	big[LIMIT_QR_TEXT + 1] = '\0';
	assert_null(qr_svg(big, LIMIT_QR_TEXT + 1, LABEL));
	/* The largest text still fits: version 40 (177 modules). */
	json_t *frag = qr_svg(big, LIMIT_QR_TEXT, LABEL);
	assert_non_null(frag);
	char *vb = attr_of(tmpl_trusted_html(frag, &(size_t){0}), "svg", "viewBox");
	assert_string_equal(vb, "0 0 185 185");
	free(vb);
	json_decref(frag);
	free(big);
}

/* Runs cmd and returns its first output line (malloc'ed, without newline) or NULL. */
static char *run_line(const char *cmd, int *status)
{
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char line[4096] = "";
	char *got = fgets(line, sizeof(line), p);
	char rest[256];
	while (fgets(rest, sizeof(rest), p))
		;
	*status = pclose(p);
	if (!got)
		return NULL;
	line[strcspn(line, "\n")] = '\0';
	return strdup(line);
}

/* Renders the SVG to PNG with librsvg and reads it back with zbar: an independent decoder
 * must get the exact text back. */
static void roundtrip(const char *text)
{
	json_t *frag = qr_svg(text, strlen(text), LABEL);
	assert_non_null(frag);
	size_t n;
	const char *svg = tmpl_trusted_html(frag, &n);
	char dir[] = "/tmp/dropfix-qr-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char svg_path[64], png_path[64], cmd[512];
	snprintf(svg_path, sizeof(svg_path), "%s/q.svg", dir);
	snprintf(png_path, sizeof(png_path), "%s/q.png", dir);
	FILE *f = fopen(svg_path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(svg, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	json_decref(frag);
	int st;
	snprintf(cmd, sizeof(cmd), "rsvg-convert -w 600 -o %s %s 2>&1 && echo converted", png_path, svg_path);
	char *line = run_line(cmd, &st);
	if (st != 0 || !line || strcmp(line, "converted") != 0)
		fail_msg("rsvg-convert failed (Debian package librsvg2-bin, scripts/install-deps.sh): %s",
		         line ? line : "");
	free(line);
	snprintf(cmd, sizeof(cmd), "zbarimg --quiet --raw -Sdisable -Sqrcode.enable %s 2>/dev/null",
	         png_path);
	line = run_line(cmd, &st);
	if (st != 0 || !line)
		fail_msg("zbarimg found no QR code (Debian package zbar-tools, scripts/install-deps.sh)");
	assert_string_equal(line, text);
	free(line);
	unlink(svg_path);
	unlink(png_path);
	rmdir(dir);
}

static void test_decodes_back(void **state)
{
	(void)state;
	roundtrip(URI);
	/* A freshly made key URI with a label that needs percent-encoding. */
	uint8_t secret[TOTP_SECRET_BYTES];
	assert_int_equal(totp_secret_generate(secret), 0);
	struct buf uri;
	buf_init(&uri, 0);
	assert_int_equal(totp_uri("DropFix", "o'brien+founder@example.co.uk", secret, &uri), 0);
	roundtrip(uri.p);
	sodium_memzero(uri.p, uri.n);
	buf_free(&uri);
	sodium_memzero(secret, sizeof(secret));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_structure_and_matrix),
	    cmocka_unit_test(test_label_escaped),
	    cmocka_unit_test(test_template_inserts_fragment),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_decodes_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
