/* Template engine: escaping, sections, partials, layouts, compile errors, limits and
 * trusted fragments. Includes the module to reach render_named (failure reasons). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tmpl/tmpl.c"

#include <time.h>

/* Tables below leave optional fields out. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define MAX_SRC 4

/* A set of templates: "t" plus up to three named extras. */
struct srcs {
	const char *t;
	const char *extra[MAX_SRC - 1][2];
};

static int compile_srcs(const struct srcs *s, struct tmpl_set **set, char *err, size_t err_size)
{
	struct tmpl_source src[MAX_SRC];
	size_t n = 0;
	src[n++] = (struct tmpl_source){"t", s->t, strlen(s->t)};
	for (size_t i = 0; i < MAX_SRC - 1 && s->extra[i][0]; i++)
		src[n++] = (struct tmpl_source){s->extra[i][0], s->extra[i][1], strlen(s->extra[i][1])};
	return tmpl_set_compile(src, n, set, err, err_size);
}

static json_t *load(const char *data)
{
	if (!data)
		return NULL;
	json_error_t jerr;
	json_t *v = json_loads(data, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (!v)
		fail_msg("bad test JSON %s: %s", data, jerr.text);
	return v;
}

/* Renders "t" of s with data; asserts success and returns the output (caller frees). */
static char *render_ok(const struct srcs *s, json_t *ctx)
{
	struct tmpl_set *set;
	char err[256];
	if (compile_srcs(s, &set, err, sizeof(err)) != 0)
		fail_msg("compile failed: %s\ntemplate: %s", err, s->t);
	struct buf out;
	buf_init(&out, 0);
	enum render_err why;
	if (render_named(set, "t", ctx, &out, &why) != 0)
		fail_msg("render failed (%d): %s", why, s->t);
	tmpl_set_free(set);
	return buf_detach(&out, NULL);
}

struct render_case {
	const char *label;
	struct srcs src;
	const char *data;
	const char *want;
};

static const struct render_case render_cases[] = {
    /* Escaping in text, quoted attributes, at the edges of values and templates. */
    {"all five in text",
     {"<p>{{x}}</p>"},
     "{\"x\":\"<b>&\\\"'</b>\"}",
     "<p>&lt;b&gt;&amp;&quot;&#39;&lt;/b&gt;</p>"},
    {"double-quoted attribute",
     {"<a title=\"{{x}}\">"},
     "{\"x\":\"\\\" onclick=\\\"x\"}",
     "<a title=\"&quot; onclick=&quot;x\">"},
    {"single-quoted attribute",
     {"<a title='{{x}}'>"},
     "{\"x\":\"' onclick='x\"}",
     "<a title='&#39; onclick=&#39;x'>"},
    {"variable first and last", {"{{x}}-{{x}}"}, "{\"x\":\"&\"}", "&amp;-&amp;"},
    {"entity is not trusted", {"{{x}}"}, "{\"x\":\"&amp;&#39;\"}", "&amp;amp;&amp;#39;"},
    {"NUL becomes U+FFFD",
     {"{{x}}"},
     "{\"x\":\"a\\u0000b\"}",
     "a\xef\xbf\xbd"
     "b"},
    {"UTF-8 passes", {"{{x}}"}, "{\"x\":\"caf\\u00e9 \\u2603\"}", "caf\xc3\xa9 \xe2\x98\x83"},
    {"script tag in data",
     {"<div>{{x}}</div>"},
     "{\"x\":\"<script>alert(1)</script>\"}",
     "<div>&lt;script&gt;alert(1)&lt;/script&gt;</div>"},
    /* Values. */
    {"integer", {"{{n}}"}, "{\"n\":-42}", "-42"},
    {"big integer", {"{{n}}"}, "{\"n\":9007199254740993}", "9007199254740993"},
    {"real", {"{{n}}"}, "{\"n\":1.5}", "1.5"},
    {"real 0.1", {"{{n}}"}, "{\"n\":0.1}", "0.1"},
    {"real whole", {"{{n}}"}, "{\"n\":3.0}", "3"},
    {"real large", {"{{n}}"}, "{\"n\":1e100}", "1e+100"},
    {"real needing 17 digits", {"{{n}}"}, "{\"n\":0.30000000000000004}", "0.30000000000000004"},
    {"booleans", {"{{t}}/{{f}}"}, "{\"t\":true,\"f\":false}", "true/false"},
    {"null, missing, object, array print nothing",
     {"[{{z}}{{missing}}{{o}}{{a}}]"},
     "{\"z\":null,\"o\":{\"k\":1},\"a\":[1]}",
     "[]"},
    {"NULL context", {"[{{x}}{{#x}}y{{/x}}{{^x}}n{{/x}}]"}, NULL, "[n]"},
    {"spaces inside tags", {"{{ x }}{{# a }}[{{ . }}]{{/ a }}"}, "{\"x\":1,\"a\":[2]}", "1[2]"},
    /* Dotted paths and the context stack. */
    {"dotted path", {"{{a.b.c}}"}, "{\"a\":{\"b\":{\"c\":\"<\"}}}", "&lt;"},
    {"dotted path missing middle", {"[{{a.x.c}}]"}, "{\"a\":{\"b\":{\"c\":1}}}", "[]"},
    {"dotted path through a string", {"[{{a.b}}]"}, "{\"a\":\"s\"}", "[]"},
    {"lookup walks the stack",
     {"{{#items}}{{name}}@{{site}};{{/items}}"},
     "{\"site\":\"S\",\"items\":[{\"name\":\"a\"},{\"name\":\"b\",\"site\":\"T\"}]}",
     "a@S;b@T;"},
    {"dotted path resolves from the first frame holding its head",
     {"{{#o}}[{{a.b}}]{{/o}}"},
     "{\"a\":{\"b\":1},\"o\":{\"a\":{}}}",
     "[]"},
    {"dot is the current element", {"{{#l}}{{.}},{{/l}}"}, "{\"l\":[\"<\",1,true,null]}", "&lt;,1,true,,"},
    /* Sections. */
    {"array of objects",
     {"<ul>{{#rows}}<li>{{v}}</li>{{/rows}}</ul>"},
     "{\"rows\":[{\"v\":1},{\"v\":\"<\"}]}",
     "<ul><li>1</li><li>&lt;</li></ul>"},
    {"nested arrays",
     {"{{#rows}}[{{#cells}}{{.}}{{/cells}}]{{/rows}}"},
     "{\"rows\":[{\"cells\":[1,2]},{\"cells\":[]},{\"cells\":[3]}]}",
     "[12][][3]"},
    {"object pushed", {"{{#u}}{{name}}{{/u}}"}, "{\"u\":{\"name\":\"ann\"}}", "ann"},
    {"true renders once", {"{{#t}}yes{{/t}}"}, "{\"t\":true}", "yes"},
    {"falsy values skip",
     {"[{{#f}}f{{/f}}{{#z}}z{{/z}}{{#e}}e{{/e}}{{#s}}s{{/s}}{{#o}}o{{/o}}{{#m}}m{{/m}}]"},
     "{\"f\":false,\"z\":null,\"e\":[],\"s\":\"\",\"o\":{}}",
     "[]"},
    {"numbers are truthy", {"{{#n}}({{.}}){{/n}}"}, "{\"n\":0}", "(0)"},
    {"string pushed", {"{{#s}}{{.}}!{{/s}}"}, "{\"s\":\"hi\"}", "hi!"},
    {"inverted on falsy",
     {"{{^f}}1{{/f}}{{^m}}2{{/m}}{{^e}}3{{/e}}{{^s}}4{{/s}}{{^z}}5{{/z}}"},
     "{\"f\":false,\"e\":[],\"s\":\"\",\"z\":null}",
     "12345"},
    {"inverted on truthy",
     {"[{{^t}}1{{/t}}{{^a}}2{{/a}}{{^n}}3{{/n}}]"},
     "{\"t\":true,\"a\":[0],\"n\":0}",
     "[]"},
    {"section and inverted of one name", {"{{#l}}{{.}}{{/l}}{{^l}}none{{/l}}"}, "{\"l\":[]}", "none"},
    {"dotted section", {"{{#a.b}}{{c}}{{/a.b}}"}, "{\"a\":{\"b\":{\"c\":7}}}", "7"},
    /* Comments and standalone lines. */
    {"comment", {"a{{! <b> {{ }}b"}, "{}", "ab"},
    {"multi-line comment", {"a{{! one\ntwo }}b"}, "{}", "ab"},
    {"standalone lines removed",
     {"<ul>\n  {{#a}}\n<li>{{.}}</li>\n  {{/a}}\n{{! note }}\n</ul>\n"},
     "{\"a\":[1,2]}",
     "<ul>\n<li>1</li>\n<li>2</li>\n</ul>\n"},
    {"standalone with CRLF", {"x\r\n{{#a}}\r\ny\r\n{{/a}}\r\nz"}, "{\"a\":true}", "x\r\ny\r\nz"},
    {"non-standalone tags keep their line", {"<p>{{#a}}x{{/a}}</p>\n"}, "{\"a\":true}", "<p>x</p>\n"},
    {"variable lines are kept", {"  {{x}}\n"}, "{\"x\":1}", "  1\n"},
    {"stray braces are text", {"a }} b { c"}, "{}", "a }} b { c"},
    /* Partials. */
    {"partial", {"<b>{{> p}}</b>", {{"p", "<i>{{x}}</i>"}}}, "{\"x\":\"<\"}", "<b><i>&lt;</i></b>"},
    {"partial sees the section element",
     {"{{#l}}{{> p}}{{/l}}", {{"p", "({{n}})"}}},
     "{\"l\":[{\"n\":1},{\"n\":2}]}",
     "(1)(2)"},
    {"recursive partial",
     {"{{> node}}", {{"node", "{{name}}{{#kids}}({{> node}}){{/kids}}"}}},
     "{\"name\":\"a\",\"kids\":[{\"name\":\"b\",\"kids\":[{\"name\":\"c\",\"kids\":[]}]},{\"name\":\"d\","
     "\"kids\":[]}]}",
     "a(b(c))(d)"},
    {"standalone partial line", {"a\n{{> p}}\nb", {{"p", "P\n"}}}, "{}", "a\nP\nb"},
    /* Layouts. */
    {"layout with blocks",
     {"{{<base}}\n{{$title}}Hi {{name}}{{/title}}\n{{$content}}\n<p>{{body}}</p>\n{{/content}}\n{{/base}}\n",
      {{"base",
        "<title>{{$title}}Default{{/title}}</title>\n<main>\n{{$content}}\n{{/content}}\n</main>\n"}}},
     "{\"name\":\"<N>\",\"body\":\"&\"}",
     "<title>Hi &lt;N&gt;</title>\n<main>\n<p>&amp;</p>\n</main>\n"},
    {"layout default block",
     {"{{<base}}{{$content}}x{{/content}}{{/base}}",
      {{"base", "<title>{{$title}}Default{{/title}}</title><main>{{$content}}{{/content}}</main>"}}},
     "{}",
     "<title>Default</title><main>x</main>"},
    {"layout blocks see the context",
     {"{{<base}}{{$content}}{{#l}}{{.}}{{/l}}{{/content}}{{/base}}",
      {{"base", "[{{$content}}{{/content}}]"}}},
     "{\"l\":[1,2]}",
     "[12]"},
    {"two levels: the page wins",
     {"{{<mid}}{{$title}}Page{{/title}}{{$inner}}page-inner{{/inner}}{{/mid}}",
      {{"mid",
        "{{<base}}{{$title}}Mid{{/title}}{{$content}}[{{$inner}}mid-inner{{/inner}}]{{/content}}{{/base}}"},
       {"base", "<title>{{$title}}Base{{/title}}</title><main>{{$content}}{{/content}}</main>"}}},
     "{}",
     "<title>Page</title><main>[page-inner]</main>"},
    {"layout with partial nav",
     {"{{<base}}{{$c}}C{{/c}}{{/base}}", {{"base", "{{> nav}}|{{$c}}{{/c}}"}, {"nav", "N"}}},
     "{}",
     "N|C"},
    {"comment inside parent",
     {"{{<base}} {{! note }} {{$c}}C{{/c}}{{/base}}", {{"base", "{{$c}}{{/c}}"}}},
     "{}",
     "C"},
    {"block without a parent renders its default", {"<{{$b}}d{{/b}}>"}, "{}", "<d>"},
    /* Variables inside tags: quoted attribute values only. */
    {"variable in comment",
     {"<!-- {{x}} don't -->{{y}}"},
     "{\"x\":\"-->\",\"y\":\"<\"}",
     "<!-- --&gt; don't -->&lt;"},
    {"less-than in text is not a tag", {"a < {{x}}"}, "{\"x\":1}", "a < 1"},
    {"section inside a tag",
     {"<option{{#sel}} selected{{/sel}} value=\"{{v}}\">"},
     "{\"sel\":true,\"v\":\"'\"}",
     "<option selected value=\"&#39;\">"},
};

static void test_render_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(render_cases) / sizeof(render_cases[0]); i++) {
		const struct render_case *c = &render_cases[i];
		json_t *ctx = load(c->data);
		char *got = render_ok(&c->src, ctx);
		if (strcmp(got, c->want) != 0)
			fail_msg("case '%s':\n want: %s\n got:  %s", c->label, c->want, got);
		free(got);
		json_decref(ctx);
	}
}

