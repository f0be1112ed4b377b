#include "core/clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/parse.h"

#define CLOCK_ENV "DROPFIX_TEST_CLOCK_FILE"

int clock_fake_supported(void)
{
#ifdef DROPFIX_TEST_HOOKS
	return 1;
#else
	return 0;
#endif
}

#ifdef DROPFIX_TEST_HOOKS
static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static struct timespec fake_mtime;
static off_t fake_size = -1;
static int64_t fake_ms;

/* Reads "<seconds>[.<fraction>]" from path into *ms. */
static int read_fake_clock(const char *path, int64_t *ms)
{
	char text[64];
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' ' || text[n - 1] == '\r'))
		n--;
	text[n] = '\0';
	char *dot = strchr(text, '.');
	size_t whole_len = dot ? (size_t)(dot - text) : n;
	int64_t s, frac_ms = 0;
	if (parse_i64(text, whole_len, 0, INT64_C(253402300799), &s) < 0)
		return -1;
	if (dot) {
		int64_t scale = 100;
		for (const char *p = dot + 1; *p; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			frac_ms += (*p - '0') * scale;
			scale /= 10;
		}
	}
	*ms = s * 1000 + frac_ms;
	return 0;
}

/* Returns 1 and sets *ms when a fake clock is configured and readable. */
static int fake_now_ms(int64_t *ms)
{
	const char *path = getenv(CLOCK_ENV);
	if (!path || !*path)
		return 0;
	struct stat st;
	int rc = 0;
	pthread_mutex_lock(&fake_lock);
	if (stat(path, &st) == 0) {
		if (st.st_size != fake_size || st.st_mtim.tv_sec != fake_mtime.tv_sec ||
		    st.st_mtim.tv_nsec != fake_mtime.tv_nsec) {
			int64_t v;
			if (read_fake_clock(path, &v) == 0) {
				fake_ms = v;
				fake_size = st.st_size;
				fake_mtime = st.st_mtim;
			}
		}
		rc = fake_size >= 0;
	}
	if (rc)
		*ms = fake_ms;
	pthread_mutex_unlock(&fake_lock);
	return rc;
}
#endif

int clock_init(char *err, size_t errlen)
{
	const char *path = getenv(CLOCK_ENV);
	if (!path || !*path)
		return 0;
#ifdef DROPFIX_TEST_HOOKS
	int64_t ms;
	if (read_fake_clock(path, &ms) < 0) {
		snprintf(err, errlen, "%s: cannot read a time (Unix seconds) from %s", CLOCK_ENV, path);
		return -1;
	}
	return 0;
#else
	snprintf(err, errlen,
		 "%s is set, but this is a release build: the fake clock exists only in test "
		 "builds (unset it)",
		 CLOCK_ENV);
	return -1;
#endif
}

int64_t clock_now_ms(void)
{
#ifdef DROPFIX_TEST_HOOKS
	int64_t ms;
	if (fake_now_ms(&ms))
		return ms;
#endif
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_now_s(void)
{
	int64_t ms = clock_now_ms();
	return ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
}

int64_t clock_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t clock_days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int clock_format_ms(int64_t ms, char *out, size_t outlen)
{
	if (ms < 0 || ms > INT64_C(253402300799999) || outlen < 25)
		return -1;
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	if (!gmtime_r(&secs, &tm))
		return -1;
	int n = snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}
