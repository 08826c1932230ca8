/* The live tunnel sessions, as their agents report them over the state channel (SESSION_UP,
 * STATS, SESSION_DOWN). In memory only: an agent that reconnects reports its sessions again, so
 * a session whose agent is gone is simply forgotten. Keyed by session id (unique across agents,
 * state.proto); lookups are O(1), lists sort the matching sessions by id. */
#ifndef MANAGER_SESSIONS_H
#define MANAGER_SESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/session.h"

struct sessions;

/* An empty set of sessions (a lib/hashtab table by id), or NULL when out of memory (or of
 * randomness for its hash key). Free with sessions_free() (NULL is fine). */
struct sessions *sessions_new(void);
void sessions_free(struct sessions *s);

/* Have fn(arg, up, s) called for every session that comes (up 1: an id not held before) and
 * goes (0: removed, reconciled away or forgotten with its agent), before the change; s is
 * valid during the call only. fn must not change r. NULL: nobody. */
typedef void sessions_watch_fn(void *arg, int up, const struct session *s);
void sessions_watch(struct sessions *r, sessions_watch_fn *fn, void *arg);

/* Add s, or replace the session with its id. 0, or ERR_NOMEM. */
int sessions_put(struct sessions *r, const struct session *s);

/* The session with this id, or NULL. The pointer is valid until the next change. */
struct session *sessions_get(struct sessions *r, uint64_t id);

/* Forget one session (only if agent_id holds it); 1 if it was there, else 0. */
int sessions_remove(struct sessions *r, uint64_t id, uint64_t agent_id);

/* Forget every session of agent_id; returns how many. */
size_t sessions_remove_agent(struct sessions *r, uint64_t agent_id);

/* Keep of agent_id's sessions only the n ids of keep; returns how many were forgotten. */
size_t sessions_reconcile(struct sessions *r, uint64_t agent_id, const uint64_t *keep, size_t n);

/* How many sessions agent_id holds (0 for every agent: all of them). */
size_t sessions_count(const struct sessions *r, uint64_t agent_id);

struct sessions_filter {
	const char *pssid; /* NULL: any */
	uint64_t agent_id; /* 0: any */
};

/* Up to limit sessions matching f with id > after, by id: copies into out; *n is set.
 * 0, or ERR_NOMEM. */
int sessions_list(const struct sessions *r, const struct sessions_filter *f, uint64_t after,
    int limit, struct session *out, int *n);

#endif
