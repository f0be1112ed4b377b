/* Audit logs: validation, the chain (canonical encoding + HMAC), appends and
 * verification. Reading, rendering and export live in audit_export.c. */
#include "audit/audit.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/utf8.h"

/* PostgreSQL advisory lock keys: the top byte 'A' keeps them apart from the store's
 * migration lock; the low 53 bits are the workspace id (0 = the installation log). */
#define AUDIT_LOCK_BASE INT64_C(0x4100000000000000)

#define VERIFY_PAGE 1000

/* The fields of one row that the mac covers, as borrowed byte ranges. */
struct audit_fields {
	int64_t log_ws; /* 0: the installation log; else the workspace whose log it is */
	int64_t seq, at;
	struct str actor_kind;
	int64_t actor_id;
	struct str action, target, detail, ip;
	int64_t workspace_id;
	int64_t key_id;
};

const struct audit_action audit_actions[] = {
    /* sign-in and account security */
    {"auth.signin", AUDIT_LOG_INSTALL | AUDIT_LOG_WS},
    {"auth.signin_failed", AUDIT_LOG_INSTALL | AUDIT_LOG_WS},
    {"auth.signout", AUDIT_LOG_INSTALL | AUDIT_LOG_WS},
    {"auth.password_changed", AUDIT_LOG_INSTALL | AUDIT_LOG_WS},
    {"auth.password_reset", AUDIT_LOG_INSTALL | AUDIT_LOG_WS},
    {"auth.email_changed", AUDIT_LOG_INSTALL | AUDIT_LOG_WS},
    {"2fa.enabled", AUDIT_LOG_INSTALL | AUDIT_LOG_WS},
    {"2fa.disabled", AUDIT_LOG_INSTALL | AUDIT_LOG_WS},
    {"2fa.recovery_used", AUDIT_LOG_INSTALL | AUDIT_LOG_WS},
    {"2fa.recovery_regenerated", AUDIT_LOG_INSTALL | AUDIT_LOG_WS},
    {"session.revoked", AUDIT_LOG_INSTALL | AUDIT_LOG_WS},
    {"session.revoked_all", AUDIT_LOG_INSTALL | AUDIT_LOG_WS},
    /* team */
    {"member.added", AUDIT_LOG_WS},
    {"member.removed", AUDIT_LOG_WS},
    {"member.role_changed", AUDIT_LOG_WS},
    {"invite.created", AUDIT_LOG_WS},
    {"invite.revoked", AUDIT_LOG_WS},
    {"invite.accepted", AUDIT_LOG_WS},
    /* keys, settings, integrations */
    {"keys.rotated", AUDIT_LOG_INSTALL | AUDIT_LOG_WS},
    {"keys.retired", AUDIT_LOG_INSTALL},
    {"apitoken.created", AUDIT_LOG_WS},
    {"apitoken.revoked", AUDIT_LOG_WS},
    {"settings.changed", AUDIT_LOG_INSTALL | AUDIT_LOG_WS},
    {"integration.connected", AUDIT_LOG_WS},
    {"integration.disconnected", AUDIT_LOG_WS},
    /* app model (src/web/appmodel_page.c) */
    {"appmodel.renamed", AUDIT_LOG_WS},
    {"appmodel.merged", AUDIT_LOG_WS},
    {"appmodel.unmerged", AUDIT_LOG_WS},
    {"appmodel.hidden", AUDIT_LOG_WS},
    {"appmodel.unhidden", AUDIT_LOG_WS},
    {"appmodel.core_set", AUDIT_LOG_WS},
    /* signals (src/detect/, issue 6) */
    {"signal.dismissed", AUDIT_LOG_WS},
    /* founder notes on tracked users (src/web/user_page.c, issue 6) */
    {"note.added", AUDIT_LOG_WS},
    /* data */
    {"data.exported", AUDIT_LOG_WS},
    {"data.read_under_grant", AUDIT_LOG_WS},
    {"user.exported", AUDIT_LOG_WS},
    {"user.erased", AUDIT_LOG_WS},
    {"audit.exported", AUDIT_LOG_INSTALL | AUDIT_LOG_WS},
    /* operator (staff) access */
    {"staff.grant_opened", AUDIT_LOG_INSTALL | AUDIT_LOG_WS},
    {"staff.grant_revoked", AUDIT_LOG_INSTALL | AUDIT_LOG_WS},
    {"staff.grant_expired", AUDIT_LOG_INSTALL | AUDIT_LOG_WS},
    {"staff.flag_set", AUDIT_LOG_INSTALL},
    {"staff.flag_cleared", AUDIT_LOG_INSTALL},
    /* installation */
    {"account.created", AUDIT_LOG_INSTALL},
    {"account.deleted", AUDIT_LOG_INSTALL},
    {"workspace.created", AUDIT_LOG_INSTALL},
    {"workspace.deleted", AUDIT_LOG_INSTALL},
    {"backup.created", AUDIT_LOG_INSTALL},
    {"backup.restored", AUDIT_LOG_INSTALL},
    {NULL, 0},
};

