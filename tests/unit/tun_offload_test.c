/* TUN offloads against the real kernel (lib/tun.h tun_open_offload, lib/gso.h, lib/gro.h), in a
 * network namespace of the test's own: the test plays a TCP peer behind a TUN device with
 * offloads. A socket of the kernel's connects to it and sends; what the device gives includes
 * super-packets, whose segments (lib/gso.c) have right checksums and put together are the
 * bytes sent. Then the test sends segments back, joined by lib/gro.c into one write, and the
 * socket receives all of them. Skips (saying why) where the machine cannot make a network
 * namespace or a TUN device; a kernel that refuses the offloads fails. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../lib/gro.h"
#include "../../lib/gso.h"
#include "../../lib/netlink.h"
#include "../../lib/tun.h"
#include "check.h"
#include "tcppkt.h"

#define PEER_PORT 7777
#define SENT 60000 /* bytes the socket sends: more than one super-packet */
#define BACK 20 /* segments the test sends back */
#define BACK_MSS 1000

static uint8_t pattern[SENT];
static uint8_t rbuf[VNETHDR_LEN + TCPIP_MAX], seg[TCPIP_MAX];

static int
wait_in(int fd, int ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	return poll(&pfd, 1, ms) == 1;
}

/* One read from the device: the TCP packets it carries to the peer port, cut (lib/gso.c), each
 * passed to fn. The number of packets, -1 when nothing came within a second. *super counts
 * reads of several segments, *bad segments with a wrong checksum. */
static int
read_tcp(int fd, void (*fn)(const uint8_t *, size_t, void *), void *arg, int *super, int *bad)
{
	unsigned char *b = rbuf;
	size_t len;
	struct vnethdr h;
	struct gso g;
	ssize_t n;
	int rv, got = 0;

	if (!wait_in(fd, 1000) || tun_read_batch(fd, &b, sizeof(rbuf), &len, 1) != 1)
		return -1;
	if (len < VNETHDR_LEN)
		return 0;
	vnethdr_get(rbuf, &h);
	rv = gso_start(&g, &h, rbuf + VNETHDR_LEN, len - VNETHDR_LEN);
	if (rv == 0 && (rbuf[VNETHDR_LEN] >> 4) == 4 && rbuf[VNETHDR_LEN + 9] == 6) {
		*bad += !tcppkt_csums_ok(rbuf + VNETHDR_LEN, len - VNETHDR_LEN);
		fn(rbuf + VNETHDR_LEN, len - VNETHDR_LEN, arg);
		return 1;
	}
	while (rv == 1 && (n = gso_next(&g, seg, sizeof(seg))) > 0) {
		*bad += !tcppkt_csums_ok(seg, (size_t)n);
		fn(seg, (size_t)n, arg);
		got++;
	}
	*super += got > 1;
	return got;
}

struct conn {
	int tun;
	uint16_t port; /* the socket's */
	uint32_t isn, peer_isn; /* the socket's and ours */
	uint32_t next; /* the next byte expected from the socket (relative) */
	uint8_t got[SENT];
	int out_of_order;
};

static void
on_syn(const uint8_t *p, size_t len, void *arg)
{
	struct conn *c = arg;

	if (len >= 40 && (p[33] & 0x02)) {
		c->port = (uint16_t)(p[20] << 8 | p[21]);
		c->isn = be_get32(p + 24);
	}
}

static void
on_data(const uint8_t *p, size_t len, void *arg)
{
	struct conn *c = arg;
	size_t hl = 20 + (size_t)(p[32] >> 4) * 4, n = len - hl;
	uint32_t off = be_get32(p + 24) - c->isn - 1;

	if (n == 0)
		return;
	if (off != c->next || off + n > SENT) {
		c->out_of_order++; /* a retransmission: nothing is acknowledged until the end */
		return;
	}
	memcpy(c->got + off, p + hl, n);
	c->next += (uint32_t)n;
}

/* A segment from the peer (10.0.0.1:PEER_PORT) to the socket. */
static size_t
peer_segment(const struct conn *c, uint32_t seq, uint8_t flags, const uint8_t *pay, size_t n,
    uint16_t id, uint8_t *out)
{
	struct tcppkt k = {.seq = c->peer_isn + seq,
	    .ack = c->isn + 1 + c->next,
	    .flags = flags,
	    .window = 65535,
	    .sport = PEER_PORT,
	    .dport = c->port,
	    .id = id};

	if (flags & 0x02)
		k.optlen = 4, k.mss = 1460;
	return tcppkt_build(&k, pay, n, out);
}

