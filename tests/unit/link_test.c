/* The agent's end of the state channel (agent/link.c) against a hand-made manager on a UNIX
 * socket in a temporary directory, driven one call at a time with made-up clock values: an
 * ALLOC_REQ unanswered for 2 s fails with ERR_BUSY, and a grant that the manager sends after
 * that is put on hold (HOLD_REQ with the request's session id); each delta reaches its own
 * callback and the snapshot being built as well (SESSION_KILL only the callback); reconnect
 * delays stay within 0.1 s .. 10 s. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../agent/link.h"
#include "../../lib/clock.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "../../lib/loop.h"
#include "check.h"

#define AGENT 7

static unsigned char key[CHAN_KEY_LEN];
static uint64_t mseq; /* the manager's */
static struct chan_dec *dec;
static int mfd = -1; /* the manager's end */
static int welcomed, allocs;
static struct link_alloc_res last;
static struct state *snapped; /* the last snapshot handed over */
static char revoked[64], killed_reason[64];
static uint64_t killed, released, removed_pool;

static void
cb_welcome(void *arg)
{
	(void)arg;
	welcomed = 1;
}

static void
cb_snapshot(void *arg, struct state *st)
{
	(void)arg;
	state_free(snapped);
	snapped = st;
}

static void
cb_revoke(void *arg, const char *pssid, const char *reason)
{
	(void)arg;
	(void)reason;
	snprintf(revoked, sizeof(revoked), "%s", pssid);
}

static void
cb_grant_release(void *arg, uint64_t grant_id, const char *reason)
{
	(void)arg;
	(void)reason;
	released = grant_id;
}

static void
cb_session_kill(void *arg, uint64_t session_id, const char *reason)
{
	(void)arg;
	killed = session_id;
	snprintf(killed_reason, sizeof(killed_reason), "%s", reason);
}

static void
cb_pool_remove(void *arg, uint64_t pool_id)
{
	(void)arg;
	removed_pool = pool_id;
}

static void
on_alloc(void *arg, const struct link_alloc_res *res)
{
	(void)arg;
	allocs++;
	last = *res;
}

static void
msend(enum chan_msg type, const ProtobufCMessage *m, uint64_t corr)
{
	unsigned char buf[4096];
	ssize_t n =
	    chan_frame_pack(key, type, CHAN_NODE_MANAGER, ++mseq, corr, m, buf, sizeof(buf));

	if (n < 0 || write(mfd, buf, (size_t)n) != n)
		abort();
}

/* The next frame the agent sent (waiting 1 s at most): its type, *m unpacked, *seq; or -1. */
static int
mrecv(ProtobufCMessage **m, uint64_t *seq)
{
	static unsigned char buf[65536], *p;
	static ssize_t have;
	struct chan_frame f;
	ssize_t k;
	int rv;

	for (int i = 0; i < 100; i++) {
		while (have > 0) {
			if ((k = chan_dec_feed(dec, p, (size_t)have)) < 0)
				return -1;
			p += k;
			have -= k;
			if ((rv = chan_dec_next(dec, &f)) < 0)
				return -1;
			if (rv == 1) {
				*m = chan_frame_unpack(&f);
				*seq = f.seq;
				return (int)f.type;
			}
		}
		struct pollfd pfd = {.fd = mfd, .events = POLLIN};
		if (poll(&pfd, 1, 10) == 1) {
			if ((have = read(mfd, buf, sizeof(buf))) <= 0)
				return -1;
			p = buf;
		}
	}
	return -1;
}

/* Let the link read what the manager wrote. */
static void
pump(struct link *l)
{
	struct pollfd pfd = {.fd = link_fd(l), .events = POLLIN};

	if (poll(&pfd, 1, 200) == 1)
		link_handle(l, LOOP_READ);
}

