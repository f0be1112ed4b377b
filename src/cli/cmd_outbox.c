/* dropfix outbox: lists and prints the messages of the development outbox (system mail
 * written to <data dir>/outbox/ while DROPFIX_SMTP_URL is unset). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/parse.h"
#include "core/str.h"
#include "mail/mail.h"
#include "mail/outbox.h"
#ifdef DROPFIX_TEST_HOOKS
#include "tmpl/tmpl.h"
#endif

void cmd_outbox_help(FILE *out)
{
	fprintf(out, "usage: dropfix outbox [--json] [options]\n"
	             "       dropfix outbox show N|latest [--html] [--json] [options]\n\n"
	             "The development outbox. While DROPFIX_SMTP_URL is unset, system mail (verification,\n"
	             "password reset, invites, security notices) is not sent: each message is written\n"
	             "to <data dir>/outbox/ as an .eml file (mode 0600). This is for development and\n"
	             "tests only; a production installation sets DROPFIX_SMTP_URL.\n\n"
	             "Without a subcommand, lists the messages, oldest first: number, time, recipient and\n"
	             "subject. `show N` prints message N (`latest` for the newest): its headers and the\n"
	             "decoded plain-text body, so a link in it can be copied. Control characters are\n"
	             "printed escaped (\\xNN).\n\n"
	             "  --json               machine-readable output (one JSON document)\n"
	             "  --html               with show: print the HTML body instead of the text body\n");
	config_print_flags(out, CFG_MAIL);
#ifdef DROPFIX_TEST_HOOKS
	fprintf(out, "\nTest build only:\n"
	             "  --test-send TO SUBJECT  send a notice mail (text and HTML, with a link built\n"
	             "                          from the base URL) through mail_send and exit\n"
	             "  --test-name NAME        display name of the recipient for --test-send\n"
	             "  --test-key KEY          idempotency key (Message-ID) for --test-send\n");
#endif
}

/* Appends s with control characters (C0 other than those in keep, DEL, C1) escaped as
 * \xNN or \uNNNN; backslashes doubled when esc_backslash. s is valid UTF-8 (outbox
 * strings are). */
static void put_clean(struct buf *b, const char *s, const char *keep, int esc_backslash)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = mail_utf8_char(s + i, n - i, &cp);
		if (len == 0) {
			buf_printf(b, "\\x%02x", (unsigned char)s[i]);
			i++;
			continue;
		}
		if ((cp < 0x20 && !strchr(keep, (int)cp)) || cp == 0x7f)
			buf_printf(b, "\\x%02x", (unsigned)cp);
		else if (cp >= 0x80 && cp <= 0x9f)
			buf_printf(b, "\\u%04x", (unsigned)cp);
		else if (cp == '\\' && esc_backslash)
			buf_puts(b, "\\\\");
		else
			buf_append(b, s + i, len);
		i += len;
	}
}

static void print_clean(const char *s, const char *keep, int esc_backslash)
{
	struct buf b;
	buf_init(&b, 0);
	put_clean(&b, s, keep, esc_backslash);
	if (b.p)
		fwrite(b.p, 1, b.n, stdout);
	buf_free(&b);
}

static int print_json(json_t *v)
{
	if (!v)
		return -1;
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(v);
	if (!s)
		return -1;
	printf("%s\n", s);
	free(s);
	return 0;
}

static int do_list(const struct config *cfg, int json)
{
	struct outbox_entry *v = NULL;
	size_t n = 0;
	char err[512];
	int rc = 1;
	json_t *arr = NULL;
	if (outbox_list(cfg->data_dir, &v, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, "dropfix outbox: %s\n", err);
		return 1;
	}
	if (json && !(arr = json_array()))
		goto done;
	if (!json && n == 0)
		printf("the outbox is empty (%s/%s)\n", cfg->data_dir, OUTBOX_DIR);
	for (size_t i = 0; i < n; i++) {
		struct outbox_msg m;
		char when[32];
		if (clock_format_ms(v[i].ms, when, sizeof(when)) < 0)
			snprintf(when, sizeof(when), "?");
		if (outbox_read(cfg->data_dir, v[i].name, &m, err, sizeof(err)) < 0) {
			fprintf(stderr, "dropfix outbox: %s: %s\n", v[i].name, err);
			continue;
		}
		if (json) {
			json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s}", "n", (json_int_t)(i + 1), "file",
			                      v[i].name, "time", when, "to", m.to, "subject", m.subject);
			if (!o || json_array_append_new(arr, o) < 0) {
				outbox_msg_free(&m);
				goto done;
			}
		} else {
			printf("%4zu  %s  ", i + 1, when);
			print_clean(m.to, "", 1);
			printf("  ");
			print_clean(m.subject, "", 1);
			printf("\n");
		}
		outbox_msg_free(&m);
	}
	if (json) {
		rc = print_json(arr) < 0 ? 1 : 0;
		arr = NULL;
	} else {
		rc = 0;
	}
