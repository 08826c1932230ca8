#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../db/db.h"
#include "../db/sqlite/stmt.h"
#include "../lib/b64url.h"
#include "../lib/clock.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "../lib/secret.h"
#include "../db/audit.h"
#include "signkeys.h"

#define KEYS_DIR "keys"
#define PEM_MAX (64 * 1024)
#define PATH_LEN 4096
#define KID_TRIES 8
#define ACTOR_SELF "snaptun-manager"
#define ACTOR_SWEEPER "sweeper"

static const char *const state_names[] = {"active", "verify", "retired"};

/* What is rebuilt from the table after every change, beside the copy in use. */
struct view {
	struct jwt_keyset *keyset;
	struct signkey *keys;
	size_t n;
};

const char *
signkey_state_str(enum signkey_state s)
{
	return state_names[s];
}

static int
state_parse(const char *s, enum signkey_state *out)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, state_names[i]) == 0) {
			*out = (enum signkey_state)i;
			return 0;
		}
	return -1;
}

static void
object_name(const char *kid, char *buf, size_t len)
{
	snprintf(buf, len, "key:%s", kid);
}

/* ---- the in-memory copy ---- */

static void
view_free(struct view *v)
{
	jwt_keyset_free(v->keyset);
	free(v->keys);
	memset(v, 0, sizeof(*v));
}

/* Read every non-retired key of the table into v (inside a transaction, its own writes
 * included). A key the JWT layer refuses, or pins to another algorithm than its row says, makes
 * the table unusable: ERR_DB. */
