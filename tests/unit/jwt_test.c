/* JWT verification and issuing (proto/jwt.h, proto/jwtkey.h): the RFC 8037 A.4 Ed25519 JWS as a
 * known answer, ES256 and RS256 tokens made with GnuTLS here, a sign -> verify round trip, and
 * every rejection. The clock is pinned (NOW). */
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/b64url.h"
#include "../../lib/err.h"
#include "../../proto/jwt.h"
#include "check.h"

#define NOW 1790000000
#define U "0b8e2f4a-6c1d-4e3b-9a7f-5d2c1b0a9e8f" /* the pssid of most tokens here */
#define BUF 4096

/* RFC 8037 A.1 (private key d), A.2 (public key x), A.4 (the JWS of "Example of Ed25519 signing"
 * with header {"alg":"EdDSA"}). */
static const char rfc_d[] = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
static const char rfc_x[] = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
static const char rfc_input[] = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
static const char rfc_sig[] =
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
/* A.2's key as SubjectPublicKeyInfo. */
static const char rfc_pem[] = "-----BEGIN PUBLIC KEY-----\n"
			      "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
			      "-----END PUBLIC KEY-----\n";

static struct jwt_signer *ed1; /* kid "ed1" in ks */
static struct jwt_signer *ed2; /* no kid; in ks without one (added from its JWK) */
static gnutls_privkey_t es1, rs1; /* kids "es1", "rs1" in ks */
static char rs1_pem[BUF];
static struct jwt_keyset *ks;

static void
fatal(const char *what)
{
	fprintf(stderr, "jwt_test: %s\n", what);
	exit(2);
}

static gnutls_privkey_t
privkey_generate(gnutls_pk_algorithm_t pk, unsigned bits)
{
	gnutls_privkey_t priv;

	if (gnutls_privkey_init(&priv) < 0 ||
	    gnutls_privkey_generate2(priv, pk, bits, 0, NULL, 0) < 0)
		fatal("key generation");
	return priv;
}

/* The public half of priv as PEM SubjectPublicKeyInfo into buf (BUF bytes). */
static const char *
pubkey_pem(gnutls_privkey_t priv, char *buf)
{
	gnutls_pubkey_t pub;
	gnutls_datum_t d;

	if (gnutls_pubkey_init(&pub) < 0 || gnutls_pubkey_import_privkey(pub, priv, 0, 0) < 0 ||
	    gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_PEM, &d) < 0 || d.size >= BUF)
		fatal("public key export");
	memcpy(buf, d.data, d.size);
	buf[d.size] = '\0';
	gnutls_free(d.data);
	gnutls_pubkey_deinit(pub);
	return buf;
}

/* The JWS signature of input by priv for alg, base64url into out. ES256 is turned from GnuTLS's
 * DER into r||s, each left-padded to 32 bytes. */
static void
sign_b64(gnutls_privkey_t priv, enum jwt_alg alg, const char *input, char *out)
{
	gnutls_datum_t in = {(unsigned char *)(uintptr_t)input, (unsigned)strlen(input)};
	gnutls_datum_t sig, r, s;
	unsigned char rs[64];
	unsigned ro = 0, so = 0;
	gnutls_sign_algorithm_t algo = GNUTLS_SIGN_RSA_SHA256;

	if (alg == JWT_ALG_EDDSA)
		algo = GNUTLS_SIGN_EDDSA_ED25519;
	else if (alg == JWT_ALG_ES256)
		algo = GNUTLS_SIGN_ECDSA_SHA256;
	if (gnutls_privkey_sign_data2(priv, algo, 0, &in, &sig) < 0)
		fatal("signing");
	if (alg != JWT_ALG_ES256) {
		b64url_encode(sig.data, sig.size, out);
		gnutls_free(sig.data);
		return;
	}
	if (gnutls_decode_rs_value(&sig, &r, &s) < 0)
		fatal("decode r, s");
	memset(rs, 0, sizeof(rs));
	/* GnuTLS gives INTEGER bytes: maybe a sign byte more, maybe leading zeros fewer. */
	while (r.size - ro > 32 && r.data[ro] == 0)
		ro++;
	while (s.size - so > 32 && s.data[so] == 0)
		so++;
	if (r.size - ro > 32 || s.size - so > 32)
		fatal("r or s over 32 bytes");
	memcpy(rs + 32 - (r.size - ro), r.data + ro, r.size - ro);
	memcpy(rs + 64 - (s.size - so), s.data + so, s.size - so);
	b64url_encode(rs, sizeof(rs), out);
	gnutls_free(sig.data);
	gnutls_free(r.data);
	gnutls_free(s.data);
}

/* A token of header and payload (JSON texts) into out (BUF bytes), signed by priv for alg, or
 * with the placeholder signature "c2ln" when priv is NULL. */
static const char *
token_make(char *out, const char *hdr, const char *payload, gnutls_privkey_t priv, enum jwt_alg alg)
{
	size_t hl = strlen(hdr), pl = strlen(payload), n;

	if (B64URL_LEN(hl) + B64URL_LEN(pl) + 2 + 700 > BUF)
		fatal("token too large for the test buffer");
	b64url_encode((const unsigned char *)hdr, hl, out);
	n = strlen(out);
	out[n++] = '.';
	b64url_encode((const unsigned char *)payload, pl, out + n);
	n = strlen(out);
	out[n++] = '.';
	if (priv == NULL) {
		strcpy(out + n, "c2ln");
		return out;
	}
	out[n - 1] = '\0';
	sign_b64(priv, alg, out, out + n);
	out[n - 1] = '.';
	return out;
}

static int
verify(const char *token, struct jwt_claims *c)
{
	return jwt_verify(ks, token, strlen(token), NOW, c);
}

/* The verification result of payload signed by ed1 under header {"alg":"EdDSA","kid":"ed1"}. */
static int
verify_claims(const char *payload, struct jwt_claims *c)
{
	char tok[BUF];

	token_make(tok, "{\"alg\":\"EdDSA\",\"kid\":\"ed1\"}", payload, ed1->priv, JWT_ALG_EDDSA);
	return verify(tok, c);
}

static void
setup(void)
{
	char buf[BUF], jwk[JWT_JWK_MAX];

	if (jwt_signer_new("ed1", &ed1) < 0 || jwt_signer_new(NULL, &ed2) < 0)
		fatal("jwt_signer_new");
	es1 = privkey_generate(GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1));
	rs1 = privkey_generate(GNUTLS_PK_RSA, 2048);
	pubkey_pem(rs1, rs1_pem);
	if ((ks = jwt_keyset_new()) == NULL)
		fatal("jwt_keyset_new");
	CHECK_EQ_INT(jwt_keyset_add_ed25519(ks, "ed1", ed1->pub), 0, "add ed1 (raw Ed25519)");
	CHECK(jwt_signer_jwk(ed2, jwk, sizeof(jwk)) > 0, "JWK of the kid-less key: %s", jwk);
	CHECK_EQ_INT(jwt_keyset_add_jwk(ks, jwk, strlen(jwk)), 0, "add the kid-less key (JWK)");
	pubkey_pem(es1, buf);
	CHECK_EQ_INT(jwt_keyset_add_pem(ks, "es1", buf, strlen(buf)), 0, "add es1 (PEM)");
	CHECK_EQ_INT(jwt_keyset_add_pem(ks, "rs1", rs1_pem, strlen(rs1_pem)), 0, "add rs1 (PEM)");
	CHECK(ks->n == 4 && ks->keys[1].kid[0] == '\0' && ks->keys[1].alg == JWT_ALG_EDDSA &&
		ks->keys[2].alg == JWT_ALG_ES256 && ks->keys[3].alg == JWT_ALG_RS256,
	    "the keys are pinned to EdDSA, EdDSA, ES256, RS256");
}