/* Every special character, at the start, middle and end of a value, in text and in both
 * kinds of quoted attribute value. */
static void test_escape_positions(void **state)
{
	(void)state;
	static const char specials[] = "&<>\"'";
	static const char *const entities[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
	static const char *const contexts[][2] = {
	    {"<p>", "</p>"}, {"<a title=\"", "\">"}, {"<a title='", "'>"}};
	for (size_t k = 0; k < 5; k++) {
		for (size_t pos = 0; pos < 3; pos++) {
			char value[4] = "ab";
			char want_value[16];
			const char *e = entities[k];
			if (pos == 0) {
				snprintf(value, sizeof(value), "%cab", specials[k]);
				snprintf(want_value, sizeof(want_value), "%sab", e);
			} else if (pos == 1) {
				snprintf(value, sizeof(value), "a%cb", specials[k]);
				snprintf(want_value, sizeof(want_value), "a%sb", e);
			} else {
				snprintf(value, sizeof(value), "ab%c", specials[k]);
				snprintf(want_value, sizeof(want_value), "ab%s", e);
			}
			for (size_t cx = 0; cx < 3; cx++) {
				char tmpl[64], want[64];
				snprintf(tmpl, sizeof(tmpl), "%s{{v}}%s", contexts[cx][0], contexts[cx][1]);
				snprintf(want, sizeof(want), "%s%s%s", contexts[cx][0], want_value,
				         contexts[cx][1]);
				json_t *ctx = json_pack("{s:s}", "v", value);
				struct srcs s = {tmpl};
				char *got = render_ok(&s, ctx);
				if (strcmp(got, want) != 0)
					fail_msg("value %s in %s: want %s got %s", value, tmpl, want, got);
				free(got);
				json_decref(ctx);
			}
		}
	}
}

struct error_case {
	const char *label;
	struct srcs src;
	const char *want; /* substring of the message */
};

static const struct error_case error_cases[] = {
    {"unclosed section", {"a\n{{#x}}\nb"}, "t:2: 'x' is never closed"},
    {"unclosed inner section", {"{{#a}}\n{{#b}}{{/a}}"}, "t:2: {{/a}} does not match 'b' opened at line 2"},
    {"mismatched close", {"{{#a}}\n\n{{/b}}"}, "t:3: {{/b}} does not match 'a' opened at line 1"},
    {"close without open", {"x {{/a}}"}, "t:1: {{/a}} closes nothing"},
    {"triple mustache", {"<p>\n{{{x}}}</p>"}, "t:2: raw output"},
    {"ampersand raw", {"{{&x}}"}, "t:1: raw output"},
    {"ampersand raw with space", {"{{& x}}"}, "t:1: raw output"},
    {"delimiter change", {"{{=<% %>=}}"}, "t:1: delimiter changes"},
    {"unclosed tag", {"a\n\n{{x"}, "t:3: unclosed tag"},
    {"unclosed tag one brace", {"{{x}"}, "t:1: unclosed tag"},
    {"unknown partial", {"\n\n{{> nope}}"}, "t:3: unknown partial 'nope'"},
    {"unknown partial in another template", {"{{> p}}", {{"p", "x\n{{> q}}"}}}, "p:2: unknown partial 'q'"},
    {"unknown parent", {"{{<nope}}{{/nope}}"}, "t:1: unknown parent 'nope'"},
    {"empty tag", {"{{}}"}, "t:1: invalid name"},
    {"double dot", {"{{a..b}}"}, "t:1: invalid name"},
    {"leading dot", {"{{.a}}"}, "t:1: invalid name"},
    {"space in name", {"{{a b}}"}, "t:1: invalid name"},
    {"empty section name", {"{{#}}{{/}}"}, "t:1: invalid name"},
    {"dotted partial name", {"{{> a.b}}"}, "t:1: invalid name"},
    {"unknown sigil", {"{{%x}}"}, "t:1: invalid name"},
    {"variable as unquoted attribute value",
     {"<a href={{x}}>"},
     "t:1: {{x}} inside a tag must be in a quoted"},
    {"variable as attribute name", {"<div\n {{x}}>"}, "t:2: {{x}} inside a tag"},
    {"variable after closed quote", {"<a title=\"x\" {{y}}>"}, "inside a tag"},
    {"variable as tag name", {"<{{x}}>"}, "inside a tag"},
    {"text inside parent", {"{{<base}}\nhello\n{{/base}}", {{"base", ""}}}, "t:2: only {{$block}}"},
    {"variable inside parent", {"{{<base}}{{x}}{{/base}}", {{"base", ""}}}, "only {{$block}}"},
    {"section inside parent", {"{{<base}}{{#x}}{{/x}}{{/base}}", {{"base", ""}}}, "only {{$block}}"},
    {"partial inside parent", {"{{<base}}{{> base}}{{/base}}", {{"base", ""}}}, "only {{$block}}"},
    {"17 nested sections",
     {"{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}"
      "{{#a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/"
      "a}}{{/a}}"},
     "t:1: sections nested deeper than 16"},
    {"duplicate template", {"x", {{"t", "y"}}}, "template 't' is defined twice"},
    {"invalid template name", {"x", {{"a.b", "y"}}}, "template name 'a.b' is invalid"},
};

static void test_compile_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct error_case *c = &error_cases[i];
		struct tmpl_set *set = (struct tmpl_set *)1;
		char err[256] = "";
		if (compile_srcs(&c->src, &set, err, sizeof(err)) == 0)
			fail_msg("case '%s' compiled but should not", c->label);
		assert_null(set);
		if (!strstr(err, c->want))
			fail_msg("case '%s': want message containing \"%s\", got \"%s\"", c->label, c->want,
			         err);
	}
}

