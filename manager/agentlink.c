/* The state-channel server. One struct conn per agent connection: its decoder, its output
 * queue, where it is in the handshake; requests of a loop turn wait in a job list for the
 * turn's one transaction. See agentlink.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../db/db.h"
#include "../db/sqlite/stmt.h"
#include "../lib/addr.h"
#include "../lib/clock.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "../lib/pssid.h"
#include "../lib/secret.h"
#include "../proto/chan.h"
#include "agentlink.h"
#include "agents.h"
#include "alloc.h"
#include "app.h"
#include "../db/sqlite/pool_row.h"
#include "../db/revocation.h"
#include "sessions.h"

#define NS 1000000000ull
#define HELLO_TIMEOUT_NS (5 * NS) /* a connection says HELLO within this */
#define SILENCE_NS (3ull * AGENTLINK_HEARTBEAT_SECONDS * NS) /* 3 heartbeats missed: drop */
#define REPORT_SAVE_NS (5 * NS) /* write an agent's row at most this often */
#define READ_CHUNK 65536
#define READ_BUDGET (4 * READ_CHUNK) /* per connection and turn: fairness */
#define WRITE_BUDGET (1024 * 1024) /* per connection and write: fairness */
#define SNAPSHOT_BATCH 256 /* revocations or grants read per query of a snapshot */

enum conn_state { CONN_HELLO, CONN_READY };

/* Where a connection's snapshot is: the phase it queues next, in order. */
enum snap_phase { SNAP_NONE, SNAP_KEYS, SNAP_REVOKED, SNAP_GRANTS, SNAP_POOLS, SNAP_END };

struct conn {
	struct conn *next;
	struct agentlink *link;
	int fd;
	int dead;
	enum conn_state state;
	struct chan_dec *dec;
	uint64_t agent_id; /* once HELLO is accepted */
	uint64_t seq; /* of the last frame we sent */
	unsigned char *out;
	size_t out_off, out_len, out_cap;
	size_t out_peak; /* the most ever queued */
	enum snap_phase snap; /* SNAP_NONE: no snapshot under way */
	uint64_t snap_gen, snap_items; /* its generation, the items queued so far */
	int64_t snap_after; /* the last revocation or grant id queued */
	size_t snap_peak; /* the most queued while it is */
	uint64_t snap_started_ns;
	int want_out; /* EPOLLOUT is asked for */
	uint64_t opened_ns, heard_ns, next_heartbeat_ns, next_save_ns;
	int64_t heard_at; /* Unix seconds of the last frame heard */
	size_t nsessions; /* in the registry */
	int report_dirty; /* heartbeat/stats not written to the agents row yet */
	char *last_stats; /* JSON text of the last STATS, not written yet */
	char listen_address[AGENTS_ADDRESS_MAX + 1];
	char spki_pin[AGENTS_PIN_MAX + 1];
	char name[32]; /* "agent 3" / "connection 7" for logs */
};

/* A request of this turn, handled in the turn's transaction. */
struct job {
	struct job *next;
	struct conn *c;
	enum chan_msg type;
	uint64_t seq;
	ProtobufCMessage *msg;
	/* the reconcile's sessions to end once it committed: {session id, 1 if superseded} */
	uint64_t (*kills)[2];
	size_t nkills;
	/* ALLOC_REQ's outcome */
	int err;
	char why[200];
	struct grant g;
	struct pool p;
};

struct agentlink {
	struct app *app;
	unsigned char key[CHAN_KEY_LEN];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd, ep;
	struct conn *conns;
	struct job *jobs, **jobs_tail;
	struct sessions *sessions;
	uint64_t generation; /* of the last snapshot sent */
	uint64_t serial; /* connections accepted */
	int64_t delta_last, delta_purged; /* agent_deltas ids sent and deleted */
	int64_t changes_seen; /* sqlite3_total_changes64 at the last look at the outbox */
	unsigned char buf[READ_CHUNK];
};

static void conn_drop(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void snapshot_pump(struct conn *c);

/* ---- the key file and the socket ---- */

static void
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		fatal("cannot sync %s", dir);
	close(fd);
}

void
agentlink_key_load(const char *state_dir, unsigned char key[CHAN_KEY_LEN])
{
	char path[4096], tmp[4200];
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", state_dir, AGENTLINK_KEY_FILE);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		if (fstat(fd, &st) < 0)
			fatal("%s", path);
		if (st.st_size != CHAN_KEY_LEN)
			fatalx("%s has %lld bytes, expected %d: a channel key is %d random bytes "
			       "(remove the file to have a new one made, then restart the agents)",
			    path, (long long)st.st_size, CHAN_KEY_LEN, CHAN_KEY_LEN);
		if ((n = read(fd, key, CHAN_KEY_LEN)) != CHAN_KEY_LEN)
			fatal("cannot read %s", path);
		close(fd);
		return;
	}
	if (errno != ENOENT)
		fatal("cannot open %s", path);
	/* Written beside and renamed: an agent never reads half a key. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	if (secret_random(key, CHAN_KEY_LEN) < 0)
		fatalx("no randomness for the channel key");
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
	    write(fd, key, CHAN_KEY_LEN) != CHAN_KEY_LEN || fsync(fd) < 0 || close(fd) < 0 ||
	    rename(tmp, path) < 0)
		fatal("cannot write %s", path);
	sync_dir(state_dir);
	log_info("created the channel key %s", path);
}

static int
listen_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		fatalx("the agent socket path %s is too long (at most %zu bytes): use a shorter "
		       "--state-dir",
		    path, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		fatal("socket");
	/* A socket file left by a manager that died is stale; one that answers is in use. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		fatalx("%s: another manager is serving agents on it", path);
	close(fd);
	if (unlink(path) < 0 && errno != ENOENT)
		fatal("cannot remove the stale %s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 ||
	    listen(fd, 128) < 0)
		fatal("cannot listen on %s", path);
	return fd;
}

/* ---- output ---- */

static void
want_output(struct conn *c, int on)
{
	struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};

	if (c->want_out == on)
		return;
	c->want_out = on;
	if (epoll_ctl(c->link->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		fatal("epoll_ctl");
}

/* Write what is queued until the socket is full, topping the queue up from the snapshot under
 * way as it drains below the low-water mark; at most WRITE_BUDGET bytes (the rest waits for
 * EPOLLOUT, the next turn). */
static void
conn_write(struct conn *c)
{
	size_t budget = WRITE_BUDGET;
	int full = 0;
	ssize_t n;

	while (!c->dead) {
		while (c->out_len > 0 && budget > 0) {
			n = write(
			    c->fd, c->out + c->out_off, c->out_len < budget ? c->out_len : budget);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				full = 1;
				break;
			}
			if (n <= 0) {
				conn_drop(c, "cannot write to it: %s", strerror(errno));
				return;
			}
			c->out_off += (size_t)n;
			c->out_len -= (size_t)n;
			budget -= (size_t)n;
		}
		if (c->out_len == 0)
			c->out_off = 0;
		if (c->snap == SNAP_NONE || c->out_len >= AGENTLINK_SNAPSHOT_LOW)
			break;
		snapshot_pump(c);
		if (full || budget == 0 || c->out_len == 0)
			break;
	}
	if (c->dead)
		return;
	want_output(c, c->out_len > 0);
}

