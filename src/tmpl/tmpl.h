/* HTML templates: a small auto-escaping, mustache-like engine fed by jansson values, so a
 * page and its JSON API share one data builder (ARCHITECTURE §2).
 *
 * Language (tags are `{{ … }}`, spaces inside are allowed):
 *   {{name}} {{a.b.c}} {{.}}  Variable. Looked up in the context stack, innermost frame
 *                      first; for a dotted path only the first segment walks the stack,
 *                      the rest descend from where it was found. Output: string (escaped),
 *                      integer, real (shortest of %.15g/%.17g that round-trips), true/false.
 *                      null, missing, arrays and plain objects print nothing. EVERY byte
 *                      is escaped for HTML: & < > " ' become &amp; &lt; &gt; &quot; &#39;
 *                      (NUL becomes U+FFFD). There is no raw-output syntax: {{{x}}},
 *                      {{& x}} and delimiter changes {{=…=}} are compile errors.
 *                      A variable inside a tag must sit in a quoted attribute value
 *                      (`<a href="/w/{{id}}">`); `<a href={{x}}>` or `<div {{x}}>` is a
 *                      compile error, because escaping cannot protect unquoted contexts.
 *                      Escaping does not vet URLs: a link built from data must have its
 *                      scheme checked by the caller (or be a path we build).
 *                      A comment cannot contain "}}"; a partial is not re-indented.
 *   {{#name}}…{{/name}} Section. Array: the body once per element, the element pushed.
 *                      Other truthy values: the body once with the value pushed. Falsy
 *                      (skipped): missing, null, false, "", [], {}. Numbers are truthy.
 *   {{^name}}…{{/name}} Inverted section: the body once when the value is falsy.
 *   {{! comment }}     Ignored (may span lines).
 *   {{> name}}         Partial: the template `name` rendered with the current context.
 *   {{$name}}…{{/name}} Block: renders the override of `name` supplied by an including
 *                      page (see layouts), else its own body as the default.
 *   {{<name}}…{{/name}} Parent (layout inheritance): renders template `name` with the
 *                      blocks defined directly inside as overrides. Only blocks, comments
 *                      and whitespace may appear directly inside. With several levels the
 *                      most-derived page's override wins.
 * A tag other than a variable that stands alone on its line removes that whole line.
 * Template names (file names without ".html") and block names are [A-Za-z0-9_-]+;
 * variable path segments too. Partials and parents resolve when the set is compiled
 * (an unknown name is a compile error); recursion is allowed and stopped at render
 * time by LIMIT_TMPL_DEPTH.
 *
 * Layouts. templates/layout.html is the base page; it defines the blocks `title`,
 * `nav`, `content` and `footer`. A page is written as
 *       {{<layout}}
 *       {{$title}}Signals · DropFix{{/title}}
 *       {{$content}}<h1>{{heading}}</h1>…{{/content}}
 *       {{/layout}}
 * and rendered by its own name: tmpl_render(set, "signals", ctx, out).
 *
 * Trusted fragments (charts, QR codes). The only way to put markup from code into a page
 * is a value built by tmpl_svg_* below: an SVG element tree whose element and attribute
 * names come from fixed allow-lists and whose attribute values and text are escaped.
 * The finished fragment is a jansson object carrying a marker whose identity (a private
 * jansson value owned by this module) is checked, not its content, so no JSON that was
 * parsed, built from user data or deep-copied can ever be taken as trusted: such a value
 * is just an object (prints nothing; its fields print escaped). A trusted fragment is
 * copied verbatim only by a variable in element content; inside an attribute value it
 * is escaped like any string. Do not modify a fragment after tmpl_svg_finish.
 *
 * Limits: nesting depth LIMIT_TMPL_DEPTH (sections, partials, parents and blocks, both in
 * one template at compile time and across templates at render time), output
 * LIMIT_TMPL_OUTPUT bytes per render, LIMIT_TMPL_STEPS nodes visited per render.
 * A compiled set is immutable: any number of threads may render with it at once. */
#ifndef DROPFIX_TMPL_H
#define DROPFIX_TMPL_H

#include <jansson.h>
#include <stddef.h>

#include "core/str.h"

/* One template source: name (no extension) and its bytes. */
struct tmpl_source {
	const char *name;
	const char *text;
	size_t len;
};

/* The templates/ *.html files embedded at build time (build/gen/templates_data.c, made
 * by scripts/embed.sh (mk/templates.mk)), sorted by name. */
extern const struct tmpl_source tmpl_embedded[];
extern const size_t tmpl_embedded_count;

struct tmpl_set;

/* Returns the embedded template called name (a borrowed, static entry), or NULL. */
const struct tmpl_source *tmpl_embedded_find(const char *name);

/* Compiles n sources into a set (the bytes are copied; src may be freed afterwards).
 * Returns 0 and sets *out (free with tmpl_set_free), or -1 with a message
 * "<template>:<line>: <reason>" in err (err_size bytes, may be 0). */
