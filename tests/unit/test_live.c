/* Unit tests for the live feed: SSE message framing (src/web/live.c) and the event-stream
 * queue of the HTTP layer (src/http/server.c, included to reach its statics): bounded
 * queue with overflow ending the stream, reader hand-out and end states, tag fan-out and
 * the stream caps. No connection is ever suspended here (suspended stays 0), so no
 * libmicrohttpd call is made on the fake connections. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "http/server.c"
#include "web/live.h"

#define FAKE_CONN ((struct MHD_Connection *)(uintptr_t)0x10)

static void test_format_frames_one_message(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 8192);
	/* a name trying to end the message and inject its own event */
	assert_int_equal(live_format(&b, "track", "x\n\nevent: bye\ndata: {}\r\n", NULL, 1234), 0);
	assert_non_null(b.p);
	assert_true(b.n > 18);
	assert_memory_equal(b.p, "event: ev\ndata: ", 16);
	assert_memory_equal(b.p + b.n - 2, "\n\n", 2);
	/* exactly two newlines in the whole message: the data line and the blank line */
	size_t nl = 0, cr = 0;
	for (size_t i = 0; i < b.n; i++)
		nl += b.p[i] == '\n', cr += b.p[i] == '\r';
	assert_int_equal(nl, 3);
	assert_int_equal(cr, 0);
	json_t *j = json_loadb(b.p + 16, b.n - 18, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "x\n\nevent: bye\ndata: {}\r\n");
	assert_string_equal(json_string_value(json_object_get(j, "type")), "track");
	assert_true(json_is_null(json_object_get(j, "user")) || !json_object_get(j, "user"));
	assert_int_equal(json_integer_value(json_object_get(j, "at")), 1234);
	json_decref(j);
	assert_int_equal(live_format(&b, "page", "/a", "alice", 5), 0);
	j = json_loadb(b.p + 16, b.n - 18, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "user")), "alice");
	json_decref(j);
	buf_free(&b);
}

static struct http_stream *fake_stream(int64_t tag)
{
	struct http_stream *st = calloc(1, sizeof(*st));
	assert_non_null(st);
	st->buf = malloc(LIMIT_LIVE_BUFFER);
	assert_non_null(st->buf);
	st->conn = FAKE_CONN;
	st->tag = tag;
	st->refs = 1;
	return st;
}

static void test_queue_bounded_and_reader(void **state)
{
	(void)state;
	struct http_stream *st = fake_stream(1);
	char out[16];
	assert_int_equal(stream_queue(st, "abcdef", 6), 0);
	assert_int_equal(stream_reader(st, 0, out, 4), 4);
	assert_memory_equal(out, "abcd", 4);
	/* compaction keeps the unsent tail in order */
	assert_int_equal(stream_queue(st, "gh", 2), 0);
	assert_int_equal(stream_reader(st, 0, out, sizeof(out)), 4);
	assert_memory_equal(out, "efgh", 4);
	/* fill to the byte, then one more ends the stream */
	char *big = malloc(LIMIT_LIVE_BUFFER);
	memset(big, 'x', LIMIT_LIVE_BUFFER);
	assert_int_equal(stream_queue(st, big, LIMIT_LIVE_BUFFER), 0);
	assert_int_equal(stream_queue(st, "y", 1), -1);
	assert_true(st->failed);
	assert_int_equal(stream_reader(st, 0, out, sizeof(out)), MHD_CONTENT_READER_END_WITH_ERROR);
	assert_int_equal(stream_queue(st, "z", 1), -1);
	free(big);
	/* closing: queued bytes still go out, then the end */
	struct http_stream *c = fake_stream(1);
	assert_int_equal(stream_queue(c, "bye", 3), 0);
	c->closing = 1;
	assert_int_equal(stream_queue(c, "late", 4), -1);
	assert_int_equal(stream_reader(c, 0, out, sizeof(out)), 3);
	assert_int_equal(stream_reader(c, 0, out, sizeof(out)), MHD_CONTENT_READER_END_OF_STREAM);
	stream_unref(st);
	stream_unref(c);
}

static void test_open_caps_and_broadcast(void **state)
{
	(void)state;
	struct request_ctx ctx[LIMIT_LIVE_STREAMS_PER_WS + 2];
	memset(ctx, 0, sizeof(ctx));
	for (int i = 0; i < LIMIT_LIVE_STREAMS_PER_WS + 2; i++) {
		ctx[i].state = 1;
		ctx[i].req.conn = FAKE_CONN;
	}
	for (int i = 0; i < LIMIT_LIVE_STREAMS_PER_WS; i++) {
		assert_non_null(http_stream_open(&ctx[i].req, &ctx[i].res, 7));
		assert_int_equal(ctx[i].state, 6);
	}
	assert_int_equal(http_stream_count(7), LIMIT_LIVE_STREAMS_PER_WS);
	/* one over the per-workspace cap: 503 + Retry-After, nothing registered */
	int over = LIMIT_LIVE_STREAMS_PER_WS;
	assert_null(http_stream_open(&ctx[over].req, &ctx[over].res, 7));
	assert_int_equal(ctx[over].res.status, 503);
	int has_retry = 0;
	for (int h = 0; h < ctx[over].res.n_headers; h++)
		has_retry |= strcmp(ctx[over].res.headers[h].name, "Retry-After") == 0;
	assert_true(has_retry);
	assert_int_equal(ctx[over].state, 1);
	response_reset(&ctx[over].res);
	/* another tag is not affected */
	int o = LIMIT_LIVE_STREAMS_PER_WS + 1;
	assert_non_null(http_stream_open(&ctx[o].req, &ctx[o].res, 8));
	assert_int_equal(http_stream_count(0), LIMIT_LIVE_STREAMS_PER_WS + 1);
	/* fan-out by tag */
	assert_int_equal(http_stream_broadcast(7, "m", 1), LIMIT_LIVE_STREAMS_PER_WS);
	assert_int_equal(http_stream_broadcast(9, "m", 1), 0);
	assert_int_equal(ctx[o].stream->n, 0);
	assert_int_equal(ctx[0].stream->n, 1);
	/* shutdown: every stream gets bye and closes; new ones are refused */
	streams_end_all();
	assert_true(ctx[0].stream->closing);
	assert_int_equal(ctx[0].stream->n, 1 + sizeof(STREAM_BYE) - 1);
	struct request_ctx late;
	memset(&late, 0, sizeof(late));
	late.state = 1;
	late.req.conn = FAKE_CONN;
	assert_null(http_stream_open(&late.req, &late.res, 9));
	assert_int_equal(late.res.status, 503);
	response_reset(&late.res);
	/* completion unlinks and frees */
	for (int i = 0; i < LIMIT_LIVE_STREAMS_PER_WS + 2; i++)
		stream_detach(&ctx[i]);
	assert_int_equal(http_stream_count(0), 0);
	S.stopping = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_frames_one_message),
	    cmocka_unit_test(test_queue_bounded_and_reader),
	    cmocka_unit_test(test_open_caps_and_broadcast),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
