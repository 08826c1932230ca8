#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/b64url.h"
#include "../lib/err.h"
#include "jwtkey.h"

#define RSA_MIN_BITS 2048

/* PKCS#8 OneAsymmetricKey of an Ed25519 seed (RFC 8410 §7) up to the 32 seed bytes: GnuTLS
 * imports a raw Ed25519 private key only with its public half, which it derives from this form. */
static const unsigned char ed25519_pkcs8_prefix[] = {
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};

const char *
jwt_alg_name(enum jwt_alg alg)
{
	switch (alg) {
	case JWT_ALG_EDDSA: return "EdDSA";
	case JWT_ALG_ES256: return "ES256";
	case JWT_ALG_RS256: return "RS256";
	}
	return "?";
}

enum jwt_alg
jwt_alg_parse(const char *s)
{
	if (strcmp(s, "EdDSA") == 0)
		return JWT_ALG_EDDSA;
	if (strcmp(s, "ES256") == 0)
		return JWT_ALG_ES256;
	if (strcmp(s, "RS256") == 0)
		return JWT_ALG_RS256;
	return 0;
}

/* kid (NULL: none) is at most JWT_KID_MAX bytes of printable ASCII: it goes into logs and JSON. */
static int
kid_valid(const char *kid)
{
	size_t n;

	if (kid == NULL)
		return 1;
	n = strnlen(kid, JWT_KID_MAX + 1);
	if (n > JWT_KID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (kid[i] < 0x20 || kid[i] > 0x7e)
			return 0;
	return 1;
}

struct jwt_keyset *
jwt_keyset_new(void)
{
	/* libsodium verifies the EdDSA keys: it must be set up once (idempotent, thread-safe). */
	if (sodium_init() < 0)
		return NULL;
	return calloc(1, sizeof(struct jwt_keyset));
}

void
jwt_keyset_free(struct jwt_keyset *ks)
{
	if (ks == NULL)
		return;
	for (size_t i = 0; i < ks->n; i++)
		gnutls_pubkey_deinit(ks->keys[i].pub);
	free(ks->keys);
	free(ks);
}

const struct jwt_key *
jwt_keyset_find(const struct jwt_keyset *ks, const char *kid)
{
	if (kid == NULL || kid[0] == '\0')
		return NULL;
	for (size_t i = 0; i < ks->n; i++)
		if (strcmp(ks->keys[i].kid, kid) == 0)
			return &ks->keys[i];
	return NULL;
}

int
jwt_keyset_kidless(struct jwt_keyset *ks, const char *kid, int on)
{
	const struct jwt_key *k = jwt_keyset_find(ks, kid);

	if (k == NULL)
		return ERR_NOT_FOUND;
	ks->keys[k - ks->keys].kidless = on;
	return 0;
}

int
jwt_pin_valid(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > JWT_PIN_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

int
jwt_keyset_pin(struct jwt_keyset *ks, const char *kid, const char *iss, const char *aud)
{
	const struct jwt_key *k;
	struct jwt_key *w;

	if ((iss != NULL && iss[0] != '\0' && !jwt_pin_valid(iss)) ||
	    (aud != NULL && aud[0] != '\0' && !jwt_pin_valid(aud)))
		return ERR_INVALID;
	if ((k = jwt_keyset_find(ks, kid)) == NULL)
		return ERR_NOT_FOUND;
	w = &ks->keys[k - ks->keys];
	snprintf(w->iss, sizeof(w->iss), "%s", iss != NULL ? iss : "");
	snprintf(w->aud, sizeof(w->aud), "%s", aud != NULL ? aud : "");
	return 0;
}

/* Append (kid, alg, pub) to ks; ks owns pub from here on, also on failure. */
static int
keyset_add(struct jwt_keyset *ks, const char *kid, enum jwt_alg alg, gnutls_pubkey_t pub)
{
	struct jwt_key *k;
	int rv = ERR_INVALID;

	if (!kid_valid(kid))
		goto out;
	if (kid == NULL)
		kid = "";
	rv = ERR_CONFLICT;
	if (jwt_keyset_find(ks, kid) != NULL)
		goto out;
	rv = ERR_NOMEM;
	if (ks->n == ks->cap) {
		size_t cap = ks->cap ? 2 * ks->cap : 4;
		struct jwt_key *keys = reallocarray(ks->keys, cap, sizeof(*keys));
		if (keys == NULL)
			goto out;
		ks->keys = keys;
		ks->cap = cap;
	}
	k = &ks->keys[ks->n];
	memset(k, 0, sizeof(*k));
	if (alg == JWT_ALG_EDDSA) {
		gnutls_datum_t x = {NULL, 0};
		gnutls_ecc_curve_t curve;
		int ok = gnutls_pubkey_export_ecc_raw2(pub, &curve, &x, NULL, 0) >= 0 &&
		    curve == GNUTLS_ECC_CURVE_ED25519 && x.size == JWT_ED25519_LEN;

		if (ok)
			memcpy(k->ed25519, x.data, JWT_ED25519_LEN);
		gnutls_free(x.data);
		rv = ERR_INVALID;
		if (!ok)
			goto out;
	}
	ks->n++;
	strcpy(k->kid, kid);
	k->alg = alg;
	k->kidless = 1;
	k->pub = pub;
	pub = NULL;
	rv = 0;
out:
	gnutls_pubkey_deinit(pub);
	return rv;
}

int
jwt_rsa_key_ok(gnutls_pubkey_t pub, unsigned int bits)
{
	gnutls_datum_t m = {NULL, 0}, e = {NULL, 0};
	unsigned long long ev = 0;
	int ok = 0;

	if (bits < RSA_MIN_BITS || gnutls_pubkey_export_rsa_raw2(pub, &m, &e, 0) < 0)
		return 0;
	/* A small or even exponent breaks RSA (e = 1 makes the padded hash a valid signature
	 * for anyone); 65537 is what every issuer uses. Longer exponents than 64 bits are odd
	 * choices but sound: accept them when odd. */
	if (e.size > 8) {
		ok = e.data[e.size - 1] & 1;
	} else {
		for (unsigned int i = 0; i < e.size; i++)
			ev = ev << 8 | e.data[i];
		ok = (ev & 1) && ev >= 65537;
	}
	gnutls_free(m.data);
	gnutls_free(e.data);
	return ok;
}

/* The algorithm an imported public key is pinned to, or 0 when we support none for it. */
static enum jwt_alg
pubkey_alg(gnutls_pubkey_t pub)
{
	unsigned int bits = 0;
	gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
	gnutls_datum_t x = {NULL, 0}, y = {NULL, 0};

	switch (gnutls_pubkey_get_pk_algorithm(pub, &bits)) {
	case GNUTLS_PK_EDDSA_ED25519: return JWT_ALG_EDDSA;
	case GNUTLS_PK_RSA: return jwt_rsa_key_ok(pub, bits) ? JWT_ALG_RS256 : 0;
	case GNUTLS_PK_ECDSA:
		if (gnutls_pubkey_export_ecc_raw2(pub, &curve, &x, &y, 0) < 0)
			return 0;
		gnutls_free(x.data);
		gnutls_free(y.data);
		return curve == GNUTLS_ECC_CURVE_SECP256R1 ? JWT_ALG_ES256 : 0;
	default: return 0;
	}
}

int
jwt_keyset_add_pem(struct jwt_keyset *ks, const char *kid, const char *pem, size_t len)
{
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t d = {(unsigned char *)(uintptr_t)pem, (unsigned int)len};
	enum jwt_alg alg;
	int rv = ERR_NOMEM;

	if (gnutls_pubkey_init(&pub) < 0)
		goto out;
	rv = ERR_INVALID;
	if (len > 64 * 1024 || gnutls_pubkey_import(pub, &d, GNUTLS_X509_FMT_PEM) < 0)
		goto out;
	if ((alg = pubkey_alg(pub)) == 0)
		goto out;
	rv = keyset_add(ks, kid, alg, pub);
	pub = NULL;
out:
	gnutls_pubkey_deinit(pub);
	return rv;
}

int
jwt_keyset_add_ed25519(
    struct jwt_keyset *ks, const char *kid, const unsigned char raw[JWT_ED25519_LEN])
{
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t x = {(unsigned char *)(uintptr_t)raw, JWT_ED25519_LEN};
	int rv = ERR_NOMEM;

	if (gnutls_pubkey_init(&pub) < 0)
		goto out;
	rv = ERR_INVALID;
	if (gnutls_pubkey_import_ecc_raw(pub, GNUTLS_ECC_CURVE_ED25519, &x, NULL) < 0)
		goto out;
	rv = keyset_add(ks, kid, JWT_ALG_EDDSA, pub);
	pub = NULL;
out:
	gnutls_pubkey_deinit(pub);
	return rv;
}

/* The string member name of o, NULL when absent; *bad set when present but not a string. */
static const char *
member_string(json_t *o, const char *name, int *bad)
{
	json_t *v = json_object_get(o, name);

	if (v == NULL)
		return NULL;
	if (!json_is_string(v)) {
		*bad = 1;
		return NULL;
	}
	return json_string_value(v);
}

int
jwt_keyset_add_jwk(struct jwt_keyset *ks, const char *json, size_t len)
{
	json_t *o = NULL;
	const char *kty, *crv, *x, *kid, *alg, *use;
	unsigned char raw[JWT_ED25519_LEN];
	int bad = 0, rv = ERR_INVALID;

	o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o))
		goto out;
	kty = member_string(o, "kty", &bad);
	crv = member_string(o, "crv", &bad);
	x = member_string(o, "x", &bad);
	kid = member_string(o, "kid", &bad);
	alg = member_string(o, "alg", &bad);
	use = member_string(o, "use", &bad);
	if (bad || kty == NULL || crv == NULL || x == NULL || strcmp(kty, "OKP") != 0 ||
	    strcmp(crv, "Ed25519") != 0 || (alg != NULL && strcmp(alg, "EdDSA") != 0) ||
	    (use != NULL && strcmp(use, "sig") != 0))
		goto out;
	if (b64url_decode(x, strlen(x), raw, sizeof(raw)) != JWT_ED25519_LEN)
		goto out;
	rv = jwt_keyset_add_ed25519(ks, kid, raw);
out:
	json_decref(o);
	return rv;
}

