#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/clock.h"
#include "../lib/err.h"
#include "../lib/isdas.h"
#include "../lib/log.h"
#include "../proto/chan.h"
#include "../proto/ctrl.h"
#include "ctrl_streams.h"
#include "pssid_index.h"
#include "report.h"
#include "session.h"
#include "../lib/sockaddr.h"
#include "tunnel.h"

#define RESPONSE_MAX (CTRL_MSG_MAX + 1)

enum tunnel_phase {
	T_AWAIT_SESSION, /* accepted: the first request must renew the session */
	T_AWAIT_ASSIGN, /* token valid: the second must assign */
	T_ASSIGNING, /* ALLOC_REQ out, waiting for the manager */
	T_ESTABLISHED,
	T_CLOSED, /* closing or closed: nothing more is done */
};

struct tunnel;

/* An ALLOC_REQ in flight: outlives its tunnel, so that a grant that comes back for a tunnel that
 * is gone is put on hold at once. */
struct alloc_ctx {
	struct tunnels *ts;
	struct tunnel *t; /* NULL once the tunnel is gone */
	int64_t stream_id; /* the request to answer */
	int retry_v6; /* "any address": IPv6 next if IPv4 has none */
	struct report_alloc req; /* req.pssid is the tunnel's: used while t lives */
	struct addr want; /* req.want points here */
};

struct tunnel {
	struct tunnels *ts;
	struct quic_conn *conn;
	enum tunnel_phase phase;
	char pssid[PSSID_MAX + 1]; /* "" until a token is valid */
	uint64_t session_id;
	int64_t expires_at; /* the token's exp */
	uint64_t hs_deadline; /* the handshake limit, until established */
	uint64_t started_ns;
	int64_t started_at;
	char remote[SOCKADDR_STRLEN];
	int has_grant, revoked, released, up_sent, ended;
	int established; /* it completed the handshake once (counted in events) */
	unsigned close_index; /* 1 + the events.closes[] index of its close; 0: not closed yet */
	uint64_t grant_id, isd_as;
	struct addr addr;
	struct alloc_ctx *alloc;
	struct ctrl_streams streams;
	struct dp_port port;
	struct dataplane *dp; /* the one its port is in: that of its pool's mode */
	struct tunnel *prev, *next; /* every tunnel */
	struct pssid_entry pent; /* in the pssid index (pent.pssid is pssid) */
};

struct tunnels {
	struct tunnel_config cfg;
	struct state *const *live;
	struct link *link;
	struct dataplane *dp_ip, *dp_scion; /* dp_scion NULL: no SCION underlay */
	struct tunnel *all;
	unsigned n, nestablished;
	struct pssid_index *pidx; /* pssid -> the live tunnel of that pssid */
	uint64_t last_ms; /* session ids */
	uint64_t started_ns;
	struct counters total; /* of ended sessions */
	struct tunevents events;
	int dirty;
};

static void tunnel_close(struct tunnel *t, uint64_t code, const char *reason);

/* ---- the tunnels ---- */

int
tunnels_port_send(void *conn, const void *pkt, size_t len)
{
	switch (quic_datagram_send(conn, pkt, len)) {
	case QUIC_OK: return 0;
	case QUIC_ERR_TOO_BIG: return DP_DROP_TOO_BIG;
	default: return DP_DROP_BLOCKED;
	}
}

size_t
tunnels_port_room(void *conn)
{
	return quic_conn_max_datagram(conn);
}

struct tunnels *
tunnels_new(const struct tunnel_config *cfg, struct state *const *live, struct link *link,
    struct dataplane *dp_ip, struct dataplane *dp_scion)
{
	struct tunnels *ts;

	if ((ts = calloc(1, sizeof(*ts))) == NULL)
		return NULL;
	ts->cfg = *cfg;
	if (ts->cfg.handshake_timeout_ns == 0)
		ts->cfg.handshake_timeout_ns = TUNNEL_HANDSHAKE_NS;
	ts->live = live;
	ts->link = link;
	ts->dp_ip = dp_ip;
	ts->dp_scion = dp_scion;
	ts->started_ns = clock_mono_ns();
	if ((ts->pidx = pssid_index_new()) == NULL) {
		tunnels_free(ts);
		return NULL;
	}
	return ts;
}

