#include "sim/personas.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"

#define DAY_MS (INT64_C(86400) * 1000)
#define QUIET_DAYS 7

void personas_rng_seed(struct personas_rng *r, uint64_t seed, uint64_t stream)
{
	r->s = seed ^ (stream * UINT64_C(0xD1B54A32D192ED03));
	(void)personas_rng_next(r);
}

uint64_t personas_rng_next(struct personas_rng *r)
{
	uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

uint64_t personas_rng_below(struct personas_rng *r, uint64_t n)
{
	if (n == 0)
		return 0;
	/* rejection sampling: no modulo bias */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t x;
	do
		x = personas_rng_next(r);
	while (x >= limit);
	return x % n;
}

/* 1 with probability pct/100. */
static int chance(struct personas_rng *r, unsigned pct)
{
	return personas_rng_below(r, 100) < pct;
}

static int64_t between(struct personas_rng *r, int64_t lo, int64_t hi)
{
	return lo + (int64_t)personas_rng_below(r, (uint64_t)(hi - lo + 1));
}

static const char *const names[PERSONAS_N] = {"steady", "power",      "dropping", "gone_quiet",
                                              "trial",  "cancelling", "payment"};

const char *personas_name(enum personas_kind k)
{
	return (unsigned)k < PERSONAS_N ? names[k] : "unknown";
}

enum personas_kind personas_of(int64_t index)
{
	return (enum personas_kind)(index < 0 ? 0 : index % PERSONAS_N);
}

struct gen {
	struct personas_rng rng;
	enum personas_kind kind;
	uint64_t seed;
	int64_t index;
	char user[48];
	int64_t seq;   /* message_id counter */
	int since_idle; /* active days since the last idle day */
	int64_t count; /* events emitted */
	personas_emit_fn emit;
	void *ctx;
};

static const char *pick(struct personas_rng *r, const char *const *v, size_t n)
{
	return v[personas_rng_below(r, n)];
}

/* Builds the common fields and hands the event on. Takes ownership of props. */
static int emit(struct gen *g, const char *type, const char *name, int64_t at, const char *pname,
                json_t *props)
{
	char ts[40], mid[96];
	if (!props || clock_format_ms(at, ts, sizeof(ts)) < 0) {
		json_decref(props);
		return -1;
	}
	snprintf(mid, sizeof(mid), "sim-%" PRIu64 "-%" PRId64 "-%" PRId64, g->seed, g->index, g->seq++);
	json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "type", type, "user_id", g->user,
	                       "message_id", mid, "timestamp", ts, "name", name, pname, props);
	if (!ev)
		return -1;
	g->count++;
	return g->emit(g->ctx, ev);
}

/* Every working session starts with the persona's trail (the product's core features,
 * used on nearly every active day, so the app model's automatic core set is stable) and
 * continues with events drawn from a wide pool of occasional features (each used on a
 * small share of days). Keeping features either "always" or "rare" is what lets steady
 * users stay clear of feature_abandoned through ordinary day-to-day variance. */
static const char *const trail[] = {"page /dashboard", "page /projects", "click Save", "api GET /api/projects"};
static const char *const power_trail[] = {"page /projects/1042", "page /reports/custom", "page /integrations",
                                          "api POST /api/projects/1042/tasks"};
static const char *const sections[] = {"/reports", "/team", "/files", "/calendar",
                                       "/inbox", "/templates", "/help", "/settings"};
static const char *const subpages[] = {"overview", "list", "board", "archive", "history", "search", "tags", "stats"};
static const char *const verbs[] = {"Archive", "Duplicate", "Share", "Assign", "Rename", "Move", "Star", "Filter"};
static const char *const objects[] = {"task", "project", "file", "report"};
static const char *const resources[] = {"/api/tasks",    "/api/reports", "/api/files",  "/api/comments",
                                        "/api/projects/1042/tasks", "/api/labels", "/api/members", "/api/search"};
static const char *const methods[] = {"GET", "POST", "PUT", "PATCH"};
static const char *const tracks[] = {"Report exported",   "Project created", "Teammate invited", "Task completed",
                                     "File uploaded",     "Comment added",   "Label created",    "Search saved",
                                     "Template used",     "Filter saved",    "Board created",    "Reminder set"};
