/* The outbox rows every backend writes the same way. */
#include <stddef.h>

#include "agentdelta.h"

int
agentdelta_kill(struct db *db, uint64_t session_id, uint64_t agent_id, const char *reason)
{
	return agentdelta_add(db, AGENTDELTA_SESSION_KILL, NULL, session_id, agent_id, reason);
}