/* Queue one frame of msg (the payload of type). 0, or -1 when c was dropped. */
static int
conn_send(struct conn *c, enum chan_msg type, uint64_t corr, const ProtobufCMessage *msg)
{
	size_t need = CHAN_FRAME_LEN(protobuf_c_message_get_packed_size(msg));
	ssize_t n;

	if (c->dead)
		return -1;
	if (c->out_off + c->out_len + need > c->out_cap) {
		if (c->out_off > 0) {
			memmove(c->out, c->out + c->out_off, c->out_len);
			c->out_off = 0;
		}
		if (c->out_len + need > c->out_cap) {
			size_t cap = c->out_cap ? c->out_cap : 4096;
			unsigned char *p;
			while (cap < c->out_len + need)
				cap *= 2;
			if ((p = realloc(c->out, cap)) == NULL) {
				conn_drop(c, "out of memory for its output");
				return -1;
			}
			c->out = p;
			c->out_cap = cap;
		}
	}
	n = chan_frame_pack(c->link->key, type, CHAN_NODE_MANAGER, c->seq + 1, corr, msg,
	    c->out + c->out_off + c->out_len, c->out_cap - c->out_off - c->out_len);
	if (n < 0) {
		/* Only a message over the payload cap gets here: ours are far smaller. */
		conn_drop(c, "cannot frame %s: %s", chan_msg_name(type), chan_err_str((int)n));
		return -1;
	}
	c->seq++;
	c->out_len += (size_t)n;
	if (c->out_len > c->out_peak)
		c->out_peak = c->out_len;
	if (c->out_len > AGENTLINK_OUT_MAX) {
		conn_drop(c, "it does not read its channel (%zu bytes queued)", c->out_len);
		return -1;
	}
	return 0;
}

/* ---- connections ---- */

static void
report_save(struct conn *c)
{
	struct db *db = c->link->app->db;
	int rv;

	if (!c->report_dirty || c->state != CONN_READY)
		return;
	rv = agents_report(db, (int64_t)c->agent_id, c->heard_at,
	    (int64_t)sessions_count(c->link->sessions, c->agent_id), c->last_stats);
	if (rv < 0)
		log_warn("%s: cannot record its report: %s", c->name, err_str(rv));
	c->report_dirty = 0;
	free(c->last_stats);
	c->last_stats = NULL;
}

