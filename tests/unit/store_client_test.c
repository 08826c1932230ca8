/* The store's clients (db/client.h) against a real SQLite file: insert and its uniqueness,
 * lookups by pssid, join token and refresh hash, enrolled as the join token says, the refresh
 * rotation that remembers the superseded hash, the plain refresh reset that does not, update,
 * revoke, the list's filters and paging, delete. */
#include <stdio.h>
#include <string.h>

#include "../../db/client.h"
#include "../../db/db.h"
#include "../../db/jointoken.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "check.h"

#define T0 1700000000

static struct db *db;

static void
test_insert_get(void)
{
	struct jointoken_spec spec = {"", "{}", 0, 3600};
	struct join_token t;
	struct client c;

	jointoken_insert(db, "jt-1", &spec, "test", T0, &t);
	CHECK(client_insert(db, "p-1", "edge", "{\"site\":\"zrh\"}", t.id, "r-1", T0) == 0 &&
		client_insert(db, "p-2", "admin-made", "{}", 0, "r-2", T0) == 0,
	    "insert a client from a join token and one without");
	CHECK_EQ_INT(client_insert(db, "p-1", "again", "{}", 0, "r-9", T0), ERR_CONFLICT,
	    "a pssid in use is a conflict");
	CHECK_EQ_INT(client_insert(db, "p-9", "copy", "{}", 0, "r-1", T0), ERR_CONFLICT,
	    "a refresh hash in use is a conflict");
	CHECK(client_get(db, "p-1", &c) == 0 && strcmp(c.name, "edge") == 0 &&
		strcmp(c.labels, "{\"site\":\"zrh\"}") == 0 && c.join_token_id == t.id &&
		c.created_at == T0 && c.revoked_at == 0 && !c.enrolled,
	    "get by pssid; not enrolled while its join token is not consumed");
	CHECK(client_get(db, "p-2", &c) == 0 && c.enrolled && c.join_token_id == 0,
	    "a client without a join token counts as enrolled");
	CHECK(client_get_by_join_token(db, t.id, &c) == 0 && strcmp(c.pssid, "p-1") == 0,
	    "get by join token");
	CHECK(client_get_by_refresh(db, "r-1", &c) == 0 && strcmp(c.pssid, "p-1") == 0,
	    "get by refresh hash");
	CHECK(client_get(db, "p-9", &c) == ERR_NOT_FOUND &&
		client_get_by_join_token(db, t.id + 1, &c) == ERR_NOT_FOUND &&
		client_get_by_refresh(db, "r-9", &c) == ERR_NOT_FOUND,
	    "unknown pssid, join token and refresh hash are not found");
	jointoken_set_in_flight(db, t.id, JT_ISSUED, "192.0.2.1", T0 + 30, "ack", T0);
	jointoken_set_consumed(db, t.id, T0 + 1);
	CHECK(client_get(db, "p-1", &c) == 0 && c.enrolled, "enrolled once its token is consumed");
}

static void
test_refresh(void)
{
	struct client_superseded sup;
	struct client c;

	client_insert(db, "p-r", "r", "{}", 0, "h-1", T0);
	CHECK_EQ_INT(client_rotate_refresh(db, "p-r", "h-1", "h-2", 0, T0 + 1), 0,
	    "rotate the refresh hash");
	CHECK(client_get_by_refresh(db, "h-1", &c) == ERR_NOT_FOUND &&
		client_get_by_refresh(db, "h-2", &c) == 0 && c.updated_at == T0 + 1,
	    "the new hash finds the client, the old one does not");
	CHECK(client_get_superseded(db, "h-1", &sup) == 0 && strcmp(sup.pssid, "p-r") == 0 &&
		sup.successor_hash[0] == '\0' && sup.superseded_at == T0 + 1,
	    "the old hash is remembered as superseded by its pssid");
	CHECK_EQ_INT(client_get_superseded(db, "h-2", &sup), ERR_NOT_FOUND,
	    "the current hash is not superseded");
	CHECK_EQ_INT(client_rotate_refresh(db, "p-r", "h-1", "h-3", 0, T0 + 2), ERR_NOT_FOUND,
	    "rotating from a hash that is not current changes nothing");
	CHECK(client_get_by_refresh(db, "h-2", &c) == 0 &&
		client_get_superseded(db, "h-3", &sup) == ERR_NOT_FOUND,
	    "the current hash stays");

	CHECK(client_rotate_refresh(db, "p-r", "h-2", "h-2b", 1, T0 + 2) == 0 &&
		client_get_superseded(db, "h-2", &sup) == 0 &&
		strcmp(sup.successor_hash, "h-2b") == 0,
	    "a retriable rotation remembers its successor's hash");
	CHECK_EQ_INT(client_set_refresh(db, "p-r", "h-4", T0 + 3), 0, "reset the refresh hash");
	CHECK(client_get_by_refresh(db, "h-4", &c) == 0 &&
		client_get_by_refresh(db, "h-2b", &c) == ERR_NOT_FOUND &&
		client_get_superseded(db, "h-2b", &sup) == ERR_NOT_FOUND,
	    "the replaced hash is forgotten, not superseded");
	CHECK_EQ_INT(client_set_refresh(db, "p-none", "h-5", T0 + 3), ERR_NOT_FOUND,
	    "reset for an unknown pssid");

	CHECK_EQ_INT(client_set_revoked(db, "p-r", "stolen", T0 + 4), 0, "revoke");
	CHECK(client_get(db, "p-r", &c) == 0 && c.revoked_at == T0 + 4 &&
		strcmp(c.revoke_reason, "stolen") == 0 &&
		client_get_by_refresh(db, "h-4", &c) == ERR_NOT_FOUND,
	    "revoked at that time for that reason; its refresh hash died");
	CHECK_EQ_INT(client_set_refresh(db, "p-r", "h-6", T0 + 5), ERR_NOT_FOUND,
	    "a revoked client gets no new refresh hash");
	CHECK_EQ_INT(client_set_revoked(db, "p-none", "x", T0), ERR_NOT_FOUND, "unknown pssid");
}

