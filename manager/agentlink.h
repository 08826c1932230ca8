/* The manager's side of the state channel (proto/README.md §2): a UNIX socket in the state dir that
 * agents connect to, the channel key file, and for each connection the framing, HELLO/WELCOME
 * (or REJECT), the snapshot, the deltas, the agents' requests and their reports. Its parts:
 * agentlink.c (socket, handshake, dispatch, loop), agentconn.c (a connection), statepush.c
 * (snapshot and deltas), agentjobs.c (requests, in the turn's transaction).
 *
 * Files: <state_dir>/channel.key (32 random bytes, 0600, created on first start) and
 * <state_dir>/agent.sock (0600; the peer's uid must be ours or 0).
 *
 * It runs on the manager's loop (lib/loop.h), on the loop's thread. It watches its listener
 * and every agent connection there itself (for writability only while a connection's queue is
 * not empty): the loop's fd phase accepts, reads and writes. From the before-sleep hook,
 * agentlink_run() does the rest of the turn's channel work (answer the requests read, the
 * timers) and agentlink_flush() sends what the turn committed; each ends the loop's next wait
 * by the channel's next deadline (loop_wait_until). Both must be called with no transaction
 * open: the requests of one turn (ALLOC_REQ, HOLD_REQ, the reconcile of a STATS) share one
 * transaction of their own, answered only after its commit (group commit).
 *
 * Deltas: what agents must learn is queued in the store itself, in the transaction of the change
 * (the outbox, written by the store function that makes the change: db/agentdelta.h), so a
 * delta exists only if its change committed; agentlink_flush() sends the rows it has not sent
 * yet, this manager's and those of every other manager on the store (outbox.h). */
#ifndef MANAGER_AGENTLINK_H
#define MANAGER_AGENTLINK_H

#include <stddef.h>
#include <stdint.h>

struct app;
struct db;
struct loop;
struct sessions;
struct agentlink;
struct agenttls_config;

#define AGENTLINK_KEY_FILE "channel.key"
#define AGENTLINK_SOCKET "agent.sock"
#define AGENTLINK_VERSION_MIN 1 /* channel versions this manager speaks */
#define AGENTLINK_VERSION_MAX 1
#define AGENTLINK_HEARTBEAT_SECONDS 5
#define AGENTLINK_STATS_SECONDS 5
/* An agent's output queue: a snapshot is queued a piece at a time while less than
 * AGENTLINK_SNAPSHOT_LOW is queued (a piece adds at most one frame beyond it, or the keys or
 * the pools, which are few); an agent with more than AGENTLINK_OUT_MAX queued (it does not
 * read) is dropped. */
#define AGENTLINK_SNAPSHOT_LOW (256u * 1024)
#define AGENTLINK_OUT_MAX (16u * 1024 * 1024)
#define AGENTLINK_SESSIONS_MAX 262144 /* live sessions one agent may report */

/* Load <state_dir>/channel.key into key, creating it (32 random bytes, written beside, renamed,
 * the directory synced) when it does not exist. A file of another size is fatal. */
void agentlink_key_load(const char *state_dir, unsigned char key[32]);

/* Load or create the key and listen on <state_dir>/agent.sock (a stale socket file is
 * replaced; one a live manager answers on is fatal), and on tls->listen over TCP + TLS unless
 * tls or its listen is NULL (agenttls.h), watched on loop (kept: it must outlive the channel).
 * Setup errors are fatal. Free with agentlink_close(), before loop_free(): it
 * drops every agent and stops watching their sockets. */
struct agentlink *agentlink_open(
    struct app *app, const char *state_dir, struct loop *loop, const struct agenttls_config *tls);
void agentlink_close(struct agentlink *l);

/* The channel work of a loop turn that its fd phase leaves (see above). No transaction may be
 * open. */
void agentlink_run(struct agentlink *l);

/* Send every committed delta not sent yet, then write what is queued. No transaction may be
 * open. Call it after every commit point of a loop turn (after http_flush, after the sweep). */
void agentlink_flush(struct agentlink *l);

/* Purge the outbox rows no manager needs any more (a write of its own; from the sweep). */
void agentlink_sweep(struct agentlink *l);

/* Close every channel of agent id at once (its credential was just revoked: the TLS listener
 * refuses it from now on). The number closed. l may be NULL: 0. */
int agentlink_revoke(struct agentlink *l, uint64_t id);

/* The TLS listener's SPKI pin (base64) and the address agents dial; NULL when it is off (or l
 * is NULL). */
const char *agentlink_tls_pin(const struct agentlink *l);
const char *agentlink_tls_address(const struct agentlink *l);

/* The live sessions the agents reported. */
struct sessions *agentlink_sessions(struct agentlink *l);

/* 1 if agent id is connected (HELLO answered) now, with the time of the last frame heard from
 * it in *last_heard (Unix seconds; may be NULL); else 0. */
int agentlink_connected(struct agentlink *l, uint64_t id, int64_t *last_heard);

/* 1 if agent id is connected, with the bytes queued for it now in *now and the most ever queued
 * on its channel in *peak; else 0. */
int agentlink_queued(struct agentlink *l, uint64_t id, size_t *now, size_t *peak);

/* A connected agent as clients see it: its id, the address of its QUIC listener and the SPKI
 * pin of its certificate (base64), from its HELLO. */
struct agentlink_peer {
	uint64_t id;
	const char *address;
	const char *spki_pin;
};

/* Call fn for every connected agent (HELLO answered); *p is valid during the call only. l may be
 * NULL (no channel): none. */
void agentlink_peers(
    struct agentlink *l, void (*fn)(void *arg, const struct agentlink_peer *p), void *arg);

/* Queue SESSION_KILL for agent_id's session in the caller's open transaction (the outbox,
 * db/agentdelta.h): it goes out once that commits. 0 or err. */
int agentlink_queue_kill(struct db *db, uint64_t session_id, uint64_t agent_id, const char *reason);

#endif
