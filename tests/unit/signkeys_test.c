/* The manager's token keys against a real SQLite file and state dir, with time passed in: the
 * first start generates a key whose private half is sealed in its row (no file), a reopen
 * loads the same key, rotation keeps the old key verifying until verify_until and the sweep
 * then retires it (its private half erased), import of EdDSA / ES256 / RS256 public keys made
 * here with GnuTLS (tokens they sign verify), the refusals of import, the rules of delete, the
 * JWKs; a second key set on the store takes up rotations and deletions (signkeys_reload);
 * another secret, a sealed half moved to another row or altered, and one of another key all
 * refuse to start; key files of before are sealed and removed at start, also after a crash
 * between the commit and the removal. */
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../db/db.h"
#include "../../db/signkey.h"
#include "../../db/stmt.h"
#include "../../lib/b64url.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "../../db/audit.h"
#include "../../manager/jwk.h"
#include "../../manager/signkeys.h"
#include "../../proto/jwt.h"
#include "check.h"

#define T0 1700000000
/* Past the rotation rate test: every key it rotated out has run out. */
#define TR (T0 + 3 * SIGNKEYS_TOKEN_TTL_MAX)
#define PSSID "5f0c6a1e-8d3b-4c2a-9e7f-1b2c3d4e5f60"

static struct db *db;
static char state_dir[512];
static const unsigned char secret[SEAL_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static int
count_event(void *arg, const struct audit_event *e)
{
	(void)arg;
	(void)e;
	return 0;
}

/* How many events of action there are (at most 1000), or a negative err. */
static int64_t
count_events(const char *action)
{
	struct audit_filter f = {.action = action};

	return audit_list(db, &f, 0, 1000, count_event, NULL);
}

static int
count_one(const struct signkey *k, const char *pem, const char *file, void *arg)
{
	(void)k;
	(void)pem;
	(void)file;
	++*(int64_t *)arg;
	return 0;
}

/* How many keys the store trusts (every state but retired). */
static int64_t
count_keys(void)
{
	int64_t n = 0;

	return signkey_each(db, count_one, &n) == 0 ? n : -1;
}

/* The state of kid in the store ("" when there is no row). */
static const char *
row_state(const char *kid)
{
	struct signkey k;

	return signkey_get(db, kid, &k, NULL, 0) == 0 ? signkey_state_str(k.state) : "";
}

static int
file_mode(const char *rel)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", state_dir, rel);
	return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static int
key_file_exists(const char *kid)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "keys/%s.pem", kid);
	return file_mode(rel) >= 0;
}

/* Whether the row of kid holds a sealed private half (and nothing of the PEM in clear). */
static int
row_sealed(const char *kid)
{
	char text[SEAL_TEXT_MAX + 1];

	return signkey_sealed(db, kid, text, sizeof(text)) == 0 &&
	    strncmp(text, SEAL_PREFIX, 3) == 0 && strstr(text, "PRIVATE") == NULL;
}

/* Run sql on the store with :kid bound to kid and :text to text (NULL: not bound). */
static int
store_exec(const char *sql, const char *kid, const char *text)
{
	struct stmt *st = db_stmt(db, sql);

	db_bind_text(st, ":kid", kid);
	if (text != NULL)
		db_bind_text(st, ":text", text);
	return db_run(st);
}

/* A token for PSSID expiring at exp, signed by s. */
static void
token_of(const struct jwt_signer *s, int64_t exp, char *out)
{
	struct jwt_claims c;

	memset(&c, 0, sizeof(c));
	snprintf(c.pssid, sizeof(c.pssid), "%s", PSSID);
	c.exp = exp;
	if (jwt_sign(s, &c, out, JWT_TOKEN_MAX + 1) < 0)
		out[0] = '\0';
}

static int
verify(const struct signkeys *sk, const char *token, int64_t now, char *kid_out)
{
	struct jwt_claims c;
	int rv = jwt_verify(sk->keyset, token, strlen(token), now, &c);

	if (kid_out != NULL)
		snprintf(kid_out, JWT_KID_MAX + 1, "%s", c.kid);
	return rv;
}

/* A fresh key pair of type pk; the public half as PEM (free()). */
static char *
gen_key(gnutls_pk_algorithm_t pk, unsigned bits, gnutls_privkey_t *priv_out)
{
	gnutls_privkey_t priv = NULL;
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t d = {NULL, 0};
	char *pem = NULL;

	if (gnutls_privkey_init(&priv) < 0 ||
	    gnutls_privkey_generate2(priv, pk, bits, 0, NULL, 0) < 0 ||
	    gnutls_pubkey_init(&pub) < 0 || gnutls_pubkey_import_privkey(pub, priv, 0, 0) < 0 ||
	    gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_PEM, &d) < 0)
		goto out;
	if ((pem = malloc(d.size + 1)) != NULL) {
		memcpy(pem, d.data, d.size);
		pem[d.size] = '\0';
	}
