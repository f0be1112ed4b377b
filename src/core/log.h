/* Structured logs: one JSON object per line on stderr. Strings are JSON-escaped, so
 * control characters from input can never forge a line. Never log secrets or bodies. */
#ifndef DROPFIX_LOG_H
#define DROPFIX_LOG_H

#include <jansson.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the minimum level written (default LOG_INFO). */
void log_set_level(enum log_level level);
/* 1 when messages at level are written (callers skip building fields otherwise). */
int log_enabled(enum log_level level);
/* Parses "debug|info|warn|error"; returns 0 or -1. */
int log_parse_level(const char *s, enum log_level *out);
/* Writes {"ts":…,"level":…,"msg":…} plus the fields of extra (may be NULL); takes
 * ownership of extra. Thread-safe: one write(2) per line. */
void log_json(enum log_level level, const char *msg, json_t *extra);
/* Convenience: a message with printf-style text and no extra fields. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