void
tunnels_free(struct tunnels *ts)
{
	if (ts == NULL)
		return;
	pssid_index_free(ts->pidx);
	free(ts);
}

void
tunnels_set_link(struct tunnels *ts, struct link *link)
{
	ts->link = link;
}

int
tunnels_take_dirty(struct tunnels *ts)
{
	int d = ts->dirty;

	ts->dirty = 0;
	return d;
}

/* ---- reports to the manager ---- */

/* Add the drops of the data planes that were no session's (packets from the sink side for no
 * tunnel) to *sum. */
static void
unowned_add(const struct tunnels *ts, struct counters *sum)
{
	struct dp_stats dps;

	dataplane_stats(ts->dp_ip, &dps);
	counters_add(sum, &dps.unowned);
	if (ts->dp_scion != NULL) {
		dataplane_stats(ts->dp_scion, &dps);
		counters_add(sum, &dps.unowned);
	}
}

static void
report_up(struct tunnel *t)
{
	struct report_session r = {
	    .session_id = t->session_id,
	    .pssid = t->pssid,
	    .has_grant = t->has_grant,
	    .grant_id = t->grant_id,
	    .isd_as = t->isd_as,
	    .addr = t->addr,
	    .remote = t->remote,
	    .started_at = t->started_at,
	    .expires_at = t->expires_at,
	};

	if (report_session_up(t->ts->link, &r) == 0)
		t->up_sent = 1;
}

/* STATS: every established session's counters, the totals with those of ended sessions and the
 * data plane's drops that were no session's (packets from the TUN device for no tunnel). */
static void
stats_send(struct tunnels *ts, int reconcile)
{
	struct report_stats_entry *e = NULL;
	struct counters sum = ts->total;
	size_t n = 0;

	if (!link_up(ts->link))
		return;
	if (ts->nestablished > 0 && (e = calloc(ts->nestablished, sizeof(*e))) == NULL) {
		log_error("stats: out of memory");
		return;
	}
	for (struct tunnel *t = ts->all; t != NULL; t = t->next) {
		if (t->phase != T_ESTABLISHED || n == ts->nestablished)
			continue;
		e[n].session_id = t->session_id;
		e[n].c = t->port.c;
		e[n].expires_at = t->expires_at;
		n++;
		counters_add(&sum, &t->port.c);
	}
	unowned_add(ts, &sum);
	report_stats(
	    ts->link, clock_mono_ns() - ts->started_ns, e, n, &sum, &ts->events, reconcile);
	free(e);
}

void
tunnels_report_all(struct tunnels *ts)
{
	for (struct tunnel *t = ts->all; t != NULL; t = t->next)
		if (t->phase == T_ESTABLISHED)
			report_up(t);
	stats_send(ts, 1);
}

void
tunnels_report_stats(struct tunnels *ts)
{
	stats_send(ts, 0);
}

void
tunnels_metrics(const struct tunnels *ts, struct tunnels_metrics *out)
{
	out->total = ts->total;
	for (const struct tunnel *t = ts->all; t != NULL; t = t->next)
		if (!t->ended)
			counters_add(&out->total, &t->port.c);
	unowned_add(ts, &out->total);
	out->events = ts->events;
	out->connections = ts->n;
	out->established = ts->nestablished;
	out->uptime_ns = clock_mono_ns() - ts->started_ns;
}

/* ---- session end ---- */

