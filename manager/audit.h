/* The audit log: every state change made through the API appends one event in the same
 * transaction as the change. Append-only, paged by id. */
#ifndef MANAGER_AUDIT_H
#define MANAGER_AUDIT_H

#include <jansson.h>
#include <stdint.h>

struct db;

/* Append an event; details (borrowed, may be NULL) is stored as JSON text. 0 or err. */
int audit_append(struct db *db, int64_t now, const char *actor, const char *action,
    const char *object, json_t *details);

struct audit_filter {
	const char *action; /* NULL: any */
	const char *object; /* NULL: any */
};

/* Events with id > after as a JSON array of objects (new reference) into *items; the last id
 * goes to *last_id. 0 or err. */
int audit_list(struct db *db, const struct audit_filter *f, int64_t after, int limit,
    json_t **items, int64_t *last_id);

#endif
