#include <assert.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../db/db.h"
#include "../lib/b64url.h"
#include "../lib/clock.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "../lib/secret.h"
#include "../db/audit.h"
#include "keyseal.h"
#include "keyupgrade.h"
#include "signkeys.h"
#include "storesecret.h"

#define KID_TRIES 8
#define ACTOR_SELF "snaptun-manager"
#define ACTOR_SWEEPER "sweeper"

/* What is rebuilt from the table after every change, beside the copy in use. */
struct view {
	struct jwt_keyset *keyset;
	struct signkey *keys;
	size_t n, cap;
};

static void
view_free(struct view *v)
{
	jwt_keyset_free(v->keyset);
	free(v->keys);
	memset(v, 0, sizeof(*v));
}

/* One key of the table into the view (a signkey_fn). A key the JWT layer refuses, or pins to
 * another algorithm than its row says, makes the table unusable: ERR_DB. */
static int
view_add(const struct signkey *k, const char *pem, const char *file, void *arg)
{
	struct view *v = arg;
	const struct jwt_key *jk;
	struct signkey *keys;

	(void)file;
	if (v->n == v->cap) {
		v->cap = v->cap ? 2 * v->cap : 8;
		if ((keys = reallocarray(v->keys, v->cap, sizeof(*keys))) == NULL)
			return ERR_NOMEM;
		v->keys = keys;
	}
	if (jwt_keyset_add_pem(v->keyset, k->kid, pem, strlen(pem)) < 0 ||
	    (jk = jwt_keyset_find(v->keyset, k->kid)) == NULL || jk->alg != k->alg) {
		log_error("signing key \"%s\" in the store is unusable: its public key is not a "
			  "valid %s key",
		    k->kid, jwt_alg_name(k->alg));
		return ERR_DB;
	}
	/* Our tokens always name their key: only outside issuers' keys are tried for a token
	 * without kid. */
	if (!k->imported)
		jwt_keyset_kidless(v->keyset, k->kid, 0);
	if (jwt_keyset_pin(v->keyset, k->kid, k->pinned_iss, k->pinned_aud) < 0) {
		log_error("signing key \"%s\" in the store is unusable: its pinned iss or aud is "
			  "not 1 to %d visible ASCII characters",
		    k->kid, JWT_PIN_MAX);
		return ERR_DB;
	}
	v->keys[v->n++] = *k;
	return 0;
}

/* Read every non-retired key of the table into v (inside a transaction, its own writes
 * included). */
static int
view_load(struct db *db, struct view *v)
{
	int rv = ERR_NOMEM;

	memset(v, 0, sizeof(*v));
	if ((v->keyset = jwt_keyset_new()) != NULL)
		rv = signkey_each(db, view_add, v);
	if (rv < 0)
		view_free(v);
	return rv;
}

/* Put v in use (after the commit that made it true). */
static void
view_swap(struct signkeys *sk, struct view *v)
{
	jwt_keyset_free(sk->keyset);
	free(sk->keys);
	sk->keyset = v->keyset;
	sk->keys = v->keys;
	sk->n = v->n;
	memset(v, 0, sizeof(*v));
	sk->generation++;
}

/* The SubjectPublicKeyInfo PEM of a signer's Ed25519 key (free()). 0, ERR_NOMEM, ERR_DB. */
static int
signer_public_pem(const struct jwt_signer *s, char **pem)
{
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t x = {(unsigned char *)(uintptr_t)s->pub, JWT_ED25519_LEN}, d = {NULL, 0};
	int rv = ERR_NOMEM;

	*pem = NULL;
	if (gnutls_pubkey_init(&pub) < 0)
		goto out;
	rv = ERR_DB;
	if (gnutls_pubkey_import_ecc_raw(pub, GNUTLS_ECC_CURVE_ED25519, &x, NULL) < 0 ||
	    gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_PEM, &d) < 0)
		goto out;
	rv = (*pem = strndup((const char *)d.data, d.size)) != NULL ? 0 : ERR_NOMEM;
out:
	gnutls_free(d.data);
	gnutls_pubkey_deinit(pub);
	return rv;
}