static const char *const actor_names[] = {"system", "account", "staff", "cli"};

const struct audit_action *audit_action_find(const char *name)
{
	if (!name)
		return NULL;
	for (const struct audit_action *a = audit_actions; a->name; a++)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

const char *audit_actor_name(enum audit_actor k)
{
	return (unsigned)k < sizeof(actor_names) / sizeof(actor_names[0]) ? actor_names[k] : "?";
}

/* ---- validation ---- */

int audit_utf8_clean(struct buf *out, const char *in, size_t n, size_t max)
{
	static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
	const unsigned char *s = (const unsigned char *)in;
	size_t added = 0;
	for (size_t i = 0; i < n;) {
		int r = utf8_decode(s + i, n - i, NULL);
		size_t len = r > 0 ? (size_t)r : 0;
		const char *piece = len ? (const char *)s + i : replacement;
		size_t plen = len ? len : 3;
		if (max && added + plen > max)
			break;
		buf_append(out, piece, plen);
		added += plen;
		i += len ? len : 1;
	}
	if (!out->p)
		buf_append(out, "", 0);
	return out->oom ? -1 : 0;
}

/* 1 when a detail key names something secret. */
static int secret_key_name(const char *k)
{
	char low[64];
	size_t n = strlen(k);
	if (n >= sizeof(low))
		n = sizeof(low) - 1;
	for (size_t i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)k[i]);
	low[n] = '\0';
	static const char *const parts[] = {"password", "passwd",        "secret",
	                                    "seed",     "recovery_code", "private_key"};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (strstr(low, parts[i]))
			return 1;
	if (strcmp(low, "token") == 0 || (n > 6 && strcmp(low + n - 6, "_token") == 0))
		return 1;
	return 0;
}

/* Walks v; returns the first secret-looking key or NULL. */
static const char *find_secret_key(json_t *v, int depth)
{
	if (depth > LIMIT_JSON_DEPTH)
		return "(too deep)";
	const char *k;
	json_t *child;
	size_t i;
	if (json_is_object(v)) {
		json_object_foreach(v, k, child)
		{
			if (secret_key_name(k))
				return k;
			const char *bad = find_secret_key(child, depth + 1);
			if (bad)
				return bad;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, child)
		{
			const char *bad = find_secret_key(child, depth + 1);
			if (bad)
				return bad;
		}
	}
	return NULL;
}

static int ip_ok(const char *ip)
{
	unsigned char a[16];
	size_t n = strlen(ip);
	if (n == 0)
		return 1;
	if (n > LIMIT_AUDIT_IP)
		return 0;
	return inet_pton(AF_INET, ip, a) == 1 || inet_pton(AF_INET6, ip, a) == 1;
}

