#include "core/config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/parse.h"

struct setting {
	const char *env;
	const char *flag;
	const char *def;      /* default; "@" prefix = derived, described in meaning */
	size_t offset;        /* of a char * in struct config */
	unsigned commands;
	const char *meaning;
};

#define F(field) offsetof(struct config, field)

static const struct setting settings[] = {
	{"DROPFIX_LISTEN", "--listen", "127.0.0.1:8080", F(listen), CFG_SERVE,
	 "Address and port `serve` listens on (`host:port`, `[v6]:port`). A non-loopback address needs `DROPFIX_BASE_URL`."},
	{"DROPFIX_DATA_DIR", "--data-dir", "./var", F(data_dir), CFG_SERVE | CFG_WORKER | CFG_STORE | CFG_MAIL,
	 "Directory for the embedded database, the development outbox and (by default) the master key."},
	{"DROPFIX_DATABASE_URL", "--database-url", "@sqlite:<data dir>/dropfix.db", F(database_url),
	 CFG_SERVE | CFG_WORKER | CFG_STORE,
	 "`sqlite:PATH` (embedded default) or `postgres://…` (scale-out; non-loopback hosts need `sslmode=verify-full`)."},
	{"DROPFIX_DATABASE_OWNER_URL", "--database-owner-url", "@DROPFIX_DATABASE_URL", F(database_owner_url), CFG_STORE,
	 "PostgreSQL only: URL of the schema owner role that `dropfix migrate` connects as (docs/postgres.md)."},
	{"DROPFIX_DATABASE_MAINT_URL", "--database-maint-url", "@DROPFIX_DATABASE_URL", F(database_maint_url),
	 CFG_WORKER | CFG_STORE,
	 "PostgreSQL only: URL of the maintenance role (BYPASSRLS) used by CLI maintenance: backups, `keys rotate`, retention."},
	{"DROPFIX_SQLITE_SYNCHRONOUS", "--sqlite-synchronous", "FULL", F(sqlite_synchronous), CFG_SERVE | CFG_WORKER | CFG_STORE,
	 "SQLite only: `FULL` (default) syncs the WAL on every commit, so an acknowledged write (an ingestion 200) survives a process crash and a power loss. `NORMAL` skips that sync: acknowledged writes survive a process crash (kill -9) but the last commits may roll back after a power loss or OS crash; faster ingestion."},
	{"DROPFIX_MASTER_KEY_FILE", "--master-key-file", "@<data dir>/master.key", F(master_key_file),
	 CFG_SERVE | CFG_WORKER | CFG_STORE,
	 "Keyring file (mode 0600) holding the master keys that seal secrets. Keep it outside the data directory in production and back it up separately."},
	{"DROPFIX_BASE_URL", "--base-url", "@http://<listen address>", F(base_url), CFG_SERVE | CFG_WORKER | CFG_MAIL,
	 "Public URL of this installation; every link and the cookie security come from it. Requests whose `Host` differs are refused. Required when listening on a non-loopback address."},
	{"DROPFIX_TRUSTED_PROXIES", "--trusted-proxies", "", F(trusted_proxies_raw), CFG_SERVE,
	 "Comma-separated addresses or CIDR ranges of reverse proxies whose `X-Forwarded-For` is believed (at most 16)."},
	{"DROPFIX_TLS_CERT", "--tls-cert", "", F(tls_cert), CFG_SERVE,
	 "PEM certificate chain for native TLS (1.2 and 1.3 only). Set together with `DROPFIX_TLS_KEY`."},
	{"DROPFIX_TLS_KEY", "--tls-key", "", F(tls_key), CFG_SERVE, "PEM private key for native TLS."},
	{"DROPFIX_SMTP_URL", "--smtp-url", "", F(smtp_url), CFG_SERVE | CFG_WORKER | CFG_MAIL,
	 "`smtps://user:pass@host:port` or `smtp://…` (STARTTLS mandatory). Unset: mail goes to the development outbox in the data directory."},
	{"DROPFIX_SMTP_CA_FILE", "--smtp-ca-file", "", F(smtp_ca_file), CFG_SERVE | CFG_WORKER | CFG_MAIL,
	 "PEM CA bundle that the SMTP server's certificate must chain to (a private CA, tests). Unset: the system CA store. Verification is always on."},
	{"DROPFIX_MAIL_FROM", "--mail-from", "@DropFix <dropfix@<base URL host>>", F(mail_from), CFG_SERVE | CFG_WORKER | CFG_MAIL,
	 "Sender of system mail: `address` or `Name <address>`. The default uses the base URL's host name (`localhost` for an IP address)."},
	{"DROPFIX_SIGNUP", "--signup", "first", F(signup), CFG_SERVE,
	 "Who may sign up: `first` (only the first account, with the setup token printed at first start), `invite`, or `open`."},
	{"DROPFIX_SECURITY_CONTACT", "--security-contact", "", F(security_contact), CFG_SERVE,
	 "Contact published in `/.well-known/security.txt` (`mailto:…` or `https://…`)."},
	{"DROPFIX_METRICS_TOKEN", "--metrics-token", "", F(metrics_token), CFG_SERVE,
	 "Bearer token for `/metrics`. Without it, `/metrics` answers only loopback peers and only when no trusted proxy is configured."},
	{"DROPFIX_LOG_LEVEL", "--log-level", "info", F(log_level_raw), CFG_SERVE | CFG_WORKER | CFG_STORE,
	 "`debug`, `info`, `warn` or `error`. Logs are JSON lines on standard error."},
	{"DROPFIX_HTTP_THREADS", "--http-threads", "2", F(http_threads_raw), CFG_SERVE,
	 "Threads in the HTTP worker pool (1–64)."},
	{"DROPFIX_SIGNIN_LIMIT_EMAIL", "--signin-limit-email", "10", F(signin_limit_email_raw), CFG_SERVE,
	 "Failed sign-ins per submitted e-mail address (whether or not an account has it) per 15 minutes; then 429. Kept in memory per process."},
	{"DROPFIX_SIGNIN_LIMIT_IP", "--signin-limit-ip", "100", F(signin_limit_ip_raw), CFG_SERVE,
	 "Sign-in, sign-up and password-reset attempts per client IP per 15 minutes, checked before any password hashing; must be above `DROPFIX_SIGNIN_LIMIT_EMAIL`. Kept in memory per process."},
	{"DROPFIX_INGEST_MAX_EVENTS", "--ingest-max-events", "500", F(ingest_max_events_raw), CFG_SERVE,
	 "Events per ingestion batch (1–10000); a larger batch is refused whole with 413."},
	{"DROPFIX_INGEST_MAX_PROPERTIES", "--ingest-max-properties", "64", F(ingest_max_properties_raw), CFG_SERVE,
	 "Top-level properties (or traits) per event (1–1000); an event with more is dropped as `too_many_fields`."},
	{"DROPFIX_INGEST_MAX_STRING", "--ingest-max-string", "1024", F(ingest_max_string_raw), CFG_SERVE,
	 "Bytes of one string in an event (16–65536); longer strings are cut at a UTF-8 boundary before masking."},
	{"DROPFIX_INGEST_SKEW_S", "--ingest-skew-s", "300", F(ingest_skew_raw), CFG_SERVE,
	 "Seconds an event timestamp may lie in the future (0–86400); later ones are stored with the time received."},
	{"DROPFIX_INGEST_RATE", "--ingest-rate", "1000", F(ingest_rate_raw), CFG_SERVE,
	 "Events per second each workspace may send, per serve process (1–10000000): the refill rate of its token bucket; beyond it 429 with Retry-After."},
	{"DROPFIX_INGEST_BURST", "--ingest-burst", "20000", F(ingest_burst_raw), CFG_SERVE,
	 "Events a workspace may send at once before `DROPFIX_INGEST_RATE` applies (1–100000000): the size of its token bucket."},
	{"DROPFIX_INGEST_IP_RATE", "--ingest-ip-rate", "100", F(ingest_ip_rate_raw), CFG_SERVE,
	 "Events per second one client IP may send to one workspace with its public key (pk_), per serve process (1–10000000): the refill rate of that visitor's sub-bucket inside the workspace's bucket, so one visitor cannot use up the workspace's rate; beyond it 429 with Retry-After. Secret-key (sk_) traffic is not limited per IP."},
	{"DROPFIX_INGEST_IP_BURST", "--ingest-ip-burst", "2000", F(ingest_ip_burst_raw), CFG_SERVE,
	 "Events one client IP may send to one workspace with its public key at once before `DROPFIX_INGEST_IP_RATE` applies (1–100000000)."},
	{"DROPFIX_INGEST_QUEUE", "--ingest-queue", "65536", F(ingest_queue_raw), CFG_SERVE,
	 "Events waiting for the ingestion writer (100–10000000); when full, ingestion answers 503 with Retry-After."},
};

