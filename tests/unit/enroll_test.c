/* Enrollment and clients against a real SQLite file, time passed in: join puts the token in
 * flight; the same caller again is idempotent, another is refused; ack consumes once; a late
 * or unknown ack consumes nothing; the sweep's revert discards the unacknowledged client and
 * revokes its pssid until its access token expired (then the sweep lifts it); the third revert
 * aborts the token; refresh secrets rotate and a reused one revokes the client; the number
 * of pending acks is bounded. */
#include <stdio.h>
#include <string.h>

#include "../../db/db.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "../../manager/client.h"
#include "../../manager/enroll.h"
#include "../../manager/jointoken.h"
#include "../../manager/revoke.h"
#include "../../db/revocation.h"
#include "check.h"

#define T0 1700000000

static struct db *db;

static int64_t
mk(char *secret)
{
	struct jointoken_spec spec = {"edge", "{\"site\":\"zrh\"}", 0, 3600};
	struct join_token t;

	return jointoken_create(db, &spec, "test", T0, &t, secret) == 0 ? t.id : -1;
}

static enum jointoken_state
state_of(int64_t id, int64_t now)
{
	struct join_token t;

	return jointoken_get(db, id, now, &t) == 0 ? t.state : (enum jointoken_state) - 1;
}

static void
test_join_ack(void)
{
	char secret[SECRET_STRLEN], pssid[PSSID_MAX + 1], fresh[SECRET_STRLEN];
	struct enroll_bundle b, b2;
	enum jointoken_state st;
	struct client c;
	int64_t id = mk(secret);
	int retried;

	CHECK_EQ_INT(enroll_join(db, "snj_nope", "", "192.0.2.1", T0, ENROLL_ACK_TTL, &b, &st),
	    ERR_DENIED, "an unknown join token is refused without a hint");
	CHECK(enroll_join(db, secret, "", "192.0.2.1", T0, ENROLL_ACK_TTL, &b, &st) == 0 &&
		strlen(b.pssid) == 36 && b.pssid[14] == '4' && strncmp(b.ack, "ack_", 4) == 0 &&
		strncmp(b.refresh, "snr_", 4) == 0 && b.ack_deadline == T0 + 30 &&
		strcmp(b.name, "edge") == 0,
	    "join: a UUIDv4 pssid, ack and refresh secrets, a 30 s deadline, the token's name");
	CHECK(state_of(id, T0) == JT_IN_FLIGHT, "the token is in flight");
	CHECK(client_get(db, b.pssid, &c) == 0 && !c.enrolled &&
		strcmp(c.labels, "{\"site\":\"zrh\"}") == 0,
	    "the client exists, not enrolled yet, with the token's labels");
	CHECK_EQ_INT(client_refresh(db, b.refresh, NULL, T0, &c, fresh, &retried), ERR_DENIED,
	    "an unacknowledged bundle's refresh secret is worthless");
	CHECK(enroll_join(db, secret, "", "192.0.2.1", T0 + 5, ENROLL_ACK_TTL, &b2, &st) == 0 &&
		strcmp(b2.pssid, b.pssid) == 0 && strcmp(b2.ack, b.ack) != 0,
	    "the same caller again: same pssid, a new ack");
	CHECK_EQ_INT(enroll_join(db, secret, "", "198.51.100.9", T0 + 5, ENROLL_ACK_TTL, &b2, &st),
	    ERR_CONFLICT, "another address while in flight is a conflict");
	CHECK_EQ_INT(
	    enroll_ack(db, b.ack, T0 + 6, pssid), ERR_GONE, "the superseded ack consumes nothing");
	CHECK(enroll_join(db, secret, "", "192.0.2.1", T0 + 6, ENROLL_ACK_TTL, &b2, &st) == 0,
	    "join once more");
	CHECK(enroll_ack(db, b2.ack, T0 + 7, pssid) == 0 && strcmp(pssid, b.pssid) == 0,
	    "ack consumes the token");
	CHECK(state_of(id, T0 + 7) == JT_CONSUMED, "consumed");
	CHECK_EQ_INT(enroll_ack(db, b2.ack, T0 + 8, pssid), ERR_GONE, "an ack works once");
	CHECK(
	    enroll_join(db, secret, "", "192.0.2.1", T0 + 8, ENROLL_ACK_TTL, &b, &st) == ERR_GONE &&
		st == JT_CONSUMED,
	    "a consumed token is refused as consumed, also from the same address");

	/* refresh rotation and theft detection */
	CHECK(client_refresh(db, b2.refresh, NULL, T0 + 10, &c, fresh, &retried) == 0 &&
		strcmp(c.pssid, pssid) == 0 && strcmp(fresh, b2.refresh) != 0,
	    "refresh gives a new secret");
	char fresh2[SECRET_STRLEN];
	CHECK(client_refresh(db, fresh, NULL, T0 + 11, &c, fresh2, &retried) == 0,
	    "the new secret works once");
	CHECK_EQ_INT(client_refresh(db, fresh, NULL, T0 + 12, &c, fresh2, &retried), ERR_GONE,
	    "a superseded secret is theft");
	CHECK(client_get(db, pssid, &c) == 0 && c.revoked_at == T0 + 12 &&
		revocation_has(db, pssid) == 1,
	    "the client is revoked and its pssid on the revocation list");
	CHECK_EQ_INT(client_refresh(db, fresh2, NULL, T0 + 13, &c, fresh, &retried), ERR_DENIED,
	    "and its latest secret is dead too");
}

