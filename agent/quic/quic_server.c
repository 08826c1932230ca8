/* The QUIC server: the UDP socket, connection-ID demultiplexing (quic_cid.c), version
 * negotiation, Retry, stateless resets, the caps, the expiry heap, and the public
 * quic_server_* calls. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/clock.h"
#include "../../lib/log.h"
#include "quic_cid.h"
#include "quic_conn.h"
#include "quic_tls.h"
#include "quic_udp.h"

#define QUIC_SCID_LEN 16 /* every connection ID the server issues has this length */
#define QUIC_STATIC_SECRET_LEN 32
#define QUIC_RX_MAX 4096 /* largest UDP datagram we take (bigger ones are dropped) */
#define QUIC_READ_ROUNDS 16 /* recvmmsg batches per quic_server_read */
#define QUIC_RESETS_PER_SEC 200
#define QUIC_RETRY_TOKEN_TTL_NS (10ull * 1000000000u)
#define QUIC_DEFAULT_RETRY_RATE 1000
/* the QUIC handshake limit of a peer whose address no Retry validated (at most) */
#define QUIC_HALFOPEN_TIMEOUT_NS (3ull * 1000000000u)
#define QUIC_MIN_RESET_TRIGGER 41 /* RFC 9000 §10.3: the reset must be smaller, >= 21 bytes */

struct quic_server {
	struct quic_callbacks cb;
	enum quic_retry retry;
	unsigned retry_rate, max_conns, max_handshakes, max_halfopen;
	uint64_t idle_timeout, handshake_timeout;
	uint8_t secret[QUIC_STATIC_SECRET_LEN];
	struct quic_tls_server *tls;
	int fd;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct quic_txbatch *tx;

	struct quic_cid_table cids; /* every CID issued -> its connection */

	struct quic_conn **heap;
	size_t heap_n, heap_cap;
	struct quic_conn *all, *dirty;
	unsigned live, handshakes;
	unsigned halfopen; /* of the handshakes, those from an address not validated by Retry */

	uint64_t rate_start, reset_start;
	unsigned rate_new, reset_n;

	/* QUIC_BATCH receive buffers of rxsize bytes each: QUIC_GRO_BUF when the socket takes
	 * UDP GRO (a run of datagrams in one), else QUIC_RX_MAX */
	uint8_t *rx;
	size_t rxsize;
	uint8_t (*rxctl)[QUIC_CMSG_SPACE];
	/* the local address the packet being handled came to */
	struct sockaddr_storage cur_local;
	socklen_t cur_locallen;
};

/* ops->cid_new: a random CID not in the table, its reset token derived from the secret. */
static int
server_cid_new(void *owner, struct quic_conn *c, ngtcp2_cid *cid, uint8_t *token, size_t cidlen)
{
	struct quic_server *s = owner;
	int tries;

	for (tries = 0; tries < 8; tries++) {
		quic_rand(cid->data, cidlen);
		cid->datalen = cidlen;
		if (quic_cid_add(&s->cids, c, cid->data, cidlen) == 0)
			break;
	}
	if (tries == 8)
		return -1;
	return ngtcp2_crypto_generate_stateless_reset_token(
	    token, s->secret, sizeof(s->secret), cid);
}

static void
server_cid_retire(void *owner, struct quic_conn *c, const ngtcp2_cid *cid)
{
	struct quic_server *s = owner;

	quic_cid_retire(&s->cids, c, cid->data, cid->datalen);
}

/* ---- the expiry heap ---- */

static void
heap_swap(struct quic_server *s, size_t a, size_t b)
{
	struct quic_conn *t = s->heap[a];

	s->heap[a] = s->heap[b];
	s->heap[b] = t;
	s->heap[a]->heap_idx = a;
	s->heap[b]->heap_idx = b;
}

static void
heap_fix(struct quic_server *s, size_t i)
{
	size_t p, l, m;

	while (i > 0 && s->heap[(p = (i - 1) / 2)]->heap_key > s->heap[i]->heap_key) {
		heap_swap(s, i, p);
		i = p;
	}
	for (;;) {
		l = 2 * i + 1;
		m = i;
		if (l < s->heap_n && s->heap[l]->heap_key < s->heap[m]->heap_key)
			m = l;
		if (l + 1 < s->heap_n && s->heap[l + 1]->heap_key < s->heap[m]->heap_key)
			m = l + 1;
		if (m == i)
			break;
		heap_swap(s, i, m);
		i = m;
	}
}