int audit_event_check(const struct audit_event *e, unsigned log, char *why, size_t whylen)
{
	const struct audit_action *a = audit_action_find(e->action);
	if (!a) {
		snprintf(why, whylen, "unknown audit action '%.40s'", e->action ? e->action : "(null)");
		return -1;
	}
	if (!(a->logs & log)) {
		snprintf(why, whylen, "action %s does not belong in the %s log", a->name,
		         log == AUDIT_LOG_WS ? "workspace" : "installation");
		return -1;
	}
	switch (e->actor_kind) {
	case AUDIT_ACTOR_ACCOUNT:
	case AUDIT_ACTOR_STAFF:
		if (e->actor_id < 1 || e->actor_id >= (INT64_C(1) << 53)) {
			snprintf(why, whylen, "an %s actor needs an account id",
			         audit_actor_name(e->actor_kind));
			return -1;
		}
		break;
	case AUDIT_ACTOR_CLI:
	case AUDIT_ACTOR_SYSTEM:
		if (e->actor_id != 0) {
			snprintf(why, whylen, "a %s actor has no account id",
			         audit_actor_name(e->actor_kind));
			return -1;
		}
		break;
	default:
		snprintf(why, whylen, "unknown actor kind");
		return -1;
	}
	if (e->ip && !ip_ok(e->ip)) {
		snprintf(why, whylen, "ip is not an IPv4 or IPv6 address");
		return -1;
	}
	if (log == AUDIT_LOG_INSTALL && (e->workspace_id < 0 || e->workspace_id >= (INT64_C(1) << 53))) {
		snprintf(why, whylen, "workspace id out of range");
		return -1;
	}
	const char *detail = e->detail ? e->detail : "{}";
	size_t dn = strlen(detail);
	if (dn > LIMIT_AUDIT_DETAIL) {
		snprintf(why, whylen, "detail is longer than %d bytes", LIMIT_AUDIT_DETAIL);
		return -1;
	}
	json_error_t jerr;
	json_t *v = json_loadb(detail, dn, JSON_REJECT_DUPLICATES, &jerr);
	if (!v || !json_is_object(v)) {
		json_decref(v);
		snprintf(why, whylen, "detail is not a JSON object");
		return -1;
	}
	const char *bad = find_secret_key(v, 0);
	if (bad) {
		snprintf(why, whylen, "detail key '%.40s' looks like a secret; audit rows hold no secrets",
		         bad);
		json_decref(v);
		return -1;
	}
	json_decref(v);
	return 0;
}

/* ---- the chain ---- */

static void put_u32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
	                      (unsigned char)v};
	buf_append(b, x, 4);
}

static void put_i64(struct buf *b, int64_t sv)
{
	uint64_t v = (uint64_t)sv;
	unsigned char x[8];
	for (int i = 0; i < 8; i++)
		x[i] = (unsigned char)(v >> (56 - 8 * i));
	put_u32(b, 8);
	buf_append(b, x, 8);
}

static void put_bytes(struct buf *b, const char *p, size_t n)
{
	if (n > UINT32_MAX) { /* cannot happen with stored rows; keep the encoding injective */
		b->oom = 1;
		return;
	}
	put_u32(b, (uint32_t)n);
	buf_append(b, p ? p : "", n);
}

static int audit_canonical(struct buf *out, const struct audit_fields *f)
{
	static const char domain[] = "dropfix-audit-v1";
	put_bytes(out, domain, sizeof(domain) - 1);
	put_i64(out, f->log_ws ? 2 : 1);
	put_i64(out, f->log_ws);
	put_i64(out, f->seq);
	put_i64(out, f->at);
	put_bytes(out, f->actor_kind.p, f->actor_kind.n);
	put_i64(out, f->actor_id);
	put_bytes(out, f->action.p, f->action.n);
	put_bytes(out, f->target.p, f->target.n);
	put_bytes(out, f->detail.p, f->detail.n);
	put_bytes(out, f->ip.p, f->ip.n);
	put_i64(out, f->workspace_id);
	put_i64(out, f->key_id);
	return out->oom ? -1 : 0;
}

static int audit_mac(const uint8_t key[KEYRING_KEY_BYTES], const uint8_t prev[AUDIT_MAC_BYTES],
                     const struct audit_fields *f, uint8_t out[AUDIT_MAC_BYTES])
{
	struct buf b;
	int rc = -1;
	buf_init(&b, 0);
	buf_append(&b, prev, AUDIT_MAC_BYTES);
	if (audit_canonical(&b, f) < 0)
		goto done;
	unsigned int len = 0;
	if (!HMAC(EVP_sha256(), key, KEYRING_KEY_BYTES, (const unsigned char *)b.p, b.n, out, &len) ||
	    len != AUDIT_MAC_BYTES)
		goto done;
	rc = 0;
done:
	buf_free(&b);
	return rc;
}

