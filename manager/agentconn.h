/* The state-channel server's insides, shared by its parts and by nothing else: agentlink.c (the
 * socket, the handshake, the one dispatch of agents' frames, the loop's entry points),
 * agentconn.c (one agent's connection: its buffers, dropping it), statepush.c (the snapshot and
 * the deltas: the state messages built from records) and agentjobs.c (the requests of a loop
 * turn, in its transaction). */
#ifndef MANAGER_AGENTCONN_H
#define MANAGER_AGENTCONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "../db/agents.h"
#include "../lib/loop.h"
#include "../proto/chan.h"
#include "outbox.h"

struct app;
struct chanbuf;
struct chanio;
struct agentjob;
struct agenttls;
struct sessions;

/* A TLS connection starts in AGENTCONN_TLS: its handshake, then its certificate must be an
 * enrolled, unrevoked agent's (agenttls.c) before it may say HELLO. */
enum agentconn_state { AGENTCONN_TLS, AGENTCONN_HELLO, AGENTCONN_READY };

/* Where a connection's snapshot is: the phase it queues next, in order (statepush.c). */
enum snap_phase { SNAP_NONE, SNAP_KEYS, SNAP_REVOKED, SNAP_GRANTS, SNAP_POOLS, SNAP_END };

/* One agent's connection. A dropped one (dead) stays in the list, its socket closed, until
 * agentconn_reap() at the end of the turn: the turn's jobs may still point at it. */
struct agentconn {
	struct agentconn *next;
	struct agentlink *link;
	int fd; /* chanio_fd(io), as the loop knows it */
	struct chanio *io; /* the UNIX socket, or TLS over TCP */
	int dead;
	enum agentconn_state state;
	struct chanbuf *buf; /* its output queue and its decoder; NULL until AGENTCONN_HELLO */
	uint64_t enrolled_id; /* TLS: the agent its certificate names (0 until known; UNIX: 0) */
	uint64_t agent_id; /* once HELLO is accepted */
	enum snap_phase snap; /* SNAP_NONE: no snapshot under way */
	uint64_t snap_gen, snap_items; /* its generation, the items queued so far */
	int64_t snap_after; /* the last revocation, grant or pool id queued */
	size_t snap_peak; /* the most queued while it is */
	uint64_t snap_started_ns;
	uint64_t opened_ns, heard_ns, next_heartbeat_ns, next_save_ns;
	int64_t heard_at; /* Unix seconds of the last frame heard */
	size_t nsessions; /* in the registry */
	int report_dirty; /* heartbeat/stats not written to the agents row yet */
	char *last_stats; /* JSON text of the last STATS, not written yet */
	char listen_address[AGENTS_ADDRESS_MAX + 1];
	char spki_pin[AGENTS_PIN_MAX + 1];
	char name[80]; /* "agent 3" / "agent connection 7" for logs */
};

/* The channel server. */
struct agentlink {
	struct app *app;
	unsigned char key[CHAN_KEY_LEN];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct loop *loop; /* the owner's: the listener and every connection are watched there */
	int listen_fd;
	struct agenttls *tls; /* the TCP + TLS listener (agenttls.h); NULL: off */
	struct agentconn *conns;
	struct agentjob *jobs, **jobs_tail; /* the requests of this turn (agentjobs.c) */
	struct sessions *sessions;
	uint64_t generation; /* of the last snapshot begun */
	uint64_t serial; /* connections accepted */
	struct outbox outbox; /* this manager's reader of the agents' outbox */
};

/* A connection over io (accepted; for the UNIX socket its peer's uid checked), taken over by
 * the connection even on failure: watched on l->loop for input with on_ready(loop, fd, events,
 * the connection), first in l->conns. A plain io waits for HELLO under the channel key; a TLS
 * io is in AGENTCONN_TLS until agentconn_start(). NULL with errno when out of memory or the
 * loop cannot watch it (io is closed then). */
struct agentconn *agentconn_new(struct agentlink *l, struct chanio *io, loop_fd_fn *on_ready);

/* The connection's buffers, its frames MAC'd with key and only from node peer (CHAN_PEER_ANY:
 * the first sender), and then HELLO is awaited. 0, or -1 when out of memory (c is dropped). */
int agentconn_start(struct agentconn *c, const unsigned char key[CHAN_KEY_LEN], uint64_t peer);

/* Watch c's socket for input, and for output when want_write. */
void agentconn_watch(struct agentconn *c, int want_write);

/* Queue one frame of msg (the payload of type; the caller keeps it). 0, or -1 when c is dropped
 * (before, or now: its queue is over AGENTLINK_OUT_MAX, memory ran out, msg does not frame). */
int agentconn_send(
    struct agentconn *c, enum chan_msg type, uint64_t corr, const ProtobufCMessage *msg);

/* Write c's queue until the socket is full, the queue empty or max bytes went; writability is
 * watched while something remains. The bytes written, or -1 when c is dropped (before, or now:
 * the write failed). */
ssize_t agentconn_write(struct agentconn *c, size_t max);

/* Drop c: log why (fmt; an empty text logs nothing), forget its sessions until it is back, save
 * its report (unless a transaction is open), close its socket. Idempotent. */
void agentconn_drop(struct agentconn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Write what c reported since the last save (heartbeat, session count, STATS) to its agents row,
 * if anything. A failure is logged. */
void agentconn_report_save(struct agentconn *c);

/* The live (welcomed, not dropped) connection of agent id, or NULL. */
struct agentconn *agentconn_find(struct agentlink *l, uint64_t id);

/* Free the connections dropped since the last call; none while requests read this turn wait
 * for agentjobs_run(), since they point at their connections. */
void agentconn_reap(struct agentlink *l);

#endif
