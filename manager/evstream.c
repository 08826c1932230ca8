/* The live event stream (evstream.h): subscribers, the ring of session events, the writing of
 * events into each subscriber's queue. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../db/audit.h"
#include "../db/db.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "../lib/loop.h"
#include "../lib/secret.h"
#include "api.h"
#include "app.h"
#include "eventjson.h"
#include "evstream.h"
#include "http.h"
#include "reqparse.h"

#define NS 1000000000ull
#define AUDIT_BATCH 32 /* audit events read per query while a queue has room */
#define RESUME_RETRY_MS 1000 /* the "retry:" the stream asks EventSource clients to wait */

/* A session event, rendered once for every subscriber. audit_mark is the last audit event
 * committed before it: a subscriber gets it after that one and before the next. */
struct ring_entry {
	uint64_t seq;
	int64_t audit_mark;
	char *data; /* the JSON of the event (eventjson_session) */
	int up;
};

struct sub {
	struct evstream *hub;
	struct http_stream *hs;
	struct sub *prev, *next;
	int64_t audit_at; /* the last audit event queued; -1: the present, from the next pump */
	uint64_t seq_at; /* the last session event queued */
	char *buf;
	size_t len, off, cap; /* queued bytes are buf[off, len) */
	int ending; /* its last event is queued: end once it is read */
	int leaving; /* its client has gone: ended, done at the next HTTP run */
};

struct evstream {
	struct app *app;
	struct loop *loop;
	unsigned max, n;
	unsigned leaving; /* of n, those whose clients have gone (reap_gone) */
	struct sub *subs;
	uint64_t instance;
	int64_t audit_seen; /* the last audit id seen committed (by the last pump) */
	uint64_t seq; /* the last session event's number */
	struct ring_entry ring[EVSTREAM_RING]; /* seq s at s % EVSTREAM_RING */
	int heartbeat_due;
};

/* The session event seq, or NULL when it is not (or no longer) in the ring. */
static const struct ring_entry *
ring_get(const struct evstream *e, uint64_t seq)
{
	const struct ring_entry *re = &e->ring[seq % EVSTREAM_RING];

	return seq >= 1 && seq <= e->seq && re->seq == seq ? re : NULL;
}

/* The oldest seq the ring still holds (e->seq + 1 when it is empty). */
static uint64_t
ring_oldest(const struct evstream *e)
{
	return e->seq >= EVSTREAM_RING ? e->seq - EVSTREAM_RING + 1 : 1;
}

/* ---- a subscriber's queue ---- */

static int sub_append(struct sub *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append to s's queue, growing it as one event needs. 0, or -1 when out of memory. */
static int
sub_append(struct sub *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->off > 0 && s->off == s->len)
		s->off = s->len = 0;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(s->buf + s->len, s->cap - s->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -1;
		if ((size_t)n < s->cap - s->len)
			break;
		/* Move what is left to the front before growing: a queue holds one event over
		 * EVSTREAM_QUEUE at most. */
		if (s->off > 0) {
			memmove(s->buf, s->buf + s->off, s->len - s->off);
			s->len -= s->off;
			s->off = 0;
			continue;
		}
		size_t cap = s->len + (size_t)n + 1;
		char *nb = realloc(s->buf, cap);
		if (nb == NULL)
			return -1;
		s->buf = nb;
		s->cap = cap;
	}
	s->len += (size_t)n;
	return 0;
}

static size_t
sub_queued(const struct sub *s)
{
	return s->len - s->off;
}

/* Queue one event with the position it brings s to. */
static int
sub_event(struct sub *s, const char *type, const char *data)
{
	return sub_append(s, "id: %lld-%llu-%llu\nevent: %s\ndata: %s\n\n", (long long)s->audit_at,
	    (unsigned long long)s->seq_at, (unsigned long long)s->hub->instance, type, data);
}

/* The last event of a subscriber that fell behind: no id (its position stays that of the
 * last event it got), and where to resume. */
static void
sub_end_behind(struct sub *s)
{
	sub_append(s,
	    "event: resume\ndata: {\"reason\":\"the reader fell more than %d session events "
	    "behind\",\"last_event_id\":\"%lld-%llu-%llu\"}\n\n",
	    EVSTREAM_LAG_MAX, (long long)s->audit_at, (unsigned long long)s->seq_at,
	    (unsigned long long)s->hub->instance);
	s->ending = 1;
}

struct fill {
	struct sub *s;
	int64_t until; /* audit events up to this id only (the next session event's mark) */
	int queued, failed;
};

static int
fill_audit(void *arg, const struct audit_event *ev)
{
	struct fill *f = arg;
	json_t *o;
	char *text;

	if (ev->id > f->until)
		return 1;
	o = eventjson_audit(ev);
	text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	f->s->audit_at = ev->id;
	if (text == NULL || sub_event(f->s, "audit", text) < 0)
		f->failed = 1;
	free(text);
	f->queued++;
	return f->failed || sub_queued(f->s) >= EVSTREAM_QUEUE;
}