/* A snapshot with deltas in the middle of it, then deltas on their own. */
static void
test_deltas(struct link *l)
{
	State__SnapshotBegin b;
	State__SnapshotEnd e;
	State__Revoked item;
	State__Revoke rv;
	State__SessionKill sk;
	State__GrantRelease gr;
	State__PoolUpdate pu;
	State__Pool pool;
	State__Limits lim;

	state__snapshot_begin__init(&b);
	b.generation = 4;
	msend(CHAN_SNAPSHOT_BEGIN, &b.base, 0);
	state__revoked__init(&item);
	item.pssid = "item-1";
	msend(CHAN_REVOKED, &item.base, 0);
	state__revoke__init(&rv);
	rv.pssid = "delta-1";
	rv.reason = "test";
	msend(CHAN_REVOKE, &rv.base, 0);
	state__session_kill__init(&sk);
	sk.session_id = 31;
	sk.reason = "superseded";
	msend(CHAN_SESSION_KILL, &sk.base, 0);
	state__limits__init(&lim);
	lim.heartbeat_seconds = 7;
	msend(CHAN_LIMITS, &lim.base, 0);
	state__snapshot_end__init(&e);
	e.generation = 4;
	e.item_count = 2;
	msend(CHAN_SNAPSHOT_END, &e.base, 0);
	pump(l);
	CHECK(snapped != NULL && snapped->generation == 4, "the snapshot is handed over whole");
	CHECK(snapped != NULL && state_revoked(snapped, "item-1") &&
		state_revoked(snapped, "delta-1") && hashtab_count(&snapped->revoked) == 2,
	    "the REVOKE that came mid-snapshot is in it, beside its item");
	CHECK(strcmp(revoked, "delta-1") == 0, "and went to the revoke callback");
	CHECK(killed == 31 && strcmp(killed_reason, "superseded") == 0,
	    "SESSION_KILL went to its callback (and counts as no item)");

	state__grant_release__init(&gr);
	gr.grant_id = 12;
	msend(CHAN_GRANT_RELEASE, &gr.base, 0);
	state__pool__init(&pool);
	pool.id = 3;
	state__pool_update__init(&pu);
	pu.pool = &pool;
	pu.removed = 1;
	msend(CHAN_POOL_UPDATE, &pu.base, 0);
	pump(l);
	CHECK(released == 12, "GRANT_RELEASE went to its callback");
	CHECK(removed_pool == 3, "POOL_UPDATE removed went to pool_remove");
	CHECK(link_up(l), "the link is still up");
	state_free(snapped);
	snapped = NULL;
}

static void
on_nothing(struct loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	(void)arg;
}

/* A link freed while connected stops watching its socket on the owner's loop: the loop must not
 * keep a callback into the freed link, and the number may serve again. */
static void
test_free_unwatches(struct loop *lp, const char *dir, const struct link_config *base)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct link_config cfg = *base;
	struct link_endpoint ep = {0};
	struct link_callbacks cb = {0};
	struct link *l;
	int lfd, afd, fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/free.sock", dir);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(lfd, 4) < 0)
		abort();
	snprintf(ep.address, sizeof(ep.address), "%s", sun.sun_path);
	cfg.managers = &ep;
	cfg.nmanagers = 1;
	if ((l = link_new(&cfg, &cb, lp)) == NULL)
		abort();
	link_expire(l, clock_mono_ns());
	fd = link_fd(l);
	afd = accept(lfd, NULL, NULL);
	CHECK(fd >= 0 && afd >= 0, "connected (to be freed)");
	link_free(l);
	if (fd >= 0 && dup2(lfd, fd) == fd) {
		CHECK_EQ_INT(loop_fd_add(lp, fd, LOOP_READ, on_nothing, NULL), 0,
		    "link_free stopped watching its socket: the number may be watched again");
		loop_fd_del(lp, fd);
		close(fd);
	}
	close(afd);
	close(lfd);
	unlink(sun.sun_path);
}

