/* JWT keys: the set of trusted verification keys, each pinned to one algorithm and imported into
 * GnuTLS once when added, and the Ed25519 signing key of an issuer (generate, PEM, JWK).
 * Functions return 0 or a negative enum err (lib/err.h). The structs are read-only outside
 * jwtkey.c; a key set is filled at setup time and then only read. */
#ifndef PROTO_JWTKEY_H
#define PROTO_JWTKEY_H

#include <gnutls/abstract.h>
#include <stddef.h>
#include <sys/types.h>

#define JWT_KID_MAX 128 /* key ids: printable ASCII, at most this many bytes */
#define JWT_ED25519_LEN 32 /* raw Ed25519 public key and private seed */
#define JWT_JWK_MAX 512 /* room for jwt_signer_jwk(), NUL included */
/* An issuer or audience a key is pinned to: 1 to this many visible ASCII characters (0x21 to
 * 0x7e). It is JWT_STR_MAX (jwt.h): a longer claim is refused whatever the key. */
#define JWT_PIN_MAX 255

/* The algorithms a key can be pinned to (RFC 7518 / RFC 8037 names in jwt_alg_name()). */
enum jwt_alg {
	JWT_ALG_EDDSA = 1, /* Ed25519 */
	JWT_ALG_ES256, /* ECDSA P-256 SHA-256, signature r||s */
	JWT_ALG_RS256, /* RSASSA-PKCS1-v1_5 SHA-256, modulus >= 2048 bits */
};

struct jwt_key {
	char kid[JWT_KID_MAX + 1]; /* "" for a key without one */
	enum jwt_alg alg;
	int kidless; /* may verify a token without kid (jwt_keyset_kidless()); 1 when added */
	/* "" or the "iss" a token verified by this key must carry, and the audience its "aud"
	 * must be or contain (jwt_keyset_pin()). */
	char iss[JWT_PIN_MAX + 1];
	char aud[JWT_PIN_MAX + 1];
	gnutls_pubkey_t pub;
	/* EdDSA: the raw RFC 8032 public key. Ed25519 signatures are checked with libsodium,
	 * 2.2x faster here than GnuTLS/nettle, and one check per tunnel is the gateway's largest
	 * cost after the TLS handshake itself (tests/bench: bench_jwt, bench_tunnels). */
	unsigned char ed25519[JWT_ED25519_LEN];
};

struct jwt_keyset {
	struct jwt_key *keys;
	size_t n, cap;
};

/* An Ed25519 issuer key and the kid it writes into token headers. */
struct jwt_signer {
	char kid[JWT_KID_MAX + 1];
	gnutls_privkey_t priv;
	unsigned char pub[JWT_ED25519_LEN];
};

/* Whether an RSA public key of bits bits is fit for RS256: at least 2048 bits and an odd public
 * exponent of at least 65537. 1 or 0. */
int jwt_rsa_key_ok(gnutls_pubkey_t pub, unsigned int bits);

/* "EdDSA", "ES256", "RS256"; "?" for anything else. */
const char *jwt_alg_name(enum jwt_alg alg);

/* The algorithm named exactly s (case-sensitive JWS "alg" value), or 0 if not supported. */
enum jwt_alg jwt_alg_parse(const char *s);

/* An empty key set, or NULL when out of memory. Free with jwt_keyset_free() (NULL is fine). */
struct jwt_keyset *jwt_keyset_new(void);
void jwt_keyset_free(struct jwt_keyset *ks);

/* Add the public key in PEM SubjectPublicKeyInfo form ("-----BEGIN PUBLIC KEY-----"), pem of len
 * bytes, under kid ("" or NULL: none). The key type pins the algorithm: Ed25519 -> EdDSA, EC
 * P-256 -> ES256, RSA of 2048 bits or more -> RS256. Errors: ERR_INVALID (not such a key, or kid
 * over JWT_KID_MAX or not printable ASCII), ERR_CONFLICT (kid non-empty and already in the set),
 * ERR_NOMEM. The set keeps nothing of pem. */
