/* Audit logs: append-only, HMAC-chained records of security-relevant actions.
 *
 * Two kinds of log:
 *   installation log  table install_audit (global): sign-in failures, staff actions,
 *                     workspace deletions, CLI actions. Survives workspace deletion.
 *   workspace log     table workspace_audit (tenant, one chain per workspace): sign-ins,
 *                     2FA changes, session revocations, role and invite changes, key
 *                     rotations, settings changes, reads under a staff access grant.
 *                     Deleted with its workspace (ON DELETE CASCADE).
 *
 * Chain: rows are numbered seq = 1, 2, 3… per log without gaps. Row n carries
 *   mac_n = HMAC-SHA256(K(key_id_n), mac_{n-1} || canonical(row n)),  mac_0 = 32 zero bytes,
 * where K(id) = keyring_derive(kr, id, KEYRING_PURPOSE_AUDIT) and canonical() is the
 * length-prefixed encoding of (log kind, log workspace id, seq, at, actor kind, actor id,
 * action, target, detail, ip, workspace id, key id) (audit.c, audit_canonical). The key
 * id is stored in each row, so rows written before a key rotation still verify as long
 * as the keyring keeps that key: `keys retire` must not retire a key id that an audit
 * row uses. Rewriting a row, or deleting / reordering rows, needs the master key to go
 * unnoticed. What a chain cannot show by itself is a cut-off tail (the newest rows
 * deleted): `dropfix audit verify` prints each log's head (seq + mac prefix) so an
 * operator can compare it with an earlier run.
 *
 * Appends are serialised per log: SQLite's single writer already does it; on
 * PostgreSQL the append takes a transaction-scoped advisory lock for its log before
 * reading the head, so concurrent appends from many connections form one gap-free
 * chain. The lock is held until the caller's transaction ends.
 *
 * Nothing secret goes into a row: detail is a small JSON object whose keys may not
 * name passwords, secrets or tokens (checked), and the ip column is filled only where
 * the caller is allowed to record an address (it may be left empty). */
#ifndef DROPFIX_AUDIT_H
#define DROPFIX_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"
#include "core/str.h"
#include "crypto/keyring.h"
#include "store/store.h"

#define AUDIT_MAC_BYTES 32
#define AUDIT_MAC_HEX (2 * AUDIT_MAC_BYTES)
#define AUDIT_ACTION_MAX 40 /* bytes of the longest action name */

/* Who acted. ACCOUNT and STAFF carry an account id >= 1; CLI and SYSTEM carry 0. */
enum audit_actor {
	AUDIT_ACTOR_SYSTEM = 0, /* the server itself (jobs, expiry) */
	AUDIT_ACTOR_ACCOUNT,    /* a signed-in founder or team member */
	AUDIT_ACTOR_STAFF,      /* an operator (staff) account */
	AUDIT_ACTOR_CLI,        /* the operator CLI on the host */
};

/* Which logs an action may be written to (bit set). */
enum { AUDIT_LOG_INSTALL = 1 << 0, AUDIT_LOG_WS = 1 << 1 };

struct audit_action {
	const char *name; /* short dotted name, e.g. "auth.signin" */
	unsigned logs;    /* AUDIT_LOG_* */
};

/* The fixed list of actions (audit.c), terminated by a zeroed entry. */
extern const struct audit_action audit_actions[];

/* One event to append. Strings are borrowed and NUL-terminated. */
struct audit_event {
	enum audit_actor actor_kind;
	int64_t actor_id;     /* account id (ACCOUNT, STAFF) or 0 (CLI, SYSTEM) */
	const char *action;   /* a name from audit_actions[] allowed in this log */
	const char *target;   /* what was acted on (e-mail, role, setting name…); NULL = "".
	                       * May come from input: invalid UTF-8 is replaced by U+FFFD and
	                       * the text cut to LIMIT_AUDIT_TARGET bytes before it is stored. */
	const char *detail;   /* a JSON object, at most LIMIT_AUDIT_DETAIL bytes; NULL = "{}".
	                       * Stored byte for byte as given. */
	const char *ip;       /* client address as text (IPv4/IPv6), or NULL/"" */
	int64_t workspace_id; /* installation log only: the workspace concerned, 0 = none.
	                       * Ignored for workspace logs (the transaction's workspace). */
};

