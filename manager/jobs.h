/* The manager's background jobs: what time decides (lapsed holds, lost agents, expired join
 * tokens and revocations) written down in the store. Several managers may share one store;
 * the store-wide jobs run on the one that holds the store's jobs lease (db_jobs_lease), the
 * others stand by and take over on the round after the holder died or lost its connection.
 * What is this manager's own (its agents' queues) runs on every manager. */
#ifndef MANAGER_JOBS_H
#define MANAGER_JOBS_H

struct app;

#define JOBS_INTERVAL_SECONDS 5 /* a standby takes over within about one of these */
#define JOBS_BATCH 1000 /* rows one job writes per round at most */

/* One round: ask for the lease (app->jobs_leader tells the answer to /v1/health and the
 * metrics; a change is logged), run the store-wide jobs if held, then this manager's own. No
 * transaction may be open. Failures are logged and retried on the next round. */
void jobs_run(struct app *app);

#endif