done:
	json_decref(arr);
	free(v);
	return rc;
}

static int do_show(const struct config *cfg, const char *which, int json, int html)
{
	struct outbox_entry *v = NULL;
	size_t n = 0;
	char err[512];
	int rc = 1;
	struct outbox_msg m = {0};
	if (outbox_list(cfg->data_dir, &v, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, "dropfix outbox: %s\n", err);
		return 1;
	}
	int64_t k = 0;
	if (n == 0) {
		fprintf(stderr, "dropfix outbox: the outbox is empty (%s/%s)\n", cfg->data_dir, OUTBOX_DIR);
		goto done;
	}
	if (strcmp(which, "latest") == 0) {
		k = (int64_t)n;
	} else if (parse_i64_cstr(which, 1, (int64_t)n, &k) < 0) {
		fprintf(stderr, "dropfix outbox: show takes a message number from 1 to %zu, or latest\n", n);
		rc = EXIT_USAGE;
		goto done;
	}
	const struct outbox_entry *e = &v[k - 1];
	if (outbox_read(cfg->data_dir, e->name, &m, err, sizeof(err)) < 0) {
		fprintf(stderr, "dropfix outbox: %s\n", err);
		goto done;
	}
	char when[32];
	if (clock_format_ms(e->ms, when, sizeof(when)) < 0)
		snprintf(when, sizeof(when), "?");
	if (json) {
		json_t *o =
		    json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "n", (json_int_t)k, "file",
		              e->name, "time", when, "date", m.date, "from", m.from, "to", m.to, "subject",
		              m.subject, "message_id", m.message_id, "text", m.text, "html", m.html);
		rc = print_json(o) < 0 ? 1 : 0;
		goto done;
	}
	const char *labels[] = {"File", "Date", "From", "To", "Subject", "Message-ID"};
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s/%s", cfg->data_dir, OUTBOX_DIR, e->name);
	const char *vals[] = {path, m.date, m.from, m.to, m.subject, m.message_id};
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		printf("%s: ", labels[i]);
		print_clean(vals[i], "", 1);
		printf("\n");
	}
	printf("\n");
	print_clean(html ? m.html : m.text, "\t\n", 0);
	size_t bl = strlen(html ? m.html : m.text);
	if (bl && (html ? m.html : m.text)[bl - 1] != '\n')
		printf("\n");
	rc = 0;
done:
	outbox_msg_free(&m);
	free(v);
	return rc;
}