static const char *const trial_pages[] = {"/welcome", "/onboarding", "/settings/profile", "/pricing"};
static const char *const cancel_pages[] = {"/billing", "/billing/plans", "/cancel"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int page(struct gen *g, const char *path, int64_t at)
{
	return emit(g, "page", path, at, "properties",
	            json_pack("{s:s, s:s}", "path", path, "title", path + 1));
}

static int click(struct gen *g, const char *label, int64_t at)
{
	return emit(g, "click", label, at, "properties",
	            json_pack("{s:s, s:s, s:s}", "text", label, "tag", "button", "path", "/dashboard"));
}

static int api(struct gen *g, const char *method, const char *p, int64_t at)
{
	struct personas_rng *r = &g->rng;
	char name[96];
	snprintf(name, sizeof(name), "%s %s", method, p);
	int status = chance(r, 1) ? 500 : 200;
	return emit(g, "api", name, at, "properties",
	            json_pack("{s:s, s:s, s:i, s:I}", "method", method, "path", p, "status", status, "duration_ms",
	                      (json_int_t)between(r, 20, 400)));
}

/* One step of a trail ("page /x", "click X", "api METHOD /path"). */
static int trail_event(struct gen *g, const char *step, int64_t at)
{
	if (strncmp(step, "page ", 5) == 0)
		return page(g, step + 5, at);
	if (strncmp(step, "click ", 6) == 0)
		return click(g, step + 6, at);
	char method[8];
	const char *sp = strchr(step + 4, ' ');
	size_t mn = sp ? (size_t)(sp - (step + 4)) : 0;
	if (!sp || mn >= sizeof(method))
		return -1;
	memcpy(method, step + 4, mn);
	method[mn] = '\0';
	return api(g, method, sp + 1, at);
}

/* One occasional event from the wide pool. */
static int work_event(struct gen *g, int64_t at)
{
	struct personas_rng *r = &g->rng;
	uint64_t roll = personas_rng_below(r, 100);
	if (roll < 40) {
		char path[64];
		snprintf(path, sizeof(path), "%s/%s", pick(r, sections, N(sections)), pick(r, subpages, N(subpages)));
		return page(g, path, at);
	}
	if (roll < 70) {
		char label[64];
		snprintf(label, sizeof(label), "%s %s", pick(r, verbs, N(verbs)), pick(r, objects, N(objects)));
		return click(g, label, at);
	}
	if (roll < 96)
		return api(g, pick(r, methods, N(methods)), pick(r, resources, N(resources)), at);
	return emit(g, "track", pick(r, tracks, N(tracks)), at, "properties",
	            json_pack("{s:s}", "source", "simulate"));
}

/* The e-th event of a working session. */
static int session_event(struct gen *g, int e, int64_t at)
{
	if (e < (int)N(trail))
		return trail_event(g, trail[e], at);
	if (g->kind == PERSONAS_POWER && e < (int)(N(trail) + N(power_trail)))
		return trail_event(g, power_trail[e - (int)N(trail)], at);
	return work_event(g, at);
}

/* An identify with the persona's traits: plan and mrr (whole currency units a month;
 * every paying persona has mrr > 0), signup_at, and for the trial trial_ends as
 * YYYY-MM-DD (PRODUCT §2). downgraded: the cancelling persona's later identify (plan
 * pro, mrr 99 → basic, 29). */
static int identify(struct gen *g, int64_t at, int64_t signup_ms, int downgraded)
{
	char signup[40], email[96], name[64], trial_end[40], card[40];
	if (clock_format_ms(signup_ms, signup, sizeof(signup)) < 0 ||
	    clock_format_ms(signup_ms + 14 * DAY_MS, trial_end, sizeof(trial_end)) < 0 ||
	    clock_format_ms(at + 20 * DAY_MS, card, sizeof(card)) < 0)
		return -1;
	trial_end[10] = '\0'; /* the date part */
	snprintf(email, sizeof(email), "%s@example.test", g->user);
	snprintf(name, sizeof(name), "Sim User %04" PRId64, g->index);
	json_t *t;
	switch (g->kind) {
	case PERSONAS_TRIAL:
		t = json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", name, "email", email, "plan", "trial",
		              "trial_ends", trial_end, "mrr", 0);
		break;
	case PERSONAS_POWER:
		t = json_pack("{s:s, s:s, s:s, s:i}", "name", name, "email", email, "plan", "business", "mrr",
		              299);
		break;
	case PERSONAS_PAYMENT:
		/* the failing card arrives through Stripe later; until then only the traits say it */
		t = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "name", name, "email", email, "plan", "pro",
		              "mrr", 49, "card_expires", card, "payment_method", "card");
		break;
	case PERSONAS_CANCEL:
		t = json_pack("{s:s, s:s, s:s, s:i}", "name", name, "email", email, "plan", downgraded ? "basic" : "pro",
		              "mrr", downgraded ? 29 : 99);
		break;
	default:
		t = json_pack("{s:s, s:s, s:s, s:i}", "name", name, "email", email, "plan", "pro", "mrr", 49);
		break;
	}
	if (!t)
		return -1;
	if (json_object_set_new(t, "signup_at", json_string(signup)) < 0) {
		json_decref(t);
		return -1;
	}
	char ts[40], mid[96];
	if (clock_format_ms(at, ts, sizeof(ts)) < 0) {
		json_decref(t);
		return -1;
	}
	snprintf(mid, sizeof(mid), "sim-%" PRIu64 "-%" PRId64 "-%" PRId64, g->seed, g->index, g->seq++);
	json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:o}", "type", "identify", "user_id", g->user,
	                       "message_id", mid, "timestamp", ts, "traits", t);
	if (!ev)
		return -1;
	g->count++;
	return g->emit(g->ctx, ev);
}

/* Steady-style activity: most days, and an idle day only after two active ones
 * (ordinary variance that must stay under every threshold). */
