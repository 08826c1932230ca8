/* The QUIC connection core shared by server and client: ngtcp2 callbacks, the streams (their
 * send buffers: quic_sendbuf.c), the DATAGRAM queue, the write loop, timers and the close states. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include "../../lib/clock.h"
#include "../../lib/log.h"
#include "quic_conn.h"

void
quic_rand(void *dst, size_t len)
{
	if (gnutls_rnd(GNUTLS_RND_RANDOM, dst, len) != 0)
		fatalx("quic: gnutls_rnd failed");
}

void
quic_conn_touch(struct quic_conn *c)
{
	/* once per owner's write pass: this runs for every packet in and out */
	if (c->dirty || c->ops->touch == NULL)
		return;
	c->dirty = 1;
	c->ops->touch(c->owner, c);
}

/* c's expiry or handshake state changed: the owner may keep them in order. */
static void
conn_changed(struct quic_conn *c)
{
	if (c->ops->changed != NULL && c->live)
		c->ops->changed(c->owner, c);
}

void
quic_conn_set_remote(struct quic_conn *c, const struct sockaddr *sa, socklen_t len)
{
	memcpy(&c->remote, sa, len);
	c->remotelen = len;
	quic_udp_unmap(sa, len, &c->remote_shown, &c->remote_shownlen);
}

/* ---- streams ---- */

/* A stream's send side, known to ngtcp2 as its user data. */
static struct quic_stream *
stream_new(struct quic_conn *c, int64_t id)
{
	struct quic_stream *st = quic_sendbuf_open(&c->sb, id);

	if (st != NULL && c->conn != NULL)
		ngtcp2_conn_set_stream_user_data(c->conn, id, st);
	return st;
}

/* ---- DATAGRAM queue ---- */

/* Payload buffers are recycled rather than allocated and freed for every packet: a payload is
 * never larger than a UDP payload (quic_conn_max_datagram()), so one size serves all. The
 * owner's one thread is the only user. */
#define DGBUF_SIZE QUIC_PKT_MAX
#define DGBUF_KEEP 1024 /* free buffers kept at most (1.5 MiB) */

static void *dgbuf_free; /* a list linked through each buffer's first bytes */
static size_t dgbuf_nfree;

static uint8_t *
dgbuf_get(size_t len)
{
	void *p;

	if (len > DGBUF_SIZE)
		return malloc(len);
	if ((p = dgbuf_free) != NULL) {
		memcpy(&dgbuf_free, p, sizeof(void *));
		dgbuf_nfree--;
		return p;
	}
	return malloc(DGBUF_SIZE);
}

static void
dgbuf_put(uint8_t *p, size_t len)
{
	if (len > DGBUF_SIZE || dgbuf_nfree >= DGBUF_KEEP) {
		free(p);
		return;
	}
	memcpy(p, &dgbuf_free, sizeof(void *));
	dgbuf_free = p;
	dgbuf_nfree++;
}

static void
dq_pop(struct quic_conn *c, int sent)
{
	size_t i = c->dq_head;

	if (sent) {
		c->stats.tx_datagrams++;
		c->stats.tx_bytes += c->dq[i].len;
	}
	dgbuf_put(c->dq[i].data, c->dq[i].len);
	c->dq[i].data = NULL;
	c->dq_head = (i + 1) & (c->dq_cap - 1);
	c->dq_count--;
}

/* Room for one more entry in the ring: allocate it, or double it when full (its entries
 * unwrapped to the start). 0, or -1 when it is at QUIC_DGRAM_QUEUE or out of memory. */
