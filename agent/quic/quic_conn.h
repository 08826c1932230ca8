/* The QUIC connection core (quic_conn.c), shared by the server (quic_server.c) and the client
 * (quic_client.c): the connection, its streams, the DATAGRAM queue, writing, timers and the
 * close states. quic.h is the public side.
 *
 * A connection belongs to an owner (the server, or the client itself) and asks it for the few
 * things only the owner can do through struct quic_owner_ops: the core calls no function of
 * quic_server.c or quic_client.c, so the layers go one way:
 *
 *   quic_udp.c, quic_sendbuf.c,
 *   quic_mem.c                  <-  quic_conn.c  <-  quic_tls.c, quic_cid.c  <-  quic_server.c,
 *                                                                 quic_client.c, quic_cert.c */
#ifndef AGENT_QUIC_CONN_H
#define AGENT_QUIC_CONN_H

#include <stdint.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include "quic.h"
#include "quic_mem.h"
#include "quic_sendbuf.h"
#include "quic_udp.h"

#define QUIC_CLOSE_WAIT_NS (500ull * 1000000u) /* a close waits this long for paced stream data */
/* DATAGRAM payloads waiting for a packet, per connection: the ring starts small (an idle or
 * quiet tunnel keeps little) and doubles while bursts fill it, up to the most a connection
 * holds. The most is about the bytes a full congestion window of a fast tunnel carries (1.4 MB
 * of 1400-byte packets): a queue much shorter than that drops packets of a TUN read burst while
 * the pacer holds them, and every drop makes the TCP flows inside back off (128 entries: 0.3
 * Gbit/s with 30,000 retransmits per 8 s between two clients through the agent; 1024: 0.5
 * Gbit/s with almost none). */
#define QUIC_DGRAM_QUEUE_MIN 32
#define QUIC_DGRAM_QUEUE 1024
/* The ring goes once it has been empty this long (checked on each write: an idle tunnel still
 * writes its keep-alives and acknowledgements): an idle tunnel that once carried a burst holds
 * no 16 KiB ring for it. */
#define QUIC_DGRAM_QUEUE_IDLE_NS (1000ull * 1000000u)
#define QUIC_HANDSHAKE_TIMEOUT_NS (10ull * 1000000000u)

enum quic_state {
	QS_HANDSHAKE, /* TLS handshake in progress */
	QS_READY, /* handshake completed */
	QS_CLOSING, /* we sent CONNECTION_CLOSE: resend it on incoming packets until drain_end */
	QS_DRAINING, /* the peer closed, or it timed out: drop everything until drain_end */
};

struct quic_conn;

/* What a connection needs from its owner. Each gets the owner pointer the owner set
 * (quic_conn.owner). NULL entries mean "nothing to do" where the comment says so. */
struct quic_owner_ops {
	/* c has something to write: the owner calls quic_conn_write() (or quic_conn_timer())
	 * before it next sleeps. Called once until the owner clears c->dirty. NULL: the owner
	 * writes after every read and timer anyway (the client). */
	void (*touch)(void *owner, struct quic_conn *c);
	/* c's expiry (quic_conn_expiry()) or handshake state changed. NULL: nothing to track. */
	void (*changed)(void *owner, struct quic_conn *c);
	/* Issue a connection ID of cidlen bytes for c into *cid and its stateless reset token
	 * (NGTCP2_STATELESS_RESET_TOKENLEN bytes) into token. 0 or -1. Never NULL. */
	int (*cid_new)(
	    void *owner, struct quic_conn *c, ngtcp2_cid *cid, uint8_t *token, size_t cidlen);
	/* The peer retired cid: packets to it no longer lead to c. NULL: nothing to forget. */
	void (*cid_retire)(void *owner, struct quic_conn *c, const ngtcp2_cid *cid);
	/* c has ended (its conn_closed callback ran); the owner frees it at quic_conn_expiry().
	 * NULL: the owner sees c->live drop itself. */
	void (*ended)(void *owner, struct quic_conn *c);
	/* 1: keep the CONNECTION_CLOSE packet in c->close_pkt to answer late packets with (a
	 * server, which sees the peer's packets until the drain ends). */
	int keep_close;
};

struct quic_cid_entry; /* the server's (quic_cid.c) */

struct quic_conn {
	const struct quic_owner_ops *ops;
	void *owner; /* given to every ops call */
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
	int dirty; /* touched: the owner was told (ops->touch) and has not written yet */