static int
view_load(struct db *db, struct view *v)
{
	sqlite3_stmt *st = db_stmt(db,
	    "SELECT kid, alg, public_key_pem, private_key_file IS NULL, state, created_at, "
	    "verify_until, retired_at FROM signing_keys WHERE state != 'retired' "
	    "ORDER BY state = 'active' DESC, created_at DESC, kid");
	const struct jwt_key *jk;
	struct signkey *k, *keys;
	const char *pem;
	size_t cap = 0;
	int rv = ERR_NOMEM;

	memset(v, 0, sizeof(*v));
	if ((v->keyset = jwt_keyset_new()) == NULL)
		goto out;
	while ((rv = db_row(st)) == 1) {
		if (v->n == cap) {
			cap = cap ? 2 * cap : 8;
			if ((keys = reallocarray(v->keys, cap, sizeof(*keys))) == NULL) {
				db_reset(st);
				rv = ERR_NOMEM;
				goto out;
			}
			v->keys = keys;
		}
		k = &v->keys[v->n];
		memset(k, 0, sizeof(*k));
		snprintf(k->kid, sizeof(k->kid), "%s", db_col_text(st, 0));
		k->alg = jwt_alg_parse(db_col_text(st, 1));
		k->imported = db_col_int(st, 3) != 0;
		state_parse(db_col_text(st, 4), &k->state);
		k->created_at = db_col_int(st, 5);
		k->verify_until = db_col_int(st, 6);
		k->retired_at = db_col_int(st, 7);
		pem = db_col_text(st, 2);
		if (jwt_keyset_add_pem(v->keyset, k->kid, pem, strlen(pem)) < 0 ||
		    (jk = jwt_keyset_find(v->keyset, k->kid)) == NULL || jk->alg != k->alg) {
			log_error("signing key \"%s\" in the store is unusable: its public key is "
				  "not a valid %s key",
			    k->kid, db_col_text(st, 1));
			db_reset(st);
			rv = ERR_DB;
			goto out;
		}
		v->n++;
	}
out:
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

/* ---- private key files ---- */

static int
path_of(const struct signkeys *sk, const char *rel, char *buf, size_t len)
{
	int n = rel[0] == '/' ? snprintf(buf, len, "%s", rel)
			      : snprintf(buf, len, "%s/%s", sk->state_dir, rel);

	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int
fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rv;

	if (fd < 0)
		return -1;
	rv = fsync(fd);
	close(fd);
	return rv;
}

/* <state_dir>/keys into dir, a directory of mode 0700; when it is created here, the state
 * dir's entry for it is synced too. 0 or -1 with errno. */
static int
keys_dir(const struct signkeys *sk, char *dir, size_t len)
{
	struct stat st;

	if (path_of(sk, KEYS_DIR, dir, len) < 0)
		return -1;
	if (mkdir(dir, 0700) == 0)
		return fsync_dir(sk->state_dir);
	if (errno != EEXIST || lstat(dir, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return (st.st_mode & 07777) != 0700 ? chmod(dir, 0700) : 0;
}

/* Write the private PEM of kid durably: a temporary file of mode 0600, synced, renamed to
 * keys/<kid>.pem, the directory synced. On success rel gets "keys/<kid>.pem". 0 or ERR_DB
 * (logged); a failure leaves no temporary file behind. */
static int
key_file_write(const struct signkeys *sk, const char *kid, const char *pem, size_t len, char *rel,
    size_t rellen)
{
	char dir[PATH_LEN], tmp[PATH_LEN + 160], path[PATH_LEN + 160];
	size_t off = 0;
	ssize_t n;
	int fd = -1, created = 0, saved, rv = ERR_DB;

	snprintf(path, sizeof(path), "%s/" KEYS_DIR, sk->state_dir);
	if (keys_dir(sk, dir, sizeof(dir)) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/%s.pem", dir, kid);
	snprintf(tmp, sizeof(tmp), "%s/.%s.pem.tmp", dir, kid);
	/* A temporary file left by a crash is stale: start afresh, never through a link. */
	if ((unlink(tmp) < 0 && errno != ENOENT) ||
	    (fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		goto out;
	created = 1;
	while (off < len) {
		if ((n = write(fd, pem + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0)
		goto out;
	n = close(fd);
	fd = -1;
	if (n < 0 || rename(tmp, path) < 0)
		goto out;
	created = 0;
	if (fsync_dir(dir) < 0)
		goto out;
	snprintf(rel, rellen, KEYS_DIR "/%s.pem", kid);
	rv = 0;
out:
	if (rv < 0) {
		saved = errno;
		log_error("cannot write the signing key file %s: %s", path, strerror(saved));
		if (created)
			unlink(tmp);
	}
	if (fd >= 0)
		close(fd);
	return rv;
}

/* The signer of kid from its private PEM file (rel to the state dir). 0 or ERR_DB (logged). */
static int
key_file_read(const struct signkeys *sk, const char *rel, const char *kid, struct jwt_signer **out)
{
	char path[PATH_LEN], *buf = NULL;
	struct stat st;
	size_t off = 0, size = 0;
	ssize_t n;
	int fd = -1, rv = ERR_DB;

	*out = NULL;
	if (path_of(sk, rel, path, sizeof(path)) < 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 || fstat(fd, &st) < 0) {
		log_error("cannot read the signing key file %s/%s: %s", sk->state_dir, rel,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > PEM_MAX) {
		log_error("%s is not a signing key file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0)
		log_warn("the signing key file %s has mode %03o; it should be 0600", path,
		    (unsigned)(st.st_mode & 0777));
	size = (size_t)st.st_size;
	rv = ERR_NOMEM;
	if ((buf = malloc(size)) == NULL)
		goto out;
	rv = ERR_DB;
	while (off < size) {
		if ((n = read(fd, buf + off, size - off)) < 0) {
			if (errno == EINTR)
				continue;
			log_error("cannot read the signing key file %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	if (jwt_signer_from_pem(kid, buf, off, out) < 0) {
		log_error("%s does not hold an Ed25519 private key", path);
		goto out;
	}
	rv = 0;
out:
	if (buf != NULL) {
		gnutls_memset(buf, 0, size);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	return rv;
}

/* Best effort: the private file of a retired key (its private half is of no use any more), or
 * of a key whose row was rolled back. */
static void
key_file_remove(const struct signkeys *sk, const char *rel)
{
	char path[PATH_LEN];

	if (rel[0] == '\0' || path_of(sk, rel, path, sizeof(path)) < 0)
		return;
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn(
		    "cannot remove the retired signing key file %s: %s", path, strerror(errno));
}

/* ---- keys ---- */

/* A GnuTLS datum as a NUL-terminated string (free()), or NULL. */
static char *
datum_str(const gnutls_datum_t *d)
{
	char *s = malloc(d->size + 1);

	if (s != NULL) {
		memcpy(s, d->data, d->size);
		s[d->size] = '\0';
	}
	return s;
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
	rv = (*pem = datum_str(&d)) != NULL ? 0 : ERR_NOMEM;
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
	sqlite3_stmt *st;
	size_t plen = strlen(SIGNKEYS_KID_PREFIX);
	int rv;

	for (int i = 0; i < KID_TRIES; i++) {
		if (secret_random(raw, sizeof(raw)) < 0)
			return ERR_DB;
		memcpy(kid, SIGNKEYS_KID_PREFIX, plen);
		b64url_encode(raw, sizeof(raw), kid + plen);
		st = db_stmt(db, "SELECT 1 FROM signing_keys WHERE kid = :kid");
		db_bind_text(st, ":kid", kid);
		if ((rv = db_row(st)) <= 0)
			return rv;
		db_reset(st);
	}
	log_error("no unused signing key id after %d random tries", KID_TRIES);
	return ERR_DB;
}

/* Inside the caller's transaction, after its checks: a new Ed25519 key of ours under kid. Its
 * private file is written durably first, then its row inserted as active; rel names the file
 * once written (for a caller that must remove it). The signer goes to *out. */
static int
key_create(struct signkeys *sk, const char *kid, int64_t now, struct jwt_signer **out, char *rel,
    size_t rellen)
{
	struct jwt_signer *s = NULL;
	char *priv = NULL, *pub = NULL;
	size_t len = 0;
	sqlite3_stmt *st;
	int rv;

	*out = NULL;
	rel[0] = '\0';
	if ((rv = jwt_signer_new(kid, &s)) < 0 || (rv = jwt_signer_pem(s, &priv, &len)) < 0) {
		log_error("cannot generate an Ed25519 key: %s", err_str(rv));
		rv = rv == ERR_NOMEM ? rv : ERR_DB;
		goto out;
	}
	if ((rv = signer_public_pem(s, &pub)) < 0 ||
	    (rv = key_file_write(sk, kid, priv, len, rel, rellen)) < 0)
		goto out;
	st = db_stmt(sk->db,
	    "INSERT INTO signing_keys (kid, alg, public_key_pem, private_key_file, state, "
	    "created_at) VALUES (:kid, 'EdDSA', :pem, :file, 'active', :now)");
	db_bind_text(st, ":kid", kid);
	db_bind_text(st, ":pem", pub);
	db_bind_text(st, ":file", rel);
	db_bind_int(st, ":now", now);
	if ((rv = db_run(st)) < 0)
		goto out;
	*out = s;
	s = NULL;
out:
	if (priv != NULL) {
		gnutls_memset(priv, 0, len);
		free(priv);
	}
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

	object_name(kid, object, sizeof(object));
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
 * store cannot both create one. *kid and *rel get the active key and its file; *signer the
 * signer when it was created here (NULL: read it from rel). */
static int
active_or_create(struct signkeys *sk, int64_t now, char *kid, char *rel, size_t rellen,
    struct jwt_signer **signer)
{
	sqlite3_stmt *st;
	int rv, nactive = 0;

	*signer = NULL;
	rel[0] = '\0';
	if ((rv = db_begin(sk->db)) < 0)
		return rv;
	st = db_stmt(
	    sk->db, "SELECT kid, private_key_file FROM signing_keys WHERE state = 'active'");
	while ((rv = db_row(st)) == 1)
		if (nactive++ == 0) {
			snprintf(kid, JWT_KID_MAX + 1, "%s", db_col_text(st, 0));
			snprintf(rel, rellen, "%s", db_col_text(st, 1));
		}
	if (rv < 0 || nactive > 1) {
		if (nactive > 1) {
			log_error(
			    "the store has %d active signing keys; there must be one", nactive);
			rv = ERR_DB;
		}
		rel[0] = '\0'; /* a key found here is not ours to remove */
		goto fail;
	}
	if (nactive == 1) {
		db_rollback(sk->db); /* a read: nothing to undo */
		if (rel[0] == '\0') {
			log_error("the active signing key %s has no private key file", kid);
			rv = ERR_DB;
		}
		goto out;
	}
	if ((rv = kid_pick(sk->db, kid)) < 0 ||
	    (rv = key_create(sk, kid, now, signer, rel, rellen)) < 0 ||
	    (rv = audit_key(sk->db, now, ACTOR_SELF, "key.create", kid,
		 json_pack("{s:s, s:s}", "kid", kid, "alg", "EdDSA"))) < 0)
		goto fail;
	/* A failed commit leaves the file: an orphan is harmless, a row without its key not. */
	if ((rv = db_commit(sk->db)) == 0)
		log_info("created the token signing key %s", kid);
	goto out;
fail:
	db_rollback(sk->db);
	key_file_remove(sk, rel);
out:
	if (rv < 0) {
		jwt_signer_free(*signer);
		*signer = NULL;
	}
	return rv;
}

int
signkeys_open(struct db *db, const char *state_dir, int64_t now, struct signkeys **out)
{
	struct signkeys *sk = NULL;
	struct view v = {0};
	char kid[JWT_KID_MAX + 1] = "", rel[PATH_LEN];
	int rv = ERR_NOMEM;

	*out = NULL;
	assert(!db_in_tx(db));
	if ((sk = calloc(1, sizeof(*sk))) == NULL || (sk->state_dir = strdup(state_dir)) == NULL)
		goto out;
	sk->db = db;
	if ((rv = active_or_create(sk, now, kid, rel, sizeof(rel), &sk->signer)) < 0)
		goto out;
	if (sk->signer == NULL && (rv = key_file_read(sk, rel, kid, &sk->signer)) < 0)
		goto out;
	if ((rv = view_load(db, &v)) < 0)
		goto out;
	if (!signer_matches(v.keyset, sk->signer)) {
		log_error("the private key file %s/%s does not match the public key of %s in the "
			  "store",
		    state_dir, rel, kid);
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
	free(sk->state_dir);
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
signkeys_jwk(const struct signkeys *sk, const char *kid)
{
	const struct jwt_key *k = jwt_keyset_find(sk->keyset, kid);
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

int
signkeys_rotate(struct signkeys *sk, const char *actor, int64_t now, struct signkey *out)
{
	struct jwt_signer *s = NULL;
	struct view v = {0};
	char kid[JWT_KID_MAX + 1], old[JWT_KID_MAX + 1] = "", rel[PATH_LEN] = "", when[32];
	int64_t until = now + SIGNKEYS_TOKEN_TTL_MAX;
	const struct signkey *k;
	sqlite3_stmt *st;
	json_t *d;
	int rv;

	assert(!db_in_tx(sk->db));
	if ((rv = db_begin(sk->db)) < 0)
		return rv;
	st = db_stmt(sk->db, "SELECT kid FROM signing_keys WHERE state = 'active'");
	if ((rv = db_row(st)) == 1) {
		snprintf(old, sizeof(old), "%s", db_col_text(st, 0));
		db_reset(st);
	} else if (rv < 0) {
		goto fail;
	}
	if ((rv = kid_pick(sk->db, kid)) < 0)
		goto fail;
	/* Checks done; from here on every step writes. */
	if (old[0] != '\0') {
		st = db_stmt(sk->db,
		    "UPDATE signing_keys SET state = 'verify', verify_until = :until "
		    "WHERE kid = :kid AND state = 'active'");
		db_bind_int(st, ":until", until);
		db_bind_text(st, ":kid", old);
		if ((rv = db_run(st)) < 0)
			goto fail;
	}
	if ((rv = key_create(sk, kid, now, &s, rel, sizeof(rel))) < 0)
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
		goto out; /* the file stays: see active_or_create() */
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
	key_file_remove(sk, rel);
out:
	view_free(&v);
	jwt_signer_free(s);
	return rv;
}

/* An imported key's kid: 1 to JWT_KID_MAX printable ASCII characters, no space, no "/". */
static int
import_kid_valid(const char *kid)
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
		else if ((*canon = datum_str(&out)) == NULL)
			rv = ERR_NOMEM;
	}
out:
	gnutls_free(x.data);
	gnutls_free(y.data);
	gnutls_free(out.data);
	gnutls_pubkey_deinit(pub);
	return rv;
}

/* The checks of an import that need no store; the canonical PEM goes to *canon. */
static int
import_check(const char *kid, const char *alg_name, const char *pem, size_t len, enum jwt_alg *alg,
    char **canon, struct signkeys_error *e)
{
	struct jwt_keyset *scratch = NULL;
	const struct jwt_key *k;
	enum jwt_alg key_alg;
	char desc[128];
	int rv = ERR_INVALID;

	*canon = NULL;
	if (!import_kid_valid(kid)) {
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
signkeys_import(struct signkeys *sk, const char *kid, const char *alg_name, const char *pem,
    size_t len, const char *actor, int64_t now, struct signkey *out, struct signkeys_error *e)
{
	struct view v = {0};
	const struct signkey *k;
	enum jwt_alg alg;
	char *canon = NULL;
	sqlite3_stmt *st;
	int rv;

	e->field = NULL;
	e->detail[0] = '\0';
	assert(!db_in_tx(sk->db));
	if ((rv = import_check(kid, alg_name, pem, len, &alg, &canon, e)) < 0)
		return rv;
	if ((rv = db_begin(sk->db)) < 0)
		goto out;
	st = db_stmt(sk->db, "SELECT state FROM signing_keys WHERE kid = :kid");
	db_bind_text(st, ":kid", kid);
	if ((rv = db_row(st)) == 1) {
		e->field = "kid";
		snprintf(e->detail, sizeof(e->detail), "kid \"%s\" is in use%s", kid,
		    strcmp(db_col_text(st, 0), "retired") == 0
			? " by a retired key (kids are never reused)"
			: "");
		db_reset(st);
		rv = ERR_CONFLICT;
		goto fail;
	} else if (rv < 0) {
		goto fail;
	}
	st = db_stmt(sk->db,
	    "INSERT INTO signing_keys (kid, alg, public_key_pem, state, created_at) "
	    "VALUES (:kid, :alg, :pem, 'verify', :now)");
	db_bind_text(st, ":kid", kid);
	db_bind_text(st, ":alg", jwt_alg_name(alg));
	db_bind_text(st, ":pem", canon);
	db_bind_int(st, ":now", now);
	if ((rv = db_run(st)) < 0 ||
	    (rv = audit_key(sk->db, now, actor, "key.import", kid,
		 json_pack("{s:s, s:s, s:s}", "kid", kid, "alg", jwt_alg_name(alg),
		     "public_key_pem", canon))) < 0 ||
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
	char rel[PATH_LEN] = "";
	sqlite3_stmt *st;
	int rv;

	assert(!db_in_tx(sk->db));
	if ((rv = db_begin(sk->db)) < 0)
		return rv;
	st = db_stmt(sk->db,
	    "SELECT kid, alg, private_key_file, state, created_at, verify_until, retired_at "
	    "FROM signing_keys WHERE kid = :kid");
	db_bind_text(st, ":kid", kid);
	if ((rv = db_row(st)) <= 0) {
		rv = rv == 0 ? ERR_NOT_FOUND : rv;
		goto fail;
	}
	snprintf(k.kid, sizeof(k.kid), "%s", db_col_text(st, 0));
	k.alg = jwt_alg_parse(db_col_text(st, 1));
	k.imported = db_col_is_null(st, 2);
	snprintf(rel, sizeof(rel), "%s", db_col_text(st, 2));
	state_parse(db_col_text(st, 3), &k.state);
	k.created_at = db_col_int(st, 4);
	k.verify_until = db_col_int(st, 5);
	k.retired_at = db_col_int(st, 6);
	db_reset(st);
	if (k.state == SIGNKEY_RETIRED) {
		rv = ERR_NOT_FOUND;
		goto fail;
	}
	if (k.state == SIGNKEY_ACTIVE) {
		rv = ERR_CONFLICT;
		goto fail;
	}
	/* Ours are kept as retired: their kids, which tokens carry, are never handed out again. */
	st = db_stmt(sk->db,
	    k.imported ? "DELETE FROM signing_keys WHERE kid = :kid"
		       : "UPDATE signing_keys SET state = 'retired', retired_at = :now "
			 "WHERE kid = :kid");
	db_bind_text(st, ":kid", kid);
	if (!k.imported)
		db_bind_int(st, ":now", now);
	if ((rv = db_run(st)) < 0 ||
	    (rv = audit_key(sk->db, now, actor, "key.delete", kid,
		 json_pack("{s:s, s:s, s:s, s:s}", "kid", kid, "alg", jwt_alg_name(k.alg), "origin",
		     k.imported ? "imported" : "snaptun", "result",
		     k.imported ? "deleted" : "retired"))) < 0 ||
	    (rv = view_load(sk->db, &v)) < 0)
		goto fail;
	if ((rv = db_commit(sk->db)) < 0)
		goto out;
	view_swap(sk, &v);
	if (!k.imported)
		key_file_remove(sk, rel);
	if (out != NULL)
		*out = k;
	goto out;
fail:
	db_rollback(sk->db);
out:
	view_free(&v);
	return rv;
}

struct due {
	char kid[JWT_KID_MAX + 1];
	char *rel;
};

int
signkeys_retire_due(struct signkeys *sk, int64_t now)
{
	struct view v = {0};
	struct due *due = NULL;
	sqlite3_stmt *st;
	size_t n = 0, i;
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
	if ((due = calloc(sk->n, sizeof(*due))) == NULL)
		goto fail;
	st = db_stmt(sk->db,
	    "SELECT kid, private_key_file FROM signing_keys WHERE state = 'verify' AND "
	    "verify_until IS NOT NULL AND verify_until < :now ORDER BY verify_until, kid");
	db_bind_int(st, ":now", now);
	while (n < sk->n && (rv = db_row(st)) == 1) {
		snprintf(due[n].kid, sizeof(due[n].kid), "%s", db_col_text(st, 0));
		if ((due[n++].rel = strdup(db_col_text(st, 1))) == NULL) {
			db_reset(st);
			rv = ERR_NOMEM;
			goto fail;
		}
	}
	if (rv == 1)
		db_reset(st); /* more than memory knew of: the rest go at the next sweep */
	else if (rv < 0)
		goto fail;
	for (i = 0; i < n; i++) {
		st = db_stmt(sk->db,
		    "UPDATE signing_keys SET state = 'retired', retired_at = :now WHERE kid = :kid");
		db_bind_int(st, ":now", now);
		db_bind_text(st, ":kid", due[i].kid);
		if ((rv = db_run(st)) < 0 ||
		    (rv = audit_key(sk->db, now, ACTOR_SWEEPER, "key.retire", due[i].kid,
			 json_pack("{s:s}", "kid", due[i].kid))) < 0)
			goto fail;
	}
	if ((rv = view_load(sk->db, &v)) < 0)
		goto fail;
	if ((rv = db_commit(sk->db)) < 0)
		goto out;
	view_swap(sk, &v);
	for (i = 0; i < n; i++) {
		key_file_remove(sk, due[i].rel);
		log_info("retired the signing key %s", due[i].kid);
	}
	rv = (int)n;
	goto out;
fail:
	db_rollback(sk->db);
out:
	for (i = 0; due != NULL && i < n; i++)
		free(due[i].rel);
	free(due);
	view_free(&v);
	return rv;
}
