#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../lib/atomicfile.h"
#include "../lib/clock.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "../lib/loop.h"
#include "../lib/resolve.h"
#include "../lib/sockaddr.h"
#include "../proto/chanbuf.h"
#include "../proto/chanio.h"
#include "link.h"
#include "link_dial.h"
#include "link_pending.h"

#define LINK_CHAN_VERSION 1 /* the channel versions spoken: 1 .. 1 */
#define NS 1000000000ull

#define DIAL_TIMEOUT_NS (5 * NS) /* to connect and finish the TLS handshake */
#define RESOLVE_TIMEOUT_NS (5 * NS) /* to look a manager's name up */
#define RESOLVE_POLL_NS (20 * 1000000ull) /* how often a lookup under way is looked at */
#define RESOLVE_ADDRS_MAX 16 /* addresses of one name taken, tried one per attempt */

enum link_st {
	LINK_IDLE, /* disconnected, reconnecting at reconnect_at */
	LINK_RESOLVING, /* looking the endpoint's host name up (until dial_deadline) */
	LINK_DIALING, /* connecting, TLS handshake under way (before HELLO) */
	LINK_HELLO, /* HELLO sent, waiting for WELCOME */
	LINK_UP, /* welcomed */
};

struct link {
	char *key_file, *version, *listen;
	unsigned char pin[32];
	struct link_endpoint *managers; /* tried in turn, from the one after the last failure */
	size_t nmanagers, cur;
	gnutls_certificate_credentials_t cred; /* the client identity for TLS endpoints, or NULL */
	int ca; /* cred trusts CAs for the managers' certificates */
	struct resolve *resolver; /* looks the endpoints' host names up */
	unsigned *turn; /* per endpoint: attempts at it, to take its name's addresses in turn */
	unsigned char tls_key[CHAN_KEY_LEN]; /* the channel key on TLS endpoints */
	int have_tls_key;
	struct chanio *io; /* the connection's transport (NULL: disconnected) */
	uint64_t dial_deadline;
	uint64_t agent_id;
	struct link_callbacks cb;
	struct loop *loop; /* the owner's: the socket is watched there */
	int fd;
	enum link_st st;
	const char *broken; /* why the channel must be dropped at the next safe point */
	unsigned char key[CHAN_KEY_LEN];
	struct chanbuf *buf; /* the connection's output queue and decoder (NULL: disconnected) */
	uint64_t backoff, reconnect_at;
	uint64_t hb_period, stats_period, hb_next, stats_next, last_rx;
	struct state *building; /* between SNAPSHOT_BEGIN and END */
	uint64_t build_gen, build_items;
	/* requests waiting for their ALLOC_RES, and those whose callback already ran with a
	 * timeout but whose ALLOC_RES may still come (on this connection only) */
	struct pendq pending, late;
	struct link_stats stats;
};

static void link_teardown(struct link *l);
static void set_periods(struct link *l, unsigned heartbeat_seconds, unsigned stats_seconds);

struct link *
link_new(const struct link_config *cfg, const struct link_callbacks *cb, struct loop *loop)
{
	struct link *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->key_file = strdup(cfg->key_file != NULL ? cfg->key_file : "");
	l->version = strdup(cfg->software_version);
	l->listen = strdup(cfg->listen_address);
	l->managers = calloc(cfg->nmanagers, sizeof(*l->managers));
	l->turn = calloc(cfg->nmanagers, sizeof(*l->turn));
	l->resolver = resolve_new();
	if (!l->key_file || !l->version || !l->listen || !l->managers || !l->turn || !l->resolver) {
		link_free(l);
		return NULL;
	}
	memcpy(l->managers, cfg->managers, cfg->nmanagers * sizeof(*l->managers));
	l->nmanagers = cfg->nmanagers;
	if (cfg->channel_key != NULL) {
		memcpy(l->tls_key, cfg->channel_key, CHAN_KEY_LEN);
		l->have_tls_key = 1;
	}
	l->cred = cfg->tls_cred;
	l->ca = cfg->tls_ca;
	memcpy(l->pin, cfg->spki_pin, sizeof(l->pin));
	l->agent_id = cfg->agent_id;
	l->cb = *cb;
	l->loop = loop;
	l->fd = -1;
	l->st = LINK_IDLE;
	l->backoff = 2 * LINK_BACKOFF_MIN_NS;
	l->reconnect_at = 1; /* at once */
	set_periods(l, 0, 0);
	srandom((unsigned)(clock_mono_ns() ^ (uint64_t)getpid()));
	return l;
}