	/* the server's bookkeeping, untouched by the core */
	struct quic_conn *dirty_next; /* its list of touched connections */
	struct quic_conn *all_prev, *all_next; /* its list of every connection */
	size_t heap_idx; /* position in its expiry heap, SIZE_MAX when absent */
	uint64_t heap_key;
	int hs_counted; /* counted in its handshakes in progress */
	int validated; /* its first Initial carried our Retry token: the address is the peer's */
	struct quic_cid_entry *cids; /* its CID table entries that lead here */

	struct sockaddr_storage local, remote, remote_shown;
	socklen_t locallen, remotelen, remote_shownlen;

	struct quic_sendbuf sb; /* the streams' send sides */

	/* DATAGRAM payloads waiting for the next write: a ring of dq_cap entries (a power of
	 * two from QUIC_DGRAM_QUEUE_MIN to QUIC_DGRAM_QUEUE), allocated with the first datagram
	 * (a handshake never needs it) */
	struct quic_dgram {
		uint8_t *data;
		size_t len;
	} * dq;
	size_t dq_head, dq_count, dq_cap;
	uint64_t dq_last; /* when a write last found datagrams queued */

	uint64_t deadline; /* the application's, 0: none */
	uint64_t drain_end; /* QS_CLOSING/QS_DRAINING: when to free */
	uint8_t *close_pkt; /* QS_CLOSING with ops->keep_close: the packet to resend */
	size_t close_pktlen;
	uint64_t close_rx; /* packets received while closing (resend on powers of two) */

	int close_pending; /* quic_conn_close() called: write it with the next write */
	uint64_t close_by; /* the close waits for paced stream data until then at most */
	uint64_t close_code;
	char close_reason[QUIC_REASON_MAX + 1];
	int handshake_done;
	int tls_spent; /* a server's handshake is confirmed: free tls after this read */

	struct quic_close how;
	struct quic_conn_stats stats;

	uint64_t keepalive_ns; /* client, default keep-alive: fitted at the handshake (0: not) */
	const unsigned char *pin; /* client: the server's SPKI pin or NULL */
	unsigned char pin_buf[QUIC_SPKI_PIN_LEN];
	gnutls_certificate_credentials_t client_cred; /* client only */
	char *verify_name; /* client with a CA: the name GnuTLS checks, which it does not copy */
	void *rxbuf; /* client only: QUIC_BATCH receive buffers of rxsize bytes each */
	size_t rxsize;
};

/* len random bytes (GnuTLS); fatal when it fails. */
void quic_rand(void *dst, size_t len);

/* The ngtcp2 callbacks of every connection, server or client side, into *cbs. */
void quic_conn_callbacks(ngtcp2_callbacks *cbs, int server);

/* Feed one packet to c (not closing/draining): 0 or -1 when c has ended (conn_closed ran). */
int quic_conn_read(
    struct quic_conn *c, const ngtcp2_path *path, const uint8_t *pkt, size_t len, uint64_t now);

/* Write what c has to send into c->tx (flushing it when full); run the pending close. */
void quic_conn_write(struct quic_conn *c, uint64_t now);

/* Timers due at now: ngtcp2's, the application deadline. Then write. */
void quic_conn_timer(struct quic_conn *c, uint64_t now);

/* When c next needs quic_conn_timer (UINT64_MAX: never); once ended, when to free it. */
uint64_t quic_conn_expiry(const struct quic_conn *c);

/* Free c with its streams, queues, ngtcp2 and TLS state (not its socket or tx). NULL is fine. */
void quic_conn_free(struct quic_conn *c);

/* Free what an ended connection (c->live 0) no longer needs: its streams, queues, ngtcp2 and
 * TLS state. What is left (close_pkt, the owner's bookkeeping) waits for quic_conn_free(); no
 * call but quic_conn_expiry() and quic_conn_free() may follow. A server calls it from
 * ops->ended, so a closing or draining connection costs a few hundred bytes, not the tens of
 * KiB of a live one. */
void quic_conn_release(struct quic_conn *c);

/* Mark c as having something to write (ops->touch, once until the owner clears c->dirty). */
void quic_conn_touch(struct quic_conn *c);

/* The peer's address is now sa (set up, or a migration the owner saw). */
void quic_conn_set_remote(struct quic_conn *c, const struct sockaddr *sa, socklen_t len);

#endif
