/* The tunnel state machine (agent/tunnel.c) through real loopback QUIC connections: the agent's
 * QUIC server with the tunnels' callbacks and an ip-mode hub data plane, test clients speaking
 * the control requests (proto/ctrl.h) on their own sockets, and a fake manager on the state
 * channel's UNIX socket that welcomes the link, answers ALLOC_REQs as each test says and records
 * the reports. Everything runs in this one process on one poll loop; the handshake limit is
 * shortened through tunnel_config.handshake_timeout_ns.
 *
 * Covered: the handshake order (renew then assign; either request out of turn closes with code
 * 1), the handshake limit (code 2, not before it, and not once established), a refused token
 * (401, code 1), an assignment the manager refuses (its reason as the 400 body after trying IPv6
 * too; code 1) or cannot answer (503), revocation (code 3, no HOLD_REQ), an administrative kill
 * (code 5 with the reason), a newer session of the same pssid (code 5 "superseded"), session
 * expiry (code 4), the hub between two tunnels, and the reports (SESSION_UP/DOWN, HOLD_REQ). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../agent/dataplane.h"
#include "../../agent/dpmode.h"
#include "../../agent/dpsink.h"
#include "../../agent/link.h"
#include "../../agent/quic/quic.h"
#include "../../agent/state.h"
#include "../../agent/tunnel.h"
#include "../../lib/clock.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "../../lib/loop.h"
#include "../../proto/ctrl.h"
#include "../../proto/jwt.h"
#include "check.h"

#define AGENT_ID 5
#define MS 1000000ull
#define HANDSHAKE_MS 1000 /* the shortened tunnel handshake limit */
#define MAX_CLIENTS 4

/* ---- the fake manager ---- */

static struct {
	unsigned char key[CHAN_KEY_LEN];
	int lfd, fd; /* listening, and the link's connection */
	struct chan_dec *dec;
	uint64_t seq;
	/* how to answer the next ALLOC_REQs: error 0 grants next_addr (then next_addr + 1 ...) */
	int alloc_error;
	const char *alloc_reason;
	int away; /* accept no connection: a link that connects is never welcomed */
	uint8_t next_addr;
	/* what the agent said */
	int allocs, alloc_family[8];
	unsigned alloc_modes; /* of the last ALLOC_REQ */
	int ups, downs, holds;
	uint64_t up_session, up_grant, hold_grant;
	char down_reason[256];
} mgr;

static void
mgr_send(enum chan_msg type, const ProtobufCMessage *m, uint64_t corr)
{
	unsigned char buf[4096];
	ssize_t n =
	    chan_frame_pack(mgr.key, type, CHAN_NODE_MANAGER, ++mgr.seq, corr, m, buf, sizeof(buf));

	if (n < 0 || write(mgr.fd, buf, (size_t)n) != n)
		abort();
}

static void
mgr_alloc(const State__AllocReq *r, uint64_t corr)
{
	State__AllocRes res;
	uint8_t a4[4] = {10, 0, 0, 0};

	if (mgr.allocs < 8)
		mgr.alloc_family[mgr.allocs] = (int)r->family;
	mgr.allocs++;
	mgr.alloc_modes = r->modes;
	state__alloc_res__init(&res);
	if (mgr.alloc_error != 0) {
		res.error_code = mgr.alloc_error;
		res.reason = (char *)(uintptr_t)mgr.alloc_reason;
	} else {
		a4[3] = mgr.next_addr++;
		res.grant_id = 100 + a4[3];
		res.address.data = a4;
		res.address.len = 4;
		res.isd_as = 0x1ff0000000110ull;
		res.prefix_length = 24;
	}
	mgr_send(CHAN_ALLOC_RES, &res.base, corr);
}

