/* Internals shared by the agent/quic*.c files (agent/quic.h is the public side): the
 * connection core (quic_conn.c), TLS sessions (quic_tls.c), UDP sockets (quic_udp.c), the
 * server's demultiplexer (quic_server.c) and the client (quic_client.c). */
#ifndef AGENT_QUIC_INTERNAL_H
#define AGENT_QUIC_INTERNAL_H

#include <stdint.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include "quic.h"

#define QUIC_SCID_LEN 16 /* every connection ID the server issues has this length */
#define QUIC_STATIC_SECRET_LEN 32
#define QUIC_PKT_MAX 1500 /* buffer per UDP datagram we write (max_tx_udp_payload_size 1452) */
#define QUIC_BATCH 64 /* datagrams per sendmmsg/recvmmsg */
#define QUIC_STREAM_PENDING_MAX (64 * 1024) /* unacknowledged stream bytes per connection */
#define QUIC_CLOSE_WAIT_NS (500ull * 1000000u) /* a close waits this long for paced stream data */
#define QUIC_DGRAM_QUEUE 128 /* DATAGRAM payloads waiting for a packet, per connection */
#define QUIC_HANDSHAKE_TIMEOUT_NS (10ull * 1000000000u)

/* Test-only knob (tests/unit/quic_test.c): when non-NULL, clients offer this ALPN instead of
 * QUIC_ALPN, to show that the server refuses other protocols. */
extern const char *quic_test_client_alpn;

enum quic_state {
	QS_HANDSHAKE, /* TLS handshake in progress */
	QS_READY, /* handshake completed */
	QS_CLOSING, /* we sent CONNECTION_CLOSE: resend it on incoming packets until drain_end */
	QS_DRAINING, /* the peer closed, or it timed out: drop everything until drain_end */
};

struct quic_chunk; /* stream bytes kept until acknowledged */
struct quic_stream;
struct quic_cid_entry;

/* UDP batch sender: packets collected, then sent with one sendmmsg. */
struct quic_txbatch {
	int fd;
	int connected; /* client socket: no address per message */
	size_t n;
	struct sockaddr_storage to[QUIC_BATCH], from[QUIC_BATCH];
	socklen_t tolen[QUIC_BATCH];
	size_t len[QUIC_BATCH];
	uint8_t buf[QUIC_BATCH][QUIC_PKT_MAX];
};

struct quic_server;

struct quic_conn {
	struct quic_server *srv; /* NULL: a client connection */
	int fd; /* the socket its packets leave by */
	struct quic_txbatch *tx; /* the server's shared batch, or the client's own */
	ngtcp2_crypto_conn_ref conn_ref;
	ngtcp2_conn *conn;
	gnutls_session_t tls;
	struct quic_callbacks cb;
	void *data;
	enum quic_state state;
	int live; /* conn_closed not yet called */
	int in_ngtcp2; /* inside ngtcp2_conn_read_pkt/handle_expiry: no writes */
	int dirty; /* on the server's dirty list */
	struct quic_conn *dirty_next;
	struct quic_conn *all_prev, *all_next; /* the server's list of every connection */
	size_t heap_idx; /* position in the server's expiry heap, SIZE_MAX when absent */
	uint64_t heap_key;

	struct sockaddr_storage local, remote, remote_shown;
	socklen_t locallen, remotelen, remote_shownlen;

	/* streams, in opening order; stream bytes not yet acknowledged, connection-wide */
	struct quic_stream *streams;
	size_t pending_bytes;

	/* DATAGRAM payloads waiting for the next write (a ring) */
	struct {
		uint8_t *data;
		size_t len;
	} dq[QUIC_DGRAM_QUEUE];
	size_t dq_head, dq_count;

	uint64_t deadline; /* the application's, 0: none */
	uint64_t drain_end; /* QS_CLOSING/QS_DRAINING: when to free */
	uint8_t *close_pkt; /* QS_CLOSING: the packet to resend */
	size_t close_pktlen;
	uint64_t close_rx; /* packets received while closing (resend on powers of two) */

	int close_pending; /* quic_conn_close() called: write it with the next write */
	uint64_t close_by; /* the close waits for paced stream data until then at most */
	uint64_t close_code;
	char close_reason[QUIC_REASON_MAX + 1];
	int handshake_done;
	int hs_counted; /* server: counted in its handshakes in progress */

	struct quic_close how;
	struct quic_conn_stats stats;
	struct quic_cid_entry *cids; /* server: the table entries that lead here */

