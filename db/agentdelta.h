/* The agents' outbox (table agent_deltas): what the connected agents must learn, one row per
 * change, appended in the transaction of the change itself (triggers for revocations, grants,
 * pools and keys; agentdelta_kill() for a session the API ends), so a row exists only once its
 * change committed. The state channel reads the rows after the last one it sent, sends them and
 * later purges them. Functions return 0 or a negative enum err (lib/err.h). */
#ifndef DB_AGENTDELTA_H
#define DB_AGENTDELTA_H

#include <stdint.h>

struct db;

/* What a row says changed. The row's text kind is mapped here, once. */
enum agentdelta_kind {
	AGENTDELTA_UNKNOWN, /* a kind this build does not know (the schema admits none): skip it */
	AGENTDELTA_KEY, /* key name was added or changed: send it as it is now */
	AGENTDELTA_KEY_RETIRE, /* key name is retired or gone */
	AGENTDELTA_REVOKE, /* pssid name was revoked (reason) */
	AGENTDELTA_UNREVOKE, /* the revocation of pssid name was lifted */
	AGENTDELTA_GRANT_RELEASE, /* grant object_id of agent agent_id was released (reason) */
	AGENTDELTA_SESSION_KILL, /* session object_id on agent agent_id must end (reason) */
	AGENTDELTA_POOL, /* pool object_id was created or changed: send it as it is now */
	AGENTDELTA_POOL_REMOVED, /* pool object_id was deleted */
};

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

/* "revoke", "pool_removed", … for a kind (the row's text); NULL for AGENTDELTA_UNKNOWN. */
const char *agentdelta_kind_str(enum agentdelta_kind k);

/* The kind whose text is s; AGENTDELTA_UNKNOWN when none is. */
enum agentdelta_kind agentdelta_kind_parse(const char *s);

/* The first row with id > after into *out: 1, 0 when there is none, or err. */
int agentdelta_next(struct db *db, int64_t after, struct agentdelta *out);

/* The id of the last row (0: the outbox is empty) into *id. 0 or err. */
int agentdelta_last(struct db *db, int64_t *id);

/* Delete the rows with id <= upto (sent already). 0 or err. */
int agentdelta_purge(struct db *db, int64_t upto);

/* Append a SESSION_KILL of session_id for agent_id in the caller's open transaction: it is
 * sent once that commits. 0 or err. */
int agentdelta_kill(struct db *db, uint64_t session_id, uint64_t agent_id, const char *reason);

/* A count that moves with every row this handle writes, in any table: while it has not moved
 * since the last look, no new row can be in the outbox (no need to read it). */
int64_t agentdelta_stamp(struct db *db);

#endif