#ifdef DROPFIX_TEST_HOOKS
/* --test-send TO SUBJECT: a verification-style notice through mail_send. */
static int test_send(const struct config *cfg, const char *to, const char *subject, const char *name,
                     const char *key)
{
	struct tmpl_set *set = NULL;
	struct buf text, html;
	char err[512], url[600];
	int rc = 1;
	buf_init(&text, 0);
	buf_init(&html, 0);
	if (tmpl_set_load_embedded(&set, err, sizeof(err)) < 0) {
		fprintf(stderr, "dropfix outbox: templates: %s\n", err);
		goto done;
	}
	snprintf(url, sizeof(url), "%s/auth/verify?token=test-token-0123456789",
	         cfg->base_url && cfg->base_url[0] ? cfg->base_url : "http://localhost:8080");
	const char *paras[] = {
	    "Someone (hopefully you) signed up for DropFix with this address.",
	    "Confirm it to finish: the link works once and expires in 24 hours. <b>not bold</b> & co."};
	struct mail_notice notice = {
	    .heading = "Confirm your e-mail address",
	    .paragraphs = paras,
	    .n_paragraphs = 2,
	    .action_label = "Confirm my address",
	    .action_url = url,
	    .footer = "You get this mail because this address was entered on the DropFix sign-up page.",
	};
	if (mail_notice_render(set, &notice, &text, &html) < 0) {
		fprintf(stderr, "dropfix outbox: cannot render the notice\n");
		goto done;
	}
	struct mail_msg m = {
	    .to_addr = to,
	    .to_name = name,
	    .subject = subject,
	    .text = text.p,
	    .html = html.p,
	    .idempotency_key = key,
	};
	if (mail_send(cfg, &m, err, sizeof(err)) < 0) {
		struct buf b;
		buf_init(&b, 0);
		buf_put_escaped(&b, err, strlen(err));
		fprintf(stderr, "dropfix outbox: %s\n", b.p ? b.p : "send failed");
		buf_free(&b);
		goto done;
	}
	printf("sent\n");
	rc = 0;
done:
	tmpl_set_free(set);
	buf_free(&text);
	buf_free(&html);
	return rc;
}
#endif

int cmd_outbox(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		cmd_outbox_help(stdout);
		return 0;
	}
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args)
		return 1;
	int nargs = 0, json = 0, html = 0, show = 0;
	const char *which = NULL;
	const char *send_to = NULL, *send_subject = NULL, *send_name = NULL, *send_key = NULL;
	int rc = EXIT_USAGE;
	struct config cfg;
	char err[512];
	memset(&cfg, 0, sizeof(cfg));
	for (int i = 0; i < argc; i++) {
		if (i > 0 && !show && strcmp(argv[i], "show") == 0) {
			show = 1;
			if (i + 1 >= argc) {
				fprintf(stderr, "dropfix outbox: show needs N or latest\n");
				goto done;
			}
			which = argv[++i];
			continue;
		}
		if (i > 0 && strcmp(argv[i], "--json") == 0) {
			json = 1;
			continue;
		}
		if (i > 0 && strcmp(argv[i], "--html") == 0) {
			html = 1;
			continue;
		}
#ifdef DROPFIX_TEST_HOOKS
		if (i > 0 && strcmp(argv[i], "--test-send") == 0 && i + 2 < argc) {
			send_to = argv[++i];
			send_subject = argv[++i];
			continue;
		}
		if (i > 0 && strcmp(argv[i], "--test-name") == 0 && i + 1 < argc) {
			send_name = argv[++i];
			continue;
		}
		if (i > 0 && strcmp(argv[i], "--test-key") == 0 && i + 1 < argc) {
			send_key = argv[++i];
			continue;
		}
#endif
		args[nargs++] = argv[i];
		/* a settings flag without '=' takes the next argument as its value */
		if (i > 0 && strncmp(argv[i], "--", 2) == 0 && !strchr(argv[i], '=') && i + 1 < argc)
			args[nargs++] = argv[++i];
	}
	if (html && !show) {
		fprintf(stderr, "dropfix outbox: --html goes with show\n");
		goto done;
	}
	if (config_load(&cfg, nargs, args, CFG_MAIL, err, sizeof(err)) < 0 ||
	    config_validate(&cfg, CFG_MAIL, err, sizeof(err)) < 0 || clock_init(err, sizeof(err)) < 0) {
		fprintf(stderr, "dropfix outbox: %s\n", err);
		goto done;
	}
#ifdef DROPFIX_TEST_HOOKS
	if (send_to) {
		rc = test_send(&cfg, send_to, send_subject, send_name, send_key);
		goto done;
	}
#else
	(void)send_to;
	(void)send_subject;
	(void)send_name;
	(void)send_key;
#endif
	if (cfg.smtp_url && cfg.smtp_url[0])
		fprintf(stderr,
		        "dropfix outbox: note: DROPFIX_SMTP_URL is set, so new mail goes to the SMTP server, "
		        "not to this outbox\n");
	rc = show ? do_show(&cfg, which, json, html) : do_list(&cfg, json);
done:
	config_free(&cfg);
	free(args);
	return rc;
}
