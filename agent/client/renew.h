/* Keeping the access token fresh: when to refresh it (renew_at), how long to wait after a
 * failed try (renew_backoff_ms), and the renewer, which runs the blocking refresh
 * (enroll_client_refresh) on a thread of its own so that the event loop keeps moving packets.
 *
 * The thread boundary is one handover of the bundle each way:
 *
 *	loop thread                              renewer thread
 *	renewer_start(rn, b, path)  ------->     enroll_client_refresh(b, path, ...)
 *	   (b is the renewer's now: the loop      bundle saved, result noted,
 *	    neither reads nor writes it)          eventfd written
 *	fd readable -> renewer_take(rn, &res) <-- thread ends
 *	   (b is the loop's again)
 *
 * Nothing else is shared: the loop copies what it needs from b (the access token for the
 * tunnel's renewal request) before renewer_start or after renewer_take. */
#ifndef CLIENT_RENEW_H
#define CLIENT_RENEW_H

#include <stddef.h>
#include <stdint.h>

#include "enroll.h"

#define RENEW_MARGIN 30 /* s: a refresh should be done this long before expiry, when it can */
#define RENEW_BACKOFF_MIN_MS 1000
#define RENEW_BACKOFF_MAX_MS 60000

struct bundle;

/* When to refresh a token received (or issued) at issued and expiring at expires, all Unix
 * seconds: at 75% of its lifetime, but at least RENEW_MARGIN s before expiry when the lifetime
 * is long enough for that to come after issued (a 60 s token renews at 30 s, a 10 s one at 7 s,
 * an hour's at 45 min), and never before now. A token that is expired or has no lifetime:
 * now. */
int64_t renew_at(int64_t issued, int64_t expires, int64_t now);

/* The wait before retry number attempt (1 for the first retry) of a failed refresh: 1 s
 * doubling to 60 s, each with jitter (a random part of up to half the step, from rnd) so that
 * clients failed by one outage do not come back in step; at least the manager's retry_after
 * (seconds; < 0: none); and ending no later than RENEW_MARGIN / 2 s before expires (Unix
 * seconds, now the time now) when that is still ahead, else within half the time left — a
 * last try while the token holds is worth more than a tidy curve. Never under half
 * RENEW_BACKOFF_MIN_MS. */
uint64_t renew_backoff_ms(
    unsigned attempt, long retry_after, int64_t now, int64_t expires, uint32_t rnd);

/* A finished refresh, as renewer_take hands it to the loop. */
struct renewer_result {
	enum enroll_status status;
	long retry_after; /* s, from the manager; -1: none */
	char message[512]; /* "" on success without warning; never holds a secret */
};

struct renewer;

/* A renewer with no refresh running; NULL (errno) when the eventfd could not be made. */
struct renewer *renewer_new(void);

/* Cancel a running refresh (its request ends at once: mgrhttp_cancel, so every later request
 * of the process fails too), wait for its thread and free everything. NULL is fine. The bundle handed over is not freed: it is the caller's. */
void renewer_free(struct renewer *rn);

/* The fd the loop watches for LOOP_READ: readable when a refresh has finished. */
int renewer_fd(const struct renewer *rn);

/* Whether a refresh is running (started and not yet taken). */
int renewer_busy(const struct renewer *rn);

/* Start refreshing b (saved to path, which must stay valid) on the renewer's thread. From here
 * until renewer_take, b belongs to the renewer. 0, or -1 with errno (EBUSY: one is running;
 * what pthread_create said). */
int renewer_start(struct renewer *rn, struct bundle *b, const char *path);

/* After renewer_fd turned readable: end the thread, hand b back and fill *res. 0, or -1 with
 * errno EAGAIN when no refresh has finished (nothing was taken). */
int renewer_take(struct renewer *rn, struct renewer_result *res);

#endif
