/* The tunnel protocol on the gateway (proto/README.md §1.2-§1.4): one tunnel session per QUIC
 * connection, driven by the transport's callbacks (quic/quic.h). A tunnel goes
 *
 *   AWAIT_SESSION --renew/update_token 200--> AWAIT_ASSIGN --assign_addresses--> ASSIGNING
 *     --ALLOC_RES ok--> ESTABLISHED;  AWAIT_ASSIGN --assign_socketaddr--> ESTABLISHED
 *
 * within the handshake limit (3 s: close code 2), any non-200 answer of the handshake closing
 * with code 1 (3 for a missing Bearer header, 5 for a stream ended early: ctrl_err_close()).
 * Established, control requests renew the session (a new token of the same pssid moves the
 * expiry) or re-assign; nothing there closes the connection. The session closes with code 4 at
 * the first instant the Unix time is past the token's exp.
 *
 * struct tunnels is every tunnel of one server: the pssid index (one live tunnel per pssid: a
 * newer session supersedes the older, code 5 "superseded"), each tunnel's port in the data
 * plane it is given (routed at its assigned address; its datagrams go in there), and what the
 * manager asks for (revoke, kill, release) and is told (SESSION_UP/DOWN, HOLD_REQ, STATS:
 * report.h) over the link. Everything runs on the agent's one thread. */
#ifndef AGENT_TUNNEL_H
#define AGENT_TUNNEL_H

#include <stdint.h>

#include "../lib/counters.h"
#include "../lib/tunevents.h"
#include "dataplane.h"
#include "link.h"
#include "quic/quic.h"
#include "state.h"

#define TUNNEL_HANDSHAKE_NS (3ull * 1000000000u)

struct tunnel_config {
	uint64_t agent_id;
	uint64_t handshake_timeout_ns; /* 0: TUNNEL_HANDSHAKE_NS */
};

struct tunnels;

/* The tunnels of one server. *live is the agent's live state (the owner swaps it; tunnels read
 * it at each use); link carries requests and reports; a tunnel's port joins the data plane of
 * its pool's mode: dp_ip (ip mode, and a tunnel whose address is of no pool the state knows),
 * or dp_scion (scion mode; NULL when the agent has no SCION underlay: an assignment in a
 * scion pool is then refused, 400 naming the pool, and the grant put on hold). Both made with
 * tunnels_port_send and tunnels_port_room, the caller's, freed after tunnels_free(). NULL when
 * out of memory (or of randomness). Free with tunnels_free() after the server (every
 * connection gone). */
struct tunnels *tunnels_new(const struct tunnel_config *cfg, struct state *const *live,
    struct link *link, struct dataplane *dp_ip, struct dataplane *dp_scion);
void tunnels_free(struct tunnels *ts);

/* The data plane's dp_send_fn for these tunnels' ports (conn is the QUIC connection): one
 * DATAGRAM frame. 0, DP_DROP_TOO_BIG or DP_DROP_BLOCKED. */
int tunnels_port_send(void *conn, const void *pkt, size_t len);

/* The data plane's dp_room_fn for these ports: the largest datagram the connection carries now
 * (quic_conn_max_datagram()). */
size_t tunnels_port_room(void *conn);

/* Set the link (created after the server, which it names in HELLO). */
void tunnels_set_link(struct tunnels *ts, struct link *link);

/* The callbacks to give quic_server_new() (arg is ts). */
void tunnels_callbacks(struct tunnels *ts, struct quic_callbacks *cb);

/* Manager deltas. Close that pssid's tunnel (code 3 "revoked"; its grant is the manager's to
 * release: no HOLD_REQ); the session with that id (code 5, reason, default "closed by
 * administrator"); the session holding grant_id (code 5 "address released", no HOLD_REQ). */
void tunnels_revoke(struct tunnels *ts, const char *pssid);
void tunnels_kill(struct tunnels *ts, uint64_t session_id, const char *reason);
void tunnels_release_grant(struct tunnels *ts, uint64_t grant_id);

/* After a snapshot swap: close the tunnels of pssids the new state revokes. */
void tunnels_enforce(struct tunnels *ts);

/* The channel was welcomed: SESSION_UP for every live session, then STATS with reconcile. */
void tunnels_report_all(struct tunnels *ts);
/* One STATS report (reconcile 0). */
void tunnels_report_stats(struct tunnels *ts);

/* What the agent's metrics listener shows of the tunnels (agent/metrics.c). */
struct tunnels_metrics {
	struct counters total; /* every session since the start, live ones included */
	struct tunevents events;
	unsigned connections, established; /* now */
	uint64_t uptime_ns; /* since tunnels_new() */
};

void tunnels_metrics(const struct tunnels *ts, struct tunnels_metrics *out);

/* Whether connections were acted on outside the transport's callbacks since the last call (the
 * owner then calls quic_server_flush()); clears the flag. */
int tunnels_take_dirty(struct tunnels *ts);

#endif