/* Whether the signer's public half is the key of its kid in ks. */
static int
signer_matches(const struct jwt_keyset *ks, const struct jwt_signer *s)
{
	const struct jwt_key *k = jwt_keyset_find(ks, s->kid);
	gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
	gnutls_datum_t x = {NULL, 0};
	int ok;

	ok = k != NULL && k->alg == JWT_ALG_EDDSA &&
	    gnutls_pubkey_export_ecc_raw2(k->pub, &curve, &x, NULL, 0) >= 0 &&
	    curve == GNUTLS_ECC_CURVE_ED25519 && x.size == JWT_ED25519_LEN &&
	    memcmp(x.data, s->pub, JWT_ED25519_LEN) == 0;
	gnutls_free(x.data);
	return ok;
}

/* An unused kid for a new key of ours into kid. Reads only: call it before the transaction's
 * first write. */
static int
kid_pick(struct db *db, char *kid)
{
	unsigned char raw[SIGNKEYS_KID_RANDOM];
	size_t plen = strlen(SIGNKEYS_KID_PREFIX);
	struct signkey k;
	int rv;

	for (int i = 0; i < KID_TRIES; i++) {
		if (secret_random(raw, sizeof(raw)) < 0)
			return ERR_DB;
		memcpy(kid, SIGNKEYS_KID_PREFIX, plen);
		b64url_encode(raw, sizeof(raw), kid + plen);
		if ((rv = signkey_get(db, kid, &k, NULL, 0)) != 0)
			return rv == ERR_NOT_FOUND ? 0 : rv;
	}
	log_error("no unused signing key id after %d random tries", KID_TRIES);
	return ERR_DB;
}

/* Inside the caller's transaction, after its checks: a new Ed25519 key of ours under kid, its
 * row inserted as active with the private half sealed under the store secret (which the store
 * records, or checks, first). The signer goes to *out. */
static int
key_create(struct signkeys *sk, const char *kid, int64_t now, struct jwt_signer **out)
{
	struct signkey k = {.alg = JWT_ALG_EDDSA, .state = SIGNKEY_ACTIVE, .created_at = now};
	struct jwt_signer *s = NULL;
	char *sealed = NULL, *pub = NULL;
	int rv;

	*out = NULL;
	snprintf(k.kid, sizeof(k.kid), "%s", kid);
	if ((rv = jwt_signer_new(kid, &s)) < 0) {
		log_error("cannot generate an Ed25519 key: %s", err_str(rv));
		rv = rv == ERR_NOMEM ? rv : ERR_DB;
		goto out;
	}
	if ((rv = signer_public_pem(s, &pub)) < 0 ||
	    (rv = keyseal_seal(s, sk->secret, &sealed)) < 0 ||
	    (rv = storesecret_claim(sk->db, sk->secret)) < 0 ||
	    (rv = signkey_insert(sk->db, &k, pub, sealed)) < 0)
		goto out;
	*out = s;
	s = NULL;
out:
	free(sealed);
	free(pub);
	jwt_signer_free(s);
	return rv;
}

/* Append the audit event of a key change; details (may be NULL) is consumed. */
static int
audit_key(struct db *db, int64_t now, const char *actor, const char *action, const char *kid,
    json_t *details)
{
	char object[JWT_KID_MAX + 8];
	int rv;

	snprintf(object, sizeof(object), "key:%s", kid);
	rv = audit_append(db, now, actor, action, object, details);
	json_decref(details);
	return rv;
}

static json_t *
time_json(int64_t t)
{
	char buf[32];

	clock_rfc3339(t, buf, sizeof(buf));
	return json_string(buf);
}

/* Find the active key, or create the first one. One transaction, so two processes on one
 * store cannot both create one. *kid gets the active key; *signer the signer when it was
 * created here (NULL: open its sealed private half). */
static int
active_or_create(struct signkeys *sk, int64_t now, char *kid, struct jwt_signer **signer)
{
	struct signkey k;
	int rv, nactive;

	*signer = NULL;
	if ((rv = db_begin(sk->db)) < 0)
		return rv;
	if ((rv = nactive = signkey_active(sk->db, &k, NULL, 0)) < 0 || nactive > 1) {
		if (nactive > 1) {
			log_error(
			    "the store has %d active signing keys; there must be one", nactive);
			rv = ERR_DB;
		}
		goto fail;
	}
	if (nactive == 1) {
		db_rollback(sk->db); /* a read: nothing to undo */
		snprintf(kid, JWT_KID_MAX + 1, "%s", k.kid);
		rv = 0;
		goto out;
	}
	if ((rv = kid_pick(sk->db, kid)) < 0 || (rv = key_create(sk, kid, now, signer)) < 0 ||
	    (rv = audit_key(sk->db, now, ACTOR_SELF, "key.create", kid,
		 json_pack("{s:s, s:s}", "kid", kid, "alg", "EdDSA"))) < 0)
		goto fail;
	if ((rv = db_commit(sk->db)) == 0)
		log_info("created the token signing key %s", kid);
	goto out;
fail:
	db_rollback(sk->db);
out:
	if (rv < 0) {
		jwt_signer_free(*signer);
		*signer = NULL;
	}
	return rv;
}