static void
mgr_frame(const struct chan_frame *f)
{
	ProtobufCMessage *m = chan_frame_unpack(f);

	if (m == NULL)
		abort();
	switch (f->type) {
	case CHAN_HELLO: {
		State__Welcome w;

		state__welcome__init(&w);
		w.version = 1;
		w.software_version = "fake manager";
		mgr_send(CHAN_WELCOME, &w.base, 0);
		break;
	}
	case CHAN_ALLOC_REQ: mgr_alloc((const State__AllocReq *)m, f->seq); break;
	case CHAN_SESSION_UP:
		mgr.ups++;
		mgr.up_session = ((const State__SessionUp *)m)->session_id;
		mgr.up_grant = ((const State__SessionUp *)m)->grant_id;
		break;
	case CHAN_SESSION_DOWN:
		mgr.downs++;
		snprintf(mgr.down_reason, sizeof(mgr.down_reason), "%s",
		    ((const State__SessionDown *)m)->reason);
		break;
	case CHAN_HOLD_REQ:
		mgr.holds++;
		mgr.hold_grant = ((const State__HoldReq *)m)->grant_id;
		break;
	default: break;
	}
	protobuf_c_message_free_unpacked(m, NULL);
}

/* Drop the link's connection (the loop accepts the next one unless mgr.away). */
static void
mgr_hangup(void)
{
	if (mgr.fd >= 0)
		close(mgr.fd);
	mgr.fd = -1;
	chan_dec_free(mgr.dec);
	mgr.dec = NULL;
}

static void
mgr_read(void)
{
	unsigned char buf[65536], *p = buf;
	struct chan_frame f;
	ssize_t n, k;

	if ((n = read(mgr.fd, buf, sizeof(buf))) == 0)
		mgr_hangup(); /* the link gave up on this connection: take its next one */
	if (n <= 0)
		return;
	while (n > 0) {
		if ((k = chan_dec_feed(mgr.dec, p, (size_t)n)) < 0)
			abort();
		p += k;
		n -= k;
		while (chan_dec_next(mgr.dec, &f) == 1)
			mgr_frame(&f);
	}
}

/* ---- the agent side ---- */

static struct state *st;
static struct dataplane *dp;
static struct tunnels *ts;
static struct quic_server *srv;
static struct link *lnk;
static struct loop *lp; /* the link watches its socket there */
static struct jwt_signer *signer, *stranger;

/* ---- test clients ---- */

struct reply {
	int64_t sid;
	uint8_t buf[4096];
	size_t len;
	int fin;
};

struct cli {
	struct quic_conn *c; /* NULL once closed */
	int ready, closed;
	struct quic_close how;
	uint64_t closed_at;
	struct reply r[4];
	int nr;
	int dgrams;
	size_t dgram_len;
};

static struct cli *clis[MAX_CLIENTS];

static void
cli_ready(void *arg, struct quic_conn *c)
{
	(void)c;
	((struct cli *)arg)->ready = 1;
}

static void
cli_stream(void *arg, struct quic_conn *c, int64_t sid, const uint8_t *data, size_t len, int fin)
{
	struct cli *cl = arg;
	struct reply *r = NULL;

	(void)c;
	for (int i = 0; i < cl->nr; i++)
		if (cl->r[i].sid == sid)
			r = &cl->r[i];
	if (r == NULL) {
		if (cl->nr == 4)
			return;
		r = &cl->r[cl->nr++];
		r->sid = sid;
	}
	if (len > sizeof(r->buf) - r->len)
		len = sizeof(r->buf) - r->len;
	memcpy(r->buf + r->len, data, len);
	r->len += len;
	r->fin |= fin;
}

static void
cli_datagram(void *arg, struct quic_conn *c, const uint8_t *data, size_t len)
{
	struct cli *cl = arg;

	(void)c;
	(void)data;
	cl->dgrams++;
	cl->dgram_len = len;
}

static void
cli_closed(void *arg, struct quic_conn *c, const struct quic_close *how)
{
	struct cli *cl = arg;

	(void)c;
	cl->closed = 1;
	cl->how = *how;
	cl->closed_at = clock_mono_ns();
	cl->c = NULL;
}