static void
test_rfc8037(void)
{
	unsigned char d[32], x[32], payload[JWT_TOKEN_MAX];
	char tok[BUF], sig[128];
	struct jwt_signer *s;
	struct jwt_keyset *rks, *pks;
	const struct jwt_key *key;
	struct jwt_claims c;
	gnutls_datum_t in = {(unsigned char *)(uintptr_t)rfc_input, sizeof(rfc_input) - 1}, out;
	ssize_t n;

	if (b64url_decode(rfc_d, strlen(rfc_d), d, 32) != 32 ||
	    b64url_decode(rfc_x, strlen(rfc_x), x, 32) != 32)
		fatal("RFC 8037 vectors");
	CHECK_EQ_INT(jwt_signer_from_raw("rfc", d, &s), 0, "signer from the RFC 8037 A.1 seed");
	CHECK(memcmp(s->pub, x, 32) == 0, "its public key is A.2's x");
	CHECK(gnutls_privkey_sign_data2(s->priv, GNUTLS_SIGN_EDDSA_ED25519, 0, &in, &out) == 0 &&
		out.size == 64,
	    "sign the A.4 signing input");
	b64url_encode(out.data, out.size, sig);
	gnutls_free(out.data);
	CHECK(strcmp(sig, rfc_sig) == 0, "the signature is A.4's");
	CHECK(jwt_signer_jwk(s, tok, sizeof(tok)) > 0 &&
		strcmp(tok,
		    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\",\"kid\":\"rfc\",\"alg\":\"EdDSA\",\"use\":\"sig\"}") ==
		    0,
	    "JWK of the A.1 key: %s", tok);
	jwt_signer_free(s);

	rks = jwt_keyset_new();
	pks = jwt_keyset_new();
	CHECK_EQ_INT(jwt_keyset_add_ed25519(rks, NULL, x), 0, "add A.2's key raw, without kid");
	CHECK_EQ_INT(jwt_keyset_add_pem(pks, "", rfc_pem, strlen(rfc_pem)), 0, "add it as PEM");
	snprintf(tok, sizeof(tok), "%s.%s", rfc_input, rfc_sig);
	n = jwt_verify_signature(rks, tok, strlen(tok), payload, sizeof(payload), &key);
	CHECK(n == 26 && memcmp(payload, "Example of Ed25519 signing", 26) == 0 &&
		key == &rks->keys[0],
	    "A.4's JWS verifies (raw key), payload \"Example of Ed25519 signing\"");
	n = jwt_verify_signature(pks, tok, strlen(tok), payload, sizeof(payload), NULL);
	CHECK_EQ_INT(n, 26, "A.4's JWS verifies (PEM key)");
	CHECK_EQ_INT(jwt_verify(rks, tok, strlen(tok), NOW, &c), JWT_ERR_MALFORMED,
	    "full verification: the payload is no claims set, not a signature error");
	CHECK_EQ_INT(jwt_verify_signature(rks, tok, strlen(tok), payload, 25, NULL),
	    JWT_ERR_TOO_LONG, "payload buffer one byte short");
	tok[strlen(tok) - 3] ^= 'A' ^ 'B'; /* "KAg" -> "KBg": a bit of the last signature byte */
	CHECK_EQ_INT(jwt_verify_signature(rks, tok, strlen(tok), payload, sizeof(payload), NULL),
	    JWT_ERR_SIGNATURE, "A.4's JWS with one signature bit flipped");
	CHECK_EQ_INT(jwt_verify_signature(ks, tok, strlen(tok), payload, sizeof(payload), NULL),
	    JWT_ERR_SIGNATURE, "A.4's JWS against other EdDSA keys");
	jwt_keyset_free(rks);
	jwt_keyset_free(pks);
}

static void
test_roundtrip(void)
{
	struct jwt_claims in, c;
	char tok[BUF], hdr[256], *p;
	ssize_t n;

	memset(&in, 0, sizeof(in));
	strcpy(in.pssid, "9b2c7e1a-3f4d-4c5b-8a6e-0d1f2e3c4b5a");
	in.exp = NOW + 600;
	in.iat = NOW - 5;
	in.nbf = NOW - 5;
	in.has = JWT_HAS_IAT | JWT_HAS_NBF;
	strcpy(in.jti, "tok_0123456789");
	strcpy(in.iss, "snaptun-manager");
	strcpy(in.aud, "snaptun");
	strcpy(in.sub, "laptop \"one\" \xc3\xa9");
	n = jwt_sign(ed1, &in, tok, sizeof(tok));
	CHECK(n > 0 && (size_t)n == strlen(tok), "jwt_sign: %zd bytes", n);
	p = strchr(tok, '.');
	CHECK(p != NULL && b64url_decode(tok, (size_t)(p - tok), (unsigned char *)hdr, 255) == 39,
	    "header decodes");
	hdr[39] = '\0';
	CHECK(strcmp(hdr, "{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"ed1\"}") == 0, "header %s",
	    hdr);
	CHECK_EQ_INT(verify(tok, &c), 0, "verify the issued token");
	CHECK(strcmp(c.pssid, in.pssid) == 0 && c.exp == in.exp && c.iat == in.iat &&
		c.nbf == in.nbf && c.has == in.has && strcmp(c.jti, in.jti) == 0 &&
		strcmp(c.iss, in.iss) == 0 && strcmp(c.aud, in.aud) == 0 &&
		strcmp(c.sub, in.sub) == 0 && strcmp(c.kid, "ed1") == 0,
	    "every claim comes back, kid ed1");

	memset(&in, 0, sizeof(in));
	strcpy(in.pssid, U);
	in.exp = NOW;
	n = jwt_sign(ed2, &in, tok, sizeof(tok));
	CHECK(n > 0, "kid-less signer, pssid and exp only");
	p = strchr(tok, '.');
	b64url_decode(tok, (size_t)(p - tok), (unsigned char *)hdr, 255);
	CHECK(strncmp(hdr, "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}", 27) == 0, "header without kid");
	CHECK_EQ_INT(verify(tok, &c), 0, "kid-less token: tried against every EdDSA key");
	CHECK(strcmp(c.pssid, U) == 0 && c.kid[0] == '\0' && c.has == 0 && c.jti[0] == '\0',
	    "verified by the key without kid; absent claims empty");

	CHECK_EQ_INT(
	    jwt_sign(ed2, &in, tok, (size_t)n), JWT_ERR_TOO_LONG, "output buffer too small");
	strcpy(in.pssid, "not a pssid");
	CHECK_EQ_INT(jwt_sign(ed1, &in, tok, sizeof(tok)), JWT_ERR_CLAIMS, "sign: invalid pssid");
	strcpy(in.pssid, "client-1");
	CHECK_EQ_INT(
	    jwt_sign(ed1, &in, tok, sizeof(tok)), JWT_ERR_CLAIMS, "sign: pssid not a UUID");
	strcpy(in.pssid, U);
	in.exp = INT64_MAX;
	CHECK_EQ_INT(jwt_sign(ed1, &in, tok, sizeof(tok)), JWT_ERR_CLAIMS, "sign: exp 2^63-1");
	in.exp = 0;
	CHECK_EQ_INT(jwt_sign(ed1, &in, tok, sizeof(tok)), JWT_ERR_CLAIMS, "sign: exp 0");
	in.exp = NOW;
	in.iat = -1;
	in.has = JWT_HAS_IAT;
	CHECK_EQ_INT(jwt_sign(ed1, &in, tok, sizeof(tok)), JWT_ERR_CLAIMS, "sign: iat -1");
	in.has = 0;
	strcpy(in.sub, "\xff");
	CHECK_EQ_INT(jwt_sign(ed1, &in, tok, sizeof(tok)), JWT_ERR_CLAIMS, "sign: sub not UTF-8");
}

