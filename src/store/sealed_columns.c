/* The registry of sealed columns (see sealed_columns.h for what an entry means) and the
 * batch walk over them that `dropfix keys` and the backup checks share. The SQL here is
 * built from the registry's own compile-time names (checked by sealed_column_check),
 * never from input, and runs only in maintenance transactions. */
#include "store/sealed_columns.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "crypto/seal.h"

/* THE list. Add an entry here for every new sealed column (sealed_columns.h). */
const struct sealed_column sealed_columns[] = {
    /* Integration secrets (Stripe keys, Gmail/Slack tokens, webhook secrets, AI key):
     * AD v1|workspace|<workspace_id>|workspace_secrets|sealed|<row_key>. */
    {
        .table = "workspace_secrets",
        .column = "sealed",
        .scope = "workspace",
        .scope_col = "workspace_id",
        .row_key = {"row_key", STORE_T_TEXT},
        .pk = {{"workspace_id", STORE_T_I64}, {"name", STORE_T_TEXT}},
        .key_id_col = "key_id",
    },
    /* Ingestion signing secrets the server must read back (sk_ keys):
     * AD v1|workspace|<workspace_id>|workspace_keys|sealed|<lowercase hex of key_hash>. */
    {
        .table = "workspace_keys",
        .column = "sealed",
        .scope = "workspace",
        .scope_col = "workspace_id",
        .row_key = {"key_hash", STORE_T_BLOB},
        .pk = {{"key_hash", STORE_T_BLOB}},
        .key_id_col = NULL,
    },
    /* TOTP seeds: AD v1|account|<id>|accounts|totp_sealed|<id in decimal>. */
    {
        .table = "accounts",
        .column = "totp_sealed",
        .scope = "account",
        .scope_col = "id",
        .row_key = {"id", STORE_T_I64},
        .pk = {{"id", STORE_T_I64}},
        .key_id_col = NULL,
    },
    /* Tracked users' name and e-mail (PRODUCT §4; src/ingest/ingest_writer.c):
     * AD v1|workspace|<workspace_id>|tracked_users|name_sealed or email_sealed|<row_key>
     * (row_key: the user id, or "h." + hex SHA-256 of it when it is not AD-safe). */
    {
        .table = "tracked_users",
        .column = "name_sealed",
        .scope = "workspace",
        .scope_col = "workspace_id",
        .row_key = {"row_key", STORE_T_TEXT},
        .pk = {{"workspace_id", STORE_T_I64}, {"user_id", STORE_T_TEXT}},
        .key_id_col = NULL,
    },
    {
        .table = "tracked_users",
        .column = "email_sealed",
        .scope = "workspace",
        .scope_col = "workspace_id",
        .row_key = {"row_key", STORE_T_TEXT},
        .pk = {{"workspace_id", STORE_T_I64}, {"user_id", STORE_T_TEXT}},
        .key_id_col = NULL,
    },
    /* Founder notes on a tracked user (src/web/, issue 6): AD
     * v1|workspace|<workspace_id>|user_notes|body_sealed|<id>. */
    {
        .table = "user_notes",
        .column = "body_sealed",
        .scope = "workspace",
        .scope_col = "workspace_id",
        .row_key = {"id", STORE_T_I64},
        .pk = {{"workspace_id", STORE_T_I64}, {"id", STORE_T_I64}},
        .key_id_col = NULL,
    },
    {0},
};

const struct sealed_column *sealed_column_find(const char *table, const char *column)
{
	for (const struct sealed_column *c = sealed_columns; c->table; c++)
		if (strcmp(c->table, table) == 0 && strcmp(c->column, column) == 0)
			return c;
	return NULL;
}

static int ident_ok(const char *s)
{
	if (!s || !s[0] || strlen(s) > 63)
		return 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return 1;
}

static int type_ok(enum store_type t)
{
	return t == STORE_T_I64 || t == STORE_T_TEXT || t == STORE_T_BLOB;
}

