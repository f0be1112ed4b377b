/* Fuzzes the template engine.
 * Input: TEMPLATE NUL JSON, or (without a NUL byte) one JSON document used as both.
 * - The JSON feeds fixed templates whose variable slots are wrapped in <v>…</v>; every
 *   slot of the output is checked: no raw < > " ' and no & that does not start one of
 *   our five entities (abort otherwise). The embedded templates (layout, error page)
 *   are rendered with the same data.
 * - TEMPLATE is compiled (next to a partial and a layout it may use) and, when valid,
 *   rendered with the JSON; the engine's test hook checks every variable's output the
 *   same way and that nothing from the data came out as a trusted fragment.
 * - The JSON's bytes go through the SVG builder as an attribute value and as text; the
 *   fragment must keep them escaped.
 * Never crash, never leak, always within the output cap. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "tmpl/tmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless p[0..n) is safe escaped text. */
static void check_escaped(const char *p, size_t n)
{
	static const char *const entities[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '<' || c == '>' || c == '"' || c == '\'')
			abort();
		if (c != '&')
			continue;
		int ok = 0;
		for (size_t k = 0; k < 5 && !ok; k++) {
			size_t len = strlen(entities[k]);
			ok = n - i >= len && memcmp(p + i, entities[k], len) == 0;
		}
		if (!ok)
			abort();
	}
}

static void var_hook(const char *p, size_t n, int trusted)
{
	if (trusted) /* the data came from JSON text: nothing in it can be trusted */
		abort();
	check_escaped(p, n);
}

/* Checks every <v>…</v> slot of a rendered fixed template. */
static void check_slots(const struct buf *out)
{
	const char *p = out->p ? out->p : "";
	const char *end = p + out->n;
	while ((p = memmem(p, (size_t)(end - p), "<v>", 3)) != NULL) {
		p += 3;
		const char *lt = memchr(p, '<', (size_t)(end - p));
		if (!lt || (size_t)(end - lt) < 4 || memcmp(lt, "</v>", 4) != 0) {
			/* A partial render may stop inside a slot only at the very end. */
			if (!lt)
				break;
			abort();
		}
		check_escaped(p, (size_t)(lt - p));
		p = lt + 4;
	}
}

static const struct tmpl_source fixed_src[] = {
    {"slots",
     "<v>{{a}}</v><v>{{b.c}}</v><v>{{.}}</v>\n"
     "{{#l}}<v>{{.}}</v><v>{{a}}</v>{{#l}}<v>{{.}}</v>{{/l}}{{/l}}\n"
     "<i title=\"<v>{{t}}</v>\"></i><i title='<v>{{u}}</v>'></i>\n"
     "{{#o}}<v>{{x}}</v><v>{{o.x}}</v>{{#y}}<v>{{z}}</v>{{/y}}{{/o}}{{^o}}<v>{{n}}</v>{{/o}}\n"
     "{{<frame}}{{$body}}<v>{{a}}</v>{{/body}}{{/frame}}",
     0},
    {"frame", "<b>{{$body}}{{/body}}</b><v>{{title}}</v>", 0},
};

static const struct tmpl_set *fixed_set(void)
{
	static struct tmpl_set *set;
	if (!set) {
		struct tmpl_source src[2];
		memcpy(src, fixed_src, sizeof(src));
		for (size_t i = 0; i < 2; i++)
			src[i].len = strlen(src[i].text);
		char err[256];
		if (tmpl_set_compile(src, 2, &set, err, sizeof(err)) != 0) {
			fprintf(stderr, "fixed templates: %s\n", err);
			abort();
		}
	}
	return set;
}

static const struct tmpl_set *embedded_set(void)
{
	static struct tmpl_set *set;
	if (!set) {
		char err[256];
		if (tmpl_set_load_embedded(&set, err, sizeof(err)) != 0) {
			fprintf(stderr, "embedded templates: %s\n", err);
			abort();
		}
	}
	return set;
}

static void render_checked(const struct tmpl_set *set, const char *name, json_t *ctx, int slots)
{
	struct buf out;
	buf_init(&out, 0);
	int rc = tmpl_render(set, name, ctx, &out);
	if (out.n > LIMIT_TMPL_OUTPUT || (rc == 0 && out.oom))
		abort();
	if (slots)
		check_slots(&out);
	buf_free(&out);
}

static void fuzz_template(const char *text, size_t n, json_t *ctx)
{
	struct tmpl_source src[3] = {
	    {"fuzz", text, n},
	    {"p", "<p>{{x}}</p>{{#q}}{{> p}}{{/q}}", 0},
	    {"base", "<t>{{$a}}A{{/a}}</t><u title=\"{{$b}}{{/b}}\">{{> p}}</u>", 0},
	};
	src[1].len = strlen(src[1].text);
	src[2].len = strlen(src[2].text);
	struct tmpl_set *set = NULL;
	char err[256];
	if (tmpl_set_compile(src, 3, &set, err, sizeof(err)) != 0) {
		if (set || err[0] == '\0')
			abort(); /* failure leaves no set and always explains itself */
		return;
	}
	render_checked(set, "fuzz", ctx, 0);
	tmpl_set_free(set);
}

static void fuzz_svg(const char *bytes, size_t n)
{
	char value[65];
	size_t vn = n < 64 ? n : 64;
	memcpy(value, bytes, vn);
	value[vn] = '\0';
	struct tmpl_svg *s = tmpl_svg_new();
	if (!s)
		return;
	tmpl_svg_open(s, "svg");
	tmpl_svg_open(s, "text");
	tmpl_svg_attr(s, "class", value);
	tmpl_svg_text(s, bytes, n);
	tmpl_svg_close(s);
	tmpl_svg_close(s);
	json_t *frag = tmpl_svg_finish(s);
	if (!frag)
		return; /* e.g. a value with a backslash or url( */
	size_t len;
	const char *html = tmpl_trusted_html(frag, &len);
	static const char head[] = "<svg xmlns=\"http://www.w3.org/2000/svg\"><text class=\"";
	static const char tail[] = "</text></svg>";
	if (!html || len < sizeof(head) - 1 + sizeof(tail) - 1 || memcmp(html, head, sizeof(head) - 1) != 0 ||
	    memcmp(html + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1) != 0)
		abort();
	const char *v = html + sizeof(head) - 1;
	const char *q = memchr(v, '"', len - (sizeof(head) - 1));
	if (!q || q[1] != '>')
		abort();
	check_escaped(v, (size_t)(q - v));
	check_escaped(q + 2, (size_t)(html + len - (sizeof(tail) - 1) - (q + 2)));
	json_decref(frag);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *nul = memchr(in, '\0', size);
	const char *tmpl = in, *json = in;
	size_t tn = size, jn = size;
	if (nul) {
		tn = (size_t)(nul - in);
		json = nul + 1;
		jn = size - tn - 1;
	}
	json_t *ctx = json_loadb(json, jn, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, NULL);

	tmpl_test_var_hook = var_hook;
	render_checked(fixed_set(), "slots", ctx, 1);
	render_checked(embedded_set(), "error", ctx, 0);
	render_checked(embedded_set(), "layout", ctx, 0);
	fuzz_template(tmpl, tn, ctx);
	tmpl_test_var_hook = NULL;

	fuzz_svg(json, jn);
	json_decref(ctx);
	return 0;
}