static void audit_hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int audit_unhex(const char *s, size_t n, uint8_t out[AUDIT_MAC_BYTES])
{
	if (!s || n != AUDIT_MAC_HEX)
		return -1;
	for (size_t i = 0; i < AUDIT_MAC_BYTES; i++) {
		int v = 0;
		for (int j = 0; j < 2; j++) {
			char c = s[2 * i + (size_t)j];
			int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
			if (d < 0)
				return -1;
			v = v * 16 + d;
		}
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* Derived audit keys by key id, so a verification derives each key once. */
struct key_cache {
	size_t n;
	uint32_t id[LIMIT_KEYRING_KEYS];
	uint8_t key[LIMIT_KEYRING_KEYS][KEYRING_KEY_BYTES];
};

/* Returns the derived key for id (borrowed from kc), or NULL when unknown. */
static const uint8_t *key_for(struct key_cache *kc, const struct keyring *kr, int64_t id)
{
	if (id < 1 || id > (int64_t)KEYRING_MAX_ID)
		return NULL;
	for (size_t i = 0; i < kc->n; i++)
		if (kc->id[i] == (uint32_t)id)
			return kc->key[i];
	if (kc->n == LIMIT_KEYRING_KEYS || !keyring_has(kr, (uint32_t)id))
		return NULL;
	if (keyring_derive(kr, (uint32_t)id, KEYRING_PURPOSE_AUDIT, kc->key[kc->n]) < 0)
		return NULL;
	kc->id[kc->n] = (uint32_t)id;
	return kc->key[kc->n++];
}

static void key_cache_wipe(struct key_cache *kc)
{
	sodium_memzero(kc, sizeof(*kc));
}

/* ---- appends ---- */

static int append(struct store_tx *tx, const struct keyring *kr, const struct audit_event *e, unsigned log)
{
	char why[200];
	uint8_t prev[AUDIT_MAC_BYTES] = {0}, key[KEYRING_KEY_BYTES], mac[AUDIT_MAC_BYTES];
	char mac_hex[AUDIT_MAC_HEX + 1];
	struct store_rows *r = NULL;
	struct buf target;
	int rc = -1;
	int64_t ws = store_tx_workspace(tx);
	buf_init(&target, 0);

	if ((log == AUDIT_LOG_WS) != (ws != 0)) {
		snprintf(why, sizeof(why), "%s needs a %s transaction",
		         log == AUDIT_LOG_WS ? "audit_append_ws" : "audit_append_install",
		         log == AUDIT_LOG_WS ? "workspace" : "global");
		goto refused;
	}
	if (audit_event_check(e, log, why, sizeof(why)) < 0)
		goto refused;
	if (audit_utf8_clean(&target, e->target ? e->target : "", e->target ? strlen(e->target) : 0,
	                     LIMIT_AUDIT_TARGET) < 0) {
		snprintf(why, sizeof(why), "out of memory");
		goto refused;
	}

	/* Serialise appends to this log (PostgreSQL; SQLite has one writer). */
	if (store_tx_backend(tx) == STORE_POSTGRES) {
		int lrc = ws ? store_exec(tx, "SELECT pg_advisory_xact_lock($2 + $1)",
		                          STORE_ARGS(SP_I64(AUDIT_LOCK_BASE)))
		             : store_exec(tx, "SELECT pg_advisory_xact_lock($1)",
		                          STORE_ARGS(SP_I64(AUDIT_LOCK_BASE)));
		if (lrc < 0)
			goto done;
	}
	int qrc = ws ? store_query(tx,
	                           "SELECT seq, mac FROM workspace_audit WHERE workspace_id = $1 "
	                           "ORDER BY seq DESC LIMIT 1",
	                           STORE_NO_ARGS, &r)
	             : store_query(tx, "SELECT seq, mac FROM install_audit ORDER BY seq DESC LIMIT 1",
	                           STORE_NO_ARGS, &r);
	if (qrc < 0)
		goto done;
	int64_t seq = 1;
	int step = store_step(r);
	if (step < 0)
		goto done;
	if (step == 1) {
		size_t n;
		const char *hex = store_col_text(r, 1, &n);
		seq = store_col_i64(r, 0) + 1;
		if (audit_unhex(hex, n, prev) < 0) {
			snprintf(why, sizeof(why),
			         "the head of the audit log (seq %lld) is damaged: run dropfix audit verify",
			         (long long)(seq - 1));
			goto refused;
		}
	}
	store_rows_close(r);
	r = NULL;

	uint32_t key_id = keyring_active_id(kr);
	if (keyring_derive(kr, key_id, KEYRING_PURPOSE_AUDIT, key) < 0) {
		snprintf(why, sizeof(why), "cannot derive the audit key");
		goto refused;
	}
	const char *actor = audit_actor_name(e->actor_kind);
	const char *detail = e->detail ? e->detail : "{}";
	const char *ip = e->ip ? e->ip : "";
	struct audit_fields f = {
	    .log_ws = ws,
	    .seq = seq,
	    .at = clock_now_ms(),
	    .actor_kind = str_from_cstr(actor),
	    .actor_id = e->actor_id,
	    .action = str_from_cstr(e->action),
	    .target = {target.p, target.n},
	    .detail = str_from_cstr(detail),
	    .ip = str_from_cstr(ip),
	    .workspace_id = ws ? ws : e->workspace_id,
	    .key_id = key_id,
	};
	int mrc = audit_mac(key, prev, &f, mac);
	sodium_memzero(key, sizeof(key));
	if (mrc < 0) {
		snprintf(why, sizeof(why), "cannot compute the audit mac");
		goto refused;
	}
	audit_hex(mac, sizeof(mac), mac_hex);
	if (ws)
		rc = store_exec(
		    tx,
		    "INSERT INTO workspace_audit (workspace_id, seq, at, actor_kind, actor_id, action, "
		    "target, "
		    "detail, ip, key_id, mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
		    STORE_ARGS(SP_I64(f.seq), SP_I64(f.at), SP_TEXT(actor), SP_I64(f.actor_id),
		               SP_TEXT(e->action), SP_TEXTN(target.p, target.n), SP_TEXT(detail), SP_TEXT(ip),
		               SP_I64(key_id), SP_TEXT(mac_hex)));
	else
		rc = store_exec(
		    tx,
		    "INSERT INTO install_audit (seq, at, actor_kind, actor_id, action, target, detail, ip, "
		    "workspace_id, key_id, mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
		    STORE_ARGS(SP_I64(f.seq), SP_I64(f.at), SP_TEXT(actor), SP_I64(f.actor_id),
		               SP_TEXT(e->action), SP_TEXTN(target.p, target.n), SP_TEXT(detail), SP_TEXT(ip),
		               SP_I64(f.workspace_id), SP_I64(key_id), SP_TEXT(mac_hex)));
	goto done;
refused:
	log_json(LOG_ERROR, "audit event refused",
	         json_pack("{s:s, s:s, s:I}", "reason", why, "action", e && e->action ? e->action : "",
	                   "workspace_id", (json_int_t)ws));
	rc = -1;
done:
	store_rows_close(r);
	buf_free(&target);
	sodium_memzero(key, sizeof(key));
	return rc;
}

int audit_append_install(struct store_tx *global_tx, const struct keyring *kr, const struct audit_event *e)
{
	return append(global_tx, kr, e, AUDIT_LOG_INSTALL);
}

int audit_append_ws(struct store_tx *ws_tx, const struct keyring *kr, const struct audit_event *e)
{
	return append(ws_tx, kr, e, AUDIT_LOG_WS);
}

/* ---- verification ---- */

static struct str col_str(struct store_rows *r, int col)
{
	size_t n = 0;
	const char *p = store_col_text(r, col, &n);
	return (struct str){p ? p : "", p ? n : 0};
}

static void verify_fail(struct audit_verify *res, int64_t seq, const char *fmt, const char *arg)
{
	res->ok = 0;
	res->bad_seq = seq;
	snprintf(res->why, sizeof(res->why), fmt, arg);
}

static int verify(struct store_tx *tx, const struct keyring *kr, struct audit_verify *res)
{
	struct key_cache *kc = calloc(1, sizeof(*kc));
	struct store_rows *r = NULL;
	uint8_t prev[AUDIT_MAC_BYTES] = {0};
	int64_t ws = store_tx_workspace(tx);
	int rc = -1;
	memset(res, 0, sizeof(*res));
	res->ok = 1;
	if (!kc)
		return -1;
	int64_t expect = 1;
	for (;;) {
		int qrc;
		if (ws)
			qrc = store_query(
			    tx,
			    "SELECT seq, at, actor_kind, actor_id, action, target, detail, ip, workspace_id, "
			    "key_id, mac FROM workspace_audit WHERE workspace_id = $1 AND seq >= $2 "
			    "ORDER BY seq LIMIT $3",
			    STORE_ARGS(SP_I64(expect), SP_I64(VERIFY_PAGE)), &r);
		else
			qrc = store_query(
			    tx,
			    "SELECT seq, at, actor_kind, actor_id, action, target, detail, ip, workspace_id, "
			    "key_id, mac FROM install_audit WHERE seq >= $1 ORDER BY seq LIMIT $2",
			    STORE_ARGS(SP_I64(expect), SP_I64(VERIFY_PAGE)), &r);
		if (qrc < 0)
			goto done;
		int got = 0, step;
		while ((step = store_step(r)) == 1) {
			got++;
			res->rows++;
			struct audit_fields f = {
			    .log_ws = ws,
			    .seq = store_col_i64(r, 0),
			    .at = store_col_i64(r, 1),
			    .actor_kind = col_str(r, 2),
			    .actor_id = store_col_i64(r, 3),
			    .action = col_str(r, 4),
			    .target = col_str(r, 5),
			    .detail = col_str(r, 6),
			    .ip = col_str(r, 7),
			    .workspace_id = store_col_i64(r, 8),
			    .key_id = store_col_i64(r, 9),
			};
			struct str mac_text = col_str(r, 10);
			char num[32];
			if (f.seq != expect) {
				snprintf(num, sizeof(num), "%lld", (long long)expect);
				verify_fail(res, expect,
				            "row %s is missing (deleted, or the rows were renumbered)", num);
				goto checked;
			}
			const uint8_t *key = key_for(kc, kr, f.key_id);
			if (!key) {
				snprintf(num, sizeof(num), "%lld", (long long)f.key_id);
				verify_fail(res, f.seq,
				            "key id %s is not in the keyring (retired or wrong key file?)",
				            num);
				goto checked;
			}
			uint8_t stored[AUDIT_MAC_BYTES], mac[AUDIT_MAC_BYTES];
			if (audit_mac(key, prev, &f, mac) < 0)
				goto done;
			if (audit_unhex(mac_text.p, mac_text.n, stored) < 0 ||
			    sodium_memcmp(stored, mac, AUDIT_MAC_BYTES) != 0) {
				verify_fail(res, f.seq, "%s",
				            "mac does not match (row edited, moved or reordered)");
				goto checked;
			}
			memcpy(prev, mac, sizeof(prev));
			res->head_seq = f.seq;
			audit_hex(mac, sizeof(mac), res->head_mac);
			expect++;
		}
		if (step < 0)
			goto done;
		store_rows_close(r);
		r = NULL;
		if (got < VERIFY_PAGE)
			break;
	}
checked:
	rc = 0;
done:
	store_rows_close(r);
	key_cache_wipe(kc);
	free(kc);
	return rc;
}

int audit_verify_install(struct store_tx *global_tx, const struct keyring *kr, struct audit_verify *res)
{
	if (store_tx_workspace(global_tx) != 0) {
		memset(res, 0, sizeof(*res));
		snprintf(res->why, sizeof(res->why), "audit_verify_install needs a global transaction");
		return -1;
	}
	return verify(global_tx, kr, res);
}

int audit_verify_ws(struct store_tx *ws_tx, const struct keyring *kr, struct audit_verify *res)
{
	if (store_tx_workspace(ws_tx) == 0) {
		memset(res, 0, sizeof(*res));
		snprintf(res->why, sizeof(res->why), "audit_verify_ws needs a workspace transaction");
		return -1;
	}
	return verify(ws_tx, kr, res);
}

int audit_key_rows(struct store_conn *c, uint32_t key_id, int64_t *rows)
{
	struct store_tx *tx = NULL;
	int64_t *ids = NULL, n = 0;
	size_t nids = 0;
	int rc = -1;
	*rows = 0;
	if (store_begin_global(c, STORE_READ, &tx) < 0 ||
	    store_query_i64(tx, "SELECT count(*) FROM install_audit WHERE key_id = $1",
	                    STORE_ARGS(SP_I64(key_id)), &n) < 0)
		goto done;
	store_rollback(tx);
	tx = NULL;
	*rows += n;
	if (store_maint_workspaces(c, &ids, &nids) < 0)
		goto done;
	for (size_t i = 0; i < nids; i++) {
		n = 0;
		if (store_begin_ws(c, ids[i], STORE_READ, &tx) < 0 ||
		    store_query_i64(
		        tx, "SELECT count(*) FROM workspace_audit WHERE workspace_id = $1 AND key_id = $2",
		        STORE_ARGS(SP_I64(key_id)), &n) < 0)
			goto done;
		store_rollback(tx);
		tx = NULL;
		*rows += n;
	}
	rc = 0;
done:
	store_rollback(tx);
	free(ids);
	return rc;
}
