/* The agents' outbox (table agent_outbox): what the connected agents must learn, one row per
 * change, appended with agentdelta_add() by the store function that makes the change, in its
 * transaction (revocations, grants, pools and signing keys in db/sql/; agentdelta_kill() for
 * a session the API ends), so a row exists only once its change committed. Every manager on
 * the store reads the rows after the last one it read and sends them to its own agents; rows
 * commit in the order of their ids (on PostgreSQL a writer holds the outbox lock from its first
 * row to its commit), so that cursor never passes over a row. A commit with rows announces
 * itself on AGENTDELTA_CHANNEL (db_listen; PostgreSQL only). Rows are purged once old enough
 * that no manager still needs them (manager/outbox.c). Functions return 0 or a negative enum
 * err (lib/err.h). */
#ifndef DB_AGENTDELTA_H
#define DB_AGENTDELTA_H

#include <stdint.h>

struct db;

/* What a row says changed. The values are stored in the table's kind column: never renumber
 * one, only add. */
enum agentdelta_kind {
	AGENTDELTA_UNKNOWN = 0, /* no kind (the table admits none): the reader skips it */
	AGENTDELTA_KEY = 1, /* key name was added or changed: send it as it is now */
	AGENTDELTA_KEY_RETIRE = 2, /* key name is retired or gone */
	AGENTDELTA_REVOKE = 3, /* pssid name was revoked (reason) */
	AGENTDELTA_UNREVOKE = 4, /* the revocation of pssid name was lifted */
	AGENTDELTA_GRANT_RELEASE = 5, /* grant object_id of agent agent_id was released (reason) */
	AGENTDELTA_SESSION_KILL = 6, /* session object_id on agent agent_id must end (reason) */
	AGENTDELTA_POOL = 7, /* pool object_id was created or changed: send it as it is now */
	AGENTDELTA_POOL_REMOVED = 8, /* pool object_id was deleted */
};
#define AGENTDELTA_KIND_MAX AGENTDELTA_POOL_REMOVED

/* The channel a commit with outbox rows announces itself on, and the key of the outbox lock
 * (PostgreSQL advisory locks share one key space per database: a fixed, unlikely value). */
#define AGENTDELTA_CHANNEL "snaptun_outbox"
#define AGENTDELTA_LOCK_KEY 0x736e6170746f7574ll /* "snaptout" */

#define AGENTDELTA_NAME_MAX 127
#define AGENTDELTA_REASON_MAX 255

/* One row. */
struct agentdelta {
	int64_t id; /* increasing: the reader's cursor */
	enum agentdelta_kind kind;
	char name[AGENTDELTA_NAME_MAX + 1]; /* the kid or the pssid; "" for the other kinds */
	uint64_t object_id; /* the grant, session or pool id; 0 for the other kinds */
	uint64_t agent_id; /* the one agent it is for; 0: every agent */
	char reason[AGENTDELTA_REASON_MAX + 1];
};

/* Append a row in the caller's open transaction: name for the kinds that name a key or a
 * pssid (NULL for the others), object_id for those that name a grant, session or pool;
 * agent_id 0 for every agent; reason NULL for none. On PostgreSQL the transaction holds the
 * outbox lock from here to its end (another writer of rows waits: ERR_BUSY past the lock
 * timeout). 0 or err. */
int agentdelta_add(struct db *db, enum agentdelta_kind kind, const char *name, uint64_t object_id,
    uint64_t agent_id, const char *reason);

/* The first row with id > after into *out: 1, 0 when there is none, or err. */
int agentdelta_next(struct db *db, int64_t after, struct agentdelta *out);

/* The id of the last row (0: the outbox is empty) into *id. 0 or err. */
int agentdelta_last(struct db *db, int64_t *id);

/* Delete the rows with id <= upto (no manager needs them any more). 0 or err. */
int agentdelta_purge(struct db *db, int64_t upto);

/* Append a SESSION_KILL of session_id for agent_id in the caller's open transaction: it is
 * sent once that commits. 0 or err. */
int agentdelta_kill(struct db *db, uint64_t session_id, uint64_t agent_id, const char *reason);

/* A count that moves with every row this handle writes, in any table: while it has not moved
 * since the last look, no new row can be in the outbox (no need to read it). */
int64_t agentdelta_stamp(struct db *db);

#endif