static void
test_size(void)
{
	char payload[BUF], tok[BUF];
	struct jwt_claims c;
	int pad;
	ssize_t n = 0;

	/* Grow an unknown claim until the token is exactly as long as allowed (52 header and 88
	 * separator and signature characters leave 1908 for the payload: a multiple of 4). */
	for (pad = 1000; pad < 2000; pad++) {
		snprintf(payload, sizeof(payload),
		    "{\"pssid\":\"" U "\",\"exp\":%d,\"x\":\"%0*d\"}", NOW, pad, 0);
		n = jwt_sign_payload(ed1, payload, strlen(payload), tok, sizeof(tok));
		if (n < 0 || n == JWT_TOKEN_MAX)
			break;
	}
	CHECK_EQ_INT(n, JWT_TOKEN_MAX, "jwt_sign_payload makes a token of %d bytes", JWT_TOKEN_MAX);
	CHECK_EQ_INT(verify(tok, &c), 0, "which verifies");
	CHECK_EQ_INT(jwt_sign_payload(ed1, payload, strlen(payload), tok, JWT_TOKEN_MAX),
	    JWT_ERR_TOO_LONG, "but not into %d bytes (no room for the NUL)", JWT_TOKEN_MAX);
	snprintf(payload, sizeof(payload), "{\"pssid\":\"" U "\",\"exp\":%d,\"x\":\"%0*d\"}", NOW,
	    pad + 1, 0);
	CHECK_EQ_INT(jwt_sign_payload(ed1, payload, strlen(payload), tok, sizeof(tok)),
	    JWT_ERR_TOO_LONG, "one payload byte more: refused");
	snprintf(payload, sizeof(payload), "{\"pssid\":\"" U "\",\"exp\":%d,\"x\":\"%0*d\"}", NOW,
	    pad, 0);
	jwt_sign_payload(ed1, payload, strlen(payload), tok, sizeof(tok));
	strcat(tok, "A");
	CHECK_EQ_INT(verify(tok, &c), JWT_ERR_TOO_LONG, "%d bytes", JWT_TOKEN_MAX + 1);
	memset(tok, '.', 3000);
	CHECK_EQ_INT(jwt_verify(ks, tok, 3000, NOW, &c), JWT_ERR_TOO_LONG, "3000 dots");
}

static void
test_syntax(void)
{
	static const char *const malformed[] = {
	    "", ".", "..", "eyJhbGciOiJFZERTQSJ9", "eyJhbGciOiJFZERTQSJ9.e30",
	    "eyJhbGciOiJFZERTQSJ9.e30.", ".e30.c2ln", "eyJhbGciOiJFZERTQSJ9.e30.c2ln.c2ln",
	    "eyJhbGciOiJFZERTQSJ9.e30.c2ln.", "eyJhbGciOiJFZERTQSJ9=.e30.c2ln", /* padding */
	    "eyJhbGciOiJFZERTQSJ9.e30=.c2ln", "eyJhbGciOiJFZERTQSJ9.e30.c2ln==",
	    "eyJhbGciOiJFZERTQSJ9.e3+.c2ln", /* standard alphabet */
	    "eyJhbGciOiJFZERTQSJ9.e30.c2l/", "eyJhbGciOiJFZERTQSJ9.e30.c2l", /* trailing bits */
	    "eyJhbGciOiJFZERTQSJ9 .e30.c2ln", "W10.e30.c2ln", /* header [] */
	    "eyJhbGciOiJFZERTQSJ9eA.e30.c2ln", /* header followed by "x" */
	    "e30.e30.c2ln", /* header {} */
	};
	char tok[BUF];
	struct jwt_claims c;

	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
		CHECK_EQ_INT(
		    verify(malformed[i], &c), JWT_ERR_MALFORMED, "malformed \"%s\"", malformed[i]);
	CHECK_EQ_INT(
	    verify(token_make(tok, "{\"alg\":\"EdDSA\",\"alg\":\"EdDSA\"}", "{}", NULL, 0), &c),
	    JWT_ERR_MALFORMED, "duplicate header member");
	CHECK_EQ_INT(verify(token_make(tok, "{\"alg\":1}", "{}", NULL, 0), &c), JWT_ERR_MALFORMED,
	    "alg not a string");
	CHECK_EQ_INT(verify(token_make(tok, "{\"alg\":\"EdDSA\",\"kid\":7}", "{}", NULL, 0), &c),
	    JWT_ERR_MALFORMED, "kid not a string");
	CHECK_EQ_INT(
	    verify(token_make(tok, "{\"alg\":\"EdDSA\",\"kid\":\"ed1\",\"crit\":[\"b64\"]}", "{}",
		       ed1->priv, JWT_ALG_EDDSA),
		&c),
	    JWT_ERR_MALFORMED, "crit header");
}