/* ---- the loop ---- */

static uint64_t
earliest(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* One turn: wait for any descriptor (until end at most), handle it, run what is due. */
static void
turn(uint64_t end)
{
	struct pollfd pfd[4 + MAX_CLIENTS];
	struct cli *who[4 + MAX_CLIENTS];
	uint64_t now = clock_mono_ns(), at = end;
	int n = 0, sfd[2];

	quic_server_fds(srv, sfd);
	at = earliest(at, quic_server_expiry(srv));
	at = earliest(at, link_expiry(lnk));
	pfd[n++] = (struct pollfd){.fd = sfd[0], .events = POLLIN};
	pfd[n++] = (struct pollfd){.fd = loop_fd(lp), .events = POLLIN};
	pfd[n++] = (struct pollfd){
	    .fd = mgr.fd >= 0 ? mgr.fd : mgr.lfd, .events = mgr.fd < 0 && mgr.away ? 0 : POLLIN};
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (clis[i] == NULL || clis[i]->c == NULL)
			continue;
		at = earliest(at, quic_client_expiry(clis[i]->c));
		who[n] = clis[i];
		pfd[n++] = (struct pollfd){.fd = quic_client_fd(clis[i]->c), .events = POLLIN};
	}
	if (poll(pfd, (nfds_t)n, at > now ? (int)((at - now) / MS) + 1 : 0) > 0) {
		if (pfd[0].revents)
			quic_server_read(srv, sfd[0]);
		if (pfd[1].revents)
			loop_once(lp, 0);
		if (pfd[2].revents && mgr.fd < 0) {
			mgr.fd = accept(mgr.lfd, NULL, NULL);
			mgr.dec = chan_dec_new(mgr.key, CHAN_NODE_MANAGER, AGENT_ID);
		} else if (pfd[2].revents) {
			mgr_read();
		}
		for (int i = 3; i < n; i++)
			if (pfd[i].revents && who[i]->c != NULL)
				quic_client_read(who[i]->c);
	}
	now = clock_mono_ns();
	if (quic_server_expiry(srv) <= now)
		quic_server_expire(srv, now);
	if (link_expiry(lnk) <= now)
		link_expire(lnk, now);
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clis[i] != NULL && clis[i]->c != NULL && quic_client_expiry(clis[i]->c) <= now)
			quic_client_expire(clis[i]->c, now);
	if (tunnels_take_dirty(ts))
		quic_server_flush(srv);
}

/* Run the loop until cond holds or ms passed; whether cond holds. */
#define RUN_UNTIL(cond, ms) \
	({ \
		uint64_t until_ = clock_mono_ns() + (uint64_t)(ms)*MS; \
		while (!(cond) && clock_mono_ns() < until_) \
			turn(until_); \
		(cond); \
	})

/* A client connected to the agent (TLS done), in slot i. */
static struct cli *
cli_open(int i)
{
	struct quic_client_config cfg = {0};
	struct quic_callbacks cb = {0};
	char server[64];
	struct cli *cl = calloc(1, sizeof(*cl));
	socklen_t sl;
	const struct sockaddr_in *sa = (const struct sockaddr_in *)quic_server_addr(srv, &sl);

	snprintf(server, sizeof(server), "127.0.0.1:%u", ntohs(sa->sin_port));
	cfg.server = server;
	cb.arg = cl;
	cb.conn_ready = cli_ready;
	cb.stream_data = cli_stream;
	cb.datagram = cli_datagram;
	cb.conn_closed = cli_closed;
	if (cl == NULL || (cl->c = quic_client_open(&cfg, &cb)) == NULL)
		abort();
	clis[i] = cl;
	RUN_UNTIL(cl->ready || cl->closed, 3000);
	return cl;
}

static void
cli_free(int i)
{
	if (clis[i] != NULL)
		quic_client_free(clis[i]->c);
	free(clis[i]);
	clis[i] = NULL;
}

