/* A TLS identity in two PEM files (an Ed25519 key and its self-signed certificate) and the SPKI
 * pin that names it. See tlscert.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "atomicfile.h"
#include "log.h"
#include "tlscert.h"

#define CERT_YEARS 10

/* Write data to path (0600) whole or not at all; a failure is logged. 0 or -1. */
static int
cert_write_file(const char *path, const gnutls_datum_t *data)
{
	if (atomicfile_write(path, data->data, data->size, 0600) < 0) {
		log_error("tls: cannot write \"%s\": %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
tlscert_ensure(const char *cert_file, const char *key_file, const char *cn)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t kpem = {NULL, 0}, cpem = {NULL, 0};
	unsigned char serial[16], kid[64];
	size_t kidlen = sizeof(kid);
	time_t now = time(NULL);
	int rv = -1, g;

	if (access(cert_file, R_OK) == 0 && access(key_file, R_OK) == 0)
		return 0;
	if ((g = gnutls_x509_privkey_init(&key)) != 0 ||
	    (g = gnutls_x509_privkey_generate2(key, GNUTLS_PK_EDDSA_ED25519, 0, 0, NULL, 0)) != 0)
		goto fail;
	if ((g = gnutls_x509_crt_init(&crt)) != 0)
		goto fail;
	if ((g = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) != 0)
		goto fail;
	serial[0] &= 0x7f; /* a positive INTEGER */
	serial[0] |= 0x01;
	if ((g = gnutls_x509_crt_set_version(crt, 3)) != 0 ||
	    (g = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) != 0 ||
	    (g = gnutls_x509_crt_set_activation_time(crt, now - 3600)) != 0 ||
	    (g = gnutls_x509_crt_set_expiration_time(
		 crt, now + (time_t)CERT_YEARS * 365 * 24 * 3600)) != 0 ||
	    (g = gnutls_x509_crt_set_dn_by_oid(
		 crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn))) != 0 ||
	    (g = gnutls_x509_crt_set_key(crt, key)) != 0 ||
	    (g = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) != 0 ||
	    (g = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) != 0 ||
	    (g = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) != 0 ||
	    /* the same identity may also be a client's (an agent on the state channel) */
	    (g = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 0)) != 0 ||
	    (g = gnutls_x509_crt_set_subject_alt_name(
		 crt, GNUTLS_SAN_DNSNAME, cn, strlen(cn), GNUTLS_FSAN_SET)) != 0)
		goto fail;
	if ((g = gnutls_x509_crt_get_key_id(crt, 0, kid, &kidlen)) != 0 ||
	    (g = gnutls_x509_crt_set_subject_key_id(crt, kid, kidlen)) != 0)
		goto fail;
	if ((g = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA512, 0)) != 0)
		goto fail;
	if ((g = gnutls_x509_privkey_export2_pkcs8(
		 key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &kpem)) != 0 ||
	    (g = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cpem)) != 0)
		goto fail;
	/* the key first: a certificate never names a key that is not there */
	if (cert_write_file(key_file, &kpem) != 0 || cert_write_file(cert_file, &cpem) != 0)
		goto out;
	log_info("tls: created an Ed25519 key \"%s\" and certificate \"%s\"", key_file, cert_file);
	rv = 0;
	goto out;
fail:
	log_error("tls: creating the certificate: %s", gnutls_strerror(g));
out:
	gnutls_free(kpem.data);
	gnutls_free(cpem.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	return rv;
}

int
tlscert_spki_pin(const char *cert_file, unsigned char pin[TLSCERT_PIN_LEN])
{
	gnutls_datum_t pem = {NULL, 0}, der = {NULL, 0};
	int rv = -1, g;

	if ((g = gnutls_load_file(cert_file, &pem)) != 0) {
		log_error("tls: cannot read \"%s\": %s", cert_file, gnutls_strerror(g));
		return -1;
	}
	if ((g = gnutls_pem_base64_decode2("CERTIFICATE", &pem, &der)) != 0) {
		log_error(
		    "tls: \"%s\" holds no PEM certificate: %s", cert_file, gnutls_strerror(g));
		goto out;
	}
	if (tlscert_spki_pin_der(&der, pin) != 0) {
		log_error("tls: \"%s\": cannot read the public key", cert_file);
		goto out;
	}
	rv = 0;
out:
	gnutls_free(pem.data);
	gnutls_free(der.data);
	return rv;
}

int
tlscert_spki_pin_der(const gnutls_datum_t *der, unsigned char pin[TLSCERT_PIN_LEN])
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t spki = {NULL, 0};
	int rv = -1;

	if (gnutls_x509_crt_init(&crt) != 0)
		goto out;
	if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) != 0)
		goto out;
	if (gnutls_pubkey_init(&pub) != 0)
		goto out;
	if (gnutls_pubkey_import_x509(pub, crt, 0) != 0)
		goto out;
	if (gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &spki) != 0)
		goto out;
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, spki.data, spki.size, pin) != 0)
		goto out;
	rv = 0;
out:
	gnutls_free(spki.data);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return rv;
}

int
tlscert_peer_pin(gnutls_session_t s, unsigned char pin[TLSCERT_PIN_LEN])
{
	const gnutls_datum_t *certs;
	unsigned n = 0;

	certs = gnutls_certificate_get_peers(s, &n);
	if (certs == NULL || n == 0)
		return -1;
	return tlscert_spki_pin_der(&certs[0], pin);
}

int
tlscert_pin_equal(const unsigned char a[TLSCERT_PIN_LEN], const unsigned char b[TLSCERT_PIN_LEN])
{
	unsigned char diff = 0;

	for (size_t i = 0; i < TLSCERT_PIN_LEN; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

void
tlscert_pin_text(const unsigned char pin[TLSCERT_PIN_LEN], char out[TLSCERT_PIN_STRLEN])
{
	gnutls_datum_t raw = {(unsigned char *)(uintptr_t)pin, TLSCERT_PIN_LEN}, b64 = {NULL, 0};
	size_t j = 0;

	if (gnutls_base64_encode2(&raw, &b64) == 0)
		for (unsigned i = 0; i < b64.size && j + 1 < TLSCERT_PIN_STRLEN; i++)
			if (b64.data[i] != '\n' && b64.data[i] != '\r')
				out[j++] = (char)b64.data[i];
	out[j] = '\0';
	gnutls_free(b64.data);
}

int
tlscert_pin_parse(const char *text, unsigned char pin[TLSCERT_PIN_LEN])
{
	gnutls_datum_t in, out = {NULL, 0};
	int rv = -1;

	if (text == NULL || strlen(text) != TLSCERT_PIN_STRLEN - 1)
		return -1;
	in.data = (unsigned char *)(uintptr_t)text;
	in.size = (unsigned)strlen(text);
	if (gnutls_base64_decode2(&in, &out) == 0 && out.size == TLSCERT_PIN_LEN) {
		memcpy(pin, out.data, TLSCERT_PIN_LEN);
		rv = 0;
	}
	gnutls_free(out.data);
	return rv;
}
