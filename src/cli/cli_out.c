#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/str.h"

void cli_say(FILE *out, const char *command, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct buf b;
	buf_init(&b, 4096);
	buf_put_escaped(&b, msg, strlen(msg));
	fprintf(out, "dropfix %s: %s\n", command, b.p ? b.p : "");
	buf_free(&b);
}