out:
	gnutls_free(d.data);
	gnutls_pubkey_deinit(pub);
	if (priv_out != NULL && pem != NULL)
		*priv_out = priv;
	else
		gnutls_privkey_deinit(priv);
	return pem;
}

/* A compact JWS of {"pssid","exp"} by an outside issuer's key, with kid in the header unless
 * NULL; ES256 signatures are converted from DER to r||s. */
static void
outside_token(gnutls_privkey_t priv, const char *alg, const char *kid, int64_t exp, char *out)
{
	char header[256], payload[256], *p = out;
	gnutls_datum_t data, sig = {NULL, 0}, r = {NULL, 0}, s = {NULL, 0};
	gnutls_sign_algorithm_t sa = strcmp(alg, "EdDSA") == 0 ? GNUTLS_SIGN_EDDSA_ED25519
	    : strcmp(alg, "ES256") == 0                        ? GNUTLS_SIGN_ECDSA_SHA256
							       : GNUTLS_SIGN_RSA_SHA256;
	unsigned char raw[1024];
	size_t n = 0;

	out[0] = '\0';
	if (kid != NULL)
		snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
		    alg, kid);
	else
		snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
	snprintf(
	    payload, sizeof(payload), "{\"pssid\":\"%s\",\"exp\":%lld}", PSSID, (long long)exp);
	b64url_encode((const unsigned char *)header, strlen(header), p);
	p += strlen(p);
	*p++ = '.';
	b64url_encode((const unsigned char *)payload, strlen(payload), p);
	p += strlen(p);
	data.data = (unsigned char *)out;
	data.size = (unsigned)(p - out);
	if (gnutls_privkey_sign_data2(priv, sa, 0, &data, &sig) < 0)
		goto fail;
	if (sa == GNUTLS_SIGN_ECDSA_SHA256) {
		if (gnutls_decode_rs_value(&sig, &r, &s) < 0)
			goto fail;
		/* r and s are DER integers: at most one leading zero, maybe shorter than 32. */
		memset(raw, 0, 64);
		memcpy(raw + 32 - (r.size > 32 ? 32 : r.size),
		    r.data + (r.size > 32 ? r.size - 32 : 0), r.size > 32 ? 32 : r.size);
		memcpy(raw + 64 - (s.size > 32 ? 32 : s.size),
		    s.data + (s.size > 32 ? s.size - 32 : 0), s.size > 32 ? 32 : s.size);
		n = 64;
	} else {
		memcpy(raw, sig.data, sig.size);
		n = sig.size;
	}
	*p++ = '.';
	b64url_encode(raw, n, p);
	goto out;
fail:
	out[0] = '\0';
out:
	gnutls_free(sig.data);
	gnutls_free(r.data);
	gnutls_free(s.data);
}

static const char *
jwk_str(json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s != NULL ? s : "";
}

static int
open_keys(struct signkeys **sk, int64_t now)
{
	return signkeys_open(db, state_dir, secret, now, sk);
}

/* Two key sets on one store, as two managers: a rotation and a deletion through one are taken
 * up by the other's reload, which then signs with the new key. */
static void
test_reload(const char *active)
{
	struct signkeys *a = NULL, *b = NULL;
	char tok[JWT_TOKEN_MAX + 1], old[JWT_KID_MAX + 1];
	struct signkey k;

	if (open_keys(&a, TR + 0) < 0 || open_keys(&b, TR + 0) < 0) {
		CHECK(0, "two key sets open on one store");
		goto out;
	}
	snprintf(old, sizeof(old), "%s", active);
	CHECK(signkeys_rotate(a, "alice", TR + 0, &k) == 0 && strcmp(b->signer->kid, old) == 0,
	    "A rotates; B still signs with %s until it reloads", old);
	CHECK(signkeys_reload(b) == 0 && strcmp(b->signer->kid, k.kid) == 0 &&
		signkeys_get(b, old)->state == SIGNKEY_VERIFY,
	    "B's reload signs with A's new key %s, the old one verifies", k.kid);
	token_of(b->signer, TR + 1000, tok);
	CHECK(verify(a, tok, TR + 1, NULL) == 0, "  and A verifies what B signs");
	CHECK(signkeys_delete(b, old, "bob", TR + 2, NULL) == 0 && signkeys_reload(a) == 0 &&
		signkeys_get(a, old) == NULL && strcmp(a->signer->kid, k.kid) == 0,
	    "B deletes the old key; A's reload drops it and keeps signing with %s", k.kid);
	CHECK(signkeys_reload(a) == 0 && strcmp(a->signer->kid, k.kid) == 0,
	    "a reload with nothing changed keeps everything");
out:
	signkeys_close(a);
	signkeys_close(b);
}

/* Starts that must fail, and change nothing: another secret, an altered or moved sealed half,
 * one of another key, none at all. */
