/* QUIC transport (ngtcp2 0.12 + GnuTLS) for the gateway (server side) and for clients of the
 * tunnel protocol (the test client, benchmarks, later snaptun-client): connections, streams,
 * DATAGRAM frames, timers and close codes. It knows nothing of the tunnel protocol; the layer
 * above (agent/tunnel.c, a client) gets events through struct quic_callbacks and acts with the
 * quic_* calls below. Everything runs on the owner's one thread, driven by its epoll loop: the
 * owner polls the descriptors quic_*_fds() gives, calls quic_*_read() when one is readable and
 * quic_*_expire() when quic_*_expiry() has passed.
 *
 * Transport settings both sides use (proto/README.md §1.1): QUIC v1, TLS 1.3 only, ALPN "snaptun"
 * (a peer offering anything else fails the handshake), DATAGRAM with max_datagram_frame_size
 * 65535 advertised, idle timeout QUIC_IDLE_TIMEOUT_NS unless configured, clients PING after 5 s
 * idle, or a third of the idle timeout both sides agreed on when that is shorter.
 *
 * Callbacks may call any quic_* function on the connection they are given, including
 * quic_conn_close(); they must not free it (the transport does, after conn_closed). */
#ifndef AGENT_QUIC_H
#define AGENT_QUIC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define QUIC_ALPN "snaptun"
#define QUIC_IDLE_TIMEOUT_NS (30ull * 1000000000u)
#define QUIC_KEEPALIVE_NS (5ull * 1000000000u)
#define QUIC_MAX_DATAGRAM_FRAME 65535
#define QUIC_SPKI_PIN_LEN 32 /* SHA-256 of the DER SubjectPublicKeyInfo */
#define QUIC_REASON_MAX 255 /* close reasons longer than this are cut */

/* Errors of the quic_* calls: 0 or one of these. */
enum quic_err {
	QUIC_OK = 0,
	QUIC_ERR_CLOSED = -1, /* the connection is closing or gone: nothing more is sent */
	QUIC_ERR_TOO_BIG = -2, /* a datagram over quic_conn_max_datagram() */
	QUIC_ERR_BLOCKED = -3, /* congestion or flow control: try again later (datagram dropped) */
	QUIC_ERR_STREAM = -4, /* no such stream, or its send side is finished */
	QUIC_ERR_STREAM_LIMIT = -5, /* the peer allows no more streams now */
	QUIC_ERR_NOMEM = -6,
	QUIC_ERR_INTERNAL = -7, /* ngtcp2 or GnuTLS failed */
};

/* How a connection ended, given to conn_closed. */
struct quic_close {
	int by_peer; /* 1: the peer sent CONNECTION_CLOSE; 0: we closed, or it timed out */
	int app; /* 1: an application close (code is ours: proto/README.md §1.4); 0: transport */
	uint64_t code;
	char reason[QUIC_REASON_MAX + 1];
	int idle; /* 1: idle timeout (no CONNECTION_CLOSE either way) */
	int handshake_failed; /* 1: the TLS handshake never completed (bad pin, ALPN, timeout) */
};

struct quic_conn; /* opaque: one QUIC connection, server or client side */

struct quic_callbacks {
	void *arg; /* passed to every callback */
	/* Server side: a connection was accepted (its first Initial passed address validation
	 * and the caps). Return 0 to keep it, < 0 to refuse it (closed with a transport error).
	 * Client side: never called. */
	int (*conn_new)(void *arg, struct quic_conn *c);
	/* The TLS handshake completed (both sides). */
	void (*conn_ready)(void *arg, struct quic_conn *c);
	/* Bytes of the peer's stream stream_id, in order; fin 1 when the peer finished its side
	 * (len may then be 0). On the server only client-initiated bidirectional streams are
	 * allowed; flow-control credit is given back as the bytes are delivered. */
	void (*stream_data)(void *arg, struct quic_conn *c, int64_t stream_id, const uint8_t *data,
	    size_t len, int fin);
	/* The peer reset the stream or stopped reading it before it ended normally. */
	void (*stream_reset)(void *arg, struct quic_conn *c, int64_t stream_id, uint64_t code);
	/* One DATAGRAM frame's payload. */
	void (*datagram)(void *arg, struct quic_conn *c, const uint8_t *data, size_t len);
	/* The deadline set with quic_conn_set_deadline() passed (it is cleared before the call). */
	void (*deadline)(void *arg, struct quic_conn *c);
	/* The connection is gone: the last callback for c; c is freed after it returns. */
	void (*conn_closed)(void *arg, struct quic_conn *c, const struct quic_close *how);
};