#define N_SETTINGS (sizeof(settings) / sizeof(settings[0]))

static char **field(struct config *c, const struct setting *s)
{
	return (char **)((char *)c + s->offset);
}

/* ---- per-setting checks registered by feature modules ---- */

#define N_VALIDATORS 8

static struct {
	const struct setting *s;
	config_validator_fn fn;
} validators[N_VALIDATORS];
static size_t n_validators;

void config_set_validator(const char *env, config_validator_fn fn)
{
	const struct setting *s = NULL;
	for (size_t i = 0; env && i < N_SETTINGS; i++)
		if (strcmp(settings[i].env, env) == 0)
			s = &settings[i];
	if (!s || !fn)
		abort();
	for (size_t i = 0; i < n_validators; i++) {
		if (validators[i].s == s) {
			validators[i].fn = fn;
			return;
		}
	}
	if (n_validators == N_VALIDATORS)
		abort();
	validators[n_validators].s = s;
	validators[n_validators].fn = fn;
	n_validators++;
}

/* Runs the registered checks of the settings that apply to commands. */
static int run_validators(struct config *c, unsigned commands, char *err, size_t errlen)
{
	for (size_t i = 0; i < n_validators; i++) {
		const struct setting *s = validators[i].s;
		const char *v = *field(c, s);
		if (!(s->commands & commands) || !v || !v[0])
			continue;
		char msg[256] = "";
		if (validators[i].fn(v, msg, sizeof(msg)) < 0) {
			snprintf(err, errlen, "%s: %s", s->env, msg[0] ? msg : "invalid value");
			return -1;
		}
	}
	return 0;
}