/* A signer around priv (owned from here on, also on failure) with its public half. */
static int
signer_new(const char *kid, gnutls_privkey_t priv, struct jwt_signer **out)
{
	struct jwt_signer *s = NULL;
	gnutls_pubkey_t pub = NULL;
	gnutls_ecc_curve_t curve;
	gnutls_datum_t x = {NULL, 0};
	int rv = ERR_INVALID;

	*out = NULL;
	if (!kid_valid(kid) ||
	    gnutls_privkey_get_pk_algorithm(priv, NULL) != GNUTLS_PK_EDDSA_ED25519)
		goto out;
	rv = ERR_NOMEM;
	if ((s = calloc(1, sizeof(*s))) == NULL || gnutls_pubkey_init(&pub) < 0)
		goto out;
	rv = ERR_INVALID;
	if (gnutls_pubkey_import_privkey(pub, priv, 0, 0) < 0 ||
	    gnutls_pubkey_export_ecc_raw2(pub, &curve, &x, NULL, 0) < 0 ||
	    curve != GNUTLS_ECC_CURVE_ED25519 || x.size != JWT_ED25519_LEN)
		goto out;
	memcpy(s->pub, x.data, JWT_ED25519_LEN);
	strcpy(s->kid, kid ? kid : "");
	s->priv = priv;
	priv = NULL;
	*out = s;
	s = NULL;
	rv = 0;
out:
	gnutls_free(x.data);
	gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(priv);
	free(s);
	return rv;
}