static void
test_revert_and_abort(void)
{
	char secret[SECRET_STRLEN], s2[SECRET_STRLEN], pssid[PSSID_MAX + 1], gone[PSSID_MAX + 1];
	struct enroll_bundle b;
	struct revocation rv;
	enum jointoken_state st;
	struct join_token t;
	struct client c;
	int64_t id = mk(secret), id2 = mk(s2);

	enroll_join(db, secret, "dev", "192.0.2.2", T0, ENROLL_ACK_TTL, &b, &st);
	CHECK_EQ_INT(enroll_ack(db, b.ack, T0 + 30, pssid), ERR_GONE,
	    "an ack at the deadline is "
	    "late");
	CHECK(jointoken_sweep(db, T0 + 30, 100) >= 1, "the sweep reverts the token");
	CHECK(jointoken_get(db, id, T0 + 30, &t) == 0 && t.state == JT_ISSUED && t.attempts == 1,
	    "issued again, attempt 1");
	CHECK(client_get(db, b.pssid, &c) == ERR_NOT_FOUND && revocation_has(db, b.pssid) == 1,
	    "the unacknowledged client is discarded and its pssid revoked");
	CHECK(revocation_get(db, b.pssid, &rv) == 0 &&
		rv.expires_at == T0 + 30 + CLIENT_DISCARD_REVOKE_SECONDS,
	    "until every access token it got has expired");
	CHECK(revoke_sweep(db, T0 + 29 + CLIENT_DISCARD_REVOKE_SECONDS, 100) == 0 &&
		revocation_has(db, b.pssid) == 1,
	    "the revocation stays while a token can be valid");
	snprintf(gone, sizeof(gone), "%s", b.pssid);
	CHECK(enroll_join(db, secret, "dev", "198.51.100.1", T0 + 31, ENROLL_ACK_TTL, &b, &st) == 0,
	    "the reverted token can be used again, from anywhere");

	enroll_join(db, s2, "dev2", "192.0.2.3", T0, ENROLL_ACK_TTL, &b, &st);
	CHECK(jointoken_abort(db, id2, "test", T0 + 1, &t) == 0 &&
		client_get(db, b.pssid, &c) == ERR_NOT_FOUND,
	    "aborting an in-flight token discards its client");
	CHECK_EQ_INT(enroll_ack(db, b.ack, T0 + 2, pssid), ERR_GONE,
	    "the aborted enrollment cannot be acknowledged");
	CHECK(revocation_get(db, b.pssid, &rv) == 0 &&
		rv.expires_at == T0 + 1 + CLIENT_DISCARD_REVOKE_SECONDS,
	    "an aborted enrollment's pssid is revoked until its tokens expired too");

	CHECK(revoke_sweep(db, T0 + 30 + CLIENT_DISCARD_REVOKE_SECONDS, 100) >= 2 &&
		revocation_has(db, gone) == 0 && revocation_has(db, b.pssid) == 0,
	    "then the sweep lifts both revocations");
	CHECK(client_get(db, gone, &c) == ERR_NOT_FOUND, "and nothing comes back: no client");
}

