/* The gateway's TLS identity: an Ed25519 key and a self-signed certificate, and its SPKI pin. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "../../lib/atomicfile.h"
#include "../../lib/log.h"
#include "quic_tls.h"

#define CERT_CN "snaptun-agent"
#define CERT_YEARS 10

/* Write data to path (0600) whole or not at all; a failure is logged. 0 or -1. */
static int
cert_write_file(const char *path, const gnutls_datum_t *data)
{
	if (atomicfile_write(path, data->data, data->size, 0600) < 0) {
		log_error("quic: cannot write \"%s\": %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
quic_cert_ensure(const char *cert_file, const char *key_file)
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
		 crt, GNUTLS_OID_X520_COMMON_NAME, 0, CERT_CN, sizeof(CERT_CN) - 1)) != 0 ||
	    (g = gnutls_x509_crt_set_key(crt, key)) != 0 ||
	    (g = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) != 0 ||
	    (g = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) != 0 ||
	    (g = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) != 0 ||
	    (g = gnutls_x509_crt_set_subject_alt_name(
		 crt, GNUTLS_SAN_DNSNAME, CERT_CN, sizeof(CERT_CN) - 1, GNUTLS_FSAN_SET)) != 0)
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
	log_info("quic: created an Ed25519 key \"%s\" and certificate \"%s\"", key_file, cert_file);
	rv = 0;
	goto out;
fail:
	log_error("quic: creating the certificate: %s", gnutls_strerror(g));
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
quic_cert_spki_pin(const char *cert_file, unsigned char pin[QUIC_SPKI_PIN_LEN])
{
	gnutls_datum_t pem = {NULL, 0}, der = {NULL, 0};
	int rv = -1, g;

	if ((g = gnutls_load_file(cert_file, &pem)) != 0) {
		log_error("quic: cannot read \"%s\": %s", cert_file, gnutls_strerror(g));
		return -1;
	}
	if ((g = gnutls_pem_base64_decode2("CERTIFICATE", &pem, &der)) != 0) {
		log_error(
		    "quic: \"%s\" holds no PEM certificate: %s", cert_file, gnutls_strerror(g));
		goto out;
	}
	if (quic_tls_spki_pin_der(&der, pin) != 0) {
		log_error("quic: \"%s\": cannot read the public key", cert_file);
		goto out;
	}
	rv = 0;
out:
	gnutls_free(pem.data);
	gnutls_free(der.data);
	return rv;
}
