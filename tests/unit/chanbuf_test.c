/* A state-channel connection's buffers (proto/chanbuf.h) over a real socketpair: partial writes
 * into a small socket buffer (EPOLLOUT wanted exactly while something is queued), every frame
 * arriving once and in order; the queue's bound (a frame over it refused, nothing queued of it)
 * and its peak; frames split across reads, a byte at a time; a reader's fairness budget and a
 * handler that stops; and the protocol errors that drop a connection: bad MAC, replay, an
 * oversized length refused from the header alone, end of stream. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../proto/chanbuf.h"
#include "../../proto/chanio.h"
#include "check.h"

#define AGENT 7

static unsigned char key[CHAN_KEY_LEN];
static int wants[2], want_calls; /* want_write's last value per side, and how often it came */

/* What the reading side was handed. */
struct got {
	size_t n; /* frames */
	uint64_t last_seq; /* of the last one */
	int in_order; /* every seq was the one after the last */
	size_t stop_after; /* the handler asks to stop after this many (0: never) */
};

static void
on_want(void *arg, int on)
{
	wants[*(int *)arg] = on;
	want_calls++;
}

static int
on_frame(void *arg, const struct chan_frame *f)
{
	struct got *g = arg;

	if (f->seq != g->last_seq + 1)
		g->in_order = 0;
	g->last_seq = f->seq;
	g->n++;
	return g->stop_after != 0 && g->n >= g->stop_after;
}

static int side_agent = 0, side_manager = 1;

static struct chanbuf *
agent_buf(size_t max)
{
	struct chanbuf_config c = {key, AGENT, CHAN_NODE_MANAGER, max, on_want, &side_agent};

	return chanbuf_new(&c);
}

static struct chanbuf *
manager_buf(void)
{
	struct chanbuf_config c = {
	    key, CHAN_NODE_MANAGER, CHAN_PEER_ANY, 1 << 20, on_want, &side_manager};

	return chanbuf_new(&c);
}

static void
pair(int sv[2], int sndbuf)
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	for (int i = 0; i < 2; i++)
		fcntl(sv[i], F_SETFL, O_NONBLOCK);
	if (sndbuf > 0)
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
}

/* A REJECT whose reason is size bytes of 'x': a payload of size + 2 bytes (size + 3 from 128). */
static int
put_reject(struct chanbuf *b, size_t size)
{
	static char reason[8192];
	State__Reject r;

	memset(reason, 'x', size < sizeof(reason) ? size : sizeof(reason) - 1);
	reason[size < sizeof(reason) ? size : sizeof(reason) - 1] = '\0';
	state__reject__init(&r);
	r.reason = reason;
	return chanbuf_put(b, CHAN_REJECT, 0, &r.base);
}

