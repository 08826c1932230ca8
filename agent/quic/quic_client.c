/* The QUIC client: one connection on its own connected UDP socket, its server pinned by the
 * SHA-256 of its SubjectPublicKeyInfo. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/clock.h"
#include "../../lib/log.h"
#include "quic_conn.h"
#include "quic_tls.h"
#include "quic_udp.h"

#define QUIC_CLIENT_RX 4096
#define QUIC_CLIENT_DCID_LEN 18
#define QUIC_CLIENT_SCID_LEN 16

/* ops->cid_new: random; nobody demultiplexes by the client's CIDs but its own socket. */
static int
client_cid_new(void *owner, struct quic_conn *c, ngtcp2_cid *cid, uint8_t *token, size_t cidlen)
{
	(void)owner;
	(void)c;
	quic_rand(cid->data, cidlen);
	cid->datalen = cidlen;
	quic_rand(token, NGTCP2_STATELESS_RESET_TOKENLEN);
	return 0;
}

/* The client owns its connection alone: it writes after every read and timer, and frees the
 * connection once it has ended (client_done), so it needs no other hook. */
static const struct quic_owner_ops client_ops = {
    .cid_new = client_cid_new,
};

static ngtcp2_conn *
client_conn_ref_get(ngtcp2_crypto_conn_ref *ref)
{
	return ((struct quic_conn *)ref->user_data)->conn;
}

static void
client_release(struct quic_conn *c)
{
	int fd;

	if (c == NULL)
		return;
	fd = c->fd;
	if (c->tx != NULL)
		quic_tx_flush(c->tx);
	free(c->tx);
	c->tx = NULL;
	quic_conn_free(c);
	if (fd != -1)
		close(fd);
}