static void
test_update_list_delete(void)
{
	struct client_filter all = {NULL, NULL, -1}, revoked = {NULL, NULL, 1},
			     live = {NULL, NULL, 0}, site = {"site", "ber", -1};
	struct client_superseded sup;
	struct client v[8], c;
	int64_t from;
	int n;

	/* The lists start after the clients of the tests before. */
	client_insert(db, "p-a", "a", "{\"site\":\"zrh\"}", 0, "ha", T0);
	from = client_get(db, "p-a", &c) == 0 ? c.id - 1 : 0;
	client_insert(db, "p-b", "b", "{}", 0, "hb", T0);
	client_insert(db, "p-c", "c", "{}", 0, "hc", T0);
	CHECK(client_update(db, "p-a", "renamed", NULL, T0 + 1) == 0 &&
		client_get(db, "p-a", &c) == 0 && strcmp(c.name, "renamed") == 0 &&
		strcmp(c.labels, "{\"site\":\"zrh\"}") == 0 && c.updated_at == T0 + 1,
	    "update the name only: the labels stay");
	CHECK(client_update(db, "p-b", NULL, "{\"site\":\"ber\"}", T0 + 2) == 0 &&
		client_get(db, "p-b", &c) == 0 && strcmp(c.name, "b") == 0 &&
		strcmp(c.labels, "{\"site\":\"ber\"}") == 0,
	    "update the labels only: the name stays");
	CHECK_EQ_INT(client_update(db, "p-none", "x", NULL, T0), ERR_NOT_FOUND, "unknown pssid");

	{
		int64_t a0, r0, a1, r1;

		CHECK(client_count(db, &a0, &r0) == 0 &&
			client_set_revoked(db, "p-c", "gone", T0 + 3) == 0 &&
			client_count(db, &a1, &r1) == 0 && a1 == a0 - 1 && r1 == r0 + 1,
		    "counts: a revoked client leaves the active ones for the revoked");
	}
	CHECK(client_list(db, &all, from, 2, v, &n) == 0 && n == 2 &&
		strcmp(v[0].pssid, "p-a") == 0 && strcmp(v[1].pssid, "p-b") == 0 &&
		client_list(db, &all, v[1].id, 2, v, &n) == 0 && n == 1 &&
		strcmp(v[0].pssid, "p-c") == 0,
	    "list by id with a limit, then after the last id");
	CHECK(client_list(db, &revoked, from, 8, v, &n) == 0 && n == 1 &&
		strcmp(v[0].pssid, "p-c") == 0,
	    "revoked=true");
	CHECK(client_list(db, &live, from, 8, v, &n) == 0 && n == 2, "revoked=false");
	CHECK(
	    client_list(db, &site, from, 8, v, &n) == 0 && n == 1 && strcmp(v[0].pssid, "p-b") == 0,
	    "a label key and value");

	client_rotate_refresh(db, "p-a", "ha", "ha2", 0, T0 + 4);
	CHECK_EQ_INT(client_delete(db, "p-a"), 0, "delete");
	CHECK(client_get(db, "p-a", &c) == ERR_NOT_FOUND &&
		client_get_superseded(db, "ha", &sup) == 0,
	    "gone, but its superseded hash still betrays a copy");
	CHECK_EQ_INT(client_delete(db, "p-a"), ERR_NOT_FOUND, "delete once");
}

int
main(void)
{
	char path[512];

	log_set_level(LOG_WARN);
	snprintf(path, sizeof(path), "%s/store_client.db", check_tmpdir());
	if (db_open(path, &db) < 0)
		return 1;
	test_insert_get();
	test_refresh();
	test_update_list_delete();
	db_close(db);
	return check_done();
}