int tmpl_set_compile(const struct tmpl_source *src, size_t n, struct tmpl_set **out, char *err,
                     size_t err_size) __attribute__((warn_unused_result));
/* Compiles every embedded template: as tmpl_set_compile. Call once at start. */
int tmpl_set_load_embedded(struct tmpl_set **out, char *err, size_t err_size)
    __attribute__((warn_unused_result));
/* Frees a set; accepts NULL. */
void tmpl_set_free(struct tmpl_set *set);
/* 1 when the set holds a template called name, else 0. */
int tmpl_set_has(const struct tmpl_set *set, const char *name);

/* Renders template name with ctx (borrowed; NULL = empty context) and appends the
 * output to out. At most LIMIT_TMPL_OUTPUT bytes are appended, and out never grows
 * past a non-zero out->cap_limit (restored on return). Returns 0, or -1 on an unknown
 * template, too deep nesting, too much work, output over the cap or allocation
 * failure; then out holds a partial page (and oom may be set): discard it with
 * buf_reset. */
int tmpl_render(const struct tmpl_set *set, const char *name, json_t *ctx, struct buf *out)
    __attribute__((warn_unused_result));

/* Renders the "error" page (templates/error.html, inside the layout) for an HTTP status
 * with a short title and a message (message may be NULL); texts are escaped. Returns 0
 * or -1 as tmpl_render. */
int tmpl_render_error_page(const struct tmpl_set *set, int status, const char *title, const char *message,
                           struct buf *out) __attribute__((warn_unused_result));

/* SVG builder for trusted fragments. Calls chain like buf appends: after the first
 * failure (element or attribute not allowed, bad nesting, attribute after content, a
 * non-finite number, `url(` other than url(#id), a backslash in a value, size over
 * LIMIT_TMPL_OUTPUT, allocation failure) every further call does nothing and returns -1,
 * and tmpl_svg_finish returns NULL. The root element must be `svg` (it gets the SVG
 * xmlns) and there is exactly one root.
 * Elements: svg g defs title desc line polyline polygon path rect circle ellipse text
 *   tspan linearGradient stop clipPath.
 * Attributes: viewBox width height x y x1 y1 x2 y2 cx cy r rx ry dx dy d points fill
 *   fill-opacity fill-rule stroke stroke-width stroke-opacity stroke-linecap
 *   stroke-linejoin stroke-dasharray opacity transform class id role aria-label
 *   aria-hidden aria-labelledby focusable text-anchor dominant-baseline font-size
 *   font-weight preserveAspectRatio shape-rendering vector-effect offset stop-color
 *   stop-opacity gradientUnits gradientTransform clip-path clipPathUnits.
 * Numbers print with at most 3 decimals. Text and values are escaped (all five
 * characters); invalid UTF-8 and control characters become U+FFFD. */
struct tmpl_svg;

/* Returns a new, empty builder, or NULL when out of memory. */
struct tmpl_svg *tmpl_svg_new(void) __attribute__((warn_unused_result));
/* Opens element el (allow-listed). Returns 0 or -1. */
int tmpl_svg_open(struct tmpl_svg *s, const char *el);
/* Adds attribute name="value" to the element just opened (before any content). */
int tmpl_svg_attr(struct tmpl_svg *s, const char *name, const char *value);
/* Same, with a finite number as the value. */
int tmpl_svg_attr_num(struct tmpl_svg *s, const char *name, double v);
/* Same, with n_pairs points "x1,y1 x2,y2 …" from xy[0..2*n_pairs) (for polyline). */
int tmpl_svg_attr_points(struct tmpl_svg *s, const char *name, const double *xy, size_t n_pairs);
/* Appends n bytes of text content (escaped) to the innermost open element. */
int tmpl_svg_text(struct tmpl_svg *s, const char *text, size_t n);
/* Closes the innermost open element. */
int tmpl_svg_close(struct tmpl_svg *s);
/* Frees s and returns the finished trusted fragment (a new reference, for a template
 * variable), or NULL when any step failed or an element is still open. */
json_t *tmpl_svg_finish(struct tmpl_svg *s) __attribute__((warn_unused_result));
/* Frees an unfinished builder; accepts NULL. */
void tmpl_svg_free(struct tmpl_svg *s);

/* 1 when v is a trusted fragment made by this module, else 0. */
int tmpl_is_trusted(const json_t *v);
/* Returns the markup of trusted fragment v (borrowed, lives as long as v) and its length
 * in *n, or NULL when v is not trusted. */
const char *tmpl_trusted_html(const json_t *v, size_t *n);

#ifdef DROPFIX_TEST_HOOKS
/* Test builds only: when set, called after every {{variable}} with the bytes it appended
 * and whether they were a trusted fragment copied verbatim. Set it before rendering. */
extern void (*tmpl_test_var_hook)(const char *p, size_t n, int trusted);
#endif

#endif