/* ---- connections (both sides) ---- */

void quic_conn_set_data(struct quic_conn *c, void *data);
void *quic_conn_data(const struct quic_conn *c);

/* The peer's UDP address as it is now (it changes when the client migrates). */
const struct sockaddr *quic_conn_remote(const struct quic_conn *c, socklen_t *len);

/* Write len bytes on stream_id, then FIN it when fin is 1. The data is copied and kept until
 * the peer acknowledged it. 0, QUIC_ERR_CLOSED, QUIC_ERR_STREAM, QUIC_ERR_NOMEM. */
int quic_stream_send(struct quic_conn *c, int64_t stream_id, const void *data, size_t len, int fin);

/* Client side: open a bidirectional stream into *stream_id. 0, QUIC_ERR_STREAM_LIMIT,
 * QUIC_ERR_CLOSED. */
int quic_stream_open(struct quic_conn *c, int64_t *stream_id);

/* Send one DATAGRAM frame now (or with the next packet of this loop turn). 0,
 * QUIC_ERR_TOO_BIG, QUIC_ERR_BLOCKED, QUIC_ERR_CLOSED. */
int quic_datagram_send(struct quic_conn *c, const void *data, size_t len);

/* The largest datagram payload quic_datagram_send() takes on c now: bounded by the peer's
 * max_datagram_frame_size and by the UDP payload size the path allows (1200 bytes until path
 * MTU discovery raises it: a larger datagram is refused, it does not stall). 0 before the
 * handshake. */
size_t quic_conn_max_datagram(const struct quic_conn *c);

/* One application deadline per connection (CLOCK_MONOTONIC ns; 0 clears it): when it passes,
 * the deadline callback runs. The tunnel layer keeps its handshake limit and session expiry
 * here. */
void quic_conn_set_deadline(struct quic_conn *c, uint64_t at_ns);

/* Close with an application error code and reason (proto/README.md §1.4 close codes). Stream data
 * already given to quic_stream_send() goes out first (what flow control allows), then the
 * CONNECTION_CLOSE; the connection then drains and conn_closed follows (perhaps from a later
 * loop turn). Calling it again on a closing connection does nothing. */
void quic_conn_close(struct quic_conn *c, uint64_t code, const char *reason);

/* Bytes and DATAGRAM frames each way so far. */
struct quic_conn_stats {
	uint64_t rx_datagrams, rx_bytes, tx_datagrams, tx_bytes;
};
void quic_conn_stats(const struct quic_conn *c, struct quic_conn_stats *out);

/* ---- the TLS identity ---- */

/* Create an Ed25519 key and a self-signed certificate (CN snaptun-agent, 10 years) as PEM files
 * cert_file and key_file (0600) unless both exist already. 0 or -1 (logged). */
int quic_cert_ensure(const char *cert_file, const char *key_file);

/* The SHA-256 of the DER SubjectPublicKeyInfo of the certificate in cert_file into pin. 0 or -1. */
int quic_cert_spki_pin(const char *cert_file, unsigned char pin[QUIC_SPKI_PIN_LEN]);

/* ---- server ---- */

enum quic_retry {
	/* Retry (address validation) under pressure only: above retry_rate new handshakes/s,
	 * when half-open handshakes (unvalidated addresses) fill half of max_handshakes, or at a
	 * cap */
	QUIC_RETRY_AUTO = 0,
	QUIC_RETRY_ALWAYS,
	QUIC_RETRY_NEVER,
};

