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
link_dial_host(const struct link_endpoint *ep, char *host, uint16_t *port,
    struct sockaddr_storage *ss, socklen_t *len)
{
	if (sockaddr_split(ep->address, host, SOCKADDR_HOST_MAX + 1, port, NULL) < 0)
		host[0] = '\0'; /* not after link_dial_parse_tls() */
	return sockaddr_parse(ep->address, ss, len) == 0;
}

int
link_dial_parse_tls(const char *address, size_t addrlen, const char *pin, struct link_endpoint *ep,
    char *why, size_t whylen)
{
	memset(ep, 0, sizeof(*ep));
	if (addrlen >= sizeof(ep->address)) {
		snprintf(why, whylen, "\"%.*s\": too long for HOST:PORT", (int)addrlen, address);
		return -1;
	}
	memcpy(ep->address, address, addrlen);
	if (!sockaddr_endpoint_valid(ep->address)) {
		snprintf(why, whylen,
		    "\"%s\": not HOST:PORT (HOST a numeric address, [...] for IPv6, or a DNS name)",
		    ep->address);
		return -1;
	}
	if (pin != NULL && tlscert_pin_parse(pin, ep->pin) < 0) {
		snprintf(why, whylen, "\"%s\": the pin is not the base64 of 32 bytes", pin);
		return -1;
	}
	ep->pinned = pin != NULL;
	return 0;
}

int
link_dial_parse(const char *text, struct link_endpoint *ep, char *why, size_t whylen)
{
	const char *eq = strchr(text, '=');
	char host[SOCKADDR_HOST_MAX + 1];
	uint16_t port;

	memset(ep, 0, sizeof(*ep));
	/* HOST:PORT=PIN when what comes before the first '=' is HOST:PORT (a pin may hold '/'),
	 * HOST:PORT alone when the text has no '/', else a socket path. */
	if (eq != NULL && memchr(text, '/', (size_t)(eq - text)) == NULL)
		return link_dial_parse_tls(text, (size_t)(eq - text), eq + 1, ep, why, whylen);
	if (strchr(text, '/') == NULL) {
		if (sockaddr_split(text, host, sizeof(host), &port, NULL) == 0)
			return link_dial_parse_tls(text, strlen(text), NULL, ep, why, whylen);
		snprintf(why, whylen,
		    "\"%s\": a manager is a UNIX socket path (with a '/'), HOST:PORT=PIN (PIN its "
		    "SPKI pin) or HOST:PORT (its certificate checked with --manager-ca)",
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
link_dial_credentials(const char *cert_file, const char *key_file, const char *ca_file)
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
	if (ca_file != NULL &&
	    (g = gnutls_certificate_set_x509_trust_file(cred, ca_file, GNUTLS_X509_FMT_PEM)) <= 0) {
		log_error("state channel: --manager-ca \"%s\": %s", ca_file,
		    g == 0 ? "no certificate in it" : gnutls_strerror(g));
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
dial_tcp(const struct sockaddr_storage *ss, socklen_t len, int *fd)
{
	if ((*fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		fatal("socket");
	/* Under way: the handshake's first write waits for the connection (EAGAIN), and a
	 * refused one fails it. */
	if (connect(*fd, (const struct sockaddr *)ss, len) < 0 && errno != EINPROGRESS)
		return -1;
	return 0;
}

/* A TLS client session on fd for ep, naming its host to the manager when it is a name (SNI).
 * 0 or -1. */
static int
tls_session(
    const struct link_endpoint *ep, gnutls_certificate_credentials_t cred, gnutls_session_t *s)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char host[SOCKADDR_HOST_MAX + 1];
	uint16_t port;

	if (gnutls_init(s, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL) != 0)
		return -1;
	if (gnutls_priority_set_direct(*s, PRIORITIES, NULL) != 0 ||
	    gnutls_credentials_set(*s, GNUTLS_CRD_CERTIFICATE, cred) != 0 ||
	    (!link_dial_host(ep, host, &port, &ss, &len) &&
		gnutls_server_name_set(*s, GNUTLS_NAME_DNS, host, strlen(host)) != 0)) {
		gnutls_deinit(*s);
		return -1;
	}
	return 0;
}

int
link_dial_open(const struct link_endpoint *ep, const struct sockaddr_storage *ss, socklen_t sslen,
    gnutls_certificate_credentials_t cred, struct chanio **io, char *why, size_t whylen)
{
	gnutls_session_t s;
	int fd, tls = link_dial_is_tls(ep);

	*io = NULL;
	if (tls && cred == NULL) {
		snprintf(
		    why, whylen, "%s: no client certificate for TLS (--credentials)", ep->address);
		return -1;
	}
	if ((tls ? dial_tcp(ss, sslen, &fd) : dial_unix(ep->address, &fd)) < 0) {
		snprintf(why, whylen, "connect %s: %s", ep->address, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!tls) {
		*io = chanio_plain_new(fd);
	} else {
		if (tls_session(ep, cred, &s) < 0) {
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

/* The manager's certificate chains to a CA of cred's and is valid for ep's host (a name, or an
 * address in its subjectAltName). 0, or -1 with the reason in why. */
static int
check_ca(const struct link_endpoint *ep, gnutls_session_t s, char *why, size_t whylen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char host[SOCKADDR_HOST_MAX + 1];
	uint16_t port;
	unsigned status = 0;
	gnutls_datum_t text = {NULL, 0};
	int g;

	link_dial_host(ep, host, &port, &ss, &len);
	if ((g = gnutls_certificate_verify_peers3(s, host, &status)) < 0) {
		snprintf(why, whylen, "%s: its certificate cannot be verified: %s", ep->address,
		    gnutls_strerror(g));
		return -1;
	}
	if (status == 0)
		return 0;
	gnutls_certificate_verification_status_print(
	    status, gnutls_certificate_type_get(s), &text, 0);
	snprintf(why, whylen, "%s: its certificate is not trusted for \"%s\" (--manager-ca): %s",
	    ep->address, host, text.data != NULL ? (const char *)text.data : "invalid");
	gnutls_free(text.data);
	return -1;
}

int
link_dial_check(const struct link_endpoint *ep, int ca, struct chanio *io, char *why, size_t whylen)
{
	unsigned char pin[TLSCERT_PIN_LEN];
	char have[TLSCERT_PIN_STRLEN], want[TLSCERT_PIN_STRLEN];

	if (!link_dial_is_tls(ep))
		return 0;
	if (!ep->pinned && !ca) {
		snprintf(why, whylen, "%s names no pin, and no CA is trusted (--manager-ca)",
		    ep->address);
		return -1;
	}
	if (ca && check_ca(ep, chanio_session(io), why, whylen) < 0)
		return -1;
	if (!ep->pinned)
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