/* Re-presenting never keeps an unacknowledged enrollment alive: the deadline stays; once it
 * passed, the token reverts on the spot (no sweep needed) and a new identity starts. */
static void
test_no_keepalive(void)
{
	struct jointoken_spec spec = {"short", "{}", 0, 40};
	char secret[SECRET_STRLEN];
	struct enroll_bundle b, b2;
	enum jointoken_state st;
	struct join_token t;
	struct client c;

	jointoken_create(db, &spec, "test", T0, &t, secret);
	enroll_join(db, secret, "", "192.0.2.9", T0, ENROLL_ACK_TTL, &b, &st);
	CHECK(enroll_join(db, secret, "", "192.0.2.9", T0 + 25, ENROLL_ACK_TTL, &b2, &st) == 0 &&
		b2.ack_deadline == T0 + 30 && strcmp(b2.pssid, b.pssid) == 0,
	    "re-presenting keeps the first deadline");
	CHECK(enroll_join(db, secret, "", "192.0.2.9", T0 + 31, ENROLL_ACK_TTL, &b2, &st) == 0 &&
		strcmp(b2.pssid, b.pssid) != 0 && b2.ack_deadline == T0 + 61,
	    "after the deadline the token reverts on the spot: a new identity, a new deadline");
	CHECK(jointoken_get(db, t.id, T0 + 31, &t) == 0 && t.attempts == 1 &&
		client_get(db, b.pssid, &c) == ERR_NOT_FOUND && revocation_has(db, b.pssid) == 1,
	    "attempt 1; the first identity is discarded and revoked");
	CHECK(enroll_join(db, secret, "", "192.0.2.9", T0 + 62, ENROLL_ACK_TTL, &b, &st) ==
		    ERR_GONE &&
		st == JT_EXPIRED,
	    "past both the deadline and the token's expiry: expired");
	CHECK(jointoken_get(db, t.id, T0 + 62, &t) == 0 && t.state == JT_EXPIRED &&
		t.attempts == 2 && client_get(db, b2.pssid, &c) == ERR_NOT_FOUND,
	    "and the refusal kept the revert (attempt 2, second identity discarded)");
}

/* A token survives JOINTOKEN_ATTEMPTS_MAX unacknowledged joins, no more: the revert that
 * reaches the cap aborts it, and further joins are refused as aborted. */
