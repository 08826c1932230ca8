/* The state channel's TCP + TLS listener and the check of an agent's certificate. See
 * agenttls.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../db/agentcred.h"
#include "../lib/b64url.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "../lib/loop.h"
#include "../lib/sockaddr.h"
#include "../proto/chanio.h"
#include "agentconn.h"
#include "agenttls.h"
#include "app.h"

/* TLS 1.3 and nothing older: both ends are ours. */
#define PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3"

struct agenttls {
	struct agentlink *link;
	int fd;
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;
	loop_fd_fn *conn_ready; /* the channel server's handler once a handshake is done */
	char pin[TLSCERT_PIN_STRLEN];
	char address[SOCKADDR_HOST_MAX + 8];
};

static loop_fd_fn tls_ready;

/* A server session for one accepted connection: our certificate, a client certificate required
 * (GnuTLS checks that the client holds its key; whose key it is, agenttls_step() checks). */
static gnutls_session_t
session_new(struct agenttls *t)
{
	gnutls_session_t s;

	if (gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL) != 0)
		return NULL;
	if (gnutls_priority_set(s, t->prio) != 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, t->cred) != 0) {
		gnutls_deinit(s);
		return NULL;
	}
	gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
	return s;
}

static void
accept_all(struct loop *loop, int lfd, unsigned events, void *arg)
{
	struct agenttls *t = arg;
	struct sockaddr_storage ss;
	socklen_t len;
	char peer[SOCKADDR_STRLEN];
	gnutls_session_t s;
	struct chanio *io;
	struct agentconn *c;
	int fd;

	(void)loop;
	(void)events;
	for (;;) {
		len = sizeof(ss);
		if ((fd = accept4(
			 lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("agent listener: accept: %s", strerror(errno));
			return;
		}
		sockaddr_format((struct sockaddr *)&ss, peer, sizeof(peer));
		if ((s = session_new(t)) == NULL) {
			log_warn("agent listener: no TLS session for %s", peer);
			close(fd);
			continue;
		}
		if ((io = chanio_tls_new(fd, s)) == NULL ||
		    (c = agentconn_new(t->link, io, tls_ready)) == NULL) {
			log_warn("agent listener: refusing %s: %s", peer, strerror(ENOMEM));
			continue;
		}
		snprintf(c->name, sizeof(c->name), "agent connection from %s", peer);
		log_debug("%s: accepted", c->name);
	}
}

/* Readiness of a connection still in its handshake; afterwards the channel server's own
 * handler (agentlink.c) takes it. */
static void
tls_ready(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct agentconn *c = arg;

	if (c->state == AGENTCONN_TLS)
		agenttls_step(c);
	else
		c->link->tls->conn_ready(loop, fd, events, c);
}

/* The handshake is done: the certificate must be an enrolled, unrevoked agent's. */
static void
identify(struct agentconn *c)
{
	unsigned char pin[TLSCERT_PIN_LEN], key[CHAN_KEY_LEN];
	char text[TLSCERT_PIN_STRLEN];
	struct agent_cred cred;
	int rv;

	if (tlscert_peer_pin(chanio_session(c->io), pin) < 0) {
		agentconn_drop(c, "refused: no client certificate");
		return;
	}
	tlscert_pin_text(pin, text);
	if ((rv = agentcred_get_by_pin(c->link->app->db, text, &cred)) < 0) {
		if (rv == ERR_NOT_FOUND)
			agentconn_drop(
			    c, "refused: its certificate (pin %s) is no enrolled agent's", text);
		else
			agentconn_drop(
			    c, "refused: cannot look up its certificate: %s", err_str(rv));
		return;
	}
	if (cred.revoked_at != 0) {
		agentconn_drop(c, "refused: agent %lld is revoked", (long long)cred.agent_id);
		return;
	}
	if (b64url_decode(cred.channel_key, strlen(cred.channel_key), key, sizeof(key)) !=
	    CHAN_KEY_LEN) {
		agentconn_drop(
		    c, "refused: agent %lld has no usable channel key", (long long)cred.agent_id);
		return;
	}
	c->enrolled_id = (uint64_t)cred.agent_id;
	snprintf(c->name, sizeof(c->name), "agent %lld", (long long)cred.agent_id);
	/* Its frames carry its own key and only its id: a HELLO naming another agent fails the
	 * decoder's sender check and drops the connection. */
	rv = agentconn_start(c, key, c->enrolled_id);
	explicit_bzero(key, sizeof(key));
	if (rv < 0)
		return;
	log_debug("%s: TLS handshake done, waiting for HELLO", c->name);
	/* Its HELLO may have come with its last handshake bytes and sit decrypted in GnuTLS,
	 * which the socket will not signal again. */
	if (chanio_pending(c->io) > 0)
		c->link->tls->conn_ready(c->link->loop, c->fd, LOOP_READ, c);
}

void
agenttls_step(struct agentconn *c)
{
	int rv = chanio_handshake(c->io);

	if (rv == CHANIO_AGAIN) {
		agentconn_watch(c, chanio_want(c->io) == CHANIO_WANT_WRITE);
		return;
	}
	if (rv < 0) {
		agentconn_drop(c, "refused: %s", chanio_error(c->io));
		return;
	}
	agentconn_watch(c, 0);
	identify(c);
}

static int
listen_tcp(const char *text, char *bound, size_t boundlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (sockaddr_parse(text, &ss, &len) < 0)
		fatalx("--agent-listen \"%s\": not a numeric HOST:PORT (\"0.0.0.0:7443\", "
		       "\"[::]:7443\")",
		    text);
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		fatal("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0)
		fatal("--agent-listen %s: cannot listen", text);
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		fatal("getsockname");
	sockaddr_format((struct sockaddr *)&ss, bound, boundlen);
	return fd;
}

struct agenttls *
agenttls_open(struct agentlink *l, const struct agenttls_config *cfg, const char *state_dir,
    loop_fd_fn *conn_ready)
{
	char cert[4096], key[4096];
	unsigned char pin[TLSCERT_PIN_LEN];
	struct agenttls *t;
	int g;

	if (cfg == NULL || cfg->listen == NULL)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		fatalx("out of memory");
	t->link = l;
	t->conn_ready = conn_ready;
	if (cfg->cert_file != NULL) {
		snprintf(cert, sizeof(cert), "%s", cfg->cert_file);
		snprintf(key, sizeof(key), "%s", cfg->key_file);
	} else {
		snprintf(cert, sizeof(cert), "%s/%s", state_dir, AGENTTLS_CERT_FILE);
		snprintf(key, sizeof(key), "%s/%s", state_dir, AGENTTLS_KEY_FILE);
		if (tlscert_ensure(cert, key, "snaptun-manager") < 0)
			fatalx("cannot create the agent listener's certificate in %s", state_dir);
	}
	if (tlscert_spki_pin(cert, pin) < 0)
		fatalx("cannot read the agent listener's certificate %s", cert);
	tlscert_pin_text(pin, t->pin);
	if ((g = gnutls_certificate_allocate_credentials(&t->cred)) != 0 ||
	    (g = gnutls_certificate_set_x509_key_file(t->cred, cert, key, GNUTLS_X509_FMT_PEM)) < 0)
		fatalx("agent listener: certificate %s, key %s: %s", cert, key, gnutls_strerror(g));
	if ((g = gnutls_priority_init(&t->prio, PRIORITIES, NULL)) != 0)
		fatalx("agent listener: TLS priorities: %s", gnutls_strerror(g));
	t->fd = listen_tcp(cfg->listen, t->address, sizeof(t->address));
	if (cfg->advertise != NULL)
		snprintf(t->address, sizeof(t->address), "%s", cfg->advertise);
	if (loop_fd_add(l->loop, t->fd, LOOP_READ, accept_all, t) < 0)
		fatal("agent listener: watching %s", t->address);
	log_info("agents on other hosts attach on %s (TLS 1.3), manager SPKI pin %s", t->address,
	    t->pin);
	return t;
}

void
agenttls_close(struct agenttls *t)
{
	if (t == NULL)
		return;
	loop_fd_del(t->link->loop, t->fd);
	close(t->fd);
	gnutls_priority_deinit(t->prio);
	gnutls_certificate_free_credentials(t->cred);
	free(t);
}

const char *
agenttls_pin(const struct agenttls *t)
{
	return t->pin;
}

const char *
agenttls_address(const struct agenttls *t)
{
	return t->address;
}
