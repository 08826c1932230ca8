/* The state-channel server: the channel key file, the agents' socket, the handshake
 * (HELLO/WELCOME or REJECT), the one dispatch of the frames agents send and their reports, the
 * timers, and the loop's entry points. See agentlink.h; its parts share agentconn.h. */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../db/agentdelta.h"
#include "../db/agents.h"
#include "../db/db.h"
#include "../lib/addr.h"
#include "../lib/atomicfile.h"
#include "../lib/clock.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "../lib/loop.h"
#include "../lib/pssid.h"
#include "../lib/secret.h"
#include "../proto/chanbuf.h"
#include "../proto/chanio.h"
#include "../proto/counters_pb.h"
#include "../proto/tunevents_pb.h"
#include "agentconn.h"
#include "agentjobs.h"
#include "agentlink.h"
#include "agenttls.h"
#include "app.h"
#include "counters_json.h"
#include "metrics.h"
#include "sessions.h"
#include "statepush.h"

#define NS 1000000000ull
#define HELLO_TIMEOUT_NS (5 * NS) /* a connection says HELLO within this */
#define SILENCE_NS (3ull * AGENTLINK_HEARTBEAT_SECONDS * NS) /* 3 heartbeats missed: drop */
#define REPORT_SAVE_NS (5 * NS) /* write an agent's row at most this often */
#define READ_BUDGET (4 * CHANBUF_READ_CHUNK) /* per connection and turn: fairness */
#define WRITE_BUDGET (1024 * 1024) /* per connection and write: fairness */

static void conn_write(struct agentconn *c);
static loop_fd_fn conn_ready;

/* ---- the key file and the socket ---- */