static void
test_attempts_cap(void)
{
	char secret[SECRET_STRLEN], pssid[PSSID_MAX + 1];
	struct enroll_bundle b;
	enum jointoken_state st;
	struct join_token t;
	int64_t id = mk(secret), now = T0 + 1000;
	int ok = 1;

	for (int i = 1; i < JOINTOKEN_ATTEMPTS_MAX && ok; i++, now += 100) {
		ok = enroll_join(db, secret, "", "192.0.2.7", now, ENROLL_ACK_TTL, &b, &st) == 0 &&
		    jointoken_sweep(db, now + ENROLL_ACK_TTL, 100) >= 1 &&
		    jointoken_get(db, id, now + ENROLL_ACK_TTL, &t) == 0 && t.state == JT_ISSUED &&
		    t.attempts == i;
	}
	CHECK(ok, "%d unacknowledged joins leave the token issued", JOINTOKEN_ATTEMPTS_MAX - 1);
	CHECK(enroll_join(db, secret, "", "192.0.2.7", now, ENROLL_ACK_TTL, &b, &st) == 0,
	    "join once more");
	CHECK(jointoken_sweep(db, now + ENROLL_ACK_TTL, 100) >= 1 &&
		jointoken_get(db, id, now + ENROLL_ACK_TTL, &t) == 0 && t.state == JT_ABORTED &&
		t.attempts == JOINTOKEN_ATTEMPTS_MAX,
	    "the revert that reaches the cap aborts the token");
	CHECK_EQ_INT(enroll_ack(db, b.ack, now + ENROLL_ACK_TTL, pssid), ERR_GONE,
	    "the last enrollment cannot be acknowledged");
	CHECK(enroll_join(db, secret, "", "192.0.2.7", now + 50, ENROLL_ACK_TTL, &b, &st) ==
		    ERR_GONE &&
		st == JT_ABORTED && b.attempts == JOINTOKEN_ATTEMPTS_MAX,
	    "a further join is refused: aborted after the cap");

	/* The same when the join itself finds the last deadline lapsed (no sweep yet). */
	id = mk(secret);
	now = T0 + 2000;
	for (int i = 0; i < JOINTOKEN_ATTEMPTS_MAX; i++, now += 100)
		enroll_join(db, secret, "", "192.0.2.8", now, ENROLL_ACK_TTL, &b, &st);
	CHECK(enroll_join(db, secret, "", "192.0.2.8", now, ENROLL_ACK_TTL, &b, &st) == ERR_GONE &&
		st == JT_ABORTED && jointoken_get(db, id, now, &t) == 0 && t.state == JT_ABORTED,
	    "an inline revert at the cap aborts the token as well");
}

static void
test_pending_bound(void)
{
	char secret[SECRET_STRLEN];
	struct enroll_bundle b;
	enum jointoken_state st;
	int ok = 1, rv;

	db_begin(db);
	for (int i = 0; i < ENROLL_ACK_PENDING_MAX && ok; i++) {
		char caller[32];
		snprintf(caller, sizeof(caller), "10.0.%d.%d", i / 256, i % 256);
		mk(secret);
		ok = enroll_join(db, secret, "", caller, T0 + 100, ENROLL_ACK_TTL, &b, &st) == 0;
	}
	db_commit(db);
	CHECK(ok, "%d enrollments may await acknowledgement", ENROLL_ACK_PENDING_MAX);
	mk(secret);
	rv = enroll_join(db, secret, "", "10.9.9.9", T0 + 100, ENROLL_ACK_TTL, &b, &st);
	CHECK_EQ_INT(rv, ERR_LIMIT, "one more is refused for now");
	CHECK(enroll_join(db, secret, "", "10.9.9.9", T0 + 131, ENROLL_ACK_TTL, &b, &st) == 0,
	    "once the pending acks lapse, joining works again");
}

/* A client enrolled from a new join token; its refresh secret into refresh. */
static void
enrolled(char *refresh, char *pssid)
{
	char secret[SECRET_STRLEN], ack_pssid[PSSID_MAX + 1];
	struct enroll_bundle b;
	enum jointoken_state st;

	mk(secret);
	if (enroll_join(db, secret, "", "192.0.2.7", T0, ENROLL_ACK_TTL, &b, &st) == 0 &&
	    enroll_ack(db, b.ack, T0, ack_pssid) == 0) {
		snprintf(refresh, SECRET_STRLEN, "%s", b.refresh);
		snprintf(pssid, PSSID_MAX + 1, "%s", b.pssid);
	}
}

