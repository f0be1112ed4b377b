/* The live feed's fan-out: events the ingestion writer has committed, published to the
 * open live streams of their workspace (src/http/http.h http_stream_*). Only the type,
 * the name, the user id and the time go over the feed — never property values or traits.
 * Publishing never blocks on a client: it queues bytes on each stream's bounded buffer
 * (a stream that falls too far behind is ended; the browser reconnects). */
#ifndef DROPFIX_LIVE_H
#define DROPFIX_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"
#include "ingest/ingest_writer.h"

/* Events at most published from one batch; the rest are summarised as one "more" message. */
#define LIVE_PER_BATCH 50

/* Publishes the committed events ev[0..n) of workspace ws (those marked dup skipped) to
 * its open streams, as SSE messages "event: ev" with data {"type","name","user","at"}
 * (user null when anonymous; at in Unix ms), then one "event: more" with {"count"} when
 * more than LIVE_PER_BATCH were left out. Cheap when nobody watches. Any thread. */
void live_publish(int64_t ws, const struct ingest_event *ev, size_t n);

/* Formats one event as an SSE message into out (cleared first). Returns 0 or -1. */
int live_format(struct buf *out, const char *type, const char *name, const char *user, int64_t at_ms)
    __attribute__((warn_unused_result));

#endif
