#include "http/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"

enum { N_CLASSES = 5, MAX_GAUGES = 32, MAX_ROUTES = 256 };

struct route_counters {
	atomic_ullong by_class[N_CLASSES]; /* 1xx..5xx */
	atomic_ullong duration_us_sum;
};

static const struct route *metric_routes;
static size_t metric_n_routes;
static struct route_counters counters[MAX_ROUTES + 1]; /* last slot: unmatched */
static int64_t started_ms;

static struct {
	const char *name;
	const char *help;
	const char *type; /* "gauge" or "counter" */
	metrics_gauge_fn fn;
	void *arg;
} gauges[MAX_GAUGES];
static int n_gauges;
static pthread_mutex_t gauge_lock = PTHREAD_MUTEX_INITIALIZER;

void metrics_init(const struct route *routes, size_t n)
{
	metric_routes = routes;
	metric_n_routes = n > MAX_ROUTES ? MAX_ROUTES : n;
	started_ms = clock_now_ms();
}

void metrics_observe_request(int route_index, int status, int64_t duration_us)
{
	size_t slot = route_index >= 0 && (size_t)route_index < metric_n_routes ? (size_t)route_index : MAX_ROUTES;
	int cls = status / 100 - 1;
	if (cls < 0 || cls >= N_CLASSES)
		cls = N_CLASSES - 1;
	atomic_fetch_add(&counters[slot].by_class[cls], 1);
	if (duration_us > 0)
		atomic_fetch_add(&counters[slot].duration_us_sum, (unsigned long long)duration_us);
}

static int register_read_metric(const char *type, const char *name, const char *help, metrics_gauge_fn fn,
                                void *arg)
{
	pthread_mutex_lock(&gauge_lock);
	int rc = -1;
	if (n_gauges < MAX_GAUGES) {
		gauges[n_gauges].name = name;
		gauges[n_gauges].help = help;
		gauges[n_gauges].type = type;
		gauges[n_gauges].fn = fn;
		gauges[n_gauges].arg = arg;
		n_gauges++;
		rc = 0;
	}
	pthread_mutex_unlock(&gauge_lock);
	return rc;
}

int metrics_register_gauge(const char *name, const char *help, metrics_gauge_fn fn, void *arg)
{
	return register_read_metric("gauge", name, help, fn, arg);
}

int metrics_register_counter(const char *name, const char *help, metrics_gauge_fn fn, void *arg)
{
	return register_read_metric("counter", name, help, fn, arg);
}

static long rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, rss = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * sysconf(_SC_PAGESIZE);
}

static void render_route(struct buf *out, const char *pattern, const struct route_counters *c)
{
	for (int k = 0; k < N_CLASSES; k++) {
		unsigned long long v = atomic_load(&c->by_class[k]);
		if (v)
			buf_printf(out, "dropfix_http_requests_total{route=\"%s\",code=\"%dxx\"} %llu\n", pattern, k + 1, v);
	}
}

int metrics_render(struct buf *out)
{
	buf_puts(out, "# HELP dropfix_http_requests_total Finished HTTP requests by route pattern and status class.\n"
		      "# TYPE dropfix_http_requests_total counter\n");
	for (size_t i = 0; i < metric_n_routes; i++)
		render_route(out, metric_routes[i].pattern, &counters[i]);
	render_route(out, "(none)", &counters[MAX_ROUTES]);
	buf_puts(out, "# HELP dropfix_http_request_duration_seconds_sum Total time spent in requests by route.\n"
		      "# TYPE dropfix_http_request_duration_seconds_sum counter\n");
	for (size_t i = 0; i < metric_n_routes; i++) {
		unsigned long long us = atomic_load(&counters[i].duration_us_sum);
		if (us)
			buf_printf(out, "dropfix_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
				   metric_routes[i].pattern, (double)us / 1e6);
	}
	buf_printf(out, "# HELP dropfix_process_resident_memory_bytes Resident set size.\n"
			"# TYPE dropfix_process_resident_memory_bytes gauge\n"
			"dropfix_process_resident_memory_bytes %ld\n",
		   rss_bytes());
	buf_printf(out, "# HELP dropfix_uptime_seconds Seconds since the server started.\n"
			"# TYPE dropfix_uptime_seconds gauge\ndropfix_uptime_seconds %lld\n",
		   (long long)((clock_now_ms() - started_ms) / 1000));
	pthread_mutex_lock(&gauge_lock);
	for (int i = 0; i < n_gauges; i++)
		buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", gauges[i].name, gauges[i].help,
			   gauges[i].name, gauges[i].type, gauges[i].name, gauges[i].fn(gauges[i].arg));
	pthread_mutex_unlock(&gauge_lock);
	return out->oom ? -1 : 0;
}