static void test_nesting_boundary(void **state)
{
	(void)state;
	struct buf t;
	buf_init(&t, 0);
	for (int i = 0; i < LIMIT_TMPL_DEPTH; i++)
		buf_puts(&t, "{{#a}}");
	buf_puts(&t, "x");
	for (int i = 0; i < LIMIT_TMPL_DEPTH; i++)
		buf_puts(&t, "{{/a}}");
	struct srcs s = {t.p};
	json_t *ctx = load("{\"a\":true}");
	char *got = render_ok(&s, ctx);
	assert_string_equal(got, "x");
	free(got);
	json_decref(ctx);
	buf_free(&t);
}

static void render_fails(const struct srcs *s, json_t *ctx, struct buf *out, enum render_err want)
{
	struct tmpl_set *set;
	char err[256];
	if (compile_srcs(s, &set, err, sizeof(err)) != 0)
		fail_msg("compile failed: %s", err);
	enum render_err why = RERR_NONE;
	assert_int_equal(render_named(set, "t", ctx, out, &why), -1);
	assert_int_equal(why, want);
	tmpl_set_free(set);
}

static void test_output_cap(void **state)
{
	(void)state;
	struct srcs s = {"{{#a}}{{s}}{{/a}}"};
	char big[1025];
	memset(big, 'x', 1024);
	big[1024] = '\0';
	json_t *arr = json_array();
	for (int i = 0; i < 4096; i++) /* exactly LIMIT_TMPL_OUTPUT */
		json_array_append_new(arr, json_integer(i));
	json_t *ctx = json_pack("{s:s, s:o}", "s", big, "a", arr);

	struct buf out;
	buf_init(&out, 0);
	struct tmpl_set *set;
	assert_int_equal(compile_srcs(&s, &set, NULL, 0), 0);
	assert_int_equal(tmpl_render(set, "t", ctx, &out), 0);
	assert_int_equal(out.n, LIMIT_TMPL_OUTPUT);
	assert_int_equal(out.cap_limit, 0); /* restored */

	/* One byte more than the cap fails; the buffer never exceeds it. */
	buf_reset(&out);
	buf_putc(&out, '!');
	enum render_err why;
	assert_int_equal(render_named(set, "t", ctx, &out, &why), 0); /* appending: cap counts from here */
	assert_int_equal(out.n, LIMIT_TMPL_OUTPUT + 1);
	json_array_append_new(arr, json_integer(0));
	buf_reset(&out);
	assert_int_equal(render_named(set, "t", ctx, &out, &why), -1);
	assert_int_equal(why, RERR_OUTPUT);
	assert_true(out.n <= LIMIT_TMPL_OUTPUT);
	assert_int_equal(out.cap_limit, 0);
	buf_free(&out);

	/* A smaller cap on the buffer applies too. */
	buf_init(&out, 100);
	render_fails(&s, ctx, &out, RERR_OUTPUT);
	assert_true(out.n <= 100);
	assert_int_equal(out.cap_limit, 100);
	/* A buffer already out of memory is refused. */
	assert_int_equal(tmpl_render(set, "t", ctx, &out), -1);
	buf_free(&out);
	tmpl_set_free(set);
	json_decref(ctx);
}