static void
heap_update(struct quic_server *s, struct quic_conn *c)
{
	c->heap_key = quic_conn_expiry(c);
	if (c->heap_idx == SIZE_MAX) {
		if (s->heap_n == s->heap_cap) {
			size_t nc = s->heap_cap ? s->heap_cap * 2 : 64;
			struct quic_conn **nh = realloc(s->heap, nc * sizeof(*nh));

			if (nh == NULL)
				fatalx("quic: out of memory");
			s->heap = nh;
			s->heap_cap = nc;
		}
		c->heap_idx = s->heap_n;
		s->heap[s->heap_n++] = c;
	}
	heap_fix(s, c->heap_idx);
}

static void
heap_remove(struct quic_server *s, struct quic_conn *c)
{
	size_t i = c->heap_idx;

	if (i == SIZE_MAX)
		return;
	c->heap_idx = SIZE_MAX;
	if (i != --s->heap_n) {
		s->heap[i] = s->heap[s->heap_n];
		s->heap[i]->heap_idx = i;
		heap_fix(s, i);
	}
}

/* ---- connection bookkeeping ---- */

/* ops->touch: c joins the list server_flush() writes (the core set c->dirty). */
static void
server_conn_touch(void *owner, struct quic_conn *c)
{
	struct quic_server *s = owner;

	c->dirty_next = s->dirty;
	s->dirty = c;
}

static void
hs_uncount(struct quic_server *s, struct quic_conn *c)
{
	if (c->hs_counted) {
		c->hs_counted = 0;
		s->handshakes--;
		if (!c->validated)
			s->halfopen--;
	}
}

/* ops->changed: the handshake count and c's place in the heap. */
static void
server_conn_changed(void *owner, struct quic_conn *c)
{
	struct quic_server *s = owner;

	if (c->handshake_done)
		hs_uncount(s, c);
	heap_update(s, c);
}

/* ops->ended: no longer counted, its ngtcp2 and TLS state freed now (late packets get
 * close_pkt or nothing); the rest is freed when its drain ends (heap key drain_end). */
static void
server_conn_ended(void *owner, struct quic_conn *c)
{
	struct quic_server *s = owner;

	hs_uncount(s, c);
	s->live--;
	quic_conn_release(c);
	heap_update(s, c);
}

static void
server_conn_free(struct quic_server *s, struct quic_conn *c)
{
	struct quic_conn **pp;

	quic_cid_forget(&s->cids, c);
	heap_remove(s, c);
	if (c->dirty) {
		for (pp = &s->dirty; *pp != NULL; pp = &(*pp)->dirty_next) {
			if (*pp == c) {
				*pp = c->dirty_next;
				break;
			}
		}
	}
	if (c->all_prev != NULL)
		c->all_prev->all_next = c->all_next;
	else
		s->all = c->all_next;
	if (c->all_next != NULL)
		c->all_next->all_prev = c->all_prev;
	if (c->live) {
		hs_uncount(s, c);
		s->live--;
	}
	quic_conn_free(c);
}

/* What the server's connections ask of it. */
static const struct quic_owner_ops server_ops = {
    .touch = server_conn_touch,
    .changed = server_conn_changed,
    .cid_new = server_cid_new,
    .cid_retire = server_cid_retire,
    .ended = server_conn_ended,
    .keep_close = 1,
};

static ngtcp2_conn *
conn_ref_get(ngtcp2_crypto_conn_ref *ref)
{
	return ((struct quic_conn *)ref->user_data)->conn;
}

/* Write what every touched connection has, then send. */
static void
server_flush(struct quic_server *s, uint64_t now)
{
	struct quic_conn *c;

	while ((c = s->dirty) != NULL) {
		s->dirty = c->dirty_next;
		c->dirty = 0;
		if (c->live) {
			quic_conn_write(c, now);
			heap_update(s, c);
		}
	}
	quic_tx_flush(s->tx);
}

