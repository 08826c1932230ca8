/* agent/quic/quic_udp.c on real loopback sockets: a batch of packets sent with and without UDP
 * GSO (runs of one size to one address as one UDP_SEGMENT message) arrives as the same
 * datagrams, in order, at a socket without GRO (one datagram per message) and at one with UDP
 * GRO (runs in one buffer, cut at quic_udp_segment()); runs break where the size grows or the
 * address changes. Where the kernel has no UDP GSO or GRO, that part says so and is skipped. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../agent/quic/quic_udp.h"
#include "check.h"

#define MAX_PKTS 64

/* What a receiver got: the datagrams cut out of its messages, and how many messages. */
struct got {
	size_t n, msgs;
	size_t len[MAX_PKTS * 2];
	uint8_t first[MAX_PKTS * 2]; /* each datagram's first byte: its index in the batch */
	int intact; /* every byte of each datagram is its index */
};

static int
udp_bound(struct sockaddr_in *sin)
{
	socklen_t l = sizeof(*sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)sin, sizeof(*sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)sin, &l) < 0) {
		perror("quic_udp_test: socket");
		exit(1);
	}
	return fd;
}

/* Read fd until want datagrams came or 1 s passed. */
static void
receive(int fd, size_t want, struct got *g)
{
	static uint8_t buf[QUIC_GRO_BUF];
	uint8_t ctl[QUIC_CMSG_SPACE];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	size_t seg, off, k;

	memset(g, 0, sizeof(*g));
	g->intact = 1;
	while (g->n < want && poll(&p, 1, 1000) == 1) {
		struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
		struct msghdr m = {.msg_iov = &iov,
		    .msg_iovlen = 1,
		    .msg_control = ctl,
		    .msg_controllen = sizeof(ctl)};
		ssize_t r = recvmsg(fd, &m, MSG_DONTWAIT);

		if (r <= 0)
			continue;
		g->msgs++;
		seg = quic_udp_segment(&m, (size_t)r);
		for (off = 0; off < (size_t)r && g->n < sizeof(g->len) / sizeof(g->len[0]);
		     off += seg) {
			size_t len = (size_t)r - off < seg ? (size_t)r - off : seg;

			g->len[g->n] = len;
			g->first[g->n] = buf[off];
			for (k = 0; k < len; k++)
				if (buf[off + k] != buf[off])
					g->intact = 0;
			g->n++;
		}
	}
}

/* Queue lens[0..n) into tx (packet i filled with byte i), to dst[i % ndst], and send. */
static void
send_batch(struct quic_txbatch *tx, const size_t *lens, size_t n, const struct sockaddr_in *dst,
    size_t ndst)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = quic_tx_slot(tx);

		memset(p, (int)i, lens[i]);
		quic_tx_commit(
		    tx, lens[i], (const struct sockaddr *)&dst[i % ndst], sizeof(dst[0]), NULL);
	}
	quic_tx_flush(tx);
}

/* Whether g holds exactly lens[0..n) of the batch, in order (for every ndst-th one from
 * start when the batch went to ndst receivers). */
static int
same(const struct got *g, const size_t *lens, size_t n, size_t start, size_t ndst)
{
	size_t j = 0;

	for (size_t i = start; i < n; i += ndst, j++)
		if (j >= g->n || g->len[j] != lens[i] || g->first[j] != (uint8_t)i)
			return 0;
	return j == g->n && g->intact;
}

static void
test_segment_cmsg(void)
{
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr m;
	struct cmsghdr *cm;
	int v;

	memset(&m, 0, sizeof(m));
	CHECK_EQ_INT(quic_udp_segment(&m, 1200), 1200, "no control message: one datagram");
	m.msg_control = u.buf;
	m.msg_controllen = sizeof(u.buf);
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_UDP;
	cm->cmsg_type = UDP_GRO;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	v = 1200;
	memcpy(CMSG_DATA(cm), &v, sizeof(v));
	CHECK_EQ_INT(quic_udp_segment(&m, 3000), 1200, "UDP_GRO 1200 over 3000 bytes: 1200");
	CHECK_EQ_INT(quic_udp_segment(&m, 1200), 1200, "a run of one: its length");
	CHECK_EQ_INT(quic_udp_segment(&m, 900), 900, "a segment size past the length: the length");
	v = 0;
	memcpy(CMSG_DATA(cm), &v, sizeof(v));
	CHECK_EQ_INT(quic_udp_segment(&m, 3000), 3000, "segment size 0: one datagram");
	v = -5;
	memcpy(CMSG_DATA(cm), &v, sizeof(v));
	CHECK_EQ_INT(quic_udp_segment(&m, 3000), 3000, "a negative segment size: one datagram");
	cm->cmsg_type = UDP_SEGMENT;
	v = 100;
	memcpy(CMSG_DATA(cm), &v, sizeof(v));
	CHECK_EQ_INT(quic_udp_segment(&m, 3000), 3000, "another control message is not read");
}

