#include "auth/auth_mail.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "http/views.h"

#define SEND_ATTEMPTS 3
#define RETRY_DELAY_MS 2000

struct item {
	struct item *next;
	char *to_addr, *to_name, *subject, *text, *html;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv; /* CLOCK_MONOTONIC, made in start_locked */
static struct item *head, *tail;
static int queued;  /* in the list */
static int sending; /* taken by the sender, not yet done */
static int started, stopping;
static int64_t drop_at_ns; /* stopping: give up on the rest after this */
static pthread_t sender;
static const struct config *sender_cfg;

static void wipe_str(char *s)
{
	if (s) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

static void item_free(struct item *it)
{
	if (!it)
		return;
	wipe_str(it->to_addr);
	wipe_str(it->to_name);
	wipe_str(it->subject);
	wipe_str(it->text);
	wipe_str(it->html);
	free(it);
}

static struct timespec mono_deadline(int64_t from_now_ms)
{
	int64_t ns = clock_mono_ns() + from_now_ms * 1000000;
	return (struct timespec){.tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000)};
}

static void send_one(struct item *it)
{
	struct mail_msg m = {.to_addr = it->to_addr,
	                     .to_name = it->to_name,
	                     .subject = it->subject,
	                     .text = it->text,
	                     .html = it->html};
	char err[512];
	for (int attempt = 1; attempt <= SEND_ATTEMPTS; attempt++) {
		if (mail_send(sender_cfg, &m, err, sizeof(err)) == 0)
			return;
		log_json(LOG_WARN, "account mail not sent",
		         json_pack("{s:i, s:s}", "attempt", attempt, "error", err));
		pthread_mutex_lock(&mu);
		if (attempt < SEND_ATTEMPTS && !stopping) {
			struct timespec until = mono_deadline(RETRY_DELAY_MS);
			pthread_cond_timedwait(&cv, &mu, &until);
		}
		int give_up = stopping && clock_mono_ns() >= drop_at_ns;
		pthread_mutex_unlock(&mu);
		if (give_up)
			return;
	}
}

static void *sender_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	for (;;) {
		while (!head && !stopping)
			pthread_cond_wait(&cv, &mu);
		if (!head || (stopping && clock_mono_ns() >= drop_at_ns))
			break;
		struct item *it = head;
		head = it->next;
		if (!head)
			tail = NULL;
		queued--;
		sending++;
		pthread_mutex_unlock(&mu);
		send_one(it);
		item_free(it);
		pthread_mutex_lock(&mu);
		sending--;
	}
	int dropped = 0;
	while (head) {
		struct item *it = head;
		head = it->next;
		item_free(it);
		dropped++;
	}
	tail = NULL;
	queued = 0;
	pthread_mutex_unlock(&mu);
	if (dropped)
		log_json(LOG_WARN, "account mail dropped at shutdown",
		         json_pack("{s:i}", "messages", dropped));
	return NULL;
}

/* Under mu: starts the sender once. Returns 0 or -1. */
static int start_locked(const struct config *cfg)
{
	if (started)
		return stopping ? -1 : 0;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&cv, &attr);
	pthread_condattr_destroy(&attr);
	sender_cfg = cfg;
	if (pthread_create(&sender, NULL, sender_main, NULL) != 0) {
		pthread_cond_destroy(&cv);
		return -1;
	}
	started = 1;
	return 0;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int auth_mail_queue(const struct config *cfg, const char *to_addr, const char *to_name, const char *subject,
                    const struct mail_notice *n)
{
	struct buf text, html;
	struct item *it = NULL;
	int rc = -1;
	buf_init(&text, LIMIT_MAIL_BODY);
	buf_init(&html, LIMIT_MAIL_BODY);
	if (!views() || mail_notice_render(views(), n, &text, &html) < 0 || text.oom || html.oom) {
		log_json(LOG_ERROR, "account mail: render failed", json_pack("{s:s}", "subject", subject));
		goto done;
	}
	it = calloc(1, sizeof(*it));
	if (!it)
		goto done;
	it->to_addr = strdup(to_addr);
	it->to_name = dup_or_null(to_name && to_name[0] ? to_name : NULL);
	it->subject = strdup(subject);
	it->text = buf_detach(&text, NULL);
	it->html = buf_detach(&html, NULL);
	if (!it->to_addr || !it->subject || !it->text || !it->html || (to_name && to_name[0] && !it->to_name))
		goto done;
	pthread_mutex_lock(&mu);
	if (queued >= LIMIT_AUTH_MAIL_QUEUE || start_locked(cfg) < 0) {
		pthread_mutex_unlock(&mu);
		log_json(LOG_ERROR, "account mail: queue full or sender stopped",
		         json_pack("{s:s}", "subject", subject));
		goto done;
	}
	if (tail)
		tail->next = it;
	else
		head = it;
	tail = it;
	queued++;
	it = NULL;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	rc = 0;
done:
	item_free(it);
	if (text.p)
		sodium_memzero(text.p, text.n);
	if (html.p)
		sodium_memzero(html.p, html.n);
	buf_free(&text);
	buf_free(&html);
	return rc;
}

void auth_mail_stop(int64_t timeout_ms)
{
	pthread_mutex_lock(&mu);
	if (!started || stopping) {
		pthread_mutex_unlock(&mu);
		return;
	}
	stopping = 1;
	drop_at_ns = clock_mono_ns() + timeout_ms * 1000000;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(sender, NULL);
	pthread_cond_destroy(&cv);
}

int auth_mail_pending(void)
{
	pthread_mutex_lock(&mu);
	int n = queued + sending;
	pthread_mutex_unlock(&mu);
	return n;
}
