#include "http/error_page.h"

#include <stdio.h>

/* Temporary until the template engine lands: every inserted value is escaped. */
static void put_escaped_html(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': buf_puts(b, "&amp;"); break;
		case '<': buf_puts(b, "&lt;"); break;
		case '>': buf_puts(b, "&gt;"); break;
		case '"': buf_puts(b, "&quot;"); break;
		case '\'': buf_puts(b, "&#39;"); break;
		default: buf_putc(b, *s);
		}
	}
}

int error_page_render(int status, const char *code, const char *message, struct buf *out)
{
	buf_printf(out, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>%d ", status);
	put_escaped_html(out, code);
	buf_puts(out, "</title></head><body><main><h1>Error ");
	buf_printf(out, "%d</h1><p>", status);
	put_escaped_html(out, message);
	buf_puts(out, "</p><p><a href=\"/\">Home</a></p></main></body></html>\n");
	return out->oom ? -1 : 0;
}
