#include "web/live.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "http/http.h"

int live_format(struct buf *out, const char *type, const char *name, const char *user, int64_t at_ms)
{
	out->n = 0;
	/* JSON text has no raw newline, so one data: line frames the message */
	json_t *j = json_pack("{s:s, s:s, s:s?, s:I}", "type", type ? type : "", "name", name ? name : "", "user",
			      user, "at", (json_int_t)at_ms);
	if (!j)
		return -1;
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!text)
		return -1;
	buf_puts(out, "event: ev\ndata: ");
	buf_puts(out, text);
	buf_puts(out, "\n\n");
	free(text);
	return out->oom ? -1 : 0;
}

void live_publish(int64_t ws, const struct ingest_event *ev, size_t n)
{
	if (http_stream_count(ws) == 0)
		return;
	struct buf b;
	buf_init(&b, 8192);
	size_t sent = 0, more = 0;
	for (size_t i = 0; i < n; i++) {
		if (ev[i].dup)
			continue;
		if (sent == LIVE_PER_BATCH) {
			more++;
			continue;
		}
		if (live_format(&b, ev[i].type, ev[i].name, ev[i].user_id, ev[i].event_ms) == 0)
			http_stream_broadcast(ws, b.p, b.n);
		sent++;
	}
	if (more) {
		char line[96];
		int k = snprintf(line, sizeof(line), "event: more\ndata: {\"count\":%zu}\n\n", more);
		if (k > 0 && (size_t)k < sizeof(line))
			http_stream_broadcast(ws, line, (size_t)k);
	}
	buf_free(&b);
}
