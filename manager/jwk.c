#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/b64url.h"
#include "jwk.h"

/* base64url of the big-endian unsigned integer in d, without leading zero bytes but
 * left-padded with zeros to width bytes (RFC 7518: EC coordinates are full-width, RSA
 * integers minimal). free() it; NULL when out of memory. */
static char *
b64url_uint(const gnutls_datum_t *d, size_t width)
{
	const unsigned char *p = d->data;
	size_t n = d->size, w;
	unsigned char *buf;
	char *s = NULL;

	while (n > 0 && *p == 0) {
		p++;
		n--;
	}
	w = n > width ? n : width;
	if (w == 0)
		w = 1;
	if ((buf = calloc(1, w)) == NULL)
		return NULL;
	memcpy(buf + (w - n), p, n);
	if ((s = malloc(B64URL_LEN(w) + 1)) != NULL)
		b64url_encode(buf, w, s);
	free(buf);
	return s;
}

json_t *
jwk_json(const struct jwt_key *k)
{
	gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
	gnutls_datum_t a = {NULL, 0}, b = {NULL, 0};
	char *sa = NULL, *sb = NULL;
	json_t *o = NULL;

	if (k == NULL)
		return NULL;
	switch (k->alg) {
	case JWT_ALG_EDDSA:
		if (gnutls_pubkey_export_ecc_raw2(k->pub, &curve, &a, NULL, 0) < 0 ||
		    curve != GNUTLS_ECC_CURVE_ED25519 || (sa = b64url_uint(&a, 32)) == NULL)
			goto out;
		o = json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "x", sa);
		break;
	case JWT_ALG_ES256:
		if (gnutls_pubkey_export_ecc_raw2(k->pub, &curve, &a, &b, 0) < 0 ||
		    curve != GNUTLS_ECC_CURVE_SECP256R1 || (sa = b64url_uint(&a, 32)) == NULL ||
		    (sb = b64url_uint(&b, 32)) == NULL)
			goto out;
		o = json_pack(
		    "{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", sa, "y", sb);
		break;
	case JWT_ALG_RS256:
		if (gnutls_pubkey_export_rsa_raw2(k->pub, &a, &b, 0) < 0 ||
		    (sa = b64url_uint(&a, 0)) == NULL || (sb = b64url_uint(&b, 0)) == NULL)
			goto out;
		o = json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", sa, "e", sb);
		break;
	}
	if (o != NULL) {
		json_object_set_new(o, "kid", json_string(k->kid));
		json_object_set_new(o, "alg", json_string(jwt_alg_name(k->alg)));
		json_object_set_new(o, "use", json_string("sig"));
	}
out:
	free(sa);
	free(sb);
	gnutls_free(a.data);
	gnutls_free(b.data);
	return o;
}
