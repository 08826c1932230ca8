#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/err.h"
#include "keyimport.h"

#define PEM_MAX (64 * 1024) /* the request body's bound: more is not one key */

/* An imported key's kid: 1 to JWT_KID_MAX printable ASCII characters, no space, no "/". */
static int
kid_valid(const char *kid)
{
	size_t n = strlen(kid);

	if (n == 0 || n > JWT_KID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)kid[i] <= 0x20 || (unsigned char)kid[i] >= 0x7f || kid[i] == '/')
			return 0;
	return 1;
}

/* Parse a PUBLIC KEY PEM: the algorithm its type pins (0: none we support), a description of
 * the key for messages, and the key in canonical PEM (free(); only when *alg is set).
 * 0, ERR_INVALID (not a PEM public key), ERR_NOMEM. */
static int
pem_parse(const char *pem, size_t len, enum jwt_alg *alg, char *desc, size_t desclen, char **canon)
{
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t in = {(unsigned char *)(uintptr_t)pem, (unsigned int)len}, out = {NULL, 0};
	gnutls_datum_t x = {NULL, 0}, y = {NULL, 0};
	gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
	const char *name;
	unsigned int bits = 0;
	int pk, rv = ERR_NOMEM;

	*alg = 0;
	*canon = NULL;
	snprintf(desc, desclen, "not a PEM public key (-----BEGIN PUBLIC KEY-----)");
	if (gnutls_pubkey_init(&pub) < 0)
		goto out;
	rv = ERR_INVALID;
	if (len == 0 || len > PEM_MAX || gnutls_pubkey_import(pub, &in, GNUTLS_X509_FMT_PEM) < 0)
		goto out;
	switch ((pk = gnutls_pubkey_get_pk_algorithm(pub, &bits))) {
	case GNUTLS_PK_EDDSA_ED25519:
		*alg = JWT_ALG_EDDSA;
		snprintf(desc, desclen, "an Ed25519 key");
		break;
	case GNUTLS_PK_ECDSA:
		if (gnutls_pubkey_export_ecc_raw2(pub, &curve, &x, &y, 0) < 0) {
			snprintf(desc, desclen, "an unreadable EC key");
		} else if (curve == GNUTLS_ECC_CURVE_SECP256R1) {
			*alg = JWT_ALG_ES256;
			snprintf(desc, desclen, "an EC P-256 key");
		} else {
			name = gnutls_ecc_curve_get_name(curve);
			snprintf(desc, desclen, "an EC key on curve %s, not P-256",
			    name != NULL ? name : "?");
		}
		break;
	case GNUTLS_PK_RSA:
		snprintf(desc, desclen, "an RSA key of %u bits", bits);
		if (jwt_rsa_key_ok(pub, bits))
			*alg = JWT_ALG_RS256;
		else if (bits < 2048)
			snprintf(desc, desclen, "an RSA key of %u bits, under 2048", bits);
		else
			snprintf(desc, desclen,
			    "an RSA key whose public exponent is not an odd "
			    "number of at least 65537");
		break;
	default:
		name = gnutls_pk_get_name((gnutls_pk_algorithm_t)pk);
		snprintf(desc, desclen, "a %s key, which no supported alg uses",
		    name != NULL ? name : "?");
		break;
	}
	rv = 0;
	if (*alg != 0) {
		if (gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_PEM, &out) < 0)
			rv = ERR_INVALID;
		else if ((*canon = strndup((const char *)out.data, out.size)) == NULL)
			rv = ERR_NOMEM;
	}
out:
	gnutls_free(x.data);
	gnutls_free(y.data);
	gnutls_free(out.data);
	gnutls_pubkey_deinit(pub);
	return rv;
}

int
keyimport_check(const char *kid, const char *alg_name, const char *pem, size_t len,
    enum jwt_alg *alg, char **canon, struct keyimport_error *e)
{
	struct jwt_keyset *scratch = NULL;
	const struct jwt_key *k;
	enum jwt_alg key_alg;
	char desc[128];
	int rv = ERR_INVALID;

	*canon = NULL;
	e->field = NULL;
	e->detail[0] = '\0';
	if (!kid_valid(kid)) {
		e->field = "kid";
		snprintf(e->detail, sizeof(e->detail),
		    "kid must be 1 to %d printable ASCII characters without space or \"/\"",
		    JWT_KID_MAX);
		goto out;
	}
	if ((*alg = jwt_alg_parse(alg_name)) == 0) {
		e->field = "alg";
		snprintf(e->detail, sizeof(e->detail),
		    "alg \"%.40s\" is not supported: EdDSA, ES256 or RS256", alg_name);
		goto out;
	}
	if ((rv = pem_parse(pem, len, &key_alg, desc, sizeof(desc), canon)) < 0 || key_alg == 0) {
		if (rv == ERR_NOMEM)
			goto out;
		e->field = "public_key_pem";
		snprintf(e->detail, sizeof(e->detail), "public_key_pem is %s", desc);
		rv = ERR_INVALID;
		goto out;
	}
	if (key_alg != *alg) {
		e->field = "alg";
		snprintf(e->detail, sizeof(e->detail),
		    "alg is \"%s\" but public_key_pem is %s, a key for %s", alg_name, desc,
		    jwt_alg_name(key_alg));
		rv = ERR_INVALID;
		goto out;
	}
	/* The JWT layer has the last word on what it will trust. */
	rv = ERR_NOMEM;
	if ((scratch = jwt_keyset_new()) == NULL)
		goto out;
	if ((rv = jwt_keyset_add_pem(scratch, kid, *canon, strlen(*canon))) < 0 ||
	    (k = jwt_keyset_find(scratch, kid)) == NULL || k->alg != *alg) {
		if (rv == ERR_NOMEM)
			goto out;
		e->field = "public_key_pem";
		snprintf(e->detail, sizeof(e->detail), "public_key_pem (%s) cannot be used for %s",
		    desc, jwt_alg_name(*alg));
		rv = ERR_INVALID;
		goto out;
	}
	rv = 0;
out:
	jwt_keyset_free(scratch);
	if (rv < 0) {
		free(*canon);
		*canon = NULL;
	}
	return rv;
}

int
keyimport_pins_check(const char *iss, const char *aud, struct keyimport_error *e)
{
	const char *names[2] = {"iss", "aud"}, *vals[2] = {iss, aud};

	e->field = NULL;
	e->detail[0] = '\0';
	for (int i = 0; i < 2; i++)
		if (vals[i] != NULL && !jwt_pin_valid(vals[i])) {
			e->field = names[i];
			snprintf(e->detail, sizeof(e->detail),
			    "%s must be 1 to %d visible ASCII characters (no space, no control "
			    "character)",
			    names[i], JWT_PIN_MAX);
			return ERR_INVALID;
		}
	return 0;
}
