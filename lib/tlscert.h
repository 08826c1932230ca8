/* A TLS identity kept in two PEM files, an Ed25519 key and a self-signed certificate for it
 * (the agent's QUIC listener, the manager's state-channel listener, an enrolled agent's client
 * certificate), and the SPKI pin that names it: SHA-256 of the DER SubjectPublicKeyInfo, shown
 * as standard base64 (44 characters). A pin survives re-issuing the certificate for the same
 * key, which is why peers pin it rather than the certificate. Functions log their failures. */
#ifndef LIB_TLSCERT_H
#define LIB_TLSCERT_H

#include <gnutls/gnutls.h>

#define TLSCERT_PIN_LEN 32
#define TLSCERT_PIN_STRLEN 45 /* base64 of 32 bytes, with its NUL */

/* Create an Ed25519 key and a self-signed certificate for it (common name and DNS name cn, 10
 * years, usable by a TLS server and a TLS client) as PEM files cert_file and key_file (0600,
 * each written beside and renamed, the key first) unless both exist already. 0 or -1. */
int tlscert_ensure(const char *cert_file, const char *key_file, const char *cn);

/* The pin of the certificate in the PEM file cert_file, of a DER certificate, or of the
 * certificate a TLS peer presented (the first of its chain). 0 or -1. */
int tlscert_spki_pin(const char *cert_file, unsigned char pin[TLSCERT_PIN_LEN]);
int tlscert_spki_pin_der(const gnutls_datum_t *der, unsigned char pin[TLSCERT_PIN_LEN]);
int tlscert_peer_pin(gnutls_session_t s, unsigned char pin[TLSCERT_PIN_LEN]);

/* 1 when the pins are equal, compared in constant time; else 0. */
int tlscert_pin_equal(
    const unsigned char a[TLSCERT_PIN_LEN], const unsigned char b[TLSCERT_PIN_LEN]);

/* A pin as text (base64, 44 characters), and back: 0, or -1 when text is not the base64 of 32
 * bytes. */
void tlscert_pin_text(const unsigned char pin[TLSCERT_PIN_LEN], char out[TLSCERT_PIN_STRLEN]);
int tlscert_pin_parse(const char *text, unsigned char pin[TLSCERT_PIN_LEN]);

#endif