static int set_value(struct config *c, const struct setting *s, const char *v, char *err, size_t errlen)
{
	char *copy = strdup(v);
	if (!copy) {
		snprintf(err, errlen, "%s: out of memory", s->env);
		return -1;
	}
	char **f = field(c, s);
	free(*f);
	*f = copy;
	return 0;
}

int config_load(struct config *c, int argc, char **argv, unsigned commands, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const struct setting *s = &settings[i];
		const char *v = getenv(s->env);
		if (!v && s->def[0] != '@' && s->def[0])
			v = s->def;
		if (v && set_value(c, s, v, err, errlen) < 0)
			return -1;
	}
	for (int a = 1; a < argc; a++) {
		const char *arg = argv[a];
		if (strcmp(arg, "--no-jobs") == 0 && (commands & CFG_SERVE)) {
			c->no_jobs = 1;
			continue;
		}
		const char *eq = strchr(arg, '=');
		size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
		const struct setting *found = NULL;
		for (size_t i = 0; i < N_SETTINGS; i++) {
			if ((settings[i].commands & commands) && strlen(settings[i].flag) == name_len &&
			    strncmp(settings[i].flag, arg, name_len) == 0)
				found = &settings[i];
		}
		if (!found) {
			snprintf(err, errlen, "unknown option '%.*s' (see --help)", (int)(name_len > 64 ? 64 : name_len), arg);
			return -1;
		}
		const char *v = eq ? eq + 1 : (a + 1 < argc ? argv[++a] : NULL);
		if (!v) {
			snprintf(err, errlen, "%s needs a value", found->flag);
			return -1;
		}
		if (set_value(c, found, v, err, errlen) < 0)
			return -1;
	}
	return 0;
}

int cidr_contains(const struct cidr *r, int family, const void *addr)
{
	if (r->family != family)
		return 0;
	const unsigned char *a = addr;
	int bits = r->prefix;
	for (int i = 0; bits > 0; i++, bits -= 8) {
		unsigned char mask = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));
		if ((a[i] & mask) != (r->addr[i] & mask))
			return 0;
	}
	return 1;
}