/* A token of pssid valid until exp, signed by s. */
static const char *
token(struct jwt_signer *s, const char *pssid, int64_t exp)
{
	static char buf[4][JWT_TOKEN_MAX + 1];
	static int k;
	struct jwt_claims c;

	memset(&c, 0, sizeof(c));
	snprintf(c.pssid, sizeof(c.pssid), "%s", pssid);
	c.exp = exp;
	k = (k + 1) % 4;
	if (jwt_sign(s, &c, buf[k], sizeof(buf[k])) < 0)
		abort();
	return buf[k];
}

/* The body of the last answer request() saw, and as text. */
static uint8_t body[4096];
static size_t body_len;
static char text[4097];

/* Send one request (empty body) and wait for its answer: the status, 0 when none came. */
static int
request(struct cli *cl, enum ctrl_path path, const char *tok)
{
	uint8_t out[4096];
	const uint8_t *rb;
	struct reply *r = &cl->r[0];
	int64_t sid;
	ssize_t n;
	int status;

	body_len = 0;
	text[0] = '\0';
	if (cl->c == NULL || quic_stream_open(cl->c, &sid) != 0)
		return 0;
	if ((n = ctrl_request_write(path, tok, NULL, 0, out, sizeof(out))) < 0 ||
	    quic_stream_send(cl->c, sid, out, (size_t)n, 1) != 0)
		abort();
	quic_client_flush(cl->c);
	/* one request at a time: its answer goes to the first slot */
	memset(r, 0, sizeof(*r));
	r->sid = sid;
	cl->nr = 1;
	if (!RUN_UNTIL(r->fin || cl->closed, 3000) || !r->fin ||
	    ctrl_response_parse(r->buf, r->len, 1, &status, &rb, &body_len) != CTRL_OK)
		return 0;
	memcpy(body, rb, body_len);
	snprintf(text, sizeof(text), "%.*s", (int)body_len, (const char *)rb);
	return status;
}

static int
renew(struct cli *cl, const char *tok)
{
	return request(cl, CTRL_PATH_RENEW_SESSION, tok);
}

/* assign_addresses for any address. */
static int
assign(struct cli *cl, const char *tok)
{
	return request(cl, CTRL_PATH_ASSIGN_ADDRESSES, tok);
}

/* Whether cl closed with application code and reason. */
static int
closed_with(struct cli *cl, uint64_t code, const char *reason)
{
	RUN_UNTIL(cl->closed, 3000);
	return cl->closed && cl->how.by_peer && cl->how.app && cl->how.code == code &&
	    strcmp(cl->how.reason, reason) == 0;
}

/* A client in slot i established as pssid with an address from the manager. */
static struct cli *
established(int i, const char *pssid)
{
	const char *tok = token(signer, pssid, clock_unix() + 3600);
	struct cli *cl = cli_open(i);

	if (renew(cl, tok) != 200 || assign(cl, tok) != 200)
		return NULL;
	return cl;
}

/* ---- the tests ---- */