int
main(void)
{
	char dir[] = "/tmp/link_test.XXXXXX", sock[256], keyfile[256];
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	unsigned char pin[32] = {0};
	struct link_config cfg = {0};
	struct link_endpoint ep = {0};
	struct link_callbacks cb = {0};
	ProtobufCMessage *m;
	State__AllocReq req;
	struct link *l;
	uint64_t seq, reqseq, now, at;
	struct loop *lp;
	int lfd, kfd, type;

	log_set_level(LOG_ERROR);
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 7 + 1);
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(sock, sizeof(sock), "%s/agent.sock", dir);
	snprintf(keyfile, sizeof(keyfile), "%s/channel.key", dir);
	if ((kfd = open(keyfile, O_WRONLY | O_CREAT, 0600)) < 0 ||
	    write(kfd, key, sizeof(key)) != (ssize_t)sizeof(key))
		abort();
	close(kfd);
	strcpy(sun.sun_path, sock);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(lfd, 4) < 0)
		abort();
	if ((lp = loop_new()) == NULL)
		abort();

	snprintf(ep.address, sizeof(ep.address), "%s", sock);
	cfg.managers = &ep;
	cfg.nmanagers = 1;
	cfg.key_file = keyfile;
	cfg.agent_id = AGENT;
	cfg.software_version = "test";
	cfg.listen_address = "127.0.0.1:1";
	cfg.spki_pin = pin;
	cb.welcome = cb_welcome;
	cb.snapshot = cb_snapshot;
	cb.revoke = cb_revoke;
	cb.grant_release = cb_grant_release;
	cb.session_kill = cb_session_kill;
	cb.pool_remove = cb_pool_remove;
	l = link_new(&cfg, &cb, lp);
	CHECK(l != NULL, "link_new");
	CHECK(link_expiry(l) <= clock_mono_ns(), "the first connect is due at once");
	link_expire(l, clock_mono_ns());
	CHECK(link_fd(l) >= 0, "connected");
	mfd = accept(lfd, NULL, NULL);
	dec = chan_dec_new(key, CHAN_NODE_MANAGER, AGENT);
	type = mrecv(&m, &seq);
	CHECK_EQ_INT(type, CHAN_HELLO, "HELLO first");
	protobuf_c_message_free_unpacked(m, NULL);
	{
		State__Welcome w;

		state__welcome__init(&w);
		w.version = 1;
		w.software_version = "fake manager";
		msend(CHAN_WELCOME, &w.base, 0);
	}
	pump(l);
	CHECK(welcomed && link_up(l), "welcomed: the link is up");
	test_deltas(l);

	/* an ALLOC_REQ that the manager leaves unanswered for 2 s */
	state__alloc_req__init(&req);
	req.pssid = "0d9c3b4e-4a8b-4c55-9b8e-9e3a0c1f2a11";
	req.session_id = 4242;
	req.family = 4;
	CHECK(link_alloc(l, &req, on_alloc, NULL) > 0, "link_alloc");
	type = mrecv(&m, &reqseq);
	CHECK_EQ_INT(type, CHAN_ALLOC_REQ, "the ALLOC_REQ goes out");
	protobuf_c_message_free_unpacked(m, NULL);
	at = link_expiry(l);
	now = clock_mono_ns();
	CHECK(at > now + LINK_ALLOC_TIMEOUT_NS - 500000000ull && at <= now + LINK_ALLOC_TIMEOUT_NS,
	    "the link's expiry is the request's 2 s deadline");
	link_expire(l, at);
	CHECK_EQ_INT(allocs, 1, "the callback ran once at the deadline");
	CHECK_EQ_INT(last.error, ERR_BUSY, "with ERR_BUSY (manager unreachable)");
	CHECK(link_up(l), "the link stays up");

	/* the manager's late answer: a grant nobody will use */
	{
		State__AllocRes r;
		uint8_t a4[4] = {10, 0, 0, 9};

		state__alloc_res__init(&r);
		r.grant_id = 99;
		r.address.data = a4;
		r.address.len = 4;
		r.isd_as = 1;
		msend(CHAN_ALLOC_RES, &r.base, reqseq);
	}
	pump(l);
	CHECK_EQ_INT(allocs, 1, "the late answer runs no callback");
	type = mrecv(&m, &seq);
	CHECK_EQ_INT(type, CHAN_HOLD_REQ, "the late grant is put on hold");
	if (type == CHAN_HOLD_REQ) {
		const State__HoldReq *h = (const State__HoldReq *)m;

		CHECK(h->grant_id == 99 && h->session_id == 4242,
		    "HOLD_REQ names the grant (%llu) and the request's session (%llu)",
		    (unsigned long long)h->grant_id, (unsigned long long)h->session_id);
	}
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, NULL);

	/* reconnect delays: the manager goes away, and stays away */
	close(mfd);
	mfd = -1;
	close(lfd);
	unlink(sock);
	pump(l);
	CHECK(link_fd(l) < 0 && !link_up(l), "the drop is noticed");
	for (int i = 0; i < 12; i++) {
		now = clock_mono_ns();
		at = link_expiry(l);
		CHECK(
		    at >= now + LINK_BACKOFF_MIN_NS - 5000000ull && at <= now + LINK_BACKOFF_MAX_NS,
		    "attempt %d waits %.3f s: within 0.1 .. 10 s", i + 1, (double)(at - now) / 1e9);
		link_expire(l, at);
	}
	CHECK(link_expiry(l) - clock_mono_ns() >= LINK_BACKOFF_MAX_NS / 2,
	    "the backoff reached its top (5 .. 10 s)");

	link_free(l);
	test_free_unwatches(lp, dir, &cfg);
	chan_dec_free(dec);
	loop_free(lp);
	unlink(keyfile);
	rmdir(dir);
	return check_done();
}
