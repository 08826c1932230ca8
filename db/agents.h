/* The agents table: every agent that ever said HELLO, as it last described itself, and its
 * last heartbeat and statistics, and the manager it is attached to. Whether it is connected
 * to this manager is the channel server's to say (manager/agentlink.h); the row is what
 * outlives a connection and what every manager sharing the store sees of the others' agents:
 * an attached agent's row is refreshed at least every AGENTS_FRESH_SECONDS. Also the grants an agent holds, as
 * the channel's reconcile needs them. Functions return 0 or a negative enum err (lib/err.h). */
#ifndef DB_AGENTS_H
#define DB_AGENTS_H

#include <stddef.h>
#include <stdint.h>

struct db;

#define AGENTS_VERSION_MAX 64
#define AGENTS_ADDRESS_MAX 64
#define AGENTS_PIN_MAX 96 /* base64 text of a pin of up to 64 bytes */
#define AGENTS_MANAGER_MAX 32 /* a manager's id (manager/app.h APP_MANAGER_ID_MAX) */
/* The row of an agent attached to a manager that is alive is written at least this often (a
 * report every 5 s, a silent agent dropped after 15 s); an attachment older than this is a
 * dead manager's. */
#define AGENTS_FRESH_SECONDS 25

struct agent_row {
	int64_t id;
	char software_version[AGENTS_VERSION_MAX + 1];
	char listen_address[AGENTS_ADDRESS_MAX + 1];
	char spki_pin[AGENTS_PIN_MAX + 1];
	int channel_version;
	int64_t first_seen, last_hello, last_heartbeat; /* Unix seconds, 0: never */
	int64_t sessions; /* live sessions at the last report */
	char *last_stats; /* JSON text or NULL; owned (agents_row_clear frees it) */
	char manager[AGENTS_MANAGER_MAX + 1]; /* attached to this manager; "": to none */
};

/* Record a HELLO of a (row->id, software_version, listen_address, spki_pin, channel_version)
 * to manager a->manager at now: inserted the first time (first_seen = now), updated after.
 * 0 or err. */
int agents_hello(struct db *db, const struct agent_row *a, int64_t now);

/* Write what the agent reported since to manager, the one it is attached to: last heartbeat,
 * session count, last STATS (JSON text, NULL: unchanged). 0, ERR_NOT_FOUND, err. */
int agents_report(struct db *db, int64_t id, const char *manager, int64_t last_heartbeat,
    int64_t sessions, const char *last_stats);

/* The agent left manager: attached to none, unless it is attached to another one already.
 * 0 or err (an agent attached elsewhere is not an error). */
int agents_detach(struct db *db, int64_t id, const char *manager);

/* Whether the agent of row a is attached to a manager other than self that is alive (it wrote
 * the row within AGENTS_FRESH_SECONDS of now). */
int agents_attached_elsewhere(const struct agent_row *a, const char *self, int64_t now);

/* The agent with this id. Clear *out with agents_row_clear(). 0, ERR_NOT_FOUND, err. */
int agents_get(struct db *db, int64_t id, struct agent_row *out);

/* Agents with id > after, by id, at most limit, into out (each cleared by the caller with
 * agents_row_clear()); *n is set. 0 or err. */
int agents_list(struct db *db, int64_t after, int limit, struct agent_row *out, int *n);

void agents_row_clear(struct agent_row *a);

#endif