static void
test_handshake_order(void)
{
	const char *tok =
	    token(signer, "00000000-0000-4000-8000-000000000001", clock_unix() + 3600);
	uint64_t isd_as = 0, until = 0;
	struct addr a, want;
	struct cli *cl;
	int ups = mgr.ups, holds = mgr.holds, downs = mgr.downs;

	cl = cli_open(0);
	CHECK(cl->ready, "a client connects");
	CHECK_EQ_INT(renew(cl, tok), 200, "renew_session first: 200");
	CHECK(ctrl_session_response_decode(body, body_len, &until) == CTRL_OK &&
		(int64_t)until > clock_unix() + 3500,
	    "valid until the token's exp");
	mgr.next_addr = 5;
	CHECK_EQ_INT(assign(cl, tok), 200, "then assign_addresses: 200");
	CHECK(mgr.allocs > 0 && mgr.alloc_family[mgr.allocs - 1] == 4,
	    "the manager was asked for an IPv4 address first");
	addr_parse("10.0.0.5", &want);
	CHECK(ctrl_assign_response_decode(body, body_len, &isd_as, &a) == CTRL_OK &&
		a.family == 4 && memcmp(a.b, want.b, 4) == 0 && isd_as == 0x1ff0000000110ull,
	    "the answer carries the manager's grant");
	RUN_UNTIL(mgr.ups > ups, 1000);
	CHECK(mgr.ups == ups + 1 && mgr.up_grant == 105, "SESSION_UP with the grant");
	RUN_UNTIL(cl->closed, HANDSHAKE_MS + 300);
	CHECK(!cl->closed, "established: the handshake limit no longer applies");
	quic_conn_close(cl->c, 0, "bye");
	quic_client_flush(cl->c);
	RUN_UNTIL(mgr.downs > downs && mgr.holds > holds, 2000);
	CHECK(mgr.holds == holds + 1 && mgr.hold_grant == 105,
	    "the client's close puts its grant on hold");
	CHECK(mgr.downs == downs + 1 && strstr(mgr.down_reason, "closed by the client") != NULL,
	    "SESSION_DOWN says the client closed");
	cli_free(0);

	cl = cli_open(0);
	CHECK_EQ_INT(assign(cl, tok), 400, "assign_addresses first: 400");
	CHECK(closed_with(cl, CTRL_CLOSE_INVALID_REQUEST, "expected session renewal request"),
	    "and closed with code 1 \"expected session renewal request\"");
	cli_free(0);

	cl = cli_open(0);
	CHECK_EQ_INT(renew(cl, tok), 200, "renew_session: 200");
	CHECK_EQ_INT(renew(cl, tok), 400, "renew_session again instead of an assignment: 400");
	CHECK(closed_with(cl, CTRL_CLOSE_INVALID_REQUEST, "expected address assignment request"),
	    "and closed with code 1 \"expected address assignment request\"");
	cli_free(0);
}

static void
test_handshake_limit(void)
{
	struct cli *cl = cli_open(0);
	uint64_t t0 = clock_mono_ns();

	CHECK(closed_with(cl, CTRL_CLOSE_TIMEOUT, "timeout establishing snaptun"),
	    "a silent client is closed with code 2 \"timeout establishing snaptun\"");
	CHECK(cl->closed_at - t0 >= (HANDSHAKE_MS - 100) * MS &&
		cl->closed_at - t0 < (HANDSHAKE_MS + 1500) * MS,
	    "at the handshake limit (%llu ms)", (unsigned long long)((cl->closed_at - t0) / MS));
	cli_free(0);
}

static void
test_token_refused(void)
{
	struct cli *cl = cli_open(0);

	CHECK_EQ_INT(
	    renew(cl, token(stranger, "00000000-0000-4000-8000-000000000002", clock_unix() + 3600)),
	    401, "a token of an unknown key: 401");
	CHECK(closed_with(cl, CTRL_CLOSE_INVALID_REQUEST, "unauthorized"),
	    "and closed with code 1 \"unauthorized\"");
	cli_free(0);

	cl = cli_open(0);
	CHECK_EQ_INT(
	    renew(cl, token(signer, "00000000-0000-4000-8000-000000000003", clock_unix() - 10)),
	    401, "an expired token: 401");
	CHECK(
	    closed_with(cl, CTRL_CLOSE_INVALID_REQUEST, "unauthorized"), "and closed with code 1");
	cli_free(0);
}