static void
test_partial_writes(void)
{
	struct chanbuf *a = agent_buf(8u << 20), *m = manager_buf();
	struct got g = {0, 0, 1, 0};
	int sv[2], ok = 1, rounds = 0;
	struct chanio *io0, *io1;
	size_t total = 0;
	ssize_t n;

	pair(sv, 4096);
	io0 = chanio_plain_new(sv[0]);
	io1 = chanio_plain_new(sv[1]);
	for (int i = 0; i < 200; i++)
		ok &= put_reject(a, 1000) == 0;
	CHECK(ok && chanbuf_seq(a) == 200, "200 frames of about 1 KiB queued, seqs 1 .. 200");
	total = chanbuf_queued(a);
	CHECK_EQ_INT(total, 200 * CHAN_FRAME_LEN(1003), "the queue holds them all");
	CHECK(!wants[0], "nothing written yet: EPOLLOUT not asked for");
	n = chanbuf_write(a, io0, SIZE_MAX);
	CHECK(n > 0 && (size_t)n < total && chanbuf_queued(a) == total - (size_t)n,
	    "a small socket buffer takes part of it (%zd of %zu bytes)", n, total);
	CHECK(wants[0] == 1, "the rest waits: EPOLLOUT asked for");
	while (chanbuf_queued(a) > 0 && rounds++ < 10000) {
		if (chanbuf_read(m, io1, SIZE_MAX, on_frame, &g) < 0)
			break;
		if (chanbuf_write(a, io0, 3000) < 0)
			break;
	}
	CHECK(chanbuf_queued(a) == 0 && wants[0] == 0, "drained in pieces: EPOLLOUT no more");
	chanbuf_read(m, io1, SIZE_MAX, on_frame, &g);
	CHECK(g.n == 200 && g.in_order && g.last_seq == 200, "the reader got 200 frames in order");
	CHECK_EQ_INT(chanbuf_peak(a), total, "the peak is the most ever queued");
	CHECK(chanbuf_read(m, io1, SIZE_MAX, on_frame, &g) == 0, "then nothing more to read");

	/* max 0 writes nothing, only brings the EPOLLOUT wish up to date. */
	want_calls = 0;
	put_reject(a, 10);
	CHECK(chanbuf_write(a, io0, 0) == 0 && wants[0] == 1 && chanbuf_queued(a) > 0,
	    "a write of 0 bytes asks for EPOLLOUT for what was put");
	chanbuf_write(a, io0, SIZE_MAX);
	chanbuf_write(a, io0, SIZE_MAX);
	CHECK(want_calls == 2 && wants[0] == 0, "told only when it changes (%d calls)", want_calls);

	chanbuf_read(m, io1, SIZE_MAX, on_frame, &g); /* unread bytes would make it a reset */
	chanio_close(io1);
	CHECK(chanbuf_read(a, io0, SIZE_MAX, on_frame, &g) == CHANBUF_CLOSED,
	    "the peer's close is CHANBUF_CLOSED");
	put_reject(a, 10);
	errno = 0;
	CHECK(chanbuf_write(a, io0, SIZE_MAX) == CHANBUF_IO && errno == EPIPE,
	    "writing to it is CHANBUF_IO with errno EPIPE, no signal");
	chanio_close(io0);
	chanbuf_free(a);
	chanbuf_free(m);
}

static void
test_bound(void)
{
	size_t frame = CHAN_FRAME_LEN(102), before;
	struct chanbuf *a = agent_buf(3 * frame);
	State__Heartbeat hb;

	CHECK(put_reject(a, 100) == 0 && put_reject(a, 100) == 0 && put_reject(a, 100) == 0,
	    "three frames fill a queue bounded at three frames");
	before = chanbuf_queued(a);
	CHECK_EQ_INT(put_reject(a, 100), CHANBUF_FULL, "a fourth is over the bound: CHANBUF_FULL");
	CHECK(chanbuf_queued(a) == before && chanbuf_seq(a) == 3,
	    "nothing of it queued, no seq used");
	state__heartbeat__init(&hb);
	CHECK_EQ_INT(chanbuf_put(a, CHAN_HEARTBEAT, 0, &hb.base), CHANBUF_FULL,
	    "even an empty frame does not fit");
	CHECK_EQ_INT(chanbuf_peak(a), 3 * frame, "the peak is the bound");
	chanbuf_free(a);
	a = agent_buf(3 * frame);
	CHECK_EQ_INT(chanbuf_put(a, CHAN_HELLO, 0, &hb.base), CHAN_ERR_INVALID,
	    "a message of another type is refused by the framing");
	CHECK(chanbuf_queued(a) == 0 && chanbuf_seq(a) == 0, "and not queued");
	chanbuf_free(a);
	CHECK(strcmp(chanbuf_err_str(CHANBUF_FULL), "output queue full") == 0 &&
		strcmp(chanbuf_err_str(CHAN_ERR_MAC), "bad frame MAC") == 0,
	    "errors of both layers have their text");
}

