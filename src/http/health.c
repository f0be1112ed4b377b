#include "http/health.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>
#include <sys/statvfs.h>

#include "core/clock.h"
#include "http/metrics.h"

enum { MAX_CHECKS = 16 };

static struct {
	const char *name;
	health_check_fn fn;
	void *arg;
} checks[MAX_CHECKS];
static int n_checks;
static pthread_mutex_t checks_lock = PTHREAD_MUTEX_INITIALIZER;

int health_register_check(const char *name, health_check_fn fn, void *arg)
{
	int rc = -1;
	pthread_mutex_lock(&checks_lock);
	if (n_checks < MAX_CHECKS) {
		checks[n_checks].name = name;
		checks[n_checks].fn = fn;
		checks[n_checks].arg = arg;
		n_checks++;
		rc = 0;
	}
	pthread_mutex_unlock(&checks_lock);
	return rc;
}

int health_livez(struct http_request *req, struct http_response *res)
{
	(void)req;
	static const char ok[] = "{\"status\":\"ok\"}";
	return http_reply_text(res, 200, "application/json", ok, sizeof(ok) - 1);
}

int health_readyz(struct http_request *req, struct http_response *res)
{
	json_t *body = json_object();
	json_t *detail = json_object();
	int ready = 1;
	pthread_mutex_lock(&checks_lock);
	for (int i = 0; i < n_checks; i++) {
		char why[160] = "";
		json_t *d = json_object();
		int ok = checks[i].fn(checks[i].arg, d, why, sizeof(why)) == 0;
		json_object_set_new(d, "ok", json_boolean(ok));
		if (!ok) {
			json_object_set_new(d, "error", json_string(why));
			ready = 0;
		}
		json_object_set_new(detail, checks[i].name, d);
	}
	pthread_mutex_unlock(&checks_lock);
	struct statvfs vfs;
	const char *dir = req->cfg->data_dir ? req->cfg->data_dir : ".";
	if (statvfs(dir, &vfs) == 0)
		json_object_set_new(body, "free_disk_bytes", json_integer((json_int_t)vfs.f_bavail * (json_int_t)vfs.f_frsize));
	json_object_set_new(body, "status", json_string(ready ? "ready" : "unavailable"));
	json_object_set_new(body, "checks", detail);
	if (!ready)
		http_set_header(res, "Retry-After", "5");
	return http_reply_json(res, ready ? 200 : 503, body);
}

int health_metrics_auth(struct http_request *req, struct http_response *res)
{
	const struct config *cfg = req->cfg;
	const char *token = cfg->metrics_token;
	if (token && token[0]) {
		const char *auth = http_header(req, "Authorization");
		size_t tl = strlen(token);
		if (auth && strncmp(auth, "Bearer ", 7) == 0 && strlen(auth + 7) == tl &&
		    sodium_memcmp(auth + 7, token, tl) == 0)
			return 0;
	}
	if (cfg->n_trusted_proxies == 0 && req->peer_loopback)
		return 0;
	http_reply_error(req, res, 403, "forbidden",
			 "metrics are served to loopback only, or with DROPFIX_METRICS_TOKEN as a Bearer token", NULL);
	return -1;
}

int health_metrics(struct http_request *req, struct http_response *res)
{
	(void)req;
	buf_reset(&res->body);
	res->status = 200;
	res->content_type = "text/plain; version=0.0.4; charset=utf-8";
	return metrics_render(&res->body);
}

int health_security_txt(struct http_request *req, struct http_response *res)
{
	const struct config *cfg = req->cfg;
	if (!cfg->security_contact || !cfg->security_contact[0])
		return http_reply_error(req, res, 404, "not_found",
					"no security contact is configured (DROPFIX_SECURITY_CONTACT)", NULL);
	/* RFC 9116: Contact and Expires are required; expire a year from now. */
	char expires[32];
	if (clock_format_ms(clock_now_ms() + INT64_C(365) * 86400 * 1000, expires, sizeof(expires)) < 0)
		return -1;
	memcpy(expires + 19, "Z", 2); /* drop the milliseconds */
	struct buf b;
	buf_init(&b, 4096);
	buf_printf(&b, "Contact: %s\nExpires: %s\nCanonical: %s/.well-known/security.txt\nPreferred-Languages: en\n",
		   cfg->security_contact, expires, cfg->base_url);
	int rc = b.oom ? -1 : http_reply_text(res, 200, "text/plain; charset=utf-8", b.p, b.n);
	buf_free(&b);
	return rc;
}
