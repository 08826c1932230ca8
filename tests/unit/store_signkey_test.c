/* The store's token keys (db/signkey.h) against a real SQLite file: insert (kids unique, one
 * active key at most, the sealed private half kept), the active key, lookups in every state,
 * active → verify once, the walks (order, early end, a callback's error) and the due walk,
 * retire (the sealed half erased) and delete, rows of before that name a key file (walked,
 * sealed once, forgotten), state names. The store keeps PEM and sealed text as it is given:
 * checking and opening keys is its callers' part. */
#include <stdio.h>
#include <string.h>

#include "../../db/db.h"
#include "../../db/signkey.h"
#include "../../db/stmt.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "check.h"

#define T0 1700000000

static struct db *db;

/* What a walk saw, in order. */
struct seen {
	char kids[8][JWT_KID_MAX + 1];
	char files[8][64];
	int n, stop_after, fail_at;
};

static int
see(const struct signkey *k, const char *pem, const char *file, void *arg)
{
	struct seen *s = arg;

	if (s->n == s->fail_at)
		return ERR_NOMEM;
	snprintf(s->kids[s->n], sizeof(s->kids[s->n]), "%s", k->kid);
	/* "?" when the public key did not come along */
	snprintf(s->files[s->n], sizeof(s->files[s->n]), "%s", pem[0] != '\0' ? file : "?");
	return ++s->n == s->stop_after;
}

static int
insert(const char *kid, enum signkey_state state, int64_t created, const char *sealed)
{
	struct signkey k = {.alg = JWT_ALG_EDDSA, .state = state, .created_at = created};

	snprintf(k.kid, sizeof(k.kid), "%s", kid);
	return signkey_insert(db, &k, "-----BEGIN PUBLIC KEY-----", sealed);
}

