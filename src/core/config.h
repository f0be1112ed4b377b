/* Settings: DROPFIX_* environment variables, overridden by command-line flags, validated
 * once at start. The table in config.c is the single list (README's table matches it). */
#ifndef DROPFIX_CONFIG_H
#define DROPFIX_CONFIG_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/limits.h"

struct cidr {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int prefix;
};

struct config {
	/* raw values, owned (NULL when unset and no default) */
	char *listen;
	char *data_dir;
	char *database_url;
	char *database_owner_url;
	char *database_maint_url;
	char *master_key_file;
	char *base_url;
	char *trusted_proxies_raw;
	char *tls_cert;
	char *tls_key;
	char *smtp_url;
	char *smtp_ca_file;
	char *mail_from;
	char *signup;
	char *sqlite_synchronous; /* "FULL" (default) or "NORMAL" (SQLite PRAGMA synchronous) */
	char *security_contact;
	char *metrics_token;
	char *log_level_raw;
	char *http_threads_raw;
	char *signin_limit_email_raw;
	char *signin_limit_ip_raw;
	char *ingest_max_events_raw;
	char *ingest_max_properties_raw;
	char *ingest_max_string_raw;
	char *ingest_skew_raw;
	char *ingest_queue_raw;
	char *ingest_rate_raw;
	char *ingest_burst_raw;
	char *ingest_ip_rate_raw;
	char *ingest_ip_burst_raw;

	/* derived by config_validate */
	char listen_host[256];
	uint16_t listen_port;
	int listen_loopback;     /* listen address is a loopback address */
	int base_url_https;      /* base URL scheme is https */
	char base_host[256];     /* host[:port] of the base URL, as in a Host header */
	int http_threads;
	int log_level;
	struct cidr trusted_proxies[LIMIT_TRUSTED_PROXIES];
	int n_trusted_proxies;
	int no_jobs;             /* serve --no-jobs */
	int signin_limit_email;  /* failed sign-ins per e-mail per LIMIT_SIGNIN_WINDOW_MS */
	int signin_limit_ip;     /* password attempts per client IP per window (> per e-mail) */
	int ingest_max_events;     /* events per batch */
	int ingest_max_properties; /* top-level properties/traits per event */
	int ingest_max_string;     /* bytes per string in an event */
	int ingest_skew_s;         /* future timestamps clamped beyond now + this */
	int ingest_queue;          /* events waiting for the writer */
	int ingest_rate;           /* events per second per workspace (token bucket refill) */
	int ingest_burst;          /* token bucket size per workspace */
	int ingest_ip_rate;        /* pk_ events per second per (workspace, client IP) sub-bucket */
	int ingest_ip_burst;       /* sub-bucket size per (workspace, client IP) */
};

/* Which commands a setting applies to (bit set). */
enum {
	CFG_SERVE = 1 << 0,
	CFG_WORKER = 1 << 1,
	CFG_STORE = 1 << 2, /* every command that opens the database */
	CFG_MAIL = 1 << 3,  /* commands that send system mail or read the outbox */
};

/* Fills c from defaults and the environment, then from argv flags (argv[0] is the
 * subcommand; unknown flags are errors). Flags in extra_flags ("--no-jobs") are set as
 * booleans. Returns 0, or -1 with a one-line message naming the setting in err. */
int config_load(struct config *c, int argc, char **argv, unsigned commands, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Derives and checks cross-setting rules. Returns 0 or -1 with err set. */
int config_validate(struct config *c, unsigned commands, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Checks one setting's value; returns 0 when valid, or -1 with a one-line reason in msg
 * (without the setting's name, which the caller adds). */
typedef int (*config_validator_fn)(const char *value, char *msg, size_t msglen);
/* Registers fn as the check of the setting named env (e.g. "DROPFIX_MAIL_FROM"), so that
 * core needs no feature module: config_validate calls fn with the setting's value when it
 * is set and not empty and the setting applies to the command, after the built-in checks
 * of the settings shared by serve, worker and mail commands; a failure becomes
 * "ENV: reason". Register at start-up, before any config_validate (not thread-safe).
 * Registering a setting again replaces its check. Aborts for an unknown setting or when
 * the (small, fixed) table is full: both are programming errors. */
void config_set_validator(const char *env, config_validator_fn fn);
/* Frees owned strings; accepts a zeroed config. */
void config_free(struct config *c);
/* Prints the flags that apply to commands as help text. */
void config_print_flags(FILE *out, unsigned commands);
/* Prints every setting as a Markdown table (name, default, meaning). */
void config_print_markdown(FILE *out);
/* 1 when addr (network order bytes, family AF_INET/AF_INET6) is in a trusted proxy range. */
int config_is_trusted_proxy(const struct config *c, int family, const void *addr);
/* Parses a "a.b.c.d[/n]" or "v6[/n]" range. Returns 0 or -1. */
int config_parse_cidr(const char *s, struct cidr *out);
/* 1 when addr falls in r. */
int cidr_contains(const struct cidr *r, int family, const void *addr);

#endif
