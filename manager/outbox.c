/* The outbox reader of one manager. See outbox.h. */
#include "../db/agentdelta.h"
#include "../db/db.h"
#include "../lib/clock.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "../lib/loop.h"
#include "agentconn.h"
#include "agentlink.h"
#include "app.h"
#include "outbox.h"
#include "signkeys.h"
#include "statepush.h"

static void
resnapshot_all(struct agentlink *l)
{
	for (struct agentconn *c = l->conns; c != NULL; c = c->next)
		if (!c->dead && c->state == AGENTCONN_READY)
			statepush_start(c);
}

static void on_announcement(struct loop *loop, int fd, unsigned events, void *arg);

/* Watch the store's socket as it is now: none while it is down, the new one after a reconnect
 * (whose number may be the old one's). */
static void
watch(struct agentlink *l)
{
	struct outbox *o = &l->outbox;
	uint64_t connection;
	int fd = db_fd(l->app->db, &connection);

	if (fd == o->fd && connection == o->fd_connection)
		return;
	if (o->fd >= 0)
		loop_fd_del(l->loop, o->fd);
	o->fd = -1;
	o->fd_connection = connection;
	if (fd >= 0 && loop_fd_add(l->loop, fd, LOOP_READ, on_announcement, l) < 0) {
		log_warn("cannot watch the store's connection for announcements (polling only)");
		return;
	}
	o->fd = fd;
}

/* Take what the connection received; a lost connection is worth a read too (it reconnects). */
static void
take_announcements(struct agentlink *l)
{
	if (l->outbox.fd >= 0 && db_announcements(l->app->db) != 0)
		l->outbox.announced = 1;
}

static void
on_announcement(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct agentlink *l = arg;

	(void)loop;
	(void)fd;
	(void)events;
	/* The turn's hook reads (agentlink_flush): no transaction may be open here. */
	if (!db_in_tx(l->app->db))
		take_announcements(l);
	watch(l);
}

/* Move the cursor to the newest row, reading none: 0 or err. */
static int
catch_up(struct agentlink *l, uint64_t now)
{
	struct outbox *o = &l->outbox;
	int64_t last;
	int rv;

	if ((rv = agentdelta_last(l->app->db, &last)) < 0)
		return rv;
	o->last = last;
	o->synced = 1;
	o->read_ns = now;
	/* Key rows skipped here may have been another manager's rotation. */
	o->keys_stale = 1;
	return 0;
}

void
outbox_open(struct agentlink *l)
{
	struct outbox *o = &l->outbox;
	int rv;

	o->fd = -1;
	if ((rv = db_listen(l->app->db, AGENTDELTA_CHANNEL)) < 0)
		log_warn(
		    "cannot listen for the outbox's announcements: %s (polling only)", err_str(rv));
	if (catch_up(l, clock_mono_ns()) < 0)
		log_warn("cannot read the outbox's newest row: reading it when the store answers");
	o->stamp = agentdelta_stamp(l->app->db);
	o->next_poll_ns = clock_mono_ns() + OUTBOX_POLL_NS;
	watch(l);
}

void
outbox_close(struct agentlink *l)
{
	if (l->outbox.fd >= 0)
		loop_fd_del(l->loop, l->outbox.fd);
	l->outbox.fd = -1;
}

/* Read and send every row past the cursor: 0 when the end was reached, or err. */
static int
read_rows(struct agentlink *l, int *resnapshot)
{
	struct outbox *o = &l->outbox;
	struct agentdelta d;
	int rv;

	/* A row at a time, copied out: sending one reads the store again. */
	while ((rv = agentdelta_next(l->app->db, o->last, &d)) == 1) {
		o->last = d.id;
		if (d.kind == AGENTDELTA_KEY || d.kind == AGENTDELTA_KEY_RETIRE)
			o->keys_stale = 1;
		statepush_delta(l, &d, resnapshot);
	}
	return rv;
}

void
outbox_read(struct agentlink *l)
{
	struct outbox *o = &l->outbox;
	struct db *db = l->app->db;
	uint64_t now = clock_mono_ns();
	int64_t stamp;
	int rv, resnapshot = 0;

	if (db_in_tx(db))
		return;
	/* Announcements libpq read during a statement of ours wake no one: looked for here. */
	take_announcements(l);
	stamp = agentdelta_stamp(db);
	if (stamp == o->stamp && !o->announced && now < o->next_poll_ns) {
		watch(l);
		return;
	}
	o->stamp = stamp;
	o->announced = 0;
	o->next_poll_ns = now + OUTBOX_POLL_NS;
	if (!o->synced || now - o->read_ns > OUTBOX_STALE_NS) {
		resnapshot = o->synced;
		if ((rv = catch_up(l, now)) == 0 && resnapshot)
			log_warn("the agents' outbox was not read for %llu s (another manager may "
				 "have purged rows since): a fresh snapshot for every agent",
			    (unsigned long long)((now - o->read_ns) / 1000000000u));
		else
			resnapshot = 0;
	} else if ((rv = read_rows(l, &resnapshot)) == 0)
		o->read_ns = now;
	if (rv < 0 && !o->failing)
		log_warn(
		    "cannot read the agents' outbox: %s (trying again every second)", err_str(rv));
	else if (rv == 0 && o->failing)
		log_info("the agents' outbox is read again");
	o->failing = rv < 0;
	/* Signing with the key the store names active, whichever manager made it so; a reload
	 * that fails is tried again at the next read. */
	if (rv == 0 && o->keys_stale && l->app->keys != NULL && signkeys_reload(l->app->keys) == 0)
		o->keys_stale = 0;
	if (resnapshot)
		resnapshot_all(l);
	watch(l);
}

uint64_t
outbox_deadline(const struct agentlink *l)
{
	return l->outbox.next_poll_ns;
}

void
outbox_prune(struct agentlink *l)
{
	struct outbox *o = &l->outbox;
	uint64_t now = clock_mono_ns();

	if (db_in_tx(l->app->db) || !o->synced)
		return;
	if (o->mark_ns != 0 && now - o->mark_ns < OUTBOX_RETENTION_NS)
		return;
	/* Rows commit in id order: every row up to the mark had committed when it was taken. */
	if (o->mark_id > o->purged && agentdelta_purge(l->app->db, o->mark_id) == 0)
		o->purged = o->mark_id;
	o->mark_id = o->last;
	o->mark_ns = now;
	/* Our own write: nothing new to send for it. */
	o->stamp = agentdelta_stamp(l->app->db);
}