/* Top s's queue up to EVSTREAM_QUEUE from the log and the ring, in the order they happened:
 * a session event after the audit events up to its mark. 1 if it queued anything. */
static int
sub_fill(struct sub *s)
{
	struct evstream *e = s->hub;
	struct audit_filter all = {0};
	size_t before = sub_queued(s);
	int rv;

	if (s->ending)
		return 0;
	/* Set here, outside any transaction, so that it is the last event committed: one read
	 * inside the batch the request joined could be of a change that is then rolled back. */
	if (s->audit_at < 0)
		s->audit_at = e->audit_seen;
	while (sub_queued(s) < EVSTREAM_QUEUE) {
		const struct ring_entry *next = ring_get(e, s->seq_at + 1);
		struct fill f = {s, next != NULL ? next->audit_mark : e->audit_seen, 0, 0};

		/* Overwritten before it was read (evstream_session ends a subscriber before
		 * that; this is the backstop): the stream cannot go on without a gap. */
		if (next == NULL && s->seq_at < e->seq) {
			sub_end_behind(s);
			break;
		}
		if (next != NULL && next->audit_mark <= s->audit_at) {
			s->seq_at = next->seq;
			if (sub_event(s, "session", next->data) < 0)
				break;
			continue;
		}
		if (s->audit_at >= f.until)
			break;
		if ((rv = audit_list(e->app->db, &all, s->audit_at, AUDIT_BATCH, fill_audit, &f)) <
		    0) {
			log_warn("event stream: reading the audit log failed: %s", err_str(rv));
			break;
		}
		if (f.failed)
			break;
		/* No event left up to the mark (ids a rolled-back change took are never seen):
		 * the position moves to it. */
		if (f.queued == 0)
			s->audit_at = f.until;
	}
	return sub_queued(s) > before;
}

/* ---- the stream's side of HTTP ---- */

static ssize_t
sub_read(void *arg, char *buf, size_t max)
{
	struct sub *s = arg;
	size_t n = sub_queued(s);

	if (n == 0)
		return s->ending ? -1 : 0;
	if (n > max)
		n = max;
	memcpy(buf, s->buf + s->off, n);
	s->off += n;
	if (s->off == s->len)
		s->off = s->len = 0;
	return (ssize_t)n;
}

static void
sub_done(void *arg)
{
	struct sub *s = arg;
	struct evstream *e = s->hub;

	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		e->subs = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	e->n--;
	e->leaving -= s->leaving;
	log_debug("event stream: a subscriber left (%u now)", e->n);
	free(s->buf);
	free(s);
}

static const struct http_stream_ops sub_ops = {sub_read, sub_done};

/* Subscribers whose clients left are noticed at their next write only: end them now. */
static void
reap_gone(struct evstream *e)
{
	for (struct sub *s = e->subs; s != NULL; s = s->next)
		if (!s->leaving && http_stream_peer_closed(s->hs)) {
			s->leaving = s->ending = 1;
			s->off = s->len = 0;
			e->leaving++;
			http_stream_wake(s->hs);
		}
}

/* Where r resumes from: the Last-Event-ID header, else ?last_event_id=. 0 with *given unset
 * when neither is there; -1 with a 400 in the reply. */
static int
resume_position(struct req *r, int *given, int64_t *audit, uint64_t *seq, uint64_t *inst)
{
	const char *h = req_header(r, "Last-Event-ID"), *q = req_query(r, "last_event_id");
	const char *v = h != NULL ? h : q;

	*given = v != NULL;
	if (v == NULL)
		return 0;
	if (reqparse_event_id(v, audit, seq, inst) < 0) {
		reply_problem(r, 400, h != NULL ? "Last-Event-ID" : "last_event_id",
		    "%s must be an id this stream wrote (\"<audit>-<seq>-<instance>\"), not "
		    "\"%.64s\"",
		    h != NULL ? "Last-Event-ID" : "last_event_id", v);
		return -1;
	}
	return 0;
}

/* The newest audit event in the log (inside the request's batch: perhaps one not committed
 * yet, which errs on the side of accepting a position). */
static int64_t
audit_newest(struct evstream *e)
{
	int64_t last;

	if (audit_last_id(e->app->db, &last) == 0 && last > e->audit_seen)
		return last;
	return e->audit_seen;
}