int
signkeys_open(struct db *db, const char *state_dir, const unsigned char secret[SEAL_KEY_LEN],
    int64_t now, struct signkeys **out)
{
	struct signkeys *sk = NULL;
	struct view v = {0};
	char kid[JWT_KID_MAX + 1] = "";
	int rv = ERR_NOMEM;

	*out = NULL;
	assert(!db_in_tx(db));
	if ((sk = calloc(1, sizeof(*sk))) == NULL)
		goto out;
	sk->db = db;
	memcpy(sk->secret, secret, SEAL_KEY_LEN);
	if ((rv = keyupgrade_run(db, state_dir, secret)) < 0 ||
	    (rv = active_or_create(sk, now, kid, &sk->signer)) < 0)
		goto out;
	if (sk->signer == NULL && (rv = keyseal_open(db, secret, kid, &sk->signer)) < 0)
		goto out;
	if ((rv = view_load(db, &v)) < 0)
		goto out;
	if (!signer_matches(v.keyset, sk->signer)) {
		log_error("the private half of the signing key %s does not match its public key in "
			  "the store",
		    kid);
		rv = ERR_DB;
		goto out;
	}
	view_swap(sk, &v);
	*out = sk;
	sk = NULL;
	rv = 0;
out:
	view_free(&v);
	signkeys_close(sk);
	return rv;
}

void
signkeys_close(struct signkeys *sk)
{
	if (sk == NULL)
		return;
	jwt_keyset_free(sk->keyset);
	free(sk->keys);
	jwt_signer_free(sk->signer);
	gnutls_memset(sk->secret, 0, sizeof(sk->secret));
	free(sk);
}

const struct signkey *
signkeys_get(const struct signkeys *sk, const char *kid)
{
	for (size_t i = 0; i < sk->n; i++)
		if (strcmp(sk->keys[i].kid, kid) == 0)
			return &sk->keys[i];
	return NULL;
}

int64_t
signkeys_rotate_wait(const struct signkeys *sk, int64_t now)
{
	int64_t first = 0;
	size_t n = 0;

	for (size_t i = 0; i < sk->n; i++) {
		const struct signkey *k = &sk->keys[i];

		if (k->imported || k->state != SIGNKEY_VERIFY || now > k->verify_until)
			continue;
		n++;
		if (first == 0 || k->verify_until < first)
			first = k->verify_until;
	}
	return n < SIGNKEYS_VERIFY_MAX ? 0 : first - now + 1;
}

int
signkeys_rotate(struct signkeys *sk, const char *actor, int64_t now, struct signkey *out)
{
	struct jwt_signer *s = NULL;
	struct view v = {0};
	char kid[JWT_KID_MAX + 1], old[JWT_KID_MAX + 1] = "", when[32];
	int64_t until = now + SIGNKEYS_TOKEN_TTL_MAX;
	const struct signkey *k;
	struct signkey cur;
	json_t *d;
	int rv;

	assert(!db_in_tx(sk->db));
	if (signkeys_rotate_wait(sk, now) > 0)
		return ERR_LIMIT;
	if ((rv = db_begin(sk->db)) < 0)
		return rv;
	if ((rv = signkey_active(sk->db, &cur, NULL, 0)) < 0)
		goto fail;
	if (rv > 0)
		snprintf(old, sizeof(old), "%s", cur.kid);
	if ((rv = kid_pick(sk->db, kid)) < 0)
		goto fail;
	/* Checks done; from here on every step writes. */
	if (old[0] != '\0' && (rv = signkey_set_verify(sk->db, old, until)) < 0)
		goto fail;
	if ((rv = key_create(sk, kid, now, &s)) < 0)
		goto fail;
	d = json_pack("{s:s, s:s}", "kid", kid, "alg", "EdDSA");
	if (old[0] != '\0') {
		json_object_set_new(d, "previous", json_string(old));
		json_object_set_new(d, "previous_verify_until", time_json(until));
	}
	if ((rv = audit_key(sk->db, now, actor, "key.rotate", kid, d)) < 0 ||
	    (rv = view_load(sk->db, &v)) < 0)
		goto fail;
	if ((rv = db_commit(sk->db)) < 0)
		goto out;
	view_swap(sk, &v);
	jwt_signer_free(sk->signer);
	sk->signer = s;
	s = NULL;
	if ((k = signkeys_get(sk, kid)) != NULL)
		*out = *k;
	clock_rfc3339(until, when, sizeof(when));
	log_info("rotated the token signing key: %s is active, %s verifies until %s", kid,
	    old[0] != '\0' ? old : "(none)", when);
	goto out;
fail:
	db_rollback(sk->db);
out:
	view_free(&v);
	jwt_signer_free(s);
	return rv;
}