/* Everything a session's end means, once: routes, the grant on hold, SESSION_DOWN, the log. */
static void
tunnel_end(struct tunnel *t, const char *reason)
{
	struct tunnels *ts = t->ts;
	char a[ADDR_STRLEN] = "-";
	unsigned code;

	if (t->ended)
		return;
	t->ended = 1;
	dataplane_route_del(t->dp, &t->port);
	if (t->alloc != NULL) {
		t->alloc->t = NULL; /* its answer will find no tunnel */
		t->alloc = NULL;
	}
	/* with the link down the manager learns it at the reconcile after WELCOME */
	if (t->has_grant && !t->revoked && !t->released)
		report_hold(ts->link, t->grant_id, t->session_id);
	if (t->up_sent)
		report_session_down(ts->link, t->session_id, t->has_grant ? t->grant_id : 0, reason,
		    &t->port.c, clock_mono_ns() - t->started_ns);
	counters_add(&ts->total, &t->port.c);
	code = t->close_index > 0 ? t->close_index - 1 : TUNEVENTS_CLOSE_OTHER;
	if (!t->established)
		ts->events.handshake_failures[code]++;
	else
		ts->events.closes[code]++;
	if (t->pssid[0] != '\0')
		pssid_index_del(ts->pidx, &t->pent);
	if (t->has_grant)
		addr_format(&t->addr, a);
	if (t->pssid[0] != '\0')
		log_info("session end: pssid %s address %s remote %s session %llu: %s", t->pssid, a,
		    t->remote, (unsigned long long)t->session_id, reason);
	else
		log_debug("connection from %s ended in the handshake: %s", t->remote, reason);
}

static void
set_phase(struct tunnel *t, enum tunnel_phase p)
{
	if (t->phase == T_ESTABLISHED)
		t->ts->nestablished--;
	if (p == T_ESTABLISHED) {
		t->ts->nestablished++;
		if (!t->established)
			t->ts->events.handshakes++;
		t->established = 1;
	}
	t->phase = p;
}

/* Close the connection (code, reason) and end the session at once. */
static void
tunnel_close(struct tunnel *t, uint64_t code, const char *reason)
{
	if (t->phase == T_CLOSED)
		return;
	set_phase(t, T_CLOSED);
	t->ts->dirty = 1;
	t->close_index = tunevents_close_index(code) + 1;
	quic_conn_close(t->conn, code, reason);
	tunnel_end(t, reason);
}

