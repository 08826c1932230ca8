/* Dialling the manager for the state channel (proto/README.md §2.7, §2.8): one endpoint at a
 * time, either the manager's UNIX socket (a path) or its TCP + TLS 1.3 listener (HOST:PORT,
 * numeric), where the agent presents its enrolled client certificate and accepts the manager
 * only if its certificate's SPKI pin is the one the endpoint names. Non-blocking: the TLS
 * handshake goes on in the owner's loop (chanio_handshake()), and link_dial_check() judges the
 * manager once it is done. */
#ifndef AGENT_LINK_DIAL_H
#define AGENT_LINK_DIAL_H

#include <gnutls/gnutls.h>

#include "../lib/tlscert.h"

struct chanio;

struct link_endpoint {
	char address[300]; /* a UNIX socket path (it has a '/'), or "HOST:PORT" over TLS */
	unsigned char pin[TLSCERT_PIN_LEN]; /* TLS: the manager's SPKI pin */
};

/* 1 when ep is a TLS endpoint, 0 for a UNIX socket. */
int link_dial_is_tls(const struct link_endpoint *ep);

/* Parse "HOST:PORT=PIN" (a TLS endpoint and the manager's pin, base64) or a UNIX socket path
 * into *ep. 0, or -1 with the reason in why (whylen bytes). */
int link_dial_parse(const char *text, struct link_endpoint *ep, char *why, size_t whylen);

/* A TLS endpoint from its parts: addrlen bytes of address (numeric HOST:PORT) and the pin
 * (base64). 0, or -1 with the reason in why. */
int link_dial_parse_tls(const char *address, size_t addrlen, const char *pin,
    struct link_endpoint *ep, char *why, size_t whylen);

/* The agent's client identity for TLS endpoints: its certificate and key (PEM files). NULL
 * with the reason logged. Free with gnutls_certificate_free_credentials(). */
gnutls_certificate_credentials_t link_dial_credentials(const char *cert_file, const char *key_file);

/* Start a connection to ep: *io is the transport, its TLS handshake (for a TLS endpoint, with
 * cred) not done yet. 0, or -1 with the reason in why (the manager is not there: try another
 * endpoint later). */
int link_dial_open(const struct link_endpoint *ep, gnutls_certificate_credentials_t cred,
    struct chanio **io, char *why, size_t whylen);

/* After the handshake with a TLS endpoint: 0 when the manager's certificate has ep's pin, else
 * -1 with the reason in why. Always 0 for a UNIX socket. */
int link_dial_check(const struct link_endpoint *ep, struct chanio *io, char *why, size_t whylen);

#endif
