/* The state-channel server in one process: a real agentlink on a temporary state dir and a real
 * loop, driven through its socket by a hand-made agent, one loop turn (loop_once, then
 * agentlink_run/agentlink_flush as the manager's before-sleep hook does) at a time. Deltas
 * leave only after their transaction commits and never after a rollback; the requests of a
 * turn are answered by correlation id; the sessions registry. A snapshot of 20000
 * revocations taken by a slow reader: the manager's queue stays under its bound, the deltas of
 * changes made meanwhile arrive among the items, a resnapshot restarts it with a new generation,
 * and each END counts the items of its generation. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../db/db.h"
#include "../../db/stmt.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "../../lib/loop.h"
#include "../../manager/agentlink.h"
#include "../../manager/app.h"
#include "../../db/pool.h"
#include "../../db/revocation.h"
#include "../../manager/sessions.h"
#include "../../proto/chan.h"
#include "check.h"

#define T0 1800000000

static int64_t
fixed_now(void)
{
	return T0;
}

static struct loop *loop;
static unsigned char key[CHAN_KEY_LEN];
static uint64_t seq, node = 9; /* the agent's */
static int fd;
static struct chan_dec *dec;
static unsigned char rbuf[65536], *rp; /* read from fd, not decoded yet */
static ssize_t rhave;
static size_t read_max = sizeof(rbuf); /* bytes read per loop turn */

static void
send_msg(enum chan_msg type, const ProtobufCMessage *m)
{
	unsigned char buf[4096];
	ssize_t n = chan_frame_pack(key, type, node, ++seq, 0, m, buf, sizeof(buf));

	if (n < 0 || write(fd, buf, (size_t)n) != n)
		abort();
}

/* One loop turn without waiting: the fd phase (accept, read, write), then the channel's work
 * as the manager's before-sleep hook does it. */
static void
step(struct agentlink *l)
{
	loop_once(loop, 0);
	agentlink_run(l);
	agentlink_flush(l);
}

/* Run loop turns until a frame arrives (at most 50): its type, *m unpacked (or -1). */
static int
next_frame(struct agentlink *l, ProtobufCMessage **m, uint64_t *corr)
{
	struct chan_frame f;
	ssize_t k;
	int rv;

	for (int turn = 0; turn < 50; turn++) {
		while (rhave > 0) {
			if ((k = chan_dec_feed(dec, rp, (size_t)rhave)) < 0)
				return -1;
			rp += k;
			rhave -= k;
			if ((rv = chan_dec_next(dec, &f)) < 0)
				return -1;
			if (rv == 1) {
				*m = chan_frame_unpack(&f);
				if (corr != NULL)
					*corr = f.corr;
				return (int)f.type;
			}
		}
		step(l);
		if ((rhave = read(fd, rbuf, read_max)) < 0) {
			rhave = 0;
			usleep(2000);
		} else if (rhave == 0) {
			return -1;
		}
		rp = rbuf;
	}
	return 0;
}

/* Skip frames until one of type; 1 if found before the stream went quiet. */
static int
wait_for(struct agentlink *l, int type, ProtobufCMessage **out, uint64_t *corr)
{
	ProtobufCMessage *m = NULL;
	int t;

	while ((t = next_frame(l, &m, corr)) > 0) {
		if (t == type) {
			*out = m;
			return 1;
		}
		protobuf_c_message_free_unpacked(m, NULL);
	}
	return 0;
}

/* Connect to dir's agent socket as agent id and say HELLO. */
static void
agent_connect(const char *dir, uint64_t id)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	State__Hello h;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/agent.sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "agent %llu connects",
	    (unsigned long long)id);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	chan_dec_free(dec);
	dec = chan_dec_new(key, id, CHAN_NODE_MANAGER);
	seq = 0;
	node = id;
	rhave = 0;
	state__hello__init(&h);
	h.agent_id = id;
	h.software_version = "test";
	h.min_version = 1;
	h.max_version = 5;
	h.listen_address = "127.0.0.1:1";
	send_msg(CHAN_HELLO, &h.base);
}

/* What a snapshot brought, read frame by frame. */
struct taken {
	uint64_t gen; /* of the last SNAPSHOT_BEGIN */
	uint64_t items; /* since it */
	uint64_t revoked; /* REVOKED items since it */
	uint64_t begins, ends, end_gen, end_items;
	int saw_delta; /* the REVOKE of delta_pssid arrived */
	int saw_item; /* a REVOKED of item_pssid arrived (since the last BEGIN) */
	int bad; /* a frame did not come or did not decode */
};