void
link_free(struct link *l)
{
	struct pending *p;

	if (l == NULL)
		return;
	if (l->fd >= 0) {
		/* the loop outlives the link: it must not keep a callback into it */
		loop_fd_del(l->loop, l->fd);
		chanio_close(l->io);
	}
	chanbuf_free(l->buf);
	state_free(l->building);
	while ((p = pendq_pop(&l->pending)) != NULL) {
		struct link_alloc_res res = {.error = ERR_BUSY, .reason = "shutting down"};

		p->cb(p->arg, &res);
		free(p);
	}
	pendq_clear(&l->late);
	free(l->managers);
	free(l->turn);
	resolve_free(l->resolver);
	if (l->cred != NULL)
		gnutls_certificate_free_credentials(l->cred);
	explicit_bzero(l->tls_key, sizeof(l->tls_key));
	free(l->key_file);
	free(l->version);
	free(l->listen);
	explicit_bzero(l->key, sizeof(l->key));
	free(l);
}

int
link_fd(const struct link *l)
{
	return l->fd;
}

int
link_up(const struct link *l)
{
	return l != NULL && l->st == LINK_UP && l->broken == NULL;
}

/* Heartbeat and stats periods in seconds (0: LINK_PERIOD_DEFAULT), from the manager's Limits. */
static void
set_periods(struct link *l, unsigned heartbeat_seconds, unsigned stats_seconds)
{
	uint64_t hb = (heartbeat_seconds ? heartbeat_seconds : LINK_PERIOD_DEFAULT) * NS;
	uint64_t stats = (stats_seconds ? stats_seconds : LINK_PERIOD_DEFAULT) * NS;

	if (hb != l->hb_period && l->hb_next != 0)
		l->hb_next = clock_mono_ns() + hb;
	if (stats != l->stats_period && l->stats_next != 0)
		l->stats_next = clock_mono_ns() + stats;
	l->hb_period = hb;
	l->stats_period = stats;
}

/* Mark the channel for dropping at the next safe point (never in the middle of reading a frame
 * or of a caller's link_send()). */
static void
link_fail(struct link *l, const char *why)
{
	if (l->broken == NULL) {
		l->broken = why;
		l->stats.drops++;
	}
}

/* The queue's want_write: writability is watched only while something waits for the socket. */
static void
want_output(void *arg, int on)
{
	struct link *l = arg;

	if (loop_fd_mask(l->loop, l->fd, LOOP_READ | (on ? LOOP_WRITE : 0)) < 0)
		fatal("state channel: watching the socket");
}

static void
on_ready(struct loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)fd;
	link_handle(arg, events);
}

static void
write_out(struct link *l)
{
	if (chanbuf_write(l->buf, l->io, SIZE_MAX) < 0)
		link_fail(l, chanio_error(l->io));
}

/* Queue a frame whatever the state (HELLO goes out before WELCOME) and write it. */
static int
send_frame(struct link *l, enum chan_msg type, const ProtobufCMessage *msg, uint64_t corr)
{
	int rv;

	if (l->fd < 0 || l->buf == NULL || l->broken != NULL)
		return -1;
	switch ((rv = chanbuf_put(l->buf, type, corr, msg))) {
	case 0: l->stats.frames_out++; break;
	case CHANBUF_FULL: link_fail(l, "output queue full"); return -1;
	case CHANBUF_NOMEM: link_fail(l, "out of memory"); return -1;
	default:
		log_error(
		    "state channel: packing %s: %s", chan_msg_name(type), chanbuf_err_str(rv));
		link_fail(l, "packing failed");
		return -1;
	}
	write_out(l);
	return l->broken == NULL ? 0 : -1;
}

int
link_send(struct link *l, enum chan_msg type, const ProtobufCMessage *msg)
{
	if (!link_up(l))
		return -1;
	return send_frame(l, type, msg, 0);
}