int
signkeys_import(struct signkeys *sk, const char *kid, const char *alg_name, const char *pem,
    size_t len, const char *actor, int64_t now, struct signkey *out, struct keyimport_error *e)
{
	return signkeys_import_pinned(sk, kid, alg_name, pem, len, NULL, NULL, actor, now, out, e);
}

int
signkeys_import_pinned(struct signkeys *sk, const char *kid, const char *alg_name, const char *pem,
    size_t len, const char *iss, const char *aud, const char *actor, int64_t now,
    struct signkey *out, struct keyimport_error *e)
{
	json_t *details;
	struct signkey nk = {.state = SIGNKEY_VERIFY, .imported = 1, .created_at = now}, old;
	struct view v = {0};
	const struct signkey *k;
	enum jwt_alg alg;
	char *canon = NULL;
	int rv;

	assert(!db_in_tx(sk->db));
	if ((rv = keyimport_check(kid, alg_name, pem, len, &alg, &canon, e)) < 0)
		return rv;
	if ((rv = keyimport_pins_check(iss, aud, e)) < 0) {
		free(canon);
		return rv;
	}
	snprintf(nk.kid, sizeof(nk.kid), "%s", kid);
	snprintf(nk.pinned_iss, sizeof(nk.pinned_iss), "%s", iss != NULL ? iss : "");
	snprintf(nk.pinned_aud, sizeof(nk.pinned_aud), "%s", aud != NULL ? aud : "");
	nk.alg = alg;
	if ((rv = db_begin(sk->db)) < 0)
		goto out;
	if ((rv = signkey_get(sk->db, kid, &old, NULL, 0)) == 0) {
		e->field = "kid";
		snprintf(e->detail, sizeof(e->detail), "kid \"%s\" is in use%s", kid,
		    old.state == SIGNKEY_RETIRED ? " by a retired key (kids are never reused)"
						 : "");
		rv = ERR_CONFLICT;
		goto fail;
	} else if (rv != ERR_NOT_FOUND) {
		goto fail;
	}
	details = json_pack(
	    "{s:s, s:s, s:s}", "kid", kid, "alg", jwt_alg_name(alg), "public_key_pem", canon);
	if (details != NULL && iss != NULL)
		json_object_set_new(details, "iss", json_string(iss));
	if (details != NULL && aud != NULL)
		json_object_set_new(details, "aud", json_string(aud));
	if ((rv = signkey_insert(sk->db, &nk, canon, NULL)) < 0 ||
	    (rv = audit_key(sk->db, now, actor, "key.import", kid, details)) < 0 ||
	    (rv = view_load(sk->db, &v)) < 0)
		goto fail;
	if ((rv = db_commit(sk->db)) < 0)
		goto out;
	view_swap(sk, &v);
	if ((k = signkeys_get(sk, kid)) != NULL)
		*out = *k;
	goto out;
fail:
	db_rollback(sk->db);
out:
	view_free(&v);
	free(canon);
	return rv;
}

int
signkeys_delete(
    struct signkeys *sk, const char *kid, const char *actor, int64_t now, struct signkey *out)
{
	struct view v = {0};
	struct signkey k = {0};
	int rv;