/* ---- packets for no connection ---- */

static uint64_t
wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
send_version_negotiation(
    struct quic_server *s, const ngtcp2_version_cid *vc, const struct sockaddr *sa, socklen_t salen)
{
	uint8_t buf[256], r;
	uint32_t sv[2];
	ngtcp2_ssize n;

	quic_rand(&r, 1);
	quic_rand(&sv[0], sizeof(sv[0]));
	sv[0] = (sv[0] & 0xf0f0f0f0u) | 0x0a0a0a0au; /* a reserved version: greasing */
	sv[1] = NGTCP2_PROTO_VER_V1;
	n = ngtcp2_pkt_write_version_negotiation(
	    buf, sizeof(buf), r, vc->scid, vc->scidlen, vc->dcid, vc->dcidlen, sv, 2);
	if (n > 0)
		quic_udp_send1(s->fd, buf, (size_t)n, sa, salen, (struct sockaddr *)&s->cur_local);
}

static void
send_retry(struct quic_server *s, const ngtcp2_pkt_hd *hd, const struct sockaddr *sa,
    socklen_t salen, size_t rxlen)
{
	uint8_t token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN], buf[QUIC_PKT_MAX];
	ngtcp2_ssize tlen, n;
	ngtcp2_cid scid;

	scid.datalen = QUIC_SCID_LEN;
	quic_rand(scid.data, scid.datalen);
	tlen = ngtcp2_crypto_generate_retry_token(token, s->secret, sizeof(s->secret), hd->version,
	    sa, salen, &scid, &hd->dcid, wall_ns());
	if (tlen < 0)
		return;
	n = ngtcp2_crypto_write_retry(buf, rxlen * 3 < sizeof(buf) ? rxlen * 3 : sizeof(buf),
	    hd->version, &hd->scid, &scid, &hd->dcid, token, (size_t)tlen);
	if (n > 0)
		quic_udp_send1(s->fd, buf, (size_t)n, sa, salen, (struct sockaddr *)&s->cur_local);
}

/* Refuse an Initial without creating state: CONNECTION_CLOSE with a transport error. */
static void
send_refusal(struct quic_server *s, const ngtcp2_pkt_hd *hd, uint64_t code,
    const struct sockaddr *sa, socklen_t salen)
{
	uint8_t buf[QUIC_PKT_MAX];
	ngtcp2_ssize n;

	n = ngtcp2_crypto_write_connection_close(
	    buf, sizeof(buf), hd->version, &hd->scid, &hd->dcid, code, NULL, 0);
	if (n > 0)
		quic_udp_send1(s->fd, buf, (size_t)n, sa, salen, (struct sockaddr *)&s->cur_local);
}

static void
send_stateless_reset(struct quic_server *s, const uint8_t *dcid, size_t rxlen,
    const struct sockaddr *sa, socklen_t salen, uint64_t now)
{
	uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN], rnd[QUIC_PKT_MAX], buf[QUIC_PKT_MAX];
	ngtcp2_cid cid;
	ngtcp2_ssize n;
	size_t len, randlen;

	if (rxlen < QUIC_MIN_RESET_TRIGGER)
		return; /* a reset smaller than the packet would be too short */
	if (now - s->reset_start >= 1000000000u) {
		s->reset_start = now;
		s->reset_n = 0;
	}
	if (s->reset_n++ >= QUIC_RESETS_PER_SEC)
		return;
	memcpy(cid.data, dcid, QUIC_SCID_LEN);
	cid.datalen = QUIC_SCID_LEN;
	if (ngtcp2_crypto_generate_stateless_reset_token(
		token, s->secret, sizeof(s->secret), &cid) != 0)
		return;
	/* smaller than what triggered it (no reset loops), at most 1200 bytes */
	len = rxlen - 1;
	if (len > NGTCP2_MAX_UDP_PAYLOAD_SIZE)
		len = NGTCP2_MAX_UDP_PAYLOAD_SIZE;
	randlen = len - 1 - NGTCP2_STATELESS_RESET_TOKENLEN;
	quic_rand(rnd, randlen);
	n = ngtcp2_pkt_write_stateless_reset(buf, len, token, rnd, randlen);
	if (n > 0)
		quic_udp_send1(s->fd, buf, (size_t)n, sa, salen, (struct sockaddr *)&s->cur_local);
}

