/* The audit log: every state change made through the API appends one event in the same
 * transaction as the change. Append-only, paged by id. */
#ifndef DB_AUDIT_H
#define DB_AUDIT_H

#include <jansson.h>
#include <stdint.h>

struct db;

/* Append an event; details (borrowed, may be NULL: {}) is stored as JSON text. 0 or err. */
int audit_append(struct db *db, int64_t now, const char *actor, const char *action,
    const char *object, json_t *details);

/* Which events a walk of the log sees. action and object match whole values, or with
 * action_prefix / object_prefix set every value that starts with them ("pool." matches
 * "pool.create", "pool:" every pool's object). */
struct audit_filter {
	const char *action; /* NULL: any */
	const char *object; /* NULL: any */
	int action_prefix;
	int object_prefix;
	int64_t since; /* events at or after this time (Unix seconds); 0: any */
	int desc; /* newest first */
};

/* One event as stored. The strings belong to the store and are valid only during the
 * callback that receives them. */
struct audit_event {
	int64_t id;
	int64_t at;
	const char *actor;
	const char *action;
	const char *object;
	const char *details; /* JSON text */
};

/* Events matching f, at most limit, by id: oldest first from id > after, or with f->desc
 * newest first from id < after (after 0: from the newest). fn(arg, event) for each; fn returns
 * 0 to go on, anything else stops the walk. fn must not use the store. The number of events
 * given to fn, or a negative err. */
int audit_list(struct db *db, const struct audit_filter *f, int64_t after, int limit,
    int (*fn)(void *arg, const struct audit_event *e), void *arg);

/* The id of the newest event in *id (0: the log is empty). 0 or err. */
int audit_last_id(struct db *db, int64_t *id);

#endif
