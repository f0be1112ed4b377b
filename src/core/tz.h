/* Time zone names (ARCHITECTURE §8b "Time zones"): validated against the system tz
 * database's list of names, never used as a path. The list is read once from the first
 * of /usr/share/zoneinfo/tzdata.zi (zones and links), zone1970.tab or zone.tab that
 * exists; "UTC" is always valid. Thread-safe after the first call. */
#ifndef DROPFIX_TZ_H
#define DROPFIX_TZ_H

#include <stddef.h>

#define TZ_NAME_MAX 64 /* bytes of the longest name we accept (the database's is ~32) */

/* 1 when s[0..n) is a time zone name in the system list (exact, case-sensitive), else 0.
 * Names longer than TZ_NAME_MAX or holding bytes other than [A-Za-z0-9/_+-] are refused
 * before the lookup. */
int tz_valid(const char *s, size_t n);

/* The canonical zone names (tzdata.zi "Z" lines, or the zone*.tab names) plus "UTC",
 * sorted, for a picker. Sets *names to a borrowed array (lives until exit) and returns
 * its length; 0 when no list could be read (then only "UTC" is valid). */
size_t tz_canonical(const char *const **names);

/* Where the list came from ("" when none was readable). */
const char *tz_source(void);

/* A list parsed from text: the all-names set (sorted, unique) and the canonical subset. */
struct tz_list {
	char **all;
	size_t n_all;
	char **canon;
	size_t n_canon;
};

/* Parses tzdata.zi text (kind 0) or zone1970.tab / zone.tab text (kind 1) from
 * p[0..n) into out (owned; free with tz_list_free). Lines that do not look like names
 * are skipped; "UTC" is always added. Returns 0 or -1 (out of memory). For tests. */
int tz_list_parse(const char *p, size_t n, int kind, struct tz_list *out) __attribute__((warn_unused_result));
/* 1 when name (n bytes) is in l. */
int tz_list_has(const struct tz_list *l, const char *s, size_t n);
void tz_list_free(struct tz_list *l);
/* 1 when s[0..n) has the shape of a name (length, character set, no "..", no leading
 * or trailing '/', no "//"). */
int tz_name_shape_ok(const char *s, size_t n);

#endif