int
main(void)
{
	struct seen s = {.stop_after = -1, .fail_at = -1};
	char path[512], file[64], sealed[64];
	struct stmt *sql;
	enum signkey_state st;
	struct signkey k;

	log_set_level(LOG_WARN);
	snprintf(path, sizeof(path), "%s/store_signkey.db", check_tmpdir());
	if (db_open(path, &db) < 0)
		return 1;

	CHECK_EQ_INT(signkey_active(db, &k, file, sizeof(file)), 0, "no active key at first");
	CHECK(insert("k-1", SIGNKEY_ACTIVE, T0, "s1.one") == 0, "insert our first key");
	CHECK_EQ_INT(insert("k-2", SIGNKEY_ACTIVE, T0 + 1, "s1.two"), ERR_CONFLICT,
	    "a second active key is refused");
	CHECK_EQ_INT(
	    insert("k-1", SIGNKEY_VERIFY, T0 + 1, NULL), ERR_CONFLICT, "a kid in use is refused");
	CHECK(signkey_active(db, &k, file, sizeof(file)) == 1 && strcmp(k.kid, "k-1") == 0 &&
		file[0] == '\0' && k.alg == JWT_ALG_EDDSA && !k.imported && k.sealed,
	    "one active key, sealed, naming no file");
	CHECK(
	    signkey_sealed(db, "k-1", sealed, sizeof(sealed)) == 0 && strcmp(sealed, "s1.one") == 0,
	    "its sealed private half is kept as given");
	CHECK_EQ_INT(signkey_sealed(db, "k-1", sealed, 6), ERR_LIMIT,
	    "a sealed half longer than the buffer is refused, not cut");
	CHECK(insert("outside", SIGNKEY_VERIFY, T0 + 2, NULL) == 0 &&
		signkey_get(db, "outside", &k, file, sizeof(file)) == 0 && k.imported &&
		file[0] == '\0' && !k.sealed && k.state == SIGNKEY_VERIFY && k.verify_until == 0 &&
		k.created_at == T0 + 2 &&
		signkey_sealed(db, "outside", sealed, sizeof(sealed)) == ERR_NOT_FOUND,
	    "an imported key has no private half and no verify_until");
	CHECK_EQ_INT(signkey_get(db, "nope", &k, NULL, 0), ERR_NOT_FOUND, "an unknown kid");
	CHECK(k.pinned_iss[0] == '\0' && k.pinned_aud[0] == '\0', "  and no pins unless given");
	memset(&k, 0, sizeof(k));
	snprintf(k.kid, sizeof(k.kid), "pinned");
	k.alg = JWT_ALG_EDDSA;
	k.state = SIGNKEY_VERIFY;
	k.created_at = T0;
	snprintf(k.pinned_iss, sizeof(k.pinned_iss), "https://idp.example");
	CHECK(signkey_insert(db, &k, "-----BEGIN PUBLIC KEY-----", NULL) == 0 &&
		signkey_get(db, "pinned", &k, NULL, 0) == 0 &&
		strcmp(k.pinned_iss, "https://idp.example") == 0 && k.pinned_aud[0] == '\0',
	    "an imported key's iss pin is stored, its empty aud pin stays none");
	CHECK_EQ_INT(signkey_delete(db, "pinned"), 0, "  (deleted again)");

	CHECK_EQ_INT(signkey_set_verify(db, "k-1", T0 + 100), 1, "active → verify");
	CHECK_EQ_INT(signkey_set_verify(db, "k-1", T0 + 200), 0, "once: it is not active now");
	CHECK(signkey_get(db, "k-1", &k, NULL, 0) == 0 && k.state == SIGNKEY_VERIFY &&
		k.verify_until == T0 + 100,
	    "verify until the first given time");
	CHECK(insert("k-2", SIGNKEY_ACTIVE, T0 + 3, "s1.two") == 0 &&
		signkey_active(db, &k, NULL, 0) == 1 && strcmp(k.kid, "k-2") == 0,
	    "the next active key (no file wanted)");

	CHECK(signkey_each(db, see, &s) == 0 && s.n == 3 && strcmp(s.kids[0], "k-2") == 0 &&
		strcmp(s.kids[1], "outside") == 0 && strcmp(s.kids[2], "k-1") == 0 &&
		strcmp(s.files[0], "") == 0 && strcmp(s.files[1], "") == 0,
	    "walk: the active key, then the newest first, naming no files");
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	s.fail_at = -1;
	CHECK(signkey_each(db, see, &s) == 0 && s.n == 1, "a callback's 1 ends the walk");
	memset(&s, 0, sizeof(s));
	s.stop_after = -1;
	s.fail_at = 1;
	CHECK(signkey_each(db, see, &s) == ERR_NOMEM && s.n == 1,
	    "a callback's error ends the walk with it");
	CHECK(signkey_each(db, see, &(struct seen){.stop_after = -1, .fail_at = -1}) == 0,
	    "and the next walk starts afresh");

	memset(&s, 0, sizeof(s));
	s.stop_after = s.fail_at = -1;
	CHECK(signkey_each_due(db, T0 + 100, see, &s) == 0 && s.n == 0,
	    "nothing due at verify_until itself");
	CHECK(signkey_each_due(db, T0 + 101, see, &s) == 0 && s.n == 1 &&
		strcmp(s.kids[0], "k-1") == 0 && strcmp(s.files[0], "") == 0,
	    "our key past verify_until is due; the imported key never is");

	CHECK_EQ_INT(signkey_set_retired(db, "k-1", T0 + 101), 0, "retire");
	CHECK(signkey_get(db, "k-1", &k, NULL, 0) == 0 && k.state == SIGNKEY_RETIRED &&
		k.retired_at == T0 + 101,
	    "a retired key is still found by kid");
	CHECK(!k.sealed && !k.imported &&
		signkey_sealed(db, "k-1", sealed, sizeof(sealed)) == ERR_NOT_FOUND,
	    "  its sealed private half erased, and still ours");
	memset(&s, 0, sizeof(s));
	s.stop_after = s.fail_at = -1;
	CHECK(signkey_each(db, see, &s) == 0 && s.n == 2 &&
		signkey_each_due(db, T0 + 500, see, &s) == 0 && s.n == 2,
	    "but no walk sees it");
	CHECK_EQ_INT(signkey_set_retired(db, "nope", T0), ERR_NOT_FOUND, "retire an unknown kid");
	CHECK_EQ_INT(insert("k-1", SIGNKEY_VERIFY, T0 + 600, NULL), ERR_CONFLICT,
	    "a retired kid is never used again");

	/* A row of before: it names its key file and holds no sealed half. */
	CHECK(insert("k-old", SIGNKEY_VERIFY, T0 + 700, NULL) == 0, "a row of before");
	sql = db_stmt(
	    db, "UPDATE signing_keys SET private_key_file = 'keys/k-old.pem' WHERE kid = 'k-old'");
	db_run(sql);
	memset(&s, 0, sizeof(s));
	s.stop_after = s.fail_at = -1;
	CHECK(signkey_each_file(db, see, &s) == 0 && s.n == 1 && strcmp(s.kids[0], "k-old") == 0 &&
		strcmp(s.files[0], "keys/k-old.pem") == 0 &&
		signkey_get(db, "k-old", &k, NULL, 0) == 0 && !k.sealed && !k.imported,
	    "the file walk sees only it, with its file; it is ours, not sealed");
	CHECK_EQ_INT(signkey_seal(db, "k-old", "s1.old"), 0, "seal it");
	CHECK_EQ_INT(signkey_seal(db, "k-old", "s1.again"), ERR_NOT_FOUND, "  once");
	CHECK(signkey_sealed(db, "k-old", sealed, sizeof(sealed)) == 0 &&
		strcmp(sealed, "s1.old") == 0 &&
		signkey_get(db, "k-old", &k, file, sizeof(file)) == 0 && k.sealed &&
		strcmp(file, "keys/k-old.pem") == 0,
	    "  sealed, and it still names its file");
	memset(&s, 0, sizeof(s));
	s.stop_after = s.fail_at = -1;
	CHECK(signkey_file_forget(db, "k-old") == 0 && signkey_each_file(db, see, &s) == 0 &&
		s.n == 0 && signkey_get(db, "k-old", &k, file, sizeof(file)) == 0 &&
		file[0] == '\0' && k.sealed,
	    "forgotten: no row names a file, the seal stays");
	CHECK_EQ_INT(signkey_seal(db, "nope", "s1.x"), ERR_NOT_FOUND, "seal an unknown kid");

	CHECK_EQ_INT(signkey_delete(db, "outside"), 0, "delete an imported key");
	CHECK(signkey_get(db, "outside", &k, NULL, 0) == ERR_NOT_FOUND, "its row is gone");
	CHECK_EQ_INT(signkey_delete(db, "outside"), ERR_NOT_FOUND, "delete once");

	CHECK(signkey_state_parse("verify", &st) == 0 && st == SIGNKEY_VERIFY &&
		strcmp(signkey_state_str(SIGNKEY_RETIRED), "retired") == 0 &&
		signkey_state_parse("gone", &st) < 0,
	    "state names both ways; an unknown one is refused");
	db_close(db);
	return check_done();
}