	assert(!db_in_tx(sk->db));
	if ((rv = db_begin(sk->db)) < 0)
		return rv;
	if ((rv = signkey_get(sk->db, kid, &k, NULL, 0)) < 0)
		goto fail;
	if (k.state == SIGNKEY_RETIRED) {
		rv = ERR_NOT_FOUND;
		goto fail;
	}
	if (k.state == SIGNKEY_ACTIVE) {
		rv = ERR_CONFLICT;
		goto fail;
	}
	/* Ours are kept as retired: their kids, which tokens carry, are never handed out again. */
	rv = k.imported ? signkey_delete(sk->db, kid) : signkey_set_retired(sk->db, kid, now);
	if (rv < 0 ||
	    (rv = audit_key(sk->db, now, actor, "key.delete", kid,
		 json_pack("{s:s, s:s, s:s, s:s}", "kid", kid, "alg", jwt_alg_name(k.alg), "origin",
		     k.imported ? "imported" : "snaptun", "result",
		     k.imported ? "deleted" : "retired"))) < 0 ||
	    (rv = view_load(sk->db, &v)) < 0)
		goto fail;
	if ((rv = db_commit(sk->db)) < 0)
		goto out;
	view_swap(sk, &v);
	if (out != NULL)
		*out = k;
	goto out;
fail:
	db_rollback(sk->db);
out:
	view_free(&v);
	return rv;
}

/* The keys a sweep retires, gathered before its first write. */
struct due {
	char (*kids)[JWT_KID_MAX + 1];
	size_t n, cap;
};

/* One key due into the list (a signkey_fn); 1 once it is full: more than memory knew of, the
 * rest go at the next sweep. */
static int
due_add(const struct signkey *k, const char *pem, const char *file, void *arg)
{
	struct due *d = arg;

	(void)pem;
	(void)file;
	snprintf(d->kids[d->n], sizeof(d->kids[d->n]), "%s", k->kid);
	return ++d->n == d->cap;
}

int
signkeys_retire_due(struct signkeys *sk, int64_t now)
{
	struct view v = {0};
	struct due due = {0};
	size_t i;
	int rv = 0;

	assert(!db_in_tx(sk->db));
	/* The memory matches the table: most sweeps end here without touching the store. */
	for (i = 0; i < sk->n; i++)
		if (sk->keys[i].state == SIGNKEY_VERIFY && sk->keys[i].verify_until != 0 &&
		    now > sk->keys[i].verify_until)
			break;
	if (i == sk->n)
		return 0;
	if ((rv = db_begin(sk->db)) < 0)
		return rv;
	rv = ERR_NOMEM;
	if ((due.kids = calloc(sk->n, sizeof(*due.kids))) == NULL)
		goto fail;
	due.cap = sk->n;
	if ((rv = signkey_each_due(sk->db, now, due_add, &due)) < 0)
		goto fail;
	for (i = 0; i < due.n; i++)
		if ((rv = signkey_set_retired(sk->db, due.kids[i], now)) < 0 ||
		    (rv = audit_key(sk->db, now, ACTOR_SWEEPER, "key.retire", due.kids[i],
			 json_pack("{s:s}", "kid", due.kids[i]))) < 0)
			goto fail;
	if ((rv = view_load(sk->db, &v)) < 0)
		goto fail;
	if ((rv = db_commit(sk->db)) < 0)
		goto out;
	view_swap(sk, &v);
	for (i = 0; i < due.n; i++)
		log_info("retired the signing key %s", due.kids[i]);
	rv = (int)due.n;
	goto out;
fail:
	db_rollback(sk->db);
out:
	free(due.kids);
	view_free(&v);
	return rv;
}

int
signkeys_reload(struct signkeys *sk)
{
	struct jwt_signer *s = NULL;
	struct view v = {0};
	int rv;

	assert(!db_in_tx(sk->db));
	if ((rv = view_load(sk->db, &v)) < 0)
		goto out;
	if (v.n == 0 || v.keys[0].state != SIGNKEY_ACTIVE) {
		log_error(
		    "the store has no active signing key: still signing with %s", sk->signer->kid);
		rv = ERR_DB;
		goto out;
	}
	/* Most reloads follow a change of this manager's own, or a key added or retired beside
	 * the active one: the signer stays. */
	if (strcmp(v.keys[0].kid, sk->signer->kid) != 0) {
		if ((rv = keyseal_open(sk->db, sk->secret, v.keys[0].kid, &s)) < 0)
			goto out;
		if (!signer_matches(v.keyset, s)) {
			log_error(
			    "the private half of the signing key %s does not match its public "
			    "key in the store: still signing with %s",
			    v.keys[0].kid, sk->signer->kid);
			rv = ERR_DB;
			goto out;
		}
		log_info("signing with the key %s, made active by another manager", s->kid);
		jwt_signer_free(sk->signer);
		sk->signer = s;
		s = NULL;
	}
	view_swap(sk, &v);
out:
	view_free(&v);
	jwt_signer_free(s);
	return rv;
}