int sealed_column_check(const struct sealed_column *col, char *why, size_t whylen)
{
	const char *t = col->table ? col->table : "?";
	if (!ident_ok(col->table) || !ident_ok(col->column)) {
		snprintf(why, whylen, "%s: table and column must be [a-z_][a-z0-9_]*", t);
		return -1;
	}
	int inst = col->scope && strcmp(col->scope, "installation") == 0;
	if (!col->scope ||
	    (!inst && strcmp(col->scope, "workspace") != 0 && strcmp(col->scope, "account") != 0)) {
		snprintf(why, whylen, "%s.%s: scope must be workspace, account or installation", t,
		         col->column);
		return -1;
	}
	if (inst ? col->scope_col != NULL : !ident_ok(col->scope_col)) {
		snprintf(why, whylen,
		         "%s.%s: scope_col must name the scope id column (NULL only for installation)", t,
		         col->column);
		return -1;
	}
	if (!ident_ok(col->row_key.name) || !type_ok(col->row_key.type)) {
		snprintf(why, whylen, "%s.%s: bad row_key", t, col->column);
		return -1;
	}
	size_t npk = 0;
	while (npk < SEALED_MAX_PK && col->pk[npk].name) {
		if (!ident_ok(col->pk[npk].name) || !type_ok(col->pk[npk].type)) {
			snprintf(why, whylen, "%s.%s: bad primary key column", t, col->column);
			return -1;
		}
		npk++;
	}
	if (npk == 0 || col->pk[SEALED_MAX_PK].name) {
		snprintf(why, whylen, "%s.%s: 1 to %d primary key columns", t, col->column, SEALED_MAX_PK);
		return -1;
	}
	if (col->key_id_col && !ident_ok(col->key_id_col)) {
		snprintf(why, whylen, "%s.%s: bad key_id_col", t, col->column);
		return -1;
	}
	return 0;
}

static size_t pk_count(const struct sealed_column *col)
{
	size_t n = 0;
	while (n < SEALED_MAX_PK && col->pk[n].name)
		n++;
	return n;
}

/* ---- Owned parameter copies ---- */

static void param_free(struct store_param *p)
{
	if (p->type == STORE_T_TEXT || p->type == STORE_T_BLOB)
		free((void *)p->p);
	memset(p, 0, sizeof(*p));
}

/* Copies column i of the current row as a parameter of type t. 0 or -1. */
static int param_from_col(struct store_rows *r, int i, enum store_type t, struct store_param *out)
{
	memset(out, 0, sizeof(*out));
	out->type = t;
	if (t == STORE_T_I64) {
		out->i = store_col_i64(r, i);
		return 0;
	}
	size_t n = 0;
	const void *v = t == STORE_T_TEXT ? (const void *)store_col_text(r, i, &n) : store_col_blob(r, i, &n);
	char *copy = malloc(n + 1);
	if (!copy)
		return -1;
	if (n)
		memcpy(copy, v, n);
	copy[n] = '\0';
	out->p = copy;
	out->n = n;
	return 0;
}

static int param_copy(const struct store_param *src, struct store_param *dst)
{
	*dst = *src;
	if (src->type != STORE_T_TEXT && src->type != STORE_T_BLOB)
		return 0;
	char *copy = malloc(src->n + 1);
	if (!copy) {
		memset(dst, 0, sizeof(*dst));
		return -1;
	}
	if (src->n)
		memcpy(copy, src->p, src->n);
	copy[src->n] = '\0';
	dst->p = copy;
	return 0;
}

void sealed_cursor_free(struct sealed_cursor *cur)
{
	if (!cur)
		return;
	for (size_t i = 0; i < cur->npk; i++)
		param_free(&cur->pk[i]);
	memset(cur, 0, sizeof(*cur));
}

void sealed_batch_free(struct sealed_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++) {
		for (size_t k = 0; k < b->rows[i].npk; k++)
			param_free(&b->rows[i].pk[k]);
		free(b->rows[i].text);
	}
	free(b->rows);
	memset(b, 0, sizeof(*b));
}

/* ---- SQL ---- */

static void put_pk_list(struct buf *b, const struct sealed_column *col, size_t npk)
{
	for (size_t i = 0; i < npk; i++)
		buf_printf(b, "%s%s", i ? ", " : "", col->pk[i].name);
}

