/* TLS 1.3 sessions of the QUIC transport (quic_tls.c, GnuTLS via ngtcp2_crypto_gnutls): the
 * server's credentials and ALPN check, the client's SPKI pin check. Sits on the connection core
 * (it fills a connection's TLS session); the server and the client call it, the core does not. */
#ifndef AGENT_QUIC_TLS_H
#define AGENT_QUIC_TLS_H

#include <gnutls/gnutls.h>

#include "quic_conn.h"

/* Test-only knob (tests/unit/quic_test.c): when non-NULL, clients offer this ALPN instead of
 * QUIC_ALPN, to show that the server refuses other protocols. */
extern const char *quic_test_client_alpn;

struct quic_tls_server;

/* The server's certificate credentials (PEM files) and priorities; NULL on failure (logged).
 * Free with quic_tls_server_free() (NULL is fine). */
struct quic_tls_server *quic_tls_server_new(const char *cert_file, const char *key_file);
void quic_tls_server_free(struct quic_tls_server *t);

/* Give c (its ngtcp2_conn made) a server TLS session that requires our ALPN; 0 or -1
 * (logged). The session is c's: quic_conn_free() ends it. */
int quic_tls_server_session(struct quic_tls_server *t, struct quic_conn *c);

/* Give c a client TLS session offering our ALPN, with credentials of its own (c->client_cred),
 * checking the server's certificate: against c->pin, or with ca_file (PEM) against those CA
 * certificates and server_name (a DNS name or an address; NULL: the chain only). 0 or -1
 * (logged). */
int quic_tls_client_session(struct quic_conn *c, const char *ca_file, const char *server_name);

#endif
