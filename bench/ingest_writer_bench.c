/* The ingestion writer alone: commit_group (src/ingest/ingest_writer.c, included to reach
 * its statics) over synthetic single-event requests, G requests per group commit, users
 * drawn from 1000 ids, every message_id distinct. Prints the writer thread's CPU time and
 * wall time per event for each group size. CPU time of one thread is far less sensitive
 * to other load on the machine than requests per second, so this is the number to
 * compare when changing the writer or the schema it writes to. The aggregation pass
 * (agg_run) runs as in the writer thread under load and is included in the time.
 *
 * Usage: ingest_writer_bench DB_PATH WORKSPACE_ID FULL|NORMAL EVENTS G...
 * (bench/writer.sh creates the database with the CLI and runs it.) */
#include <time.h>

#include "../src/ingest/ingest_writer.c"
#include "core/parse.h"

static double thread_cpu_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double mono_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: %s DB_PATH WORKSPACE_ID FULL|NORMAL EVENTS G...\n", argv[0]);
		return 2;
	}
	int64_t ws = 0, events = 0;
	if (parse_i64_cstr(argv[2], 1, INT64_MAX, &ws) < 0 || parse_i64_cstr(argv[4], 1, 100000000, &events) < 0) {
		fprintf(stderr, "bad WORKSPACE_ID or EVENTS\n");
		return 2;
	}
	struct store_opts o = {.sqlite_sync_normal = strcmp(argv[3], "NORMAL") == 0};
	struct store *s = NULL;
	struct store_conn *c = NULL;
	char err[256], url[4200];
	snprintf(url, sizeof(url), "sqlite:%s", argv[1]);
	if (store_open(url, &o, &s, err, sizeof(err)) < 0 || store_conn_open(s, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf("%-8s %10s %14s %15s\n", "group", "events", "cpu_us/event", "wall_us/event");
	long counter = 0;
	size_t aggregated = 0;
	srand(1);
	for (int a = 5; a < argc; a++) {
		int64_t g = 0;
		if (parse_i64_cstr(argv[a], 1, 4096, &g) < 0) {
			fprintf(stderr, "bad group size %s\n", argv[a]);
			return 2;
		}
		size_t G = (size_t)g, groups = (size_t)(events / g > 0 ? events / g : 1);
		struct ingest_batch *b = calloc(G, sizeof(*b));
		struct ingest_batch **v = calloc(G, sizeof(*v));
		struct ingest_event *ev = calloc(G, sizeof(*ev));
		char(*uid)[16] = calloc(G, 16);
		char(*mid)[40] = calloc(G, 40);
		if (!b || !v || !ev || !uid || !mid)
			return 1;
		double c0 = thread_cpu_s(), w0 = mono_s();
		for (size_t k = 0; k < groups; k++) {
			int64_t now = clock_now_ms();
			for (size_t i = 0; i < G; i++) {
				snprintf(uid[i], 16, "u%d", rand() % 1000 + 1);
				snprintf(mid[i], 40, "wb-%lld-%ld", (long long)now, counter++);
				ev[i] = (struct ingest_event){.type = "track",
				                              .name = "Bench event",
				                              .user_id = uid[i],
				                              .message_id = mid[i],
				                              .props = "{\"plan\":\"pro\",\"n\":1}",
				                              .feature = "track Bench event",
				                              .event_ms = now};
				b[i] = (struct ingest_batch){.workspace_id = ws, .received_ms = now, .ev = &ev[i], .n = 1};
				v[i] = &b[i];
			}
			if (commit_group(c, v, G) < 0) {
				fprintf(stderr, "commit failed: %s\n", store_errmsg(c));
				return 1;
			}
			/* the aggregation as the writer thread runs it under load (every
			 * AGG_PERIOD_MS or AGG_MAX_PENDING events), counted in the cost */
			agg_note_ws(ws);
			A.pending += G;
			if (!A.since)
				A.since = mono_ms();
			if ((A.pending >= AGG_MAX_PENDING || mono_ms() - A.since >= AGG_PERIOD_MS) &&
			    agg_run(c, 0, &aggregated) < 0) {
				fprintf(stderr, "aggregation failed: %s\n", store_errmsg(c));
				return 1;
			}
		}
		if (agg_run(c, 1, &aggregated) < 0) { /* what is left, inside the measured time */
			fprintf(stderr, "aggregation failed: %s\n", store_errmsg(c));
			return 1;
		}
		double n = (double)(G * groups);
		printf("%-8zu %10.0f %14.1f %15.1f\n", G, n, (thread_cpu_s() - c0) * 1e6 / n, (mono_s() - w0) * 1e6 / n);
		free(b);
		free(v);
		free(ev);
		free(uid);
		free(mid);
	}
	store_conn_close(c);
	store_close(s);
	free(ids_tab);
	free(A.ws);
	return 0;
}