int
main(void)
{
	/* runs: 10 x 1200 + a shorter last; 1200 again after a shorter one breaks the run (a
	 * longer packet cannot join); 40 small ones */
	size_t lens[MAX_PKTS], n = 0, i;
	struct sockaddr_in rx_plain, rx_gro, two[2];
	struct quic_txbatch *tx = calloc(1, sizeof(*tx));
	struct got g;
	int fd_plain, fd_gro, fd_tx, gso, gro;

	test_segment_cmsg();
	for (i = 0; i < 10; i++)
		lens[n++] = 1200;
	lens[n++] = 500;
	lens[n++] = 1200;
	lens[n++] = 1200;
	lens[n++] = 1300; /* longer than the run's size: starts a new one */
	for (i = 0; i < 40; i++)
		lens[n++] = 64;

	fd_plain = udp_bound(&rx_plain);
	fd_gro = udp_bound(&rx_gro);
	fd_tx = udp_bound(&two[0]);
	gro = quic_udp_gro(fd_gro);
	gso = quic_udp_gso(fd_tx);
	tx->fd = fd_tx;

	/* without GSO: one message per datagram, received alike by both */
	tx->gso = 0;
	send_batch(tx, lens, n, &rx_plain, 1);
	receive(fd_plain, n, &g);
	CHECK(same(&g, lens, n, 0, 1), "no GSO, no GRO: the %zu datagrams arrive as sent (%zu)", n,
	    g.n);
	CHECK_EQ_INT(g.msgs, n, "one message per datagram");

	if (!gso) {
		printf("ok - UDP GSO sends # SKIP this kernel has no UDP GSO (UDP_SEGMENT)\n");
	} else {
		tx->gso = 1;
		send_batch(tx, lens, n, &rx_plain, 1);
		receive(fd_plain, n, &g);
		CHECK(same(&g, lens, n, 0, 1),
		    "GSO to a socket without GRO: the %zu datagrams arrive as sent (%zu)", n, g.n);
		CHECK_EQ_INT(tx->gso, 1, "GSO stays on (the kernel took the runs)");
		CHECK_EQ_INT(g.msgs, n, "the kernel cut the runs: one message per datagram");
	}

	if (!gro) {
		printf("ok - UDP GRO receives # SKIP this kernel has no UDP GRO on sockets\n");
	} else if (gso) {
		send_batch(tx, lens, n, &rx_gro, 1);
		receive(fd_gro, n, &g);
		CHECK(same(&g, lens, n, 0, 1),
		    "GSO to a socket with GRO: cut at quic_udp_segment(), the %zu datagrams as sent "
		    "(%zu)",
		    n, g.n);
		CHECK(g.msgs < n, "runs arrived whole (%zu messages for %zu datagrams)", g.msgs, n);
		tx->gso = 0;
		send_batch(tx, lens, n, &rx_gro, 1);
		receive(fd_gro, n, &g);
		CHECK(same(&g, lens, n, 0, 1),
		    "separate datagrams to a socket with GRO: as sent, whether joined or not (%zu)",
		    g.n);
		tx->gso = 1;
	}

	if (gso) {
		/* alternating addresses: nothing joins across them */
		two[0] = rx_plain;
		two[1] = rx_gro;
		for (i = 0; i < n; i++)
			lens[i] = 1000;
		send_batch(tx, lens, n, two, 2);
		receive(fd_plain, (n + 1) / 2, &g);
		CHECK(same(&g, lens, n, 0, 2), "two receivers, alternating: the first gets its %zu",
		    g.n);
		receive(fd_gro, n / 2, &g);
		CHECK(same(&g, lens, n, 1, 2), "and the second its %zu, in order", g.n);
	}
	close(fd_plain);
	close(fd_gro);
	close(fd_tx);
	free(tx);
	return check_done();
}
