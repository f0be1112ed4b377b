/* THE registry of sealed columns: every database column that holds a sealed value
 * (src/crypto/seal.h) is listed in sealed_columns[] (sealed_columns.c), with what it
 * takes to rebuild the value's associated data and to rewrite it in place.
 *
 * `dropfix keys rotate|verify|list|retire` and the backup checks walk this list, so a
 * sealed column missing from it would keep the old key forever (and block `keys
 * retire`). tests/unit/test_sealed_columns.c fails when a migration declares a column
 * named `sealed` or `*_sealed` that is not registered here, or when an entry does not
 * match the schema.
 *
 * To register a column, add one entry to sealed_columns[] giving:
 *   table, column   where the sealed text lives ([a-z0-9_] names);
 *   scope           "workspace", "account" or "installation" (the AD scope);
 *   scope_col       the integer column holding the scope id (workspace_id, the account
 *                   id), or NULL for installation scope (scope id 0);
 *   row_key         the column the AD row key is built from and its type: TEXT is used
 *                   as stored, I64 as its decimal form, BLOB as lowercase hex;
 *   pk              the primary key columns and types (the UPDATE's WHERE, and the
 *                   order a batch walk follows);
 *   key_id_col      a TEXT column that mirrors the value's key id in decimal (kept in
 *                   step on re-seal), or NULL.
 * Code that seals into the column must build its struct seal_ad the same way
 * (sealed_row_ad shows how). */
#ifndef DROPFIX_SEALED_COLUMNS_H
#define DROPFIX_SEALED_COLUMNS_H

#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"
#include "store/store.h"

struct seal_ad;

#define SEALED_MAX_PK 3

struct sealed_col_ref {
	const char *name;     /* NULL ends a pk list */
	enum store_type type; /* STORE_T_I64, STORE_T_TEXT or STORE_T_BLOB */
};

struct sealed_column {
	const char *table;
	const char *column;
	const char *scope;
	const char *scope_col;
	struct sealed_col_ref row_key;
	struct sealed_col_ref pk[SEALED_MAX_PK + 1];
	const char *key_id_col;
};

/* The registry, ended by an entry whose table is NULL. */
extern const struct sealed_column sealed_columns[];

/* The entry for table.column, or NULL. */
const struct sealed_column *sealed_column_find(const char *table, const char *column);

/* Checks an entry's shape: names are [a-z_][a-z0-9_]* (they are pasted into SQL),
 * scope known, scope_col present unless installation scope, 1..SEALED_MAX_PK key
 * columns. Returns 0, or -1 with a reason in why. */
int sealed_column_check(const struct sealed_column *col, char *why, size_t whylen)
    __attribute__((warn_unused_result));

/* One row of a sealed column: its primary key (owned copies), scope id, row key and
 * sealed text. */
struct sealed_row {
	struct store_param pk[SEALED_MAX_PK];
	size_t npk;
	int64_t scope_id;
	char row_key[2 * LIMIT_SEAL_AD_FIELD + 1];
	char *text;
};

struct sealed_batch {
	struct sealed_row *rows;
	size_t n;
};

/* Where a batch walk resumes: after this primary key (owned copies). */
struct sealed_cursor {
	int started;
	struct store_param pk[SEALED_MAX_PK];
	size_t npk;
};

/* Reads up to limit (1..10000) rows of col with a non-NULL value whose primary key
 * comes after *cur (from the start when cur->started is 0), in primary key order, and
 * advances *cur past them. tx must be a maintenance transaction (store_maint_begin).
 * Returns 0 and *out (empty when the walk is over; free with sealed_batch_free), or -1
 * (store_errcode on the transaction's connection; STORE_OK there means out of memory). */
int sealed_batch_fetch(struct store_tx *tx, const struct sealed_column *col, struct sealed_cursor *cur,
                       size_t limit, struct sealed_batch *out) __attribute__((warn_unused_result));
void sealed_batch_free(struct sealed_batch *b);
void sealed_cursor_free(struct sealed_cursor *cur);

/* Fills ad (pointing into col and row) for a row of col. */
void sealed_row_ad(const struct sealed_column *col, const struct sealed_row *row, struct seal_ad *ad);

/* Replaces the row's sealed text with new_text (and the key id mirror with key_id)
 * only if it still holds row->text. tx must be a maintenance write transaction.
 * Returns 1 replaced, 0 the value changed meanwhile (left alone), -1 error. */
int sealed_row_update(struct store_tx *tx, const struct sealed_column *col, const struct sealed_row *row,
                      const char *new_text, uint32_t key_id) __attribute__((warn_unused_result));

/* Rows per sealed_rows_update statement. */
#define SEALED_UPDATE_MAX 200

/* sealed_row_update for n rows (1..SEALED_UPDATE_MAX) in one statement: rows[i] gets
 * new_texts[i] if it still holds rows[i]->text. Returns how many were replaced (the
 * others changed meanwhile), or -1 error. */
int sealed_rows_update(struct store_tx *tx, const struct sealed_column *col,
                       const struct sealed_row *const *rows, const char *const *new_texts, size_t n,
                       uint32_t key_id) __attribute__((warn_unused_result));

#endif