static const char *delta_pssid, *item_pssid;

/* Read frames until SNAPSHOT_END, or until stop_after items of the current generation (0: no
 * limit). */
static void
take_snapshot(struct agentlink *l, struct taken *t, uint64_t stop_after)
{
	ProtobufCMessage *m;
	int type;

	for (;;) {
		if ((type = next_frame(l, &m, NULL)) <= 0) {
			t->bad = 1;
			return;
		}
		switch (type) {
		case CHAN_SNAPSHOT_BEGIN:
			t->gen = ((State__SnapshotBegin *)m)->generation;
			t->items = t->revoked = 0;
			t->saw_item = 0;
			t->begins++;
			break;
		case CHAN_REVOKED:
			t->revoked++;
			if (item_pssid != NULL &&
			    strcmp(((State__Revoked *)m)->pssid, item_pssid) == 0)
				t->saw_item = 1;
			/* fall through */
		case CHAN_KEY:
		case CHAN_GRANT:
		case CHAN_POOL:
		case CHAN_LIMITS: t->items++; break;
		case CHAN_REVOKE:
			if (delta_pssid != NULL &&
			    strcmp(((State__Revoke *)m)->pssid, delta_pssid) == 0)
				t->saw_delta = 1;
			break;
		case CHAN_SNAPSHOT_END:
			t->ends++;
			t->end_gen = ((State__SnapshotEnd *)m)->generation;
			t->end_items = ((State__SnapshotEnd *)m)->item_count;
			protobuf_c_message_free_unpacked(m, NULL);
			return;
		default: break;
		}
		protobuf_c_message_free_unpacked(m, NULL);
		if (stop_after != 0 && t->items >= stop_after)
			return;
	}
}

static int64_t
count_revocations(struct db *db)
{
	struct stmt *st = db_stmt(db, "SELECT count(*) FROM revocations");
	int64_t n = -1;

	if (db_row(st) == 1) {
		n = db_col_int(st, 0);
		db_reset(st);
	}
	return n;
}

#define BULK 20000

/* 20000 revocations (put in the store before the channel opens: no deltas for them), taken by
 * an agent reading 4 KiB per loop turn. */
static void
test_big_snapshot(struct app *app, const char *dir)
{
	struct agentlink *l;
	struct taken t = {0};
	ProtobufCMessage *m;
	size_t queued = 0, peak = 0;
	uint64_t g1;
	int got;

	CHECK(db_exec(app->db,
		  "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
		  "INSERT INTO revocations (pssid, reason, created_at, created_by) "
		  "SELECT printf('bulk-%05d', i), 'revoked in bulk by the agentlink test, "
		  "with a reason long enough to fill a frame', 1800000000, 'test' FROM n") == 0,
	    "%d revocations in the store", BULK);
	l = agentlink_open(app, dir, loop, NULL);
	agent_connect(dir, 10);
	read_max = 4096;
	got = wait_for(l, CHAN_WELCOME, &m, NULL);
	CHECK(got, "agent 10 is welcomed");
	if (got)
		protobuf_c_message_free_unpacked(m, NULL);

	/* A revocation committed mid-snapshot: a REVOKE among the items, and an item too (its id
	 * is past the cursor). */
	take_snapshot(l, &t, 5000);
	CHECK(!t.bad && t.begins == 1 && t.ends == 0, "5000 items of the first snapshot");
	g1 = t.gen;
	delta_pssid = item_pssid = "mid-snapshot";
	db_begin(app->db);
	revocation_add(app->db, "mid-snapshot", "z", "test", T0);
	db_commit(app->db);
	take_snapshot(l, &t, 0);
	CHECK(!t.bad && t.ends == 1 && t.end_gen == g1, "the first snapshot ends");
	CHECK_EQ_INT(t.end_items, t.items, "its END counts the items sent");
	CHECK_EQ_INT(t.revoked, count_revocations(app->db), "every revocation is in it");
	CHECK(t.saw_delta, "the REVOKE of a change made meanwhile arrived before its END");
	CHECK(t.saw_item, "and the revocation is an item as well");
	got = agentlink_queued(l, 10, &queued, &peak);
	CHECK(got && peak > 0 && peak <= AGENTLINK_SNAPSHOT_LOW + 4096,
	    "the queue stayed under the low-water mark and a frame (%zu bytes at most)", peak);

	/* Lifting a revocation re-sends the snapshot; lifting another mid-way starts it over. */
	memset(&t, 0, sizeof(t));
	delta_pssid = NULL;
	item_pssid = "bulk-00007";
	db_begin(app->db);
	revocation_remove(app->db, "mid-snapshot");
	db_commit(app->db);
	take_snapshot(l, &t, 3000);
	CHECK(!t.bad && t.begins == 1 && t.ends == 0 && t.gen > g1,
	    "lifting a revocation starts a new snapshot");
	g1 = t.gen;
	CHECK(t.saw_item, "bulk-00007 is in it");
	db_begin(app->db);
	revocation_remove(app->db, "bulk-00007");
	db_commit(app->db);
	take_snapshot(l, &t, 0);
	CHECK(!t.bad && t.begins == 2 && t.ends == 1 && t.end_gen == t.gen && t.gen > g1,
	    "lifting another mid-way: SNAPSHOT_BEGIN again (new generation), one END, of it");
	CHECK_EQ_INT(t.end_items, t.items, "that END counts the items of its generation");
	CHECK_EQ_INT(t.revoked, count_revocations(app->db), "every revocation is in it");
	CHECK(!t.saw_item, "and not the one lifted");
	got = agentlink_queued(l, 10, &queued, &peak);
	CHECK(got && peak <= AGENTLINK_SNAPSHOT_LOW + 4096,
	    "the queue stayed under the bound (%zu bytes at most)", peak);

	close(fd);
	read_max = sizeof(rbuf);
	agentlink_close(l);
}