void
agentlink_key_load(const char *state_dir, unsigned char key[CHAN_KEY_LEN])
{
	char path[4096];
	off_t size;

	snprintf(path, sizeof(path), "%s/%s", state_dir, AGENTLINK_KEY_FILE);
	if (atomicfile_read(path, key, CHAN_KEY_LEN, &size) == 0)
		return;
	if (errno == EINVAL && size >= 0)
		fatalx("%s has %lld bytes, expected %d: a channel key is %d random bytes "
		       "(remove the file to have a new one made, then restart the agents)",
		    path, (long long)size, CHAN_KEY_LEN, CHAN_KEY_LEN);
	if (errno != ENOENT)
		fatal("cannot open %s", path);
	if (secret_random(key, CHAN_KEY_LEN) < 0)
		fatalx("no randomness for the channel key");
	/* Whole or absent: an agent never reads half a key. */
	if (atomicfile_write(path, key, CHAN_KEY_LEN, 0600) < 0)
		fatal("cannot write %s", path);
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

/* The listener is readable: take every connection waiting. */
static void
accept_all(struct loop *loop, int lfd, unsigned events, void *arg)
{
	struct agentlink *l = arg;
	struct ucred cred;
	socklen_t len;
	struct agentconn *c;
	struct chanio *io;
	int fd;

	(void)loop;
	(void)events;
	for (;;) {
		if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
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
		if ((io = chanio_plain_new(fd)) == NULL ||
		    (c = agentconn_new(l, io, conn_ready)) == NULL) {
			log_warn("agent socket: refusing a connection: %s", strerror(ENOMEM));
			continue;
		}
		log_debug("%s: accepted (pid %d)", c->name, (int)cred.pid);
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
hello(struct agentconn *c, const struct chan_frame *f, const State__Hello *h)
{
	struct agentlink *l = c->link;
	uint32_t lo, hi;
	struct agentconn *old;
	struct agent_row row = {0};
	State__Welcome w;
	State__Reject rj;
	char reason[160];
	int rv;

	if (h->agent_id != f->from || h->agent_id > INT64_MAX) {
		agentconn_drop(c, "HELLO names agent %llu from node %llu",
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
		if (agentconn_send(c, CHAN_REJECT, 0, &rj.base) == 0)
			conn_write(c);
		agentconn_drop(c, "%s", "");
		return;
	}
	if (strlen(h->listen_address) > AGENTS_ADDRESS_MAX ||
	    strlen(h->software_version) > AGENTS_VERSION_MAX || h->spki_pin.len > 64) {
		agentconn_drop(c,
		    "HELLO of agent %llu is oversized (version, listen address or pin)",
		    (unsigned long long)h->agent_id);
		return;
	}
	if ((old = agentconn_find(l, h->agent_id)) != NULL) {
		log_warn("agent %llu connected again: its new channel replaces the old one",
		    (unsigned long long)h->agent_id);
		agentconn_drop(old, "%s", "");
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
	snprintf(row.manager, sizeof(row.manager), "%s", l->app->manager_id);
	if ((rv = agents_hello(l->app->db, &row, l->app->now())) < 0) {
		/* Not recorded, not served: it tries again with backoff. */
		agentconn_drop(c, "cannot record its HELLO: %s", err_str(rv));
		return;
	}
	state__welcome__init(&w);
	w.version = hi;
	w.software_version = "snaptun " SNAPTUN_VERSION;
	if (agentconn_send(c, CHAN_WELCOME, 0, &w.base) < 0)
		return;
	c->state = AGENTCONN_READY;
	metrics_agent_hello(l->app->metrics, h->agent_id);
	c->next_heartbeat_ns = clock_mono_ns() + AGENTLINK_HEARTBEAT_SECONDS * NS;
	c->next_save_ns = clock_mono_ns() + REPORT_SAVE_NS;
	log_info("agent %llu connected (%s, channel version %u, listening on %s)",
	    (unsigned long long)h->agent_id, h->software_version, hi, h->listen_address);
	statepush_start(c);
}

static void
session_up(struct agentconn *c, const State__SessionUp *m)
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
		agentconn_drop(c, "SESSION_UP of session %llu, which agent %llu holds",
		    (unsigned long long)m->session_id, (unsigned long long)have->agent_id);
		return;
	}
	if (have == NULL && c->nsessions >= AGENTLINK_SESSIONS_MAX) {
		agentconn_drop(c, "it reports more than %d live sessions", AGENTLINK_SESSIONS_MAX);
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
session_down(struct agentconn *c, const State__SessionDown *m)
{
	struct session *s = sessions_get(c->link->sessions, m->session_id);

	if (s != NULL && s->agent_id == c->agent_id)
		metrics_session_closed(c->link->app->metrics, s->pssid, clock_mono_ns());
	if (sessions_remove(c->link->sessions, m->session_id, c->agent_id) == 1)
		c->nsessions--;
	c->report_dirty = 1;
}

static void
stats(struct agentconn *c, const State__Stats *m)
{
	struct session *s;
	json_t *o;

	for (size_t i = 0; i < m->n_sessions; i++) {
		const State__SessionStats *ss = m->sessions[i];
		if ((s = sessions_get(c->link->sessions, ss->session_id)) == NULL ||
		    s->agent_id != c->agent_id)
			continue;
		counters_pb_to(&s->counters, ss->counters);
		if (ss->expires_at != 0)
			s->expires_at = ss->expires_at;
	}
	o = json_pack("{s:I, s:I, s:I}", "at", (json_int_t)c->link->app->now(), "uptime_ns",
	    (json_int_t)(m->uptime_ns > INT64_MAX ? INT64_MAX : m->uptime_ns), "active_sessions",
	    (json_int_t)m->active_sessions);
	if (o != NULL && m->total != NULL) {
		struct counters total = {0};
		json_t *t = json_object();

		counters_pb_to(&total, m->total);
		if (t == NULL || counters_json_set(t, &total) < 0) {
			json_decref(t);
			json_decref(o);
			o = NULL;
		} else if (json_object_set_new(o, "total", t) < 0) {
			json_decref(o);
			o = NULL;
		}
	}
	if (m->total != NULL) {
		struct counters total = {0};
		struct tunevents ev = {0};

		counters_pb_to(&total, m->total);
		tunevents_pb_to(&ev, m->events);
		metrics_agent_stats(c->link->app->metrics, c->agent_id, m->uptime_ns, &total,
		    m->events != NULL ? &ev : NULL);
	}
	free(c->last_stats);
	c->last_stats = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	c->report_dirty = 1;
}

static void
frame(struct agentconn *c, const struct chan_frame *f)
{
	ProtobufCMessage *msg;

	c->heard_ns = clock_mono_ns();
	c->heard_at = c->link->app->now();
	metrics_chan_frame(c->link->app->metrics, METRICS_IN);
	if (c->state == AGENTCONN_HELLO && f->type != CHAN_HELLO) {
		agentconn_drop(c, "its first frame is %s, not HELLO", chan_msg_name(f->type));
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
	default:
		agentconn_drop(c, "it sent %s, a manager's message", chan_msg_name(f->type));
		return;
	}
	if ((msg = chan_frame_unpack(f)) == NULL) {
		agentconn_drop(c, "its %s does not decode", chan_msg_name(f->type));
		return;
	}
	switch (f->type) {
	case CHAN_HELLO:
		if (c->state != AGENTCONN_HELLO)
			agentconn_drop(c, "HELLO again on an open channel");
		else
			hello(c, f, (const State__Hello *)msg);
		break;
	case CHAN_ALLOC_REQ:
	case CHAN_HOLD_REQ: agentjobs_add(c, f, msg); return;
	case CHAN_SESSION_UP: session_up(c, (const State__SessionUp *)msg); break;
	case CHAN_SESSION_DOWN: session_down(c, (const State__SessionDown *)msg); break;
	case CHAN_STATS:
		stats(c, (const State__Stats *)msg);
		if (((const State__Stats *)msg)->reconcile) {
			agentjobs_add(c, f, msg);
			return;
		}
		break;
	case CHAN_HEARTBEAT: c->report_dirty = 1; break;
	default: break;
	}
	protobuf_c_message_free_unpacked(msg, NULL);
}

/* ---- reading and writing ---- */

/* chanbuf_read()'s handler: stop once c is dropped. */
static int
on_frame(void *arg, const struct chan_frame *f)
{
	struct agentconn *c = arg;

	frame(c, f);
	return c->dead;
}

static void
conn_read(struct agentconn *c)
{
	ssize_t n = chanbuf_read(c->buf, c->io, READ_BUDGET, on_frame, c);

	if (n >= 0 || c->dead)
		return;
	if (n == CHANBUF_CLOSED) {
		if (c->state == AGENTCONN_READY)
			log_info("agent %llu closed its channel", (unsigned long long)c->agent_id);
		agentconn_drop(c, "%s", "");
	} else if (n == CHANBUF_IO) {
		agentconn_drop(c, "%s", chanio_error(c->io));
	} else {
		agentconn_drop(c, "protocol error: %s", chanbuf_err_str((int)n));
	}
}

/* Write what is queued until the socket is full, topping the queue up from the snapshot under
 * way as it drains below the low-water mark; at most WRITE_BUDGET bytes (the rest waits for
 * writability, a later turn). */
static void
conn_write(struct agentconn *c)
{
	size_t budget = WRITE_BUDGET;
	ssize_t n;
	int full;

	for (;;) {
		if ((n = agentconn_write(c, budget)) < 0)
			return;
		budget -= (size_t)n;
		full = budget > 0 && chanbuf_queued(c->buf) > 0;
		if (c->snap == SNAP_NONE || chanbuf_queued(c->buf) >= AGENTLINK_SNAPSHOT_LOW)
			return;
		statepush_pump(c);
		if (c->dead)
			return;
		if (full || budget == 0 || chanbuf_queued(c->buf) == 0) {
			/* Not written now: writability is watched for what the top-up queued. */
			agentconn_write(c, 0);
			return;
		}
	}
}

/* ---- timers ---- */

static void
timers(struct agentlink *l)
{
	uint64_t now = clock_mono_ns();
	State__Heartbeat hb;
	int saving = 0;

	for (struct agentconn *c = l->conns; c != NULL; c = c->next) {
		if (c->dead)
			continue;
		/* The limit covers a TLS handshake too: a peer that stalls it holds a socket. */
		if (c->state != AGENTCONN_READY && now - c->opened_ns > HELLO_TIMEOUT_NS) {
			agentconn_drop(c, "no HELLO within %llu s",
			    (unsigned long long)(HELLO_TIMEOUT_NS / NS));
			continue;
		}
		if (now - c->heard_ns > SILENCE_NS) {
			agentconn_drop(
			    c, "silent for %llu s", (unsigned long long)(SILENCE_NS / NS));
			continue;
		}
		if (c->state != AGENTCONN_READY)
			continue;
		if (now >= c->next_heartbeat_ns) {
			state__heartbeat__init(&hb);
			hb.time = l->app->now();
			c->next_heartbeat_ns = now + AGENTLINK_HEARTBEAT_SECONDS * NS;
			if (agentconn_send(c, CHAN_HEARTBEAT, 0, &hb.base) < 0)
				continue;
		}
		if (c->report_dirty && now >= c->next_save_ns) {
			/* All due rows in one transaction. */
			if (!saving && db_begin(l->app->db) == 0)
				saving = 1;
			if (saving)
				agentconn_report_save(c);
			c->next_save_ns = now + REPORT_SAVE_NS;
		}
	}
	if (saving && db_commit(l->app->db) < 0)
		log_warn("cannot record the agents' reports; trying again later");
}

/* End the loop's next wait by the earliest deadline of a connection. */
static void
wake_by_deadline(struct agentlink *l)
{
	uint64_t now = clock_mono_ns(), next = UINT64_MAX, t;

	for (struct agentconn *c = l->conns; c != NULL; c = c->next) {
		if (c->dead)
			continue;
		t = c->state != AGENTCONN_READY ? c->opened_ns + HELLO_TIMEOUT_NS
						: c->heard_ns + SILENCE_NS;
		if (t < next)
			next = t;
		if (c->state == AGENTCONN_READY && c->next_heartbeat_ns < next)
			next = c->next_heartbeat_ns;
		if (c->state == AGENTCONN_READY && c->report_dirty && c->next_save_ns < next)
			next = c->next_save_ns;
		/* A snapshot under way with nothing queued (the store was busy): no writability
		 * will be watched to go on with it. */
		if (c->snap != SNAP_NONE && chanbuf_queued(c->buf) == 0)
			next = now;
	}
	if (outbox_deadline(l) < next)
		next = outbox_deadline(l);
	loop_wait_until(l->loop, next);
}

/* ---- the loop's entry points ---- */

static void
write_all(struct agentlink *l)
{
	for (struct agentconn *c = l->conns; c != NULL; c = c->next)
		if (!c->dead && c->buf != NULL &&
		    (chanbuf_queued(c->buf) > 0 || c->snap != SNAP_NONE))
			conn_write(c);
}

/* A connection is ready: the rest of its queue first, then what it sent (a hang-up or an error
 * is both, and the read tells it). */
static void
conn_ready(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct agentconn *c = arg;

	(void)loop;
	(void)fd;
	if (events & LOOP_WRITE)
		conn_write(c);
	if ((events & LOOP_READ) && !c->dead)
		conn_read(c);
}

void
agentlink_run(struct agentlink *l)
{
	agentjobs_run(l);
	timers(l);
	write_all(l);
	agentconn_reap(l);
	wake_by_deadline(l);
}

void
agentlink_flush(struct agentlink *l)
{
	outbox_read(l);
	write_all(l);
	agentconn_reap(l);
	wake_by_deadline(l);
}

void
agentlink_sweep(struct agentlink *l)
{
	outbox_prune(l);
}

int
agentlink_queue_kill(struct db *db, uint64_t session_id, uint64_t agent_id, const char *reason)
{
	return agentdelta_kill(db, session_id, agent_id, reason);
}

int
agentlink_revoke(struct agentlink *l, uint64_t id)
{
	int n = 0;

	for (struct agentconn *c = l != NULL ? l->conns : NULL; c != NULL; c = c->next) {
		if (c->dead || (c->enrolled_id != id && c->agent_id != id))
			continue;
		agentconn_drop(c, "agent %llu is revoked", (unsigned long long)id);
		n++;
	}
	if (l != NULL)
		agentconn_reap(l);
	return n;
}

/* ---- queries ---- */

const char *
agentlink_tls_pin(const struct agentlink *l)
{
	return l != NULL && l->tls != NULL ? agenttls_pin(l->tls) : NULL;
}

const char *
agentlink_tls_address(const struct agentlink *l)
{
	return l != NULL && l->tls != NULL ? agenttls_address(l->tls) : NULL;
}

struct sessions *
agentlink_sessions(struct agentlink *l)
{
	return l->sessions;
}

int
agentlink_connected(struct agentlink *l, uint64_t id, int64_t *last_heard)
{
	struct agentconn *c = l != NULL ? agentconn_find(l, id) : NULL;

	if (c != NULL && last_heard != NULL)
		*last_heard = c->heard_at;
	return c != NULL;
}

int
agentlink_queued(struct agentlink *l, uint64_t id, size_t *now, size_t *peak)
{
	struct agentconn *c = agentconn_find(l, id);

	if (c == NULL)
		return 0;
	*now = chanbuf_queued(c->buf);
	*peak = chanbuf_peak(c->buf);
	return 1;
}

void
agentlink_peers(
    struct agentlink *l, void (*fn)(void *arg, const struct agentlink_peer *p), void *arg)
{
	struct agentlink_peer p;

	for (struct agentconn *c = l != NULL ? l->conns : NULL; c != NULL; c = c->next) {
		if (c->dead || c->state != AGENTCONN_READY)
			continue;
		p.id = c->agent_id;
		p.address = c->listen_address;
		p.spki_pin = c->spki_pin;
		fn(arg, &p);
	}
}

/* ---- open and close ---- */

struct agentlink *
agentlink_open(
    struct app *app, const char *state_dir, struct loop *loop, const struct agenttls_config *tls)
{
	struct agentlink *l;

	if ((l = calloc(1, sizeof(*l))) == NULL || (l->sessions = sessions_new()) == NULL)
		fatalx("out of memory");
	l->app = app;
	l->loop = loop;
	l->jobs_tail = &l->jobs;
	agentlink_key_load(state_dir, l->key);
	if ((size_t)snprintf(l->path, sizeof(l->path), "%s/%s", state_dir, AGENTLINK_SOCKET) >=
	    sizeof(l->path))
		fatalx("the agent socket path %s/%s is too long: use a shorter --state-dir",
		    state_dir, AGENTLINK_SOCKET);
	l->listen_fd = listen_unix(l->path);
	if (loop_fd_add(loop, l->listen_fd, LOOP_READ, accept_all, l) < 0)
		fatal("agent socket: watching %s", l->path);
	outbox_open(l);
	log_info("agents attach on %s", l->path);
	l->tls = agenttls_open(l, tls, state_dir, conn_ready);
	return l;
}

void
agentlink_close(struct agentlink *l)
{
	if (l == NULL)
		return;
	agentjobs_free(l);
	for (struct agentconn *c = l->conns; c != NULL; c = c->next) {
		c->snap = SNAP_NONE; /* what is queued goes; no more of it */
		if (!c->dead)
			conn_write(c);
		agentconn_drop(c, "%s", "");
	}
	agentconn_reap(l);
	outbox_close(l);
	agenttls_close(l->tls);
	loop_fd_del(l->loop, l->listen_fd);
	close(l->listen_fd);
	unlink(l->path);
	sessions_free(l->sessions);
	explicit_bzero(l->key, sizeof(l->key));
	free(l);
}