/* Whether a new handshake from an address not validated yet needs a Retry first. AUTO asks
 * for one under pressure: above retry_rate new handshakes a second, once half-open handshakes
 * (those from unvalidated addresses, which a spoofed source can hold open) fill half the
 * handshake cap, or when either cap is reached. Retry costs the server no state, so
 * a real client is validated and comes back instead of being refused. */
static int
retry_needed(struct quic_server *s, uint64_t now)
{
	if (s->retry == QUIC_RETRY_ALWAYS)
		return 1;
	if (s->retry == QUIC_RETRY_NEVER)
		return 0;
	if (now - s->rate_start >= 1000000000u) {
		s->rate_start = now;
		s->rate_new = 0;
	}
	return s->rate_new >= s->retry_rate || s->halfopen >= s->max_halfopen ||
	    s->handshakes >= s->max_handshakes || s->live >= s->max_conns;
}

static struct quic_conn *
server_conn_new(struct quic_server *s, const ngtcp2_pkt_hd *hd, const ngtcp2_cid *ocid,
    const struct sockaddr *sa, socklen_t salen, uint64_t now)
{
	ngtcp2_callbacks cbs;
	ngtcp2_settings settings;
	ngtcp2_transport_params params;
	ngtcp2_path path;
	ngtcp2_cid scid;
	struct quic_conn *c;
	int tries;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->ops = &server_ops;
	c->owner = s;
	c->fd = s->fd;
	c->tx = s->tx;
	c->cb = s->cb;
	c->state = QS_HANDSHAKE;
	c->heap_idx = SIZE_MAX;
	c->conn_ref.get_conn = conn_ref_get;
	c->conn_ref.user_data = c;
	memcpy(&c->local, &s->cur_local, s->cur_locallen);
	c->locallen = s->cur_locallen;
	quic_conn_set_remote(c, sa, salen);
	c->all_next = s->all;
	if (s->all != NULL)
		s->all->all_prev = c;
	s->all = c;
	c->live = 1;
	c->hs_counted = 1;
	c->validated = ocid != NULL;
	s->live++;
	s->handshakes++;
	if (!c->validated)
		s->halfopen++;

	for (tries = 0; tries < 8; tries++) {
		scid.datalen = QUIC_SCID_LEN;
		quic_rand(scid.data, scid.datalen);
		if (quic_cid_add(&s->cids, c, scid.data, scid.datalen) == 0)
			break;
	}
	if (tries == 8 || quic_cid_add(&s->cids, c, hd->dcid.data, hd->dcid.datalen) != 0)
		goto fail;

	quic_conn_callbacks(&cbs, 1);
	ngtcp2_settings_default(&settings);
	settings.initial_ts = now;
	settings.handshake_timeout = s->handshake_timeout;
	if (!c->validated && settings.handshake_timeout > QUIC_HALFOPEN_TIMEOUT_NS)
		settings.handshake_timeout = QUIC_HALFOPEN_TIMEOUT_NS;
	settings.token = hd->token;
	ngtcp2_transport_params_default(&params);
	params.initial_max_streams_bidi = 16;
	params.initial_max_streams_uni = 0;
	params.initial_max_stream_data_bidi_remote = 64 * 1024;
	params.initial_max_stream_data_bidi_local = 64 * 1024;
	params.initial_max_data = 1024 * 1024;
	params.max_idle_timeout = s->idle_timeout;
	params.max_udp_payload_size = QUIC_RX_MAX;
	params.max_datagram_frame_size = QUIC_MAX_DATAGRAM_FRAME;
	params.active_connection_id_limit = 4;
	params.stateless_reset_token_present = 1;
	if (ngtcp2_crypto_generate_stateless_reset_token(
		params.stateless_reset_token, s->secret, sizeof(s->secret), &scid) != 0)
		goto fail;
	if (ocid != NULL) {
		params.original_dcid = *ocid;
		params.retry_scid = hd->dcid;
		params.retry_scid_present = 1;
	} else {
		params.original_dcid = hd->dcid;
	}
	path.local.addr = (struct sockaddr *)&c->local;
	path.local.addrlen = c->locallen;
	path.remote.addr = (struct sockaddr *)&c->remote;
	path.remote.addrlen = c->remotelen;
	path.user_data = NULL;
	if (ngtcp2_conn_server_new(&c->conn, &hd->scid, &scid, &path, hd->version, &cbs, &settings,
		&params, quic_mem(), c) != 0)
		goto fail;
	if (quic_tls_server_session(s->tls, c) != 0)
		goto fail;
	heap_update(s, c);
	return c;
fail:
	c->live = 0;
	hs_uncount(s, c);
	s->live--;
	server_conn_free(s, c);
	return NULL;
}