static void
test_tcp(int tun)
{
	static struct conn c;
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(PEER_PORT)};
	uint8_t pkt[1600];
	static uint8_t back[BACK * BACK_MSS], rcvd[BACK * BACK_MSS];
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int super = 0, bad = 0, t;
	size_t len, have = 0;
	struct gro g;
	ssize_t w;

	c.tun = tun;
	c.peer_isn = 0x7fff0000;
	inet_pton(AF_INET, "10.0.0.1", &to.sin_addr);
	connect(s, (struct sockaddr *)&to, sizeof(to));
	for (t = 0; t < 5 && c.port == 0; t++)
		read_tcp(tun, on_syn, &c, &super, &bad);
	CHECK(c.port != 0, "the socket's SYN is read from the device (port %u)", c.port);
	len = peer_segment(&c, 0, 0x12, NULL, 0, 1, pkt);
	CHECK_EQ_INT(tun_write_plain(tun, pkt, len), 0, "SYN-ACK written behind a zeroed header");
	for (t = 0; t < 20; t++) {
		struct pollfd pfd = {.fd = s, .events = POLLOUT};

		if (poll(&pfd, 1, 100) == 1)
			break;
	}
	w = send(s, pattern, SENT, 0);
	CHECK(w > 0, "the socket is connected and sends (%zd bytes taken)", w);
	/* read, acknowledging what came, until all came or a second passes without a packet */
	while (w > 0 && c.next < (uint32_t)w && read_tcp(tun, on_data, &c, &super, &bad) >= 0) {
		len = peer_segment(&c, 1, 0x10, NULL, 0, 2, pkt);
		tun_write_plain(tun, pkt, len);
		if (c.next < SENT && w < SENT) {
			ssize_t more = send(s, pattern + w, SENT - (size_t)w, 0);

			w += more > 0 ? more : 0;
		}
	}
	CHECK(w == SENT && c.next == SENT && memcmp(c.got, pattern, SENT) == 0,
	    "the %d bytes sent put together from the segments (%u, %d out of order)", SENT, c.next,
	    c.out_of_order);
	CHECK(super > 0, "the kernel handed over super-packets (%d of several segments)", super);
	CHECK_EQ_INT(bad, 0, "every segment's checksums right");

	/* the way back: BACK segments joined into one write */
	for (size_t i = 0; i < sizeof(back); i++)
		back[i] = (uint8_t)(i * 31 + 5);
	CHECK_EQ_INT(gro_init(&g, 4), 0, "a table for the way back");
	for (int i = 0; i < BACK; i++) {
		len = peer_segment(&c, 1 + (uint32_t)(i * BACK_MSS), i + 1 == BACK ? 0x18 : 0x10,
		    back + i * BACK_MSS, BACK_MSS, (uint16_t)(10 + i), pkt);
		gro_add(&g, pkt, len);
	}
	gro_finish(&g);
	CHECK(g.n == 1 && g.e[0].segs == BACK, "%d segments joined into one super-packet", BACK);
	CHECK_EQ_INT(tun_write(tun, g.e[0].buf, VNETHDR_LEN + g.e[0].len), 0,
	    "the super-packet written in one write");
	for (t = 0; t < 30 && have < sizeof(rcvd); t++) {
		ssize_t r;

		if (!wait_in(s, 100))
			continue;
		if ((r = recv(s, rcvd + have, sizeof(rcvd) - have, 0)) > 0)
			have += (size_t)r;
	}
	CHECK(have == sizeof(rcvd) && memcmp(rcvd, back, sizeof(back)) == 0,
	    "the socket receives its %zu bytes (%zu)", sizeof(back), have);
	gro_free(&g);
	close(s);
}

int
main(void)
{
	struct nl *nl;
	struct addr a;
	char dev[IFNAMSIZ];
	int fd, rv, idx;

	if (unshare(CLONE_NEWNET) < 0) {
		printf("ok - TUN offloads # SKIP cannot make a network namespace: "
		       "unshare(CLONE_NEWNET): %s\n",
		    strerror(errno));
		return check_done();
	}
	if (access("/dev/net/tun", R_OK | W_OK) < 0) {
		printf("ok - TUN offloads # SKIP no /dev/net/tun: %s\n", strerror(errno));
		return check_done();
	}
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + (i >> 10));
	rv = tun_open_offload("sntgso", &fd, dev);
	CHECK_EQ_INT(rv, 0, "a TUN device with offloads (%s)", rv < 0 ? strerror(-rv) : dev);
	if (rv < 0)
		return check_done();
	idx = (int)if_nametoindex(dev);
	addr_parse("10.0.0.2", &a);
	rv = nl_open(&nl);
	if (rv == 0)
		rv = nl_link_set(nl, idx, 1500, 1);
	if (rv == 0)
		rv = nl_addr(nl, 1, idx, &a, 24);
	CHECK_EQ_INT(rv, 0, "%s up with 10.0.0.2/24", dev);
	if (rv == 0)
		test_tcp(fd);
	close(fd);
	nl_close(nl);
	return check_done();
}
