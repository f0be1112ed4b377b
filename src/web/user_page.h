/* The page of one tracked user (PRODUCT §12, issue 6 item 5): profile, health with its
 * parts, activity against the user's baseline, signals with evidence and history, recent
 * events, trait history and the founders' sealed notes. */
#ifndef DROPFIX_USER_PAGE_H
#define DROPFIX_USER_PAGE_H

#include "http/http.h"

/* GET /w/:ws/users/:uid (viewers and up; uid percent-encoded; an id holding '/' is
 * reached as /w/:ws/users/-?id=<uid>). Unknown user: 404. JSON twin
 * GET /api/v1/w/:ws/users/:uid:
 *   {"user":{"id","href","name","email","unverified","plan","mrr","trial_ends",
 *            "first_seen","last_seen","traits":[{"key","value"}]},
 *    "health":{"score","band","band_title","parts":[{"label","value","counted"}],
 *              "events_7d","baseline_weekly","evaluated"} | null,
 *    "activity":{"days":[{"day","events"}] (35, oldest first),"baseline_weekly",
 *                "baseline_daily"},
 *    "signals":[{"id","kind","title","state","severity","evidence","numbers":[{"name","value"}],
 *                "detected","updated","resolved","dismissed","dismiss_reason",
 *                "history":[{"at","change","detail"}]}],
 *    "events":[{"type","name","when","properties"}] (the latest 100),
 *    "trait_history":[{"at","signed","traits"}],
 *    "notes":[{"id","author","created","body"}]}. */
int user_page(struct http_request *req, struct http_response *res);
int user_api(struct http_request *req, struct http_response *res);

/* POST /w/:ws/users/:uid/notes (members and up, form: body, 1..2000 bytes) and
 * POST /api/v1/w/:ws/users/:uid/notes (JSON {"body":"…"}): stores the note sealed
 * (AD v1|workspace|<ws>|user_notes|body_sealed|<id>) and audits "note.add" without the
 * body. The form answers 303 to the user page with a flash message; the API 201
 * {"id":n}. Unknown user 404, bad body 400, viewers 403. */
#define USER_NOTE_MAX 2000
int user_note_add(struct http_request *req, struct http_response *res);
int user_note_add_api(struct http_request *req, struct http_response *res);

#endif