	const unsigned char *pin; /* client: the server's SPKI pin or NULL */
	unsigned char pin_buf[QUIC_SPKI_PIN_LEN];
	gnutls_certificate_credentials_t client_cred; /* client only */
	void *rxbuf; /* client only: receive buffers */
};

/* quic_conn.c: the connection core. */
uint64_t quic_now(void);
void quic_rand(void *dst, size_t len);
void quic_conn_callbacks(ngtcp2_callbacks *cbs, int server);
/* Feed one packet to c (not closing/draining): 0 or -1 when c has ended (conn_closed ran). */
int quic_conn_read(
    struct quic_conn *c, const ngtcp2_path *path, const uint8_t *pkt, size_t len, uint64_t now);
/* Write what c has to send into c->tx (flushing it when full); run the pending close. */
void quic_conn_write(struct quic_conn *c, uint64_t now);
/* Timers due at now: ngtcp2's, the application deadline. Then write. */
void quic_conn_timer(struct quic_conn *c, uint64_t now);
/* When c next needs quic_conn_timer (UINT64_MAX: never). */
uint64_t quic_conn_expiry(const struct quic_conn *c);
/* Enter the end state, run conn_closed once. */
void quic_conn_finish(struct quic_conn *c, enum quic_state st, uint64_t now);
void quic_conn_free(struct quic_conn *c);
/* Mark c as having something to write (the server keeps a list). */
void quic_conn_touch(struct quic_conn *c);
void quic_conn_set_remote(struct quic_conn *c, const struct sockaddr *sa, socklen_t len);

/* quic_server.c hooks used by the core. */
void quic_server_conn_touch(struct quic_server *s, struct quic_conn *c);
void quic_server_conn_changed(struct quic_server *s, struct quic_conn *c);
int quic_server_new_cid(
    struct quic_server *s, struct quic_conn *c, ngtcp2_cid *cid, uint8_t *token, size_t cidlen);
void quic_server_remove_cid(struct quic_server *s, struct quic_conn *c, const ngtcp2_cid *cid);
void quic_server_conn_ended(struct quic_server *s, struct quic_conn *c);

/* quic_udp.c */
/* Parse "1.2.3.4:5", "[::1]:5"; 0 or -1. */
int quic_udp_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len);
/* A non-blocking UDP socket bound to ss (server) or connected to it (client). -1 (logged). */
int quic_udp_open(const struct sockaddr_storage *ss, socklen_t len, int server);
/* Queue one packet in tx (sending the batch first when full). */
uint8_t *quic_tx_slot(struct quic_txbatch *tx);
/* from: the local address to send from (IP_PKTINFO); NULL or a wildcard: the kernel's choice */
void quic_tx_commit(struct quic_txbatch *tx, size_t len, const struct sockaddr *to, socklen_t tolen,
    const struct sockaddr *from);
void quic_tx_flush(struct quic_txbatch *tx);
/* One packet at once, unbatched (Retry, VN, resets, closes). */
void quic_udp_send1(int fd, const void *pkt, size_t len, const struct sockaddr *to, socklen_t tolen,
    const struct sockaddr *from);
/* Room for the IP_PKTINFO/IPV6_PKTINFO control message of one datagram. */
#define QUIC_CMSG_SPACE 64
/* The local address a datagram came to (its PKTINFO with the bound port), else the bound
 * address itself. */
void quic_udp_local(struct msghdr *msg, const struct sockaddr_storage *bound, socklen_t boundlen,
    struct sockaddr_storage *out, socklen_t *outlen);
/* ::ffff:a.b.c.d -> a.b.c.d (what quic_conn_remote shows); other addresses copied. */
void quic_udp_unmap(
    const struct sockaddr *sa, socklen_t len, struct sockaddr_storage *out, socklen_t *outlen);

/* quic_tls.c */
struct quic_tls_server;
struct quic_tls_server *quic_tls_server_new(const char *cert_file, const char *key_file);
void quic_tls_server_free(struct quic_tls_server *t);
int quic_tls_server_session(struct quic_tls_server *t, struct quic_conn *c);
int quic_tls_client_session(struct quic_conn *c);
/* SHA-256 of the DER SPKI of a DER certificate; 0 or -1. */
int quic_tls_spki_pin_der(const gnutls_datum_t *der, unsigned char pin[QUIC_SPKI_PIN_LEN]);

#endif
