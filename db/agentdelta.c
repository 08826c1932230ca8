/* The outbox's kinds, as every backend stores them. */
#include <string.h>

#include "agentdelta.h"

static const char *const kinds[] = {
    [AGENTDELTA_KEY] = "key",
    [AGENTDELTA_KEY_RETIRE] = "key_retire",
    [AGENTDELTA_REVOKE] = "revoke",
    [AGENTDELTA_UNREVOKE] = "unrevoke",
    [AGENTDELTA_GRANT_RELEASE] = "grant_release",
    [AGENTDELTA_SESSION_KILL] = "session_kill",
    [AGENTDELTA_POOL] = "pool",
    [AGENTDELTA_POOL_REMOVED] = "pool_removed",
};

const char *
agentdelta_kind_str(enum agentdelta_kind k)
{
	if ((size_t)k >= sizeof(kinds) / sizeof(kinds[0]))
		return NULL;
	return kinds[k];
}

enum agentdelta_kind
agentdelta_kind_parse(const char *s)
{
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (kinds[k] != NULL && strcmp(kinds[k], s) == 0)
			return (enum agentdelta_kind)k;
	return AGENTDELTA_UNKNOWN;
}