static int
dq_grow(struct quic_conn *c)
{
	struct quic_dgram *n;
	size_t cap, first;

	if (c->dq != NULL && c->dq_count < c->dq_cap)
		return 0;
	cap = c->dq == NULL ? QUIC_DGRAM_QUEUE_MIN : c->dq_cap * 2;
	if (cap > QUIC_DGRAM_QUEUE || (n = calloc(cap, sizeof(*n))) == NULL)
		return -1;
	if (c->dq != NULL) {
		first = c->dq_cap - c->dq_head;
		if (first > c->dq_count)
			first = c->dq_count;
		memcpy(n, c->dq + c->dq_head, first * sizeof(*n));
		memcpy(n + first, c->dq, (c->dq_count - first) * sizeof(*n));
		free(c->dq);
	}
	c->dq = n;
	c->dq_cap = cap;
	c->dq_head = 0;
	return 0;
}

/* Free the ring of an empty queue that has stayed empty QUIC_DGRAM_QUEUE_IDLE_NS: the next
 * datagram allocates the smallest one again. Checked on every write, which an idle tunnel still
 * does for its keep-alives. */
static void
dq_trim(struct quic_conn *c, uint64_t now)
{
	if (c->dq == NULL || c->dq_count > 0 || now - c->dq_last < QUIC_DGRAM_QUEUE_IDLE_NS)
		return;
	free(c->dq);
	c->dq = NULL;
	c->dq_cap = 0;
	c->dq_head = 0;
}

/* ---- ngtcp2 callbacks ---- */

static void
cb_rand(uint8_t *dest, size_t destlen, const ngtcp2_rand_ctx *rand_ctx)
{
	(void)rand_ctx;
	quic_rand(dest, destlen);
}