static void
server_packet(struct quic_server *s, uint8_t *pkt, size_t len, const struct sockaddr *sa,
    socklen_t salen, uint64_t now)
{
	ngtcp2_version_cid vc;
	ngtcp2_pkt_hd hd;
	ngtcp2_cid ocid, *pocid = NULL;
	ngtcp2_path path;
	struct quic_conn *c;
	int rv;

	rv = ngtcp2_pkt_decode_version_cid(&vc, pkt, len, QUIC_SCID_LEN);
	if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
		/* only for packets big enough to be a client's first Initial */
		if (len >= NGTCP2_MAX_UDP_PAYLOAD_SIZE)
			send_version_negotiation(s, &vc, sa, salen);
		return;
	}
	if (rv != 0)
		return;
	c = quic_cid_lookup(&s->cids, vc.dcid, vc.dcidlen);
	if (c != NULL) {
		if (c->state == QS_CLOSING && c->close_pkt != NULL) {
			/* answer with the close again, less often as packets keep coming */
			c->close_rx++;
			if ((c->close_rx & (c->close_rx - 1)) == 0)
				quic_udp_send1(s->fd, c->close_pkt, c->close_pktlen, sa, salen,
				    (struct sockaddr *)&s->cur_local);
			return;
		}
		if (!c->live)
			return;
		path.local.addr = (struct sockaddr *)&s->cur_local;
		path.local.addrlen = s->cur_locallen;
		path.remote.addr = (struct sockaddr *)(uintptr_t)sa;
		path.remote.addrlen = salen;
		path.user_data = NULL;
		/* The client migrated when ngtcp2 moved to the new path: not on any packet that
		 * names the connection (a spoofed or undecryptable one is discarded). */
		if (quic_conn_read(c, &path, pkt, len, now) == 0) {
			const ngtcp2_path *cur = ngtcp2_conn_get_path(c->conn);

			if (cur->remote.addrlen != c->remotelen ||
			    memcmp(cur->remote.addr, &c->remote, c->remotelen) != 0)
				quic_conn_set_remote(c, cur->remote.addr, cur->remote.addrlen);
		}
		return;
	}
	if (!(pkt[0] & 0x80)) {
		send_stateless_reset(s, vc.dcid, len, sa, salen, now);
		return;
	}
	if (vc.version != NGTCP2_PROTO_VER_V1) {
		if (len >= NGTCP2_MAX_UDP_PAYLOAD_SIZE)
			send_version_negotiation(s, &vc, sa, salen);
		return;
	}
	if (ngtcp2_accept(&hd, pkt, len) != 0)
		return; /* not an Initial, or too short */
	if (hd.token.len > 0 && hd.token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY) {
		if (ngtcp2_crypto_verify_retry_token(&ocid, hd.token.base, hd.token.len, s->secret,
			sizeof(s->secret), hd.version, sa, salen, &hd.dcid, QUIC_RETRY_TOKEN_TTL_NS,
			wall_ns()) != 0) {
			send_refusal(s, &hd, NGTCP2_INVALID_TOKEN, sa, salen);
			return;
		}
		pocid = &ocid;
	} else {
		/* we issue no NEW_TOKEN: any other token is ignored */
		hd.token.base = NULL;
		hd.token.len = 0;
		if (retry_needed(s, now)) {
			send_retry(s, &hd, sa, salen, len);
			return;
		}
	}
	/* Only validated handshakes are held against the handshake cap: half-open ones can
	 * never fill it (AUTO sends Retry long before), so a spoofed flood refuses no one. */
	if (s->live >= s->max_conns ||
	    (pocid != NULL ? s->handshakes - s->halfopen : s->handshakes) >= s->max_handshakes) {
		log_debug("quic: refusing a connection: %u connections, %u handshakes (%u "
			  "half-open)",
		    s->live, s->handshakes, s->halfopen);
		send_refusal(s, &hd, NGTCP2_CONNECTION_REFUSED, sa, salen);
		return;
	}
	if ((c = server_conn_new(s, &hd, pocid, sa, salen, now)) == NULL)
		return;
	s->rate_new++;
	if (c->cb.conn_new != NULL && c->cb.conn_new(c->cb.arg, c) < 0) {
		send_refusal(s, &hd, NGTCP2_CONNECTION_REFUSED, sa, salen);
		server_conn_free(s, c);
		return;
	}
	path.local.addr = (struct sockaddr *)&c->local;
	path.local.addrlen = c->locallen;
	path.remote.addr = (struct sockaddr *)&c->remote;
	path.remote.addrlen = c->remotelen;
	path.user_data = NULL;
	(void)quic_conn_read(c, &path, pkt, len, now);
	heap_update(s, c);
}

