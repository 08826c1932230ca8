/* Address grants and their lease history: the model, lookups, lists, and the row operations
 * the allocator composes into transitions (manager/alloc.c decides; these only store). A pool's
 * counters are not touched here: the allocator adjusts them in the same transaction
 * (pool_adjust). */
#ifndef DB_GRANT_H
#define DB_GRANT_H

#include <stdint.h>

#include "../lib/addr.h"
#include "../lib/pssid.h"
#include "../lib/text.h"

struct db;

enum grant_state { GRANT_ASSIGNED, GRANT_ON_HOLD };

struct grant {
	int64_t id;
	int64_t pool_id;
	uint64_t index;
	char address[ADDR_STRLEN];
	char pssid[PSSID_MAX + 1];
	enum grant_state state;
	int64_t agent_id;
	int64_t session_id;
	int64_t assigned_at;
	int64_t hold_until; /* 0 unless on hold */
};

struct grant_filter {
	int64_t pool_id; /* 0: any */
	const char *pssid; /* NULL: any */
	int state; /* -1: any, else enum grant_state (lapsed holds excluded) */
};

struct grant_event {
	int64_t id;
	char action[16];
	char address[ADDR_STRLEN];
	char pssid[PSSID_MAX + 1];
	int64_t pool_id, session_id, agent_id, hold_until, at;
	char actor[TEXT_ACTOR_MAX + 1];
};

const char *grant_state_str(enum grant_state s);
int grant_state_parse(const char *s, enum grant_state *out);

/* The grant with this id, as stored (a lapsed hold is returned as on hold). 0, ERR_NOT_FOUND,
 * ERR_DB. */
int grant_get(struct db *db, int64_t id, struct grant *g);

/* The pssid's grant, if any. 0, ERR_NOT_FOUND, ERR_DB. */
int grant_by_pssid(struct db *db, const char *pssid, struct grant *g);

/* The grant row at (pool, index), if any. 0, ERR_NOT_FOUND, ERR_DB. */
int grant_at(struct db *db, int64_t pool_id, uint64_t index, struct grant *g);

/* Live grants (assigned, or on hold and not lapsed at now) matching f with id > after, by id,
 * up to limit into out; *n is set. 0 or err. */
int grant_list(struct db *db, const struct grant_filter *f, int64_t now, int64_t after, int limit,
    struct grant *out, int *n);

/* The assigned grants of agent_id, by id: fn(arg, grant id, session id) for each; fn returns
 * 0 to go on, anything else stops the walk. fn must not use the store. The number of grants
 * given to fn, or a negative err. */
int grant_list_assigned(struct db *db, int64_t agent_id,
    int (*fn)(void *arg, int64_t grant_id, int64_t session_id), void *arg);

/* A collector for grant_list_assigned (whose fn may not use the store): the (grant id, session
 * id) pairs into v, grown as needed (the caller frees v), at most max of them when max > 0 (the
 * walk stops there). Reset n to reuse it. */
struct grant_ids {
	int64_t (*v)[2];
	size_t n, cap, max;
};
int grant_ids_collect(void *arg, int64_t grant_id, int64_t session_id);

/* The live grants of agent_id (assigned, or on hold and not lapsed at now) with id > after, by
 * id, at most limit: fn(arg, grant, the ISD-AS of its pool) for each — what an agent's
 * snapshot carries. fn returns 0 to go on, anything else stops the walk; it must not use the
 * store. The number of grants given to fn, or a negative err. */
int grant_list_agent(struct db *db, int64_t agent_id, int64_t now, int64_t after, int limit,
    int (*fn)(void *arg, const struct grant *g, uint64_t isd_as), void *arg);

/* Up to max holds that lapsed by now, the oldest first, into out; *n is set. 0 or err. */
int grant_list_lapsed(struct db *db, int64_t now, int max, struct grant *out, int *n);

/* The hold of pool_id that lapsed first by now, not counting holds on reserved addresses
 * (those stay their pssid's). 0, ERR_NOT_FOUND, err. */
int grant_first_lapsed(struct db *db, int64_t pool_id, int64_t now, struct grant *g);

/* Insert g as an assigned grant (pool_id, index, address, pssid, agent_id, session_id,
 * assigned_at set by the caller); g->id is set. 0, ERR_CONFLICT (the pssid or the address has
 * a grant), err. */
int grant_insert(struct db *db, struct grant *g);

/* Assign the grant g, as read in the caller's open transaction, to (agent_id, session_id) from
 * now, ending a hold; g is updated. A grant assigned to a session on another agent queues a
 * SESSION_KILL "superseded" of that session for that agent in the outbox (db/agentdelta.h).
 * 0 or err. */
int grant_assign(struct db *db, struct grant *g, int64_t agent_id, int64_t session_id, int64_t now);

/* Put the grant on hold until the given time. 0 or err. */
int grant_hold(struct db *db, int64_t id, int64_t until);

/* Delete the grant row; if it was assigned, a GRANT_RELEASE for its agent is queued in the
 * outbox (a held grant has no session to end). 0 or err. */
int grant_delete(struct db *db, int64_t id);

/* The history of one grant, oldest first, events with id > after. */
int grant_history(
    struct db *db, int64_t grant_id, int64_t after, int limit, struct grant_event *out, int *n);

/* Append a history event for g (hold_until recorded when g is on hold). 0 or err. */
int grant_history_add(
    struct db *db, const struct grant *g, const char *action, const char *actor, int64_t now);

#endif