static void
test_split_reads(void)
{
	struct chanbuf *m = manager_buf();
	struct got g = {0, 0, 1, 0};
	unsigned char buf[4096];
	State__Heartbeat hb;
	ssize_t len = 0, n;
	int sv[2], early = 0;
	struct chanio *io0, *io1;

	pair(sv, 0);
	io0 = chanio_plain_new(sv[0]);
	io1 = chanio_plain_new(sv[1]);
	state__heartbeat__init(&hb);
	for (uint64_t seq = 1; seq <= 3; seq++) {
		hb.time = (int64_t)seq;
		n = chan_frame_pack(key, CHAN_HEARTBEAT, AGENT, seq, 0, &hb.base, buf + len,
		    sizeof(buf) - (size_t)len);
		if (n < 0)
			abort();
		len += n;
	}
	for (ssize_t i = 0; i < len; i++) {
		if (write(sv[0], buf + i, 1) != 1)
			abort();
		if (chanbuf_read(m, io1, SIZE_MAX, on_frame, &g) != 1)
			early = 1;
		if (i + 1 < len / 3 && g.n > 0)
			early = 1;
	}
	CHECK(!early, "a byte at a time: each read takes its byte, no frame before its last");
	CHECK(g.n == 3 && g.in_order, "three frames split over %zd reads, in order", len);

	/* A budget of one byte still reads a chunk, then stops; a handler may stop sooner. */
	if (write(sv[0], buf, (size_t)len) != len)
		abort();
	chanbuf_free(m);
	m = manager_buf();
	g = (struct got){0, 0, 1, 1};
	CHECK(chanbuf_read(m, io1, 1, on_frame, &g) == len && g.n == 1,
	    "the handler's stop ends the read after the first frame");
	chanio_close(io0);
	chanio_close(io1);
	chanbuf_free(m);
}

/* Deliver len bytes of frames to a fresh manager-side buffer: chanbuf_read's result. */
static ssize_t
deliver(const unsigned char *p, size_t len, struct got *g)
{
	struct chanbuf *m = manager_buf();
	ssize_t rv;
	int sv[2];
	struct chanio *io0, *io1;

	pair(sv, 0);
	io0 = chanio_plain_new(sv[0]);
	io1 = chanio_plain_new(sv[1]);
	if (write(sv[0], p, len) != (ssize_t)len)
		abort();
	rv = chanbuf_read(m, io1, SIZE_MAX, on_frame, g);
	chanio_close(io0);
	chanio_close(io1);
	chanbuf_free(m);
	return rv;
}

static void
test_bad_frames(void)
{
	unsigned char buf[4096];
	struct got g = {0, 0, 1, 0};
	State__Heartbeat hb;
	ssize_t n, m;

	state__heartbeat__init(&hb);
	n = chan_frame_pack(key, CHAN_HEARTBEAT, AGENT, 1, 0, &hb.base, buf, sizeof(buf));
	m = chan_frame_pack(
	    key, CHAN_HEARTBEAT, AGENT, 2, 0, &hb.base, buf + n, sizeof(buf) - (size_t)n);
	CHECK(deliver(buf, (size_t)(n + m), &g) == n + m && g.n == 2, "two good frames pass");

	buf[n + m - 1] ^= 1;
	g = (struct got){0, 0, 1, 0};
	CHECK_EQ_INT(deliver(buf, (size_t)(n + m), &g), CHAN_ERR_MAC, "a flipped MAC bit: bad MAC");
	CHECK_EQ_INT(g.n, 1, "after the good frame before it");
	buf[n + m - 1] ^= 1;

	memcpy(buf + n, buf, (size_t)n);
	g = (struct got){0, 0, 1, 0};
	CHECK_EQ_INT(
	    deliver(buf, (size_t)(2 * n), &g), CHAN_ERR_REPLAY, "a frame sent again: replay");

	/* A header announcing 2 MiB: refused before any payload byte. */
	memset(buf, 0, CHAN_HDR_LEN);
	buf[0] = CHAN_VERSION;
	buf[1] = CHAN_HEARTBEAT;
	buf[3] = AGENT;
	buf[11] = 1;
	buf[27 + 2] = 0x20;
	g = (struct got){0, 0, 1, 0};
	CHECK_EQ_INT(deliver(buf, CHAN_HDR_LEN, &g), CHAN_ERR_LENGTH,
	    "an oversized length: refused from the header alone");
	CHECK_EQ_INT(g.n, 0, "no frame handed out");
}

int
main(void)
{
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 11 + 3);
	test_partial_writes();
	test_bound();
	test_split_reads();
	test_bad_frames();
	return check_done();
}
