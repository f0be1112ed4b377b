/* The app model (PRODUCT §5): features are the interned keys of ingestion
 * (feature_keys: "page /projects/:id/settings", "click Export CSV",
 * "api POST /api/invoices", "track Signed up"), named at read time by deterministic
 * rules, or by a naming provider (the AI issue plugs in here; its input passes a PII
 * check first), or by the founder's rename. The founder may merge, hide and mark
 * features core (table app_features, migration 0009); until any feature is marked core,
 * the core set is automatic (the features used on the most active days by the most
 * users). */
#ifndef DROPFIX_APPMODEL_H
#define DROPFIX_APPMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

struct store_tx;

/* Writes the rule-based name of key[0..n) into out (cleared first), per the table in
 * appmodel_rules.c and docs/app-model.md: "page /projects/:id/settings" → "Page: Project
 * settings", "api POST /api/invoices" → "Create invoice", "click Export CSV" → "Click:
 * Export CSV", "submit Sign in" → "Form: Sign in", "track Signed up" → "Signed up".
 * Returns 0, or -1 when the key is malformed (out then holds the key itself). */
int appmodel_rule_name(const char *key, size_t n, struct buf *out) __attribute__((warn_unused_result));

/* A naming provider: given the keys (route templates and element labels only) returns
 * names in names[i] (malloc'd; NULL = keep the rule name). Returns 0 or -1. */
struct appmodel_namer {
	const char *id; /* "rules", "ai" */
	int (*name)(void *ctx, const char *const *keys, size_t n, char **names);
	void *ctx;
};
/* 1 when key may be shown to a naming provider (no e-mail, number run, token-like
 * string, card number or phone number left after templating), else 0. */
int appmodel_pii_free(const char *key, size_t n);
/* The built-in provider: the rule names of appmodel_rule_name. */
extern const struct appmodel_namer appmodel_rules_namer;
/* Runs provider nm over the workspace's feature keys (tx: a write transaction of the
 * workspace): only keys passing appmodel_pii_free are shown to it, in batches; each
 * name it returns that passes appmodel_name_ok is stored in app_features.provider_name.
 * *sent (may be NULL) = how many keys the provider saw. Returns 0 or -1 (store error,
 * memory, or the provider failed). */
int appmodel_name_features(struct store_tx *tx, const struct appmodel_namer *nm, size_t *sent)
	__attribute__((warn_unused_result));

/* One feature as the model shows it. */
struct appmodel_feature {
	int64_t id;         /* feature_keys.id */
	char *key;          /* the interned key */
	char *name;         /* founder name, else provider name, else rule name */
	int64_t merged_into; /* 0 = itself */
	int hidden;
	int core;           /* effective: explicit choice or automatic */
	int core_explicit;  /* 1 when the founder chose (either way) */
	int64_t users_30d;  /* distinct users in the last 30 days (for the review page) */
	int64_t days_30d;   /* user-days used in the last 30 days */
	int renamed;        /* 1 when name is the founder's */
};
struct appmodel {
	struct appmodel_feature *f;
	size_t n;
	int reviewed; /* 1 when the founder marked any feature core explicitly (one that is not hidden) */
};

/* Loads the model of tx's workspace at day `today` (user_daily day numbers). Returns 0
 * or -1. Free with appmodel_free. */
int appmodel_load(struct store_tx *tx, int64_t today, struct appmodel *out) __attribute__((warn_unused_result));
/* appmodel_load without the distinct-user counts (users_30d stays 0; everything else,
 * the core set included, is the same): about half the read on SQLite and a sixth on
 * PostgreSQL for a big workspace. For the detector. */
int appmodel_load_core(struct store_tx *tx, int64_t today, struct appmodel *out) __attribute__((warn_unused_result));
void appmodel_free(struct appmodel *m);
/* The feature with id (borrowed from m), or NULL. */
const struct appmodel_feature *appmodel_find(const struct appmodel *m, int64_t id);
/* The effective feature id a raw feature id counts as (following merges), or 0 when
 * hidden. */
int64_t appmodel_effective(const struct appmodel *m, int64_t feature_id);
/* Fills ids with the effective core feature ids (sorted, distinct); returns how many
 * (at most cap). */
size_t appmodel_core_ids(const struct appmodel *m, int64_t *ids, size_t cap);

/* Founder edits (write transaction of the workspace). Each returns 0, 1 when the
 * feature does not exist or the edit is invalid (merging into itself or a cycle, a name
 * over APPMODEL_NAME_MAX bytes or with control characters), or -1 (store error). */
#define APPMODEL_NAME_MAX 80
/* 1 when name p[0..n) is acceptable: valid UTF-8, no control characters, at most
 * APPMODEL_NAME_MAX bytes. */
int appmodel_name_ok(const char *p, size_t n);
int appmodel_rename(struct store_tx *tx, int64_t feature_id, const char *name) __attribute__((warn_unused_result));
int appmodel_merge(struct store_tx *tx, int64_t feature_id, int64_t into_id) __attribute__((warn_unused_result));
int appmodel_unmerge(struct store_tx *tx, int64_t feature_id) __attribute__((warn_unused_result));
int appmodel_set_hidden(struct store_tx *tx, int64_t feature_id, int hidden) __attribute__((warn_unused_result));
/* core: 1 core, 0 not core, -1 back to automatic. */
int appmodel_set_core(struct store_tx *tx, int64_t feature_id, int core) __attribute__((warn_unused_result));

#endif
