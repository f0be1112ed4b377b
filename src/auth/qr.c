#include "auth/qr.h"

#include <qrencode.h>
#include <stdio.h>
#include <sodium.h>
#include <string.h>

#include "core/str.h"
#include "tmpl/tmpl.h"

/* Encodes text[0..n) in byte mode at level M, the smallest version that fits. Returns
 * the symbol (free with qr_code_free) or NULL. */
static QRcode *qr_encode(const char *text, size_t n)
{
	if (!text || n == 0 || n > LIMIT_QR_TEXT || memchr(text, '\0', n))
		return NULL;
	return QRcode_encodeData((int)n, (const unsigned char *)text, 0, QR_ECLEVEL_M);
}

/* Wipes the module matrix (it encodes the text) and frees the symbol; accepts NULL. */
static void qr_code_free(QRcode *q)
{
	if (!q)
		return;
	if (q->data && q->width > 0)
		sodium_memzero(q->data, (size_t)q->width * (size_t)q->width);
	QRcode_free(q);
}

/* Appends the path data of every horizontal run of dark modules, offset by the quiet
 * zone. */
static void qr_path(const QRcode *q, struct buf *d)
{
	size_t w = (size_t)q->width;
	for (size_t y = 0; y < w; y++) {
		size_t x = 0;
		while (x < w) {
			if (!(q->data[y * w + x] & 1)) {
				x++;
				continue;
			}
			size_t start = x;
			while (x < w && (q->data[y * w + x] & 1))
				x++;
			size_t len = x - start;
			buf_printf(d, "M%zu %zuh%zuv1h-%zuz", start + QR_QUIET_ZONE, y + QR_QUIET_ZONE, len,
			           len);
		}
	}
}

json_t *qr_svg(const char *text, size_t n, const char *label)
{
	json_t *frag = NULL;
	struct tmpl_svg *s = NULL;
	struct buf d;
	buf_init(&d, LIMIT_TMPL_OUTPUT);
	QRcode *q = NULL;
	if (!label || !*label)
		goto fail;
	q = qr_encode(text, n);
	if (!q || q->width <= 0)
		goto fail;
	qr_path(q, &d);
	if (d.oom || d.n == 0)
		goto fail;
	double size = (double)q->width + 2 * QR_QUIET_ZONE;
	char viewbox[64];
	int vn = snprintf(viewbox, sizeof(viewbox), "0 0 %d %d", (int)size, (int)size);
	if (vn < 0 || (size_t)vn >= sizeof(viewbox))
		goto fail;
	s = tmpl_svg_new();
	if (!s)
		goto fail;
	/* Each call is a no-op after a failure; tmpl_svg_finish reports it. */
	tmpl_svg_open(s, "svg");
	tmpl_svg_attr(s, "viewBox", viewbox);
	tmpl_svg_attr_num(s, "width", size * QR_MODULE_PX);
	tmpl_svg_attr_num(s, "height", size * QR_MODULE_PX);
	tmpl_svg_attr(s, "role", "img");
	tmpl_svg_attr(s, "aria-label", label);
	tmpl_svg_attr(s, "class", "qr");
	tmpl_svg_attr(s, "shape-rendering", "crispEdges");
	tmpl_svg_open(s, "title");
	tmpl_svg_text(s, label, strlen(label));
	tmpl_svg_close(s);
	tmpl_svg_open(s, "rect");
	tmpl_svg_attr_num(s, "width", size);
	tmpl_svg_attr_num(s, "height", size);
	tmpl_svg_attr(s, "fill", "#fff");
	tmpl_svg_close(s);
	tmpl_svg_open(s, "path");
	tmpl_svg_attr(s, "d", d.p);
	tmpl_svg_attr(s, "fill", "#000");
	tmpl_svg_close(s);
	tmpl_svg_close(s);
	frag = tmpl_svg_finish(s); /* frees s */
	s = NULL;
fail:
	tmpl_svg_free(s);
	if (d.p)
		sodium_memzero(d.p, d.cap);
	buf_free(&d);
	qr_code_free(q);
	return frag;
}