int64_t
link_alloc(struct link *l, const State__AllocReq *req, link_alloc_cb cb, void *arg)
{
	struct pending *p;

	/* a manager this far behind is as good as unreachable: refuse rather than queue */
	if (!link_up(l) || l->pending.n >= LINK_PENDING_MAX || (p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	if (send_frame(l, CHAN_ALLOC_REQ, &req->base, 0) < 0) {
		free(p);
		return -1;
	}
	p->id = (int64_t)chanbuf_seq(l->buf);
	p->deadline = clock_mono_ns() + LINK_ALLOC_TIMEOUT_NS;
	p->session_id = req->session_id;
	p->cb = cb;
	p->arg = arg;
	pendq_push(&l->pending, p);
	return p->id;
}

/* ---- connecting ---- */

static int
read_key(struct link *l)
{
	unsigned char buf[CHAN_KEY_LEN];
	off_t size;

	if (atomicfile_read(l->key_file, buf, sizeof(buf), &size) == 0) {
		memcpy(l->key, buf, sizeof(buf));
		explicit_bzero(buf, sizeof(buf));
		return 0;
	}
	if (errno == EINVAL && size >= 0)
		log_warn(
		    "state channel: channel key \"%s\": not %d bytes", l->key_file, CHAN_KEY_LEN);
	else
		log_warn("state channel: channel key \"%s\": %s", l->key_file, strerror(errno));
	return -1;
}

/* The next attempt after a uniform delay in [backoff / 2, backoff]; backoff starts at twice the
 * minimum and doubles up to the maximum, so every delay lies in LINK_BACKOFF_MIN_NS ..
 * LINK_BACKOFF_MAX_NS, jittered (proto/README.md §2.7: 0.1 s .. 10 s). */
static void
schedule_reconnect(struct link *l)
{
	uint64_t half = l->backoff / 2;

	l->reconnect_at = clock_mono_ns() + half + (uint64_t)random() % (half + 1);
	l->backoff = l->backoff * 2 > LINK_BACKOFF_MAX_NS ? LINK_BACKOFF_MAX_NS : l->backoff * 2;
}

static const char *
endpoint(const struct link *l)
{
	return l->managers[l->cur].address;
}

/* The transport is up (a UNIX socket at once, TLS once the manager's pin is checked): the
 * buffers under the endpoint's channel key, and HELLO. */
static void
link_hello(struct link *l)
{
	const unsigned char *key = link_dial_is_tls(&l->managers[l->cur]) ? l->tls_key : l->key;
	struct chanbuf_config bc = {
	    .key = key,
	    .self = l->agent_id,
	    .peer = CHAN_NODE_MANAGER,
	    .max = LINK_OUT_MAX,
	    .want_write = want_output,
	    .arg = l,
	};
	State__Hello hello;

	if ((l->buf = chanbuf_new(&bc)) == NULL)
		fatalx("out of memory");
	l->st = LINK_HELLO;
	if (loop_fd_mask(l->loop, l->fd, LOOP_READ) < 0)
		fatal("state channel: watching the socket");
	state__hello__init(&hello);
	hello.agent_id = l->agent_id;
	hello.software_version = l->version;
	hello.min_version = LINK_CHAN_VERSION;
	hello.max_version = LINK_CHAN_VERSION;
	hello.listen_address = l->listen;
	hello.spki_pin.data = l->pin;
	hello.spki_pin.len = sizeof(l->pin);
	send_frame(l, CHAN_HELLO, &hello.base, 0);
	log_debug("state channel: connected to %s, HELLO sent", endpoint(l));
}

/* Go on with the TLS handshake; once done, check the manager's pin and say HELLO. */
static void
link_dial_step(struct link *l)
{
	char why[256];
	int rv = chanio_handshake(l->io);

	if (rv == CHANIO_AGAIN) {
		if (loop_fd_mask(l->loop, l->fd,
			chanio_want(l->io) == CHANIO_WANT_WRITE ? LOOP_WRITE : LOOP_READ) < 0)
			fatal("state channel: watching the socket");
		return;
	}
	if (rv < 0) {
		log_warn("state channel: %s: %s", endpoint(l), chanio_error(l->io));
		link_fail(l, "TLS handshake failed");
		return;
	}
	if (link_dial_check(&l->managers[l->cur], l->ca, l->io, why, sizeof(why)) < 0) {
		log_error("state channel: %s", why);
		link_fail(l, "the manager's certificate is not the one trusted");
		return;
	}
	link_hello(l);
}

/* This attempt failed before a connection: the next one goes to the next manager. */
static void
link_next(struct link *l)
{
	l->st = LINK_IDLE;
	l->cur = (l->cur + 1) % l->nmanagers;
	schedule_reconnect(l);
}

/* Connect to the endpoint's address ss (NULL for a UNIX socket) and start the handshake. */
static void
link_dial_to(struct link *l, const struct sockaddr_storage *ss, socklen_t sslen)
{
	const struct link_endpoint *ep = &l->managers[l->cur];
	char why[320];

	if (link_dial_open(ep, ss, sslen, l->cred, &l->io, why, sizeof(why)) < 0) {
		log_debug("state channel: %s", why);
		link_next(l);
		return;
	}
	l->fd = chanio_fd(l->io);
	if (loop_fd_add(l->loop, l->fd, LOOP_READ, on_ready, l) < 0)
		fatal("state channel: watching the socket");
	l->broken = NULL;
	l->last_rx = clock_mono_ns();
	l->hb_next = l->stats_next = 0;
	l->dial_deadline = clock_mono_ns() + DIAL_TIMEOUT_NS;
	l->st = LINK_DIALING;
	if (!link_dial_is_tls(ep))
		link_hello(l);
	else
		link_dial_step(l);
}

static void
link_connect(struct link *l)
{
	const struct link_endpoint *ep = &l->managers[l->cur];
	struct sockaddr_storage ss;
	socklen_t len;
	char host[SOCKADDR_HOST_MAX + 1], why[320];
	uint16_t port;

	l->reconnect_at = 0;
	if (!link_dial_is_tls(ep) && read_key(l) < 0) {
		link_next(l);
		return;
	}
	if (link_dial_is_tls(ep) && !l->have_tls_key) {
		log_warn("state channel: %s: no channel key for TLS endpoints (--credentials)",
		    ep->address);
		link_next(l);
		return;
	}
	if (!link_dial_is_tls(ep)) {
		link_dial_to(l, NULL, 0);
	} else if (link_dial_host(ep, host, &port, &ss, &len)) {
		link_dial_to(l, &ss, len);
	} else if (resolve_start(l->resolver, host, why, sizeof(why)) < 0) {
		log_warn("state channel: %s: %s", ep->address, why);
		link_next(l);
	} else {
		/* The loop goes on forwarding meanwhile: link_expire() looks at the lookup. */
		l->st = LINK_RESOLVING;
		l->dial_deadline = clock_mono_ns() + RESOLVE_TIMEOUT_NS;
	}
}

/* A lookup under way: dial once it has an answer (the name's addresses taken in turn, one per
 * attempt at this endpoint), try the next manager when it fails or takes too long. */
static void
link_resolved(struct link *l, uint64_t now)
{
	const struct link_endpoint *ep = &l->managers[l->cur];
	struct sockaddr_storage addrs[RESOLVE_ADDRS_MAX], unused;
	socklen_t len;
	char host[SOCKADDR_HOST_MAX + 1], why[320];
	uint16_t port;
	size_t n;
	int rv;

	link_dial_host(ep, host, &port, &unused, &len);
	rv = resolve_poll(l->resolver, port, addrs, RESOLVE_ADDRS_MAX, &n, why, sizeof(why));
	if (rv == 0 && now < l->dial_deadline)
		return;
	if (rv == 0) {
		resolve_cancel(l->resolver);
		log_warn("state channel: %s: no answer for \"%s\" within %llu s", ep->address, host,
		    (unsigned long long)(RESOLVE_TIMEOUT_NS / NS));
		link_next(l);
		return;
	}
	if (rv < 0) {
		log_warn("state channel: %s: %s", ep->address, why);
		link_next(l);
		return;
	}
	rv = (int)(l->turn[l->cur]++ % n);
	len = addrs[rv].ss_family == AF_INET ? sizeof(struct sockaddr_in)
					     : sizeof(struct sockaddr_in6);
	link_dial_to(l, &addrs[rv], len);
}

/* Drop the connection now: called only at safe points (no frame being read, no caller inside
 * link_send()). Pending allocations fail at the next link_expire(). */
static void
link_teardown(struct link *l)
{
	int was_up = l->st == LINK_UP;

	if (l->fd >= 0) {
		loop_fd_del(l->loop, l->fd);
		chanio_close(l->io);
		l->io = NULL;
		l->fd = -1;
	}
	if (l->broken != NULL)
		log_warn("state channel to %s dropped: %s", endpoint(l), l->broken);
	/* The next attempt goes to the next manager: one that failed is not asked again until
	 * the others were (with a single endpoint, the same one). */
	l->cur = (l->cur + 1) % l->nmanagers;
	l->broken = NULL;
	chanbuf_free(l->buf);
	l->buf = NULL;
	state_free(l->building);
	l->building = NULL;
	l->st = LINK_IDLE;
	l->hb_next = l->stats_next = 0;
	for (struct pending *p = l->pending.head; p != NULL; p = p->next)
		p->deadline = 0;
	/* late answers can no longer come: the reconcile after the next WELCOME holds their
	 * grants */
	pendq_clear(&l->late);
	schedule_reconnect(l);
	if (was_up && l->cb.down != NULL)
		l->cb.down(l->cb.arg);
}

/* ---- receiving ---- */

static void
on_alloc_res(struct link *l, uint64_t corr, const State__AllocRes *m)
{
	struct link_alloc_res res;
	struct pending *p;

	if ((p = pendq_take(&l->pending, (int64_t)corr)) == NULL) {
		if ((p = pendq_take(&l->late, (int64_t)corr)) == NULL) {
			log_debug("state channel: ALLOC_RES for %llu: no such request",
			    (unsigned long long)corr);
			return;
		}
		/* Answered after its 2 s: the client heard 503 and the session is gone, so a
		 * grant made for it would stay assigned to nobody until the next reconcile. */
		if (m->error_code == 0 && m->grant_id != 0) {
			State__HoldReq h;

			log_warn("state channel: ALLOC_RES %lld came late: grant %llu put on hold",
			    (long long)p->id, (unsigned long long)m->grant_id);
			state__hold_req__init(&h);
			h.grant_id = m->grant_id;
			h.session_id = p->session_id;
			link_send(l, CHAN_HOLD_REQ, &h.base);
		}
		free(p);
		return;
	}
	memset(&res, 0, sizeof(res));
	res.error = m->error_code;
	res.reason = m->reason;
	res.grant_id = m->grant_id;
	res.isd_as = m->isd_as;
	res.prefix_length = m->prefix_length;
	if (res.error == 0) {
		if (m->address.len == 4 || m->address.len == 16) {
			res.addr.family = m->address.len == 4 ? 4 : 6;
			memcpy(res.addr.b, m->address.data, m->address.len);
		} else {
			res.error = ERR_INVALID;
			res.reason = "manager sent a grant without an address";
		}
	} else if (res.error > 0) {
		res.error = ERR_INVALID;
	}
	p->cb(p->arg, &res);
	free(p);
}

/* Tell the owner: the callback name of l->cb, if set, with the arguments after arg. */
#define LINK_TELL(l, name, ...) \
	do { \
		if ((l)->cb.name != NULL) \
			(l)->cb.name((l)->cb.arg, __VA_ARGS__); \
	} while (0)

static void
on_welcome(struct link *l, const State__Welcome *w)
{
	if (w->version != LINK_CHAN_VERSION) {
		link_fail(l, "WELCOME with a version we do not speak");
		return;
	}
	log_info("state channel: welcomed by %s (%s), channel version %u", endpoint(l),
	    w->software_version, w->version);
	l->st = LINK_UP;
	l->stats.welcomes++;
	l->backoff = 2 * LINK_BACKOFF_MIN_NS;
	l->hb_next = clock_mono_ns() + l->hb_period;
	l->stats_next = clock_mono_ns() + l->stats_period;
	if (l->cb.welcome != NULL)
		l->cb.welcome(l->cb.arg);
}

static void
on_reject(struct link *l, const State__Reject *r)
{
	log_error("state channel: rejected by the manager: %s", r->reason);
	link_fail(l, "rejected");
}

/* A message the manager does not send, or not now. */
static void
unexpected(struct link *l, enum chan_msg type)
{
	log_warn("state channel: unexpected %s from the manager", chan_msg_name(type));
	link_fail(l, "protocol error");
}

/* A snapshot item of type arrives: 1 when a snapshot is being built (the item counts), else 0
 * and the channel fails. */
static int
item_begin(struct link *l, enum chan_msg type)
{
	if (l->building == NULL) {
		log_warn("state channel: %s outside a snapshot", chan_msg_name(type));
		link_fail(l, "protocol error");
		return 0;
	}
	l->build_items++;
	return 1;
}

/* The outcome rv of applying a snapshot item of type: one the state refuses is skipped. */
static void
item_end(enum chan_msg type, int rv)
{
	if (rv < 0)
		log_warn("state channel: snapshot item %s skipped: %s", chan_msg_name(type),
		    err_str(rv));
}

/* SNAPSHOT_END: the snapshot built goes to the owner if it is whole, with the link's periods
 * set from its limits first. */
static void
snapshot_end(struct link *l, const State__SnapshotEnd *e)
{
	struct state *st = l->building;

	l->building = NULL;
	if (st == NULL || e->generation != l->build_gen || e->item_count != l->build_items) {
		log_warn("state channel: snapshot %llu discarded (END generation %llu, %llu items "
			 "announced, %llu received)",
		    (unsigned long long)l->build_gen, (unsigned long long)e->generation,
		    (unsigned long long)e->item_count, (unsigned long long)l->build_items);
		state_free(st);
		return;
	}
	st->generation = l->build_gen;
	log_info("state channel: snapshot %llu: %zu keys, %zu revoked, %zu grants, %zu pools",
	    (unsigned long long)l->build_gen, st->nkeys, hashtab_count(&st->revoked), st->ngrants,
	    st->npools);
	set_periods(l, st->limits.heartbeat_seconds, st->limits.stats_seconds);
	l->cb.snapshot(l->cb.arg, st);
}

/* A delta that lacks the record it is about: nothing to apply. */
static void
delta_empty(enum chan_msg type)
{
	log_warn("state channel: %s not applied: %s", chan_msg_name(type), err_str(ERR_INVALID));
}

/* One verified frame from the manager: the one switch over its message types. Deltas are
 * applied to the snapshot being built as well (it must not lose what changed meanwhile), then
 * handed to the owner. */
static void
link_frame(struct link *l, const struct chan_frame *f)
{
	ProtobufCMessage *m;

	if ((m = chan_frame_unpack(f)) == NULL) {
		link_fail(l, "undecodable payload");
		return;
	}
	if (l->st == LINK_HELLO && f->type != CHAN_WELCOME && f->type != CHAN_REJECT) {
		log_warn("state channel: %s before WELCOME", chan_msg_name(f->type));
		link_fail(l, "protocol error");
		goto out;
	}
	switch (f->type) {
	case CHAN_WELCOME:
	case CHAN_REJECT:
		if (l->st != LINK_HELLO)
			unexpected(l, f->type);
		else if (f->type == CHAN_WELCOME)
			on_welcome(l, (const State__Welcome *)m);
		else
			on_reject(l, (const State__Reject *)m);
		break;
	case CHAN_SNAPSHOT_BEGIN:
		state_free(l->building);
		if ((l->building = state_new()) == NULL) {
			link_fail(l, "out of memory");
			break;
		}
		l->build_gen = ((const State__SnapshotBegin *)m)->generation;
		l->build_items = 0;
		break;
	case CHAN_KEY:
		if (item_begin(l, f->type))
			item_end(f->type, state_key_put(l->building, (const State__Key *)m));
		break;
	case CHAN_REVOKED:
		if (item_begin(l, f->type))
			item_end(
			    f->type, state_revoke(l->building, ((const State__Revoked *)m)->pssid));
		break;
	case CHAN_GRANT:
		if (item_begin(l, f->type))
			item_end(f->type, state_grant_put(l->building, (const State__Grant *)m));
		break;
	case CHAN_POOL:
		if (item_begin(l, f->type))
			item_end(f->type, state_pool_put(l->building, (const State__Pool *)m));
		break;
	case CHAN_LIMITS:
		if (item_begin(l, f->type))
			state_limits_set(l->building, (const State__Limits *)m);
		break;
	case CHAN_SNAPSHOT_END: snapshot_end(l, (const State__SnapshotEnd *)m); break;
	case CHAN_KEY_ADD: {
		const State__Key *k = ((const State__KeyAdd *)m)->key;

		if (k == NULL) {
			delta_empty(f->type);
			break;
		}
		if (l->building != NULL)
			state_key_put(l->building, k);
		LINK_TELL(l, key_add, k);
		break;
	}
	case CHAN_KEY_RETIRE: {
		const char *kid = ((const State__KeyRetire *)m)->kid;

		if (l->building != NULL)
			state_key_retire(l->building, kid);
		LINK_TELL(l, key_retire, kid);
		break;
	}
	case CHAN_REVOKE: {
		const State__Revoke *r = (const State__Revoke *)m;

		if (l->building != NULL)
			state_revoke(l->building, r->pssid);
		LINK_TELL(l, revoke, r->pssid, r->reason);
		break;
	}
	case CHAN_GRANT_RELEASE: {
		const State__GrantRelease *r = (const State__GrantRelease *)m;

		if (l->building != NULL)
			state_grant_release(l->building, r->grant_id);
		LINK_TELL(l, grant_release, r->grant_id, r->reason);
		break;
	}
	case CHAN_SESSION_KILL: {
		const State__SessionKill *k = (const State__SessionKill *)m;

		/* Not state: nothing for the snapshot being built. */
		LINK_TELL(l, session_kill, k->session_id, k->reason);
		break;
	}
	case CHAN_POOL_UPDATE: {
		const State__PoolUpdate *u = (const State__PoolUpdate *)m;

		if (u->pool == NULL) {
			delta_empty(f->type);
		} else if (u->removed) {
			if (l->building != NULL)
				state_pool_remove(l->building, u->pool->id);
			LINK_TELL(l, pool_remove, u->pool->id);
		} else {
			if (l->building != NULL)
				state_pool_put(l->building, u->pool);
			LINK_TELL(l, pool_update, u->pool);
		}
		break;
	}
	case CHAN_ALLOC_RES: on_alloc_res(l, f->corr, (const State__AllocRes *)m); break;
	case CHAN_HEARTBEAT: break;
	default: unexpected(l, f->type); break;
	}
out:
	protobuf_c_message_free_unpacked(m, NULL);
}

/* chanbuf_read()'s handler: stop once the channel is to be dropped. */
static int
on_frame(void *arg, const struct chan_frame *f)
{
	struct link *l = arg;

	l->stats.frames_in++;
	link_frame(l, f);
	return l->broken != NULL;
}

static void
read_in(struct link *l)
{
	ssize_t n = chanbuf_read(l->buf, l->io, LINK_READ_BUDGET, on_frame, l);

	if (n > 0)
		l->last_rx = clock_mono_ns();
	if (n >= 0 || l->broken != NULL)
		return;
	if ((n == CHANBUF_CLOSED || n == CHANBUF_IO) && l->st == LINK_HELLO &&
	    link_dial_is_tls(&l->managers[l->cur])) {
		/* A manager over TLS closes right after the handshake what it refuses: say so,
		 * the operator's next question is whether this agent's credential is. */
		link_fail(l,
		    "closed by the manager before WELCOME (is this agent revoked, or "
		    "not enrolled with that manager?)");
	} else if (n == CHANBUF_CLOSED) {
		link_fail(l, "closed by the manager");
	} else if (n == CHANBUF_IO) {
		link_fail(l, chanio_error(l->io));
	} else {
		log_warn("state channel: %s", chanbuf_err_str((int)n));
		link_fail(l, "protocol error");
	}
}

void
link_handle(struct link *l, unsigned events)
{
	if (l->fd < 0)
		return;
	if (l->st == LINK_DIALING) {
		link_dial_step(l);
		if (l->broken != NULL)
			link_teardown(l);
		return;
	}
	if (events & LOOP_WRITE)
		write_out(l);
	if (l->broken == NULL && (events & LOOP_READ))
		read_in(l);
	if (l->broken != NULL)
		link_teardown(l);
}

/* ---- timers ---- */

static uint64_t
min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t
link_expiry(const struct link *l)
{
	uint64_t t = UINT64_MAX;

	if (l->broken != NULL)
		return 0;
	if (l->pending.head != NULL)
		t = l->pending.head->deadline;
	if (l->late.head != NULL)
		t = min64(t, l->late.head->deadline);
	if (l->st == LINK_IDLE)
		return min64(t, l->reconnect_at ? l->reconnect_at : UINT64_MAX);
	if (l->st == LINK_RESOLVING)
		return min64(t, min64(clock_mono_ns() + RESOLVE_POLL_NS, l->dial_deadline));
	if (l->st == LINK_DIALING)
		return min64(t, l->dial_deadline);
	t = min64(t, l->last_rx + 3 * l->hb_period);
	if (l->hb_next)
		t = min64(t, l->hb_next);
	if (l->stats_next)
		t = min64(t, l->stats_next);
	return t;
}

void
link_expire(struct link *l, uint64_t now)
{
	struct pending *p;

	if (l->broken != NULL)
		link_teardown(l);
	while (l->late.head != NULL && l->late.head->deadline <= now)
		free(pendq_pop(&l->late));
	/* One at a time from the head: a callback may add or cancel requests. */
	while (l->pending.head != NULL && l->pending.head->deadline <= now) {
		struct link_alloc_res res = {.error = ERR_BUSY, .reason = "manager unreachable"};
		int timed_out;

		p = pendq_pop(&l->pending);
		timed_out = p->deadline != 0;
		if (timed_out)
			log_warn(
			    "state channel: ALLOC_REQ %lld unanswered after 2 s", (long long)p->id);
		p->cb(p->arg, &res);
		if (timed_out && l->fd >= 0) {
			/* its answer may still come on this connection */
			p->cb = NULL;
			p->arg = NULL;
			p->deadline = now + LINK_LATE_NS;
			pendq_push(&l->late, p);
			if (l->late.n > LINK_PENDING_MAX)
				free(pendq_pop(&l->late));
		} else {
			free(p);
		}
	}
	if (l->st == LINK_IDLE) {
		if (l->reconnect_at != 0 && now >= l->reconnect_at)
			link_connect(l);
	} else if (l->st == LINK_RESOLVING) {
		link_resolved(l, now);
	} else if (l->st == LINK_DIALING) {
		if (now >= l->dial_deadline)
			link_fail(l, "no TLS handshake within 5 s");
	} else if (now >= l->last_rx + 3 * l->hb_period) {
		link_fail(l, "manager silent for 3 heartbeat periods");
	} else if (l->st == LINK_UP) {
		if (now >= l->hb_next) {
			State__Heartbeat hb;

			state__heartbeat__init(&hb);
			hb.time = clock_unix();
			l->hb_next = now + l->hb_period;
			link_send(l, CHAN_HEARTBEAT, &hb.base);
		}
		if (now >= l->stats_next) {
			l->stats_next = now + l->stats_period;
			if (l->cb.stats != NULL)
				l->cb.stats(l->cb.arg);
		}
	}
	if (l->broken != NULL)
		link_teardown(l);
}

void
link_flush(struct link *l, int timeout_ms)
{
	uint64_t end = clock_mono_ns() + (uint64_t)timeout_ms * 1000000u;

	while (l->fd >= 0 && l->buf != NULL && l->broken == NULL && chanbuf_queued(l->buf) > 0 &&
	    clock_mono_ns() < end) {
		int flags = fcntl(l->fd, F_GETFL);

		/* blocking, with a send timeout, for this last write */
		struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
		fcntl(l->fd, F_SETFL, flags & ~O_NONBLOCK);
		setsockopt(l->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		write_out(l);
		fcntl(l->fd, F_SETFL, flags);
	}
}

void
link_stats(const struct link *l, struct link_stats *out)
{
	*out = l->stats;
}
