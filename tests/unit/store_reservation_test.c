/* The store of reservations (db/reservation.h) against a real SQLite file: add and its
 * conflicts, lookups by index and by pssid, paging, removal. */
#include <stdio.h>
#include <string.h>

#include "../../db/db.h"
#include "../../db/pool.h"
#include "../../db/reservation.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "check.h"

#define IA_110 0x0001ff0000000110ULL
#define T0 1700000000

static struct db *db;

static int64_t
mkpool(const char *name, const char *prefix)
{
	struct pool_conflict c;
	struct pool p = {0};
	const char *why;
	char whybuf[64];

	snprintf(p.name, sizeof(p.name), "%s", name);
	p.isd_as = IA_110;
	prefix_parse(prefix, &p.prefix, whybuf, sizeof(whybuf), &why);
	p.hold_seconds = 600;
	return pool_create(db, &p, T0, &c) == 0 ? p.id : -1;
}

struct seen {
	int n, stop_at;
	char names[4][TEXT_NAME_BYTES(POOL_NAME_MAX) + 1];
	uint64_t idx[4];
};

static int
on_reservation(void *arg, const struct pool *p, uint64_t idx)
{
	struct seen *s = arg;

	snprintf(s->names[s->n], sizeof(s->names[s->n]), "%s", p->name);
	s->idx[s->n++] = idx;
	return s->n == s->stop_at ? 7 : 0;
}

int
main(void)
{
	struct reservation v[4];
	struct seen s = {0};
	char path[512], pssid[PSSID_MAX + 1] = "";
	int64_t p6, p4, id1, id2, id3, id;
	int n;

	log_set_level(LOG_ERROR);
	snprintf(path, sizeof(path), "%s/store_reservation.db", check_tmpdir());
	if (db_open(path, &db) < 0) {
		printf("not ok - cannot open %s\n", path);
		return 1;
	}
	p6 = mkpool("v6", "2001:db8::/64");
	p4 = mkpool("v4", "10.0.0.0/24");
	CHECK(p6 > 0 && p4 > 0, "two pools, the IPv6 one first");

	CHECK(reservation_add(db, p4, 5, "10.0.0.5", "alice", T0, &id1) == 0 && id1 > 0,
	    "add sets the id");
	CHECK_EQ_INT(reservation_add(db, p4, 5, "10.0.0.5", "bob", T0, &id), ERR_CONFLICT,
	    "an address is reserved once");
	CHECK_EQ_INT(reservation_add(db, p4, 6, "10.0.0.6", "alice", T0, &id), ERR_CONFLICT,
	    "a pssid has one reservation per pool");
	CHECK(reservation_add(db, p6, 9, "2001:db8::9", "alice", T0 + 1, &id2) == 0 &&
		reservation_add(db, p4, 7, "10.0.0.7", "bob", T0 + 2, &id3) == 0,
	    "the same pssid in another pool; another pssid in the same pool");

	CHECK(reservation_at(db, p4, 5, pssid) == 1 && strcmp(pssid, "alice") == 0,
	    "at: reserved, naming the pssid");
	CHECK_EQ_INT(reservation_at(db, p4, 5, NULL), 1, "at without asking the pssid");
	CHECK_EQ_INT(reservation_at(db, p4, 6, pssid), 0, "at: an index that is not reserved");
	CHECK_EQ_INT(reservation_at(db, p6, 5, pssid), 0, "at: the same index of another pool");
	CHECK_EQ_INT(reservation_has(db, p4, "alice"), 1, "has: alice in v4");
	CHECK_EQ_INT(reservation_has(db, p4, "carol"), 0, "has: carol has none");

	CHECK(reservation_list(db, p4, 0, 4, v, &n) == 0 && n == 2 && v[0].id == id1 &&
		strcmp(v[0].address, "10.0.0.5") == 0 && strcmp(v[0].pssid, "alice") == 0 &&
		v[0].pool_id == p4 && v[0].created_at == T0 && v[1].id == id3,
	    "list: the pool's reservations by id");
	CHECK(reservation_list(db, p4, id1, 1, v, &n) == 0 && n == 1 && v[0].id == id3,
	    "list: paged after the cursor");

	CHECK(reservation_list_pssid(db, "alice", on_reservation, &s) == 0 && s.n == 2 &&
		strcmp(s.names[0], "v4") == 0 && s.idx[0] == 5 && strcmp(s.names[1], "v6") == 0 &&
		s.idx[1] == 9,
	    "by pssid: IPv4 pools first, with the reserved index");
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	CHECK(reservation_list_pssid(db, "alice", on_reservation, &s) == 7 && s.n == 1,
	    "by pssid: the callback's value stops the walk and is returned");
	memset(&s, 0, sizeof(s));
	CHECK(reservation_list_pssid(db, "carol", on_reservation, &s) == 0 && s.n == 0,
	    "by pssid: none");

	CHECK(reservation_remove(db, p4, 5) == 0 && reservation_at(db, p4, 5, NULL) == 0, "remove");
	CHECK_EQ_INT(reservation_remove(db, p4, 5), ERR_NOT_FOUND, "remove twice");
	CHECK(reservation_add(db, p4, 6, "10.0.0.6", "alice", T0, &id) == 0 && id > id3,
	    "after removal the pssid may reserve again; ids are never reused");
	db_close(db);
	return check_done();
}
