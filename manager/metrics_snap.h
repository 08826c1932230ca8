/* One look at everything GET /metrics shows, gathered once into plain structs (the store's
 * counts, the state channel's agents and sessions, the registry of metrics.h), so that a
 * renderer (metrics_prom.c) only formats. */
#ifndef MANAGER_METRICS_SNAP_H
#define MANAGER_METRICS_SNAP_H

#include <stddef.h>
#include <stdint.h>

#include "../db/pool.h"
#include "../lib/counters.h"
#include "../lib/histogram.h"
#include "../lib/tunevents.h"

struct app;
struct metrics;

struct metrics_snap_pool {
	char name[TEXT_NAME_BYTES(POOL_NAME_MAX) + 1];
	struct pool_counts c;
};

struct metrics_snap_agent {
	uint64_t id;
	int connected;
	uint64_t sessions; /* live, as it reported them */
};

struct metrics_snap {
	int64_t started_at; /* Unix seconds */
	int jobs_leader; /* holds the store's jobs lease (jobs.h) */
	struct metrics_snap_pool *pools;
	size_t npools;
	int64_t tokens[5]; /* by enum jointoken_state */
	int64_t clients, clients_revoked;
	struct metrics_snap_agent *agents; /* every agent that was ever welcomed */
	size_t nagents, agents_connected;
	/* Over every agent, monotonic across their reconnects and restarts. */
	struct counters traffic;
	struct tunevents events;
	uint64_t agent_restarts;
	const struct metrics *live; /* the registry (borrowed: render before the next change) */
	struct histogram store_tx;
};

/* Fill s from app (its registry may be NULL: then nothing of it is shown). 0, or an enum err
 * (the store failed, memory ran out) with s emptied. Free with metrics_snap_free(). */
int metrics_snap_gather(struct app *app, struct metrics_snap *s);
void metrics_snap_free(struct metrics_snap *s);

#endif