/* The connection's deadline: the handshake limit until established, and the session expiry. */
static void
tunnel_arm(struct tunnel *t)
{
	uint64_t at = 0;

	if (t->phase < T_ESTABLISHED)
		at = t->hs_deadline;
	if (t->pssid[0] != '\0') {
		struct timespec rt;
		uint64_t exp;

		clock_gettime(CLOCK_REALTIME, &rt);
		exp = session_expiry_deadline(t->expires_at,
		    (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec, clock_mono_ns());
		if (at == 0 || exp < at)
			at = exp;
	}
	quic_conn_set_deadline(t->conn, at);
}

/* ---- control requests ---- */

/* Write the answer on stream id and FIN it; a stream whose request has ended is forgotten. */
static void
answer(struct tunnel *t, int64_t id, int status, const void *body, size_t len)
{
	uint8_t out[RESPONSE_MAX];
	ssize_t n;

	t->ts->dirty = 1;
	if ((n = ctrl_response(status, body, len, out, sizeof(out))) < 0) {
		log_error("control response %d: %s", status, ctrl_err_str((int)n));
		n = ctrl_response(500, "internal error", 14, out, sizeof(out));
	}
	if (n > 0)
		quic_stream_send(t->conn, id, out, (size_t)n, 1);
	ctrl_streams_answered(&t->streams, id);
}

static void
answer_text(struct tunnel *t, int64_t id, int status, const char *text)
{
	answer(t, id, status, text, strlen(text));
}

static int
handshaking(const struct tunnel *t)
{
	return t->phase < T_ESTABLISHED;
}

static uint64_t
unix_ms(void)
{
	struct timespec rt;

	clock_gettime(CLOCK_REALTIME, &rt);
	return (uint64_t)rt.tv_sec * 1000u + (uint64_t)rt.tv_nsec / 1000000u;
}

/* renew_session / update_token. Returns the status answered. */
static int
do_renew(struct tunnel *t, int64_t id, const struct ctrl_req *req)
{
	struct tunnels *ts = t->ts;
	const struct state *st = *ts->live;
	struct jwt_claims cl;
	uint8_t body[32];
	struct tunnel *old;
	ssize_t n;
	int rv;

	rv = state_verify_token(st, (const char *)req->token, req->token_len, clock_unix(), &cl);
	if (rv == JWT_ERR_INTERNAL) {
		answer_text(t, id, 500, "internal error");
		return 500;
	}
	if (rv < 0 || state_revoked(st, cl.pssid) ||
	    (t->pssid[0] != '\0' && strcmp(t->pssid, cl.pssid) != 0)) {
		log_warn("connection from %s: token refused: %s", t->remote,
		    rv < 0                            ? jwt_err_str(rv)
			: state_revoked(st, cl.pssid) ? "pssid revoked"
						      : "another pssid than the session's");
		answer_text(t, id, 401, "unauthorized");
		return 401;
	}
	if (t->pssid[0] == '\0') {
		/* A new session of this pssid: the older one ends here (one live tunnel per pssid). */
		strcpy(t->pssid, cl.pssid);
		t->session_id = session_id_next(&ts->last_ms, unix_ms(), ts->cfg.agent_id);
		t->started_at = clock_unix();
		if ((old = pssid_index_find(ts->pidx, cl.pssid)) != NULL) {
			log_info("session of pssid %s from %s supersedes the one from %s", cl.pssid,
			    t->remote, old->remote);
			tunnel_close(old, CTRL_CLOSE_INTERNAL, "superseded");
			pssid_index_del(ts->pidx, &old->pent);
		}
		if (pssid_index_add(ts->pidx, &t->pent) < 0) {
			answer_text(t, id, 500, "internal error");
			return 500;
		}
		set_phase(t, T_AWAIT_ASSIGN);
	}
	t->expires_at = cl.exp;
	tunnel_arm(t);
	if ((n = ctrl_session_response_encode((uint64_t)cl.exp, body, sizeof(body))) < 0) {
		answer_text(t, id, 500, "internal error");
		return 500;
	}
	answer(t, id, 200, body, (size_t)n);
	return 200;
}

static void on_alloc(void *arg, const struct link_alloc_res *res);

/* Send (or re-send for IPv6) the ALLOC_REQ of ctx. 0 or -1 (the link is down). */
static int
alloc_send(struct alloc_ctx *ctx)
{
	return report_alloc(ctx->ts->link, &ctx->req, on_alloc, ctx) < 0 ? -1 : 0;
}

/* assign_addresses. Returns the status answered, or 0 when the answer waits for the manager. */
static int
do_assign(struct tunnel *t, int64_t id, const struct ctrl_req *req)
{
	struct ctrl_assign want;
	struct alloc_ctx *ctx;
	int rv;

	if ((rv = ctrl_assign_request_decode(req->body, req->body_len, &want)) != CTRL_OK) {
		answer_text(t, id, ctrl_err_status(rv), ctrl_err_str(rv));
		return ctrl_err_status(rv);
	}
	if (t->alloc != NULL) {
		answer_text(t, id, 400, "an address assignment is in progress");
		return 400;
	}
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL) {
		answer_text(t, id, 500, "internal error");
		return 500;
	}
	ctx->ts = t->ts;
	ctx->t = t;
	ctx->stream_id = id;
	ctx->req.pssid = t->pssid;
	ctx->req.session_id = t->session_id;
	/* the manager then never grants an address of a pool this agent cannot forward */
	ctx->req.modes = CHAN_MODE_IP | (t->ts->dp_scion != NULL ? CHAN_MODE_SCION : 0);
	if (want.has_request) {
		ctx->req.isd_as = want.isd_as;
		ctx->req.family = want.addr.family;
		if (!want.any) {
			ctx->want = want.addr;
			ctx->req.want = &ctx->want;
		}
	} else {
		ctx->req.family = 4;
		ctx->retry_v6 = 1;
	}
	if (alloc_send(ctx) < 0) {
		free(ctx);
		answer_text(t, id, 503, "manager unreachable");
		return 503;
	}
	t->alloc = ctx;
	if (t->phase == T_AWAIT_ASSIGN)
		set_phase(t, T_ASSIGNING);
	return 0;
}

