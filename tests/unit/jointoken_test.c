/* Join-token lifecycle against a real SQLite file, with time passed in: create, effective
 * expiry before any sweep, abort (first transition wins), the sweep's expire and revert, and
 * the labels rules. */
#include <stdio.h>
#include <string.h>

#include "../../db/db.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "../../manager/jointoken.h"
#include "check.h"

#define T0 1700000000

static struct db *db;

static int64_t
mk(int64_t ttl, const char *labels, char *secret)
{
	struct jointoken_spec spec = {"t", labels, 0, ttl};
	struct join_token t;

	return jointoken_create(db, &spec, "test", T0, &t, secret) == 0 ? t.id : -1;
}

static enum jointoken_state
state_at(int64_t id, int64_t now)
{
	struct join_token t;

	return jointoken_get(db, id, now, &t) == 0 ? t.state : (enum jointoken_state) - 1;
}

static void
test_labels(void)
{
	char out[JOINTOKEN_LABELS_STRLEN];
	json_t *l;

	l = json_pack("{s:s, s:s}", "site", "zrh", "env", "lab");
	CHECK(jointoken_labels_check(l, out) == NULL &&
		strcmp(out,
		    "{\"env\":\"lab\",\"site\":"
		    "\"zrh\"}") == 0,
	    "labels are stored with sorted keys (%s)", out);
	json_decref(l);
	l = json_pack("{s:s}", "Site", "x");
	CHECK(jointoken_labels_check(l, out) != NULL, "an upper-case key is refused");
	json_decref(l);
	l = json_pack("{s:i}", "n", 1);
	CHECK(jointoken_labels_check(l, out) != NULL, "a non-string value is refused");
	json_decref(l);
	CHECK(
	    jointoken_labels_check(NULL, out) == NULL && strcmp(out, "{}") == 0, "no labels is {}");
}

int
main(void)
{
	char path[512], secret[SECRET_STRLEN], s2[SECRET_STRLEN];
	struct jointoken_filter all = {-1, NULL, NULL};
	struct join_token t, v[8];
	int64_t a, b, c;
	int n;

	log_set_level(LOG_WARN);
	snprintf(path, sizeof(path), "%s/jt.db", check_tmpdir());
	if (db_open(path, &db) < 0)
		return 1;
	test_labels();

	a = mk(10, "{}", secret);
	b = mk(100, "{\"fleet\":\"f1\"}", s2);
	CHECK(a > 0 && b > 0 && strncmp(secret, "snj_", 4) == 0 && strlen(secret) == 47 &&
		strcmp(secret, s2) != 0,
	    "two tokens with distinct snj_ secrets of 43 characters");
	CHECK(state_at(a, T0 + 9) == JT_ISSUED, "issued before its expiry");
	CHECK(state_at(a, T0 + 10) == JT_EXPIRED, "expired at expires_at, before any sweep");

	struct jointoken_filter f = {JT_EXPIRED, NULL, NULL};
	CHECK(jointoken_list(db, &f, T0 + 10, 0, 8, v, &n) == 0 && n == 1 && v[0].id == a,
	    "state=expired lists the unswept expired token");
	struct jointoken_filter lf = {-1, "fleet", "f1"};
	CHECK(jointoken_list(db, &lf, T0, 0, 8, v, &n) == 0 && n == 1 && v[0].id == b,
	    "label=fleet=f1 finds its token");

	CHECK_EQ_INT(jointoken_abort(db, a, "test", T0 + 10, &t), ERR_CONFLICT,
	    "an expired token cannot be aborted");
	CHECK(t.state == JT_EXPIRED, "and the refusal says it is expired");
	CHECK(jointoken_abort(db, b, "test", T0, &t) == 0 && t.state == JT_ABORTED,
	    "abort an issued token");
	CHECK_EQ_INT(jointoken_abort(db, b, "test", T0, &t), ERR_CONFLICT, "abort only once");
	CHECK_EQ_INT(jointoken_abort(db, 999, "test", T0, &t), ERR_NOT_FOUND, "unknown token");

	/* An in-flight token whose ack deadline passed goes back to issued, one attempt more. */
	c = mk(1000, "{}", secret);
	CHECK(jointoken_set_in_flight(db, c, JT_ISSUED, "192.0.2.7", T0 + 30, "ackhash", T0) == 1 &&
		state_at(c, T0 + 29) == JT_IN_FLIGHT,
	    "in flight before the deadline");
	CHECK_EQ_INT(jointoken_sweep(db, T0 + 29, 100), 1, "the sweep writes down the expiry only");
	CHECK_EQ_INT(jointoken_sweep(db, T0 + 30, 100), 1, "then reverts the lapsed ack");
	CHECK(jointoken_get(db, c, T0 + 30, &t) == 0 && t.state == JT_ISSUED && t.attempts == 1 &&
		t.in_flight_address[0] == '\0' && t.ack_deadline == 0,
	    "reverted: issued, attempt 1, no address, no deadline");
	CHECK_EQ_INT(jointoken_sweep(db, T0 + 31, 100), 0, "nothing more to sweep");
	CHECK(jointoken_list(db, &all, T0 + 31, 0, 8, v, &n) == 0 && n == 3, "all three listed");
	CHECK(jointoken_get(db, a, T0, &t) == 0 && t.state == JT_EXPIRED,
	    "once swept, expired stays expired");
	db_close(db);
	return check_done();
}
