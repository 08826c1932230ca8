/* Agents that never come back: the assigned grants of an agent that has been away longer than
 * the manager's --agent-lost-after go on hold, as a closed session's do, and then lapse. Nobody
 * else tells the store that those sessions ended. */
#ifndef MANAGER_AGENTLOST_H
#define MANAGER_AGENTLOST_H

#include <stdint.h>

struct db;
struct agentlink;

#define AGENTLOST_AFTER 300 /* seconds, --agent-lost-after's default */
#define AGENTLOST_AFTER_MAX (30 * 86400)

/* Put on hold (alloc_hold, the pool's hold time from now) the assigned grants of every agent
 * that is not connected on link (NULL: none is), nor attached to a live manager other than
 * self (manager ids as in the agents table, db/agents.h), and has been away for lost_after seconds or
 * more at now, at most max grants per call. Away time counts from the latest of its last
 * heartbeat, its last HELLO and since (when the manager started: no agent reached a manager
 * that was down). Each hold is in its grant's history (actor "agent:<id> lost"); each agent
 * whose grants were held gets an audit event "agent.lost" (object "agent:<id>"), in the same
 * transaction (one per agent). No transaction may be open. The number of grants put on hold,
 * or a negative err (what committed before stays). */
int agentlost_sweep(struct db *db, struct agentlink *link, const char *self, int64_t since,
    int64_t lost_after, int64_t now, int max);

/* In the caller's transaction: put every assigned grant of agent id on hold as above, each
 * hold in its grant's history under actor (a revoked agent's). The number held, or err. */
int agentlost_hold(struct db *db, int64_t id, const char *actor, int64_t now);

#endif