/* The handshake's assignment failed: the one close (code 1) for every way it can, the reason
 * saying whether the manager could not be reached or gave no address. */
static void
close_unassigned(struct tunnel *t, int unreachable)
{
	tunnel_close(t, CTRL_CLOSE_INVALID_REQUEST,
	    unreachable ? "manager unreachable" : "no address available");
}

/* The data plane of address a: the scion one for an address of a pool in scion mode, else the
 * ip one. NULL, with the reason in why (whylen bytes), for a scion pool's address on an agent
 * without a SCION underlay, which could not carry its packets. */
static struct dataplane *
plane_of(struct tunnels *ts, const struct addr *a, char *why, size_t whylen)
{
	const struct state_pool *p = state_pool_of(*ts->live, a);

	if (p == NULL || p->mode != STATE_POOL_SCION)
		return ts->dp_ip;
	if (ts->dp_scion == NULL)
		snprintf(why, whylen,
		    "pool \"%s\" is in scion mode and this agent has no SCION underlay "
		    "(--scion-topology or --scion-router)",
		    p->name);
	return ts->dp_scion;
}

static void
on_alloc(void *arg, const struct link_alloc_res *res)
{
	struct alloc_ctx *ctx = arg;
	struct tunnel *t = ctx->t;
	char a[ADDR_STRLEN], ia[ISDAS_STRLEN], refusal[TEXT_NAME_BYTES(64) + 128];
	struct dataplane *dp;
	uint8_t body[128];
	int64_t sid;
	ssize_t n;

	if (t == NULL) {
		/* The tunnel is gone: a grant made for it goes on hold now. */
		if (res->error == 0)
			report_hold(ctx->ts->link, res->grant_id, ctx->req.session_id);
		free(ctx);
		return;
	}
	if (res->error != 0 && ctx->retry_v6 &&
	    (res->error == ERR_NO_POOL || res->error == ERR_POOL_EXHAUSTED)) {
		ctx->retry_v6 = 0;
		ctx->req.family = 6;
		if (alloc_send(ctx) == 0)
			return;
	}
	t->alloc = NULL;
	if (res->error != 0) {
		int unreachable = res->error == ERR_BUSY || res->error == ERR_DB ||
		    res->error == ERR_NOMEM || res->error == ERR_LIMIT;
		const char *why = res->reason && res->reason[0] ? res->reason : err_str(res->error);

		log_warn("session %llu of pssid %s: no address: %s",
		    (unsigned long long)t->session_id, t->pssid, why);
		answer_text(t, ctx->stream_id, unreachable ? 503 : 400,
		    unreachable ? "manager unreachable" : why);
		if (handshaking(t))
			close_unassigned(t, unreachable);
		free(ctx);
		return;
	}
	if ((dp = plane_of(t->ts, &res->addr, refusal, sizeof(refusal))) == NULL) {
		log_warn("session %llu of pssid %s: no address: %s",
		    (unsigned long long)t->session_id, t->pssid, refusal);
		/* made for this tunnel, which cannot use it: on hold, as at a session's end */
		if (!t->has_grant || t->grant_id != res->grant_id)
			report_hold(t->ts->link, res->grant_id, t->session_id);
		answer_text(t, ctx->stream_id, 400, refusal);
		if (handshaking(t))
			close_unassigned(t, 0);
		free(ctx);
		return;
	}
	sid = ctx->stream_id;
	free(ctx);
	if (t->has_grant && t->grant_id != res->grant_id)
		report_hold(t->ts->link, t->grant_id, t->session_id);
	t->has_grant = 1;
	t->grant_id = res->grant_id;
	t->isd_as = res->isd_as;
	t->addr = res->addr;
	if (dp != t->dp) {
		dataplane_route_del(
		    t->dp, &t->port); /* a re-assignment into a pool of the other mode */
		t->dp = dp;
	}
	if (dataplane_route_add(t->dp, &t->port, &t->addr) < 0 ||
	    (n = ctrl_assign_response_encode(t->isd_as, &t->addr, body, sizeof(body))) < 0) {
		answer_text(t, sid, 500, "internal error");
		tunnel_close(t, CTRL_CLOSE_INTERNAL, "internal error");
		return;
	}
	answer(t, sid, 200, body, (size_t)n);
	addr_format(&t->addr, a);
	isdas_format(t->isd_as, ia);
	if (handshaking(t)) {
		set_phase(t, T_ESTABLISHED);
		tunnel_arm(t);
		log_info("session start: pssid %s address %s (%s) remote %s session %llu", t->pssid,
		    a, ia, t->remote, (unsigned long long)t->session_id);
	} else {
		log_info("session %llu of pssid %s re-assigned: address %s (%s)",
		    (unsigned long long)t->session_id, t->pssid, a, ia);
	}
	report_up(t);
}

