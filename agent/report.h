/* What the tunnel layer tells and asks the manager over the state channel (proto/README.md §2.5,
 * §2.6), as typed calls: each builds its State__* message and hands it to the link (link.h), so the
 * tunnel layer never sees protobuf. Like link_send(), nothing is queued while the link is down: the
 * manager learns the state at the reconcile after the next WELCOME. */
#ifndef AGENT_REPORT_H
#define AGENT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/addr.h"
#include "../lib/counters.h"
#include "../lib/tunevents.h"
#include "dataplane.h"
#include "link.h"

/* A session as SESSION_UP tells it. */
struct report_session {
	uint64_t session_id;
	const char *pssid;
	int has_grant; /* 0: assign_socketaddr only (no grant, address or ISD-AS) */
	uint64_t grant_id, isd_as;
	struct addr addr;
	const char *remote; /* the client's UDP address, as text */
	int64_t started_at, expires_at; /* Unix seconds */
};

/* One established session in a STATS report. */
struct report_stats_entry {
	uint64_t session_id;
	struct counters c;
	int64_t expires_at;
};

/* What an ALLOC_REQ asks for. */
struct report_alloc {
	const char *pssid;
	uint64_t session_id;
	uint64_t isd_as; /* 0: any */
	int family; /* 4 or 6 */
	const struct addr *want; /* a specific address, or NULL: any of the family */
	unsigned modes; /* the pool modes this agent forwards: CHAN_MODE_* bits (proto/chan.h) */
};

/* SESSION_UP. 0, or -1 when the link is not up (nothing sent). */
int report_session_up(struct link *l, const struct report_session *s);

/* SESSION_DOWN of session_id (grant_id 0: none) with its reason, final counters and duration. */
void report_session_down(struct link *l, uint64_t session_id, uint64_t grant_id, const char *reason,
    const struct counters *c, uint64_t duration_ns);

/* HOLD_REQ: put grant_id, of session_id, on hold. */
void report_hold(struct link *l, uint64_t grant_id, uint64_t session_id);

/* STATS: the agent's uptime, totals, tunnel events and its n established sessions. reconcile 1: one frame with
 * every session (the manager holds the grants of sessions it does not list); when that is over
 * the channel's frame limit the counters go, and past that the report is sent unreconciled.
 * reconcile 0: frames of at most REPORT_STATS_CHUNK sessions, each with the totals. */
void report_stats(struct link *l, uint64_t uptime_ns, const struct report_stats_entry *s, size_t n,
    const struct counters *total, const struct tunevents *events, int reconcile);

/* Sessions per periodic STATS frame: a SessionStats packs to 82 bytes at most, so a frame stays
 * far below the channel's 1 MiB payload limit whatever the number of sessions. */
#define REPORT_STATS_CHUNK 4096

/* ALLOC_REQ for req; cb runs once with the outcome, as link_alloc() says. The request id (> 0),
 * or -1 when the link is not up or too busy (cb will not run). */
int64_t report_alloc(struct link *l, const struct report_alloc *req, link_alloc_cb cb, void *arg);

#endif