int sealed_batch_fetch(struct store_tx *tx, const struct sealed_column *col, struct sealed_cursor *cur,
                       size_t limit, struct sealed_batch *out)
{
	struct buf sql, list, cond;
	struct store_rows *r = NULL;
	struct store_param args[SEALED_MAX_PK];
	size_t npk = pk_count(col), nargs = 0;
	int rc = -1;
	memset(out, 0, sizeof(*out));
	if (limit == 0 || limit > 10000)
		limit = 10000;
	buf_init(&sql, 0);
	buf_init(&list, 0);
	buf_init(&cond, 0);
	put_pk_list(&list, col, npk);
	if (cur->started) {
		buf_printf(&cond, " AND (%s) > (", list.p);
		for (size_t i = 0; i < npk; i++) {
			buf_printf(&cond, "%s$%zu", i ? ", " : "", i + 1);
			args[nargs++] = cur->pk[i];
		}
		buf_putc(&cond, ')');
	}
	buf_printf(
	    &sql,
	    "SELECT %s, %s, %s, %s FROM %s WHERE %s IS NOT NULL%s ORDER BY %s LIMIT %zu /*cross-tenant*/",
	    list.p, col->scope_col ? col->scope_col : "0", col->row_key.name, col->column, col->table,
	    col->column, cond.p ? cond.p : "", list.p, limit);
	if (list.oom || cond.oom || sql.oom || !sql.p)
		goto done; /* out of memory: the caller reports it when the store has no error */
	if (store_query(tx, sql.p, nargs ? args : NULL, nargs, &r) < 0)
		goto done;
	out->rows = calloc(limit, sizeof(*out->rows));
	if (!out->rows)
		goto done;
	int st;
	int ci = (int)npk;
	while ((st = store_step(r)) == 1) {
		struct sealed_row *row = &out->rows[out->n];
		for (size_t i = 0; i < npk; i++) {
			if (param_from_col(r, (int)i, col->pk[i].type, &row->pk[i]) < 0)
				goto done;
			row->npk++;
		}
		out->n++;
		row->scope_id = col->scope_col ? store_col_i64(r, ci) : 0;
		struct sealed_col_ref rk = col->row_key;
		if (rk.type == STORE_T_I64) {
			snprintf(row->row_key, sizeof(row->row_key), "%" PRId64, store_col_i64(r, ci + 1));
		} else {
			size_t n = 0;
			const uint8_t *v = rk.type == STORE_T_TEXT
			                       ? (const uint8_t *)store_col_text(r, ci + 1, &n)
			                       : store_col_blob(r, ci + 1, &n);
			if (rk.type == STORE_T_TEXT) {
				/* an over-long row key fails to open later, so it is cut, not trusted */
				size_t k = n < sizeof(row->row_key) - 1 ? n : sizeof(row->row_key) - 1;
				if (k)
					memcpy(row->row_key, v, k);
				row->row_key[k] = '\0';
			} else {
				static const char hx[] = "0123456789abcdef";
				size_t k = 0;
				for (size_t i = 0; i < n && k + 2 < sizeof(row->row_key); i++) {
					row->row_key[k++] = hx[v[i] >> 4];
					row->row_key[k++] = hx[v[i] & 15];
				}
				row->row_key[k] = '\0';
			}
		}
		size_t tn = 0;
		const char *text = store_col_text(r, ci + 2, &tn);
		row->text = malloc(tn + 1);
		if (!row->text)
			goto done;
		if (tn)
			memcpy(row->text, text, tn);
		row->text[tn] = '\0';
	}
	if (st < 0)
		goto done;
	if (out->n > 0) {
		struct sealed_cursor next = {.started = 1};
		const struct sealed_row *last = &out->rows[out->n - 1];
		for (size_t i = 0; i < npk; i++) {
			if (param_copy(&last->pk[i], &next.pk[i]) < 0) {
				sealed_cursor_free(&next);
				goto done;
			}
			next.npk++;
		}
		sealed_cursor_free(cur);
		*cur = next;
	}
	rc = 0;
done:
	store_rows_close(r);
	if (rc < 0)
		sealed_batch_free(out);
	buf_free(&sql);
	buf_free(&list);
	buf_free(&cond);
	return rc;
}

