#include "cli/opcli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/str.h"

void opcli_put(FILE *f, const char *s)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	buf_put_escaped(&b, s ? s : "", s ? strlen(s) : 0);
	fputs(b.p ? b.p : "", f);
	buf_free(&b);
}

void opcli_say(const struct opcli *o, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: ", o->prog);
	opcli_put(stderr, msg);
	fputc('\n', stderr);
}

int opcli_db_fail(const struct opcli *o, const char *what)
{
	enum store_code code = o->c ? store_errcode(o->c) : STORE_E_UNAVAILABLE;
	if (code == STORE_E_BUSY)
		opcli_say(o, "server busy, retry");
	else
		opcli_say(o, "%s: %s (%s)", what, o->c ? store_errmsg(o->c) : "no connection",
		          store_code_name(code));
	return 1;
}

int opcli_subcommand(int argc, char **argv, const char *cmd, const char *const *subs, size_t n,
                     const char *choices, void (*help)(FILE *), char *prog, size_t progn, int *exit_code)
{
	*exit_code = 0;
	if (cli_wants_help(argc, argv) || argc < 2) {
		help(argc < 2 ? stderr : stdout);
		*exit_code = argc < 2 ? EXIT_USAGE : 0;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(argv[1], subs[i]) == 0) {
			snprintf(prog, progn, "dropfix %s %s", cmd, subs[i]);
			return (int)i;
		}
	}
	fprintf(stderr, "dropfix %s: %s (see --help)\n", cmd, choices);
	*exit_code = EXIT_USAGE;
	return -1;
}

int opcli_commit(const struct opcli *o, struct store_tx **tx)
{
	int rc = store_commit(*tx);
	*tx = NULL;
	return rc < 0 ? opcli_db_fail(o, "committing") : 0;
}

static const struct opcli_flag *find_flag(const struct opcli_flag *flags, size_t n, const char *a,
                                          const char **inline_v)
{
	*inline_v = NULL;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(flags[i].name);
		if (strncmp(a, flags[i].name, len) != 0)
			continue;
		if (a[len] == '\0')
			return &flags[i];
		if (a[len] == '=' && flags[i].value) {
			*inline_v = a + len + 1;
			return &flags[i];
		}
	}
	return NULL;
}

int opcli_open(struct opcli *o, const char *prog, int argc, char **argv, int first,
               const struct opcli_flag *flags, size_t n, const char **pos, int max_pos, int *npos)
{
	char err[512];
	memset(o, 0, sizeof(*o));
	o->prog = prog;
	*npos = 0;
	char **rest = calloc((size_t)argc + 1, sizeof(*rest));
	if (!rest) {
		opcli_say(o, "out of memory");
		return 1;
	}
	int nrest = 0, rc = EXIT_USAGE;
	rest[nrest++] = argv[0];
	for (int i = first; i < argc; i++) {
		const char *a = argv[i], *iv;
		const struct opcli_flag *f = a[0] == '-' ? find_flag(flags, n, a, &iv) : NULL;
		if (f && f->value) {
			const char *v = iv ? iv : (i + 1 < argc ? argv[++i] : NULL);
			if (!v) {
				opcli_say(o, "%s needs a value", f->name);
				goto done;
			}
			*f->value = v;
		} else if (f) {
			*f->flag = 1;
		} else if (a[0] != '-') {
			if (*npos >= max_pos) {
				opcli_say(o, "unexpected argument '%.64s' (see --help)", a);
				goto done;
			}
			pos[(*npos)++] = a;
		} else {
			rest[nrest++] = argv[i];
			if (!strchr(a, '=') && i + 1 < argc && argv[i + 1][0] != '-')
				rest[nrest++] = argv[++i];
		}
	}
	if (config_load(&o->cfg, nrest, rest, CFG_STORE, err, sizeof(err)) < 0 ||
	    config_validate(&o->cfg, CFG_STORE, err, sizeof(err)) < 0 || clock_init(err, sizeof(err)) < 0) {
		opcli_say(o, "%s", err);
		goto done;
	}
	rc = 0;
done:
	free(rest);
	return rc;
}

int opcli_connect(struct opcli *o)
{
	char err[512];
	unsigned iflags =
	    strncmp(o->cfg.database_url, "sqlite:", 7) == 0 ? INSTALL_MIGRATE | INSTALL_CREATE_KEY : 0;
	if (install_open(&o->in, &o->cfg, STORE_ROLE_APP, iflags, err, sizeof(err)) < 0) {
		if (strstr(err, "(busy)"))
			opcli_say(o, "server busy, retry");
		else
			opcli_say(o, "%s", err);
		return 1;
	}
	if (store_conn_open(o->in.store, &o->c, err, sizeof(err)) < 0) {
		opcli_say(o, "%s", err);
		return 1;
	}
	return 0;
}

void opcli_close(struct opcli *o)
{
	if (!o)
		return;
	store_conn_close(o->c);
	o->c = NULL;
	install_close(&o->in);
	config_free(&o->cfg);
}

long opcli_read_password(char *out, size_t cap)
{
	size_t n = 0;
	int tty = isatty(STDIN_FILENO);
	struct termios old, quiet;
	int echo_off = 0;
	if (cap == 0)
		return -1;
	if (tty && tcgetattr(STDIN_FILENO, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
		fputs("Password (not shown), then Enter: ", stderr);
	}
	long total = 0;
	for (;;) {
		char ch;
		ssize_t got = read(STDIN_FILENO, &ch, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			total = -1;
			break;
		}
		if (got == 0 || (tty && ch == '\n'))
			break;
		if (n + 1 < cap)
			out[n++] = ch;
		total++;
	}
	if (echo_off) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (total < 0)
		return -1;
	/* one trailing line end (echo pw | dropfix …) is not part of the password */
	if (!tty && n > 0 && (size_t)total == n && out[n - 1] == '\n') {
		n--;
		total--;
		if (n > 0 && out[n - 1] == '\r') {
			n--;
			total--;
		}
	}
	out[n] = '\0';
	return total;
}

int opcli_audit(const struct opcli *o, struct store_tx *tx, const char *action, const char *target,
                int64_t ws, const char *detail)
{
	struct audit_event e = {
	    .actor_kind = AUDIT_ACTOR_CLI,
	    .actor_id = 0,
	    .action = action,
	    .target = target,
	    .detail = detail,
	    .workspace_id = ws,
	};
	if (audit_append_install(tx, o->in.keys, &e) < 0) {
		opcli_say(o, "writing the audit record failed");
		return -1;
	}
	return 0;
}
