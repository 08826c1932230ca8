/* The live_sessions table: the tunnel sessions of every manager's agents, so that each manager
 * on a shared store lists them all (GET /v1/sessions). A manager keeps its own agents' sessions
 * in memory (manager/sessions.h) and writes them here, agent by agent, with the agent's report
 * (at most every 5 s, in one transaction for all agents due); it reads here only the sessions of
 * agents attached to other managers that are alive (db/agents.h AGENTS_FRESH_SECONDS). Written
 * only on a store several managers share (db_shared): on SQLite, one manager per file, nobody
 * else would read it. Functions return 0 or a negative enum err (lib/err.h). */
#ifndef DB_LIVESESSION_H
#define DB_LIVESESSION_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/session.h"

struct db;

/* Make agent_id's rows the n sessions of v (each of that agent), as written by manager: the
 * agent's rows are deleted and v inserted, whole or not at all (a transaction level of its own,
 * also outside a transaction), as one batch of writes (db/stmt.h: on PostgreSQL a round trip
 * per window of them, not one a session). 0 or err (ERR_CONFLICT: an id twice in v, or one of
 * another agent's rows). */
int livesession_replace(
    struct db *db, uint64_t agent_id, const char *manager, const struct session *v, size_t n);

/* Forget agent_id's sessions written by manager (it left that manager). 0 or err. */
int livesession_forget(struct db *db, uint64_t agent_id, const char *manager);

struct livesession_filter {
	const char *self; /* this manager: its own rows are not read (it has them in memory) */
	int64_t fresh_since; /* rows of agents whose manager wrote them before this are a dead
				manager's: skipped */
	const char *pssid; /* NULL: any */
	uint64_t agent_id; /* 0: any */
};

/* Up to limit sessions matching f with id > after, by id, into out; *n is set. 0 or err. */
int livesession_list(struct db *db, const struct livesession_filter *f, uint64_t after, int limit,
    struct session *out, int *n);

/* The session with this id matching f (its pssid and agent_id are ignored). 0,
 * ERR_NOT_FOUND, err. */
int livesession_get(
    struct db *db, const struct livesession_filter *f, uint64_t id, struct session *out);

#endif