static void
test_refusals(void)
{
	unsigned char other_secret[SEAL_KEY_LEN];
	struct jwt_signer *other = NULL;
	char saved[SEAL_TEXT_MAX + 1], *sealed = NULL, *moved = NULL;
	struct signkeys *sk = NULL;
	struct signkey k;
	const char *active = k.kid;
	size_t n;
	char was;

	if (signkey_active(db, &k, NULL, 0) != 1 ||
	    signkey_sealed(db, active, saved, sizeof(saved)) < 0) {
		CHECK(0, "the active key %s has a sealed private half", active);
		return;
	}
	memcpy(other_secret, secret, sizeof(other_secret));
	other_secret[0] ^= 0x80;
	check_expect_begin();
	CHECK_EQ_INT(signkeys_open(db, state_dir, other_secret, TR + 1000, &sk), ERR_DB,
	    "another secret cannot open the active key: no start");
	n = strlen(saved);
	was = saved[n / 2];
	saved[n / 2] = was == 'A' ? 'B' : 'A';
	store_exec(
	    "UPDATE signing_keys SET private_key_sealed = :text WHERE kid = :kid", active, saved);
	CHECK_EQ_INT(open_keys(&sk, TR + 1000), ERR_DB, "an altered sealed half: no start");
	saved[n / 2] = was;
	/* A half sealed for another kid, under the right secret, moved into the active row. */
	if (jwt_signer_new("k-elsewhere", &other) == 0 && jwt_signer_pem(other, &moved, &n) == 0 &&
	    seal_text(secret, "k-elsewhere", moved, n, &sealed) == 0)
		store_exec("UPDATE signing_keys SET private_key_sealed = :text WHERE kid = :kid",
		    active, sealed);
	CHECK_EQ_INT(open_keys(&sk, TR + 1000), ERR_DB,
	    "a half sealed for another kid, moved into the row: no start");
	free(sealed);
	sealed = NULL;
	if (seal_text(secret, active, moved, n, &sealed) == 0)
		store_exec("UPDATE signing_keys SET private_key_sealed = :text WHERE kid = :kid",
		    active, sealed);
	CHECK_EQ_INT(open_keys(&sk, TR + 1000), ERR_DB,
	    "another key sealed for the active kid (not its public key): no start");
	store_exec(
	    "UPDATE signing_keys SET private_key_sealed = '' WHERE kid = :kid", active, NULL);
	CHECK_EQ_INT(open_keys(&sk, TR + 1000), ERR_DB,
	    "no private half at all: no start (never a silent new key)");
	check_expect_end();
	store_exec(
	    "UPDATE signing_keys SET private_key_sealed = :text WHERE kid = :kid", active, saved);
	CHECK(sk == NULL && strcmp(row_state(active), "active") == 0 && count_keys() > 0 &&
		open_keys(&sk, TR + 1000) == 0,
	    "nothing was changed: with its half back, the key set opens");
	signkeys_close(sk);
	free(sealed);
	free(moved);
	jwt_signer_free(other);
}

/* Write pem (len bytes) as the key file of kid, as a manager of before did (keys/<kid>.pem,
 * 0600, in a 0700 dir); rel (rellen) gets the name its row gives it. */
static void
key_file_write(const char *kid, const char *pem, size_t len, char *rel, size_t rellen)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/keys", state_dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/keys/%s.pem", state_dir, kid);
	if ((f = fopen(path, "w")) != NULL) {
		fwrite(pem, 1, len, f);
		fclose(f);
	}
	chmod(path, 0600);
	snprintf(rel, rellen, "keys/%s.pem", kid);
}

/* A key file of before: a store whose rows name files (written here as an older manager did)
 * is sealed at start, the files removed and the rows forget them; after a crash between the
 * commit and the removal, the next start removes the file left. */