static int
cb_get_new_connection_id(
    ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token, size_t cidlen, void *user_data)
{
	struct quic_conn *c = user_data;

	(void)conn;
	if (c->ops->cid_new(c->owner, c, cid, token, cidlen) != 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return 0;
}

static int
cb_remove_connection_id(ngtcp2_conn *conn, const ngtcp2_cid *cid, void *user_data)
{
	struct quic_conn *c = user_data;

	(void)conn;
	if (c->ops->cid_retire != NULL)
		c->ops->cid_retire(c->owner, c, cid);
	return 0;
}

/* A client's keep-alive against the idle timeout both sides agreed on (the smaller one that is
 * set), known once the server's transport parameters are: a PING at a third of it at the
 * latest, so that a server with a short idle timeout never drops a quiet tunnel, even with a
 * lost PING or two. */
static void
keepalive_fit(struct quic_conn *c)
{
	const ngtcp2_transport_params *lp = ngtcp2_conn_get_local_transport_params(c->conn),
				      *rp = ngtcp2_conn_get_remote_transport_params(c->conn);
	uint64_t idle = lp->max_idle_timeout, ka = c->keepalive_ns;

	if (rp != NULL && rp->max_idle_timeout != 0 && (idle == 0 || rp->max_idle_timeout < idle))
		idle = rp->max_idle_timeout;
	if (idle != 0 && idle / 3 < ka)
		ka = idle / 3;
	ngtcp2_conn_set_keep_alive_timeout(c->conn, ka);
}

static int
cb_handshake_completed(ngtcp2_conn *conn, void *user_data)
{
	struct quic_conn *c = user_data;
	gnutls_datum_t alpn;

	(void)conn;
	/* GnuTLS enforces ALPN on both sides; this is the belt to its braces */
	if (gnutls_alpn_get_selected_protocol(c->tls, &alpn) != 0 ||
	    alpn.size != sizeof(QUIC_ALPN) - 1 || memcmp(alpn.data, QUIC_ALPN, alpn.size) != 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	c->handshake_done = 1;
	/* A server's handshake is confirmed here: the TLS session is not needed again (the 1-RTT
	 * keys and their updates live in ngtcp2), so it is freed once ngtcp2 and GnuTLS are off
	 * the stack (quic_conn_read), some 12 KiB per connection. A client keeps its own. */
	c->tls_spent = ngtcp2_conn_is_server(conn);
	c->state = QS_READY;
	if (c->keepalive_ns != 0)
		keepalive_fit(c);
	conn_changed(c);
	if (c->cb.conn_ready != NULL && c->live)
		c->cb.conn_ready(c->cb.arg, c);
	return 0;
}

/* The TLS session is gone once a server's handshake is confirmed: CRYPTO data after that
 * would be a post-handshake TLS message, which the tunnel protocol never sends (no client
 * authentication, no tickets from clients). */
static int
cb_recv_crypto_data(ngtcp2_conn *conn, ngtcp2_crypto_level level, uint64_t offset,
    const uint8_t *data, size_t datalen, void *user_data)
{
	struct quic_conn *c = user_data;

	if (c->tls == NULL)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return ngtcp2_crypto_recv_crypto_data_cb(conn, level, offset, data, datalen, user_data);
}

/* Free the TLS session of a confirmed server connection (see cb_handshake_completed). */
static void
conn_tls_release(struct quic_conn *c)
{
	c->tls_spent = 0;
	if (c->tls == NULL)
		return;
	ngtcp2_conn_set_tls_native_handle(c->conn, NULL);
	gnutls_deinit(c->tls);
	c->tls = NULL;
}

static int
cb_stream_open(ngtcp2_conn *conn, int64_t stream_id, void *user_data)
{
	struct quic_conn *c = user_data;

	(void)conn;
	if (stream_new(c, stream_id) == NULL)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return 0;
}

static int
cb_recv_stream_data(ngtcp2_conn *conn, uint32_t flags, int64_t stream_id, uint64_t offset,
    const uint8_t *data, size_t datalen, void *user_data, void *stream_user_data)
{
	struct quic_conn *c = user_data;

	(void)offset;
	(void)stream_user_data;
	if (c->cb.stream_data != NULL && c->live)
		c->cb.stream_data(c->cb.arg, c, stream_id, data, datalen,
		    (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0);
	/* the bytes are consumed: give the credit back */
	ngtcp2_conn_extend_max_stream_offset(conn, stream_id, datalen);
	ngtcp2_conn_extend_max_offset(conn, datalen);
	return 0;
}

static int
cb_acked_stream_data_offset(ngtcp2_conn *conn, int64_t stream_id, uint64_t offset, uint64_t datalen,
    void *user_data, void *stream_user_data)
{
	struct quic_conn *c = user_data;
	struct quic_stream *st = stream_user_data;

	(void)conn;
	(void)offset;
	if (st == NULL && (st = quic_sendbuf_find(&c->sb, stream_id)) == NULL)
		return 0;
	quic_sendbuf_acked(&c->sb, st, datalen);
	return 0;
}

static int
cb_stream_close(ngtcp2_conn *conn, uint32_t flags, int64_t stream_id, uint64_t app_error_code,
    void *user_data, void *stream_user_data)
{
	struct quic_conn *c = user_data;
	struct quic_stream *st = stream_user_data;

	(void)flags;
	(void)app_error_code;
	if (st == NULL)
		st = quic_sendbuf_find(&c->sb, stream_id);
	if (st != NULL)
		quic_sendbuf_close(&c->sb, st);
	/* the peer may open another one: a long-lived tunnel makes requests forever */
	if (!ngtcp2_conn_is_local_stream(conn, stream_id) && ngtcp2_is_bidi_stream(stream_id))
		ngtcp2_conn_extend_max_streams_bidi(conn, 1);
	return 0;
}

static void
stream_aborted(struct quic_conn *c, int64_t stream_id, void *stream_user_data, uint64_t code)
{
	struct quic_stream *st = stream_user_data;

	if (st == NULL)
		st = quic_sendbuf_find(&c->sb, stream_id);
	if (st != NULL) {
		if (st->shut)
			return; /* told once */
		st->shut = 1;
	}
	if (c->cb.stream_reset != NULL && c->live)
		c->cb.stream_reset(c->cb.arg, c, stream_id, code);
}

static int
cb_stream_reset(ngtcp2_conn *conn, int64_t stream_id, uint64_t final_size, uint64_t app_error_code,
    void *user_data, void *stream_user_data)
{
	(void)conn;
	(void)final_size;
	stream_aborted(user_data, stream_id, stream_user_data, app_error_code);
	return 0;
}

static int
cb_stream_stop_sending(ngtcp2_conn *conn, int64_t stream_id, uint64_t app_error_code,
    void *user_data, void *stream_user_data)
{
	(void)conn;
	stream_aborted(user_data, stream_id, stream_user_data, app_error_code);
	return 0;
}

static int
cb_recv_datagram(
    ngtcp2_conn *conn, uint32_t flags, const uint8_t *data, size_t datalen, void *user_data)
{
	struct quic_conn *c = user_data;

	(void)conn;
	(void)flags;
	c->stats.rx_datagrams++;
	c->stats.rx_bytes += datalen;
	if (c->cb.datagram != NULL && c->live)
		c->cb.datagram(c->cb.arg, c, data, datalen);
	return 0;
}

void
quic_conn_callbacks(ngtcp2_callbacks *cbs, int server)
{
	memset(cbs, 0, sizeof(*cbs));
	if (server) {
		cbs->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
	} else {
		cbs->client_initial = ngtcp2_crypto_client_initial_cb;
		cbs->recv_retry = ngtcp2_crypto_recv_retry_cb;
	}
	cbs->recv_crypto_data = cb_recv_crypto_data;
	cbs->encrypt = ngtcp2_crypto_encrypt_cb;
	cbs->decrypt = ngtcp2_crypto_decrypt_cb;
	cbs->hp_mask = ngtcp2_crypto_hp_mask_cb;
	cbs->update_key = ngtcp2_crypto_update_key_cb;
	cbs->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
	cbs->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
	cbs->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
	cbs->version_negotiation = ngtcp2_crypto_version_negotiation_cb;
	cbs->rand = cb_rand;
	cbs->get_new_connection_id = cb_get_new_connection_id;
	cbs->remove_connection_id = cb_remove_connection_id;
	cbs->handshake_completed = cb_handshake_completed;
	cbs->stream_open = cb_stream_open;
	cbs->recv_stream_data = cb_recv_stream_data;
	cbs->acked_stream_data_offset = cb_acked_stream_data_offset;
	cbs->stream_close = cb_stream_close;
	cbs->stream_reset = cb_stream_reset;
	cbs->stream_stop_sending = cb_stream_stop_sending;
	cbs->recv_datagram = cb_recv_datagram;
}

/* ---- the end of a connection ---- */

/* Enter the end state st, run conn_closed once, tell the owner. */
static void
conn_finish(struct quic_conn *c, enum quic_state st, uint64_t now)
{
	if (!c->live)
		return;
	c->live = 0;
	c->state = st;
	c->close_pending = 0;
	if (c->drain_end == 0)
		c->drain_end = now + 3 * ngtcp2_conn_get_pto(c->conn);
	if (c->cb.conn_closed != NULL)
		c->cb.conn_closed(c->cb.arg, c, &c->how);
	if (c->ops->ended != NULL)
		c->ops->ended(c->owner, c);
}

/* Write a CONNECTION_CLOSE carrying ccerr, keep it for resending, and end c. */
static void
conn_send_close(struct quic_conn *c, const ngtcp2_connection_close_error *ccerr, uint64_t now)
{
	ngtcp2_path_storage ps;
	ngtcp2_pkt_info pi;
	ngtcp2_ssize n;
	uint8_t *buf;

	ngtcp2_path_storage_zero(&ps);
	buf = quic_tx_slot(c->tx);
	n = ngtcp2_conn_write_connection_close(
	    c->conn, &ps.path, &pi, buf, QUIC_PKT_MAX, ccerr, now);
	if (n > 0) {
		if (c->ops->keep_close && (c->close_pkt = malloc((size_t)n)) != NULL) {
			memcpy(c->close_pkt, buf, (size_t)n);
			c->close_pktlen = (size_t)n;
		}
		quic_tx_commit(c->tx, (size_t)n, ps.path.remote.addr, ps.path.remote.addrlen,
		    ps.path.local.addr);
	}
	conn_finish(c, QS_CLOSING, now);
}

/* A transport-level failure of ours (ngtcp2 error rv): close with it. */
static void
conn_fail(struct quic_conn *c, int rv, uint64_t now)
{
	ngtcp2_connection_close_error ccerr;

	if (rv == NGTCP2_ERR_CRYPTO) {
		ngtcp2_connection_close_error_set_transport_error_tls_alert(
		    &ccerr, ngtcp2_conn_get_tls_alert(c->conn), NULL, 0);
		c->how.handshake_failed = 1;
	} else {
		ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, rv, NULL, 0);
	}
	c->how.by_peer = 0;
	c->how.app = 0;
	c->how.code = ccerr.error_code;
	snprintf(c->how.reason, sizeof(c->how.reason), "%s", ngtcp2_strerror(rv));
	if (!c->handshake_done)
		c->how.handshake_failed = 1;
	log_debug("quic: closing a connection: %s", ngtcp2_strerror(rv));
	if (rv == NGTCP2_ERR_DROP_CONN || rv == NGTCP2_ERR_RETRY) {
		c->drain_end = now;
		conn_finish(c, QS_DRAINING, now);
		return;
	}
	conn_send_close(c, &ccerr, now);
}

static void
conn_peer_closed(struct quic_conn *c, uint64_t now)
{
	ngtcp2_connection_close_error ccerr;
	size_t n;

	ngtcp2_conn_get_connection_close_error(c->conn, &ccerr);
	c->how.by_peer = 1;
	c->how.app = ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION;
	c->how.code = ccerr.error_code;
	n = ccerr.reasonlen < QUIC_REASON_MAX ? ccerr.reasonlen : QUIC_REASON_MAX;
	if (n > 0)
		memcpy(c->how.reason, ccerr.reason, n);
	c->how.reason[n] = '\0';
	c->how.handshake_failed = !c->handshake_done;
	conn_finish(c, QS_DRAINING, now);
}

int
quic_conn_read(
    struct quic_conn *c, const ngtcp2_path *path, const uint8_t *pkt, size_t len, uint64_t now)
{
	ngtcp2_pkt_info pi;
	int rv;

	memset(&pi, 0, sizeof(pi));
	c->in_ngtcp2 = 1;
	rv = ngtcp2_conn_read_pkt(c->conn, path, &pi, pkt, len, now);
	c->in_ngtcp2 = 0;
	if (rv == 0 || rv == NGTCP2_ERR_DISCARD_PKT) {
		if (c->tls_spent)
			conn_tls_release(c);
		quic_conn_touch(c);
		return 0;
	}
	if (rv == NGTCP2_ERR_DRAINING)
		conn_peer_closed(c, now);
	else
		conn_fail(c, rv, now);
	return -1;
}

/* ---- writing ---- */

/* Packets for what c has to send, at most maxpkts (0: as many as allowed). 0 or an ngtcp2
 * error. */
static int
conn_write_pkts(struct quic_conn *c, uint64_t now, size_t maxpkts)
{
	ngtcp2_path_storage ps;
	ngtcp2_pkt_info pi;
	ngtcp2_ssize nwrite, ndatalen;
	ngtcp2_vec v[16];
	struct quic_stream *st;
	size_t maxudp = ngtcp2_conn_get_max_tx_udp_payload_size(c->conn);
	size_t npkts = 0, vcnt, fresh_miss = 0;
	uint64_t total;
	uint8_t *buf;
	uint32_t flags;
	int64_t sid;
	int accepted, dgram_stuck = 0;

	if (maxudp > QUIC_PKT_MAX)
		maxudp = QUIC_PKT_MAX;
	if (c->dq_count > 0)
		c->dq_last = now;
	for (st = c->sb.streams; st != NULL; st = st->next)
		st->blocked = 0;
	ngtcp2_path_storage_zero(&ps);
	for (;;) {
		buf = quic_tx_slot(c->tx);
		if (c->dq_count > 0 && !dgram_stuck && c->handshake_done) {
			ngtcp2_vec dv;

			dv.base = c->dq[c->dq_head].data;
			dv.len = c->dq[c->dq_head].len;
			accepted = 0;
			nwrite = ngtcp2_conn_writev_datagram(c->conn, &ps.path, &pi, buf, maxudp,
			    &accepted, NGTCP2_WRITE_DATAGRAM_FLAG_MORE, 0, &dv, 1, now);
			if (accepted) {
				dq_pop(c, 1);
				fresh_miss = 0;
			}
			if (nwrite == NGTCP2_ERR_WRITE_MORE)
				continue;
			if (nwrite == NGTCP2_ERR_INVALID_ARGUMENT ||
			    nwrite == NGTCP2_ERR_INVALID_STATE) {
				/* over the peer's limit, or no DATAGRAM support: never sendable */
				dq_pop(c, 0);
				continue;
			}
			if (nwrite < 0)
				return (int)nwrite;
			if (nwrite == 0) {
				/* congestion/amplification limit, or it fits no packet */
				if (!accepted && quic_conn_max_datagram(c) < dv.len)
					dq_pop(c, 0);
				else
					dgram_stuck = 1;
				continue;
			}
			if (!accepted && ++fresh_miss >= 2) {
				/* an empty packet could not take it either */
				dq_pop(c, 0);
				fresh_miss = 0;
			}
		} else {
			st = c->sb.streams;
			while (st != NULL && !quic_sendbuf_has_output(st))
				st = st->next;
			flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
			sid = -1;
			vcnt = 0;
			total = 0;
			if (st != NULL) {
				sid = st->id;
				vcnt = quic_sendbuf_vecs(st, v, sizeof(v) / sizeof(v[0]), &total);
				if (st->fin && st->sent + total == st->queued)
					flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
			}
			nwrite = ngtcp2_conn_writev_stream(c->conn, &ps.path, &pi, buf, maxudp,
			    &ndatalen, flags, sid, vcnt ? v : NULL, vcnt, now);
			if (st != NULL && ndatalen >= 0) {
				st->sent += (uint64_t)ndatalen;
				if ((flags & NGTCP2_WRITE_STREAM_FLAG_FIN) &&
				    st->sent == st->queued)
					st->fin_sent = 1;
			}
			if (nwrite < 0) {
				switch (nwrite) {
				case NGTCP2_ERR_WRITE_MORE: continue;
				case NGTCP2_ERR_STREAM_DATA_BLOCKED: st->blocked = 1; continue;
				case NGTCP2_ERR_STREAM_SHUT_WR:
				case NGTCP2_ERR_STREAM_NOT_FOUND: st->shut = 1; continue;
				default: return (int)nwrite;
				}
			}
			if (nwrite == 0)
				break;
		}
		quic_tx_commit(c->tx, (size_t)nwrite, ps.path.remote.addr, ps.path.remote.addrlen,
		    ps.path.local.addr);
		if (++npkts == maxpkts)
			break; /* the pacer's timer (ngtcp2_conn_get_expiry) brings us back */
	}
	ngtcp2_conn_update_pkt_tx_time(c->conn, now);
	return 0;
}

void
quic_conn_write(struct quic_conn *c, uint64_t now)
{
	ngtcp2_connection_close_error ccerr;
	size_t maxpkts, maxudp;
	int rv;

	if (!c->live || c->in_ngtcp2)
		return;
	maxudp = ngtcp2_conn_get_max_tx_udp_payload_size(c->conn);
	maxpkts = ngtcp2_conn_get_send_quantum(c->conn) / maxudp;
	if (maxpkts == 0)
		maxpkts = 1;
	if (c->close_pending)
		maxpkts = 0; /* what flow control allows goes out before the close */
	if ((rv = conn_write_pkts(c, now, maxpkts)) != 0) {
		conn_fail(c, rv, now);
		return;
	}
	dq_trim(c, now);
	/* The pacer may hold back the answer written just before the close (a refused handshake
	 * request): the close waits for it, briefly, or it would overtake the answer. */
	if (c->close_pending && quic_sendbuf_any_output(&c->sb) && now < c->close_by)
		return;
	if (c->close_pending) {
		c->close_pending = 0;
		ngtcp2_connection_close_error_set_application_error(&ccerr, c->close_code,
		    (const uint8_t *)c->close_reason, strlen(c->close_reason));
		c->how.by_peer = 0;
		c->how.app = 1;
		c->how.code = c->close_code;
		memcpy(c->how.reason, c->close_reason, sizeof(c->how.reason));
		c->how.handshake_failed = !c->handshake_done;
		conn_send_close(c, &ccerr, now);
	}
}

/* ---- timers ---- */

uint64_t
quic_conn_expiry(const struct quic_conn *c)
{
	uint64_t e;

	if (!c->live)
		return c->drain_end;
	if (c->close_pending && !quic_sendbuf_any_output(&c->sb))
		return 0;
	e = ngtcp2_conn_get_expiry(c->conn);
	if (c->close_pending && c->close_by < e)
		e = c->close_by;
	if (c->deadline != 0 && c->deadline < e)
		e = c->deadline;
	return e;
}

void
quic_conn_timer(struct quic_conn *c, uint64_t now)
{
	int rv;

	if (!c->live)
		return;
	if (c->deadline != 0 && c->deadline <= now) {
		c->deadline = 0;
		if (c->cb.deadline != NULL)
			c->cb.deadline(c->cb.arg, c);
	}
	if (ngtcp2_conn_get_expiry(c->conn) <= now) {
		c->in_ngtcp2 = 1;
		rv = ngtcp2_conn_handle_expiry(c->conn, now);
		c->in_ngtcp2 = 0;
		if (rv == NGTCP2_ERR_IDLE_CLOSE || rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
			/* silently gone: no CONNECTION_CLOSE either way */
			c->how.by_peer = 0;
			c->how.app = 0;
			c->how.code = 0;
			c->how.idle = rv == NGTCP2_ERR_IDLE_CLOSE;
			snprintf(c->how.reason, sizeof(c->how.reason), "%s",
			    c->how.idle ? "idle timeout" : "handshake timeout");
			c->how.handshake_failed = !c->handshake_done;
			c->drain_end = now;
			conn_finish(c, QS_DRAINING, now);
			return;
		}
		if (rv != 0) {
			conn_fail(c, rv, now);
			return;
		}
	}
	quic_conn_write(c, now);
}

void
quic_conn_release(struct quic_conn *c)
{
	quic_sendbuf_clear(&c->sb);
	while (c->dq_count > 0)
		dq_pop(c, 0);
	free(c->dq);
	c->dq = NULL;
	c->dq_cap = 0;
	if (c->conn != NULL)
		ngtcp2_conn_del(c->conn);
	c->conn = NULL;
	if (c->tls != NULL)
		gnutls_deinit(c->tls);
	c->tls = NULL;
}

void
quic_conn_free(struct quic_conn *c)
{
	if (c == NULL)
		return;
	quic_conn_release(c);
	if (c->client_cred != NULL)
		gnutls_certificate_free_credentials(c->client_cred);
	free(c->verify_name);
	free(c->close_pkt);
	free(c->rxbuf);
	free(c);
}

/* ---- the public calls on connections ---- */

void
quic_conn_set_data(struct quic_conn *c, void *data)
{
	c->data = data;
}

void *
quic_conn_data(const struct quic_conn *c)
{
	return c->data;
}

const struct sockaddr *
quic_conn_remote(const struct quic_conn *c, socklen_t *len)
{
	if (len != NULL)
		*len = c->remote_shownlen;
	return (const struct sockaddr *)&c->remote_shown;
}

int
quic_stream_send(struct quic_conn *c, int64_t stream_id, const void *data, size_t len, int fin)
{
	struct quic_stream *st;
	int rv;

	if (!c->live || c->close_pending)
		return QUIC_ERR_CLOSED;
	if ((st = quic_sendbuf_find(&c->sb, stream_id)) == NULL)
		return QUIC_ERR_STREAM;
	if ((rv = quic_sendbuf_queue(&c->sb, st, data, len, fin)) != QUIC_OK)
		return rv;
	quic_conn_touch(c);
	return QUIC_OK;
}

int
quic_stream_open(struct quic_conn *c, int64_t *stream_id)
{
	int64_t id;
	int rv;

	if (!c->live || c->close_pending)
		return QUIC_ERR_CLOSED;
	rv = ngtcp2_conn_open_bidi_stream(c->conn, &id, NULL);
	if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED)
		return QUIC_ERR_STREAM_LIMIT;
	if (rv != 0)
		return QUIC_ERR_INTERNAL;
	if (stream_new(c, id) == NULL) {
		ngtcp2_conn_shutdown_stream(c->conn, id, 0);
		return QUIC_ERR_NOMEM;
	}
	*stream_id = id;
	return QUIC_OK;
}

int
quic_datagram_send(struct quic_conn *c, const void *data, size_t len)
{
	size_t i;
	uint8_t *copy;

	if (!c->live || c->close_pending)
		return QUIC_ERR_CLOSED;
	if (!c->handshake_done)
		return QUIC_ERR_BLOCKED;
	if (len > quic_conn_max_datagram(c))
		return QUIC_ERR_TOO_BIG;
	if (c->dq_count == QUIC_DGRAM_QUEUE)
		return QUIC_ERR_BLOCKED;
	if (dq_grow(c) != 0)
		return QUIC_ERR_NOMEM;
	if ((copy = dgbuf_get(len)) == NULL)
		return QUIC_ERR_NOMEM;
	memcpy(copy, data, len);
	i = (c->dq_head + c->dq_count) & (c->dq_cap - 1);
	c->dq[i].data = copy;
	c->dq[i].len = len;
	c->dq_count++;
	quic_conn_touch(c);
	return QUIC_OK;
}

static size_t
varint_len(uint64_t n)
{
	return n < 64 ? 1 : n < 16384 ? 2 : n < 1073741824 ? 4 : 8;
}

size_t
quic_conn_max_datagram(const struct quic_conn *c)
{
	const ngtcp2_transport_params *rp;
	size_t udp, overhead, by_path, by_peer;

	if (!c->handshake_done || !c->live)
		return 0;
	rp = ngtcp2_conn_get_remote_transport_params(c->conn);
	if (rp == NULL || rp->max_datagram_frame_size == 0)
		return 0;
	/* packets stay at 1200 bytes until PMTUD proves more; ngtcp2 would silently not send a
	 * datagram over that (accepted 0, no error), so the bound is ours to enforce */
	udp = ngtcp2_conn_get_path_max_tx_udp_payload_size(c->conn);
	/* short header: flags, DCID, packet number (<= 4); the AEAD tag; the frame's type and
	 * length */
	overhead = 1 + ngtcp2_conn_get_dcid(c->conn)->datalen + 4 + 16 + 1 + 2;
	by_path = udp > overhead ? udp - overhead : 0;
	by_peer = rp->max_datagram_frame_size > 9
	    ? (size_t)rp->max_datagram_frame_size - 1 - varint_len(rp->max_datagram_frame_size)
	    : 0;
	return by_path < by_peer ? by_path : by_peer;
}

void
quic_conn_set_deadline(struct quic_conn *c, uint64_t at_ns)
{
	c->deadline = at_ns;
	conn_changed(c);
}

void
quic_conn_close(struct quic_conn *c, uint64_t code, const char *reason)
{
	if (!c->live || c->close_pending)
		return;
	c->close_pending = 1;
	c->close_by = clock_mono_ns() + QUIC_CLOSE_WAIT_NS;
	c->close_code = code;
	snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason != NULL ? reason : "");
	quic_conn_touch(c);
	conn_changed(c);
}

void
quic_conn_stats(const struct quic_conn *c, struct quic_conn_stats *out)
{
	*out = c->stats;
}
