#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/str.h"

static enum log_level min_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
	min_level = level;
}

int log_enabled(enum log_level level)
{
	return level >= min_level;
}

int log_parse_level(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_json(enum log_level level, const char *msg, json_t *extra)
{
	if (level < min_level) {
		json_decref(extra);
		return;
	}
	char ts[32];
	if (clock_format_ms(clock_now_ms(), ts, sizeof(ts)) < 0)
		ts[0] = '\0';
	json_t *o = json_object();
	if (!o) {
		json_decref(extra);
		return;
	}
	json_object_set_new(o, "ts", json_string(ts));
	json_object_set_new(o, "level", json_string(level_names[level]));
	json_object_set_new(o, "msg", json_string(msg));
	if (extra)
		json_object_update(o, extra);
	json_decref(extra);
	char *line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(o);
	if (!line)
		return;
	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, line);
	buf_putc(&b, '\n');
	free(line);
	if (!b.oom) {
		ssize_t w = write(STDERR_FILENO, b.p, b.n);
		(void)w;
	}
	buf_free(&b);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level < min_level)
		return;
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_json(level, text, NULL);
}
