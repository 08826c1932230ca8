/* Address grants as read from the store: the model, lookups, lists and the lease history.
 * Transitions live in alloc.c. */
#ifndef MANAGER_GRANT_H
#define MANAGER_GRANT_H

#include <stdint.h>

#include "../lib/addr.h"
#include "../lib/pssid.h"

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
	char actor[96];
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

/* Live grants (assigned, or on hold and not lapsed at now) matching f with id > after. */
int grant_list(struct db *db, const struct grant_filter *f, int64_t now, int64_t after, int limit,
    struct grant *out, int *n);

/* The history of one grant, oldest first, events with id > after. */
int grant_history(
    struct db *db, int64_t grant_id, int64_t after, int limit, struct grant_event *out, int *n);

/* Append a history event for g. 0 or err. */
int grant_history_add(
    struct db *db, const struct grant *g, const char *action, const char *actor, int64_t now);

#define GRANT_COLUMNS \
	"g.id, g.pool_id, g.addr_index, g.address, g.pssid, g.state, g.agent_id, g.session_id, " \
	"g.assigned_at, g.hold_until"
void grant_from_row(struct grant *g, void *stmt);

#endif