static void
test_upgrade(void)
{
	struct signkeys *sk = NULL;
	struct signkey k;
	char path[1024], file[256], kid[JWT_KID_MAX + 1], tok[JWT_TOKEN_MAX + 1];
	char *pem = NULL;
	size_t len = 0;
	int rv;

	signkey_active(db, &k, NULL, 0);
	snprintf(kid, sizeof(kid), "%s", k.kid);
	/* Back to before: the active key's half in a file of the state dir, not in its row. */
	if (open_keys(&sk, TR + 2000) < 0 || jwt_signer_pem(sk->signer, &pem, &len) < 0) {
		CHECK(0, "the key set opens to write its key file");
		goto out;
	}
	token_of(sk->signer, TR + 7000, tok);
	signkeys_close(sk);
	sk = NULL;
	key_file_write(kid, pem, len, file, sizeof(file));
	store_exec("UPDATE signing_keys SET private_key_sealed = NULL, private_key_file = :text "
		   "WHERE kid = :kid",
	    kid, file);
	CHECK(!row_sealed(kid) && key_file_exists(kid), "a store of before: the key in a file");
	rv = open_keys(&sk, TR + 2000);
	CHECK(rv == 0 && sk != NULL && strcmp(sk->signer->kid, kid) == 0 && row_sealed(kid) &&
		!key_file_exists(kid) && file_mode("keys") < 0,
	    "the start seals it into its row, removes the file and keys/ (%s)", err_str(rv));
	CHECK(sk != NULL && verify(sk, tok, TR + 2001, NULL) == 0 &&
		signkey_get(db, kid, &k, file, sizeof(file)) == 0 && file[0] == '\0',
	    "a token signed before verifies, and the row names no file");
	signkeys_close(sk);
	sk = NULL;
	/* A crash after the commit: the row sealed, still naming its file, which is there. */
	key_file_write(kid, pem, len, file, sizeof(file));
	store_exec("UPDATE signing_keys SET private_key_file = :text WHERE kid = :kid", kid, file);
	rv = open_keys(&sk, TR + 2100);
	CHECK(rv == 0 && row_sealed(kid) && !key_file_exists(kid) &&
		signkey_get(db, kid, &k, file, sizeof(file)) == 0 && file[0] == '\0',
	    "after a crash between commit and removal the next start removes the file left");
	signkeys_close(sk);
	sk = NULL;
	/* A state dir copied from another manager's: files of sealed kids, no row naming them; and
	 * a file of a kid the store does not know, which is not ours to remove. */
	key_file_write(kid, pem, len, file, sizeof(file));
	key_file_write("k-unknown", pem, len, file, sizeof(file));
	rv = open_keys(&sk, TR + 2150);
	CHECK(rv == 0 && !key_file_exists(kid) && key_file_exists("k-unknown"),
	    "a copied file of a sealed kid is removed, a file of an unknown kid stays");
	signkeys_close(sk);
	sk = NULL;
	snprintf(path, sizeof(path), "%s/keys/k-unknown.pem", state_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/keys", state_dir);
	rmdir(path);
	/* A key in use whose file is gone: refused, nothing changed. */
	snprintf(file, sizeof(file), "keys/%s.pem", kid);
	store_exec("UPDATE signing_keys SET private_key_sealed = NULL, private_key_file = :text "
		   "WHERE kid = :kid",
	    kid, file);
	check_expect_begin();
	CHECK_EQ_INT(open_keys(&sk, TR + 2200), ERR_DB,
	    "an active key of before whose file is missing refuses to start");
	check_expect_end();
	CHECK(sk == NULL && signkey_get(db, kid, &k, file, sizeof(file)) == 0 && file[0] != '\0' &&
		!row_sealed(kid),
	    "  and its row is as it was");
out:
	signkeys_close(sk);
	if (pem != NULL) {
		gnutls_memset(pem, 0, len);
		free(pem);
	}
}

/* Import refusals: each leaves the store and the set as they were. */
static void
test_import_refusals(struct signkeys *sk, const char *ed_pem, const char *rsa_pem, const char *ours)
{
	struct keyimport_error e;
	struct signkey k;
	char *small = gen_key(GNUTLS_PK_RSA, 1024, NULL);
	char *p384 =
	    gen_key(GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP384R1), NULL);
	uint64_t gen = sk->generation;
	int64_t rows = count_keys(), events = count_events("key.import");
	int rv;
	static const struct {
		const char *kid, *alg, *why, *field;
		int pem; /* 0: Ed25519, 1: RSA 2048, 2: RSA 1024, 3: P-384, 4: garbage */
	} cases[] = {
	    {"", "EdDSA", "an empty kid", "kid", 0},
	    {"a/b", "EdDSA", "a kid with /", "kid", 0},
	    {"a b", "EdDSA", "a kid with a space", "kid", 0},
	    {"tab\there", "EdDSA", "a kid with a control character", "kid", 0},
	    {"x", "HS256", "alg HS256", "alg", 0},
	    {"x", "none", "alg none", "alg", 0},
	    {"x", "eddsa", "alg in the wrong case", "alg", 0},
	    {"x", "ES256", "an Ed25519 key as ES256", "alg", 0},
	    {"x", "EdDSA", "an RSA key as EdDSA", "alg", 1},
	    {"x", "RS256", "an RSA key of 1024 bits", "public_key_pem", 2},
	    {"x", "ES256", "a P-384 key", "public_key_pem", 3},
	    {"x", "EdDSA", "text that is no PEM", "public_key_pem", 4},
	};
	char longkid[JWT_KID_MAX + 2], longpin[JWT_PIN_MAX + 2];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *pem = cases[i].pem == 0 ? ed_pem
		    : cases[i].pem == 1             ? rsa_pem
		    : cases[i].pem == 2             ? small
		    : cases[i].pem == 3             ? p384
						    : "-----BEGIN PUBLIC KEY-----\nAAAA\n";
		if (pem == NULL)
			pem = "";
		rv = signkeys_import(
		    sk, cases[i].kid, cases[i].alg, pem, strlen(pem), "test", T0, &k, &e);
		CHECK(rv == ERR_INVALID && e.field != NULL &&
			strcmp(e.field, cases[i].field) == 0 && e.detail[0] != '\0',
		    "import refuses %s: 400 naming %s (%s)", cases[i].why, cases[i].field,
		    e.detail);
	}
	memset(longkid, 'a', sizeof(longkid) - 1);
	longkid[sizeof(longkid) - 1] = '\0';
	rv = signkeys_import(sk, longkid, "EdDSA", ed_pem, strlen(ed_pem), "test", T0, &k, &e);
	CHECK(rv == ERR_INVALID && strcmp(e.field, "kid") == 0, "a kid of %d characters is refused",
	    JWT_KID_MAX + 1);
	rv = signkeys_import(sk, ours, "EdDSA", ed_pem, strlen(ed_pem), "test", T0, &k, &e);
	CHECK(rv == ERR_CONFLICT && strcmp(e.field, "kid") == 0,
	    "the kid of one of our keys is in use (%s)", e.detail);
	rv = signkeys_import_pinned(
	    sk, "pin", "EdDSA", ed_pem, strlen(ed_pem), "", NULL, "test", T0, &k, &e);
	CHECK(rv == ERR_INVALID && strcmp(e.field, "iss") == 0, "an empty iss pin is refused (%s)",
	    e.detail);
	rv = signkeys_import_pinned(
	    sk, "pin", "EdDSA", ed_pem, strlen(ed_pem), "https://i", "a\tb", "test", T0, &k, &e);
	CHECK(rv == ERR_INVALID && strcmp(e.field, "aud") == 0,
	    "an aud pin with a control character is refused");
	memset(longpin, 'a', sizeof(longpin) - 1);
	longpin[sizeof(longpin) - 1] = '\0';
	rv = signkeys_import_pinned(
	    sk, "pin", "EdDSA", ed_pem, strlen(ed_pem), NULL, longpin, "test", T0, &k, &e);
	CHECK(rv == ERR_INVALID && strcmp(e.field, "aud") == 0,
	    "an aud pin over %d characters is refused", JWT_PIN_MAX);
	CHECK(count_keys() == rows && count_events("key.import") == events && sk->generation == gen,
	    "refused imports change neither the store nor the set");
	free(small);
	free(p384);
}

