/* The state channel's transport seam (proto/chanio.h): a plain socket and TLS 1.3 over a
 * socketpair, both non-blocking, driven the way the manager and the agent drive them: the
 * handshake until done (AGAIN with a direction in between), frames through chanbuf both ways,
 * a writer that meets a full socket (TLS keeps its sealed record, the queue its bytes), bytes
 * TLS decrypted before the read budget ran out, the peer's close and a refused handshake. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../lib/tlscert.h"
#include "../../proto/chanbuf.h"
#include "../../proto/chanio.h"
#include "check.h"

static const unsigned char key[CHAN_KEY_LEN] = {7};
static gnutls_certificate_credentials_t server_cred, client_cred;

struct got {
	int n;
	uint64_t last_seq;
};

static int
on_frame(void *arg, const struct chan_frame *f)
{
	struct got *g = arg;

	g->n++;
	g->last_seq = f->seq;
	return 0;
}

static void
pair(int sv[2], int sndbuf)
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	for (int i = 0; i < 2; i++) {
		fcntl(sv[i], F_SETFL, O_NONBLOCK);
		if (sndbuf > 0)
			setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	}
}

static struct chanbuf *
buf(uint64_t self, uint64_t peer)
{
	struct chanbuf_config cfg = {.key = key, .self = self, .peer = peer, .max = 64u << 20};
	struct chanbuf *b = chanbuf_new(&cfg);

	if (b == NULL)
		abort();
	return b;
}

static gnutls_session_t
session(unsigned flags, gnutls_certificate_credentials_t cred)
{
	gnutls_session_t s;

	if (gnutls_init(&s, flags | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL) != 0 ||
	    gnutls_priority_set_direct(s, "NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL) != 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) != 0)
		abort();
	if (flags & GNUTLS_SERVER)
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
	return s;
}

/* Both handshakes to the end, in turns, as two loops would: 0 when both are done, else the
 * first error. *agains counts the AGAINs seen. */
static int
handshake(struct chanio *a, struct chanio *b, int *agains)
{
	int ra = CHANIO_AGAIN, rb = CHANIO_AGAIN;

	for (int i = 0; i < 100 && (ra != CHANIO_OK || rb != CHANIO_OK); i++) {
		if (ra != CHANIO_OK && (ra = chanio_handshake(a)) == CHANIO_AGAIN)
			(*agains)++;
		if (rb != CHANIO_OK && (rb = chanio_handshake(b)) == CHANIO_AGAIN)
			(*agains)++;
		if (ra == CHANIO_ERROR || rb == CHANIO_ERROR)
			return CHANIO_ERROR;
	}
	return ra == CHANIO_OK && rb == CHANIO_OK ? 0 : CHANIO_AGAIN;
}

static int
put_stats(struct chanbuf *b, size_t pad)
{
	State__Reject r;
	char *reason = malloc(pad + 1);
	int rv;

	memset(reason, 'x', pad);
	reason[pad] = '\0';
	state__reject__init(&r);
	r.reason = reason;
	rv = chanbuf_put(b, CHAN_REJECT, 0, &r.base);
	free(reason);
	return rv;
}

/* 200 frames of about 1 KiB from the manager's side to the agent's through a small socket
 * buffer: written as the socket takes them, read on the other side, all in order. */
static void
pump(const char *what, struct chanio *mio, struct chanio *aio)
{
	struct chanbuf *m = buf(CHAN_NODE_MANAGER, 5), *a = buf(5, CHAN_NODE_MANAGER);
	struct got g = {0, 0};
	int ok = 1, again = 0, rounds = 0;
	ssize_t n;

	for (int i = 0; i < 200; i++)
		ok &= put_stats(m, 1000) == 0;
	CHECK(ok, "%s: 200 frames queued", what);
	while (chanbuf_queued(m) > 0 && rounds++ < 100000) {
		size_t before = chanbuf_queued(m);

		if ((n = chanbuf_write(m, mio, SIZE_MAX)) < 0)
			break;
		if (chanbuf_queued(m) == before || chanio_want(mio) == CHANIO_WANT_WRITE)
			again++;
		if (chanbuf_read(a, aio, 4096, on_frame, &g) < 0)
			break;
	}
	while (g.n < 200 && rounds++ < 100000)
		if (chanbuf_read(a, aio, 4096, on_frame, &g) < 0)
			break;
	CHECK(chanbuf_queued(m) == 0, "%s: the queue drained", what);
	CHECK(again > 0, "%s: the writer met a full socket (%d times) and went on", what, again);
	CHECK(g.n == 200 && g.last_seq == 200,
	    "%s: the reader got all 200 frames in order, some with a 4 KiB budget (%d)", what, g.n);
	chanbuf_free(m);
	chanbuf_free(a);
}

