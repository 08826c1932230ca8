/* Dialling one manager endpoint. See link_dial.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../lib/sockaddr.h"
#include "../proto/chanio.h"
#include "link_dial.h"

/* TLS 1.3 and nothing older: both ends are ours. */
#define PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3"

int
link_dial_is_tls(const struct link_endpoint *ep)
{
	return strchr(ep->address, '/') == NULL;
}

int
link_dial_parse_tls(const char *address, size_t addrlen, const char *pin, struct link_endpoint *ep,
    char *why, size_t whylen)
{
	struct sockaddr_storage ss;
	socklen_t len;

	memset(ep, 0, sizeof(*ep));
	if (addrlen >= sizeof(ep->address)) {
		snprintf(why, whylen, "\"%.*s\": too long for HOST:PORT", (int)addrlen, address);
		return -1;
	}
	memcpy(ep->address, address, addrlen);
	if (sockaddr_parse(ep->address, &ss, &len) < 0) {
		snprintf(why, whylen, "\"%s\": not a numeric HOST:PORT", ep->address);
		return -1;
	}
	if (tlscert_pin_parse(pin, ep->pin) < 0) {
		snprintf(why, whylen, "\"%s\": the pin is not the base64 of 32 bytes", pin);
		return -1;
	}
	return 0;
}

int
link_dial_parse(const char *text, struct link_endpoint *ep, char *why, size_t whylen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *eq = strchr(text, '=');
	char host[sizeof(ep->address)];

	memset(ep, 0, sizeof(*ep));
	/* HOST:PORT=PIN when what comes before the first '=' is an address (a pin may hold
	 * '/'), else a socket path. */
	if (eq != NULL && (size_t)(eq - text) < sizeof(host)) {
		snprintf(host, sizeof(host), "%.*s", (int)(eq - text), text);
		if (sockaddr_parse(host, &ss, &len) == 0)
			return link_dial_parse_tls(
			    text, (size_t)(eq - text), eq + 1, ep, why, whylen);
	}
	if (strchr(text, '/') == NULL) {
		snprintf(why, whylen,
		    "\"%s\": a manager is a UNIX socket path or HOST:PORT=PIN (numeric HOST:PORT, "
		    "PIN its SPKI pin)",
		    text);
		return -1;
	}
	if (strlen(text) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(why, whylen, "\"%s\": socket path too long", text);
		return -1;
	}
	snprintf(ep->address, sizeof(ep->address), "%s", text);
	return 0;
}

gnutls_certificate_credentials_t
link_dial_credentials(const char *cert_file, const char *key_file)
{
	gnutls_certificate_credentials_t cred;
	int g;

	if ((g = gnutls_certificate_allocate_credentials(&cred)) != 0) {
		log_error("state channel: %s", gnutls_strerror(g));
		return NULL;
	}
	if ((g = gnutls_certificate_set_x509_key_file(
		 cred, cert_file, key_file, GNUTLS_X509_FMT_PEM)) < 0) {
		log_error("state channel: client certificate \"%s\", key \"%s\": %s", cert_file,
		    key_file, gnutls_strerror(g));
		gnutls_certificate_free_credentials(cred);
		return NULL;
	}
	return cred;
}

static int
dial_unix(const char *path, int *fd)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	/* link_dial_parse() made sure it fits, with its NUL */
	memcpy(sun.sun_path, path, strnlen(path, sizeof(sun.sun_path) - 1));
	if ((*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		fatal("socket");
	return connect(*fd, (struct sockaddr *)&sun, sizeof(sun));
}

static int
dial_tcp(const char *address, int *fd)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (sockaddr_parse(address, &ss, &len) < 0) {
		errno = EINVAL;
		*fd = -1;
		return -1;
	}
	if ((*fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		fatal("socket");
	/* Under way: the handshake's first write waits for the connection (EAGAIN), and a
	 * refused one fails it. */
	if (connect(*fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS)
		return -1;
	return 0;
}

int
link_dial_open(const struct link_endpoint *ep, gnutls_certificate_credentials_t cred,
    struct chanio **io, char *why, size_t whylen)
{
	gnutls_session_t s;
	int fd, tls = link_dial_is_tls(ep);

	*io = NULL;
	if ((tls ? dial_tcp(ep->address, &fd) : dial_unix(ep->address, &fd)) < 0) {
		snprintf(why, whylen, "connect %s: %s", ep->address, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!tls) {
		*io = chanio_plain_new(fd);
	} else {
		if (cred == NULL) {
			snprintf(why, whylen, "%s: no client certificate for TLS (--credentials)",
			    ep->address);
			close(fd);
			return -1;
		}
		if (gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL) != 0) {
			close(fd);
			snprintf(why, whylen, "%s: no TLS session", ep->address);
			return -1;
		}
		if (gnutls_priority_set_direct(s, PRIORITIES, NULL) != 0 ||
		    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) != 0) {
			gnutls_deinit(s);
			close(fd);
			snprintf(why, whylen, "%s: cannot set up TLS", ep->address);
			return -1;
		}
		*io = chanio_tls_new(fd, s);
	}
	if (*io == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	return 0;
}

int
link_dial_check(const struct link_endpoint *ep, struct chanio *io, char *why, size_t whylen)
{
	unsigned char pin[TLSCERT_PIN_LEN];
	char have[TLSCERT_PIN_STRLEN], want[TLSCERT_PIN_STRLEN];

	if (!link_dial_is_tls(ep))
		return 0;
	if (tlscert_peer_pin(chanio_session(io), pin) < 0) {
		snprintf(why, whylen, "%s presented no certificate", ep->address);
		return -1;
	}
	if (!tlscert_pin_equal(pin, ep->pin)) {
		tlscert_pin_text(pin, have);
		tlscert_pin_text(ep->pin, want);
		snprintf(why, whylen,
		    "%s presents a certificate with pin %s, not the manager's pin %s: refused",
		    ep->address, have, want);
		return -1;
	}
	return 0;
}
