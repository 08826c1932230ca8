/* The agents' requests of one loop turn (ALLOC_REQ, HOLD_REQ, and the reconcile of the first
 * STATS after WELCOME), run through the allocator in the turn's one transaction and answered
 * only once it committed (group commit). */
#ifndef MANAGER_AGENTJOBS_H
#define MANAGER_AGENTJOBS_H

#include "../proto/chan.h"

struct agentconn;
struct agentlink;

/* Hand c's request f, unpacked as msg (consumed, even when c is dropped for want of memory), to
 * the turn's transaction. */
void agentjobs_add(struct agentconn *c, const struct chan_frame *f, ProtobufCMessage *msg);

/* Run the turn's requests in one transaction, then queue the answers (ALLOC_RES) and the
 * reconciles' SESSION_KILLs. No transaction may be open. */
void agentjobs_run(struct agentlink *l);

/* Forget the turn's requests unanswered (the server closes). */
void agentjobs_free(struct agentlink *l);

#endif
