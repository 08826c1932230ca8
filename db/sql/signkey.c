/* The token keys (db/signkey.h). */
#include <stdio.h>
#include <string.h>

#include "../../lib/err.h"
#include "../signkey.h"
#include "../agentdelta.h"
#include "../stmt.h"

#define KEY_SELECT \
	"SELECT kid, alg, public_key_pem, private_key_file, state, created_at, verify_until, " \
	"retired_at, pinned_iss, pinned_aud, private_key_sealed FROM signing_keys"

static void
row_read(struct signkey *k, struct stmt *st)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->kid, sizeof(k->kid), "%s", db_col_text(st, 0));
	k->alg = jwt_alg_parse(db_col_text(st, 1));
	k->imported = db_col_is_null(st, 3) && db_col_is_null(st, 10);
	k->sealed = !db_col_is_null(st, 10) && db_col_text(st, 10)[0] != '\0';
	signkey_state_parse(db_col_text(st, 4), &k->state);
	k->created_at = db_col_int(st, 5);
	k->verify_until = db_col_int(st, 6);
	k->retired_at = db_col_int(st, 7);
	snprintf(k->pinned_iss, sizeof(k->pinned_iss), "%s", db_col_text(st, 8));
	snprintf(k->pinned_aud, sizeof(k->pinned_aud), "%s", db_col_text(st, 9));
}

/* Hand each row of st to fn. */
static int
walk(struct stmt *st, signkey_fn fn, void *arg)
{
	struct signkey k;
	int rv, stop = 0;

	while (stop == 0 && (rv = db_row(st)) == 1) {
		row_read(&k, st);
		stop = fn(&k, db_col_text(st, 2), db_col_text(st, 3), arg);
	}
	if (stop == 0)
		return rv;
	db_reset(st);
	return stop < 0 ? stop : 0;
}

int
signkey_each(struct db *db, signkey_fn fn, void *arg)
{
	return walk(db_stmt(db,
			KEY_SELECT " WHERE state != 'retired' ORDER BY state = 'active' DESC, "
				   "created_at DESC, kid"),
	    fn, arg);
}

int
signkey_each_due(struct db *db, int64_t now, signkey_fn fn, void *arg)
{
	struct stmt *st = db_stmt(db,
	    KEY_SELECT " WHERE state = 'verify' AND verify_until IS NOT NULL AND "
		       "verify_until < :now ORDER BY verify_until, kid");

	db_bind_int(st, ":now", now);
	return walk(st, fn, arg);
}

int
signkey_get(struct db *db, const char *kid, struct signkey *k, char *file, size_t filelen)
{
	struct stmt *st = db_stmt(db, KEY_SELECT " WHERE kid = :kid");
	int rv;

	db_bind_text(st, ":kid", kid);
	if ((rv = db_row(st)) <= 0)
		return rv == 0 ? ERR_NOT_FOUND : rv;
	row_read(k, st);
	if (file != NULL)
		snprintf(file, filelen, "%s", db_col_text(st, 3));
	db_reset(st);
	return 0;
}

int
signkey_active(struct db *db, struct signkey *k, char *file, size_t filelen)
{
	struct stmt *st = db_stmt(db, KEY_SELECT " WHERE state = 'active'");
	int rv, n = 0;

	while ((rv = db_row(st)) == 1)
		if (n++ == 0) {
			row_read(k, st);
			if (file != NULL)
				snprintf(file, filelen, "%s", db_col_text(st, 3));
		}
	return rv < 0 ? rv : n;
}