static void
test_alg(void)
{
	char tok[BUF], sig[128], *p;
	unsigned char mac[32];
	struct jwt_claims c;
	char claims[128];

	snprintf(claims, sizeof(claims), "{\"pssid\":\"" U "\",\"exp\":%d}", NOW);
	CHECK_EQ_INT(verify(token_make(tok, "{\"alg\":\"none\"}", claims, NULL, 0), &c),
	    JWT_ERR_ALG, "alg none");
	CHECK_EQ_INT(
	    verify(token_make(tok, "{\"alg\":\"none\",\"kid\":\"ed1\"}", claims, NULL, 0), &c),
	    JWT_ERR_ALG, "alg none naming a key");
	/* The classic confusion: HMAC keyed with the RSA public key's PEM. */
	token_make(tok, "{\"alg\":\"HS256\",\"kid\":\"rs1\"}", claims, NULL, 0);
	p = strrchr(tok, '.') + 1;
	*p = '\0';
	gnutls_hmac_fast(GNUTLS_MAC_SHA256, rs1_pem, strlen(rs1_pem), tok, strlen(tok) - 1, mac);
	b64url_encode(mac, sizeof(mac), sig);
	strcpy(p, sig);
	CHECK_EQ_INT(verify(tok, &c), JWT_ERR_ALG, "HS256 keyed with the RS256 key's PEM");
	CHECK_EQ_INT(verify(token_make(tok, "{\"alg\":\"HS256\"}", claims, NULL, 0), &c),
	    JWT_ERR_ALG, "HS256 without kid");
	CHECK_EQ_INT(
	    verify(token_make(tok, "{\"alg\":\"PS256\",\"kid\":\"rs1\"}", claims, NULL, 0), &c),
	    JWT_ERR_ALG, "PS256: unsupported");
	CHECK_EQ_INT(verify(token_make(tok, "{\"alg\":\"eddsa\"}", claims, NULL, 0), &c),
	    JWT_ERR_ALG, "alg names are case-sensitive");
	CHECK_EQ_INT(verify(token_make(tok, "{\"alg\":\"ES256\",\"kid\":\"ed1\"}", claims, es1,
				JWT_ALG_ES256),
			 &c),
	    JWT_ERR_ALG, "ES256 token naming the EdDSA key ed1");
	CHECK_EQ_INT(verify(token_make(tok, "{\"alg\":\"EdDSA\",\"kid\":\"es1\"}", claims,
				ed1->priv, JWT_ALG_EDDSA),
			 &c),
	    JWT_ERR_ALG, "EdDSA token naming the ES256 key es1");
	CHECK_EQ_INT(verify(token_make(tok, "{\"alg\":\"RS256\",\"kid\":\"es1\"}", claims, rs1,
				JWT_ALG_RS256),
			 &c),
	    JWT_ERR_ALG, "RS256 token naming the ES256 key es1");
}

static void
test_keys(void)
{
	char tok[BUF], claims[128], kid[200], hdr[256];
	struct jwt_claims c;
	struct jwt_keyset *eks;
	struct jwt_signer *other;
	int ok = 1;

	snprintf(claims, sizeof(claims), "{\"pssid\":\"" U "\",\"exp\":%d}", NOW);
	CHECK_EQ_INT(verify(token_make(tok, "{\"alg\":\"EdDSA\",\"kid\":\"nope\"}", claims,
				ed1->priv, JWT_ALG_EDDSA),
			 &c),
	    JWT_ERR_UNKNOWN_KEY, "unknown kid");
	CHECK_EQ_INT(
	    verify(token_make(tok, "{\"alg\":\"EdDSA\",\"kid\":\"nope\"}", claims, NULL, 0), &c),
	    JWT_ERR_UNKNOWN_KEY, "unknown kid, signature of 3 bytes: the key is judged first");
	memset(kid, 'k', 150);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"EdDSA\",\"kid\":\"%.150s\"}", kid);
	CHECK_EQ_INT(verify(token_make(tok, hdr, claims, ed1->priv, JWT_ALG_EDDSA), &c),
	    JWT_ERR_UNKNOWN_KEY, "kid over %d bytes", JWT_KID_MAX);
	CHECK_EQ_INT(
	    verify(token_make(tok, "{\"alg\":\"EdDSA\"}", claims, ed1->priv, JWT_ALG_EDDSA), &c), 0,
	    "kid-less token signed by ed1: found by trying");
	CHECK(strcmp(c.kid, "ed1") == 0, "reports the key that verified: ed1");
	CHECK_EQ_INT(verify(token_make(tok, "{\"alg\":\"EdDSA\",\"kid\":\"\"}", claims, ed1->priv,
				JWT_ALG_EDDSA),
			 &c),
	    0, "kid \"\" counts as none");
	CHECK_EQ_INT(verify(token_make(tok, "{\"alg\":\"ES256\"}", claims, es1, JWT_ALG_ES256), &c),
	    0, "kid-less ES256 token");
	CHECK_EQ_INT(verify(token_make(tok, "{\"alg\":\"RS256\"}", claims, rs1, JWT_ALG_RS256), &c),
	    0, "kid-less RS256 token");
	if (jwt_signer_new("ed1", &other) < 0)
		fatal("jwt_signer_new");
	CHECK_EQ_INT(
	    verify(token_make(tok, "{\"alg\":\"EdDSA\"}", claims, other->priv, JWT_ALG_EDDSA), &c),
	    JWT_ERR_SIGNATURE, "kid-less token of an untrusted key");
	CHECK_EQ_INT(verify(token_make(tok, "{\"alg\":\"EdDSA\",\"kid\":\"ed1\"}", claims,
				other->priv, JWT_ALG_EDDSA),
			 &c),
	    JWT_ERR_SIGNATURE, "an untrusted key claiming kid ed1");
	eks = jwt_keyset_new();
	jwt_keyset_add_ed25519(eks, "ed1", ed1->pub);
	CHECK_EQ_INT(jwt_verify(eks, tok, strlen(tok), NOW, &c), JWT_ERR_SIGNATURE,
	    "(and in a set of one EdDSA key)");
	token_make(tok, "{\"alg\":\"ES256\"}", claims, es1, JWT_ALG_ES256);
	CHECK_EQ_INT(jwt_verify(eks, tok, strlen(tok), NOW, &c), JWT_ERR_ALG,
	    "kid-less ES256 token, no ES256 key in the set");
	jwt_signer_free(other);

	/* ES256 r and s have a leading zero byte 1 time in 128: sign often enough to meet one. */
	for (int i = 0; i < 300; i++) {
		snprintf(claims, sizeof(claims), "{\"pssid\":\"" U "\",\"exp\":%d,\"jti\":\"%d\"}",
		    NOW, i);
		token_make(tok, "{\"alg\":\"ES256\",\"kid\":\"es1\",\"typ\":\"JWT\"}", claims, es1,
		    JWT_ALG_ES256);
		if (verify(tok, &c) != 0 || strcmp(c.kid, "es1") != 0)
			ok = 0;
	}
	CHECK(ok, "300 ES256 tokens (r||s) verify with es1");
	token_make(
	    tok, "{\"alg\":\"RS256\",\"kid\":\"rs1\",\"typ\":\"JWT\"}", claims, rs1, JWT_ALG_RS256);
	CHECK(verify(tok, &c) == 0 && strcmp(c.kid, "rs1") == 0 && strcmp(c.jti, "299") == 0,
	    "RS256 token verifies with rs1");
	jwt_keyset_free(eks);
}

/* Flip bit (bit) of the decoded part (0 header, 1 payload, 2 signature) of tok in place. */
static void
flip(char *tok, int part, int bit)
{
	char *start = tok, *end, out[BUF];
	unsigned char raw[BUF];
	ssize_t n;

	for (int i = 0; i < part; i++)
		start = strchr(start, '.') + 1;
	end = strchr(start, '.');
	if (end == NULL)
		end = start + strlen(start);
	n = b64url_decode(start, (size_t)(end - start), raw, sizeof(raw));
	if (n <= bit / 8)
		fatal("flip");
	raw[bit / 8] ^= (unsigned char)(1 << bit % 8);
	b64url_encode(raw, (size_t)n, out);
	memcpy(start, out, strlen(out));
}