void
evstream_subscribe(struct req *r)
{
	struct evstream *e = r->app->events;
	const char *field =
	    req_header(r, "Last-Event-ID") != NULL ? "Last-Event-ID" : "last_event_id";
	int64_t audit = 0, newest;
	uint64_t seq = 0, inst = 0;
	int given, gap = 0;
	struct sub *s;

	if (resume_position(r, &given, &audit, &seq, &inst) < 0)
		return;
	if (e != NULL && e->n >= e->max)
		reap_gone(e);
	if (e == NULL || e->n - e->leaving >= e->max) {
		r->retry_after = 5;
		reply_problem(r, 503, NULL,
		    "the manager serves %u event streams at most, all taken; try again",
		    e ? e->max : 0);
		return;
	}
	if (given && audit > (newest = audit_newest(e))) {
		/* It would wait, silent, until the log caught up, and then miss those events. */
		reply_problem(r, 400, field,
		    "the position names audit event %lld; the log holds %lld", (long long)audit,
		    (long long)newest);
		return;
	}
	if (given && inst == e->instance && seq > e->seq) {
		reply_problem(r, 400, field,
		    "the position names session event %llu; this manager has written %llu",
		    (unsigned long long)seq, (unsigned long long)e->seq);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		api_fail(r, ERR_NOMEM, NULL, NULL);
		return;
	}
	s->hub = e;
	s->audit_at = given ? audit : -1;
	s->seq_at = e->seq;
	if (given && inst == e->instance && seq + 1 >= ring_oldest(e))
		s->seq_at = seq;
	else if (given)
		gap = 1; /* another process's, or older than the ring */
	if (sub_append(s, ": snaptun events\nretry: %d\n\n", RESUME_RETRY_MS) < 0 ||
	    (gap &&
		sub_append(s,
		    "event: gap\ndata: {\"reason\":\"the session events after that "
		    "position are not kept (another manager process, or too long "
		    "ago); re-read GET /v1/sessions\"}\n\n") < 0) ||
	    (s->hs = reply_stream(r, "text/event-stream", &sub_ops, s)) == NULL) {
		free(s->buf);
		free(s);
		if (r->status == 0)
			api_fail(r, ERR_NOMEM, NULL, NULL);
		return;
	}
	s->next = e->subs;
	if (e->subs != NULL)
		e->subs->prev = s;
	e->subs = s;
	e->n++;
	if (given)
		sub_fill(s);
	log_debug("event stream: a subscriber joined (%u now)", e->n);
}

/* ---- the hub ---- */

static void
heartbeat(struct loop *l, uint64_t id, void *arg)
{
	struct evstream *e = arg;

	(void)l;
	(void)id;
	e->heartbeat_due = 1;
}

struct evstream *
evstream_new(struct app *app, struct loop *loop, unsigned max)
{
	struct evstream *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->app = app;
	e->loop = loop;
	e->max = max;
	/* A number no earlier process gave its positions: a resume from one of them is told
	 * its session events are gone rather than given another process's. */
	if (secret_random(&e->instance, sizeof(e->instance)) < 0 ||
	    audit_last_id(app->db, &e->audit_seen) < 0 ||
	    loop_timer_add(loop, EVSTREAM_HEARTBEAT_SECONDS * NS, EVSTREAM_HEARTBEAT_SECONDS * NS,
		heartbeat, e) == 0) {
		free(e);
		return NULL;
	}
	return e;
}

void
evstream_free(struct evstream *e)
{
	if (e == NULL)
		return;
	/* http_close ended every subscriber (sub_done) before this. */
	for (size_t i = 0; i < EVSTREAM_RING; i++)
		free(e->ring[i].data);
	free(e);
}

void
evstream_session(struct evstream *e, int up, const struct session *s)
{
	struct ring_entry *re;
	json_t *o;
	char *text;

	if (e == NULL)
		return;
	/* The pump keeps audit_seen current only while there are subscribers; the mark orders
	 * this event for those who resume later. Inside a transaction the last id could be of a
	 * change not yet committed (or rolled back): the older value is the safe one there. */
	if (!db_in_tx(e->app->db))
		audit_last_id(e->app->db, &e->audit_seen);
	o = eventjson_session(e->seq + 1, e->app->now(), up, s);
	text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (text == NULL) {
		log_warn("event stream: out of memory for a session event; subscribers miss it");
		return;
	}
	re = &e->ring[++e->seq % EVSTREAM_RING];
	free(re->data);
	re->seq = e->seq;
	re->audit_mark = e->audit_seen;
	re->data = text;
	re->up = up;
	/* Checked as events arrive, not when a stream starts: a resume from far back may
	 * catch up first. */
	for (struct sub *sb = e->subs; sb != NULL; sb = sb->next)
		if (!sb->ending && e->seq - sb->seq_at > EVSTREAM_LAG_MAX) {
			sub_end_behind(sb);
			http_stream_wake(sb->hs);
		}
}

int
evstream_pump(struct evstream *e)
{
	int woke = 0, beat;
	int64_t last;

	if (e == NULL || e->subs == NULL) {
		if (e != NULL)
			e->heartbeat_due = 0;
		return 0;
	}
	if (audit_last_id(e->app->db, &last) == 0)
		e->audit_seen = last;
	beat = e->heartbeat_due;
	e->heartbeat_due = 0;
	if (beat)
		reap_gone(e);
	for (struct sub *s = e->subs; s != NULL; s = s->next) {
		int more = sub_fill(s);

		/* Proxies close a connection that says nothing for a while. */
		if (beat && sub_queued(s) == 0 && !s->ending)
			more = sub_append(s, ": heartbeat\n\n") == 0;
		if (more) {
			http_stream_wake(s->hs);
			woke++;
		}
	}
	return woke;
}
