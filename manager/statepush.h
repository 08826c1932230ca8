/* What the agents are told of the store's state (proto/README.md §2.3, §2.4): each connection's
 * snapshot (SNAPSHOT_BEGIN, KEY, REVOKED, GRANT, POOL, LIMITS, SNAPSHOT_END), queued a piece at a
 * time as its output drains, and the deltas of committed changes read from the outbox
 * (db/agentdelta.h, by outbox.h). The one place state messages are built from records. */
#ifndef MANAGER_STATEPUSH_H
#define MANAGER_STATEPUSH_H

#include <stdint.h>

struct agentconn;
struct agentdelta;
struct agentlink;

/* Begin a snapshot for c (a new generation; one under way is abandoned: the agent drops what it
 * built at the new SNAPSHOT_BEGIN). statepush_pump() queues its items. */
void statepush_start(struct agentconn *c);

/* Queue the next pieces of c's snapshot while its output is below AGENTLINK_SNAPSHOT_LOW,
 * reading the store as it is now: whatever changes meanwhile reaches the agent as a delta too,
 * which it applies to the snapshot it builds (an item sent twice, as item and delta, is
 * harmless). Nothing is read inside a transaction: it could still roll back. A store error drops
 * c. */
void statepush_pump(struct agentconn *c);

/* Send one row of the outbox (db/agentdelta.h) to the agents of l it is for; *resnapshot is set
 * when they need a fresh snapshot instead (a lifted revocation: no message lifts one). The
 * reader (outbox.h) calls it for every row past its cursor. */
void statepush_delta(struct agentlink *l, const struct agentdelta *d, int *resnapshot);

/* Queue SESSION_KILL of session_id to c. 0, or -1 when c is dropped. */
int statepush_session_kill(struct agentconn *c, uint64_t session_id, const char *reason);

#endif