static void
conn_drop(struct conn *c, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	size_t n;

	if (c->dead)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (why[0] != '\0')
		log_warn("%s: %s; closing its channel", c->name, why);
	if (c->state == CONN_READY) {
		/* Its sessions come back with its next HELLO; its grants stay as they are until
		 * then (the reconcile settles them). */
		n = sessions_remove_agent(c->link->sessions, c->agent_id);
		if (!db_in_tx(c->link->app->db))
			report_save(c);
		log_info("agent %llu disconnected (%zu sessions forgotten until it is back)",
		    (unsigned long long)c->agent_id, n);
	}
	epoll_ctl(c->link->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	chan_dec_free(c->dec);
	c->dec = NULL;
	c->dead = 1;
}

static void
conn_free(struct conn *c)
{
	free(c->out);
	free(c->last_stats);
	free(c);
}

/* Free the connections dropped since the last call (none may be referenced by a job). */
static void
reap(struct agentlink *l)
{
	for (struct conn **p = &l->conns; *p != NULL;) {
		struct conn *c = *p;
		if (c->dead) {
			*p = c->next;
			conn_free(c);
		} else {
			p = &c->next;
		}
	}
}

static struct conn *
find_agent(struct agentlink *l, uint64_t id)
{
	for (struct conn *c = l->conns; c != NULL; c = c->next)
		if (!c->dead && c->state == CONN_READY && c->agent_id == id)
			return c;
	return NULL;
}

static void
accept_all(struct agentlink *l)
{
	struct epoll_event ev = {.events = EPOLLIN};
	struct ucred cred;
	socklen_t len;
	struct conn *c;
	uint64_t now = clock_mono_ns();
	int fd;

	for (;;) {
		if ((fd = accept4(l->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("agent socket: accept: %s", strerror(errno));
			return;
		}
		len = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
		    (cred.uid != getuid() && cred.uid != 0)) {
			log_warn("agent socket: refusing a connection from uid %u (pid %d): only "
				 "uid %u and root may attach agents",
			    (unsigned)cred.uid, (int)cred.pid, (unsigned)getuid());
			close(fd);
			continue;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL ||
		    (c->dec = chan_dec_new(l->key, CHAN_NODE_MANAGER, CHAN_PEER_ANY)) == NULL) {
			log_warn("agent socket: out of memory; refusing a connection");
			free(c);
			close(fd);
			continue;
		}
		c->link = l;
		c->fd = fd;
		c->state = CONN_HELLO;
		c->opened_ns = c->heard_ns = now;
		snprintf(c->name, sizeof(c->name), "agent connection %llu",
		    (unsigned long long)++l->serial);
		ev.data.ptr = c;
		if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			fatal("epoll_ctl");
		c->next = l->conns;
		l->conns = c;
		log_debug("%s: accepted (pid %d)", c->name, (int)cred.pid);
	}
}

/* ---- the snapshot ---- */

static char empty[] = "";

static void
key_msg(State__Key *k, sqlite3_stmt *st, int col, char *kid, char *alg, char **pem)
{
	state__key__init(k);
	k->kid = kid;
	k->alg = alg;
	k->public_key_pem = *pem = strdup(db_col_text(st, col + 2));
	k->verify_until = db_col_int(st, col + 3);
	if (k->public_key_pem == NULL)
		k->public_key_pem = empty; /* out of memory: the agent refuses a key without PEM */
}

static void
pool_msg(State__Pool *m, struct pool *p, char *name)
{
	state__pool__init(m);
	m->id = (uint64_t)p->id;
	m->name = name;
	m->isd_as = p->isd_as;
	m->prefix.data = p->prefix.net.b;
	m->prefix.len = p->prefix.net.family == 4 ? 4 : 16;
	m->prefix_length = p->prefix.len;
	m->mode = p->mode == POOL_MODE_SCION ? STATE__POOL_MODE__POOL_MODE_SCION
					     : STATE__POOL_MODE__POOL_MODE_IP;
	m->hold_seconds = (uint32_t)p->hold_seconds;
}

/* Begin a snapshot for c (a new generation; one under way is abandoned: the agent drops what it
 * built at the new SNAPSHOT_BEGIN). snapshot_pump() queues the items. */
static void
snapshot_start(struct conn *c)
{
	State__SnapshotBegin begin;

	if (c->snap != SNAP_NONE)
		log_info("%s: snapshot %llu restarted after %llu items", c->name,
		    (unsigned long long)c->snap_gen, (unsigned long long)c->snap_items);
	c->snap = SNAP_KEYS;
	c->snap_gen = ++c->link->generation;
	c->snap_items = 0;
	c->snap_after = 0;
	c->snap_peak = c->out_len;
	c->snap_started_ns = clock_mono_ns();
	state__snapshot_begin__init(&begin);
	begin.generation = c->snap_gen;
	conn_send(c, CHAN_SNAPSHOT_BEGIN, 0, &begin.base);
}

/* Queue one item of c's snapshot. 0, or -1 when c was dropped. */
static int
snapshot_item(struct conn *c, enum chan_msg type, const ProtobufCMessage *msg)
{
	if (conn_send(c, type, 0, msg) < 0)
		return -1;
	c->snap_items++;
	if (c->out_len > c->snap_peak)
		c->snap_peak = c->out_len;
	return 0;
}

/* The pieces of a snapshot. Each returns 1 when its phase is done, 0 when more of it remains
 * (or c was dropped), or a negative err of the store. */

/* Every key in one piece: there are a few. */
static int
snapshot_keys(struct conn *c)
{
	sqlite3_stmt *st = db_stmt(c->link->app->db,
	    "SELECT kid, alg, public_key_pem, coalesce(verify_until, 0) FROM signing_keys "
	    "WHERE state != 'retired' ORDER BY kid");
	State__Key key;
	char kid[128], alg[16], *pem;
	int rv;

	while ((rv = db_row(st)) == 1) {
		snprintf(kid, sizeof(kid), "%s", db_col_text(st, 0));
		snprintf(alg, sizeof(alg), "%s", db_col_text(st, 1));
		key_msg(&key, st, 0, kid, alg, &pem);
		rv = snapshot_item(c, CHAN_KEY, &key.base);
		free(pem);
		if (rv < 0) {
			db_reset(st);
			return 0;
		}
	}
	return rv < 0 ? rv : 1;
}

/* The revocations after the cursor, until the queue reaches the low-water mark. */
static int
snapshot_revoked(struct conn *c)
{
	sqlite3_stmt *st = db_stmt(c->link->app->db,
	    "SELECT id, pssid, reason, created_at FROM revocations WHERE id > :after ORDER BY id "
	    "LIMIT :n");
	State__Revoked rev;
	char pssid[PSSID_MAX + 1], reason[256];
	int rv, n = 0;

	db_bind_int(st, ":after", c->snap_after);
	db_bind_int(st, ":n", SNAPSHOT_BATCH);
	while ((rv = db_row(st)) == 1) {
		n++;
		c->snap_after = db_col_int(st, 0);
		state__revoked__init(&rev);
		snprintf(pssid, sizeof(pssid), "%s", db_col_text(st, 1));
		snprintf(reason, sizeof(reason), "%s", db_col_text(st, 2));
		rev.pssid = pssid;
		rev.reason = reason;
		rev.revoked_at = db_col_int(st, 3);
		if (snapshot_item(c, CHAN_REVOKED, &rev.base) < 0 ||
		    c->out_len >= AGENTLINK_SNAPSHOT_LOW) {
			db_reset(st);
			return 0;
		}
	}
	return rv < 0 ? rv : n < SNAPSHOT_BATCH;
}

/* The agent's grants after the cursor (assigned, or on hold and not lapsed), until the queue
 * reaches the low-water mark. Each arm walks grants_agent (agent_id, state, id) from the
 * cursor in id order and the two are merged: no sort of all the agent's grants per piece. */
static int
snapshot_grants(struct conn *c)
{
	sqlite3_stmt *st = db_stmt(c->link->app->db,
	    "SELECT g.id, g.pssid, g.address, p.isd_as, g.session_id, g.state, "
	    "coalesce(g.hold_until, 0), g.pool_id FROM grants g JOIN pools p ON p.id = g.pool_id "
	    "WHERE g.agent_id = :agent AND g.state = 'assigned' AND g.id > :after "
	    "UNION ALL "
	    "SELECT g.id, g.pssid, g.address, p.isd_as, g.session_id, g.state, "
	    "coalesce(g.hold_until, 0), g.pool_id FROM grants g JOIN pools p ON p.id = g.pool_id "
	    "WHERE g.agent_id = :agent AND g.state = 'on_hold' AND g.hold_until > :now "
	    "AND g.id > :after "
	    "ORDER BY 1 LIMIT :n");
	State__Grant grant;
	struct addr a;
	char pssid[PSSID_MAX + 1];
	int rv, n = 0;

	db_bind_int(st, ":agent", (int64_t)c->agent_id);
	db_bind_int(st, ":now", c->link->app->now());
	db_bind_int(st, ":after", c->snap_after);
	db_bind_int(st, ":n", SNAPSHOT_BATCH);
	while ((rv = db_row(st)) == 1) {
		n++;
		c->snap_after = db_col_int(st, 0);
		state__grant__init(&grant);
		grant.grant_id = (uint64_t)db_col_int(st, 0);
		snprintf(pssid, sizeof(pssid), "%s", db_col_text(st, 1));
		grant.pssid = pssid;
		if (addr_parse(db_col_text(st, 2), &a) == 0) {
			grant.address.data = a.b;
			grant.address.len = a.family == 4 ? 4 : 16;
		}
		grant.isd_as = (uint64_t)db_col_int(st, 3);
		grant.session_id = (uint64_t)db_col_int(st, 4);
		grant.state = strcmp(db_col_text(st, 5), "assigned") == 0
		    ? STATE__GRANT_STATE__GRANT_STATE_ASSIGNED
		    : STATE__GRANT_STATE__GRANT_STATE_ON_HOLD;
		grant.hold_until = db_col_int(st, 6);
		grant.pool_id = (uint64_t)db_col_int(st, 7);
		if (snapshot_item(c, CHAN_GRANT, &grant.base) < 0 ||
		    c->out_len >= AGENTLINK_SNAPSHOT_LOW) {
			db_reset(st);
			return 0;
		}
	}
	return rv < 0 ? rv : n < SNAPSHOT_BATCH;
}

/* Every pool in one piece: there are a few. */
static int
snapshot_pools(struct conn *c)
{
	sqlite3_stmt *st =
	    db_stmt(c->link->app->db, "SELECT " POOL_COLUMNS " FROM pools ORDER BY id");
	State__Pool pool;
	struct pool p;
	int rv;

	while ((rv = db_row(st)) == 1) {
		pool_from_row(&p, st, 0);
		pool_msg(&pool, &p, p.name);
		if (snapshot_item(c, CHAN_POOL, &pool.base) < 0) {
			db_reset(st);
			return 0;
		}
	}
	return rv < 0 ? rv : 1;
}

/* LIMITS, then SNAPSHOT_END with the count of this generation's items. */
static int
snapshot_end(struct conn *c)
{
	State__Limits limits;
	State__SnapshotEnd end;

	state__limits__init(&limits);
	limits.heartbeat_seconds = AGENTLINK_HEARTBEAT_SECONDS;
	limits.stats_seconds = AGENTLINK_STATS_SECONDS;
	if (snapshot_item(c, CHAN_LIMITS, &limits.base) < 0)
		return 0;
	state__snapshot_end__init(&end);
	end.generation = c->snap_gen;
	end.item_count = c->snap_items;
	if (conn_send(c, CHAN_SNAPSHOT_END, 0, &end.base) < 0)
		return 0;
	log_info("%s: snapshot %llu queued: %llu items in %llu ms, at most %zu bytes queued",
	    c->name, (unsigned long long)c->snap_gen, (unsigned long long)c->snap_items,
	    (unsigned long long)((clock_mono_ns() - c->snap_started_ns) / 1000000u),
	    c->snap_peak > c->out_len ? c->snap_peak : c->out_len);
	return 1;
}

/* Queue the next pieces of c's snapshot while its output is below the low-water mark, reading
 * the store as it is now: whatever changes meanwhile reaches the agent as a delta too, which it
 * applies to the snapshot it builds (an item sent twice, as item and delta, is harmless).
 * Nothing is read inside a transaction: it could still roll back. */
static void
snapshot_pump(struct conn *c)
{
	int rv = 1;

	if (c->snap == SNAP_NONE || db_in_tx(c->link->app->db))
		return;
	while (!c->dead && c->snap != SNAP_NONE && c->out_len < AGENTLINK_SNAPSHOT_LOW) {
		switch (c->snap) {
		case SNAP_KEYS: rv = snapshot_keys(c); break;
		case SNAP_REVOKED: rv = snapshot_revoked(c); break;
		case SNAP_GRANTS: rv = snapshot_grants(c); break;
		case SNAP_POOLS: rv = snapshot_pools(c); break;
		case SNAP_END: rv = snapshot_end(c); break;
		case SNAP_NONE: break;
		}
		if (rv < 0) {
			conn_drop(c, "cannot read its snapshot from the store: %s", err_str(rv));
			return;
		}
		if (rv == 1 && !c->dead) {
			c->snap = c->snap == SNAP_END ? SNAP_NONE : c->snap + 1;
			c->snap_after = 0;
		}
	}
}

/* ---- frames from agents ---- */

static void
pin_base64(const ProtobufCBinaryData *pin, char *out, size_t outlen)
{
	gnutls_datum_t in = {pin->data, (unsigned)pin->len}, b64 = {NULL, 0};
	size_t j = 0;

	out[0] = '\0';
	if (pin->len == 0 || gnutls_base64_encode2(&in, &b64) < 0)
		return;
	for (unsigned i = 0; i < b64.size && j + 1 < outlen; i++)
		if (b64.data[i] != '\n' && b64.data[i] != '\r')
			out[j++] = (char)b64.data[i];
	out[j] = '\0';
	gnutls_free(b64.data);
}

static void
hello(struct conn *c, const struct chan_frame *f, const State__Hello *h)
{
	struct agentlink *l = c->link;
	uint32_t lo, hi;
	struct conn *old;
	struct agent_row row = {0};
	State__Welcome w;
	State__Reject rj;
	char reason[160];
	int rv;

	if (h->agent_id != f->from || h->agent_id > INT64_MAX) {
		conn_drop(c, "HELLO names agent %llu from node %llu",
		    (unsigned long long)h->agent_id, (unsigned long long)f->from);
		return;
	}
	lo = h->min_version > AGENTLINK_VERSION_MIN ? h->min_version : AGENTLINK_VERSION_MIN;
	hi = h->max_version < AGENTLINK_VERSION_MAX ? h->max_version : AGENTLINK_VERSION_MAX;
	if (h->min_version > h->max_version || lo > hi) {
		snprintf(reason, sizeof(reason),
		    "no common channel version (agent %u-%u, manager %d-%d)", h->min_version,
		    h->max_version, AGENTLINK_VERSION_MIN, AGENTLINK_VERSION_MAX);
		log_warn("agent %llu: %s; rejected", (unsigned long long)h->agent_id, reason);
		state__reject__init(&rj);
		rj.reason = reason;
		if (conn_send(c, CHAN_REJECT, 0, &rj.base) == 0)
			conn_write(c);
		conn_drop(c, "%s", "");
		return;
	}
	if (strlen(h->listen_address) > AGENTS_ADDRESS_MAX ||
	    strlen(h->software_version) > AGENTS_VERSION_MAX || h->spki_pin.len > 64) {
		conn_drop(c, "HELLO of agent %llu is oversized (version, listen address or pin)",
		    (unsigned long long)h->agent_id);
		return;
	}
	if ((old = find_agent(l, h->agent_id)) != NULL) {
		log_warn("agent %llu connected again: its new channel replaces the old one",
		    (unsigned long long)h->agent_id);
		conn_drop(old, "%s", "");
	}
	c->agent_id = h->agent_id;
	snprintf(c->name, sizeof(c->name), "agent %llu", (unsigned long long)h->agent_id);
	snprintf(c->listen_address, sizeof(c->listen_address), "%s", h->listen_address);
	pin_base64(&h->spki_pin, c->spki_pin, sizeof(c->spki_pin));
	row.id = (int64_t)h->agent_id;
	snprintf(row.software_version, sizeof(row.software_version), "%s", h->software_version);
	snprintf(row.listen_address, sizeof(row.listen_address), "%s", h->listen_address);
	snprintf(row.spki_pin, sizeof(row.spki_pin), "%s", c->spki_pin);
	row.channel_version = (int)hi;
	if ((rv = agents_hello(l->app->db, &row, l->app->now())) < 0) {
		/* Not recorded, not served: it tries again with backoff. */
		conn_drop(c, "cannot record its HELLO: %s", err_str(rv));
		return;
	}
	state__welcome__init(&w);
	w.version = hi;
	w.software_version = "snaptun " SNAPTUN_VERSION;
	if (conn_send(c, CHAN_WELCOME, 0, &w.base) < 0)
		return;
	c->state = CONN_READY;
	c->next_heartbeat_ns = clock_mono_ns() + AGENTLINK_HEARTBEAT_SECONDS * NS;
	c->next_save_ns = clock_mono_ns() + REPORT_SAVE_NS;
	log_info("agent %llu connected (%s, channel version %u, listening on %s)",
	    (unsigned long long)h->agent_id, h->software_version, hi, h->listen_address);
	snapshot_start(c);
}

static void
copy_counters(struct session_counters *d, const State__Counters *s)
{
	if (s == NULL)
		return;
	d->rx_packets = s->rx_packets;
	d->rx_bytes = s->rx_bytes;
	d->tx_packets = s->tx_packets;
	d->tx_bytes = s->tx_bytes;
	d->dropped_packets = s->dropped_packets;
}

static void
session_up(struct conn *c, const State__SessionUp *m)
{
	struct session s = {0}, *have;
	struct addr a = {0};

	if (m->session_id == 0 || !pssid_valid(m->pssid)) {
		log_warn("%s: SESSION_UP without a session id or with an invalid pssid; ignored",
		    c->name);
		return;
	}
	/* One agent's reports must not grow the manager without end, nor replace another's. */
	if ((have = sessions_get(c->link->sessions, m->session_id)) != NULL &&
	    have->agent_id != c->agent_id) {
		conn_drop(c, "SESSION_UP of session %llu, which agent %llu holds",
		    (unsigned long long)m->session_id, (unsigned long long)have->agent_id);
		return;
	}
	if (have == NULL && c->nsessions >= AGENTLINK_SESSIONS_MAX) {
		conn_drop(c, "it reports more than %d live sessions", AGENTLINK_SESSIONS_MAX);
		return;
	}
	s.id = m->session_id;
	s.agent_id = c->agent_id;
	snprintf(s.pssid, sizeof(s.pssid), "%s", m->pssid);
	s.grant_id = m->grant_id;
	if (m->address.len == 4 || m->address.len == 16) {
		a.family = m->address.len == 4 ? 4 : 6;
		memcpy(a.b, m->address.data, m->address.len);
		addr_format(&a, s.address);
	}
	s.isd_as = m->isd_as;
	snprintf(s.remote, sizeof(s.remote), "%s", m->remote);
	s.started_at = m->started_at;
	s.expires_at = m->expires_at;
	if (sessions_put(c->link->sessions, &s) < 0)
		log_warn("%s: out of memory for session %llu", c->name, (unsigned long long)s.id);
	else if (have == NULL)
		c->nsessions++;
	c->report_dirty = 1;
}

static void
stats(struct conn *c, const State__Stats *m)
{
	struct session *s;
	json_t *o;

	for (size_t i = 0; i < m->n_sessions; i++) {
		const State__SessionStats *ss = m->sessions[i];
		if ((s = sessions_get(c->link->sessions, ss->session_id)) == NULL ||
		    s->agent_id != c->agent_id)
			continue;
		copy_counters(&s->counters, ss->counters);
		if (ss->expires_at != 0)
			s->expires_at = ss->expires_at;
	}
	o = json_pack("{s:I, s:I, s:I}", "at", (json_int_t)c->link->app->now(), "uptime_ns",
	    (json_int_t)(m->uptime_ns > INT64_MAX ? INT64_MAX : m->uptime_ns), "active_sessions",
	    (json_int_t)m->active_sessions);
	if (o != NULL && m->total != NULL)
		json_object_set_new(o, "total",
		    json_pack("{s:I, s:I, s:I, s:I, s:I}", "rx_packets",
			(json_int_t)m->total->rx_packets, "rx_bytes",
			(json_int_t)m->total->rx_bytes, "tx_packets",
			(json_int_t)m->total->tx_packets, "tx_bytes",
			(json_int_t)m->total->tx_bytes, "dropped_packets",
			(json_int_t)m->total->dropped_packets));
	free(c->last_stats);
	c->last_stats = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	c->report_dirty = 1;
}

/* Hand msg (consumed) to the turn's transaction. */
static void
job_add(struct conn *c, const struct chan_frame *f, ProtobufCMessage *msg)
{
	struct agentlink *l = c->link;
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		protobuf_c_message_free_unpacked(msg, NULL);
		conn_drop(c, "out of memory for its request");
		return;
	}
	j->c = c;
	j->type = f->type;
	j->seq = f->seq;
	j->msg = msg;
	*l->jobs_tail = j;
	l->jobs_tail = &j->next;
}

static void
frame(struct conn *c, const struct chan_frame *f)
{
	ProtobufCMessage *msg;

	c->heard_ns = clock_mono_ns();
	c->heard_at = c->link->app->now();
	if (c->state == CONN_HELLO && f->type != CHAN_HELLO) {
		conn_drop(c, "its first frame is %s, not HELLO", chan_msg_name(f->type));
		return;
	}
	switch (f->type) {
	case CHAN_HELLO:
	case CHAN_ALLOC_REQ:
	case CHAN_HOLD_REQ:
	case CHAN_SESSION_UP:
	case CHAN_SESSION_DOWN:
	case CHAN_STATS:
	case CHAN_HEARTBEAT: break;
	default: conn_drop(c, "it sent %s, a manager's message", chan_msg_name(f->type)); return;
	}
	if ((msg = chan_frame_unpack(f)) == NULL) {
		conn_drop(c, "its %s does not decode", chan_msg_name(f->type));
		return;
	}
	switch (f->type) {
	case CHAN_HELLO:
		if (c->state != CONN_HELLO)
			conn_drop(c, "HELLO again on an open channel");
		else
			hello(c, f, (const State__Hello *)msg);
		break;
	case CHAN_ALLOC_REQ:
	case CHAN_HOLD_REQ: job_add(c, f, msg); return;
	case CHAN_SESSION_UP: session_up(c, (const State__SessionUp *)msg); break;
	case CHAN_SESSION_DOWN:
		if (sessions_remove(c->link->sessions,
			((const State__SessionDown *)msg)->session_id, c->agent_id) == 1)
			c->nsessions--;
		c->report_dirty = 1;
		break;
	case CHAN_STATS:
		stats(c, (const State__Stats *)msg);
		if (((const State__Stats *)msg)->reconcile) {
			job_add(c, f, msg);
			return;
		}
		break;
	case CHAN_HEARTBEAT: c->report_dirty = 1; break;
	default: break;
	}
	protobuf_c_message_free_unpacked(msg, NULL);
}

static void
conn_read(struct conn *c)
{
	struct chan_frame f;
	size_t budget = READ_BUDGET;
	ssize_t n, k;
	int rv;

	while (!c->dead && budget > 0) {
		n = read(c->fd, c->link->buf, sizeof(c->link->buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			if (n == 0 && c->state == CONN_READY)
				log_info("agent %llu closed its channel",
				    (unsigned long long)c->agent_id);
			conn_drop(c, n == 0 ? "%s" : "read: %s", n == 0 ? "" : strerror(errno));
			return;
		}
		budget -= (size_t)n < budget ? (size_t)n : budget;
		for (const unsigned char *p = c->link->buf; n > 0 && !c->dead;) {
			if ((k = chan_dec_feed(c->dec, p, (size_t)n)) < 0) {
				conn_drop(c, "protocol error: %s", chan_err_str((int)k));
				return;
			}
			p += k;
			n -= k;
			if ((rv = chan_dec_next(c->dec, &f)) < 0) {
				conn_drop(c, "protocol error: %s", chan_err_str(rv));
				return;
			}
			if (rv == 1)
				frame(c, &f);
		}
	}
}

/* ---- the turn's transaction ---- */

static void
alloc_one(struct job *j, struct db *db, int64_t now)
{
	const State__AllocReq *m = (const State__AllocReq *)j->msg;
	struct alloc_req r = {0};
	struct addr a = {0};
	char actor[40];
	int rv;

	j->err = ERR_INVALID;
	if (!pssid_valid(m->pssid)) {
		snprintf(j->why, sizeof(j->why), "invalid pssid");
		return;
	}
	if (m->family != 0 && m->family != 4 && m->family != 6) {
		snprintf(j->why, sizeof(j->why), "family %u is not 4 or 6", m->family);
		return;
	}
	if (m->requested_address.len != 0 && m->requested_address.len != 4 &&
	    m->requested_address.len != 16) {
		snprintf(j->why, sizeof(j->why), "requested address of %zu bytes",
		    m->requested_address.len);
		return;
	}
	if (m->session_id == 0 || m->session_id > INT64_MAX) {
		snprintf(j->why, sizeof(j->why), "session id %llu is out of range",
		    (unsigned long long)m->session_id);
		return;
	}
	if ((rv = revocation_has(db, m->pssid)) != 0) {
		j->err = rv == 1 ? ERR_DENIED : rv;
		snprintf(j->why, sizeof(j->why), "%s", rv == 1 ? "revoked" : err_str(rv));
		return;
	}
	if (m->requested_address.len > 0) {
		a.family = m->requested_address.len == 4 ? 4 : 6;
		memcpy(a.b, m->requested_address.data, m->requested_address.len);
		r.addr = &a;
	}
	snprintf(actor, sizeof(actor), "agent:%llu", (unsigned long long)j->c->agent_id);
	r.pssid = m->pssid;
	r.isd_as = m->isd_as;
	r.family = (int)(m->family != 0 ? m->family : (uint32_t)a.family);
	r.session_id = (int64_t)m->session_id;
	r.agent_id = (int64_t)j->c->agent_id;
	r.actor = actor;
	j->why[0] = '\0';
	if ((j->err = alloc_acquire(db, &r, now, &j->g, j->why, sizeof(j->why))) < 0)
		return;
	if ((j->err = pool_get(db, j->g.pool_id, &j->p)) < 0)
		snprintf(j->why, sizeof(j->why), "%s", err_str(j->err));
}

static void
hold_one(struct job *j, struct db *db, int64_t now)
{
	const State__HoldReq *m = (const State__HoldReq *)j->msg;
	char actor[40];
	int rv;

	snprintf(actor, sizeof(actor), "agent:%llu", (unsigned long long)j->c->agent_id);
	if (m->grant_id > INT64_MAX || m->session_id > INT64_MAX)
		return;
	if ((rv = alloc_hold(db, (int64_t)m->grant_id, (int64_t)m->session_id, actor, now, NULL)) <
	    0)
		log_debug("%s: HOLD_REQ of grant %llu (session %llu): %s", j->c->name,
		    (unsigned long long)m->grant_id, (unsigned long long)m->session_id,
		    err_str(rv));
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Which of the listed sessions lost their grant while the channel was down (or its delta was
 * lost in a manager restart): released, or handed to a newer session. Those end (j->kills);
 * the agent would route an address the store may give to someone else. */
static void
reconcile_grants(struct job *j, struct db *db, const uint64_t *ids, size_t n)
{
	struct sessions *reg = j->c->link->sessions;
	sqlite3_stmt *st;
	struct session *s;
	int rv, superseded;

	if ((j->kills = calloc(n + 1, sizeof(*j->kills))) == NULL) {
		log_warn("%s: out of memory checking its sessions' grants", j->c->name);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if ((s = sessions_get(reg, ids[i])) == NULL || s->agent_id != j->c->agent_id ||
		    s->grant_id == 0 || s->grant_id > INT64_MAX)
			continue;
		st = db_stmt(db, "SELECT agent_id, session_id, state FROM grants WHERE id = :id");
		db_bind_int(st, ":id", (int64_t)s->grant_id);
		if ((rv = db_row(st)) < 0) {
			log_warn("%s: reconcile: %s", j->c->name, err_str(rv));
			return;
		}
		if (rv == 1 && (uint64_t)db_col_int(st, 0) == j->c->agent_id &&
		    (uint64_t)db_col_int(st, 1) == s->id &&
		    strcmp(db_col_text(st, 2), "assigned") == 0) {
			db_reset(st);
			continue;
		}
		superseded = rv == 1 && (uint64_t)db_col_int(st, 1) != s->id;
		if (rv == 1)
			db_reset(st);
		j->kills[j->nkills][0] = s->id;
		j->kills[j->nkills++][1] = (uint64_t)superseded;
	}
}

/* The first STATS after WELCOME lists every live session: whatever grant of this agent has no
 * session in it lost its session while the channel was down; put it on hold. */
static void
reconcile_one(struct job *j, struct db *db, int64_t now)
{
	const State__Stats *m = (const State__Stats *)j->msg;
	struct agentlink *l = j->c->link;
	sqlite3_stmt *st;
	uint64_t *keep = NULL;
	int64_t(*held)[2] = NULL, (*p)[2];
	size_t n = 0, cap = 0, nheld = 0;
	char actor[40];
	int rv;

	if ((keep = calloc(m->n_sessions + 1, sizeof(*keep))) == NULL)
		goto nomem;
	for (size_t i = 0; i < m->n_sessions; i++)
		keep[i] = m->sessions[i]->session_id;
	qsort(keep, m->n_sessions, sizeof(*keep), cmp_u64);
	sessions_reconcile(l->sessions, j->c->agent_id, keep, m->n_sessions);
	j->c->nsessions = sessions_count(l->sessions, j->c->agent_id);
	reconcile_grants(j, db, keep, m->n_sessions);
	st = db_stmt(
	    db, "SELECT id, session_id FROM grants WHERE agent_id = :agent AND state = 'assigned'");
	db_bind_int(st, ":agent", (int64_t)j->c->agent_id);
	while ((rv = db_row(st)) == 1) {
		uint64_t sid = (uint64_t)db_col_int(st, 1);
		if (bsearch(&sid, keep, m->n_sessions, sizeof(*keep), cmp_u64) != NULL)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((p = realloc(held, cap * sizeof(*held))) == NULL) {
				db_reset(st);
				goto nomem;
			}
			held = p;
		}
		held[n][0] = db_col_int(st, 0);
		held[n][1] = db_col_int(st, 1);
		n++;
	}
	if (rv < 0)
		log_warn("%s: reconcile: %s", j->c->name, err_str(rv));
	snprintf(actor, sizeof(actor), "agent:%llu", (unsigned long long)j->c->agent_id);
	for (size_t i = 0; i < n; i++)
		if ((rv = alloc_hold(db, held[i][0], held[i][1], actor, now, NULL)) == 0)
			nheld++;
		else
			log_warn("%s: reconcile: holding grant %lld: %s", j->c->name,
			    (long long)held[i][0], err_str(rv));
	log_info("agent %llu reported %zu live sessions; %zu grants without a session put on hold, "
		 "%zu sessions without their grant to end",
	    (unsigned long long)j->c->agent_id, m->n_sessions, nheld, j->nkills);
	free(keep);
	free(held);
	return;
nomem:
	log_warn("%s: out of memory reconciling its grants", j->c->name);
	free(keep);
	free(held);
}

static void
alloc_reply(struct job *j)
{
	State__AllocRes res;
	struct addr a;

	state__alloc_res__init(&res);
	if (j->err == 0 && addr_parse(j->g.address, &a) == 0) {
		res.grant_id = (uint64_t)j->g.id;
		res.address.data = a.b;
		res.address.len = a.family == 4 ? 4 : 16;
		res.isd_as = j->p.isd_as;
		res.prefix_length = a.family == 4 ? 32 : 128;
	} else {
		res.error_code = j->err < 0 ? j->err : ERR_DB;
		if (j->why[0] == '\0')
			snprintf(j->why, sizeof(j->why), "%s", err_str(res.error_code));
		res.reason = j->why;
	}
	conn_send(j->c, CHAN_ALLOC_RES, j->seq, &res.base);
}

static void
reconcile_kills(struct job *j)
{
	State__SessionKill sk;

	for (size_t i = 0; i < j->nkills; i++) {
		state__session_kill__init(&sk);
		sk.session_id = j->kills[i][0];
		sk.reason = j->kills[i][1] ? "superseded" : "address released";
		log_info("%s: session %llu lost its grant while the channel was down: %s",
		    j->c->name, (unsigned long long)sk.session_id, sk.reason);
		if (conn_send(j->c, CHAN_SESSION_KILL, 0, &sk.base) < 0)
			return;
	}
}

/* Every request of this turn in one transaction; the answers only once it committed. */
static void
run_jobs(struct agentlink *l)
{
	struct db *db = l->app->db;
	int64_t now = l->app->now();
	struct job *j, *next;
	int rv;

	if (l->jobs == NULL)
		return;
	if ((rv = db_begin(db)) == 0) {
		for (j = l->jobs; j != NULL; j = j->next) {
			/* A dropped agent gets no answer (it asks again) and reconciles again on
			 * its next connection; its holds need no answer and stand: an agent
			 * shutting down sends them last, just before it closes. */
			if (j->c->dead && j->type != CHAN_HOLD_REQ)
				continue;
			switch (j->type) {
			case CHAN_ALLOC_REQ: alloc_one(j, db, now); break;
			case CHAN_HOLD_REQ: hold_one(j, db, now); break;
			case CHAN_STATS: reconcile_one(j, db, now); break;
			default: break;
			}
		}
		rv = db_commit(db);
	}
	for (j = l->jobs; j != NULL; j = next) {
		next = j->next;
		if (j->type == CHAN_ALLOC_REQ && !j->c->dead) {
			if (rv < 0) {
				/* Nothing of the batch was stored. */
				j->err = rv == ERR_BUSY ? ERR_BUSY : ERR_DB;
				snprintf(
				    j->why, sizeof(j->why), "the store failed; nothing granted");
			}
			alloc_reply(j);
		}
		if (j->type == CHAN_STATS && !j->c->dead && rv == 0)
			reconcile_kills(j);
		protobuf_c_message_free_unpacked(j->msg, NULL);
		free(j->kills);
		free(j);
	}
	l->jobs = NULL;
	l->jobs_tail = &l->jobs;
}

/* ---- timers ---- */

static void
timers(struct agentlink *l)
{
	uint64_t now = clock_mono_ns();
	State__Heartbeat hb;
	int saving = 0;

	for (struct conn *c = l->conns; c != NULL; c = c->next) {
		if (c->dead)
			continue;
		if (c->state == CONN_HELLO && now - c->opened_ns > HELLO_TIMEOUT_NS) {
			conn_drop(c, "no HELLO within %llu s",
			    (unsigned long long)(HELLO_TIMEOUT_NS / NS));
			continue;
		}
		if (now - c->heard_ns > SILENCE_NS) {
			conn_drop(c, "silent for %llu s", (unsigned long long)(SILENCE_NS / NS));
			continue;
		}
		if (c->state != CONN_READY)
			continue;
		if (now >= c->next_heartbeat_ns) {
			state__heartbeat__init(&hb);
			hb.time = l->app->now();
			c->next_heartbeat_ns = now + AGENTLINK_HEARTBEAT_SECONDS * NS;
			if (conn_send(c, CHAN_HEARTBEAT, 0, &hb.base) < 0)
				continue;
		}
		if (c->report_dirty && now >= c->next_save_ns) {
			/* All due rows in one transaction. */
			if (!saving && db_begin(l->app->db) == 0)
				saving = 1;
			if (saving)
				report_save(c);
			c->next_save_ns = now + REPORT_SAVE_NS;
		}
	}
	if (saving && db_commit(l->app->db) < 0)
		log_warn("cannot record the agents' reports; trying again later");
}

int
agentlink_timeout_ms(struct agentlink *l)
{
	uint64_t now = clock_mono_ns(), next = UINT64_MAX, t;

	for (struct conn *c = l->conns; c != NULL; c = c->next) {
		if (c->dead)
			continue;
		t = c->state == CONN_HELLO ? c->opened_ns + HELLO_TIMEOUT_NS
					   : c->heard_ns + SILENCE_NS;
		if (t < next)
			next = t;
		if (c->state == CONN_READY && c->next_heartbeat_ns < next)
			next = c->next_heartbeat_ns;
		if (c->state == CONN_READY && c->report_dirty && c->next_save_ns < next)
			next = c->next_save_ns;
		/* A snapshot under way with nothing queued (the store was busy): no EPOLLOUT
		 * will come to go on with it. */
		if (c->snap != SNAP_NONE && c->out_len == 0)
			next = now;
	}
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)((next - now) / 1000000u) + 1;
}

/* ---- the loop's entry points ---- */

static void
write_all(struct agentlink *l)
{
	for (struct conn *c = l->conns; c != NULL; c = c->next)
		if (!c->dead && (c->out_len > 0 || c->snap != SNAP_NONE))
			conn_write(c);
}

void
agentlink_run(struct agentlink *l)
{
	struct epoll_event ev[64];
	struct conn *c;
	int n;

	n = epoll_wait(l->ep, ev, 64, 0);
	for (int i = 0; i < n; i++) {
		if ((c = ev[i].data.ptr) == NULL) {
			accept_all(l);
			continue;
		}
		if (c->dead)
			continue;
		if (ev[i].events & EPOLLOUT)
			conn_write(c);
		if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			conn_read(c);
	}
	run_jobs(l);
	timers(l);
	write_all(l);
	reap(l);
}

/* Send one delta to every agent (agent 0) or to one. */
static void
broadcast(struct agentlink *l, uint64_t agent, enum chan_msg type, const ProtobufCMessage *m)
{
	for (struct conn *c = l->conns; c != NULL; c = c->next)
		if (!c->dead && c->state == CONN_READY && (agent == 0 || c->agent_id == agent))
			conn_send(c, type, 0, m);
}

static void
delta(struct agentlink *l, const char *kind, const char *object, uint64_t agent,
    const char *reason_in, int *resnapshot)
{
	struct db *db = l->app->db;
	char obj[128], reason[256], alg[16], *pem = NULL;
	State__KeyAdd ka;
	State__KeyRetire kr;
	State__Revoke rv;
	State__GrantRelease gr;
	State__SessionKill sk;
	State__PoolUpdate pu;
	State__Key key;
	State__Pool pool;
	struct pool p;
	sqlite3_stmt *st;

	snprintf(obj, sizeof(obj), "%s", object);
	snprintf(reason, sizeof(reason), "%s", reason_in);
	if (strcmp(kind, "revoke") == 0) {
		state__revoke__init(&rv);
		rv.pssid = obj;
		rv.reason = reason;
		broadcast(l, 0, CHAN_REVOKE, &rv.base);
	} else if (strcmp(kind, "unrevoke") == 0) {
		/* No message lifts a revocation: a fresh snapshot replaces the agents' list. */
		*resnapshot = 1;
	} else if (strcmp(kind, "key") == 0) {
		st = db_stmt(db,
		    "SELECT kid, alg, public_key_pem, coalesce(verify_until, 0) FROM signing_keys "
		    "WHERE kid = :kid AND state != 'retired'");
		db_bind_text(st, ":kid", obj);
		if (db_row(st) != 1)
			return; /* retired since: its key_retire row follows */
		snprintf(alg, sizeof(alg), "%s", db_col_text(st, 1));
		key_msg(&key, st, 0, obj, alg, &pem);
		db_reset(st);
		state__key_add__init(&ka);
		ka.key = &key;
		broadcast(l, 0, CHAN_KEY_ADD, &ka.base);
		free(pem);
	} else if (strcmp(kind, "key_retire") == 0) {
		state__key_retire__init(&kr);
		kr.kid = obj;
		broadcast(l, 0, CHAN_KEY_RETIRE, &kr.base);
	} else if (strcmp(kind, "grant_release") == 0) {
		state__grant_release__init(&gr);
		gr.grant_id = strtoull(obj, NULL, 10);
		gr.reason = reason;
		broadcast(l, agent, CHAN_GRANT_RELEASE, &gr.base);
	} else if (strcmp(kind, "session_kill") == 0) {
		state__session_kill__init(&sk);
		sk.session_id = strtoull(obj, NULL, 10);
		sk.reason = reason;
		broadcast(l, agent, CHAN_SESSION_KILL, &sk.base);
	} else if (strcmp(kind, "pool") == 0 || strcmp(kind, "pool_removed") == 0) {
		state__pool_update__init(&pu);
		if (strcmp(kind, "pool") == 0) {
			if (pool_get(db, strtoll(obj, NULL, 10), &p) < 0)
				return; /* deleted since: its pool_removed row follows */
			pool_msg(&pool, &p, p.name);
		} else {
			state__pool__init(&pool);
			pool.id = strtoull(obj, NULL, 10);
			pu.removed = 1;
		}
		pu.pool = &pool;
		broadcast(l, 0, CHAN_POOL_UPDATE, &pu.base);
	}
}

void
agentlink_flush(struct agentlink *l)
{
	struct db *db = l->app->db;
	sqlite3_stmt *st;
	int64_t changes = sqlite3_total_changes64(db_handle(db));
	int rv, resnapshot = 0;
	char kind[32], object[128], reason[256];
	uint64_t agent;

	if (db_in_tx(db) || changes == l->changes_seen)
		goto out;
	l->changes_seen = changes;
	for (;;) {
		st = db_stmt(db,
		    "SELECT id, kind, object, coalesce(agent_id, 0), reason FROM agent_deltas "
		    "WHERE id > :last ORDER BY id LIMIT 1");
		db_bind_int(st, ":last", l->delta_last);
		if ((rv = db_row(st)) != 1) {
			if (rv < 0)
				log_warn("cannot read the agents' deltas: %s", err_str(rv));
			break;
		}
		/* Copied out: sending reads the store again. */
		l->delta_last = db_col_int(st, 0);
		snprintf(kind, sizeof(kind), "%s", db_col_text(st, 1));
		snprintf(object, sizeof(object), "%s", db_col_text(st, 2));
		agent = (uint64_t)db_col_int(st, 3);
		snprintf(reason, sizeof(reason), "%s", db_col_text(st, 4));
		db_reset(st);
		delta(l, kind, object, agent, reason, &resnapshot);
	}
	if (resnapshot)
		for (struct conn *c = l->conns; c != NULL; c = c->next)
			if (!c->dead && c->state == CONN_READY)
				snapshot_start(c);
out:
	write_all(l);
	reap(l);
}

void
agentlink_sweep(struct agentlink *l)
{
	sqlite3_stmt *st;

	if (l->delta_last <= l->delta_purged || db_in_tx(l->app->db))
		return;
	st = db_stmt(l->app->db, "DELETE FROM agent_deltas WHERE id <= :last");
	db_bind_int(st, ":last", l->delta_last);
	if (db_run(st) == 0)
		l->delta_purged = l->delta_last;
	/* Our own write: nothing new to send for it. */
	l->changes_seen = sqlite3_total_changes64(db_handle(l->app->db));
}

int
agentlink_queue_kill(struct db *db, uint64_t session_id, uint64_t agent_id, const char *reason)
{
	sqlite3_stmt *st = db_stmt(db,
	    "INSERT INTO agent_deltas (kind, object, agent_id, reason) VALUES ('session_kill', "
	    ":object, :agent, :reason)");
	char object[24];

	snprintf(object, sizeof(object), "%llu", (unsigned long long)session_id);
	db_bind_text(st, ":object", object);
	db_bind_int(st, ":agent", (int64_t)agent_id);
	db_bind_text(st, ":reason", reason);
	return db_run(st);
}

/* ---- queries ---- */

struct sessions *
agentlink_sessions(struct agentlink *l)
{
	return l->sessions;
}

int
agentlink_connected(struct agentlink *l, uint64_t id, int64_t *last_heard)
{
	struct conn *c = l != NULL ? find_agent(l, id) : NULL;

	if (c != NULL && last_heard != NULL)
		*last_heard = c->heard_at;
	return c != NULL;
}

int
agentlink_queued(struct agentlink *l, uint64_t id, size_t *now, size_t *peak)
{
	struct conn *c = find_agent(l, id);

	if (c == NULL)
		return 0;
	*now = c->out_len;
	*peak = c->out_peak;
	return 1;
}

json_t *
agentlink_bundle_agents(struct agentlink *l)
{
	json_t *a = json_array();

	for (struct conn *c = l != NULL ? l->conns : NULL; c != NULL; c = c->next)
		if (!c->dead && c->state == CONN_READY)
			json_array_append_new(a,
			    json_pack("{s:I, s:s, s:s}", "id", (json_int_t)c->agent_id, "address",
				c->listen_address, "spki_pin", c->spki_pin));
	return a;
}

int
agentlink_fd(struct agentlink *l)
{
	return l->ep;
}

/* ---- open and close ---- */

struct agentlink *
agentlink_open(struct app *app, const char *state_dir)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	struct agentlink *l;
	sqlite3_stmt *st;

	if ((l = calloc(1, sizeof(*l))) == NULL || (l->sessions = sessions_new()) == NULL)
		fatalx("out of memory");
	l->app = app;
	l->jobs_tail = &l->jobs;
	agentlink_key_load(state_dir, l->key);
	if ((size_t)snprintf(l->path, sizeof(l->path), "%s/%s", state_dir, AGENTLINK_SOCKET) >=
	    sizeof(l->path))
		fatalx("the agent socket path %s/%s is too long: use a shorter --state-dir",
		    state_dir, AGENTLINK_SOCKET);
	l->listen_fd = listen_unix(l->path);
	if ((l->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    epoll_ctl(l->ep, EPOLL_CTL_ADD, l->listen_fd, &ev) < 0)
		fatal("epoll");
	/* Agents that connect get a snapshot: deltas queued before this start are moot. */
	st = db_stmt(app->db, "SELECT coalesce(max(id), 0) FROM agent_deltas");
	if (db_row(st) == 1) {
		l->delta_last = db_col_int(st, 0);
		db_reset(st);
	}
	agentlink_sweep(l);
	l->changes_seen = sqlite3_total_changes64(db_handle(app->db));
	log_info("agents attach on %s", l->path);
	return l;
}

void
agentlink_close(struct agentlink *l)
{
	struct job *j, *next;

	if (l == NULL)
		return;
	for (j = l->jobs; j != NULL; j = next) {
		next = j->next;
		protobuf_c_message_free_unpacked(j->msg, NULL);
		free(j->kills);
		free(j);
	}
	for (struct conn *c = l->conns; c != NULL; c = c->next) {
		c->snap = SNAP_NONE; /* what is queued goes; no more of it */
		if (!c->dead)
			conn_write(c);
		conn_drop(c, "%s", "");
	}
	reap(l);
	close(l->listen_fd);
	unlink(l->path);
	close(l->ep);
	sessions_free(l->sessions);
	explicit_bzero(l->key, sizeof(l->key));
	free(l);
}
