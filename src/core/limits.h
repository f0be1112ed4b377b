/* Every limit on untrusted input, in one place (CONVENTIONS "Untrusted input").
 * Checked before allocating. Settings that founders or operators may change have a
 * DROPFIX_* variable in config.c whose default is the value here. */
#ifndef DROPFIX_LIMITS_H
#define DROPFIX_LIMITS_H

/* HTTP connection level (libmicrohttpd). */
#define LIMIT_CONN_MEMORY          (32 * 1024)   /* per-connection pool: headers + URI */
#define LIMIT_URI_BYTES            4096
#define LIMIT_CONNECTIONS          1024          /* whole daemon */
#define LIMIT_CONNECTIONS_PER_IP   128
#define LIMIT_IDLE_TIMEOUT_S       15            /* no bytes for this long: close */
#define LIMIT_BODY_DEADLINE_MS     10000         /* whole body phase of one request */
#define LIMIT_HTTP_THREADS         2             /* default pool size */

/* Request bodies, by route class. Unknown routes get the smallest. */
#define LIMIT_BODY_SMALL           (4 * 1024)    /* GET, HEAD and unknown routes */
#define LIMIT_BODY_FORM            (64 * 1024)
#define LIMIT_BODY_JSON_API        (256 * 1024)
#define LIMIT_BODY_INGEST          (1024 * 1024)

/* Ingestion (src/ingest). Defaults of the DROPFIX_INGEST_* settings, and fixed caps. */
#define LIMIT_INGEST_EVENTS        500           /* events per batch (DROPFIX_INGEST_MAX_EVENTS) */
#define LIMIT_INGEST_PROPERTIES    64            /* top-level properties per event (setting) */
#define LIMIT_INGEST_STRING        1024          /* bytes of one string in an event (setting) */
#define LIMIT_INGEST_SKEW_S        300           /* future timestamps clamped beyond this (setting) */
#define LIMIT_INGEST_QUEUE         65536         /* events waiting for the writer (setting) */
#define LIMIT_INGEST_RATE          1000          /* events/s per workspace (setting) */
#define LIMIT_INGEST_BURST         20000         /* token bucket size per workspace (setting) */
#define LIMIT_INGEST_BADKEY_BURST  60            /* requests with unknown keys per client IP at once */
#define LIMIT_INGEST_BADKEY_PER_S  1             /* ... refilled per second; then 429 before parsing */
#define LIMIT_INGEST_INFLATED      (4 * 1024 * 1024) /* bytes of a gzip body once inflated */
#define LIMIT_INGEST_INFLATE_RATIO 100           /* inflated bytes per compressed byte */
#define LIMIT_INGEST_ID            256           /* bytes of user_id, anonymous_id, message_id */
#define LIMIT_INGEST_NAME          256           /* bytes of an event name (longer is cut) */
#define LIMIT_INGEST_PAST_PK_MS    (48LL * 3600 * 1000) /* pk_ events older than this: too_old */

/* JSON documents. */
#define LIMIT_JSON_DEPTH           16            /* our own cap; jansson's is 2048 */
#define LIMIT_JSON_FIELDS          256           /* keys per object in strict binding */
#define LIMIT_JSON_STRING          (64 * 1024)

/* Forms (application/x-www-form-urlencoded). */
#define LIMIT_FORM_FIELDS          64
#define LIMIT_FORM_VALUE           (16 * 1024)
#define LIMIT_FORM_NAME            256           /* bytes of one decoded field name */

/* Request arena. */
#define LIMIT_ARENA_BYTES          (8 * 1024 * 1024)

/* Templates. */
#define LIMIT_TMPL_DEPTH           16            /* nested sections and partials */
#define LIMIT_TMPL_OUTPUT          (4 * 1024 * 1024)
#define LIMIT_TMPL_STEPS           (4 * 1024 * 1024) /* nodes visited in one render */

/* dropfix simulate (src/cli/cmd_simulate.c). */
#define LIMIT_SIM_USERS            100000        /* --users */
#define LIMIT_SIM_DAYS             3650          /* --days */

/* Dashboard pagination. */
#define LIMIT_ROWS_PER_PAGE        100

/* Trusted proxies. */
#define LIMIT_TRUSTED_PROXIES      16

/* Secrets (src/crypto): sealed values and the master keyring. */
#define LIMIT_SEALED_PLAIN         (64 * 1024)   /* plaintext bytes of one sealed value */
#define LIMIT_SEAL_AD_FIELD        256           /* bytes of each AD field (table, column, row key) */
#define LIMIT_KEYRING_FILE         (64 * 1024)   /* bytes of master.key */
#define LIMIT_KEYRING_LINE         512           /* bytes of one master.key line */
#define LIMIT_KEYRING_KEYS         256           /* keys in one keyring */
#define LIMIT_BACKUP_CHUNK         (1024 * 1024) /* plaintext bytes of one backup file chunk (src/crypto/backup_file.h) */

/* Store (SQLite sqlite3_limit values; the SQL guard uses the same bounds). */
#define LIMIT_SQL_LENGTH           (1024 * 1024) /* bytes of one statement */
#define LIMIT_SQL_VARIABLES        4096          /* highest $N (multi-row inserts) */
#define LIMIT_SQL_VALUE_BYTES      (16 * 1024 * 1024) /* one text or blob value, one row */
#define LIMIT_SQL_COLUMNS          200
#define LIMIT_SQL_EXPR_DEPTH       200
#define LIMIT_SQL_COMPOUND_SELECT  32
#define LIMIT_SQL_FUNCTION_ARGS    32
#define LIMIT_SQL_LIKE_PATTERN     1024
#define LIMIT_SQL_TRIGGER_DEPTH    16