static void
test_registry(void)
{
	struct sessions *r = sessions_new();
	struct session s = {0}, out[4];
	struct sessions_filter f = {NULL, 0};
	uint64_t keep[] = {102};
	int n;

	for (uint64_t id = 100; id < 104; id++) {
		s.id = id;
		s.agent_id = id < 102 ? 1 : 2;
		snprintf(s.pssid, sizeof(s.pssid), "p%llu", (unsigned long long)id);
		sessions_put(r, &s);
	}
	s.id = 101;
	s.agent_id = 1;
	s.counters.rx_bytes = 7;
	sessions_put(r, &s);
	CHECK(sessions_count(r, 0) == 4 && sessions_count(r, 2) == 2,
	    "registry: 4 sessions, 2 of agent 2");
	CHECK(sessions_get(r, 101)->counters.rx_bytes == 7, "registry: a put replaces");
	sessions_list(r, &f, 100, 2, out, &n);
	CHECK(n == 2 && out[0].id == 101 && out[1].id == 102, "registry: a page after 100 by id");
	f.agent_id = 2;
	sessions_list(r, &f, 0, 4, out, &n);
	CHECK(n == 2 && out[0].id == 102, "registry: the agent filter");
	CHECK(sessions_remove(r, 100, 2) == 0 && sessions_remove(r, 100, 1) == 1,
	    "registry: only the holding agent removes a session");
	CHECK(sessions_reconcile(r, 2, keep, 1) == 1 && sessions_get(r, 103) == NULL &&
		sessions_get(r, 102) != NULL,
	    "registry: reconcile keeps the listed session only");
	CHECK(sessions_remove_agent(r, 1) == 1 && sessions_count(r, 0) == 1,
	    "registry: forgetting an agent's sessions");
	for (uint64_t id = 1000; id < 3000; id++) {
		s.id = id;
		sessions_put(r, &s);
	}
	CHECK(sessions_count(r, 0) == 2001 && sessions_get(r, 2999) != NULL,
	    "registry: grows past its first table");
	sessions_free(r);
}