static void
test_assign_refused(void)
{
	const char *tok =
	    token(signer, "00000000-0000-4000-8000-000000000004", clock_unix() + 3600);
	struct cli *cl = cli_open(0);
	int allocs = mgr.allocs;

	mgr.alloc_error = ERR_POOL_EXHAUSTED;
	mgr.alloc_reason = "pool \"office\" is exhausted";
	CHECK_EQ_INT(renew(cl, tok), 200, "renewed");
	CHECK_EQ_INT(assign(cl, tok), 400, "no address: 400");
	CHECK(strcmp(text, "pool \"office\" is exhausted") == 0,
	    "the answer is the manager's reason: \"%s\"", text);
	CHECK(mgr.allocs == allocs + 2 && mgr.alloc_family[allocs] == 4 &&
		mgr.alloc_family[allocs + 1] == 6,
	    "\"any address\" asked for IPv4, then IPv6");
	CHECK(closed_with(cl, CTRL_CLOSE_INVALID_REQUEST, "no address available"),
	    "and closed with code 1 \"no address available\"");
	mgr.alloc_error = 0;
	cli_free(0);

	/* the manager goes away: the link drops and, reconnected, is not welcomed */
	mgr.away = 1;
	mgr_hangup();
	CHECK(RUN_UNTIL(!link_up(lnk), 2000), "the link is down");
	cl = cli_open(0);
	CHECK_EQ_INT(renew(cl, tok), 200, "renewed from the cached keys");
	CHECK_EQ_INT(assign(cl, tok), 503, "no manager to ask: 503");
	CHECK(strcmp(text, "manager unreachable") == 0, "\"manager unreachable\": \"%s\"", text);
	CHECK(closed_with(cl, CTRL_CLOSE_INVALID_REQUEST, "manager unreachable"),
	    "and closed with code 1 \"manager unreachable\"");
	cli_free(0);
	mgr.away = 0;
	CHECK(RUN_UNTIL(link_up(lnk), 12000), "the manager is back");
}

/* A grant in a pool of scion mode on an agent without a SCION underlay: refused (400 naming the
 * pool, code 1), the grant put on hold. */
static void
test_scion_refused(void)
{
	const char *tok =
	    token(signer, "00000000-0000-4000-8000-000000000014", clock_unix() + 3600);
	uint8_t net[4] = {10, 0, 0, 0};
	State__Pool pool;
	struct cli *cl;
	int holds = mgr.holds;

	state__pool__init(&pool);
	pool.id = 77;
	pool.name = "sci";
	pool.isd_as = 0x1ff0000000110ull;
	pool.prefix.data = net;
	pool.prefix.len = 4;
	pool.prefix_length = 24;
	pool.mode = STATE__POOL_MODE__POOL_MODE_SCION;
	CHECK_EQ_INT(
	    state_pool_put(st, &pool), 0, "the manager's pool 10.0.0.0/24 is in scion mode");
	cl = cli_open(0);
	CHECK_EQ_INT(renew(cl, tok), 200, "renewed");
	CHECK_EQ_INT(assign(cl, tok), 400, "an address of the scion pool: 400");
	CHECK_EQ_INT(mgr.alloc_modes, CHAN_MODE_IP,
	    "the ALLOC_REQ said the agent forwards ip only (a manager that reads it never grants "
	    "such an address; this one is a stand-in that does)");
	CHECK(strstr(text, "pool \"sci\" is in scion mode") != NULL &&
		strstr(text, "no SCION underlay") != NULL,
	    "the answer names the pool and the missing underlay: \"%s\"", text);
	CHECK(closed_with(cl, CTRL_CLOSE_INVALID_REQUEST, "no address available"),
	    "and closed with code 1 \"no address available\"");
	CHECK(RUN_UNTIL(mgr.holds == holds + 1, 2000) && mgr.hold_grant >= 100,
	    "the grant made for it is put on hold");
	cli_free(0);
	state_pool_remove(st, 77);
}

