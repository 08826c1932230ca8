/* The state channel's transport (proto/README.md §2.8): what chanbuf.c reads from and writes to,
 * so the framing, the manager's agentlink and the agent's link do not care whether a connection
 * is the local UNIX socket (plain bytes on an fd) or a TCP connection under TLS 1.3 (a GnuTLS
 * session on the fd). Both are non-blocking.
 *
 * A TLS transport starts with its handshake: chanio_handshake() until it says CHANIO_OK, asking
 * the loop for the direction chanio_want() names in between. Reads and writes before that fail.
 * GnuTLS may hold decrypted bytes that the socket no longer signals: chanio_pending() says so,
 * and a reader must take them before it waits for readability again (chanbuf_read() does).
 *
 * Returns: a count of bytes, or one of enum chanio_rv; CHANIO_ERROR leaves a text for
 * chanio_error(). */
#ifndef PROTO_CHANIO_H
#define PROTO_CHANIO_H

#include <gnutls/gnutls.h>
#include <stddef.h>
#include <sys/types.h>

enum chanio_rv {
	CHANIO_OK = 0,
	CHANIO_AGAIN = -1, /* would block: wait for chanio_want() */
	CHANIO_CLOSED = -2, /* the peer closed its end (read) */
	CHANIO_ERROR = -3, /* the connection is broken; chanio_error() says how */
};

/* The direction a blocked call waits for, as lib/loop.h's LOOP_READ / LOOP_WRITE bits. */
#define CHANIO_WANT_READ 1u
#define CHANIO_WANT_WRITE 2u

struct chanio;

/* A transport over the connected, non-blocking socket fd: plain, or with the TLS session s
 * (its credentials, priorities and peer checks set by the caller; its transport is set here to
 * fd). Either owns fd (and s) from now on, even when NULL is returned (out of memory): fd is
 * closed and s deinitialised then. Free with chanio_close(). */
struct chanio *chanio_plain_new(int fd);
struct chanio *chanio_tls_new(int fd, gnutls_session_t s);

/* Close: a TLS session says goodbye without waiting (GNUTLS_SHUT_WR, once, best effort), then
 * the socket is closed. NULL is fine. */
void chanio_close(struct chanio *io);

int chanio_fd(const struct chanio *io);

/* The TLS session, or NULL for a plain transport. */
gnutls_session_t chanio_session(const struct chanio *io);

/* Go on with the TLS handshake: CHANIO_OK once done (at once for a plain transport),
 * CHANIO_AGAIN, or CHANIO_ERROR (the peer's alert, a refused certificate, …). */
int chanio_handshake(struct chanio *io);

/* 1 once the handshake is done (always for a plain transport). */
int chanio_ready(const struct chanio *io);

/* What the last CHANIO_AGAIN waits for: CHANIO_WANT_READ or CHANIO_WANT_WRITE. */
unsigned chanio_want(const struct chanio *io);

/* Read up to len bytes into buf: the count (> 0), CHANIO_AGAIN, CHANIO_CLOSED or CHANIO_ERROR. */
ssize_t chanio_read(struct chanio *io, void *buf, size_t len);

/* Write up to len bytes of buf: the count taken (> 0), CHANIO_AGAIN or CHANIO_ERROR. After
 * CHANIO_AGAIN the next call must offer the same bytes again (at least as many): TLS has
 * sealed them into a record already, and that record is what goes out next. */
ssize_t chanio_write(struct chanio *io, const void *buf, size_t len);

/* Bytes read from the socket and decrypted but not given out yet: 0 for a plain transport. */
size_t chanio_pending(const struct chanio *io);

/* The text of the last CHANIO_ERROR. */
const char *chanio_error(const struct chanio *io);

#endif
