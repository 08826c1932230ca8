/* TLS 1.3 sessions of the QUIC transport (GnuTLS via ngtcp2_crypto_gnutls): the server's
 * certificate credentials and ALPN check, the client's SPKI pin check. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include "../../lib/log.h"
#include "../../lib/tlscert.h"
#include "quic_tls.h"

const char *quic_test_client_alpn;

static const char quic_priority[] =
    "%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:"
    "+AES-256-GCM:+CHACHA20-POLY1305:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:"
    "+GROUP-SECP384R1";

struct quic_tls_server {
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;
};

struct quic_tls_server *
quic_tls_server_new(const char *cert_file, const char *key_file)
{
	struct quic_tls_server *t;
	int rv;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((rv = gnutls_certificate_allocate_credentials(&t->cred)) != 0)
		goto fail;
	rv =
	    gnutls_certificate_set_x509_key_file(t->cred, cert_file, key_file, GNUTLS_X509_FMT_PEM);
	if (rv < 0) {
		log_error("quic: certificate \"%s\" / key \"%s\": %s", cert_file, key_file,
		    gnutls_strerror(rv));
		quic_tls_server_free(t);
		return NULL;
	}
	if ((rv = gnutls_priority_init(&t->prio, quic_priority, NULL)) != 0)
		goto fail;
	return t;
fail:
	log_error("quic: TLS setup: %s", gnutls_strerror(rv));
	quic_tls_server_free(t);
	return NULL;
}

void
quic_tls_server_free(struct quic_tls_server *t)
{
	if (t == NULL)
		return;
	if (t->prio != NULL)
		gnutls_priority_deinit(t->prio);
	if (t->cred != NULL)
		gnutls_certificate_free_credentials(t->cred);
	free(t);
}

/* After the ClientHello: the client must have offered our ALPN (GnuTLS then selected it). */
static int
quic_tls_alpn_hook(gnutls_session_t session, unsigned htype, unsigned when, unsigned incoming,
    const gnutls_datum_t *msg)
{
	gnutls_datum_t alpn;

	(void)htype;
	(void)when;
	(void)incoming;
	(void)msg;
	if (gnutls_alpn_get_selected_protocol(session, &alpn) != 0 ||
	    alpn.size != sizeof(QUIC_ALPN) - 1 || memcmp(alpn.data, QUIC_ALPN, alpn.size) != 0)
		return GNUTLS_E_NO_APPLICATION_PROTOCOL;
	return 0;
}

static int
quic_tls_common(struct quic_conn *c, gnutls_priority_t prio, gnutls_certificate_credentials_t cred,
    const char *alpn_text)
{
	gnutls_datum_t alpn;
	int rv;

	if (prio != NULL)
		rv = gnutls_priority_set(c->tls, prio);
	else
		rv = gnutls_priority_set_direct(c->tls, quic_priority, NULL);
	if (rv != 0)
		return rv;
	if ((rv = gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, cred)) != 0)
		return rv;
	alpn.data = (unsigned char *)(uintptr_t)alpn_text;
	alpn.size = (unsigned)strlen(alpn_text);
	rv = gnutls_alpn_set_protocols(c->tls, &alpn, 1, GNUTLS_ALPN_MANDATORY);
	if (rv != 0)
		return rv;
	/* the crypto helper finds the ngtcp2_conn through this */
	gnutls_session_set_ptr(c->tls, &c->conn_ref);
	ngtcp2_conn_set_tls_native_handle(c->conn, c->tls);
	return 0;
}

int
quic_tls_server_session(struct quic_tls_server *t, struct quic_conn *c)
{
	int rv;

	rv = gnutls_init(&c->tls,
	    GNUTLS_SERVER | GNUTLS_NO_AUTO_SEND_TICKET | GNUTLS_NO_END_OF_EARLY_DATA |
		GNUTLS_NONBLOCK);
	if (rv != 0)
		goto fail;
	if (ngtcp2_crypto_gnutls_configure_server_session(c->tls) != 0) {
		rv = GNUTLS_E_INTERNAL_ERROR;
		goto fail;
	}
	gnutls_handshake_set_hook_function(
	    c->tls, GNUTLS_HANDSHAKE_CLIENT_HELLO, GNUTLS_HOOK_POST, quic_tls_alpn_hook);
	if ((rv = quic_tls_common(c, t->prio, t->cred, QUIC_ALPN)) != 0)
		goto fail;
	return 0;
fail:
	log_error("quic: TLS session: %s", gnutls_strerror(rv));
	return -1;
}

/* The client's certificate check: the leaf's SPKI must hash to the pin. */
static int
quic_tls_verify_pin(gnutls_session_t session)
{
	ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(session);
	struct quic_conn *c = ref->user_data;
	unsigned char pin[QUIC_SPKI_PIN_LEN];

	if (c->pin == NULL)
		return 0;
	if (gnutls_certificate_type_get2(session, GNUTLS_CTYPE_SERVER) != GNUTLS_CRT_X509)
		return -1;
	if (tlscert_peer_pin(session, pin) != 0)
		return -1;
	if (!tlscert_pin_equal(pin, c->pin)) {
		log_warn("quic: the server's certificate does not match the SPKI pin");
		return -1;
	}
	return 0;
}

int
quic_tls_client_session(struct quic_conn *c, const char *ca_file, const char *server_name)
{
	int rv;

	if ((rv = gnutls_certificate_allocate_credentials(&c->client_cred)) != 0)
		goto fail;
	if (ca_file != NULL) {
		/* the number of certificates loaded, or an error: a file without one trusts
		 * nothing and is as wrong as a missing one */
		rv = gnutls_certificate_set_x509_trust_file(
		    c->client_cred, ca_file, GNUTLS_X509_FMT_PEM);
		if (rv <= 0) {
			log_error("quic: CA file \"%s\": %s", ca_file,
			    rv == 0 ? "no certificate in it" : gnutls_strerror(rv));
			return -1;
		}
	}
	rv = gnutls_init(&c->tls, GNUTLS_CLIENT | GNUTLS_NO_END_OF_EARLY_DATA | GNUTLS_NONBLOCK);
	if (rv != 0)
		goto fail;
	if (ngtcp2_crypto_gnutls_configure_client_session(c->tls) != 0) {
		rv = GNUTLS_E_INTERNAL_ERROR;
		goto fail;
	}
	if (ca_file != NULL) {
		struct in6_addr ip;

		/* chain and name checked by GnuTLS against the CA; the name is what the user
		 * dialled (an address matches an IP SAN). SNI only for a DNS name (RFC 6066 §3). */
		if (server_name != NULL && (c->verify_name = strdup(server_name)) == NULL) {
			rv = GNUTLS_E_MEMORY_ERROR;
			goto fail;
		}
		gnutls_session_set_verify_cert(c->tls, c->verify_name, 0);
		if (server_name != NULL && inet_pton(AF_INET, server_name, &ip) != 1 &&
		    inet_pton(AF_INET6, server_name, &ip) != 1 &&
		    (rv = gnutls_server_name_set(
			 c->tls, GNUTLS_NAME_DNS, server_name, strlen(server_name))) != 0)
			goto fail;
	} else {
		gnutls_session_set_verify_function(c->tls, quic_tls_verify_pin);
	}
	rv = quic_tls_common(c, NULL, c->client_cred,
	    quic_test_client_alpn != NULL ? quic_test_client_alpn : QUIC_ALPN);
	if (rv != 0)
		goto fail;
	return 0;
fail:
	log_error("quic: TLS session: %s", gnutls_strerror(rv));
	return -1;
}
