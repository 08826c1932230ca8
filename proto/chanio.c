/* The state channel's transport: a plain fd or a GnuTLS session on it. See chanio.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chanio.h"

/* GnuTLS seals at most one record (16 KiB) per call; offering more only makes it copy more. */
#define TLS_RECORD_MAX 16384

struct chanio {
	int fd;
	gnutls_session_t tls; /* NULL: plain */
	int handshaken;
	int said_bye;
	unsigned want;
	size_t sealed; /* bytes of the last write that TLS sealed but could not send (AGAIN) */
	char error[160];
};

static struct chanio *
io_new(int fd, gnutls_session_t s)
{
	struct chanio *io = calloc(1, sizeof(*io));

	if (io == NULL) {
		if (s != NULL)
			gnutls_deinit(s);
		close(fd);
		return NULL;
	}
	io->fd = fd;
	io->tls = s;
	io->handshaken = s == NULL;
	io->want = CHANIO_WANT_READ;
	return io;
}

struct chanio *
chanio_plain_new(int fd)
{
	return io_new(fd, NULL);
}

struct chanio *
chanio_tls_new(int fd, gnutls_session_t s)
{
	struct chanio *io = io_new(fd, s);

	if (io != NULL)
		gnutls_transport_set_int(s, fd);
	return io;
}

void
chanio_close(struct chanio *io)
{
	if (io == NULL)
		return;
	if (io->tls != NULL) {
		/* Tell the peer we end on purpose (a truncation attack looks different); it is
		 * one non-blocking try, never a wait. */
		if (io->handshaken && !io->said_bye)
			gnutls_bye(io->tls, GNUTLS_SHUT_WR);
		gnutls_deinit(io->tls);
	}
	close(io->fd);
	free(io);
}

int
chanio_fd(const struct chanio *io)
{
	return io->fd;
}

gnutls_session_t
chanio_session(const struct chanio *io)
{
	return io->tls;
}

int
chanio_ready(const struct chanio *io)
{
	return io->handshaken;
}

unsigned
chanio_want(const struct chanio *io)
{
	return io->want;
}

const char *
chanio_error(const struct chanio *io)
{
	return io->error;
}

/* A GnuTLS result that is not a count: AGAIN (and in which direction) or a broken connection. */
static int
tls_fail(struct chanio *io, int g, const char *what)
{
	if (g == GNUTLS_E_AGAIN || g == GNUTLS_E_INTERRUPTED) {
		io->want =
		    gnutls_record_get_direction(io->tls) ? CHANIO_WANT_WRITE : CHANIO_WANT_READ;
		return CHANIO_AGAIN;
	}
	if (g == GNUTLS_E_FATAL_ALERT_RECEIVED || g == GNUTLS_E_WARNING_ALERT_RECEIVED)
		snprintf(io->error, sizeof(io->error), "%s: the peer sent the alert \"%s\"", what,
		    gnutls_alert_get_name(gnutls_alert_get(io->tls)));
	else
		snprintf(io->error, sizeof(io->error), "%s: %s", what, gnutls_strerror(g));
	return CHANIO_ERROR;
}

int
chanio_handshake(struct chanio *io)
{
	int g;

	if (io->handshaken)
		return CHANIO_OK;
	do
		g = gnutls_handshake(io->tls);
	while (g < 0 && !gnutls_error_is_fatal(g) && g != GNUTLS_E_AGAIN);
	if (g < 0)
		return tls_fail(io, g, "TLS handshake");
	io->handshaken = 1;
	io->want = CHANIO_WANT_READ;
	return CHANIO_OK;
}

ssize_t
chanio_read(struct chanio *io, void *buf, size_t len)
{
	ssize_t n;

	if (io->tls == NULL) {
		for (;;) {
			if ((n = read(io->fd, buf, len)) > 0)
				return n;
			if (n == 0)
				return CHANIO_CLOSED;
			if (errno == EINTR)
				continue;
			io->want = CHANIO_WANT_READ;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return CHANIO_AGAIN;
			snprintf(io->error, sizeof(io->error), "read: %s", strerror(errno));
			return CHANIO_ERROR;
		}
	}
	if (!io->handshaken) {
		snprintf(io->error, sizeof(io->error), "read before the TLS handshake ended");
		return CHANIO_ERROR;
	}
	if ((n = gnutls_record_recv(io->tls, buf, len)) > 0)
		return n;
	if (n == 0) {
		io->said_bye = 1; /* the peer's close_notify: nothing more to say to it */
		return CHANIO_CLOSED;
	}
	/* A peer gone without close_notify is closed too: a process killed, a host gone. The
	 * frames' MACs, not TLS's ending, say whether what came before is whole. */
	if (n == GNUTLS_E_PREMATURE_TERMINATION)
		return CHANIO_CLOSED;
	return tls_fail(io, (int)n, "TLS read");
}

ssize_t
chanio_write(struct chanio *io, const void *buf, size_t len)
{
	ssize_t n;

	if (io->tls == NULL) {
		for (;;) {
			/* MSG_NOSIGNAL: a peer gone shows as EPIPE here, not as a signal. */
			if ((n = send(io->fd, buf, len, MSG_NOSIGNAL)) >= 0)
				return n > 0 ? n : CHANIO_AGAIN;
			if (errno == EINTR)
				continue;
			io->want = CHANIO_WANT_WRITE;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return CHANIO_AGAIN;
			snprintf(io->error, sizeof(io->error), "write: %s", strerror(errno));
			return CHANIO_ERROR;
		}
	}
	if (!io->handshaken) {
		snprintf(io->error, sizeof(io->error), "write before the TLS handshake ended");
		return CHANIO_ERROR;
	}
	if (io->sealed > 0) {
		/* GnuTLS sends the record it sealed before (NULL, 0 asks for exactly that); the
		 * caller still holds those bytes first in its queue. */
		if (len < io->sealed) {
			snprintf(
			    io->error, sizeof(io->error), "TLS write: fewer bytes than sealed");
			return CHANIO_ERROR;
		}
		n = gnutls_record_send(io->tls, NULL, 0);
	} else {
		if (len > TLS_RECORD_MAX)
			len = TLS_RECORD_MAX;
		n = gnutls_record_send(io->tls, buf, len);
	}
	if (n > 0) {
		io->sealed = 0;
		return n;
	}
	if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
		if (io->sealed == 0)
			io->sealed = len;
		io->want = CHANIO_WANT_WRITE;
		return CHANIO_AGAIN;
	}
	return tls_fail(io, n == 0 ? GNUTLS_E_INTERNAL_ERROR : (int)n, "TLS write");
}

size_t
chanio_pending(const struct chanio *io)
{
	return io->tls != NULL && io->handshaken ? gnutls_record_check_pending(io->tls) : 0;
}