static void test_render_limits(void **state)
{
	(void)state;
	struct buf out;
	buf_init(&out, 0);
	/* Unbounded recursion stops at the depth cap. */
	struct srcs rec = {"{{> p}}", {{"p", "{{#a}}x{{> p}}{{/a}}"}}};
	json_t *ctx = load("{\"a\":true}");
	render_fails(&rec, ctx, &out, RERR_DEPTH);
	json_decref(ctx);
	/* Self-referencing layouts too. */
	buf_reset(&out);
	struct srcs loop = {"{{<t}}{{/t}}"};
	render_fails(&loop, NULL, &out, RERR_DEPTH);
	/* Work without output is bounded: 200^3 iterations exceed LIMIT_TMPL_STEPS. */
	buf_reset(&out);
	json_t *arr = json_array();
	for (int i = 0; i < 200; i++)
		json_array_append_new(arr, json_integer(i));
	ctx = json_pack("{s:o}", "a", arr);
	struct srcs cube = {"{{#a}}{{#a}}{{#a}}{{/a}}{{/a}}{{/a}}"};
	render_fails(&cube, ctx, &out, RERR_STEPS);
	json_decref(ctx);
	/* Unknown template. */
	struct tmpl_set *set;
	assert_int_equal(compile_srcs(&cube, &set, NULL, 0), 0);
	assert_int_equal(tmpl_render(set, "nope", NULL, &out), -1);
	assert_int_equal(tmpl_render(set, NULL, NULL, &out), -1);
	assert_int_equal(tmpl_set_has(set, "t"), 1);
	assert_int_equal(tmpl_set_has(set, "nope"), 0);
	tmpl_set_free(set);
	buf_free(&out);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Rendering time grows linearly with the data: 8x the rows may not cost 32x the time
 * (quadratic would be 64x). Best of three runs, to be robust to a busy machine. */
static void test_linear(void **state)
{
	(void)state;
	struct srcs s = {"<table>{{#rows}}<tr><td>{{name}}</td><td>{{n}}</td><td>{{#ok}}y{{/ok}}</td></tr>{{/"
	                 "rows}}</table>"};
	struct tmpl_set *set;
	assert_int_equal(compile_srcs(&s, &set, NULL, 0), 0);
	double best[2];
	size_t len[2];
	for (int k = 0; k < 2; k++) {
		int rows = k ? 40000 : 5000;
		json_t *arr = json_array();
		for (int i = 0; i < rows; i++)
			json_array_append_new(
			    arr, json_pack("{s:s, s:i, s:b}", "name", "<b>&", "n", i, "ok", i & 1));
		json_t *ctx = json_pack("{s:o}", "rows", arr);
		best[k] = 1e9;
		for (int run = 0; run < 3; run++) {
			struct buf out;
			buf_init(&out, 0);
			double t0 = now_s();
			assert_int_equal(tmpl_render(set, "t", ctx, &out), 0);
			double dt = now_s() - t0;
			if (dt < best[k])
				best[k] = dt;
			len[k] = out.n;
			buf_free(&out);
		}
		json_decref(ctx);
	}
	assert_true(len[1] > 7 * len[0]);
	if (best[1] > 32 * best[0] + 0.005)
		fail_msg("rendering looks superlinear: 5000 rows %.4fs, 40000 rows %.4fs", best[0], best[1]);
	tmpl_set_free(set);
}

static json_t *make_chart(void)
{
	struct tmpl_svg *s = tmpl_svg_new();
	assert_non_null(s);
	const double pts[] = {0, 1, 2.5, 3.125, -0.0001, 1e6};
	tmpl_svg_open(s, "svg");
	tmpl_svg_attr(s, "viewBox", "0 0 10 10");
	tmpl_svg_attr(s, "class", "chart");
	tmpl_svg_attr(s, "aria-label", "Sign-ups \"<7 days>\"");
	tmpl_svg_open(s, "polyline");
	tmpl_svg_attr_points(s, "points", pts, 3);
	tmpl_svg_attr(s, "fill", "url(#grad-1)");
	tmpl_svg_close(s);
	tmpl_svg_open(s, "text");
	tmpl_svg_attr_num(s, "x", 1.5);
	tmpl_svg_attr_num(s, "y", 2.0004);
	tmpl_svg_text(s, "<script>&'", 10);
	tmpl_svg_close(s);
	tmpl_svg_close(s);
	return tmpl_svg_finish(s);
}

#define CHART_HTML                                                                                           \
	"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 10 10\" class=\"chart\" "                   \
	"aria-label=\"Sign-ups &quot;&lt;7 days&gt;&quot;\"><polyline points=\"0,1 2.5,3.125 0,1000000\" "   \
	"fill=\"url(#grad-1)\"/><text x=\"1.5\" y=\"2\">&lt;script&gt;&amp;&#39;</text></svg>"

static void test_trusted_svg(void **state)
{
	(void)state;
	json_t *chart = make_chart();
	assert_non_null(chart);
	assert_true(tmpl_is_trusted(chart));
	size_t n;
	const char *html = tmpl_trusted_html(chart, &n);
	assert_string_equal(html, CHART_HTML);
	assert_int_equal(n, strlen(CHART_HTML));

	json_t *ctx = json_pack("{s:O}", "chart", chart);
	struct srcs s = {"<div>{{chart}}</div><a title=\"{{chart}}\"></a>{{#chart}}[{{html}}]{{/chart}}"};
	char *got = render_ok(&s, ctx);
	struct buf want;
	buf_init(&want, 0);
	buf_puts(&want, "<div>" CHART_HTML "</div><a title=\"");
	put_escaped(&want, CHART_HTML, strlen(CHART_HTML));
	buf_puts(&want, "\"></a>[");
	put_escaped(&want, CHART_HTML, strlen(CHART_HTML));
	buf_puts(&want, "]");
	assert_string_equal(got, want.p);
	free(got);
	buf_free(&want);
	json_decref(ctx);

	/* A shallow copy keeps the marker; a deep copy (or a round trip through text) does not. */
	json_t *shallow = json_copy(chart);
	json_t *deep = json_deep_copy(chart);
	char *text = json_dumps(chart, 0);
	json_t *reparsed = json_loads(text, 0, NULL);
	assert_true(tmpl_is_trusted(shallow));
	assert_false(tmpl_is_trusted(deep));
	assert_false(tmpl_is_trusted(reparsed));
	ctx = json_pack("{s:o, s:o}", "deep", deep, "reparsed", reparsed);
	struct srcs s2 = {"[{{deep}}{{reparsed}}]{{reparsed.html}}"};
	got = render_ok(&s2, ctx);
	assert_int_equal(strncmp(got, "[]&lt;svg xmlns=&quot;", 22), 0);
	assert_null(strchr(got + 2, '<'));
	free(got);
	free(text);
	json_decref(ctx);
	json_decref(shallow);
	json_decref(chart);
}

/* User JSON shaped like a trusted fragment is only data. */
static void test_forged_trusted(void **state)
{
	(void)state;
	static const char *const forgeries[] = {
	    "{\"x\":{\"_tmpl_trusted\":[],\"html\":\"<script>alert(1)</script>\"}}",
	    "{\"x\":{\"_tmpl_trusted\":{},\"html\":\"<script>alert(1)</script>\"}}",
	    "{\"x\":{\"_tmpl_trusted\":true,\"html\":\"<script>alert(1)</script>\"}}",
	    "{\"x\":{\"_tmpl_trusted\":null,\"html\":\"<script>alert(1)</script>\"}}",
	    "{\"x\":{\"_tmpl_trusted\":[],\"html\":\"<script>alert(1)</script>\",\"trusted\":1}}",
	};
	struct srcs s = {"<div>{{x}}</div><p>{{x.html}}</p><a title=\"{{x}}\"></a>"};
	for (size_t i = 0; i < sizeof(forgeries) / sizeof(forgeries[0]); i++) {
		json_t *ctx = load(forgeries[i]);
		assert_false(tmpl_is_trusted(json_object_get(ctx, "x")));
		char *got = render_ok(&s, ctx);
		assert_string_equal(
		    got, "<div></div><p>&lt;script&gt;alert(1)&lt;/script&gt;</p><a title=\"\"></a>");
		free(got);
		json_decref(ctx);
	}
	/* Built in C with a look-alike marker value: still not trusted. */
	json_t *fake = json_pack("{s:[], s:s}", "_tmpl_trusted", "html", "<b>");
	assert_false(tmpl_is_trusted(fake));
	assert_null(tmpl_trusted_html(fake, NULL));
	json_decref(fake);
	assert_false(tmpl_is_trusted(NULL));
	json_t *str = json_string("<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>");
	assert_false(tmpl_is_trusted(str));
	json_decref(str);
}

static void test_svg_refusals(void **state)
{
	(void)state;
	enum { OPEN, ATTR, TEXT, CLOSE, NUM, END };
	struct step {
		int op;
		const char *a, *b;
		double num;
	};
	static const struct {
		const char *label;
		struct step steps[6];
	} cases[] = {
	    {"script element", {{OPEN, "svg"}, {OPEN, "script"}, {END}}},
	    {"foreignObject", {{OPEN, "svg"}, {OPEN, "foreignObject"}, {END}}},
	    {"a element", {{OPEN, "svg"}, {OPEN, "a"}, {END}}},
	    {"use element", {{OPEN, "svg"}, {OPEN, "use"}, {END}}},
	    {"image element", {{OPEN, "svg"}, {OPEN, "image"}, {END}}},
	    {"animate element", {{OPEN, "svg"}, {OPEN, "animate"}, {END}}},
	    {"style element", {{OPEN, "svg"}, {OPEN, "style"}, {END}}},
	    {"case matters", {{OPEN, "SVG"}, {END}}},
	    {"NULL element", {{OPEN, NULL}, {END}}},
	    {"onload", {{OPEN, "svg"}, {ATTR, "onload", "x"}, {END}}},
	    {"href", {{OPEN, "svg"}, {OPEN, "g"}, {ATTR, "href", "#x"}, {END}}},
	    {"xlink:href", {{OPEN, "svg"}, {ATTR, "xlink:href", "#x"}, {END}}},
	    {"style attribute", {{OPEN, "svg"}, {ATTR, "style", "color:red"}, {END}}},
	    {"external url", {{OPEN, "svg"}, {ATTR, "fill", "url(https://evil.example/x)"}, {END}}},
	    {"url with spaces", {{OPEN, "svg"}, {ATTR, "fill", "URL( #x)"}, {END}}},
	    {"url after text", {{OPEN, "svg"}, {ATTR, "fill", "red url(#x)"}, {END}}},
	    {"backslash", {{OPEN, "svg"}, {ATTR, "fill", "u\\72l(x)"}, {END}}},
	    {"NULL value", {{OPEN, "svg"}, {ATTR, "fill", NULL}, {END}}},
	    {"root must be svg", {{OPEN, "g"}, {END}}},
	    {"one root", {{OPEN, "svg"}, {CLOSE}, {OPEN, "svg"}, {CLOSE}, {END}}},
	    {"attribute after content", {{OPEN, "svg"}, {TEXT, "t"}, {ATTR, "fill", "red"}, {END}}},
	    {"attribute after child", {{OPEN, "svg"}, {OPEN, "g"}, {CLOSE}, {ATTR, "fill", "red"}, {END}}},
	    {"text outside", {{TEXT, "t"}, {END}}},
	    {"close nothing", {{CLOSE}, {END}}},
	    {"unclosed", {{OPEN, "svg"}, {OPEN, "g"}, {CLOSE}, {END}}},
	    {"empty", {{END}}},
	    {"NaN", {{OPEN, "svg"}, {NUM, "x", NULL, NAN}, {CLOSE}, {END}}},
	    {"infinity", {{OPEN, "svg"}, {NUM, "x", NULL, INFINITY}, {CLOSE}, {END}}},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tmpl_svg *s = tmpl_svg_new();
		assert_non_null(s);
		for (const struct step *st = cases[i].steps; st->op != END; st++) {
			switch (st->op) {
			case OPEN:
				tmpl_svg_open(s, st->a);
				break;
			case ATTR:
				tmpl_svg_attr(s, st->a, st->b);
				break;
			case TEXT:
				tmpl_svg_text(s, st->a, strlen(st->a));
				break;
			case CLOSE:
				tmpl_svg_close(s);
				break;
			case NUM:
				tmpl_svg_attr_num(s, st->a, st->num);
				break;
			}
		}
		json_t *frag = tmpl_svg_finish(s);
		if (frag)
			fail_msg("svg case '%s' produced a fragment: %s", cases[i].label,
			         tmpl_trusted_html(frag, NULL));
	}
	/* After a failure every call fails. */
	struct tmpl_svg *s = tmpl_svg_new();
	assert_int_equal(tmpl_svg_open(s, "svg"), 0);
	assert_int_equal(tmpl_svg_attr(s, "onclick", "x"), -1);
	assert_int_equal(tmpl_svg_attr(s, "fill", "red"), -1);
	assert_int_equal(tmpl_svg_close(s), -1);
	tmpl_svg_free(s);
	tmpl_svg_free(NULL);
	assert_null(tmpl_svg_finish(NULL));
}

static void test_svg_text_sanitised(void **state)
{
	(void)state;
	struct tmpl_svg *s = tmpl_svg_new();
	static const char text[] = "a\x01"
	                           "b\xff"
	                           "c\xc3\xa9\xed\xa0\x80\t\x7f<";
	tmpl_svg_open(s, "svg");
	tmpl_svg_open(s, "title");
	tmpl_svg_text(s, text, sizeof(text) - 1);
	tmpl_svg_close(s);
	tmpl_svg_open(s, "rect");
	tmpl_svg_attr(s, "class", "x\"y\x02");
	tmpl_svg_close(s);
	tmpl_svg_close(s);
	json_t *frag = tmpl_svg_finish(s);
	assert_non_null(frag);
	assert_string_equal(tmpl_trusted_html(frag, NULL),
	                    "<svg xmlns=\"http://www.w3.org/2000/svg\"><title>a\xef\xbf\xbd"
	                    "b\xef\xbf\xbd"
	                    "c\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\t\xef\xbf\xbd&lt;</title>"
	                    "<rect class=\"x&quot;y\xef\xbf\xbd\"/></svg>");
	json_decref(frag);
}

static int hook_calls, hook_trusted;

static void count_hook(const char *p, size_t n, int trusted)
{
	(void)p;
	(void)n;
	hook_calls++;
	hook_trusted += trusted;
}

/* The fuzz target relies on this hook; make sure it sees every variable. */
static void test_var_hook(void **state)
{
	(void)state;
	json_t *chart = make_chart();
	json_t *ctx = json_pack("{s:o, s:[i,i,i]}", "chart", chart, "l", 1, 2, 3);
	struct srcs s = {"{{chart}}{{missing}}{{#l}}{{.}}{{/l}}<a title=\"{{chart}}\">"};
	tmpl_test_var_hook = count_hook;
	char *got = render_ok(&s, ctx);
	tmpl_test_var_hook = NULL;
	assert_int_equal(hook_calls, 6);
	assert_int_equal(hook_trusted, 1);
	free(got);
	json_decref(ctx);
}

/* 1 when text has a <script> element without a src attribute (inline code); a
 * same-origin <script src="/static/…"> is what the CSP allows. */
static int has_inline_script(const char *text)
{
	for (const char *p = text; (p = strcasestr(p, "<script")) != NULL; p++) {
		const char *end = strchr(p, '>');
		if (!end)
			return 1;
		const char *src = strcasestr(p, " src=\"/static/");
		if (!src || src > end)
			return 1;
	}
	return 0;
}

/* 1 when text has an attribute like ` onclick=`. */
static int has_event_handler(const char *text)
{
	for (const char *p = text; (p = strcasestr(p, " on")) != NULL; p++) {
		const char *q = p + 3;
		while ((*q | 0x20) >= 'a' && (*q | 0x20) <= 'z')
			q++;
		if (q > p + 3 && *q == '=')
			return 1;
	}
	return 0;
}

static void test_embedded(void **state)
{
	(void)state;
	assert_true(tmpl_embedded_count >= 2);
	assert_non_null(tmpl_embedded_find("layout"));
	assert_non_null(tmpl_embedded_find("error"));
	assert_null(tmpl_embedded_find("nope"));
	assert_null(tmpl_embedded_find(NULL));
	for (size_t i = 0; i < tmpl_embedded_count; i++) {
		const struct tmpl_source *t = &tmpl_embedded[i];
		assert_int_equal(strlen(t->text), t->len);
		if (i)
			assert_true(strcmp(tmpl_embedded[i - 1].name, t->name) < 0);
		/* CSP: no inline script or style anywhere. */
		if (has_inline_script(t->text) || strcasestr(t->text, "style=") ||
		    strcasestr(t->text, "<style") || has_event_handler(t->text) ||
		    strcasestr(t->text, "javascript:"))
			fail_msg("template %s has inline script or style", t->name);
	}
	const char *layout = tmpl_embedded_find("layout")->text;
	assert_non_null(strstr(layout, "<!doctype html>"));
	assert_non_null(strstr(layout, "<html lang=\"en\">"));
	assert_non_null(strstr(layout, "<meta charset=\"utf-8\">"));
	assert_non_null(strstr(layout, "name=\"viewport\""));

	struct tmpl_set *set;
	char err[256];
	if (tmpl_set_load_embedded(&set, err, sizeof(err)) != 0)
		fail_msg("embedded templates: %s", err);
	struct buf out;
	buf_init(&out, 0);
	assert_int_equal(
	    tmpl_render_error_page(set, 404, "Not <found>", "No \"such\" page: <script>x</script>", &out), 0);
	assert_int_equal(strncmp(out.p, "<!doctype html>\n", 16), 0);
	assert_non_null(strstr(out.p, "<title>404 Not &lt;found&gt; · DropFix</title>"));
	assert_non_null(strstr(out.p, "<p class=\"error-status\">404</p>"));
	assert_non_null(strstr(out.p, "<h1>Not &lt;found&gt;</h1>"));
	assert_non_null(strstr(
	    out.p,
	    "<p class=\"error-message\">No &quot;such&quot; page: &lt;script&gt;x&lt;/script&gt;</p>"));
	assert_non_null(strstr(out.p, "<main id=\"main\">"));
	assert_non_null(strstr(out.p, "</html>\n"));
	assert_null(strstr(out.p, "<script"));
	assert_null(strstr(out.p, "{{"));
	buf_reset(&out);
	assert_int_equal(tmpl_render_error_page(set, 500, "Server error", NULL, &out), 0);
	assert_null(strstr(out.p, "error-message"));
	assert_non_null(strstr(out.p, "<title>500 Server error · DropFix</title>"));
	buf_reset(&out);
	assert_int_equal(tmpl_render(set, "layout", NULL, &out), 0);
	assert_non_null(strstr(out.p, "<title>DropFix</title>"));
	buf_free(&out);
	tmpl_set_free(set);
	tmpl_set_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_render_table),
	    cmocka_unit_test(test_escape_positions),
	    cmocka_unit_test(test_compile_errors),
	    cmocka_unit_test(test_nesting_boundary),
	    cmocka_unit_test(test_output_cap),
	    cmocka_unit_test(test_render_limits),
	    cmocka_unit_test(test_linear),
	    cmocka_unit_test(test_trusted_svg),
	    cmocka_unit_test(test_forged_trusted),
	    cmocka_unit_test(test_svg_refusals),
	    cmocka_unit_test(test_svg_text_sanitised),
	    cmocka_unit_test(test_var_hook),
	    cmocka_unit_test(test_embedded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