int
main(void)
{
	struct signkeys *sk = NULL;
	struct keyimport_error e;
	struct signkey k;
	gnutls_privkey_t ed_priv = NULL, ec_priv = NULL, rsa_priv = NULL;
	char path[1024], kid1[JWT_KID_MAX + 1], kid2[JWT_KID_MAX + 1], kid3[JWT_KID_MAX + 1];
	char tok1[JWT_TOKEN_MAX + 1], tok2[JWT_TOKEN_MAX + 1], tok[JWT_TOKEN_MAX + 1];
	char got[JWT_KID_MAX + 1], *ed_pem, *ec_pem, *rsa_pem;
	const struct signkey *g;
	uint64_t gen;
	json_t *jwk;
	int rv, i;

	/* Whole lines: the expected error logs (stderr) interleave with the checks. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_set_level(LOG_ERROR);
	snprintf(state_dir, sizeof(state_dir), "%s", check_tmpdir());
	snprintf(path, sizeof(path), "%s/snaptun.db", state_dir);
	if (db_open(path, &db) < 0)
		return 1;

	/* ---- first start ---- */
	rv = open_keys(&sk, T0);
	CHECK(rv == 0 && sk != NULL, "the first start opens (%s)", err_str(rv));
	if (sk == NULL)
		return check_done();
	CHECK(sk->n == 1 && sk->keys[0].state == SIGNKEY_ACTIVE && !sk->keys[0].imported &&
		sk->keys[0].alg == JWT_ALG_EDDSA && sk->keys[0].created_at == T0 &&
		sk->keys[0].verify_until == 0,
	    "it generates one active EdDSA key of ours");
	snprintf(kid1, sizeof(kid1), "%s", sk->keys[0].kid);
	CHECK(strlen(kid1) == 14 && strncmp(kid1, "k-", 2) == 0 &&
		strspn(kid1 + 2,
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 12,
	    "its kid is k- and 12 base64url characters (%s)", kid1);
	CHECK(strcmp(sk->signer->kid, kid1) == 0 && jwt_keyset_find(sk->keyset, kid1) != NULL,
	    "it is the signer and in the verification set");
	CHECK(row_sealed(kid1) && file_mode("keys") < 0,
	    "its private half is sealed in its row, and no key file is written");
	CHECK(strcmp(row_state(kid1), "active") == 0 && count_events("key.create") == 1,
	    "its row is active and audited as key.create");
	jwk = jwk_json(jwt_keyset_find(sk->keyset, kid1));
	CHECK(jwk != NULL && strcmp(jwk_str(jwk, "kty"), "OKP") == 0 &&
		strcmp(jwk_str(jwk, "crv"), "Ed25519") == 0 && strlen(jwk_str(jwk, "x")) == 43 &&
		strcmp(jwk_str(jwk, "kid"), kid1) == 0 &&
		strcmp(jwk_str(jwk, "alg"), "EdDSA") == 0 &&
		strcmp(jwk_str(jwk, "use"), "sig") == 0 && json_object_get(jwk, "d") == NULL,
	    "its JWK is OKP Ed25519 with x, kid, alg, use and no d");
	json_decref(jwk);
	token_of(sk->signer, T0 + 3600, tok1);
	CHECK(verify(sk, tok1, T0 + 10, got) == 0 && strcmp(got, kid1) == 0,
	    "a token it signs verifies with the set");

	/* ---- reopen ---- */
	signkeys_close(sk);
	sk = NULL;
	rv = open_keys(&sk, T0 + 50);
	CHECK(rv == 0 && sk != NULL && sk->n == 1 && strcmp(sk->keys[0].kid, kid1) == 0 &&
		strcmp(sk->signer->kid, kid1) == 0 && count_events("key.create") == 1,
	    "a reopen loads the same key and creates none");
	if (sk == NULL)
		return check_done();
	CHECK(verify(sk, tok1, T0 + 10, NULL) == 0, "a token signed before the reopen verifies");
	token_of(sk->signer, T0 + 3600, tok);
	CHECK(verify(sk, tok, T0 + 60, NULL) == 0 && strcmp(tok, tok1) == 0,
	    "the reloaded signer is the same key (same token, Ed25519 is deterministic)");

	/* ---- rotate ---- */
	gen = sk->generation;
	rv = signkeys_rotate(sk, "alice", T0 + 100, &k);
	snprintf(kid2, sizeof(kid2), "%s", k.kid);
	CHECK(rv == 0 && strcmp(kid2, kid1) != 0 && k.state == SIGNKEY_ACTIVE &&
		strcmp(sk->signer->kid, kid2) == 0 && sk->generation == gen + 1,
	    "rotate makes a new active key and signer (%s)", kid2);
	g = signkeys_get(sk, kid1);
	CHECK(sk->n == 2 && strcmp(sk->keys[0].kid, kid2) == 0 && g != NULL &&
		g->state == SIGNKEY_VERIFY && g->verify_until == T0 + 100 + SIGNKEYS_TOKEN_TTL_MAX,
	    "the previous key verifies until now + 24 h");
	CHECK(strcmp(row_state(kid1), "verify") == 0 && strcmp(row_state(kid2), "active") == 0 &&
		count_events("key.rotate") == 1,
	    "the store agrees, with a key.rotate event");
	CHECK(row_sealed(kid2) && row_sealed(kid1), "the new key is sealed in its row too");
	CHECK(verify(sk, tok1, T0 + 200, NULL) == 0, "a token of the previous key still verifies");
	token_of(sk->signer, T0 + 7200, tok2);
	CHECK(verify(sk, tok2, T0 + 200, got) == 0 && strcmp(got, kid2) == 0,
	    "a token of the new key verifies with it");
	CHECK_EQ_INT(signkeys_delete(sk, kid2, "alice", T0 + 200, NULL), ERR_CONFLICT,
	    "the active key cannot be deleted");

	/* ---- retire ---- */
	CHECK_EQ_INT(signkeys_retire_due(sk, T0 + 100 + SIGNKEYS_TOKEN_TTL_MAX), 0,
	    "at verify_until the previous key still verifies");
	CHECK_EQ_INT(signkeys_retire_due(sk, T0 + 101 + SIGNKEYS_TOKEN_TTL_MAX), 1,
	    "past verify_until the sweep retires it");
	CHECK(signkeys_get(sk, kid1) == NULL && jwt_keyset_find(sk->keyset, kid1) == NULL &&
		strcmp(row_state(kid1), "retired") == 0 && count_events("key.retire") == 1 &&
		!row_sealed(kid1),
	    "retired: out of the set, retired in the store, audited, private half erased");
	CHECK_EQ_INT(verify(sk, tok1, T0 + 200, NULL), JWT_ERR_UNKNOWN_KEY,
	    "a token of the retired key fails");
	CHECK_EQ_INT(signkeys_retire_due(sk, T0 + 200 + SIGNKEYS_TOKEN_TTL_MAX), 0,
	    "nothing more to retire");
	CHECK_EQ_INT(signkeys_delete(sk, kid1, "alice", T0 + 300, NULL), ERR_NOT_FOUND,
	    "a retired key cannot be deleted (404)");
	CHECK_EQ_INT(signkeys_delete(sk, "nope", "alice", T0 + 300, NULL), ERR_NOT_FOUND,
	    "an unknown kid is 404");

	/* ---- import ---- */
	ed_pem = gen_key(GNUTLS_PK_EDDSA_ED25519, 256, &ed_priv);
	ec_pem =
	    gen_key(GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), &ec_priv);
	rsa_pem = gen_key(GNUTLS_PK_RSA, 2048, &rsa_priv);
	CHECK(ed_pem != NULL && ec_pem != NULL && rsa_pem != NULL,
	    "GnuTLS makes Ed25519, P-256 and RSA-2048 keys");
	if (ed_pem == NULL || ec_pem == NULL || rsa_pem == NULL)
		return check_done();
	test_import_refusals(sk, ed_pem, rsa_pem, kid1);

	rv = signkeys_import(
	    sk, "snap-ed", "EdDSA", ed_pem, strlen(ed_pem), "alice", T0 + 400, &k, &e);
	CHECK(rv == 0 && k.imported && k.state == SIGNKEY_VERIFY && k.alg == JWT_ALG_EDDSA &&
		k.verify_until == 0 && k.created_at == T0 + 400,
	    "import an Ed25519 key as EdDSA (%s)", e.detail);
	rv = signkeys_import(
	    sk, "snap-ec", "ES256", ec_pem, strlen(ec_pem), "alice", T0 + 400, &k, &e);
	CHECK(rv == 0 && k.alg == JWT_ALG_ES256, "import a P-256 key as ES256 (%s)", e.detail);
	rv = signkeys_import(
	    sk, "snap-rsa", "RS256", rsa_pem, strlen(rsa_pem), "alice", T0 + 400, &k, &e);
	CHECK(rv == 0 && k.alg == JWT_ALG_RS256, "import an RSA-2048 key as RS256 (%s)", e.detail);
	CHECK(sk->n == 4 && count_events("key.import") == 3 &&
		strcmp(row_state("snap-rsa"), "verify") == 0,
	    "four keys in the set, three key.import events");
	rv = signkeys_import(sk, "snap-ec", "EdDSA", ed_pem, strlen(ed_pem), "alice", T0, &k, &e);
	CHECK(
	    rv == ERR_CONFLICT && strcmp(e.field, "kid") == 0, "a duplicate kid is refused (409)");

	jwk = jwk_json(jwt_keyset_find(sk->keyset, "snap-ec"));
	CHECK(jwk != NULL && strcmp(jwk_str(jwk, "kty"), "EC") == 0 &&
		strcmp(jwk_str(jwk, "crv"), "P-256") == 0 && strlen(jwk_str(jwk, "x")) == 43 &&
		strlen(jwk_str(jwk, "y")) == 43 && strcmp(jwk_str(jwk, "alg"), "ES256") == 0 &&
		json_object_get(jwk, "d") == NULL,
	    "the ES256 JWK is EC P-256 with 32-byte x and y, no d");
	json_decref(jwk);
	jwk = jwk_json(jwt_keyset_find(sk->keyset, "snap-rsa"));
	CHECK(jwk != NULL && strcmp(jwk_str(jwk, "kty"), "RSA") == 0 &&
		strcmp(jwk_str(jwk, "e"), "AQAB") == 0 && strlen(jwk_str(jwk, "n")) == 342 &&
		strcmp(jwk_str(jwk, "alg"), "RS256") == 0 && json_object_get(jwk, "d") == NULL &&
		json_object_get(jwk, "p") == NULL,
	    "the RS256 JWK has a 2048-bit n without a leading zero, e AQAB, no private members");
	json_decref(jwk);

	outside_token(ed_priv, "EdDSA", "snap-ed", T0 + 3600, tok);
	CHECK(verify(sk, tok, T0 + 500, got) == 0 && strcmp(got, "snap-ed") == 0,
	    "an EdDSA token of the imported key verifies");
	outside_token(ec_priv, "ES256", "snap-ec", T0 + 3600, tok);
	CHECK(verify(sk, tok, T0 + 500, got) == 0 && strcmp(got, "snap-ec") == 0,
	    "an ES256 token of the imported key verifies");
	outside_token(rsa_priv, "RS256", NULL, T0 + 3600, tok);
	CHECK(verify(sk, tok, T0 + 500, got) == 0 && strcmp(got, "snap-rsa") == 0,
	    "an RS256 token without kid (as SNAP issuers write) verifies with the imported key");

	/* ---- delete ---- */
	gen = sk->generation;
	CHECK(signkeys_delete(sk, "snap-ed", "alice", T0 + 600, &k) == 0 && k.imported &&
		strcmp(row_state("snap-ed"), "") == 0 && signkeys_get(sk, "snap-ed") == NULL &&
		sk->generation == gen + 1 && count_events("key.delete") == 1,
	    "delete of an imported key removes its row, audited as key.delete");
	outside_token(ed_priv, "EdDSA", "snap-ed", T0 + 3600, tok);
	CHECK_EQ_INT(
	    verify(sk, tok, T0 + 700, NULL), JWT_ERR_UNKNOWN_KEY, "its tokens fail from then on");
	CHECK_EQ_INT(signkeys_delete(sk, "snap-ed", "alice", T0 + 600, NULL), ERR_NOT_FOUND,
	    "deleting it again is 404");
	rv = signkeys_import_pinned(sk, "snap-ed", "EdDSA", ed_pem, strlen(ed_pem),
	    "https://idp.example", NULL, "alice", T0 + 700, &k, &e);
	CHECK(
	    rv == 0 && strcmp(k.pinned_iss, "https://idp.example") == 0 && k.pinned_aud[0] == '\0',
	    "a deleted imported kid may be imported again, here pinned to an iss");
	CHECK(strcmp(jwt_keyset_find(sk->keyset, "snap-ed")->iss, "https://idp.example") == 0 &&
		jwt_keyset_find(sk->keyset, "snap-ed")->aud[0] == '\0',
	    "  the key set has the pin");
	CHECK_EQ_INT(verify(sk, tok, T0 + 700, NULL), JWT_ERR_ISS,
	    "  and refuses its tokens without that iss");

	rv = signkeys_rotate(sk, "alice", T0 + 800, &k);
	snprintf(kid3, sizeof(kid3), "%s", k.kid);
	g = signkeys_get(sk, kid2);
	CHECK(rv == 0 && g != NULL && g->state == SIGNKEY_VERIFY,
	    "a second rotation puts %s in verify", kid2);
	CHECK(signkeys_delete(sk, kid2, "alice", T0 + 900, &k) == 0 && !k.imported &&
		strcmp(row_state(kid2), "retired") == 0 && signkeys_get(sk, kid2) == NULL &&
		!row_sealed(kid2) && row_sealed(kid3),
	    "delete of our key in verify retires it at once and erases its private half");
	CHECK_EQ_INT(
	    verify(sk, tok2, T0 + 900, NULL), JWT_ERR_UNKNOWN_KEY, "tokens it signed fail at once");
	rv = signkeys_import(sk, kid2, "EdDSA", ed_pem, strlen(ed_pem), "alice", T0 + 900, &k, &e);
	CHECK(rv == ERR_CONFLICT, "the kid of a retired key is never reused (%s)", e.detail);
	CHECK_EQ_INT(signkeys_retire_due(sk, T0 + 10 * SIGNKEYS_TOKEN_TTL_MAX), 0,
	    "imported keys do not expire");

	/* ---- reopen with everything ---- */
	signkeys_close(sk);
	sk = NULL;
	rv = open_keys(&sk, T0 + 1000);
	CHECK(rv == 0 && sk != NULL && sk->n == 4 && strcmp(sk->keys[0].kid, kid3) == 0 &&
		sk->keys[0].state == SIGNKEY_ACTIVE && signkeys_get(sk, "snap-ec") != NULL &&
		signkeys_get(sk, "snap-rsa") != NULL && signkeys_get(sk, "snap-ed") != NULL,
	    "a reopen has the active key and the three imported ones");
	CHECK(jwt_keyset_find(sk->keyset, kid3)->kidless == 0 &&
		jwt_keyset_find(sk->keyset, "snap-rsa")->kidless == 1,
	    "our key may not verify a token without kid, an imported one may");
	CHECK(strcmp(jwt_keyset_find(sk->keyset, "snap-ed")->iss, "https://idp.example") == 0 &&
		strcmp(signkeys_get(sk, "snap-ed")->pinned_iss, "https://idp.example") == 0 &&
		jwt_keyset_find(sk->keyset, "snap-rsa")->iss[0] == '\0',
	    "the iss pin is kept across a reopen, and no other key has one");

	/* ---- the rotation rate ---- */
	for (i = 0;
	     i <= SIGNKEYS_VERIFY_MAX && (rv = signkeys_rotate(sk, "alice", T0 + 1010, &k)) == 0;
	     i++)
		;
	CHECK(rv == ERR_LIMIT && i == SIGNKEYS_VERIFY_MAX,
	    "%d rotations in a row, then ERR_LIMIT (%d of our keys verify)", i,
	    SIGNKEYS_VERIFY_MAX);
	CHECK(signkeys_rotate_wait(sk, T0 + 1010) == SIGNKEYS_TOKEN_TTL_MAX + 1,
	    "the next may go once the first of them has run out");
	CHECK(sk->n == 4 + SIGNKEYS_VERIFY_MAX &&
		count_events("key.rotate") == 2 + SIGNKEYS_VERIFY_MAX,
	    "the refused rotation changed nothing");
	CHECK_EQ_INT(signkeys_delete(sk, sk->keys[1].kid, "alice", T0 + 1020, NULL), 0,
	    "delete one of our keys in verify");
	CHECK_EQ_INT(signkeys_rotate(sk, "alice", T0 + 1020, &k), 0, "  then a rotation goes");
	CHECK_EQ_INT(signkeys_rotate(sk, "alice", T0 + 1020, &k), ERR_LIMIT, "  and only one");
	CHECK_EQ_INT(signkeys_rotate(sk, "alice", T0 + 1010 + SIGNKEYS_TOKEN_TTL_MAX + 1, &k), 0,
	    "a rotation goes once the oldest has run out");
	snprintf(kid3, sizeof(kid3), "%s", sk->signer->kid); /* the active key from here on */
	signkeys_close(sk);
	sk = NULL;

	test_reload(kid3);
	test_refusals();
	test_upgrade();

	free(ed_pem);
	free(ec_pem);
	free(rsa_pem);
	gnutls_privkey_deinit(ed_priv);
	gnutls_privkey_deinit(ec_priv);
	gnutls_privkey_deinit(rsa_priv);
	db_close(db);
	return check_done();
}