void sealed_row_ad(const struct sealed_column *col, const struct sealed_row *row, struct seal_ad *ad)
{
	ad->scope = col->scope;
	ad->scope_id = row->scope_id;
	ad->table = col->table;
	ad->column = col->column;
	ad->row_key = row->row_key;
}

int sealed_row_update(struct store_tx *tx, const struct sealed_column *col, const struct sealed_row *row,
                      const char *new_text, uint32_t key_id)
{
	struct buf sql;
	struct store_param args[3 + SEALED_MAX_PK];
	char kid[16];
	size_t n = 0;
	int rc = -1;
	buf_init(&sql, 0);
	args[n++] = SP_TEXT(new_text);
	args[n++] = SP_TEXT(row->text);
	snprintf(kid, sizeof(kid), "%" PRIu32, key_id);
	if (col->key_id_col) {
		args[n++] = SP_TEXT(kid);
		buf_printf(&sql, "UPDATE %s SET %s = $1, %s = $3 WHERE %s = $2 /*cross-tenant*/", col->table,
		           col->column, col->key_id_col, col->column);
	} else {
		buf_printf(&sql, "UPDATE %s SET %s = $1 WHERE %s = $2 /*cross-tenant*/", col->table,
		           col->column, col->column);
	}
	for (size_t i = 0; i < row->npk; i++) {
		args[n] = row->pk[i];
		n++;
		buf_printf(&sql, " AND %s = $%zu", col->pk[i].name, n);
	}
	if (sql.oom || !sql.p)
		goto done;
	if (store_exec(tx, sql.p, args, n) < 0)
		goto done;
	rc = store_changes(tx) > 0 ? 1 : 0;
done:
	buf_free(&sql);
	return rc;
}

int sealed_rows_update(struct store_tx *tx, const struct sealed_column *col,
                       const struct sealed_row *const *rows, const char *const *new_texts, size_t n,
                       uint32_t key_id)
{
	struct buf sql, vals;
	struct store_param *args = NULL;
	char kid[16];
	size_t npk = pk_count(col), k = 0;
	int rc = -1;
	if (n == 0)
		return 0;
	if (n > SEALED_UPDATE_MAX)
		return -1;
	buf_init(&sql, 0);
	buf_init(&vals, 0);
	args = calloc(1 + n * (npk + 2), sizeof(*args));
	if (!args)
		goto done;
	snprintf(kid, sizeof(kid), "%" PRIu32, key_id);
	if (col->key_id_col)
		args[k++] = SP_TEXT(kid);
	/* one VALUES tuple per row: primary key…, old text, new text */
	for (size_t r = 0; r < n; r++) {
		buf_puts(&vals, r ? ", (" : "(");
		for (size_t i = 0; i < npk; i++) {
			args[k++] = rows[r]->pk[i];
			buf_printf(&vals, "$%zu, ", k);
		}
		args[k++] = SP_TEXT(rows[r]->text);
		args[k++] = SP_TEXT(new_texts[r]);
		buf_printf(&vals, "$%zu, $%zu)", k - 1, k);
	}
	buf_printf(&sql, "UPDATE %s SET %s = v.column%zu", col->table, col->column, npk + 2);
	if (col->key_id_col)
		buf_printf(&sql, ", %s = $1", col->key_id_col);
	buf_printf(&sql, " FROM (VALUES %s) AS v WHERE %s.%s = v.column%zu /*cross-tenant*/",
	           vals.p ? vals.p : "", col->table, col->column, npk + 1);
	for (size_t i = 0; i < npk; i++)
		buf_printf(&sql, " AND %s.%s = v.column%zu", col->table, col->pk[i].name, i + 1);
	if (sql.oom || vals.oom || !sql.p)
		goto done;
	if (store_exec(tx, sql.p, args, k) < 0)
		goto done;
	int64_t changed = store_changes(tx);
	rc = changed < 0 ? 0 : changed > (int64_t)n ? (int)n : (int)changed;
done:
	free(args);
	buf_free(&sql);
	buf_free(&vals);
	return rc;
}