static void
test_request_id_retry(void)
{
	const char *rid = "crash-safe_request-0001", *rid2 = "another-request-id-0002";
	char rt[SECRET_STRLEN], s1[SECRET_STRLEN], s2[SECRET_STRLEN], s3[SECRET_STRLEN];
	char pssid[PSSID_MAX + 1] = "", expect[SECRET_STRLEN];
	struct client c;
	int retried = 0;

	CHECK(client_request_id_valid("abcdefghijklmnop") &&
		!client_request_id_valid("abcdefghijklmno") &&
		!client_request_id_valid("abcdefghijklmnop!") &&
		client_request_id_valid("A_b-0123456789abcdefABCDEF") &&
		!client_request_id_valid(
		    "0123456789012345678901234567890123456789012345678901234567890123x"),
	    "request_id: 16 to 64 characters of A-Z a-z 0-9 _ -");

	enrolled(rt, pssid);
	CHECK(client_refresh(db, rt, rid, T0 + 10, &c, s1, &retried) == 0 && !retried &&
		strncmp(s1, "snr_", 4) == 0 && strlen(s1) == strlen(rt),
	    "an exchange with a request_id gives a refresh secret like any other");
	CHECK(secret_derive("snr_", rt, rid, expect) == 0 && strcmp(expect, s1) == 0,
	    "it is HMAC-SHA256(the old secret, the request_id)");
	CHECK(client_refresh(db, rt, rid, T0 + 20, &c, s2, &retried) == 0 && retried &&
		strcmp(s2, s1) == 0 && strcmp(c.pssid, pssid) == 0,
	    "the same exchange again: the same successor, not theft");
	CHECK(client_refresh(db, rt, rid, T0 + 30, &c, s2, &retried) == 0 && retried &&
		strcmp(s2, s1) == 0,
	    "and again, while the successor is unused");
	CHECK(client_refresh(db, s1, rid2, T0 + 40, &c, s3, &retried) == 0 && !retried &&
		strcmp(s3, s1) != 0,
	    "the successor works");
	CHECK_EQ_INT(client_refresh(db, rt, rid, T0 + 50, &c, s2, &retried), ERR_GONE,
	    "a retry after the successor was used is theft");
	CHECK(client_get(db, pssid, &c) == 0 && c.revoked_at == T0 + 50, "the client is revoked");

	enrolled(rt, pssid);
	CHECK(client_refresh(db, rt, rid, T0 + 10, &c, s1, &retried) == 0, "a second client");
	CHECK_EQ_INT(client_refresh(db, rt, rid2, T0 + 11, &c, s2, &retried), ERR_GONE,
	    "a retry with another request_id is theft");
	CHECK(client_get(db, pssid, &c) == 0 && c.revoked_at != 0, "revoked");

	enrolled(rt, pssid);
	CHECK(client_refresh(db, rt, rid, T0 + 10, &c, s1, &retried) == 0, "a third client");
	CHECK_EQ_INT(client_refresh(db, rt, NULL, T0 + 11, &c, s2, &retried), ERR_GONE,
	    "a retry without the request_id is theft");

	enrolled(rt, pssid);
	CHECK(client_refresh(db, rt, rid, T0 + 10, &c, s1, &retried) == 0, "a fourth client");
	CHECK_EQ_INT(
	    client_refresh(db, rt, rid, T0 + 10 + CLIENT_RETRY_SECONDS + 1, &c, s2, &retried),
	    ERR_GONE, "a retry after CLIENT_RETRY_SECONDS is theft");

	enrolled(rt, pssid);
	CHECK(client_refresh(db, rt, NULL, T0 + 10, &c, s1, &retried) == 0 &&
		client_refresh(db, rt, NULL, T0 + 10, &c, s1, &retried) == ERR_GONE,
	    "without request_id: reuse is theft, as before");
}

int
main(void)
{
	char path[512];

	log_set_level(LOG_WARN);
	snprintf(path, sizeof(path), "%s/enroll.db", check_tmpdir());
	if (db_open(path, &db) < 0)
		return 1;
	test_join_ack();
	test_request_id_retry();
	test_revert_and_abort();
	test_no_keepalive();
	test_attempts_cap();
	test_pending_bound();
	db_close(db);
	return check_done();
}