int
jwt_signer_new(const char *kid, struct jwt_signer **out)
{
	gnutls_privkey_t priv = NULL;

	*out = NULL;
	if (gnutls_privkey_init(&priv) < 0)
		return ERR_NOMEM;
	if (gnutls_privkey_generate2(priv, GNUTLS_PK_EDDSA_ED25519, 256, 0, NULL, 0) < 0) {
		gnutls_privkey_deinit(priv);
		return ERR_INVALID;
	}
	return signer_new(kid, priv, out);
}

/* A signer from a private key in PEM or DER (format) form. */
static int
signer_import(
    const char *kid, const gnutls_datum_t *d, gnutls_x509_crt_fmt_t format, struct jwt_signer **out)
{
	gnutls_privkey_t priv = NULL;

	*out = NULL;
	if (gnutls_privkey_init(&priv) < 0)
		return ERR_NOMEM;
	if (gnutls_privkey_import_x509_raw(priv, d, format, NULL, 0) < 0) {
		gnutls_privkey_deinit(priv);
		return ERR_INVALID;
	}
	return signer_new(kid, priv, out);
}

int
jwt_signer_from_pem(const char *kid, const char *pem, size_t len, struct jwt_signer **out)
{
	gnutls_datum_t d = {(unsigned char *)(uintptr_t)pem, (unsigned int)len};

	*out = NULL;
	if (len > 64 * 1024)
		return ERR_INVALID;
	return signer_import(kid, &d, GNUTLS_X509_FMT_PEM, out);
}