/* assign_socketaddr: the client's UDP address as we see it. */
static int
do_sockaddr(struct tunnel *t, int64_t id)
{
	struct addr a;
	uint16_t port;
	uint8_t body[64];
	ssize_t n;

	if (sockaddr_host(quic_conn_remote(t->conn, NULL), &a, &port) < 0 ||
	    (n = ctrl_sockaddr_response_encode(&a, port, body, sizeof(body))) < 0) {
		answer_text(t, id, 500, "internal error");
		return 500;
	}
	answer(t, id, 200, body, (size_t)n);
	if (handshaking(t)) {
		set_phase(t, T_ESTABLISHED);
		tunnel_arm(t);
		log_info("session start: pssid %s (socket address only) remote %s session %llu",
		    t->pssid, t->remote, (unsigned long long)t->session_id);
		report_up(t);
	}
	return 200;
}

/* A complete request (rv CTRL_OK, the stream ended) or a parse error on stream id. */
static void
on_request(struct tunnel *t, int64_t id, int rv, const struct ctrl_req *req)
{
	int status;

	if (rv < 0) {
		log_warn("connection from %s: control request: %s", t->remote, ctrl_err_str(rv));
		answer_text(t, id, ctrl_err_status(rv), ctrl_err_str(rv));
		if (handshaking(t))
			tunnel_close(t, (uint64_t)ctrl_err_close(rv), ctrl_err_str(rv));
		return;
	}
	switch (t->phase) {
	case T_AWAIT_SESSION:
		if (req->path != CTRL_PATH_RENEW_SESSION && req->path != CTRL_PATH_UPDATE_TOKEN) {
			log_warn("connection from %s: %s before the session", t->remote,
			    ctrl_path_str(req->path));
			answer_text(t, id, 400, "expected session renewal request");
			tunnel_close(
			    t, CTRL_CLOSE_INVALID_REQUEST, "expected session renewal request");
			return;
		}
		if ((status = do_renew(t, id, req)) != 200)
			tunnel_close(t, CTRL_CLOSE_INVALID_REQUEST,
			    status == 401 ? "unauthorized" : "internal error");
		return;
	case T_AWAIT_ASSIGN:
		if (req->path == CTRL_PATH_ASSIGN_ADDRESSES)
			status = do_assign(t, id, req);
		else if (req->path == CTRL_PATH_ASSIGN_SOCKETADDR)
			status = do_sockaddr(t, id);
		else {
			log_warn("connection from %s: %s instead of an assignment", t->remote,
			    ctrl_path_str(req->path));
			answer_text(t, id, 400, "expected address assignment request");
			tunnel_close(
			    t, CTRL_CLOSE_INVALID_REQUEST, "expected address assignment request");
			return;
		}
		if (status != 0 && status != 200)
			close_unassigned(t, status == 503);
		return;
	case T_ASSIGNING:
	case T_ESTABLISHED:
		/* Nothing here closes the connection (§1.4: the old expiry stays). */
		switch (req->path) {
		case CTRL_PATH_RENEW_SESSION:
		case CTRL_PATH_UPDATE_TOKEN: do_renew(t, id, req); break;
		case CTRL_PATH_ASSIGN_ADDRESSES:
			if (t->phase == T_ASSIGNING)
				answer_text(t, id, 400, "an address assignment is in progress");
			else
				do_assign(t, id, req);
			break;
		case CTRL_PATH_ASSIGN_SOCKETADDR: do_sockaddr(t, id); break;
		}
		return;
	case T_CLOSED: return;
	}
}

