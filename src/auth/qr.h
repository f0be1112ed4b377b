/* QR codes as trusted inline SVG (libqrencode, error correction level M), built through
 * the template engine's SVG builder so a page inserts the result with {{qr}}.
 *
 * Shape: one <svg> (viewBox "0 0 W W" in modules, W = symbol width + 2 × QR_QUIET_ZONE;
 * width and height W × QR_MODULE_PX; role="img", aria-label and a <title> carrying the
 * caller's label; class="qr"), a white background <rect> covering the quiet zone too,
 * and one black <path> whose d draws every horizontal run of dark modules as
 * "M<x> <y>h<len>v1h-<len>z" (x, y in modules, quiet zone included). */
#ifndef DROPFIX_QR_H
#define DROPFIX_QR_H

#include <jansson.h>
#include <stddef.h>

#include "core/limits.h"

#define QR_QUIET_ZONE 4 /* modules of white border on each side (ISO/IEC 18004) */
#define QR_MODULE_PX 4  /* default rendered size of one module, in CSS pixels */

/* Encodes text[0..n) (1..LIMIT_QR_TEXT bytes, any bytes but NUL) as a QR code and
 * returns it as a trusted SVG fragment (a new reference, see tmpl.h), with label
 * (NUL-terminated, non-empty; escaped by the builder) as its accessible name. Returns
 * NULL on invalid arguments, text too long for a QR code, or allocation failure. The
 * text may be secret (an otpauth URI): internal copies are wiped; the fragment itself
 * encodes it, so the caller drops the fragment once the page is rendered. */
json_t *qr_svg(const char *text, size_t n, const char *label) __attribute__((warn_unused_result));

#endif