int
signkey_insert(struct db *db, const struct signkey *k, const char *public_pem, const char *sealed)
{
	struct stmt *st = db_stmt(db,
	    "INSERT INTO signing_keys (kid, alg, public_key_pem, private_key_sealed, state, "
	    "created_at, verify_until, pinned_iss, pinned_aud) VALUES (:kid, :alg, :pem, :sealed, "
	    ":state, :now, :until, :iss, :aud)");
	int rv;

	db_bind_text(st, ":kid", k->kid);
	db_bind_text(st, ":alg", jwt_alg_name(k->alg));
	db_bind_text(st, ":pem", public_pem);
	db_bind_text(st, ":sealed", sealed);
	db_bind_text(st, ":state", signkey_state_str(k->state));
	db_bind_int(st, ":now", k->created_at);
	if (k->verify_until != 0)
		db_bind_int(st, ":until", k->verify_until);
	if (k->pinned_iss[0] != '\0')
		db_bind_text(st, ":iss", k->pinned_iss);
	if (k->pinned_aud[0] != '\0')
		db_bind_text(st, ":aud", k->pinned_aud);
	if ((rv = db_run(st)) < 0 || k->state == SIGNKEY_RETIRED)
		return rv;
	return agentdelta_add(db, AGENTDELTA_KEY, k->kid, 0, 0, NULL);
}

int
signkey_sealed(struct db *db, const char *kid, char *buf, size_t len)
{
	struct stmt *st = db_stmt(db,
	    "SELECT private_key_sealed FROM signing_keys WHERE kid = :kid AND "
	    "private_key_sealed IS NOT NULL AND private_key_sealed != ''");
	const char *text;
	int rv;

	db_bind_text(st, ":kid", kid);
	if ((rv = db_row(st)) <= 0)
		return rv == 0 ? ERR_NOT_FOUND : rv;
	text = db_col_text(st, 0);
	rv = strlen(text) < len ? 0 : ERR_LIMIT;
	if (rv == 0)
		memcpy(buf, text, strlen(text) + 1);
	db_reset(st);
	return rv;
}

int
signkey_each_file(struct db *db, signkey_fn fn, void *arg)
{
	return walk(
	    db_stmt(db, KEY_SELECT " WHERE private_key_file IS NOT NULL ORDER BY kid"), fn, arg);
}

int
signkey_seal(struct db *db, const char *kid, const char *sealed)
{
	struct stmt *st = db_stmt(db,
	    "UPDATE signing_keys SET private_key_sealed = :sealed "
	    "WHERE kid = :kid AND private_key_sealed IS NULL");

	db_bind_text(st, ":sealed", sealed);
	db_bind_text(st, ":kid", kid);
	return db_run_one(db, st);
}

int
signkey_file_forget(struct db *db, const char *kid)
{
	struct stmt *st =
	    db_stmt(db, "UPDATE signing_keys SET private_key_file = NULL WHERE kid = :kid");

	db_bind_text(st, ":kid", kid);
	return db_run(st);
}

int
signkey_set_verify(struct db *db, const char *kid, int64_t until)
{
	struct stmt *st = db_stmt(db,
	    "UPDATE signing_keys SET state = 'verify', verify_until = :until "
	    "WHERE kid = :kid AND state = 'active'");
	int rv;

	db_bind_int(st, ":until", until);
	db_bind_text(st, ":kid", kid);
	if ((rv = db_run(st)) < 0)
		return rv;
	if (db_changes(db) == 0)
		return 0;
	if ((rv = agentdelta_add(db, AGENTDELTA_KEY, kid, 0, 0, NULL)) < 0)
		return rv;
	return 1;
}

int
signkey_set_retired(struct db *db, const char *kid, int64_t now)
{
	struct stmt *st = db_stmt(db,
	    "UPDATE signing_keys SET state = 'retired', retired_at = :now, private_key_sealed = "
	    "CASE WHEN private_key_sealed IS NULL THEN NULL ELSE '' END WHERE kid = :kid");
	int rv;

	db_bind_int(st, ":now", now);
	db_bind_text(st, ":kid", kid);
	if ((rv = db_run_one(db, st)) < 0)
		return rv;
	return agentdelta_add(db, AGENTDELTA_KEY_RETIRE, kid, 0, 0, NULL);
}

int
signkey_delete(struct db *db, const char *kid)
{
	struct stmt *st = db_stmt(db, "DELETE FROM signing_keys WHERE kid = :kid");
	int rv;

	db_bind_text(st, ":kid", kid);
	if ((rv = db_run_one(db, st)) < 0)
		return rv;
	return agentdelta_add(db, AGENTDELTA_KEY_RETIRE, kid, 0, 0, NULL);
}