static void
test_signature(void)
{
	char tok[BUF], good[BUF], claims[128];
	struct jwt_claims c;
	static const int bits[] = {0, 7, 100, 255, 256, 511};

	snprintf(claims, sizeof(claims), "{\"pssid\":\"" U "\",\"exp\":%d}", NOW);
	token_make(good, "{\"alg\":\"EdDSA\",\"kid\":\"ed1\"}", claims, ed1->priv, JWT_ALG_EDDSA);
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		strcpy(tok, good);
		flip(tok, 2, bits[i]);
		CHECK_EQ_INT(
		    verify(tok, &c), JWT_ERR_SIGNATURE, "EdDSA signature bit %d flipped", bits[i]);
	}
	strcpy(tok, good);
	flip(tok, 1, 3);
	CHECK_EQ_INT(verify(tok, &c), JWT_ERR_SIGNATURE, "payload bit flipped");
	strcpy(tok, good);
	strcpy(strrchr(tok, '.') + 1, "c2ln");
	CHECK_EQ_INT(verify(tok, &c), JWT_ERR_SIGNATURE, "EdDSA signature of 3 bytes");
	token_make(tok, "{\"alg\":\"ES256\",\"kid\":\"es1\"}", claims, es1, JWT_ALG_ES256);
	flip(tok, 2, 300);
	CHECK_EQ_INT(verify(tok, &c), JWT_ERR_SIGNATURE, "ES256 signature bit flipped");
	token_make(tok, "{\"alg\":\"RS256\",\"kid\":\"rs1\"}", claims, rs1, JWT_ALG_RS256);
	flip(tok, 2, 1000);
	CHECK_EQ_INT(verify(tok, &c), JWT_ERR_SIGNATURE, "RS256 signature bit flipped");
	strcpy(strrchr(tok, '.') + 1, "c2ln");
	CHECK_EQ_INT(verify(tok, &c), JWT_ERR_SIGNATURE, "RS256 signature of 3 bytes");
}

static void
test_claims(void)
{
	static const struct {
		const char *claims;
		int want;
		const char *what;
	} v[] = {
	    {"{\"pssid\":\"" U "\",\"exp\":1790000000}", 0, "now = exp"},
	    {"{\"pssid\":\"" U "\",\"exp\":1789999999}", JWT_ERR_EXPIRED, "now = exp + 1"},
	    {"{\"pssid\":\"" U "\",\"exp\":-1}", JWT_ERR_CLAIMS, "exp -1: not a positive integer"},
	    {"{\"pssid\":\"" U "\",\"exp\":0}", JWT_ERR_CLAIMS, "exp 0: not a positive integer"},
	    {"{\"pssid\":\"" U "\",\"exp\":9223372036854775807}", JWT_ERR_CLAIMS,
		"exp 2^63-1: after year 9999"},
	    {"{\"pssid\":\"" U "\",\"exp\":253402300800}", JWT_ERR_CLAIMS, "exp in year 10000"},
	    {"{\"pssid\":\"" U "\",\"exp\":1792592000}", 0,
		"exp = now + JWT_LIFETIME_MAX (30 days)"},
	    {"{\"pssid\":\"" U "\",\"exp\":1792592001}", JWT_ERR_LIFETIME,
		"exp = now + JWT_LIFETIME_MAX + 1"},
	    {"{\"pssid\":\"" U "\",\"exp\":253402300799}", JWT_ERR_LIFETIME,
		"exp at the end of 9999: in range, over the lifetime"},
	    {"{\"pssid\":\"" U "\",\"exp\":1790000000,\"nbf\":-1}", JWT_ERR_CLAIMS, "nbf -1"},
	    {"{\"pssid\":\"" U "\",\"exp\":1790000000,\"nbf\":9223372036854775807}", JWT_ERR_CLAIMS,
		"nbf 2^63-1"},
	    {"{\"pssid\":\"" U "\",\"exp\":1790000000,\"nbf\":0}", 0, "nbf 0"},
	    {"{\"pssid\":\"" U "\",\"exp\":1790000000,\"iat\":-1}", JWT_ERR_CLAIMS, "iat -1"},
	    {"{\"pssid\":\"" U "\",\"exp\":1790000000,\"iat\":-9223372036854775807}",
		JWT_ERR_CLAIMS, "iat -2^63+1"},
	    {"{\"pssid\":\"" U "\",\"exp\":1790000000,\"iat\":253402300800}", JWT_ERR_CLAIMS,
		"iat in year 10000"},
	    {"{\"pssid\":\"" U "\",\"exp\":1790000000,\"iat\":1790000060}", 0,
		"iat = now + JWT_IAT_SKEW"},
	    {"{\"pssid\":\"" U "\",\"exp\":1790000000,\"iat\":1790000061}", JWT_ERR_NOT_YET_VALID,
		"iat = now + JWT_IAT_SKEW + 1: issued in the future"},
	    {"{\"pssid\":\"" U "\",\"exp\":1790000000,\"nbf\":1790000000}", 0, "nbf = now"},
	    {"{\"pssid\":\"" U "\",\"exp\":1790000100,\"nbf\":1790000001}", JWT_ERR_NOT_YET_VALID,
		"nbf = now + 1"},
	    {"{\"pssid\":\"" U "\",\"exp\":1789999999,\"nbf\":1790000001}", JWT_ERR_EXPIRED,
		"expired and not yet valid: expired"},
	    {"{\"pssid\":\"" U "\",\"exp\":1790000000,\"nbf\":\"0\"}", JWT_ERR_CLAIMS,
		"nbf a string"},
	    {"{\"exp\":1790000000}", JWT_ERR_CLAIMS, "missing pssid"},
	    {"{\"pssid\":\"\",\"exp\":1790000000}", JWT_ERR_CLAIMS, "empty pssid"},
	    {"{\"pssid\":\"a b\",\"exp\":1790000000}", JWT_ERR_CLAIMS, "pssid with a space"},
	    {"{\"pssid\":\"a/b\",\"exp\":1790000000}", JWT_ERR_CLAIMS, "pssid with a slash"},
	    {"{\"pssid\":\"\\u00e9\",\"exp\":1790000000}", JWT_ERR_CLAIMS, "pssid not ASCII"},
	    {"{\"pssid\":\"a\\u0000b\",\"exp\":1790000000}", JWT_ERR_MALFORMED, "pssid with NUL"},
	    {"{\"pssid\":42,\"exp\":1790000000}", JWT_ERR_CLAIMS, "pssid a number"},
	    {"{\"pssid\":\"0123456789012345678901234567890123456789012345678901234567890123\","
	     "\"exp\":1790000000}",
		JWT_ERR_CLAIMS, "pssid of 64 characters, not a UUID"},
	    {"{\"pssid\":\"p\",\"exp\":1790000000}", JWT_ERR_CLAIMS, "pssid p: not a UUID"},
	    {"{\"pssid\":\"outside-issuer:client-9\",\"exp\":1790000000}", JWT_ERR_CLAIMS,
		"pssid outside-issuer:client-9: not a UUID"},
	    {"{\"pssid\":\"0B8E2F4A-6C1D-4E3B-9A7F-5D2C1B0A9E8F\",\"exp\":1790000000}",
		JWT_ERR_CLAIMS, "pssid an upper-case UUID: not the canonical form"},
	    {"{\"pssid\":\"0b8e2f4a6c1d4e3b9a7f5d2c1b0a9e8f\",\"exp\":1790000000}", JWT_ERR_CLAIMS,
		"pssid a UUID without hyphens"},
	    {"{\"pssid\":\"{0b8e2f4a-6c1d-4e3b-9a7f-5d2c1b0a9e8f}\",\"exp\":1790000000}",
		JWT_ERR_CLAIMS, "pssid a UUID in braces"},
	    {"{\"pssid\":\"0b8e2f4a-6c1d-4e3b-9a7f-5d2c1b0a9e8\",\"exp\":1790000000}",
		JWT_ERR_CLAIMS, "pssid a UUID one digit short"},
	    {"{\"pssid\":\"0b8e2f4a-6c1d-4e3b-9a7f-5d2c1b0a9e8f0\",\"exp\":1790000000}",
		JWT_ERR_CLAIMS, "pssid a UUID one digit long"},
	    {"{\"pssid\":\"0b8e2f4a-6c1d-4e3b-9a7f_5d2c1b0a9e8f\",\"exp\":1790000000}",
		JWT_ERR_CLAIMS, "pssid a UUID with _ for a hyphen"},
	    {"{\"pssid\":\"0b8e2f4g-6c1d-4e3b-9a7f-5d2c1b0a9e8f\",\"exp\":1790000000}",
		JWT_ERR_CLAIMS, "pssid a UUID with a g"},
	    {"{\"pssid\":\"00000000-0000-0000-0000-000000000000\",\"exp\":1790000000}", 0,
		"pssid the nil UUID (any version and variant)"},
	    {"{\"pssid\":\"01234567890123456789012345678901234567890123456789012345678901234\","
	     "\"exp\":1790000000}",
		JWT_ERR_CLAIMS, "pssid of 65 characters"},
	    {"{\"pssid\":\"" U "\"}", JWT_ERR_CLAIMS, "missing exp"},
	    {"{\"pssid\":\"" U "\",\"exp\":\"1790000000\"}", JWT_ERR_CLAIMS, "exp a string"},
	    {"{\"pssid\":\"" U "\",\"exp\":1790000000.0}", JWT_ERR_CLAIMS, "exp a real"},
	    {"{\"pssid\":\"" U "\",\"exp\":1.79e9}", JWT_ERR_CLAIMS, "exp in exponent form"},
	    {"{\"pssid\":\"" U "\",\"exp\":null}", JWT_ERR_CLAIMS, "exp null"},
	    {"{\"pssid\":\"" U "\",\"exp\":99999999999999999999}", JWT_ERR_MALFORMED,
		"exp over int64"},
	    {"{\"pssid\":\"" U "\",\"exp\":1790000000,\"iat\":1.5}", JWT_ERR_CLAIMS, "iat a real"},
	    {"{\"pssid\":\"" U "\",\"exp\":1790000000,\"jti\":5}", JWT_ERR_CLAIMS, "jti a number"},
	    {"{\"pssid\":\"" U "\",\"exp\":1790000000,\"sub\":null}", JWT_ERR_CLAIMS, "sub null"},
	    {"{\"pssid\":\"" U "\",\"exp\":1790000000,\"aud\":{}}", JWT_ERR_CLAIMS,
		"aud an object"},
	    {"{\"pssid\":\"" U "\",\"exp\":1790000000,\"aud\":[\"a\",1]}", JWT_ERR_CLAIMS,
		"aud array with a number"},
	    {"{\"pssid\":\"" U "\",\"exp\":1790000000,\"aud\":[\"a\",\"b\"]}", 0, "aud array"},
	    {"{\"pssid\":\"" U "\",\"exp\":1790000000,\"x\":[{\"y\":null}],\"pssid2\":1}", 0,
		"unknown claims ignored"},
	    {"{\"pssid\":\"" U "\",\"exp\":1790000000,\"pssid\":\"q\"}", JWT_ERR_MALFORMED,
		"duplicate pssid"},
	    {"[\"pssid\",\"p\"]", JWT_ERR_MALFORMED, "claims an array"},
	    {"\"pssid\"", JWT_ERR_MALFORMED, "claims a string"},
	    {"{\"pssid\":\"" U "\",\"exp\":1790000000}x", JWT_ERR_MALFORMED, "trailing garbage"},
	    {"", JWT_ERR_MALFORMED, "empty payload"},
	};
	struct jwt_claims c;
	char claims[600];
	int rv;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		rv = verify_claims(v[i].claims, &c);
		CHECK_EQ_INT(rv, v[i].want, "%s: %s", v[i].what, jwt_err_str(v[i].want));
		if (rv < 0)
			CHECK(c.pssid[0] == '\0' && c.exp == 0, "  nothing returned");
	}
	verify_claims("{\"pssid\":\"" U "\",\"exp\":1790000000,\"aud\":[\"a\",\"b\"]}", &c);
	CHECK(c.aud[0] == '\0' && c.has == JWT_HAS_AUD_LIST, "aud array: flagged, not returned");
	snprintf(claims, sizeof(claims), "{\"pssid\":\"" U "\",\"exp\":%d,\"jti\":\"%0*d\"}", NOW,
	    JWT_STR_MAX, 0);
	CHECK_EQ_INT(verify_claims(claims, &c), 0, "jti of %d bytes", JWT_STR_MAX);
	CHECK_EQ_INT(strlen(c.jti), JWT_STR_MAX, "  returned whole");
	snprintf(claims, sizeof(claims), "{\"pssid\":\"" U "\",\"exp\":%d,\"iss\":\"%0*d\"}", NOW,
	    JWT_STR_MAX + 1, 0);
	CHECK_EQ_INT(verify_claims(claims, &c), JWT_ERR_CLAIMS, "iss of %d bytes", JWT_STR_MAX + 1);
}