/* ---- the public calls ---- */

struct quic_server *
quic_server_new(const struct quic_server_config *cfg, const struct quic_callbacks *cb)
{
	struct quic_server *s;
	struct sockaddr_storage ss;
	socklen_t sl;

	if (quic_udp_parse(cfg->listen, &ss, &sl) != 0) {
		log_error(
		    "quic: invalid listen address \"%s\": want ADDRESS:PORT or [ADDRESS]:PORT",
		    cfg->listen);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->fd = -1;
	s->cb = *cb;
	s->retry = cfg->retry;
	s->retry_rate = cfg->retry_rate ? cfg->retry_rate : QUIC_DEFAULT_RETRY_RATE;
	s->max_conns = cfg->max_conns ? cfg->max_conns : 10000;
	s->max_handshakes = cfg->max_handshakes ? cfg->max_handshakes : 1000;
	s->max_halfopen = s->max_handshakes / 2 ? s->max_handshakes / 2 : 1;
	s->idle_timeout = cfg->idle_timeout_ns ? cfg->idle_timeout_ns : QUIC_IDLE_TIMEOUT_NS;
	s->handshake_timeout =
	    cfg->handshake_timeout_ns ? cfg->handshake_timeout_ns : QUIC_HANDSHAKE_TIMEOUT_NS;
	memcpy(s->secret, cfg->static_secret, sizeof(s->secret));
	s->tx = calloc(1, sizeof(*s->tx));
	s->rxctl = malloc(QUIC_BATCH * sizeof(*s->rxctl));
	if (quic_cid_init(&s->cids) != 0 || s->tx == NULL || s->rxctl == NULL)
		goto fail;
	if ((s->tls = quic_tls_server_new(cfg->cert_file, cfg->key_file)) == NULL)
		goto fail;
	if ((s->fd = quic_udp_open(&ss, sl, 1)) == -1)
		goto fail;
	/* the buffers' pages are resident only where runs were written */
	s->rxsize = quic_udp_gro(s->fd) ? QUIC_GRO_BUF : QUIC_RX_MAX;
	if ((s->rx = malloc(QUIC_BATCH * s->rxsize)) == NULL)
		goto fail;
	s->addrlen = sizeof(s->addr);
	if (getsockname(s->fd, (struct sockaddr *)&s->addr, &s->addrlen) == -1)
		goto fail;
	s->tx->fd = s->fd;
	s->tx->gso = quic_udp_gso(s->fd);
	return s;
fail:
	log_error("quic: cannot listen on \"%s\"", cfg->listen);
	quic_server_free(s, 0, NULL);
	return NULL;
}

void
quic_server_free(struct quic_server *s, uint64_t code, const char *reason)
{
	struct quic_conn *c;
	uint64_t now = clock_mono_ns();

	if (s == NULL)
		return;
	for (c = s->all; c != NULL; c = c->all_next) {
		if (!c->live)
			continue;
		if (!c->close_pending)
			quic_conn_close(c, code, reason);
		c->close_by = 0; /* going away now: no waiting for the pacer */
		quic_conn_write(c, now);
	}
	if (s->tx != NULL)
		quic_tx_flush(s->tx);
	while (s->all != NULL)
		server_conn_free(s, s->all);
	quic_tls_server_free(s->tls);
	if (s->fd != -1)
		close(s->fd);
	quic_cid_free(&s->cids);
	free(s->heap);
	free(s->tx);
	free(s->rx);
	free(s->rxctl);
	free(s);
}

const struct sockaddr *
quic_server_addr(const struct quic_server *s, socklen_t *len)
{
	if (len != NULL)
		*len = s->addrlen;
	return (const struct sockaddr *)&s->addr;
}

int
quic_server_fds(const struct quic_server *s, int fds[2])
{
	fds[0] = s->fd;
	return 1;
}

void
quic_server_read(struct quic_server *s, int fd)
{
	struct mmsghdr msgs[QUIC_BATCH];
	struct iovec iov[QUIC_BATCH];
	struct sockaddr_storage from[QUIC_BATCH];
	size_t len, seg, off, handled = 0;
	uint64_t now;
	int round, n, i;

	(void)fd;
	for (round = 0; round < QUIC_READ_ROUNDS; round++) {
		memset(msgs, 0, sizeof(msgs));
		for (i = 0; i < QUIC_BATCH; i++) {
			iov[i].iov_base = s->rx + (size_t)i * s->rxsize;
			iov[i].iov_len = s->rxsize;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
			msgs[i].msg_hdr.msg_control = s->rxctl[i];
			msgs[i].msg_hdr.msg_controllen = QUIC_CMSG_SPACE;
		}
		n = recvmmsg(s->fd, msgs, QUIC_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_debug("quic: recvmmsg: %s", strerror(errno));
			break;
		}
		now = clock_mono_ns();
		for (i = 0; i < n; i++) {
			/* an empty datagram is no packet (and ngtcp2 asserts there is a byte): anyone
			 * could stop the gateway with one */
			len = msgs[i].msg_len;
			if ((msgs[i].msg_hdr.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || len == 0)
				continue;
			quic_udp_local(&msgs[i].msg_hdr, &s->addr, s->addrlen, &s->cur_local,
			    &s->cur_locallen);
			seg = quic_udp_segment(&msgs[i].msg_hdr, len);
			if (seg > QUIC_RX_MAX)
				continue; /* larger than we take, GRO buffer or not */
			for (off = 0; off < len; off += seg) {
				server_packet(s, (uint8_t *)iov[i].iov_base + off,
				    len - off < seg ? len - off : seg,
				    (const struct sockaddr *)&from[i], msgs[i].msg_hdr.msg_namelen,
				    now);
				/* what is due (acknowledgements above all) goes out every QUIC_BATCH
				 * packets, not only at the end: a GRO read can hold thousands, and
				 * the peers' RTTs, which size their congestion windows, would grow
				 * with the wait */
				if (++handled % QUIC_BATCH == 0)
					server_flush(s, now);
			}
		}
		server_flush(s, now);
		if (n < QUIC_BATCH)
			break;
	}
}

uint64_t
quic_server_expiry(const struct quic_server *s)
{
	if (s->dirty != NULL)
		return 0;
	return s->heap_n > 0 ? s->heap[0]->heap_key : UINT64_MAX;
}

void
quic_server_expire(struct quic_server *s, uint64_t now_ns)
{
	struct quic_conn *c;
	size_t budget = s->heap_n * 2 + 16;

	while (s->heap_n > 0 && (c = s->heap[0])->heap_key <= now_ns && budget-- > 0) {
		if (!c->live) {
			server_conn_free(s, c);
			continue;
		}
		quic_conn_timer(c, now_ns);
		if (c->heap_idx != SIZE_MAX)
			heap_update(s, c);
	}
	server_flush(s, now_ns);
}

void
quic_server_flush(struct quic_server *s)
{
	server_flush(s, clock_mono_ns());
}

unsigned
quic_server_conns(const struct quic_server *s)
{
	return s->live;
}

unsigned
quic_server_handshakes(const struct quic_server *s)
{
	return s->handshakes;
}