/* Returns the entry for action name, or NULL when it is not in the list. */
const struct audit_action *audit_action_find(const char *name);

/* Name of an actor kind ("system", "account", "staff", "cli"). */
const char *audit_actor_name(enum audit_actor k);

/* Checks e for the given log (AUDIT_LOG_INSTALL or AUDIT_LOG_WS) without touching the
 * database: known action allowed in that log, actor kind/id consistent, target and ip
 * within limits and well-formed, detail a JSON object within limits with no key naming
 * a password, secret or token. Returns 0, or -1 with a one-line reason in why. */
int audit_event_check(const struct audit_event *e, unsigned log, char *why, size_t whylen)
    __attribute__((warn_unused_result));

/* Appends e to the installation log inside global_tx (a global STORE_WRITE
 * transaction), so the row commits or rolls back with the action it records. Uses the
 * keyring's active key. On PostgreSQL takes the installation log's advisory lock first.
 * Returns 0, or -1: an invalid event or a damaged log head (logged; the transaction is
 * left untouched and store_errcode is not set) or a store failure (the transaction is
 * poisoned; store_errcode tells). On -1 the caller rolls back: the action it meant to
 * record must not commit unrecorded. */
int audit_append_install(struct store_tx *global_tx, const struct keyring *kr, const struct audit_event *e)
    __attribute__((warn_unused_result));
/* Same for the workspace log of ws_tx's workspace (a workspace STORE_WRITE
 * transaction). e->workspace_id is ignored. */
int audit_append_ws(struct store_tx *ws_tx, const struct keyring *kr, const struct audit_event *e)
    __attribute__((warn_unused_result));

/* ---- Verification (CLI maintenance path: `dropfix audit verify`) ---- */

struct audit_verify {
	int ok;                           /* 1: every row verified */
	int64_t rows;                     /* rows read */
	int64_t head_seq;                 /* last verified seq (0 when empty or when row 1 failed) */
	char head_mac[AUDIT_MAC_HEX + 1]; /* its mac ("" when none) */
	int64_t bad_seq;                  /* !ok: the first bad or missing seq */
	char why[200];                    /* !ok: what is wrong with it */
};

/* Recomputes the installation chain inside global_tx (read or write). Returns 0 when
 * the check ran (res->ok says whether the chain holds), -1 on a store failure. */
int audit_verify_install(struct store_tx *global_tx, const struct keyring *kr, struct audit_verify *res)
    __attribute__((warn_unused_result));
/* Same for the workspace log of ws_tx's workspace. */
int audit_verify_ws(struct store_tx *ws_tx, const struct keyring *kr, struct audit_verify *res)
    __attribute__((warn_unused_result));

/* Maintenance (CLI/worker only): counts the audit rows, in the installation log and in
 * every workspace log, whose mac was made under master key key_id (one transaction
 * per log, on the caller's connection, none open). Audit rows are never re-keyed, so a
 * key they use must stay in the keyring for `audit verify`: `keys retire` should refuse
 * a key with *rows > 0. Returns 0 and *rows, or -1 (store_errcode). */
int audit_key_rows(struct store_conn *c, uint32_t key_id, int64_t *rows) __attribute__((warn_unused_result));

/* ---- Reading and exporting (dashboard for owners and admins, CLI) ---- */

struct audit_filter {
	const char *action_prefix; /* "auth." or a whole name; NULL or "" = every action */
	int64_t actor_id;          /* -1 = any actor; otherwise that id (0 = CLI/system) */
	int64_t since_ms;          /* at >= since_ms (0 = no lower bound) */
	int64_t until_ms;          /* at < until_ms (0 = no upper bound) */
	int64_t limit;             /* rows, 1..LIMIT_AUDIT_QUERY_ROWS; 0 = LIMIT_ROWS_PER_PAGE */
	int64_t offset;            /* rows skipped, >= 0 */
	int oldest_first;          /* 0: newest first (seq descending); 1: ascending */
};