/* ---- transport callbacks ---- */

static int
cb_conn_new(void *arg, struct quic_conn *c)
{
	struct tunnels *ts = arg;
	const struct state *st = *ts->live;
	struct tunnel *t;
	socklen_t len;

	if (st->limits.max_sessions != 0 && ts->n >= st->limits.max_sessions) {
		log_warn("connection refused: %u sessions, the limit", ts->n);
		return -1;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	t->ts = ts;
	t->conn = c;
	t->phase = T_AWAIT_SESSION;
	ctrl_streams_init(&t->streams);
	t->started_ns = clock_mono_ns();
	t->hs_deadline = t->started_ns + ts->cfg.handshake_timeout_ns;
	t->port.conn = c;
	t->dp = ts->dp_ip; /* until an address of a scion pool is assigned */
	t->pent.pssid = t->pssid;
	t->pent.owner = t;
	sockaddr_format(quic_conn_remote(c, &len), t->remote, sizeof(t->remote));
	t->next = ts->all;
	if (ts->all != NULL)
		ts->all->prev = t;
	ts->all = t;
	ts->n++;
	quic_conn_set_data(c, t);
	tunnel_arm(t);
	return 0;
}

static void
cb_stream_data(void *arg, struct quic_conn *c, int64_t id, const uint8_t *data, size_t len, int fin)
{
	struct tunnel *t = quic_conn_data(c);
	struct ctrl_req req;
	int rv;

	(void)arg;
	if (t == NULL || t->phase == T_CLOSED)
		return;
	switch (ctrl_streams_feed(&t->streams, id, data, len, fin, &rv, &req)) {
	case CTRL_STREAMS_WAIT: return;
	case CTRL_STREAMS_READY: on_request(t, id, rv, &req); return;
	case CTRL_STREAMS_FULL:
		log_warn("connection from %s: too many control requests at once", t->remote);
		tunnel_close(t, CTRL_CLOSE_INVALID_REQUEST, "too many control requests");
		return;
	default: tunnel_close(t, CTRL_CLOSE_INTERNAL, "internal error"); return;
	}
}

static void
cb_stream_reset(void *arg, struct quic_conn *c, int64_t id, uint64_t code)
{
	struct tunnel *t = quic_conn_data(c);

	(void)arg;
	if (t == NULL || t->phase == T_CLOSED)
		return;
	if (handshaking(t) && ctrl_streams_waiting(&t->streams, id) == 1) {
		log_warn("connection from %s: control stream reset (code %llu) in the handshake",
		    t->remote, (unsigned long long)code);
		tunnel_close(t, CTRL_CLOSE_INTERNAL, "control stream closed early");
		return;
	}
	ctrl_streams_drop(&t->streams, id);
}

static void
cb_datagram(void *arg, struct quic_conn *c, const uint8_t *data, size_t len)
{
	struct tunnel *t = quic_conn_data(c);

	(void)arg;
	if (t == NULL || t->phase != T_ESTABLISHED)
		return;
	dataplane_uplink(t->dp, &t->port, data, len);
}

static void
cb_deadline(void *arg, struct quic_conn *c)
{
	struct tunnel *t = quic_conn_data(c);

	(void)arg;
	if (t == NULL || t->phase == T_CLOSED)
		return;
	if (handshaking(t) && clock_mono_ns() >= t->hs_deadline) {
		log_warn("connection from %s: no session within the handshake limit", t->remote);
		tunnel_close(t, CTRL_CLOSE_TIMEOUT, "timeout establishing snaptun");
	} else if (t->pssid[0] != '\0' && (int64_t)(unix_ms() / 1000) > t->expires_at) {
		/* the clock tunnel_arm() computed the deadline with: time() (clock_unix) lags it
		 * by up to a tick at the second's turn, and re-arming then fired at once, in a
		 * loop, until time() caught up */
		tunnel_close(t, CTRL_CLOSE_SESSION_EXPIRED, "session expired");
	} else {
		tunnel_arm(t); /* early (the wall clock moved): wait again */
	}
}

static void
cb_conn_closed(void *arg, struct quic_conn *c, const struct quic_close *how)
{
	struct tunnels *ts = arg;
	struct tunnel *t = quic_conn_data(c);
	char why[QUIC_REASON_MAX + 64];

	if (t == NULL)
		return;
	if (how->idle)
		snprintf(why, sizeof(why), "idle timeout");
	else if (how->handshake_failed)
		snprintf(why, sizeof(why), "TLS handshake failed");
	else if (how->by_peer)
		snprintf(why, sizeof(why), "closed by the client (%s code %llu%s%s)",
		    how->app ? "application" : "transport", (unsigned long long)how->code,
		    how->reason[0] ? ": " : "", how->reason);
	else
		snprintf(why, sizeof(why), "closed (%s code %llu%s%s)",
		    how->app ? "application" : "transport", (unsigned long long)how->code,
		    how->reason[0] ? ": " : "", how->reason);
	if (t->phase != T_CLOSED)
		set_phase(t, T_CLOSED);
	/* Not closed by the tunnel layer: the client's application code, or other. */
	if (t->close_index == 0)
		t->close_index = 1 +
		    (how->app && !how->idle && !how->handshake_failed
			    ? tunevents_close_index(how->code)
			    : TUNEVENTS_CLOSE_OTHER);
	tunnel_end(t, why);
	ctrl_streams_free(&t->streams);
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		ts->all = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	ts->n--;
	quic_conn_set_data(c, NULL);
	free(t);
}

static void
cb_conn_ready(void *arg, struct quic_conn *c)
{
	struct tunnel *t = quic_conn_data(c);

	(void)arg;
	if (t != NULL)
		log_debug("connection from %s: TLS handshake done", t->remote);
}

void
tunnels_callbacks(struct tunnels *ts, struct quic_callbacks *cb)
{
	memset(cb, 0, sizeof(*cb));
	cb->arg = ts;
	cb->conn_new = cb_conn_new;
	cb->conn_ready = cb_conn_ready;
	cb->stream_data = cb_stream_data;
	cb->stream_reset = cb_stream_reset;
	cb->datagram = cb_datagram;
	cb->deadline = cb_deadline;
	cb->conn_closed = cb_conn_closed;
}

/* ---- what the manager says ---- */

void
tunnels_revoke(struct tunnels *ts, const char *pssid)
{
	struct tunnel *t;

	if ((t = pssid_index_find(ts->pidx, pssid)) == NULL || t->phase == T_CLOSED)
		return;
	t->revoked = 1;
	tunnel_close(t, CTRL_CLOSE_UNAUTHENTICATED, "revoked");
}

void
tunnels_kill(struct tunnels *ts, uint64_t session_id, const char *reason)
{
	if (session_id == 0)
		return; /* the id of every connection still before its session */
	for (struct tunnel *t = ts->all; t != NULL; t = t->next) {
		if (t->session_id == session_id && t->phase != T_CLOSED) {
			tunnel_close(t, CTRL_CLOSE_INTERNAL,
			    reason && reason[0] ? reason : "closed by administrator");
			return;
		}
	}
}

void
tunnels_release_grant(struct tunnels *ts, uint64_t grant_id)
{
	for (struct tunnel *t = ts->all; t != NULL; t = t->next) {
		if (t->has_grant && t->grant_id == grant_id && t->phase != T_CLOSED) {
			t->released = 1; /* not to be put on hold */
			tunnel_close(t, CTRL_CLOSE_INTERNAL, "address released");
		}
	}
}

void
tunnels_enforce(struct tunnels *ts)
{
	const struct state *st = *ts->live;

	for (struct tunnel *t = ts->all; t != NULL; t = t->next) {
		if (t->phase != T_CLOSED && t->pssid[0] != '\0' && state_revoked(st, t->pssid)) {
			t->revoked = 1;
			tunnel_close(t, CTRL_CLOSE_UNAUTHENTICATED, "revoked");
		}
	}
}