/* Background jobs (src/jobs): what one queued job may carry. */
#define LIMIT_JOB_KEY              200           /* bytes of an idempotency key */
#define LIMIT_JOB_PAYLOAD          4096          /* bytes of a job's JSON payload */
#define LIMIT_JOB_ERROR            500           /* bytes of last_error kept */

/* Audit logs (src/audit): one row, and how many rows one read returns. */
#define LIMIT_AUDIT_TARGET         256           /* bytes of a row's target (longer is cut at a UTF-8 boundary) */
#define LIMIT_AUDIT_DETAIL         4096          /* bytes of a row's detail JSON object */
#define LIMIT_AUDIT_IP             45            /* bytes of a textual IPv4/IPv6 address */
#define LIMIT_AUDIT_QUERY_ROWS     1000          /* rows per audit_query_* call */
#define LIMIT_AUDIT_EXPORT_ROWS    100000        /* rows in one export */

/* Two-factor sign-in (src/auth). */
#define LIMIT_TOTP_LABEL           254           /* bytes of the issuer or the account label (e-mail) in a key URI */
#define LIMIT_RECOVERY_INPUT       64            /* bytes of one typed recovery code */
#define LIMIT_QR_TEXT              2331          /* bytes in one QR code: capacity of version 40-M */

/* System e-mail (src/mail): what callers may put into one message. */
#define LIMIT_MAIL_ADDR_LOCAL      64            /* bytes before the @ (RFC 5321) */
#define LIMIT_MAIL_ADDR_DOMAIN     255           /* bytes after the @ */
#define LIMIT_MAIL_ADDR            254           /* whole addr-spec (RFC 5321 path minus <>) */
#define LIMIT_MAIL_NAME            256           /* bytes of a display name (UTF-8) */
#define LIMIT_MAIL_SUBJECT         512           /* bytes of a subject (UTF-8) */
#define LIMIT_MAIL_BODY            (512 * 1024)  /* bytes of the text or the HTML body */
#define LIMIT_MAIL_HEADERS         4             /* extra (allow-listed) headers */
#define LIMIT_MAIL_HEADER_VALUE    900           /* bytes of one extra header value */
#define LIMIT_MAIL_KEY             200           /* bytes of an idempotency key */
#define LIMIT_MAIL_MESSAGE         (4 * 1024 * 1024) /* one encoded message (outbox files too) */

/* Workspaces and teams (src/web). */
#define LIMIT_WORKSPACE_NAME       100           /* bytes of a workspace or product name */
#define LIMIT_WORKSPACES_PER_ACCOUNT 100         /* workspaces one account may belong to */
#define LIMIT_PENDING_INVITES      200           /* open invitations per workspace */
#define LIMIT_TEAM_LIST            1000          /* members and invites listed on the team page */

/* Accounts and sign-in (src/auth). The sign-in limits per e-mail and per IP are settings
 * (DROPFIX_SIGNIN_LIMIT_EMAIL / _IP in config.c); these are the fixed ones. */
#define LIMIT_PASSWORD_MIN         10            /* bytes of a password, at least */
#define LIMIT_PASSWORD_MAX         1024          /* bytes of a password, at most */
#define LIMIT_PASSWORD_HASHERS     2             /* argon2id computations running at once */
#define LIMIT_PASSWORD_QUEUE       16            /* requests waiting for a hasher; beyond: 503 */
#define LIMIT_PASSWORD_WAIT_MS     10000         /* longest wait for a hasher; then 503 */
#define LIMIT_ACCOUNT_NAME         100           /* bytes of a person's name */
#define LIMIT_PRODUCT_NAME         100           /* bytes of a product (first workspace) name */
#define LIMIT_AUTH_TOKEN_INPUT     128           /* bytes of a typed or linked token (setup, reset, verify, invite) */
#define LIMIT_SIGNIN_WINDOW_MS     (15 * 60 * 1000) /* window of the sign-in limits */
#define LIMIT_SIGNIN_EMAIL_DEFAULT 10            /* failed sign-ins per e-mail per window */
#define LIMIT_SIGNIN_IP_DEFAULT    100           /* sign-in, sign-up and reset attempts per IP per window */
#define LIMIT_2FA_FAILURES         10            /* wrong second-factor codes per account per window */
#define LIMIT_REAUTH_FAILURES      10            /* wrong current passwords per account per window */
#define LIMIT_RESET_MAILS          3             /* reset mails per e-mail address per hour */
#define LIMIT_THROTTLE_KEYS        100000        /* keys each in-memory throttle table tracks */
#define LIMIT_AUTH_MAIL_QUEUE      1000          /* account mails waiting to be sent */
#define LIMIT_API_TOKEN_FAILURES   30            /* API token requests with a bad token per IP per window */
#define LIMIT_API_TOKEN_WINDOW_MS  (5 * 60 * 1000) /* window of that limit */
#define LIMIT_API_TOKENS_LISTED    500           /* tokens a workspace's token list shows */
#define LIMIT_API_TOKENS_LIVE      100           /* live (unrevoked, unexpired) tokens per workspace */

/* live feed (src/web/live.c, server-sent events in src/http/server.c) */
#define LIMIT_LIVE_STREAMS         64            /* open live streams, whole server */
#define LIMIT_LIVE_STREAMS_PER_WS  4             /* open live streams per workspace */
#define LIMIT_LIVE_BUFFER          (64 * 1024)   /* bytes queued for one stream; more: dropped */
#define LIMIT_LIVE_PING_MS         15000         /* heartbeat comment on every stream */
#define LIMIT_LIVE_MAX_AGE_MS      300000        /* a stream then ends; the browser reconnects (re-authorised) */
#define LIMIT_LIVE_RECENT          50            /* events the live page renders */

#endif