int jwt_keyset_add_pem(struct jwt_keyset *ks, const char *kid, const char *pem, size_t len);

/* Add the raw 32-byte Ed25519 public key (RFC 8032) under kid, as an EdDSA key. Errors as
 * jwt_keyset_add_pem(). */
int jwt_keyset_add_ed25519(
    struct jwt_keyset *ks, const char *kid, const unsigned char raw[JWT_ED25519_LEN]);

/* Add the public JWK in json (len bytes): {"kty":"OKP","crv":"Ed25519","x":…}, with "kid"
 * taken when present; "alg", when present, must be "EdDSA" and "use" "sig". Other key types are
 * ERR_INVALID; other errors as jwt_keyset_add_pem(). */
int jwt_keyset_add_jwk(struct jwt_keyset *ks, const char *json, size_t len);

/* Whether the key kid may verify tokens without a kid (on: 1, off: 0). Every key may when it
 * is added; a holder turns it off for keys whose tokens always name them (our own earlier
 * keys), so that a kid-less token is tried only against keys that may have signed it.
 * 0, or ERR_NOT_FOUND (no key with this non-empty kid). */
int jwt_keyset_kidless(struct jwt_keyset *ks, const char *kid, int on);

/* Whether s is a valid pin: 1 to JWT_PIN_MAX visible ASCII characters (0x21 to 0x7e). 1 or 0. */
int jwt_pin_valid(const char *s);

/* Pin the key kid to an issuer and an audience (NULL or "": that one not pinned): a token it
 * verifies must then carry exactly "iss":iss, and "aud":aud or an "aud" array holding aud
 * (jwt_verify(): JWT_ERR_ISS, JWT_ERR_AUD). Keys are added unpinned. 0, ERR_INVALID (a pin not
 * jwt_pin_valid()), ERR_NOT_FOUND (no key with this non-empty kid). */
int jwt_keyset_pin(struct jwt_keyset *ks, const char *kid, const char *iss, const char *aud);

/* The key with exactly this non-empty kid, or NULL. */
const struct jwt_key *jwt_keyset_find(const struct jwt_keyset *ks, const char *kid);

/* A new random Ed25519 signing key under kid ("" or NULL: tokens carry no kid) into *out.
 * ERR_INVALID (kid), ERR_NOMEM or ERR_INVALID when GnuTLS fails. Free with jwt_signer_free(). */
int jwt_signer_new(const char *kid, struct jwt_signer **out);

/* A signing key from an Ed25519 private key in PEM (PKCS#8 "PRIVATE KEY", as jwt_signer_pem()
 * writes), or from the raw 32-byte RFC 8032 seed. ERR_INVALID for anything else. */
int jwt_signer_from_pem(const char *kid, const char *pem, size_t len, struct jwt_signer **out);
int jwt_signer_from_raw(
    const char *kid, const unsigned char seed[JWT_ED25519_LEN], struct jwt_signer **out);

void jwt_signer_free(struct jwt_signer *s);

/* The private key as unencrypted PKCS#8 PEM into *pem (NUL-terminated, *len bytes without the
 * NUL). The caller frees it with free(), after wiping it: it is the secret key. 0 or ERR_NOMEM /
 * ERR_INVALID. */
int jwt_signer_pem(const struct jwt_signer *s, char **pem, size_t *len);

/* The public key as a JWK, {"kty":"OKP","crv":"Ed25519","x":…,"kid":…,"alg":"EdDSA","use":"sig"}
 * ("kid" only when the signer has one), NUL-terminated into buf (cap bytes, JWT_JWK_MAX is
 * enough). Returns its length, ERR_INVALID when it does not fit, or ERR_NOMEM. */
ssize_t jwt_signer_jwk(const struct jwt_signer *s, char *buf, size_t cap);

#endif
