/* Prometheus text metrics: request counters per route and registered gauges. */
#ifndef DROPFIX_METRICS_H
#define DROPFIX_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"
#include "http/http.h"

/* Sets up per-route counters for the route table (call once before serving). */
void metrics_init(const struct route *routes, size_t n);
/* Counts one finished request; route_index -1 for unmatched. Thread-safe. */
void metrics_observe_request(int route_index, int status, int64_t duration_us);

/* A gauge read at scrape time; returns its current value. */
typedef double (*metrics_gauge_fn)(void *arg);
/* Registers a gauge (name and help must be static strings). Returns 0 or -1 when full. */
int metrics_register_gauge(const char *name, const char *help, metrics_gauge_fn fn, void *arg);
/* The same for a counter: fn returns a value that only grows (exposed as TYPE counter). */
int metrics_register_counter(const char *name, const char *help, metrics_gauge_fn fn, void *arg);
/* Appends the whole exposition text to out. Returns 0 or -1. */
int metrics_render(struct buf *out);

#endif