struct quic_conn *
quic_client_open(const struct quic_client_config *cfg, const struct quic_callbacks *cb)
{
	ngtcp2_callbacks cbs;
	ngtcp2_settings settings;
	ngtcp2_transport_params params;
	ngtcp2_path path;
	ngtcp2_cid dcid, scid;
	struct sockaddr_storage ss;
	socklen_t sl;
	struct quic_conn *c;
	uint64_t now = clock_mono_ns();

	if (quic_udp_parse(cfg->server, &ss, &sl) != 0) {
		log_error("quic: invalid server address \"%s\": want ADDRESS:PORT or "
			  "[ADDRESS]:PORT",
		    cfg->server);
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->ops = &client_ops;
	c->fd = -1;
	c->cb = *cb;
	c->state = QS_HANDSHAKE;
	c->heap_idx = SIZE_MAX;
	c->conn_ref.get_conn = client_conn_ref_get;
	c->conn_ref.user_data = c;
	if (cfg->spki_pin != NULL) {
		memcpy(c->pin_buf, cfg->spki_pin, QUIC_SPKI_PIN_LEN);
		c->pin = c->pin_buf;
	}
	c->tx = calloc(1, sizeof(*c->tx));
	if (c->tx == NULL)
		goto fail;
	if ((c->fd = quic_udp_open(&ss, sl, 0)) == -1)
		goto fail;
	/* QUIC_BATCH receive buffers, resident only where datagrams were written */
	c->rxsize = quic_udp_gro(c->fd) ? QUIC_GRO_BUF : QUIC_CLIENT_RX;
	if ((c->rxbuf = malloc(QUIC_BATCH * c->rxsize)) == NULL)
		goto fail;
	c->tx->fd = c->fd;
	c->tx->connected = 1;
	c->tx->gso = quic_udp_gso(c->fd);
	quic_conn_set_remote(c, (struct sockaddr *)&ss, sl);
	c->locallen = sizeof(c->local);
	if (getsockname(c->fd, (struct sockaddr *)&c->local, &c->locallen) == -1)
		goto fail;

	dcid.datalen = QUIC_CLIENT_DCID_LEN;
	quic_rand(dcid.data, dcid.datalen);
	scid.datalen = QUIC_CLIENT_SCID_LEN;
	quic_rand(scid.data, scid.datalen);
	quic_conn_callbacks(&cbs, 0);
	ngtcp2_settings_default(&settings);
	settings.initial_ts = now;
	settings.handshake_timeout = QUIC_HANDSHAKE_TIMEOUT_NS;
	ngtcp2_transport_params_default(&params);
	params.initial_max_streams_bidi = 0;
	params.initial_max_streams_uni = 0;
	params.initial_max_stream_data_bidi_local = 256 * 1024;
	params.initial_max_data = 1024 * 1024;
	params.max_idle_timeout =
	    cfg->idle_timeout_ns ? cfg->idle_timeout_ns : QUIC_IDLE_TIMEOUT_NS;
	params.max_udp_payload_size = QUIC_CLIENT_RX;
	params.max_datagram_frame_size = QUIC_MAX_DATAGRAM_FRAME;
	path.local.addr = (struct sockaddr *)&c->local;
	path.local.addrlen = c->locallen;
	path.remote.addr = (struct sockaddr *)&c->remote;
	path.remote.addrlen = c->remotelen;
	path.user_data = NULL;
	if (ngtcp2_conn_client_new(&c->conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cbs,
		&settings, &params, quic_mem(), c) != 0)
		goto fail;
	/* the default is fitted to the idle timeout once agreed; a configured value is kept */
	c->keepalive_ns = cfg->keepalive_ns ? 0 : QUIC_KEEPALIVE_NS;
	ngtcp2_conn_set_keep_alive_timeout(
	    c->conn, cfg->keepalive_ns ? cfg->keepalive_ns : QUIC_KEEPALIVE_NS);
	if (quic_tls_client_session(
		c, cfg->spki_pin == NULL ? cfg->ca_file : NULL, cfg->server_name) != 0)
		goto fail;
	c->live = 1;
	quic_conn_write(c, now);
	quic_tx_flush(c->tx);
	if (!c->live)
		goto fail;
	return c;
fail:
	log_error("quic: cannot connect to \"%s\"", cfg->server);
	client_release(c);
	return NULL;
}

void
quic_client_free(struct quic_conn *c)
{
	if (c == NULL)
		return;
	if (c->live) {
		c->cb.conn_closed = NULL;
		if (!c->close_pending)
			quic_conn_close(c, 0, "");
		c->close_by = 0; /* going away now: no waiting for the pacer */
		quic_conn_write(c, clock_mono_ns());
	}
	client_release(c);
}

int
quic_client_fd(const struct quic_conn *c)
{
	return c->fd;
}

/* Send, and free c when it has ended (conn_closed ran). */
static void
client_done(struct quic_conn *c, uint64_t now)
{
	if (c->live)
		quic_conn_write(c, now);
	quic_tx_flush(c->tx);
	if (!c->live)
		client_release(c);
}

void
quic_client_read(struct quic_conn *c)
{
	uint8_t *rx = c->rxbuf;
	struct mmsghdr msgs[QUIC_BATCH];
	struct iovec iov[QUIC_BATCH];
	uint8_t ctl[QUIC_BATCH][QUIC_CMSG_SPACE];
	ngtcp2_path path;
	uint64_t now = clock_mono_ns();
	size_t len, seg, off, handled = 0;
	int n, i, round;

	path.local.addr = (struct sockaddr *)&c->local;
	path.local.addrlen = c->locallen;
	path.remote.addr = (struct sockaddr *)&c->remote;
	path.remote.addrlen = c->remotelen;
	path.user_data = NULL;
	for (round = 0; round < 16 && c->live; round++) {
		memset(msgs, 0, sizeof(msgs));
		for (i = 0; i < QUIC_BATCH; i++) {
			iov[i].iov_base = rx + (size_t)i * c->rxsize;
			iov[i].iov_len = c->rxsize;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_control = ctl[i];
			msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
		}
		n = recvmmsg(c->fd, msgs, QUIC_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_debug("quic: recvmmsg: %s", strerror(errno));
			break;
		}
		now = clock_mono_ns();
		for (i = 0; i < n && c->live; i++) {
			/* an empty datagram is no packet (ngtcp2 asserts there is a byte) */
			len = msgs[i].msg_len;
			if ((msgs[i].msg_hdr.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || len == 0)
				continue;
			seg = quic_udp_segment(&msgs[i].msg_hdr, len);
			if (seg > QUIC_CLIENT_RX)
				continue; /* larger than we take, GRO buffer or not */
			for (off = 0; off < len && c->live; off += seg) {
				(void)quic_conn_read(c, &path, (uint8_t *)iov[i].iov_base + off,
				    len - off < seg ? len - off : seg, now);
				/* acknowledgements go out every QUIC_BATCH packets of a long read
				 * (quic_server_read says why) */
				if (++handled % QUIC_BATCH == 0 && c->live) {
					quic_conn_write(c, now);
					quic_tx_flush(c->tx);
				}
			}
		}
		if (c->live)
			quic_conn_write(c, now);
		if (n < QUIC_BATCH)
			break;
	}
	client_done(c, now);
}

uint64_t
quic_client_expiry(const struct quic_conn *c)
{
	return quic_conn_expiry(c);
}

void
quic_client_expire(struct quic_conn *c, uint64_t now_ns)
{
	quic_conn_timer(c, now_ns);
	client_done(c, now_ns);
}

void
quic_client_flush(struct quic_conn *c)
{
	client_done(c, clock_mono_ns());
}
