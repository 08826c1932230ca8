/* The reader of the agents' outbox (db/agentdelta.h) on one manager. Every manager on a store
 * reads every row and sends it to the agents attached to it (statepush_delta); each keeps its
 * own cursor in memory, the newest id when it opens: an agent that attaches gets a snapshot,
 * so what came before is in that.
 *
 * When it reads: in the turn after a commit of its own (the store's write stamp moved), so the
 * latency of a change made on this manager is that of today; when another manager announces a
 * commit with rows (LISTEN on the store's connection, whose socket is watched on the loop); and
 * at least every OUTBOX_POLL_NS, for an announcement lost with a connection (a reconnect listens
 * again by itself, db_listen).
 *
 * Purging: a row goes once it is at least OUTBOX_RETENTION_NS old, by whichever manager sweeps:
 * each sweep remembers the newest id it has read and purges up to the id it remembered one
 * retention ago. A manager that has read nothing for OUTBOX_STALE_NS (half the retention: a
 * store it could not reach, a stopped process) may have lost rows to another's purge: it reads
 * none of the old rows, moves its cursor to the newest and gives its agents a fresh snapshot.
 *
 * Key rows also tell this manager's own key set that the store's changed (a rotation, a
 * retirement through another manager): it is read again (signkeys_reload) after the rows. */
#ifndef MANAGER_OUTBOX_H
#define MANAGER_OUTBOX_H

#include <stdint.h>

struct agentlink;

#define OUTBOX_POLL_NS (1000000000ull)
#define OUTBOX_RETENTION_NS (300ull * 1000000000u)
#define OUTBOX_STALE_NS (OUTBOX_RETENTION_NS / 2)

struct outbox {
	int64_t last; /* the id of the last row read */
	int synced; /* last is a real cursor (the store answered at least once) */
	int64_t stamp; /* agentdelta_stamp() at the last read */
	int announced; /* another manager announced rows since the last read */
	int failing; /* the last read failed (logged once) */
	uint64_t read_ns; /* when the last read that reached the end began */
	uint64_t next_poll_ns;
	int fd; /* the store's socket watched for announcements, or -1 */
	uint64_t fd_connection; /* db_fd's connection number of fd */
	int64_t mark_id; /* the newest id read at mark_ns: purged a retention later */
	uint64_t mark_ns;
	int64_t purged; /* rows up to this id are purged */
	int keys_stale; /* a key row was read (or may have been skipped): signkeys_reload() */
};

/* Set l->outbox's cursor to the newest row, listen for announcements and watch for them on
 * l->loop. At the channel's open; a store that does not answer is not fatal (the first read
 * that works sets the cursor). */
void outbox_open(struct agentlink *l);

/* Stop watching the store's socket. */
void outbox_close(struct agentlink *l);

/* Send every row past the cursor to this manager's agents when there may be one (see above);
 * catch up with a fresh snapshot when this manager read nothing for too long. Nothing while a
 * transaction is open. */
void outbox_read(struct agentlink *l);

/* When outbox_read() is due next at the latest (monotonic ns). */
uint64_t outbox_deadline(const struct agentlink *l);

/* Purge what no manager needs any more (a write of its own; from the sweep, with no
 * transaction open). */
void outbox_prune(struct agentlink *l);

#endif