int config_parse_cidr(const char *s, struct cidr *out)
{
	char host[64];
	const char *slash = strchr(s, '/');
	size_t hn = slash ? (size_t)(slash - s) : strlen(s);
	if (hn == 0 || hn >= sizeof(host))
		return -1;
	memcpy(host, s, hn);
	host[hn] = '\0';
	memset(out, 0, sizeof(*out));
	int max;
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	int64_t p = max;
	if (slash && parse_i64_cstr(slash + 1, 0, max, &p) < 0)
		return -1;
	out->prefix = (int)p;
	return 0;
}

int config_is_trusted_proxy(const struct config *c, int family, const void *addr)
{
	for (int i = 0; i < c->n_trusted_proxies; i++)
		if (cidr_contains(&c->trusted_proxies[i], family, addr))
			return 1;
	return 0;
}

static int is_loopback_host(const char *h)
{
	unsigned char a[16];
	if (strcmp(h, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, h, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, h, a) == 1) {
		static const unsigned char lo6[16] = {[15] = 1};
		return memcmp(a, lo6, 16) == 0;
	}
	return 0;
}

/* Parses scheme://host[:port][/path] of the base URL into c->base_host. */
static int parse_base_url(struct config *c, char *err, size_t errlen)
{
	const char *u = c->base_url;
	const char *rest;
	if (strncmp(u, "https://", 8) == 0) {
		c->base_url_https = 1;
		rest = u + 8;
	} else if (strncmp(u, "http://", 7) == 0) {
		rest = u + 7;
	} else {
		snprintf(err, errlen, "DROPFIX_BASE_URL: must start with https:// or http://");
		return -1;
	}
	size_t hn = strcspn(rest, "/?#");
	if (hn == 0 || hn >= sizeof(c->base_host) || rest[hn] == '?' || rest[hn] == '#') {
		snprintf(err, errlen, "DROPFIX_BASE_URL: expected scheme://host[:port][/path], no query or fragment");
		return -1;
	}
	for (size_t i = 0; i < hn; i++) {
		unsigned char ch = (unsigned char)rest[i];
		if (ch <= 0x20 || ch >= 0x7f || ch == '@' || ch == '\\') {
			snprintf(err, errlen, "DROPFIX_BASE_URL: invalid character in host");
			return -1;
		}
	}
	memcpy(c->base_host, rest, hn);
	c->base_host[hn] = '\0';
	/* strip one trailing slash so links can be base + "/path" */
	size_t ul = strlen(u);
	if (ul > 0 && u[ul - 1] == '/' && rest[hn] == '/' && rest[hn + 1] == '\0')
		c->base_url[ul - 1] = '\0';
	return 0;
}

