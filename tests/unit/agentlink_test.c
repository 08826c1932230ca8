/* The state-channel server in one process: a real agentlink on a temporary state dir, driven
 * through its socket by a hand-made agent, one loop turn (agentlink_run/agentlink_flush) at a
 * time. Deltas leave only after their transaction commits and never after a rollback; the
 * requests of a turn are answered by correlation id; the sessions registry. */
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
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "../../manager/agentlink.h"
#include "../../manager/app.h"
#include "../../manager/pool.h"
#include "../../manager/revocation.h"
#include "../../manager/sessions.h"
#include "../../proto/chan.h"
#include "check.h"

#define T0 1800000000

static int64_t
fixed_now(void)
{
	return T0;
}

static unsigned char key[CHAN_KEY_LEN];
static uint64_t seq;
static int fd;
static struct chan_dec *dec;

static void
send_msg(enum chan_msg type, const ProtobufCMessage *m)
{
	unsigned char buf[4096];
	ssize_t n = chan_frame_pack(key, type, 9, ++seq, 0, m, buf, sizeof(buf));

	if (n < 0 || write(fd, buf, (size_t)n) != n)
		abort();
}

/* Run loop turns until a frame arrives (at most 50): its type, *m unpacked (or -1). */
static int
next_frame(struct agentlink *l, ProtobufCMessage **m, uint64_t *corr)
{
	static unsigned char buf[65536], *p;
	static ssize_t have;
	struct chan_frame f;
	ssize_t k;
	int rv;

	for (int turn = 0; turn < 50; turn++) {
		while (have > 0) {
			if ((k = chan_dec_feed(dec, p, (size_t)have)) < 0)
				return -1;
			p += k;
			have -= k;
			if ((rv = chan_dec_next(dec, &f)) < 0)
				return -1;
			if (rv == 1) {
				*m = chan_frame_unpack(&f);
				if (corr != NULL)
					*corr = f.corr;
				return (int)f.type;
			}
		}
		agentlink_run(l);
		agentlink_flush(l);
		if ((have = read(fd, buf, sizeof(buf))) < 0) {
			have = 0;
			usleep(2000);
		} else if (have == 0) {
			return -1;
		}
		p = buf;
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
	l = agentlink_open(&app, dir);
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
	CHECK(got && ((State__Welcome *)m)->version == 1, "WELCOME with the highest common version");
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
		agentlink_run(l);
		usleep(1000);
	}
	CHECK(!agentlink_connected(l, 9, NULL), "a closed channel disconnects the agent");
	chan_dec_free(dec);
	agentlink_close(l);
	CHECK(access(sa.sun_path, F_OK) < 0, "closing removes the socket file");
	db_close(app.db);
	return check_done();
}
