/* The one source of wall-clock time. Test builds (-DDROPFIX_TEST_HOOKS) may read a
 * fake clock from the file named by DROPFIX_TEST_CLOCK_FILE (Unix seconds, optionally
 * with a fraction, re-read when the file changes); release builds refuse that variable. */
#ifndef DROPFIX_CLOCK_H
#define DROPFIX_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Checks DROPFIX_TEST_CLOCK_FILE at start. Returns 0, or -1 with a one-line reason in
 * err (release build with the variable set, or an unreadable clock file). */
int clock_init(char *err, size_t errlen) __attribute__((warn_unused_result));
/* Wall-clock milliseconds since the Unix epoch (fake in tests when configured). */
int64_t clock_now_ms(void);
/* Wall-clock seconds since the Unix epoch. */
int64_t clock_now_s(void);
/* Monotonic nanoseconds for durations and deadlines; never faked. */
int64_t clock_mono_ns(void);
/* Formats Unix milliseconds as RFC 3339 UTC ("2026-11-29T05:51:04.123Z") into out,
 * which must hold 25 bytes. Returns 0, or -1 when out of range. */
int clock_format_ms(int64_t ms, char *out, size_t outlen);
/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m 1..12, d 1..31, not
 * checked against the month's length; Howard Hinnant's days_from_civil). Negative before
 * 1970. */
int64_t clock_days_from_civil(int64_t y, int64_t m, int64_t d);
/* 1 when this build honours DROPFIX_TEST_CLOCK_FILE. */
int clock_fake_supported(void);

#endif