int
main(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct app app = {0};
	struct agentlink *l;
	struct pool p = {0};
	struct pool_conflict pc;
	const char *dir = check_tmpdir();
	const char *why;
	char path[512], kp[512];
	ProtobufCMessage *m;
	State__Hello h;
	State__AllocReq ar;
	struct stat st;
	uint64_t corr, seqs[3];
	int kfd, got;

	log_set_level(LOG_ERROR);
	test_registry();
	if ((loop = loop_new()) == NULL)
		return 1;

	snprintf(path, sizeof(path), "%s/snaptun.db", dir);
	if (db_open(path, &app.db) < 0)
		return 1;
	app.now = fixed_now;
	app.state_dir = dir;
	snprintf(p.name, sizeof(p.name), "a");
	p.isd_as = 1;
	p.hold_seconds = 600;
	prefix_parse("10.1.0.0/24", &p.prefix, path, sizeof(path), &why);
	CHECK(pool_create(app.db, &p, T0, &pc) == 0, "a pool");
	l = agentlink_open(&app, dir, loop, NULL);
	snprintf(kp, sizeof(kp), "%s/channel.key", dir);
	CHECK(stat(kp, &st) == 0 && st.st_size == 32 && (st.st_mode & 0777) == 0600,
	    "the channel key is made: 32 bytes, 0600");
	kfd = open(kp, O_RDONLY);
	CHECK(read(kfd, key, sizeof(key)) == 32, "the key is readable");
	close(kfd);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/agent.sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "an agent connects");
	fcntl(fd, F_SETFL, O_NONBLOCK);
	dec = chan_dec_new(key, 9, CHAN_NODE_MANAGER);
	state__hello__init(&h);
	h.agent_id = 9;
	h.software_version = "test";
	h.min_version = 1;
	h.max_version = 5;
	h.listen_address = "127.0.0.1:1";
	send_msg(CHAN_HELLO, &h.base);
	got = wait_for(l, CHAN_WELCOME, &m, NULL);
	CHECK(
	    got && ((State__Welcome *)m)->version == 1, "WELCOME with the highest common version");
	if (got)
		protobuf_c_message_free_unpacked(m, NULL);
	got = wait_for(l, CHAN_SNAPSHOT_END, &m, NULL);
	CHECK(got && ((State__SnapshotEnd *)m)->item_count == 2, "a snapshot of a pool and limits");
	if (got)
		protobuf_c_message_free_unpacked(m, NULL);
	CHECK(agentlink_connected(l, 9, NULL), "agent 9 is connected");

	/* A rolled-back revocation never reaches the agent; a committed one does, once. */
	db_begin(app.db);
	revocation_add(app.db, "rolled-back", "x", "test", T0);
	agentlink_flush(l);
	db_rollback(app.db);
	db_begin(app.db);
	revocation_add(app.db, "committed", "y", "test", T0);
	agentlink_flush(l); /* a transaction is open: nothing goes */
	db_commit(app.db);
	got = wait_for(l, CHAN_REVOKE, &m, NULL);
	CHECK(got && strcmp(((State__Revoke *)m)->pssid, "committed") == 0,
	    "the first REVOKE is the committed one, not the rolled-back one");
	if (got)
		protobuf_c_message_free_unpacked(m, NULL);

	/* Three requests in one write: one turn, one transaction, three answers by seq. */
	for (int i = 0; i < 3; i++) {
		char pssid[32];
		snprintf(pssid, sizeof(pssid), "%s", i == 1 ? "committed" : i ? "c" : "b");
		state__alloc_req__init(&ar);
		ar.pssid = pssid;
		ar.family = 4;
		ar.session_id = 100 + (uint64_t)i;
		send_msg(CHAN_ALLOC_REQ, &ar.base);
		seqs[i] = seq;
	}
	for (int i = 0; i < 3; i++) {
		got = wait_for(l, CHAN_ALLOC_RES, &m, &corr);
		State__AllocRes *res = (State__AllocRes *)m;
		CHECK(got && corr == seqs[i], "ALLOC_RES %d answers seq %llu", i,
		    (unsigned long long)seqs[i]);
		if (!got)
			continue;
		if (i == 1)
			CHECK(res->error_code == ERR_DENIED && strcmp(res->reason, "revoked") == 0,
			    "a revoked pssid is refused");
		else
			CHECK(res->error_code == 0 && res->address.len == 4 && res->grant_id > 0,
			    "an address is granted");
		protobuf_c_message_free_unpacked(m, NULL);
	}

	close(fd);
	for (int i = 0; i < 5 && agentlink_connected(l, 9, NULL); i++) {
		step(l);
		usleep(1000);
	}
	CHECK(!agentlink_connected(l, 9, NULL), "a closed channel disconnects the agent");
	agentlink_close(l);
	CHECK(access(sa.sun_path, F_OK) < 0, "closing removes the socket file");
	test_big_snapshot(&app, dir);
	chan_dec_free(dec);
	loop_free(loop);
	db_close(app.db);
	return check_done();
}
