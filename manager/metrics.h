/* The manager's own counts, kept as things happen (the numbers the store and the state channel
 * do not hold): HTTP requests by route, method and status with their latency, enrollments and
 * their failures, revocations and the latency from the API call to the agent's report that the
 * revoked session closed, state-channel frames, errors and reconnects, and for every agent that
 * ever reported, its traffic counters and tunnel events made monotonic across its reconnects
 * and restarts.
 *
 * One registry per process (struct app's metrics). Every call takes a NULL registry and then
 * does nothing, so code under unit test runs without one. GET /metrics gathers these with the
 * store's counts into a snapshot (metrics_snap.h) and renders that (metrics_prom.c). */
#ifndef MANAGER_METRICS_H
#define MANAGER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/counters.h"
#include "../lib/histogram.h"
#include "../lib/pssid.h"
#include "../lib/tunevents.h"

struct route;

#define METRICS_STATUSES_MAX 24 /* distinct statuses counted per route and method */
#define METRICS_REVOKING_MAX 4096 /* revocations awaiting their session's close */
#define METRICS_REVOKING_TTL_NS (60ull * 1000000000u) /* forgotten unclosed after this */

/* Why an enrollment failed (the reason label). */
enum metrics_enroll_fail {
	METRICS_ENROLL_INVALID_TOKEN, /* unknown or malformed join token */
	METRICS_ENROLL_TOKEN_GONE, /* consumed, expired or aborted */
	METRICS_ENROLL_CONFLICT, /* in use from another address */
	METRICS_ENROLL_BUSY, /* too many enrollments await their ack */
	METRICS_ENROLL_ACK_GONE, /* ack unknown, used or late */
	METRICS_ENROLL_ERROR, /* the store or the signer failed */
	METRICS_ENROLL_N
};
extern const char *const metrics_enroll_fail_names[METRICS_ENROLL_N];

enum metrics_dir { METRICS_IN, METRICS_OUT };

/* One route of an HTTP route table (NULL: the requests no route matched), and what its
 * requests got. */
struct metrics_route {
	const struct route *route;
	struct histogram latency;
	size_t nstatus;
	struct {
		unsigned status;
		uint64_t n;
	} status[METRICS_STATUSES_MAX];
	uint64_t other_status; /* past METRICS_STATUSES_MAX distinct ones */
};

/* One agent as it reported: the counts of its current instance (last) and what earlier
 * instances of it had reached (base). Its monotonic totals are base + last. */
struct metrics_agent {
	uint64_t id;
	uint64_t uptime_ns; /* of its last STATS */
	struct counters last, base;
	struct tunevents last_ev, base_ev;
	uint64_t restarts; /* instances seen after the first */
};

struct metrics {
	struct metrics_route *routes;
	size_t nroutes, caproutes;
	uint64_t enrollments;
	uint64_t enroll_failures[METRICS_ENROLL_N];
	uint64_t revocations;
	struct histogram revocation_latency;
	uint64_t chan_frames[2]; /* by enum metrics_dir */
	uint64_t chan_errors; /* channels dropped for a fault (protocol, decoding, timeout) */
	uint64_t chan_reconnects; /* HELLOs of an agent id welcomed before */
	struct metrics_agent *agents;
	size_t nagents, capagents;
	struct revoking {
		char pssid[PSSID_MAX + 1];
		uint64_t at_ns;
	} * revoking;
	size_t nrevoking;
};

/* A new, empty registry, or NULL when out of memory. Free with metrics_free() (NULL is fine). */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* A request of route (NULL: none matched) answered with status after seconds. */
void metrics_http(struct metrics *m, const struct route *route, unsigned status, double seconds);

void metrics_enrolled(struct metrics *m);
void metrics_enroll_failed(struct metrics *m, enum metrics_enroll_fail why);

/* pssid was revoked by an API call at at_ns (monotonic). When its live session is reported
 * closed (metrics_session_closed) within METRICS_REVOKING_TTL_NS, the time in between is
 * observed in the latency histogram. live: whether the pssid has a live session now (only
 * then is there a close to wait for). */
void metrics_revoked(struct metrics *m, const char *pssid, int live, uint64_t at_ns);

/* An agent reported a session of pssid closed at now_ns. */
void metrics_session_closed(struct metrics *m, const char *pssid, uint64_t now_ns);

void metrics_chan_frame(struct metrics *m, enum metrics_dir dir);
void metrics_chan_error(struct metrics *m);

/* An agent's HELLO was welcomed: a reconnect when its id was welcomed before. */
void metrics_agent_hello(struct metrics *m, uint64_t agent_id);

/* An agent's STATS: its uptime, totals and events (NULL: an older agent sent none). A new
 * instance of the agent (its uptime went back, or a count did) starts from zero: what the
 * previous one reached goes into the base, so the sums never go back. */
void metrics_agent_stats(struct metrics *m, uint64_t agent_id, uint64_t uptime_ns,
    const struct counters *total, const struct tunevents *events);

#endif