/* A token without kid is tried against JWT_KIDLESS_TRIES keys at most: the newest that may
 * verify such tokens. */
static void
test_kidless(void)
{
	struct jwt_keyset *eks = jwt_keyset_new();
	struct jwt_signer *s[6];
	struct jwt_claims c;
	char kid[8], claims[128], tok[BUF];

	snprintf(claims, sizeof(claims), "{\"pssid\":\"" U "\",\"exp\":%d}", NOW);
	for (int i = 0; i < 6; i++) {
		snprintf(kid, sizeof(kid), "k%d", i);
		if (jwt_signer_new(kid, &s[i]) < 0 ||
		    jwt_keyset_add_ed25519(eks, kid, s[i]->pub) < 0)
			fatal("jwt_signer_new");
	}
	token_make(tok, "{\"alg\":\"EdDSA\"}", claims, s[2]->priv, JWT_ALG_EDDSA);
	CHECK_EQ_INT(jwt_verify(eks, tok, strlen(tok), NOW, &c), 0,
	    "6 EdDSA keys: a kid-less token of k2, the %dth newest, verifies", JWT_KIDLESS_TRIES);
	token_make(tok, "{\"alg\":\"EdDSA\"}", claims, s[1]->priv, JWT_ALG_EDDSA);
	CHECK_EQ_INT(jwt_verify(eks, tok, strlen(tok), NOW, &c), JWT_ERR_SIGNATURE,
	    "one of k1, the 5th newest, is not tried: at most %d keys per token",
	    JWT_KIDLESS_TRIES);
	CHECK_EQ_INT(jwt_keyset_kidless(eks, "k5", 0), 0, "k5 may not verify tokens without kid");
	CHECK_EQ_INT(jwt_verify(eks, tok, strlen(tok), NOW, &c), 0,
	    "  then k1 is among the %d tried, and verifies", JWT_KIDLESS_TRIES);
	token_make(tok, "{\"alg\":\"EdDSA\"}", claims, s[5]->priv, JWT_ALG_EDDSA);
	CHECK_EQ_INT(jwt_verify(eks, tok, strlen(tok), NOW, &c), JWT_ERR_SIGNATURE,
	    "  and a kid-less token of k5 is refused");
	token_make(tok, "{\"alg\":\"EdDSA\",\"kid\":\"k5\"}", claims, s[5]->priv, JWT_ALG_EDDSA);
	CHECK_EQ_INT(jwt_verify(eks, tok, strlen(tok), NOW, &c), 0, "  one that names k5 is not");
	for (int i = 0; i < 6; i++) {
		snprintf(kid, sizeof(kid), "k%d", i);
		jwt_keyset_kidless(eks, kid, 0);
	}
	token_make(tok, "{\"alg\":\"EdDSA\"}", claims, s[1]->priv, JWT_ALG_EDDSA);
	CHECK_EQ_INT(jwt_verify(eks, tok, strlen(tok), NOW, &c), JWT_ERR_UNKNOWN_KEY,
	    "no key may verify tokens without kid: unknown key");
	CHECK_EQ_INT(jwt_keyset_kidless(eks, "k9", 0), ERR_NOT_FOUND, "kidless: unknown kid");
	CHECK_EQ_INT(jwt_keyset_kidless(eks, "", 0), ERR_NOT_FOUND, "kidless: empty kid");
	for (int i = 0; i < 6; i++)
		jwt_signer_free(s[i]);
	jwt_keyset_free(eks);
}