static void steady_day(struct gen *g, int d, int *sessions, int *events)
{
	if (d == 0 || g->since_idle < 2 || chance(&g->rng, 85))
		*sessions = 1, *events = (int)between(&g->rng, 9, 14);
}

/* Day index of the trial persona's signup: 12 days before the end, so its trial
 * (14 days) ends 2-3 days after "now". */
static int trial_signup(int days)
{
	return days > 12 ? days - 12 : 0;
}

#define DOWNGRADE_LEFT 4 /* the cancelling persona downgrades 4 days before the end */

/* Activity of day d (0-based) of `days`: sessions that day and events per session. */
static void plan_day(struct gen *g, int d, int days, int *sessions, int *events)
{
	struct personas_rng *r = &g->rng;
	*sessions = 0;
	*events = 0;
	int left = days - d; /* 1 on the last day */
	switch (g->kind) {
	case PERSONAS_STEADY:
	case PERSONAS_PAYMENT:
		steady_day(g, d, sessions, events);
		break;
	case PERSONAS_POWER:
		if (d == 0 || chance(r, 95))
			*sessions = (int)between(r, 2, 3), *events = (int)between(r, 11, 16);
		break;
	case PERSONAS_DROPPING:
		/* steady, then the last 7 days: a few short visits (well under 40% of before),
		 * one of them 2 days before the end so it is a drop, not silence */
		if (left > QUIET_DAYS)
			steady_day(g, d, sessions, events);
		else if (left == 2 || chance(r, 25))
			*sessions = 1, *events = (int)between(r, 2, 4);
		break;
	case PERSONAS_QUIET:
		if (left > QUIET_DAYS)
			steady_day(g, d, sessions, events);
		break;
	case PERSONAS_TRIAL: {
		int signup = trial_signup(days);
		if (d == signup || (d == signup + 1 && chance(r, 50)))
			*sessions = 1, *events = (int)between(r, 3, 6);
		break;
	}
	case PERSONAS_CANCEL:
		if (d == 0 || left == DOWNGRADE_LEFT || chance(r, 60))
			*sessions = 1, *events = (int)between(r, 8, 12);
		break;
	default:
		break;
	}
}

int64_t personas_user(uint64_t seed, int64_t index, int days, int64_t now_ms, personas_emit_fn emitfn,
                      void *ctx)
{
	if (!emitfn || index < 0 || days < 1 || days > 3650 || now_ms < (int64_t)days * DAY_MS)
		return -1;
	struct gen g;
	memset(&g, 0, sizeof(g));
	g.kind = personas_of(index);
	g.seed = seed;
	g.index = index;
	g.emit = emitfn;
	g.ctx = ctx;
	personas_rng_seed(&g.rng, seed, (uint64_t)index + 1);
	snprintf(g.user, sizeof(g.user), "sim-%s-%04" PRId64, personas_name(g.kind), index);
	int identified = 0;
	int cancel_from = days - (days + 2) / 3; /* the last third */
	for (int d = 0; d < days; d++) {
		int64_t start = now_ms - (int64_t)(days - d) * DAY_MS;
		int sessions, events;
		plan_day(&g, d, days, &sessions, &events);
		g.since_idle = sessions > 0 ? g.since_idle + 1 : 0;
		int64_t slot = DAY_MS / (sessions > 0 ? sessions : 1);
		for (int s = 0; s < sessions; s++) {
			/* a session fits its slot: <= 25 events 5-90 s apart is well under an hour;
			 * one-session days keep to working hours (1-9 h into the day), so a user's
			 * days do not drift across calendar days */
			int64_t at = sessions == 1 ? start + between(&g.rng, 3600 * 1000, 9 * 3600 * 1000)
			                           : start + s * slot + between(&g.rng, 0, slot - 2 * 3600 * 1000);
			if (!identified) {
				if (identify(&g, at, at - (g.kind == PERSONAS_TRIAL ? 0 : 30 * DAY_MS), 0) < 0)
					return -1;
				identified = 1;
				at += between(&g.rng, 1000, 5000);
			}
			if (g.kind == PERSONAS_CANCEL && days - d == DOWNGRADE_LEFT && s == 0 && d > 0) {
				if (identify(&g, at, at - 30 * DAY_MS, 1) < 0)
					return -1;
				at += between(&g.rng, 1000, 5000);
			}
			int billing = g.kind == PERSONAS_CANCEL && d >= cancel_from;
			size_t trail_n = N(trail);
			for (int e = 0; e < events; e++) {
				int rc;
				if (g.kind == PERSONAS_TRIAL)
					rc = page(&g, pick(&g.rng, trial_pages, N(trial_pages)), at);
				else if (billing && e >= (int)trail_n && e < (int)trail_n + 3)
					/* /billing, /billing/plans, /cancel after the usual trail */
					rc = page(&g, cancel_pages[e - (int)trail_n], at);
				else
					rc = session_event(&g, e, at);
				if (rc < 0)
					return -1;
				at += between(&g.rng, 5000, 90000);
			}
		}
	}
	return g.count;
}