struct quic_server_config {
	const char *listen; /* "0.0.0.0:4433", "[::]:4433", "127.0.0.1:0" (port 0: any) */
	const char *cert_file, *key_file; /* PEM */
	/* 32 bytes that outlive the process (a 0600 file in the state dir): stateless reset
	 * tokens and Retry/NEW_TOKEN tokens are derived from it, so a restarted agent can still
	 * reset the connections its predecessor had. */
	const unsigned char *static_secret;
	enum quic_retry retry;
	unsigned retry_rate; /* AUTO: new handshakes per second above which Retry is sent */
	unsigned max_conns; /* connections at once (0: 10000); past it new ones are refused */
	/* validated handshakes in progress at once (0: 1000); past it they are refused. Half-open
	 * ones (no Retry token) are held to half of it: AUTO then sends Retry, NEVER refuses. */
	unsigned max_handshakes;
	uint64_t idle_timeout_ns; /* 0: QUIC_IDLE_TIMEOUT_NS */
	uint64_t handshake_timeout_ns; /* TLS handshake limit (0: 10 s) */
};

struct quic_server;

/* Bind the UDP socket(s) and load the certificate. NULL on failure (logged). */
struct quic_server *quic_server_new(
    const struct quic_server_config *cfg, const struct quic_callbacks *cb);

/* Close every connection with code and reason, send the CONNECTION_CLOSEs, run conn_closed for
 * each (c is still valid in it), then free everything. NULL is fine. */
void quic_server_free(struct quic_server *s, uint64_t code, const char *reason);

/* The bound address (to print, or to find the port when listen said 0). */
const struct sockaddr *quic_server_addr(const struct quic_server *s, socklen_t *len);

/* The descriptors to poll for reading (at most 2: one per address family); returns how many. */
int quic_server_fds(const struct quic_server *s, int fds[2]);

/* Read and process every datagram waiting on fd (up to a bound per call), then send what the
 * connections have to send. */
void quic_server_read(struct quic_server *s, int fd);

/* The earliest deadline (CLOCK_MONOTONIC ns) of any connection: ngtcp2 timers, drains, the
 * application deadlines; UINT64_MAX when none. */
uint64_t quic_server_expiry(const struct quic_server *s);

/* Run what is due at now_ns: timers, deadline callbacks, freeing closed connections; then
 * send. */
void quic_server_expire(struct quic_server *s, uint64_t now_ns);

/* Send what the connections have queued (stream data and datagrams written from callbacks or
 * from outside them, closes). quic_server_read() and quic_server_expire() do this themselves;
 * call it after acting on connections from other events (the state channel). */
void quic_server_flush(struct quic_server *s);

/* Connections now, and of those still in the handshake. */
unsigned quic_server_conns(const struct quic_server *s);
unsigned quic_server_handshakes(const struct quic_server *s);

/* ---- client ---- */

struct quic_client_config {
	const char *server; /* "127.0.0.1:4433", "[::1]:4433" */
	/* Trust: the server's SPKI pin (proto/README.md §1.1); NULL with no ca_file accepts any
	 * certificate (tests of other layers only). */
	const unsigned char *spki_pin;
	/* Without a pin: PEM CA certificates the server's chain must lead to, and the name (or
	 * address) its certificate must carry (NULL: the chain alone). Both only read during
	 * quic_client_open(). */
	const char *ca_file;
	const char *server_name;
	uint64_t idle_timeout_ns; /* 0: QUIC_IDLE_TIMEOUT_NS */
	/* 0: QUIC_KEEPALIVE_NS, or a third of the agreed idle timeout when that is shorter;
	 * any other value as given */
	uint64_t keepalive_ns;
};

/* Start a connection (own UDP socket, connected to cfg->server). The handshake goes on in the
 * background: conn_ready or conn_closed follows. NULL on a setup failure (logged). */
struct quic_conn *quic_client_open(
    const struct quic_client_config *cfg, const struct quic_callbacks *cb);

/* Close now without a CONNECTION_CLOSE wait and free; conn_closed is not called. NULL is fine. */
void quic_client_free(struct quic_conn *c);

int quic_client_fd(const struct quic_conn *c);
void quic_client_read(struct quic_conn *c);
uint64_t quic_client_expiry(const struct quic_conn *c);
void quic_client_expire(struct quic_conn *c, uint64_t now_ns);
/* Send what c has queued (after acting on it outside a callback). */
void quic_client_flush(struct quic_conn *c);

#endif
