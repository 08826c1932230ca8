/* A live tunnel session as its agent reports it (SESSION_UP, STATS): the one model the manager's
 * registry (manager/sessions.h) and the store's table of every manager's sessions
 * (db/livesession.h) share. Plain data, copied by assignment. */
#ifndef LIB_SESSION_H
#define LIB_SESSION_H

#include <stdint.h>

#include "addr.h"
#include "counters.h"
#include "pssid.h"

#define SESSIONS_REMOTE_MAX 64

struct session {
	uint64_t id;
	uint64_t agent_id;
	char pssid[PSSID_MAX + 1];
	uint64_t grant_id;
	char address[ADDR_STRLEN]; /* "" when the agent sent none */
	uint64_t isd_as;
	char remote[SESSIONS_REMOTE_MAX + 1];
	int64_t started_at, expires_at;
	struct counters counters;
	int seen; /* scratch mark for sessions_reconcile */
};

#endif
