/* The live event stream (GET /v1/events/stream): Server-Sent Events of the audit log as it is
 * committed and of sessions going up and down as the agents report them.
 *
 * Positions. Every event carries "id: <audit>-<seq>-<instance>": the last audit event (its id
 * in the log) and the last session event (seq, counted by this manager process, named by
 * instance, a random number drawn at start) that the subscriber has got with it. Audit events
 * are read from the log by id, so a resume misses none of them, whatever the gap. Session
 * events live in memory only, in a ring of the last EVSTREAM_RING: a resume from this manager
 * process within that many session events misses none either; from another process (a
 * restart) or from further back, the stream starts with an "event: gap" saying session events
 * were lost (re-read GET /v1/sessions), then goes on from now.
 *
 * Memory. Events are written into each subscriber's queue (at most EVSTREAM_QUEUE bytes and one
 * event) from the log and the ring as the queue drains, never pushed past it: a reader that
 * does not keep up only lags. A subscriber more than EVSTREAM_LAG_MAX session events behind
 * (the ring would overwrite what it has not read) gets a last "event: resume" naming its
 * position, and the stream ends; resuming from there at once misses nothing.
 *
 * It runs on the manager's loop: evstream_pump() after every commit point, with no
 * transaction open (it reads the log); a timer writes a heartbeat comment to every subscriber
 * every EVSTREAM_HEARTBEAT_SECONDS. */
#ifndef MANAGER_EVSTREAM_H
#define MANAGER_EVSTREAM_H

#include <stdint.h>

struct app;
struct evstream;
struct loop;
struct req;
struct session;

#define EVSTREAM_HEARTBEAT_SECONDS 15
#define EVSTREAM_RING 4096 /* session events kept for resuming */
#define EVSTREAM_LAG_MAX 3072 /* session events a subscriber may be behind */
#define EVSTREAM_QUEUE (16 * 1024) /* bytes queued per subscriber, and one event */
#define EVSTREAM_MAX_DEFAULT 64 /* subscribers at once (--max-event-streams) */

/* A stream hub for app's store, with at most max subscribers, its heartbeat on loop (kept).
 * NULL when out of memory or randomness. Free with evstream_free() after http_close() (the
 * subscribers' connections end first); NULL is fine. */
struct evstream *evstream_new(struct app *app, struct loop *loop, unsigned max);
void evstream_free(struct evstream *e);

/* The handler of GET /v1/events/stream (scope read): resumes from the Last-Event-ID header or
 * the last_event_id query parameter, else starts at the present. 400 naming the one given
 * for a position that is not one, or that is past the newest audit event or session event;
 * 503 with Retry-After at the subscriber limit. */
void evstream_subscribe(struct req *r);

/* A session came up (up 1) or went down (0): into the ring, for every subscriber. e may be
 * NULL (no stream). */
void evstream_session(struct evstream *e, int up, const struct session *s);

/* Feed the subscribers what was committed and queued since the last call. No transaction may
 * be open. Returns how many waiting streams it woke (their writes go out in the next HTTP
 * run: the loop must not sleep first). */
int evstream_pump(struct evstream *e);

#endif
