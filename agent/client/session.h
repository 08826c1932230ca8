/* The tunnel session: one QUIC connection at a time to one of the configured agents, the
 * handshake of proto/README.md §1.4 (renew_session, then assign_addresses), renewals on the
 * tunnel when a new access token arrives, and reconnection with exponential backoff and jitter
 * (0.5 s doubling to 30 s, starting over only once a tunnel stayed up 30 s: a flapping one
 * backs off too) asking for the address it had. Runs on the caller's loop; packets go
 * in with session_send() and come out through the hooks.
 *
 * Agents are tried in order: a failed connection or handshake goes on with the next one at
 * once; when each has failed in a row, the session waits out the backoff and starts over from
 * the one that worked last. A refused token (401 in the handshake, close code 4) asks the
 * owner for a fresh one (hooks.token_stale) and retries. Close code 3 (revoked) and a refused
 * explicit --request-addr are fatal: hooks.stopped runs with the reason and nothing more is
 * tried. */
#ifndef CLIENT_SESSION_H
#define CLIENT_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "../../lib/addr.h"
#include "../../lib/loop.h"
#include "../../lib/sockaddr.h"
#include "../../proto/ctrl.h"
#include "../quic/quic.h"
#include "status.h"

#define SESSION_AGENTS_MAX 32
#define SESSION_ID_MAX 64
#define SESSION_TOKEN_MAX 4096

struct session_agent {
	char id[SESSION_ID_MAX]; /* "" when unnamed (manager-less) */
	char address[SOCKADDR_HOST_MAX + 8]; /* HOST:PORT or [HOST]:PORT; HOST may be a name */
	unsigned char pin[QUIC_SPKI_PIN_LEN];
	int has_pin; /* 0: verify against ca_file instead */
};

struct session_config {
	struct session_agent agents[SESSION_AGENTS_MAX];
	unsigned nagents;
	const char *ca_file; /* PEM CA certificates for the agents without a pin */
	struct ctrl_assign request; /* the address asked for first (has_request 0: any) */
	int request_strict; /* 1: a refused request is fatal (--request-addr); 0: ask for any */
	uint64_t idle_timeout_ns; /* 0: QUIC_IDLE_TIMEOUT_NS */
};

struct session_hooks {
	void *arg;
	/* The tunnel is established with address a of isd_as; room is the datagram room now. */
	void (*up)(void *arg, const struct addr *a, uint64_t isd_as, size_t room);
	/* The tunnel is gone (a reconnect follows unless stopped runs). */
	void (*down)(void *arg);
	/* One packet from the tunnel. */
	void (*packet)(void *arg, const uint8_t *pkt, size_t len);
	/* The token was refused (expired, unknown key): get a fresh one and session_set_token(). */
	void (*token_stale)(void *arg);
	/* The session ended for good: rc 0 after session_stop(), 1 for a fatal refusal; why says
	 * what happened. */
	void (*stopped)(void *arg, int rc, const char *why);
};

struct session;

/* A session on loop l with a copy of *cfg and token (NUL-terminated); it connects at once.
 * NULL when out of memory. */
struct session *session_new(struct loop *l, const struct session_config *cfg, const char *token,
    const struct session_hooks *hooks);

/* Close the connection (code 0, nothing more sent) and free; NULL is fine. */
void session_free(struct session *s);

/* A new access token: kept for the next connection and, when the tunnel is up, renewed on it
 * (a renewal the gateway refuses leaves the session as it was: logged). 0, or -1 when token is
 * empty or too long. */
int session_set_token(struct session *s, const char *token);

/* Send one packet into the tunnel: 0 or a negative enum quic_err (QUIC_ERR_CLOSED when not up,
 * QUIC_ERR_TOO_BIG, QUIC_ERR_BLOCKED). Sent with the next session_flush(). */
int session_send(struct session *s, const void *pkt, size_t len);

/* Send the packets session_send() queued now (after a batch: the QUIC send queue is
 * bounded). */
void session_flush(struct session *s);

/* The agent's address as connected (family 0 when not connected). */
void session_remote(const struct session *s, struct addr *a);

/* The datagram room now (0 when not up). */
size_t session_room(const struct session *s);

/* Timers and queued packets: call it from the loop's before-sleep hook (it also tells the loop
 * when to wake for the QUIC timers). */
void session_before_sleep(struct session *s);

/* Close with code 0 ("client shutting down") and run hooks.stopped once the close went out. */
void session_stop(struct session *s);

/* Fill the session's part of *st: state, address, agent, expiry, reconnects, last error. */
void session_status(const struct session *s, struct status *st);

#endif