int config_validate(struct config *c, unsigned commands, char *err, size_t errlen)
{
	if (c->log_level_raw) {
		enum log_level lv;
		if (log_parse_level(c->log_level_raw, &lv) < 0) {
			snprintf(err, errlen, "DROPFIX_LOG_LEVEL: expected debug, info, warn or error");
			return -1;
		}
		c->log_level = (int)lv;
		log_set_level(lv);
	}
	if (c->data_dir && !c->data_dir[0]) {
		snprintf(err, errlen, "DROPFIX_DATA_DIR: must not be empty");
		return -1;
	}
	if (!c->database_url || !c->database_url[0]) {
		char tmp[4096];
		int n = snprintf(tmp, sizeof(tmp), "sqlite:%s/dropfix.db", c->data_dir);
		if (n < 0 || (size_t)n >= sizeof(tmp) || !(free(c->database_url), c->database_url = strdup(tmp))) {
			snprintf(err, errlen, "DROPFIX_DATA_DIR: path too long");
			return -1;
		}
	} else if (strncmp(c->database_url, "sqlite:", 7) != 0 && strncmp(c->database_url, "postgres://", 11) != 0 &&
		   strncmp(c->database_url, "postgresql://", 13) != 0) {
		snprintf(err, errlen, "DROPFIX_DATABASE_URL: expected sqlite:PATH or postgres://…");
		return -1;
	}
	if (!c->master_key_file || !c->master_key_file[0]) {
		char tmp[4096];
		int n = snprintf(tmp, sizeof(tmp), "%s/master.key", c->data_dir);
		if (n < 0 || (size_t)n >= sizeof(tmp) || !(free(c->master_key_file), c->master_key_file = strdup(tmp))) {
			snprintf(err, errlen, "DROPFIX_DATA_DIR: path too long");
			return -1;
		}
	}
	if (c->sqlite_synchronous && strcmp(c->sqlite_synchronous, "FULL") != 0 &&
	    strcmp(c->sqlite_synchronous, "NORMAL") != 0) {
		snprintf(err, errlen, "DROPFIX_SQLITE_SYNCHRONOUS: expected FULL or NORMAL");
		return -1;
	}
	if (c->signup && strcmp(c->signup, "first") != 0 && strcmp(c->signup, "invite") != 0 &&
	    strcmp(c->signup, "open") != 0) {
		snprintf(err, errlen, "DROPFIX_SIGNUP: expected first, invite or open");
		return -1;
	}
	if (commands & (CFG_SERVE | CFG_WORKER | CFG_MAIL)) {
		if (c->smtp_url && c->smtp_url[0] && strncmp(c->smtp_url, "smtps://", 8) != 0 &&
		    strncmp(c->smtp_url, "smtp://", 7) != 0) {
			snprintf(err, errlen, "DROPFIX_SMTP_URL: expected smtps://… or smtp://… (STARTTLS is mandatory)");
			return -1;
		}
		if (c->smtp_ca_file && c->smtp_ca_file[0] && access(c->smtp_ca_file, R_OK) != 0) {
			snprintf(err, errlen, "DROPFIX_SMTP_CA_FILE: cannot read %.300s", c->smtp_ca_file);
			return -1;
		}
	}
	if (run_validators(c, commands, err, errlen) < 0)
		return -1;
	if (!(commands & CFG_SERVE))
		return 0;

	if (parse_host_port(c->listen, c->listen_host, sizeof(c->listen_host), &c->listen_port) < 0) {
		snprintf(err, errlen, "DROPFIX_LISTEN: expected host:port or [v6]:port with a port 1-65535");
		return -1;
	}
	unsigned char probe[16];
	if (inet_pton(AF_INET, c->listen_host, probe) != 1 && inet_pton(AF_INET6, c->listen_host, probe) != 1 &&
	    strcmp(c->listen_host, "localhost") != 0) {
		snprintf(err, errlen, "DROPFIX_LISTEN: the host must be an IP address or localhost");
		return -1;
	}
	c->listen_loopback = is_loopback_host(c->listen_host);
	int64_t threads;
	if (parse_i64_cstr(c->http_threads_raw, 1, 64, &threads) < 0) {
		snprintf(err, errlen, "DROPFIX_HTTP_THREADS: expected a whole number from 1 to 64");
		return -1;
	}
	c->http_threads = (int)threads;
	int64_t lim_email, lim_ip;
	if (parse_i64_cstr(c->signin_limit_email_raw, 1, 1000000, &lim_email) < 0) {
		snprintf(err, errlen, "DROPFIX_SIGNIN_LIMIT_EMAIL: expected a whole number from 1 to 1000000");
		return -1;
	}
	if (parse_i64_cstr(c->signin_limit_ip_raw, 1, 1000000, &lim_ip) < 0 || lim_ip <= lim_email) {
		snprintf(err, errlen,
			 "DROPFIX_SIGNIN_LIMIT_IP: expected a whole number up to 1000000, above DROPFIX_SIGNIN_LIMIT_EMAIL");
		return -1;
	}
	c->signin_limit_email = (int)lim_email;
	c->signin_limit_ip = (int)lim_ip;
	struct {
		const char *name;
		const char *raw;
		int64_t lo, hi;
		int *out;
	} ingest_ints[] = {
		{"DROPFIX_INGEST_MAX_EVENTS", c->ingest_max_events_raw, 1, 10000, &c->ingest_max_events},
		{"DROPFIX_INGEST_MAX_PROPERTIES", c->ingest_max_properties_raw, 1, 1000, &c->ingest_max_properties},
		{"DROPFIX_INGEST_MAX_STRING", c->ingest_max_string_raw, 16, 65536, &c->ingest_max_string},
		{"DROPFIX_INGEST_SKEW_S", c->ingest_skew_raw, 0, 86400, &c->ingest_skew_s},
		{"DROPFIX_INGEST_QUEUE", c->ingest_queue_raw, 100, 10000000, &c->ingest_queue},
		{"DROPFIX_INGEST_RATE", c->ingest_rate_raw, 1, 10000000, &c->ingest_rate},
		{"DROPFIX_INGEST_BURST", c->ingest_burst_raw, 1, 100000000, &c->ingest_burst},
		{"DROPFIX_INGEST_IP_RATE", c->ingest_ip_rate_raw, 1, 10000000, &c->ingest_ip_rate},
		{"DROPFIX_INGEST_IP_BURST", c->ingest_ip_burst_raw, 1, 100000000, &c->ingest_ip_burst},
	};
	for (size_t i = 0; i < sizeof(ingest_ints) / sizeof(ingest_ints[0]); i++) {
		int64_t v;
		if (parse_i64_cstr(ingest_ints[i].raw, ingest_ints[i].lo, ingest_ints[i].hi, &v) < 0) {
			snprintf(err, errlen, "%s: expected a whole number from %lld to %lld", ingest_ints[i].name,
				 (long long)ingest_ints[i].lo, (long long)ingest_ints[i].hi);
			return -1;
		}
		*ingest_ints[i].out = (int)v;
	}

	int tls = (c->tls_cert && c->tls_cert[0]) || (c->tls_key && c->tls_key[0]);
	if (tls && !(c->tls_cert && c->tls_cert[0] && c->tls_key && c->tls_key[0])) {
		snprintf(err, errlen, "DROPFIX_TLS_CERT and DROPFIX_TLS_KEY must be set together");
		return -1;
	}
	if (!c->base_url || !c->base_url[0]) {
		if (!c->listen_loopback) {
			snprintf(err, errlen,
				 "DROPFIX_BASE_URL: required when listening on a non-loopback address (%s)",
				 c->listen_host);
			return -1;
		}
		char tmp[320];
		int v6 = strchr(c->listen_host, ':') != NULL;
		snprintf(tmp, sizeof(tmp), "%s://%s%s%s:%u", tls ? "https" : "http", v6 ? "[" : "", c->listen_host,
			 v6 ? "]" : "", c->listen_port);
		free(c->base_url);
		c->base_url = strdup(tmp);
		if (!c->base_url) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (parse_base_url(c, err, errlen) < 0)
		return -1;

	c->n_trusted_proxies = 0;
	if (c->trusted_proxies_raw && c->trusted_proxies_raw[0]) {
		char *copy = strdup(c->trusted_proxies_raw);
		if (!copy) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		char *save = NULL;
		for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			while (*tok == ' ')
				tok++;
			size_t tl = strlen(tok);
			while (tl && tok[tl - 1] == ' ')
				tok[--tl] = '\0';
			if (c->n_trusted_proxies >= LIMIT_TRUSTED_PROXIES ||
			    config_parse_cidr(tok, &c->trusted_proxies[c->n_trusted_proxies]) < 0) {
				snprintf(err, errlen, "DROPFIX_TRUSTED_PROXIES: expected up to %d comma-separated addresses or CIDR ranges",
					 LIMIT_TRUSTED_PROXIES);
				free(copy);
				return -1;
			}
			c->n_trusted_proxies++;
		}
		free(copy);
	}
	if (c->security_contact && c->security_contact[0] && strncmp(c->security_contact, "mailto:", 7) != 0 &&
	    strncmp(c->security_contact, "https://", 8) != 0) {
		snprintf(err, errlen, "DROPFIX_SECURITY_CONTACT: expected mailto:… or https://…");
		return -1;
	}
	return 0;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < N_SETTINGS; i++) {
		char **f = field(c, &settings[i]);
		free(*f);
		*f = NULL;
	}
}

void config_print_flags(FILE *out, unsigned commands)
{
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const struct setting *s = &settings[i];
		if (!(s->commands & commands))
			continue;
		fprintf(out, "  %-20s %s (env %s", s->flag, "VALUE", s->env);
		if (s->def[0])
			fprintf(out, ", default %s", s->def[0] == '@' ? s->def + 1 : s->def);
		fprintf(out, ")\n");
	}
}

void config_print_markdown(FILE *out)
{
	fprintf(out, "| name | default | meaning |\n|---|---|---|\n");
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const struct setting *s = &settings[i];
		const char *d = s->def[0] == '@' ? s->def + 1 : s->def;
		fprintf(out, "| `%s` | %s%s%s | %s |\n", s->env, d[0] ? "`" : "(unset)", d, d[0] ? "`" : "", s->meaning);
	}
}
