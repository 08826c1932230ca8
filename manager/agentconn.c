/* One agent's connection to the state channel: its buffers (proto/chanbuf.h), what the loop
 * watches it for, dropping it and freeing it. See agentconn.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../db/db.h"
#include "../db/livesession.h"
#include "../lib/clock.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "../lib/loop.h"
#include "../proto/chanbuf.h"
#include "../proto/chanio.h"
#include "agentconn.h"
#include "agentlink.h"
#include "app.h"
#include "metrics.h"
#include "sessions.h"

void
agentconn_watch(struct agentconn *c, int want_write)
{
	if (loop_fd_mask(c->link->loop, c->fd, LOOP_READ | (want_write ? LOOP_WRITE : 0)) < 0)
		fatal("agent socket: watching a connection");
}

/* The queue's want_write: writability is watched only while something waits for the socket. */
static void
want_output(void *arg, int on)
{
	agentconn_watch(arg, on);
}

int
agentconn_start(struct agentconn *c, const unsigned char key[CHAN_KEY_LEN], uint64_t peer)
{
	struct chanbuf_config cfg = {
	    .key = key,
	    .self = CHAN_NODE_MANAGER,
	    .peer = peer,
	    .max = AGENTLINK_OUT_MAX,
	    .want_write = want_output,
	    .arg = c,
	};

	if ((c->buf = chanbuf_new(&cfg)) == NULL) {
		agentconn_drop(c, "out of memory for its buffers");
		return -1;
	}
	c->state = AGENTCONN_HELLO;
	return 0;
}

struct agentconn *
agentconn_new(struct agentlink *l, struct chanio *io, loop_fd_fn *on_ready)
{
	struct agentconn *c;
	int saved;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		chanio_close(io);
		errno = ENOMEM;
		return NULL;
	}
	if (loop_fd_add(l->loop, chanio_fd(io), LOOP_READ, on_ready, c) < 0) {
		saved = errno;
		chanio_close(io);
		free(c);
		errno = saved;
		return NULL;
	}
	c->link = l;
	c->io = io;
	c->fd = chanio_fd(io);
	c->state = AGENTCONN_TLS;
	c->opened_ns = c->heard_ns = clock_mono_ns();
	snprintf(
	    c->name, sizeof(c->name), "agent connection %llu", (unsigned long long)++l->serial);
	c->next = l->conns;
	l->conns = c;
	if (chanio_session(io) == NULL && agentconn_start(c, l->key, CHAN_PEER_ANY) < 0)
		return NULL;
	return c;
}

int
agentconn_send(struct agentconn *c, enum chan_msg type, uint64_t corr, const ProtobufCMessage *msg)
{
	int rv;

	if (c->dead)
		return -1;
	if ((rv = chanbuf_put(c->buf, type, corr, msg)) == 0) {
		metrics_chan_frame(c->link->app->metrics, METRICS_OUT);
		return 0;
	}
	if (rv == CHANBUF_FULL)
		agentconn_drop(
		    c, "it does not read its channel (%zu bytes queued)", chanbuf_queued(c->buf));
	else if (rv == CHANBUF_NOMEM)
		agentconn_drop(c, "out of memory for its output");
	else /* only a message over the payload cap: ours are far smaller */
		agentconn_drop(c, "cannot frame %s: %s", chan_msg_name(type), chanbuf_err_str(rv));
	return -1;
}

ssize_t
agentconn_write(struct agentconn *c, size_t max)
{
	ssize_t n;

	if (c->dead)
		return -1;
	if (c->buf == NULL)
		return 0;
	if ((n = chanbuf_write(c->buf, c->io, max)) < 0) {
		agentconn_drop(c, "cannot write to it: %s", chanio_error(c->io));
		return -1;
	}
	return n;
}

/* On a store other managers share, c's sessions as they read them (db/livesession.h). 0 or
 * err. */
static int
sessions_save(struct agentconn *c)
{
	struct db *db = c->link->app->db;
	struct sessions_filter f = {NULL, c->agent_id};
	size_t count = sessions_count(c->link->sessions, c->agent_id);
	struct session *v = NULL;
	int n = 0, rv = 0;

	if (!db_shared(db))
		return 0;
	if (count > 0 && (v = calloc(count, sizeof(*v))) == NULL)
		return ERR_NOMEM;
	if (count > 0)
		rv = sessions_list(c->link->sessions, &f, 0, (int)count, v, &n);
	if (rv == 0)
		rv = livesession_replace(db, c->agent_id, c->link->app->manager_id, v, (size_t)n);
	free(v);
	return rv;
}

void
agentconn_report_save(struct agentconn *c)
{
	struct db *db = c->link->app->db;
	int rv;

	if (!c->report_dirty || c->state != AGENTCONN_READY)
		return;
	rv = agents_report(db, (int64_t)c->agent_id, c->link->app->manager_id, c->heard_at,
	    (int64_t)sessions_count(c->link->sessions, c->agent_id), c->last_stats);
	if (rv == 0)
		rv = sessions_save(c);
	if (rv < 0)
		log_warn("%s: cannot record its report: %s", c->name, err_str(rv));
	c->report_dirty = 0;
	free(c->last_stats);
	c->last_stats = NULL;
}

void
agentconn_drop(struct agentconn *c, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	size_t n;
	int rv;

	if (c->dead)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (why[0] != '\0') {
		/* A reason is given for faults only (an orderly end, a replaced channel give
		 * none). */
		log_warn("%s: %s; closing its channel", c->name, why);
		metrics_chan_error(c->link->app->metrics);
	}
	if (c->state == AGENTCONN_READY) {
		/* Its sessions come back with its next HELLO; its grants stay as they are until
		 * then (the reconcile settles them). */
		n = sessions_remove_agent(c->link->sessions, c->agent_id);
		/* Inside a transaction the row stays as it is: it goes stale, and the other
		 * managers stop counting the agent as attached here AGENTS_FRESH_SECONDS later. */
		if (!db_in_tx(c->link->app->db)) {
			agentconn_report_save(c);
			if ((rv = agents_detach(c->link->app->db, (int64_t)c->agent_id,
				 c->link->app->manager_id)) < 0 ||
			    (db_shared(c->link->app->db) &&
				(rv = livesession_forget(
				     c->link->app->db, c->agent_id, c->link->app->manager_id)) < 0))
				log_warn(
				    "%s: cannot record that it left: %s", c->name, err_str(rv));
		}
		log_info("agent %llu disconnected (%zu sessions forgotten until it is back)",
		    (unsigned long long)c->agent_id, n);
	}
	loop_fd_del(c->link->loop, c->fd);
	chanio_close(c->io);
	c->io = NULL;
	c->fd = -1;
	c->dead = 1;
}

struct agentconn *
agentconn_find(struct agentlink *l, uint64_t id)
{
	for (struct agentconn *c = l->conns; c != NULL; c = c->next)
		if (!c->dead && c->state == AGENTCONN_READY && c->agent_id == id)
			return c;
	return NULL;
}

void
agentconn_reap(struct agentlink *l)
{
	/* Requests read in the loop's fd phase are run from its before-sleep hook; a timer
	 * between the two (the sweep's agentlink_flush) must leave their connections be. */
	if (l->jobs != NULL)
		return;
	for (struct agentconn **p = &l->conns; *p != NULL;) {
		struct agentconn *c = *p;

		if (c->dead) {
			*p = c->next;
			chanbuf_free(c->buf);
			free(c->last_stats);
			free(c);
		} else {
			p = &c->next;
		}
	}
}