static void
test_revoke_kill(void)
{
	struct cli *cl;
	int holds;

	mgr.next_addr = 20;
	cl = established(0, "00000000-0000-4000-8000-000000000005");
	CHECK(cl != NULL, "established");
	holds = mgr.holds;
	tunnels_revoke(ts, "00000000-0000-4000-8000-000000000005");
	quic_server_flush(srv);
	CHECK(closed_with(cl, CTRL_CLOSE_UNAUTHENTICATED, "revoked"),
	    "revoked: closed with code 3 \"revoked\"");
	RUN_UNTIL(mgr.holds > holds, 300);
	CHECK_EQ_INT(mgr.holds, holds, "no HOLD_REQ: the revoked grant is the manager's");
	cli_free(0);

	cl = established(0, "00000000-0000-4000-8000-000000000006");
	CHECK(cl != NULL, "established");
	RUN_UNTIL(mgr.up_grant == 121, 1000);
	tunnels_kill(ts, mgr.up_session, "maintenance window");
	quic_server_flush(srv);
	CHECK(closed_with(cl, CTRL_CLOSE_INTERNAL, "maintenance window"),
	    "killed: closed with code 5 and the given reason");
	cli_free(0);

	cl = established(0, "00000000-0000-4000-8000-000000000007");
	RUN_UNTIL(mgr.up_grant == 122, 1000);
	tunnels_kill(ts, mgr.up_session, "");
	quic_server_flush(srv);
	CHECK(closed_with(cl, CTRL_CLOSE_INTERNAL, "closed by administrator"),
	    "killed without a reason: code 5 \"closed by administrator\"");
	cli_free(0);
}

static void
test_supersede(void)
{
	struct cli *a, *b;

	mgr.next_addr = 30;
	a = established(0, "00000000-0000-4000-8000-000000000008");
	CHECK(a != NULL, "the first session is up");
	b = established(1, "00000000-0000-4000-8000-000000000008");
	CHECK(b != NULL, "a newer session of the same pssid comes up");
	CHECK(closed_with(a, CTRL_CLOSE_INTERNAL, "superseded"),
	    "the older one is closed with code 5 \"superseded\"");
	CHECK(b->c != NULL && !b->closed, "the newer one stays");
	cli_free(0);
	cli_free(1);
}

static void
test_expiry(void)
{
	const char *tok = token(signer, "00000000-0000-4000-8000-000000000009", clock_unix() + 1);
	struct cli *cl = cli_open(0);

	mgr.next_addr = 40;
	CHECK(renew(cl, tok) == 200 && assign(cl, tok) == 200,
	    "a session whose token expires in a second");
	CHECK(closed_with(cl, CTRL_CLOSE_SESSION_EXPIRED, "session expired"),
	    "closed with code 4 \"session expired\"");
	cli_free(0);
}

/* An IPv4 packet of len bytes from src to dst (last octets of 10.0.0.0/24). */
static size_t
v4(uint8_t *p, uint8_t src, uint8_t dst, size_t len)
{
	memset(p, 0, len);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[8] = 64;
	p[9] = 17;
	p[12] = 10;
	p[15] = src;
	p[16] = 10;
	p[19] = dst;
	return len;
}

static void
test_hub(void)
{
	struct cli *a, *b;
	struct dp_stats s;
	uint8_t p[200];

	mgr.next_addr = 50;
	a = established(0, "00000000-0000-4000-8000-000000000010"); /* 10.0.0.50 */
	b = established(1, "00000000-0000-4000-8000-000000000011"); /* 10.0.0.51 */
	CHECK(a != NULL && b != NULL, "two tunnels up");
	quic_datagram_send(a->c, p, v4(p, 50, 51, 120));
	quic_client_flush(a->c);
	CHECK(RUN_UNTIL(b->dgrams == 1, 2000) && b->dgram_len == 120,
	    "A's packet to B's address reaches B");
	quic_datagram_send(a->c, p, v4(p, 99, 51, 120));
	quic_client_flush(a->c);
	RUN_UNTIL(0, 200);
	dataplane_stats(dp, &s);
	CHECK(
	    b->dgrams == 1 && s.spoofed == 1, "a packet from another source is dropped (spoofed)");
	cli_free(0);
	cli_free(1);
}

/* ---- set-up ---- */

