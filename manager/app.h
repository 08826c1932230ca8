/* What every handler of the manager can reach: the store and the daemon's settings. */
#ifndef MANAGER_APP_H
#define MANAGER_APP_H

#include <stdint.h>

#include "../lib/version.h"

struct db;
struct signkeys;
struct ratelimit;
struct agentlink;
struct metrics;
struct evstream;
struct webroot;

#define APP_MANAGER_ID_MAX 32

struct app {
	struct db *db;
	/* This manager among those sharing the store (DIR/manager.id), written into the rows of
	 * the agents attached to it (db/agents.h). */
	char manager_id[APP_MANAGER_ID_MAX + 1];
	struct signkeys *keys; /* the token keys (signkeys.h) */
	const char *state_dir;
	uint64_t started_mono; /* for uptime */
	int64_t started_at; /* Unix seconds of the start: agents are away from then at most */
	int64_t (*now)(void); /* Unix seconds; tests may substitute a clock */
	int64_t ack_ttl; /* seconds an enrollment waits for its acknowledgement */
	int64_t access_ttl; /* seconds of a token from /v1/join and /v1/token; 0: the default */
	int64_t agent_lost_after; /* seconds away before an agent's grants go on hold */
	struct ratelimit *limiter; /* for the public enrollment endpoints; NULL: no limit */
	struct agentlink *link; /* the state channel to the agents; NULL: none (tests) */
	struct metrics *metrics; /* the process's counts (metrics.h); NULL: none (tests) */
	struct evstream *events; /* the live event stream; NULL: none (tests) */
	struct webroot *web; /* the dashboard's files, served at "/"; NULL: none */
	int jobs_leader; /* this manager held the store's jobs lease at the last round (jobs.h) */
};

#endif