static void
test_plain(void)
{
	struct chanio *a, *b;
	char c;
	int sv[2];

	pair(sv, 4096);
	a = chanio_plain_new(sv[0]);
	b = chanio_plain_new(sv[1]);
	CHECK(chanio_ready(a) && chanio_handshake(a) == CHANIO_OK && chanio_session(a) == NULL,
	    "plain: no handshake, no session");
	CHECK(chanio_read(b, &c, 1) == CHANIO_AGAIN && chanio_want(b) == CHANIO_WANT_READ,
	    "plain: nothing to read is AGAIN, waiting for readability");
	pump("plain", a, b);
	CHECK(chanio_pending(b) == 0, "plain: nothing is ever pending");
	chanio_close(a);
	CHECK(chanio_read(b, &c, 1) == CHANIO_CLOSED, "plain: the peer's close is CLOSED");
	CHECK(chanio_write(b, "x", 1) == CHANIO_ERROR && strstr(chanio_error(b), "write") != NULL,
	    "plain: writing to a closed peer is ERROR, no signal (\"%s\")", chanio_error(b));
	chanio_close(b);
}

static void
test_tls(void)
{
	struct chanio *m, *a;
	unsigned char pin[TLSCERT_PIN_LEN], want[TLSCERT_PIN_LEN];
	char tmp[4096], c;
	int sv[2], agains = 0;
	size_t pending;
	ssize_t n;

	pair(sv, 4096);
	m = chanio_tls_new(sv[0], session(GNUTLS_SERVER, server_cred));
	a = chanio_tls_new(sv[1], session(GNUTLS_CLIENT, client_cred));
	CHECK(!chanio_ready(m) && chanio_read(m, &c, 1) == CHANIO_ERROR,
	    "TLS: reading before the handshake is an error (\"%s\")", chanio_error(m));
	CHECK(handshake(m, a, &agains) == 0, "TLS: both handshakes end");
	CHECK(agains > 0, "TLS: non-blocking: AGAIN %d times in between", agains);
	snprintf(tmp, sizeof(tmp), "%s/client.crt", check_tmpdir());
	CHECK(tlscert_peer_pin(chanio_session(m), pin) == 0 && tlscert_spki_pin(tmp, want) == 0 &&
		tlscert_pin_equal(pin, want),
	    "TLS: the server sees the client certificate's pin");
	snprintf(tmp, sizeof(tmp), "%s/server.crt", check_tmpdir());
	CHECK(tlscert_peer_pin(chanio_session(a), pin) == 0 && tlscert_spki_pin(tmp, want) == 0 &&
		tlscert_pin_equal(pin, want),
	    "TLS: the client sees the server certificate's pin");
	pump("TLS", m, a);

	/* A record of 4000 bytes read 100 at a time: the rest is pending in GnuTLS, which the
	 * socket will not signal again. */
	memset(tmp, 'y', 4000);
	CHECK(chanio_write(m, tmp, 4000) == 4000, "TLS: a 4000-byte record is written");
	n = chanio_read(a, tmp, 100);
	pending = chanio_pending(a);
	CHECK(n == 100 && pending == 3900, "TLS: after reading 100 bytes, 3900 are pending (%zu)",
	    pending);
	chanio_close(m);
	CHECK(chanio_read(a, tmp, sizeof(tmp)) == 3900, "TLS: the pending bytes are read");
	CHECK(chanio_read(a, tmp, sizeof(tmp)) == CHANIO_CLOSED,
	    "TLS: the peer's close_notify is CLOSED");
	chanio_close(a);
}

/* A server that requires a client certificate refuses a client that has none. */
static void
test_tls_refused(void)
{
	gnutls_certificate_credentials_t none;
	struct chanio *m, *a;
	int sv[2], agains = 0;

	if (gnutls_certificate_allocate_credentials(&none) != 0)
		abort();
	pair(sv, 0);
	m = chanio_tls_new(sv[0], session(GNUTLS_SERVER, server_cred));
	a = chanio_tls_new(sv[1], session(GNUTLS_CLIENT, none));
	CHECK(handshake(m, a, &agains) == CHANIO_ERROR && chanio_error(m)[0] != '\0',
	    "TLS: a client without a certificate fails the handshake (\"%s\")", chanio_error(m));
	chanio_close(m);
	chanio_close(a);
	gnutls_certificate_free_credentials(none);
}

static gnutls_certificate_credentials_t
cred(const char *name)
{
	gnutls_certificate_credentials_t c;
	char crt[4096], k[4096];

	snprintf(crt, sizeof(crt), "%s/%s.crt", check_tmpdir(), name);
	snprintf(k, sizeof(k), "%s/%s.key", check_tmpdir(), name);
	if (tlscert_ensure(crt, k, name) != 0 || gnutls_certificate_allocate_credentials(&c) != 0 ||
	    gnutls_certificate_set_x509_key_file(c, crt, k, GNUTLS_X509_FMT_PEM) < 0)
		abort();
	return c;
}

int
main(void)
{
	server_cred = cred("server");
	client_cred = cred("client");
	test_plain();
	test_tls();
	test_tls_refused();
	gnutls_certificate_free_credentials(server_cred);
	gnutls_certificate_free_credentials(client_cred);
	return check_done();
}