int
jwt_signer_from_raw(
    const char *kid, const unsigned char seed[JWT_ED25519_LEN], struct jwt_signer **out)
{
	unsigned char der[sizeof(ed25519_pkcs8_prefix) + JWT_ED25519_LEN];
	gnutls_datum_t d = {der, sizeof(der)};
	int rv;

	memcpy(der, ed25519_pkcs8_prefix, sizeof(ed25519_pkcs8_prefix));
	memcpy(der + sizeof(ed25519_pkcs8_prefix), seed, JWT_ED25519_LEN);
	rv = signer_import(kid, &d, GNUTLS_X509_FMT_DER, out);
	gnutls_memset(der, 0, sizeof(der));
	return rv;
}

void
jwt_signer_free(struct jwt_signer *s)
{
	if (s == NULL)
		return;
	gnutls_privkey_deinit(s->priv);
	free(s);
}

int
jwt_signer_pem(const struct jwt_signer *s, char **pem, size_t *len)
{
	gnutls_x509_privkey_t x509 = NULL;
	gnutls_datum_t d = {NULL, 0};
	int rv = ERR_INVALID;

	*pem = NULL;
	*len = 0;
	if (gnutls_privkey_export_x509(s->priv, &x509) < 0 ||
	    gnutls_x509_privkey_export2_pkcs8(
		x509, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &d) < 0)
		goto out;
	rv = ERR_NOMEM;
	if ((*pem = malloc(d.size + 1)) == NULL)
		goto out;
	memcpy(*pem, d.data, d.size);
	(*pem)[d.size] = '\0';
	*len = d.size;
	rv = 0;
out:
	if (d.data != NULL) {
		gnutls_memset(d.data, 0, d.size);
		gnutls_free(d.data);
	}
	gnutls_x509_privkey_deinit(x509);
	return rv;
}

ssize_t
jwt_signer_jwk(const struct jwt_signer *s, char *buf, size_t cap)
{
	char x[B64URL_LEN(JWT_ED25519_LEN) + 1];
	json_t *o;
	size_t n;

	b64url_encode(s->pub, sizeof(s->pub), x);
	o = json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "x", x);
	if (o == NULL)
		return ERR_NOMEM;
	if (s->kid[0] != '\0')
		json_object_set_new(o, "kid", json_string(s->kid));
	json_object_set_new(o, "alg", json_string("EdDSA"));
	json_object_set_new(o, "use", json_string("sig"));
	n = json_dumpb(o, buf, cap, JSON_COMPACT);
	json_decref(o);
	if (n == 0 || n >= cap)
		return ERR_INVALID;
	buf[n] = '\0';
	return (ssize_t)n;
}