/* The default filter (every row, newest first, LIMIT_ROWS_PER_PAGE rows). */
#define AUDIT_FILTER_ALL ((struct audit_filter){.actor_id = -1})

/* One stored row as read back; every string is owned (NUL-terminated, may contain any
 * byte but NUL, since stored rows are not trusted). */
struct audit_row {
	int64_t seq, at;
	char *actor_kind; /* "account", "staff", "cli", "system" (as stored) */
	int64_t actor_id;
	char *action;
	char *target;
	char *detail;
	char *ip;
	int64_t workspace_id; /* installation rows: the workspace concerned (0 = none);
	                       * workspace rows: the log's workspace */
	int64_t key_id;
	char *mac;
};

struct audit_rows {
	struct audit_row *v;
	size_t n;
};

/* Reads rows matching f from the installation log (global_tx) or the workspace log
 * (ws_tx) into *out (owned; free with audit_rows_free). f may be NULL
 * (AUDIT_FILTER_ALL). Returns 0, or -1 (bad filter: store_errcode untouched; or a
 * store failure). */
int audit_query_install(struct store_tx *global_tx, const struct audit_filter *f, struct audit_rows *out)
    __attribute__((warn_unused_result));
int audit_query_ws(struct store_tx *ws_tx, const struct audit_filter *f, struct audit_rows *out)
    __attribute__((warn_unused_result));
/* Frees the rows and zeroes *r. Accepts NULL and a zeroed struct. */
void audit_rows_free(struct audit_rows *r);

enum audit_format { AUDIT_CSV = 0, AUDIT_JSONL };

/* Appends one CSV field to out: RFC 4180 quoting (double quotes when the field holds a
 * comma, quote, CR or LF; inner quotes doubled), and spreadsheet-formula neutralisation:
 * a field whose first byte is '=', '+', '-', '@', TAB or CR, or whose first byte after
 * leading whitespace is one of '=', '+', '-', '@', gets a single quote (') prepended.
 * Returns 0 or -1 (out of memory / buffer limit). */
int audit_csv_field(struct buf *out, const char *s, size_t n);

/* Renders rows as CSV (header line first when header is 1; CRLF line ends) or as JSON
 * lines (one object per row: seq, at (RFC 3339), at_ms, actor {kind, id}, action,
 * target, detail (the stored object, or its text when it is not valid JSON), ip, and
 * workspace_id for installation rows when install is 1). Appends to out. Returns 0 or -1. */
int audit_render(struct buf *out, const struct audit_row *rows, size_t n, enum audit_format fmt, int install,
                 int header) __attribute__((warn_unused_result));

/* Export: reads every row matching f (its limit and offset are ignored; newest first
 * unless f->oldest_first) page by page, at most LIMIT_AUDIT_EXPORT_ROWS rows, and
 * renders them into out (CSV with a header, or JSON lines). *truncated is set to 1
 * when rows were left out by that cap. Returns 0 or -1. */
int audit_export_install(struct store_tx *global_tx, const struct audit_filter *f, enum audit_format fmt,
                         struct buf *out, int *truncated) __attribute__((warn_unused_result));
int audit_export_ws(struct store_tx *ws_tx, const struct audit_filter *f, enum audit_format fmt,
                    struct buf *out, int *truncated) __attribute__((warn_unused_result));

/* Appends in[0..n) to out with every invalid UTF-8 sequence (overlong, surrogate, above
 * U+10FFFF, truncated) replaced by U+FFFD, stopping before the character that would
 * take the appended bytes past max (0 = no cap). Returns 0 or -1. */
int audit_utf8_clean(struct buf *out, const char *in, size_t n, size_t max)
    __attribute__((warn_unused_result));

/* Appends s (n bytes) for a terminal: control characters (C0, DEL, and UTF-8 encoded
 * C1), quotes and backslashes escaped. Returns 0 or -1. */
int audit_put_escaped(struct buf *out, const char *s, size_t n);

#endif
