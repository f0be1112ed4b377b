/* Server-side sanitisation at ingest (ARCHITECTURE §8b "Ingestion vocabulary"): the same
 * masking the SDK applies, so events from every client (compatibility clients too) are
 * stored masked, and path templating (ids → `:id`) done once, here.
 *
 * Masks, in this order over one string:
 *   card numbers  13–19 digits, single spaces or dashes between them, Luhn-valid → "[card]"
 *   e-mails       local@domain.tld                                                → "[email]"
 *   tokens        a run of 24+ characters of [A-Za-z0-9_.+/=-] holding both letters and
 *                 digits (API keys, JWTs, session ids, long hashes)              → "[token]"
 * Prefix ingest_mask_. Pure functions, no allocation beyond the output. */
#ifndef DROPFIX_INGEST_MASK_H
#define DROPFIX_INGEST_MASK_H

#include <jansson.h>
#include <stddef.h>

#include "core/str.h"

#define INGEST_MASK_TOKEN_MIN 24 /* characters in a token-like run */

/* Appends p[0..n) to out with the masks above applied. Returns 0, or -1 when out is out
 * of memory (out->oom set). */
int ingest_mask_text(const char *p, size_t n, struct buf *out) __attribute__((warn_unused_result));

/* 1 when p[0..n) would be changed by ingest_mask_text. */
int ingest_mask_needed(const char *p, size_t n);

/* Appends the templated form of a URL path p[0..n) to out: query and fragment cut, a
 * scheme://host prefix cut, every segment that is all digits, a UUID, 12+ hex digits,
 * an e-mail, or 16+ characters mixing letters and digits replaced by ":id". At most
 * max_bytes are written (cut at a segment boundary). Returns 0 or -1 (out->oom). */
int ingest_mask_path(const char *p, size_t n, size_t max_bytes, struct buf *out)
    __attribute__((warn_unused_result));

/* Returns a new JSON value: a deep copy of v with every string (values, not keys)
 * truncated to max_string bytes at a UTF-8 boundary and then masked, and object keys
 * truncated and masked likewise. Keys named like a path ("path", "url", "pathname") are templated.
 * NULL on out of memory. */
json_t *ingest_mask_json(json_t *v, size_t max_string) __attribute__((warn_unused_result));

/* Cuts n so that p[0..result) ends on a UTF-8 boundary and is at most max bytes. */
size_t ingest_mask_utf8_cut(const char *p, size_t n, size_t max);

#endif
