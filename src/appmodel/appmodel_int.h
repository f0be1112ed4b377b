/* Internals of the app model shared by its files (not for other modules). */
#ifndef DROPFIX_APPMODEL_INT_H
#define DROPFIX_APPMODEL_INT_H

#include <stddef.h>
#include <stdint.h>

struct store_tx;

struct appmodel_stat {
	int64_t id;    /* feature_keys.id */
	int64_t users; /* distinct users in the window (0 when not counted) */
	int64_t days;  /* user-days in the window */
};
struct appmodel_stats {
	struct appmodel_stat *f; /* sorted by id */
	size_t n;
	int64_t total; /* the workspace's active user-days (user_daily rows) in the window */
};

/* The 30-day usage of tx's workspace up to day `today`, with the distinct users per
 * feature when with_users (appmodel_stats.c: big results are cached for a few minutes).
 * Returns 0 (free with appmodel_stats_free) or -1. */
int appmodel_stats_load(struct store_tx *tx, int64_t today, int with_users, struct appmodel_stats *out)
	__attribute__((warn_unused_result));
void appmodel_stats_free(struct appmodel_stats *s);
/* The entry for feature id (borrowed), or NULL. */
const struct appmodel_stat *appmodel_stats_find(const struct appmodel_stats *s, int64_t id);

#endif