/* A key pinned to an issuer and an audience verifies only tokens that carry them. */
static void
test_pins(void)
{
	static const struct {
		const char *extra; /* claims after pssid and exp */
		int want;
		const char *what;
	} v[] = {
	    {",\"iss\":\"https://idp\",\"aud\":\"snap\"", 0, "iss and aud as pinned"},
	    {",\"iss\":\"https://idp\",\"aud\":[\"x\",\"snap\"]", 0, "aud array holding the pin"},
	    {",\"iss\":\"https://other\",\"aud\":\"snap\"", JWT_ERR_ISS, "another iss"},
	    {",\"iss\":\"https://idp/\",\"aud\":\"snap\"", JWT_ERR_ISS, "iss with one more byte"},
	    {",\"aud\":\"snap\"", JWT_ERR_ISS, "no iss"},
	    {",\"iss\":\"https://idp\"", JWT_ERR_AUD, "no aud"},
	    {",\"iss\":\"https://idp\",\"aud\":\"snapx\"", JWT_ERR_AUD, "another aud"},
	    {",\"iss\":\"https://idp\",\"aud\":[\"x\",\"y\"]", JWT_ERR_AUD,
		"aud array without the pin"},
	    {",\"iss\":\"https://idp\",\"aud\":[]", JWT_ERR_AUD, "empty aud array"},
	};
	struct jwt_keyset *eks = jwt_keyset_new();
	struct jwt_signer *s;
	struct jwt_claims c;
	char claims[256], tok[BUF], big[JWT_PIN_MAX + 2];
	int rv;

	if (eks == NULL || jwt_signer_new("p", &s) < 0 ||
	    jwt_keyset_add_ed25519(eks, "p", s->pub) < 0)
		fatal("jwt_signer_new");
	snprintf(claims, sizeof(claims), "{\"pssid\":\"" U "\",\"exp\":%d,\"iss\":\"a\"}", NOW);
	token_make(tok, "{\"alg\":\"EdDSA\"}", claims, s->priv, JWT_ALG_EDDSA);
	CHECK_EQ_INT(jwt_verify(eks, tok, strlen(tok), NOW, &c), 0, "unpinned key: any iss");
	CHECK_EQ_INT(jwt_keyset_pin(eks, "p", "https://idp", "snap"), 0, "pin iss and aud");
	CHECK_EQ_INT(
	    jwt_verify(eks, tok, strlen(tok), NOW, &c), JWT_ERR_ISS, "  then iss a is refused");
	CHECK(c.pssid[0] == '\0', "  nothing returned");
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(
		    claims, sizeof(claims), "{\"pssid\":\"" U "\",\"exp\":%d%s}", NOW, v[i].extra);
		token_make(tok, "{\"alg\":\"EdDSA\"}", claims, s->priv, JWT_ALG_EDDSA);
		rv = jwt_verify(eks, tok, strlen(tok), NOW, &c);
		CHECK_EQ_INT(rv, v[i].want, "pinned: %s", v[i].what);
	}
	CHECK(strcmp(jwt_err_str(JWT_ERR_ISS), jwt_err_str(JWT_ERR_AUD)) != 0 &&
		strcmp(jwt_err_str(JWT_ERR_ISS), "unknown error") != 0,
	    "iss and aud errors have texts of their own");
	/* Only iss pinned: aud is free. */
	CHECK_EQ_INT(jwt_keyset_pin(eks, "p", "https://idp", NULL), 0, "pin iss only");
	snprintf(claims, sizeof(claims), "{\"pssid\":\"" U "\",\"exp\":%d,\"iss\":\"https://idp\"}",
	    NOW);
	token_make(tok, "{\"alg\":\"EdDSA\",\"kid\":\"p\"}", claims, s->priv, JWT_ALG_EDDSA);
	CHECK_EQ_INT(
	    jwt_verify(eks, tok, strlen(tok), NOW, &c), 0, "  a token without aud verifies");
	CHECK_EQ_INT(jwt_keyset_pin(eks, "p", "", ""), 0, "unpin");
	CHECK_EQ_INT(jwt_keyset_pin(eks, "q", "i", NULL), ERR_NOT_FOUND, "pin: unknown kid");
	CHECK_EQ_INT(jwt_keyset_pin(eks, "p", "a b", NULL), ERR_INVALID, "pin: space refused");
	CHECK_EQ_INT(jwt_keyset_pin(eks, "p", NULL, "\x7f"), ERR_INVALID, "pin: DEL refused");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_EQ_INT(jwt_keyset_pin(eks, "p", big, NULL), ERR_INVALID, "pin of %d bytes refused",
	    JWT_PIN_MAX + 1);
	big[JWT_PIN_MAX] = '\0';
	CHECK_EQ_INT(jwt_keyset_pin(eks, "p", big, NULL), 0, "pin of %d bytes", JWT_PIN_MAX);
	CHECK(jwt_pin_valid("https://idp.example/") && !jwt_pin_valid("") && !jwt_pin_valid(NULL),
	    "jwt_pin_valid");
	jwt_signer_free(s);
	jwt_keyset_free(eks);
}

