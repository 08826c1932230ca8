/* Dialling the manager for the state channel (proto/README.md §2.7, §2.8): one endpoint at a
 * time, either the manager's UNIX socket (a path) or its TCP + TLS 1.3 listener (HOST:PORT, HOST
 * a numeric address or a DNS name, which the owner resolves without blocking: lib/resolve.h),
 * where the agent presents its enrolled client certificate and accepts the manager only if its
 * certificate has the SPKI pin the endpoint names, and, when the agent trusts a CA
 * (--manager-ca), also chains to that CA and is valid for HOST. An endpoint without a pin is
 * judged by the CA alone. Non-blocking: the TLS handshake goes on in the owner's loop
 * (chanio_handshake()), and link_dial_check() judges the manager once it is done. */
#ifndef AGENT_LINK_DIAL_H
#define AGENT_LINK_DIAL_H

#include <stdint.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>

#include "../lib/tlscert.h"

struct chanio;

struct link_endpoint {
	char address[300]; /* a UNIX socket path (it has a '/'), or "HOST:PORT" over TLS */
	int pinned; /* TLS: pin is set (else the manager is judged by the CA alone) */
	unsigned char pin[TLSCERT_PIN_LEN]; /* TLS: the manager's SPKI pin */
};

/* 1 when ep is a TLS endpoint, 0 for a UNIX socket. */
int link_dial_is_tls(const struct link_endpoint *ep);

/* A TLS endpoint's host (the name or address, without brackets; SOCKADDR_HOST_MAX + 1 bytes)
 * and port, and whether the host is a numeric address: 1 numeric (its socket address into *ss,
 * *len), 0 a name to resolve. */
int link_dial_host(const struct link_endpoint *ep, char *host, uint16_t *port,
    struct sockaddr_storage *ss, socklen_t *len);

/* Parse "HOST:PORT=PIN" (a TLS endpoint and the manager's pin, base64), "HOST:PORT" (a TLS
 * endpoint judged by the CA alone) or a UNIX socket path (it has a '/') into *ep. HOST is a
 * numeric address ("[...]" for IPv6) or a DNS name. 0, or -1 with the reason in why (whylen
 * bytes). */
int link_dial_parse(const char *text, struct link_endpoint *ep, char *why, size_t whylen);

/* A TLS endpoint from its parts: addrlen bytes of address (HOST:PORT) and the pin (base64, or
 * NULL for none). 0, or -1 with the reason in why. */
int link_dial_parse_tls(const char *address, size_t addrlen, const char *pin,
    struct link_endpoint *ep, char *why, size_t whylen);

/* The agent's client identity for TLS endpoints: its certificate and key (PEM files), and the
 * CAs it trusts to sign managers' certificates (a PEM file, or NULL: pins only). NULL with the
 * reason logged. Free with gnutls_certificate_free_credentials(). */
gnutls_certificate_credentials_t link_dial_credentials(
    const char *cert_file, const char *key_file, const char *ca_file);

/* Start a connection to ep: *io is the transport, its TLS handshake (for a TLS endpoint, to the
 * address ss of its host, with cred) not done yet; ss is NULL for a UNIX socket. 0, or -1 with
 * the reason in why (the manager is not there: try another endpoint later). */
int link_dial_open(const struct link_endpoint *ep, const struct sockaddr_storage *ss,
    socklen_t sslen, gnutls_certificate_credentials_t cred, struct chanio **io, char *why,
    size_t whylen);

/* After the handshake with a TLS endpoint: 0 when the manager's certificate has ep's pin (if
 * it names one) and, when ca is set, chains to a trusted CA and is valid for ep's host; else -1
 * with the reason in why. Always 0 for a UNIX socket. */
int link_dial_check(
    const struct link_endpoint *ep, int ca, struct chanio *io, char *why, size_t whylen);

#endif
