/* The agent's end of the state channel (proto/README.md §2): a non-blocking client of the manager's
 * UNIX socket. It connects, says HELLO, waits for WELCOME (or REJECT), takes the snapshot (built
 * in a fresh struct state, handed over at SNAPSHOT_END when its generation and item count agree)
 * and the deltas, answers nothing itself but carries the agent's requests (ALLOC_REQ with a
 * callback per correlation id and a 2 s limit, HOLD_REQ) and reports (SESSION_UP/DOWN, STATS,
 * HEARTBEAT). When the channel drops it reconnects with exponential backoff (0.1 s .. 10 s, with
 * jitter) and says HELLO again, to the next of its managers after a failure (link_dial.h: the
 * UNIX socket or TCP + TLS; a manager's host name is looked up without blocking the loop, and
 * the addresses of a name are taken in turn, one per attempt).
 *
 * It runs on the owner's event loop (lib/loop.h): it watches its socket there itself, for
 * writability only while its output queue is non-empty; the owner calls link_expire() when
 * link_expiry() has passed. */
#ifndef AGENT_LINK_H
#define AGENT_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/addr.h"
#include "../proto/chan.h"
#include "link_dial.h"
#include "state.h"

struct loop;

#define LINK_ALLOC_TIMEOUT_NS (2ull * 1000000000u)
#define LINK_BACKOFF_MIN_NS (100ull * 1000000u)
#define LINK_BACKOFF_MAX_NS (10ull * 1000000000u)
#define LINK_PERIOD_DEFAULT 5 /* heartbeat and stats seconds when Limits says 0 */
#define LINK_OUT_MAX (8u * 1024 * 1024) /* queued output beyond this: drop the channel */
#define LINK_READ_BUDGET (16u * 65536) /* bytes read per link_handle(): fairness */
#define LINK_PENDING_MAX 4096 /* ALLOC_REQs in flight; more are refused (as unreachable) */
#define LINK_LATE_NS (60ull * 1000000000u) /* how long a timed-out ALLOC_REQ's answer is awaited */

struct link_config {
	/* The managers, tried in turn (link_dial.h): UNIX sockets and TLS endpoints. */
	const struct link_endpoint *managers;
	size_t nmanagers;
	/* For UNIX sockets: the channel key file, 32 bytes (read at each connect until it loads);
	 * NULL when there is none. */
	const char *key_file;
	/* For TLS endpoints: the agent's own channel key (32 bytes, copied) and its client
	 * identity (taken: link_free() frees it); NULL when there is none. */
	const unsigned char *channel_key;
	gnutls_certificate_credentials_t tls_cred;
	int tls_ca; /* tls_cred trusts CAs for the managers' certificates (--manager-ca) */
	uint64_t agent_id;
	const char *software_version;
	const char *listen_address; /* for HELLO */
	const unsigned char *spki_pin; /* 32 bytes, for HELLO */
};

/* The outcome of an ALLOC_REQ: error 0 and the grant, or a negative enum err with a reason
 * (ERR_BUSY with "manager unreachable" when the channel dropped or 2 s passed). */
struct link_alloc_res {
	int error;
	const char *reason;
	uint64_t grant_id, isd_as;
	struct addr addr;
	unsigned prefix_length;
};
typedef void (*link_alloc_cb)(void *arg, const struct link_alloc_res *res);

/* What the link tells its owner. The link keeps the one switch over the manager's messages: it
 * builds each snapshot itself (applying the deltas that arrive meanwhile to it too) and hands
 * every delta to the callback of its kind, to apply to the live state and enforce. The delta
 * callbacks may be NULL (nothing to do); their arguments are valid during the call only. */
struct link_callbacks {
	void *arg;
	/* WELCOME arrived: report every live session now (SESSION_UP each, then STATS with
	 * reconcile), before anything else is sent. */
	void (*welcome)(void *arg);
	/* A complete snapshot: the owner takes st (frees the state it replaces). The link has set
	 * its heartbeat and stats periods from its limits already. */
	void (*snapshot)(void *arg, struct state *st);
	/* The deltas (proto/README.md §2.4). */
	void (*key_add)(void *arg, const State__Key *key); /* KEY_ADD */
	void (*key_retire)(void *arg, const char *kid); /* KEY_RETIRE */
	void (*revoke)(void *arg, const char *pssid, const char *reason); /* REVOKE */
	void (*grant_release)(void *arg, uint64_t grant_id, const char *reason); /* GRANT_RELEASE */
	/* SESSION_KILL: not state, only enforcement (no snapshot holds sessions). */
	void (*session_kill)(void *arg, uint64_t session_id, const char *reason);
	void (*pool_update)(void *arg, const State__Pool *pool); /* POOL_UPDATE */
	void (*pool_remove)(void *arg, uint64_t pool_id); /* POOL_UPDATE with removed */
	/* The STATS period passed while the link is up: send one (reconcile 0). */
	void (*stats)(void *arg);
	/* The channel dropped (after being welcomed). */
	void (*down)(void *arg);
};

struct link;

/* A link that starts connecting at its first link_expire() (link_expiry() is due at once). The
 * strings are copied. NULL when out of memory. Free with link_free() (NULL is fine), before
 * loop_free(): it stops watching its socket on loop, and pending ALLOC_REQ callbacks run with
 * ERR_BUSY, "shutting down". */
struct link *link_new(
    const struct link_config *cfg, const struct link_callbacks *cb, struct loop *loop);
void link_free(struct link *l);

/* The socket now (-1 while disconnected). */
int link_fd(const struct link *l);
/* Handle readiness of link_fd() (LOOP_READ and/or LOOP_WRITE); the link's own callback on the
 * loop calls it, and tests that drive the socket by hand. */
void link_handle(struct link *l, unsigned events);
uint64_t link_expiry(const struct link *l);
void link_expire(struct link *l, uint64_t now_ns);

/* Welcomed by the manager: requests and reports go out. */
int link_up(const struct link *l);

/* What the channel did since link_new(): frames read and queued, WELCOMEs (the first, then one
 * per reconnect), and drops (any cause: the manager closing, a protocol error, silence). */
struct link_stats {
	uint64_t frames_in, frames_out;
	uint64_t welcomes;
	uint64_t drops;
};

void link_stats(const struct link *l, struct link_stats *out);

/* Queue one message (type and its protobuf) for the manager. 0, or -1 when the link is not up
 * (nothing queued) or the message could not be packed (the channel is dropped). */
int link_send(struct link *l, enum chan_msg type, const ProtobufCMessage *msg);

/* Ask the manager for an address. cb runs exactly once (from a later loop turn, never from
 * within this call): with the ALLOC_RES, or with an error when
 * the link drops or 2 s pass. A grant that the manager answers after those 2 s (on the same
 * connection, within LINK_LATE_NS) is put on hold with a HOLD_REQ for req->session_id. Returns
 * the request id (> 0), or -1 when the link is not up or LINK_PENDING_MAX requests are in
 * flight (cb will not run). */
int64_t link_alloc(struct link *l, const State__AllocReq *req, link_alloc_cb cb, void *arg);

/* Write what is queued, waiting at most timeout_ms (shutdown). */
void link_flush(struct link *l, int timeout_ms);

#endif