static void
test_keyfiles(void)
{
	struct jwt_keyset *eks = jwt_keyset_new();
	struct jwt_signer *s = NULL;
	gnutls_privkey_t p384, rsa1k;
	char buf[BUF], jwk[JWT_JWK_MAX], tok[BUF];
	char *pem = NULL;
	size_t len = 0;
	struct jwt_claims c;

	CHECK_EQ_INT(jwt_signer_pem(ed1, &pem, &len), 0, "export ed1 as PEM");
	CHECK(pem != NULL && strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0 &&
		strlen(pem) == len,
	    "PKCS#8 PEM");
	CHECK_EQ_INT(jwt_signer_from_pem("ed1", pem, len, &s), 0, "import it");
	CHECK(s != NULL && memcmp(s->pub, ed1->pub, 32) == 0, "same public key");
	memset(&c, 0, sizeof(c));
	strcpy(c.pssid, U);
	c.exp = NOW;
	jwt_sign(s, &c, tok, sizeof(tok));
	CHECK_EQ_INT(verify(tok, &c), 0, "its token verifies with ed1");
	jwt_signer_free(s);
	free(pem);
	CHECK_EQ_INT(jwt_signer_from_pem("x", "junk", 4, &s), ERR_INVALID, "private PEM junk");
	CHECK(s == NULL, "  no signer");
	CHECK_EQ_INT(jwt_signer_from_pem("x", rfc_pem, strlen(rfc_pem), &s), ERR_INVALID,
	    "a public key as private PEM");

	CHECK_EQ_INT(jwt_keyset_add_pem(eks, "a", "junk", 4), ERR_INVALID, "public PEM junk");
	p384 = privkey_generate(GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP384R1));
	pubkey_pem(p384, buf);
	CHECK_EQ_INT(jwt_keyset_add_pem(eks, "a", buf, strlen(buf)), ERR_INVALID, "P-384 key");
	rsa1k = privkey_generate(GNUTLS_PK_RSA, 1024);
	pubkey_pem(rsa1k, buf);
	CHECK_EQ_INT(jwt_keyset_add_pem(eks, "a", buf, strlen(buf)), ERR_INVALID, "RSA 1024 key");
	CHECK_EQ_INT(jwt_keyset_add_pem(eks, "a", rfc_pem, strlen(rfc_pem)), 0, "kid a");
	CHECK_EQ_INT(
	    jwt_keyset_add_pem(eks, "a", rfc_pem, strlen(rfc_pem)), ERR_CONFLICT, "kid a again");
	CHECK_EQ_INT(jwt_keyset_add_pem(eks, "", rfc_pem, strlen(rfc_pem)), 0, "no kid");
	CHECK_EQ_INT(jwt_keyset_add_pem(eks, NULL, rfc_pem, strlen(rfc_pem)), 0, "no kid again");
	CHECK_EQ_INT(jwt_keyset_add_pem(eks, "a\n", rfc_pem, strlen(rfc_pem)), ERR_INVALID,
	    "kid with a newline");
	memset(buf, 'k', JWT_KID_MAX + 1);
	buf[JWT_KID_MAX + 1] = '\0';
	CHECK_EQ_INT(jwt_keyset_add_ed25519(eks, buf, ed1->pub), ERR_INVALID, "kid of %d bytes",
	    JWT_KID_MAX + 1);
	buf[JWT_KID_MAX] = '\0';
	CHECK_EQ_INT(jwt_keyset_add_ed25519(eks, buf, ed1->pub), 0, "kid of %d bytes", JWT_KID_MAX);
	CHECK(jwt_keyset_find(eks, buf) != NULL && jwt_keyset_find(eks, "") == NULL,
	    "find by kid; \"\" finds nothing");

	jwt_signer_jwk(ed1, jwk, sizeof(jwk));
	CHECK_EQ_INT(jwt_keyset_add_jwk(eks, jwk, strlen(jwk)), 0, "JWK of ed1: %s", jwk);
	CHECK(strcmp(jwt_keyset_find(eks, "ed1")->kid, "ed1") == 0, "  under its kid");
	CHECK_EQ_INT(jwt_keyset_add_jwk(eks, jwk, strlen(jwk)), ERR_CONFLICT, "  twice");
	CHECK_EQ_INT(jwt_signer_jwk(ed1, jwk, 40), ERR_INVALID, "JWK into 40 bytes");
	static const char *const badjwk[] = {
	    "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
	    "{\"kty\":\"EC\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUR\"}",
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo=\"}",
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\","
	    "\"alg\":\"ES256\"}",
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\","
	    "\"use\":\"enc\"}",
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\"}",
	    "[]",
	};
	for (size_t i = 0; i < sizeof(badjwk) / sizeof(badjwk[0]); i++)
		CHECK_EQ_INT(jwt_keyset_add_jwk(eks, badjwk[i], strlen(badjwk[i])), ERR_INVALID,
		    "refuse JWK %s", badjwk[i]);
	CHECK(strcmp(jwt_alg_name(JWT_ALG_ES256), "ES256") == 0 && jwt_alg_parse("none") == 0 &&
		jwt_alg_parse("RS256") == JWT_ALG_RS256,
	    "alg names");
	CHECK(strcmp(jwt_err_str(JWT_ERR_EXPIRED), "token expired") == 0 &&
		strcmp(jwt_err_str(12345), "unknown error") == 0,
	    "jwt_err_str");
	gnutls_privkey_deinit(p384);
	gnutls_privkey_deinit(rsa1k);
	jwt_keyset_free(eks);
	jwt_keyset_free(NULL);
	jwt_signer_free(NULL);
}

/* An RSA key whose public exponent is 1 turns the padded hash into a valid signature for
 * anyone: refused, as are even exponents and ones under 65537. */
static void
test_rsa_exponent(void)
{
	static const unsigned char exps[][3] = {{0, 0, 1}, {0, 0, 3}, {1, 0, 0}, {1, 0, 1}};
	static const char *const what[] = {"1", "3", "65536", "65537"};
	unsigned char nb[256];
	struct jwt_keyset *k = jwt_keyset_new();

	gnutls_rnd(GNUTLS_RND_NONCE, nb, sizeof(nb));
	nb[0] |= 0x80;
	nb[255] |= 1;
	for (int i = 0; i < 4; i++) {
		gnutls_datum_t n = {nb, sizeof(nb)}, e = {(unsigned char *)(uintptr_t)exps[i], 3};
		gnutls_datum_t pem = {NULL, 0};
		gnutls_pubkey_t pub = NULL;
		char kid[8];
		int rv = -99;

		snprintf(kid, sizeof(kid), "e%d", i);
		if (gnutls_pubkey_init(&pub) == 0 &&
		    gnutls_pubkey_import_rsa_raw(pub, &n, &e) == 0 &&
		    gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_PEM, &pem) == 0)
			rv = jwt_keyset_add_pem(k, kid, (const char *)pem.data, pem.size);
		if (i < 3)
			CHECK(rv == ERR_INVALID, "an RSA key with e = %s is refused", what[i]);
		else
			CHECK(rv == 0, "an RSA key with e = %s is accepted", what[i]);
		gnutls_free(pem.data);
		gnutls_pubkey_deinit(pub);
	}
	jwt_keyset_free(k);
}

int
main(void)
{
	setup();
	test_rsa_exponent();
	test_rfc8037();
	test_roundtrip();
	test_size();
	test_syntax();
	test_alg();
	test_keys();
	test_signature();
	test_claims();
	test_kidless();
	test_pins();
	test_keyfiles();
	jwt_signer_free(ed1);
	jwt_signer_free(ed2);
	gnutls_privkey_deinit(es1);
	gnutls_privkey_deinit(rs1);
	jwt_keyset_free(ks);
	return check_done();
}