static void
noop(void *arg)
{
	(void)arg;
}

static void
snapshot(void *arg, struct state *s)
{
	(void)arg;
	state_free(s);
}

int
main(void)
{
	char dir[] = "/tmp/tunnel_test.XXXXXX", sock[256], keyfile[256], cert[256], key[256];
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	unsigned char secret[32] = {1}, pin[32] = {0};
	struct quic_server_config qc = {0};
	struct tunnel_config tc = {0};
	struct link_config lc = {0};
	struct link_endpoint ep = {0};
	struct link_callbacks lcb = {0};
	struct quic_callbacks qcb;
	int kfd;

	log_set_level(LOG_ERROR);
	if (mkdtemp(dir) == NULL)
		abort();
	for (size_t i = 0; i < sizeof(mgr.key); i++)
		mgr.key[i] = (unsigned char)(i * 13 + 3);
	snprintf(sock, sizeof(sock), "%s/agent.sock", dir);
	snprintf(keyfile, sizeof(keyfile), "%s/channel.key", dir);
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	if ((kfd = open(keyfile, O_WRONLY | O_CREAT, 0600)) < 0 ||
	    write(kfd, mgr.key, sizeof(mgr.key)) != (ssize_t)sizeof(mgr.key))
		abort();
	close(kfd);
	strcpy(sun.sun_path, sock);
	mgr.fd = -1;
	if ((mgr.lfd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(mgr.lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(mgr.lfd, 4) < 0)
		abort();

	if ((st = state_new()) == NULL || jwt_signer_new("k1", &signer) != 0 ||
	    jwt_signer_new("k2", &stranger) != 0 ||
	    jwt_keyset_add_ed25519(st->keyset, "k1", signer->pub) != 0)
		abort();
	dp = dataplane_new(&dp_ip_mode, &dataplane_hub, tunnels_port_send, tunnels_port_room);
	tc.agent_id = AGENT_ID;
	tc.handshake_timeout_ns = HANDSHAKE_MS * MS;
	ts = tunnels_new(&tc, &st, NULL, dp, NULL);
	CHECK(dp != NULL && ts != NULL, "a data plane and the tunnels");
	tunnels_callbacks(ts, &qcb);
	if (quic_cert_ensure(cert, key) != 0)
		abort();
	qc.listen = "127.0.0.1:0";
	qc.cert_file = cert;
	qc.key_file = key;
	qc.static_secret = secret;
	qc.retry = QUIC_RETRY_NEVER;
	srv = quic_server_new(&qc, &qcb);
	CHECK(srv != NULL, "the QUIC server listens");

	snprintf(ep.address, sizeof(ep.address), "%s", sock);
	lc.managers = &ep;
	lc.nmanagers = 1;
	lc.key_file = keyfile;
	lc.agent_id = AGENT_ID;
	lc.software_version = "test";
	lc.listen_address = "127.0.0.1:1";
	lc.spki_pin = pin;
	lcb.welcome = noop;
	lcb.snapshot = snapshot;
	if ((lp = loop_new()) == NULL || (lnk = link_new(&lc, &lcb, lp)) == NULL)
		abort();
	tunnels_set_link(ts, lnk);
	CHECK(RUN_UNTIL(link_up(lnk), 3000), "the link is welcomed by the fake manager");

	test_handshake_order();
	test_handshake_limit();
	test_token_refused();
	test_assign_refused();
	test_scion_refused();
	test_revoke_kill();
	test_supersede();
	test_expiry();
	test_hub();

	quic_server_free(srv, 0, "shutting down");
	link_free(lnk);
	tunnels_free(ts);
	dataplane_free(dp);
	state_free(st);
	jwt_signer_free(signer);
	jwt_signer_free(stranger);
	mgr_hangup();
	close(mgr.lfd);
	loop_free(lp);
	unlink(sock);
	unlink(keyfile);
	unlink(cert);
	unlink(key);
	rmdir(dir);
	return check_done();
}
